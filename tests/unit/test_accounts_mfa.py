"""MFA: required for reviewers and coordinators, offered to builders; allauth's pages in our layout."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from intake.accounts.adapter import AssayMFAAdapter
from intake.accounts.assurance import assurance_level
from intake.models import AuditEvent, Role
from tests.factories import PASSWORD, enable_totp, make_user

pytestmark = pytest.mark.django_db


def totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def logged_in(user, *, totp_secret: str | None = None) -> Client:  # noqa: ANN001
    """A real login (plus the TOTP step if on) and a fresh password re-authentication,
    which allauth's MFA management pages demand."""
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    if totp_secret:
        assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(totp_secret)}).status_code == 302
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
@pytest.mark.parametrize("path", ["/dashboard/", "/account/tokens/", "/admin/"])
def test_roles_that_require_mfa_are_sent_to_totp_setup_until_it_is_on(role, path):  # noqa: ANN001
    user = make_user(f"{role}@assay.example", role=role)
    client = logged_in(user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    enable_totp(user)
    after = client.get(path)
    assert after.status_code != 302 or after["Location"] != "/accounts/2fa/totp/activate/"


def test_builders_are_offered_mfa_but_not_forced(builder):  # noqa: ANN001
    client = logged_in(builder)
    assert client.get("/dashboard/").status_code == 200
    page = client.get("/account/security/").content.decode()
    assert 'href="/accounts/2fa/totp/activate/"' in page


def test_a_reviewer_cannot_switch_totp_off_but_a_builder_can(builder):  # noqa: ANN001
    reviewer = make_user("rev@assay.example", role=Role.REVIEWER)
    enable_totp(reviewer)
    enable_totp(builder)
    adapter = AssayMFAAdapter()
    assert adapter.can_delete_authenticator(Authenticator.objects.get(user=reviewer, type="totp")) is False
    assert adapter.can_delete_authenticator(Authenticator.objects.get(user=builder, type="totp")) is True


def test_assurance_rises_with_verified_email_then_mfa():
    unverified = make_user("new@acme-agents.example", verified=False)
    assert assurance_level(unverified) == 0
    verified = make_user("v@acme-agents.example")
    assert assurance_level(verified) == 1
    enable_totp(verified)
    assert assurance_level(verified) == 2


def test_recovery_codes_page_is_available_once_totp_is_on(builder):  # noqa: ANN001
    client = logged_in(builder, totp_secret=enable_totp(builder))
    response = client.get("/accounts/2fa/recovery-codes/generate/")
    assert response.status_code == 200
    assert 'class="brand"' in response.content.decode()


def test_a_login_is_audited(builder):  # noqa: ANN001
    response = Client().post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="account.login")
    assert event.actor_id == builder.pk


def test_a_login_with_totp_stops_at_the_code_step_and_audits_only_after_it(builder):  # noqa: ANN001
    secret = enable_totp(builder)
    client = Client()
    response = client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not AuditEvent.objects.filter(action="account.login").exists()
    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert done.status_code == 302
    assert AuditEvent.objects.filter(action="account.login", actor_id=builder.pk).count() == 1


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_allauth_pages_use_our_layout_without_inline_scripts_or_styles(path):  # noqa: ANN001
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="brand"' in html and "assay/assay.css" in html
    assert "<style" not in html and " style=" not in html
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
        assert "src=" not in attrs or body.strip() == ""


def test_the_totp_setup_page_uses_our_layout(builder):  # noqa: ANN001
    html = logged_in(builder).get("/accounts/2fa/totp/activate/").content.decode()
    assert 'class="brand"' in html and "<style" not in html


def test_a_failed_login_is_audited_without_the_password(builder):  # noqa: ANN001
    Client(REMOTE_ADDR="10.1.2.3").post("/accounts/login/", {"login": builder.email, "password": "not it at all"})
    event = AuditEvent.objects.get(action="account.login_failed")
    assert (event.actor_id, event.object_id) == (None, str(builder.pk))
    assert event.data == {"ip": "10.1.2.3", "known_account": True}
    assert "not it at all" not in str(AuditEvent.objects.values_list("data", flat=True))


def test_the_security_overview_links_our_account_pages(builder):  # noqa: ANN001
    html = logged_in(builder).get("/accounts/2fa/").content.decode()
    assert 'class="brand"' in html
    for href in ("/account/security/", "/account/domain/", "/account/tokens/", "/accounts/2fa/totp/activate/"):
        assert f'href="{href}"' in html, href


def test_totp_seeds_are_sealed_at_rest_and_still_verify(builder):  # noqa: ANN001
    secret = enable_totp(builder)
    stored = Authenticator.objects.get(user=builder, type="totp").data["secret"]
    assert stored.startswith("fernet:") and secret not in stored
    client = Client()
    client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)
    assert client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert client.session["_auth_user_id"] == str(builder.pk)
