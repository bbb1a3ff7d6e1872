"""Fuzz target: the archive reader intake.archives, in-process, on zip and tar (plain, gzip, bzip2, xz) bytes,
into a temporary scratch directory. Expected rejection: UnsafeInput (one line naming the problem). Also
checked: nothing is written outside the scratch root and nothing in it is a link."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, __file__.rsplit("/", 3)[0])
from tests.fuzz._common import setup_django  # noqa: E402

setup_django()

with atheris.instrument_imports(include=["intake.archives", "zipfile", "tarfile"]):
    from intake.archives import UnpackLimits, UnsafeInput, unpack

# Small limits: the fuzzer should find the paths past them quickly, and a bomb must stop early.
LIMITS = UnpackLimits(max_entries=200, max_total_bytes=4 * 1024 * 1024, max_file_bytes=2 * 1024 * 1024,
                      ratio_floor_bytes=256 * 1024)
WORK = Path(tempfile.mkdtemp(prefix="assay-fuzz-unpack-"))


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris's name
    source, dest = WORK / "input.bin", WORK / "scratch" / "inner" / "root"
    source.write_bytes(data)
    dest.mkdir(parents=True)
    try:
        files = unpack(source=source, dest=dest, limits=LIMITS)
    except UnsafeInput as exc:
        message = str(exc)
        assert message and "\n" not in message, f"an UnsafeInput message is one line: {message!r}"
        files = None
    try:
        # Two levels above the root must hold nothing else: a "../" escape would land there first.
        for level, allowed in ((WORK, {"input.bin", "scratch"}), (WORK / "scratch", {"inner"}),
                               (WORK / "scratch" / "inner", {"root"})):
            written = {entry.name for entry in level.iterdir()}
            assert written <= allowed, f"written outside the scratch root: {written - allowed}"
        for directory, dirnames, filenames in os.walk(WORK / "scratch"):
            for name in dirnames + filenames:
                assert not os.path.islink(os.path.join(directory, name)), "a link was materialised"
        if files is not None:
            assert all((dest / entry.path).is_file() for entry in files)
    finally:
        shutil.rmtree(WORK / "scratch", ignore_errors=True)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
