"""No sign-in, sign-out or second-factor step sends the browser off-site, whatever ``next`` says.

Bug class: an open redirect on the login page turns a genuine Assay link into a phishing hop
(``/accounts/login/?next=https://evil.example`` → a look-alike "session expired, sign in again" page). These fail
if any of the flows below honours ``next`` without allauth's allowed-host check (e.g. an adapter's
``get_login_redirect_url`` returning it as is, or a view redirecting to ``request.GET["next"]``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils.http import url_has_allowed_host_and_scheme

from tests.factories import PASSWORD, login_with_mfa
from tests.security.conftest import totp_code

pytestmark = pytest.mark.django_db

EVIL = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example", "\\\\evil.example",
        "javascript:alert(1)"]


def assert_on_site(response) -> None:  # noqa: ANN001
    assert response.status_code in (301, 302), response.status_code
    location = response["Location"]
    assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}, require_https=False), location
    assert "evil" not in urlsplit(location).netloc and not location.lower().lstrip().startswith("javascript")


@pytest.mark.parametrize("target", EVIL)
def test_builder_login_stays_on_site(target, builder):  # noqa: ANN001
    response = Client().post(f"/accounts/login/?next={target}", {"login": builder.email, "password": PASSWORD})
    assert_on_site(response)
    response = Client().post("/accounts/login/", {"login": builder.email, "password": PASSWORD, "next": target})
    assert_on_site(response)


@pytest.mark.parametrize("target", EVIL)
def test_staff_login_through_its_code_step_stays_on_site(target, staff_coordinator):  # noqa: ANN001
    coordinator, secret = staff_coordinator
    client = Client()
    first = client.post("/accounts/login/", {"login": coordinator.email, "password": PASSWORD, "next": target})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert_on_site(client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}))
    assert client.get("/coordinate/").status_code == 200  # signed in: the redirect, not a failure, was checked


@pytest.mark.parametrize("target", EVIL)
def test_second_factor_reauthentication_stays_on_site(target, staff_coordinator):  # noqa: ANN001
    coordinator, secret = staff_coordinator
    client = Client()
    client.force_login(coordinator)  # password only: staff pages send it to the code step with a next
    assert_on_site(client.post(f"/accounts/2fa/reauthenticate/?next={target}", {"code": totp_code(secret)}))
    assert client.get("/coordinate/").status_code == 200


@pytest.mark.parametrize("target", EVIL)
def test_password_reauthentication_stays_on_site(target, builder):  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    assert_on_site(client.post(f"/accounts/reauthenticate/?next={target}", {"password": PASSWORD}))


@pytest.mark.parametrize("target", EVIL)
def test_logout_stays_on_site(target, builder, staff_coordinator):  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    assert_on_site(client.post("/accounts/logout/", {"next": target}))
    assert "_auth_user_id" not in client.session
    staff = login_with_mfa(Client(), staff_coordinator[0])
    assert_on_site(staff.post(f"/accounts/logout/?next={target}"))


@pytest.mark.parametrize("target", EVIL)
def test_the_admin_login_hands_over_to_a_login_that_stays_on_site(target, staff_coordinator):  # noqa: ANN001
    """/admin/login/ passes its ``next`` on to allauth's login; following the whole flow still ends on-site."""
    coordinator, secret = staff_coordinator
    client = Client()
    handover = client.get(f"/admin/login/?next={target}")
    assert_on_site(handover)
    login_url = handover["Location"]
    assert urlsplit(login_url).path == "/accounts/login/"
    assert client.post(login_url, {"login": coordinator.email, "password": PASSWORD})["Location"] == \
        "/accounts/2fa/authenticate/"
    assert_on_site(client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}))
