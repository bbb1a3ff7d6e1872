import sys
from datetime import date

from django.core.management.base import BaseCommand

from intake.errors import DomainError
from reviews.aggregates import DEFAULT_THRESHOLD, release_create


class Command(BaseCommand):
    help = "Publish a differentially private, thresholded, signed aggregate release for a period."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("--dataset", default="findings")
        parser.add_argument("--start", required=True, type=date.fromisoformat)
        parser.add_argument("--end", required=True, type=date.fromisoformat)
        parser.add_argument("--epsilon", type=float, default=1.0)
        parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
        parser.add_argument("--dimensions", default="category,claim_property,decision")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        try:
            release = release_create(dataset=options["dataset"], period_start=options["start"],
                                     period_end=options["end"], epsilon=options["epsilon"], actor=None,
                                     threshold=options["threshold"], dimensions=options["dimensions"].split(","))
        except DomainError as exc:
            sys.stderr.write(f"release refused: {exc}\n")
            raise SystemExit(1) from exc
        withheld = sum(c["suppressed"] for c in release.cells)
        self.stdout.write(f"released {release.dataset} v{release.version}: {len(release.cells)} cells, "
                          f"{withheld} withheld, epsilon {release.epsilon}, log index {release.log_index}")
