"""Portal routes of human review: /review/ (reviewers), /coordinate/ (coordinators), and the builder's
consent and thread pages under /cases/<id>/."""

from django.urls import path

from reviews import portal_holds
from reviews import portal_views as views

urlpatterns = [
    # reviewers
    path("review/", views.reviewer_inbox, name="reviewer_inbox"),
    path("review/profile/", views.reviewer_profile, name="reviewer_profile"),
    path("review/profile/ties/", views.reviewer_tie_add, name="reviewer_tie_add"),
    path("review/profile/ties/<int:tie_pk>/remove/", views.reviewer_tie_remove, name="reviewer_tie_remove"),
    path("review/profile/declarations/", views.reviewer_declaration_add, name="reviewer_declaration_add"),
    path("review/assignments/<int:assignment_pk>/respond/", views.reviewer_assignment_respond,
         name="reviewer_assignment_respond"),
    path("review/cases/<uuid:pk>/", views.reviewer_case, name="reviewer_case"),
    path("review/cases/<uuid:pk>/artifacts/", views.reviewer_artifacts, name="reviewer_artifacts"),
    path("review/cases/<uuid:pk>/artifacts/<uuid:artifact_pk>/", views.reviewer_artifact_view,
         name="reviewer_artifact_view"),
    path("review/cases/<uuid:pk>/artifacts/<uuid:artifact_pk>/download/", views.reviewer_artifact_download,
         name="reviewer_artifact_download"),
    path("review/cases/<uuid:pk>/review/", views.reviewer_review, name="reviewer_review"),
    # coordinators
    path("coordinate/", views.coordinator_reviews, name="coordinator_reviews"),
    path("coordinate/review-requests/", views.coordinator_review_requests, name="coordinator_review_requests"),
    path("coordinate/review-requests/<int:request_pk>/decide/", views.coordinator_review_request_decide,
         name="coordinator_review_request_decide"),
    path("coordinate/calibration/", views.coordinator_calibration, name="coordinator_calibration"),
    path("coordinate/cases/<uuid:pk>/", views.coordinator_case, name="coordinator_case"),
    path("coordinate/cases/<uuid:pk>/take/", views.coordinator_take, name="coordinator_take"),
    path("coordinate/cases/<uuid:pk>/assign/", views.coordinator_assign, name="coordinator_assign"),
    path("coordinate/cases/<uuid:pk>/assign-plan/", views.coordinator_assign_plan, name="coordinator_assign_plan"),
    path("coordinate/cases/<uuid:pk>/overrides/", views.coordinator_override_request,
         name="coordinator_override_request"),
    path("coordinate/overrides/<int:override_pk>/approve/", views.coordinator_override_approve,
         name="coordinator_override_approve"),
    path("coordinate/cases/<uuid:pk>/grants/", views.coordinator_grant_issue, name="coordinator_grant_issue"),
    path("coordinate/grants/<int:grant_pk>/revoke/", views.coordinator_grant_revoke, name="coordinator_grant_revoke"),
    path("coordinate/cases/<uuid:pk>/decision/", views.coordinator_decide, name="coordinator_decide"),
    # IP disputes (the builder opens, a coordinator decides) and legal holds (two coordinators)
    path("cases/<uuid:pk>/disputes/new/", portal_holds.dispute_open_view, name="dispute_open"),
    path("coordinate/cases/<uuid:pk>/disputes/", portal_holds.dispute_from_link_view, name="dispute_from_link"),
    path("coordinate/disputes/<uuid:dispute_pk>/decide/", portal_holds.dispute_decide_view, name="dispute_decide"),
    path("coordinate/disputes/<uuid:dispute_pk>/evidence/", portal_holds.dispute_evidence_view,
         name="dispute_evidence"),
    path("coordinate/cases/<uuid:pk>/holds/", portal_holds.legal_hold_request_view, name="legal_hold_request"),
    path("coordinate/holds/<int:hold_pk>/approve/", portal_holds.legal_hold_approve_view, name="legal_hold_approve"),
    path("coordinate/holds/<int:hold_pk>/release/", portal_holds.legal_hold_release_view, name="legal_hold_release"),
    # builders (consent, declared conflicts) and the builder ↔ coordinator thread
    path("cases/<uuid:pk>/consent/", views.builder_consent, name="builder_consent"),
    path("cases/<uuid:pk>/conflicts/", views.builder_declaration_add, name="builder_declaration_add"),
    path("cases/<uuid:pk>/messages/", views.case_thread, name="case_thread"),
]
