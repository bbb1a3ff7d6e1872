"""A run as a whole is bounded, not only each of its processes: memory (processes and tmpfs together) and disk
I/O come from the run's control groups. Each process here stays under its own address-space limit; only the
run's bound can stop them."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from triage.cgroups import RunCgroup
from triage.sandbox import SandboxLimits, SandboxRequest, backend_works, sandbox_run

MIB = 1024 * 1024
LIMITS = SandboxLimits(memory_bytes=256 * MIB, tmpfs_bytes=64 * MIB, scratch_bytes=64 * MIB,
                       total_memory_bytes=400 * MIB, wall_seconds=60)


def _memory_bound_available() -> bool:
    group = RunCgroup(LIMITS.cgroup_limits("bubblewrap"))
    try:
        return "memory" in group.applied
    finally:
        group.remove()


@pytest.fixture(params=["gvisor", "bubblewrap"])
def backend(request) -> str:  # noqa: ANN001
    if not backend_works(request.param):
        pytest.skip(f"{request.param} does not work on this machine")
    if not _memory_bound_available():
        pytest.skip("no writable memory control group here (not root, or no memory controller)")
    return request.param


def _run(backend: str, tmp_path: Path, code: str):  # noqa: ANN202
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return sandbox_run(backend=backend, request=SandboxRequest(
        argv=[sys.executable, "-S", "-c", textwrap.dedent(code)], scratch=scratch, limits=LIMITS))


def test_processes_that_together_exceed_the_run_memory_bound_are_stopped(backend: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = _run(backend, tmp_path, """
        import os, time
        children = []
        for _ in range(4):  # 4 x 200 MiB: each under its 256 MiB limit, together over the run's 400 MiB
            pid = os.fork()
            if pid == 0:
                block = bytearray(200 * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(10)
                os._exit(0)
            children.append(pid)
        print([os.waitpid(pid, 0)[1] for pid in children])
    """)
    assert result.killed_by == "memory", (result.returncode, result.stdout, result.stderr[-300:])
    assert time.monotonic() - started < 30  # stopped when the bound bit, not at the 60 s wall limit


def test_tmpfs_pages_count_against_the_run_memory_bound(backend: str, tmp_path: Path) -> None:
    # 120 MiB in /tmp and /scratch (each within its 64 MiB cap) and 300 MiB held by two processes: only with the
    # tmpfs pages counted is the run over its 400 MiB.
    result = _run(backend, tmp_path, """
        import os, time
        for name in ("/tmp/fill", "/scratch/fill"):
            with open(name, "wb") as out:
                for _ in range(60):
                    out.write(b"x" * 1024 * 1024)
        child = os.fork()
        held = bytearray((100 if child == 0 else 200) * 1024 * 1024)
        for i in range(0, len(held), 4096):
            held[i] = 1
        time.sleep(10)
        if child:
            os.waitpid(child, 0)
            print("survived")
    """)
    assert "survived" not in result.stdout.decode()
    assert result.killed_by == "memory", (result.returncode, result.stderr[-300:])


def test_a_run_within_its_bounds_is_not_disturbed(backend: str, tmp_path: Path) -> None:
    result = _run(backend, tmp_path, """
        block = bytearray(100 * 1024 * 1024)
        print(len(block) // (1024 * 1024))
    """)
    assert result.returncode == 0 and result.killed_by is None, result.stderr[-300:]
    assert result.stdout.strip() == b"100"
