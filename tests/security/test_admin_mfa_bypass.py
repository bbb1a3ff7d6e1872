"""MFA bypass: a staff account with TOTP enrolled reaching staff pages with only its password.

The bug class: the portal checked that TOTP was *enrolled* on the account, not that *this session* passed
it. Any sign-in path that checks a password and nothing else (Django's own ``/admin/login/``, a session from
before TOTP was switched on) then served ``/coordinate/`` and ``/queue/``. The fix: a session is marked only
after its second factor (allauth records ``{"method": "mfa"}`` in the session), and the middleware, every
staff view and the API's MFA permission check that mark; the admin login hands off to allauth's login.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from intake.models import AuditEvent, Role
from reviews import portal_views
from tests.factories import PASSWORD, enable_totp, login_with_mfa, make_draft, make_user
from tests.security.conftest import totp_code

pytestmark = pytest.mark.django_db

REAUTHENTICATE = "/accounts/2fa/reauthenticate/"


def password_only(user) -> Client:  # noqa: ANN001
    """A session that checked the password and nothing else."""
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_admin_login_with_only_a_password_opens_no_staff_page(staff_coordinator, builder, terms):  # noqa: ANN001
    coordinator, _secret = staff_coordinator
    case = make_draft(builder)
    client = Client()
    response = client.post("/admin/login/", {"username": coordinator.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in client.session
    for path in ("/coordinate/", "/queue/", "/admin/"):
        page = client.get(path)
        assert page.status_code == 302 and page["Location"].startswith(("/accounts/login/", "/admin/login/")), path
        assert case.title not in page.content.decode()
    assert not AuditEvent.objects.filter(action="account.login").exists()


def test_the_admin_login_page_is_allauths(db):  # noqa: ANN001
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


@pytest.mark.parametrize("path", ["/coordinate/", "/queue/", "/dashboard/", "/admin/", "/account/tokens/",
                                  "/accounts/2fa/recovery-codes/", "/accounts/2fa/"])
def test_a_password_only_staff_session_is_sent_to_the_code_step(path, staff_coordinator):  # noqa: ANN001
    coordinator, _secret = staff_coordinator
    response = password_only(coordinator).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{REAUTHENTICATE}?next=")


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_a_password_only_session_sees_no_case_data(role, builder, terms):  # noqa: ANN001
    user = make_user(f"{role}@assay.example", role=role)
    enable_totp(user)
    case = make_draft(builder)
    client = password_only(user)
    for path in (f"/cases/{case.pk}/", f"/coordinate/cases/{case.pk}/", "/queue/", "/review/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert case.title not in response.content.decode()


def test_htmx_requests_of_an_unverified_session_navigate_to_the_code_step(staff_coordinator):  # noqa: ANN001
    coordinator, _secret = staff_coordinator
    response = password_only(coordinator).get("/queue/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(REAUTHENTICATE)


def test_the_api_refuses_a_password_only_session(staff_coordinator, builder, terms):  # noqa: ANN001
    coordinator, _secret = staff_coordinator
    make_draft(builder)
    client = APIClient()
    assert client.login(email=coordinator.email, password=PASSWORD)
    response = client.get("/api/v1/submissions/")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "This session has not passed two-factor authentication; enter your code at /accounts/2fa/reauthenticate/ "
        "first.")


def test_the_api_serves_a_session_that_passed_its_code(staff_coordinator):  # noqa: ANN001
    coordinator, _secret = staff_coordinator
    client = login_with_mfa(APIClient(), coordinator)
    assert client.get("/api/v1/submissions/").status_code == 200


@pytest.mark.parametrize("view", [portal_views.coordinator_reviews, portal_views.coordinator_calibration])
def test_staff_views_check_the_mark_themselves(view, staff_coordinator):  # noqa: ANN001
    """Defence in depth: a staff view reached without the middleware still refuses an unmarked session."""
    from django.contrib.sessions.backends.db import SessionStore

    coordinator, _secret = staff_coordinator
    request = RequestFactory().get("/coordinate/")
    request.user, request.session = coordinator, SessionStore()
    with pytest.raises(PermissionDenied, match="This session has not passed two-factor authentication."):
        view(request)


def test_entering_the_code_marks_the_session_and_opens_staff_pages(staff_coordinator):  # noqa: ANN001
    coordinator, secret = staff_coordinator
    client = password_only(coordinator)
    assert client.get(REAUTHENTICATE).status_code == 200
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)
    assert client.post(REAUTHENTICATE, {"code": wrong}).status_code == 200
    assert client.get("/coordinate/").status_code == 302
    done = client.post(f"{REAUTHENTICATE}?next=/coordinate/", {"code": totp_code(secret)})
    assert done.status_code == 302 and done["Location"] == "/coordinate/"
    assert client.get("/coordinate/").status_code == 200
    assert client.get("/queue/").status_code == 200


def test_the_allauth_login_with_its_code_step_reaches_staff_pages_and_the_admin(staff_coordinator):  # noqa: ANN001
    coordinator, secret = staff_coordinator
    client = Client()
    response = client.post("/accounts/login/", {"login": coordinator.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/coordinate/").status_code == 302  # not signed in before the code
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert client.get("/coordinate/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_admin_staff_without_totp_must_set_it_up_first(db):  # noqa: ANN001
    admin = make_user("root@assay.example")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    response = password_only(admin).get("/admin/")
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_a_non_staff_session_cannot_use_the_admin(builder):  # noqa: ANN001
    response = password_only(builder).get("/admin/login/")
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_enrolling_totp_counts_as_this_sessions_second_factor():
    """First sign-in of a reviewer: password, then TOTP set-up (which checks a code). No second code asked.

    Committed transactions, as in production: allauth sends its ``authenticator_added`` signal on commit,
    inside the activation request."""
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    reviewer = make_user("new-reviewer@assay.example", role=Role.REVIEWER)
    client = Client()
    assert client.post("/accounts/login/", {"login": reviewer.email, "password": PASSWORD}).status_code == 302
    assert client.get("/review/")["Location"] == "/accounts/2fa/totp/activate/"
    # no longer asked (a sign-in this fresh counts as recent, tests/unit/test_staff_sign_in.py), still accepted
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get("/review/").status_code == 200
