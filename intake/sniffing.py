"""What an uploaded file really is, read from its first bytes, checked against the kind the builder declared.

A name and a browser's Content-Type are whatever the sender says; the first bytes are what the sandbox, the
viewer and reviewers will actually get. No well-kept sniffing library is installed (python-magic needs libmagic,
filetype/puremagic are absent), and the kinds we accept are few, so a small signature table is enough: formats
are recognised by their published magic numbers, text by decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from intake.errors import ValidationFailed

# Enough for every signature below (tar's "ustar" sits at offset 257) and a fair sample for the text check.
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Format:
    key: str
    description: str  # completes "its content is …"
    matches: Callable[[bytes], bool]


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


# Order matters only where one signature is a prefix of another; none here is.
FORMATS: tuple[Format, ...] = (
    Format("zip", "a zip archive", _starts(b"PK\x03\x04", b"PK\x05\x06")),
    Format("tar", "a tar archive", lambda head: head[257:262] == b"ustar"),
    Format("gzip", "a gzip stream", _starts(b"\x1f\x8b")),
    Format("bzip2", "a bzip2 stream", _starts(b"BZh")),
    Format("xz", "an xz stream", _starts(b"\xfd7zXZ\x00")),
    Format("7z", "a 7-Zip archive", _starts(b"7z\xbc\xaf\x27\x1c")),
    Format("rar", "a RAR archive", _starts(b"Rar!\x1a\x07")),
    Format("zstd", "a Zstandard stream", _starts(b"\x28\xb5\x2f\xfd")),
    Format("pe", "a Windows executable (PE)", _starts(b"MZ")),
    Format("elf", "a Linux executable (ELF)", _starts(b"\x7fELF")),
    Format("macho", "a macOS executable (Mach-O)",
           _starts(b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                   b"\xca\xfe\xba\xbe")),
    Format("wasm", "a WebAssembly module", _starts(b"\x00asm")),
    Format("pdf", "a PDF document", _starts(b"%PDF-")),
    Format("png", "a PNG image", _starts(b"\x89PNG\r\n\x1a\n")),
    Format("jpeg", "a JPEG image", _starts(b"\xff\xd8\xff")),
    Format("gif", "a GIF image", _starts(b"GIF87a", b"GIF89a")),
    Format("sqlite", "an SQLite database", _starts(b"SQLite format 3\x00")),
)
EXECUTABLES = frozenset({"pe", "elf", "macho", "wasm"})
ARCHIVES = frozenset({"zip", "tar", "gzip", "bzip2", "xz"})
# What each declared kind may be (intake.models.ArtifactKind values). Executables are never accepted: triage reads
# configuration and source, and a binary is neither.
ACCEPTED: dict[str, frozenset[str]] = {
    "archive": ARCHIVES,
    "config": frozenset({"text"}),
    "evidence": frozenset({"text", "pdf", "png", "jpeg", "gif", "zip", "gzip"}),
    "other": frozenset({f.key for f in FORMATS} - EXECUTABLES | {"text", "binary", "empty"}),
}
# An archive's name, when it says which format it is, must agree with its content.
ARCHIVE_SUFFIXES = ((".tar.gz", "gzip"), (".tgz", "gzip"), (".tar.bz2", "bzip2"), (".tbz2", "bzip2"),
                    (".tar.xz", "xz"), (".txz", "xz"), (".zip", "zip"), (".tar", "tar"))
KIND_NOUNS = {"archive": "an archive of the system", "config": "a configuration file",
              "evidence": "evidence", "other": "an artifact"}
ACCEPTED_HINTS = {
    "archive": "Upload a .zip, .tar, .tar.gz, .tar.bz2 or .tar.xz file.",
    "config": "A configuration file must be text (JSON, YAML, TOML, Markdown, source).",
    "evidence": "Evidence must be text, PDF, PNG, JPEG or GIF (or a zip or gzip of them).",
    "other": "Executables are not accepted.",
}


def _is_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        return True
    if b"\x00" in head:
        return False
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            head[:len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(head: bytes) -> Format:
    """The format the first bytes show: a known signature, else ``text``, ``empty`` or ``binary``."""
    for fmt in FORMATS:
        if fmt.matches(head):
            return fmt
    if not head:
        return Format("empty", "empty", lambda _: True)
    if _is_text(head):
        return Format("text", "text", lambda _: True)
    return Format("binary", "unrecognised binary data", lambda _: True)


def read_head(stream: BinaryIO) -> bytes:
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    return head


def kind_mismatch(*, name: str, kind: str, head: bytes, zip_end_record: bool = False) -> str | None:
    """One line saying why ``head`` cannot be a ``kind`` artifact called ``name``, or None when it can.
    ``zip_end_record``: the file ends like a zip (a prefixed zip, e.g. a self-extractor); the archive parser, not
    this sniff, then explains what is wrong with it, as for every other archive that reads two ways."""
    found = sniff(head)
    if kind == "archive" and zip_end_record and found.key not in ARCHIVES:
        found = next(f for f in FORMATS if f.key == "zip")
    noun = KIND_NOUNS.get(kind, "an artifact")
    if found.key not in ACCEPTED.get(kind, frozenset()):
        return f"“{name}” is not accepted as {noun}: its content is {found.description}. {ACCEPTED_HINTS[kind]}"
    if kind == "archive":
        lowered = name.lower()
        named = next((fmt for suffix, fmt in ARCHIVE_SUFFIXES if lowered.endswith(suffix)), None)
        if named is not None and named != found.key:
            return (f"“{name}” is named like {_description(named)} but its content is {found.description}; "
                    "rename it or upload the file it should be.")
    return None


def _description(key: str) -> str:
    return next(f.description for f in FORMATS if f.key == key)


def _ends_like_a_zip(stream: BinaryIO) -> bool:
    size = stream.seek(0, 2)
    stream.seek(max(0, size - (22 + 0xFFFF)))  # the end record and the longest comment it may carry
    found = b"PK\x05\x06" in stream.read()
    stream.seek(0)
    return found


def check_declared_kind(*, name: str, kind: str, stream: BinaryIO) -> None:
    """Refuse (ValidationFailed, one line) a file whose first bytes contradict its declared kind or name.
    ``stream`` must be seekable to any offset; it is left at its start."""
    problem = kind_mismatch(name=name, kind=kind, head=read_head(stream),
                            zip_end_record=kind == "archive" and _ends_like_a_zip(stream))
    if problem:
        raise ValidationFailed(problem)
