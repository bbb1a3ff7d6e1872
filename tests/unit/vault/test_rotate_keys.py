"""``rotate_keys``: new KEK version, data keys re-wrapped, content untouched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from intake.models import AuditEvent
from intake.storage import artifact_store
from intake.vault.keys import key_provider
from intake.vault.models import VaultObject, VaultObjectState
from intake.access import SystemRead
from intake.vault.services import ReadPurpose

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access

pytestmark = pytest.mark.django_db


def test_it_rewraps_every_live_data_key_without_touching_ciphertext():
    store = artifact_store()
    stored = [store.put(io.BytesIO(f"artifact {i}".encode() * 100), max_bytes=10**6, artifact_id=str(i))
              for i in range(3)]
    shredded = VaultObject.objects.get(pk=stored[2].key)
    VaultObject.objects.filter(pk=shredded.pk).update(wrapped_key=None, state=VaultObjectState.SHREDDED)
    root = Path(settings.ASSAY_VAULT.removeprefix("file://"))
    before = {s.key: (root / s.key[:2] / s.key).read_bytes() for s in stored}
    old_kek = key_provider().current_kek_id()

    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    new_kek = key_provider().current_kek_id()
    assert new_kek != old_kek
    assert out.getvalue().strip() == f"KEK {new_kek}: re-wrapped 2 data key(s)"
    assert set(VaultObject.objects.filter(wrapped_key__isnull=False).values_list("kek_id", flat=True)) == {new_kek}
    assert VaultObject.objects.get(pk=shredded.pk).wrapped_key is None  # a shredded key is never revived
    assert {s.key: (root / s.key[:2] / s.key).read_bytes() for s in stored} == before
    for item in stored[:2]:
        with store.open(item.key, access=MAINTENANCE_READ) as reader:
            assert reader.read().startswith(b"artifact")
    assert AuditEvent.objects.filter(action="vault.kek.rotate", data__kek_id=new_kek).exists()


def test_it_rotates_the_signing_key_and_keeps_the_old_one_published():
    from intake.signing import platform_keyring

    old = platform_keyring().current_key_id()
    call_command("rotate_keys", "--signing", stdout=io.StringIO())
    ids = [k.key_id for k in platform_keyring().published_keys()]
    assert old in ids and platform_keyring().current_key_id() in ids and len(ids) == 2
