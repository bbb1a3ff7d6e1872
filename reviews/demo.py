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
    builder = User.objects.get(email="builder@acme-agents.test")
    # Titles are sealed (intake.vault.sealed_fields): match them here, among the demo builder's cases.
    existing = next((report for report in Report.objects.filter(submission__owner=builder)
                     .select_related("submission").order_by("-issued_at")
                     if report.submission.title == DEMO_TITLE), None)
    if existing is not None:
        return existing
    coordinator = User.objects.get(email="coordinator@assay-coordination.test")
    reviewer = User.objects.get(email="reviewer@northwind-security.test")
    ReviewerProfile.objects.get_or_create(user=reviewer, defaults={"expertise": ["mcp", "prompt-injection"]})
    from intake.management.commands.load_demo import DEMO_MANIFEST

    submission = _demo_submission(
        builder, DEMO_TITLE, DEMO_SETTINGS, description="Answers research questions using web search.",
        claim_statement="Content fetched from the web cannot cause the agent to run shell commands other than "
                        "'git status'.",
        claim_property="prompt-injection-resistance", claim_scope_in=["agent:manifest", "file:settings.json"],
        claim_scope_note="The harness and its permissions; not the model provider.",
        claim_assumptions=["the harness enforces its allow list"], claim_access_tier="grey", manifest=DEMO_MANIFEST)
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


ESCALATED_TITLE = "Demo: coding agent with unrestricted shell"
GUIDANCE_TITLE = "Demo: read-only documentation helper"
SUBMITTED_TITLE = "Demo: ticket triage agent (submitted)"
# A harness that approves everything and allows any shell command: triage escalates this to human review.
ESCALATED_SETTINGS = b'''{
  "permissions": {"defaultMode": "bypassPermissions", "allow": ["Bash(*)", "Read", "Write", "WebFetch"]},
  "enableAllProjectMcpServers": true
}
'''
GUIDANCE_SETTINGS = b'''{
  "permissions": {"allow": ["Read", "Grep", "Glob"], "deny": ["Read(.env)", "Read(**/*.pem)", "Bash", "WebFetch"]}
}
'''


def demo_route() -> dict[str, str]:
    """Every stop of the route for the portal's demo (idempotent): a reported case, a case triage escalated
    (waiting for the builder's consent), a case triage closed with guidance, and a published aggregate
    release. Everything goes through the real services and the real sandboxed triage."""
    from django.utils import timezone

    from reviews.aggregates import release_create
    from reviews.models import AggregateRelease

    reported = demo_case_with_report()
    escalated = _demo_triaged_case(
        ESCALATED_TITLE, ESCALATED_SETTINGS, claim_property="bounded-actions",
        claim_statement="The agent cannot delete files outside the repository it works in.")
    guidance = _demo_triaged_case(
        GUIDANCE_TITLE, GUIDANCE_SETTINGS, claim_property="least-privilege",
        claim_statement="The helper can only read the documentation tree.")
    # Submitted like any case; the worker `make run` starts triages it (its message waits in the queue).
    queued = _demo_triaged_case(
        SUBMITTED_TITLE, GUIDANCE_SETTINGS, claim_property="no-exfiltration", triage_now=False,
        claim_statement="Ticket contents cannot leave through any channel other than the reply API.")
    if not AggregateRelease.objects.filter(dataset="findings").exists():
        today = timezone.now().date()
        release_create(dataset="findings", period_start=today.replace(day=1), period_end=today, epsilon=0.5,
                       actor=None)
    return {"reported": reported.submission.reference, "escalated": f"{escalated.reference} ({escalated.state})",
            "guidance": f"{guidance.reference} ({guidance.state})", "queued": f"{queued.reference} ({queued.state})"}


def _demo_triaged_case(title: str, settings_json: bytes, *, claim_property: str, claim_statement: str,
                       triage_now: bool = True) -> Submission:
    """A second-builder demo case, submitted; triaged here, or (``triage_now=False``) left queued for the worker."""
    from triage.pipeline import triage_submission_run

    # The second demo builder's cases: the first one's open-case quota already holds its own demo cases.
    builder = User.objects.get(email="builder2@independent-builder.test")
    submission = _demo_submission(
        builder, title, settings_json, description="Demo system for the portal tour.",
        claim_statement=claim_statement, claim_property=claim_property, claim_scope_in=["file:settings.json"],
        claim_assumptions=["the harness enforces its permission settings"], claim_access_tier="grey",
        aggregate_opt_in=True, manifest={
            "schema_version": 1, "name": title.removeprefix("Demo: "), "summary": claim_statement,
            "models": [{"provider": "ExampleAI", "name": "example-large", "version": "2026-05",
                        "source": "hosted-api"}],
            "harness": {"name": "claude-code", "version": "2.1", "approval_mode": "on-risk"}})
    if triage_now and submission.state == State.SUBMITTED:
        triage_submission_run(str(submission.pk))
        submission.refresh_from_db()
    return submission


def _demo_submission(builder: User, title: str, settings_json: bytes, **fields) -> Submission:  # noqa: ANN003
    """The builder's demo case of this title: one already past draft as it is, else made (or its draft finished)
    and submitted through the services as the wizard would, components detected first since the scope names them.
    Titles are sealed (intake.vault.sealed_fields), so they are matched here, among the builder's cases."""
    from intake.selectors import current_terms
    from triage.scope_inventory import submission_detect_components

    existing = next((case for case in Submission.objects.filter(owner=builder).order_by("created_at")
                     if case.title == title), None)
    if existing is not None and existing.state != State.DRAFT:
        return existing
    submission = existing or submission_create(owner=builder, title=title)
    submission = submission_update(submission=submission, actor=builder, **fields)
    if not submission.terms_acceptances.exists():
        terms_accept(submission=submission, actor=builder, terms=current_terms())
    if not submission.artifacts.exists():
        artifact_add(submission=submission, actor=builder, name="settings.json", kind="config",
                     stream=io.BytesIO(settings_json))
    submission = submission_detect_components(submission=submission, actor=builder)
    return submission_submit(submission=submission, actor=builder)


def _issued(report: Report | None) -> Report:
    if report is None:
        raise RuntimeError("the demo case is not due a report")
    return report
