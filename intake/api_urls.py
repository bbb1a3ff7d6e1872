"""Routes under /api/v1/."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from intake.api import CurrentTermsView, SubmissionViewSet

router = SimpleRouter(trailing_slash=True)
router.register("submissions", SubmissionViewSet, basename="api-submission")

app_name = "api"
urlpatterns = [
    path("terms/current/", CurrentTermsView.as_view(), name="terms-current"),
    *router.urls,
]
