"""The triage pipeline a submission goes through. (Checks, sandbox and policy arrive with issue 4.)"""

from __future__ import annotations

from django.db import transaction

from intake.models import Submission
from intake.states import State, StaleTransition, transition


def triage_submission_run(submission_id: str) -> str:
    """Idempotent: re-running on a case already past triage does nothing."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:
        return "missing"
    try:
        if submission.state == State.SUBMITTED:
            submission = transition(submission, State.TRIAGING, actor=None, reason="triage started")
        if submission.state == State.TRIAGING:
            with transaction.atomic():
                submission = transition(submission, State.TRIAGED, actor=None, reason="triage finished")
    except StaleTransition:
        submission.refresh_from_db()
    return submission.state
