"""Read paths. ``submissions_visible_to`` is the only way to list or fetch cases: unknown means deny."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from intake.models import Role, Submission, TermsVersion
from intake.states import OPEN_STATES


def submissions_visible_to(user) -> QuerySet[Submission]:  # noqa: ANN001
    if user is None or not user.is_authenticated or not user.is_active:
        return Submission.objects.none()
    if user.role == Role.BUILDER:
        return Submission.objects.filter(owner=user)
    if user.role == Role.COORDINATOR:
        return Submission.objects.all()
    # Reviewers reach cases only through grants (reviews app); institutions never see cases.
    return Submission.objects.none()


def submission_get_for(user, pk) -> Submission:  # noqa: ANN001
    """Fetch a case the user may see, or 404 (never 403: do not confirm that an id exists)."""
    try:
        return submissions_visible_to(user).get(pk=pk)
    except (Submission.DoesNotExist, ValueError, TypeError) as exc:  # ValueError: malformed UUID
        raise Http404("No such case.") from exc
    except Exception as exc:  # django.core.exceptions.ValidationError for a malformed UUID
        if exc.__class__.__name__ == "ValidationError":
            raise Http404("No such case.") from exc
        raise


def open_case_count(user) -> int:  # noqa: ANN001
    return Submission.objects.filter(owner=user, state__in=OPEN_STATES).count()


def current_terms() -> TermsVersion | None:
    return TermsVersion.objects.order_by("-published_at", "-pk").first()


def submission_get_owned(user, pk) -> Submission:  # noqa: ANN001
    """Fetch a case for changing it: 404 if the user cannot see it, 403 if they see it but do not own it."""
    from django.core.exceptions import PermissionDenied

    submission = submission_get_for(user, pk)
    if submission.owner_id != user.pk:
        raise PermissionDenied("Only the case's builder can change it.")
    return submission


def submission_timeline(submission: Submission) -> list[dict]:
    """The case's state changes, oldest first, from the audit log (the one record of transitions)."""
    from intake.models import AuditEvent

    events = AuditEvent.objects.filter(object_type="intake.submission", object_id=str(submission.pk),
                                       action="submission.transition").order_by("seq")
    return [{"from": e.data.get("from"), "to": e.data.get("to"), "at": e.created_at,
             "reason": e.data.get("reason", "")} for e in events]
