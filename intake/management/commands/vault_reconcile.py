"""``manage.py vault_reconcile``: after a restore, destroy the data keys of objects whose ciphertext is gone.

A database backup still holds the wrapped data keys of cases crypto-shredded after it was taken; the shred
also deleted their ciphertext from the live vault. Run after restoring (infra/backup.py does), this finds
every stored object with no ciphertext left and destroys its key, so restoring never revives a shred.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from intake.audit import audit_append
from intake.vault.models import VaultObject, VaultObjectState
from intake.vault.services import backend_for, vault_destroy_keys


def vault_reconcile() -> list[str]:
    """Shred stored objects whose ciphertext the vault no longer has; returns their data key ids."""
    shredded = []
    for record in VaultObject.objects.filter(state=VaultObjectState.STORED).order_by("created_at"):
        if backend_for(record.location).exists(record.storage_key):
            continue
        with transaction.atomic():
            vault_destroy_keys(records=[record])
            audit_append(actor=None, action="vault.reconcile_shred", obj=record,
                         data={"data_key_id": record.data_key_id, "reason": "ciphertext missing after restore"})
        shredded.append(record.data_key_id)
    return shredded


class Command(BaseCommand):
    help = "Destroy the data keys of vault objects whose ciphertext is missing (run after a restore)."

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        shredded = vault_reconcile()
        self.stdout.write(f"vault reconciled: {len(shredded)} object(s) without ciphertext shredded")
