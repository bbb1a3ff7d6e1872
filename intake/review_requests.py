"""Requests for human review of a triage outcome (issue 15): the builder's side, and what intake must know.

The builder asks here (:func:`review_request_create`); a coordinator decides in the reviews app
(``reviews.review_requests.review_request_decide``), which owns the move back to awaiting consent. A pending
request counts in the builder's open-case quota (intake.selectors.open_case_count) and suspends shredding
(intake.vault.retention), so the case cannot vanish while a coordinator is still to answer.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from intake.accounts.assurance import assurance_level
from intake.audit import audit_append
from intake.errors import NotEditable, QuotaExceeded, ValidationFailed
from intake.models import AuditEvent, NotificationKind, ReviewRequest, Role, Submission, User
from intake.notifications import notifications_resolve, notify
from intake.selectors import open_case_count, submissions_visible_to
from intake.states import State

# Outcomes of automated triage that a builder may ask people to look at again.
REQUESTABLE_STATES = frozenset({State.CLOSED, State.REJECTED})
MIN_JUSTIFICATION, MAX_JUSTIFICATION = 30, 5000
MAX_REQUESTS_PER_CASE = 2  # one request, and one more after a decline; then the next step is a new version


def was_reviewed(submission: Submission) -> bool:
    """Whether people already reviewed the case (it reached ``in_review``): that outcome is not re-opened here."""
    return AuditEvent.objects.filter(object_type="intake.submission", object_id=str(submission.pk),
                                     action="submission.transition", data__to=State.IN_REVIEW).exists()


def review_request_refusal(submission: Submission, *, reviewed: bool | None = None,
                           statuses: list[str] | None = None) -> str | None:
    """Why the builder cannot ask for human review of this case now (None: they can). ``reviewed`` and
    ``statuses`` (of the case's requests) when the caller has read them already."""
    if submission.state not in REQUESTABLE_STATES:
        return "human review can be requested only after a guidance or reject outcome"
    if reviewed if reviewed is not None else was_reviewed(submission):
        return "this outcome already followed a human review"
    if statuses is None:
        statuses = list(submission.review_requests.values_list("status", flat=True))
    if ReviewRequest.Status.PENDING in statuses:
        return "a request for human review of this case is already waiting for a coordinator"
    if len(statuses) >= MAX_REQUESTS_PER_CASE:
        return (f"this case has had {MAX_REQUESTS_PER_CASE} requests for human review; submit a new version "
                "instead")
    return None


def review_request_create(*, submission: Submission, actor: User, justification: str) -> ReviewRequest:
    """The builder asks a coordinator to send a guidance or reject outcome to human review.

    The caller fetched ``submission`` through the visibility selector; ownership is checked here. The
    justification is the builder's text: sealed on the request, never in the audit log (only its length).
    """
    if submission.owner_id != actor.pk:
        raise PermissionDenied("Only the case's builder can request human review of it.")
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ValidationFailed(f"explain why the outcome should be reviewed by people in at least "
                               f"{MIN_JUSTIFICATION} characters")
    if len(justification) > MAX_JUSTIFICATION:
        raise ValidationFailed(f"the justification is longer than {MAX_JUSTIFICATION} characters")
    level = assurance_level(actor)
    quota = settings.ASSAY_OPEN_CASE_QUOTA.get(level, 0)
    with transaction.atomic():
        # Serialise this builder's quota checks, as submission_create does.
        User.objects.select_for_update().filter(pk=actor.pk).exists()
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        refusal = review_request_refusal(locked)
        if refusal:
            raise NotEditable(f"case {locked.reference}: {refusal}")
        if open_case_count(actor) >= quota:
            raise QuotaExceeded(
                f"you have reached the limit of {quota} open case(s) for assurance level {level}, and a pending "
                "request for human review counts as an open case; wait for an open case to finish, or raise your "
                "assurance level", retry_after=3600)
        try:
            with transaction.atomic():
                request = ReviewRequest.objects.create(submission=locked, requested_by=actor,
                                                       outcome_state=locked.state, justification=justification)
        except IntegrityError as exc:  # a concurrent request won the one pending slot
            raise NotEditable(f"case {locked.reference}: a request for human review is already waiting") from exc
        audit_append(actor=actor, action="review_request.create", obj=locked,
                     data={"request": request.pk, "outcome": locked.state, "justification_chars": len(justification)})
        # Handed to the coordinators who may act on the case (the visibility selector drops conflicted ones).
        for coordinator in User.objects.filter(role=Role.COORDINATOR, is_active=True).order_by("pk"):
            if submissions_visible_to(coordinator).filter(pk=locked.pk).exists():
                notify(recipient=coordinator, kind=NotificationKind.REVIEW_REQUESTED, submission=locked,
                       path=reverse("coordinator_review_requests"))
    return request


def review_requests_of(submission: Submission) -> list[ReviewRequest]:
    """The case's requests, oldest first (the caller may see the case)."""
    return list(submission.review_requests.order_by("created_at", "pk"))


def review_requests_pending_for(user: User) -> QuerySet[ReviewRequest]:
    """Pending requests on the cases ``user`` may see (a coordinator: those without a conflict), oldest first."""
    return (ReviewRequest.objects.filter(status=ReviewRequest.Status.PENDING,
                                         submission__in=submissions_visible_to(user))
            .select_related("submission", "submission__owner").order_by("created_at", "pk"))


def review_request_record_decision(*, request: ReviewRequest, actor: User, accept: bool,
                                   reason: str) -> ReviewRequest:
    """Write the coordinator's answer onto a pending request.

    Precondition: the caller (reviews.review_requests) checked that ``actor`` may coordinate the case and holds
    a transaction; this only refuses a request that is no longer pending.
    """
    locked = ReviewRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != ReviewRequest.Status.PENDING:
        raise NotEditable(f"this request was already {locked.get_status_display().lower()}")
    locked.status = ReviewRequest.Status.ACCEPTED if accept else ReviewRequest.Status.DECLINED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.decision_reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_append(actor=actor, action=f"review_request.{locked.status}", obj=locked.submission,
                 data={"request": locked.pk, "reason_chars": len(reason)})
    notifications_resolve(kind=NotificationKind.REVIEW_REQUESTED, submission=locked.submission)
    if not accept:  # an accepted request's next step is the consent question, which is its one notification
        notify(recipient=locked.submission.owner, kind=NotificationKind.REVIEW_REQUEST_DECLINED,
               submission=locked.submission, path=reverse("case_detail", args=[locked.submission.pk]))
    return locked
