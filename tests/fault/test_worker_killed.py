"""SIGKILL a worker mid-triage: the case still completes, exactly once, with one result."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import wait_for
from tests.fault.helpers import FINAL_STATES, results_of, state_of, submitted_case, triage_finishes
from triage.leases import LEASE_TTL

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


def test_a_whole_worker_killed_mid_triage_is_restarted_by_the_sweep_within_two_minutes(builder, start_worker) -> None:  # noqa: ANN001
    worker = start_worker(concurrency=1, name="doomed")
    case = submitted_case(builder, files=1500)
    wait_for(lambda: state_of(case) == "triaging", timeout=60, interval=0.02)
    worker.kill_all()  # the whole node gone: nobody can reject the message back to the queue
    killed_at = time.monotonic()
    assert state_of(case) == "triaging" and results_of(case) == 0  # nothing half-written is visible
    start_worker(concurrency=1, name="replacement", beat=True)  # the production beat schedule, nothing forced
    wait_for(lambda: retries_of(case) == 1, timeout=LEASE_TTL.total_seconds() + 60, interval=0.5)
    assert time.monotonic() - killed_at < 120  # the case says "retrying" and runs again within two minutes
    wait_for(lambda: state_of(case) in FINAL_STATES, timeout=120, interval=0.5)
    assert results_of(case) == 1
    assert triage_finishes(case) == 1


def retries_of(case) -> int:  # noqa: ANN001
    from intake.models import AuditEvent

    return AuditEvent.objects.filter(object_id=str(case.pk), action="triage.retry").count()
