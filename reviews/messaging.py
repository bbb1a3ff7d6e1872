"""The private thread between a case's builder and its coordinators.

Reviewers never post: they speak through the coordinator, so the builder does
not learn who reviews the case. Notifications carry no message text (mail is
not a confidential channel); they say where to read it. Mail goes out only
after the transaction commits, so a rolled-back post sends nothing.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from intake.audit import audit_append
from intake.errors import ValidationFailed
from intake.models import Role, Submission, User
from reviews.models import CaseCoordination, Message
from reviews.services import NotPermitted

MAX_MESSAGE_CHARS = 5000


def _recipients(submission: Submission, author: User) -> list[str]:
    if author.role == Role.COORDINATOR:
        return [submission.owner.email]
    coordination = CaseCoordination.objects.filter(submission=submission).select_related("coordinator").first()
    if coordination is not None:
        return [coordination.coordinator.email]
    # No coordinator of record yet: every coordinator hears about it.
    return sorted(User.objects.filter(role=Role.COORDINATOR, is_active=True).values_list("email", flat=True))


def _notify(submission: Submission, recipients: list[str], *, path: str) -> None:
    base = getattr(settings, "ASSAY_PUBLIC_URL", "").rstrip("/")
    for address in recipients:
        send_mail(
            subject=f"[{settings.ASSAY_SITE_NAME}] New message on case {submission.reference}",
            message=(f"There is a new message on case {submission.reference}.\n\n"
                     f"Read and answer it in the portal: {base}{path}\n\n"
                     "For confidentiality, message text is never sent by email."),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[address], fail_silently=True)


def message_post(*, submission: Submission, actor: User, body: str, path: str = "") -> Message:
    """Post to the case's thread. Only the case's builder or a coordinator may; the caller fetched the case."""
    if actor.role == Role.COORDINATOR:
        pass
    elif actor.role == Role.BUILDER and submission.owner_id == actor.pk:
        pass
    else:
        raise NotPermitted("only the case's builder and its coordinators write in this thread")
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("write a message")
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(f"keep a message under {MAX_MESSAGE_CHARS} characters")
    recipients = _recipients(submission, actor)
    with transaction.atomic():
        message = Message.objects.create(submission=submission, author=actor, body=body)
        # The audit event records that a message was sent and its length, not its text.
        audit_append(actor=actor, action="message.post", obj=submission,
                     data={"message": message.pk, "chars": len(body), "recipients": len(recipients),
                           "sha256": hashlib.sha256(body.encode()).hexdigest()})
        transaction.on_commit(lambda: _notify(submission, recipients, path=path))
    return message
