"""Anchor the audit chain's head in the signed transparency log; check the chain against its anchors.

The keyed chain (:mod:`intake.audit`) stops a database writer who lacks the audit key. An anchor is a
second, independent witness: a digest of one ``(seq, hash)`` of the chain appended to the transparency log,
whose tree heads are signed with the platform's Ed25519 key (held outside the database). Rewriting any event
at or before an anchored seq changes the hash there, and the signed log cannot be changed to match without
breaking its signed heads. Anchors also date the chain for anyone holding a published tree head.

This lives in reviews because the transparency log does; intake's audit module knows nothing of it, and
``verify_audit`` (a reviews command) composes the two checks.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import transaction

from intake.audit import GENESIS, ChainCheck, audit_verify_chain, canonical_json
from intake.models import AuditEvent
from reviews.models import AuditAnchor, SignedTreeHead, TransparencyEntry
from reviews.transparency import log_append, log_check_history, sth_sign

logger = logging.getLogger(__name__)


def anchor_subject(*, seq: int, chain_hash: str) -> str:
    """What the log leaf records: a digest only, so the public log reveals nothing about the events."""
    return hashlib.sha256(canonical_json({"chain": "assay-audit", "hash": chain_hash, "seq": seq})).hexdigest()


def audit_anchor_head() -> AuditAnchor | None:
    """Anchor the current chain head and sign the log's new tree head; idempotent for an unchanged head.

    The keyed chain since the previous anchor is verified first, and nothing is anchored when it is broken
    (or empty): a signature must never vouch for a chain the keys do not. Returns None then.
    """
    latest = AuditAnchor.objects.order_by("-log_index").first()
    check = audit_verify_chain(after=(latest.seq, latest.chain_hash) if latest else (0, GENESIS))
    if not check.ok:
        logger.error("audit chain head not anchored: %s", check.message)
        return None
    if latest is not None and latest.seq == check.events:
        return latest
    if check.events == 0:
        return None
    with transaction.atomic():
        entry = log_append(kind=TransparencyEntry.Kind.AUDIT_HEAD,
                           subject_sha256=anchor_subject(seq=check.events, chain_hash=check.head_hash))
        anchor = AuditAnchor.objects.create(seq=check.events, chain_hash=check.head_hash, log_index=entry.index)
    sth_sign()
    return anchor


@dataclass(frozen=True)
class AnchorCheck:
    ok: bool
    anchors: int
    message: str


@dataclass(frozen=True)
class AuditCheck:
    chain: ChainCheck
    anchors: AnchorCheck

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.anchors.ok

    @property
    def message(self) -> str:
        return f"{self.chain.message}; {self.anchors.message}"


def _event_hashes(seqs: list[int], *, batch: int = 500) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(seqs), batch):
        found.update(AuditEvent.objects.filter(seq__in=seqs[start:start + batch]).values_list("seq", "hash"))
    return found


def audit_check_anchors() -> AnchorCheck:
    """Every anchor the signed log holds must still match the chain: same hash at the anchored seq.

    The log is checked first (leaves against signed tree heads), so an anchor leaf that is covered by a
    signed head is authentic; the anchor row only says which seq to look at, and is checked against it.
    """
    log = log_check_history()
    if not log.ok:
        return AnchorCheck(False, 0, f"the transparency log holding the anchors fails its check: {log.message}")
    signed = SignedTreeHead.objects.order_by("-tree_size").values_list("tree_size", flat=True).first() or 0
    rows = {anchor.log_index: anchor for anchor in AuditAnchor.objects.all()}
    entries = list(TransparencyEntry.objects.filter(kind=TransparencyEntry.Kind.AUDIT_HEAD).order_by("index"))
    hashes = _event_hashes(sorted({anchor.seq for anchor in rows.values()}))
    latest = None
    for entry in entries:
        anchor = rows.pop(entry.index, None)
        if anchor is None:
            return AnchorCheck(False, 0, f"transparency log entry {entry.index} anchors the audit chain, but its "
                                         "anchor record is gone")
        if anchor_subject(seq=anchor.seq, chain_hash=anchor.chain_hash) != entry.subject_sha256:
            return AnchorCheck(False, 0, f"the anchor record for transparency log entry {entry.index} does not "
                                         "match the signed log (it was rewritten)")
        current = hashes.get(anchor.seq)
        if current is None:
            return AnchorCheck(False, 0, f"event {anchor.seq} is missing: the transparency log anchored the chain "
                                         f"at event {anchor.seq} (entry {entry.index}), so it was truncated")
        if current != anchor.chain_hash:
            return AnchorCheck(False, 0, f"event {anchor.seq} no longer matches the chain head anchored in the "
                                         f"transparency log at entry {entry.index} (the chain was rewritten)")
        if entry.index < signed:
            latest = anchor
    if rows:
        return AnchorCheck(False, 0, f"anchor record for log entry {min(rows)} has no anchor in the transparency "
                                     "log (it was forged)")
    if latest is None:
        return AnchorCheck(True, 0, "no anchors signed into the transparency log yet")
    count = sum(1 for entry in entries if entry.index < signed)
    noun = "anchor" if count == 1 else "anchors"
    return AnchorCheck(True, count, f"{count} {noun} in the transparency log, the latest at event {latest.seq}")


def audit_verify() -> AuditCheck:
    """Both witnesses, each reported on its own: the keyed chain and the signed anchors."""
    return AuditCheck(chain=audit_verify_chain(), anchors=audit_check_anchors())
