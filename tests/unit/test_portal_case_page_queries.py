"""The case page's database work is pinned: a fixed number of queries whatever the case holds (no N+1),
report PDFs never read, optional records skipped only when absent, and nothing cached between requests.

Counts include the two queries every signed-in portal request makes (the session, the user).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.test.utils import CaptureQueriesContext

from intake.selectors import submission_events, submission_get_for
from reviews.case_page import case_page_records, case_page_submission
from intake.services import artifact_add
from intake.states import State, transition
from intake.vault.disputes import dispute_open
from intake.vault.retention import legal_hold_request
from reviews.messaging import message_post
from reviews.models import Report
from reviews.reports import report_issue
from tests.factories import make_draft, make_token
from tests.unit.review_portal_support import client_for, make_coordinator
from tests.unit.reviews.test_reports import closed_case
from triage.models import DynamicRun, FingerprintLink, TriageResult

pytestmark = pytest.mark.django_db

# session (read from the shared cache when there is one: settings' cached_db engine) + user, then: the case
# (owner joined, presence flags), its events, acceptances, triage result (model note joined), artifacts; each
# optional record present adds one: reports, similarity links, dynamic run, legal holds, disputes.
SESSION_QUERIES = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
PLAIN_TRIAGED_CASE_QUERIES = SESSION_QUERIES + 6
FULL_CASE_QUERIES = PLAIN_TRIAGED_CASE_QUERIES + 5
HTMX_STATUS_QUERIES = SESSION_QUERIES + 3

FINDINGS = [
    {"check": f"demo.check-{index}", "title": f"Finding {index}", "severity": severity, "categories": ["provenance"],
     "path": ".mcp.json", "line": index, "evidence": "npx -y pkg@latest", "remediation": "Pin the package."}
    for index, severity in enumerate(["critical", "high", "high", "medium", "low", "info"] * 3)]


@pytest.fixture
def signing(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def coordinator(db):  # noqa: ANN001
    return make_coordinator()


def _full_case(builder, coordinator, other_builder):  # noqa: ANN001, ANN202
    """A closed case with triage findings, a signed report, messages, a dynamic run, a similarity link to the
    builder's own earlier case, a legal hold and an IP dispute: every optional part of the page present."""
    case = closed_case(builder)
    for result in TriageResult.objects.filter(submission=case):  # findings are sealed: save, not update
        result.findings = FINDINGS
        result.save(update_fields=["findings"])
    report_issue(submission=case, kind=Report.Kind.GUIDANCE, actor=None)
    for body in ("Our proxy logs are attached.", "A second question about scope."):
        message_post(submission=case, actor=builder, body=body)
    message_post(submission=case, actor=coordinator, body="Scope is the harness only.")
    DynamicRun.objects.create(submission=case, sandbox="bubblewrap", config_digest=case.config_digest,
                              servers=[{"name": "tickets", "started": True, "stopped": "", "tools": ["read"]}],
                              not_run=[{"target": "search (npx)", "reason": "needs the network"}])
    earlier = make_draft(builder, title="Earlier agent")
    FingerprintLink.objects.create(submission=case, other=earlier, kind="own_near_duplicate", similarity=0.97)
    legal_hold_request(submission=case, actor=coordinator, reason="Preserve pending the regulator's letter")
    dispute_open(claimant_case=case, respondent_case=make_draft(other_builder, title="Their agent"),
                 actor=builder, source="builder", statement="They copied our hooks.")
    return case


def _get(client, case, **headers):  # noqa: ANN001, ANN202
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/cases/{case.pk}/", **headers)
    assert response.status_code == 200
    return response, queries


def test_a_full_case_page_makes_a_fixed_number_of_queries(builder, coordinator, other_builder, signing):  # noqa: ANN001
    case = _full_case(builder, coordinator, other_builder)
    client = client_for(builder)
    response, queries = _get(client, case)
    page = response.content.decode()
    # Everything is on the page: findings by severity, the report, the dynamic stage, the link, the suspension.
    earlier = FingerprintLink.objects.get(submission=case).other
    for expected in ("Critical (3)", "Info (3)", "signed PDF", "Not run: search (npx)", earlier.reference,
                     "legal hold awaiting a second coordinator", "Messages"):
        assert expected in page, expected
    assert len(queries) == FULL_CASE_QUERIES, "\n".join(q["sql"][:160] for q in queries.captured_queries)
    assert not any('"reviews_report"."pdf"' in q["sql"] for q in queries.captured_queries), "PDF bytes read"

    # More of everything (reports, messages, artifacts, findings, events) costs no more queries: no N+1.
    report_issue(submission=case, kind=Report.Kind.GUIDANCE, actor=None)
    for index in range(3):
        message_post(submission=case, actor=builder, body=f"Follow-up {index}")
    for result in TriageResult.objects.filter(submission=case):  # findings are sealed: save, not update
        result.findings = FINDINGS * 3
        result.save(update_fields=["findings"])
    response, queries = _get(client, case)
    assert "Critical (9)" in response.content.decode()
    assert len(queries) == FULL_CASE_QUERIES


def test_a_plain_triaged_case_skips_the_reads_that_would_be_empty(builder):  # noqa: ANN001
    case = closed_case(builder)
    for name in ("a.json", "b.json", "c.json"):  # artifacts are one query however many there are
        artifact_add(submission=make_draft(builder), actor=builder, name=name, stream=io.BytesIO(b"{}"), kind="config")
    _response, queries = _get(client_for(builder), case)
    assert len(queries) == PLAIN_TRIAGED_CASE_QUERIES, "\n".join(q["sql"][:160] for q in queries.captured_queries)


def test_the_live_status_partial_stays_small(builder):  # noqa: ANN001
    case = closed_case(builder)
    _response, queries = _get(client_for(builder), case, HTTP_HX_REQUEST="true")
    assert len(queries) == HTMX_STATUS_QUERIES


def test_presence_flags_change_no_record_on_the_page(builder, coordinator, other_builder, signing):  # noqa: ANN001
    """The flagged fetch skips only reads that would return nothing: it yields what reading everything yields."""
    for case in (closed_case(builder), _full_case(builder, coordinator, other_builder)):
        for viewer in (builder, coordinator):
            plain = submission_get_for(viewer, case.pk)
            flagged = case_page_submission(viewer, case.pk)
            records = [case_page_records(viewer, c, events=submission_events(c)) for c in (plain, flagged)]

            def comparable(r: dict) -> dict:
                # An open dispute freezes the clock up to "now", which moves between the two reads.
                retention = {**r["retention"], "ends_at": None}
                return {"retention": retention, "triage": r["triage"] and r["triage"].pk,
                        "groups": r["triage_groups"], "reports": [x.pk for x in r["reports"]],
                        "links": [x.pk for x in r["similarity_links"]],
                        "dynamic": r["dynamic_run"] and r["dynamic_run"].pk,
                        "artifacts": [x.pk for x in r["artifacts"]], "acceptances": [x.pk for x in r["acceptances"]],
                        "receipts": [x.pk for x in r["receipts"]]}

            assert comparable(records[0]) == comparable(records[1])
            ends = [r["retention"]["ends_at"] for r in records]
            assert abs(ends[1] - ends[0]) < timedelta(seconds=5)


def test_changes_show_on_the_next_request_nothing_is_cached(builder, coordinator, other_builder):  # noqa: ANN001
    case = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING):
        case = transition(case, state, actor=None)
    client = client_for(builder)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-state="triaging"' in page and "hx-trigger=\"every 2s\"" in page
    assert "Triage results appear here when they are ready." in page and "suspended" not in page
    case = transition(case, State.TRIAGED, actor=None)
    TriageResult.objects.create(submission=case, policy_version="test-1", sandbox="bubblewrap",
                                config_digest=case.config_digest, score=10, decision="guidance", reasons=[],
                                findings=FINDINGS[:1])
    legal_hold_request(submission=case, actor=coordinator, reason="Preserve pending the regulator's letter")
    status = client.get(f"/cases/{case.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="triaged"' in status
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Critical (1)" in page and "legal hold awaiting a second coordinator" in page
    # Another builder still gets a 404, not the page just rendered for the owner.
    assert client_for(other_builder).get(f"/cases/{case.pk}/").status_code == 404


def test_templates_are_compiled_once_per_process():
    """DEBUG is off here as in production; with no ``loaders`` configured Django wraps the loaders in the
    cached loader, so a template is parsed once per process, not on every request."""
    engine = engines["django"].engine
    assert not engine.debug
    assert isinstance(engine.template_loaders[0], CachedLoader)
    first = engine.get_template("intake/case_detail.html")
    assert engine.get_template("intake/case_detail.html") is first


def test_the_api_list_reads_only_the_summary_columns_in_two_queries(builder, client, settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 100 for level in range(4)}
    for index in range(5):
        make_draft(builder, title=f"Agent {index}")
    token = make_token(builder, scopes=("submissions:read",))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.get("/api/v1/submissions/", **headers)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/submissions/", **headers)
    assert response.status_code == 200 and response.json()["count"] == 5
    listing = [q["sql"] for q in queries.captured_queries if 'FROM "intake_submission"' in q["sql"]]
    assert len(listing) == 2  # the count and the page, however many cases
    assert all('"manifest"' not in sql and '"description"' not in sql for sql in listing)
    make_draft(builder, title="One more")
    with CaptureQueriesContext(connection) as more:
        client.get("/api/v1/submissions/", **headers)
    assert len(more) == len(queries)
