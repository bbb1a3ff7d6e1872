"""``manage.py vault_reconcile``: after a restore, destroy again every data key shredded since the backup.

A database backup still holds the wrapped data keys of cases crypto-shredded after it was taken. Run after
restoring (infra/backup.py does), this

1. verifies the shred ledger (intake/vault/ledger.py: signatures, sequence, chain, and with ``--expect-head``
   the head the backup recorded) and replays it: every key it lists that is still stored is destroyed and
   its case marked shredded again. If the ledger fails to verify, nothing is destroyed and the command fails
   (exit 1): the restored instance must not serve until an operator has looked;
2. destroys the key of every stored object whose ciphertext is gone from the vault (the vault outlived the
   database, e.g. a replicated S3 bucket);
3. deletes the ciphertext of destroyed keys (a restored file vault brought it back).

With ``--relocate-from`` it first points objects stored under the backup's vault URI at this instance's vault.
On an instance that never went back in time it changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from intake.audit import audit_append
from intake.signing import SignatureInvalid, load_published_keys, published_keys
from intake.vault.ledger import LedgerHead, LedgerInvalid, ledger_replay
from intake.vault.models import VaultObject, VaultObjectState
from intake.vault.services import backend_for, vault_destroy_keys, vault_purge_ciphertext


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
    help = ("Replay the shred ledger and destroy the data keys of vault objects whose ciphertext is missing "
            "(run after a restore).")

    def add_arguments(self, parser):  # noqa: ANN001, ANN201
        parser.add_argument("--expect-head", metavar="SEQ:SHA256",
                            help="the ledger head recorded by the backup; the ledger must still hold it")
        parser.add_argument("--relocate-from", metavar="VAULT_URI",
                            help="the vault URI the backup was taken from: objects stored there are now read from "
                                 "this instance's ASSAY_VAULT (the vault was restored or replicated elsewhere)")
        parser.add_argument("--published-keys", metavar="FILE", type=Path,
                            help="the platform's current published signing keys (if a key was rotated after the "
                                 "backup the restored keyring does not know the newer key)")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        if options["relocate_from"] and options["relocate_from"] != settings.ASSAY_VAULT:
            with transaction.atomic():
                moved = VaultObject.objects.filter(location=options["relocate_from"]).update(
                    location=settings.ASSAY_VAULT)
                audit_append(actor=None, action="vault.relocate", obj=None,
                             data={"from": options["relocate_from"], "to": settings.ASSAY_VAULT, "objects": moved})
            self.stdout.write(f"vault relocated: {moved} object(s) now read from this instance's vault")
        keys = published_keys()
        if options["published_keys"]:
            try:
                extra = load_published_keys(json.loads(options["published_keys"].read_text()))
            except (OSError, ValueError, SignatureInvalid) as exc:
                raise CommandError(f"cannot read the published keys: {exc}") from None
            known = {key.key_id for key in keys}
            keys += [key for key in extra if key.key_id not in known]
        try:
            expect = LedgerHead.parse(options["expect_head"]) if options["expect_head"] else None
            replay = ledger_replay(keys=keys, expect_head=expect)
        except LedgerInvalid as exc:
            raise CommandError(f"shred ledger failed verification, nothing was destroyed: {exc}") from None
        missing = vault_reconcile()
        purged = vault_purge_ciphertext(limit=1_000_000)
        self.stdout.write(
            f"shred ledger verified ({replay.entries} entr{'y' if replay.entries == 1 else 'ies'}): "
            f"{len(replay.keys_destroyed)} key(s) destroyed again, {len(replay.cases_shredded)} case(s) marked "
            f"shredded again, {len(replay.receipts_restored)} receipt(s) restored")
        self.stdout.write(f"vault reconciled: {len(missing)} object(s) without ciphertext shredded, "
                          f"{purged} ciphertext(s) deleted")
