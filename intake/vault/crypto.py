"""Chunked AES-256-GCM streaming format for vault objects.

Layout::

    header  = b"ASSAYVLT" | version u8 | 3 reserved zero bytes | chunk_size u32 | object_id 16 | nonce_prefix 4
    record_i = AES-256-GCM(data_key, nonce_prefix | i u64, plaintext_i, aad = header | i u64 | final u8)

Every record but the last holds exactly ``chunk_size`` plaintext bytes; the
last holds 0..chunk_size bytes and is the only one sealed with final=1, so an
empty object is one empty final record. Because the header (with the object
id) and the chunk index are authenticated in every record, records cannot be
reordered, dropped, duplicated or moved between objects, and a stream that
stops at a record boundary is caught because no record claims to be final.

The reader authenticates each record before releasing a byte of it and holds
at most two records in memory whatever the object size; it raises at the end
(never returns a clean EOF) when the stream was cut short.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import struct
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from intake.errors import TooLarge
from intake.vault.errors import IntegrityFailure

MAGIC = b"ASSAYVLT"
VERSION = 1
HEADER = struct.Struct(">8sB3sI16s4s")
TAG_BYTES = 16
DEFAULT_CHUNK_BYTES = 1024 * 1024
MIN_CHUNK_BYTES = 16
MAX_CHUNK_BYTES = 16 * 1024 * 1024
KEY_BYTES = 32


@dataclass(frozen=True)
class Header:
    chunk_size: int
    object_id: uuid.UUID
    nonce_prefix: bytes

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, VERSION, b"\0\0\0", self.chunk_size, self.object_id.bytes, self.nonce_prefix)

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) != HEADER.size:
            raise IntegrityFailure("vault object is truncated: its header is incomplete")
        magic, version, reserved, chunk_size, object_id, nonce_prefix = HEADER.unpack(raw)
        if magic != MAGIC:
            raise IntegrityFailure("not a vault object (bad magic)")
        if version != VERSION or reserved != b"\0\0\0":
            raise IntegrityFailure(f"unsupported vault format version {version}")
        if not MIN_CHUNK_BYTES <= chunk_size <= MAX_CHUNK_BYTES:
            raise IntegrityFailure("vault object header has an implausible chunk size")
        return cls(chunk_size=chunk_size, object_id=uuid.UUID(bytes=object_id), nonce_prefix=nonce_prefix)


def _nonce(header: Header, index: int) -> bytes:
    return header.nonce_prefix + struct.pack(">Q", index)


def _aad(header_bytes: bytes, index: int, final: bool) -> bytes:
    return header_bytes + struct.pack(">QB", index, 1 if final else 0)


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes unless the stream ends first (sockets and uploads may return short reads)."""
    first = stream.read(size)
    if not first or len(first) == size:
        return first or b""
    parts = [first]
    missing = size - len(first)
    while missing:
        more = stream.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


class _BackgroundSha256:
    """SHA-256 on a helper thread: hashlib drops the GIL, so hashing overlaps encryption and I/O.

    The queue is bounded, so at most a few chunks wait here: memory stays constant.
    """

    _DONE = object()

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._run, name="vault-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not self._DONE:
            self._hash.update(item)

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def hexdigest(self) -> str:
        self.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()


@dataclass(frozen=True)
class EncryptResult:
    size: int
    sha256: str
    ciphertext_size: int


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encrypt_stream(source: BinaryIO, write: Callable[[bytes], object], *, key: bytes, object_id: uuid.UUID,
                   chunk_size: int = DEFAULT_CHUNK_BYTES, max_bytes: int) -> EncryptResult:
    """Encrypt ``source`` record by record into ``write``, hashing the plaintext on the way.

    Raises TooLarge as soon as more than ``max_bytes`` arrive; the caller
    discards whatever was already written.
    """
    if not MIN_CHUNK_BYTES <= chunk_size <= MAX_CHUNK_BYTES:
        raise ValueError("chunk size out of range")
    header = Header(chunk_size=chunk_size, object_id=object_id, nonce_prefix=os.urandom(4))
    header_bytes = header.pack()
    aead = AESGCM(key)
    sha = _BackgroundSha256()
    try:
        write(header_bytes)
        written = len(header_bytes)
        size = 0
        index = 0
        current = read_exactly(source, chunk_size)
        while True:
            size += len(current)
            if size > max_bytes:
                raise TooLarge(f"artifact is larger than the {max_bytes} byte limit")
            # Read one record ahead: only then do we know whether this one is final.
            following = read_exactly(source, chunk_size) if len(current) == chunk_size else b""
            final = not following
            if current:
                sha.update(current)
            record = aead.encrypt(_nonce(header, index), current, _aad(header_bytes, index, final))
            write(record)
            written += len(record)
            if final:
                break
            current = following
            index += 1
        return EncryptResult(size=size, sha256=sha.hexdigest(), ciphertext_size=written)
    finally:
        sha.close()


class ChunkSealer:
    """Push-style encryption into the same format, for data that arrives in pieces (upload handlers).

    A full chunk is sealed only once a byte beyond it has arrived, so the
    final flag is always right; ``finish()`` seals the last (possibly empty)
    chunk. Memory: at most one chunk plus one incoming piece.
    """

    def __init__(self, write: Callable[[bytes], object], *, key: bytes, object_id: uuid.UUID,
                 chunk_size: int = DEFAULT_CHUNK_BYTES):
        self._write = write
        self._aead = AESGCM(key)
        self.header = Header(chunk_size=chunk_size, object_id=object_id, nonce_prefix=os.urandom(4))
        self._header_bytes = self.header.pack()
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self.size = 0
        write(self._header_bytes)

    def _seal(self, plaintext: bytes, final: bool) -> None:
        aad = _aad(self._header_bytes, self._index, final)
        self._write(self._aead.encrypt(_nonce(self.header, self._index), plaintext, aad))
        self._index += 1

    def feed(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) > self._chunk_size:
            self._seal(bytes(self._buffer[:self._chunk_size]), final=False)
            del self._buffer[:self._chunk_size]

    def finish(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()


def ciphertext_size_for(plaintext_size: int, chunk_size: int) -> int:
    records = max(1, -(-plaintext_size // chunk_size))  # an empty object is still one (final) record
    return HEADER.size + plaintext_size + records * TAG_BYTES


class DecryptingReader(io.BufferedIOBase):
    """A readable stream of authenticated plaintext over a vault object's ciphertext.

    ``expected_object_id`` comes from our database, never from the ciphertext,
    so an object copied over another one is refused even before its tags are
    checked. ``read(n)`` returns exactly ``n`` bytes until the end (buffered
    semantics, so tarfile and friends are happy) and hands out whole
    decrypted chunks without copying them when the caller reads chunk-sized.
    """

    def __init__(self, source: BinaryIO, *, key: bytes, expected_object_id: uuid.UUID,
                 expected_chunk_size: int | None = None):
        super().__init__()
        self._source = source
        self._aead = AESGCM(key)
        header_bytes = read_exactly(source, HEADER.size)
        self._header = Header.unpack(header_bytes)
        if self._header.object_id != expected_object_id:
            raise IntegrityFailure("vault object belongs to a different artifact (header object id mismatch)")
        if expected_chunk_size is not None and self._header.chunk_size != expected_chunk_size:
            raise IntegrityFailure("vault object header does not match its recorded chunk size")
        self._header_bytes = header_bytes
        self._record_size = self._header.chunk_size + TAG_BYTES
        self._index = 0
        self._plain = b""
        self._offset = 0
        self._pending = read_exactly(source, self._record_size)
        self._finished = False
        if not self._pending:
            raise IntegrityFailure("vault object is truncated: it has no chunks")

    @property
    def chunk_size(self) -> int:
        return self._header.chunk_size

    def readable(self) -> bool:
        return True

    def _open_record(self, record: bytes, index: int, final: bool) -> bytes | None:
        try:
            return self._aead.decrypt(_nonce(self._header, index), record, _aad(self._header_bytes, index, final))
        except InvalidTag:
            return None

    def _advance(self) -> bool:
        """Authenticate the next chunk into the buffer; False at the (verified) end."""
        if self._finished:
            return False
        record = self._pending
        if len(record) < TAG_BYTES:
            raise IntegrityFailure(f"vault object is truncated inside chunk {self._index}")
        following = read_exactly(self._source, self._record_size) if len(record) == self._record_size else b""
        final = not following
        plaintext = self._open_record(record, self._index, final)
        if plaintext is None:
            raise IntegrityFailure(self._diagnose(record, final))
        self._plain, self._offset = plaintext, 0
        self._pending = following
        self._finished = final
        self._index += 1
        return True

    def _diagnose(self, record: bytes, tried_final: bool) -> str:
        """Name the failure precisely; only runs after authentication already failed."""
        if self._open_record(record, self._index, not tried_final) is not None:
            if tried_final:
                return f"vault object is truncated: it ends after chunk {self._index} without a final chunk"
            return f"vault object has data after its final chunk {self._index}"
        return (f"vault object chunk {self._index} failed authentication "
                "(tampered, reordered, from another object, or the wrong key)")

    def _take(self, size: int) -> bytes:
        available = len(self._plain) - self._offset
        if self._offset == 0 and size >= available:
            data = self._plain  # the whole chunk: no copy
        else:
            data = self._plain[self._offset:self._offset + size]
        self._offset += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed vault reader")
        unlimited = size is None or size < 0
        parts = []
        wanted = size if not unlimited else 0
        while unlimited or wanted > 0:
            if self._offset >= len(self._plain) and not self._advance():
                break
            data = self._take(len(self._plain) if unlimited else wanted)
            parts.append(data)
            wanted -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        if self._offset >= len(self._plain) and not self._advance():
            return b""
        return self._take(len(self._plain) if size is None or size < 0 else size)

    def readinto(self, target) -> int:  # noqa: ANN001
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                self._plain = b""
                super().close()


def open_decrypting(source: BinaryIO, *, key: bytes, expected_object_id: uuid.UUID,
                    expected_chunk_size: int | None = None) -> DecryptingReader:
    try:
        return DecryptingReader(source, key=key, expected_object_id=expected_object_id,
                                expected_chunk_size=expected_chunk_size)
    except BaseException:
        source.close()
        raise
