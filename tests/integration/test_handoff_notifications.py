"""Every hand-off on the route sends exactly one notification, to the person the case is handed to, and to
nobody else: walked through the real services (the sandboxed triage pipeline, consent, assignment, grants,
review, decision, report, the retention sweep), as tests/integration/test_lifecycle.py walks the states.

Each e-mail is checked the way a leak would show: it names the configured site, links absolutely to the public
URL, and carries none of the case's sealed content (title, claim, description, findings), and a reviewer's
never names the builder.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from intake.lifecycle import submission_acknowledge_report
from intake.models import Notification, NotificationKind, Role, Submission
from intake.notifications import preferences_update
from intake.states import State
from intake.vault.retention import retention_ends_at, retention_enforce
from reviews.models import Report
from reviews.services import (assignment_propose, assignment_respond, consent_answer, coordination_take,
                              decision_record, grant_issue, review_submit)
from tests.factories import make_user
from tests.integration.test_lifecycle import _private_keys_and_fast_sandbox  # noqa: F401 - the same set-up
from tests.integration.test_lifecycle import _reviewer, _risky_agent, _submitted
from triage.pipeline import triage_submission_run

# Real commits: e-mails leave on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)
PUBLIC = "https://assay.example.org"
SITE = "Assay Example Portal"
SECRET_TITLE = "Project Nightjar ticket agent"
FINDING = "Ticket text reaches the shell"
RATIONALE = "Untrusted ticket text reaches the shell tool without an approval step."


@pytest.fixture(autouse=True)
def _queued_reports_issued_here(monkeypatch):  # noqa: ANN001
    """The report a decision queues is issued in this process, so its e-mail lands in this test's outbox
    (the session's real worker, if one runs, would otherwise race the test for it)."""
    from reviews import tasks

    monkeypatch.setattr(tasks.issue_report, "delay", lambda *args: tasks.issue_report(*args))


@pytest.fixture(autouse=True)
def _public_site(settings):  # noqa: ANN001
    settings.ASSAY_PUBLIC_URL = PUBLIC
    settings.ASSAY_SITE_NAME = SITE


class Ledger:
    """What each step sent: the notifications and e-mails created since the last look."""

    def __init__(self) -> None:
        self.seen_pk = 0
        self.seen_mail = 0

    def take(self) -> tuple[list[tuple[str, str]], list]:
        new = list(Notification.objects.filter(pk__gt=self.seen_pk).select_related("recipient").order_by("pk"))
        if new:
            self.seen_pk = new[-1].pk
        mails = mail.outbox[self.seen_mail:]
        self.seen_mail = len(mail.outbox)
        return [(n.recipient.email, n.kind) for n in new], mails


def _assert_clean(message, *, case: Submission, forbidden: list[str]) -> None:  # noqa: ANN001
    body = message.body
    assert SITE in message.subject and SITE in body
    assert f"{PUBLIC}/" in body
    assert "127.0.0.1" not in body and "localhost" not in body
    links = [word for word in body.split() if "://" in word]
    assert links and all(link.startswith(f"{PUBLIC}/") for link in links), links
    assert case.reference in message.subject
    for text in [SECRET_TITLE, case.claim_statement, case.description, FINDING, RATIONALE, *forbidden]:
        assert text and text not in body and text not in message.subject, text


def test_every_hand_off_notifies_exactly_the_person_it_is_handed_to(builder, other_builder, coordinator, terms):  # noqa: ANN001, E501
    second_coordinator = make_user("second-coordinator@assay.example", role=Role.COORDINATOR)
    bystander = _reviewer("bystander@eastwind.example", "Eastwind")
    ledger = Ledger()
    builder_words = [builder.email, builder.organisation or builder.email]

    # triage closes a harmless case with guidance: the builder hears the outcome, once
    guidance = _submitted(builder, title=SECRET_TITLE)
    ledger.take()  # submitting is the builder's own act: nothing is handed to anyone
    assert triage_submission_run(str(guidance.pk)) == State.CLOSED
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.TRIAGE_FINISHED)]
    assert [m.to for m in mails] == [[builder.email]] and "closed with guidance" in mails[0].body
    _assert_clean(mails[0], case=guidance, forbidden=[])
    assert f"{PUBLIC}/cases/{guidance.pk}/" in mails[0].body
    assert Report.objects.filter(submission_id=guidance.pk, kind=Report.Kind.GUIDANCE).count() == 1  # queued
    assert ledger.take() == ([], [])  # triage already announced the guidance; the report adds no second word

    # triage rejects the same configuration and claim again (an exact duplicate of the builder's own case)
    rejected = _submitted(builder, title=SECRET_TITLE)
    ledger.take()
    assert triage_submission_run(str(rejected.pk)) == State.REJECTED
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.TRIAGE_FINISHED)] and "was rejected" in mails[0].body
    assert [m.to for m in mails] == [[builder.email]]

    # triage escalates: the one notification asks for consent
    case = _submitted(builder, _risky_agent("notified"), title=SECRET_TITLE)
    ledger.take()
    assert triage_submission_run(str(case.pk)) == State.AWAITING_CONSENT
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.CONSENT_NEEDED)]
    assert [m.to for m in mails] == [[builder.email]]
    assert f"{PUBLIC}/cases/{case.pk}/consent/" in mails[0].body
    case = Submission.objects.get(pk=case.pk)
    _assert_clean(mails[0], case=case, forbidden=[])
    assert Notification.objects.get(kind=NotificationKind.CONSENT_NEEDED).read_at is None

    # the builder consents: their own act (and the consent request leaves their list)
    case = consent_answer(submission=case, actor=builder, accept=True, tier="white", confirm_above_offer=True)
    assert ledger.take() == ([], [])
    assert Notification.objects.get(kind=NotificationKind.CONSENT_NEEDED).read_at is not None

    # a coordinator takes the case and proposes a reviewer: the reviewer, and only them
    coordination_take(submission=case, actor=coordinator)
    reviewer = _reviewer("r-notified@southwind.example", "Southwind")
    assignment = assignment_propose(submission=case, reviewer=reviewer, actor=coordinator)
    sent, mails = ledger.take()
    assert sent == [(reviewer.email, NotificationKind.REVIEWER_PROPOSED)]
    assert [m.to for m in mails] == [[reviewer.email]]
    assert f"{PUBLIC}/review/" in mails[0].body
    _assert_clean(mails[0], case=case, forbidden=builder_words)

    # accepting is the reviewer's own act; the grant is handed to them
    assignment_respond(assignment=assignment, actor=reviewer, accept=True)
    assert ledger.take() == ([], [])
    grant_issue(submission=case, reviewer=reviewer, tier="white", days=7, actor=coordinator)
    sent, mails = ledger.take()
    assert sent == [(reviewer.email, NotificationKind.ACCESS_GRANTED)]
    assert [m.to for m in mails] == [[reviewer.email]]
    assert f"{PUBLIC}/review/cases/{case.pk}/" in mails[0].body and "white box" in mails[0].body
    _assert_clean(mails[0], case=case, forbidden=builder_words)

    # the review goes to the coordinator of record, not to the other coordinator
    review_submit(submission=case, reviewer=reviewer, verdict="not_supported", confidence=80,
                  findings=[{"title": FINDING, "severity": "high"}], limitations="static only")
    sent, mails = ledger.take()
    assert sent == [(coordinator.email, NotificationKind.REVIEW_SUBMITTED)]
    assert [m.to for m in mails] == [[coordinator.email]]
    assert f"{PUBLIC}/coordinate/cases/{case.pk}/" in mails[0].body
    _assert_clean(mails[0], case=case, forbidden=[])

    # decision and report: the decision queues the report; the builder hears once, when it is there to read
    decision_record(submission=case, actor=coordinator, verdict="not_supported", rationale=RATIONALE)
    assert Submission.objects.get(pk=case.pk).state == State.REPORTED
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.REPORT_ISSUED)]
    assert [m.to for m in mails] == [[builder.email]]
    assert f"{PUBLIC}/cases/{case.pk}/" in mails[0].body
    _assert_clean(mails[0], case=case, forbidden=[])
    # the decision took the reviewer's access and the coordinator's pending review off their lists
    assert not Notification.objects.filter(read_at__isnull=True, kind__in=[
        NotificationKind.ACCESS_GRANTED, NotificationKind.REVIEW_SUBMITTED]).exists()

    # retention: the builder is warned once, ASSAY_RETENTION_WARN_DAYS before the shred, however often beat runs
    case = submission_acknowledge_report(submission=Submission.objects.get(pk=case.pk), actor=builder)
    ledger.take()
    ends = retention_ends_at(Submission.objects.get(pk=case.pk))
    assert retention_enforce(now=ends - timedelta(days=8)).warned == []
    warned = retention_enforce(now=ends - timedelta(days=3))
    sent, mails = ledger.take()
    assert case.reference in warned.warned
    assert (builder.email, NotificationKind.RETENTION_SHRED_SOON) in sent
    assert {email for email, _ in sent} == {builder.email}
    assert {kind for _, kind in sent} == {NotificationKind.RETENTION_SHRED_SOON}
    mine = [m for m in mails if case.reference in m.subject]
    assert len(mine) == 1 and mine[0].to == [builder.email] and "3 day(s)" in mine[0].body
    _assert_clean(mine[0], case=case, forbidden=[])
    assert case.reference not in retention_enforce(now=ends - timedelta(days=2)).warned
    assert [m for m in ledger.take()[1] if case.reference in m.subject] == []

    # nobody the route never reached heard anything
    for person in (other_builder, second_coordinator, bystander):
        assert not Notification.objects.filter(recipient=person).exists()
    assert not [m for m in mail.outbox if set(m.to) & {other_builder.email, second_coordinator.email,
                                                       bystander.email}]


def test_with_email_off_the_hand_off_is_listed_in_app_but_not_mailed(builder, terms):  # noqa: ANN001
    preferences_update(user=builder, email_kinds=set(NotificationKind.values) - {NotificationKind.TRIAGE_FINISHED})
    case = _submitted(builder, title=SECRET_TITLE)
    mail.outbox.clear()
    assert triage_submission_run(str(case.pk)) == State.CLOSED
    entry = Notification.objects.get(recipient=builder)
    assert entry.kind == NotificationKind.TRIAGE_FINISHED and not entry.emailed and entry.read_at is None
    assert mail.outbox == []


def test_a_rolled_back_hand_off_sends_nothing(builder, coordinator, terms):  # noqa: ANN001
    """The entry is written in the hand-off's transaction and the mail goes after it commits."""
    from django.db import transaction
    from django.urls import reverse

    from intake.notifications import notify

    case = _submitted(builder, title=SECRET_TITLE)
    mail.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipient=builder, kind=NotificationKind.REPORT_ISSUED, submission=case,
               path=reverse("case_detail", args=[case.pk]))
        raise RuntimeError("the hand-off failed")
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_notification_refuses_free_text(builder, terms):  # noqa: ANN001
    from intake.notifications import notify

    case = _submitted(builder, title=SECRET_TITLE)
    with pytest.raises(ValueError, match="not a fact"):
        notify(recipient=builder, kind=NotificationKind.TRIAGE_FINISHED, submission=case,
               path=f"/cases/{case.pk}/", outcome=SECRET_TITLE)
    with pytest.raises(ValueError, match="portal path"):
        notify(recipient=builder, kind=NotificationKind.REPORT_ISSUED, submission=case, path="https://evil.example/")
    assert not Notification.objects.exists()


def test_a_mail_server_outage_keeps_the_hand_off_and_its_entry(builder, terms, settings, caplog):  # noqa: ANN001
    """Nothing listens on port 1: the SMTP backend's connection is refused after the hand-off committed."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    case = _submitted(builder, title=SECRET_TITLE)
    assert triage_submission_run(str(case.pk)) == State.CLOSED
    entry = Notification.objects.get(recipient=builder)
    assert entry.kind == NotificationKind.TRIAGE_FINISHED and not entry.emailed
    assert Submission.objects.get(pk=case.pk).state == State.CLOSED
    assert f"notification {entry.pk} could not be e-mailed" in caplog.text
    assert SECRET_TITLE not in caplog.text and builder.email not in caplog.text


def test_a_request_for_human_review_is_handed_to_coordinators_and_its_answer_to_the_builder(builder, coordinator,
                                                                                           terms):  # noqa: ANN001
    from intake.review_requests import review_request_create
    from reviews.review_requests import review_request_decide

    second_coordinator = make_user("second-coordinator@assay.example", role=Role.COORDINATOR)
    reviewer = _reviewer("r-bystander@southwind.example", "Southwind")
    first = _submitted(builder, title=SECRET_TITLE)
    assert triage_submission_run(str(first.pk)) == State.CLOSED
    ledger = Ledger()
    ledger.take()
    why = "Triage missed that the tickets server posts to a webhook; please have a person check it."

    request = review_request_create(submission=Submission.objects.get(pk=first.pk), actor=builder, justification=why)
    sent, mails = ledger.take()
    assert sorted(sent) == sorted([(coordinator.email, NotificationKind.REVIEW_REQUESTED),
                                   (second_coordinator.email, NotificationKind.REVIEW_REQUESTED)])
    assert sorted(m.to[0] for m in mails) == sorted([coordinator.email, second_coordinator.email])
    for message in mails:
        _assert_clean(message, case=first, forbidden=[why, builder.email])
        assert f"{PUBLIC}/coordinate/review-requests/" in message.body

    review_request_decide(review_request=request, actor=coordinator, accept=False,
                          reason="The findings stand as reported by triage.")
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.REVIEW_REQUEST_DECLINED)]
    assert [m.to for m in mails] == [[builder.email]]
    _assert_clean(mails[0], case=first, forbidden=["The findings stand as reported by triage.", why])
    # the request left both coordinators' lists once it was answered
    assert not Notification.objects.filter(kind=NotificationKind.REVIEW_REQUESTED, read_at__isnull=True).exists()

    again = review_request_create(submission=Submission.objects.get(pk=first.pk), actor=builder,
                                  justification=why + " Second try.")
    ledger.take()
    review_request_decide(review_request=again, actor=second_coordinator, accept=True,
                          reason="A webhook that posts tickets out deserves a reviewer.")
    sent, mails = ledger.take()
    assert sent == [(builder.email, NotificationKind.CONSENT_NEEDED)]  # the next step is consent: one notice
    assert [m.to for m in mails] == [[builder.email]]
    assert not Notification.objects.filter(recipient=reviewer).exists()
