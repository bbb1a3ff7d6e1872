"""A complete demo case, end to end through the real services: used by ``demo_report`` and ``make run``."""

from __future__ import annotations

import io

from django.core.management import call_command

from intake.models import Submission, User
from intake.services import artifact_add, submission_create, submission_submit, submission_update, terms_accept
from intake.states import State
from reviews.models import Report, ReviewerProfile
from reviews.reports import report_issue_when_due
from reviews.services import (
    assignment_propose, assignment_respond, consent_answer, consent_request, coordination_take, decision_record,
    grant_issue, review_submit,
)

DEMO_TITLE = "Demo: research assistant with web search"
DEMO_SETTINGS = b'''{
  "permissions": {"allow": ["Read", "WebFetch", "Bash(git status)"], "deny": ["Read(.env)", "Read(**/*.pem)"]},
  "enableAllProjectMcpServers": false
}
'''


def demo_case_with_report() -> Report:
    """Create (or reuse) the demo case and take it as far as a signed report."""
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    builder = User.objects.get(email="builder@demo.assay.test")
    # Titles are sealed (intake.vault.sealed_fields): match them here, among the demo builder's cases.
    existing = next((report for report in Report.objects.filter(submission__owner=builder)
                     .select_related("submission").order_by("-issued_at")
                     if report.submission.title == DEMO_TITLE), None)
    if existing is not None:
        return existing
    coordinator = User.objects.get(email="coordinator@demo.assay.test")
    reviewer = User.objects.get(email="reviewer@demo.assay.test")
    ReviewerProfile.objects.get_or_create(user=reviewer, defaults={"expertise": ["mcp", "prompt-injection"]})
    from intake.management.commands.load_demo import DEMO_MANIFEST
    from intake.selectors import current_terms

    submission = next((case for case in Submission.objects.filter(owner=builder).order_by("created_at")
                       if case.title == DEMO_TITLE), None)
    if submission is None:
        submission = submission_create(owner=builder, title=DEMO_TITLE)
        submission = submission_update(
            submission=submission, actor=builder, description="Answers research questions using web search.",
            claim_statement="Content fetched from the web cannot cause the agent to run shell commands other than "
                            "'git status'.",
            claim_property="prompt-injection-resistance", claim_scope_in=["agent:manifest", "file:settings.json"],
            claim_scope_note="The harness and its permissions; not the model provider.",
            claim_assumptions=["the harness enforces its allow list"],
            claim_access_tier="grey", manifest=DEMO_MANIFEST)
        terms_accept(submission=submission, actor=builder, terms=current_terms())
        artifact_add(submission=submission, actor=builder, name="settings.json", kind="config",
                     stream=io.BytesIO(DEMO_SETTINGS))
        from triage.scope_inventory import submission_detect_components

        # the scope names components, so they are detected first, as the wizard's scope step does
        submission = submission_detect_components(submission=submission, actor=builder)
        submission = submission_submit(submission=submission, actor=builder)
    from triage.pipeline import triage_submission_run

    triage_submission_run(str(submission.pk))
    submission.refresh_from_db()
    if submission.state in (State.CLOSED, State.TRIAGED):
        return _issued(report_issue_when_due(submission_id=str(submission.pk), kind=Report.Kind.GUIDANCE))
    if submission.state == State.AWAITING_CONSENT:
        if not hasattr(submission, "consent"):
            consent_request(submission=submission, tier_required="grey")
        submission = consent_answer(submission=submission, actor=builder, accept=True, tier="grey")
    if submission.state == State.IN_REVIEW:
        coordination_take(submission=submission, actor=coordinator)
        assignment = assignment_propose(submission=submission, reviewer=reviewer, actor=coordinator)
        assignment_respond(assignment=assignment, actor=reviewer, accept=True)
        grant_issue(submission=submission, reviewer=reviewer, tier="grey", days=7, actor=coordinator)
        review_submit(submission=submission, reviewer=reviewer, verdict="supported", confidence=70,
                      findings=[], limitations="Grey-box review of configuration only; no runtime testing.",
                      summary="Allow list restricts shell to 'git status'; web content cannot widen it.")
        decision_record(submission=submission, actor=coordinator, verdict="supported",
                        rationale="The single reviewer's reasoning holds for the stated scope and assumptions.")
        submission.refresh_from_db()
    if submission.state == State.DECIDED:
        return _issued(report_issue_when_due(submission_id=str(submission.pk), kind=Report.Kind.ASSESSMENT))
    raise RuntimeError(f"demo case ended in state {submission.state}; no report could be issued")


def _issued(report: Report | None) -> Report:
    if report is None:
        raise RuntimeError("the demo case is not due a report")
    return report
