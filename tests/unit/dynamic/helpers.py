"""Shared set-up for the dynamic stage tests: fixture servers copied into a private tree, a real sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from triage.dynamic.stage import DynamicBudget, DynamicOutcome, dynamic_stage_run
from triage.runner import source_for_path
from triage.sandbox import backend_works

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mcp_servers"
# Tight limits so a hostile fixture costs seconds, not the production minute.
FAST_BUDGET = DynamicBudget(step_seconds=3.0, call_seconds=3.0, session_seconds=12.0, sandbox_wall_seconds=30.0,
                            server_memory_bytes=256 * 1024 * 1024)


def real_backend() -> str:
    """bubblewrap when it works (cheapest real sandbox), else gVisor; the stage never runs servers under none."""
    for name in ("bubblewrap", "gvisor"):
        if backend_works(name):
            return name
    pytest.skip("no real sandbox (bubblewrap or gVisor) works on this machine")


def fixture_copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def run_stage(path: Path, *, backend: str | None = None, budget: DynamicBudget = FAST_BUDGET,
              **kwargs) -> DynamicOutcome:  # noqa: ANN003
    return dynamic_stage_run(sources=[source_for_path(path)], backend=backend or real_backend(), budget=budget,
                             **kwargs)


def checks_of(outcome: DynamicOutcome) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in outcome.findings:
        found.setdefault(finding.check, []).append(finding.evidence)
    return found
