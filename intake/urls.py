"""Portal routes (server-rendered pages and their htmx partials)."""

from django.urls import path

from intake import views, views_retention

urlpatterns = [
    path("schemas/manifest.json", views.manifest_schema_view, name="manifest_schema"),
    path("queue/", views.coordinator_queue, name="coordinator_queue"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<uuid:pk>/", views.case_detail, name="case_detail"),
    path("cases/<uuid:pk>/withdraw/", views.case_withdraw, name="case_withdraw"),
    path("cases/<uuid:pk>/acknowledge/", views_retention.case_acknowledge_report, name="case_acknowledge_report"),
    path("cases/<uuid:pk>/review-request/", views.case_review_request, name="case_review_request"),
    path("cases/<uuid:pk>/new-version/", views.case_new_version, name="case_new_version"),
    path("cases/<uuid:pk>/delete/", views_retention.case_delete, name="case_delete"),
    path("cases/<uuid:pk>/receipts/<uuid:receipt_pk>.json", views_retention.receipt_download,
         name="receipt_download"),
    path("account/export.zip", views_retention.account_export, name="account_export"),
    path("cases/<uuid:pk>/edit/claim/", views.case_claim, name="case_claim"),
    path("cases/<uuid:pk>/edit/manifest/", views.case_manifest, name="case_manifest"),
    path("cases/<uuid:pk>/edit/manifest/check/", views.case_manifest_check, name="case_manifest_check"),
    path("cases/<uuid:pk>/edit/terms/", views.case_terms, name="case_terms"),
    path("cases/<uuid:pk>/edit/artifacts/", views.case_artifacts, name="case_artifacts"),
    path("cases/<uuid:pk>/edit/artifacts/<uuid:artifact_pk>/remove/", views.case_artifact_remove,
         name="case_artifact_remove"),
    path("cases/<uuid:pk>/edit/scope/", views.case_scope, name="case_scope"),
    path("cases/<uuid:pk>/edit/review/", views.case_review, name="case_review"),
    path("cases/<uuid:pk>/edit/review/confirm-placeholder/", views.case_confirm_placeholder,
         name="case_confirm_placeholder"),
    path("cases/<uuid:pk>/submit/", views.case_submit, name="case_submit"),
]
