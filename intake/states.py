"""The one state machine of a submission.

Every legal move is in ``ALLOWED``; :func:`transition` is the only writer of
``Submission.state``. The update is guarded by the old state, so two racing
transitions cannot both win, and the audit event is written in the same
transaction.
"""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    TRIAGING = "triaging", "Triaging"
    TRIAGED = "triaged", "Triaged"
    AWAITING_CONSENT = "awaiting_consent", "Awaiting consent"
    IN_REVIEW = "in_review", "In review"
    DECIDED = "decided", "Decided"
    REPORTED = "reported", "Reported"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SHREDDED = "shredded", "Shredded"


ALLOWED: dict[str, frozenset[str]] = {
    State.DRAFT: frozenset({State.SUBMITTED, State.WITHDRAWN}),
    State.SUBMITTED: frozenset({State.TRIAGING, State.WITHDRAWN}),
    State.TRIAGING: frozenset({State.TRIAGED, State.WITHDRAWN}),
    State.TRIAGED: frozenset({State.REJECTED, State.CLOSED, State.AWAITING_CONSENT, State.WITHDRAWN}),
    State.AWAITING_CONSENT: frozenset({State.IN_REVIEW, State.CLOSED, State.WITHDRAWN}),
    State.IN_REVIEW: frozenset({State.DECIDED, State.WITHDRAWN}),
    State.DECIDED: frozenset({State.REPORTED}),
    State.REPORTED: frozenset({State.CLOSED}),
    # Issue 15: -> AWAITING_CONSENT only when a coordinator accepts the builder's request for human review
    # (REOPENED_BY_REVIEW_REQUEST below; transition() refuses the move without that accepted request).
    State.CLOSED: frozenset({State.SHREDDED, State.AWAITING_CONSENT}),
    State.REJECTED: frozenset({State.SHREDDED, State.AWAITING_CONSENT}),
    State.WITHDRAWN: frozenset({State.SHREDDED}),
    State.SHREDDED: frozenset(),
}

# Moves that re-open a finished case; each needs ``data={"review_request": <pk of an accepted request>}``.
REOPENED_BY_REVIEW_REQUEST = frozenset({(State.CLOSED, State.AWAITING_CONSENT),
                                        (State.REJECTED, State.AWAITING_CONSENT)})

# States in which a case counts against the builder's open-case quota.
OPEN_STATES = frozenset({State.DRAFT, State.SUBMITTED, State.TRIAGING, State.TRIAGED,
                         State.AWAITING_CONSENT, State.IN_REVIEW, State.DECIDED})
TERMINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN, State.SHREDDED})


class IllegalTransition(Exception):
    def __init__(self, old: str, new: str):
        super().__init__(f"a case cannot move from {old} to {new}")
        self.old, self.new = old, new


class StaleTransition(Exception):
    """The case left ``old`` between reading and writing: someone else moved it first."""

    def __init__(self, pk, old: str, new: str):  # noqa: ANN001
        super().__init__(f"case {pk} is no longer {old}; not moved to {new}")
        self.pk, self.old, self.new = pk, old, new


def can_transition(old: str, new: str) -> bool:
    return new in ALLOWED.get(old, frozenset())


def transition(submission, new: str, *, actor=None, reason: str = "", data: dict | None = None):  # noqa: ANN001, ANN201
    """Move ``submission`` to ``new`` and audit it; returns the refreshed submission.

    Raises IllegalTransition for a move not in ALLOWED and StaleTransition if
    another writer moved the case first (the row's state no longer matches).
    """
    from django.db import transaction
    from django.utils import timezone

    from intake.audit import audit_append
    from intake.models import ReviewRequest, Submission

    old = submission.state
    if not can_transition(old, new):
        raise IllegalTransition(old, new)
    now = timezone.now()
    with transaction.atomic():
        if (old, new) in REOPENED_BY_REVIEW_REQUEST and not ReviewRequest.objects.filter(
                pk=(data or {}).get("review_request"), submission_id=submission.pk,
                status=ReviewRequest.Status.ACCEPTED).exists():
            raise IllegalTransition(old, new)  # a finished case re-opens only through an accepted request
        updates = {"state": new, "state_changed_at": now}
        if new == State.SUBMITTED:
            updates["submitted_at"] = now
        rows = Submission.objects.filter(pk=submission.pk, state=old).update(**updates)
        if rows != 1:
            raise StaleTransition(submission.pk, old, new)
        audit_append(
            actor=actor,
            action="submission.transition",
            obj=submission,
            data={"from": old, "to": new, "reason": reason, **(data or {})},
        )
    submission.refresh_from_db()
    return submission
