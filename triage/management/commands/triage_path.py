"""``manage.py triage_path PATH [--format json|sarif] [--policy VERSION]`` (see CONTRACT.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from triage.orchestrator import triage_path_run
from triage.runner import TriageInputError, TriagePlatformError, contract_json
from triage.sarif import sarif_document


class Command(BaseCommand):
    help = "Triage an agent system on disk (directory or .zip/.tar/.tar.gz/.tgz) through the submission pipeline."
    # An offline tool: it needs no database, URLs or templates, so skip the project-wide system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=("json", "sarif"), default="json")
        parser.add_argument("--policy", dest="policy_version", default=None)
        parser.add_argument("--dynamic", action="store_true",
                            help="also run the dynamic stage: start the MCP servers in the sandbox, canary flows")
        parser.add_argument("--pin-file", default=None,
                            help="with --dynamic: compare tool-set pins against this file, then update it")

    def handle(self, *args, path: str, format: str, policy_version: str | None, dynamic: bool = False,  # noqa: A002, ANN002
               pin_file: str | None = None, **options) -> None:  # noqa: ANN003
        try:
            outcome = triage_path_run(path=Path(path), policy_version=policy_version, dynamic=dynamic,
                                      pin_file=Path(pin_file) if pin_file and dynamic else None)
        except TriageInputError as exc:
            self.fail(2, str(exc))
        except TriagePlatformError as exc:
            self.fail(1, f"triage failed: {exc}")
        document = outcome.contract()
        if format == "sarif":
            self.stdout.write(json.dumps(sarif_document(document), indent=2, ensure_ascii=False), ending="\n")
        else:
            self.stdout.write(contract_json(document), ending="")

    def fail(self, code: int, message: str) -> None:
        # Exactly one line on stderr.
        sys.stderr.write(message.replace("\n", " ").strip() + "\n")
        sys.stderr.flush()
        raise SystemExit(code)
