"""Safe unpacking of untrusted directories and archives into a scratch root.

Runs inside the sandbox (see :mod:`triage.sandbox_entry`); pure Python and
streaming. Every entry name is validated before anything is written: no
absolute or drive paths, no ``..`` escaping the root, no NUL, no duplicates,
no links leaving the root, no hard links, no device files. Sizes are counted
as bytes are actually read, never taken from headers; totals, the number of
entries and the overall compression ratio are bounded.

Symbolic links that stay inside the root are accepted but not materialised
(nothing in the unpacked tree is ever a link), so the same content gives the
same file list whether it came as a directory, a zip or a tarball.

Files go to a sink: a directory on disk (:func:`unpack`) or memory
(:class:`MemoryTree`, used inside the sandbox so each input byte is read
exactly once and nothing is written back and re-read: under gVisor every
system call is a trip through its kernel).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 256 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeInput(Exception):
    """The input cannot be triaged; the message is one line naming the problem."""


@dataclass(frozen=True)
class UnpackLimits:
    max_entries: int = 20_000
    max_total_bytes: int = 512 * 1024 * 1024
    max_file_bytes: int = 128 * 1024 * 1024
    max_ratio: int = 200
    ratio_floor_bytes: int = 4 * 1024 * 1024  # small archives of text compress well; judge ratio past this
    max_path_length: int = 1024
    max_depth: int = 64


@dataclass(frozen=True, order=True)
class UnpackedFile:
    path: str  # posix, relative to the root
    sha256: str
    size: int


@dataclass
class _Budget:
    limits: UnpackLimits
    compressed_bytes: int
    entries: int = 0
    total_bytes: int = 0
    names: set[str] = field(default_factory=set)
    directories: set[str] = field(default_factory=set)

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeInput(f"more than {self.limits.max_entries} entries")

    def add_bytes(self, count: int, name: str, file_bytes: int) -> None:
        self.total_bytes += count
        if file_bytes > self.limits.max_file_bytes:
            raise UnsafeInput(f"{name}: larger than the {self.limits.max_file_bytes} byte limit per file")
        if self.total_bytes > self.limits.max_total_bytes:
            raise UnsafeInput(f"more than {self.limits.max_total_bytes} bytes unpacked")
        if (self.compressed_bytes and self.total_bytes > self.limits.ratio_floor_bytes
                and self.total_bytes > self.limits.max_ratio * self.compressed_bytes):
            raise UnsafeInput(f"compression ratio above {self.limits.max_ratio}:1 (possible archive bomb)")

    def claim(self, path: str) -> None:
        """Reserve ``path`` for a file; refuse duplicates and file/directory clashes."""
        if path in self.names or path in self.directories:
            raise UnsafeInput(f"duplicate entry name: {printable(path)}")
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in self.names:
                raise UnsafeInput(f"entry {printable(path)} is inside file {printable(parent)}")
            self.directories.add(parent)
        self.names.add(path)


def printable(name: str) -> str:
    """A name safe to put in a one-line message."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in name)
    return cleaned if len(cleaned) <= 200 else cleaned[:197] + "..."


def safe_member_path(name: str, limits: UnpackLimits) -> str | None:
    """Validate and normalise an entry name; None for the root itself. Raises UnsafeInput."""
    if "\x00" in name:
        raise UnsafeInput(f"entry name contains NUL: {printable(name)}")
    if len(name) > limits.max_path_length:
        raise UnsafeInput(f"entry name longer than {limits.max_path_length} characters")
    if "\\" in name:
        raise UnsafeInput(f"entry name contains a backslash: {printable(name)}")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeInput(f"absolute path in archive: {printable(name)}")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise UnsafeInput(f"entry escapes the root: {printable(name)}")
    if any(any(not ch.isprintable() for ch in part) for part in parts):
        raise UnsafeInput(f"entry name contains control characters: {printable(name)}")
    if len(parts) > limits.max_depth:
        raise UnsafeInput(f"entry nested deeper than {limits.max_depth} levels: {printable(name)}")
    return "/".join(parts) if parts else None


def check_link_target(path: str, target: str) -> None:
    """A symbolic link at ``path`` pointing at ``target`` must stay inside the root."""
    if "\x00" in target or target.startswith("/") or _DRIVE.match(target) or "\\" in target:
        raise UnsafeInput(f"link leaves the root: {printable(path)} -> {printable(target)}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeInput(f"link leaves the root: {printable(path)} -> {printable(target)}")


class _DiskSink:
    def __init__(self, dest: Path):
        self.dest = dest

    def store(self, path: str, stream: BinaryIO, budget: _Budget) -> UnpackedFile:
        return _write(self.dest, path, stream, budget)


class MemoryTree:
    """Unpacked files kept in memory: each file's first ``keep_bytes`` (all the analysis reads of it), plus the
    hash and size of all of it. Sizes are still counted as read and bounded by the same budget."""

    def __init__(self, keep_bytes: int):
        self.keep_bytes = keep_bytes
        self.heads: dict[str, bytes] = {}
        self.sizes: dict[str, int] = {}

    def store(self, path: str, stream: BinaryIO, budget: _Budget) -> UnpackedFile:
        digest = hashlib.sha256()
        size = 0
        kept: list[bytes] = []
        room = self.keep_bytes
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            budget.add_bytes(len(chunk), printable(path), size)
            digest.update(chunk)
            if room > 0:
                kept.append(chunk[:room])
                room -= len(kept[-1])
        self.heads[path] = kept[0] if len(kept) == 1 else b"".join(kept)
        self.sizes[path] = size
        return UnpackedFile(path=path, sha256=digest.hexdigest(), size=size)


def _write(dest: Path, path: str, stream: BinaryIO, budget: _Budget) -> UnpackedFile:
    target = dest.joinpath(*path.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    # O_EXCL | O_NOFOLLOW: never overwrite, never write through a link (we never create any).
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            budget.add_bytes(len(chunk), printable(path), size)
            digest.update(chunk)
            out.write(chunk)
    return UnpackedFile(path=path, sha256=digest.hexdigest(), size=size)


# --- detection --------------------------------------------------------------------------------------

def detect_kind(source: Path) -> str:
    """``directory``, ``zip``, ``tar`` or ``file`` (a single regular file that is not an archive)."""
    info = source.lstat()
    if stat.S_ISDIR(info.st_mode):
        return "directory"
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeInput(f"{printable(source.name)} is not a regular file or directory")
    with source.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b") or (len(head) >= 262 and head[257:262] == b"ustar"):
        return "tar"
    if head.startswith((b"BZh", b"\xfd7zXZ")):
        return "tar"
    return "file"


def unpack(*, source: Path, dest: Path, limits: UnpackLimits = UnpackLimits(), kind: str | None = None,
           name: str | None = None, budget: _Budget | None = None) -> list[UnpackedFile]:
    """Unpack ``source`` (directory, zip, tar[.gz], or a single file named ``name``) under ``dest``."""
    return unpack_into(_DiskSink(dest), source=source, limits=limits, kind=kind, name=name, budget=budget)


def unpack_into(sink, *, source: Path, limits: UnpackLimits = UnpackLimits(), kind: str | None = None,  # noqa: ANN001
                name: str | None = None, budget: _Budget | None = None) -> list[UnpackedFile]:
    """:func:`unpack` into any sink with ``store(path, stream, budget)``, e.g. a :class:`MemoryTree`."""
    kind = kind or detect_kind(source)
    if budget is None:
        compressed = source.stat().st_size if kind in ("zip", "tar") else 0
        budget = _Budget(limits=limits, compressed_bytes=compressed)
    elif kind in ("zip", "tar"):
        budget.compressed_bytes += source.stat().st_size
    if kind == "directory":
        return sorted(_unpack_directory(source, sink, budget))
    if kind == "zip":
        return sorted(_unpack_zip(source, sink, budget))
    if kind == "tar":
        return sorted(_unpack_tar(source, sink, budget))
    if kind == "file":
        path = safe_member_path(name or source.name, limits)
        if path is None:
            raise UnsafeInput("file has no name")
        budget.count_entry()
        budget.claim(path)
        with source.open("rb") as stream:
            return [sink.store(path, stream, budget)]
    raise UnsafeInput(f"unsupported input kind {kind}")


def new_budget(limits: UnpackLimits = UnpackLimits()) -> _Budget:
    """One budget shared by several sources unpacked into the same root (a submission's artifacts)."""
    return _Budget(limits=limits, compressed_bytes=0)


def _unpack_directory(source: Path, sink, budget: _Budget) -> Iterator[UnpackedFile]:  # noqa: ANN001
    """Walk without following links, classifying entries by the directory listing's own type (no extra stat), in
    os.walk's top-down order: a directory's files and links (sorted), then its subdirectories (sorted)."""

    def walk(directory: str, relative_dir: str) -> Iterator[UnpackedFile]:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        subdirs = [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                continue
            relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
            budget.count_entry()
            path = safe_member_path(relative, budget.limits)
            if entry.is_symlink():
                check_link_target(path, os.readlink(entry.path))
                continue
            if not entry.is_file(follow_symlinks=False):
                raise UnsafeInput(f"device or special file: {printable(path)}")
            budget.claim(path)
            # O_NOFOLLOW | O_NONBLOCK and a check on the open file: nothing swapped in since the listing is followed
            # or blocked on.
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise UnsafeInput(f"device or special file: {printable(path)}")
                with os.fdopen(fd, "rb", buffering=0) as stream:
                    fd = -1
                    yield sink.store(path, stream, budget)
            finally:
                if fd >= 0:
                    os.close(fd)
        for _entry in subdirs:
            budget.count_entry()
        for entry in subdirs:
            yield from walk(entry.path, f"{relative_dir}/{entry.name}" if relative_dir else entry.name)

    return walk(str(source), "")


def _unpack_zip(source: Path, sink, budget: _Budget) -> Iterator[UnpackedFile]:
    import zipfile  # here, not at the top: a directory input never pays for importing the archive modules

    try:
        archive = zipfile.ZipFile(source)
    except corrupt_zip_errors() as exc:  # e.g. NotImplementedError for a "version 8.0" zip64 end record
        raise UnsafeInput(f"not a readable zip archive ({printable(str(exc))})") from None
    with archive:
        seen: set[str] = set()
        for info in archive.infolist():
            budget.count_entry()
            if "\x00" in info.orig_filename:  # zipfile silently cuts names at NUL; the original keeps it
                raise UnsafeInput(f"entry name contains NUL: {printable(info.orig_filename)}")
            if info.filename in seen:
                raise UnsafeInput(f"duplicate entry name: {printable(info.filename)}")
            seen.add(info.filename)
            path = safe_member_path(info.filename, budget.limits)
            mode = info.external_attr >> 16
            if info.flag_bits & 0x1:
                raise UnsafeInput(f"encrypted entry: {printable(info.filename)}")
            if stat.S_ISLNK(mode):
                if path is None:
                    raise UnsafeInput("link at the archive root")
                try:
                    with archive.open(info) as handle:
                        target = handle.read(4097)
                except corrupt_zip_errors() as exc:
                    raise UnsafeInput(f"corrupt zip entry {printable(info.filename)} ({printable(str(exc))})") from None
                if len(target) > 4096:
                    raise UnsafeInput(f"link target too long: {printable(path)}")
                check_link_target(path, target.decode("utf-8", "replace"))
                continue
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise UnsafeInput(f"device or special file: {printable(info.filename)}")
            if path is None or info.is_dir():  # in this order: is_dir() indexes the name, which may be empty
                continue
            budget.claim(path)
            try:
                with archive.open(info) as stream:
                    yield sink.store(path, stream, budget)
            except corrupt_zip_errors() as exc:
                raise UnsafeInput(f"corrupt zip entry {printable(info.filename)} ({printable(str(exc))})") from None


def _unpack_tar(source: Path, sink, budget: _Budget) -> Iterator[UnpackedFile]:
    import tarfile

    try:
        # Stream mode: one pass, no seeking, members handled as they arrive.
        archive = tarfile.open(source, mode="r|*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafeInput(f"not a readable tar archive ({printable(str(exc))})") from None
    try:
        with archive:
            for member in archive:
                budget.count_entry()
                path = safe_member_path(member.name, budget.limits)
                if member.issym():
                    if path is None:
                        raise UnsafeInput("link at the archive root")
                    check_link_target(path, member.linkname)
                    continue
                if member.islnk():
                    raise UnsafeInput(f"hard link in archive: {printable(member.name)}")
                if member.ischr() or member.isblk() or member.isfifo():
                    raise UnsafeInput(f"device or special file: {printable(member.name)}")
                if member.isdir() or path is None:
                    continue
                if not member.isreg():
                    raise UnsafeInput(f"unsupported entry type in archive: {printable(member.name)}")
                budget.claim(path)
                stream = archive.extractfile(member)
                yield sink.store(path, stream, budget)
    except (tarfile.TarError, EOFError, OSError, *decompression_errors()) as exc:
        if isinstance(exc, UnsafeInput):
            raise
        raise UnsafeInput(f"corrupt tar archive ({printable(str(exc))})") from None


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def corrupt_zip_errors() -> tuple[type[Exception], ...]:
    """What reading a corrupt zip entry raises (bad CRC, header or compressed data, unknown method)."""
    import zipfile

    return (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError,
            *decompression_errors())


def decompression_errors() -> tuple[type[Exception], ...]:
    """What corrupt compressed data raises (zlib and lzma errors are not OSError); only evaluated on failure."""
    import lzma

    return zlib_error(), lzma.LZMAError
