from django.contrib import admin
from django.urls import include, path

from intake import views as intake_views

urlpatterns = [
    path("", intake_views.home, name="home"),
    path("dashboard/", intake_views.dashboard, name="dashboard"),
    path("healthz", intake_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
