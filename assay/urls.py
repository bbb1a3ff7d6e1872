from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView

from assay import metrics
from intake import health
from intake import views as intake_views
from intake.accounts import views as account_views
from intake.api import ApiDocsView

# Django's admin login checks a password and nothing else, so it bypassed the TOTP step. It now sends everyone to
# allauth's login (password, then the code); the admin itself stays staff-only, and MfaRequiredMiddleware holds
# staff to a session that passed its second factor, as it does reviewers and coordinators.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", intake_views.home, name="home"),
    path("dashboard/", intake_views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),  # answered by intake.health's middleware first
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("intake.urls")),
    path("", include("reviews.urls")),
    path("", include("triage.urls")),
    path("", include("reviews.portal_urls")),
    # allauth's TOTP set-up, landing on the dashboard (not the recovery codes) after a first staff sign-in.
    path("accounts/2fa/totp/activate/", account_views.totp_activate, name="mfa_activate_totp"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("intake.accounts.urls")),
    path("api/v1/", include("intake.api_urls")),
    path("api/v1/", include("triage.api_urls")),
    path("api/v1/", include("reviews.api_urls")),
    path("api/v1/", include("reviews.api_outcome_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# allauth renders its own rate-limit refusals through this; ours adds Retry-After.
handler429 = "intake.middleware.allauth_ratelimited"
