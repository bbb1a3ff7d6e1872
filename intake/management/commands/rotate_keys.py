"""``manage.py rotate_keys [--kek] [--signing] [--audit] [--rewrap-only]``.

``--kek`` (the default) adds a new key-encryption key version and re-wraps
every live data key under it; content is never re-encrypted and old KEK
versions stay in the key file. ``--rewrap-only`` re-wraps under the current
KEK without rotating (e.g. after moving ASSAY_KEY_PROVIDER from local to
KMS). ``--signing`` rotates the Ed25519 signing key; old public keys stay
published so earlier receipts and reports still verify. ``--audit`` starts a new
audit chain HMAC key; old ones stay in the audit key file (each event names its
key). KEK rotation and ``--rewrap-only`` also re-wrap the audit keys.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from intake.audit import audit_append, audit_key_rotate
from intake.audit_keys import audit_keyring
from intake.signing import platform_keyring
from intake.vault.keys import key_provider
from intake.vault.services import vault_rewrap_keys


class Command(BaseCommand):
    help = "Rotate the key-encryption key (re-wrapping data keys) and/or the signing key."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("--kek", action="store_true", help="rotate the KEK and re-wrap data keys")
        parser.add_argument("--rewrap-only", action="store_true", help="re-wrap under the current KEK")
        parser.add_argument("--signing", action="store_true", help="rotate the Ed25519 signing key")
        parser.add_argument("--audit", action="store_true", help="start a new audit chain HMAC key")

    def rotate_kek(self, *, rotate: bool) -> None:
        provider = key_provider()
        kek_id = provider.rotate() if rotate else provider.current_kek_id()
        count = vault_rewrap_keys()
        audit_keys = audit_keyring().rewrap()
        audit_append(action="vault.kek.rotate" if rotate else "vault.kek.rewrap",
                     data={"kek_id": kek_id, "rewrapped": count, "audit_keys_rewrapped": audit_keys})
        self.stdout.write(f"KEK {kek_id}: re-wrapped {count} data key(s)")

    def rotate_audit(self) -> None:
        key_id = audit_key_rotate()
        self.stdout.write(f"audit key rotated: new events are hashed under {key_id}")

    def rotate_signing(self) -> None:
        key_id = platform_keyring().rotate()
        audit_append(action="signing.rotate", data={"key_id": key_id})
        self.stdout.write(f"signing key rotated: now {key_id}")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        if options["signing"]:
            self.rotate_signing()
        if options["audit"]:
            self.rotate_audit()
        if options["kek"] or options["rewrap_only"] or not (options["signing"] or options["audit"]):
            self.rotate_kek(rotate=not options["rewrap_only"])
