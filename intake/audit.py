"""Append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and a canonical JSON body,
so editing, deleting or reordering any row breaks the chain from that point
on; the chain head row additionally exposes truncation of the tail.
Appends serialise on the head row (``SELECT … FOR UPDATE`` on PostgreSQL, an
IMMEDIATE transaction on SQLite).

Chain version 2 (``key_id`` set): the hash is an HMAC-SHA256 under an audit
key held outside the database (:mod:`intake.audit_keys`), so whoever can write
the database cannot recompute a rewritten chain. Version 1 (``key_id`` empty,
plain SHA-256) is accepted only for the prefix written before keyed hashing
began, which the key file pins; see :func:`audit_verify_chain`. Chain heads
are anchored in the signed transparency log by ``reviews.audit_anchors``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from intake.audit_keys import audit_keyring
from intake.vault.errors import VaultError

GENESIS = "0" * 64


def canonical_json(value) -> bytes:  # noqa: ANN001
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, prev_hash: str, seq: int, created_at: datetime, actor_id, actor_label: str, action: str,  # noqa: ANN001
               object_type: str, object_id: str, data: dict) -> str:
    """Chain version 1 (unkeyed, public): kept to verify events written before keyed hashing began."""
    body = _body(seq=seq, created_at=created_at, actor_id=actor_id, actor_label=actor_label, action=action,
                 object_type=object_type, object_id=object_id, data=data)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(body)).hexdigest()


def _body(*, seq: int, created_at: datetime, actor_id, actor_label: str, action: str, object_type: str,  # noqa: ANN001
          object_id: str, data: dict) -> dict:
    return {"seq": seq, "created_at": _timestamp(created_at), "actor_id": None if actor_id is None else str(actor_id),
            "actor_label": actor_label, "action": action, "object_type": object_type, "object_id": object_id,
            "data": data}


def event_mac(*, key: bytes, key_id: str, prev_hash: str, seq: int, created_at: datetime, actor_id,  # noqa: ANN001
              actor_label: str, action: str, object_type: str, object_id: str, data: dict) -> str:
    """Chain version 2: HMAC-SHA256 under the audit key named ``key_id`` (which the MAC covers too)."""
    body = _body(seq=seq, created_at=created_at, actor_id=actor_id, actor_label=actor_label, action=action,
                 object_type=object_type, object_id=object_id, data=data)
    message = b"assay-audit/v2\n" + key_id.encode() + b"\n" + prev_hash.encode() + b"\n" + canonical_json(body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
        keyring = audit_keyring()
        # Under the head lock: the first keyed append records the unkeyed tip it follows.
        keyring.ensure(legacy_seq=head.seq, legacy_hash=head.hash)
        key_id, key = keyring.current()
        seq = head.seq + 1
        created_at = timezone.now()
        digest = event_mac(key=key, key_id=key_id, prev_hash=head.hash, seq=seq, created_at=created_at,
                           actor_id=actor_id, actor_label=_actor_label(actor), action=action,
                           object_type=object_type, object_id=object_id, data=payload)
        event = AuditEvent.objects.create(
            seq=seq, created_at=created_at, actor_id=actor_id, actor_label=_actor_label(actor), action=action,
            object_type=object_type, object_id=object_id, data=payload, prev_hash=head.hash, hash=digest,
            key_id=key_id,
        )
        AuditChainHead.objects.filter(id=1).update(seq=seq, hash=digest)
    return event


def audit_key_rotate(*, actor=None) -> str:  # noqa: ANN001
    """Start hashing new events under a fresh audit key (or create the first, recording the unkeyed tip).

    Events already written keep naming the key that hashed them, which stays in the key file.
    """
    from intake.models import AuditChainHead

    keyring = audit_keyring()
    with transaction.atomic():
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
        if keyring.exists():
            previous = keyring.current()[0]
            key_id = keyring.rotate()
        else:
            previous = ""
            keyring.ensure(legacy_seq=head.seq, legacy_hash=head.hash)
            key_id = keyring.current()[0]
    audit_append(action="audit.key.rotate", actor=actor, data={"from": previous, "to": key_id})
    return key_id


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    message: str
    broken_seq: int | None = None
    head_hash: str = ""


def audit_verify_chain(*, chunk_size: int = 2000, after: tuple[int, str] = (0, GENESIS)) -> ChainCheck:
    """Walk the chain in order (from the event after ``after``, a verified ``(seq, hash)``) and report the first break.

    Keyed events must carry a valid HMAC under a key in the audit key file. Unkeyed (version 1) events are
    accepted only up to the legacy tip the key file recorded when keyed hashing began, and the tip's hash must
    be the one recorded there: a database writer can neither re-chain keyed events with the public hash
    function nor pass a rewritten chain off as pre-upgrade history.
    """
    from intake.models import AuditChainHead, AuditEvent

    keyring = audit_keyring()
    legacy = keyring.legacy()  # None: keyed hashing never started, so every event is version 1
    after_seq, expected_prev = after
    expected_seq = after_seq + 1
    count = after_seq
    for event in AuditEvent.objects.filter(seq__gt=after_seq).order_by("seq").iterator(chunk_size=chunk_size):
        if event.seq != expected_seq:
            return ChainCheck(False, count, f"event {expected_seq} is missing (next present is {event.seq})",
                              expected_seq)
        if event.prev_hash != expected_prev:
            return ChainCheck(False, count, f"event {event.seq} does not follow event {event.seq - 1} "
                                            "(previous hash differs: reordered or an earlier event replaced)",
                              event.seq)
        fields = {"prev_hash": event.prev_hash, "seq": event.seq, "created_at": event.created_at,
                  "actor_id": event.actor_id, "actor_label": event.actor_label, "action": event.action,
                  "object_type": event.object_type, "object_id": event.object_id, "data": event.data}
        if event.key_id:
            try:
                key = keyring.key(event.key_id)
            except VaultError as exc:
                return ChainCheck(False, count, f"event {event.seq} cannot be checked: {exc}", event.seq)
            if not hmac.compare_digest(event_mac(key=key, key_id=event.key_id, **fields), event.hash):
                return ChainCheck(False, count, f"event {event.seq} was modified (its keyed hash does not match "
                                                "its content)", event.seq)
        else:
            if legacy is not None and event.seq > legacy[0]:
                return ChainCheck(False, count, f"event {event.seq} is not keyed, but the chain is keyed from event "
                                                f"{legacy[0] + 1} on (it was rewritten)", event.seq)
            if event_hash(**fields) != event.hash:
                return ChainCheck(False, count, f"event {event.seq} was modified (its hash does not match its "
                                                "content)", event.seq)
            if legacy is not None and event.seq == legacy[0] and event.hash != legacy[1]:
                return ChainCheck(False, count, f"event {event.seq} is not the unkeyed chain tip the audit key file "
                                                "recorded when keyed hashing began (the history before it was "
                                                "rewritten)", event.seq)
        expected_prev = event.hash
        expected_seq += 1
        count += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.seq, head.hash) != (count, expected_prev):
        if head.seq > count:
            return ChainCheck(False, count, f"event {count + 1} is missing: the chain head records {head.seq} "
                                            "events (the tail was deleted)", count + 1)
        return ChainCheck(False, count, "the chain head does not match the last event", count)
    return ChainCheck(True, count, f"audit chain intact: {count} events, head {expected_prev[:16]}",
                      head_hash=expected_prev)
