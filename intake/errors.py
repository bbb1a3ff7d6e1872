"""Domain errors that services raise; the API and portal map them to responses."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details=None, retry_after: int | None = None):  # noqa: ANN001
        super().__init__(message)
        self.details = details
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    code = "invalid"
    http_status = 400


class NotEditable(DomainError):
    code = "not_editable"
    http_status = 409


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    http_status = 429


class TooLarge(DomainError):
    code = "too_large"
    http_status = 413


class RedactionRequired(DomainError):
    code = "redaction_required"
    http_status = 400


class Unavailable(DomainError):
    """The platform, not the request, failed (no analysis sandbox, a crashed analysis); retry later."""

    code = "unavailable"
    http_status = 503
