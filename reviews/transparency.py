"""The public transparency log: append digests, sign tree heads, prove inclusion and consistency.

Leaves are canonical JSON ``{"kind", "subject_sha256", "index"}`` (digests
only). Anyone holding two signed tree heads can check that the later one
extends the earlier one, so the platform cannot quietly rewrite its history.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from intake.signing import platform_keyring
from reviews.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash, verify_consistency
from reviews.models import SignedTreeHead, TransparencyEntry, TransparencyHead


# One cached keyring per key path (intake.signing): reports, receipts and tree heads share it.
keyring = platform_keyring


def leaf_bytes(*, index: int, kind: str, subject_sha256: str) -> bytes:
    return json.dumps({"index": index, "kind": kind, "subject_sha256": subject_sha256},
                      sort_keys=True, separators=(",", ":")).encode()


def log_append(*, kind: str, subject_sha256: str) -> TransparencyEntry:
    if kind not in TransparencyEntry.Kind.values or len(subject_sha256) != 64:
        raise ValueError("log entries take a known kind and a hex SHA-256")
    with transaction.atomic():
        TransparencyHead.objects.get_or_create(id=1)
        head = TransparencyHead.objects.select_for_update().get(id=1)
        index = head.size
        leaf = leaf_hash(leaf_bytes(index=index, kind=kind, subject_sha256=subject_sha256))
        entry = TransparencyEntry.objects.create(index=index, kind=kind, subject_sha256=subject_sha256,
                                                 leaf_hash=leaf.hex())
        TransparencyHead.objects.filter(id=1).update(size=index + 1)
    return entry


def _leaves(size: int | None = None) -> list[bytes]:
    rows = TransparencyEntry.objects.order_by("index")
    if size is not None:
        rows = rows.filter(index__lt=size)
    return [bytes.fromhex(h) for h in rows.values_list("leaf_hash", flat=True)]


def sth_payload(*, tree_size: int, root_hex: str, timestamp: str) -> bytes:
    return json.dumps({"log": "assay-transparency/v1", "tree_size": tree_size, "root_hash": root_hex,
                       "timestamp": timestamp}, sort_keys=True, separators=(",", ":")).encode()


def sth_sign() -> SignedTreeHead:
    """Sign the current tree head (idempotent for an unchanged tree)."""
    leaves = _leaves()
    root = root_hash(leaves).hex()
    latest = SignedTreeHead.objects.order_by("-tree_size", "-timestamp").first()
    if latest and latest.tree_size == len(leaves) and latest.root_hash == root:
        return latest
    now = timezone.now().replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    key_id, signature = keyring().sign(sth_payload(tree_size=len(leaves), root_hex=root, timestamp=stamp))
    return SignedTreeHead.objects.create(tree_size=len(leaves), root_hash=root, timestamp=now, key_id=key_id,
                                         signature=base64.b64encode(signature).decode())


def sth_as_dict(sth: SignedTreeHead) -> dict:
    return {"tree_size": sth.tree_size, "root_hash": sth.root_hash,
            "timestamp": sth.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"), "key_id": sth.key_id,
            "signature": sth.signature}


def inclusion_for(index: int, tree_size: int) -> list[str]:
    return [h.hex() for h in inclusion_proof(index, _leaves(tree_size))]


def consistency_for(old_size: int, new_size: int) -> list[str]:
    return [h.hex() for h in consistency_proof(old_size, _leaves(new_size))]


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    message: str


def log_check_history() -> LogCheck:
    """Recompute every leaf, then check each signed tree head against the entries and its successor."""
    entries = list(TransparencyEntry.objects.order_by("index"))
    for position, entry in enumerate(entries):
        expected = leaf_hash(leaf_bytes(index=entry.index, kind=entry.kind, subject_sha256=entry.subject_sha256))
        if entry.index != position:
            return LogCheck(False, f"entry {position} is missing")
        if expected.hex() != entry.leaf_hash:
            return LogCheck(False, f"entry {entry.index} was rewritten (its leaf hash does not match)")
    leaves = [bytes.fromhex(e.leaf_hash) for e in entries]
    heads = list(SignedTreeHead.objects.order_by("tree_size", "timestamp"))
    published = {k.key_id: k for k in keyring().published_keys()}
    previous = None
    for sth in heads:
        key = published.get(sth.key_id)
        payload = sth_payload(tree_size=sth.tree_size, root_hex=sth.root_hash,
                              timestamp=sth.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
        try:
            if key is None:
                raise ValueError
            key.public_key.verify(base64.b64decode(sth.signature), payload)
        except Exception:  # noqa: BLE001 - any failure means the head is not ours
            return LogCheck(False, f"tree head of size {sth.tree_size} has an invalid signature")
        if sth.tree_size > len(leaves) or root_hash(leaves[: sth.tree_size]).hex() != sth.root_hash:
            return LogCheck(False, f"the log no longer matches its signed head of size {sth.tree_size}")
        if previous is not None and previous.tree_size > 0:
            proof = consistency_proof(previous.tree_size, leaves[: sth.tree_size])
            if not verify_consistency(old_size=previous.tree_size, new_size=sth.tree_size,
                                      old_root=bytes.fromhex(previous.root_hash),
                                      new_root=bytes.fromhex(sth.root_hash), proof=proof):
                return LogCheck(False, f"head {sth.tree_size} does not extend head {previous.tree_size}")
        previous = sth
    return LogCheck(True, f"transparency log consistent: {len(entries)} entries, {len(heads)} signed heads")
