"""Scope entries as component ids and globs: what they match, the suggestions for entries written as people write
them, and the submit-time check (readiness, the API and the manifest's scope section)."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from intake.errors import ValidationFailed
from intake.scope import components_matching, entry_matches, scope_problems, suggestions_for
from intake.services import (artifact_add, submission_inventory, submission_readiness, submission_submit,
                             submission_update)
from intake.states import State
from tests.factories import VALID_MANIFEST, make_draft, make_token


def component(cid: str, paths: list[str], label: str = "") -> dict:
    return {"id": cid, "kind": cid.split(":", 1)[0], "label": label or cid, "paths": paths, "lines": {}}


# What triage detects in a Claude Code tree (ids as triage.components gives them).
CLAUDE = [
    component("agent:claude-code", [".claude/settings.json", ".mcp.json"], "claude-code agent claude-code"),
    component("file:.claude/settings.json", [".claude/settings.json"]),
    component("file:.mcp.json", [".mcp.json"]),
    component("file:tools/a.py", ["tools/a.py"]),
    component("file:tools/sub/b.py", ["tools/sub/b.py"]),
    component("harness-config:.claude/settings.json", [".claude/settings.json"], "Claude Code settings"),
    component("harness-config:.mcp.json", [".mcp.json"], "claude-code MCP configuration (.mcp.json)"),
    component("hook:PreToolUse/1", [".claude/settings.json"], "claude-code PreToolUse hook: echo"),
    component("mcp-server:github", [".mcp.json"], "MCP server github (claude-code)"),
    component("mcp-server:sentry", [".mcp.json"], "MCP server sentry (claude-code)"),
]


def test_ids_and_globs_match_components():
    assert entry_matches("mcp-server:github", "mcp-server:github")
    assert not entry_matches("mcp-server:git", "mcp-server:github")
    assert components_matching("mcp-server:*", CLAUDE) == ["mcp-server:github", "mcp-server:sentry"]
    assert components_matching("file:tools/*", CLAUDE) == ["file:tools/a.py"]  # one segment
    assert components_matching("file:tools/**", CLAUDE) == ["file:tools/a.py", "file:tools/sub/b.py"]
    assert components_matching("hook:PreToolUse/?", CLAUDE) == ["hook:PreToolUse/1"]
    assert components_matching(".mcp.json", CLAUDE) == []  # not a component entry: no kind
    assert components_matching("gadget:*", CLAUDE) == []  # unknown kind


@pytest.mark.parametrize(("written", "expected"), [
    (".mcp.json servers", ["mcp-server:github", "mcp-server:sentry"]),
    ("Claude Code harness", ["agent:claude-code"]),
    (".claude/settings.json permissions", ["harness-config:.claude/settings.json"]),
    ("the tools folder", ["file:tools/**"]),
    ("mcp-server:githb", ["mcp-server:github"]),
])
def test_free_text_entries_get_the_nearest_components_as_suggestions(written, expected):  # noqa: ANN001
    suggestions = suggestions_for(written, CLAUDE)
    assert set(expected) <= set(suggestions), suggestions
    assert len(suggestions) <= 6


def test_the_issue_15_scope_is_three_problems_each_with_suggestions():
    problems = scope_problems(["Claude Code harness", ".mcp.json servers", ".claude/settings.json permissions"],
                              ["mcp-server:jira"], CLAUDE)
    assert [(p.field, p.entry) for p in problems] == [
        ("claim_scope_in", "Claude Code harness"), ("claim_scope_in", ".mcp.json servers"),
        ("claim_scope_in", ".claude/settings.json permissions"), ("claim_scope_out", "mcp-server:jira")]
    assert problems[0].message == "In scope: “Claude Code harness” is not a component id or glob."
    assert problems[3].message == "Out of scope: “mcp-server:jira” matches no component of this system."
    assert "mcp-server:*" in problems[1].suggestions
    assert scope_problems(["agent:claude-code", "mcp-server:*"], ["file:tools/**"], CLAUDE) == []


pytestmark = pytest.mark.django_db


def test_readiness_asks_for_detection_then_names_each_entry_with_suggestions(builder):  # noqa: ANN001
    draft = make_draft(builder)
    assert submission_readiness(draft) == []
    draft = submission_update(submission=draft, actor=builder, claim_scope_in=["tickets MCP server"])
    assert submission_readiness(draft) == [
        "In scope: “tickets MCP server” is not a component id or glob. Nearest: mcp-server:tickets."]
    artifact_add(submission=draft, actor=builder, name="more.json", stream=io.BytesIO(b"{}"), kind="config")
    assert submission_inventory(draft) is None  # the artifacts changed: detected components are stale
    assert "Detect the system's components (Scope step)" in submission_readiness(draft)[0]


def test_submit_refuses_a_scope_naming_nothing_with_the_suggestions_in_the_details(builder):  # noqa: ANN001
    draft = submission_update(submission=make_draft(builder), actor=builder,
                              claim_scope_in=["agent:manifest", "MCP servers"], claim_scope_out=["tool:nope"])
    with pytest.raises(ValidationFailed) as refused:
        submission_submit(submission=draft, actor=builder)
    scope = refused.value.details["scope"]
    assert [(p["field"], p["entry"]) for p in scope] == [("claim_scope_in", "MCP servers"),
                                                         ("claim_scope_out", "tool:nope")]
    assert scope[0]["suggestions"] == ["mcp-server:tickets"]
    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    fixed = submission_update(submission=draft, actor=builder, claim_scope_in=["agent:manifest", "mcp-server:*"],
                              claim_scope_out=["tool:manifest/*"])
    assert submission_submit(submission=fixed, actor=builder).state == State.SUBMITTED


def test_a_manifest_scope_section_sets_the_scope_in_component_ids(builder):  # noqa: ANN001
    draft = make_draft(builder)
    manifest = {**VALID_MANIFEST, "scope": {"in": ["mcp-server:tickets"], "out": ["tool:manifest/shell"],
                                            "note": "The ticket connector only."}}
    draft = submission_update(submission=draft, actor=builder, manifest=manifest)
    assert (draft.claim_scope_in, draft.claim_scope_out, draft.claim_scope_note) == (
        ["mcp-server:tickets"], ["tool:manifest/shell"], "The ticket connector only.")
    # Saving a manifest changes the digest, so the components are detected again before the check can pass.
    assert submission_inventory(draft) is None
    with pytest.raises(ValidationFailed) as refused:
        submission_update(submission=draft, actor=builder,
                          manifest={**VALID_MANIFEST, "scope": {"in": ["the ticket connector"]}})
    assert "scope/in/0" in str(refused.value.details["manifest"])


def api(user) -> Client:  # noqa: ANN001
    return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")


def test_the_api_takes_component_ids_and_reports_scope_problems(builder):  # noqa: ANN001
    draft = make_draft(builder)
    client = api(builder)
    url = f"/api/v1/submissions/{draft.pk}/"
    response = client.patch(url, {"claim_scope_in": ["mcp-server:*", "Claude Code harness"],
                                  "claim_scope_note": "Mostly the connector."}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["claim_scope_note"] == "Mostly the connector."
    components = client.get(f"{url}components/").json()
    assert components["current"] is True
    assert [c["id"] for c in components["components"]] == [
        "agent:claude-code", "agent:manifest", "file:settings.json", "harness-config:settings.json",
        "mcp-server:tickets", "tool:manifest/shell"]
    suggestions = ["agent:*", "harness-config:settings.json", "agent:claude-code", "agent:manifest"]
    assert components["scope_problems"] == [{
        "entry": "Claude Code harness", "field": "claim_scope_in",
        "message": "In scope: “Claude Code harness” is not a component id or glob.",
        "suggestions": suggestions}]
    readiness = client.get(f"{url}readiness/").json()
    assert not readiness["ready"] and readiness["scope"] == components["scope_problems"]
    refused = client.post(f"{url}submit/")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["scope"][0]["suggestions"] == suggestions
    client.patch(url, {"claim_scope_in": ["mcp-server:*", "agent:manifest"]}, content_type="application/json")
    assert client.post(f"{url}submit/").json()["state"] == "submitted"


def test_only_the_owner_detects_and_a_stranger_sees_nothing(builder, other_builder):  # noqa: ANN001
    draft = make_draft(builder)
    assert api(other_builder).get(f"/api/v1/submissions/{draft.pk}/components/").status_code == 404
    assert api(other_builder).post(f"/api/v1/submissions/{draft.pk}/components/").status_code == 404


def test_the_api_detects_components_in_the_sandbox(builder):  # noqa: ANN001
    draft = make_draft(builder)
    artifact_add(submission=draft, actor=builder, name="mcp.zip", kind="archive", stream=io.BytesIO(_zip({
        ".mcp.json": '{"mcpServers": {"sentry": {"command": "npx", "args": ["-y", "@sentry/mcp-server"]}}}'})))
    client = api(builder)
    assert client.get(f"/api/v1/submissions/{draft.pk}/components/").json()["current"] is False
    response = client.post(f"/api/v1/submissions/{draft.pk}/components/")
    assert response.status_code == 200
    found = [c["id"] for c in response.json()["components"]]
    assert {"mcp-server:sentry", "mcp-server:tickets", "file:.mcp.json", "harness-config:.mcp.json"} <= set(found)


def _zip(files: dict[str, str]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_the_inventory_and_note_are_sealed_under_the_case_key(builder):  # noqa: ANN001
    from django.db import connection

    draft = make_draft(builder)
    with connection.cursor() as cursor:
        cursor.execute("SELECT component_inventory, claim_scope_note FROM intake_submission WHERE id = %s",
                       [draft.pk.hex if connection.vendor == "sqlite" else draft.pk])
        inventory, note = cursor.fetchone()
    assert inventory.startswith("assay-sealed/v1:") and "mcp-server:tickets" not in inventory
    assert note.startswith("assay-sealed/v1:")


def test_findings_outside_a_component_scope_are_listed_by_the_selector(builder):  # noqa: ANN001
    from triage.models import TriageResult
    from triage.selectors import findings_outside_scope

    case = submission_submit(submission=make_draft(builder), actor=builder)  # in: agent:manifest, mcp-server:tickets
    named_tool = {"check": "approval.manifest-no-approval", "severity": "high", "path": "(manifest)", "line": None,
                  "tool": "shell"}  # the out-of-scope tool:manifest/shell
    about_manifest = {"check": "provenance.unverified-model", "severity": "medium", "path": "(manifest)",
                      "line": None}
    settings_file = {"check": "privilege.no-secret-deny-rules", "severity": "low", "path": "settings.json", "line": 1}
    result = TriageResult.objects.create(submission=case, policy_version="2026.12.2", sandbox="gvisor",
                                         config_digest=case.config_digest, score=30, decision="escalate",
                                         reasons=[], findings=[named_tool, about_manifest, settings_file])
    outside = findings_outside_scope(result, case)
    assert outside["findings"] == [named_tool, settings_file]
    assert outside["summary"] == "1 high, 1 low"


def test_a_black_box_draft_without_artifacts_gets_the_manifests_components(builder):  # noqa: ANN001
    from intake.services import submission_create
    from triage.scope_inventory import submission_detect_components

    draft = submission_update(submission=submission_create(owner=builder, title="Black box"), actor=builder,
                              manifest=VALID_MANIFEST)
    detected = submission_detect_components(submission=draft, actor=builder)
    assert [c["id"] for c in submission_inventory(detected)] == ["agent:manifest", "mcp-server:tickets",
                                                                 "tool:manifest/shell"]
