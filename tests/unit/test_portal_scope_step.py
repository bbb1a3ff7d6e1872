"""The wizard's scope step over real HTTP: detect the components in the sandbox, pick in- and out-of-scope
components (grouped by kind) or type ids and globs, and get every entry that names nothing back with suggestions
before anything is saved."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from intake.models import AuditEvent
from intake.services import artifact_add, submission_inventory
from tests.factories import make_draft, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(builder) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    return client


def test_the_step_shows_the_detected_components_grouped_with_the_scope_ticked(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    body = client.get(reverse("case_scope", args=[draft.pk])).content.decode()
    assert "6 components detected." in body
    for legend in ("Agents (2)", "Harness configuration (1)", "MCP servers (1)", "Tools (1)", "Files (1)"):
        assert f"<legend>{legend}</legend>" in body
    assert 'name="scope_in" value="mcp-server:tickets" aria-label="mcp-server:tickets in scope" checked' in body
    assert 'name="scope_out" value="tool:manifest/shell" aria-label="tool:manifest/shell out of scope" checked' in body
    assert 'name="scope_in" value="file:settings.json" aria-label="file:settings.json in scope" >' in body
    assert "Not the model provider&#x27;s infrastructure." in body  # the note


def test_an_entry_naming_nothing_is_refused_with_suggestions_and_nothing_is_saved(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    response = client.post(reverse("case_scope", args=[draft.pk]), {
        "scope_in": ["agent:manifest"], "scope_in_extra": ".mcp.json servers\nmcp-server:tickts",
        "claim_scope_note": "typed"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 400 and body.startswith('<div id="wizard-step"')
    assert "2 scope entries name no component; nothing is saved yet." in body
    assert "In scope: “.mcp.json servers” is not a component id or glob. Nearest: <code>mcp-server:tickets</code>" in body
    assert "“mcp-server:tickts” matches no component of this system. Nearest: <code>mcp-server:tickets</code>" in body
    assert ".mcp.json servers\nmcp-server:tickts</textarea>" in body  # what was typed is kept
    draft.refresh_from_db()
    assert draft.claim_scope_in == ["agent:manifest", "mcp-server:tickets"] and draft.claim_scope_note != "typed"


def test_picked_components_and_globs_are_saved_and_lead_to_review(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    response = client.post(reverse("case_scope", args=[draft.pk]), {
        "scope_in": ["mcp-server:tickets"], "scope_in_extra": "file:*", "scope_out_extra": "tool:manifest/*",
        "claim_scope_note": "The ticket connector and its files."})
    assert response.status_code == 302 and response["Location"] == reverse("case_review", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.claim_scope_in == ["mcp-server:tickets", "file:*"]
    assert draft.claim_scope_out == ["tool:manifest/*"]
    assert draft.claim_scope_note == "The ticket connector and its files."
    review = client.get(reverse("case_review", args=[draft.pk])).content.decode()
    assert "Everything needed is in place." in review and "The ticket connector and its files." in review


def test_nothing_in_scope_is_refused(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    response = client.post(reverse("case_scope", args=[draft.pk]), {"scope_out": ["tool:manifest/shell"]})
    assert response.status_code == 400
    assert "Pick at least one component in scope." in response.content.decode()


def test_new_artifacts_need_detection_which_runs_in_the_sandbox(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    artifact_add(submission=draft, actor=builder, name=".mcp.json", kind="config", stream=io.BytesIO(
        b'{"mcpServers": {"sentry": {"command": "npx", "args": ["-y", "@sentry/mcp-server"]}}}'))
    body = client.get(reverse("case_scope", args=[draft.pk])).content.decode()
    assert "The artifacts or manifest changed since components were detected: detect them again." in body
    assert 'name="scope_in"' not in body
    assert client.post(reverse("case_scope", args=[draft.pk]), {"scope_in": ["agent:manifest"]}).status_code == 400
    response = client.post(reverse("case_scope_detect", args=[draft.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("case_scope", args=[draft.pk])
    draft.refresh_from_db()
    assert "mcp-server:sentry" in [c["id"] for c in submission_inventory(draft)]
    assert AuditEvent.objects.filter(action="scope.inventory", object_id=str(draft.pk)).count() == 2
    body = client.get(reverse("case_scope", args=[draft.pk])).content.decode()
    assert 'value="mcp-server:sentry"' in body and "<legend>MCP servers (2)</legend>" in body


def test_only_the_owner_reaches_the_step_or_detects(builder, other_builder):  # noqa: ANN001
    draft = make_draft(builder)
    stranger = Client()
    stranger.force_login(other_builder)
    assert stranger.get(reverse("case_scope", args=[draft.pk])).status_code == 404
    assert stranger.post(reverse("case_scope_detect", args=[draft.pk])).status_code == 404


def test_detection_needs_a_csrf_token(builder):  # noqa: ANN001
    draft = make_draft(builder)
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    assert client.post(reverse("case_scope_detect", args=[draft.pk])).status_code == 403


def test_the_case_timeline_says_components_were_detected(client, builder):  # noqa: ANN001
    draft = make_draft(builder)
    body = client.get(reverse("case_detail", args=[draft.pk])).content.decode()
    assert "Components detected" in body and "6 component(s)" in body


def test_a_submitted_case_is_not_analysed_again(client, builder, monkeypatch):  # noqa: ANN001
    from intake.services import submission_submit
    from triage import scope_inventory

    case = submission_submit(submission=make_draft(builder), actor=builder)
    monkeypatch.setattr(scope_inventory, "triage_analyse", lambda **kwargs: pytest.fail("analysed a submitted case"))
    response = client.post(reverse("case_scope_detect", args=[case.pk]))
    assert response.status_code == 302
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    api_response = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}").post(
        f"/api/v1/submissions/{case.pk}/components/")
    assert api_response.status_code == 409 and api_response.json()["error"]["code"] == "not_editable"
