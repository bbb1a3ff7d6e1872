"""Every builder-, reviewer- and triage-written text that a page or the report shows is shown as text, never markup.

Bug class: one template that renders a submitted field with ``|safe``, ``{% autoescape off %}``, ``mark_safe`` or
a hand-built HTML string runs the builder's script in a coordinator's or reviewer's session (stored XSS), or
lets a builder draw a fake verdict into a signed report. Each field below holds its own marked payload, so a
test failure names the field and the page. These fail if any such escape hatch is added for a field shown here;
they also fail if a field stops being shown at all (the escaped marker must be present), so the assertions
cannot pass vacuously.
"""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client

from intake.models import Submission
from tests.factories import login_with_mfa
from tests.unit.review_portal_support import granted, make_coordinator, make_reviewer

pytestmark = pytest.mark.django_db

RAW = re.compile(r"<script>alert\(|<img src=x onerror", re.IGNORECASE)


def payload(field: str) -> str:
    return f'<script>alert({field})</script>"><img src=x onerror=alert({field})>'


def escaped(field: str) -> str:
    return f"&lt;script&gt;alert({field})&lt;/script&gt;"


def shown(html: str) -> set[str]:
    return set(re.findall(r"&lt;script&gt;alert\((\w+)\)&lt;/script&gt;", html))


def hostile_fields(case: Submission) -> Submission:
    """The builder-written text fields, each with its payload, written through save() (they are sealed)."""
    case.title = payload("title")
    case.description = payload("description")
    case.claim_statement = payload("claim")
    case.claim_scope_note = payload("scopenote")
    case.claim_assumptions = [payload("assumption")]
    case.named_competitors = [payload("competitor")]
    manifest = dict(case.manifest or {})
    manifest["name"] = payload("manifestname")
    manifest["description"] = payload("manifestdescription")
    case.manifest = manifest
    case.save()
    return Submission.objects.get(pk=case.pk)


def _hostile_case_in_review(builder, other_builder):  # noqa: ANN001, ANN202
    """A case in review with every field hostile, plus a hostile artifact name, triage finding, message, review
    and dispute statement. Returns (case, coordinator, reviewer)."""
    from intake.vault.disputes import dispute_open
    from reviews.messaging import message_post
    from reviews.services import review_submit
    from tests.factories import make_draft
    from triage.models import TriageResult

    coordinator = make_coordinator()
    reviewer = make_reviewer("xss-reviewer@northwind.example")
    case = hostile_fields(granted(builder, coordinator, reviewer).case)
    artifact = case.artifacts.get(name="notes.txt")  # its content already holds <script>alert(1)</script>
    artifact.name = payload("artifactname") + ".txt"
    artifact.save()
    result = TriageResult.objects.get(submission=case)
    result.findings = [{**result.findings[0], "title": payload("findingtitle"), "evidence": payload("evidence"),
                        "remediation": payload("remediation")}]
    result.save()
    message_post(submission=case, actor=builder, body=payload("message"))
    review_submit(submission=case, reviewer=reviewer, verdict="supported", confidence=70,
                  findings=[{"title": payload("reviewfinding"), "severity": "low", "remediation": ""}],
                  limitations=payload("limitations"), summary=payload("reviewsummary"))
    claimant = make_draft(other_builder)
    dispute_open(claimant_case=claimant, respondent_case=case, actor=other_builder, source="builder",
                 statement=payload("dispute") + " this case reuses our proprietary routing prompt")
    return Submission.objects.get(pk=case.pk), coordinator, reviewer, claimant


def _assert_escaped(name: str, response, expected: set[str]) -> None:  # noqa: ANN001
    assert response.status_code == 200, (name, response.status_code)
    html = response.content.decode()
    raw = RAW.search(html)
    assert raw is None, f"{name}: unescaped markup {html[max(0, raw.start() - 80):raw.end() + 80]!r}"
    missing = expected - shown(html)
    assert not missing, f"{name}: fields no longer shown (escaped) here: {sorted(missing)}"


def test_every_portal_page_shows_hostile_fields_escaped(builder, other_builder):  # noqa: ANN001
    case, coordinator, reviewer, claimant = _hostile_case_in_review(builder, other_builder)
    owner = Client()
    owner.force_login(builder)
    claimant_owner = Client()
    claimant_owner.force_login(other_builder)
    staff, review = login_with_mfa(Client(), coordinator), login_with_mfa(Client(), reviewer)
    artifact = case.artifacts.get(name=payload("artifactname") + ".txt")
    case_fields = {"title", "description", "claim", "scopenote", "assumption", "manifestname", "artifactname",
                   "findingtitle", "evidence", "remediation"}
    pages = [
        ("builder case page", owner, f"/cases/{case.pk}/", case_fields),
        ("builder dashboard", owner, "/dashboard/", {"title"}),
        ("message thread", owner, f"/cases/{case.pk}/messages/", {"message"}),
        ("claimant's case page (dispute statement)", claimant_owner, f"/cases/{claimant.pk}/", {"dispute"}),
        ("coordinator queue", staff, "/queue/", {"title"}),
        ("coordinator reviews", staff, "/coordinate/", {"title"}),
        ("coordinator case (with the review)", staff, f"/coordinate/cases/{case.pk}/",
         {"claim", "reviewfinding", "limitations"}),
        ("case page seen by a coordinator (with the dispute)", staff, f"/cases/{case.pk}/", case_fields | {"dispute"}),
        ("reviewer case", review, f"/review/cases/{case.pk}/", {"claim", "description", "assumption",
                                                                  "artifactname", "findingtitle", "evidence"}),
        ("reviewer artifacts", review, f"/review/cases/{case.pk}/artifacts/", {"artifactname"}),
        ("reviewer viewer", review, f"/review/cases/{case.pk}/artifacts/{artifact.pk}/", {"1"}),
    ]
    for name, client, url, expected in pages:
        _assert_escaped(name, client.get(url), expected)


def _hostile_report(builder, settings, tmp_path):  # noqa: ANN001, ANN202
    from reviews.models import Report
    from reviews.reports import report_issue
    from tests.unit.review_portal_support import CRITICAL, outcome_case

    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    finding = {**CRITICAL, "title": payload("findingtitle"), "evidence": payload("evidence"),
               "remediation": payload("remediation")}
    case = outcome_case(builder, findings=[finding])
    case = hostile_fields(case)
    return case, report_issue(submission=case, kind=Report.Kind.GUIDANCE, actor=None)


REPORT_FIELDS = {"claim", "assumption", "findingtitle", "evidence", "remediation"}


def test_the_report_page_and_the_verify_page_show_hostile_fields_escaped(builder, settings, tmp_path):  # noqa: ANN001
    case, report = _hostile_report(builder, settings, tmp_path)
    owner = Client()
    owner.force_login(builder)
    _assert_escaped("report page", owner.get(f"/cases/{case.pk}/reports/{report.pk}/"), REPORT_FIELDS)
    verified = Client().post("/verify/", {"report": io.BytesIO(bytes(report.pdf))})
    assert verified.status_code == 200
    html = verified.content.decode()
    assert RAW.search(html) is None
    assert "claim" in shown(html), "the verify page no longer shows the claim it verified"


def test_the_report_pdf_holds_the_hostile_text_literally(builder, settings, tmp_path):  # noqa: ANN001
    """WeasyPrint renders HTML: an unescaped field would become an element (no text, or a drawn image), not text.

    Fails if report_html stops escaping a field: the literal ``<script>alert(claim)</script>`` then vanishes from
    the extracted text (the element is parsed, its content not drawn as such)."""
    from pypdf import PdfReader

    _case, report = _hostile_report(builder, settings, tmp_path)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(report.pdf))).pages)
    flat = re.sub(r"\s+", "", text)  # the PDF wraps long lines anywhere
    for field in REPORT_FIELDS:
        assert re.sub(r"\s+", "", f"<script>alert({field})</script>") in flat, field
        assert re.sub(r"\s+", "", f"<img src=x onerror=alert({field})>") in flat, field
