"""Structured JSON logs with request ids, and never a secret in them.

Every log record carries the id of the request (or Celery task) it was written
under. ``RequestObservabilityMiddleware`` takes a well-formed ``X-Request-ID``
from the caller (a load balancer's) or makes one, returns it on the response,
writes one access line per request and feeds the request metrics.

What we log about a request is chosen, never dumped: method, path without its
query string, resolved view, status and duration. Bodies, headers, cookies and
query strings are never logged, because submissions and credentials travel in
them. ``SecretRedactionFilter`` is the second line of defence: it masks
anything shaped like a credential in any message, argument or traceback that
reaches a handler anyway.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.core.signals import request_finished

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("assay_request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it is short and inert: it is echoed into logs and a response header.
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REDACTED = "[redacted]"

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Our personal API tokens: asy_<prefix>_<secret>.
    (re.compile(r"asy_[A-Za-z0-9]+_[A-Za-z0-9_\-]+"), REDACTED),
    # Authorization / Proxy-Authorization headers, in any rendering (header line, dict repr, WSGI key).
    (re.compile(r"(?i)((?:proxy-)?authorization|HTTP_(?:PROXY_)?AUTHORIZATION)(['\"]?\s*[:=]\s*['\"]?)"
                r"(?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s'\",;]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), rf"\1 {REDACTED}"),
    # Cookie headers, whole, and session/CSRF cookie values wherever they appear.
    (re.compile(r"(?i)((?:set-)?cookie|HTTP_COOKIE)(['\"]?\s*[:=]\s*['\"]?)[^'\"\n]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)((?:__Host-)?(?:sessionid|csrftoken|csrfmiddlewaretoken)['\"]?\s*[=:]\s*['\"]?)"
                r"[A-Za-z0-9._\-]+"), rf"\1{REDACTED}"),
    # key=value pairs whose key names a secret (password=…, secret_key: …, api_key=…).
    (re.compile(r"(?i)\b([a-z0-9_\-]*(?:password|passwd|secret|api[_-]?key|access[_-]?key|private[_-]?key)"
                r"['\"]?\s*[=:]\s*['\"]?)[^\s'\",&;]+"), rf"\1{REDACTED}"),
    # Credentials inside URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)


def redact_secrets(text: str) -> str:
    """Mask everything in ``text`` that looks like a credential."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def request_id_accept_or_new(candidate: str | None) -> str:
    """The caller's request id when it is well formed, else a fresh one."""
    if candidate and _ACCEPTABLE_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


class SecretRedactionFilter(logging.Filter):
    """Renders each record's message with secrets masked (arguments included), and its traceback too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record, nor leak its raw args
            message = str(record.msg)
        record.msg = redact_secrets(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        # The exception object may reach other handlers' formatters; they see the redacted text instead.
        record.exc_info = None
        return True


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request (or task) id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


# Extra fields a log call may attach (``logger.info(..., extra={...})``) that the JSON line keeps.
JSON_EXTRA_FIELDS = ("request_id", "method", "path", "view", "status", "duration_ms", "user_id", "task",
                     "task_id", "case", "event")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and the whitelisted extras."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in JSON_EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value not in (None, ""):
                document[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exc"] = record.exc_text
        return json.dumps(document, default=str, ensure_ascii=False)


access_logger = logging.getLogger("assay.access")
# Probes hit these every few seconds; a line each would drown the log. Failures are still logged.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObservabilityMiddleware:
    """Request id in and out, one access log line, and the request metrics. First in MIDDLEWARE."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        from intake.metrics import request_observe

        request_id = request_id_accept_or_new(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        # Not reset on the way out: Django logs 4xx/5xx after the middleware returns. request_finished clears it.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = None
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            status = response.status_code if response is not None else 500
            view = _view_label(request)
            request_observe(method=request.method, view=view, status=status, seconds=elapsed)
            if not (request.path in QUIET_PATHS and status < 400):
                access_logger.info(
                    "%s %s %s %.1fms", request.method, request.path, status, elapsed * 1000,
                    extra={"method": request.method, "path": request.path, "view": view, "status": status,
                           "duration_ms": round(elapsed * 1000, 1), "user_id": _resolved_user_id(request)})


def _clear_request_id(**_) -> None:  # noqa: ANN003
    request_id_var.set("")


request_finished.connect(_clear_request_id, dispatch_uid="assay.observability.clear_request_id")


def _resolved_user_id(request) -> int | None:  # noqa: ANN001
    """The user's id if the request already resolved it. Never resolves it here: that would query the
    database, which may be exactly what just failed."""
    from django.utils.functional import empty

    user = request.__dict__.get("user")
    user = getattr(user, "_wrapped", user)
    if user is None or user is empty or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def _view_label(request) -> str:  # noqa: ANN001
    """A bounded label: the resolved view's name, an operational endpoint's path, or ``unmatched``."""
    if getattr(request, "operational_endpoint", None):
        return request.operational_endpoint
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unmatched"


def logging_config(*, level: str, json_lines: bool) -> dict:
    """Django's LOGGING: every handler redacts and stamps request ids; JSON lines unless asked for plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "assay.observability.SecretRedactionFilter"},
                    "request_id": {"()": "assay.observability.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "assay.observability.JsonFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if json_lines else "plain",
                                 "filters": ["request_id", "redact"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django.server repeats every request runserver serves; the access logger already has them.
            "django.server": {"level": "WARNING"},
        },
    }


def celery_task_ids_in_logs() -> None:
    """Tie log lines written inside a Celery task to that task's id (connected from assay.celery)."""
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, contextvars.Token] = {}

    @task_prerun.connect(weak=False)
    def _set(task_id=None, **_):  # noqa: ANN001, ANN202
        if task_id:
            tokens[task_id] = request_id_var.set(f"task-{task_id}")

    @task_postrun.connect(weak=False)
    def _reset(task_id=None, **_):  # noqa: ANN001, ANN202
        token = tokens.pop(task_id, None) if task_id else None
        if token is not None:
            request_id_var.reset(token)
