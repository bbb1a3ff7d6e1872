"""N generated submissions triaged through the queue by 2 workers: throughput per worker against the
single-case triage time (what perfect scaling would give). Prints the figures; asserts nothing is lost."""

from __future__ import annotations

import io
import os
import statistics
import time

import pytest

from intake.models import Submission
from intake.services import (artifact_add, submission_compute_digest, submission_inventory_store, submission_submit,
                             submission_update)
from tests.conftest import wait_for
from tests.factories import make_draft, make_user
from tests.fault.helpers import FINAL_STATES
from triage.models import TriageResult
from triage.pipeline import triage_submission_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(3000)]

WORKERS = 2
BASELINE_CASES = 5
SETTINGS = b'{"permissions": {"allow": ["Read"]}}'  # make_draft's settings.json


def generated_case(owner, index: int) -> Submission:  # noqa: ANN001
    """A distinct small system per case (no duplicate-of-own-case shortcut): a config and a tool module."""
    submission = make_draft(owner, title=f"Load agent {index}")
    tool = f"import subprocess\n\ndef tool_{index}(x):\n    return subprocess.run(['echo', x])\n".encode()
    artifact_add(submission=submission, actor=owner, name="tool.py", kind="config", stream=io.BytesIO(tool))
    submission = _components_in_process(submission, owner, {"settings.json": SETTINGS, "tool.py": tool})
    submission = submission_update(submission=submission, actor=owner,
                                   claim_scope_in=["agent:manifest", "mcp-server:tickets"])
    return submission_submit(submission=submission, actor=owner)


def _components_in_process(submission: Submission, owner, files: dict[str, bytes]) -> Submission:  # noqa: ANN001
    """The scope step's detection without its sandbox run (this test measures the queue, not detection): the
    same analysis over the same files, stored the same way."""
    from triage.analysis import analyse_tree_with_inventory
    from triage.parsers.base import tree_from_memory

    tree = tree_from_memory(files, {name: len(data) for name, data in files.items()})
    _findings, components = analyse_tree_with_inventory(tree, manifest=submission.manifest, files=sorted(files))
    return submission_inventory_store(submission=submission, components=components,
                                      basis=submission_compute_digest(submission), actor=owner)


def test_queue_throughput_per_worker_against_single_case_triage_time(start_worker, settings) -> None:  # noqa: ANN001
    cases_wanted = int(os.environ.get("ASSAY_LOAD_CASES", "1000"))
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 100000 for level in range(4)}
    owners = [make_user(f"load-{index}@builders.example") for index in range(20)]

    # Single-case triage time, in this process, one case at a time (their queued copies become no-ops).
    baseline = [generated_case(owners[0], -index - 1) for index in range(BASELINE_CASES)]
    single = []
    for case in baseline:
        started = time.perf_counter()
        assert triage_submission_run(str(case.pk)) in FINAL_STATES
        single.append(time.perf_counter() - started)
    single_s = statistics.median(single)

    created = time.perf_counter()
    cases = [generated_case(owners[index % len(owners)], index) for index in range(cases_wanted)]
    create_s = time.perf_counter() - created
    ids = [case.pk for case in cases]

    for index in range(WORKERS):  # one process each: "per worker" means one triage at a time
        start_worker(concurrency=1, name=f"load{index}")

    def finished() -> int:
        return Submission.objects.filter(pk__in=ids, state__in=FINAL_STATES).count()

    wait_for(lambda: finished() == cases_wanted, timeout=max(300, cases_wanted * single_s * 2), interval=1.0)
    stamps = sorted(TriageResult.objects.filter(submission_id__in=ids).values_list("created_at", flat=True))
    assert len(stamps) == cases_wanted  # one result per case: none lost, none duplicated
    span_s = max((stamps[-1] - stamps[0]).total_seconds(), 1e-6)
    per_worker_per_min = (cases_wanted - 1) / span_s * 60 / WORKERS
    ideal_per_min = 60 / single_s
    durations = sorted(TriageResult.objects.filter(submission_id__in=ids).values_list("duration_ms", flat=True))
    print(f"\nqueue: {cases_wanted} cases, {WORKERS} workers x 1 process; created in {create_s:.1f} s; "
          f"drained in {span_s:.1f} s")
    print(f"single-case triage (in process): median {single_s * 1000:.0f} ms -> ideal {ideal_per_min:.0f}/min/worker")
    print(f"measured: {per_worker_per_min:.1f} cases/min/worker ({per_worker_per_min / ideal_per_min:.0%} of ideal); "
          f"stored triage duration p50 {durations[len(durations) // 2]} ms, p95 {durations[int(len(durations) * .95)]} ms")
    print(f"load_queue: cases={cases_wanted} workers={WORKERS} per_worker_per_min={per_worker_per_min:.1f} "
          f"single_triage_ms={single_s * 1000:.0f} efficiency={per_worker_per_min / ideal_per_min:.2f}")
    assert per_worker_per_min > 0.25 * ideal_per_min  # queueing overhead must not dominate the triage itself
