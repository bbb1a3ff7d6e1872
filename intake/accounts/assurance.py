"""Identity assurance level of an account, read by quotas and later by triage policy.

0: email not verified · 1: email verified · 2: plus MFA · 3: plus a verified organisation domain.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

# Roles that see other people's cases: they may not use the portal or the API without TOTP.
MFA_REQUIRED_ROLES = frozenset({"reviewer", "coordinator"})


def has_mfa(user) -> bool:  # noqa: ANN001
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_required(user) -> bool:  # noqa: ANN001
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", None) in MFA_REQUIRED_ROLES


def mfa_missing(user) -> bool:  # noqa: ANN001
    """True when the account's role requires TOTP and it has none yet."""
    return mfa_required(user) and not has_mfa(user)


def assurance_level(user) -> int:  # noqa: ANN001
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return 0
    if not has_mfa(user):
        return 1
    if not user.domain_verifications.filter(verified_at__isnull=False).exists():
        return 2
    return 3
