from pathlib import Path

from django.core.management.base import BaseCommand

from reviews.demo import demo_case_with_report


class Command(BaseCommand):
    help = "Render, sign and log a report for a demo case (creating demo data if absent) and write the PDF."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("out", help="where to write the PDF")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        report = demo_case_with_report()
        out = Path(options["out"])
        out.write_bytes(bytes(report.pdf))
        self.stdout.write(f"wrote {report.kind} report {report.pk} for {report.submission.reference} to {out}")
