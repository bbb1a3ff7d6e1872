"""Every portal form refuses a POST without the CSRF token (and changes nothing)."""

from __future__ import annotations

import pytest
from django.test import Client

from intake.models import ApiToken, OrganisationDomainVerification, Submission, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def csrf_checked(user=None) -> Client:  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def test_login_without_csrf_is_refused(builder):  # noqa: ANN001
    client = csrf_checked()
    response = client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_signup_without_csrf_is_refused():
    response = csrf_checked().post("/accounts/signup/", {"email": "new@acme-agents.example",
                                                         "password1": "a long passphrase 77",
                                                         "password2": "a long passphrase 77"})
    assert response.status_code == 403
    assert not User.objects.filter(email="new@acme-agents.example").exists()


def test_logout_without_csrf_is_refused(builder):  # noqa: ANN001
    client = csrf_checked(builder)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.session.get("_auth_user_id") == str(builder.pk)


@pytest.mark.parametrize(("path", "data", "model"), [
    ("/account/tokens/", {"name": "x", "scopes": ["submissions:read"], "ttl_days": "30"}, ApiToken),
    ("/account/domain/", {"address": "jane@acme-agents.example"}, OrganisationDomainVerification),
    ("/cases/new/", {"title": "csrf-less case", "claim_property": "other"}, Submission),
])
def test_portal_forms_without_csrf_are_refused(builder, path, data, model):  # noqa: ANN001
    response = csrf_checked(builder).post(path, data)
    assert response.status_code == 403
    assert not model.objects.exists()


def test_the_same_form_with_its_csrf_token_is_accepted(builder):  # noqa: ANN001
    """The refusals above are about the missing token, not a broken form."""
    client = csrf_checked(builder)
    client.get("/account/tokens/")
    token = client.cookies["csrftoken"].value
    response = client.post("/account/tokens/", {"name": "x", "scopes": ["submissions:read"], "ttl_days": "30",
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert ApiToken.objects.count() == 1
