from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django_ratelimit.exceptions import Ratelimited

from intake.accounts.assurance import has_mfa, mfa_required, session_passed_mfa
from intake.audit import audit_append
from intake.ratelimits import client_address, enforce, retry_after_seconds

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


# Where a one-time code or a password is re-entered after sign-in started: the TOTP step of login, and
# allauth's two re-authentication forms. allauth counts wrong codes per account (a form error); these are
# also counted per address, answered 429 + Retry-After.
LOGIN_CODE_PATHS = ("/accounts/2fa/authenticate/", "/accounts/2fa/reauthenticate/", "/accounts/reauthenticate/")


class RateLimitedMiddleware:
    """Turns a tripped rate limit anywhere in the portal into a friendly 429 with Retry-After."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        if request.method == "POST" and request.path in LOGIN_CODE_PATHS:
            try:
                enforce(request, "login-code", account_key=None)
            except Ratelimited:
                return ratelimited_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):  # noqa: ANN001, ANN201
        if isinstance(exception, Ratelimited):
            return ratelimited_response(request)
        return None


# Paths a reviewer or coordinator without TOTP may still use: allauth's account and MFA
# pages (to set it up, verify email, sign out), static files, health, and the API
# (which refuses them itself with a JSON 403, see intake.api_auth.MfaSatisfied).
MFA_SETUP_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/api/")


# What a session of such an account that has TOTP but has not passed it (a password-only sign-in, e.g. Django's
# admin login before it was routed through allauth) may still use: the code step, sign-out, static files,
# health, and the API (which refuses it itself with a JSON 403). Not the rest of /accounts/: its recovery-code
# pages would hand a password-only session the codes that stand in for the second factor.
MFA_PENDING_ALLOWED_PATHS = ("/accounts/2fa/reauthenticate/", "/accounts/logout/")
MFA_PENDING_ALLOWED_PREFIXES = ("/static/", "/healthz", "/api/")


def _redirect(request, url: str) -> HttpResponse:  # noqa: ANN001
    """A redirect htmx follows with a full page load (a swapped-in login form would be useless)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


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
    """Reviewers, coordinators and admin staff use the portal only from a session that passed its second factor.

    Without TOTP they are sent to set it up; with TOTP but a session that never passed it, to enter a code
    (allauth's MFA re-authentication, which records the second factor in the session). Staff views and the
    API's ``MfaSatisfied`` check the same mark; this is the gate no route can forget.
    """

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        user = getattr(request, "user", None)
        if user is None or not mfa_required(user):
            return self.get_response(request)
        if not has_mfa(user):  # one query; the session mark below is read from the session
            if not request.path.startswith(MFA_SETUP_ALLOWED_PREFIXES):
                return _redirect(request, reverse("mfa_activate_totp"))
        elif (not session_passed_mfa(request) and request.path not in MFA_PENDING_ALLOWED_PATHS
              and not request.path.startswith(MFA_PENDING_ALLOWED_PREFIXES)):
            return _redirect(request, f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


STAFF_SEEN_SESSION_KEY = "assay_staff_seen_at"
# The idle clock is written at most once a minute, not on every request.
STAFF_SEEN_GRANULARITY = 60


def _is_activity(request) -> bool:  # noqa: ANN001
    """A person did something: any page load or form post. An htmx GET (the case page's status poll, a fragment
    refresh) is the browser acting alone, so an unattended tab does not keep a staff session open forever."""
    return not (request.headers.get("HX-Request") and request.method == "GET")


class StaffIdleTimeoutMiddleware:
    """Signs reviewers, coordinators and admin staff out after ``ASSAY_STAFF_IDLE_TIMEOUT`` seconds without
    activity (the absolute session lifetime, ``SESSION_COOKIE_AGE``, still applies to everyone)."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        user = getattr(request, "user", None)
        if user is None or not mfa_required(user):
            return self.get_response(request)
        now = time.time()
        seen = request.session.get(STAFF_SEEN_SESSION_KEY)
        if isinstance(seen, (int, float)) and now - seen > settings.ASSAY_STAFF_IDLE_TIMEOUT:
            audit_append(actor=user, action="account.idle_logout", obj=user,
                         data={"ip": client_address(request), "idle_seconds": int(now - seen)})
            logout(request)
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "not_authenticated",
                                               "message": "Your session ended after inactivity; sign in again."}},
                                    status=401)
            return _redirect(request, f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
        if _is_activity(request) and (not isinstance(seen, (int, float)) or now - seen >= STAFF_SEEN_GRANULARITY):
            request.session[STAFF_SEEN_SESSION_KEY] = now
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
