from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from intake.middleware import ratelimited_response
from intake.selectors import submissions_visible_to


def ratelimited(request: HttpRequest, exception=None) -> HttpResponse:  # noqa: ANN001
    return ratelimited_response(request)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "intake/home.html")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    cases = submissions_visible_to(request.user).select_related("owner")[:200]
    return render(request, "intake/dashboard.html", {"cases": cases})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
