"""The local key provider: a 0600 KEK file, versioned rotation, and refusals."""

from __future__ import annotations

import os
import stat

import pytest

from intake.vault.errors import IntegrityFailure, UnknownKey, VaultError
from intake.vault.keys import LocalKeyProvider, key_provider_from_uri

CONTEXT = {"assay:vault-object": "00000000-0000-0000-0000-000000000001"}


def test_it_creates_the_kek_file_0600_on_first_use(tmp_path):
    provider = LocalKeyProvider(tmp_path / "keys" / "kek")
    data_key = provider.generate_data_key(context=CONTEXT)
    mode = stat.S_IMODE((tmp_path / "keys" / "kek").stat().st_mode)
    assert mode == 0o600
    assert len(data_key.plaintext) == 32
    assert data_key.plaintext not in (tmp_path / "keys" / "kek").read_bytes()
    assert provider.unwrap(wrapped=data_key.wrapped, kek_id=data_key.kek_id, context=CONTEXT) == data_key.plaintext


def test_rotation_keeps_old_versions_so_old_keys_still_unwrap(tmp_path):
    provider = LocalKeyProvider(tmp_path / "kek")
    old = provider.generate_data_key(context=CONTEXT)
    new_id = provider.rotate()
    assert new_id != old.kek_id
    assert provider.current_kek_id() == new_id
    # A second process (a fresh provider on the same file) sees both versions.
    other_process = LocalKeyProvider(tmp_path / "kek")
    assert other_process.unwrap(wrapped=old.wrapped, kek_id=old.kek_id, context=CONTEXT) == old.plaintext
    rewrapped, kek_id = other_process.rewrap(wrapped=old.wrapped, kek_id=old.kek_id, context=CONTEXT)
    assert kek_id == new_id
    assert other_process.unwrap(wrapped=rewrapped, kek_id=kek_id, context=CONTEXT) == old.plaintext


def test_a_key_wrapped_for_one_object_does_not_unwrap_for_another(tmp_path):
    provider = LocalKeyProvider(tmp_path / "kek")
    data_key = provider.generate_data_key(context=CONTEXT)
    with pytest.raises(IntegrityFailure, match="does not unwrap"):
        provider.unwrap(wrapped=data_key.wrapped, kek_id=data_key.kek_id,
                        context={"assay:vault-object": "00000000-0000-0000-0000-000000000002"})


def test_an_unknown_kek_id_is_named_in_the_error(tmp_path):
    theirs = LocalKeyProvider(tmp_path / "their-kek").generate_data_key(context=CONTEXT)
    ours = LocalKeyProvider(tmp_path / "our-kek")
    with pytest.raises(UnknownKey, match=f"wrapped by key '{theirs.kek_id}'"):
        ours.unwrap(wrapped=theirs.wrapped, kek_id=theirs.kek_id, context=CONTEXT)


def test_a_kek_file_readable_by_others_is_refused(tmp_path):
    provider = LocalKeyProvider(tmp_path / "kek")
    provider.current_kek_id()
    os.chmod(tmp_path / "kek", 0o644)
    with pytest.raises(VaultError, match="must be mode 0600"):
        LocalKeyProvider(tmp_path / "kek").current_kek_id()


def test_retired_versions_are_forgotten_but_the_current_one_cannot_be(tmp_path):
    provider = LocalKeyProvider(tmp_path / "kek")
    old = provider.generate_data_key(context=CONTEXT)
    provider.rotate()
    with pytest.raises(VaultError, match="current key cannot be retired"):
        provider.retire({provider.current_kek_id()})
    provider.retire({old.kek_id})
    with pytest.raises(UnknownKey):
        provider.unwrap(wrapped=old.wrapped, kek_id=old.kek_id, context=CONTEXT)


@pytest.mark.parametrize("uri", ["", "local:", "vault:/x", "file:///tmp/kek"])
def test_a_malformed_provider_uri_stops_with_the_expected_forms(uri):
    with pytest.raises(VaultError, match="must be local:/path/to/kek or kms:<key id or arn>"):
        key_provider_from_uri(uri)
