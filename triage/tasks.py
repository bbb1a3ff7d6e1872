"""Celery entry points for triage: thin wrappers over triage.pipeline (ids in, idempotent)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from triage.runner import TriagePlatformError

RETRYABLE = (TriagePlatformError, OperationalError, ConnectionError, TimeoutError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRYABLE, retry_backoff=True,
             retry_backoff_max=300, retry_jitter=True, max_retries=5)
def triage_submission(self, submission_id: str) -> str:  # noqa: ANN001
    from triage.leases import LEASE_TTL
    from triage.pipeline import TriageRunningElsewhere, triage_submission_run

    try:
        return triage_submission_run(submission_id)
    except TriageRunningElsewhere:
        # A duplicate delivery while another run's heartbeat is alive: come back when a dead lease would have
        # expired, so a run whose worker died on another host is still taken over by this message.
        raise self.retry(countdown=LEASE_TTL.total_seconds() + 5, max_retries=20) from None


@shared_task(acks_late=True)
def triage_requeue_stale() -> int:
    """Periodic safety net: re-queue cases whose worker died mid-run (lease heartbeat stopped) or whose message
    was lost before any worker started it; each gets a "retrying" entry on its timeline."""
    from triage.leases import lost_run_record, lost_triage_runs
    from intake.run_dirs import sweep_run_dirs
    from triage.cgroups import sweep_leftovers

    sweep_run_dirs()  # plaintext a killed run on this host left in its private directories
    sweep_leftovers()  # and the empty control groups it left
    lost = lost_triage_runs()
    for submission_id in lost:
        lost_run_record(submission_id=submission_id)
        triage_submission.delay(submission_id)
    return len(lost)


@shared_task(acks_late=True)
def triage_model_note(triage_result_id: int) -> str:
    """Ask the configured model for its advisory note on a stored result (idempotent)."""
    from triage.model_note import model_note_write
    from triage.models import TriageResult

    result = TriageResult.objects.filter(pk=triage_result_id).first()
    note = model_note_write(result=result) if result is not None else None
    return note.status if note is not None else "skipped"
