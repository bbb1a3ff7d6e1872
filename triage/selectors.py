"""Read paths for triage results. Callers have already checked the case is visible to the user."""

from __future__ import annotations

from intake.models import Role, Submission
from intake.states import State
from triage.findings import SEVERITIES
from triage.models import FingerprintLink, LinkKind, TriageResult


SHREDDED_RESULT = "This case was crypto-shredded; its triage result no longer exists."


def latest_triage_result(submission: Submission) -> TriageResult | None:
    """The newest result; None for a shredded case, whose sealed findings would read as an empty (clean) list."""
    if submission.state == State.SHREDDED:
        return None
    return submission.triage_results.order_by("-created_at", "-pk").first()


def no_triage_result_message(submission: Submission) -> str:
    return SHREDDED_RESULT if submission.state == State.SHREDDED else "No triage result yet."


def findings_by_severity(result: TriageResult) -> list[tuple[str, list[dict]]]:
    groups = [(severity, [f for f in result.findings if f.get("severity") == severity]) for severity in SEVERITIES]
    return [(severity, findings) for severity, findings in groups if findings]


def similarity_links_for(user, submission: Submission) -> list[FingerprintLink]:  # noqa: ANN001
    """Builders see links to their own earlier cases; possible-extraction links are for coordinators only."""
    links = FingerprintLink.objects.filter(submission=submission).select_related("other")
    if user.role == Role.COORDINATOR:
        return list(links)
    return list(links.exclude(kind=LinkKind.POSSIBLE_EXTRACTION).filter(other__owner=submission.owner))


def contract_document(result: TriageResult) -> dict:
    """CONTRACT's triage_path shape of a stored result."""
    return {"config_digest": result.config_digest, "policy_version": result.policy_version,
            "sandbox": result.sandbox, "findings": result.findings, "score": result.score,
            "decision": result.decision, "reasons": result.reasons}


def _strings(value) -> list[str]:  # noqa: ANN001
    return [entry for entry in (value or []) if isinstance(entry, str)]


def submitted_components(submission: Submission) -> list[dict]:
    """The component inventory detected for the configuration that was submitted (empty when none was, or the
    stored one belongs to another configuration)."""
    stored = submission.component_inventory
    if isinstance(stored, dict) and stored.get("basis") and stored.get("basis") == submission.config_digest:
        return [c for c in stored.get("components") or [] if isinstance(c, dict)]
    return []


def findings_outside_scope(result: TriageResult, submission: Submission) -> dict:
    """The findings outside the claim's scope, by severity and listed (issue 15: scope never hides a finding).
    ``summary`` reads "3 critical, 1 high"; empty when every finding is in scope or there is no scope."""
    from triage.policy import PolicyContext, finding_in_component_scope

    context = PolicyContext(claim_scope_in=_strings(submission.claim_scope_in),
                            claim_scope_out=_strings(submission.claim_scope_out),
                            components=submitted_components(submission))
    outside = [f for f in result.findings if not finding_in_component_scope(f, context)]
    counts = [(severity, sum(1 for f in outside if f.get("severity") == severity)) for severity in SEVERITIES]
    counts = [(severity, n) for severity, n in counts if n]
    return {"findings": outside, "counts": dict(counts),
            "summary": ", ".join(f"{n} {severity}" for severity, n in counts)}
