"""Rate limits for every abusable entry point, on django-ratelimit's counters.

Each limit counts per account and per address; whichever trips first wins.
The rates live here so the portal, the API and the token check agree.
"""

from __future__ import annotations

import re

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited

RATES: dict[str, str] = {
    "signup": "10/h",
    "login": "20/h",
    "token": "600/m",
    "submission-create": "20/h",
    "upload": "120/h",
    "domain-verify": "5/h",
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def period_seconds(rate: str) -> int:
    match = re.fullmatch(r"(\d+)/(\d*)([smhd])", rate)
    if not match:
        raise ValueError(f"bad rate {rate!r}")
    multiplier = int(match.group(2) or 1)
    return multiplier * _UNITS[match.group(3)]


def enforce(request, group: str, *, account_key: str | None = None) -> None:  # noqa: ANN001
    """Count one hit for ``group`` by address and by account; raise Ratelimited past either limit."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    rate = RATES[group]
    keys = ["ip"]
    if account_key is not None:
        keys.append(lambda _group, _request: account_key)
    elif getattr(request, "user", None) is not None and request.user.is_authenticated:
        keys.append("user")
    for key in keys:
        if is_ratelimited(request, group=f"assay:{group}", key=key, rate=rate, increment=True):
            request.assay_retry_after = period_seconds(rate)
            raise Ratelimited()


def retry_after_seconds(request) -> int:  # noqa: ANN001
    return int(getattr(request, "assay_retry_after", 60)) if request is not None else 60
