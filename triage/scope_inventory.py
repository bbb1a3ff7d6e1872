"""Detect a draft's components for its scope step: the draft's artifacts and manifest go through the same
sandboxed analysis as triage (triage.runner.triage_analyse), and the inventory it returns is stored on the draft
(intake.services.submission_inventory_store, sealed under the case key)."""

from __future__ import annotations

import shutil

from intake.errors import NotEditable
from intake.models import Submission
from intake.services import submission_compute_digest, submission_inventory_store
from intake.run_dirs import run_dir
from triage.runner import TriageInputError, triage_analyse


def submission_detect_components(*, submission: Submission, actor) -> Submission:  # noqa: ANN001
    """Analyse the draft in the sandbox and store its component inventory. Raises TriageInputError (the artifacts
    cannot be unpacked safely: the builder's to fix), TriagePlatformError (no sandbox), or NotEditable (the draft
    was submitted or changed meanwhile)."""
    from triage.pipeline import _stage_artifacts

    if not submission.is_editable:  # before any analysis: a submitted case's scope is frozen
        raise NotEditable(f"case {submission.reference} is {submission.state}; components are detected for drafts")
    basis = submission_compute_digest(submission)
    staging = run_dir("stage", in_memory_bytes=sum(a.size for a in submission.artifacts.all()))
    try:
        sources = _stage_artifacts(submission, staging)
        analysis = triage_analyse(sources=sources, manifest=submission.manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return submission_inventory_store(submission=submission, components=analysis.inventory, basis=basis,
                                      actor=actor)


__all__ = ["TriageInputError", "submission_detect_components"]
