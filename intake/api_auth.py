from __future__ import annotations

from rest_framework import authentication, exceptions

from intake.accounts.tokens import TokenRejected, api_token_authenticate
from intake.audit import audit_append
from intake.ratelimits import enforce


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer asy_…`` personal tokens; scopes are on ``request.auth``."""

    keyword = "Bearer"

    def authenticate(self, request):  # noqa: ANN001, ANN201
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        enforce(request._request, "token")
        try:
            token = api_token_authenticate(raw.strip())
        except TokenRejected as exc:
            raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.") from exc
        audit_append(actor=token.user, action="token.use", obj=token,
                     data={"method": request.method, "path": request.path})
        return token.user, token

    def authenticate_header(self, request):  # noqa: ANN001, ANN201
        return self.keyword
