"""Who may open which portal page, through real HTTP.

The bug class: a page or htmx partial that fetches a case by id without going
through ``submissions_visible_to`` leaks other builders' cases. Every case-scoped
route is listed here, and every role is asserted, so a new route that forgets
the check fails.
"""

from __future__ import annotations

import io
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from intake.models import Role, Submission
from tests.factories import login_with_mfa, make_draft, make_user

pytestmark = pytest.mark.django_db


CASE_GET_ROUTES = ["case_detail", "case_claim", "case_manifest", "case_terms", "case_artifacts", "case_review",
                   "case_withdraw"]
CASE_POST_ROUTES = ["case_claim", "case_manifest", "case_manifest_check", "case_terms", "case_artifacts",
                    "case_confirm_placeholder", "case_submit", "case_withdraw"]


@pytest.fixture
def case(builder, terms):  # noqa: ANN001
    return make_draft(builder)


def _client_for(user) -> Client:  # noqa: ANN001
    """A logged-in client; staff roles get TOTP first, since the portal requires it of them."""
    if user.role in (Role.REVIEWER, Role.COORDINATOR):
        TOTP.activate(user, generate_totp_secret())
    client = Client()
    return login_with_mfa(client, user)


@pytest.mark.parametrize("route", CASE_GET_ROUTES)
def test_stranger_gets_404_for_every_case_page(route, case, other_builder):  # noqa: ANN001
    response = _client_for(other_builder).get(reverse(route, args=[case.pk]))
    assert response.status_code == 404
    assert case.title not in response.content.decode()


@pytest.mark.parametrize("route", CASE_GET_ROUTES)
def test_stranger_gets_404_for_every_htmx_partial(route, case, other_builder):  # noqa: ANN001
    response = _client_for(other_builder).get(reverse(route, args=[case.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 404


@pytest.mark.parametrize("route", CASE_POST_ROUTES)
def test_stranger_cannot_post_to_another_builders_case(route, case, other_builder):  # noqa: ANN001
    before = Submission.objects.get(pk=case.pk)
    response = _client_for(other_builder).post(
        reverse(route, args=[case.pk]),
        {"title": "hijacked", "manifest": "{}", "accept": "on", "confirm": "on", "fingerprint": "0" * 20},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    after = Submission.objects.get(pk=case.pk)
    assert (after.title, after.state, after.updated_at) == (before.title, before.state, before.updated_at)


def test_stranger_gets_404_for_removing_another_builders_artifact(case, other_builder):  # noqa: ANN001
    artifact = case.artifacts.get()
    response = _client_for(other_builder).post(reverse("case_artifact_remove", args=[case.pk, artifact.pk]))
    assert response.status_code == 404
    assert case.artifacts.filter(pk=artifact.pk).exists()


def test_artifact_of_another_case_cannot_be_removed_through_ones_own_case(case, builder, other_builder):  # noqa: ANN001
    foreign = make_draft(other_builder).artifacts.get()
    response = _client_for(builder).post(reverse("case_artifact_remove", args=[case.pk, foreign.pk]))
    assert response.status_code == 404
    assert foreign.__class__.objects.filter(pk=foreign.pk).exists()


def test_unknown_case_id_is_404(builder):  # noqa: ANN001
    response = _client_for(builder).get("/cases/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


@pytest.mark.parametrize("path", ["/dashboard/", "/queue/", "/cases/new/"])
def test_anonymous_is_sent_to_login(path):  # noqa: ANN001
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('account_login')}?next=")


@pytest.mark.parametrize("route", CASE_GET_ROUTES)
def test_anonymous_is_sent_to_login_from_case_pages(route, case):  # noqa: ANN001
    response = Client().get(reverse(route, args=[case.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_post_without_csrf_token_is_refused_and_changes_nothing(case, builder):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    response = client.post(reverse("case_withdraw", args=[case.pk]), {"confirm": "on"})
    assert response.status_code == 403
    response = client.post(reverse("case_new"), {"title": "Sneaky", "claim_access_tier": "black"})
    assert response.status_code == 403
    assert Submission.objects.get(pk=case.pk).state == "draft"
    assert not any(s.title == "Sneaky" for s in Submission.objects.all())  # titles are sealed: no SQL lookup


def test_htmx_post_with_csrf_header_from_the_page_is_accepted(case, builder):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    page = client.get(reverse("case_claim", args=[case.pk])).content.decode()
    token = page.split('hx-headers=\'{"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    response = client.post(reverse("case_manifest_check", args=[case.pk]), {"manifest": "{}"},
                           HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_coordinator_sees_a_case_but_cannot_edit_or_withdraw_it(case, coordinator):  # noqa: ANN001
    client = _client_for(coordinator)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    for route in ("case_claim", "case_review", "case_withdraw"):
        assert client.get(reverse(route, args=[case.pk])).status_code == 403
    assert client.post(reverse("case_withdraw", args=[case.pk]), {"confirm": "on"}).status_code == 403
    assert Submission.objects.get(pk=case.pk).state == "draft"


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.INSTITUTION])
def test_reviewers_and_institutions_never_reach_a_case_through_the_portal(role, case):  # noqa: ANN001
    client = _client_for(make_user(f"{role}@assay.example", role=role))
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert case.reference not in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("role", [Role.BUILDER, Role.REVIEWER, Role.INSTITUTION])
def test_queue_is_for_coordinators_only(role):  # noqa: ANN001
    client = _client_for(make_user(f"q-{role}@assay.example", role=role))
    response = client.get(reverse("coordinator_queue"))
    assert response.status_code == 403
    assert "The queue is for coordinators." in response.content.decode()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.INSTITUTION, Role.COORDINATOR])
def test_only_builders_start_cases(role):  # noqa: ANN001
    client = _client_for(make_user(f"n-{role}@assay.example", role=role))
    assert client.get(reverse("case_new")).status_code == 403
    assert client.post(reverse("case_new"), {"title": "x", "claim_access_tier": "black"}).status_code == 403
    assert not Submission.objects.exists()


# --- every case-scoped route, enumerated from the URL resolver ---------------------------------------------------
# The lists above name the portal's wizard routes; this sweep takes every URL pattern (pages, htmx partials, report
# and receipt downloads, the API) that carries a case id, so a route added later is covered without editing a list.
# Fails if any of them fetches the case without the owner check (a 200, a redirect into the case, a 403 that
# confirms the case exists where a stranger must get 404), for GET or POST, through the session or a token.

STAFF_PREFIXES = ("coordinate/", "review/", "api/v1/coordinate/", "api/v1/review/", "admin/")
STAFF_ROUTES = {"report_revoke"}  # a coordinator action under cases/: refused by role before any lookup


def _staff_only(route) -> bool:  # noqa: ANN001
    return route.pattern.startswith(STAFF_PREFIXES) or route.name in STAFF_ROUTES


def _other_builders_cases(builder):  # noqa: ANN001, ANN202
    from reviews.models import Report
    from reviews.reports import report_issue
    from tests.unit.review_portal_support import outcome_case

    draft = make_draft(builder)
    closed = outcome_case(builder)
    report = report_issue(submission=closed, kind=Report.Kind.GUIDANCE, actor=None)
    artifact = draft.artifacts.first()
    return [({"pk": str(draft.pk), "case_pk": str(draft.pk), "artifact_pk": str(artifact.pk),
              "artifact_id": str(artifact.pk)}, draft),
            ({"pk": str(closed.pk), "case_pk": str(closed.pk), "report_pk": str(report.pk)}, closed)]


def _case_routes(values: dict[str, str]):  # noqa: ANN202
    from tests.security.routes import all_routes

    for route in all_routes():
        url = route.url(values)
        if values["pk"] in url:
            yield route, url


def test_another_builder_gets_404_on_every_case_scoped_route(builder, other_builder, terms, settings, tmp_path):  # noqa: ANN001
    from rest_framework.test import APIClient

    from tests.factories import make_token

    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    session = _client_for(other_builder)
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION="Bearer " + make_token(
        other_builder, scopes=("submissions:read", "submissions:write", "reports:read", "reviews")))
    leaks, covered = [], set()
    for values, case in _other_builders_cases(builder):
        state_before = case.state
        for route, url in _case_routes(values):
            covered.add(route.name)
            staff_only = _staff_only(route)
            clients = [("session", session)] + ([("token", token)] if route.is_api else [])
            for how, client in clients:
                for method in ("get", "post"):
                    if how == "token":
                        response = getattr(client, method)(url, {}, format="json")
                    else:
                        response = getattr(client, method)(url, {"confirm": "on"})
                    # 405: the method is refused before any lookup, for every case alike (no existence oracle).
                    allowed = (403, 404, 405) if staff_only else (404, 405)
                    if response.status_code not in allowed:
                        leaks.append(f"{how} {method.upper()} {route.name} {url} -> {response.status_code}")
        case.refresh_from_db()
        assert case.state == state_before
    assert leaks == []
    # The sweep really walked the case pages, downloads and API (a broken enumeration must not pass vacuously).
    assert {"case_detail", "case_artifact_remove", "report_pdf", "report_page", "receipt_download",
            "api-submission-detail", "case-delete", "triage-result", "report-pdf"} <= covered


def test_staff_only_case_routes_answer_a_builder_the_same_for_a_real_and_an_unknown_case(builder, other_builder,  # noqa: ANN001
                                                                                          terms):
    """403 for the wrong role is fine, but only if it is the same answer for a case id that does not exist."""
    session = _client_for(other_builder)
    case = make_draft(builder)
    real, unknown = {"pk": str(case.pk), "case_pk": str(case.pk)}, {"pk": str(uuid.uuid4())}
    unknown["case_pk"] = unknown["pk"]
    differences = []
    for route, url in _case_routes(real):
        if not _staff_only(route):
            continue
        for method in ("get", "post"):
            a = getattr(session, method)(url).status_code
            b = getattr(session, method)(route.url(unknown)).status_code
            if a != b:
                differences.append(f"{method.upper()} {route.name}: {a} for a real case, {b} for an unknown one")
    assert differences == []


# --- the API: another builder's ids look exactly like unknown ids ----------------------------------------------
# (moved from tests/unit/test_api_submissions.py) Fail if a SubmissionViewSet action fetches the case outside the
# caller's queryset, or answers a stranger's id differently from an unknown one.

@pytest.fixture
def builder_api(builder):  # noqa: ANN001, ANN201
    from rest_framework.test import APIClient

    from tests.factories import make_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    return client


def _api_url(pk, action: str = "") -> str:  # noqa: ANN001
    return f"/api/v1/submissions/{pk}/" + (f"{action}/" if action else "")


@pytest.mark.parametrize(("method", "action", "payload"), [
    ("get", "", None),
    ("patch", "", {"title": "hijacked"}),
    ("get", "status", None),
    ("get", "readiness", None),
    ("get", "artifacts", None),
    ("post", "submit", {}),
    ("post", "withdraw", {}),
    ("post", "terms", {"version": "2026.1"}),
    ("post", "redaction/confirm", {"fingerprints": ["abc"]}),
])
def test_a_builder_cannot_reach_another_builders_case_by_id(builder_api, other_builder, terms, method, action, payload):  # noqa: ANN001
    """Bug class: object-level authorisation. A stranger's id must look exactly like an unknown id (404)."""
    victim = make_draft(other_builder)
    before = Submission.objects.values().get(pk=victim.pk)
    call = getattr(builder_api, method)
    response = call(_api_url(victim.pk, action), payload, format="json") if payload is not None else call(
        _api_url(victim.pk, action))
    unknown = call(_api_url(uuid.uuid4(), action), payload, format="json") if payload is not None else call(
        _api_url(uuid.uuid4(), action))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such case."}}
    assert unknown.json() == response.json()
    assert Submission.objects.values().get(pk=victim.pk) == before


def test_a_builder_cannot_upload_to_or_delete_from_another_builders_case(builder_api, other_builder, terms):  # noqa: ANN001
    victim = make_draft(other_builder)
    artifact = victim.artifacts.get()
    upload = builder_api.post(_api_url(victim.pk, "artifacts"), {"file": io.BytesIO(b"x")}, format="multipart")
    delete = builder_api.delete(f"{_api_url(victim.pk)}artifacts/{artifact.pk}/")
    assert (upload.status_code, delete.status_code) == (404, 404)
    assert list(victim.artifacts.values_list("name", flat=True)) == ["settings.json"]
