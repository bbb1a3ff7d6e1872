"""The end of a reviewed case: REPORTED → CLOSED.

An assessment report moves a case to ``reported``. It closes when its builder
acknowledges the report, or, if they never do, ``ASSAY_REPORTED_CLOSE_DAYS``
after the report (the periodic retention sweep closes it). Once closed, the
case's retention runs under the accepted terms ("reviewed_after_report_expiry")
and ends in crypto-shredding, like every other terminal state.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from intake.errors import NotEditable
from intake.models import Submission
from intake.states import IllegalTransition, StaleTransition, State, transition
from intake.vault.errors import NotAllowed

log = logging.getLogger(__name__)


def reported_closes_at(submission: Submission) -> datetime | None:
    """When a reported case closes by itself; None for a case in any other state."""
    if submission.state != State.REPORTED:
        return None
    return submission.state_changed_at + timedelta(days=settings.ASSAY_REPORTED_CLOSE_DAYS)


def submission_acknowledge_report(*, submission: Submission, actor) -> Submission:  # noqa: ANN001
    """The builder has read the report: close the case. Only the case's builder, only while it is reported."""
    if actor is None or submission.owner_id != actor.pk:
        raise NotAllowed("only the case's builder acknowledges its report")
    if submission.state != State.REPORTED:
        raise NotEditable(f"case {submission.reference} is {submission.get_state_display().lower()}; only a "
                          "reported case can be acknowledged")
    try:
        return transition(submission, State.CLOSED, actor=actor, reason="builder acknowledged the report")
    except (IllegalTransition, StaleTransition):
        raise NotEditable(f"case {submission.reference} was closed meanwhile") from None


def submissions_close_reported(*, now: datetime | None = None) -> list[str]:
    """Close every case reported longer than ``ASSAY_REPORTED_CLOSE_DAYS`` ago; returns their references.

    Idempotent: a case someone else closed meanwhile is skipped, so the sweep may run as often as beat likes.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ASSAY_REPORTED_CLOSE_DAYS)
    closed = []
    for case in Submission.objects.filter(state=State.REPORTED, state_changed_at__lte=cutoff).order_by(
            "state_changed_at"):
        try:
            transition(case, State.CLOSED, actor=None,
                       reason=f"closed {settings.ASSAY_REPORTED_CLOSE_DAYS} days after the report")
        except (IllegalTransition, StaleTransition):
            continue  # acknowledged (or moved) by someone else between the read and the write
        closed.append(case.reference)
    if closed:
        log.info("closed %d reported case(s) after the configured period", len(closed))
    return closed
