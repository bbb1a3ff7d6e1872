"""SIGKILL a worker mid-triage: the case still completes, exactly once, with one result."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest

from tests.conftest import wait_for
from tests.fault.helpers import FINAL_STATES, results_of, state_of, submitted_case, triage_finishes
from triage.pipeline import triage_stale_cases
from triage.tasks import triage_submission

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture(autouse=True)
def _room_for_cases(settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 1000 for level in range(4)}


def test_a_worker_process_killed_mid_triage_is_redelivered_and_the_case_completes_once(builder, start_worker) -> None:  # noqa: ANN001
    worker = start_worker(concurrency=1)
    case = submitted_case(builder, files=1500)
    wait_for(lambda: state_of(case) == "triaging", timeout=60, interval=0.02)
    children = worker.children()
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)  # the pool process running the triage, as the OOM killer would
    wait_for(lambda: state_of(case) in FINAL_STATES, timeout=180, interval=0.5)
    assert results_of(case) == 1
    assert triage_finishes(case) == 1
    log = worker.log.read_text(errors="replace")
    assert "WorkerLostError" in log or "exited prematurely" in log  # it really died mid-task


def test_a_whole_worker_killed_mid_triage_leaves_a_case_the_sweep_finishes_once(builder, start_worker) -> None:  # noqa: ANN001
    worker = start_worker(concurrency=1, name="doomed")
    case = submitted_case(builder, files=1500)
    wait_for(lambda: state_of(case) == "triaging", timeout=60, interval=0.02)
    worker.kill_all()  # the whole node gone: nobody can reject the message back to the queue
    assert state_of(case) == "triaging" and results_of(case) == 0  # nothing half-written is visible
    start_worker(concurrency=1, name="replacement")
    # What the beat's triage_requeue_stale does after STALE_AFTER; here without waiting half an hour.
    stale = triage_stale_cases(older_than=timedelta(0))
    assert str(case.pk) in stale
    for submission_id in stale:
        triage_submission.delay(submission_id)
    wait_for(lambda: state_of(case) in FINAL_STATES, timeout=180, interval=0.5)
    assert results_of(case) == 1
    assert triage_finishes(case) == 1
