"""Each vault test gets its own vault directory, KEK file, signing key, audit key and shred ledger."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_vault(tmp_path, settings):  # noqa: ANN001, ANN201
    settings.ASSAY_VAULT = f"file://{tmp_path / 'vault'}"
    settings.ASSAY_KEY_PROVIDER = f"local:{tmp_path / 'keys' / 'kek'}"
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing-ed25519.pem")
    settings.ASSAY_AUDIT_KEY = str(tmp_path / "keys" / "audit-keys.json")
    settings.ASSAY_SHRED_LEDGER = str(tmp_path / "shred-ledger")
    return tmp_path
