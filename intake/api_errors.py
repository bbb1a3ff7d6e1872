"""One error shape for the whole API: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from intake.errors import DomainError
from intake.states import IllegalTransition, StaleTransition

logger = logging.getLogger(__name__)

# What each contract status means on our API; the schema documents each endpoint's possible errors with these,
# all in the one error shape (intake.serializers.ErrorOut), so clients and the schemathesis run can rely on it.
ERROR_DESCRIPTIONS = {
    400: "Malformed or invalid input",
    401: "Missing, unknown, expired or revoked token",
    403: "Token lacks the scope, or the account (its role, MFA, a conflict of interest) may not do this",
    404: "No such object, or not one the caller may see",
    409: "The object's state does not allow this",
    413: "Request body or upload too large",
    429: "Rate limit or open-case quota reached (see Retry-After)",
    503: "The platform could not do this right now (e.g. no analysis sandbox); try again after Retry-After",
}
# Token-authenticated endpoints: a bad token (401), a missing scope, role or MFA (403), token rate limit (429).
AUTHENTICATED = (401, 403, 429)


def documented_errors(*codes: int) -> dict:
    """``extend_schema(responses=...)`` entries for ``codes``, each in the contract's error shape."""
    from drf_spectacular.utils import OpenApiResponse

    from intake.serializers import ErrorOut

    return {code: OpenApiResponse(ErrorOut, description=ERROR_DESCRIPTIONS[code]) for code in sorted(set(codes))}


def error_response(code: str, message: str, http_status: int, *, details=None, headers=None) -> Response:  # noqa: ANN001
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return Response(body, status=http_status, headers=headers)


def _first_message(detail) -> str:  # noqa: ANN001
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def assay_exception_handler(exc, context):  # noqa: ANN001, ANN201
    if isinstance(exc, Ratelimited):
        from intake.ratelimits import retry_after_seconds

        seconds = retry_after_seconds(context.get("request"))
        return error_response("rate_limited", "Too many requests; try again later.", 429,
                              headers={"Retry-After": str(seconds)})
    if isinstance(exc, RequestDataTooBig):
        # Django refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE before anything is parsed or saved.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_response("too_large", f"request body is larger than the {limit} byte limit", 413)
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None
        return error_response(exc.code, str(exc), exc.http_status, details=exc.details, headers=headers)
    if isinstance(exc, IllegalTransition | StaleTransition):
        return error_response("conflict", str(exc), status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        if settings.DEBUG:
            return None  # let Django's debug page show the traceback
        # Anything unexpected: log it server-side, answer in the contract's shape, reveal nothing.
        logger.exception("unhandled API error", exc_info=exc)
        return error_response("server_error", "Something went wrong on our side; the error was logged.", 500)
    if isinstance(exc, exceptions.ValidationError):
        return error_response("invalid", _first_message(exc.detail), 400, details=exc.detail)
    codes = {
        exceptions.NotAuthenticated: "not_authenticated",
        exceptions.AuthenticationFailed: "authentication_failed",
        exceptions.PermissionDenied: "forbidden",
        exceptions.NotFound: "not_found",
        exceptions.MethodNotAllowed: "method_not_allowed",
        exceptions.UnsupportedMediaType: "unsupported_media_type",
        exceptions.ParseError: "malformed",
        exceptions.Throttled: "rate_limited",
    }
    code = next((name for cls, name in codes.items() if isinstance(exc, cls)), "error")
    message = _first_message(getattr(exc, "detail", str(exc)))
    headers = {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    return error_response(code, message, response.status_code, headers=headers)
