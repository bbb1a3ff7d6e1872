"""Append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and a canonical JSON body,
so editing, deleting or reordering any row breaks the chain from that point
on; the chain head row additionally exposes truncation of the tail.
Appends serialise on the head row (``SELECT … FOR UPDATE`` on PostgreSQL, an
IMMEDIATE transaction on SQLite).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

GENESIS = "0" * 64


def canonical_json(value) -> bytes:  # noqa: ANN001
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, prev_hash: str, seq: int, created_at: datetime, actor_id, actor_label: str, action: str,  # noqa: ANN001
               object_type: str, object_id: str, data: dict) -> str:
    body = {
        "seq": seq,
        "created_at": _timestamp(created_at),
        "actor_id": None if actor_id is None else str(actor_id),
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(body)).hexdigest()


def _describe(obj) -> tuple[str, str]:  # noqa: ANN001
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return obj
    return obj._meta.label_lower, str(obj.pk)


def _actor_label(actor) -> str:  # noqa: ANN001
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "email", "") or str(actor)


def audit_append(*, action: str, actor=None, obj=None, data: dict | None = None):  # noqa: ANN001, ANN201
    """Append one event. Safe to call inside an outer transaction (it nests)."""
    from intake.models import AuditChainHead, AuditEvent

    object_type, object_id = _describe(obj)
    actor_id = getattr(actor, "pk", None) if actor is not None and not isinstance(actor, str) else None
    # Round-trip through JSON now so the hashed body equals what the database returns later.
    payload = json.loads(canonical_json(data or {}))
    with transaction.atomic():
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
        seq = head.seq + 1
        created_at = timezone.now()
        digest = event_hash(prev_hash=head.hash, seq=seq, created_at=created_at, actor_id=actor_id,
                            actor_label=_actor_label(actor), action=action, object_type=object_type,
                            object_id=object_id, data=payload)
        event = AuditEvent.objects.create(
            seq=seq, created_at=created_at, actor_id=actor_id, actor_label=_actor_label(actor), action=action,
            object_type=object_type, object_id=object_id, data=payload, prev_hash=head.hash, hash=digest,
        )
        AuditChainHead.objects.filter(id=1).update(seq=seq, hash=digest)
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    message: str
    broken_seq: int | None = None


def audit_verify_chain(*, chunk_size: int = 2000) -> ChainCheck:
    """Walk the whole chain in order and report the first break, if any."""
    from intake.models import AuditChainHead, AuditEvent

    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if event.seq != expected_seq:
            return ChainCheck(False, count, f"event {expected_seq} is missing (next present is {event.seq})",
                              expected_seq)
        if event.prev_hash != expected_prev:
            return ChainCheck(False, count, f"event {event.seq} does not follow event {event.seq - 1} "
                                            "(previous hash differs: reordered or an earlier event replaced)",
                              event.seq)
        recomputed = event_hash(prev_hash=event.prev_hash, seq=event.seq, created_at=event.created_at,
                                actor_id=event.actor_id, actor_label=event.actor_label, action=event.action,
                                object_type=event.object_type, object_id=event.object_id, data=event.data)
        if recomputed != event.hash:
            return ChainCheck(False, count, f"event {event.seq} was modified (its hash does not match its content)",
                              event.seq)
        expected_prev = event.hash
        expected_seq += 1
        count += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.seq, head.hash) != (count, expected_prev):
        if head.seq > count:
            return ChainCheck(False, count, f"event {count + 1} is missing: the chain head records {head.seq} "
                                            "events (the tail was deleted)", count + 1)
        return ChainCheck(False, count, "the chain head does not match the last event", count)
    return ChainCheck(True, count, f"audit chain intact: {count} events, head {expected_prev[:16]}")
