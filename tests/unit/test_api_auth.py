"""Token authentication and scopes on /api/v1/: fail closed, in the contract's error shape, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from intake.accounts.tokens import api_token_revoke
from intake.models import ApiToken, AuditEvent, Role
from tests.factories import enable_totp, make_draft, make_token, make_user

pytestmark = pytest.mark.django_db


LIST = "/api/v1/submissions/"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_no_credentials_is_a_401_with_a_bearer_challenge():
    response = APIClient().get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"error": {"code": "not_authenticated",
                                         "message": "Authentication credentials were not provided."}}


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Basic dXNlcjpwYXNz"])
def test_a_malformed_authorization_header_is_a_401(header):  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(LIST)
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed",
                                        "message": "Authorization header must be 'Bearer <token>'."}


def test_an_unknown_token_is_a_401(builder):  # noqa: ANN001
    raw = make_token(builder)
    forged = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
    response = bearer(forged).get(LIST)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token: unknown token."


def test_an_expired_token_is_a_401(builder):  # noqa: ANN001
    raw = make_token(builder)
    ApiToken.objects.filter(user=builder).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get(LIST)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token: token expired."


def test_a_revoked_token_is_a_401_at_once(builder):  # noqa: ANN001
    raw = make_token(builder)
    client = bearer(raw)
    assert client.get(LIST).status_code == 200
    api_token_revoke(token=ApiToken.objects.get(user=builder), actor=builder)
    response = client.get(LIST)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token: token revoked."


def test_a_disabled_account_cannot_use_its_token(builder):  # noqa: ANN001
    raw = make_token(builder)
    builder.is_active = False
    builder.save(update_fields=["is_active"])
    assert bearer(raw).get(LIST).json()["error"]["message"] == "Invalid token: account disabled."


def test_a_read_only_token_cannot_write(builder):  # noqa: ANN001
    client = bearer(make_token(builder, scopes=("submissions:read",)))
    assert client.get(LIST).status_code == 200
    response = client.post(LIST, {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "forbidden",
                                         "message": "This token lacks the 'submissions:write' scope."}}


def test_a_token_without_submission_scopes_cannot_read(builder):  # noqa: ANN001
    submission = make_draft(builder, complete=False)
    client = bearer(make_token(builder, scopes=("reports:read",)))
    for path in (LIST, f"{LIST}{submission.pk}/", f"{LIST}{submission.pk}/status/", "/api/v1/terms/current/"):
        assert client.get(path).status_code == 403, path


def test_token_reads_are_audited_once_per_window_and_every_write_is_audited(builder):  # noqa: ANN001
    raw = make_token(builder)
    client = bearer(raw)
    client.get(LIST)
    client.get(LIST)  # same window: stamped, not audited again
    token = ApiToken.objects.get(user=builder)
    event = AuditEvent.objects.filter(action="token.use").get()
    assert (event.actor_id, event.object_id, event.data) == (builder.pk, str(token.pk),
                                                             {"method": "GET", "path": LIST})
    assert token.last_used_at is not None
    for _ in range(2):
        client.post(LIST, {}, format="json")  # rejected as invalid, but the token was used to write
    writes = AuditEvent.objects.filter(action="token.use", data__method="POST")
    assert writes.count() == 2
    cache.delete(f"assay:token-read-audited:{token.pk}")  # the window passes
    client.get(LIST)
    assert AuditEvent.objects.filter(action="token.use", data__method="GET").count() == 2


def test_the_token_secret_is_stored_only_as_a_hash(builder):  # noqa: ANN001
    raw = make_token(builder)
    token = ApiToken.objects.get(user=builder)
    assert raw not in (token.token_hash, token.prefix, token.name)
    assert not AuditEvent.objects.filter(data__icontains=raw.split("_", 2)[2]).exists()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_roles_that_require_mfa_are_refused_by_the_api_until_totp_is_on(role):  # noqa: ANN001
    user = make_user(f"{role}@assay.example", role=role)
    client = bearer(make_token(user))
    refused = client.get(LIST)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "Your role requires two-factor authentication; enable it under /accounts/2fa/ first.")
    enable_totp(user)
    assert client.get(LIST).status_code == 200


def test_a_session_login_must_send_a_csrf_token_to_write(builder):  # noqa: ANN001
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(builder)
    assert client.get(LIST).status_code == 200
    response = client.post(LIST, {"title": "csrf-less"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("CSRF Failed")
    assert not builder.submissions.exists()
