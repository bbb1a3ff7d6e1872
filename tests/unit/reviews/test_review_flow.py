"""Escalated cases: consent, conflict-checked assignment, time-boxed least-access grants, reviews, decisions.

Fail-closed: every path that widens access re-checks conflicts and grants; anything unknown is a 404.
"""

from __future__ import annotations

import pytest

from intake.models import AuditEvent, Role
from intake.states import State, transition
from reviews.models import AccessGrant, CaseCoordination, ReviewerProfile, VendorTie
from reviews.services import (
    Conflicted, NotPermitted, WrongState, access_case_as_reviewer, assignment_propose, assignment_respond,
    consent_answer, consent_request, coordination_take, decision_record, fleiss_kappa, grant_issue,
    override_approve, override_request, review_submit, reviews_visible_to,
)
from intake.errors import ValidationFailed
from tests.factories import make_draft, make_user


def make_reviewer(email: str, *, organisation: str = "Northwind Security", ties: tuple[str, ...] = ()):  # noqa: ANN201
    user = make_user(email, role=Role.REVIEWER, organisation=organisation)
    profile = ReviewerProfile.objects.create(user=user, expertise=["mcp"], capacity=3)
    for tie in ties:
        VendorTie.objects.create(reviewer=profile, name=tie, kind="employer")
    return user


def escalated_case(builder, *, tier: str = "grey"):  # noqa: ANN001, ANN201
    submission = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT):
        submission = transition(submission, state, actor=None)
    consent_request(submission=submission, tier_required=tier)
    return submission


@pytest.fixture
def case_in_review(builder, coordinator):  # noqa: ANN001, ANN201
    submission = escalated_case(builder)
    submission.claim_access_tier = "grey"
    submission.save(update_fields=["claim_access_tier"])
    return consent_answer(submission=submission, actor=builder, accept=True, tier="grey")


@pytest.mark.django_db
def test_declining_consent_closes_the_case_with_guidance(builder):  # noqa: ANN001
    submission = escalated_case(builder)
    submission = consent_answer(submission=submission, actor=builder, accept=False)
    assert submission.state == State.CLOSED


@pytest.mark.django_db
def test_access_above_the_offered_tier_needs_explicit_extra_consent(builder):  # noqa: ANN001
    submission = escalated_case(builder, tier="white")
    with pytest.raises(ValidationFailed, match="more than your claim offered"):
        consent_answer(submission=submission, actor=builder, accept=True, tier="white")
    submission = consent_answer(submission=submission, actor=builder, accept=True, tier="white",
                                confirm_above_offer=True)
    assert submission.state == State.IN_REVIEW
    assert submission.consent.extra_consent is True


@pytest.mark.django_db
def test_only_the_builder_answers_consent(builder, other_builder):  # noqa: ANN001
    submission = escalated_case(builder)
    with pytest.raises(NotPermitted):
        consent_answer(submission=submission, actor=other_builder, accept=True)


@pytest.mark.django_db
def test_vendor_conflicted_reviewer_cannot_be_assigned(case_in_review, coordinator):  # noqa: ANN001
    # The manifest's model provider is "ExampleAI".
    conflicted = make_reviewer("r1@northwind.example", ties=("ExampleAI",))
    with pytest.raises(Conflicted, match="vendor_interest"):
        assignment_propose(submission=case_in_review, reviewer=conflicted, actor=coordinator)


@pytest.mark.django_db
def test_same_domain_reviewer_cannot_be_assigned(case_in_review, coordinator):  # noqa: ANN001
    colleague = make_reviewer("reviewer@acme-agents.example", organisation="Other name")
    with pytest.raises(Conflicted, match="same_email_domain"):
        assignment_propose(submission=case_in_review, reviewer=colleague, actor=coordinator)


@pytest.mark.django_db
def test_conflict_override_needs_a_second_coordinator(case_in_review, coordinator):  # noqa: ANN001
    second = make_user("second@assay.example", role=Role.COORDINATOR)
    reviewer = make_reviewer("r1@northwind.example", ties=("ExampleAI",))
    override = override_request(submission=case_in_review, reviewer=reviewer, rule="vendor_interest",
                                reason="Tie is to an unrelated ExampleAI subsidiary, verified by contract.",
                                actor=coordinator)
    with pytest.raises(NotPermitted, match="second coordinator"):
        override_approve(override=override, actor=coordinator)
    with pytest.raises(Conflicted):
        assignment_propose(submission=case_in_review, reviewer=reviewer, actor=coordinator)
    override_approve(override=override, actor=second)
    assert assignment_propose(submission=case_in_review, reviewer=reviewer, actor=coordinator).pk
    actions = set(AuditEvent.objects.filter(object_id=str(case_in_review.pk)).values_list("action", flat=True))
    assert {"conflict.override.request", "conflict.override.approve", "assignment.propose"} <= actions


@pytest.mark.django_db
def test_declared_conflicts_cannot_be_overridden(case_in_review, coordinator):  # noqa: ANN001
    reviewer = make_reviewer("r1@northwind.example")
    with pytest.raises(NotPermitted, match="cannot be dismissed"):
        override_request(submission=case_in_review, reviewer=reviewer, rule="declared_by_builder",
                         reason="This reason is long enough to pass validation.", actor=coordinator)


@pytest.mark.django_db
def test_coordinator_of_record_cannot_review_the_case(case_in_review, coordinator):  # noqa: ANN001
    coordination_take(submission=case_in_review, actor=coordinator)
    with pytest.raises(NotPermitted, match="only coordinators"):
        coordination_take(submission=case_in_review, actor=make_reviewer("r9@northwind.example"))
    # A person who coordinated the case and later acts as a reviewer stays conflicted on it.
    former = make_reviewer("r1@northwind.example")
    CaseCoordination.objects.filter(submission=case_in_review).update(coordinator=former)
    with pytest.raises(Conflicted, match="coordinator_of_record"):
        assignment_propose(submission=case_in_review, reviewer=former, actor=coordinator)


def _accepted(case, coordinator, reviewer):  # noqa: ANN001, ANN202
    assignment = assignment_propose(submission=case, reviewer=reviewer, actor=coordinator)
    return assignment_respond(assignment=assignment, actor=reviewer, accept=True)



@pytest.mark.django_db
def test_no_grant_without_accepted_assignment(case_in_review, coordinator):  # noqa: ANN001
    reviewer = make_reviewer("r1@northwind.example")
    with pytest.raises(NotPermitted, match="has not accepted"):
        grant_issue(submission=case_in_review, reviewer=reviewer, tier="black", days=7, actor=coordinator)



@pytest.mark.django_db
def test_reviews_are_independent_until_submitted_and_decision_records_agreement(case_in_review, coordinator):  # noqa: ANN001
    first = make_reviewer("r1@northwind.example")
    second = make_reviewer("r2@southwind.example", organisation="Southwind")
    for reviewer in (first, second):
        _accepted(case_in_review, coordinator, reviewer)
        grant_issue(submission=case_in_review, reviewer=reviewer, tier="grey", days=7, actor=coordinator)
    review_submit(submission=case_in_review, reviewer=first, verdict="not_supported", confidence=80,
                  findings=[{"title": "ticket text reaches shell", "severity": "high"}], limitations="no runtime")
    assert reviews_visible_to(submission=case_in_review, user=second) == []
    review_submit(submission=case_in_review, reviewer=second, verdict="inconclusive", confidence=60, findings=[],
                  limitations="grey box only")
    assert len(reviews_visible_to(submission=case_in_review, user=second)) == 2
    with pytest.raises(WrongState, match="already reviewed"):
        review_submit(submission=case_in_review, reviewer=second, verdict="supported", confidence=1, findings=[],
                      limitations="")
    decision = decision_record(submission=case_in_review, actor=coordinator, verdict="not_supported",
                               rationale="Untrusted ticket text can reach the shell tool without approval.")
    case_in_review.refresh_from_db()
    assert case_in_review.state == State.DECIDED
    assert decision.disagreement is True
    assert decision.agreement_kappa is not None


def test_fleiss_kappa_known_values():
    verdicts = ["supported", "not_supported", "inconclusive"]
    assert fleiss_kappa([["supported", "supported"], ["not_supported", "not_supported"]], verdicts) == 1.0
    assert fleiss_kappa([["supported"]], verdicts) is None
    # Wikipedia-style check: complete disagreement on two raters and two items gives a negative kappa.
    assert fleiss_kappa([["supported", "not_supported"], ["not_supported", "supported"]], verdicts) < 0


@pytest.mark.django_db
def test_an_earlier_review_of_the_same_builder_is_a_prior_work_conflict(builder, coordinator, case_in_review):  # noqa: ANN001
    reviewer = make_reviewer("r1@northwind.example")
    _accepted(case_in_review, coordinator, reviewer)
    grant_issue(submission=case_in_review, reviewer=reviewer, tier="grey", days=7, actor=coordinator)
    review_submit(submission=case_in_review, reviewer=reviewer, verdict="supported", confidence=70, findings=[],
                  limitations="")
    # Their own case stays reachable; the builder's next case is conflicted.
    access_case_as_reviewer(reviewer=reviewer, submission_pk=case_in_review.pk)
    builder.submissions.exclude(pk=case_in_review.pk).delete()
    next_case = escalated_case(builder)
    with pytest.raises(Conflicted, match="prior_work"):
        assignment_propose(submission=next_case, reviewer=reviewer, actor=coordinator)


def test_tier_required_is_the_least_access_that_can_judge_the_claim():
    from reviews.services import tier_required_for

    assert tier_required_for(claim_property="least-privilege", findings=[{"severity": "low"}]) == "black"
    assert tier_required_for(claim_property="least-privilege", findings=[{"severity": "high"}]) == "grey"
    assert tier_required_for(claim_property="no-exfiltration", findings=[]) == "grey"


@pytest.mark.django_db
def test_an_escalated_triage_asks_the_builder_for_consent(builder):  # noqa: ANN001
    from triage.models import TriageResult
    from triage.pipeline import submission_apply_triage_decision

    submission = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED):
        submission = transition(submission, state, actor=None)
    TriageResult.objects.create(submission=submission, policy_version="t", sandbox="bubblewrap",
                                config_digest="sha256:" + "c" * 64, score=60, decision="escalate", reasons=[],
                                findings=[{"severity": "critical"}])
    submission = submission_apply_triage_decision(submission=submission)
    assert submission.state == State.AWAITING_CONSENT
    assert submission.consent.tier_required == "grey"
    assert submission.consent.answered_at is None


@pytest.mark.django_db(transaction=True)
def test_proposed_reviewer_is_told_by_email_without_case_content(builder, coordinator, mailoutbox):  # noqa: ANN001
    submission = escalated_case(builder)
    submission.claim_access_tier = "grey"
    submission.save(update_fields=["claim_access_tier"])
    case = consent_answer(submission=submission, actor=builder, accept=True, tier="grey")
    reviewer = make_reviewer("r1@northwind.example")
    assignment_propose(submission=case, reviewer=reviewer, actor=coordinator)
    assert [m.to for m in mailoutbox] == [[reviewer.email]]
    body = mailoutbox[0].body
    assert case.reference in body and builder.email not in body and case.claim_statement not in body


@pytest.mark.django_db
def test_a_verdict_no_reviewer_reached_needs_a_reason_and_access_ends_at_the_decision(case_in_review, coordinator):  # noqa: ANN001
    from reviews.forms import DecisionForm
    from reviews.models import AccessGrant

    assert DecisionForm().fields["verdict"].initial is None
    assert not DecisionForm({"verdict": "", "rationale": "x" * 30}).is_valid()  # nothing preselected, nothing assumed
    first, second = make_reviewer("r1@elsewhere.example"), make_reviewer("r2@other.example")
    for reviewer in (first, second):
        _accepted(case_in_review, coordinator, reviewer)
        grant_issue(submission=case_in_review, reviewer=reviewer, tier="grey", days=7, actor=coordinator)
    for reviewer in (first, second):
        review_submit(submission=case_in_review, reviewer=reviewer, verdict="not_supported", confidence=80,
                      findings=[], limitations="static only")
    rationale = "Both reviewers traced ticket text to the shell tool."
    with pytest.raises(ValidationFailed, match="give a reason for overruling the reviews"):
        decision_record(submission=case_in_review, actor=coordinator, verdict="supported", rationale=rationale)
    assert AccessGrant.objects.filter(submission=case_in_review, revoked_at__isnull=True).count() == 2
    decision = decision_record(submission=case_in_review, actor=coordinator, verdict="supported", rationale=rationale,
                               override_reason="The path needs a flag that is off in the submitted configuration.")
    assert decision.override_reason.startswith("The path needs a flag")
    assert decision.disagreement is True
    grants = AccessGrant.objects.filter(submission=case_in_review)
    assert [(g.revoked_at is not None, g.revoke_reason) for g in grants] == [(True, "the case was decided")] * 2
