"""Public verification page, published keys, transparency endpoints; report downloads only for those who see the case."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reviews.models import Report
from reviews.reports import report_issue
from tests.factories import PASSWORD
from tests.unit.reviews.test_reports import closed_case


@pytest.fixture
def report(builder, settings, tmp_path):  # noqa: ANN001, ANN201
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    return report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)


@pytest.mark.django_db
def test_published_keys_list_the_signing_key(client, report):  # noqa: ANN001
    response = client.get("/.well-known/assay-keys.json")
    assert response.status_code == 200
    assert report.key_id in [k["key_id"] for k in response.json()["keys"]]


@pytest.mark.django_db
def test_anyone_can_verify_an_uploaded_report(client, report):  # noqa: ANN001
    upload = SimpleUploadedFile("r.pdf", bytes(report.pdf), content_type="application/pdf")
    response = client.post("/verify/", {"report": upload})
    assert response.status_code == 200
    assert "Valid and current" in response.content.decode()
    tampered = bytearray(report.pdf)
    tampered[200] ^= 0xFF
    response = client.post("/verify/", {"report": SimpleUploadedFile("r.pdf", bytes(tampered))})
    assert "Tampered or damaged" in response.content.decode()


@pytest.mark.django_db
def test_verify_by_report_id(client, report):  # noqa: ANN001
    assert "Valid and current" in client.get(f"/verify/?id={report.pk}").content.decode()
    response = client.get("/verify/?id=not-a-uuid")
    assert response.status_code == 400
    assert "No report with that id" in response.content.decode()


@pytest.mark.django_db
def test_verify_upload_needs_csrf(report):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    response = client.post("/verify/", {"report": SimpleUploadedFile("r.pdf", bytes(report.pdf))})
    assert response.status_code == 403


@pytest.mark.django_db
def test_only_the_owner_downloads_the_report(client, report, builder, other_builder):  # noqa: ANN001
    url = f"/cases/{report.submission_id}/reports/{report.pk}.pdf"
    assert client.get(url).status_code == 302  # anonymous: to login
    client.login(email=other_builder.email, password=PASSWORD)
    assert client.get(url).status_code == 404
    client.login(email=builder.email, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == bytes(report.pdf)


@pytest.mark.django_db
def test_transparency_head_and_inclusion_proof(client, report):  # noqa: ANN001
    head = client.get("/transparency/head.json").json()
    assert head["tree_size"] >= 1
    proof = client.get(f"/transparency/proof.json?index={report.log_index}&size={head['tree_size']}")
    assert proof.status_code == 200 and "proof" in proof.json()
    assert client.get("/transparency/proof.json?size=999").status_code == 404


@pytest.mark.django_db
def test_coordinator_revokes_from_the_case_page_builder_cannot(client, report, builder, coordinator):  # noqa: ANN001
    from tests.factories import enable_totp, login_with_mfa

    url = f"/cases/{report.submission_id}/reports/{report.pk}/revoke/"
    client.login(email=builder.email, password=PASSWORD)
    assert client.post(url, {"reason": "builder tries to revoke"}).status_code == 403
    enable_totp(coordinator)
    login_with_mfa(client, coordinator)  # a password-only session of a coordinator is refused (tests/security)
    assert "Revocation reason" in client.get(f"/cases/{report.submission_id}/").content.decode()
    assert client.post(url, {"reason": "wrong artifacts were uploaded"}).status_code == 302
    report.refresh_from_db()
    assert report.revoked_at is not None and report.revoke_reason == "wrong artifacts were uploaded"


@pytest.mark.django_db
def test_institutions_land_on_aggregates_and_see_no_cases(client, builder):  # noqa: ANN001
    from intake.models import Role
    from tests.factories import make_draft, make_user

    case = make_draft(builder)
    institution = make_user("analyst@institute.example", role=Role.INSTITUTION)
    client.login(email=institution.email, password=PASSWORD)
    assert client.get("/dashboard/")["Location"] == "/aggregates/"
    assert client.get(f"/cases/{case.pk}/").status_code == 404


@pytest.mark.django_db
def test_verify_counts_and_lists_the_findings_outside_the_claims_scope(client, report):  # noqa: ANN001
    # closed_case's scope is the manifest's agent and its tickets server; its one finding is in .mcp.json.
    body = client.get(f"/verify/?id={report.pk}").content.decode().replace("&#x27;", "'")
    row = body[body.index('<tr class="outside-scope">'):]
    row = row[:row.index("</tr>")]
    assert "Outside the claim's scope" in row and "<strong>1 medium finding</strong>" in row
    assert "<code>provenance.unpinned-mcp-package</code> at .mcp.json:3" in row
    assert body.index("Outside the claim's scope") < body.index("Configuration digest")
