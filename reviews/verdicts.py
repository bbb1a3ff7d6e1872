"""What a report concludes, in words: the one place a verdict gets its label.

Verification leads with this (page, command, API), so a *not supported* or *inconclusive* report, or a guidance
report that assessed nothing, can never be read as a pass just because its signature is valid.
"""

from __future__ import annotations

from reviews.models import Report, Verdict

VERDICT_LABELS: dict[str, str] = {choice.value: choice.label for choice in Verdict}
GUIDANCE = "no_verdict"
GUIDANCE_LABEL = "No verdict: automated triage guidance, the claim was not assessed"
UNKNOWN_LABEL = "Verdict unreadable"


def verdict_label(verdict: str | None) -> str:
    """"Not supported within scope" for "not_supported", and so on; never the raw code."""
    return VERDICT_LABELS.get(verdict or "", UNKNOWN_LABEL)


def verdict_of(predicate: dict) -> tuple[str, str]:
    """(code, label) of what a signed report's predicate concludes."""
    if predicate.get("kind") == Report.Kind.ASSESSMENT:
        verdict = (predicate.get("assessment") or {}).get("verdict")
        return (verdict if verdict in VERDICT_LABELS else "unknown"), verdict_label(verdict)
    return GUIDANCE, GUIDANCE_LABEL
