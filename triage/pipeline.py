"""The triage pipeline a submission goes through: submitted → triaging → triaged → rejected | closed | awaiting_consent.

The analysis, the decision and the dynamic gate are :func:`triage.orchestrator.triage_run`, the orchestrator
``manage.py triage_path`` uses; the gate (:mod:`triage.dynamic.gating`) decides from the claim and the static
outcome whether the dynamic stage runs. This module
adds what only a submission has: artifacts from the vault, the claim, the
builder's assurance level and history, fingerprints against earlier cases, a
stored result, and the moves of the state machine.

Idempotent and recoverable: a run re-reads the case and continues from its
state. A worker that dies mid-triage leaves the case in ``triaging`` with no
result (the result and the move to ``triaged`` commit together) and a lease
whose heartbeat stops (triage/leases.py); the next delivery or the periodic
``triage_requeue_stale`` sweep runs it again from the start.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from intake.access import SystemRead
from intake.archives import UnsafeInput, detect_kind
from intake.hooks import TRIAGE_ESCALATED, TRIAGE_GUIDANCE_CLOSED, hook_call
from intake.metrics import triage_stage
from intake.models import NotificationKind, Submission
from intake.notifications import OUTCOME_WORDS, notify
from intake.run_dirs import run_dir
from intake.vault.services import ReadPurpose
from intake.states import State, StaleTransition, transition
from triage.dynamic.services import (dynamic_not_run_unprocessable, dynamic_record_put, dynamic_request_for,
                                     dynamic_run_create)
from triage.leases import heartbeat, lease_acquire, lease_release, new_holder
from triage.fingerprints import FingerprintVerdict, content_digest, fingerprint_link, fingerprint_similar, \
    fingerprint_store, fingerprint_verdict
from triage.models import Decision, TriageResult
from triage.orchestrator import triage_run
from triage.runner import SandboxedAnalysis, TriageInputError, TriageOutcome, TriageSource

logger = logging.getLogger(__name__)

NEXT_STATE = {Decision.REJECT: State.REJECTED, Decision.GUIDANCE: State.CLOSED,
              Decision.ESCALATE: State.AWAITING_CONSENT}
REJECTED_RECENTLY_DAYS = 30
COPY_CHUNK = 1024 * 1024


class TriageRunningElsewhere(Exception):
    """Another worker holds this case's live lease: try again once that lease could have expired."""


def triage_submission_run(submission_id: str) -> str:
    """Run (or finish) triage of one case; returns the case's state afterwards."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:
        return "missing"
    try:
        if submission.state == State.SUBMITTED:
            submission = transition(submission, State.TRIAGING, actor=None, reason="triage started")
    except StaleTransition:
        submission.refresh_from_db()
    if submission.state == State.TRIAGING:
        holder = new_holder()
        if not lease_acquire(submission_id=str(submission.pk), holder=holder):
            raise TriageRunningElsewhere(str(submission.pk))
        try:
            with heartbeat(submission_id=str(submission.pk), holder=holder):
                submission_triage(submission=submission)
        finally:
            lease_release(submission_id=str(submission.pk), holder=holder)
        submission.refresh_from_db()
    if submission.state == State.TRIAGED:
        with triage_stage("apply_decision"):
            submission_apply_triage_decision(submission=submission)
        submission.refresh_from_db()
        _queue_model_note(submission)
    return submission.state


def _queue_model_note(submission: Submission) -> None:
    """Only after the decision is made and applied: the note advises humans and can never move it."""
    from triage.model_note import note_endpoint_from_settings

    if note_endpoint_from_settings() is None:
        return
    result = submission.triage_results.order_by("-created_at", "-pk").first()
    if result is None:
        return
    from triage.tasks import triage_model_note

    try:
        triage_model_note.delay(result.pk)
    except Exception:  # noqa: BLE001 - a broker outage costs the optional note, nothing else
        logger.exception("could not queue the model note for triage result %s", result.pk)


def submission_triage(*, submission: Submission) -> TriageResult | None:
    """Analyse the case's artifacts in the sandbox and decide; then let the dynamic gate decide whether the
    stage runs (a static reject never runs submitted code) and, if it does, decide again over both; store the
    result and the gate's decision, and move the case to ``triaged``.

    Returns None when another run finished first. Raises TriagePlatformError
    (retryable) when the platform, not the submission, failed.
    """
    started = time.monotonic()
    # the decrypted artifacts: in memory when they fit (never on a disk), else a private temp dir
    staging = run_dir("stage", in_memory_bytes=sum(a.size for a in submission.artifacts.all()))
    verdict_box: dict = {}  # the fingerprint verdict and the duplicated case, if any
    dynamic = dynamic_record = None
    try:
        try:
            with triage_stage("stage_artifacts"):
                sources = _stage_artifacts(submission, staging)
            outcome, dynamic = triage_run(sources=sources, manifest=submission.manifest,
                                          context_for=lambda analysis: _policy_context(submission, analysis,
                                                                                       verdict_box),
                                          dynamic=dynamic_request_for(submission=submission))
            if dynamic.ran:
                dynamic_record = dynamic_record_put(submission=submission, dynamic=dynamic)
        except TriageInputError as exc:
            outcome = None
            failure = str(exc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    duration_ms = int((time.monotonic() - started) * 1000)
    with triage_stage("store"), transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.state != State.TRIAGING:
            return None  # a concurrent delivery of the same task got here first
        if outcome is None:
            result = _store_unprocessable(locked, failure, duration_ms)
            dynamic = dynamic_not_run_unprocessable(submission=locked, sandbox=result.sandbox, failure=failure)
        else:
            result = _store_outcome(locked, outcome, verdict_box.get("verdict"), duration_ms,
                                    duplicate_of=verdict_box.get("duplicate_of"))
        run = dynamic_run_create(submission=locked, dynamic=dynamic, stored=dynamic_record,
                                 config_digest=result.config_digest)
        transition(locked, State.TRIAGED, actor=None, reason="triage finished",
                   data={"decision": result.decision, "score": result.score,
                         "policy_version": result.policy_version, "sandbox": result.sandbox,
                         "dynamic_stage": {"ran": run.ran, "reason": run.gate_reason,
                                           "gate_version": run.gate.get("version")}})
    return result


def submission_apply_triage_decision(*, submission: Submission) -> Submission:
    """Move a ``triaged`` case on according to its latest result."""
    result = submission.triage_results.order_by("-created_at", "-pk").first()
    if result is None:
        # Cannot happen through submission_triage (result and move commit together); never guess.
        raise RuntimeError(f"case {submission.pk} is triaged but has no triage result")
    try:
        with transaction.atomic():
            moved = transition(submission, NEXT_STATE[result.decision], actor=None,
                               reason=f"triage decision: {result.decision}",
                               data={"triage_result": result.pk, "policy_version": result.policy_version})
            if result.decision == Decision.GUIDANCE:  # reviews queues the guidance report on commit
                hook_call(TRIAGE_GUIDANCE_CLOSED, submission=moved)
            if result.decision == Decision.ESCALATE:
                # Escalation only asks: nobody sees the case until the builder consents (reviews asks).
                hook_call(TRIAGE_ESCALATED, submission=moved, findings=result.findings)
            _notify_builder_of_outcome(moved, result.decision)
            return moved
    except StaleTransition:
        submission.refresh_from_db()
        return submission


# --- helpers ---------------------------------------------------------------------------------------

def _notify_builder_of_outcome(submission: Submission, decision: str) -> None:
    """Triage hands the case back to its builder: one notification, saying what to do next (an escalation's
    next step is the consent question, so that is the one notification it sends)."""
    if decision == Decision.ESCALATE:
        notify(recipient=submission.owner, kind=NotificationKind.CONSENT_NEEDED, submission=submission,
               path=reverse("builder_consent", args=[submission.pk]))
    else:
        notify(recipient=submission.owner, kind=NotificationKind.TRIAGE_FINISHED, submission=submission,
               path=reverse("case_detail", args=[submission.pk]), outcome=OUTCOME_WORDS[decision])


def _stage_artifacts(submission: Submission, staging: Path) -> list[TriageSource]:
    """Copy each artifact's plaintext out of the store into a private staging dir (removed afterwards)."""
    from intake.storage import artifact_store

    store = artifact_store()
    staging.chmod(0o700)
    sources = []
    for index, artifact in enumerate(submission.artifacts.order_by("name", "pk")):
        path = staging / f"{index:04d}"
        with store.open(artifact.storage_key, access=SystemRead(ReadPurpose.TRIAGE_RUN),
                        reason=f"triage of {submission.reference}") \
                as stream, path.open("xb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK)
        try:
            kind = detect_kind(path)
        except UnsafeInput as exc:
            raise TriageInputError(str(exc)) from None
        if artifact.kind == "archive" and kind in ("zip", "tar"):
            sources.append(TriageSource(path=path, kind=kind))
        else:
            sources.append(TriageSource(path=path, kind="file", name=artifact.name))
    return sources


def _policy_context(submission: Submission, analysis: SandboxedAnalysis, verdict_box: dict):  # noqa: ANN202
    from intake.accounts.assurance import assurance_level
    from triage.policy import PolicyContext

    verdict = FingerprintVerdict(False, False, [], [])
    if analysis.fingerprint.get("signature"):
        similar = fingerprint_similar(signature=analysis.fingerprint["signature"],
                                      content_sha256=content_digest(analysis.files),
                                      exclude_submission_id=submission.pk)
        verdict = fingerprint_verdict(owner_id=submission.owner_id, similar=similar)
    duplicate = _own_exact_duplicate(submission, verdict)
    verdict_box["verdict"] = verdict
    verdict_box["duplicate_of"] = duplicate
    since = timezone.now() - timedelta(days=REJECTED_RECENTLY_DAYS)
    rejected_recently = (Submission.objects.filter(owner_id=submission.owner_id, state=State.REJECTED,
                                                   state_changed_at__gte=since)
                         .exclude(pk=submission.pk).count())
    return PolicyContext(
        claim_property=submission.claim_property or None,
        claim_scope_in=list(submission.claim_scope_in or []),
        claim_scope_out=list(submission.claim_scope_out or []),
        components=list(analysis.inventory),
        assurance_level=assurance_level(submission.owner),
        builder_history={"exact_duplicate_of_own_case": duplicate is not None,
                         "duplicate_of_reference": duplicate.reference if duplicate else None,
                         "suspected_extraction": verdict.suspected_extraction,
                         "rejected_recently": rejected_recently},
        empty_submission=not analysis.files,
    )


def _own_exact_duplicate(submission: Submission, verdict: FingerprintVerdict) -> Submission | None:
    """The builder's earlier case this one exactly duplicates: the same configuration (the same unpacked content,
    or the same configuration digest) *and* the same claim (intake.versions.claim_key). A new version whose claim
    or digest changed is not a duplicate of its predecessor; a shredded case's claim is gone and matches nothing,
    and a withdrawn one is not followed up."""
    from intake.versions import same_claim

    same_content = [case.submission_id for case in verdict.own_near_duplicates if case.exact]
    candidates = (Submission.objects.filter(owner_id=submission.owner_id)
                  .filter(Q(pk__in=same_content) | Q(config_digest=submission.config_digest))
                  .filter(created_at__lt=submission.created_at).exclude(config_digest="")
                  # a withdrawn case offers no next step to point to: submitting it again is the next step
                  .exclude(state__in=(State.SHREDDED, State.DRAFT, State.WITHDRAWN)).order_by("created_at", "pk"))
    return next((case for case in candidates[:50] if same_claim(case, submission)), None)


def _store_outcome(submission: Submission, outcome: TriageOutcome, verdict: FingerprintVerdict | None,
                   duration_ms: int, *, duplicate_of: Submission | None = None) -> TriageResult:
    analysis = outcome.analysis
    result, _ = TriageResult.objects.update_or_create(
        submission=submission, policy_version=outcome.policy_version,
        defaults={"sandbox": analysis.sandbox, "config_digest": submission.config_digest,
                  "tree_digest": analysis.config_digest,
                  "findings": outcome.contract()["findings"], "score": outcome.score,
                  "decision": outcome.decision, "reasons": outcome.reasons, "file_count": len(analysis.files),
                  "duration_ms": duration_ms, "created_at": timezone.now(),
                  "duplicate_of": duplicate_of if outcome.decision == Decision.REJECT else None})
    if analysis.fingerprint.get("signature"):
        fingerprint_store(submission=submission, fingerprint=analysis.fingerprint, files=analysis.files)
    if verdict is not None:
        fingerprint_link(submission=submission, verdict=verdict)
    return result


def _store_unprocessable(submission: Submission, failure: str, duration_ms: int) -> TriageResult:
    """The artifacts could not be unpacked safely: reject, saying why (the builder can fix and resubmit)."""
    from triage.policy import POLICY_VERSION
    from triage.sandbox import configured_backend

    logger.info("triage rejected unprocessable input for case %s", submission.reference)
    result, _ = TriageResult.objects.update_or_create(
        submission=submission, policy_version=POLICY_VERSION,
        defaults={"sandbox": configured_backend(), "config_digest": submission.config_digest, "findings": [],
                  "score": 0, "decision": Decision.REJECT,
                  "reasons": [f"The uploaded artifacts could not be unpacked safely: {failure}"],
                  "file_count": 0, "duration_ms": duration_ms, "created_at": timezone.now()})
    return result
