"""Organisation-domain verification: proof that an account controls an address at its organisation's domain.

A single-use link is mailed to the address; only a SHA-256 of the link's token
is stored. Free-mail domains prove nothing about an organisation and are
refused. A verified domain raises the account's assurance level to 3.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import DomainError, ValidationFailed
from intake.models import OrganisationDomainVerification

LINK_TTL = timedelta(hours=24)
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com", "msn.com",
    "yahoo.com", "yahoo.co.uk", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com", "yandex.ru",
    "mail.ru", "zoho.com", "qq.com", "163.com", "126.com", "fastmail.com", "tutanota.com", "tuta.io", "hey.com",
    "mailbox.org", "posteo.de", "orange.fr", "free.fr", "laposte.net", "t-online.de", "libero.it",
})


class LinkRejected(DomainError):
    """A verification link that is unknown, someone else's, expired or already used."""

    code = "link_rejected"
    http_status = 400


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_free_mail(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == free or domain.endswith("." + free) for free in FREE_MAIL_DOMAINS)


def domain_verification_start(*, user, address: str, confirm_url_base: str) -> OrganisationDomainVerification:  # noqa: ANN001
    """Mail a single-use link to ``address``; ``confirm_url_base`` + token is the link (built by the caller)."""
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationFailed("Enter a valid email address at your organisation's domain.") from exc
    domain = address.rsplit("@", 1)[1]
    if is_free_mail(domain):
        raise ValidationFailed(f"{domain} is a free-mail provider; use an address at your organisation's own domain.")
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        verification = OrganisationDomainVerification.objects.create(
            user=user, domain=domain, address=address, token_hash=_hash(raw), sent_at=now, expires_at=now + LINK_TTL)
        audit_append(actor=user, action="domain.verification_sent", obj=verification,
                     data={"domain": domain})
        link = f"{confirm_url_base}{raw}/"
        transaction.on_commit(lambda: send_mail(
            subject=f"Confirm your organisation's domain on {settings.ASSAY_SITE_NAME}",
            message=(f"Someone (hopefully you, signed in as {user.email}) asked {settings.ASSAY_SITE_NAME} to "
                     f"confirm that they can "
                     f"receive mail at {address}.\n\nOpen this link while signed in to confirm {domain}:\n{link}\n\n"
                     f"It works once and expires in {int(LINK_TTL.total_seconds() // 3600)} hours. If this was "
                     "not you, ignore this message."),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[address]))
    return verification


def domain_verification_confirm(*, user, raw_token: str) -> OrganisationDomainVerification:  # noqa: ANN001
    """Consume a link once. Replays, expired links and other accounts' links raise LinkRejected."""
    now = timezone.now()
    with transaction.atomic():
        verification = (OrganisationDomainVerification.objects.select_for_update()
                        .filter(token_hash=_hash(raw_token or "")).first())
        if verification is None or verification.user_id != user.pk:
            raise LinkRejected("This verification link is not valid for your account.")
        if verification.verified_at is not None:
            raise LinkRejected("This verification link has already been used.")
        if verification.expires_at <= now:
            raise LinkRejected("This verification link has expired; request a new one.")
        # Guarded by verified_at so two concurrent clicks cannot both succeed.
        rows = OrganisationDomainVerification.objects.filter(
            pk=verification.pk, verified_at__isnull=True).update(verified_at=now)
        if rows != 1:
            raise LinkRejected("This verification link has already been used.")
        verification.verified_at = now
        audit_append(actor=user, action="domain.verified", obj=verification, data={"domain": verification.domain})
    return verification


def verified_domains(user) -> list[str]:  # noqa: ANN001
    return sorted(set(user.domain_verifications.filter(verified_at__isnull=False).values_list("domain", flat=True)))
