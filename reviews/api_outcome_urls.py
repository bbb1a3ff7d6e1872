"""Routes under /api/v1/ for what a case produces (see reviews.api_outcomes)."""

from __future__ import annotations

from django.urls import path

from reviews import api_outcomes

app_name = "outcome_api"
urlpatterns = [
    path("submissions/<uuid:pk>/triage/", api_outcomes.TriageResultView.as_view(), name="triage-result"),
    path("submissions/<uuid:pk>/reports/", api_outcomes.CaseReportsView.as_view(), name="case-reports"),
    path("submissions/<uuid:pk>/reports/<uuid:report_pk>/pdf/", api_outcomes.ReportPdfView.as_view(),
         name="report-pdf"),
    path("submissions/<uuid:pk>/retention/", api_outcomes.RetentionView.as_view(), name="retention"),
    path("submissions/<uuid:pk>/delete/", api_outcomes.CaseDeleteView.as_view(), name="case-delete"),
    path("submissions/<uuid:pk>/receipts/", api_outcomes.ReceiptsView.as_view(), name="receipts"),
    path("reports/verify/", api_outcomes.ReportVerifyView.as_view(), name="report-verify"),
    path("reports/<uuid:report_pk>/revoke/", api_outcomes.ReportRevokeView.as_view(), name="report-revoke"),
    path("aggregates/", api_outcomes.AggregatesView.as_view(), name="aggregates"),
]
