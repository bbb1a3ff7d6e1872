import json
import sys

from django.core.management.base import BaseCommand

from reviews.assignment import solve
from reviews.scenario import ScenarioError, parse_scenario


class Command(BaseCommand):
    help = "Dry-run reviewer assignment for a scenario file, with the portal's conflict rules and solver."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("scenario", help="scenario JSON file (see CONTRACT.md)")

    def handle(self, *args, **options):  # noqa: ANN002, ANN003
        try:
            with open(options["scenario"], encoding="utf-8") as handle:
                data = json.load(handle)
            reviewers, cases, now = parse_scenario(data)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ScenarioError, ValueError) as exc:
            sys.stderr.write(f"plan_assignment: malformed scenario: {exc}\n")
            raise SystemExit(2) from exc
        plan = solve(reviewers, cases, now=now)
        self.stdout.write(json.dumps(plan.as_contract_dict(), indent=2, sort_keys=True))
