import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from reviews.reports import report_verify


class Command(BaseCommand):
    help = "Verify a report PDF: signature, configuration digest, scope, and (when the database is reachable) status."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("file", help="the report PDF")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        try:
            with open(options["file"], "rb") as handle:
                data = handle.read(20 * 1024 * 1024 + 1)
        except OSError as exc:
            sys.stderr.write(f"cannot read {options['file']}: {exc.strerror}\n")
            raise SystemExit(1) from exc
        try:
            result = report_verify(data)
        except DatabaseError:
            result = report_verify(data, check_database=False)
        if result.ok:
            self.stdout.write(result.message)
            return
        sys.stderr.write(f"{result.status}: {result.message}\n")
        raise SystemExit(1)
