"""Read paths. ``submissions_visible_to`` is the only way to list or fetch cases: unknown means deny."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import Http404

from intake.models import ReviewRequest, Role, Submission, TermsVersion
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


CaseFilter = Callable[..., QuerySet[Submission]]

# What a coordinator may see is narrowed by rules of a higher layer (conflict of interest lives in reviews, which
# intake must not import). That layer registers its narrowing here at start-up; until one is registered a
# coordinator sees nothing: unknown means deny.
_coordinator_case_filters: list[CaseFilter] = []


def register_coordinator_case_filter(narrow: CaseFilter) -> None:
    """``narrow(user, cases) -> cases``: drop what this coordinator must not see. Idempotent per function."""
    if narrow not in _coordinator_case_filters:
        _coordinator_case_filters.append(narrow)


def submissions_visible_to(user, *, among: QuerySet[Submission] | None = None) -> QuerySet[Submission]:  # noqa: ANN001
    """The cases ``user`` may see (of ``among``, when given: a coordinator's narrowing then reads only those)."""
    cases = Submission.objects.all() if among is None else among
    if user is None or not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.role == Role.BUILDER:
        return cases.filter(owner=user)
    if user.role == Role.COORDINATOR:
        if not _coordinator_case_filters:
            return cases.none()
        for narrow in _coordinator_case_filters:
            cases = narrow(user, cases)
        return cases
    # Reviewers reach cases only through grants (reviews app); institutions never see cases.
    return cases.none()


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


def submission_get_for(user, pk) -> Submission:  # noqa: ANN001
    """Fetch a case the user may see, or 404 (never 403: do not confirm that an id exists)."""
    return _get_visible(user, pk)


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


def _case_page_presence() -> dict:
    """EXISTS flags for the case page's optional records: most cases have no report, dynamic run, similarity
    link, legal hold or dispute yet, and a flag read with the case saves a query that would return nothing."""
    from django.db.models import Exists, OuterRef

    from intake.vault.models import LegalHold
    from intake.vault.retention import disputes_of
    from reviews.models import Report
    from triage.models import DynamicRun, FingerprintLink, TriageResult

    case = OuterRef("pk")
    return {
        "page_has_triage": Exists(TriageResult.objects.filter(submission=case)),
        "page_has_links": Exists(FingerprintLink.objects.filter(submission=case)),
        "page_has_dynamic_runs": Exists(DynamicRun.objects.filter(submission=case)),
        "page_has_reports": Exists(Report.objects.filter(submission=case)),
        "page_has_holds": Exists(LegalHold.objects.filter(submission=case)),
        "page_has_disputes": Exists(disputes_of(case)),
        "page_has_review_requests": Exists(ReviewRequest.objects.filter(submission=case)),
        "page_has_next_version": Exists(Submission.objects.filter(previous_version=case)),
    }


def case_page_submission(user, pk) -> Submission:  # noqa: ANN001
    """The case for its page, or 404 exactly as :func:`submission_get_for`: with the owner joined (the page
    shows the pseudonym to staff; similarity links compare owners) and the presence flags above."""
    return _get_visible(user, pk, shape=lambda cases: cases.select_related("owner").annotate(**_case_page_presence()))


def case_page_records(user, submission: Submission, *, events: list) -> dict:  # noqa: ANN001
    """Everything the case page shows besides the case and its timeline, with each table read at most once.

    The caller fetched ``submission`` through :func:`case_page_submission` (so ``user`` may see it; without its
    flags every table is read) and ``events`` through :func:`submission_events`; the retention summary reuses
    them, the acceptances, the reports and the receipts instead of reading them again. Nothing here is cached
    across requests: the page shows the case as it is now.
    """
    from intake.states import State
    from intake.vault.dispute_hold_selectors import case_disputes, case_legal_holds
    from intake.vault.retention import disputes_of, retention_summary
    from triage.dynamic.selectors import dynamic_latest_run
    from triage.selectors import findings_by_severity, findings_outside_scope, similarity_links_for

    def present(flag: str) -> bool:
        return getattr(submission, f"page_has_{flag}", True)

    acceptances = list(submission.terms_acceptances.select_related("terms").order_by("accepted_at"))
    # The page lists reports; their PDFs and signed statements stay in the database.
    reports = (list(submission.reports.only("id", "submission_id", "kind", "issued_at", "expires_at", "revoked_at",
                                            "revoke_reason").order_by("-issued_at")) if present("reports") else [])
    # A receipt is written in the same transaction that moves the case to shredded, a final state.
    receipts = list(submission.deletion_receipts.all()) if submission.state == State.SHREDDED else []
    # The same latest-first rule as triage.selectors.latest_triage_result, with the model note in one join.
    triage = (submission.triage_results.select_related("model_note", "duplicate_of")
              .order_by("-created_at", "-pk").first()
              if present("triage") else None)
    reviewed = any(event.action == "submission.transition" and (event.data or {}).get("to") == State.IN_REVIEW
                   for event in events)
    links = similarity_links_for(user, submission) if triage and present("links") else []
    # Read once, both cases joined: the retention summary and the disputes section both use them.
    disputes = (list(disputes_of(submission).select_related("claimant_case", "respondent_case"))
                if present("disputes") else [])
    return {
        "artifacts": list(submission.artifacts.all()),
        "acceptances": acceptances,
        "triage": triage,
        "triage_groups": findings_by_severity(triage) if triage else [],
        "triage_outside": findings_outside_scope(triage, submission) if triage else None,
        "similarity_links": links,
        "reports": reports,
        "retention": retention_summary(submission, reviewed=reviewed, acceptances=acceptances, reports=reports,
                                       receipts=receipts, disputes=disputes, may_have_holds=present("holds"),
                                       may_have_review_requests=present("review_requests")),
        "disputes": case_disputes(user, submission, disputes=disputes) if disputes else [],
        "legal_holds": case_legal_holds(user, submission) if present("holds") else [],
        "dynamic_run": dynamic_latest_run(submission=submission) if present("dynamic_runs") else None,
        "receipts": receipts,
    }
