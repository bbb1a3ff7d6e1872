"""Restart the (private) Redis broker during a run: no task is lost, none runs twice to a second result."""

from __future__ import annotations

import time

import pytest

from tests.conftest import wait_for
from tests.fault.helpers import FINAL_STATES, results_of, state_of, submitted_case, triage_finishes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

CASES = 12


def test_restarting_the_broker_mid_run_loses_no_task(builder, start_worker, private_redis, settings) -> None:  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 1000 for level in range(4)}
    start_worker(concurrency=2)
    cases = [submitted_case(builder, title=f"Broker restart {index}") for index in range(CASES)]
    wait_for(lambda: sum(state_of(case) in FINAL_STATES for case in cases) >= 2, timeout=120, interval=0.1)
    done_before = sum(state_of(case) in FINAL_STATES for case in cases)
    assert done_before < CASES, "the run finished before the broker could be restarted; raise CASES"
    private_redis.stop()  # shutdown: the append-only file is flushed, as on a clean restart or failover
    time.sleep(2)
    private_redis.start()
    wait_for(lambda: all(state_of(case) in FINAL_STATES for case in cases), timeout=240, interval=0.5)
    assert [results_of(case) for case in cases] == [1] * CASES
    assert [triage_finishes(case) for case in cases] == [1] * CASES
