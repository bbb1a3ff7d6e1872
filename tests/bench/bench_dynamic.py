"""Dynamic stage: per-server MCP introspection (sandbox start, harness with the MCP SDK, server start, initialize,
tools/prompts/resources listing, one canary call per tool, re-listing, observation) vs the bare start of the same
sandbox running an empty Python program. Same backend, same machine, one run.

Usage: .venv/bin/python tests/bench/bench_dynamic.py [--quick]
Last line: bench_dynamic: introspect_ratio= introspect_s= bare_start_s= start_s= backend= servers=
(start_s: median server start to its first tool list, inside the sandbox run, from the stage's records)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
_DATA = tempfile.mkdtemp(prefix="assay-bench-dynamic-")
os.environ["ASSAY_DATA_DIR"] = _DATA  # a private, throwaway data dir
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from triage.dynamic.stage import DynamicBudget, dynamic_stage_run  # noqa: E402
from triage.runner import source_for_path  # noqa: E402
from triage.sandbox import SandboxLimits, SandboxRequest, backend_resolve, sandbox_run  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers"
SERVERS = ("poisoned", "rugpull", "deleting", "honest")  # three vendored servers and one on the MCP SDK


def bare_start(backend: str) -> float:
    scratch = Path(tempfile.mkdtemp(prefix="assay-bench-bare-"))
    try:
        started = time.perf_counter()
        result = sandbox_run(backend=backend, request=SandboxRequest(
            argv=[sys.executable, "-s", "-B", "-c", "pass"], scratch=scratch, limits=SandboxLimits(wall_seconds=60)))
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.returncode != 0:
        raise SystemExit(f"bare sandbox start failed: {result.stderr[-200:]!r}")
    return elapsed


def introspect(backend: str, fixture: str) -> tuple[float, float]:
    """Wall time of the sandbox run for one server, and its start-to-tool-list time, as the stage records them."""
    outcome = dynamic_stage_run(sources=[source_for_path(FIXTURES / fixture)], backend=backend,
                                budget=DynamicBudget())
    (server,) = outcome.servers
    if not server.started:
        raise SystemExit(f"{fixture}: server did not start ({server.stopped})")
    (record,) = outcome.records
    return float(record["duration_s"]), float(record["start_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer servers and repetitions (< 45 s)")
    args = parser.parse_args()
    backend = backend_resolve(os.environ.get("ASSAY_SANDBOX", "auto"))
    servers = SERVERS[:2] if args.quick else SERVERS
    repeats = 1 if args.quick else 3

    bare_start(backend)  # warm the page cache for both sides alike
    bare, per_server, starts = [], [], []
    for _ in range(repeats):
        bare.append(bare_start(backend))
        for fixture in servers:
            seconds, start_s = introspect(backend, fixture)
            per_server.append(seconds)
            starts.append(start_s)
            print(f"introspect {fixture}: {seconds:.3f} s (tools listed after {start_s:.3f} s)", flush=True)
        bare.append(bare_start(backend))
    bare_s = statistics.median(bare)
    introspect_s = statistics.median(per_server)
    start_s = statistics.median(starts)
    print(f"bare sandbox start ({backend}): median {bare_s:.3f} s over {len(bare)}")
    print(f"per-server introspection: median {introspect_s:.3f} s over {len(per_server)}")
    shutil.rmtree(_DATA, ignore_errors=True)
    print(f"bench_dynamic: introspect_ratio={introspect_s / bare_s:.2f} introspect_s={introspect_s:.3f} "
          f"bare_start_s={bare_s:.3f} start_s={start_s:.3f} backend={backend} servers={len(servers)}")


if __name__ == "__main__":
    main()
