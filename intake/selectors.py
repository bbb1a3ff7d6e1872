"""Read paths. Cases are listed and fetched only through the access kernel (intake.access): unknown means deny."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import Http404

from intake.access import cases_visible_to
from intake.models import Role, Submission, TermsVersion
from intake.states import OPEN_STATES

SEARCH_SCAN_LIMIT = 5000


def submissions_matching(cases: QuerySet, query: str, *, limit: int) -> list[Submission]:
    """Cases whose reference or title contains ``query``, in ``cases``' order.

    Titles are sealed (intake.vault.sealed_fields), so the database cannot search them: the match runs
    here, on at most SEARCH_SCAN_LIMIT cases the caller may already see.
    """
    needle = query.casefold()
    found = []
    for case in cases[:SEARCH_SCAN_LIMIT]:
        if needle in case.reference.casefold() or needle in case.title.casefold():
            found.append(case)
            if len(found) >= limit:
                break
    return found


def submissions_visible_to(user, *, among: QuerySet[Submission] | None = None) -> QuerySet[Submission]:  # noqa: ANN001
    """The cases ``user`` may open on the builder's and coordinator's pages and API: the access kernel's visible
    cases (intake.access), without reviewers', who reach their granted cases only through the review pages (which
    never show the builder)."""
    if user is not None and getattr(user, "role", None) == Role.REVIEWER:
        return (Submission.objects.all() if among is None else among).none()
    return cases_visible_to(user, among=among)


Shape = Callable[[QuerySet[Submission]], QuerySet[Submission]]


def _get_visible(user, pk, *, shape: Shape | None = None) -> Submission:  # noqa: ANN001
    try:
        cases = submissions_visible_to(user, among=Submission.objects.filter(pk=pk))
        return (shape(cases) if shape else cases).get(pk=pk)
    except (Submission.DoesNotExist, ValueError, TypeError) as exc:  # ValueError: malformed UUID
        raise Http404("No such case.") from exc
    except Exception as exc:  # django.core.exceptions.ValidationError for a malformed UUID
        if exc.__class__.__name__ == "ValidationError":
            raise Http404("No such case.") from exc
        raise


def submission_get_for(user, pk, *, shape: Shape | None = None) -> Submission:  # noqa: ANN001
    """Fetch a case the user may see, or 404 (never 403: do not confirm that an id exists). ``shape`` adds joins
    or annotations to the one query (the case page's presence flags)."""
    return _get_visible(user, pk, shape=shape)


def open_case_count(user) -> int:  # noqa: ANN001
    """Open cases, and finished ones with a request for human review still pending (issue 15): both wait on
    people, so both count in the quota."""
    from django.db.models import Q

    return (Submission.objects.filter(owner=user)
            .filter(Q(state__in=OPEN_STATES) | Q(review_requests__status="pending")).distinct().count())


_VERSION_COLUMNS = ("id", "reference", "state", "version", "previous_version_id", "config_digest", "created_at",
                    "owner_id")


def case_versions(submission: Submission, *, limit: int = 50) -> list[Submission]:
    """Every version of the case ``submission`` belongs to, oldest first: identity columns only (reference, state,
    digest), never content. The caller may see ``submission``; a page links to the others, and each link goes
    through the visibility selector again (a coordinator's conflicts are judged per case)."""
    chain = [submission]
    earlier = submission
    while earlier.previous_version_id and len(chain) < limit:
        earlier = Submission.objects.only(*_VERSION_COLUMNS).get(pk=earlier.previous_version_id)
        chain.insert(0, earlier)
    later = submission
    while len(chain) < limit:
        later = Submission.objects.only(*_VERSION_COLUMNS).filter(
            previous_version_id=later.pk).first()
        if later is None:
            break
        chain.append(later)
    return chain


def next_version_of(submission: Submission) -> Submission | None:
    return Submission.objects.filter(previous_version_id=submission.pk).only("id", "reference", "state",
                                                                             "version").first()


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


def submission_events(submission: Submission) -> list:
    """Every audit event about the case, oldest first, in one query (the case page's timeline reads these)."""
    from intake.models import AuditEvent

    return list(AuditEvent.objects.filter(object_type="intake.submission", object_id=str(submission.pk))
                .defer("prev_hash", "hash").order_by("seq"))
