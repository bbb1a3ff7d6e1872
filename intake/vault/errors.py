"""Vault failures. Each says what went wrong without echoing any key or plaintext."""

from __future__ import annotations

from intake.errors import DomainError


class VaultError(DomainError):
    code = "vault_error"
    http_status = 500


class IntegrityFailure(VaultError):
    """Ciphertext that does not authenticate: tampered, truncated, reordered, or the wrong key."""

    code = "vault_integrity"


class UnknownKey(VaultError):
    """A wrapped data key names a key-encryption key this provider does not hold."""

    code = "vault_unknown_key"


class KeyDestroyed(VaultError):
    """The object's data key was destroyed (crypto-shredded): its ciphertext is noise."""

    code = "vault_key_destroyed"
    http_status = 410


class KeyProviderUnavailable(VaultError):
    """The key provider (KMS) could not be reached or refused: retry later, nothing was lost."""

    code = "vault_key_provider_unavailable"
    http_status = 503


class ObjectMissing(VaultError):
    code = "vault_object_missing"
    http_status = 404


class ShredBlocked(DomainError):
    """A legal hold or an open dispute suspends shredding of this case."""

    code = "shred_blocked"
    http_status = 409


class StorageUnavailable(VaultError):
    """The storage backend (S3) could not be reached or refused: retry later."""

    code = "vault_storage_unavailable"
    http_status = 503


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403
