from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from intake.accounts.assurance import mfa_required
from intake.audit import audit_append
from intake.ratelimits import client_address, enforce


class AssayAccountAdapter(DefaultAccountAdapter):
    """The single customisation point for allauth: rate limits and audit of logins."""

    def pre_login(self, request, user, **kwargs):  # noqa: ANN001, ANN003, ANN201
        enforce(request, "login", account_key=f"user:{user.pk}")
        return super().pre_login(request, user, **kwargs)

    def login(self, request, user):  # noqa: ANN001, ANN201
        super().login(request, user)
        audit_append(actor=user, action="account.login", obj=user, data={"ip": client_address(request)})

    def authentication_failed(self, request, **credentials):  # noqa: ANN001, ANN003, ANN201
        # The attempted login is recorded against the account it names (if any), never the password.
        from intake.models import User

        attempted = (credentials.get("email") or credentials.get("username") or "").strip().lower()
        account = User.objects.filter(email=attempted).first() if attempted else None
        audit_append(actor=None, action="account.login_failed", obj=account,
                     data={"ip": client_address(request), "known_account": account is not None})
        return super().authentication_failed(request, **credentials)

    def save_user(self, request, user, form, commit=True):  # noqa: ANN001, ANN201
        enforce(request, "signup")
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            audit_append(actor=user, action="account.signup", obj=user)
        return user


class AssayMFAAdapter(DefaultMFAAdapter):
    """Reviewers and coordinators may not switch their TOTP off; builders may."""

    def can_delete_authenticator(self, authenticator) -> bool:  # noqa: ANN001
        if authenticator.type == Authenticator.Type.TOTP and mfa_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
