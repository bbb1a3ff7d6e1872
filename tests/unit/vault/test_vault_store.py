"""The vault behind intake.storage's interface: streaming, all-or-nothing uploads, audited decrypts."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from intake.errors import TooLarge
from intake.models import AuditEvent
from intake.services import artifact_add
from intake.storage import StoredObject, artifact_store
from intake.vault.errors import IntegrityFailure, KeyDestroyed, ObjectMissing, UnknownKey, VaultError
from intake.vault.models import VaultObject, VaultObjectState
from intake.vault.services import AccessRefused, ReadPurpose, VaultStore, vault_read, vault_sweep_abandoned
from tests.factories import make_draft
from intake.access import SystemRead, access_decide

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access

pytestmark = pytest.mark.django_db


def vault_files() -> list[Path]:
    root = Path(settings.ASSAY_VAULT.removeprefix("file://"))
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_it_round_trips_through_the_storage_interface_and_hashes_the_plaintext():
    plaintext = os.urandom(3 * 1024 * 1024 + 17)
    stored = artifact_store().put(io.BytesIO(plaintext), max_bytes=10**8, artifact_id="agent.tar.gz")
    assert isinstance(stored, StoredObject)
    assert stored.size == len(plaintext)
    assert stored.sha256 == hashlib.sha256(plaintext).hexdigest()
    with artifact_store().open(stored.key, access=MAINTENANCE_READ) as reader:
        assert reader.read() == plaintext


def test_only_ciphertext_reaches_the_storage_backend():
    marker = b"UNPUBLISHED-SYSTEM-PROMPT-" * 1000
    stored = artifact_store().put(io.BytesIO(marker), max_bytes=10**8, artifact_id="prompt.txt")
    files = vault_files()
    assert len(files) == 1
    raw = files[0].read_bytes()
    assert b"UNPUBLISHED" not in raw
    assert stat_mode(files[0]) == 0o600
    assert VaultObject.objects.get(pk=stored.key).state == VaultObjectState.STORED


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_an_upload_over_the_cap_is_413_and_leaves_no_key_or_ciphertext():
    with pytest.raises(TooLarge) as caught:
        VaultStore(chunk_size=1024).put(io.BytesIO(b"x" * 5000), max_bytes=4096, artifact_id="big.zip")
    assert caught.value.http_status == 413
    assert str(caught.value) == "artifact is larger than the 4096 byte limit"
    assert VaultObject.objects.count() == 0
    assert vault_files() == []


class BrokenUpload(io.RawIOBase):
    """A client connection that dies after some bytes."""

    def __init__(self, good: int):
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self.left <= 0:
            raise ConnectionResetError("client went away")
        n = min(len(buffer), self.left)
        buffer[:n] = b"a" * n
        self.left -= n
        return n


def test_a_failed_upload_leaves_no_orphan_key_or_ciphertext_and_can_be_restarted():
    store = VaultStore(chunk_size=1024)
    with pytest.raises(ConnectionResetError):
        store.put(BrokenUpload(10_000), max_bytes=10**6, artifact_id="a.zip")
    assert VaultObject.objects.count() == 0
    assert vault_files() == []
    stored = store.put(io.BytesIO(b"a" * 10_000), max_bytes=10**6, artifact_id="a.zip")
    assert VaultObject.objects.get().storage_key == stored.key


def test_every_decrypt_is_audited_with_who_which_artifact_and_why(builder, terms):
    submission = make_draft(builder)
    artifact = submission.artifacts.get()
    with vault_read(artifact=artifact, access=access_decide(builder, submission),
                    purpose=ReadPurpose.BUILDER_DOWNLOAD) as reader:
        assert reader.read() == b'{"permissions": {"allow": ["Read"]}}'
    event = AuditEvent.objects.filter(action="vault.decrypt").get()
    assert event.actor_id == builder.pk
    assert event.data["access"] == {"role": "builder", "tier": "owner", "redacted": False, "basis": "owner"}
    assert (event.object_type, event.object_id) == ("intake.artifact", str(artifact.pk))
    assert event.data["purpose"] == "builder_download"
    assert event.data["case"] == submission.reference
    assert event.data["sha256"] == artifact.sha256


def test_a_system_read_is_audited_as_one(builder, terms):
    artifact = make_draft(builder).artifacts.get()
    artifact_store().open(artifact.storage_key, access=MAINTENANCE_READ).close()
    event = AuditEvent.objects.filter(action="vault.decrypt").get()
    assert (event.actor_id, event.actor_label, event.data["purpose"]) == (None, "system", "system")
    assert event.data["access"] == {"system_purpose": "system"}


def test_a_read_without_an_allowing_decision_is_refused_before_decrypting(builder, other_builder, terms):
    mine, theirs = make_draft(builder), make_draft(other_builder)
    artifact = mine.artifacts.get()
    mine_access = access_decide(builder, mine)
    refused = [
        (None, None),  # no decision at all
        ("not a decision", None),
        (SystemRead("builder_download"), None),  # a person's purpose is no system purpose
        (mine_access, "curiosity"),  # an unknown purpose
        (mine_access, ReadPurpose.REVIEWER_GRANT),  # another role's purpose
        (mine_access, None),
        (access_decide(other_builder, mine), ReadPurpose.BUILDER_DOWNLOAD),  # not allowed
        (access_decide(builder, theirs), ReadPurpose.BUILDER_DOWNLOAD),  # not allowed either
        (access_decide(other_builder, theirs), ReadPurpose.BUILDER_DOWNLOAD),  # allowed, for another case
    ]
    for access, purpose in refused:
        with pytest.raises(AccessRefused):
            artifact_store().open(artifact.storage_key, access=access, purpose=purpose)
    assert not AuditEvent.objects.filter(action="vault.decrypt").exists()
    artifact_store().open(artifact.storage_key, access=mine_access, purpose=ReadPurpose.BUILDER_DOWNLOAD).close()
    assert AuditEvent.objects.filter(action="vault.decrypt").count() == 1


def test_tampered_ciphertext_on_disk_is_refused():
    stored = VaultStore(chunk_size=1024).put(io.BytesIO(b"b" * 5000), max_bytes=10**6, artifact_id="x")
    path = vault_files()[0]
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x40
    path.write_bytes(bytes(raw))
    with artifact_store().open(stored.key, access=MAINTENANCE_READ) as reader:
        with pytest.raises(IntegrityFailure, match="chunk 4 failed authentication"):
            reader.read()


def test_ciphertext_copied_over_another_artifact_is_refused():
    store = VaultStore(chunk_size=1024)
    first = store.put(io.BytesIO(b"first"), max_bytes=100, artifact_id="a")
    second = store.put(io.BytesIO(b"second"), max_bytes=100, artifact_id="b")
    root = Path(settings.ASSAY_VAULT.removeprefix("file://"))
    target = root / second.key[:2] / second.key
    target.write_bytes((root / first.key[:2] / first.key).read_bytes())
    with pytest.raises(IntegrityFailure, match="belongs to a different artifact"):
        store.open(second.key, access=MAINTENANCE_READ)


def test_a_key_wrapped_under_a_kek_we_do_not_hold_is_an_unknown_key_error(tmp_path):
    stored = artifact_store().put(io.BytesIO(b"c"), max_bytes=100, artifact_id="x")
    VaultObject.objects.filter(pk=stored.key).update(key_provider=f"local:{tmp_path / 'other-kek'}")
    with pytest.raises(UnknownKey, match="does not hold"):
        artifact_store().open(stored.key, access=MAINTENANCE_READ)


def test_missing_ciphertext_and_unknown_keys_give_clear_errors():
    stored = artifact_store().put(io.BytesIO(b"d"), max_bytes=100, artifact_id="x")
    for path in vault_files():
        path.unlink()
    with pytest.raises(ObjectMissing, match="is not in storage"):
        artifact_store().open(stored.key, access=MAINTENANCE_READ)
    with pytest.raises(ObjectMissing, match="no such vault object"):
        artifact_store().open("0" * 32, access=MAINTENANCE_READ)
    with pytest.raises(ObjectMissing, match="no such vault object"):
        artifact_store().open("../../etc/passwd", access=MAINTENANCE_READ)


def test_a_destroyed_key_makes_open_fail_as_gone():
    stored = artifact_store().put(io.BytesIO(b"e"), max_bytes=100, artifact_id="x")
    VaultObject.objects.filter(pk=stored.key).update(wrapped_key=None, state=VaultObjectState.SHREDDED)
    with pytest.raises(KeyDestroyed) as caught:
        artifact_store().open(stored.key, access=MAINTENANCE_READ)
    assert caught.value.http_status == 410


def test_delete_removes_key_and_ciphertext():
    stored = artifact_store().put(io.BytesIO(b"f"), max_bytes=100, artifact_id="x")
    artifact_store().delete(stored.key)
    assert VaultObject.objects.count() == 0
    assert vault_files() == []
    artifact_store().delete(stored.key)  # idempotent


def test_artifact_add_stores_through_the_vault_and_rejects_oversize_with_413(builder, terms, settings):
    from tests.factories import make_draft as draft

    submission = draft(builder, complete=False)
    settings.ASSAY_MAX_ARTIFACT_BYTES = 10
    with pytest.raises(TooLarge):
        artifact_add(submission=submission, actor=builder, name="big.json", stream=io.BytesIO(b"{}" * 10),
                     kind="config")
    assert VaultObject.objects.count() == 0
    artifact = artifact_add(submission=submission, actor=builder, name="ok.json", stream=io.BytesIO(b"{}"), kind="config")
    assert VaultObject.objects.get().storage_key == artifact.storage_key


def test_uploads_abandoned_by_a_dead_process_are_swept():
    from datetime import timedelta

    from django.utils import timezone

    stored = artifact_store().put(io.BytesIO(b"g"), max_bytes=100, artifact_id="x")
    VaultObject.objects.filter(pk=stored.key).update(state=VaultObjectState.PENDING,
                                                     created_at=timezone.now() - timedelta(days=2))
    fresh = artifact_store().put(io.BytesIO(b"h"), max_bytes=100, artifact_id="y")
    VaultObject.objects.filter(pk=fresh.key).update(state=VaultObjectState.PENDING)
    assert vault_sweep_abandoned() == 1
    assert list(VaultObject.objects.values_list("id", flat=True)) == [VaultObject.objects.get(pk=fresh.key).pk]
    assert len(vault_files()) == 1


@override_settings(ASSAY_VAULT="ftp://example.invalid/")
def test_a_malformed_vault_uri_is_refused():
    with pytest.raises(VaultError, match="must be file:///path or s3://bucket/prefix"):
        artifact_store().put(io.BytesIO(b""), max_bytes=1, artifact_id="x")
