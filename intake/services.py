"""Write paths for submissions. Views, API endpoints, tasks and commands call these.

Each function is keyword-only, checks what it needs (state, ownership was
already checked by the caller through ``intake.selectors``), writes, and
audits in the same transaction.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from intake.accounts.assurance import assurance_level
from intake.archives import UnpackLimits, UnsafeInput, archive_listing
from intake.audit import audit_append
from intake.digest import config_digest
from intake.errors import NotEditable, QuotaExceeded, RedactionRequired, TooLarge, ValidationFailed
from intake.manifest import manifest_parse
from intake.models import (AccessTier, Artifact, ArtifactKind, PropertyKind, Role, Submission, TermsAcceptance,
                           TermsVersion, User)
from intake.redaction import RedactionFinding, scan_fields
from intake.scope import ScopeProblem, scope_problems
from intake.run_dirs import run_dir
from intake.sniffing import check_declared_kind
from intake.selectors import current_terms, open_case_count
from intake.states import State, transition
from intake.storage import artifact_store

MAX_TEXT = 20_000
MAX_LIST_ITEMS = 50
MAX_SCOPE_NOTE = 2000
MAX_INVENTORY_COMPONENTS = 3000


class TermsOutdated(NotEditable):
    """The builder accepted a terms version that is no longer the current one (409)."""

    code = "terms_outdated"


EDITABLE_FIELDS = {
    "title", "description", "claim_statement", "claim_property", "claim_scope_in", "claim_scope_out",
    "claim_scope_note", "claim_assumptions", "claim_access_tier", "manifest", "named_competitors", "aggregate_opt_in",
    "retention_days",
}


def _clean_list(name: str, value) -> list[str]:  # noqa: ANN001
    if value is None:
        return []
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationFailed(f"{name} must be a list of strings")
    items = [item.strip() for item in value if item.strip()]
    if len(items) > MAX_LIST_ITEMS or any(len(item) > 500 for item in items):
        raise ValidationFailed(f"{name} takes at most {MAX_LIST_ITEMS} items of 500 characters")
    return items


def _clean_fields(fields: dict) -> dict:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field(s): {', '.join(sorted(unknown))}")
    cleaned: dict = {}
    for name, value in fields.items():
        if name in ("title", "description", "claim_statement", "claim_scope_note"):
            value = (value or "").strip()
            limit = {"title": 200, "claim_scope_note": MAX_SCOPE_NOTE}.get(name, MAX_TEXT)
            if len(value) > limit:
                raise ValidationFailed(f"{name} is longer than {limit} characters")
            if name == "title" and not value:
                raise ValidationFailed("title may not be empty")
        elif name == "claim_property":
            if value not in PropertyKind.values:
                raise ValidationFailed(f"claim_property must be one of {', '.join(PropertyKind.values)}")
        elif name == "claim_access_tier":
            if value not in AccessTier.values:
                raise ValidationFailed(f"claim_access_tier must be one of {', '.join(AccessTier.values)}")
        elif name in ("claim_scope_in", "claim_scope_out", "claim_assumptions", "named_competitors"):
            value = _clean_list(name, value)
        elif name == "manifest":
            value = None if value in (None, "") else manifest_parse(value)
        elif name == "aggregate_opt_in":
            if not isinstance(value, bool):
                raise ValidationFailed("aggregate_opt_in must be true or false")
        elif name == "retention_days":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650):
                raise ValidationFailed("retention_days must be a whole number of days from 1 to 3650")
        cleaned[name] = value
    scope = (cleaned.get("manifest") or {}).get("scope")
    if isinstance(scope, dict):
        # A manifest that states the scope (component ids, as the schema says) sets the case's scope, unless the
        # same change sets it explicitly; the submit-time check applies to it like any other entry.
        cleaned.setdefault("claim_scope_in", _clean_list("claim_scope_in", scope.get("in") or []))
        cleaned.setdefault("claim_scope_out", _clean_list("claim_scope_out", scope.get("out") or []))
        if isinstance(scope.get("note"), str):
            cleaned.setdefault("claim_scope_note", scope["note"].strip()[:MAX_SCOPE_NOTE])
    return cleaned


def submission_create(*, owner, title: str, **fields) -> Submission:  # noqa: ANN001, ANN003
    """Create a draft, within the builder's open-case quota for their assurance level."""
    if owner.role != Role.BUILDER:
        raise PermissionDenied("Only builder accounts can open cases.")
    cleaned = _clean_fields({"title": title, **fields})
    level = assurance_level(owner)
    quota = settings.ASSAY_OPEN_CASE_QUOTA.get(level, 0)
    with transaction.atomic():
        # Serialise one builder's concurrent creations on their row, or parallel requests all pass the count.
        User.objects.select_for_update().filter(pk=owner.pk).exists()
        if open_case_count(owner) >= quota:
            raise QuotaExceeded(
                f"you have reached the limit of {quota} open case(s) for assurance level {level}; "
                "close or withdraw a case, or raise your assurance level (verify email, enable MFA, "
                "verify your organisation's domain)", retry_after=3600)
        submission = Submission.objects.create(owner=owner, **cleaned)
        # Audit events are kept for ever and cannot be shredded: ids and sizes only, never the builder's text.
        audit_append(actor=owner, action="submission.create", obj=submission,
                     data={"title_chars": len(submission.title)})
    return submission


def submission_update(*, submission: Submission, actor, **fields) -> Submission:  # noqa: ANN001, ANN003
    cleaned = _clean_fields(fields)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.state != State.DRAFT:
            raise NotEditable(f"case {locked.reference} is {locked.state} and can no longer be edited")
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*cleaned, "updated_at"])
        audit_append(actor=actor, action="submission.update", obj=locked, data={"fields": sorted(cleaned)})
    return locked


def terms_accept(*, submission: Submission, actor, terms: TermsVersion | None = None) -> TermsAcceptance:  # noqa: ANN001
    terms = terms or current_terms()
    if terms is None:
        raise ValidationFailed("no terms are published yet")
    if submission.state != State.DRAFT:
        raise NotEditable("terms are accepted before submission")
    text_sha = hashlib.sha256(terms.body.encode()).hexdigest()
    if text_sha != terms.text_sha256:
        raise ValidationFailed("terms text does not match its published hash")
    with transaction.atomic():
        acceptance, created = TermsAcceptance.objects.get_or_create(
            submission=submission, terms=terms,
            defaults={"text_sha256": text_sha, "account": actor, "accepted_at": timezone.now()})
        if created:
            audit_append(actor=actor, action="terms.accept", obj=submission,
                         data={"terms": terms.version, "text_sha256": text_sha})
    return acceptance


def terms_accept_version(*, submission: Submission, actor, version: str) -> TermsAcceptance:  # noqa: ANN001
    """Accept the terms the builder says they read, which must be the current version (never an older one)."""
    terms = current_terms()
    if terms is None:
        raise ValidationFailed("no terms are published yet")
    if version != terms.version:
        raise TermsOutdated(f"terms version {version} is not the current version ({terms.version}); "
                            "read and accept the current terms")
    return terms_accept(submission=submission, actor=actor, terms=terms)


def terms_publish(*, version: str, title: str, body: str, retention: dict, actor=None) -> TermsVersion:  # noqa: ANN001
    """Publish a new immutable terms version (past acceptances keep pointing at theirs)."""
    terms = TermsVersion.objects.create(version=version, title=title, body=body, retention=retention,
                                        text_sha256=hashlib.sha256(body.encode()).hexdigest())
    audit_append(actor=actor, action="terms.publish", obj=terms, data={"version": version})
    return terms


def artifact_add(*, submission: Submission, actor, name: str, stream: BinaryIO,  # noqa: ANN001
                 kind: str = ArtifactKind.ARCHIVE, content_type: str = "") -> Artifact:
    if submission.state != State.DRAFT:
        raise NotEditable(f"case {submission.reference} is {submission.state}; artifacts can only be added to drafts")
    clean_name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not clean_name or clean_name in (".", "..") or len(clean_name) > 255 or "\x00" in clean_name:
        raise ValidationFailed("artifact name is empty or invalid")
    if kind not in ArtifactKind.values:
        raise ValidationFailed(f"artifact kind must be one of {', '.join(ArtifactKind.values)}")
    if submission.artifacts.filter(name=clean_name).exists():
        raise ValidationFailed(f"an artifact named {clean_name} is already attached")
    store = artifact_store()
    artifact_id = uuid.uuid4()
    limit = settings.ASSAY_MAX_ARTIFACT_BYTES
    staging = run_dir("upload", in_memory_bytes=limit)  # 0700, in memory when it fits: plaintext
    try:
        staged = _stage_upload(stream, staging / "upload", limit=limit)
        with staged.open("rb") as head:
            check_declared_kind(name=clean_name, kind=kind, stream=head)
        if kind == ArtifactKind.ARCHIVE:
            _refuse_unsafe_archive(staged, name=clean_name)
        with staged.open("rb") as plaintext:
            # The store's label is the artifact's id, never its file name: file names are submitted content.
            stored = store.put(plaintext, max_bytes=limit, artifact_id=str(artifact_id))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        with transaction.atomic():
            artifact = Artifact.objects.create(id=artifact_id, submission=submission, name=clean_name, kind=kind,
                                               content_type=content_type[:100], size=stored.size,
                                               sha256=stored.sha256, storage_key=stored.key)
            audit_append(actor=actor, action="artifact.add", obj=submission,
                         data={"artifact": str(artifact.pk), "size": stored.size, "sha256": stored.sha256})
    except IntegrityError as exc:
        store.delete(stored.key)  # never leave an orphan behind a failed insert
        raise ValidationFailed(f"an artifact named {clean_name} is already attached") from exc
    except BaseException:
        store.delete(stored.key)
        raise
    return artifact


def _stage_upload(stream: BinaryIO, target: Path, *, limit: int) -> Path:
    written = 0
    with target.open("xb") as out:
        target.chmod(0o600)
        while chunk := stream.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise TooLarge(f"artifact is larger than the {limit} byte limit")
            out.write(chunk)
    return target


def _refuse_unsafe_archive(path: Path, *, name: str) -> None:
    """An archive is accepted only if it reads one way, with the parser and limits triage uses on it later: what is
    stored, what triage analyses and what the digest covers are then the same files."""
    try:
        archive_listing(path, limits=UnpackLimits(**getattr(settings, "ASSAY_TRIAGE_UNPACK_LIMITS", {})))
    except UnsafeInput as exc:
        raise ValidationFailed(f"{name} cannot be accepted: {exc}") from None


def artifact_remove(*, artifact: Artifact, actor) -> None:  # noqa: ANN001
    submission = artifact.submission
    if submission.state != State.DRAFT:
        raise NotEditable("artifacts can only be removed from drafts")
    with transaction.atomic():
        artifact.delete()
        audit_append(actor=actor, action="artifact.remove", obj=submission, data={"artifact": str(artifact.pk), "sha256": artifact.sha256})
    artifact_store().delete(artifact.storage_key)


def submission_redaction_findings(submission: Submission) -> list[RedactionFinding]:
    """Open redaction findings: everything the lint finds minus what the builder confirmed."""
    findings = scan_fields({
        "title": submission.title, "description": submission.description,
        "claim_statement": submission.claim_statement, "claim_scope_in": submission.claim_scope_in,
        "claim_scope_out": submission.claim_scope_out, "claim_scope_note": submission.claim_scope_note,
        "claim_assumptions": submission.claim_assumptions, "manifest": submission.manifest,
    })
    confirmed = set(submission.redaction_confirmed or [])
    return [f for f in findings if f.fingerprint not in confirmed]


def submission_confirm_placeholders(*, submission: Submission, actor, fingerprints: list[str]) -> Submission:  # noqa: ANN001
    known = {f.fingerprint for f in submission_redaction_findings(submission)}
    chosen = sorted(set(fingerprints) & known)
    if not chosen:
        raise ValidationFailed("none of those findings are open")
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.state != State.DRAFT:
            raise NotEditable("only drafts can be changed")
        locked.redaction_confirmed = sorted(set(locked.redaction_confirmed or []) | set(chosen))
        locked.save(update_fields=["redaction_confirmed", "updated_at"])
        audit_append(actor=actor, action="redaction.confirm_placeholder", obj=locked, data={"fingerprints": chosen})
    return locked


def submission_readiness(submission: Submission) -> list[str]:
    """What still stops this draft from being submitted, in wizard order (empty = ready)."""
    problems = []
    if not submission.claim_statement:
        problems.append("State the claim you want assessed.")
    if not submission.claim_property:
        problems.append("Choose the claim's property kind.")
    if not submission.claim_scope_in:
        problems.append("List at least one component in scope.")
    else:
        problems += [_scope_problem_text(problem) for problem in submission_scope_problems(submission)]
    if submission.manifest is None:
        problems.append("Add the system manifest.")
    terms = current_terms()
    if terms is None or not submission.terms_acceptances.filter(terms=terms).exists():
        problems.append("Accept the current terms.")
    if submission_redaction_findings(submission):
        problems.append("Redact the flagged secrets or personal data, or confirm they are placeholders.")
    return problems


DETECT_COMPONENTS = "Detect the system's components (Scope step), so the scope can be checked against them."


def submission_inventory(submission: Submission) -> list[dict] | None:
    """The components triage detected for the draft's current artifacts and manifest; None when they were never
    detected, or the artifacts or manifest changed since."""
    stored = submission.component_inventory
    if not isinstance(stored, dict) or stored.get("basis") != submission_compute_digest(submission):
        return None
    components = stored.get("components")
    return components if isinstance(components, list) else None


def submission_scope_problems(submission: Submission) -> list[ScopeProblem]:
    """Scope entries that name no detected component (each with suggestions), or the one problem that the
    components are not detected yet."""
    inventory = submission_inventory(submission)
    if inventory is None:
        return [ScopeProblem(entry="", field="component_inventory", message=DETECT_COMPONENTS, suggestions=())]
    return scope_problems(list(submission.claim_scope_in or []), list(submission.claim_scope_out or []), inventory)


def _scope_problem_text(problem: ScopeProblem) -> str:
    if not problem.suggestions:
        return problem.message if problem.field == "component_inventory" else \
            f"{problem.message} Pick components from the Scope step."
    return f"{problem.message} Nearest: {', '.join(problem.suggestions)}."


def submission_inventory_store(*, submission: Submission, components: list[dict], basis: str,
                               actor=None) -> Submission:  # noqa: ANN001
    """Keep the components triage detected for ``basis`` (the draft's config digest when detection started);
    refused when the draft moved on meanwhile, so a stale inventory is never stored as current."""
    if not isinstance(components, list) or len(components) > MAX_INVENTORY_COMPONENTS:
        raise ValidationFailed("the component inventory is too large")
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.state != State.DRAFT:
            raise NotEditable(f"case {locked.reference} is {locked.state}; components are detected for drafts")
        if submission_compute_digest(locked) != basis:
            raise NotEditable("the artifacts or manifest changed while components were detected; detect again")
        locked.component_inventory = {"basis": basis, "components": components}
        locked.save(update_fields=["component_inventory", "updated_at"])  # sealed: through save(), never update()
        audit_append(actor=actor, action="scope.inventory", obj=locked, data={"components": len(components)})
    return locked


def submission_compute_digest(submission: Submission) -> str:
    return config_digest(files=[(a.name, a.sha256) for a in submission.artifacts.all()],
                         manifest=submission.manifest)


def submission_submit(*, submission: Submission, actor) -> Submission:  # noqa: ANN001
    """Freeze the configuration (digest), move draft → submitted and queue triage after commit."""
    if submission.state != State.DRAFT:
        raise NotEditable(f"case {submission.reference} is already {submission.state}; only a draft can be submitted")
    problems = submission_readiness(submission)
    if problems:
        findings = submission_redaction_findings(submission)
        error_cls = RedactionRequired if findings and len(problems) == 1 else ValidationFailed
        scope = submission_scope_problems(submission) if submission.claim_scope_in else []
        raise error_cls(problems[0], details={"problems": problems, "redaction": [f.as_dict() for f in findings],
                                              "scope": [p.as_dict() for p in scope]})
    with transaction.atomic():
        digest = submission_compute_digest(submission)
        Submission.objects.filter(pk=submission.pk, state=State.DRAFT).update(config_digest=digest)
        submission = transition(submission, State.SUBMITTED, actor=actor, data={"config_digest": digest})
        transaction.on_commit(lambda pk=submission.pk: _queue_triage(pk))
    return submission


TRIAGE_TASK = "triage.tasks.triage_submission"


def _queue_triage(pk) -> None:  # noqa: ANN001
    """Runs after commit. A broker outage must not undo or hide a submission that was accepted: the case
    stays ``submitted`` and the periodic sweep (triage.tasks.triage_requeue_stale) queues it again."""
    import logging

    from celery import current_app

    try:
        # By name: the task lives in triage, a layer above this one (the worker has it registered).
        current_app.send_task(TRIAGE_TASK, args=[str(pk)])
    except Exception:  # noqa: BLE001 - any broker failure
        logging.getLogger(__name__).exception("could not queue triage for case %s; the sweep will retry", pk)


def submission_withdraw(*, submission: Submission, actor, reason: str = "") -> Submission:  # noqa: ANN001
    """Withdraw the case. The builder's reason is their text: kept sealed on the case, never in the audit log."""
    reason = (reason or "").strip()[:500]
    with transaction.atomic():
        submission = transition(submission, State.WITHDRAWN, actor=actor, reason="withdrawn by builder",
                                data={"reason_chars": len(reason)})
        if reason:
            submission.withdrawal_reason = reason
            submission.save(update_fields=["withdrawal_reason"])
    return submission
