"""Through the real pipeline and sandbox: static triage first, then the dynamic gate decides from the claim and
the static outcome whether the submitted MCP servers run. Every sandbox run of the dynamic harness is recorded
(and still performed) so a test can tell discovery (parses, executes nothing) from running a server."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from intake.models import AuditEvent
from intake.services import artifact_add, submission_submit, submission_update
from intake.states import State, transition
from tests.factories import PASSWORD, make_draft, scope_components
from tests.unit.dynamic.helpers import real_backend
from tests.unit.dynamic.test_pipeline_dynamic import fixture_zip
from triage.models import DynamicRun, TriageResult
from triage.pipeline import triage_submission_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dynamic_on(settings) -> None:  # noqa: ANN001
    settings.ASSAY_SANDBOX = real_backend()
    settings.ASSAY_DYNAMIC_TRIAGE = True


@pytest.fixture
def harness_modes(monkeypatch) -> list[str]:  # noqa: ANN001
    """The mode of every dynamic-harness sandbox run: "discover" parses the tree, "run" starts a server."""
    import triage.dynamic.stage as stage

    modes: list[str] = []
    real = stage._harness_run

    def recording(*, backend, plan, mounts, limits):  # noqa: ANN001, ANN202
        modes.append(plan["mode"])
        return real(backend=backend, plan=plan, mounts=mounts, limits=limits)

    monkeypatch.setattr(stage, "_harness_run", recording)
    return modes


def submitted(owner, archive: bytes, **claim):  # noqa: ANN001, ANN003, ANN201
    submission = submission_update(submission=make_draft(owner), actor=owner,
                                   **{k: v for k, v in claim.items() if not k.startswith("claim_scope")})
    artifact_add(submission=submission, actor=owner, name="system.zip", stream=io.BytesIO(archive), kind="archive")
    submission = scope_components(submission, owner, scope_in=claim.get("claim_scope_in", ["agent:*"]),
                                  scope_out=claim.get("claim_scope_out"))
    return submission_submit(submission=submission, actor=owner)


def triaged_event(submission) -> dict:  # noqa: ANN001
    """The audit data of the case's move to ``triaged``, which records the gate's decision."""
    events = AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk))
    (data,) = [e.data for e in events if e.data["to"] == State.TRIAGED]
    return data


def test_a_claim_and_findings_that_justify_it_get_a_dynamic_run(builder, harness_modes) -> None:  # noqa: ANN001
    # No exfiltration claimed for the server declared in .mcp.json; static triage finds a lethal trifecta in its code.
    submission = submitted(builder, fixture_zip("exfiltrating"), claim_scope_in=["file:.mcp.json"])
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT
    assert harness_modes == ["discover", "run"]
    run = DynamicRun.objects.get(submission=submission)
    assert run.ran and run.gate["version"] and run.gate["servers"] == ["ticket-helper"]
    assert run.gate_reason == ("1 MCP server(s) within the scope of claim no-exfiltration can start offline "
                               "(ticket-helper); 1 static flow(s) through them to confirm with a canary")
    (flow,) = run.gate["flows"]
    assert flow["check"] == "trifecta.lethal-trifecta" and flow["path"] == "server.py"
    assert flow["servers"] == ["ticket-helper"]
    result = TriageResult.objects.get(submission=submission)
    checks = {f["check"] for f in result.findings}
    assert {"trifecta.lethal-trifecta", "dynamic.canary-exfiltration"} <= checks
    # The canary confirmed the static flow, so it is not listed as unconfirmed; the unvendored server is not run.
    assert run.not_run == [{"target": "mcp:tickets",
                            "reason": "module 'tickets_mcp' is neither in the submitted files nor in the vetted runtime"}]
    assert AuditEvent.objects.filter(action="triage.dynamic_run", object_id=str(submission.pk)).exists()
    assert triaged_event(submission)["dynamic_stage"] == {"ran": True, "reason": run.gate_reason,
                                                          "gate_version": run.gate["version"]}


def test_a_claim_that_does_not_cover_the_servers_gets_not_run_with_the_reason_and_runs_nothing(
        builder, client, harness_modes) -> None:  # noqa: ANN001
    # The same exfiltrating server, but the claim is about the manifest's agent only: no server is in its scope.
    submission = submitted(builder, fixture_zip("exfiltrating"), claim_scope_in=["agent:manifest"])
    triage_submission_run(str(submission.pk))
    assert harness_modes == ["discover"]  # discovery parsed the tree; no server was started
    run = DynamicRun.objects.get(submission=submission)
    assert not run.ran and run.servers == [] and run.findings == [] and run.pins == {} and run.record_key == ""
    assert run.gate_reason == "every MCP server that can start offline is outside the claim's scope"
    assert run.not_run == [
        {"target": "mcp:ticket-helper", "reason": "outside the claim's scope (not named in its scope)"},
        {"target": "mcp:tickets", "reason": "module 'tickets_mcp' is neither in the submitted files nor in the vetted runtime"},
    ]
    result = TriageResult.objects.get(submission=submission)
    assert not [f for f in result.findings if f["check"].startswith("dynamic.")]
    assert not AuditEvent.objects.filter(action="triage.dynamic_run", object_id=str(submission.pk)).exists()
    assert triaged_event(submission)["dynamic_stage"]["ran"] is False

    client.login(email=builder.email, password=PASSWORD)
    page = client.get(f"/cases/{submission.pk}/").content.decode()
    assert f"Dynamic stage not run: {run.gate_reason}." in page.replace("&#x27;", "'")
    assert "not a finding that the system is safe" in page
    assert "were started offline" not in page

    from reviews.reports import report_compose

    predicate = report_compose(submission=submission, kind="guidance", report_id="r-test",
                               issued_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert predicate["dynamic"]["ran"] is False
    assert predicate["dynamic"]["summary"][0] == f"Dynamic stage not run: {run.gate_reason}."
    assert predicate["dynamic"]["summary"][-1].startswith("No runtime evidence was gathered")


def test_a_static_reject_runs_nothing_not_even_discovery(builder, settings, harness_modes) -> None:  # noqa: ANN001
    archive = fixture_zip("exfiltrating")
    settings.ASSAY_DYNAMIC_TRIAGE = False  # the first case is triaged statically only
    first = submitted(builder, archive, claim_scope_in=["file:.mcp.json"])
    triage_submission_run(str(first.pk))
    settings.ASSAY_DYNAMIC_TRIAGE = True
    duplicate = submitted(builder, archive, claim_scope_in=["file:.mcp.json"])
    assert triage_submission_run(str(duplicate.pk)) == State.REJECTED
    assert harness_modes == []
    run = DynamicRun.objects.get(submission=duplicate)
    assert not run.ran and run.servers == []
    assert run.gate_reason == ("static triage rejected the case (exact duplicate (same configuration and claim) of "
                               f"your earlier case {first.reference}; open that case to request human review or "
                               "submit a new version); submitted code is never run for a rejected case")
    assert run.not_run == [{"target": "dynamic stage", "reason": run.gate_reason}]


def test_an_unprocessable_upload_is_rejected_and_its_dynamic_stage_says_why(builder, harness_modes) -> None:  # noqa: ANN001
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # the draft's uploaded settings.json is at this path too
        archive.writestr("settings.json", "{}")
    submission = make_draft(builder)
    artifact_add(submission=submission, actor=builder, name="system.zip", stream=io.BytesIO(buffer.getvalue()),
                 kind="archive")
    # The scope step's detection refuses such a pair (test_triage_pipeline); a case submitted without it (before
    # components existed) still reaches triage, which rejects it.
    submission = transition(submission, State.SUBMITTED, actor=builder, reason="submitted before detection")
    assert triage_submission_run(str(submission.pk)) == State.REJECTED
    assert harness_modes == []
    run = DynamicRun.objects.get(submission=submission)
    assert not run.ran
    assert run.gate_reason.startswith("static triage rejected the case (the uploaded artifacts could not be "
                                      "unpacked safely: ")
