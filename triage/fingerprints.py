"""Fingerprints: exact content hashes plus MinHash/LSH similarity against earlier submissions.

Two halves:

* :func:`fingerprint_compute` runs inside the sandbox (no Django): word
  5-shingles over normalised text of every file, folded into one 128-value
  MinHash for the whole submission. (Our own numpy MinHash rather than
  datasketch's: importing datasketch costs ~1.5 s per sandbox start.)
* ``fingerprint_*`` functions outside store the signature with its LSH band
  keys (16 bands of 8 rows, so pairs above ~0.7 Jaccard collide in at least one
  band) and look candidates up through an index on the band key, so lookup
  cost depends on the number of candidates, not the number of stored
  submissions.

Similarity to *another* builder's case is a coordinator-only signal (possible
extraction attempt or IP dispute); nothing here is ever shown to the submitter.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

NUM_PERM = 128
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
MAX_TEXT_BYTES = 2 * 1024 * 1024  # per file; the rest of a huge file adds little to similarity
NEAR_DUPLICATE = 0.8  # same builder: link the cases
EXTRACTION = 0.9  # another builder: coordinator-only signal
MAX_CANDIDATES = 500
_TOKEN = re.compile(r"[a-z0-9_]+")


def normalised_tokens(data: bytes) -> list[str]:
    """Lower-cased word tokens: immune to whitespace, case and punctuation changes."""
    if b"\x00" in data[:8192]:
        return []  # binary: exact hashes cover it
    return _TOKEN.findall(data.decode("utf-8", "replace").lower())


_MIX_P = 0x100000001B3  # FNV prime: combines five token hashes into one shingle hash
_MIX_C1, _MIX_C2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53  # MurmurHash3 finaliser


def shingle_hashes(tokens: list[str]):  # noqa: ANN201
    """64-bit hashes of the word 5-shingles, unique and sorted (a numpy uint64 array).

    Tokens are hashed once (CRC-32, in C); shingle hashes are combined from
    them with vector arithmetic, so no shingle string is ever built.
    """
    import zlib

    import numpy as np

    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    words = np.fromiter((zlib.crc32(token.encode()) for token in tokens), dtype=np.uint64, count=len(tokens))
    width = min(SHINGLE, len(words))
    count = len(words) - width + 1
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for offset in range(width):
            combined = combined * np.uint64(_MIX_P) + words[offset:offset + count]
        combined ^= combined >> np.uint64(33)
        combined *= np.uint64(_MIX_C1)
        combined ^= combined >> np.uint64(33)
        combined *= np.uint64(_MIX_C2)
        combined ^= combined >> np.uint64(33)
    return np.unique(combined)


def _permutations() -> tuple:
    """Fixed affine permutations h -> a*h + b (mod 2**64, a odd: a bijection), derived from constants."""
    import numpy as np

    def word(label: bytes, index: int) -> int:
        return int.from_bytes(hashlib.blake2b(label + index.to_bytes(4, "big"), digest_size=8).digest(), "big")

    a = np.array([word(b"assay-minhash-a", k) | 1 for k in range(NUM_PERM)], dtype=np.uint64)
    b = np.array([word(b"assay-minhash-b", k) for k in range(NUM_PERM)], dtype=np.uint64)
    return a[:, None], b[:, None]


def minhash_signature(hashes) -> list[int]:  # noqa: ANN001
    """128 minimum permuted 64-bit values over the shingle hashes (numpy-vectorised, deterministic).

    Works block by block in two preallocated buffers: fresh temporaries per block would be mapped and faulted in
    again each time, which dominates under gVisor's ptrace platform.
    """
    import numpy as np

    hashes = np.asarray(hashes, dtype=np.uint64)
    if not len(hashes):
        return [2**64 - 1] * NUM_PERM
    a, b = _permutations()
    signature = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    width = min(_BLOCK, len(hashes))
    buffer = np.empty((NUM_PERM, width), dtype=np.uint64)
    minima = np.empty(NUM_PERM, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(hashes), width):
            block = hashes[None, start:start + width]
            out = buffer[:, :block.shape[1]]
            np.multiply(a, block, out=out)
            np.add(out, b, out=out)
            out.min(axis=1, out=minima)
            np.minimum(signature, minima, out=signature)
    return [int(v) for v in signature]


_BLOCK = 2048  # shingles per block: 128 x 2048 x 8 bytes = a 2 MiB working buffer


def fingerprint_compute(*, root: Path, paths: list[str]) -> dict:
    """The submission's MinHash signature (JSON-ready). Deterministic for the same content."""
    def contents():  # noqa: ANN202
        for path in paths:
            with (root / path).open("rb") as handle:
                yield handle.read(MAX_TEXT_BYTES)

    return fingerprint_of_contents(contents())


def fingerprint_of_contents(contents) -> dict:  # noqa: ANN001
    """:func:`fingerprint_compute` over file contents already in memory (each at least its first MAX_TEXT_BYTES)."""
    import numpy as np

    parts = [shingle_hashes(normalised_tokens(data[:MAX_TEXT_BYTES])) for data in contents]
    every = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    return {"scheme": f"minhash-{NUM_PERM}-w{SHINGLE}", "shingles": int(len(every)),
            "signature": minhash_signature(every)}


def band_keys(signature: list[int]) -> list[int]:
    """One signed 63-bit key per band (band index mixed in), for an indexed BigInteger column."""
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS:(band + 1) * ROWS]
        digest = hashlib.blake2b(struct.pack(f">I{ROWS}Q", band, *rows), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def signature_bytes(signature: list[int]) -> bytes:
    return struct.pack(f">{NUM_PERM}Q", *signature)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{NUM_PERM}Q", bytes(data))


def estimated_similarity(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> float:
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / NUM_PERM


def content_digest(files: list[tuple[str, str]]) -> str:
    """SHA-256 over the sorted (path, sha256) list: equal iff the unpacked content is identical."""
    text = "\n".join(f"{path} {sha}" for path, sha in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()


# --- storage and lookup (outside the sandbox) ----------------------------------------------------

@dataclass(frozen=True)
class SimilarCase:
    submission_id: str
    owner_id: int
    similarity: float
    exact: bool


@dataclass(frozen=True)
class FingerprintVerdict:
    """What the policy may know (booleans) and what only coordinators see (the links)."""

    exact_duplicate_of_own_case: bool
    suspected_extraction: bool
    own_near_duplicates: list[SimilarCase]
    other_builders_similar: list[SimilarCase]


def fingerprint_similar(*, signature: list[int], content_sha256: str, exclude_submission_id=None,  # noqa: ANN001
                        ) -> list[SimilarCase]:
    """Earlier submissions whose estimated similarity reaches NEAR_DUPLICATE, or identical content."""
    from intake.vault.shred_records import fingerprint_keyed_digest
    from triage.models import FingerprintBand, SubmissionFingerprint

    keys = band_keys(signature)
    candidate_ids = set(
        FingerprintBand.objects.filter(key__in=keys).values_list("fingerprint_id", flat=True)[:MAX_CANDIDATES * BANDS])
    # A shredded case keeps only a keyed hash of its tree digest (intake.vault.shred_records): match that too.
    retained = fingerprint_keyed_digest(content_sha256)
    exact_ids = set(SubmissionFingerprint.objects.filter(content_sha256__in=[content_sha256, retained])
                    .values_list("id", flat=True)[:MAX_CANDIDATES])
    rows = (SubmissionFingerprint.objects.filter(id__in=candidate_ids | exact_ids)
            .exclude(submission_id=exclude_submission_id)
            .values_list("submission_id", "owner_id", "signature", "content_sha256"))
    similar = []
    for submission_id, owner_id, stored, stored_content in rows:
        exact = stored_content in (content_sha256, retained)
        score = 1.0 if exact else estimated_similarity(signature, signature_from_bytes(stored))
        if exact or score >= NEAR_DUPLICATE:
            similar.append(SimilarCase(submission_id=str(submission_id), owner_id=owner_id,
                                       similarity=round(score, 4), exact=exact))
    similar.sort(key=lambda case: (-case.similarity, case.submission_id))
    return similar


def fingerprint_verdict(*, owner_id: int, similar: list[SimilarCase]) -> FingerprintVerdict:
    own = [case for case in similar if case.owner_id == owner_id]
    others = [case for case in similar if case.owner_id != owner_id and case.similarity >= EXTRACTION]
    return FingerprintVerdict(
        exact_duplicate_of_own_case=any(case.exact for case in own),
        suspected_extraction=bool(others),
        own_near_duplicates=own,
        other_builders_similar=others,
    )


def fingerprint_store(*, submission, fingerprint: dict, files: list[tuple[str, str]]):  # noqa: ANN001, ANN201
    """Store (or replace, on a re-run) the submission's fingerprint, band keys and file hashes."""
    from django.db import transaction

    from triage.models import FileHash, FingerprintBand, SubmissionFingerprint

    signature = [int(v) for v in fingerprint["signature"]]
    with transaction.atomic():
        SubmissionFingerprint.objects.filter(submission=submission).delete()
        stored = SubmissionFingerprint.objects.create(
            submission=submission, owner_id=submission.owner_id, scheme=fingerprint["scheme"],
            signature=signature_bytes(signature), content_sha256=content_digest(files), file_count=len(files))
        FingerprintBand.objects.bulk_create(
            [FingerprintBand(fingerprint=stored, key=key) for key in sorted(set(band_keys(signature)))])
        FileHash.objects.bulk_create(
            [FileHash(fingerprint=stored, sha256=sha) for sha in sorted({sha for _, sha in files})])
    return stored


def fingerprint_link(*, submission, verdict: FingerprintVerdict) -> None:  # noqa: ANN001
    """Record the links: same-builder near-duplicates, and coordinator-only cross-builder similarity."""
    from triage.models import FingerprintLink, LinkKind

    FingerprintLink.objects.filter(submission=submission).delete()
    links = [FingerprintLink(submission=submission, other_id=case.submission_id, similarity=case.similarity,
                             kind=LinkKind.OWN_EXACT if case.exact else LinkKind.OWN_NEAR_DUPLICATE)
             for case in verdict.own_near_duplicates]
    links += [FingerprintLink(submission=submission, other_id=case.submission_id, similarity=case.similarity,
                              kind=LinkKind.POSSIBLE_EXTRACTION)
              for case in verdict.other_builders_similar]
    FingerprintLink.objects.bulk_create(links)


def fingerprint_links_for(*, viewer, submission) -> list:  # noqa: ANN001
    """The similarity links ``viewer`` may see on ``submission``.

    Coordinators see everything. The builder sees only links to their own
    cases; a possible-extraction link (another builder's confidential case) is
    never shown to them, nor to anyone else. Unknown roles see nothing.
    """
    from intake.models import Role
    from triage.models import FingerprintLink, LinkKind

    links = FingerprintLink.objects.filter(submission=submission).order_by("-similarity", "pk")
    if getattr(viewer, "role", None) == Role.COORDINATOR:
        return list(links)
    if getattr(viewer, "pk", None) is not None and viewer.pk == submission.owner_id:
        return list(links.exclude(kind=LinkKind.POSSIBLE_EXTRACTION).filter(other__owner_id=viewer.pk))
    return []
