"""Assay's URLs plus the bare baseline view bench_portal compares the case page and the API list with."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):  # noqa: ANN001, ANN201
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("assay.urls")),
]
handler429 = "intake.middleware.allauth_ratelimited"
