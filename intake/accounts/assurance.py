"""Identity assurance level of an account, read by quotas and later by triage policy.

0: email not verified · 1: email verified · 2: plus MFA · 3: plus a verified organisation domain.
"""

from __future__ import annotations

import time

from allauth.account import app_settings as account_settings
from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

# Roles that see other people's cases: they may not use the portal or the API without TOTP.
MFA_REQUIRED_ROLES = frozenset({"reviewer", "coordinator"})


def has_mfa(user) -> bool:  # noqa: ANN001
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_required(user) -> bool:  # noqa: ANN001
    """Reviewers, coordinators and Django admin staff (who can read every table) must use TOTP."""
    if not getattr(user, "is_authenticated", False):
        return False
    return getattr(user, "role", None) in MFA_REQUIRED_ROLES or bool(getattr(user, "is_staff", False))


def mfa_missing(user) -> bool:  # noqa: ANN001
    """True when the account's role requires TOTP and it has none yet."""
    return mfa_required(user) and not has_mfa(user)


def session_passed_mfa(request) -> bool:  # noqa: ANN001
    """True when *this session* completed a second factor for its user.

    allauth appends ``{"method": "mfa", ...}`` to the session's authentication records only after a TOTP or
    recovery code was accepted (the login stage, or MFA re-authentication), bound to the user's id; a password
    alone records ``"password"``. Enrolling TOTP records it too (``mark_session_mfa``): activation checked a code.
    Enrolment alone (``has_mfa``) says nothing about the session: a password-only login (Django's admin login,
    a session from before TOTP was switched on) has TOTP enrolled and no mark.
    """
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return False
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def mark_session_mfa(request, authenticator) -> None:  # noqa: ANN001
    """Record a second factor just proven in this session (TOTP activation checks a code from the device)."""
    from allauth.account.internal.flows.login import record_authentication

    record_authentication(request, authenticator.user, "mfa", id=authenticator.pk, type=authenticator.type,
                          enrolled=True)


def signed_in_recently(request) -> bool:  # noqa: ANN001
    """This session proved every factor the account has within ``ACCOUNT_REAUTHENTICATION_TIMEOUT``: its password
    and, once TOTP is on, a code (the sign-in's code step, or the enrolment that checked one).

    allauth counts only an explicit re-authentication as recent, so a staff member signing in for the first time
    was asked for the password again by the TOTP set-up moments after typing it. A sign-in that recent proves
    what the re-entered password would; a session that only passed its password, or did so long ago, is still
    asked.
    """
    user = getattr(request, "user", None)
    if getattr(request, "session", None) is None or user is None or not user.is_authenticated:
        return False
    horizon = time.time() - account_settings.REAUTHENTICATION_TIMEOUT
    recent = {record.get("method") for record in get_authentication_records(request, user)
              if isinstance(record.get("at"), (int, float)) and record["at"] >= horizon}
    return "password" in recent and ("mfa" in recent or not has_mfa(user))


def mfa_unverified(request) -> bool:  # noqa: ANN001
    """The account must use TOTP, has it, and this session has not passed it: send it to the code step."""
    user = getattr(request, "user", None)
    return mfa_required(user) and has_mfa(user) and not session_passed_mfa(request)


def check_staff_session(request, *, role: str, message: str | None = None) -> None:  # noqa: ANN001
    """A staff-only view's own check, behind MfaRequiredMiddleware: the right role, from an MFA-passed session."""
    from django.core.exceptions import PermissionDenied

    if getattr(request.user, "role", None) != role:
        raise PermissionDenied(message or f"This page is for {role}s.")
    if not session_passed_mfa(request):
        raise PermissionDenied("This session has not passed two-factor authentication.")


def assurance_level(user) -> int:  # noqa: ANN001
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return 0
    if not has_mfa(user):
        return 1
    if not user.domain_verifications.filter(verified_at__isnull=False).exists():
        return 2
    return 3
