"""The one archive parser: safe unpacking of untrusted directories and archives into a scratch root.

An uploaded archive is read with it when it arrives (refused then if unsafe), by triage inside the sandbox (see
:mod:`triage.sandbox_entry`, which mounts this module) and by the reviewer's viewer, so all three see the same
files. It reads an archive one way only: every byte must belong to it (one compressed stream, nothing after a
tar's end blocks, a zip's entries back to back from byte 0 with matching local and central names, nothing after
its end record), or it is refused; see :func:`check_zip_layout` and :class:`_OneCompressedStream`.

Pure Python, no Django, streaming. Every entry name is validated before anything is written: no
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
import io
import os
import posixpath
import re
import stat
import struct
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
    if _ends_like_a_zip(source, info.st_size):  # a prefixed zip (self-extractor): unzip reads it, so must we
        return "zip"
    return "file"


def _ends_like_a_zip(source: Path, size: int) -> bool:
    with source.open("rb") as handle:
        handle.seek(max(0, size - (22 + 0xFFFF)))
        return b"PK\x05\x06" in handle.read()


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


def archive_listing(source: Path, *, limits: UnpackLimits = UnpackLimits()) -> list[UnpackedFile] | None:
    """The files of the archive at ``source`` (path, sha256, size), read exactly as triage reads them, or None if it
    is no archive. Raises UnsafeInput (one line) for anything triage would refuse or could read two ways."""
    kind = detect_kind(source)
    if kind not in ("zip", "tar"):
        return None
    return unpack_into(MemoryTree(keep_bytes=0), source=source, limits=limits, kind=kind)


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
        try:
            check_zip_layout(source, archive.infolist())
        except struct.error:
            raise UnsafeInput("not a readable zip archive (truncated records)") from None
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


_DESCRIPTOR_SIZES = (12, 16, 20, 24)  # crc and sizes (32- or 64-bit), with or without their signature


def check_zip_layout(source: Path, infos: list) -> None:  # noqa: C901 - one walk over the file's structures
    """Every byte of a zip belongs to exactly one structure: entries back to back from offset 0, each local name equal
    to its central name, then the central directory, then the end records and nothing after them.

    Readers differ at every gap: zipfile trusts the central directory, streaming unzippers walk the local headers,
    and a self-extracting prefix or an appended second archive is read by some tools and not others. Two entries
    sharing bytes (the overlapping-file bomb) or a local header naming another file than the directory does are
    the same problem. The artifact stored, the tree triage reads and the digest must be one reading."""
    size = source.stat().st_size
    with source.open("rb") as handle:
        tail_length = min(size, 22 + 0xFFFF + 20)
        handle.seek(size - tail_length)
        tail = handle.read(tail_length)
        at = tail.rfind(b"PK\x05\x06")  # the record zipfile uses: the last one
        if at < 0 or len(tail) - at < 22:
            raise UnsafeInput("not a readable zip archive (no end record)")
        _sig, _disk, _cd_disk, _on_disk, entries, cd_size, cd_offset, comment = struct.unpack(
            "<4s4H2LH", tail[at:at + 22])
        end_record = size - tail_length + at
        if end_record + 22 + comment != size:
            raise UnsafeInput(f"data after the end of the zip archive ({size - end_record - 22 - comment} bytes)")
        directory_end = end_record
        if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":  # zip64: its end record, then the locator
            zip64_at = struct.unpack("<Q", tail[at - 12:at - 4])[0]
            handle.seek(zip64_at)
            record = handle.read(56)
            if record[:4] != b"PK\x06\x06" or zip64_at + 12 + struct.unpack("<Q", record[4:12])[0] != end_record - 20:
                raise UnsafeInput("data before the zip archive, or a corrupt zip64 end record")
            entries, cd_size, cd_offset = struct.unpack("<Q8xQQ", record[24:56])
            directory_end = zip64_at
        prefix = directory_end - cd_size - cd_offset
        if prefix > 0:
            raise UnsafeInput(f"data before the zip archive ({prefix} bytes)")
        if prefix < 0:
            raise UnsafeInput("not a readable zip archive (central directory out of place)")
        if entries not in (0xFFFF, len(infos)):
            raise UnsafeInput(f"zip end record counts {entries} entries, its directory lists {len(infos)}")
        expected, previous = 0, None
        for info in [*sorted(infos, key=lambda i: i.header_offset), None]:
            offset = cd_offset if info is None else info.header_offset
            _check_gap(handle, expected, offset, previous, info)
            if info is None:
                break
            handle.seek(offset)
            header = handle.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise UnsafeInput(f"corrupt zip entry {printable(info.orig_filename)} (no local header)")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            local_name = handle.read(name_length)
            if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
                raise UnsafeInput(f"zip entry {printable(info.orig_filename)} has another name in its local header: "
                                  f"{printable(local_name.decode('utf-8', 'replace'))}")
            expected = offset + 30 + name_length + extra_length + info.compress_size
            previous = info


def _check_gap(handle: BinaryIO, expected: int, offset: int, previous, info) -> None:  # noqa: ANN001
    """Between the end of ``previous`` (at ``expected``) and the next structure at ``offset``: nothing, or the data
    descriptor ``previous`` announced, holding exactly its CRC and sizes."""
    gap = offset - expected
    if gap == 0:
        return
    name = printable(info.orig_filename) if info is not None else "the central directory"
    if gap < 0:
        if previous is None:
            raise UnsafeInput("not a readable zip archive (entry before the start of the file)")
        raise UnsafeInput(f"zip entries overlap: {printable(previous.orig_filename)} and {name}")
    if previous is None:
        raise UnsafeInput(f"data before the zip archive ({gap} bytes)")
    if previous.flag_bits & 0x8 and gap in _DESCRIPTOR_SIZES:
        handle.seek(expected)
        descriptor = handle.read(gap)
        if descriptor.startswith(b"PK\x07\x08"):
            descriptor = descriptor[4:]
        wide = len(descriptor) == 20
        if len(descriptor) in (12, 20):
            crc, packed, unpacked = struct.unpack("<LQQ" if wide else "<LLL", descriptor)
            if (crc, packed, unpacked) == (previous.CRC, previous.compress_size, previous.file_size):
                return
    raise UnsafeInput(f"{gap} bytes of unaccounted data in the zip archive before {name}")


def _unpack_tar(source: Path, sink, budget: _Budget) -> Iterator[UnpackedFile]:
    import tarfile

    handle = source.open("rb")
    try:
        stream = _TarBytes(_decompressed(handle))
        try:
            # Stream mode: one pass, no seeking, members handled as they arrive.
            archive = tarfile.open(fileobj=stream, mode="r|")
        except (tarfile.TarError, OSError, EOFError) as exc:
            if isinstance(exc, UnsafeInput):
                raise
            raise UnsafeInput(f"not a readable tar archive ({printable(str(exc))})") from None
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
                yield sink.store(path, archive.extractfile(member), budget)
            # tarfile stops at the first block that is not a header (a zero block, or garbage) and ignores the rest:
            # a second archive appended, or anything else, would be stored and digested but never triaged.
            stream.check_rest_is_padding(after=archive.offset)
    except (tarfile.TarError, EOFError, OSError, *decompression_errors()) as exc:
        if isinstance(exc, UnsafeInput):
            raise
        raise UnsafeInput(f"corrupt tar archive ({printable(str(exc))})") from None
    finally:
        handle.close()


_COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def _decompressed(handle: BinaryIO) -> BinaryIO:
    """The tar bytes of ``handle``: itself, or exactly one gzip, bzip2 or xz stream that fills the whole file."""
    head = handle.peek(6)[:6] if hasattr(handle, "peek") else b""
    for magic, name in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return _OneCompressedStream(handle, name)
    return handle


class _OneCompressedStream(io.RawIOBase):
    """The decompressed bytes of one compressed stream; anything after its end is refused.

    ``tar -xzf`` extracts every member of a multi-member gzip file, and Python's readers stop after the first or
    read on, depending on the reader: the second member would hold files some readers see and others do not."""

    def __init__(self, handle: BinaryIO, name: str):
        import bz2
        import lzma
        import zlib

        super().__init__()
        self._handle, self.format = handle, name
        self._pending = b""
        if name == "gzip":
            self._decompressor = zlib.decompressobj(wbits=31)  # one gzip member, header and trailer checked
        elif name == "bzip2":
            self._decompressor = bz2.BZ2Decompressor()
        else:
            self._decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # noqa: ANN001
        data = self._inflate(len(target))
        target[:len(data)] = data
        return len(data)

    def _inflate(self, size: int) -> bytes:
        decompressor = self._decompressor
        while True:
            if decompressor.eof:
                self._refuse_anything_after()
                return b""
            if self.format == "gzip":
                chunk = self._pending or self._handle.read(CHUNK)
                if not chunk:
                    raise UnsafeInput("corrupt tar archive (compressed stream is truncated)")
                out = decompressor.decompress(chunk, size)
                self._pending = decompressor.unconsumed_tail
            else:
                chunk = self._handle.read(CHUNK) if decompressor.needs_input else b""
                if decompressor.needs_input and not chunk:
                    raise UnsafeInput("corrupt tar archive (compressed stream is truncated)")
                out = decompressor.decompress(chunk, max_length=size)
            if out:
                return out

    def _refuse_anything_after(self) -> None:
        rest = self._decompressor.unused_data or self._handle.read(CHUNK)
        if not rest:
            return
        magic = dict((name, magic) for magic, name in _COMPRESSION_MAGIC)[self.format]
        if rest.startswith(magic[:2]):
            raise UnsafeInput(f"multi-member {self.format} file: a second compressed stream follows the first "
                              "(readers disagree on whether it is part of the archive)")
        raise UnsafeInput(f"data after the end of the {self.format} stream")


class _TarBytes(io.RawIOBase):
    """The tar stream as tarfile reads it, remembering the last bytes read so the end can be checked."""

    KEEP = 256 * 1024

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self.consumed = 0
        self._tail = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # noqa: ANN001
        data = self._raw.read(len(target))
        target[:len(data)] = data
        self.consumed += len(data)
        self._tail += data
        if len(self._tail) > 2 * self.KEEP:
            del self._tail[:-self.KEEP]
        return len(data)

    def check_rest_is_padding(self, *, after: int) -> None:
        """Everything from offset ``after`` (where tarfile found the end) to the end of the stream must be the zero
        blocks that end a tar archive."""
        seen_from = self.consumed - len(self._tail)
        if after < seen_from:
            raise UnsafeInput("data after the end of the tar archive")
        pending = bytes(self._tail[after - seen_from:])
        while True:
            if pending.strip(b"\0"):
                raise UnsafeInput("data after the end of the tar archive")
            pending = self._raw.read(CHUNK)
            if not pending:
                return


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
