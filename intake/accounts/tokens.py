"""Personal API tokens: ``asy_<prefix>_<secret>``, stored as SHA-256, shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import ValidationFailed
from intake.models import ApiToken

SCOPES = ("submissions:read", "submissions:write", "reviews", "reports:read")
MAX_TTL_DAYS = 365


class TokenRejected(Exception):
    """The presented token is unknown, malformed, expired or revoked."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user, name: str, scopes: list[str], ttl_days: int = 90) -> tuple[ApiToken, str]:  # noqa: ANN001
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("give the token a name of 1 to 100 characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(f"unknown or empty scopes: {', '.join(unknown) or '(none given)'}")
    if not isinstance(ttl_days, int) or isinstance(ttl_days, bool) or not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise ValidationFailed(f"a token lives between 1 and {MAX_TTL_DAYS} days")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"asy_{prefix}_{secret}"
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=_hash(raw),
                                        scopes=sorted(set(scopes)), created_at=now,
                                        expires_at=now + timedelta(days=ttl_days))
        audit_append(actor=user, action="token.create", obj=token,
                     data={"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
    return token, raw


def api_token_authenticate(raw: str) -> ApiToken:
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != "asy":
        raise TokenRejected("malformed token")
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.token_hash, _hash(raw)):
        raise TokenRejected("unknown token")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRejected("token revoked")
    if token.expires_at <= now:
        raise TokenRejected("token expired")
    if not token.user.is_active:
        raise TokenRejected("account disabled")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, token: ApiToken, actor) -> None:  # noqa: ANN001
    """Revoke at once (idempotent). The caller has checked the actor may revoke this token."""
    with transaction.atomic():
        rows = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if rows:
            audit_append(actor=actor, action="token.revoke", obj=token, data={"name": token.name})


def api_tokens_of(user):  # noqa: ANN001, ANN201
    """The account's tokens, newest first (revoked and expired ones included, for the record)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")
