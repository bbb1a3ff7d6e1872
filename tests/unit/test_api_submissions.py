"""The builder's /api/v1/ surface: create, fill, submit, withdraw and read their own cases only."""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.test import APIClient

from intake.models import Artifact, AuditEvent, Submission, TermsAcceptance
from intake.states import State
from tests.factories import VALID_MANIFEST, make_draft, make_terms, make_token

pytestmark = pytest.mark.django_db


def client_for(user, scopes=("submissions:read", "submissions:write")) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user, scopes=scopes)}")
    return client


@pytest.fixture
def api(builder):  # noqa: ANN001, ANN201
    return client_for(builder)


def url(pk=None, action: str = "") -> str:  # noqa: ANN001
    base = "/api/v1/submissions/"
    if pk is None:
        return base
    return f"{base}{pk}/" + (f"{action}/" if action else "")


# --- create, read, list --------------------------------------------------------------------------------------

def test_it_creates_a_draft_owned_by_the_caller(api, builder):  # noqa: ANN001
    response = api.post(url(), {"title": "Mail agent", "claim_property": "no-exfiltration",
                                "claim_scope_in": ["mail MCP server"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    submission = Submission.objects.get(pk=body["id"])
    assert submission.owner == builder
    assert (body["state"], body["title"], body["claim_scope_in"]) == ("draft", "Mail agent", ["mail MCP server"])
    assert AuditEvent.objects.filter(action="submission.create", object_id=str(submission.pk)).count() == 1


def test_it_lists_only_the_callers_cases(api, builder, other_builder):  # noqa: ANN001
    mine = make_draft(builder, title="mine", complete=False)
    make_draft(other_builder, title="theirs", complete=False)
    response = api.get(url())
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]


def test_it_reads_one_case_with_artifacts_and_terms(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    body = api.get(url(submission.pk)).json()
    assert body["reference"] == submission.reference
    assert [a["name"] for a in body["artifacts"]] == ["settings.json"]
    assert body["terms_accepted"] == [terms.version]


def test_it_refuses_case_creation_to_non_builders(coordinator):  # noqa: ANN001
    from tests.factories import enable_totp

    enable_totp(coordinator)
    response = client_for(coordinator).post(url(), {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "forbidden", "message": "Only builder accounts can open cases."}}
    assert not Submission.objects.exists()


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1", "%27%20OR%201%3D1"])
def test_a_malformed_case_id_is_a_json_404_not_a_500(api, bad_id):  # noqa: ANN001
    response = api.get(f"/api/v1/submissions/{bad_id}/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such case."}}


def test_a_malformed_artifact_id_is_a_json_404(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.delete(f"{url(submission.pk)}artifacts/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such artifact."}}


def test_a_coordinator_can_read_but_not_change_a_builders_case(coordinator, builder):  # noqa: ANN001
    from tests.factories import enable_totp

    enable_totp(coordinator)
    submission = make_draft(builder, complete=False)
    client = client_for(coordinator)
    assert client.get(url(submission.pk)).status_code == 200
    response = client.patch(url(submission.pk), {"title": "renamed"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only the case's builder can change it."
    submission.refresh_from_db()
    assert submission.title == "Ticket triage agent"


# --- update, submit, withdraw, conflicts ----------------------------------------------------------------------

def test_it_updates_only_the_fields_sent(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.patch(url(submission.pk), {"claim_statement": "No data leaves the allowlist.",
                                              "manifest": VALID_MANIFEST}, format="json")
    assert response.status_code == 200, response.content
    submission.refresh_from_db()
    assert submission.claim_statement == "No data leaves the allowlist."
    assert submission.manifest["name"] == "Ticket triage agent"
    assert submission.title == "Ticket triage agent"


def test_it_submits_a_ready_draft_and_freezes_its_digest(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    response = api.post(url(submission.pk, "submit"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "submitted"
    assert body["config_digest"].startswith("sha256:")
    status = api.get(url(submission.pk, "status")).json()
    assert status["state"] == "submitted"
    assert [(t["from"], t["to"]) for t in status["timeline"]] == [("draft", "submitted")]


def test_submitting_twice_is_a_conflict(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    assert api.post(url(submission.pk, "submit")).status_code == 200
    again = api.post(url(submission.pk, "submit"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_editable"
    assert AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk)).count() == 1


def test_editing_after_submit_is_a_conflict_and_keeps_the_saved_case(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    api.post(url(submission.pk, "submit"))
    response = api.patch(url(submission.pk), {"title": "changed after the fact"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "not_editable",
        "message": f"case {submission.reference} is submitted and can no longer be edited"}
    submission.refresh_from_db()
    assert submission.title == "Ticket triage agent"


def test_uploading_after_submit_is_a_conflict(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    api.post(url(submission.pk, "submit"))
    response = api.post(url(submission.pk, "artifacts"), {"file": io.BytesIO(b"late")}, format="multipart")
    assert response.status_code == 409
    assert submission.artifacts.count() == 1


def test_submitting_an_incomplete_draft_lists_what_is_missing(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.post(url(submission.pk, "submit"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "State the claim you want assessed."
    assert "Accept the current terms." in error["details"]["problems"]
    assert Submission.objects.get(pk=submission.pk).state == State.DRAFT


def test_it_withdraws_and_a_second_withdrawal_is_a_conflict(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    response = api.post(url(submission.pk, "withdraw"), {"reason": "wrong build"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    again = api.post(url(submission.pk, "withdraw"), {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "conflict", "message": "a case cannot move from withdrawn to withdrawn"}


# --- bad input: nothing already saved is lost -----------------------------------------------------------------

def test_malformed_json_is_a_400_and_loses_nothing(api, builder):  # noqa: ANN001
    submission = make_draft(builder)
    response = api.generic("PATCH", url(submission.pk), '{"title": "half', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
    assert response.json()["error"]["message"].startswith("JSON parse error")
    submission.refresh_from_db()
    assert submission.title == "Ticket triage agent" and submission.manifest == VALID_MANIFEST


def test_a_manifest_schema_violation_is_a_400_and_keeps_the_saved_manifest(api, builder):  # noqa: ANN001
    submission = make_draft(builder)
    broken = {**VALID_MANIFEST, "models": "not a list"}
    response = api.patch(url(submission.pk), {"manifest": broken, "title": "new title"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "models" in error["message"]
    submission.refresh_from_db()
    assert submission.manifest == VALID_MANIFEST
    assert submission.title == "Ticket triage agent"  # the valid field in the same request is not half-applied


@pytest.mark.parametrize(("payload", "message"), [
    ({"title": "x", "secret_flag": True}, "secret_flag: Unknown field."),
    ({"title": ""}, "title: This field may not be blank."),
    ({"title": "x" * 201}, "title: Ensure this field has no more than 200 characters."),
    ({"title": "x", "claim_property": "certified-safe"}, 'claim_property: "certified-safe" is not a valid choice.'),
    ({"title": "x", "claim_scope_in": "not a list"}, 'claim_scope_in: Expected a list of items but got type "str".'),
    ({"title": "x", "retention_days": 0}, "retention_days: Ensure this value is greater than or equal to 1."),
])
def test_schema_violations_on_create_are_400_with_the_field_named(api, payload, message):  # noqa: ANN001
    response = api.post(url(), payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["message"] == message
    assert not Submission.objects.exists()


def test_a_json_array_body_is_a_400(api):  # noqa: ANN001
    response = api.post(url(), [{"title": "x"}], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


# --- artifacts ---------------------------------------------------------------------------------------------------

def test_it_streams_an_upload_into_the_case(api, builder):  # noqa: ANN001
    import hashlib

    import zipfile

    submission = make_draft(builder, complete=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("agent/notes.txt", b"z" * 5000)
    content = buffer.getvalue()
    response = api.post(url(submission.pk, "artifacts"),
                        {"file": io.BytesIO(content), "kind": "archive"}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["size"], body["sha256"], body["kind"]) == (len(content), hashlib.sha256(content).hexdigest(),
                                                           "archive")
    listed = api.get(url(submission.pk, "artifacts")).json()
    assert [a["id"] for a in listed] == [body["id"]]


def test_an_archive_that_does_not_read_is_a_400_naming_the_problem(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    upload = io.BytesIO(b"PK\x03\x04" + b"z" * 5000)
    upload.name = "system.zip"
    response = api.post(url(submission.pk, "artifacts"), {"file": upload, "kind": "archive"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == ("system.zip cannot be accepted: not a readable zip archive "
                                                   "(File is not a zip file)")
    assert not submission.artifacts.exists()


def test_an_oversized_upload_is_a_413_and_stores_nothing(api, builder, settings):  # noqa: ANN001
    from pathlib import Path

    settings.ASSAY_MAX_ARTIFACT_BYTES = 1024
    submission = make_draft(builder, complete=False)
    store = Path(settings.DATA_DIR) / "artifacts"
    before = set(store.iterdir()) if store.exists() else set()
    response = api.post(url(submission.pk, "artifacts"), {"file": io.BytesIO(b"y" * 4096)}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "too_large", "message": "artifact is larger than the 1024 byte limit"}
    assert not Artifact.objects.filter(submission=submission).exists()
    assert (set(store.iterdir()) if store.exists() else set()) == before


def test_an_upload_just_over_the_limit_but_under_the_multipart_slack_is_still_a_413(api, builder, settings):  # noqa: ANN001
    settings.ASSAY_MAX_ARTIFACT_BYTES = 1000
    submission = make_draft(builder, complete=False)
    response = api.post(url(submission.pk, "artifacts"), {"file": io.BytesIO(b"y" * 1001)}, format="multipart")
    assert response.status_code == 413
    assert not Artifact.objects.exists()


def test_a_json_body_to_the_upload_endpoint_is_refused(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.post(url(submission.pk, "artifacts"), {"file": "aGVsbG8="}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_an_upload_without_a_file_is_a_400(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.post(url(submission.pk, "artifacts"), {"kind": "archive"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "file: No file was submitted."


def test_it_removes_an_artifact_from_a_draft(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    artifact = submission.artifacts.get()
    response = api.delete(f"{url(submission.pk)}artifacts/{artifact.pk}/")
    assert response.status_code == 204
    assert not submission.artifacts.exists()


# --- terms, readiness, redaction ------------------------------------------------------------------------------------

def test_it_serves_the_current_terms(api, terms):  # noqa: ANN001
    body = api.get("/api/v1/terms/current/").json()
    assert (body["version"], body["text_sha256"]) == (terms.version, terms.text_sha256)


def test_it_records_acceptance_of_the_current_terms(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.post(url(submission.pk, "terms"), {"version": terms.version}, format="json")
    assert response.status_code == 200
    acceptance = TermsAcceptance.objects.get(submission=submission)
    assert (acceptance.account, acceptance.text_sha256) == (builder, terms.text_sha256)


def test_accepting_an_outdated_terms_version_is_a_conflict(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    make_terms("2026.2")
    response = api.post(url(submission.pk, "terms"), {"version": terms.version}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "terms_outdated",
        "message": "terms version 2026.1 is not the current version (2026.2); read and accept the current terms"}
    assert not TermsAcceptance.objects.filter(submission=submission).exists()


def test_readiness_reports_redaction_findings_until_confirmed_as_placeholders(api, builder, terms):  # noqa: ANN001
    submission = make_draft(builder)
    api.patch(url(submission.pk), {"description": "Contact jane.doe@acme-agents.io for access."}, format="json")
    readiness = api.get(url(submission.pk, "readiness")).json()
    assert readiness["ready"] is False
    [finding] = readiness["redaction"]
    assert (finding["field"], finding["kind"]) == ("description", "personal")
    assert "jane.doe@acme-agents.io" not in json.dumps(readiness)  # the excerpt is masked
    confirmed = api.post(url(submission.pk, "redaction/confirm"), {"fingerprints": [finding["fingerprint"]]},
                         format="json")
    assert confirmed.status_code == 200
    assert confirmed.json() == {"ready": True, "problems": [], "redaction": [], "scope": []}
    assert api.post(url(submission.pk, "submit")).status_code == 200


def test_an_oversized_json_body_is_a_413_and_loses_nothing(api, builder, settings):  # noqa: ANN001
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    submission = make_draft(builder)
    response = api.patch(url(submission.pk), {"description": "x" * 20_000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "too_large",
                                        "message": "request body is larger than the 10000 byte limit"}
    submission.refresh_from_db()
    assert submission.description == "A support agent that triages inbound tickets."


def test_an_unexpected_error_is_answered_as_json_500_without_details(caplog):  # noqa: ANN001
    from intake.api_errors import assay_exception_handler

    response = assay_exception_handler(RuntimeError("database password is hunter2"), {})
    assert response.status_code == 500
    assert response.data == {"error": {"code": "server_error",
                                       "message": "Something went wrong on our side; the error was logged."}}
    assert "unhandled API error" in caplog.text


def test_an_unknown_api_path_is_a_json_404(api):  # noqa: ANN001
    response = api.get("/api/v1/no-such-resource/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint."}}


def test_a_method_the_endpoint_lacks_is_a_json_405(api, builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    response = api.put(url(submission.pk), {"title": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
