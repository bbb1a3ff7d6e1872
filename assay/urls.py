from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView

from intake import health
from intake import views as intake_views
from intake.api import ApiDocsView

urlpatterns = [
    path("", intake_views.home, name="home"),
    path("dashboard/", intake_views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),  # answered by intake.health's middleware first
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("", include("intake.urls")),
    path("", include("reviews.urls")),
    path("", include("triage.urls")),
    path("", include("reviews.portal_urls")),
    path("accounts/", include("allauth.urls")),
    path("account/", include("intake.accounts.urls")),
    path("api/v1/", include("intake.api_urls")),
    path("api/v1/", include("reviews.api_urls")),
    path("api/v1/", include("reviews.api_outcome_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# allauth renders its own rate-limit refusals through this; ours adds Retry-After.
handler429 = "intake.middleware.allauth_ratelimited"
