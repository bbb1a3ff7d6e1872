from django.urls import path

from reviews import views

urlpatterns = [
    path(".well-known/assay-keys.json", views.published_keys, name="published_keys"),
    path("verify/", views.verify, name="verify"),
    path("transparency/head.json", views.transparency_head, name="transparency_head"),
    path("transparency/proof.json", views.transparency_proof, name="transparency_proof"),
    path("aggregates/", views.aggregates_index, name="aggregates"),
    path("aggregates/<int:pk>.<str:fmt>", views.aggregate_download, name="aggregate_download"),
    path("cases/<uuid:case_pk>/reports/<uuid:report_pk>.pdf", views.report_pdf, name="report_pdf"),
    path("cases/<uuid:case_pk>/reports/<uuid:report_pk>/", views.report_page, name="report_page"),
    path("cases/<uuid:case_pk>/reports/<uuid:report_pk>/revoke/", views.report_revoke_view, name="report_revoke"),
]
