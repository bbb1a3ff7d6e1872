"""Private host directories of one run (staged artifacts, sandbox bundles, viewer spools), and the sweep that
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

KINDS = ("stage", "triage", "dynamic", "gvisor", "viewer")
_NAME = re.compile(r"^assay-(?P<kind>" + "|".join(KINDS) + r")-(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+$")
# Directories from before names carried a pid are removed only once no run could still be using them.
UNOWNED_MAX_AGE_S = 6 * 3600


def run_dir(kind: str) -> Path:
    """A new 0700 directory for one run of ``kind`` under the system temp dir."""
    if kind not in KINDS:
        raise ValueError(f"unknown run directory kind {kind!r}")
    return Path(tempfile.mkdtemp(prefix=f"assay-{kind}-{os.getpid()}-"))


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
    their names. Safe to call from any number of processes at once."""
    root = Path(root or tempfile.gettempdir())
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
