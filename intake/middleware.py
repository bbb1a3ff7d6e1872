from __future__ import annotations

from django.http import JsonResponse
from django.template.response import TemplateResponse
from django_ratelimit.exceptions import Ratelimited

from intake.ratelimits import retry_after_seconds


def ratelimited_response(request):  # noqa: ANN001, ANN201
    seconds = retry_after_seconds(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "rate_limited", "message": "Too many requests; try again later."}},
                                status=429)
    else:
        response = TemplateResponse(request, "429.html", {"retry_after": seconds}, status=429)
        response.render()
    response["Retry-After"] = str(seconds)
    return response


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
