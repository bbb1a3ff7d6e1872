"""Rate limits for every abusable entry point, on django-ratelimit's counters.

Each limit counts per account and per address; whichever trips first wins.
The rates live here so the portal, the API and the token check agree; an
operator (or a test) can override single rates with ``ASSAY_RATE_LIMITS``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time

from django.conf import settings
from django.core.cache import cache
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
    "dispute-open": "10/h",  # an open dispute suspends another builder's deletion: not to be sprayed
    "detect-components": "30/h",  # each one is a sandboxed analysis of the draft's artifacts
    "reviewer-view": "300/h",  # secure viewer: artifact views and downloads, against scraping
    "domain-verify": "5/h",
    "review-request": "10/h",  # builders asking for human review of an outcome (each also counts in the quota)
    # Failed password logins (see login_attempt_check). Per account *and* address: that address is refused.
    "login-failed": "5/5m",
    # Per address, whatever accounts it names: password spraying from one address.
    "login-failed-address": "30/h",
    # Per account, from every address: a distributed guess. Only addresses that failed on it are then refused.
    "login-failed-account": "20/h",
    # Second-factor and re-authentication code posts, per address (allauth also counts per account).
    "login-code": "10/5m",
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


# --- failed logins -----------------------------------------------------------------------------------------------
#
# allauth's own ``login_failed`` counter is per account for everyone: five wrong passwords from anywhere locked
# the real user out too (a denial of service), answered with 200 and a form error. These counters refuse the
# *address* that failed, with 429 and Retry-After; the account-wide counter only ever refuses addresses that
# have themselves failed on the account, and the real user's completed login clears it.

def _rate_limit(rate: str) -> int:
    return int(rate.split("/", 1)[0])


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _window(group: str) -> tuple[int, int, int]:
    """(limit, window index, seconds left) of the fixed window ``group`` is counting in now."""
    rate = rate_for(group)
    period = period_seconds(rate)
    now = int(time.time())
    return _rate_limit(rate), now // period, period - now % period


def _counter_key(group: str, value: str) -> tuple[str, int, int, int]:
    limit, index, left = _window(group)
    return f"assay:{group}:{index}:{_digest(value)}", limit, left, period_seconds(rate_for(group))


def _count(group: str, value: str) -> tuple[int, int, int]:
    key, limit, left, _period = _counter_key(group, value)
    return int(cache.get(key, 0)), limit, left


def _increment(group: str, value: str) -> None:
    key, _limit, _left, period = _counter_key(group, value)
    if not cache.add(key, 1, period + 60):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, period + 60)


def _login_account(login: str) -> str:
    return (login or "").strip().casefold()


def login_attempt_check(request, *, login: str) -> None:  # noqa: ANN001
    """Refuse (``Ratelimited``, with ``request.assay_retry_after``) a password attempt from an address that failed
    too often: on this account, on any accounts, or on an account under a distributed attack.

    Called *before* the password is checked, so a refused attempt says nothing about the password. ``login`` is
    what was typed (an unknown account counts like a known one, so the limits are no account oracle).
    """
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    account, address = _login_account(login), client_address(request)
    refusals = []
    count, limit, left = _count("login-failed", f"{account}|{address}")
    if count >= limit:
        refusals.append(left)
    count, limit, left = _count("login-failed-address", address)
    if count >= limit:
        refusals.append(left)
    count, limit, left = _count("login-failed-account", account)
    if count >= limit and cache.get(_seen_key(account, address)):
        refusals.append(left)
    if refusals:
        request.assay_retry_after = max(1, max(refusals))
        raise Ratelimited()


def _seen_key(account: str, address: str) -> str:
    _limit, index, _left = _window("login-failed-account")
    return f"assay:login-failed-seen:{index}:{_digest(account + '|' + address)}"


def login_failure_record(request, *, login: str) -> None:  # noqa: ANN001
    """Count one wrong password for the address, the account, and the pair."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    account, address = _login_account(login), client_address(request)
    _increment("login-failed", f"{account}|{address}")
    _increment("login-failed-address", address)
    _increment("login-failed-account", account)
    cache.set(_seen_key(account, address), 1, period_seconds(rate_for("login-failed-account")) + 60)


def login_failures_clear(request, *, login: str) -> None:  # noqa: ANN001
    """The account's owner signed in completely (password, then the second factor when enrolled): lift the
    account-wide lock and this address's own count. Other addresses' counts stay: an attacker is not forgiven
    because the real user signed in."""
    account, address = _login_account(login), client_address(request)
    cache.delete(_counter_key("login-failed-account", account)[0])
    cache.delete(_counter_key("login-failed", f"{account}|{address}")[0])
