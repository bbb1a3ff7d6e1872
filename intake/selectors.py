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


def submission_get_for(user, pk, *, with_owner: bool = False) -> Submission:  # noqa: ANN001
    """Fetch a case the user may see, or 404 (never 403: do not confirm that an id exists).

    ``with_owner`` reads the owner in the same query, for pages that show or compare it.
    """
    cases = submissions_visible_to(user)
    if with_owner:
        cases = cases.select_related("owner")
    try:
        return cases.get(pk=pk)
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


def submission_events(submission: Submission) -> list:
    """Every audit event about the case, oldest first, in one query (the case page's timeline reads these)."""
    from intake.models import AuditEvent

    return list(AuditEvent.objects.filter(object_type="intake.submission", object_id=str(submission.pk))
                .defer("prev_hash", "hash").order_by("seq"))


def case_page_records(user, submission: Submission, *, events: list) -> dict:  # noqa: ANN001
    """Everything the case page shows besides the case and its timeline, with each table read once.

    The caller fetched ``submission`` through :func:`submission_get_for` (so ``user`` may see it) and
    ``events`` through :func:`submission_events`; retention reuses both, the acceptances, the reports and
    the receipts instead of reading them again. Nothing here is cached across requests: the page shows
    the case as it is now.
    """
    from intake.states import State
    from intake.vault.retention import retention_summary
    from triage.dynamic.selectors import dynamic_latest_run
    from triage.selectors import findings_by_severity, similarity_links_for

    acceptances = list(submission.terms_acceptances.select_related("terms").order_by("accepted_at"))
    reports = list(submission.reports.order_by("-issued_at"))
    # A receipt is written in the same transaction that moves the case to shredded, a final state.
    receipts = list(submission.deletion_receipts.all()) if submission.state == State.SHREDDED else []
    # The same latest-first rule as triage.selectors.latest_triage_result, with the model note in one join.
    triage = submission.triage_results.select_related("model_note").order_by("-created_at", "-pk").first()
    reviewed = any(event.action == "submission.transition" and (event.data or {}).get("to") == State.IN_REVIEW
                   for event in events)
    return {
        "artifacts": list(submission.artifacts.all()),
        "acceptances": acceptances,
        "triage": triage,
        "triage_groups": findings_by_severity(triage) if triage else [],
        # Needs submission.owner: fetch the case with with_owner=True, or this costs a query.
        "similarity_links": similarity_links_for(user, submission) if triage else [],
        "reports": reports,
        "retention": retention_summary(submission, reviewed=reviewed, acceptances=acceptances, reports=reports,
                                       receipts=receipts),
        "dynamic_run": dynamic_latest_run(submission=submission),
        "receipts": receipts,
    }
