"""Celery entry points for the vault: thin wrappers over intake.vault.retention (idempotent)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="intake.vault.tasks.shred_due", acks_late=True)
def shred_due() -> str:
    """Beat runs this hourly: shred cases past retention, purge leftover ciphertext, sweep dead uploads."""
    from intake.vault.retention import retention_enforce

    return retention_enforce().summary()
