"""Every state of a case reaches its end (closed, rejected or withdrawn, then shredded) through the real services:
submission, the sandboxed triage pipeline, consent, review, decision, report, acknowledgement, the retention
sweep. Nothing here calls ``transition()``: a state no service reaches would be a state a real case gets stuck in.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from intake.lifecycle import submission_acknowledge_report
from intake.models import AuditEvent, Role, Submission
from intake.services import artifact_add, submission_submit, submission_update, submission_withdraw
from intake.states import State
from intake.vault.errors import ShredBlocked
from intake.vault.shredding import case_shred
from intake.vault.disputes import dispute_decide, dispute_open
from intake.vault.retention import (legal_hold_approve, legal_hold_release, legal_hold_request, retention_enforce,
                                    retention_summary)
from reviews.models import Report, ReviewerProfile
from reviews.reports import report_issue_when_due
from reviews.services import (assignment_propose, assignment_respond, consent_answer, decision_record, grant_issue,
                              review_submit)
from triage.leases import lease_acquire, lease_release
from triage.pipeline import TriageRunningElsewhere, triage_submission_run
from triage.sandbox import backend_works
from tests.factories import make_draft, make_user, scope_components

pytestmark = pytest.mark.django_db
AGENT = Path(__file__).resolve().parent.parent / "fixtures" / "archives" / "agent_system"


@pytest.fixture(autouse=True)
def _private_keys_and_fast_sandbox(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SANDBOX = "bubblewrap" if backend_works("bubblewrap") else "auto"
    settings.ASSAY_VAULT = f"file://{tmp_path / 'vault'}"
    settings.ASSAY_KEY_PROVIDER = f"local:{tmp_path / 'keys' / 'kek'}"
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_SHRED_LEDGER = str(tmp_path / "shred-ledger")
    settings.ASSAY_REPORTED_CLOSE_DAYS = 30
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _risky_agent(variant: str) -> bytes:
    """The escalating fixture system, with one file of its own so no two cases are duplicates of each other."""
    files = {path.relative_to(AGENT).as_posix(): path.read_text() for path in sorted(AGENT.rglob("*")) if path.is_file()}
    return _zip({**files, "agent/VARIANT.md": f"# {variant}\n"})


def _submitted(owner, archive: bytes | None = None, *, title: str = "Ticket triage agent") -> Submission:  # noqa: ANN001
    case = make_draft(owner, title=title)
    if archive is not None:
        artifact_add(submission=case, actor=owner, name="system.zip", stream=io.BytesIO(archive), kind="archive")
        case = scope_components(case, owner, scope_in=["file:.claude/**", "file:.mcp.json", "agent:*"])
    return submission_submit(submission=case, actor=owner)


def _states(case: Submission) -> list[str]:
    events = AuditEvent.objects.filter(action="submission.transition", object_id=str(case.pk)).order_by("seq")
    return [State.DRAFT] + [event.data["to"] for event in events]


def _reviewer(email: str, organisation: str):  # noqa: ANN202
    reviewer = make_user(email, role=Role.REVIEWER, organisation=organisation)
    ReviewerProfile.objects.create(user=reviewer, expertise=["no-exfiltration"], capacity=3)
    return reviewer


def _reviewed_and_reported(owner, coordinator, archive: bytes, title: str) -> Submission:  # noqa: ANN001
    case = _submitted(owner, archive, title=title)
    state = triage_submission_run(str(case.pk))
    assert state == State.AWAITING_CONSENT, case.triage_results.get().reasons
    case = consent_answer(submission=Submission.objects.get(pk=case.pk), actor=owner, accept=True, tier="white",
                          confirm_above_offer=True)
    reviewer = _reviewer(f"r-{case.reference.lower()}@southwind.example", "Southwind")
    assignment = assignment_propose(submission=case, reviewer=reviewer, actor=coordinator)
    assignment_respond(assignment=assignment, actor=reviewer, accept=True)
    grant_issue(submission=case, reviewer=reviewer, tier="white", days=7, actor=coordinator)
    review_submit(submission=case, reviewer=reviewer, verdict="not_supported", confidence=80,
                  findings=[{"title": "Ticket text reaches the shell", "severity": "high"}], limitations="static only")
    decision_record(submission=case, actor=coordinator, verdict="not_supported",
                    rationale="Untrusted ticket text reaches the shell tool without an approval step.")
    # the decision queued the report; issuing it here is what the queued task does (idempotent, whoever wins)
    report_issue_when_due(submission_id=str(case.pk), kind=Report.Kind.ASSESSMENT)
    case.refresh_from_db()
    assert case.state == State.REPORTED
    return case


def test_every_state_reaches_its_end_through_the_real_services(builder, other_builder, coordinator, terms):  # noqa: ANN001
    cases: dict[str, Submission] = {}

    # draft → withdrawn
    cases["draft"] = submission_withdraw(submission=make_draft(builder, title="Abandoned draft"), actor=builder,
                                         reason="not ready")
    # submitted → withdrawn (before any worker picked it up)
    cases["submitted"] = submission_withdraw(submission=_submitted(builder, title="Second thoughts"),
                                             actor=builder, reason="changed my mind")
    # submitted → triaging → withdrawn: a worker holds the triage lease while the builder withdraws
    triaging = _submitted(builder, title="Withdrawn mid-triage")
    assert lease_acquire(submission_id=str(triaging.pk), holder="another-worker")
    with pytest.raises(TriageRunningElsewhere):
        triage_submission_run(str(triaging.pk))
    triaging.refresh_from_db()
    assert triaging.state == State.TRIAGING
    cases["triaging"] = submission_withdraw(submission=triaging, actor=builder, reason="found a bug myself")
    lease_release(submission_id=str(triaging.pk), holder="another-worker")
    assert triage_submission_run(str(triaging.pk)) == State.WITHDRAWN
    # triaged → closed with guidance (a harmless system)
    guidance = _submitted(builder, title="Harmless agent")
    assert triage_submission_run(str(guidance.pk)) == State.CLOSED
    cases["guidance"] = guidance
    # triaged → rejected (the same configuration and claim again: an exact duplicate of the builder's own case;
    # unsafe archives no longer get this far, they are refused at upload)
    rejected = _submitted(builder, title="Harmless agent")
    assert triage_submission_run(str(rejected.pk)) == State.REJECTED
    cases["rejected"] = rejected
    # triaged → awaiting consent → closed (the builder declines human review)
    declined = _submitted(builder, _risky_agent("declined"), title="Declined review")
    assert triage_submission_run(str(declined.pk)) == State.AWAITING_CONSENT
    cases["declined"] = consent_answer(submission=Submission.objects.get(pk=declined.pk), actor=builder,
                                       accept=False)
    # awaiting consent → in review → withdrawn
    in_review = _submitted(builder, _risky_agent("in review"), title="Withdrawn in review")
    triage_submission_run(str(in_review.pk))
    in_review = consent_answer(submission=Submission.objects.get(pk=in_review.pk), actor=builder, accept=True,
                               tier="white", confirm_above_offer=True)
    assert in_review.state == State.IN_REVIEW
    cases["in_review"] = submission_withdraw(submission=in_review, actor=builder, reason="system retired")
    # in review → decided → reported → closed by the builder's acknowledgement
    acknowledged = _reviewed_and_reported(builder, coordinator, _risky_agent("acknowledged"), "Acknowledged report")
    cases["acknowledged"] = submission_acknowledge_report(submission=acknowledged, actor=builder)
    # reported → closed automatically once ASSAY_REPORTED_CLOSE_DAYS have passed (the retention sweep)
    unacknowledged = _reviewed_and_reported(builder, coordinator, _risky_agent("never acknowledged"), "Never acknowledged")
    for case in cases.values():
        case.refresh_from_db()
    assert {case.state for case in cases.values()} == {State.CLOSED, State.REJECTED, State.WITHDRAWN}
    assert retention_summary(unacknowledged)["closes_at"] == unacknowledged.state_changed_at + timedelta(days=30)
    assert retention_enforce(now=timezone.now() + timedelta(days=29)).closed == []
    sweep = retention_enforce(now=timezone.now() + timedelta(days=31))
    assert sweep.closed == [unacknowledged.reference]
    unacknowledged.refresh_from_db()
    assert unacknowledged.state == State.CLOSED
    cases["unacknowledged"] = unacknowledged

    # Retention ends every terminal state in a shred: well past every retention date, nothing is left unshredded.
    # The reviewed cases are kept until their report expires (365 days) plus the terms' 30 days.
    report_expiry = max(r.expires_at for r in Report.objects.filter(kind=Report.Kind.ASSESSMENT))
    before = retention_enforce(now=report_expiry + timedelta(days=29))
    assert acknowledged.reference not in before.shredded and unacknowledged.reference not in before.shredded
    # While a dispute is open or a legal hold stands, the end of retention does not shred.
    second = make_user("second-coordinator@assay.example", role=Role.COORDINATOR)
    dispute = dispute_open(claimant_case=acknowledged, respondent_case=make_draft(other_builder, title="Theirs"),
                           actor=builder, source="builder", statement="Their tool wiring is ours, file for file.")
    hold = legal_hold_approve(hold=legal_hold_request(submission=unacknowledged, actor=coordinator,
                                                      reason="Preserve for the regulator's enquiry"), actor=second)
    held = retention_enforce(now=report_expiry + timedelta(days=31))
    assert held.blocked == [unacknowledged.reference]  # due, but the hold suspends the shred
    assert acknowledged.reference not in held.shredded  # the open dispute froze its clock: not even due
    with pytest.raises(ShredBlocked, match="party to an open IP dispute"):
        case_shred(submission=acknowledged, actor=None, trigger="retention_expired")
    dispute_decide(dispute=dispute, actor=coordinator, outcome="dismissed",
                   decision="The shared files come from a public template; no misappropriation.")
    legal_hold_release(hold=hold, actor=second, reason="The enquiry closed without a request")
    # The dispute froze the acknowledged case's clock for as long as it was open; well past that, both go.
    retention_enforce(now=report_expiry + timedelta(days=32))
    visited = set()
    for name, case in cases.items():
        case.refresh_from_db()
        assert case.state == State.SHREDDED, name
        assert case.deletion_receipts.get().document["receipt"]["trigger"] == "retention_expired"
        states = _states(case)
        assert states[-1] == State.SHREDDED and states[-2] in (State.CLOSED, State.REJECTED, State.WITHDRAWN)
        visited.update(states)
    assert visited == set(State.values)
