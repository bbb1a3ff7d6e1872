"""Staff sign-in: the password once, a TOTP code once, then the dashboard.

The bug pinned here: a reviewer's or coordinator's first sign-in typed the password, was sent to set up TOTP,
was asked for the password again (allauth counted only an explicit re-authentication as recent), and after the
code landed on the recovery codes page (behind yet another prompt) instead of where they were going. The fix
lets a sign-in that proved every factor moments ago stand in for the re-authentication, and lands the set-up on
the dashboard with a one-time notice linking to the codes. The per-session MFA mark is untouched: a session that
never passed its code, or signed in long ago, is still stopped.
"""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core import mail
from django.test import Client

from intake.models import Role
from tests.factories import PASSWORD, enable_totp, make_user
from tests.security.conftest import totp_code

# Committed transactions, as in production: allauth adds its messages and signals on commit.
pytestmark = pytest.mark.django_db(transaction=True)
REAUTH = ("/accounts/reauthenticate/", "/accounts/2fa/reauthenticate/")


def _walk(client: Client, response) -> list[str]:  # noqa: ANN001
    """Follow redirects by hand, returning every path visited (the last one is where the person lands)."""
    visited = []
    while response.status_code == 302:
        location = response["Location"]
        visited.append(location)
        response = client.get(location)
    return visited


def _age_session(client: Client, seconds: int) -> None:
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {**record, "at": record["at"] - seconds} for record in session[AUTHENTICATION_METHODS_SESSION_KEY]]
    session.save()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_first_staff_sign_in_asks_the_password_once_then_the_code_and_lands_on_the_dashboard(role):  # noqa: ANN001
    person = make_user(f"new-{role}@assay.example", role=role)
    client = Client()
    visited = _walk(client, client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}))
    assert visited == ["/dashboard/", "/accounts/2fa/totp/activate/"]  # no second password prompt
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200 and 'name="code"' in setup.content.decode()
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(client.session[SECRET_SESSION_KEY])})
    assert done.status_code == 302 and done["Location"] == "/dashboard/"
    landing = client.get("/dashboard/")
    page = landing.content.decode()
    assert landing.status_code == 200 and "<h1>Cases</h1>" in page
    notices = re.findall(r'<li class="success">(.*?)</li>', page, re.S)
    assert len(notices) == 1 and '<a href="/accounts/2fa/recovery-codes/">View and save them now</a>' in notices[0]
    assert "recovery codes" in notices[0]
    # offered once: the next page carries no notice, and the codes open from the link without another prompt
    assert '<ul class="messages">' not in client.get("/dashboard/").content.decode()
    codes = client.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200
    assert Authenticator.objects.filter(user=person, type=Authenticator.Type.RECOVERY_CODES).exists()
    staff_page = "/review/" if role == Role.REVIEWER else "/coordinate/"
    assert client.get(staff_page).status_code == 200


def test_a_later_staff_sign_in_asks_the_password_then_one_code_and_lands_on_the_dashboard():
    coordinator = make_user("coord@assay.example", role=Role.COORDINATOR)
    secret = enable_totp(coordinator)
    client = Client()
    first = client.post("/accounts/login/", {"login": coordinator.email, "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/coordinate/").status_code == 302  # not signed in before the code
    second = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert second.status_code == 302 and second["Location"] == "/dashboard/"
    assert _walk(client, second) == ["/dashboard/"]
    assert client.get("/coordinate/").status_code == 200


def test_a_sign_in_long_ago_is_asked_to_re_authenticate_for_the_codes():
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    reviewer = make_user("rev@assay.example", role=Role.REVIEWER)
    secret = enable_totp(reviewer)
    RecoveryCodes.activate(reviewer)
    client = Client()
    client.post("/accounts/login/", {"login": reviewer.email, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 200  # fresh: both factors a moment ago
    _age_session(client, 600)
    response = client.get("/accounts/2fa/recovery-codes/")
    assert response.status_code == 302 and response["Location"].startswith(REAUTH)
    assert client.get("/review/").status_code == 200  # the session's MFA mark itself does not expire here


def test_a_password_only_staff_session_gets_neither_the_set_up_shortcut_nor_the_codes():
    """client.login checks the password and nothing else (as Django's admin login once did)."""
    coordinator = make_user("coord@assay.example", role=Role.COORDINATOR)
    enable_totp(coordinator)
    client = Client()
    assert client.login(email=coordinator.email, password=PASSWORD)
    for path in ("/accounts/2fa/recovery-codes/", "/accounts/2fa/totp/activate/", "/dashboard/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/reauthenticate/"), path


def test_a_builder_turning_totp_on_right_after_signing_in_is_not_asked_the_password_again(builder):  # noqa: ANN001
    client = Client()
    client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    _age_session(client, 600)
    stale = client.get("/accounts/2fa/totp/activate/")
    assert stale.status_code == 302 and stale["Location"].startswith("/accounts/reauthenticate/")


def test_the_set_up_lands_on_a_safe_next_page_only(builder):  # noqa: ANN001
    for target, landing in (("/cases/new/", "/cases/new/"), ("https://evil.example/", "/dashboard/")):
        client = Client()
        client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
        client.get("/accounts/2fa/totp/activate/")
        done = client.post(f"/accounts/2fa/totp/activate/?next={target}",
                           {"code": totp_code(client.session[SECRET_SESSION_KEY])})
        assert done["Location"] == landing
        Authenticator.objects.filter(user=builder).delete()


def test_account_mail_is_signed_with_the_site_name_and_links_to_the_public_url(settings):  # noqa: ANN001
    settings.ASSAY_PUBLIC_URL = "https://assay.example.org"
    settings.ASSAY_SITE_NAME = "Assay Example Portal"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = Client().post("/accounts/signup/", {"email": "new@acme-agents.example",
                                                   "password1": "a long passphrase 77",
                                                   "password2": "a long passphrase 77"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.subject.startswith("[Assay Example Portal] ")
    assert "Assay Example Portal" in message.body and "assay.example.org" in message.body
    assert "testserver" not in message.body and "127.0.0.1" not in message.body
    links = re.findall(r"https?://\S+", message.body)
    assert links and all(link.startswith("https://assay.example.org/") for link in links)
