"""Personal API token pages: created and shown once, listed without the secret, revocable, audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from intake.models import ApiToken, AuditEvent
from tests.factories import make_token

pytestmark = pytest.mark.django_db


PAGE = "/account/tokens/"


@pytest.fixture
def portal(builder):  # noqa: ANN001, ANN201
    client = Client()
    client.force_login(builder)
    return client


def create(portal, **overrides):  # noqa: ANN001, ANN003, ANN201
    data = {"name": "CI pipeline", "scopes": ["submissions:read"], "ttl_days": "30", **overrides}
    return portal.post(PAGE, data)


def test_it_shows_a_new_token_once_and_it_works_with_its_scopes(portal, builder):  # noqa: ANN001
    response = portal.get(create(portal, scopes=["submissions:read", "submissions:write"])["Location"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r'<code id="new-token">(asy_[^<]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=builder)
    assert (token.name, token.scopes) == ("CI pipeline", ["submissions:read", "submissions:write"])
    assert (token.expires_at - token.created_at).days == 30
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/submissions/").status_code == 200
    listing = portal.get(PAGE).content.decode()
    assert raw not in listing
    assert f"asy_{token.prefix}_…" in listing


def test_creation_redirects_so_a_refresh_neither_re_posts_nor_shows_the_secret_again(portal, builder):  # noqa: ANN001
    """Post/Redirect/Get: the POST answers 302 to the page; the secret is shown on that one GET only."""
    response = create(portal)
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert "asy_" not in response.content.decode()
    shown = portal.get(PAGE)
    raw = re.search(r'<code id="new-token">(asy_[^<]+)</code>', shown.content.decode()).group(1)
    refreshed = portal.get(PAGE)  # what a browser's refresh of the redirected page sends
    assert refreshed.status_code == 200
    assert raw not in refreshed.content.decode()
    assert 'id="new-token"' not in refreshed.content.decode()
    assert refreshed["Cache-Control"] == "no-store"  # like every page for a signed-in person, not only the secret's
    assert ApiToken.objects.filter(user=builder).count() == 1
    assert raw not in str(dict(portal.session))  # popped, not left in the session store


def test_token_creation_is_audited(portal, builder):  # noqa: ANN001
    create(portal)
    event = AuditEvent.objects.get(action="token.create")
    assert event.actor_id == builder.pk
    assert event.data["scopes"] == ["submissions:read"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"scopes": []}, "This field is required."),
    ({"scopes": ["admin"]}, "Select a valid choice. admin is not one of the available choices."),
    ({"ttl_days": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"ttl_days": "366"}, "Ensure this value is less than or equal to 365."),
    ({"name": ""}, "This field is required."),
])
def test_invalid_token_requests_are_refused_with_the_reason(portal, overrides, message):  # noqa: ANN001
    response = create(portal, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token_and_the_api_refuses_it(portal, builder):  # noqa: ANN001
    raw = make_token(builder)
    token = ApiToken.objects.get(user=builder)
    response = portal.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/submissions/").status_code == 401
    assert "revoked" in portal.get(PAGE).content.decode()


def test_a_builder_cannot_revoke_someone_elses_token(portal, other_builder):  # noqa: ANN001
    make_token(other_builder)
    theirs = ApiToken.objects.get(user=other_builder)
    response = portal.post(f"/account/tokens/{theirs.pk}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_token_page_requires_login():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_csrf_less_post_to_the_token_form_is_refused(builder):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    response = client.post(PAGE, {"name": "x", "scopes": ["submissions:read"], "ttl_days": "30"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_a_csrf_less_revoke_is_refused(builder):  # noqa: ANN001
    make_token(builder)
    token = ApiToken.objects.get(user=builder)
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
