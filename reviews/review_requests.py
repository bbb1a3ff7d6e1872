"""A coordinator's answer to a builder's request for human review (issue 15).

The request is intake's (intake.review_requests); deciding it is here because accepting sends the case down the
review route exactly as a triage escalation does: the case moves to ``awaiting_consent`` (allowed from closed or
rejected only with this accepted request, intake.states.REOPENED_BY_REVIEW_REQUEST) and the builder is asked for
consent at the tier the claim and findings need (reviews.services.consent_request_for_escalation). Declining
records the reason, which the builder sees on the case.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from intake.errors import ValidationFailed
from intake.models import NotificationKind, ReviewRequest, User
from intake.notifications import notify
from intake.review_requests import review_request_record_decision
from intake.states import IllegalTransition, StaleTransition, State, transition
from reviews.services import WrongState, check_coordinator_may_act, consent_request_for_escalation

MIN_REASON, MAX_REASON = 10, 2000


def review_request_decide(*, review_request: ReviewRequest, actor: User, accept: bool, reason: str) -> ReviewRequest:
    """Accept (the case goes to consent, then reviewers) or decline (the reason is shown to the builder).

    Only an unconflicted coordinator; only a pending request; only while the case still has the outcome the
    builder asked about.
    """
    submission = review_request.submission
    check_coordinator_may_act(submission=submission, actor=actor)
    reason = (reason or "").strip()
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise ValidationFailed(f"give the builder a reason of {MIN_REASON} to {MAX_REASON} characters")
    try:
        with transaction.atomic():
            decided = review_request_record_decision(request=review_request, actor=actor, accept=accept,
                                                     reason=reason)
            if accept:
                moved = transition(submission, State.AWAITING_CONSENT, actor=actor,
                                   reason="the builder's request for human review was accepted",
                                   data={"review_request": decided.pk})
                latest = moved.triage_results.order_by("-created_at", "-pk").first()
                consent_request_for_escalation(submission=moved, findings=list(latest.findings) if latest else [])
                notify(recipient=moved.owner, kind=NotificationKind.CONSENT_NEEDED, submission=moved,
                       path=reverse("builder_consent", args=[moved.pk]))
    except (IllegalTransition, StaleTransition) as moved_on:
        raise WrongState(f"case {submission.reference} is no longer {review_request.outcome_state}; "
                         "the request cannot be accepted") from moved_on
    return decided
