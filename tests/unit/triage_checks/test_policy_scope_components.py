"""Policy 2026.12.2: a finding is in the claim's scope by component identity (ids, globs, out-of-scope exclusion);
free-text scopes of older cases decide exactly as under 2026.12.1, and 2026.12.1 itself is unchanged."""

from __future__ import annotations

import pytest

from triage.findings import Finding
from triage.policy import POLICY_VERSION, PolicyContext, decide, finding_in_component_scope


def component(cid: str, paths: list[str], lines: dict | None = None) -> dict:
    return {"id": cid, "kind": cid.split(":", 1)[0], "label": cid, "paths": paths, "lines": lines or {}}


INVENTORY = [
    component("agent:claude-code", [".claude/settings.json", ".mcp.json"]),
    component("file:.claude/settings.json", [".claude/settings.json"]),
    component("file:.mcp.json", [".mcp.json"]),
    component("file:tools/send.py", ["tools/send.py"]),
    component("harness-config:.mcp.json", [".mcp.json"]),
    component("mcp-server:github", [".mcp.json"], {".mcp.json": 8}),
    component("mcp-server:sentry", [".mcp.json"], {".mcp.json": 3}),
]


def finding(check: str, severity: str, categories: tuple[str, ...], path: str, line: int, **extra) -> Finding:
    return Finding(check, "title", severity, categories, path, line, "evidence", "fix it", extra)


SENTRY_PACKAGE = finding("provenance.unpinned-mcp-package", "medium", ("provenance", "exfiltration"), ".mcp.json", 4)
GITHUB_EXFIL = finding("trifecta.lethal-trifecta", "critical", ("private_data", "untrusted_input", "exfiltration"),
                       ".mcp.json", 9, agent="claude-code")
TOOL_SECRET = finding("secrets.hardcoded-credential", "high", ("secrets",), "tools/send.py", 2)


def context(scope_in: list[str], scope_out: list[str] | None = None) -> PolicyContext:
    return PolicyContext(claim_property="no-exfiltration", claim_scope_in=scope_in, claim_scope_out=scope_out or [],
                         components=INVENTORY)


def in_scope(f: Finding, ctx: PolicyContext) -> bool:
    return finding_in_component_scope({**f.extra, **f.as_contract_dict()}, ctx)


def test_the_current_version_keeps_2026_12_2s_component_scope():
    assert POLICY_VERSION == "2026.12.3"  # 2026.12.2's rules and tables, and the dynamic stage's runtime checks


@pytest.mark.parametrize(("scope_in", "scope_out", "sentry", "github", "tool"), [
    (["mcp-server:sentry"], [], True, False, False),
    (["mcp-server:*"], [], True, True, False),
    (["file:tools/**"], [], False, False, True),
    (["agent:claude-code"], [], True, True, False),
    (["agent:claude-code"], ["mcp-server:github"], True, False, False),  # out-of-scope entries exclude
    (["harness-config:.mcp.json", "file:tools/*"], ["file:tools/send.py"], True, True, False),
])
def test_findings_are_in_scope_by_component(scope_in, scope_out, sentry, github, tool):  # noqa: ANN001
    ctx = context(scope_in, scope_out)
    assert (in_scope(SENTRY_PACKAGE, ctx), in_scope(GITHUB_EXFIL, ctx), in_scope(TOOL_SECRET, ctx)) == (
        sentry, github, tool)


def test_a_whole_system_finding_is_in_any_scope():
    everywhere = finding("irreversible.no-run-budget", "low", ("irreversible_action",), "", 0)
    assert in_scope(Finding(**{**everywhere.__dict__, "line": None}), context(["file:tools/**"]))


def test_a_component_scope_decides_what_2026_12_1_could_not_match():
    ctx = context(["mcp-server:sentry"])
    current = decide([SENTRY_PACKAGE], context=ctx)
    assert (current.decision, current.policy_version) == ("guidance", "2026.12.3")
    assert current.reasons == ["no high or critical findings relevant to no-exfiltration (1 medium); "
                               "remediation attached"]
    # 2026.12.1 reads "mcp-server:sentry" as a path: nothing matches, so the same finding is counted outside.
    frozen = decide([SENTRY_PACKAGE], context=ctx, version="2026.12.1")
    assert frozen.reasons[-1] == "1 medium finding(s) of no-exfiltration outside this claim's scope"


def test_out_of_scope_components_are_counted_and_still_escalate():
    decision = decide([SENTRY_PACKAGE, GITHUB_EXFIL], context=context(["agent:claude-code"], ["mcp-server:github"]))
    assert decision.decision == "escalate"
    assert decision.reasons[0].startswith("1 critical finding(s) of no-exfiltration outside this claim's scope")
    inside = decide([TOOL_SECRET], context=context(["file:tools/**"]))
    assert inside.decision == "escalate"
    assert inside.reasons[0] == ("1 high or critical finding(s) relevant to no-exfiltration: "
                                 "secrets.hardcoded-credential")


FREE_TEXT_SCOPES = [[], ["agents/support"], ["claude-code"], [".mcp.json"], ["Claude Code harness", ".mcp.json servers"],
                    ["tools"], ["*"]]


@pytest.mark.parametrize("scope", FREE_TEXT_SCOPES)
@pytest.mark.parametrize("findings", [[], [SENTRY_PACKAGE], [GITHUB_EXFIL, TOOL_SECRET], [TOOL_SECRET, SENTRY_PACKAGE]])
def test_free_text_scopes_decide_as_under_2026_12_1(scope, findings):  # noqa: ANN001
    for claim in ("no-exfiltration", "data-handling", "bounded-actions"):
        ctx = PolicyContext(claim_property=claim, claim_scope_in=scope, components=INVENTORY,
                            claim_scope_out=["mcp-server:github"])  # free-text cases never had exclusions applied
        now, before = decide(findings, context=ctx), decide(findings, context=ctx, version="2026.12.1")
        assert (now.decision, now.score, now.reasons) == (before.decision, before.score, before.reasons)
