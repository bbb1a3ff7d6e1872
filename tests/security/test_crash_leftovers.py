"""Run directories a killed process left behind (they may hold a submission's plaintext) are swept; a live run's
never are.

Bug class: killing ``triage_path --dynamic`` or a worker mid-run left the unpacked submission on the host's disk,
and nothing removed it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from intake import run_dirs
from intake.run_dirs import UNOWNED_MAX_AGE_S, run_dir, sweep_run_dirs
from triage.cgroups import CgroupLimits, RunCgroup, sweep_leftovers

_MIB = 1024 * 1024


def test_a_run_directory_of_a_killed_process_is_removed_and_a_live_ones_kept(tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(run_dirs, "MEMORY_ROOT", tmp_path / "no-shm")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import tempfile; tempfile.tempdir = sys.argv[2]\n"
        "from intake.run_dirs import run_dir\n"
        "d = run_dir('stage'); (d / '0000').write_text('plaintext of a submission'); print(d, flush=True)\n"
        "time.sleep(60)"), os.getcwd(), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    orphan = child.stdout.readline().strip()
    mine = run_dir("dynamic")
    (mine / "x").write_text("in use")
    assert sweep_run_dirs() == []  # the child is alive: its directory is in use
    child.kill()
    child.wait()
    assert sweep_run_dirs() == [os.path.basename(orphan)]
    assert not os.path.exists(orphan)
    assert (mine / "x").read_text() == "in use"


def test_unowned_old_directories_go_and_unrelated_ones_stay(tmp_path):  # noqa: ANN001
    old = tmp_path / "assay-dynamic-abc123"
    young = tmp_path / "assay-stage-def456"
    other = tmp_path / "someone-elses-dir"
    for directory in (old, young, other):
        directory.mkdir()
    past = time.time() - UNOWNED_MAX_AGE_S - 60
    os.utime(old, (past, past))
    assert sweep_run_dirs(root=tmp_path) == ["assay-dynamic-abc123"]
    assert young.exists() and other.exists()


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown run directory kind"):
        run_dir("secrets")


def test_plaintext_is_staged_in_memory_when_it_fits_and_swept_there_too(tmp_path, monkeypatch):  # noqa: ANN001
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(run_dirs, "MEMORY_ROOT", shm)
    staged = run_dir("stage", in_memory_bytes=1024)
    assert staged.parent == shm and oct(staged.stat().st_mode & 0o777) == "0o700"
    monkeypatch.setattr(run_dirs, "MEMORY_HEADROOM", 1 << 62)  # no room left in memory: a private temp dir instead
    spilled, dynamic = run_dir("stage", in_memory_bytes=1024), run_dir("dynamic")
    assert spilled.parent != shm
    assert dynamic.parent != shm  # only plaintext staging asks for memory
    spilled.rmdir()
    dynamic.rmdir()
    orphan = shm / "assay-stage-999999999-abc"  # a pid no process has
    orphan.mkdir()
    assert "assay-stage-999999999-abc" in sweep_run_dirs()
    assert not orphan.exists() and staged.exists()


def test_a_missing_memory_root_means_the_temp_dir(tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(run_dirs, "MEMORY_ROOT", tmp_path / "absent")
    assert run_dirs.memory_root(10) is None
    staged = run_dir("stage", in_memory_bytes=10)
    assert staged.parent != tmp_path / "absent"
    staged.rmdir()


# --- control groups a killed run left behind --------------------------------------------------------------------
# Fails if sweep_leftovers stops removing stale empty groups (leftovers pile up) or removes a live run's group.

def _group_or_skip(limits: CgroupLimits) -> RunCgroup:
    group = RunCgroup(limits)
    if not group.dirs:
        group.remove()
        pytest.skip("no writable control groups here (not root, or none delegated)")
    return group


def test_sweep_removes_only_stale_empty_groups() -> None:
    stale = _group_or_skip(CgroupLimits(memory_bytes=64 * _MIB))
    fresh = RunCgroup(CgroupLimits(memory_bytes=64 * _MIB))
    try:
        old = time.time() - 7200
        for path in stale.dirs:
            os.utime(path, (old, old))
        sweep_leftovers(older_than_s=3600)
        assert not any(path.exists() for path in stale.dirs)
        assert all(path.exists() for path in fresh.dirs)
    finally:
        stale.remove()
        fresh.remove()
