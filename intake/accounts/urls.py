from __future__ import annotations

from django.urls import path

from intake.accounts import views

urlpatterns = [
    path("security/", views.security, name="account-security"),
    path("tokens/", views.tokens, name="account-tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="account-token-revoke"),
    path("domain/", views.domain_verify, name="account-domain"),
    path("domain/confirm/<str:token>/", views.domain_confirm, name="account-domain-confirm"),
]
