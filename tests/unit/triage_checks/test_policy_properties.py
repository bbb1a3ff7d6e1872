"""Property: under the current policy no claim, scope, history or mix of findings yields *guidance* while a high
or critical finding of the claimed property exists anywhere in the submitted system (issue 15)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from triage.findings import SEVERITY_RANK, Finding
from triage.policy import CLAIM_CATEGORIES, PolicyContext, checks_read_by, decide

CHECKS = sorted(checks_read_by("2026.12.1"))
CATEGORIES = sorted(set().union(*CLAIM_CATEGORIES.values()))
PATHS = ["", ".mcp.json", ".claude/settings.json", "agents/support/tools.py", "servers/mail/index.ts", "Dockerfile",
         "agents/support", "src/app.py"]
SCOPES = PATHS[1:] + ["Claude Code harness", ".mcp.json servers", "claude-code", "mail", "agents/*", "*",
                      # component ids and globs (2026.12.2)
                      "agent:claude-code", "mcp-server:*", "file:agents/**", "file:*", "harness-config:.mcp.json"]
# The components of the generated systems: every path as a file, and the configuration they stand for.
COMPONENTS = [{"id": f"file:{p}", "kind": "file", "label": p, "paths": [p], "lines": {}} for p in PATHS if p] + [
    {"id": "agent:claude-code", "kind": "agent", "label": "a", "paths": [".mcp.json", ".claude/settings.json"],
     "lines": {}},
    {"id": "harness-config:.mcp.json", "kind": "harness-config", "label": "c", "paths": [".mcp.json"], "lines": {}},
    {"id": "mcp-server:mail", "kind": "mcp-server", "label": "m", "paths": [".mcp.json", "servers/mail/index.ts"],
     "lines": {}},
]

findings_strategy = st.builds(
    lambda check, severity, categories, path, agent: Finding(check, "t", severity, tuple(categories), path, 1, "e",
                                                             "r", {"agent": agent} if agent else {}),
    st.sampled_from(CHECKS), st.sampled_from(sorted(SEVERITY_RANK)),
    st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True), st.sampled_from(PATHS),
    st.sampled_from(["", "claude-code", "codex", "support-agent"]))
context_strategy = st.builds(
    lambda claim, scope, out, level, rejected: PolicyContext(claim_property=claim, claim_scope_in=scope,
                                                             claim_scope_out=out, components=COMPONENTS,
                                                             assurance_level=level,
                                                             builder_history={"rejected_recently": rejected}),
    st.sampled_from(sorted(CLAIM_CATEGORIES) + [None]), st.lists(st.sampled_from(SCOPES), max_size=3),
    st.lists(st.sampled_from(SCOPES), max_size=2), st.sampled_from([None, 0, 1, 2]),
    st.integers(min_value=0, max_value=5))


@settings(max_examples=400, deadline=None)
@given(findings=st.lists(findings_strategy, max_size=8), context=context_strategy)
def test_no_guidance_while_a_serious_finding_of_the_claimed_property_exists(findings, context):
    decision = decide(findings, context=context)
    claimed = CLAIM_CATEGORIES[context.claim_property or "other"]
    serious = [f for f in findings if SEVERITY_RANK[f.severity] <= SEVERITY_RANK["high"] and set(f.categories) & claimed]
    if serious:
        assert decision.decision != "guidance", (decision.reasons, serious)
    if decision.decision == "guidance" and findings:
        assert "no findings" not in " ".join(decision.reasons)


def test_the_property_fails_under_the_version_that_had_the_flaw():
    """The same property is false for 2026.11.1, so the test above can fail."""
    secret = Finding("secrets.hardcoded-credential", "t", "critical", ("secrets",), "src/app.py", 1, "e", "r", {})
    context = PolicyContext(claim_property="no-exfiltration", claim_scope_in=["agents/support"])
    assert decide([secret], context=context, version="2026.11.1").decision == "guidance"
    assert decide([secret], context=context).decision == "escalate"
