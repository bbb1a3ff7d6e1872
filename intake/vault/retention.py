"""Retention: when a case's content must go, and what suspends that.

The accepted terms version says how many days each outcome is kept
(``rejected``, ``guidance``, ``reviewed_after_report_expiry``, ``withdrawn``);
the builder may choose fewer days (``Submission.retention_days``), never more.
The clock starts when the case reaches its final state (or, for reviewed
cases, when the report expires). A reported case is not final yet: it closes
when its builder acknowledges the report or after ``ASSAY_REPORTED_CLOSE_DAYS``
(intake.lifecycle; the sweep below closes it), and its date is shown as what it
will be once closed. Open IP disputes freeze the clock: the time
they were open is added. Legal holds suspend shredding without moving the date.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import NotEditable, ValidationFailed
from intake.lifecycle import reported_closes_at, submissions_close_reported
from intake.models import AuditEvent, NotificationKind, Role, Submission, TermsAcceptance
from intake.notifications import notify
from intake.states import State
from intake.vault.errors import NotAllowed, ShredBlocked
from intake.vault.models import DisputeState, IpDispute, LegalHold

log = logging.getLogger(__name__)

# Used only for outcomes the accepted terms do not mention.
DEFAULT_RETENTION_DAYS = {"rejected": 30, "guidance": 90, "reviewed_after_report_expiry": 30, "withdrawn": 0}
PENDING_HOLD_GRACE = timedelta(hours=72)
SHREDDABLE_STATES = (State.CLOSED, State.REJECTED, State.WITHDRAWN)


def _was_reviewed(submission: Submission) -> bool:
    return AuditEvent.objects.filter(object_id=str(submission.pk), action="submission.transition",
                                     data__to=State.IN_REVIEW).exists()


def retention_outcome(submission: Submission, *, reviewed: bool | None = None) -> str | None:
    """``reviewed``: whether the case ever went to review, when the caller already knows (saves a query)."""
    if submission.state == State.REJECTED:
        return "rejected"
    if submission.state == State.WITHDRAWN:
        return "withdrawn"
    if submission.state == State.REPORTED:
        return "reviewed_after_report_expiry"  # what it will be once closed; only closed cases are shredded
    if submission.state == State.CLOSED:
        if reviewed is None:
            reviewed = _was_reviewed(submission)
        return "reviewed_after_report_expiry" if reviewed else "guidance"
    return None


def _report_expiry(submission: Submission, reports=None) -> datetime | None:  # noqa: ANN001
    """The latest report expiry, if the reviews app records reports with ``expires_at`` for this case."""
    if reports is None:
        reports = getattr(submission, "reports", None)
        if reports is None:
            return None
        reports = reports.all()
    try:
        return max((r.expires_at for r in reports if getattr(r, "expires_at", None)), default=None)
    except Exception:  # reports without an expiry field: fall back to the state change
        return None


def _accepted_retention(submission: Submission, acceptances=None) -> dict:  # noqa: ANN001
    if acceptances is None:
        acceptance = (TermsAcceptance.objects.filter(submission=submission).select_related("terms")
                      .order_by("-accepted_at").first())
    else:
        acceptance = max(acceptances, key=lambda a: a.accepted_at, default=None)
    return dict(acceptance.terms.retention or {}) if acceptance else {}


def disputes_of(case):  # noqa: ANN001, ANN201 - QuerySet[IpDispute]
    """Every IP dispute the case is party to, on either side (``case`` may be an ``OuterRef``)."""
    return IpDispute.objects.filter(Q(claimant_case=case) | Q(respondent_case=case))


def _disputes(submission: Submission) -> list[IpDispute]:
    return list(disputes_of(submission))


def _frozen_time(submission: Submission, now: datetime, disputes: list[IpDispute] | None = None) -> timedelta:
    total = timedelta()
    for dispute in _disputes(submission) if disputes is None else disputes:
        total += (dispute.decided_at or now) - dispute.opened_at
    return total


def retention_ends_at(submission: Submission, *, now: datetime | None = None, reviewed: bool | None = None,
                      acceptances=None, reports=None, disputes: list[IpDispute] | None = None,  # noqa: ANN001
                      ) -> datetime | None:
    """When this case's content is due for shredding; None while the case is still open (or already gone).

    The optional keywords are records the caller has already read (the case page has them at hand);
    left out, they are read here.
    """
    now = now or timezone.now()
    outcome = retention_outcome(submission, reviewed=reviewed)
    if outcome is None:
        return None
    terms_days = _accepted_retention(submission, acceptances).get(outcome, DEFAULT_RETENTION_DAYS[outcome])
    days = int(terms_days)
    if submission.retention_days is not None:
        days = min(days, submission.retention_days)
    start = submission.state_changed_at
    if outcome == "reviewed_after_report_expiry":
        start = max(start, _report_expiry(submission, reports) or start)
    return start + timedelta(days=days) + _frozen_time(submission, now, disputes)


def _active_holds(submission: Submission, now: datetime):  # noqa: ANN202
    return LegalHold.objects.filter(submission=submission, released_at__isnull=True).filter(
        Q(approved_at__isnull=False) | Q(requested_at__gt=now - PENDING_HOLD_GRACE))


def shredding_blocked_reason(submission: Submission, *, now: datetime | None = None,
                             disputes: list[IpDispute] | None = None, may_have_holds: bool = True,
                             may_have_review_requests: bool = True) -> str | None:
    """``disputes``: every dispute the case is party to, when the caller has just read them;
    ``may_have_holds=False``: the caller has just seen the case has no legal hold at all (for display only);
    ``may_have_review_requests=False``: the case has no request for human review, or the builder who made it is
    deleting the case (their deletion withdraws it)."""
    now = now or timezone.now()
    hold = _active_holds(submission, now).first() if may_have_holds else None
    return _blocked_reason(submission, hold=hold, disputes=disputes, may_have_review_requests=may_have_review_requests)


def _blocked_reason(submission: Submission, *, hold: LegalHold | None, disputes: list[IpDispute] | None,
                    may_have_review_requests: bool = True) -> str | None:
    if hold is not None:
        status = "legal hold" if hold.approved_at else "legal hold awaiting a second coordinator"
        return f"case {submission.reference} is under a {status}; shredding is suspended"
    if disputes is None:
        open_dispute = disputes_of(submission).filter(state=DisputeState.OPEN).exists()
    else:
        open_dispute = any(dispute.state == DisputeState.OPEN for dispute in disputes)
    if open_dispute:
        return f"case {submission.reference} is party to an open IP dispute; shredding is suspended"
    # Issue 15: a coordinator may still send the case to human review; it must not vanish before the answer.
    if may_have_review_requests and submission.review_requests.filter(status="pending").exists():
        return (f"case {submission.reference} has a request for human review waiting for a coordinator; "
                "shredding is suspended until it is answered")
    return None


def retention_summary(submission: Submission, *, now: datetime | None = None, reviewed: bool | None = None,
                      acceptances=None, reports=None, receipts=None, disputes: list[IpDispute] | None = None,
                      may_have_holds: bool = True, may_have_review_requests: bool = True) -> dict:  # noqa: ANN001
    """What the portal and API show on a case: the outcome, when retention ends, and what suspends it.

    The case page passes what it has read in this request (whether the case was reviewed, its terms
    acceptances with their terms, its reports, its deletion receipts, its disputes or whether it has any
    legal hold) so nothing is read twice; left out, each is read here.
    """
    now = now or timezone.now()
    if disputes is None:
        disputes = _disputes(submission)  # read once for both the frozen time and the open-dispute check
    hold = _active_holds(submission, now).first() if may_have_holds else None
    outcome = retention_outcome(submission, reviewed=reviewed)
    if outcome is not None and reviewed is None and submission.state == State.CLOSED:
        reviewed = outcome == "reviewed_after_report_expiry"
    ends_at = retention_ends_at(submission, now=now, reviewed=reviewed, acceptances=acceptances, reports=reports,
                                disputes=disputes)
    if submission.state != State.SHREDDED:
        receipt = None
    elif receipts is None:
        receipt = submission.deletion_receipts.first()
    else:
        receipt = receipts[0] if receipts else None  # newest first, as the model orders them
    return {
        "state": submission.state,
        "outcome": outcome,
        "ends_at": ends_at,
        "builder_retention_days": submission.retention_days,
        "closes_at": reported_closes_at(submission),
        "suspended_because": _blocked_reason(submission, hold=hold, disputes=disputes,
                                             may_have_review_requests=may_have_review_requests),
        "legal_hold": None if hold is None else ("approved" if hold.approved_at else "awaiting_approval"),
        "open_disputes": sum(1 for dispute in disputes if dispute.state == DisputeState.OPEN),
        "deletion_receipt": str(receipt.pk) if receipt else None,
    }


def cases_due_for_shredding(*, now: datetime | None = None) -> list[Submission]:
    now = now or timezone.now()
    return [case for case in Submission.objects.filter(state__in=SHREDDABLE_STATES).order_by("state_changed_at")
            if (ends := retention_ends_at(case, now=now)) is not None and ends <= now]


def retention_warn_due(*, now: datetime | None = None) -> list[str]:
    """Tell each builder, ``ASSAY_RETENTION_WARN_DAYS`` before, that retention will shred their case; once per
    case and date (a date moved by a dispute warns again). A case a hold or dispute suspends is not warned."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.ASSAY_RETENTION_WARN_DAYS)
    warned = []
    for case in Submission.objects.filter(state__in=SHREDDABLE_STATES).select_related("owner").order_by("pk"):
        ends = retention_ends_at(case, now=now)
        if ends is None or not now < ends <= horizon or shredding_blocked_reason(case, now=now):
            continue
        days_left = math.ceil((ends - now) / timedelta(days=1))
        if notify(recipient=case.owner, kind=NotificationKind.RETENTION_SHRED_SOON, submission=case,
                  path=reverse("case_detail", args=[case.pk]), dedupe_key=f"{case.pk}:{ends.date().isoformat()}",
                  days=days_left):
            warned.append(case.reference)
    return warned


@dataclass
class SweepResult:
    closed: list[str] = field(default_factory=list)
    shredded: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ciphertext_purged: int = 0
    abandoned_uploads: int = 0

    def summary(self) -> str:
        return (f"shredded {len(self.shredded)}, suspended {len(self.blocked)}, failed {len(self.failed)}, "
                f"ciphertext purged {self.ciphertext_purged}, abandoned uploads removed {self.abandoned_uploads}, "
                f"reported cases closed {len(self.closed)}")


def retention_enforce(*, now: datetime | None = None) -> SweepResult:
    """Close reported cases past their period, then shred every case past its retention date that is not held;
    idempotent, so beat may run it often."""
    from intake.vault.services import vault_purge_ciphertext, vault_sweep_abandoned
    from intake.vault.shredding import case_shred

    result = SweepResult(closed=submissions_close_reported(now=now))
    for case in cases_due_for_shredding(now=now):
        try:
            case_shred(submission=case, actor=None, trigger="retention_expired", reason="retention period ended")
            result.shredded.append(case.reference)
        except ShredBlocked:
            result.blocked.append(case.reference)
        except Exception:  # one bad case must not stop the sweep; it stays intact and is retried next run
            log.exception("shredding %s failed; will retry", case.reference)
            result.failed.append(case.reference)
    result.warned = retention_warn_due(now=now)
    result.ciphertext_purged = vault_purge_ciphertext()
    result.abandoned_uploads = vault_sweep_abandoned()
    return result


# --- legal holds -------------------------------------------------------------------------------------------

def _require_coordinator(actor) -> None:  # noqa: ANN001
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.role != Role.COORDINATOR:
        raise NotAllowed("only a coordinator can do this")


def legal_hold_request(*, submission: Submission, actor, reason: str) -> LegalHold:  # noqa: ANN001
    _require_coordinator(actor)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed("a legal hold needs a written reason (at least 10 characters)")
    if submission.state == State.SHREDDED:
        raise NotEditable(f"case {submission.reference} is already crypto-shredded; there is nothing left to hold")
    with transaction.atomic():
        hold = LegalHold.objects.create(submission=submission, reason=reason[:5000], requested_by=actor)
        audit_append(action="vault.legal_hold.request", actor=actor, obj=submission,
                     data={"hold": hold.pk, "reason": hold.reason})
    return hold


def legal_hold_approve(*, hold: LegalHold, actor) -> LegalHold:  # noqa: ANN001
    _require_coordinator(actor)
    if actor.pk == hold.requested_by_id:
        raise NotAllowed("a legal hold must be approved by a second coordinator, not the one who requested it")
    with transaction.atomic():
        rows = LegalHold.objects.filter(pk=hold.pk, approved_at__isnull=True, released_at__isnull=True).update(
            approved_by=actor, approved_at=timezone.now())
        if rows != 1:
            raise NotEditable("this legal hold was already approved or released")
        audit_append(action="vault.legal_hold.approve", actor=actor, obj=hold.submission, data={"hold": hold.pk})
    hold.refresh_from_db()
    return hold


def legal_hold_release(*, hold: LegalHold, actor, reason: str) -> LegalHold:  # noqa: ANN001
    """Any coordinator may release a hold (or withdraw a request not yet approved), with a written reason."""
    _require_coordinator(actor)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationFailed("releasing a legal hold needs a written reason (at least 10 characters)")
    with transaction.atomic():
        rows = LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
            released_by=actor, released_at=timezone.now(), release_reason=reason[:5000])
        if rows != 1:
            raise NotEditable("this legal hold was already released")
        audit_append(action="vault.legal_hold.release", actor=actor, obj=hold.submission,
                     data={"hold": hold.pk, "reason": reason[:500]})
    hold.refresh_from_db()
    return hold
