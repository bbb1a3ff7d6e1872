"""IP disputes between builders.

A dispute is raised by a builder about their own case, or by triage's
similarity signal, against another builder's case. While open it suspends
shredding of both cases and freezes their retention clocks (see
intake.vault.retention). Evidence is recorded by digest only; neither side is
ever shown the other's content, case reference or identity. A coordinator
closes it with a written decision.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import NotEditable, ValidationFailed
from intake.models import Role, Submission
from intake.vault.errors import NotAllowed
from intake.vault.models import DisputeState, IpDispute

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
SOURCES = ("builder", "triage_similarity")


def _clean_digests(values) -> list[str]:  # noqa: ANN001
    if not isinstance(values, list) or len(values) > 200:
        raise ValidationFailed("evidence must be a list of at most 200 digests")
    digests = []
    for value in values:
        text = str(value).strip().lower()
        if re.fullmatch(r"[0-9a-f]{64}", text):
            text = "sha256:" + text
        if not DIGEST_RE.match(text):
            raise ValidationFailed("evidence is recorded by digest only: give sha256:<64 hex> values")
        digests.append(text)
    return sorted(set(digests))


def dispute_open(*, claimant_case: Submission, respondent_case: Submission, actor, source: str,  # noqa: ANN001
                 statement: str = "", evidence_digests: list | None = None) -> IpDispute:
    """Open a dispute. ``actor`` is the claimant case's owner (source=builder), a coordinator, or None for triage."""
    if source not in SOURCES:
        raise ValidationFailed(f"source must be one of {', '.join(SOURCES)}")
    if source == "builder" and (actor is None or actor.pk != claimant_case.owner_id):
        raise NotAllowed("a builder can only raise a dispute about their own case")
    if source == "triage_similarity" and actor is not None and actor.role != Role.COORDINATOR:
        raise NotAllowed("only triage or a coordinator can raise a similarity dispute")
    if claimant_case.pk == respondent_case.pk or claimant_case.owner_id == respondent_case.owner_id:
        raise ValidationFailed("a dispute is between two different builders' cases")
    digests = _clean_digests(evidence_digests or [])
    with transaction.atomic():
        dispute = IpDispute.objects.create(claimant_case=claimant_case, respondent_case=respondent_case,
                                           source=source, raised_by=actor, statement=(statement or "")[:10_000],
                                           evidence_digests=digests)
        for case, role in ((claimant_case, "claimant"), (respondent_case, "respondent")):
            audit_append(action="vault.dispute.open", actor=actor, obj=case,
                         data={"dispute": str(dispute.pk), "role": role, "source": source,
                               "evidence_digests": digests})
    return dispute


def dispute_decide(*, dispute: IpDispute, actor, decision: str) -> IpDispute:  # noqa: ANN001
    if actor is None or actor.role != Role.COORDINATOR:
        raise NotAllowed("only a coordinator can decide a dispute")
    decision = (decision or "").strip()
    if len(decision) < 20:
        raise ValidationFailed("a dispute ends with a written decision (at least 20 characters)")
    with transaction.atomic():
        rows = IpDispute.objects.filter(pk=dispute.pk, state=DisputeState.OPEN).update(
            state=DisputeState.DECIDED, decided_by=actor, decided_at=timezone.now(), decision=decision[:20_000])
        if rows != 1:
            raise NotEditable("this dispute is already decided")
        for case in (dispute.claimant_case, dispute.respondent_case):
            audit_append(action="vault.dispute.decide", actor=actor, obj=case, data={"dispute": str(dispute.pk)})
    dispute.refresh_from_db()
    return dispute


def dispute_view_for_builder(dispute: IpDispute, user) -> dict:  # noqa: ANN001
    """What one side may see: their own case, the state and the decision. Never the other side."""
    if user.pk == dispute.claimant_case.owner_id:
        own, role = dispute.claimant_case, "claimant"
    elif user.pk == dispute.respondent_case.owner_id:
        own, role = dispute.respondent_case, "respondent"
    else:
        raise NotAllowed("not a party to this dispute")
    return {"dispute": str(dispute.pk), "your_case": own.reference, "your_role": role, "state": dispute.state,
            "opened_at": dispute.opened_at.isoformat(), "decision": dispute.decision or None,
            "decided_at": dispute.decided_at.isoformat() if dispute.decided_at else None}
