"""What a user can do next on a case (issue 15: no outcome is a dead end), for the case page and the API.

Reads only; the actions themselves are intake.review_requests (request human review), intake.versions (a new
configuration version) and the coordinator's decision in reviews.review_requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.models import ReviewRequest, Role, Submission
from intake.review_requests import review_request_refusal, was_reviewed
from intake.selectors import case_versions
from intake.states import State
from intake.versions import VERSIONABLE_STATES


@dataclass(frozen=True)
class NextSteps:
    versions: list[Submission]
    requests: list[ReviewRequest]
    next_version: Submission | None
    pending_request: ReviewRequest | None
    can_request_review: bool
    review_refusal: str | None
    can_new_version: bool
    version_refusal: str | None
    reviewed: bool  # the case went through human review (its outcome is a reviewed one, not triage's)
    notes: list[str] = field(default_factory=list)  # what the outcome means for this user, in words


def case_next_steps(user, submission: Submission, *, events: list | None = None) -> NextSteps:  # noqa: ANN001
    """The case's versions and review requests, and which next steps ``user`` has. The caller may see the case.

    ``events`` are the case's audit events when the caller read them (whether the case was ever in review is
    taken from them); presence flags from reviews.case_page.case_page_submission (through intake.hooks) skip
    reads that return nothing.
    """
    has_requests = getattr(submission, "page_has_review_requests", True)
    has_next = getattr(submission, "page_has_next_version", True)
    requests = list(submission.review_requests.order_by("created_at", "pk")) if has_requests else []
    if submission.previous_version_id or has_next:
        versions = case_versions(submission)
    else:
        versions = [submission]
    position = next(i for i, v in enumerate(versions) if v.pk == submission.pk)
    next_version = versions[position + 1] if position + 1 < len(versions) else None
    if events is None:
        reviewed = was_reviewed(submission)
    else:
        reviewed = any(e.action == "submission.transition" and (e.data or {}).get("to") == State.IN_REVIEW
                       for e in events)
    owner = getattr(user, "pk", None) == submission.owner_id
    review_refusal = review_request_refusal(submission, reviewed=reviewed, statuses=[r.status for r in requests])
    if submission.state not in VERSIONABLE_STATES:
        version_refusal = "a new version can follow only a guidance or reject outcome"
    elif next_version is not None:
        version_refusal = f"version {next_version.version} already exists ({next_version.reference})"
    else:
        version_refusal = None
    pending = next((r for r in requests if r.status == ReviewRequest.Status.PENDING), None)
    notes = []
    if owner and pending is not None:
        notes.append("Your request for human review is waiting for a coordinator; this case is kept until it "
                     "is answered.")
    if getattr(user, "role", None) == Role.COORDINATOR and pending is not None:
        notes.append("The builder asked for human review of this outcome; accept or decline it with a reason.")
    return NextSteps(versions=versions, requests=requests, next_version=next_version, pending_request=pending,
                     can_request_review=owner and review_refusal is None, review_refusal=review_refusal,
                     can_new_version=owner and version_refusal is None, version_refusal=version_refusal,
                     reviewed=reviewed, notes=notes)
