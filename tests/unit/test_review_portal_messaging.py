"""The builder ↔ coordinator thread: private, audited, notified by mail that never carries the text."""

from __future__ import annotations

import pytest

from intake.models import AuditEvent
from reviews.messaging import message_post
from reviews.models import Message
from reviews.services import NotPermitted, coordination_take
from tests.unit.review_portal_support import case_in_review, client_for, make_coordinator, make_reviewer


@pytest.fixture
def locmem(settings):  # noqa: ANN001, ANN201
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.django_db(transaction=True)
def test_builder_message_reaches_the_coordinator_of_record_by_mail_without_its_text(builder, locmem, mailoutbox):  # noqa: ANN001
    case = case_in_review(builder)
    coordinator = make_coordinator()
    make_coordinator("other@assay.example")
    coordination_take(submission=case, actor=coordinator)
    response = client_for(builder).post(f"/cases/{case.pk}/messages/", {"body": "Our proxy logs are attached."})
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[coordinator.email]]
    mail = mailoutbox[0]
    assert mail.subject == f"[Assay] New message on case {case.reference}"
    assert "proxy logs" not in mail.body and f"/cases/{case.pk}/messages/" in mail.body
    event = AuditEvent.objects.get(action="message.post", object_id=str(case.pk))
    assert event.data["chars"] == len("Our proxy logs are attached.") and "body" not in event.data


@pytest.mark.django_db(transaction=True)
def test_coordinator_reply_notifies_the_builder_and_the_thread_hides_who_coordinates(builder, locmem, mailoutbox):  # noqa: ANN001
    case = case_in_review(builder)
    coordinator = make_coordinator()
    client_for(builder).post(f"/cases/{case.pk}/messages/", {"body": "Question about scope."})
    assert {m.to[0] for m in mailoutbox} == {coordinator.email}  # no coordinator of record: all coordinators
    mailoutbox.clear()
    client_for(coordinator).post(f"/cases/{case.pk}/messages/", {"body": "Scope is the harness only."})
    assert [m.to for m in mailoutbox] == [[builder.email]]
    page = client_for(builder).get(f"/cases/{case.pk}/messages/").content.decode()
    assert "Scope is the harness only." in page and "Assay coordinator" in page
    assert coordinator.email not in page


@pytest.mark.django_db
def test_reviewers_cannot_post_and_empty_or_huge_messages_are_refused(builder):  # noqa: ANN001
    case = case_in_review(builder)
    reviewer = make_reviewer("r@southwind.example", organisation="Southwind")
    with pytest.raises(NotPermitted, match="only the case's builder and its coordinators"):
        message_post(submission=case, actor=reviewer, body="hello")
    client = client_for(builder)
    assert client.post(f"/cases/{case.pk}/messages/", {"body": "   "}).status_code == 400
    assert client.post(f"/cases/{case.pk}/messages/", {"body": "x" * 5001}).status_code == 400
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_message_text_is_escaped(builder):  # noqa: ANN001
    case = case_in_review(builder)
    client = client_for(builder)
    client.post(f"/cases/{case.pk}/messages/", {"body": "<img src=x onerror=alert(1)>"})
    page = client.get(f"/cases/{case.pk}/messages/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
