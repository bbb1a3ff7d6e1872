"""Human-review routes under /api/v1/ (mounted next to intake.api_urls)."""

from __future__ import annotations

from django.urls import path

from reviews import api, api_outcomes

app_name = "review_api"
urlpatterns = [
    path("review/assignments/", api.ReviewerAssignmentsView.as_view(), name="assignments"),
    path("review/assignments/<int:pk>/respond/", api.ReviewerAssignmentRespondView.as_view(),
         name="assignment-respond"),
    path("review/grants/", api.ReviewerGrantsView.as_view(), name="grants"),
    path("review/cases/<uuid:pk>/", api.ReviewerCaseView.as_view(), name="case"),
    path("review/cases/<uuid:pk>/reviews/", api.CaseReviewsView.as_view(), name="case-reviews"),
    path("coordinate/cases/<uuid:pk>/conflicts/", api.CaseConflictsView.as_view(), name="case-conflicts"),
    path("coordinate/cases/<uuid:pk>/assignments/", api.CaseAssignmentsView.as_view(), name="case-assignments"),
    path("coordinate/cases/<uuid:pk>/grants/", api.CaseGrantsView.as_view(), name="case-grants"),
    path("coordinate/grants/<int:pk>/revoke/", api.GrantRevokeView.as_view(), name="grant-revoke"),
    path("coordinate/cases/<uuid:pk>/decision/", api.CaseDecisionView.as_view(), name="case-decision"),
    path("consent/<uuid:pk>/", api.ConsentView.as_view(), name="consent"),
    path("submissions/<uuid:pk>/triage/", api_outcomes.TriageResultView.as_view(), name="triage-result"),
    path("submissions/<uuid:pk>/reports/", api_outcomes.CaseReportsView.as_view(), name="case-reports"),
    path("submissions/<uuid:pk>/reports/<uuid:report_pk>/pdf/", api_outcomes.ReportPdfView.as_view(),
         name="report-pdf"),
    path("submissions/<uuid:pk>/retention/", api_outcomes.RetentionView.as_view(), name="retention"),
    path("submissions/<uuid:pk>/delete/", api_outcomes.CaseDeleteView.as_view(), name="case-delete"),
    path("submissions/<uuid:pk>/receipts/", api_outcomes.ReceiptsView.as_view(), name="receipts"),
    path("reports/verify/", api_outcomes.ReportVerifyView.as_view(), name="report-verify"),
    path("aggregates/", api_outcomes.AggregatesView.as_view(), name="aggregates"),
]
