"""The submission wizard over real HTTP: every step saves through the services,
bad input comes back with a clear error and nothing the builder typed is lost."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from intake.models import AuditEvent, Submission
from intake.services import terms_publish
from intake.states import State
from tests.factories import VALID_MANIFEST, make_draft

pytestmark = pytest.mark.django_db


CLAIM = {
    "title": "Ticket triage agent",
    "description": "A support agent that triages inbound tickets.",
    "claim_statement": "The agent cannot send ticket contents outside the allowlist.",
    "claim_property": "no-exfiltration",
    "claim_assumptions": "egress proxy enforced\nthe harness enforces its allow list\n",
    "claim_access_tier": "grey",
    "named_competitors": "",
    "retention_days": "",
}


@pytest.fixture
def client(builder) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    return client


def _audit_actions(submission) -> list[str]:  # noqa: ANN001
    return list(AuditEvent.objects.filter(object_id=str(submission.pk)).values_list("action", flat=True))


def test_claim_step_creates_a_draft_and_moves_on_to_the_manifest(client, builder):  # noqa: ANN001
    response = client.post(reverse("case_new"), CLAIM)
    submission = Submission.objects.get(owner=builder)
    assert response.status_code == 302
    assert response["Location"] == reverse("case_manifest", args=[submission.pk])
    assert submission.state == State.DRAFT
    assert submission.claim_assumptions == ["egress proxy enforced", "the harness enforces its allow list"]
    assert submission.claim_scope_in == []  # scope is picked from the detected components after upload
    assert submission.claim_access_tier == "grey"
    assert _audit_actions(submission) == ["submission.create"]


def test_htmx_claim_step_answers_with_hx_redirect(client, builder):  # noqa: ANN001
    response = client.post(reverse("case_new"), CLAIM, HTTP_HX_REQUEST="true")
    submission = Submission.objects.get(owner=builder)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("case_manifest", args=[submission.pk])


def test_invalid_claim_returns_the_form_partial_with_everything_typed(client, builder):  # noqa: ANN001
    response = client.post(reverse("case_new"), {**CLAIM, "title": "", "retention_days": "99999"},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 400
    assert body.startswith('<div id="wizard-step"') and "<html" not in body
    assert "Your changes are not saved yet: check the fields marked below." in body
    assert "This field is required." in body
    assert "Ensure this value is less than or equal to 3650." in body
    assert "The agent cannot send ticket contents outside the allowlist." in body
    assert "the harness enforces its allow list" in body
    assert not Submission.objects.exists()


def test_edit_claim_updates_the_draft(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    response = client.post(reverse("case_claim", args=[case.pk]), {**CLAIM, "title": "Renamed agent"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.title == "Renamed agent"
    assert _audit_actions(case)[-1] == "submission.update"


def test_over_long_list_item_is_refused_with_a_clear_message(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    response = client.post(reverse("case_claim", args=[case.pk]), {**CLAIM, "claim_assumptions": "x" * 501})
    assert response.status_code == 400
    assert "Each line may be at most 500 characters (1 line(s) are longer)." in response.content.decode()
    case.refresh_from_db()
    assert case.claim_assumptions == ["egress proxy enforced"]


def test_quota_exceeded_is_a_clear_429_and_keeps_the_form(client, builder, settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {0: 0, 1: 1, 2: 1, 3: 1}
    assert client.post(reverse("case_new"), CLAIM).status_code == 302
    response = client.post(reverse("case_new"), {**CLAIM, "title": "Second agent"})
    body = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "you have reached the limit of 1 open case(s) for assurance level 1" in body
    assert 'value="Second agent"' in body
    assert Submission.objects.filter(owner=builder).count() == 1


def test_malformed_manifest_json_says_where_and_keeps_the_text_and_the_saved_manifest(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    typed = '{\n  "schema_version": 1,\n  "name": "x",,\n}'
    response = client.post(reverse("case_manifest", args=[case.pk]), {"manifest": typed}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 400
    assert "This is not valid JSON: Expecting property name enclosed in double quotes at line 3, column 15." in body
    assert "&quot;name&quot;: &quot;x&quot;,," in body  # what was typed, escaped
    case.refresh_from_db()
    assert case.manifest == VALID_MANIFEST


def test_every_schema_violation_is_listed(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    bad = {"schema_version": 2, "name": "", "models": [], "harness": {}, "colour": "blue"}
    response = client.post(reverse("case_manifest", args=[case.pk]), {"manifest": json.dumps(bad)})
    body = response.content.decode()
    assert response.status_code == 400
    for expected in ("Schema: (root): Additional properties are not allowed (&#x27;colour&#x27; was unexpected)",
                     "Schema: harness: &#x27;name&#x27; is a required property",
                     "Schema: models: [] should be non-empty",
                     "Schema: name: &#x27;&#x27; should be non-empty",
                     "Schema: schema_version: 1 was expected"):
        assert expected in body
    assert "5 problems:" in body
    case.refresh_from_db()
    assert case.manifest == VALID_MANIFEST


def test_valid_manifest_is_saved_and_leads_to_terms(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    manifest = {**VALID_MANIFEST, "name": "Edited agent"}
    response = client.post(reverse("case_manifest", args=[case.pk]), {"manifest": json.dumps(manifest)})
    assert response.status_code == 302
    assert response["Location"] == reverse("case_terms", args=[case.pk])
    case.refresh_from_db()
    assert case.manifest["name"] == "Edited agent"


def test_manifest_check_lists_problems_inline_without_saving(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    response = client.post(reverse("case_manifest_check", args=[case.pk]), {"manifest": '{"schema_version": 1}'},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "3 problems:" in body and "&#x27;models&#x27; is a required property" in body
    ok = client.post(reverse("case_manifest_check", args=[case.pk]), {"manifest": json.dumps(VALID_MANIFEST)})
    assert "The manifest matches the schema." in ok.content.decode()
    case.refresh_from_db()
    assert case.manifest is None
    assert _audit_actions(case) == ["submission.create"]


def test_manifest_schema_is_published():  # noqa: ANN001
    response = Client().get("/schemas/manifest.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["title"] == "Assay agent-system manifest, version 1"


def test_accepting_terms_records_the_version_shown(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    page = client.get(reverse("case_terms", args=[case.pk])).content.decode()
    assert terms.body in page and terms.text_sha256 in page
    response = client.post(reverse("case_terms", args=[case.pk]), {"terms_version": terms.version, "accept": "on"})
    assert response.status_code == 302
    acceptance = case.terms_acceptances.get()
    assert (acceptance.terms, acceptance.text_sha256, acceptance.account) == (terms, terms.text_sha256, builder)


def test_terms_must_be_ticked(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    response = client.post(reverse("case_terms", args=[case.pk]), {"terms_version": terms.version})
    assert response.status_code == 400
    assert "Tick the box to accept the terms." in response.content.decode()
    assert not case.terms_acceptances.exists()


def test_terms_published_while_reading_must_be_read_first(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    newer = terms_publish(version="2026.2", title="Assay submission terms", body="Terms 2026.2: new text.",
                          retention={})
    response = client.post(reverse("case_terms", args=[case.pk]), {"terms_version": terms.version, "accept": "on"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "The terms changed while you were reading them" in body
    assert newer.body in body and f'name="terms_version" value="{newer.version}"' in body
    assert not case.terms_acceptances.exists()


def test_upload_lists_name_size_and_hash(client, builder, terms):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = make_draft(builder, complete=False)
    upload = SimpleUploadedFile("agent.json", b'{"hooks": []}', content_type="application/json")
    response = client.post(reverse("case_artifacts", args=[case.pk]), {"file": upload, "kind": "config"},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    artifact = case.artifacts.get()
    assert response.status_code == 200
    assert "Added agent.json." in body and "13\xa0bytes" in body and artifact.sha256 in body
    assert (artifact.size, artifact.kind) == (13, "config")


def test_oversized_upload_is_a_clear_413_and_stores_nothing(client, builder, terms, settings):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ASSAY_MAX_ARTIFACT_BYTES = 10
    case = make_draft(builder, complete=False)
    upload = SimpleUploadedFile("big.tar", b"x" * 11)
    response = client.post(reverse("case_artifacts", args=[case.pk]), {"file": upload, "kind": "archive"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 413
    assert "“big.tar” is 11\xa0bytes; the limit is 10\xa0bytes per file." in response.content.decode()
    assert not case.artifacts.exists()


def test_body_far_over_the_limit_is_refused_before_it_is_read(client, builder, terms, settings):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ASSAY_MAX_ARTIFACT_BYTES = 1024
    case = make_draft(builder, complete=False)
    upload = SimpleUploadedFile("huge.tar", b"x" * (200 * 1024))
    response = client.post(reverse("case_artifacts", args=[case.pk]), {"file": upload, "kind": "archive"})
    body = response.content.decode()
    assert response.status_code == 413
    assert "This upload is 200.2\xa0KB; the limit is 1.0\xa0KB per file." in body
    assert not case.artifacts.exists()


def test_upload_still_needs_a_csrf_token(builder, terms):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = make_draft(builder, complete=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    response = client.post(reverse("case_artifacts", args=[case.pk]),
                           {"file": SimpleUploadedFile("a.json", b"{}"), "kind": "config"})
    assert response.status_code == 403
    assert not case.artifacts.exists()


def test_duplicate_upload_name_is_refused_by_the_service(client, builder, terms):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = make_draft(builder)
    upload = SimpleUploadedFile("settings.json", b"{}")
    response = client.post(reverse("case_artifacts", args=[case.pk]), {"file": upload, "kind": "config"})
    assert response.status_code == 400
    assert "an artifact named settings.json is already attached" in response.content.decode()
    assert case.artifacts.count() == 1


def test_artifact_can_be_removed_from_a_draft(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    artifact = case.artifacts.get()
    response = client.post(reverse("case_artifact_remove", args=[case.pk, artifact.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Removed settings.json." in response.content.decode()
    assert not case.artifacts.exists()
    assert _audit_actions(case)[-1] == "artifact.remove"


def test_review_lists_what_is_missing_and_refuses_to_submit(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    page = client.get(reverse("case_review", args=[case.pk])).content.decode()
    for problem in ("State the claim you want assessed.", "Add the system manifest.", "Accept the current terms."):
        assert problem in page
    response = client.post(reverse("case_submit", args=[case.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "State the claim you want assessed." in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.DRAFT


def test_redaction_findings_are_masked_and_can_be_confirmed_as_placeholders(client, builder, terms):  # noqa: ANN001
    from intake.services import submission_update

    case = make_draft(builder)
    submission_update(submission=case, actor=builder, description="Escalations go to ops-lead@acme-agents.io.")
    page = client.get(reverse("case_review", args=[case.pk])).content.decode()
    assert "ops-lead@acme-agents.io" not in page
    assert "ops******************io" in page
    assert "Redact the flagged secrets or personal data, or confirm they are placeholders." in page
    assert f'href="{reverse("case_claim", args=[case.pk])}">Redact</a>' in page
    fingerprint = page.split('name="fingerprint" value="', 1)[1].split('"', 1)[0]
    response = client.post(reverse("case_confirm_placeholder", args=[case.pk]), {"fingerprint": fingerprint},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Everything needed is in place." in body
    case.refresh_from_db()
    assert case.redaction_confirmed == [fingerprint]


def test_unknown_placeholder_fingerprint_is_refused(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    response = client.post(reverse("case_confirm_placeholder", args=[case.pk]), {"fingerprint": "a" * 20})
    assert response.status_code == 400
    assert "none of those findings are open" in response.content.decode()


def test_ready_case_is_submitted_and_the_builder_lands_on_the_case_page(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    response = client.post(reverse("case_submit", args=[case.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("case_detail", args=[case.pk])
    case.refresh_from_db()
    assert case.state == State.SUBMITTED
    assert case.config_digest.startswith("sha256:")


def test_submitted_case_can_no_longer_be_edited(client, builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    client.post(reverse("case_submit", args=[case.pk]))
    get = client.get(reverse("case_claim", args=[case.pk]))
    assert get.status_code == 302 and get["Location"] == reverse("case_detail", args=[case.pk])
    post = client.post(reverse("case_claim", args=[case.pk]), {**CLAIM, "title": "Changed after submit"})
    assert post.status_code == 409
    assert "is submitted and can no longer be edited." in post.content.decode()
    case.refresh_from_db()
    assert case.title == "Ticket triage agent"
