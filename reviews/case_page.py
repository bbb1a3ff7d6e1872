"""The builder's case page, read in one place that may see all three layers: the case and its terms (intake),
triage's result, similarity links and dynamic run (triage), and reports (reviews). It lives here, in the top app
layer, so that intake never reads the records of the layers above it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from intake.models import ReviewRequest, Submission
from intake.selectors import submission_get_for
from intake.states import State
from intake.vault.dispute_hold_selectors import case_disputes, case_legal_holds
from intake.vault.models import LegalHold
from intake.vault.retention import disputes_of, retention_summary
from reviews.models import Report
from triage.dynamic.selectors import dynamic_latest_run
from triage.models import DynamicRun, FingerprintLink, TriageResult
from triage.selectors import findings_by_severity, findings_outside_scope, similarity_links_for


def _case_page_presence() -> dict:
    """EXISTS flags for the case page's optional records: most cases have no report, dynamic run, similarity
    link, legal hold or dispute yet, and a flag read with the case saves a query that would return nothing."""
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
    return submission_get_for(user, pk,
                              shape=lambda cases: cases.select_related("owner").annotate(**_case_page_presence()))


def case_page_records(user, submission: Submission, *, events: list) -> dict:  # noqa: ANN001
    """Everything the case page shows besides the case and its timeline, with each table read at most once.

    The caller fetched ``submission`` through :func:`case_page_submission` (so ``user`` may see it; without its
    flags every table is read) and ``events`` through :func:`intake.selectors.submission_events`; the retention summary reuses
    them, the acceptances, the reports and the receipts instead of reading them again. Nothing here is cached
    across requests: the page shows the case as it is now.
    """
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
