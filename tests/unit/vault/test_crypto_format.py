"""The chunked AES-256-GCM format on its own: no database, no storage backend."""

from __future__ import annotations

import io
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from intake.errors import TooLarge
from intake.vault.crypto import HEADER, TAG_BYTES, ciphertext_size_for, encrypt_stream, new_data_key, open_decrypting
from intake.vault.errors import IntegrityFailure

CHUNK = 64
RECORD = CHUNK + TAG_BYTES


def seal(plaintext: bytes, *, key: bytes, object_id: uuid.UUID, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    result = encrypt_stream(io.BytesIO(plaintext), out.write, key=key, object_id=object_id, chunk_size=chunk,
                            max_bytes=10**9)
    assert result.size == len(plaintext)
    assert result.ciphertext_size == len(out.getvalue())
    return out.getvalue()


def unseal(ciphertext: bytes, *, key: bytes, object_id: uuid.UUID) -> bytes:
    with open_decrypting(io.BytesIO(ciphertext), key=key, expected_object_id=object_id) as reader:
        return reader.read()


def records(ciphertext: bytes) -> list[bytes]:
    body = ciphertext[HEADER.size:]
    return [body[i:i + RECORD] for i in range(0, len(body), RECORD)]


BOUNDARY_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 7 * CHUNK + 3]


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_it_round_trips_every_chunk_boundary(size):
    key, oid = new_data_key(), uuid.uuid4()
    plaintext = bytes(range(256)) * (size // 256 + 1)
    plaintext = plaintext[:size]
    ciphertext = seal(plaintext, key=key, object_id=oid)
    assert unseal(ciphertext, key=key, object_id=oid) == plaintext
    assert len(ciphertext) == ciphertext_size_for(size, CHUNK)


@settings(max_examples=60, deadline=None)
@given(data=st.one_of(st.binary(max_size=3 * CHUNK + 5),
                      st.integers(0, 12 * CHUNK).map(lambda n: bytes(n % 251 for n in range(n)))),
       chunk=st.sampled_from([16, 17, CHUNK, 100]))
def test_it_round_trips_any_size_and_chunk_size(data, chunk):
    key, oid = new_data_key(), uuid.uuid4()
    out = io.BytesIO()
    result = encrypt_stream(io.BytesIO(data), out.write, key=key, object_id=oid, chunk_size=chunk, max_bytes=10**9)
    import hashlib

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    with open_decrypting(io.BytesIO(out.getvalue()), key=key, expected_object_id=oid) as reader:
        assert reader.read() == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=4 * CHUNK), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused_without_releasing_that_chunk(data, position, bit):
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = bytearray(seal(data, key=key, object_id=oid))
    position %= len(ciphertext)
    ciphertext[position] ^= 1 << bit
    released = bytearray()
    with pytest.raises(IntegrityFailure):
        with open_decrypting(io.BytesIO(bytes(ciphertext)), key=key, expected_object_id=oid) as reader:
            while chunk := reader.read(CHUNK):
                released += chunk
    # Whatever came out before the error is authentic plaintext from chunks before the damaged one.
    damaged_chunk = max(0, (position - HEADER.size) // RECORD)
    assert bytes(released) == data[:len(released)]
    assert len(released) <= damaged_chunk * CHUNK


def test_it_detects_truncation_at_a_chunk_boundary():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"x" * (3 * CHUNK + 10), key=key, object_id=oid)
    cut = HEADER.size + 2 * RECORD
    with pytest.raises(IntegrityFailure, match="truncated: it ends after chunk 1 without a final chunk"):
        unseal(ciphertext[:cut], key=key, object_id=oid)


def test_it_detects_truncation_inside_a_chunk():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"x" * (3 * CHUNK), key=key, object_id=oid)
    with pytest.raises(IntegrityFailure, match="chunk 2 failed authentication"):
        unseal(ciphertext[:-5], key=key, object_id=oid)


def test_it_detects_a_missing_chunk():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"y" * (4 * CHUNK), key=key, object_id=oid)
    parts = records(ciphertext)
    del parts[1]
    with pytest.raises(IntegrityFailure, match="chunk 1 failed authentication"):
        unseal(ciphertext[:HEADER.size] + b"".join(parts), key=key, object_id=oid)


def test_a_header_from_another_sealing_of_the_same_object_is_refused():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"y" * (2 * CHUNK), key=key, object_id=oid)
    other_header = seal(b"", key=key, object_id=oid)[:HEADER.size]
    with pytest.raises(IntegrityFailure, match="chunk 0 failed authentication"):
        unseal(other_header + ciphertext[HEADER.size:], key=key, object_id=oid)


def test_it_detects_reordered_chunks():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(bytes(range(200)) * 2, key=key, object_id=oid)
    parts = records(ciphertext)
    parts[0], parts[1] = parts[1], parts[0]
    with pytest.raises(IntegrityFailure, match="chunk 0 failed authentication"):
        unseal(ciphertext[:HEADER.size] + b"".join(parts), key=key, object_id=oid)


def test_it_detects_data_appended_after_the_final_chunk():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"z" * CHUNK, key=key, object_id=oid)
    with pytest.raises(IntegrityFailure, match="data after its final chunk 0"):
        unseal(ciphertext + records(ciphertext)[0], key=key, object_id=oid)


def test_chunks_cannot_be_swapped_between_objects_under_the_same_key():
    key = new_data_key()
    first, second = uuid.uuid4(), uuid.uuid4()
    a = seal(b"A" * (2 * CHUNK), key=key, object_id=first)
    b = seal(b"B" * (2 * CHUNK), key=key, object_id=second)
    spliced = a[:HEADER.size] + records(b)[0] + records(a)[1]
    with pytest.raises(IntegrityFailure, match="chunk 0 failed authentication"):
        unseal(spliced, key=key, object_id=first)
    with pytest.raises(IntegrityFailure, match="belongs to a different artifact"):
        unseal(b, key=key, object_id=first)


def test_the_wrong_key_is_refused():
    oid = uuid.uuid4()
    ciphertext = seal(b"secret design", key=new_data_key(), object_id=oid)
    with pytest.raises(IntegrityFailure, match="chunk 0 failed authentication"):
        unseal(ciphertext, key=new_data_key(), object_id=oid)


@pytest.mark.parametrize("ciphertext, message", [
    (b"", "header is incomplete"),
    (b"NOTAVAULT" * 5, "bad magic"),
])
def test_garbage_is_refused_with_a_clear_error(ciphertext, message):
    with pytest.raises(IntegrityFailure, match=message):
        unseal(ciphertext, key=new_data_key(), object_id=uuid.uuid4())


def test_a_header_without_chunks_is_truncation():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"", key=key, object_id=oid)
    with pytest.raises(IntegrityFailure, match="it has no chunks"):
        unseal(ciphertext[:HEADER.size], key=key, object_id=oid)


def test_it_stops_at_the_size_cap():
    written = []
    with pytest.raises(TooLarge, match="larger than the 100 byte limit"):
        encrypt_stream(io.BytesIO(b"q" * 101), written.append, key=new_data_key(), object_id=uuid.uuid4(),
                       chunk_size=CHUNK, max_bytes=100)
    assert sum(len(w) for w in written) < HEADER.size + 2 * RECORD


class CountingReader(io.RawIOBase):
    """An endless plaintext source that records how much was pulled from it."""

    def __init__(self, total: int):
        self.total, self.pulled = total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = min(len(buffer), self.total - self.pulled)
        buffer[:n] = b"\x5a" * n
        self.pulled += n
        return n


def test_decryption_streams_without_reading_ahead_more_than_two_chunks():
    key, oid = new_data_key(), uuid.uuid4()
    ciphertext = seal(b"\x5a" * (50 * CHUNK), key=key, object_id=oid)
    consumed = []

    class Tracking(io.BytesIO):
        def read(self, n=-1):  # noqa: ANN001, ANN202
            data = super().read(n)
            consumed.append(len(data))
            return data

    with open_decrypting(Tracking(ciphertext), key=key, expected_object_id=oid) as reader:
        assert reader.read(10) == b"\x5a" * 10
        assert sum(consumed) <= HEADER.size + 2 * RECORD
        assert len(reader.read()) == 50 * CHUNK - 10


def test_encryption_streams_a_source_larger_than_anything_held():
    key, oid = new_data_key(), uuid.uuid4()
    sizes = []
    source = CountingReader(300 * CHUNK + 1)
    result = encrypt_stream(source, lambda record: sizes.append(len(record)), key=key, object_id=oid,
                            chunk_size=CHUNK, max_bytes=10**9)
    assert result.size == 300 * CHUNK + 1
    assert max(sizes) == RECORD  # records go out one at a time, never accumulated
