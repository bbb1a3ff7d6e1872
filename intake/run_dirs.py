"""Private host directories of one run (staged artifacts and uploads, sandbox bundles, viewer spools), and the sweep that
removes those a killed process left behind: they may hold a submission's plaintext.

Each directory's name carries the pid that made it, so the sweep removes only what a process that no longer
exists left, never a directory a live run on this host is using.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

KINDS = ("stage", "triage", "dynamic", "gvisor", "viewer", "upload")
_NAME = re.compile(r"^assay-(?P<kind>" + "|".join(KINDS) + r")-(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+$")
# Directories from before names carried a pid are removed only once no run could still be using them.
UNOWNED_MAX_AGE_S = 6 * 3600


# Memory-backed (tmpfs on every Linux): decrypted artifacts staged here never reach a disk, or a backup of one.
MEMORY_ROOT = Path("/dev/shm")
MEMORY_HEADROOM = 64 * 1024 * 1024


def memory_root(needed_bytes: int) -> Path | None:
    """/dev/shm when it is usable and has room for twice ``needed_bytes`` besides headroom, else None."""
    try:
        stats = os.statvfs(MEMORY_ROOT)
    except OSError:
        return None
    if not os.access(MEMORY_ROOT, os.W_OK | os.X_OK):
        return None
    return MEMORY_ROOT if stats.f_bavail * stats.f_frsize >= 2 * needed_bytes + MEMORY_HEADROOM else None


def run_dir(kind: str, *, in_memory_bytes: int | None = None) -> Path:
    """A new 0700 directory for one run of ``kind``: in memory when ``in_memory_bytes`` is given and that much
    fits there (plaintext of a submission), else under the system temp dir."""
    if kind not in KINDS:
        raise ValueError(f"unknown run directory kind {kind!r}")
    root = memory_root(in_memory_bytes) if in_memory_bytes is not None else None
    return Path(tempfile.mkdtemp(prefix=f"assay-{kind}-{os.getpid()}-", dir=root))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_run_dirs(*, root: Path | None = None, now: float | None = None) -> list[str]:
    """Remove run directories whose process is gone (or, without a pid, older than UNOWNED_MAX_AGE_S); returns
    their names. Safe to call from any number of processes at once. Without ``root``: the temp dir and memory."""
    if root is None:
        roots = [Path(tempfile.gettempdir())] + ([MEMORY_ROOT] if MEMORY_ROOT.is_dir() else [])
        return [name for each in dict.fromkeys(roots) for name in sweep_run_dirs(root=each, now=now)]
    root = Path(root)
    now = time.time() if now is None else now
    removed = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        pid = match.group("pid")
        try:
            stale = (not _alive(int(pid))) if pid else now - entry.stat(follow_symlinks=False).st_mtime > UNOWNED_MAX_AGE_S
        except OSError:
            continue
        if pid and int(pid) == os.getpid():
            stale = False
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed
