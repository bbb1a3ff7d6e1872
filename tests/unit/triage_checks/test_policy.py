"""The decision policy: every branch, determinism, and version selection."""

from __future__ import annotations

import pytest

from triage.findings import Finding
from triage.policy import POLICY_VERSION, PolicyContext, available_policies, decide, risk_score


def finding(check: str, severity: str, categories: tuple[str, ...], path: str = "x.json", **extra) -> Finding:
    return Finding(check, "title", severity, categories, path, 1, "evidence", "fix it", extra)


TRIFECTA = finding("trifecta.lethal-trifecta", "critical", ("private_data", "untrusted_input", "exfiltration"),
                   ".mcp.json", agent="claude-code")
ROOT_CONTAINER = finding("privilege.container-root", "low", ("privilege_scope",), "Dockerfile")
SECRET = finding("secrets.hardcoded-credential", "high", ("secrets",), "config/app.py")
FORCE_PUSH = finding("irreversible.force-push", "high", ("irreversible_action",), ".claude/settings.json")


def test_it_rejects_an_empty_submission():
    decision = decide([], context=PolicyContext(empty_submission=True))
    assert decision.decision == "reject"
    assert decision.reasons == ["empty submission: no agent-system files or manifest to assess"]


def test_it_rejects_an_exact_duplicate_of_the_builders_own_case_even_with_critical_findings():
    decision = decide([TRIFECTA], context=PolicyContext(builder_history={"exact_duplicate_of_own_case": True}))
    assert decision.decision == "reject"
    assert decision.reasons[0].startswith("exact duplicate of one of your earlier cases")


def test_it_rejects_suspected_extraction_without_revealing_the_other_case():
    decision = decide([TRIFECTA], context=PolicyContext(builder_history={"suspected_extraction": True}))
    assert decision.decision == "reject"
    assert "similar" not in decision.reasons[0] and "abuse-prevention" in decision.reasons[0]


def test_it_rejects_a_claim_kind_out_of_scope():
    decision = decide([SECRET], context=PolicyContext(claim_property="model-accuracy"))
    assert decision.decision == "reject"
    assert decision.reasons == ["out of scope: claim kind 'model-accuracy' is not one Assay assesses"]


def test_it_rejects_spam_like_repeat_submissions_with_nothing_substantive():
    decision = decide([ROOT_CONTAINER], context=PolicyContext(builder_history={"rejected_recently": 3}))
    assert decision.decision == "reject"
    assert decision.reasons[0].startswith("spam-like: 3 recent rejection(s)")


def test_low_assurance_builders_reach_the_spam_threshold_sooner():
    context = PolicyContext(assurance_level=0, builder_history={"rejected_recently": 1})
    assert decide([], context=context).decision == "reject"
    verified = PolicyContext(assurance_level=2, builder_history={"rejected_recently": 1})
    assert decide([], context=verified).decision == "guidance"


def test_it_escalates_high_findings_relevant_to_the_claim():
    decision = decide([TRIFECTA, ROOT_CONTAINER], context=PolicyContext(claim_property="no-exfiltration"))
    assert decision.decision == "escalate"
    assert decision.reasons[0] == "1 high or critical finding(s) relevant to no-exfiltration: trifecta.lethal-trifecta"
    assert decision.reasons[1] == "1 critical: trifecta.lethal-trifecta at .mcp.json"


def test_it_gives_guidance_when_high_findings_do_not_bear_on_the_claim():
    decision = decide([FORCE_PUSH, ROOT_CONTAINER], context=PolicyContext(claim_property="data-handling"))
    assert decision.decision == "guidance"
    assert decision.reasons == [
        "no high or critical findings relevant to data-handling (none of the findings bears on it); remediation "
        "attached",
        "2 finding(s) bear on other properties than data-handling: guidance only",
    ]


def test_2026_11_1_let_findings_outside_the_claimed_scope_give_guidance():
    """The flaw issue 15 reported, kept reproducible under the version that had it."""
    context = PolicyContext(claim_property="no-exfiltration", claim_scope_in=["agents/support"])
    assert decide([SECRET], context=context, version="2026.11.1").decision == "guidance"
    in_scope = finding("secrets.hardcoded-credential", "high", ("secrets",), "agents/support/settings.py")
    assert decide([in_scope], context=context, version="2026.11.1").decision == "escalate"
    by_agent = PolicyContext(claim_property="no-exfiltration", claim_scope_in=["claude-code"])
    assert decide([TRIFECTA], context=by_agent, version="2026.11.1").decision == "escalate"
    old = decide([FORCE_PUSH, ROOT_CONTAINER], context=PolicyContext(claim_property="data-handling"),
                 version="2026.11.1")
    assert old.reasons[0] == "no high or critical findings relevant to data-handling (no findings); remediation attached"


def test_scope_cannot_hide_a_serious_finding_of_the_claimed_property():
    context = PolicyContext(claim_property="no-exfiltration",
                            claim_scope_in=["Claude Code harness", ".mcp.json servers", "agents/support"])
    decision = decide([TRIFECTA, SECRET, ROOT_CONTAINER], context=context)
    assert decision.decision == "escalate"
    assert decision.reasons == [
        "1 critical, 1 high finding(s) of no-exfiltration outside this claim's scope: the claim cannot be cleared "
        "while the rest of the submitted system breaks it (trifecta.lethal-trifecta at .mcp.json)",
        "1 critical, 1 high finding(s) of no-exfiltration outside this claim's scope",
    ]


def test_findings_outside_the_scope_are_counted_whatever_the_outcome():
    context = PolicyContext(claim_property="no-exfiltration", claim_scope_in=["agents/support"])
    in_scope = finding("secrets.hardcoded-credential", "high", ("secrets",), "agents/support/settings.py")
    medium_outside = finding("secrets.env-file", "medium", ("secrets",), ".env")
    escalated = decide([in_scope, medium_outside], context=context)
    assert escalated.decision == "escalate"
    assert escalated.reasons[-1] == "1 medium finding(s) of no-exfiltration outside this claim's scope"
    guided = decide([medium_outside], context=context)
    assert guided.decision == "guidance"
    assert guided.reasons == [
        "no high or critical findings relevant to no-exfiltration (none of the findings bears on it); remediation "
        "attached",
        "1 medium finding(s) of no-exfiltration outside this claim's scope"]


def test_no_findings_is_said_only_when_there_are_none():
    assert decide([], context=PolicyContext(claim_property="least-privilege")).reasons == [
        "no findings by static checks; remediation attached"]
    low = decide([ROOT_CONTAINER], context=PolicyContext(claim_property="least-privilege"))
    assert "no findings" not in " ".join(low.reasons)
    assert low.reasons[0] == "no high or critical findings relevant to least-privilege (1 low); remediation attached"


def test_a_claim_that_static_checks_cannot_settle_escalates_for_deeper_access():
    reader = finding("agentjacking.ci-untrusted-trigger", "medium", ("untrusted_input",))
    decision = decide([reader], context=PolicyContext(claim_property="prompt-injection-resistance"))
    assert decision.decision == "escalate"
    assert "cannot be judged by static checks alone" in decision.reasons[0]


def test_a_clean_system_gets_guidance_and_a_zero_score():
    decision = decide([], context=PolicyContext(claim_property="least-privilege", assurance_level=2))
    assert (decision.decision, decision.score) == ("guidance", 0)


def test_the_score_grows_with_severity_and_stays_within_bounds():
    assert risk_score([ROOT_CONTAINER]) < risk_score([SECRET]) < risk_score([TRIFECTA]) < risk_score([TRIFECTA, SECRET])
    assert risk_score([TRIFECTA] * 50) == 100
    assert risk_score([]) == 0


def test_the_decision_is_deterministic_whatever_the_finding_order():
    findings = [TRIFECTA, SECRET, FORCE_PUSH, ROOT_CONTAINER]
    context = PolicyContext(claim_property="bounded-actions")
    first = decide(findings, context=context)
    assert all(decide(list(reversed(findings)), context=context) == first for _ in range(3))


def test_old_policy_versions_stay_selectable_and_behave_as_they_did():
    assert available_policies() == ["2026.10.1", "2026.11.1", "2026.12.1", "2026.12.2", "2026.12.3"]
    assert POLICY_VERSION == "2026.12.3"
    context = PolicyContext(claim_property="data-handling")
    old = decide([FORCE_PUSH], context=context, version="2026.10.1")
    assert (old.decision, old.policy_version) == ("escalate", "2026.10.1")
    assert decide([FORCE_PUSH], context=context).decision == "guidance"
    previous = decide([FORCE_PUSH], context=context, version="2026.11.1")
    assert (previous.decision, previous.policy_version) == ("guidance", "2026.11.1")


# Findings of the checks added with 2026.12.1 (the MCP tool model read from code).
COMMAND_FLOW = finding("injection.command", "critical", ("privilege_scope", "untrusted_input"), "server.py")
POISONED = finding("tools.description-injection", "critical", ("untrusted_input", "privilege_scope"), "server.py")
EXFIL_TOOL = finding("tools.exfiltration", "high", ("exfiltration",), "src/index.ts")


def test_each_version_reads_a_frozen_check_set_and_the_current_one_reads_the_whole_catalogue():
    from triage.checks import CHECKS
    from triage.dynamic.checks import DYNAMIC_CHECKS
    from triage.policy import checks_read_by
    from triage.policy_checks import (CHECKS_2026_11, CHECKS_2026_12, CODE_CAPABILITY_CHECKS, CONFIG_CHECKS,
                                      FORMAT_CHECKS, RUNTIME_CHECKS, TOOL_MODEL_CHECKS)

    catalogue = frozenset(CHECKS) | frozenset(DYNAMIC_CHECKS)
    # A check added without a policy version that reads it would never reach a decision: list it in a new version.
    assert catalogue <= checks_read_by(POLICY_VERSION)
    assert checks_read_by("2026.10.1") == checks_read_by("2026.11.1") == CHECKS_2026_11
    added = TOOL_MODEL_CHECKS | FORMAT_CHECKS | CONFIG_CHECKS | CODE_CAPABILITY_CHECKS | RUNTIME_CHECKS
    assert CHECKS_2026_11 == catalogue - added
    assert len(CHECKS_2026_11) == 78 and len(TOOL_MODEL_CHECKS) == 16 and len(CODE_CAPABILITY_CHECKS) == 3
    assert checks_read_by("2026.12.1") == checks_read_by("2026.12.2") == CHECKS_2026_12
    assert len(RUNTIME_CHECKS) == 4 and not RUNTIME_CHECKS & CHECKS_2026_12
    assert checks_read_by(POLICY_VERSION) == CHECKS_2026_11 | added


def test_golden_decisions_of_the_old_versions_are_unchanged():
    context = PolicyContext(claim_property="no-exfiltration")
    assert decide([TRIFECTA, ROOT_CONTAINER], context=context, version="2026.11.1").as_dict() == {
        "decision": "escalate", "score": 46, "policy_version": "2026.11.1",
        "reasons": ["1 high or critical finding(s) relevant to no-exfiltration: trifecta.lethal-trifecta",
                    "1 critical: trifecta.lethal-trifecta at .mcp.json"]}
    assert decide([FORCE_PUSH, ROOT_CONTAINER], context=context, version="2026.10.1").as_dict() == {
        "decision": "escalate", "score": 24, "policy_version": "2026.10.1",
        "reasons": ["1 high or critical finding(s): irreversible.force-push"]}


def test_new_check_findings_change_nothing_under_2026_11_1():
    context = PolicyContext(claim_property="no-exfiltration")
    for version in ("2026.10.1", "2026.11.1"):
        before = decide([ROOT_CONTAINER], context=context, version=version)
        after = decide([ROOT_CONTAINER, COMMAND_FLOW, POISONED, EXFIL_TOOL], context=context, version=version)
        assert after == before
        assert (after.decision, after.score, after.policy_version) == ("guidance", 2, version)
    assert decide([COMMAND_FLOW], context=PolicyContext(), version="2026.11.1").reasons == [
        "no high or critical findings relevant to unspecified claim (no findings); remediation attached"]


def test_new_check_findings_escalate_under_2026_12_1():
    context = PolicyContext(claim_property="no-exfiltration")
    decision = decide([ROOT_CONTAINER, COMMAND_FLOW, POISONED, EXFIL_TOOL], context=context, version="2026.12.1")
    assert decision.as_dict() == {
        "decision": "escalate", "score": 77, "policy_version": "2026.12.1",
        "reasons": ["3 high or critical finding(s) relevant to no-exfiltration: injection.command, "
                    "tools.description-injection, tools.exfiltration",
                    "2 critical: injection.command at server.py"]}
    bounded = decide([COMMAND_FLOW], context=PolicyContext(claim_property="bounded-actions"), version="2026.12.1")
    assert (bounded.decision, bounded.policy_version) == ("escalate", "2026.12.1")
    # A check no version knows (a typo, a check from a newer catalogue) is ignored by every version.
    unknown = finding("tools.not-a-check", "critical", ("exfiltration",))
    assert decide([unknown], context=context).decision == "guidance"


def test_an_unknown_policy_version_is_refused():
    with pytest.raises(ValueError, match="unknown policy version '1999.1.1'"):
        decide([], context=PolicyContext(), version="1999.1.1")
