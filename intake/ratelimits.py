"""Rate limits for every abusable entry point, on django-ratelimit's counters.

Each limit counts per account and per address; whichever trips first wins.
The rates live here so the portal, the API and the token check agree; an
operator (or a test) can override single rates with ``ASSAY_RATE_LIMITS``.
"""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited

RATES: dict[str, str] = {
    "verify": "60/h",
    "signup": "10/h",
    "login": "20/h",
    "token": "600/m",
    "token-create": "20/h",
    "submission-create": "20/h",
    "upload": "120/h",
    "reviewer-view": "300/h",  # secure viewer: artifact views and downloads, against scraping
    "domain-verify": "5/h",
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def period_seconds(rate: str) -> int:
    match = re.fullmatch(r"(\d+)/(\d*)([smhd])", rate)
    if not match:
        raise ValueError(f"bad rate {rate!r}")
    multiplier = int(match.group(2) or 1)
    return multiplier * _UNITS[match.group(3)]


def rate_for(group: str) -> str:
    overrides = getattr(settings, "ASSAY_RATE_LIMITS", None) or {}
    return overrides.get(group, RATES[group])


def client_address(request) -> str:  # noqa: ANN001
    """The client's address as allauth sees it, so our limits and allauth's agree behind a proxy
    (``ALLAUTH_TRUSTED_PROXY_COUNT``, from ``ASSAY_TRUSTED_PROXY_COUNT``). IPv6 counts per /64,
    because one host is usually given a whole /64 and could otherwise rotate addresses freely."""
    from allauth.account.adapter import get_adapter

    try:
        raw = get_adapter(request).get_client_ip(request)
    except Exception:  # a forwarded header that contradicts the configured proxy count
        raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _address(_group, request) -> str:  # noqa: ANN001
    return "ip:" + client_address(request)


def enforce(request, group: str, *, account_key: str | None = None, by_address: bool = True) -> None:  # noqa: ANN001
    """Count one hit for ``group`` by address and by account; raise Ratelimited past either limit.

    The account is ``account_key`` when given (e.g. before login completes),
    otherwise the authenticated user of ``request``. ``by_address=False`` is
    for a second, per-account count after an address was already counted.
    Sets ``request.assay_retry_after`` to the seconds left in the tripped window.
    """
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    rate = rate_for(group)
    keys = [_address] if by_address else []
    if account_key is None and getattr(request, "user", None) is not None and request.user.is_authenticated:
        account_key = f"user:{request.user.pk}"
    if account_key is not None:
        keys.append(lambda _group, _request: account_key)
    for key in keys:
        usage = get_usage(request, group=f"assay:{group}", key=key, rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            request.assay_retry_after = max(1, int(usage["time_left"]))
            raise Ratelimited()


def retry_after_seconds(request) -> int:  # noqa: ANN001
    """Seconds until the tripped window resets (the Retry-After header); 60 when unknown."""
    if request is None:
        return 60
    django_request = getattr(request, "_request", request)  # DRF wraps the Django request
    return int(getattr(django_request, "assay_retry_after", None) or getattr(request, "assay_retry_after", 60))
