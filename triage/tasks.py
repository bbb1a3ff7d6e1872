"""Celery entry points for triage: thin wrappers over triage.pipeline (ids in, idempotent)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from triage.runner import TriagePlatformError

RETRYABLE = (TriagePlatformError, OperationalError, ConnectionError, TimeoutError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRYABLE, retry_backoff=True,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def triage_submission(self, submission_id: str) -> str:  # noqa: ANN001
    from triage.pipeline import triage_submission_run

    return triage_submission_run(submission_id)


@shared_task(acks_late=True)
def triage_requeue_stale() -> int:
    """Periodic safety net: re-queue cases a lost worker or message left in submitted/triaging."""
    from triage.pipeline import triage_stale_cases

    stale = triage_stale_cases()
    for submission_id in stale:
        triage_submission.delay(submission_id)
    return len(stale)


@shared_task(acks_late=True)
def triage_model_note(triage_result_id: int) -> str:
    """Ask the configured model for its advisory note on a stored result (idempotent)."""
    from triage.model_note import model_note_write
    from triage.models import TriageResult

    result = TriageResult.objects.filter(pk=triage_result_id).first()
    note = model_note_write(result=result) if result is not None else None
    return note.status if note is not None else "skipped"
