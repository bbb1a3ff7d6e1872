"""Submitting a case queues triage on a real Celery worker, which moves the case on."""

from __future__ import annotations

import pytest

from intake.models import Submission
from intake.services import submission_submit
from intake.states import State
from tests.conftest import wait_for
from tests.factories import make_draft


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_submitted_case_is_triaged_by_a_real_worker(builder, celery_worker_process):  # noqa: ANN001
    submission = make_draft(builder)
    submission_submit(submission=submission, actor=builder)
    final = wait_for(lambda: Submission.objects.filter(pk=submission.pk).exclude(
        state__in=[State.SUBMITTED, State.TRIAGING]).first())
    assert final.state != State.DRAFT
    assert final.config_digest.startswith("sha256:")
    assert "triage_submission" in celery_worker_process.log_path.read_text()
