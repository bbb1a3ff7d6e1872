"""Run the coverage-guided fuzz targets (atheris / libFuzzer), each bounded in time or iterations.

    .venv/bin/python tests/fuzz/run.py [--seconds 60 | --runs N] [--work DIR] [TARGET ...]

Each target starts from its seed corpus (tests/fuzz/seeds.py, built from tests/fixtures) plus the corpus
kept in WORK/<target>/corpus from earlier runs (new coverage is added there), with a per-input time budget
(``-timeout``) and a memory budget. A crash (an exception the target does not expect) or a hang leaves the
input in WORK/<target>/findings/ and makes this script exit 1. ``make fuzz`` runs every target for 60 s.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from tests.fuzz.seeds import TARGETS, write_seeds  # noqa: E402

# Per-input budgets: far above any honest input's time (milliseconds), far below "hung".
MAX_LEN = {"manifest": 64 * 1024, "parsers": 64 * 1024, "unpack": 256 * 1024}
PER_INPUT_SECONDS = 10
RSS_LIMIT_MB = 2048


def run_target(target: str, work: Path, *, seconds: int | None, runs: int | None) -> dict:
    seeds, corpus, findings = work / target / "seeds", work / target / "corpus", work / target / "findings"
    for directory in (corpus, findings):
        directory.mkdir(parents=True, exist_ok=True)
    write_seeds(target, seeds)
    earlier = {path.name for path in findings.iterdir()}  # kept from earlier runs; only new ones count
    command = [sys.executable, str(HERE / f"fuzz_{target}.py"), f"-timeout={PER_INPUT_SECONDS}",
               f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={MAX_LEN[target]}", f"-artifact_prefix={findings}/",
               "-print_final_stats=1", "-seed=1" if runs else "-seed=0"]
    if seconds:
        command.append(f"-max_total_time={seconds}")
    if runs:
        command.append(f"-runs={runs}")
    command += [str(corpus), str(seeds)]
    started = time.monotonic()
    # The wall-clock guard is for libFuzzer itself failing to stop; its own limits end a normal run.
    guard = (seconds or 0) + (runs or 0) // 20 + 120
    result = subprocess.run(command, cwd=str(ROOT), capture_output=True, text=True, timeout=guard)
    output = result.stdout + result.stderr
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    return {"target": target, "exit": result.returncode, "execs": int(execs.group(1)) if execs else 0,
            "seconds": round(time.monotonic() - started, 1), "findings": sorted(p.name for p in findings.iterdir() if p.name not in earlier),
            "output": output}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"any of {', '.join(TARGETS)} (default: all)")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--seconds", type=int, help="time per target (default 60)")
    bound.add_argument("--runs", type=int, help="iterations per target, seeds included")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "fuzz")
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    seconds = None if args.runs else (args.seconds or 60)
    failed = False
    for target in args.targets or TARGETS:
        outcome = run_target(target, args.work, seconds=seconds, runs=args.runs)
        ok = outcome["exit"] == 0 and not outcome["findings"]
        failed |= not ok
        print(f"fuzz_{target}: {'ok' if ok else 'FINDING'} exit={outcome['exit']} execs={outcome['execs']} "
              f"seconds={outcome['seconds']} findings={len(outcome['findings'])}", flush=True)
        if not ok:
            print(outcome["output"][-6000:], file=sys.stderr)
            print(f"inputs kept in {args.work / target / 'findings'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
