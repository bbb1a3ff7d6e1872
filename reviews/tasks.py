"""Celery entry points for reports: ids in, idempotent, retried when the platform (not the case) failed."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, ConnectionError),
             retry_backoff=True, retry_backoff_max=300, max_retries=5)
def issue_report(submission_id: str, kind: str) -> str:
    from reviews.reports import report_issue_when_due

    report = report_issue_when_due(submission_id=submission_id, kind=kind)
    return str(report.pk) if report else "not due"


def queue_report(submission_id, kind: str) -> None:  # noqa: ANN001
    """Call inside the transaction that made the report due; it is queued once that commits."""
    import logging

    from django.db import transaction

    def send() -> None:
        try:
            issue_report.delay(str(submission_id), kind)
        except Exception:  # noqa: BLE001 - a broker outage must not undo the decision; re-issue from the case page
            logging.getLogger(__name__).exception("could not queue the %s report for case %s", kind, submission_id)

    transaction.on_commit(send)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, ConnectionError),
             retry_backoff=True, retry_backoff_max=300, max_retries=5)
def anchor_audit_head() -> str:
    """Beat, every few minutes: sign the audit chain's head into the transparency log (idempotent)."""
    from reviews.audit_anchors import audit_anchor_head

    anchor = audit_anchor_head()
    return f"anchored event {anchor.seq}" if anchor else "not anchored"
