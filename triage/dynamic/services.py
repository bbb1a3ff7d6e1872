"""The dynamic stage for a submission: run it with the case's earlier pins, vault the record, store the run.

Called from :func:`triage.pipeline.submission_triage` when the operator has turned the stage on
(``ASSAY_DYNAMIC_TRIAGE``). Records go into the encrypted vault; only a summary (pins, servers, findings,
what did not run) is kept in the clear on :class:`triage.models.DynamicRun`.
"""

from __future__ import annotations

import io
import json
import uuid

from django.conf import settings

from intake.audit import audit_append
from triage.dynamic.stage import DynamicOutcome, dynamic_triage_sources

MAX_RECORD_BYTES = 64 * 1024 * 1024


def dynamic_triage_enabled() -> bool:
    return bool(getattr(settings, "ASSAY_DYNAMIC_TRIAGE", False))


def dynamic_triage_applies(*, submission) -> bool:  # noqa: ANN001
    """Run submitted code only when the operator turned the stage on and the builder accepted the terms
    (which authorise testing of the submitted system) for this case."""
    return dynamic_triage_enabled() and submission.terms_acceptances.exists()


def dynamic_previous_pins(*, owner_id: int) -> dict[str, dict]:
    """The latest pin of each server name across the builder's earlier runs (re-runs and re-submissions)."""
    from triage.models import DynamicRun

    runs = DynamicRun.objects.filter(submission__owner_id=owner_id).order_by("created_at", "pk")
    pins: dict[str, dict] = {}
    for run_pins in runs.values_list("pins", flat=True):
        pins.update(run_pins or {})
    return pins


def submission_dynamic_triage(*, submission, sources: list, context_for):  # noqa: ANN001, ANN201
    """Static + dynamic triage of a case's staged sources; returns ``(TriageOutcome, DynamicOutcome)``."""
    return dynamic_triage_sources(sources=sources, manifest=submission.manifest, context_for=context_for,
                                  previous_pins=dynamic_previous_pins(owner_id=submission.owner_id))


def dynamic_record_put(*, submission, dynamic: DynamicOutcome):  # noqa: ANN001, ANN201 - StoredObject
    """Encrypt the full record into the vault. Call outside the database transaction (it is storage I/O)."""
    from intake.storage import artifact_store

    record = {"version": 1, "submission": str(submission.pk), "sandbox": dynamic.sandbox,
              "servers": dynamic.records, "not_run": dynamic.not_run, "probes": dynamic.probes,
              "findings": [f.as_contract_dict() for f in dynamic.findings]}
    data = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()
    return artifact_store().put(io.BytesIO(data), max_bytes=MAX_RECORD_BYTES,
                                artifact_id=f"dynamic-record-{uuid.uuid4().hex}")


def dynamic_run_create(*, submission, dynamic: DynamicOutcome, config_digest: str, stored=None):  # noqa: ANN001, ANN201
    """Store the run's summary and audit it. Runs inside the caller's transaction."""
    from triage.models import DynamicRun

    run = DynamicRun.objects.create(
        submission=submission, sandbox=dynamic.sandbox, config_digest=config_digest, pins=dynamic.pins,
        servers=[{"name": s.name, "started": s.started, "stopped": s.stopped,
                  "tools": [t["name"] for t in s.tools]} for s in dynamic.servers],
        findings=[f.as_contract_dict() for f in dynamic.findings], not_run=dynamic.not_run,
        record_key=stored.key if stored else "", record_sha256=stored.sha256 if stored else "",
        duration_ms=int(dynamic.duration_s * 1000))
    audit_append(action="triage.dynamic_run", obj=submission,
                 data={"dynamic_run": run.pk, "sandbox": run.sandbox, "servers": len(run.servers),
                       "not_run": len(run.not_run), "findings": len(run.findings)})
    return run


def dynamic_record_read(*, run, actor, purpose: str, reason: str) -> dict:  # noqa: ANN001
    """Decrypt a run's full record for someone already allowed to see it (the caller checked access).

    ``purpose`` is a vault read purpose (builder download, reviewer grant); the read is audited by the vault.
    """
    from intake.storage import artifact_store

    with artifact_store().open(run.record_key, actor=actor, purpose=purpose, reason=reason) as stream:
        return json.loads(stream.read(MAX_RECORD_BYTES + 1))
