"""Triage routes under /api/v1/ (mounted next to intake.api_urls)."""

from __future__ import annotations

from django.urls import path

from triage import api

app_name = "triage_api"
urlpatterns = [
    path("submissions/<uuid:pk>/components/", api.SubmissionComponentsView.as_view(), name="submission-components"),
]
