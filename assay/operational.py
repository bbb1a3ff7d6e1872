"""The operational endpoints, answered ahead of host checks, HTTPS redirects, sessions and MFA (see intake.health).

Here at the top because /metrics reads the state of every app (assay.metrics); the probes live in intake.health.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from assay.metrics import metrics
from intake.health import healthz, readyz

OPERATIONAL_ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz, "/readyz": readyz, "/metrics": metrics,
}


class OperationalEndpointsMiddleware:
    """Answers the probes and the scraper before host checks, HTTPS redirects, sessions and MFA."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request):  # noqa: ANN001, ANN204
        endpoint = OPERATIONAL_ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        request.operational_endpoint = request.path_info
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"error": {"code": "method_not_allowed", "message": "Method not allowed."}},
                                    status=405)
            response["Allow"] = "GET, HEAD"
            return response
        response = endpoint(request)
        response["Cache-Control"] = "no-store"
        return response
