"""The decision policy: findings + claim + builder context -> reject / guidance / escalate, with reasons.

Deterministic and versioned. A change of behaviour is a new version registered in ``_POLICIES``; old versions
stay selectable so stored results can be reproduced with the version they carry. Each version is frozen: the rules
it applies, the read-only tables they read (PolicyTables: claim categories, severity weights, thresholds) and the
check ids it knows (triage/policy_checks.py); findings of checks a version does not know are ignored by it, so new
checks never change an old version's decisions. A new check, weight or category is a new version; golden tests
(tests/unit/triage_checks/golden/) pin every version's decisions on the fixtures. The model-assisted note is never
an input here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from triage.findings import SEVERITY_RANK, Finding
from triage.policy_checks import CHECKS_2026_11, CHECKS_2026_12, CHECKS_2026_12_3

POLICY_VERSION = "2026.12.3"

DECISIONS = ("reject", "guidance", "escalate")


@dataclass(frozen=True)
class PolicyTables:
    """The data one policy version decides with. Frozen and named by the version that introduced it: a later version
    that needs other categories or weights defines a new PolicyTables (``replace(TABLES_..., ...)``) instead of
    editing one an older version reads, so stored decisions replay unchanged (the golden tests pin them)."""

    claim_categories: Mapping[str, frozenset[str]]  # claim kind (intake.models.PropertyKind) -> finding categories
    needs_deeper_access: frozenset[str]  # claims static triage cannot settle either way
    severity_weight: Mapping[str, int]  # each finding's share of the remaining headroom in risk_score, in percent
    spam_rejections: int  # recent rejections after which an empty-handed submission is spam-like


TABLES_2026_10_1 = PolicyTables(
    claim_categories=MappingProxyType({
        "no-exfiltration": frozenset({"private_data", "untrusted_input", "exfiltration", "secrets"}),
        "bounded-actions": frozenset({"irreversible_action", "privilege_scope"}),
        "prompt-injection-resistance": frozenset({"untrusted_input", "privilege_scope", "exfiltration",
                                                  "irreversible_action"}),
        "least-privilege": frozenset({"privilege_scope", "secrets", "provenance"}),
        "data-handling": frozenset({"private_data", "secrets", "exfiltration"}),
        "other": frozenset({"private_data", "untrusted_input", "exfiltration", "irreversible_action",
                            "privilege_scope", "provenance", "secrets"}),
    }),
    # Whether the system resists injection, or an open-ended property.
    needs_deeper_access=frozenset({"prompt-injection-resistance", "other"}),
    severity_weight=MappingProxyType({"critical": 45, "high": 22, "medium": 8, "low": 2, "info": 0}),
    spam_rejections=3,
)


@dataclass(frozen=True)
class PolicyContext:
    claim_property: str | None = None
    claim_scope_in: list[str] = field(default_factory=list)
    claim_scope_out: list[str] = field(default_factory=list)  # read from 2026.12.2 on
    # The analysed system's component inventory (triage.components), for matching scope by component identity
    # (2026.12.2 on); earlier versions never read it.
    components: list[dict] = field(default_factory=list)
    assurance_level: int | None = None
    builder_history: dict = field(default_factory=dict)  # exact_duplicate_of_own_case, suspected_extraction,
    #                                                      rejected_recently, duplicate_of_reference
    empty_submission: bool = False


@dataclass(frozen=True)
class Decision:
    decision: str
    score: int
    reasons: list[str]
    policy_version: str = POLICY_VERSION

    def as_dict(self) -> dict:
        return {"decision": self.decision, "score": self.score, "reasons": list(self.reasons),
                "policy_version": self.policy_version}


def risk_score(findings: Sequence[Finding], tables: PolicyTables | None = None) -> int:
    """0-100, higher is riskier: each finding removes a share of the remaining headroom (order-independent).
    With the weights of ``tables`` (the current version's when not given)."""
    weights = (tables or _POLICIES[POLICY_VERSION].tables).severity_weight
    remaining = 1.0
    for finding in sorted(findings, key=Finding.sort_key):
        remaining *= 1 - weights[finding.severity] / 100
    return max(0, min(100, round(100 * (1 - remaining))))


def _in_scope(finding: Finding, scope: Sequence[str]) -> bool:
    """A finding is in scope when no scope is given, or its path or agent falls under a scope entry."""
    agents = [finding.extra.get("agent", "")] + list(finding.extra.get("agents", []))
    return location_in_scope(finding.path, agents, scope)


def finding_in_component_scope(finding: dict, context: PolicyContext) -> bool:
    """2026.12.2's scope rule: by component identity when the scope names components (one of the finding's
    components, triage.components.finding_components, selected or matched by a glob, and none it certainly belongs
    to excluded by an out-of-scope entry); an older free-text scope keeps the path rule. A whole-system finding is
    in any scope."""
    from intake.scope import entry_matches, is_component_entry
    from triage.components import finding_components

    ids = finding_components(finding, context.components)
    if not ids:
        return True
    path, agents = finding.get("path") or "", [finding.get("agent") or "", *(finding.get("agents") or [])]
    selected = [e for e in context.claim_scope_in if is_component_entry(e)]
    if not selected:
        return location_in_scope(path, agents, context.claim_scope_in)
    excluded = [e for e in context.claim_scope_out if is_component_entry(e)]
    definite = finding_components(finding, context.components, definite=True)
    if any(entry_matches(e, cid) for e in excluded for cid in definite):
        return False
    if any(entry_matches(e, cid) for e in selected for cid in ids):
        return True
    free_text = [e for e in context.claim_scope_in if not is_component_entry(e)]
    return bool(free_text) and location_in_scope(path, agents, free_text)


def _component_in_scope(finding: Finding, context: PolicyContext) -> bool:
    return finding_in_component_scope({**finding.extra, **finding.as_contract_dict()}, context)


def location_in_scope(path: str, agents: Sequence[str], scope: Sequence[str]) -> bool:
    """The scope rule for a finding's place: its path under a scope entry, or an agent the entry names."""
    finding_path = path
    agents = [a for a in agents if a]
    if not scope:
        return True
    for entry in scope:
        entry = entry.strip().rstrip("/")
        if not entry:
            continue
        if finding_path == entry or finding_path.startswith(entry + "/") or any(entry in a for a in agents):
            return True
        if finding_path == "" and not agents:
            return True  # whole-system findings apply to any scope
    return False


def _counts(findings: Sequence[Finding]) -> str:
    by = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_RANK}
    return ", ".join(f"{n} {s}" for s, n in by.items() if n) or "no findings"


def _gatekeeping(findings: Sequence[Finding], context: PolicyContext, tables: PolicyTables) -> Decision | None:
    """The reject branches shared by every version: empty, duplicate, extraction, out of scope, spam."""
    score = risk_score(findings, tables)
    history = context.builder_history or {}
    if context.empty_submission:
        return Decision("reject", score, ["empty submission: no agent-system files or manifest to assess"])
    if history.get("exact_duplicate_of_own_case"):
        earlier = history.get("duplicate_of_reference")
        if earlier:  # issue 15: name the case, and its next steps, instead of a dead end
            return Decision("reject", score, [f"exact duplicate (same configuration and claim) of your earlier case "
                                              f"{earlier}; open that case to request human review or submit a new "
                                              "version"])
        return Decision("reject", score, ["exact duplicate of one of your earlier cases; follow up on that case"])
    if history.get("suspected_extraction"):
        # Deliberately vague: the submitter must not learn what it resembled.
        return Decision("reject", score, ["not accepted under the platform's abuse-prevention rules; a coordinator "
                                          "will review"])
    if context.claim_property and context.claim_property not in tables.claim_categories:
        return Decision("reject", score, [f"out of scope: claim kind {context.claim_property!r} is not one Assay "
                                          "assesses"])
    return None


def _decide_2026_10_1(findings: Sequence[Finding], context: PolicyContext,
                      tables: PolicyTables = TABLES_2026_10_1) -> Decision:
    """First policy: escalate on any high or critical finding, whatever the claim."""
    gate = _gatekeeping(findings, context, tables)
    if gate:
        return Decision(gate.decision, gate.score, gate.reasons, "2026.10.1")
    score = risk_score(findings, tables)
    serious = [f for f in findings if SEVERITY_RANK[f.severity] <= SEVERITY_RANK["high"]]
    if serious:
        return Decision("escalate", score, [f"{len(serious)} high or critical finding(s): {serious[0].check}"],
                        "2026.10.1")
    return Decision("guidance", score, [f"no high or critical findings ({_counts(findings)}); remediation attached"],
                    "2026.10.1")


def _legacy_in_scope(finding: Finding, context: PolicyContext) -> bool:
    return _in_scope(finding, context.claim_scope_in)


ScopeRule = Callable[[Finding, PolicyContext], bool]


def _decide_2026_11_1(findings: Sequence[Finding], context: PolicyContext,
                      tables: PolicyTables = TABLES_2026_10_1, in_scope: ScopeRule = _legacy_in_scope) -> Decision:
    """Claim-aware: only findings relevant to the claim's property and scope escalate; spam and extraction reject.
    (``in_scope`` is the scope rule; 2026.12.2 passes its own, the versions before it the path rule.)"""
    gate = _gatekeeping(findings, context, tables)
    if gate:
        return gate
    history = context.builder_history or {}
    rejected = int(history.get("rejected_recently") or 0)
    score = risk_score(findings, tables)
    substantive = [f for f in findings if SEVERITY_RANK[f.severity] <= SEVERITY_RANK["medium"]]
    spam_threshold = 1 if context.assurance_level == 0 else tables.spam_rejections
    if rejected >= spam_threshold and not substantive:
        return Decision("reject", score, [f"spam-like: {rejected} recent rejection(s) and nothing substantive to "
                                          "assess"])
    categories = tables.claim_categories.get(context.claim_property or "other", tables.claim_categories["other"])
    relevant = [f for f in findings if set(f.categories) & categories and in_scope(f, context)]
    serious = [f for f in relevant if SEVERITY_RANK[f.severity] <= SEVERITY_RANK["high"]]
    claim = context.claim_property or "unspecified claim"
    if serious:
        checks = ", ".join(sorted({f.check for f in serious})[:4])
        reasons = [f"{len(serious)} high or critical finding(s) relevant to {claim}: {checks}"]
        critical = [f for f in serious if f.severity == "critical"]
        if critical:
            reasons.append(f"{len(critical)} critical: {critical[0].check} at {critical[0].path or 'system'}")
        return Decision("escalate", score, reasons)
    if context.claim_property in tables.needs_deeper_access and (
            context.claim_property == "other" or any("untrusted_input" in f.categories for f in relevant)):
        return Decision("escalate", score, [f"claim {claim} cannot be judged by static checks alone; needs a "
                                            "reviewer with deeper access"])
    reasons = [f"no high or critical findings relevant to {claim} ({_counts(relevant)}); remediation attached"]
    ignored = len(findings) - len(relevant)
    if ignored:
        reasons.append(f"{ignored} finding(s) outside the claim's property or scope reported as guidance only")
    return Decision("guidance", score, reasons)


def _by_severity(findings: Sequence[Finding]) -> str:
    """ "2 critical, 1 high" for the findings given (empty when there are none)."""
    by = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_RANK}
    return ", ".join(f"{n} {s}" for s, n in by.items() if n)


def _outside_reason(outside: Sequence[Finding], claim: str) -> list[str]:
    return [f"{_by_severity(outside)} finding(s) of {claim} outside this claim's scope"] if outside else []


def _decide_2026_12_1(findings: Sequence[Finding], context: PolicyContext,
                      tables: PolicyTables = TABLES_2026_10_1, in_scope: ScopeRule = _legacy_in_scope) -> Decision:
    """2026.11.1, except that scope can no longer hide the claimed property's failures: a high or critical finding
    of the claimed property anywhere in the submitted system escalates, in scope or not (a claim about part of a
    system is not cleared while another part breaks the property), and findings outside the scope are counted
    by severity in the reasons of every outcome."""
    decision = _decide_2026_11_1(findings, context, tables, in_scope)
    categories = tables.claim_categories.get(context.claim_property or "other", tables.claim_categories["other"])
    of_claim = [f for f in findings if set(f.categories) & categories]
    outside = [f for f in of_claim if not in_scope(f, context)]
    serious_outside = [f for f in outside if SEVERITY_RANK[f.severity] <= SEVERITY_RANK["high"]]
    claim = context.claim_property or "unspecified claim"
    reasons = [r for r in decision.reasons if "outside the claim's property or scope" not in r]
    if decision.decision == "guidance":
        if serious_outside:
            first = sorted(serious_outside, key=Finding.sort_key)[0]
            return Decision("escalate", decision.score, [
                f"{_by_severity(serious_outside)} finding(s) of {claim} outside this claim's scope: the claim cannot "
                f"be cleared while the rest of the submitted system breaks it ({first.check} at "
                f"{first.path or 'system'})", *(_outside_reason(outside, claim))])
        inside = [f for f in of_claim if f not in outside]
        if not findings:
            reasons = ["no findings by static checks; remediation attached"]
        elif reasons and reasons[0].startswith("no high or critical findings relevant"):
            # "(no findings)" only when there are none at all (issue 15): here some bear on other properties
            reasons[0] = (f"no high or critical findings relevant to {claim} "
                          f"({_by_severity(inside) or 'none of the findings bears on it'}); remediation attached")
    if outside and decision.decision != "reject":
        reasons += _outside_reason(outside, claim)
    unrelated = len(findings) - len(of_claim)
    if unrelated and decision.decision == "guidance":
        reasons.append(f"{unrelated} finding(s) bear on other properties than {claim}: guidance only")
    return Decision(decision.decision, decision.score, reasons)


def _decide_2026_12_2(findings: Sequence[Finding], context: PolicyContext,
                      tables: PolicyTables = TABLES_2026_10_1) -> Decision:
    """2026.12.1 with scope matched by component identity (issue 15): a scope of component ids and globs selects
    the findings of those components, and out-of-scope entries exclude; a free-text scope decides as before."""
    return _decide_2026_12_1(findings, context, tables, _component_in_scope)


@dataclass(frozen=True)
class PolicyVersion:
    version: str
    rules: Callable[[Sequence[Finding], PolicyContext, PolicyTables], Decision]
    checks: frozenset[str]  # the check ids this version reads; any other finding is unknown to it
    tables: PolicyTables  # the data its rules read (they are called with it bound: see the registry below)


_POLICIES: dict[str, PolicyVersion] = {policy.version: policy for policy in (
    PolicyVersion("2026.10.1", _decide_2026_10_1, CHECKS_2026_11, TABLES_2026_10_1),
    PolicyVersion("2026.11.1", _decide_2026_11_1, CHECKS_2026_11, TABLES_2026_10_1),
    # Reads the checks of the MCP tool model (tools.*, injection.*); scope no longer hides the claim's failures.
    PolicyVersion("2026.12.1", _decide_2026_12_1, CHECKS_2026_12, TABLES_2026_10_1),
    # Scope by component identity: ids and globs from the component inventory, out-of-scope entries exclude.
    PolicyVersion("2026.12.2", _decide_2026_12_2, CHECKS_2026_12, TABLES_2026_10_1),
    # The same rules and tables; also reads the dynamic stage's runtime checks: tool-output injection, prompts or
    # resources changed after the calls, an offer changed on restart, a scratch database destroyed.
    PolicyVersion("2026.12.3", _decide_2026_12_2, CHECKS_2026_12_3, TABLES_2026_10_1),
)}
# The current version's claim categories, for callers outside the decision (the dynamic stage's gate, forms).
CLAIM_CATEGORIES = _POLICIES[POLICY_VERSION].tables.claim_categories


def available_policies() -> list[str]:
    return sorted(_POLICIES)


def checks_read_by(version: str) -> frozenset[str]:
    return _POLICIES[version].checks


def decide(findings: Sequence[Finding], *, context: PolicyContext, version: str | None = None) -> Decision:
    version = version or POLICY_VERSION
    if version not in _POLICIES:
        raise ValueError(f"unknown policy version {version!r}; available: {', '.join(available_policies())}")
    policy = _POLICIES[version]
    known = [finding for finding in findings if finding.check in policy.checks]
    return replace(policy.rules(known, context, policy.tables), policy_version=version)
