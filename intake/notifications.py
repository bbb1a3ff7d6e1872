"""Hand-off notifications: one entry in the recipient's "needs your action" list and, unless they turned it off
for that kind, one e-mail through Django's mail backend (files under ``var/mail/`` on the embedded default).

Every layer calls :func:`notify` at the moment it hands a case to someone (triage from its pipeline, reviews
from its services, intake's retention sweep); this module imports nothing above intake.

Mail is not a confidential channel, so nothing here takes free text: the wording of each kind is fixed below,
filled only with the case's pseudonymous reference and a few vetted facts (an outcome word, a number of days),
and the e-mail links to the portal (``ASSAY_PUBLIC_URL``) where the person reads the rest after signing in.
That also keeps the builder's identity out of what reviewers receive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from intake.models import Notification, NotificationKind, NotificationPreference, Submission, User

log = logging.getLogger(__name__)

# The only words a triage outcome may put into a notification.
OUTCOME_WORDS = {"reject": "was rejected", "guidance": "closed with guidance", "escalate": "needs human review"}

# The sentence each kind shows in the portal and as the e-mail's first line.
_TEXT = {
    NotificationKind.TRIAGE_FINISHED: "Triage of case {reference} finished: it {outcome}. See the results.",
    NotificationKind.CONSENT_NEEDED: ("Case {reference} needs human review: decide whether to consent to reviewers "
                                      "seeing it."),
    NotificationKind.REVIEWER_PROPOSED: "Case {reference} is proposed for your review: accept or decline it.",
    NotificationKind.ACCESS_GRANTED: ("You have been granted {tier} box access to case {reference}: you can review "
                                      "it now."),
    NotificationKind.REVIEW_SUBMITTED: "A review of case {reference} was submitted: it is ready for your decision.",
    NotificationKind.REPORT_ISSUED: "A decision was recorded on case {reference} and its report issued: read it.",
    NotificationKind.REVIEW_REQUESTED: ("The builder of case {reference} asks for human review of its triage "
                                        "outcome: accept or decline the request."),
    NotificationKind.REVIEW_REQUEST_DECLINED: ("Your request for human review of case {reference} was declined: "
                                               "read the coordinator's reason."),
    NotificationKind.RETENTION_SHRED_SOON: ("Case {reference} will be shredded in {days} day(s), when its retention "
                                            "period ends. Export or download anything you want to keep now."),
}
_FACTS = {"outcome": set(OUTCOME_WORDS.values()), "tier": {"black", "grey", "white"}}


def _text(kind: str, *, reference: str, facts: dict) -> str:
    for name, value in facts.items():
        if name == "days":
            if not isinstance(value, int) or value < 0:
                raise ValueError("days must be a non-negative int")
        elif name not in _FACTS or value not in _FACTS[name]:
            raise ValueError(f"{name}={value!r} is not a fact a notification may carry")
    return _TEXT[kind].format(reference=reference, **facts)


def absolute_url(path: str) -> str:
    """A portal path as the link a person can open from their mail client."""
    return f"{settings.ASSAY_PUBLIC_URL.rstrip('/')}{path}"


def email_enabled(user: User, kind: str) -> bool:
    preference = NotificationPreference.objects.filter(user=user, kind=kind).first()
    return preference is None or preference.email


def notify(*, recipient: User, kind: str, path: str, submission: Submission | None = None,
           dedupe_key: str = "", **facts) -> Notification | None:  # noqa: ANN003
    """Hand ``submission`` to ``recipient``: one in-app entry, and one e-mail after the caller's transaction
    commits (a rolled-back hand-off sends nothing). ``path`` is the portal page the person acts on
    (``reverse(...)``). With ``dedupe_key``, a second call for the same recipient, kind and key does nothing and
    returns None (periodic tasks find the same case again). ``facts`` fill the kind's fixed wording."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError("path must be a portal path such as /cases/<id>/")
    reference = submission.reference if submission is not None else ""
    text = _text(kind, reference=reference, facts=facts)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(recipient=recipient, kind=kind, reference=reference,
                                                       text=text, path=path, dedupe_key=dedupe_key)
    except IntegrityError:
        if dedupe_key and Notification.objects.filter(recipient=recipient, kind=kind, dedupe_key=dedupe_key).exists():
            return None
        raise
    if recipient.is_active and recipient.email and email_enabled(recipient, kind):
        transaction.on_commit(lambda: _send(notification.pk))
    return notification


def _send(notification_pk: int) -> None:
    """Runs after the hand-off committed: nothing here may raise into the caller's request or task."""
    notification = Notification.objects.select_related("recipient").filter(pk=notification_pk).first()
    if notification is None:  # the account went in between
        return
    site = settings.ASSAY_SITE_NAME
    subject = f"[{site}] {notification.get_kind_display()}"
    if notification.reference:
        subject += f": case {notification.reference}"
    body = (f"{notification.text}\n\n"
            f"Open it in {site}: {absolute_url(notification.path)}\n\n"
            f"For confidentiality, {site} never sends case content by e-mail; sign in to read it.\n"
            f"To choose which e-mails you get: {absolute_url(reverse('account-notifications'))}\n\n"
            f"— {site}\n")
    try:
        send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL,
                  recipient_list=[notification.recipient.email])
    except Exception:  # the in-app entry stands; a mail server outage must not undo the hand-off
        log.exception("notification %s could not be e-mailed", notification.pk)
        return
    Notification.objects.filter(pk=notification.pk).update(emailed=True)


# --- reading and marking (the person's own only) ----------------------------------------------------------

# kind -> still_actionable(user) -> the references whose entry of that kind the user may still see. Higher
# layers register these (reviews: a proposal still open, a grant still active, and no conflict *now*), so a
# reviewer conflicted or cut off after the hand-off no longer finds the case in any list.
_still_actionable: dict[str, Callable[[User], set[str]]] = {}


def register_still_actionable(kind: str, still_actionable: Callable[[User], set[str]]) -> None:
    _still_actionable[kind] = still_actionable


def notifications_shown(user: User, notifications: Iterable[Notification]) -> list[Notification]:
    """Of ``notifications`` (the user's own), those a registered rule does not hide now."""
    items = list(notifications)
    allowed: dict[str, set[str]] = {}
    for kind in {item.kind for item in items} & set(_still_actionable):
        allowed[kind] = _still_actionable[kind](user)
    return [item for item in items if item.kind not in allowed or item.reference in allowed[item.kind]]



def notifications_of(user: User) -> QuerySet[Notification]:
    """The only way to list notifications: the user's own, newest first."""
    return Notification.objects.filter(recipient_id=user.pk)


def notifications_unread(user: User) -> QuerySet[Notification]:
    return notifications_of(user).filter(read_at__isnull=True)


def notification_mark_read(*, user: User, notification_pk: int) -> Notification:
    """Someone else's notification is answered like a missing one."""
    notification = notifications_of(user).filter(pk=notification_pk).first()
    if notification is None:
        raise Http404("No such notification.")
    notifications_of(user).filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    notification.refresh_from_db()
    return notification


def notifications_resolve(*, kind: str, submission: Submission, recipient: User | None = None) -> int:
    """The action a hand-off asked for is done (or no longer possible): its entries leave the "needs your
    action" list (marked read; they stay on the notifications page)."""
    unread = Notification.objects.filter(kind=kind, reference=submission.reference, read_at__isnull=True)
    if recipient is not None:
        unread = unread.filter(recipient_id=recipient.pk)
    return unread.update(read_at=timezone.now())


def notifications_mark_all_read(*, user: User) -> int:
    return notifications_unread(user).update(read_at=timezone.now())


def preferences_of(user: User) -> dict[str, bool]:
    """E-mail on/off for every kind (on unless the user turned it off)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, True) for kind in NotificationKind.values}


def preferences_update(*, user: User, email_kinds: set[str]) -> dict[str, bool]:
    """``email_kinds``: the kinds the user wants e-mailed; every other kind is in-app only."""
    unknown = set(email_kinds) - set(NotificationKind.values)
    if unknown:
        raise ValueError(f"unknown notification kinds: {sorted(unknown)}")
    with transaction.atomic():
        for kind in NotificationKind.values:
            NotificationPreference.objects.update_or_create(user=user, kind=kind,
                                                            defaults={"email": kind in email_kinds})
    return preferences_of(user)
