"""The dynamic stage for a submission: the gate, the run with the case's earlier pins, the vaulted record.

Called from :func:`triage.pipeline.submission_triage` after static triage, for every case. Whether submitted
code runs is decided by :mod:`triage.dynamic.gating` from the operator switch (``ASSAY_DYNAMIC_TRIAGE``), the
builder's accepted terms, the static decision, the claim and what discovery found; the decision and its reason
are stored on :class:`triage.models.DynamicRun` either way. Records go into the encrypted vault; only a summary
(gate, pins, servers, findings, what did not run) is kept in the clear.
"""

from __future__ import annotations

import io
import json
import uuid

from django.conf import settings

from intake.audit import audit_append
from triage.dynamic.gating import GateClaim, gate_preconditions
from triage.dynamic.stage import DynamicOutcome
from triage.orchestrator import DynamicRequest

MAX_RECORD_BYTES = 64 * 1024 * 1024


def dynamic_triage_enabled() -> bool:
    return bool(getattr(settings, "ASSAY_DYNAMIC_TRIAGE", False))


def dynamic_gate_claim(*, submission) -> GateClaim:  # noqa: ANN001
    return GateClaim(property_kind=submission.claim_property or None,
                     scope_in=tuple(str(e) for e in submission.claim_scope_in or []),
                     scope_out=tuple(str(e) for e in submission.claim_scope_out or []),
                     access_tier=submission.claim_access_tier or None)


def dynamic_previous_pins(*, owner_id: int) -> dict[str, dict]:
    """The latest pin of each server name across the builder's earlier runs (re-runs and re-submissions)."""
    from triage.models import DynamicRun

    runs = DynamicRun.objects.filter(submission__owner_id=owner_id).order_by("created_at", "pk")
    pins: dict[str, dict] = {}
    for run_pins in runs.values_list("pins", flat=True):
        pins.update(run_pins or {})
    return pins


def dynamic_request_for(*, submission) -> DynamicRequest:  # noqa: ANN001
    """What the dynamic gate weighs for this case besides its static outcome: the claim, the operator's switch,
    the accepted terms and the builder's earlier tool-set pins (read only if a server starts)."""
    return DynamicRequest(claim=dynamic_gate_claim(submission=submission), operator_enabled=dynamic_triage_enabled(),
                          terms_accepted=submission.terms_acceptances.exists(),
                          previous_pins=lambda: dynamic_previous_pins(owner_id=submission.owner_id))


def dynamic_not_run_unprocessable(*, submission, sandbox: str, failure: str) -> DynamicOutcome:  # noqa: ANN001
    """The gate for a case static triage rejected before analysis (its artifacts could not be unpacked)."""
    gate = gate_preconditions(claim=dynamic_gate_claim(submission=submission), sandbox=sandbox,
                              operator_enabled=dynamic_triage_enabled(),
                              terms_accepted=submission.terms_acceptances.exists(), static_decision="reject",
                              static_reasons=[f"the uploaded artifacts could not be unpacked safely: {failure}"])
    return DynamicOutcome.refused(sandbox=sandbox, gate=gate)


def dynamic_record_put(*, submission, dynamic: DynamicOutcome):  # noqa: ANN001, ANN201 - StoredObject
    """Encrypt the full record into the vault. Call outside the database transaction (it is storage I/O)."""
    from intake.storage import artifact_store

    record = {"version": 1, "submission": str(submission.pk), "sandbox": dynamic.sandbox,
              "gate": dynamic.gate.as_dict() if dynamic.gate else None,
              "servers": dynamic.records, "not_run": dynamic.not_run, "probes": dynamic.probes,
              "findings": [f.as_contract_dict() for f in dynamic.findings]}
    data = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()
    return artifact_store().put(io.BytesIO(data), max_bytes=MAX_RECORD_BYTES,
                                artifact_id=f"case:{submission.pk}:dynamic-record-{uuid.uuid4().hex}")


def _server_summary(server, record: dict) -> dict:  # noqa: ANN001 - ServerRun
    """What the case page shows of one server: how it was found, whether it ran, for how long, what was called.
    (Not its launch line: a command line can carry a token; that stays in the sealed record.)"""
    return {"name": server.name, "started": server.started, "stopped": server.stopped,
            "tools": [t["name"] for t in server.tools], "origin": record.get("origin") or "",
            "duration_s": record.get("duration_s"), "start_s": record.get("start_s"),
            "called": [c["tool"] for c in server.calls]}


def dynamic_run_create(*, submission, dynamic: DynamicOutcome, config_digest: str, stored=None):  # noqa: ANN001, ANN201
    """Store the gate's decision and, when the stage ran, the run's summary (audited). Inside the caller's
    transaction."""
    from triage.models import DynamicRun

    records = {r.get("server"): r for r in dynamic.records}
    run = DynamicRun.objects.create(
        submission=submission, sandbox=dynamic.sandbox, config_digest=config_digest, pins=dynamic.pins,
        gate=dynamic.gate.as_dict() if dynamic.gate else {},
        servers=[_server_summary(s, records.get(s.name, {})) for s in dynamic.servers],
        findings=[f.as_contract_dict() for f in dynamic.findings], not_run=dynamic.not_run,
        record_key=stored.key if stored else "", record_sha256=stored.sha256 if stored else "",
        duration_ms=int(dynamic.duration_s * 1000))
    if not run.ran:
        return run  # nothing was executed; the decision itself is in the triage transition's audit event
    audit_append(action="triage.dynamic_run", obj=submission,
                 data={"dynamic_run": run.pk, "sandbox": run.sandbox, "servers": len(run.servers),
                       "not_run": len(run.not_run), "findings": len(run.findings)})
    return run


def dynamic_record_read(*, run, access, purpose: str | None = None, reason: str) -> dict:  # noqa: ANN001
    """Decrypt a run's full record, as ``access`` allows (intake.access: a person's decision for the run's case
    with a read purpose of theirs, or a system purpose); the read is audited by the vault."""
    from intake.storage import artifact_store

    with artifact_store().open(run.record_key, access=access, purpose=purpose, reason=reason) as stream:
        return json.loads(stream.read(MAX_RECORD_BYTES + 1))
