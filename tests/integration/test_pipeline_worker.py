"""Submitting a case queues triage on a real Celery worker, which triages it in the sandbox and moves it on."""

from __future__ import annotations

import pytest

from intake.models import Submission
from intake.services import submission_submit
from intake.states import State
from tests.conftest import wait_for
from tests.factories import make_draft, scope_components
from tests.integration.test_triage_pipeline import agent_zip
from triage.models import TriageResult


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_submitted_case_is_triaged_by_a_real_worker(builder, celery_worker_process) -> None:  # noqa: ANN001
    import io

    from intake.services import artifact_add

    submission = make_draft(builder)
    artifact_add(submission=submission, actor=builder, name="system.zip", stream=io.BytesIO(agent_zip()),
                 kind="archive")
    submission = scope_components(submission, builder, scope_in=["file:.claude/**", "file:.mcp.json", "agent:*"])
    submission_submit(submission=submission, actor=builder)
    final = wait_for(lambda: Submission.objects.filter(pk=submission.pk).exclude(
        state__in=[State.SUBMITTED, State.TRIAGING, State.TRIAGED]).first(), timeout=60)
    assert final.state == State.AWAITING_CONSENT
    result = TriageResult.objects.get(submission=submission)
    assert result.decision == "escalate"
    assert result.sandbox in ("gvisor", "bubblewrap")
    assert final.config_digest.startswith("sha256:")
    log = celery_worker_process.log_path.read_text()
    assert "triage_submission" in log and "succeeded" in log
    assert final.consent.tier_required == "grey"  # escalation asks the builder before anyone sees the case


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_case_closed_with_guidance_gets_a_signed_guidance_report_from_the_worker(  # noqa: ANN001
        builder, celery_worker_process) -> None:
    from reviews.models import Report
    from reviews.reports import report_verify

    submission = submission_submit(submission=make_draft(builder), actor=builder)
    report = wait_for(lambda: Report.objects.filter(submission=submission).first(), timeout=90)
    assert Submission.objects.get(pk=submission.pk).state == State.CLOSED
    assert report.kind == "guidance"
    assert report_verify(bytes(report.pdf)).status == "valid"
