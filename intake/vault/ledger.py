"""The shred ledger: every crypto-shred, recorded outside the database and the vault.

A database backup holds the wrapped data keys of every case not yet shredded when it was taken; restoring it
(with a file vault's ciphertext) would revive a case shredded since. The ledger closes that gap: each shred
appends one line naming the vault objects and data keys it destroyed (and the signed deletion receipt), and a
restore replays the ledger, destroying every listed key again before the instance serves.

The ledger is a JSON-lines file in ``settings.ASSAY_SHRED_LEDGER``, a directory apart from the database and
the vault (and never inside a vault backup). Each line is ``{"entry": {...}, "signature": {...}}``: the
entry carries its sequence number and the SHA-256 of the previous line (a hash chain), and is signed with
the platform's Ed25519 key under its own domain-separation prefix. Verification checks every signature, the
sequence and the chain, so an edited, reordered or removed line is detected; a removed *tail* is detected
against the head a backup recorded (infra/backup.py), and beyond that only append-only storage prevents it.

The line is written inside the shred's database transaction, after the keys are destroyed and before the
commit: a shred never commits without its ledger line (a ledger that cannot be written fails the shred,
which is retried). A shred rolled back after its line was written leaves a line for keys that still exist;
replaying it destroys them, which the retried shred was going to do anyway.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from intake.audit import canonical_json
from intake.signing import ALGORITHM, PublishedKey, SignatureInvalid, _iso, parse_time, published_keys, sign, \
    verify

LEDGER_TYPE = "assay.shred-ledger/v1"
DOMAIN = b"assay-shred-ledger/v1\n"
FILENAME = "shred-ledger.jsonl"
GENESIS = "0" * 64
_TAIL_READ = 1 << 16


class LedgerInvalid(Exception):
    """The ledger failed verification; the message names the line and the problem."""


@dataclass(frozen=True)
class LedgerHead:
    """The last line of a ledger: its sequence number (-1 when empty) and SHA-256."""

    seq: int
    sha256: str

    def as_dict(self) -> dict:
        return {"seq": self.seq, "sha256": self.sha256}

    @classmethod
    def parse(cls, value: dict | str) -> LedgerHead:
        """From ``{"seq", "sha256"}`` or ``"SEQ:SHA256"``."""
        try:
            if isinstance(value, str):
                seq, _, digest = value.partition(":")
                value = {"seq": seq, "sha256": digest}
            head = cls(int(value["seq"]), str(value["sha256"]))
        except (KeyError, TypeError, ValueError):
            raise LedgerInvalid(f"not a ledger head: {value!r}") from None
        if len(head.sha256) != 64 or head.seq < -1:
            raise LedgerInvalid(f"not a ledger head: {value!r}")
        return head


EMPTY = LedgerHead(-1, GENESIS)


def ledger_path() -> Path:
    directory = Path(settings.ASSAY_SHRED_LEDGER).resolve()
    vault = urlparse(settings.ASSAY_VAULT)
    if vault.scheme == "file":
        vault_root = Path(unquote(vault.path)).resolve()
        if directory == vault_root or vault_root in directory.parents:
            # A vault backup would then carry the ledger back in time with it.
            raise ImproperlyConfigured("ASSAY_SHRED_LEDGER must not be inside the vault")
    return directory / FILENAME


def line_sha256(document: dict) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def _signing_bytes(entry: dict) -> bytes:
    return DOMAIN + canonical_json(entry)


def _last_line(handle) -> bytes:  # noqa: ANN001
    """The file's last complete line (b"" when empty), read from the end: the ledger only grows."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    position, tail = end, b""
    while position > 0:
        step = min(_TAIL_READ, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        if tail.rstrip(b"\n").count(b"\n") >= 1:
            break
    lines = tail.rstrip(b"\n").split(b"\n")
    return lines[-1] if lines and lines[-1] else b""


def ledger_append(*, receipt: dict, submission_id: str, object_ids: list[str], data_key_ids: list[str]) -> LedgerHead:
    """Append one signed, chained line for a shred and fsync it; returns the new head."""
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one writer at a time: the chain needs the true last line
        last = _last_line(handle)
        if last:
            try:
                previous = json.loads(last)
                seq, prev = int(previous["entry"]["seq"]) + 1, line_sha256(previous)
            except (ValueError, KeyError, TypeError):
                raise LedgerInvalid(f"the last line of {path} is not a ledger entry; refusing to extend it") from None
        else:
            seq, prev = 0, GENESIS
        body = receipt["receipt"]
        entry = {
            "type": LEDGER_TYPE, "seq": seq, "prev": prev,
            "recorded_at": _iso(timezone.now()),
            "case_reference": body["case_reference"], "submission_id": str(submission_id),
            "trigger": body.get("trigger"), "receipt_id": body["receipt_id"],
            "object_ids": sorted(object_ids), "data_key_ids": sorted(data_key_ids),
            "receipt": receipt,
        }
        key_id, signature = sign(_signing_bytes(entry))
        document = {"entry": entry,
                    "signature": {"alg": ALGORITHM, "key_id": key_id, "value": base64.b64encode(signature).decode()}}
        handle.write(json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n")
        os.fsync(handle.fileno())
    return LedgerHead(seq, line_sha256(document))


def ledger_head() -> LedgerHead:
    """The current head, unverified (what a backup records so a restore can detect a truncated ledger)."""
    path = ledger_path()
    if not path.exists():
        return EMPTY
    with path.open("rb") as handle:
        last = _last_line(handle)
    if not last:
        return EMPTY
    try:
        document = json.loads(last)
        return LedgerHead(int(document["entry"]["seq"]), line_sha256(document))
    except (ValueError, KeyError, TypeError):
        raise LedgerInvalid(f"the last line of {path} is not a ledger entry") from None


def ledger_verify(*, keys: list[PublishedKey] | None = None, expect_head: LedgerHead | None = None,
                  path: Path | None = None) -> list[dict]:
    """Every line's signature, sequence and chain; returns the entries. Raises LedgerInvalid naming the line.

    ``expect_head`` is a head recorded earlier (by a backup): the ledger must still hold that very line.
    """
    path = path or ledger_path()
    keys = published_keys() if keys is None else keys
    entries: list[dict] = []
    previous = GENESIS
    if path.exists():
        with path.open("rb") as handle:
            data = handle.read()
        if data and not data.endswith(b"\n"):
            torn = data.count(b"\n") + 1
            raise LedgerInvalid(f"line {torn} of the shred ledger is incomplete (a torn write or an edit)")
        for number, raw in enumerate(data.splitlines(), start=1):
            entry = _verify_line(raw, number=number, expected_seq=number - 1, previous=previous, keys=keys)
            entries.append(entry)
            previous = line_sha256(json.loads(raw))
            if expect_head is not None and entry["seq"] == expect_head.seq and previous != expect_head.sha256:
                raise LedgerInvalid(f"line {number} of the shred ledger is not the one the backup recorded: "
                                    "the ledger was rewritten or replaced")
    if expect_head is not None and expect_head.seq >= len(entries):
        raise LedgerInvalid(f"the shred ledger has {len(entries)} line(s) but the backup recorded "
                            f"{expect_head.seq + 1}: it was truncated or replaced")
    return entries


def _verify_line(raw: bytes, *, number: int, expected_seq: int, previous: str, keys: list[PublishedKey]) -> dict:
    where = f"line {number} of the shred ledger"
    try:
        document = json.loads(raw)
    except ValueError:
        raise LedgerInvalid(f"{where} is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("entry"), dict) \
            or not isinstance(document.get("signature"), dict):
        raise LedgerInvalid(f"{where} is not a signed ledger entry")
    entry, signature = document["entry"], document["signature"]
    if entry.get("type") != LEDGER_TYPE:
        raise LedgerInvalid(f"{where} is not a {LEDGER_TYPE} entry")
    if entry.get("seq") != expected_seq:
        raise LedgerInvalid(f"{where} has sequence number {entry.get('seq')!r}, expected {expected_seq}: "
                            "a line was removed, duplicated or reordered")
    if entry.get("prev") != previous:
        raise LedgerInvalid(f"{where} does not chain to the line before it")
    if not all(isinstance(entry.get(name), list) and all(isinstance(item, str) for item in entry[name])
               for name in ("object_ids", "data_key_ids")):
        raise LedgerInvalid(f"{where} lists no object or key ids")
    if signature.get("alg") != ALGORITHM:
        raise LedgerInvalid(f"{where} has an unsupported signature algorithm")
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
        signed_at = parse_time(str(entry.get("recorded_at")))
        verify(_signing_bytes(entry), key_id=str(signature.get("key_id", "")), signature=value, keys=keys,
               signed_at=signed_at)
    except (binascii.Error, ValueError):
        raise LedgerInvalid(f"{where} has a malformed signature or time") from None
    except SignatureInvalid as exc:
        raise LedgerInvalid(f"{where}: {exc}") from None
    return entry


@dataclass
class ReplayResult:
    entries: int = 0
    keys_destroyed: list[str] = field(default_factory=list)
    cases_shredded: list[str] = field(default_factory=list)
    receipts_restored: list[str] = field(default_factory=list)


def ledger_replay(*, keys: list[PublishedKey] | None = None, expect_head: LedgerHead | None = None) -> ReplayResult:
    """Verify the ledger, then destroy every listed key still stored and mark those cases shredded again.

    Nothing is destroyed unless the whole ledger verifies: a forged line must not be able to delete anyone's
    case. Idempotent: on an instance that never went back in time it changes nothing.
    """
    from intake.audit import audit_append
    from intake.models import Submission
    from intake.states import State, can_transition, transition
    from intake.vault.models import CaseKey, DeletionReceipt, VaultObject, VaultObjectState
    from intake.vault.sealed_fields import case_key_destroy
    from intake.vault.services import vault_destroy_keys
    from intake.vault.shred_records import shred_records

    entries = ledger_verify(keys=keys, expect_head=expect_head)
    result = ReplayResult(entries=len(entries))
    for entry in entries:
        with transaction.atomic():
            records = list(VaultObject.objects.select_for_update().filter(
                id__in=entry["object_ids"], state__in=[VaultObjectState.STORED, VaultObjectState.PENDING]))
            records += list(VaultObject.objects.select_for_update().filter(
                data_key_id__in=entry["data_key_ids"], state__in=[VaultObjectState.STORED, VaultObjectState.PENDING])
                .exclude(id__in=[record.pk for record in records]))
            if records:
                VaultObject.objects.filter(pk__in=[r.pk for r in records], state=VaultObjectState.PENDING).update(
                    state=VaultObjectState.STORED)  # an upload restored half-way: destroy its key all the same
                vault_destroy_keys(records=records)
                result.keys_destroyed += [record.data_key_id for record in records]
            # The case key that sealed the case's database records, restored with the backup: destroy it again.
            case_keys = list(CaseKey.objects.select_for_update().filter(data_key_id__in=entry["data_key_ids"],
                                                                         wrapped_key__isnull=False))
            for case_key in case_keys:
                case_key_destroy(case_key.case_id)
                result.keys_destroyed.append(case_key.data_key_id)
            submission = Submission.objects.select_for_update().filter(pk=entry["submission_id"]).first()
            if submission is None:
                continue
            if case_keys:
                shred_records(submission)
            if submission.state != State.SHREDDED:
                reason = f"shred ledger replay (receipt {entry['receipt_id']})"
                if not can_transition(submission.state, State.SHREDDED) \
                        and can_transition(submission.state, State.WITHDRAWN):
                    submission = transition(submission, State.WITHDRAWN, actor=None, reason=reason)
                if can_transition(submission.state, State.SHREDDED):
                    transition(submission, State.SHREDDED, actor=None, reason=reason,
                               data={"receipt": entry["receipt_id"], "trigger": "ledger_replay"})
                    result.cases_shredded.append(entry["case_reference"])
            receipt = entry.get("receipt") or {}
            if isinstance(receipt.get("signature"), dict) and \
                    not DeletionReceipt.objects.filter(pk=entry["receipt_id"]).exists():
                DeletionReceipt.objects.create(
                    id=entry["receipt_id"], submission=submission, case_reference=entry["case_reference"],
                    issued_at=parse_time(receipt["receipt"]["issued_at"]),
                    signing_key_id=receipt["signature"]["key_id"], document=receipt)
                result.receipts_restored.append(entry["receipt_id"])
            if records or case_keys:
                destroyed = [record.data_key_id for record in records] + [key.data_key_id for key in case_keys]
                audit_append(actor=None, action="vault.ledger_replay_shred", obj=submission,
                             data={"receipt": entry["receipt_id"], "ledger_seq": entry["seq"],
                                   "data_keys_destroyed": sorted(destroyed)})
    return result
