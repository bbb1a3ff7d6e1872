"""API authentication (personal Bearer tokens) and the permissions every API view shares."""

from __future__ import annotations

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from intake.accounts.assurance import mfa_missing, mfa_unverified
from intake.accounts.tokens import TokenRejected, api_token_authenticate
from intake.audit import audit_append
from intake.ratelimits import enforce


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer asy_…`` personal tokens; the token (with its scopes) is ``request.auth``."""

    keyword = "Bearer"

    def authenticate(self, request):  # noqa: ANN001, ANN201
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        # Count by address first, so guessing tokens is throttled before any lookup.
        enforce(request._request, "token")
        try:
            token = api_token_authenticate(raw.strip())
        except TokenRejected as exc:
            raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.") from exc
        enforce(request._request, "token", account_key=f"user:{token.user_id}", by_address=False)
        if _token_use_needs_audit(token, request.method):
            audit_append(actor=token.user, action="token.use", obj=token,
                         data={"method": request.method, "path": request.path[:200]})
        return token.user, token

    def authenticate_header(self, request):  # noqa: ANN001, ANN201
        return self.keyword


# A token's reads are audited once per window: every audit entry takes the chain's single lock, so auditing each
# GET serialised all API traffic. Writes are audited every time, and reads of confidential material are audited
# where it is decrypted (the vault), whatever the route.
TOKEN_READ_AUDIT_WINDOW_SECONDS = 300


def _token_use_needs_audit(token, method: str) -> bool:  # noqa: ANN001
    if method not in permissions.SAFE_METHODS:
        return True
    # cache.add is atomic: exactly one request per token and window wins and is audited.
    return cache.add(f"assay:token-read-audited:{token.pk}", 1, timeout=TOKEN_READ_AUDIT_WINDOW_SECONDS)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "intake.api_auth.BearerTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "bearerFormat": "asy_<prefix>_<secret>",
                "description": "A personal API token from /account/tokens/ (shown once at creation)."}


class TokenScopes(permissions.BasePermission):
    """A token may only do what its scopes allow; a browser session (MFA-checked portal login) has every scope.

    Views name what they need per action in ``required_scopes = {"list": "submissions:read", …}``;
    an action a view forgot to name is refused (fail closed).
    """

    message = "This token lacks the scope needed here."

    def has_permission(self, request, view) -> bool:  # noqa: ANN001
        from intake.models import ApiToken

        if not isinstance(request.auth, ApiToken):
            return True
        if not _has_handler(request, view):
            return True  # nothing would run; DRF answers 405 Method Not Allowed
        needed = _required_scope(request, view)
        if needed is None:
            return False
        if needed not in request.auth.scopes:
            self.message = f"This token lacks the '{needed}' scope."
            return False
        return True


def _has_handler(request, view) -> bool:  # noqa: ANN001
    if hasattr(view, "action_map"):  # a viewset: the router mapped this method to an action, or not
        return getattr(view, "action", None) is not None
    return hasattr(view, request.method.lower())


def _required_scope(request, view) -> str | None:  # noqa: ANN001
    scopes = getattr(view, "required_scopes", {})
    action = getattr(view, "action", None) or request.method.lower()
    return scopes.get(action)


class MfaSatisfied(permissions.BasePermission):
    """Reviewers and coordinators must have TOTP on before the API serves them, as in the portal; a browser
    session must also have passed it (the session's second-factor mark, as MfaRequiredMiddleware checks).

    A personal token carries no session: it was created from the portal, which only an MFA-passed session of
    these roles can reach, and it still needs TOTP enrolled.
    """

    message = "Your role requires two-factor authentication; enable it under /accounts/2fa/ first."
    unverified_message = ("This session has not passed two-factor authentication; "
                          "enter your code at /accounts/2fa/reauthenticate/ first.")

    def has_permission(self, request, view) -> bool:  # noqa: ANN001
        from intake.models import ApiToken

        if mfa_missing(request.user):
            return False
        if not isinstance(request.auth, ApiToken) and mfa_unverified(request._request):
            self.message = self.unverified_message
            return False
        return True
