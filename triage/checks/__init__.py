"""The check catalogue, one module per family; importing this package registers every check."""

from __future__ import annotations

from triage.checks import (  # noqa: F401 - imported for registration
    agentjacking,
    approval,
    code,
    egress,
    hooks,
    injection,
    instructions,
    irreversible,
    meta,
    privilege,
    provenance,
    secrets,
    tools,
    trifecta,
)
from triage.checks.registry import CHECKS, AnalysisContext, Check, Hit

__all__ = ["CHECKS", "AnalysisContext", "Check", "Hit", "all_checks"]


def all_checks() -> list[Check]:
    return [CHECKS[k] for k in sorted(CHECKS)]
