"""Verification leads with the verdict (issue 15): a valid signature on a *not supported* report must never read as
a pass, on the page, the command or the API; the verdict's words come from one place."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from django.core.management import call_command

from intake.states import State, transition
from reviews.models import Decision, Report, Verdict
from reviews.reports import report_html, report_issue, report_verify
from reviews.verdicts import GUIDANCE_LABEL, verdict_label
from tests.unit.reviews.test_reports import closed_case


def _assessment(builder, coordinator, settings, tmp_path, verdict: str) -> Report:  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    submission = closed_case(builder)
    # closed_case ends CLOSED; an assessment is issued for a DECIDED case
    type(submission).objects.filter(pk=submission.pk).update(state=State.DECIDED)
    submission.refresh_from_db()
    Decision.objects.create(submission=submission, coordinator=coordinator, verdict=verdict,
                            rationale="the reviewers found an exfiltration path through the mail tool")
    return report_issue(submission=submission, kind=Report.Kind.ASSESSMENT, actor=None)


def test_every_verdict_has_words_and_none_is_the_raw_code():
    assert verdict_label("not_supported") == "Not supported within scope"
    assert verdict_label("inconclusive") == "Inconclusive within scope"
    assert verdict_label("bogus") == "Verdict unreadable"
    assert all("_" not in verdict_label(v) for v in Verdict.values)


@pytest.mark.django_db
def test_a_not_supported_report_verifies_with_its_verdict_first(builder, coordinator, settings, tmp_path, client,
                                                                 capsys):  # noqa: ANN001
    report = _assessment(builder, coordinator, settings, tmp_path, Verdict.NOT_SUPPORTED)
    result = report_verify(bytes(report.pdf))
    assert result.status == "valid"
    assert result.verdict == ("not_supported", "Not supported within scope")
    assert result.message.startswith("Not supported within scope. Valid: assessment report")

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(report.pdf))
    call_command("verify_report", str(pdf))
    assert capsys.readouterr().out.startswith("Not supported within scope.")

    page = client.get("/verify/", {"id": str(report.pk)}).content.decode()
    verdict_at, status_at = page.index('data-verdict="not_supported"'), page.index("<h2>")
    assert verdict_at < status_at  # above the "valid and current" heading
    assert "Not supported within scope" in page[verdict_at:status_at]

    html = report_html(report.statement["predicate"], for_pdf=False)
    assert "Claim not supported within scope" in html and "notsupported" not in html


@pytest.mark.django_db
def test_the_api_names_the_verdict_before_the_status(builder, coordinator, settings, tmp_path):  # noqa: ANN001
    report = _assessment(builder, coordinator, settings, tmp_path, Verdict.INCONCLUSIVE)
    body = APIClient().post("/api/v1/reports/verify/", {"report_id": str(report.pk)}, format="json").json()
    assert list(body)[:3] == ["verdict", "verdict_label", "status"]
    assert (body["verdict"], body["verdict_label"], body["valid"]) == ("inconclusive", "Inconclusive within scope", True)


@pytest.mark.django_db
def test_a_guidance_report_says_it_assessed_nothing(builder, settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    result = report_verify(bytes(report.pdf))
    assert result.verdict == ("no_verdict", GUIDANCE_LABEL)
    assert result.message.startswith("No verdict: automated triage guidance, the claim was not assessed. Valid:")


@pytest.mark.django_db
def test_the_report_and_case_page_name_the_findings_outside_the_claims_scope(builder, settings, tmp_path, client):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    predicate = report.statement["predicate"]
    assert predicate["outside_scope"]["counts"] == {"medium": 1}
    assert predicate["findings"][0]["outside_scope"] is True
    html = report_html(predicate, for_pdf=False)
    assert "Outside the claim's scope" in html and "1 medium finding" in html
    client.force_login(builder)
    page = client.get(f"/cases/{report.submission_id}/").content.decode()
    assert "1 medium finding outside this claim's scope." in page
    assert page.count('class="tag outside"') == 1
