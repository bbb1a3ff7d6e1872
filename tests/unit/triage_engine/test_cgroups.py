"""The run's control groups: what is written and who is in them (the sweep of leftovers is in
tests/security/test_crash_leftovers.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from triage import cgroups
from triage.cgroups import CgroupLimits, RunCgroup, block_devices_of
from triage.sandbox import SandboxLimits

MIB = 1024 * 1024


def _group_or_skip(limits: CgroupLimits) -> RunCgroup:
    group = RunCgroup(limits)
    if not group.dirs:
        group.remove()
        pytest.skip("no writable control groups here (not root, or none delegated)")
    return group


def _read(group: RunCgroup, filename: str) -> str:
    for path in group.dirs:
        if (path / filename).exists():
            return (path / filename).read_text()
    raise AssertionError(f"{filename} is in none of {group.dirs}")


def test_the_bounds_asked_for_are_the_bounds_written() -> None:
    devices = block_devices_of([Path("/usr")])
    group = _group_or_skip(CgroupLimits(processes=12, memory_bytes=300 * MIB, read_bps=5 * MIB, write_bps=MIB,
                                        read_iops=100, write_iops=50, devices=devices))
    try:
        if "processes" in group.applied:
            assert _read(group, "pids.max").strip() == "12"
        if "memory" in group.applied:
            name = "memory.max" if cgroups.unified() else "memory.limit_in_bytes"
            assert int(_read(group, name)) == 300 * MIB
        io = [label for label in group.applied if label.startswith("io")]
        if devices and io:
            throttles = (_read(group, "io.max") if cgroups.unified()
                         else _read(group, "blkio.throttle.read_bps_device"))
            assert f"{devices[0]} " in throttles and (str(5 * MIB) in throttles or "rbps=5242880" in throttles)
        assert group.applied, "a writable hierarchy yet no bound applied"
    finally:
        group.remove()
    assert not any(path.exists() for path in group.dirs)


def test_a_program_joining_through_the_join_files_is_in_every_group_and_killed_on_remove() -> None:
    group = _group_or_skip(CgroupLimits(processes=8, memory_bytes=256 * MIB))
    files = " ".join(str(f) for f in group.join_files)
    proc = subprocess.Popen(["/bin/sh", "-c", 'for f in $0; do echo 0 > "$f" || exit 125; done; exec sleep 30',
                             files], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while proc.pid not in group.pids() and time.monotonic() < deadline:
            time.sleep(0.01)
        for path in group.dirs:
            assert str(proc.pid) in (path / "cgroup.procs").read_text().split()
        group.remove()
        assert proc.wait(timeout=5) == -9  # remove() killed what was left of the run
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 5
    while any(path.exists() for path in group.dirs) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(path.exists() for path in group.dirs)


def test_gvisor_gets_no_host_pids_bound_but_a_memory_bound_that_covers_its_kernel() -> None:
    limits = SandboxLimits(memory_bytes=100 * MIB, tmpfs_bytes=10 * MIB, scratch_bytes=10 * MIB)
    assert limits.cgroup_limits("gvisor").processes is None
    assert limits.cgroup_limits("bubblewrap").processes == limits.processes
    assert limits.cgroup_limits("bubblewrap").memory_bytes == 120 * MIB
    assert limits.cgroup_limits("gvisor").memory_bytes > 120 * MIB
    explicit = SandboxLimits(total_memory_bytes=77 * MIB)
    assert explicit.cgroup_limits("gvisor").memory_bytes == 77 * MIB


def test_block_devices_are_whole_disks_and_memory_file_systems_have_none(tmp_path: Path) -> None:
    for device in block_devices_of([Path("/usr"), tmp_path]):
        major, minor = device.split(":")
        node = Path(f"/sys/dev/block/{major}:{minor}")
        assert node.exists() and not (node / "partition").exists()
    if Path("/dev/shm").is_dir() and os.stat("/dev/shm").st_dev >> 8 == 0:
        assert block_devices_of([Path("/dev/shm")]) == ()
