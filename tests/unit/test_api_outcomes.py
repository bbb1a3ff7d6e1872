"""API for what a case produces: triage result, reports (download, verify), retention and receipts, aggregates."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from intake.models import Submission
from intake.states import State
from reviews.models import Report
from reviews.reports import report_issue
from tests.factories import make_draft, make_token
from tests.unit.reviews.test_reports import closed_case


def api(user, scopes=("submissions:read", "submissions:write", "reports:read")) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user, scopes=scopes)}")
    return client


@pytest.fixture(autouse=True)
def _signing_key(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")


@pytest.mark.django_db
def test_triage_result_in_contract_shape_and_sarif(builder, other_builder):  # noqa: ANN001
    submission = closed_case(builder)
    response = api(builder).get(f"/api/v1/submissions/{submission.pk}/triage/")
    assert response.status_code == 200
    assert set(response.json()) == {"config_digest", "policy_version", "sandbox", "findings", "score", "decision",
                                    "reasons", "tree_digest", "outside_claim_scope", "duplicate_of"}
    assert response.json()["config_digest"] == submission.config_digest  # the case's digest, not the tree's
    # the scope is written as people write it ("agent harness"): the .mcp.json finding is outside it, and said so
    assert response.json()["outside_claim_scope"] == {"counts": {"medium": 1}, "findings": [
        {"check": "provenance.unpinned-mcp-package", "severity": "medium", "path": ".mcp.json", "line": 3}]}
    sarif = api(builder).get(f"/api/v1/submissions/{submission.pk}/triage/?as=sarif").json()
    assert sarif["version"] == "2.1.0"
    assert api(other_builder).get(f"/api/v1/submissions/{submission.pk}/triage/").json()["error"]["code"] == \
        "not_found"


@pytest.mark.django_db
def test_reports_list_download_and_public_verify(builder, other_builder):  # noqa: ANN001
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    case = report.submission_id
    listing = api(builder).get(f"/api/v1/submissions/{case}/reports/").json()
    assert [r["id"] for r in listing] == [str(report.pk)]
    pdf = api(builder).get(f"/api/v1/submissions/{case}/reports/{report.pk}/pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content) == bytes(report.pdf)
    assert api(other_builder).get(f"/api/v1/submissions/{case}/reports/{report.pk}/pdf/").status_code == 404
    no_scope = api(builder, scopes=("submissions:read",)).get(f"/api/v1/submissions/{case}/reports/")
    assert no_scope.status_code == 403
    anonymous = APIClient()
    verified = anonymous.post("/api/v1/reports/verify/", {"report": SimpleUploadedFile("r.pdf", bytes(report.pdf))},
                              format="multipart").json()
    assert verified["status"] == "valid" and verified["valid"] is True
    by_id = anonymous.post("/api/v1/reports/verify/", {"report_id": str(report.pk)}, format="json").json()
    assert by_id["status"] == "valid"
    assert anonymous.post("/api/v1/reports/verify/", {}, format="json").status_code == 400


@pytest.mark.django_db
def test_retention_delete_and_receipts(builder, other_builder):  # noqa: ANN001
    submission = make_draft(builder)
    assert api(builder).get(f"/api/v1/submissions/{submission.pk}/retention/").json()["state"] == "draft"
    refused = api(other_builder).post(f"/api/v1/submissions/{submission.pk}/delete/",
                                      {"confirm_reference": submission.reference}, format="json")
    assert refused.status_code == 404
    wrong = api(builder).post(f"/api/v1/submissions/{submission.pk}/delete/", {"confirm_reference": "AS-X"},
                              format="json")
    assert wrong.status_code == 400
    receipt = api(builder).post(f"/api/v1/submissions/{submission.pk}/delete/",
                                {"confirm_reference": submission.reference}, format="json").json()
    assert Submission.objects.get(pk=submission.pk).state == State.SHREDDED
    assert api(builder).get(f"/api/v1/submissions/{submission.pk}/receipts/").json() == [receipt]


@pytest.mark.django_db
def test_aggregates_are_public(client, coordinator):  # noqa: ANN001
    import hashlib
    from datetime import date

    from reviews.aggregates import release_create
    from reviews.report_pdf import canonical

    assert APIClient().get("/api/v1/aggregates/").json() == []
    release = release_create(dataset="findings", period_start=date.today(), period_end=date.today(), epsilon=1.0,
                             actor=coordinator)
    [published] = APIClient().get("/api/v1/aggregates/").json()
    assert published["statement_sha256"] == hashlib.sha256(canonical(published["statement"])).hexdigest()
    assert published["log_index"] == release.log_index


@pytest.mark.django_db
def test_only_coordinators_revoke_reports(builder, coordinator, client):  # noqa: ANN001
    from tests.factories import enable_totp

    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    denied = api(builder, scopes=("reviews",)).post(f"/api/v1/reports/{report.pk}/revoke/",
                                                     {"reason": "not allowed to do this"}, format="json")
    assert denied.status_code == 403
    enable_totp(coordinator)
    revoked = api(coordinator, scopes=("reviews",)).post(f"/api/v1/reports/{report.pk}/revoke/",
                                                          {"reason": "digest computed on the wrong upload"},
                                                          format="json")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert report_verify_status(report) == "revoked"


def report_verify_status(report: Report) -> str:
    from reviews.reports import report_verify

    return report_verify(bytes(report.pdf)).status
