"""Crypto-shredding of a case, with a signed deletion receipt.

Order matters. The receipt is signed first (nothing changes if signing
fails); then, in one transaction, the data keys are destroyed, the case moves
to ``shredded`` and the receipt is stored, appended (by digest) to the
transparency log and audited, and last the shred is appended to the shred
ledger kept outside the database (ledger.py), so any failure leaves
the case exactly as it was and the shred can simply be retried. Ciphertext is
deleted after the commit; if that fails the content is already noise and the
periodic sweep retries the delete.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

from intake.audit import audit_append, canonical_json
from intake.models import ReviewRequest, Submission
from intake.signing import _iso
from intake.states import IllegalTransition, State, can_transition, transition
from intake.vault.errors import NotAllowed, ShredBlocked
from intake.vault.ledger import ledger_append
from intake.vault.models import CaseKey, DeletionReceipt, VaultObject, VaultObjectState
from intake.vault.receipts import RECEIPT_TYPE, receipt_sign
from intake.vault.retention import shredding_blocked_reason
from intake.vault.sealed_fields import case_key_destroy
from intake.vault.shred_records import RETAINED, shred_counts, shred_records
from intake.vault.services import vault_destroy_keys, vault_purge_ciphertext

log = logging.getLogger(__name__)

METHOD = ("crypto-shred: each artifact's AES-256-GCM data key and the case's data key (which sealed every "
          "submitted and derived record in the database) destroyed, making their ciphertext and every copy of "
          "it unrecoverable; ciphertext deleted from storage and sealed records overwritten")
TRIGGERS = ("retention_expired", "builder_request", "coordinator")
# Record classes destroyed by overwriting rather than under the case key (they are never sealed).
UNSEALED = frozenset({"intake.artifact_name", "triage.fingerprint_detail", "reviews.report_pdf"})


# Other vault objects a case owns besides its artifacts (e.g. triage's dynamic-stage records).
# Each source maps a case to the storage keys it holds in the vault; apps add theirs with
# register_case_vault_keys so shredding a case can never miss them.
CaseVaultKeys = Callable[[Submission], Iterable[str]]
_case_key_sources: list[CaseVaultKeys] = []


def register_case_vault_keys(source: CaseVaultKeys) -> CaseVaultKeys:
    if source not in _case_key_sources:
        _case_key_sources.append(source)
    return source


def _derived_keys(submission: Submission) -> list[str]:
    keys: list[str] = []
    for source in _case_key_sources:
        keys.extend(key for key in source(submission) if key)
    return keys


def _receipt_body(*, submission: Submission, receipt_id: uuid.UUID, issued_at, trigger: str,  # noqa: ANN001
                  artifacts: list, records: dict[str, VaultObject], derived: list[str],
                  case_key: CaseKey | None, record_classes: list[dict]) -> dict:
    listed = []
    for artifact in artifacts:
        record = records.get(artifact.storage_key)
        listed.append({"sha256": artifact.sha256, "size": artifact.size,
                       "data_key_id": record.data_key_id if record else None})
    # Vaulted derived objects first (as receipts always listed them), then every database record class
    # the case key sealed, with its row count.
    derived_listed = sorted(({"record_class": "vault.vault_object", "count": 1, "sha256": records[key].sha256,
                              "size": records[key].size, "data_key_id": records[key].data_key_id}
                             for key in derived if key in records), key=lambda item: item["data_key_id"])
    case_key_id = case_key.data_key_id if case_key is not None else None
    derived_listed += [{**item, "data_key_id": case_key_id if item["record_class"] not in UNSEALED else None}
                       for item in record_classes]
    destroyed = sorted([record.data_key_id for record in records.values()] + ([case_key_id] if case_key_id else []))
    return {
        "type": RECEIPT_TYPE,
        "receipt_id": str(receipt_id),
        "case_reference": submission.reference,
        "config_digest": submission.config_digest or None,
        "issued_at": _iso(issued_at),
        "method": METHOD,
        "trigger": trigger,
        "artifacts": sorted(listed, key=lambda item: (item["sha256"], item["data_key_id"] or "")),
        "derived_records": derived_listed,
        "case_data_key_id": case_key_id,
        "retained": list(RETAINED),
        "data_keys_destroyed": destroyed,
    }


def case_shred(*, submission: Submission, actor, trigger: str, reason: str = "") -> DeletionReceipt:  # noqa: ANN001
    """Destroy a case's data keys, move it to ``shredded`` and return the signed receipt.

    The caller has checked that ``actor`` may do this (the builder for their
    own case, a coordinator, or the retention sweep with ``actor=None``).
    Raises ShredBlocked under a legal hold or open dispute, IllegalTransition
    when the case is not in a state that may be shredded (close or withdraw it
    first).
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown shred trigger {trigger!r}")
    submission.refresh_from_db()
    if not can_transition(submission.state, State.SHREDDED):
        raise IllegalTransition(submission.state, State.SHREDDED)
    # Issue 15: a pending request for human review holds the retention sweep and coordinators, not the builder
    # who made it: their deletion request withdraws it (below, with the shred).
    own_request = trigger == "builder_request"
    blocked = shredding_blocked_reason(submission, may_have_review_requests=not own_request)
    if blocked:
        raise ShredBlocked(blocked)
    artifacts = list(submission.artifacts.all())
    derived = _derived_keys(submission)
    keys = [artifact.storage_key for artifact in artifacts] + derived
    records = {record.storage_key: record for record in VaultObject.objects.filter(
        id__in=[_uuid(key) for key in keys if _uuid(key)], state=VaultObjectState.STORED)}
    case_key = CaseKey.objects.filter(case_id=submission.pk, wrapped_key__isnull=False).first()
    receipt_id = uuid.uuid4()
    issued_at = timezone.now().replace(microsecond=0)
    document = receipt_sign(_receipt_body(submission=submission, receipt_id=receipt_id, issued_at=issued_at,
                                          trigger=trigger, artifacts=artifacts, records=records,
                                          derived=derived, case_key=case_key,
                                          record_classes=shred_counts(submission)))
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        blocked = shredding_blocked_reason(locked, may_have_review_requests=not own_request)  # a hold placed
        if blocked:  # since the first check still wins
            raise ShredBlocked(blocked)
        ReviewRequest.objects.filter(submission=locked, status=ReviewRequest.Status.PENDING).update(
            status=ReviewRequest.Status.WITHDRAWN)
        vault_destroy_keys(records=records.values())
        case_key_destroy(locked.pk)
        shred_records(locked)
        # A builder's reason is their text: the audit event (kept for ever) records only its length. A
        # coordinator's reason is their account of the decision and stays.
        audited_reason = reason[:500] if trigger == "coordinator" and reason else trigger
        transition(locked, State.SHREDDED, actor=actor, reason=audited_reason,
                   data={"receipt": str(receipt_id), "trigger": trigger, "reason_chars": len(reason or "")})
        receipt = DeletionReceipt.objects.create(
            id=receipt_id, submission=locked, case_reference=locked.reference, issued_at=issued_at,
            signing_key_id=document["signature"]["key_id"], document=document)
        log_entry = _log_receipt(document)
        audit_append(action="vault.shred", actor=actor, obj=locked,
                     data={"receipt": str(receipt_id), "trigger": trigger,
                           "data_keys_destroyed": document["receipt"]["data_keys_destroyed"],
                           "signing_key_id": receipt.signing_key_id, "transparency_index": log_entry.index,
                           "receipt_sha256": log_entry.subject_sha256})
        # Last, before the commit, outside the database: a restore of an older backup replays this line
        # (ledger.py); a ledger that cannot be written rolls the whole shred back, to be retried.
        ledger_append(receipt=document, submission_id=str(locked.pk),
                      object_ids=[record.storage_key for record in records.values()],
                      data_key_ids=[record.data_key_id for record in records.values()]
                      + ([case_key.data_key_id] if case_key is not None else []))
    try:
        vault_purge_ciphertext()
        _delete_legacy_plaintext([key for key in keys if key not in records])
    except Exception:  # the keys are gone already; the periodic sweep retries the deletes
        log.exception("ciphertext purge after shredding %s deferred", submission.reference)
    submission.refresh_from_db()
    return receipt


def _delete_legacy_plaintext(keys: list[str]) -> None:
    """Artifacts stored before the vault existed sit in the plain private store: delete them outright."""
    if not keys:
        return
    from pathlib import Path

    from django.conf import settings

    from intake.storage import PrivateFileStore

    legacy = PrivateFileStore(Path(settings.DATA_DIR) / "artifacts")
    for key in keys:
        try:
            legacy.delete(key)
        except ValueError:  # not a key the plain store could ever have written
            continue


def receipt_digest(document: dict) -> str:
    """What the transparency log records for a receipt: SHA-256 of the whole signed file, canonical JSON."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def _log_receipt(document: dict):  # noqa: ANN202
    from intake.hooks import TRANSPARENCY_LOG_APPEND, hook_call

    return hook_call(TRANSPARENCY_LOG_APPEND, kind="deletion_receipt", subject_sha256=receipt_digest(document))


def case_delete_by_builder(*, submission: Submission, actor, reason: str = "") -> DeletionReceipt:  # noqa: ANN001
    """The builder's "withdraw and delete": withdraw if still open, then shred through the same path.

    Fails closed: only the case's owner may do this, whatever the caller checked.
    """
    if actor is None or actor.pk != submission.owner_id:
        raise NotAllowed("only the builder who owns this case can delete it")
    submission.refresh_from_db()
    if submission.state != State.SHREDDED and can_transition(submission.state, State.WITHDRAWN):
        transition(submission, State.WITHDRAWN, actor=actor, reason="withdrawn for deletion")
    return case_shred(submission=submission, actor=actor, trigger="builder_request", reason=reason)


def _uuid(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=key)
    except (ValueError, TypeError):
        return None
