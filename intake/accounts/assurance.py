"""Identity assurance level of an account, read by quotas and later by triage policy.

0: email not verified · 1: email verified · 2: plus MFA · 3: plus a verified organisation domain.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator


def has_mfa(user) -> bool:  # noqa: ANN001
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def assurance_level(user) -> int:  # noqa: ANN001
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return 0
    if not has_mfa(user):
        return 1
    if not user.domain_verifications.filter(verified_at__isnull=False).exists():
        return 2
    return 3
