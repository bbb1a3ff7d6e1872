"""Control groups for one sandboxed run: its process count, its total memory and its block I/O.

Resource limits (``setrlimit``) bound one process; a submitted program can start many. A private control group
bounds the run as a whole: ``pids`` (root is exempt from RLIMIT_NPROC), ``memory`` (the sum of every process
*and* of the run's tmpfs, whose pages are charged to the writer's group: a server filling /scratch from several
processes stops at the group's cap, not at the host's) and ``blkio``/``io`` (read and write throttles on the
block devices the run reads from, so one case cannot starve the host's disk).

Both cgroup layouts are handled: v1 (one hierarchy per controller under ``/sys/fs/cgroup/<controller>``) and
v2 (one unified hierarchy). Each controller is best effort: where it is missing or not writable (not root, a
delegated hierarchy without it) that bound is simply absent and :attr:`RunCgroup.applied` says so; the
sandbox's other bounds still hold. Nothing here reads or logs submitted content.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "assay-sandbox-"


@dataclass(frozen=True)
class CgroupLimits:
    """``None`` leaves that bound out (gVisor, say, counts its own kernel's threads as tasks: no pids bound)."""

    processes: int | None = None
    memory_bytes: int | None = None
    read_bps: int | None = None
    write_bps: int | None = None
    read_iops: int | None = None
    write_iops: int | None = None
    devices: tuple[str, ...] = field(default=())  # "major:minor" of whole disks to throttle

    @property
    def io_limited(self) -> bool:
        return bool(self.devices) and any(v for v in (self.read_bps, self.write_bps, self.read_iops, self.write_iops))


def block_devices_of(paths) -> tuple[str, ...]:  # noqa: ANN001
    """The whole disks ("major:minor") holding ``paths``; file systems with no block device (tmpfs, overlay's
    anonymous devices) are left out, and a partition is named by its disk, which is what throttles apply to."""
    found: dict[str, None] = {}
    for path in paths:
        try:
            dev = os.stat(path).st_dev
        except OSError:
            continue
        disk = _whole_disk(dev)
        if disk is not None:
            found[disk] = None
    return tuple(found)


@functools.lru_cache(maxsize=64)
def _whole_disk(dev: int) -> str | None:
    """The whole disk ("major:minor") of a device number, or None; asked on every run, for the same few devices."""
    major, minor = os.major(dev), os.minor(dev)
    if major == 0:
        return None
    node = Path(f"/sys/dev/block/{major}:{minor}")
    if not node.exists():
        return None
    if (node / "partition").exists():
        try:
            major, minor = (int(x) for x in (node.resolve().parent / "dev").read_text().split(":"))
        except (OSError, ValueError):
            return None
    return f"{major}:{minor}"


def unified() -> bool:
    return (ROOT / "cgroup.controllers").exists()


class RunCgroup:
    """One run's control groups. Make it, have the program join it (:attr:`join_files`, or :meth:`enter` from a
    pre-exec hook), then :meth:`remove` it: that kills whatever of the run is left."""

    def __init__(self, limits: CgroupLimits):
        self.limits = limits
        self.name = PREFIX + uuid.uuid4().hex[:12]
        self.dirs: list[Path] = []  # one per hierarchy joined (v1: per controller; v2: one)
        self.applied: dict[str, str] = {}  # bound -> the value written
        if os.geteuid() != 0:
            return
        if unified():
            self._make_unified()
        else:
            self._make_v1()

    # --- set-up -----------------------------------------------------------------------------------

    def _make_v1(self) -> None:
        limits = self.limits
        if limits.processes is not None:
            self._v1_dir("pids", [("pids.max", str(limits.processes), "processes")])
        if limits.memory_bytes is not None:
            value = str(limits.memory_bytes)
            # memsw (memory + swap) must be set after memory and is absent when swap accounting is off.
            self._v1_dir("memory", [("memory.limit_in_bytes", value, "memory"),
                                    ("memory.memsw.limit_in_bytes", value, "memory+swap")])
        if limits.io_limited:
            writes = []
            for device in limits.devices:
                for name, value in (("read_bps_device", limits.read_bps), ("write_bps_device", limits.write_bps),
                                    ("read_iops_device", limits.read_iops),
                                    ("write_iops_device", limits.write_iops)):
                    if value:
                        writes.append((f"blkio.throttle.{name}", f"{device} {value}", f"io {name} {device}"))
            self._v1_dir("blkio", writes)

    def _v1_dir(self, controller: str, writes: list[tuple[str, str, str]]) -> None:
        base = ROOT / controller
        if not (base / "cgroup.procs").exists():
            return
        path = base / self.name
        try:
            path.mkdir()
        except OSError:
            return
        wrote = False
        for filename, value, label in writes:
            try:
                (path / filename).write_text(value)
            except OSError:
                continue
            self.applied[label] = value
            wrote = True
        if wrote:
            self.dirs.append(path)
        else:
            _rmdir(path)

    def _make_unified(self) -> None:
        limits = self.limits
        wanted = {"pids": limits.processes is not None, "memory": limits.memory_bytes is not None,
                  "io": limits.io_limited}
        try:
            enabled = set((ROOT / "cgroup.subtree_control").read_text().split())
        except OSError:
            return
        for controller, want in wanted.items():
            if want and controller not in enabled:
                try:
                    (ROOT / "cgroup.subtree_control").write_text(f"+{controller}")
                except OSError:
                    pass
        path = ROOT / self.name
        try:
            path.mkdir()
        except OSError:
            return
        writes = []
        if limits.processes is not None:
            writes.append(("pids.max", str(limits.processes), "processes"))
        if limits.memory_bytes is not None:
            writes += [("memory.max", str(limits.memory_bytes), "memory"), ("memory.swap.max", "0", "swap")]
        if limits.io_limited:
            keys = (("rbps", limits.read_bps), ("wbps", limits.write_bps), ("riops", limits.read_iops),
                    ("wiops", limits.write_iops))
            for device in limits.devices:
                value = " ".join([device, *(f"{key}={value}" for key, value in keys if value)])
                writes.append(("io.max", value, f"io {device}"))
        for filename, value, label in writes:
            try:
                (path / filename).write_text(value)
            except OSError:
                continue
            self.applied[label] = value
        self.dirs.append(path)

    # --- joining ----------------------------------------------------------------------------------

    @property
    def join_files(self) -> list[Path]:
        """Where a starting program writes "0" to join: v1's per-thread ``tasks`` (no global lock: moving a
        process by pid takes the threadgroup lock and waits for an RCU grace period, ~10 ms here), else
        ``cgroup.procs``."""
        files = []
        for path in self.dirs:
            tasks = path / "tasks"
            files.append(tasks if tasks.exists() else path / "cgroup.procs")
        return files

    def enter(self) -> None:
        """Move the calling process in (from a pre-exec hook)."""
        for path in self.dirs:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    # --- after the run ----------------------------------------------------------------------------

    def memory_exhausted(self) -> bool:
        """Did the kernel kill something of the run for exceeding its memory bound?"""
        for path in self.dirs:
            for filename in ("memory.events", "memory.oom_control"):
                try:
                    text = (path / filename).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                        return True
        return False

    def pids(self) -> list[int]:
        for path in self.dirs:
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    def kill_all(self) -> None:
        if not self.dirs:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.001)

    def remove(self) -> None:
        """Kill what is left and remove the groups; if the last tasks are still being reaped, finish that in the
        background rather than make the caller wait."""
        if not self.dirs:
            return
        self.kill_all()
        left = [path for path in self.dirs if not _rmdir(path)]
        if left:
            threading.Thread(target=self._remove_later, args=(left,), daemon=True).start()

    def _remove_later(self, left: list[Path]) -> None:
        deadline = time.monotonic() + 5
        while left and time.monotonic() < deadline:
            self.kill_all()
            left = [path for path in left if not _rmdir(path)]
            if left:
                time.sleep(0.001)


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def sweep_leftovers(older_than_s: float = 3600.0) -> int:
    """Remove empty run groups a crashed process left behind (called by the run-directory sweep)."""
    removed = 0
    if not ROOT.exists():
        return 0
    bases = [ROOT] if unified() else [p for p in ROOT.iterdir() if (p / "cgroup.procs").exists()]
    now = time.time()
    for base in bases:
        try:
            entries = list(base.glob(PREFIX + "*"))
        except OSError:
            continue
        for path in entries:
            try:
                if now - path.stat().st_mtime < older_than_s or (path / "cgroup.procs").read_text().strip():
                    continue
            except OSError:
                continue
            removed += _rmdir(path)
    return removed
