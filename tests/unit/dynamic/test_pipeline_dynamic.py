"""With the stage turned on, a submitted case's MCP servers run in the sandbox during triage: the findings
reach the stored result, the run and its pins are kept, the full record is encrypted in the vault, and a
re-submission by the same builder is compared against the earlier pins."""

from __future__ import annotations

import io
import zipfile

import pytest

from intake.models import AuditEvent
from intake.services import artifact_add, submission_submit
from intake.states import State
from tests.factories import make_draft, scope_components, make_user
from tests.unit.dynamic.helpers import FIXTURES, real_backend
from intake.access import access_decide
from intake.vault.services import AccessRefused
from triage.dynamic.services import dynamic_record_read
from triage.models import DynamicRun, TriageResult
from triage.pipeline import triage_submission_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dynamic_on(settings) -> None:  # noqa: ANN001
    settings.ASSAY_SANDBOX = real_backend()
    settings.ASSAY_DYNAMIC_TRIAGE = True


def fixture_zip(name: str, extra: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((FIXTURES / name).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(FIXTURES / name).as_posix())
        for member, text in (extra or {}).items():
            archive.writestr(member, text)
    return buffer.getvalue()


def submitted(owner, archive: bytes):  # noqa: ANN001, ANN201
    # The factory's manifest also declares a 'tickets' server that is not vendored: it cannot run offline.
    submission = make_draft(owner)
    artifact_add(submission=submission, actor=owner, name="system.zip", stream=io.BytesIO(archive), kind="archive")
    submission = scope_components(submission, owner, scope_in=["file:.mcp.json"])
    return submission_submit(submission=submission, actor=owner)


def test_the_stage_runs_in_triage_and_its_record_is_vaulted(builder) -> None:  # noqa: ANN001
    submission = submitted(builder, fixture_zip("exfiltrating"))
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT
    result = TriageResult.objects.get(submission=submission)
    assert "dynamic.canary-exfiltration" in {f["check"] for f in result.findings}
    run = DynamicRun.objects.get(submission=submission)
    assert run.sandbox == real_backend()
    assert run.not_run == [{"target": "mcp:tickets", "reason": "module 'tickets_mcp' is neither in the submitted files nor in the vetted runtime"}]
    assert [s["name"] for s in run.servers] == ["ticket-helper"] and run.pins["ticket-helper"]["pin"].startswith("sha256:")
    assert run.record_key and len(run.record_sha256) == 64
    record = dynamic_record_read(run=run, access=access_decide(builder, submission), purpose="builder_download",
                                 reason="builder views own case")
    with pytest.raises(AccessRefused):  # the record is bound to its case: no other builder's decision reads it
        dynamic_record_read(run=run, access=access_decide(make_user("someone@else.example"), submission),
                            purpose="builder_download", reason="not theirs")
    (server,) = record["servers"]
    assert server["sandbox"] == run.sandbox and server["limits"]["call_seconds"] > 0
    assert any('"method":"tools/call"' in m["message"] for m in server["transcript"])
    assert server["effects"]["network"][0]["destination"] == "collector.exfil-demo.net:80"
    assert "assay-canary-" not in str(record)
    audit = AuditEvent.objects.get(action="triage.dynamic_run", object_id=str(submission.pk))
    assert audit.data == {"dynamic_run": run.pk, "sandbox": run.sandbox, "servers": 1, "not_run": 1,
                          "findings": len(run.findings)}


def test_a_re_submission_whose_tools_changed_is_reported_as_drift(builder) -> None:  # noqa: ANN001
    first = submitted(builder, fixture_zip("rugpull"))
    triage_submission_run(str(first.pk))
    assert "dynamic.tool-set-drift" not in {f["check"] for f in TriageResult.objects.get(submission=first).findings}
    second = submitted(builder, fixture_zip("rugpull", {"variant.txt": "v2\n"}))
    triage_submission_run(str(second.pk))
    drift = [f for f in TriageResult.objects.get(submission=second).findings if f["check"] == "dynamic.tool-set-drift"]
    assert len(drift) == 1 and drift[0]["evidence"].endswith("added get_pollen; changed get_weather")


def test_with_the_stage_off_no_server_is_started_and_the_case_says_why(builder, settings) -> None:  # noqa: ANN001
    settings.ASSAY_DYNAMIC_TRIAGE = False
    submission = submitted(builder, fixture_zip("exfiltrating"))
    triage_submission_run(str(submission.pk))
    run = DynamicRun.objects.get(submission=submission)
    assert not run.ran and run.servers == [] and run.findings == [] and run.record_key == ""
    assert run.gate_reason == "the operator has not enabled the dynamic stage on this platform"
    assert run.not_run == [{"target": "dynamic stage", "reason": run.gate_reason}]
    assert not [f for f in TriageResult.objects.get(submission=submission).findings if f["check"].startswith("dynamic.")]
    assert not AuditEvent.objects.filter(action="triage.dynamic_run", object_id=str(submission.pk)).exists()


def test_the_closing_note_says_what_ran_what_could_not_and_why(builder) -> None:  # noqa: ANN001
    from triage.dynamic.selectors import dynamic_closing_note, dynamic_latest_run

    submission = submitted(builder, fixture_zip("deleting"))
    triage_submission_run(str(submission.pk))
    run = dynamic_latest_run(submission=submission)
    assert dynamic_closing_note(run=run) == [
        "Dynamic stage ran: 1 MCP server(s) within the scope of claim no-exfiltration can start offline (janitor); "
        "0 static flow(s) through them to confirm with a canary.",
        f"Ran MCP server janitor in the {run.sandbox} sandbox (tools: tidy_workspace).",
        "Not run: mcp:tickets (module 'tickets_mcp' is neither in the submitted files nor in the vetted runtime).",
        "Dynamic findings: 1.",
    ]
    assert dynamic_closing_note(run=None) == ["Dynamic stage: not run for this case (static triage only)."]


def test_without_accepted_terms_no_submitted_code_is_run(builder) -> None:  # noqa: ANN001
    from intake.models import TermsAcceptance

    submission = submitted(builder, fixture_zip("exfiltrating"))
    TermsAcceptance.objects.filter(submission=submission).delete()
    triage_submission_run(str(submission.pk))
    assert TriageResult.objects.filter(submission=submission).exists()
    run = DynamicRun.objects.get(submission=submission)
    assert not run.ran and run.servers == []
    assert run.gate_reason == "the builder has not accepted terms authorising tests of the submitted system for this case"


def test_a_server_found_only_in_its_code_runs_and_the_case_page_says_how_long_and_what_was_called(
        builder, client) -> None:  # noqa: ANN001
    from tests.factories import PASSWORD
    from triage.dynamic.runtime import VettedRuntime, runtime_dir

    if not VettedRuntime.load(runtime_dir()).built:
        pytest.skip("the vetted dynamic runtime is not built (infra/build-dynamic-runtime.sh; make test builds it)")
    corpus = FIXTURES.parent / "mcp_corpus" / "py_gitlog_lowlevel"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(corpus.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(corpus).as_posix())
    submission = make_draft(builder)
    artifact_add(submission=submission, actor=builder, name="system.zip", stream=io.BytesIO(buffer.getvalue()),
                 kind="archive")
    submission = scope_components(submission, builder, scope_in=["file:mcp_server_gitlog/**", "mcp-server:*"])
    submission = submission_submit(submission=submission, actor=builder)
    triage_submission_run(str(submission.pk))
    run = DynamicRun.objects.get(submission=submission)
    # Only the factory manifest's unvendored 'tickets' server is not run; the code-only server is.
    assert run.ran and [item["target"] for item in run.not_run] == ["mcp:tickets"]
    (server,) = run.servers
    assert server["name"] == "gitlog" and server["origin"] == "code" and server["started"]
    assert server["called"] == ["git_log", "git_show_file"] == server["tools"]
    assert 0 < server["start_s"] <= server["duration_s"]
    client.login(email=builder.email, password=PASSWORD)
    page = client.get(f"/cases/{submission.pk}/").content.decode()
    assert "gitlog (found in its code): ran for " in page
    assert "called git_log, git_show_file" in page
