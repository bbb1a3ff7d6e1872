"""``manage.py shred_due``: run the retention sweep now (what the hourly beat task runs)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from intake.vault.retention import retention_enforce


class Command(BaseCommand):
    help = "Shred cases past their retention date (legal holds and disputes respected)."

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        result = retention_enforce()
        self.stdout.write(result.summary())
        if result.failed:
            self.stderr.write(f"failed (will retry): {', '.join(result.failed)}")
            raise SystemExit(1)
