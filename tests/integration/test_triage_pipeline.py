"""A submitted case is triaged in the sandbox, its result stored, and the case moved on by the policy's decision."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from intake.errors import ValidationFailed
from intake.models import AuditEvent, Submission
from intake.services import artifact_add, submission_submit
from intake.states import State, transition
from triage.leases import lost_triage_runs
from triage.models import FingerprintLink, LinkKind, SubmissionFingerprint, TriageResult
from triage.pipeline import submission_triage, triage_submission_run
from triage.policy import POLICY_VERSION
from triage.runner import TriageInputError, TriagePlatformError
from triage.sandbox import backend_works
from triage.sarif import sarif_document
from triage.scope_inventory import submission_detect_components
from triage.tasks import triage_submission
from tests.factories import make_draft, scope_components

AGENT = Path(__file__).resolve().parent.parent / "fixtures" / "archives" / "agent_system"


@pytest.fixture(autouse=True)
def _fast_sandbox(settings):  # noqa: ANN001
    settings.ASSAY_SANDBOX = "bubblewrap" if backend_works("bubblewrap") else "auto"


def agent_zip(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(AGENT.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(AGENT).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def submitted_case(owner, archive: bytes | None = None, *, name: str = "system.zip",  # noqa: ANN001
                   claim_scope_in: list[str] | None = None) -> Submission:
    submission = make_draft(owner)
    if archive is not None:
        # The claim covers the agent's configuration and tools (scope entries are component ids and globs).
        artifact_add(submission=submission, actor=owner, name=name, stream=io.BytesIO(archive), kind="archive")
        submission = scope_components(submission, owner,
                                      scope_in=claim_scope_in or ["file:.claude/**", "file:.mcp.json", "agent:*"])
    return submission_submit(submission=submission, actor=owner)


def moves(submission: Submission) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk)).order_by("seq")
    return [(event.data["from"], event.data["to"]) for event in events]


def test_a_risky_system_is_escalated_and_awaits_consent(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder, agent_zip())
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT
    result = TriageResult.objects.get(submission=submission)
    assert result.decision == "escalate" and result.policy_version == POLICY_VERSION
    assert result.sandbox == ("gvisor" if not backend_works("bubblewrap") else "bubblewrap")
    assert result.score > 50 and result.reasons
    submission.refresh_from_db()
    # one configuration digest: the case's (manifest + each artifact's plaintext hash), named alike everywhere;
    # the digest of the unpacked tree triage read has its own name
    assert result.config_digest == submission.config_digest and result.config_digest.startswith("sha256:")
    assert result.tree_digest.startswith("sha256:") and result.tree_digest != result.config_digest
    assert {"approval.bypass-permissions", "provenance.curl-pipe-shell"} <= {f["check"] for f in result.findings}
    assert result.file_count == 6  # five files from the archive plus the settings.json artifact
    assert moves(submission) == [("draft", "submitted"), ("submitted", "triaging"), ("triaging", "triaged"),
                                 ("triaged", "awaiting_consent")]


def test_a_harmless_system_is_closed_with_guidance(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder)
    assert triage_submission_run(str(submission.pk)) == State.CLOSED
    result = TriageResult.objects.get(submission=submission)
    assert result.decision == "guidance"
    assert moves(submission)[-1] == ("triaged", "closed")


def test_artifacts_that_clash_when_unpacked_together_are_rejected_with_the_reason(builder) -> None:  # noqa: ANN001
    """Each upload reads one way on its own (unsafe archives are refused at upload); together, an archive's
    settings.json and the uploaded settings.json would be two files at one path."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("settings.json", '{"permissions": {"defaultMode": "bypassPermissions"}}')
    submission = make_draft(builder)
    artifact_add(submission=submission, actor=builder, name="system.zip", stream=io.BytesIO(buffer.getvalue()),
                 kind="archive")
    # The scope step's detection already refuses the pair, saying why, so such a draft cannot pass readiness ...
    with pytest.raises(TriageInputError, match="duplicate entry name: settings.json"):
        submission_detect_components(submission=submission, actor=builder)
    # ... and a case submitted without it (before components existed) is rejected by triage with the reason.
    submission = transition(submission, State.SUBMITTED, actor=builder, reason="submitted before detection")
    assert triage_submission_run(str(submission.pk)) == State.REJECTED
    result = TriageResult.objects.get(submission=submission)
    assert result.decision == "reject" and result.findings == []
    assert result.reasons == ["The uploaded artifacts could not be unpacked safely: "
                              "duplicate entry name: settings.json"]


def test_an_unsafe_archive_is_refused_at_upload_and_never_reaches_triage(builder) -> None:  # noqa: ANN001
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.sh", "rm -rf /")
    with pytest.raises(ValidationFailed, match=r"^system.zip cannot be accepted: entry escapes the root: "
                                               r"../../escape.sh$"):
        submitted_case(builder, buffer.getvalue())


def test_running_twice_changes_nothing_the_second_time(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder, agent_zip())
    triage_submission_run(str(submission.pk))
    events = AuditEvent.objects.count()
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT
    assert AuditEvent.objects.count() == events
    assert TriageResult.objects.filter(submission=submission).count() == 1


def test_a_case_left_in_triaging_by_a_dead_worker_is_finished_by_a_rerun(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder, agent_zip())
    # What a worker killed mid-analysis leaves behind: the case moved to triaging, no result stored.
    transition(submission, State.TRIAGING, actor=None, reason="triage started")
    assert not TriageResult.objects.filter(submission=submission).exists()
    Submission.objects.filter(pk=submission.pk).update(
        state_changed_at=Submission.objects.get(pk=submission.pk).state_changed_at.replace(year=2020))
    assert lost_triage_runs() == [str(submission.pk)]
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT
    assert TriageResult.objects.filter(submission=submission).count() == 1
    assert lost_triage_runs() == []


def test_a_case_someone_else_finished_is_not_triaged_again(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder)
    submission = transition(submission, State.WITHDRAWN, actor=builder, reason="changed my mind")
    assert triage_submission_run(str(submission.pk)) == State.WITHDRAWN
    assert submission_triage(submission=submission) is None
    assert not TriageResult.objects.filter(submission=submission).exists()


def test_a_missing_case_is_reported_not_raised(db) -> None:  # noqa: ANN001
    assert triage_submission_run("00000000-0000-0000-0000-000000000000") == "missing"


def test_resubmitting_the_same_system_is_rejected_as_a_duplicate_of_the_own_case(builder) -> None:  # noqa: ANN001
    first = submitted_case(builder, agent_zip())
    triage_submission_run(str(first.pk))
    second = submitted_case(builder, agent_zip())
    assert triage_submission_run(str(second.pk)) == State.REJECTED
    result = TriageResult.objects.get(submission=second)
    assert result.reasons == [f"exact duplicate (same configuration and claim) of your earlier case {first.reference}; "
                              "open that case to request human review or submit a new version"]
    assert result.duplicate_of_id == first.pk
    link = FingerprintLink.objects.get(submission=second)
    assert (link.other_id, link.kind, link.similarity) == (first.pk, LinkKind.OWN_EXACT, 1.0)


def test_the_same_system_under_a_corrected_claim_is_triaged_on_its_merits(builder) -> None:  # noqa: ANN001
    """Issue 15: the duplicate check compares claim and digest, so a corrected scope is no dead end."""
    first = submitted_case(builder, agent_zip())
    triage_submission_run(str(first.pk))
    second = submitted_case(builder, agent_zip(), claim_scope_in=["file:.claude/settings.json"])
    assert triage_submission_run(str(second.pk)) != State.REJECTED
    result = TriageResult.objects.get(submission=second)
    assert result.duplicate_of_id is None and not any("duplicate" in reason for reason in result.reasons)


def test_a_near_duplicate_of_the_own_case_is_linked_but_judged_on_its_merits(builder) -> None:  # noqa: ANN001
    first = submitted_case(builder, agent_zip())
    triage_submission_run(str(first.pk))
    second = submitted_case(builder, agent_zip({"NOTES.md": b"one more note about the release agent\n"}))
    assert triage_submission_run(str(second.pk)) == State.AWAITING_CONSENT
    link = FingerprintLink.objects.get(submission=second)
    assert link.kind == LinkKind.OWN_NEAR_DUPLICATE and link.other_id == first.pk
    assert 0.8 <= link.similarity < 1.0


def test_another_builders_copy_is_a_coordinator_only_extraction_signal(builder, other_builder) -> None:  # noqa: ANN001
    original = submitted_case(builder, agent_zip())
    triage_submission_run(str(original.pk))
    copy = submitted_case(other_builder, agent_zip())
    assert triage_submission_run(str(copy.pk)) == State.REJECTED
    result = TriageResult.objects.get(submission=copy)
    # What the submitter sees names neither the other case nor its builder.
    shown = " ".join(result.reasons)
    assert str(original.pk) not in shown and original.reference not in shown and builder.email not in shown
    assert "abuse-prevention" in shown
    link = FingerprintLink.objects.get(submission=copy)
    assert (link.kind, link.other_id) == (LinkKind.POSSIBLE_EXTRACTION, original.pk)
    assert not FingerprintLink.objects.filter(submission=original).exists()
    assert SubmissionFingerprint.objects.count() == 2


def test_a_platform_failure_leaves_the_case_triaging_for_a_retry(builder, settings) -> None:  # noqa: ANN001
    submission = submitted_case(builder, agent_zip())
    working = settings.ASSAY_SANDBOX
    settings.ASSAY_SANDBOX = "docker"  # a sandbox this machine does not have: the platform's fault, not the case's
    with pytest.raises(TriagePlatformError, match="unknown sandbox backend 'docker'"):
        triage_submission_run(str(submission.pk))
    assert Submission.objects.get(pk=submission.pk).state == State.TRIAGING
    assert not TriageResult.objects.filter(submission=submission).exists()
    settings.ASSAY_SANDBOX = working
    assert triage_submission_run(str(submission.pk)) == State.AWAITING_CONSENT


def test_the_task_is_acknowledged_late_and_retries_platform_failures_with_backoff() -> None:
    assert triage_submission.acks_late is True
    assert TriagePlatformError in triage_submission.autoretry_for
    assert triage_submission.retry_backoff is True and triage_submission.max_retries == 5


def test_the_stored_result_renders_as_the_contract_document_and_sarif(builder) -> None:  # noqa: ANN001
    submission = submitted_case(builder, agent_zip())
    triage_submission_run(str(submission.pk))
    document = TriageResult.objects.get(submission=submission).contract()
    assert list(document) == ["config_digest", "policy_version", "sandbox", "findings", "score", "decision",
                              "reasons"]
    sarif = sarif_document(document)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == [f["check"] for f in document["findings"]]
