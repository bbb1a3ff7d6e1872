"""The one triage orchestrator: sandboxed analysis, the policy, then the dynamic gate and (if it allows) the
dynamic stage and the policy over both.

The portal pipeline (:mod:`triage.pipeline`, on a case's decrypted artifacts, with the case's claim, history and
fingerprints in ``context_for``) and ``manage.py triage_path`` (a tree on disk, the offline context) both call
:func:`triage_run`; they differ only in the sources, the context and the :class:`DynamicRequest` they pass, so an
offline run and a submission go through the same sandbox, checks, policy and gate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from intake.archives import printable
from intake.metrics import triage_stage
from triage.dynamic.gating import GateClaim
from triage.dynamic.stage import DynamicBudget, DynamicOutcome, dynamic_after_static, pins_read, pins_write
from triage.policy import PolicyContext, available_policies
from triage.runner import (SandboxedAnalysis, TriageInputError, TriageOutcome, TriageSource, source_for_path,
                           triage_analyse, triage_decide)


@dataclass(frozen=True)
class DynamicRequest:
    """What the dynamic gate weighs besides the static outcome. ``previous_pins`` is a dict or a callable
    returning one (read only when a server is started)."""

    claim: GateClaim | None = None
    operator_enabled: bool = True
    terms_accepted: bool = True
    previous_pins: dict | Callable[[], dict] | None = None
    budget: DynamicBudget | None = None


def triage_run(*, sources: list[TriageSource], context_for: Callable[[SandboxedAnalysis], PolicyContext],
               manifest: dict | None = None, policy_version: str | None = None,
               dynamic: DynamicRequest | None = None) -> tuple[TriageOutcome, DynamicOutcome | None]:
    """Static triage and its decision; with ``dynamic``, the gate and, if it allows, the dynamic stage.

    Returns ``(TriageOutcome, DynamicOutcome or None)``; without ``dynamic`` the stage is not considered at all
    (an offline static run). Raises TriageInputError (the input) or TriagePlatformError (the platform).
    """
    with triage_stage("analyse"):
        analysis = triage_analyse(sources=sources, manifest=manifest)
        context = context_for(analysis)
        static = triage_decide(analysis=analysis, context=context, policy_version=policy_version)
    if dynamic is None:
        return static, None
    with triage_stage("analyse_dynamic"):
        return dynamic_after_static(
            sources=sources, static=static, context=context, manifest=manifest, policy_version=policy_version,
            previous_pins=dynamic.previous_pins, budget=dynamic.budget, claim=dynamic.claim,
            operator_enabled=dynamic.operator_enabled, terms_accepted=dynamic.terms_accepted)


def offline_context(analysis: SandboxedAnalysis) -> PolicyContext:
    """The policy context for an offline run: no claim, no builder, no history."""
    return PolicyContext(claim_property=None, claim_scope_in=[], assurance_level=None, builder_history={},
                         empty_submission=not analysis.files)


def triage_path_run(*, path: Path, policy_version: str | None = None, dynamic: bool = False,
                    pin_file: Path | None = None) -> TriageOutcome:
    """``manage.py triage_path``: a directory or archive on disk, the offline context, the same orchestrator."""
    if policy_version is not None and policy_version not in available_policies():
        raise TriageInputError(f"unknown policy version {printable(policy_version)}; "
                               f"available: {', '.join(sorted(available_policies()))}")
    started = time.monotonic()
    request = None
    if dynamic:
        try:
            previous = pins_read(pin_file) if pin_file else {}
        except ValueError as exc:
            raise TriageInputError(str(exc)) from None
        request = DynamicRequest(previous_pins=previous)
    outcome, stage = triage_run(sources=[source_for_path(path)], context_for=offline_context,
                                policy_version=policy_version, dynamic=request)
    if stage is not None and pin_file:
        pins_write(pin_file, stage.pins)
    outcome.analysis.duration_s = time.monotonic() - started
    return outcome
