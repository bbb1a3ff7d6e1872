from django.urls import path

from triage import views

urlpatterns = [
    path("cases/<uuid:pk>/triage.sarif", views.case_triage_sarif, name="case_triage_sarif"),
    path("cases/<uuid:pk>/edit/scope/detect/", views.case_scope_detect, name="case_scope_detect"),
]
