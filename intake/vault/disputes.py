"""IP disputes between builders.

A dispute is raised by a builder about their own case, or by triage's
similarity signal, against another builder's case. While open it suspends
shredding of both cases and freezes their retention clocks (see
intake.vault.retention). The claimant's statement and the name of an optional
evidence file are sealed under the claimant case's key; the file itself is
encrypted in the vault like an artifact and destroyed when the claimant case is
shredded. Neither side is ever shown the other's content, case reference or
identity. A coordinator closes it, upheld or dismissed, with a written decision.

What a dispute is raised against (another case's report, a similarity link)
is resolved to the respondent case by a higher layer, which knows reports and
links; this module only receives the two cases.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import NotEditable, ValidationFailed
from intake.models import Role, Submission
from intake.states import State
from intake.vault.errors import NotAllowed
from intake.vault.models import DisputeOutcome, DisputeState, DisputeTarget, IpDispute
from intake.access import SystemRead
from intake.vault.services import ReadPurpose, vault_store

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
SOURCES = ("builder", "triage_similarity")
MIN_STATEMENT_CHARS = 20
MAX_STATEMENT_CHARS = 10_000


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


def _clean_file_name(name: str) -> str:
    clean = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not clean or clean in (".", "..") or len(clean) > 255 or "\x00" in clean:
        raise ValidationFailed("the evidence file's name is empty or invalid")
    return clean


def _check_parties(*, claimant_case: Submission, respondent_case: Submission, actor, source: str,  # noqa: ANN001
                   statement: str, target_kind: str) -> None:
    if source not in SOURCES:
        raise ValidationFailed(f"source must be one of {', '.join(SOURCES)}")
    if source == "builder" and (actor is None or actor.pk != claimant_case.owner_id):
        raise NotAllowed("a builder can only raise a dispute about their own case")
    if source == "triage_similarity" and actor is not None and actor.role != Role.COORDINATOR:
        raise NotAllowed("only triage or a coordinator can raise a similarity dispute")
    if target_kind and target_kind not in DisputeTarget.values:
        raise ValidationFailed(f"target must be one of {', '.join(DisputeTarget.values)}")
    if claimant_case.pk == respondent_case.pk or claimant_case.owner_id == respondent_case.owner_id:
        raise ValidationFailed("a dispute is between two different builders' cases")
    if State.SHREDDED in (claimant_case.state, respondent_case.state):
        raise ValidationFailed("a crypto-shredded case can no longer be part of a dispute")
    if source == "builder" and len(statement) < MIN_STATEMENT_CHARS:
        raise ValidationFailed(f"say what you dispute and why (at least {MIN_STATEMENT_CHARS} characters)")
    if len(statement) > MAX_STATEMENT_CHARS:
        raise ValidationFailed(f"the statement is longer than {MAX_STATEMENT_CHARS} characters")
    if IpDispute.objects.filter(claimant_case=claimant_case, respondent_case=respondent_case,
                                state=DisputeState.OPEN).exists():
        raise NotEditable("a dispute between these cases is already open; a coordinator will decide it")


def dispute_open(*, claimant_case: Submission, respondent_case: Submission, actor, source: str,  # noqa: ANN001
                 statement: str = "", evidence_digests: list | None = None, evidence_file: BinaryIO | None = None,
                 evidence_name: str = "", target_kind: str = "", target_ref: str = "") -> IpDispute:
    """Open a dispute. ``actor`` is the claimant case's owner (source=builder), a coordinator, or None for triage.

    The caller has resolved ``respondent_case`` from what the dispute names (``target_kind``/``target_ref``) and
    checked the actor may name it. An evidence file is stored first (encrypted); if anything after fails, it is
    removed again, so a refused dispute leaves nothing behind.
    """
    statement = (statement or "").strip()
    _check_parties(claimant_case=claimant_case, respondent_case=respondent_case, actor=actor, source=source,
                   statement=statement, target_kind=target_kind)
    digests = _clean_digests(evidence_digests or [])
    name = _clean_file_name(evidence_name) if evidence_file is not None else ""
    store = vault_store()
    stored = None
    if evidence_file is not None:
        # The vault label names the claimant case, never the file: file names are submitted content.
        stored = store.put(evidence_file, max_bytes=settings.ASSAY_MAX_DISPUTE_EVIDENCE_BYTES,
                           artifact_id=f"dispute-evidence:{claimant_case.pk}")
        digests = sorted(set(digests) | {"sha256:" + stored.sha256})
    try:
        with transaction.atomic():
            dispute = IpDispute(claimant_case=claimant_case, respondent_case=respondent_case, source=source,
                                raised_by=actor, statement=statement, evidence_digests=digests,
                                target_kind=target_kind, target_ref=str(target_ref or "")[:64],
                                evidence_key=stored.key if stored else "", evidence_name=name,
                                evidence_size=stored.size if stored else None)
            dispute.save()  # sealed fields are written through save(), never a bulk update
            for case, role in ((claimant_case, "claimant"), (respondent_case, "respondent")):
                audit_append(action="vault.dispute.open", actor=actor, obj=case,
                             data={"dispute": str(dispute.pk), "role": role, "source": source,
                                   "target": target_kind, "evidence_digests": digests,
                                   "statement_chars": len(statement)})
    except BaseException:
        if stored is not None:
            store.delete(stored.key)
        raise
    return dispute


def dispute_decide(*, dispute: IpDispute, actor, outcome: str, decision: str) -> IpDispute:  # noqa: ANN001
    """Close a dispute as upheld or dismissed. The caller has checked the coordinator may see both cases."""
    if actor is None or actor.role != Role.COORDINATOR:
        raise NotAllowed("only a coordinator can decide a dispute")
    if outcome not in DisputeOutcome.values:
        raise ValidationFailed(f"outcome must be one of {', '.join(DisputeOutcome.values)}")
    decision = (decision or "").strip()
    if len(decision) < 20:
        raise ValidationFailed("a dispute ends with a written decision (at least 20 characters)")
    with transaction.atomic():
        rows = IpDispute.objects.filter(pk=dispute.pk, state=DisputeState.OPEN).update(
            state=DisputeState.DECIDED, decided_by=actor, decided_at=timezone.now(), outcome=outcome,
            decision=decision[:20_000])
        if rows != 1:
            raise NotEditable("this dispute is already decided")
        for case in (dispute.claimant_case, dispute.respondent_case):
            audit_append(action="vault.dispute.decide", actor=actor, obj=case,
                         data={"dispute": str(dispute.pk), "outcome": outcome})
    dispute.refresh_from_db()
    return dispute


def dispute_evidence_open(*, dispute: IpDispute, actor) -> BinaryIO:  # noqa: ANN001
    """The evidence file's plaintext for a coordinator (an audited vault read). The caller checked visibility."""
    if actor is None or actor.role != Role.COORDINATOR:
        raise NotAllowed("only a coordinator can read a dispute's evidence")
    if not dispute.evidence_key:
        raise ValidationFailed("this dispute has no evidence file")
    return vault_store().open(dispute.evidence_key, access=SystemRead(ReadPurpose.DISPUTE_REVIEW, actor=actor),
                              reason=f"dispute {dispute.pk}")


def dispute_evidence_keys(submission: Submission) -> list[str]:
    """The vault objects a case holds as a claimant's evidence: shredding the case destroys them too."""
    return list(IpDispute.objects.filter(claimant_case=submission).exclude(evidence_key="")
                .values_list("evidence_key", flat=True))


def dispute_view_for_builder(dispute: IpDispute, user) -> dict:  # noqa: ANN001
    """What one side may see: their own case, the state and the decision. Never the other side.

    A claimant who raised it also sees their own statement and evidence file name; the respondent never sees
    either, nor does a claimant see a coordinator's statement on a similarity signal.
    """
    if user.pk == dispute.claimant_case.owner_id:
        own, role = dispute.claimant_case, "claimant"
    elif user.pk == dispute.respondent_case.owner_id:
        own, role = dispute.respondent_case, "respondent"
    else:
        raise NotAllowed("not a party to this dispute")
    view = {"dispute": str(dispute.pk), "your_case": own.reference, "your_role": role, "state": dispute.state,
            "opened_at": dispute.opened_at.isoformat(), "outcome": dispute.outcome or None,
            "decision": dispute.decision or None,
            "decided_at": dispute.decided_at.isoformat() if dispute.decided_at else None}
    view["raised_by_you"] = role == "claimant" and dispute.source == "builder"
    if view["raised_by_you"]:
        # Their own text. A coordinator's statement on a similarity signal may describe the other case: not shown.
        view.update(statement=dispute.statement, target=dispute.target_kind or None,
                    evidence_file=dispute.evidence_name or None, evidence_digests=list(dispute.evidence_digests))
    return view


def dispute_view_for_coordinator(dispute: IpDispute, case: Submission) -> dict:
    """A coordinator's view of one dispute, seen from ``case`` (the caller checked they may see both cases)."""
    role = "claimant" if dispute.claimant_case_id == case.pk else "respondent"
    other = dispute.respondent_case if role == "claimant" else dispute.claimant_case
    return {"dispute": str(dispute.pk), "this_case_role": role, "other_case": other.reference,
            "other_case_id": str(other.pk), "source": dispute.source, "target": dispute.target_kind or None,
            "target_ref": dispute.target_ref or None, "state": dispute.state, "opened_at": dispute.opened_at.isoformat(),
            "statement": dispute.statement, "evidence_file": dispute.evidence_name or None,
            "evidence_size": dispute.evidence_size, "evidence_digests": list(dispute.evidence_digests),
            "outcome": dispute.outcome or None, "decision": dispute.decision or None,
            "decided_at": dispute.decided_at.isoformat() if dispute.decided_at else None}
