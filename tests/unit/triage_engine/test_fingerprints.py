"""Fingerprints: normalised MinHash similarity, LSH lookup, and who may see which link."""

from __future__ import annotations

import random

import pytest

from tests.factories import make_draft
from triage.fingerprints import (BANDS, NUM_PERM, band_keys, content_digest, estimated_similarity,
                                 fingerprint_links_for, fingerprint_similar, fingerprint_store, fingerprint_verdict,
                                 minhash_signature, normalised_tokens, shingle_hashes)
from triage.models import FingerprintLink, LinkKind

WORDS = [f"word{i}" for i in range(2000)]


def text(seed: int, length: int = 600) -> bytes:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(length)).encode()


def signature_of(data: bytes) -> list[int]:
    return minhash_signature(shingle_hashes(normalised_tokens(data)))


def test_case_whitespace_and_punctuation_do_not_change_the_signature() -> None:
    original = b"def run(command):\n    return subprocess.run(command, shell=True)\n"
    reformatted = b"DEF   run( command ):  return SUBPROCESS.run(command,shell=True)"
    assert signature_of(original) == signature_of(reformatted)


def test_estimate_tracks_the_true_jaccard_similarity() -> None:
    base = text(1).split()
    edited = base[:]
    for index in range(0, len(edited), 40):
        edited[index] = b"changed"
    a = shingle_hashes([w.decode() for w in base])
    b = shingle_hashes([w.decode() for w in edited])
    true = len(set(a.tolist()) & set(b.tolist())) / len(set(a.tolist()) | set(b.tolist()))
    estimate = estimated_similarity(minhash_signature(a), minhash_signature(b))
    assert abs(estimate - true) < 0.12
    assert estimated_similarity(signature_of(text(1)), signature_of(text(2))) < 0.1


def test_signatures_are_deterministic_and_sized() -> None:
    assert signature_of(text(3)) == signature_of(text(3))
    assert len(signature_of(text(3))) == NUM_PERM
    keys = band_keys(signature_of(text(3)))
    assert len(keys) == BANDS and all(0 <= key < 2**63 for key in keys)


def test_binary_content_is_left_to_exact_hashes() -> None:
    assert normalised_tokens(b"\x7fELF\x00\x00binary") == []


def _stored(owner, data: bytes, files: list[tuple[str, str]]):  # noqa: ANN001, ANN202
    submission = make_draft(owner)
    fingerprint = {"scheme": "minhash-128-w5", "signature": signature_of(data)}
    fingerprint_store(submission=submission, fingerprint=fingerprint, files=files)
    return submission


def test_lookup_finds_near_duplicates_and_exact_copies_but_not_strangers(builder, other_builder) -> None:  # noqa: ANN001
    files = [("a.py", "1" * 64)]
    own = _stored(builder, text(10), files)
    _stored(other_builder, text(11), [("b.py", "2" * 64)])
    near = text(10)[:-30] + b" tail words"
    similar = fingerprint_similar(signature=signature_of(near), content_sha256=content_digest([("x", "y")]))
    assert [(case.submission_id, case.exact) for case in similar] == [(str(own.pk), False)]
    exact = fingerprint_similar(signature=signature_of(text(10)), content_sha256=content_digest(files))
    assert exact[0].exact and exact[0].similarity == 1.0
    assert fingerprint_similar(signature=signature_of(text(10)), content_sha256=content_digest(files),
                               exclude_submission_id=own.pk) == []


def test_verdict_separates_own_duplicates_from_other_builders(builder, other_builder) -> None:  # noqa: ANN001
    files = [("a.py", "1" * 64)]
    _stored(other_builder, text(20), files)
    similar = fingerprint_similar(signature=signature_of(text(20)), content_sha256=content_digest(files))
    mine = fingerprint_verdict(owner_id=other_builder.pk, similar=similar)
    theirs = fingerprint_verdict(owner_id=builder.pk, similar=similar)
    assert (mine.exact_duplicate_of_own_case, mine.suspected_extraction) == (True, False)
    assert (theirs.exact_duplicate_of_own_case, theirs.suspected_extraction) == (False, True)


def test_storing_again_replaces_the_old_fingerprint(builder) -> None:  # noqa: ANN001
    submission = _stored(builder, text(30), [("a", "1" * 64)])
    fingerprint_store(submission=submission, fingerprint={"scheme": "minhash-128-w5", "signature": signature_of(text(31))},
                      files=[("a", "2" * 64)])
    assert submission.fingerprint.bands.count() == BANDS
    assert list(submission.fingerprint.file_hashes.values_list("sha256", flat=True)) == ["2" * 64]


@pytest.mark.django_db
def test_extraction_links_are_shown_to_coordinators_only(builder, other_builder, coordinator) -> None:  # noqa: ANN001
    original = make_draft(builder)
    copy = make_draft(other_builder, title="Copied agent")
    own_earlier = make_draft(other_builder, title="Earlier agent")
    FingerprintLink.objects.create(submission=copy, other=original, kind=LinkKind.POSSIBLE_EXTRACTION, similarity=0.97)
    FingerprintLink.objects.create(submission=copy, other=own_earlier, kind=LinkKind.OWN_NEAR_DUPLICATE, similarity=0.85)
    assert [link.kind for link in fingerprint_links_for(viewer=coordinator, submission=copy)] == [
        LinkKind.POSSIBLE_EXTRACTION, LinkKind.OWN_NEAR_DUPLICATE]
    assert [link.other_id for link in fingerprint_links_for(viewer=other_builder, submission=copy)] == [own_earlier.pk]
    assert fingerprint_links_for(viewer=builder, submission=copy) == []
