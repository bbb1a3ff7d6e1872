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


# --- every state-changing route, enumerated from the URL resolver ------------------------------------------------
# A route added later is covered without editing this file. Fails if any view is made csrf_exempt (or checks the
# token only on some paths), if CsrfViewMiddleware is removed, or if the API stops enforcing CSRF for session
# callers (DRF's SessionAuthentication does; a custom authentication class that forgot it would not).

# Routes a POST cannot change anything through, each with the reason; nothing else may skip the check.
CSRF_NOT_APPLICABLE = {
    "healthz": "operational probe, GET only (405), no session",
    "readyz": "operational probe, GET only (405), no session",
    "metrics": "operational probe, GET only (405), no session",
    "report-verify": "public API without authentication: checks an uploaded PDF, stores nothing",
    "aggregates": "public API without authentication, GET only (405)",
    "api-schema": "the OpenAPI document, GET only",
    "api-docs": "the API reference page, GET only",
}
# Views that refuse anyone but the case's owner before reading the body (and then check the token themselves);
# the builder pass covers their token check.
OWNER_CHECKED_FIRST = {"case_artifacts"}
CSRF_MARK = "X-Test-Csrf-Refused"


def csrf_refused_view(request, reason=""):  # noqa: ANN001, ANN201
    from django.http import HttpResponseForbidden

    response = HttpResponseForbidden("csrf refused")
    response[CSRF_MARK] = reason or "yes"
    return response


def _refused_for_csrf(response) -> bool:  # noqa: ANN001
    if response.status_code != 403:
        return False
    if response.has_header(CSRF_MARK):  # Django's middleware (or csrf_protect inside a view)
        return True
    return b"CSRF Failed" in response.content  # DRF's SessionAuthentication


@pytest.fixture
def staff_session(db):  # noqa: ANN001, ANN201
    from intake.models import Role
    from tests.factories import enable_totp, login_with_mfa, make_user

    coordinator = make_user("csrf-coord@assay.example", role=Role.COORDINATOR)
    enable_totp(coordinator)
    return login_with_mfa(Client(enforce_csrf_checks=True), coordinator)


@pytest.mark.parametrize("who", ["builder", "coordinator"])
def test_every_state_changing_route_refuses_a_post_without_the_token(who, builder, terms, staff_session,  # noqa: ANN001
                                                                     settings):
    from tests.factories import make_draft
    from tests.security.routes import all_routes

    settings.CSRF_FAILURE_VIEW = "tests.security.test_csrf.csrf_refused_view"
    case = make_draft(builder)
    client = staff_session if who == "coordinator" else csrf_checked(builder)
    values = {"pk": str(case.pk)}  # a case the builder owns: views that check ownership first reach the token check
    not_refused = []
    for route in all_routes():
        if route.name in CSRF_NOT_APPLICABLE or (who == "coordinator" and route.name in OWNER_CHECKED_FIRST):
            continue
        url = route.url(values)
        if route.is_api:
            response = client.post(url, "{}", content_type="application/json")
            if response.status_code == 415:  # an upload endpoint: multipart only
                response = client.post(url, {"note": "x"})
        else:
            response = client.post(url, {"confirm": "on"})
        if not _refused_for_csrf(response):
            not_refused.append(f"{route.name} {url} -> {response.status_code}")
    assert not_refused == []
    assert Submission.objects.get(pk=case.pk).state == "draft"


def test_the_allow_list_names_only_routes_that_exist():
    """A renamed route must not silently keep an exemption that now covers nothing (or something else)."""
    from tests.security.routes import all_routes

    assert set(CSRF_NOT_APPLICABLE) <= {route.name for route in all_routes()}


def test_a_bearer_token_call_needs_no_csrf_token(builder, terms):  # noqa: ANN001
    """The one kind of caller CSRF does not apply to: no cookie, so a cross-site page cannot ride on it."""
    from tests.factories import make_token

    secret = make_token(builder)
    response = csrf_checked().post("/api/v1/submissions/", {"title": "Token-made case", "claim_property": "other"},
                                   content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
