"""Platform signing keys: key ids, rotation that keeps old public keys, validity periods."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone

import pytest

from intake.signing import SignatureInvalid, SigningKeyring, load_published_keys, verify


def test_it_creates_a_private_key_0600_and_publishes_its_public_key(tmp_path):
    ring = SigningKeyring(tmp_path / "signing.pem")
    key_id, signature = ring.sign(b"hello")
    assert stat.S_IMODE((tmp_path / "signing.pem").stat().st_mode) == 0o600
    published = json.loads((tmp_path / "signing.published.json").read_text())
    assert [k["key_id"] for k in published["keys"]] == [key_id]
    assert "PRIVATE" not in (tmp_path / "signing.published.json").read_text()
    assert verify(b"hello", key_id=key_id, signature=signature, keys=load_published_keys(published)).key_id == key_id


def test_documents_signed_before_a_rotation_still_verify_after_it(tmp_path):
    ring = SigningKeyring(tmp_path / "signing.pem")
    old_id, old_signature = ring.sign(b"receipt one")
    new_id = ring.rotate()
    assert new_id != old_id
    key_id, _ = ring.sign(b"receipt two")
    assert key_id == new_id
    keys = ring.published_keys()
    old = next(k for k in keys if k.key_id == old_id)
    assert old.not_after is not None
    assert verify(b"receipt one", key_id=old_id, signature=old_signature, keys=keys,
                  signed_at=old.not_before).key_id == old_id


def test_a_signature_dated_after_its_key_was_retired_is_refused(tmp_path):
    ring = SigningKeyring(tmp_path / "signing.pem")
    old_id, signature = ring.sign(b"doc")
    ring.rotate()
    with pytest.raises(SignatureInvalid, match=f"outside the validity period of key {old_id}"):
        verify(b"doc", key_id=old_id, signature=signature, keys=ring.published_keys(),
               signed_at=datetime.now(timezone.utc) + timedelta(days=1))


def test_a_tampered_published_key_is_refused(tmp_path):
    ring = SigningKeyring(tmp_path / "signing.pem")
    ring.sign(b"x")
    other = SigningKeyring(tmp_path / "other.pem")
    other.sign(b"x")
    document = ring.published_json()
    document["keys"][0]["public_key"] = other.published_json()["keys"][0]["public_key"]
    with pytest.raises(SignatureInvalid, match="does not match its public key"):
        load_published_keys(document)
