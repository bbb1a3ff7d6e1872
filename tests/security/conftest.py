"""Shared pieces of the security suite: staff with TOTP enrolled, codes computed from their secrets."""

from __future__ import annotations

import pytest

from intake.models import Role
from tests.factories import enable_totp, make_user


def totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


@pytest.fixture
def staff_coordinator(db):  # noqa: ANN001, ANN201
    """A coordinator who is also Django admin staff (as operators set them up), with TOTP on: (user, secret)."""
    user = make_user("coord@assay.example", role=Role.COORDINATOR)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user, enable_totp(user)
