"""Retention dates from the accepted terms, the hourly sweep, legal holds and disputes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from intake.models import AuditEvent, Role, Submission
from intake.states import State, transition
from intake.vault.errors import NotAllowed
from intake.vault.models import IpDispute, LegalHold
from intake.vault.retention import (
    PENDING_HOLD_GRACE, legal_hold_approve, legal_hold_release, legal_hold_request, retention_ends_at,
    retention_enforce,
)
from intake.vault.tasks import shred_due
from tests.factories import make_draft, make_user

pytestmark = pytest.mark.django_db


def finished_case(owner, outcome: str, *, days_ago: int = 0, **fields):  # noqa: ANN001, ANN003, ANN201
    submission = make_draft(owner)
    if fields:
        Submission.objects.filter(pk=submission.pk).update(**fields)
    path = {
        "rejected": [State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.REJECTED],
        "guidance": [State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.CLOSED],
        "reviewed": [State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW,
                     State.DECIDED, State.REPORTED, State.CLOSED],
        "withdrawn": [State.WITHDRAWN],
    }[outcome]
    for state in path:
        submission = transition(submission, state)
    Submission.objects.filter(pk=submission.pk).update(
        state_changed_at=timezone.now() - timedelta(days=days_ago))
    submission.refresh_from_db()
    return submission


@pytest.mark.parametrize("outcome, days", [("rejected", 30), ("guidance", 90), ("reviewed", 30), ("withdrawn", 0)])
def test_retention_ends_per_outcome_of_the_accepted_terms(builder, terms, outcome, days):
    case = finished_case(builder, outcome)
    assert retention_ends_at(case) == case.state_changed_at + timedelta(days=days)


def test_a_builder_may_choose_shorter_retention_but_never_longer(builder, terms):
    shorter = finished_case(builder, "guidance", retention_days=7)
    longer = finished_case(builder, "rejected", retention_days=365)
    assert retention_ends_at(shorter) == shorter.state_changed_at + timedelta(days=7)
    assert retention_ends_at(longer) == longer.state_changed_at + timedelta(days=30)


def test_open_cases_have_no_retention_end_yet(builder, terms):
    assert retention_ends_at(make_draft(builder)) is None


def test_the_sweep_shreds_only_cases_past_retention(builder, terms):
    due = finished_case(builder, "rejected", days_ago=31)
    kept = finished_case(builder, "rejected", days_ago=29)
    result = retention_enforce()
    assert result.shredded == [due.reference]
    due.refresh_from_db()
    kept.refresh_from_db()
    assert (due.state, kept.state) == (State.SHREDDED, State.REJECTED)
    assert due.deletion_receipts.get().document["receipt"]["trigger"] == "retention_expired"
    assert retention_enforce().shredded == []  # idempotent


def test_the_beat_task_and_the_command_run_the_same_sweep(builder, terms):
    finished_case(builder, "guidance", days_ago=91)
    assert shred_due() .startswith("shredded 1, suspended 0, failed 0")
    finished_case(builder, "withdrawn")
    out = io.StringIO()
    call_command("shred_due", stdout=out)
    assert out.getvalue().startswith("shredded 1, suspended 0, failed 0")


def test_a_legal_hold_needs_a_second_coordinator(builder, terms, coordinator):
    case = finished_case(builder, "rejected", days_ago=40)
    with pytest.raises(NotAllowed, match="only a coordinator"):
        legal_hold_request(submission=case, actor=builder, reason="I would like to keep it please")
    hold = legal_hold_request(submission=case, actor=coordinator, reason="Regulator enquiry 2026-17")
    with pytest.raises(NotAllowed, match="approved by a second coordinator"):
        legal_hold_approve(hold=hold, actor=coordinator)
    second = make_user("second@assay.example", role=Role.COORDINATOR)
    hold = legal_hold_approve(hold=hold, actor=second)
    assert hold.approved_by == second
    actions = list(AuditEvent.objects.filter(action__startswith="vault.legal_hold").values_list("action", flat=True))
    assert actions == ["vault.legal_hold.request", "vault.legal_hold.approve"]
    result = retention_enforce()
    assert result.blocked == [case.reference]
    case.refresh_from_db()
    assert case.state == State.REJECTED

    legal_hold_release(hold=hold, actor=second, reason="Enquiry closed")
    assert retention_enforce().shredded == [case.reference]


def test_an_unapproved_hold_lapses_after_the_grace_period(builder, terms, coordinator):
    case = finished_case(builder, "rejected", days_ago=40)
    hold = legal_hold_request(submission=case, actor=coordinator, reason="Possible litigation, awaiting counsel")
    assert retention_enforce().blocked == [case.reference]
    LegalHold.objects.filter(pk=hold.pk).update(requested_at=timezone.now() - PENDING_HOLD_GRACE - timedelta(hours=1))
    assert retention_enforce().shredded == [case.reference]


def test_an_open_dispute_freezes_both_cases_retention(builder, other_builder, terms):
    mine = finished_case(builder, "rejected", days_ago=25)
    theirs = finished_case(other_builder, "rejected", days_ago=25)
    decided_at = timezone.now()
    dispute = IpDispute.objects.create(claimant_case=mine, respondent_case=theirs, source="builder",
                                       opened_at=decided_at - timedelta(days=10))
    result = retention_enforce(now=timezone.now() + timedelta(days=400))
    assert result.shredded == []
    assert set(Submission.objects.values_list("state", flat=True)) == {State.REJECTED}
    IpDispute.objects.filter(pk=dispute.pk).update(state="decided", decided_at=decided_at)
    mine.refresh_from_db()
    # 10 frozen days are added to the 30 days of retention.
    assert retention_ends_at(mine) == mine.state_changed_at + timedelta(days=40)


def test_the_retention_summary_shows_the_end_date_and_any_suspension(builder, terms, coordinator):
    from intake.vault.retention import retention_summary

    case = finished_case(builder, "guidance", retention_days=14)
    summary = retention_summary(case)
    assert summary["outcome"] == "guidance"
    assert summary["ends_at"] == case.state_changed_at + timedelta(days=14)
    assert summary["suspended_because"] is None
    legal_hold_request(submission=case, actor=coordinator, reason="Preserve pending regulator letter")
    assert retention_summary(case)["suspended_because"] == (
        f"case {case.reference} is under a legal hold awaiting a second coordinator; shredding is suspended")


def test_the_sweep_closes_reported_cases_after_the_configured_period_then_they_follow_retention(builder, terms,
                                                                                               settings):
    from intake.lifecycle import reported_closes_at

    settings.ASSAY_REPORTED_CLOSE_DAYS = 7
    case = finished_case(builder, "reviewed")  # closed: the path walks through reported
    reported = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW,
                  State.DECIDED, State.REPORTED):
        reported = transition(reported, state)
    assert reported_closes_at(reported) == reported.state_changed_at + timedelta(days=7)
    assert reported_closes_at(case) is None
    assert retention_enforce(now=timezone.now() + timedelta(days=6)).closed == []
    result = retention_enforce(now=timezone.now() + timedelta(days=8))
    assert result.closed == [reported.reference]
    assert result.summary().endswith("reported cases closed 1")
    reported.refresh_from_db()
    assert reported.state == State.CLOSED
    event = AuditEvent.objects.filter(action="submission.transition", object_id=str(reported.pk)).last()
    assert event.actor_id is None and event.data["reason"] == "closed 7 days after the report"
    # Closed now, it is kept for the terms' 30 days after the close (no report expiry recorded here), then shredded.
    assert retention_ends_at(reported) == reported.state_changed_at + timedelta(days=30)
    assert retention_enforce(now=timezone.now() + timedelta(days=8)).closed == []  # idempotent
