from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_cache_control
from django_ratelimit.exceptions import Ratelimited

from intake.accounts.assurance import mfa_missing, mfa_required
from intake.ratelimits import retry_after_seconds

RATE_LIMITED_MESSAGE = "Too many requests; try again later."


def ratelimited_response(request, *, retry_after: int | None = None):  # noqa: ANN001, ANN201
    seconds = retry_after if retry_after is not None else retry_after_seconds(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "rate_limited", "message": RATE_LIMITED_MESSAGE}}, status=429)
    elif request.headers.get("HX-Request"):
        # An htmx swap target gets a one-line notice, not a whole page inside the wizard.
        response = TemplateResponse(request, "_ratelimited_fragment.html", {"retry_after": seconds}, status=429)
        response.render()
    else:
        response = TemplateResponse(request, "429.html", {"retry_after": seconds}, status=429)
        response.render()
    response["Retry-After"] = str(seconds)
    return response


# allauth's own limits (ACCOUNT_RATE_LIMITS) do not say when their window ends;
# five minutes is the longest window configured there for login attempts.
ALLAUTH_RETRY_AFTER = 300


def allauth_ratelimited(request: HttpRequest) -> HttpResponse:
    """``handler429`` for allauth: the same friendly page, with Retry-After."""
    return ratelimited_response(request, retry_after=ALLAUTH_RETRY_AFTER)


class RateLimitedMiddleware:
    """Turns a tripped rate limit anywhere in the portal into a friendly 429 with Retry-After."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        return self.get_response(request)

    def process_exception(self, request, exception):  # noqa: ANN001, ANN201
        if isinstance(exception, Ratelimited):
            return ratelimited_response(request)
        return None


# Paths a reviewer or coordinator without TOTP may still use: allauth's account and MFA
# pages (to set it up, verify email, sign out), static files, health, and the API
# (which refuses them itself with a JSON 403, see intake.api_auth.MfaSatisfied).
MFA_SETUP_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/api/")


class NoStoreWhenAuthenticatedMiddleware:
    """No cache (browser, proxy, back button) keeps a page or API answer meant for one signed-in person: case data
    must not outlive the session that fetched it."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, no_store=True)
        return response


class MfaRequiredMiddleware:
    """Reviewers and coordinators cannot use the portal beyond MFA set-up until TOTP is on."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        user = getattr(request, "user", None)
        if (user is not None and mfa_required(user) and not request.path.startswith(MFA_SETUP_ALLOWED_PREFIXES)
                and mfa_missing(user)):
            return redirect("mfa_activate_totp")
        return self.get_response(request)


_API_ERROR_CODES = {400: ("invalid", "Bad request."), 403: ("forbidden", "Forbidden."),
                    404: ("not_found", "No such endpoint."), 405: ("method_not_allowed", "Method not allowed."),
                    413: ("too_large", "Request body too large."),
                    500: ("server_error", "Something went wrong on our side; the error was logged.")}


class ApiJsonErrorsMiddleware:
    """Errors Django answers before DRF is reached (an unknown /api/ path, a body too large to read)
    still take the contract's JSON shape instead of an HTML page."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        response = self.get_response(request)
        if (request.path.startswith("/api/") and response.status_code in _API_ERROR_CODES
                and not response.get("Content-Type", "").startswith("application/json")):
            code, message = _API_ERROR_CODES[response.status_code]
            return JsonResponse({"error": {"code": code, "message": message}}, status=response.status_code)
        return response


class HtmxSessionExpiryMiddleware:
    """An htmx request whose session expired would follow the login redirect and swap the login page into a
    status box. Tell htmx to navigate the whole page to the login form instead."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        response = self.get_response(request)
        if (request.headers.get("HX-Request") and response.status_code in (301, 302)
                and response.get("Location", "").startswith(settings.LOGIN_URL)):
            redirect_to = response["Location"]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to
        return response
