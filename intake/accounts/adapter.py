from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from intake.accounts.assurance import mark_session_mfa, mfa_required, signed_in_recently
from intake.audit import audit_append
from intake.notifications import absolute_url
from intake.ratelimits import (
    client_address, enforce, login_attempt_check, login_failure_record, login_failures_clear,
)


@dataclass(frozen=True)
class PublicSite:
    """What allauth's e-mails call ``current_site``: our configured name and public host, never the host and port
    the request happened to arrive on (mail used to be signed "127.0.0.1:8000")."""

    name: str
    domain: str


def public_site() -> PublicSite:
    from django.conf import settings

    return PublicSite(name=settings.ASSAY_SITE_NAME, domain=urlsplit(settings.ASSAY_PUBLIC_URL).netloc)


def _public_link(url: str) -> str:
    """A link allauth built from the request, re-rooted at ASSAY_PUBLIC_URL."""
    parts = urlsplit(url)
    return absolute_url(parts.path + (f"?{parts.query}" if parts.query else ""))


# Our TOTP set-up page says both in one notice with a link to the codes (intake.accounts.views.TotpActivateView).
_SAID_BY_TOTP_SETUP = frozenset({"mfa/messages/totp_activated.txt", "mfa/messages/recovery_codes_generated.txt"})


class AssayAccountAdapter(DefaultAccountAdapter):
    """The single customisation point for allauth: rate limits and audit of logins, the site name and public
    links in its e-mails, and a fresh sign-in counting as recent authentication."""

    def format_email_subject(self, subject: str) -> str:
        return f"[{public_site().name}] {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        super().send_mail(template_prefix, email, {**context, "current_site": public_site()})

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:  # noqa: ANN001
        return _public_link(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _public_link(super().get_reset_password_from_key_url(key))

    def add_message(self, request, level, message_template=None,  # noqa: ANN001
                    *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        match = getattr(request, "resolver_match", None)
        if message_template in _SAID_BY_TOTP_SETUP and match is not None and match.url_name == "mfa_activate_totp":
            return
        super().add_message(request, level, message_template, *args, **kwargs)

    def pre_login(self, request, user, **kwargs):  # noqa: ANN001, ANN003, ANN201
        enforce(request, "login", account_key=f"user:{user.pk}")
        return super().pre_login(request, user, **kwargs)

    def pre_authenticate(self, request, **credentials):  # noqa: ANN001, ANN003, ANN201
        # Replaces allauth's per-account ``login_failed`` lock (which locked the real user out from everywhere
        # and answered 200) with per-address refusals answered 429 + Retry-After (intake.ratelimits).
        login_attempt_check(request, login=credentials.get("email") or credentials.get("username") or "")

    def login(self, request, user):  # noqa: ANN001, ANN201
        # allauth calls this once every stage passed (the TOTP code included, when enrolled).
        super().login(request, user)
        login_failures_clear(request, login=user.email)
        audit_append(actor=user, action="account.login", obj=user, data={"ip": client_address(request)})

    def authentication_failed(self, request, **credentials):  # noqa: ANN001, ANN003, ANN201
        # The attempted login is recorded against the account it names (if any), never the password.
        from intake.models import User

        attempted = (credentials.get("email") or credentials.get("username") or "").strip().lower()
        login_failure_record(request, login=attempted)
        account = User.objects.filter(email=attempted).first() if attempted else None
        audit_append(actor=None, action="account.login_failed", obj=account,
                     data={"ip": client_address(request), "known_account": account is not None})
        return super().authentication_failed(request, **credentials)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:  # noqa: ANN003
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        return self.request is None or not signed_in_recently(self.request)

    def save_user(self, request, user, form, commit=True):  # noqa: ANN001, ANN201
        enforce(request, "signup")
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            audit_append(actor=user, action="account.signup", obj=user)
        return user


_SEALED = "fernet:"


def _fernet_keys() -> list[bytes]:
    """Keys derived from SECRET_KEY (then its fallbacks), so rotating the key keeps old seeds readable."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from django.conf import settings

    keys = []
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"assay-mfa-secrets",
                       info=b"allauth totp seed").derive(secret.encode())
        keys.append(base64.urlsafe_b64encode(derived))
    return keys


class AssayMFAAdapter(DefaultMFAAdapter):
    """TOTP seeds are sealed at rest; reviewers and coordinators may not switch TOTP off."""

    def encrypt(self, text: str) -> str:
        from cryptography.fernet import Fernet

        return _SEALED + Fernet(_fernet_keys()[0]).encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        from cryptography.fernet import Fernet, MultiFernet

        if not encrypted_text.startswith(_SEALED):
            return encrypted_text  # written before sealing was introduced
        token = encrypted_text[len(_SEALED):].encode()
        return MultiFernet([Fernet(key) for key in _fernet_keys()]).decrypt(token).decode()

    def can_delete_authenticator(self, authenticator) -> bool:  # noqa: ANN001
        if authenticator.type == Authenticator.Type.TOTP and mfa_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)


def on_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:  # noqa: ANN001, ANN003
    """Activating TOTP checked a code from the new device, so the session that did it has passed a second factor
    (otherwise a reviewer would be sent straight from enrolment to type a second code)."""
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        mark_session_mfa(request, authenticator)
