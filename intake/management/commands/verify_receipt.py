"""``manage.py verify_receipt FILE.json``: check a signed deletion receipt offline.

Exit 0 with a one-line summary when valid; exit 1 with the reason otherwise.
By default the installation's published signing keys are used; ``--keys``
takes a published keys document downloaded from the platform instead, so
anyone can verify without our database or network.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from intake.signing import SignatureInvalid, load_published_keys, published_keys
from intake.vault.receipts import receipt_verify_file


class Command(BaseCommand):
    help = "Verify a signed deletion receipt against the published signing keys."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("file", help="receipt JSON file")
        parser.add_argument("--keys", help="published signing keys JSON (default: this installation's)")

    def load_keys(self, path: str | None):  # noqa: ANN201
        if not path:
            return published_keys()
        try:
            with open(path, "rb") as handle:
                return load_published_keys(json.loads(handle.read()))
        except (OSError, ValueError) as exc:
            raise SignatureInvalid(f"cannot read published keys: {exc.__class__.__name__}") from None

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        try:
            check = receipt_verify_file(options["file"], keys=self.load_keys(options["keys"]))
        except SignatureInvalid as exc:
            self.stderr.write(f"invalid: {exc}")
            raise SystemExit(1) from None
        self.stdout.write(check.summary)
