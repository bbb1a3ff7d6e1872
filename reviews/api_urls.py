"""Human-review routes under /api/v1/ (mounted next to intake.api_urls)."""

from __future__ import annotations

from django.urls import path

from reviews import api, api_holds

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
    path("submissions/<uuid:pk>/disputes/", api_holds.CaseDisputesView.as_view(), name="case-disputes"),
    path("coordinate/disputes/<uuid:dispute_pk>/decide/", api_holds.DisputeDecideView.as_view(),
         name="dispute-decide"),
    path("coordinate/cases/<uuid:pk>/holds/", api_holds.CaseLegalHoldsView.as_view(), name="case-holds"),
    path("coordinate/holds/<int:hold_pk>/approve/", api_holds.LegalHoldApproveView.as_view(), name="hold-approve"),
    path("coordinate/holds/<int:hold_pk>/release/", api_holds.LegalHoldReleaseView.as_view(), name="hold-release"),
    path("coordinate/review-requests/", api.PendingReviewRequestsView.as_view(), name="review-requests"),
    path("coordinate/review-requests/<int:pk>/decision/", api.ReviewRequestDecisionView.as_view(),
         name="review-request-decision"),
    path("consent/<uuid:pk>/", api.ConsentView.as_view(), name="consent"),
]
