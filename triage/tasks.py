"""Celery entry points for triage: thin wrappers over triage.pipeline (ids in, idempotent)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True,
             retry_backoff_max=300, max_retries=5)
def triage_submission(self, submission_id: str) -> str:  # noqa: ANN001
    from triage.pipeline import triage_submission_run

    return triage_submission_run(submission_id)
