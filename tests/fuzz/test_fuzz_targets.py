"""A short, bounded run of every coverage-guided fuzz target (atheris) inside `make test`.

Each target runs as its own process (libFuzzer exits the process on a finding) from its seed corpus built
from tests/fixtures, for a fixed number of inputs with a fixed seed, a per-input time budget and a memory
budget; it must exit clean: no unexpected exception, no hang. `make fuzz` runs the same targets for longer.
"""

from __future__ import annotations

import pytest

from tests.fuzz.run import run_target
from tests.fuzz.seeds import TARGETS

RUNS = {"manifest": 1500, "parsers": 800, "unpack": 1200}  # a few thousand inputs, well under a minute in all


@pytest.mark.timeout(180)
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_exits_clean_on_a_bounded_run(target: str, tmp_path) -> None:  # noqa: ANN001
    outcome = run_target(target, tmp_path, seconds=None, runs=RUNS[target])
    assert outcome["exit"] == 0 and not outcome["findings"], outcome["output"][-4000:]
    # The run really executed inputs beyond the seeds: the fuzzer mutated, not just replayed the corpus.
    seeds = len(list((tmp_path / target / "seeds").iterdir()))
    assert outcome["execs"] >= RUNS[target] > seeds, outcome["output"][-2000:]
