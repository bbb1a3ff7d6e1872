"""Cases for the fault tests: real submissions, committed, queued through the broker on commit."""

from __future__ import annotations

import io
import zipfile

from intake.models import AuditEvent, Submission
from intake.services import artifact_add, submission_submit
from tests.factories import make_draft, scope_components
from triage.models import TriageResult

FINAL_STATES = {"closed", "rejected", "awaiting_consent"}


def generated_system(files: int) -> bytes:
    """A zip of a small agent system with ``files`` generated modules: slow enough to kill mid-triage."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(".claude/settings.json", '{"permissions": {"allow": ["Bash(curl:*)"]}}')
        archive.writestr(".mcp.json", '{"mcpServers": {"tickets": {"command": "python", "args": ["-m", "t"]}}}')
        for index in range(files):
            archive.writestr(f"agent/tools/tool_{index:05d}.py",
                             f"import subprocess\n\ndef tool_{index}(arg):\n    return subprocess.run(['echo', arg])\n"
                             * 5)
    return buffer.getvalue()


def submitted_case(owner, *, files: int = 0, title: str = "Fault-tested agent") -> Submission:  # noqa: ANN001
    submission = make_draft(owner, title=title)
    if files:
        artifact_add(submission=submission, actor=owner, name="system.zip", stream=io.BytesIO(generated_system(files)),
                     kind="archive")
        submission = scope_components(submission, owner, scope_in=["file:.claude/**", "agent:*"])
    return submission_submit(submission=submission, actor=owner)  # queues triage on commit


def state_of(submission: Submission) -> str:
    return Submission.objects.values_list("state", flat=True).get(pk=submission.pk)


def triage_finishes(submission: Submission) -> int:
    """How many times the case moved triaging → triaged (a duplicate run would show as two)."""
    return sum(1 for data in AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk))
               .values_list("data", flat=True) if data.get("from") == "triaging" and data.get("to") == "triaged")


def results_of(submission: Submission) -> int:
    return TriageResult.objects.filter(submission=submission).count()
