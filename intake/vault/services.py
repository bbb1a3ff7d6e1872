"""The vault: envelope-encrypted artifact storage behind intake.storage's interface.

``VaultStore.put`` makes a fresh data key per object, streams the plaintext
through the chunked AES-256-GCM format into the storage backend and records
the wrapped key; ``open`` unwraps and returns an authenticating reader, and
audits the decrypt (who, which artifact, why). ``vault_destroy_keys`` is the
crypto-shred primitive used by intake.vault.shredding.

Plaintext never touches disk here: it streams from the caller to the cipher
and from the cipher to the caller.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from intake.audit import audit_append
from intake.storage import StoredObject
from intake.vault.backends import StorageBackend, backend_from_uri
from intake.vault.crypto import DEFAULT_CHUNK_BYTES, encrypt_stream, open_decrypting
from intake.vault.errors import KeyDestroyed, ObjectMissing, VaultError
from intake.vault.keys import KeyProvider, KmsKeyProvider, key_provider_from_uri
from intake.vault.models import CaseKey, VaultObject, VaultObjectState
from intake.vault.sealed_fields import case_key_context

log = logging.getLogger(__name__)


class ReadPurpose(models.TextChoices):
    TRIAGE_RUN = "triage_run", "Triage run"
    REVIEWER_GRANT = "reviewer_grant", "Reviewer access grant"
    BUILDER_DOWNLOAD = "builder_download", "Builder download"
    BUILDER_EXPORT = "builder_export", "Builder data export"
    DISPUTE_REVIEW = "dispute_review", "Coordinator reading a dispute's evidence"
    SYSTEM = "system", "System maintenance (backup check, key rotation)"


# Who may read for which purpose: a person's purposes need that person's access decision (intake.access), the
# others are system purposes (intake.access.SystemRead). A decision for a role reads only with its own purposes.
PERSON_PURPOSES = {"builder": {ReadPurpose.BUILDER_DOWNLOAD, ReadPurpose.BUILDER_EXPORT},
                   "reviewer": {ReadPurpose.REVIEWER_GRANT}}
SYSTEM_PURPOSES = {ReadPurpose.TRIAGE_RUN, ReadPurpose.DISPUTE_REVIEW, ReadPurpose.SYSTEM}
CASE_LABEL_PREFIX = "case:"  # a non-artifact vault object bound to a case is labelled "case:<uuid>:<what>"


class AccessRefused(VaultError):
    """The read was not covered by an allowed access decision or a system purpose."""


_backends: dict[str, StorageBackend] = {}
_backends_lock = threading.Lock()


def backend_for(uri: str) -> StorageBackend:
    """One backend (and boto3 client) per URI per process."""
    with _backends_lock:
        if uri not in _backends:
            _backends[uri] = backend_from_uri(uri)
        return _backends[uri]


def key_context(vault_object_id: uuid.UUID) -> dict[str, str]:
    """What a wrapped data key is bound to. No file names: KMS logs its encryption context in clear."""
    return {"assay:vault-object": str(vault_object_id)}


def _vault_object(key: str) -> VaultObject:
    try:
        return VaultObject.objects.get(pk=uuid.UUID(hex=key))
    except (ValueError, TypeError, VaultObject.DoesNotExist):
        raise ObjectMissing("no such vault object") from None


class VaultStore:
    """Implements intake.storage.ArtifactStore: put / open / delete, plus audited reads."""

    def __init__(self, *, vault_uri: str | None = None, key_provider_uri: str | None = None,
                 chunk_size: int = DEFAULT_CHUNK_BYTES):
        self.vault_uri = vault_uri or settings.ASSAY_VAULT
        self.key_provider_uri = key_provider_uri or settings.ASSAY_KEY_PROVIDER
        self.chunk_size = chunk_size

    @property
    def backend(self) -> StorageBackend:
        return backend_for(self.vault_uri)

    @property
    def keys(self) -> KeyProvider:
        return key_provider_from_uri(self.key_provider_uri)

    def put(self, stream: BinaryIO, *, max_bytes: int, artifact_id: str) -> StoredObject:
        """Encrypt and store ``stream``; all or nothing.

        The object row is written first (pending, with its wrapped key) so a
        crash mid-upload leaves a findable record that ``vault_sweep_abandoned``
        removes; any failure here removes the row and the partial ciphertext
        before re-raising.
        """
        object_id = uuid.uuid4()
        data_key = self.keys.generate_data_key(context=key_context(object_id))
        record = VaultObject.objects.create(
            id=object_id, label=str(artifact_id)[:255], location=self.backend.uri, chunk_size=self.chunk_size,
            data_key_id="dk-" + uuid.uuid4().hex, key_provider=self.keys.uri, kek_id=data_key.kek_id,
            wrapped_key=data_key.wrapped)
        writer = None
        try:
            writer = self.backend.writer(record.storage_key)
            result = encrypt_stream(stream, writer.write, key=data_key.plaintext, object_id=object_id,
                                    chunk_size=self.chunk_size, max_bytes=max_bytes)
            writer.commit()
            VaultObject.objects.filter(pk=object_id).update(
                state=VaultObjectState.STORED, size=result.size, sha256=result.sha256,
                ciphertext_size=result.ciphertext_size, stored_at=timezone.now())
        except BaseException:
            if writer is not None:
                writer.abort()
            VaultObject.objects.filter(pk=object_id).delete()
            raise
        return StoredObject(key=record.storage_key, size=result.size, sha256=result.sha256)

    def open(self, key: str, *, access, purpose: str | None = None, reason: str = "") -> BinaryIO:  # noqa: ANN001
        """Decrypting reader over one object; every call is an audit event.

        ``access`` is what allows the read: a person's allowed decision from the access kernel
        (intake.access.access_decide, at grey box or above, for an object of that decision's case, with one of
        that role's purposes), or an explicit system purpose (intake.access.SystemRead). Anything else is refused
        before a key is unwrapped.
        """
        record = _vault_object(key)
        actor, purpose, access_data = _authorise(record, access, purpose)
        if record.state == VaultObjectState.SHREDDED or record.wrapped_key is None:
            raise KeyDestroyed("this artifact was crypto-shredded; its content is unrecoverable")
        if record.state != VaultObjectState.STORED:
            raise ObjectMissing("this vault object was never completely stored")
        plaintext_key = key_provider_from_uri(record.key_provider).unwrap(
            wrapped=bytes(record.wrapped_key), kek_id=record.kek_id, context=key_context(record.id))
        _audit_decrypt(record, actor=actor, purpose=purpose, reason=reason, access=access_data)
        source = backend_for(record.location).open(record.storage_key)
        return open_decrypting(source, key=plaintext_key, expected_object_id=record.id,
                               expected_chunk_size=record.chunk_size)

    def delete(self, key: str) -> None:
        """Remove an object that was never part of a case's history (a failed insert, a draft removal).

        The row (and with it the wrapped key) goes first, so even if the
        ciphertext delete fails the content is already unrecoverable.
        """
        try:
            record = _vault_object(key)
        except ObjectMissing:
            return
        location = record.location
        VaultObject.objects.filter(pk=record.pk).delete()
        backend_for(location).delete(record.storage_key)


def _case_of(record: VaultObject):  # noqa: ANN202
    """The case an object belongs to: its artifact's, or the one its label names; None when neither says."""
    from intake.models import Artifact

    owner = Artifact.objects.filter(storage_key=record.storage_key).values_list("submission_id", flat=True).first()
    if owner is not None:
        return str(owner)
    if record.label.startswith(CASE_LABEL_PREFIX):
        return record.label[len(CASE_LABEL_PREFIX):].split(":", 1)[0]
    return None


def _authorise(record: VaultObject, access, purpose: str | None) -> tuple[object, str, dict]:  # noqa: ANN001
    """(actor, purpose, what the audit event records of the access) or AccessRefused."""
    from intake.access import AccessDecision, SystemRead

    if isinstance(access, SystemRead):
        if access.purpose not in SYSTEM_PURPOSES or (purpose is not None and purpose != access.purpose):
            raise AccessRefused(f"{access.purpose!r} is not a system read purpose")
        return access.actor, access.purpose, {"system_purpose": access.purpose}
    if not isinstance(access, AccessDecision):
        raise AccessRefused("a vault read needs an access decision or a system purpose")
    if not access.reads_content:
        raise AccessRefused("this access decision does not cover reading the case's content")
    if purpose not in PERSON_PURPOSES.get(access.role, set()):
        raise AccessRefused(f"a {access.role} decision cannot read for purpose {purpose!r}")
    if _case_of(record) != str(access.submission_id):
        raise AccessRefused("this object does not belong to the case the access decision is for")
    from intake.models import User

    return User.objects.filter(pk=access.user_id).first(), purpose, access.audit_data()


def _audit_decrypt(record: VaultObject, *, actor, purpose: str, reason: str, access: dict) -> None:  # noqa: ANN001
    from intake.models import Artifact

    artifact = Artifact.objects.filter(storage_key=record.storage_key).select_related("submission").first()
    data = {"purpose": purpose, "vault_object": str(record.id), "data_key_id": record.data_key_id,
            "access": access}
    if reason:
        data["reason"] = reason[:500]
    if artifact is not None:
        data.update({"submission": str(artifact.submission_id), "case": artifact.submission.reference,
                     "sha256": artifact.sha256})
        obj = artifact
    else:
        obj = ("vault.vaultobject", str(record.id))
    audit_append(action="vault.decrypt", actor=actor, obj=obj, data=data)


def vault_store() -> VaultStore:
    return VaultStore()


def vault_read(*, artifact, access, purpose: str | None = None, reason: str = "") -> BinaryIO:  # noqa: ANN001
    """Audited read of one artifact's plaintext, allowed by ``access`` (see VaultStore.open)."""
    return vault_store().open(artifact.storage_key, access=access, purpose=purpose, reason=reason)


def vault_destroy_keys(*, records: Iterable[VaultObject]) -> list[VaultObject]:
    """Destroy the wrapped data keys of ``records``: their ciphertext is noise from here on.

    Must run inside the caller's transaction, so that a failure later in
    the shred rolls the keys back and the case stays intact.
    """
    now = timezone.now()
    destroyed = []
    for record in records:
        rows = VaultObject.objects.filter(pk=record.pk, state=VaultObjectState.STORED).update(
            wrapped_key=None, state=VaultObjectState.SHREDDED, key_destroyed_at=now)
        if rows != 1:
            raise VaultError(f"vault object {record.pk} changed during shredding; retry")
        destroyed.append(record)
    return destroyed


def vault_purge_ciphertext(*, limit: int = 500) -> int:
    """Delete ciphertext whose key is already destroyed. Idempotent; failures are retried next run."""
    purged = 0
    pending = VaultObject.objects.filter(state=VaultObjectState.SHREDDED, ciphertext_deleted_at__isnull=True)
    for record in pending.order_by("key_destroyed_at")[:limit]:
        try:
            backend_for(record.location).delete(record.storage_key)
        except VaultError as exc:
            log.warning("ciphertext purge of vault object %s deferred: %s", record.pk, exc)
            continue
        VaultObject.objects.filter(pk=record.pk).update(ciphertext_deleted_at=timezone.now())
        purged += 1
    return purged


def vault_sweep_abandoned(*, older_than_hours: int = 24) -> int:
    """Remove uploads that never finished (the process died mid-upload): their key row and partial ciphertext."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    swept = 0
    for record in VaultObject.objects.filter(state=VaultObjectState.PENDING, created_at__lt=cutoff):
        with transaction.atomic():
            VaultObject.objects.filter(pk=record.pk, state=VaultObjectState.PENDING).delete()
        try:
            backend_for(record.location).delete(record.storage_key)
        except VaultError as exc:
            log.warning("abandoned upload %s: ciphertext delete deferred: %s", record.pk, exc)
        swept += 1
    return swept


def vault_rewrap_keys(*, provider_uri: str | None = None, batch: int = 200) -> int:
    """Re-wrap every live data key (artifacts' and cases') under the current KEK of ``provider_uri``.

    Content is not re-encrypted. Each row is updated guarded by its old wrapped key, so a concurrent shred
    (which nulls the key) always wins and a shredded key is never revived.
    """
    target = key_provider_from_uri(provider_uri or settings.ASSAY_KEY_PROVIDER)
    current = target.current_kek_id()
    rewrapped = 0
    for model, context_of in ((VaultObject, lambda record: key_context(record.id)),
                              (CaseKey, lambda record: case_key_context(record.case_id))):
        live = model.objects.filter(wrapped_key__isnull=False).exclude(key_provider=target.uri, kek_id=current)
        for record in live.order_by("created_at").iterator(chunk_size=batch):
            wrapped, kek_id = _rewrap(record, target=target, context=context_of(record))
            rows = model.objects.filter(pk=record.pk, kek_id=record.kek_id, key_provider=record.key_provider,
                                        wrapped_key__isnull=False).update(
                wrapped_key=wrapped, kek_id=kek_id, key_provider=target.uri)
            rewrapped += rows
    return rewrapped


def _rewrap(record, *, target: KeyProvider, context: dict[str, str]) -> tuple[bytes, str]:  # noqa: ANN001
    source = key_provider_from_uri(record.key_provider)
    # Same provider, or KMS to KMS (ReEncrypt): the plaintext data key never reaches this process.
    if source.uri == target.uri or (isinstance(source, KmsKeyProvider) and isinstance(target, KmsKeyProvider)):
        return target.rewrap(wrapped=bytes(record.wrapped_key), kek_id=record.kek_id, context=context)
    # Moving between providers (e.g. local → KMS): unwrap with the old, wrap with the new.
    plaintext = source.unwrap(wrapped=bytes(record.wrapped_key), kek_id=record.kek_id, context=context)
    return target.wrap(plaintext=plaintext, context=context)
