from __future__ import annotations

from django.urls import path

from intake import views_notifications
from intake.accounts import views

urlpatterns = [
    path("security/", views.security, name="account-security"),
    path("tokens/", views.tokens, name="account-tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="account-token-revoke"),
    path("domain/", views.domain_verify, name="account-domain"),
    path("domain/confirm/<str:token>/", views.domain_confirm, name="account-domain-confirm"),
    path("notifications/", views_notifications.notifications_page, name="account-notifications"),
    path("notifications/<int:pk>/read/", views_notifications.notification_read, name="notification_read"),
    path("notifications/read-all/", views_notifications.notifications_read_all, name="notifications_read_all"),
]
