"""Fail-closed authorisation of every review page and API endpoint, over real HTTP.

The bug class: an endpoint that checks *that* someone is signed in, or checks
a role, but forgets to check *this* person's right to *this* case right now —
a grant that expired an hour ago, a grant at a lower tier than the page
needs, a conflict declared after the grant, a builder opening another
builder's consent page, or an institution reaching reviewer pages. Each is a
confidentiality breach of the builder's IP. So every route is listed here
with every role, and the expected answer is asserted for each: 404 where the
case must not even be confirmed to exist, 403 where the role is simply wrong,
and a login redirect / 401 for anonymous callers. A new route that is not
added to the matrix fails ``test_every_review_route_is_in_the_matrix``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone

from intake.models import Role
from django.http import Http404

from intake.models import AuditEvent
from reviews.models import AccessGrant, Assignment, ConflictDeclaration
from reviews.services import (NotPermitted, access_case_as_reviewer, assignment_propose, declaration_add, grant_issue,
                              override_request)
from intake.review_requests import review_request_create
from intake.states import State
from intake.vault.disputes import dispute_open
from intake.vault.retention import legal_hold_request
from tests.factories import make_draft, make_token, make_user
from tests.unit.review_portal_support import SECRET_LINE, client_for, granted, make_coordinator, make_reviewer, \
    outcome_case


@pytest.fixture
def world(builder, other_builder):  # noqa: ANN001, ANN201
    """One case granted at grey box to ``reviewer``, and one person for every way access can be wrong."""
    coordinator = make_coordinator()
    reviewer = make_reviewer("granted@southwind.example", organisation="Southwind")
    setup = granted(builder, coordinator, reviewer, tier="grey")
    case = setup.case

    no_grant = make_reviewer("nogrant@eastwind.example", organisation="Eastwind")
    expired = make_reviewer("expired@westwind.example", organisation="Westwind")
    lower = make_reviewer("lower@northpole.example", organisation="North Pole")
    conflicted = make_reviewer("conflicted@southpole.example", organisation="South Pole")
    for person, tier in ((expired, "grey"), (lower, "black"), (conflicted, "grey")):
        assignment = assignment_propose(submission=case, reviewer=person, actor=coordinator)
        Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.ACCEPTED)
        AccessGrant.objects.create(submission=case, reviewer=person, tier=tier, granted_by=coordinator,
                                   expires_at=timezone.now() + timedelta(days=3))
    AccessGrant.objects.filter(reviewer=expired).update(expires_at=timezone.now() - timedelta(minutes=1))
    ConflictDeclaration.objects.create(submission=case, party="South Pole")  # declared after the grant
    institution = make_user("data@institute.example", role=Role.INSTITUTION)
    override = override_request(submission=case, reviewer=no_grant, rule="same_organisation",
                                reason="Only for the matrix: this override exists to be approved.",
                                actor=coordinator)
    artifact = case.artifacts.get(name="notes.txt")
    dispute = dispute_open(claimant_case=case, respondent_case=make_draft(other_builder, title="Their agent"),
                           actor=builder, source="builder", statement="Only for the matrix: a dispute to decide.")
    hold = legal_hold_request(submission=case, actor=coordinator, reason="Only for the matrix: a hold to approve.")
    review_request = review_request_create(submission=outcome_case(builder, state=State.REJECTED), actor=builder,
                                           justification="The matrix needs one pending request for human review.")
    assignment = Assignment.objects.get(submission=case, reviewer=reviewer)
    # A fresh proposal for the conflicted reviewer, whom the conflict must hide.
    people = {"builder": builder, "other_builder": other_builder, "institution": institution,
              "coordinator": coordinator, "reviewer": reviewer, "no_grant": no_grant, "expired": expired,
              "lower_tier": lower, "conflicted": conflicted}
    return {
        "clients": {name: client_for(person) for name, person in people.items()},
        "tokens": {},
        "case": case, "artifact": artifact, "grant": setup.grant, "dispute": dispute, "hold": hold, "assignment": assignment, "override": override,
        "request": review_request,
        "conflicted_assignment": Assignment.objects.get(submission=case, reviewer=conflicted),
        "people": people,
    }


# Reviewer case routes: only "reviewer" gets in (artifacts need grey; "lower_tier" holds black).
REVIEWER_CASE_ROUTES = [
    ("get", "/review/cases/{case}/", "black"),
    ("get", "/review/cases/{case}/artifacts/", "grey"),
    ("get", "/review/cases/{case}/artifacts/{artifact}/", "grey"),
    ("get", "/review/cases/{case}/review/", "black"),
]
COORDINATOR_ROUTES = [
    ("get", "/coordinate/"), ("get", "/coordinate/calibration/"), ("get", "/coordinate/cases/{case}/"),
    ("post", "/coordinate/cases/{case}/take/"), ("post", "/coordinate/cases/{case}/assign/"),
    ("post", "/coordinate/cases/{case}/assign-plan/"), ("post", "/coordinate/cases/{case}/overrides/"),
    ("post", "/coordinate/overrides/{override}/approve/"), ("post", "/coordinate/cases/{case}/grants/"),
    ("post", "/coordinate/grants/{grant}/revoke/"), ("post", "/coordinate/cases/{case}/decision/"),
    ("post", "/coordinate/disputes/{dispute}/decide/"), ("get", "/coordinate/disputes/{dispute}/evidence/"),
    ("post", "/coordinate/cases/{case}/holds/"), ("post", "/coordinate/holds/{hold}/approve/"),
    ("post", "/coordinate/cases/{case}/disputes/"),
    ("post", "/coordinate/holds/{hold}/release/"),
    ("get", "/coordinate/review-requests/"), ("post", "/coordinate/review-requests/{request}/decide/"),
]
REVIEWER_ONLY_ROUTES = [
    ("get", "/review/"), ("get", "/review/profile/"), ("post", "/review/profile/ties/"),
    ("post", "/review/profile/declarations/"),
]
NOT_REVIEWERS = ["builder", "other_builder", "institution", "coordinator"]
WRONG_REVIEWERS = ["no_grant", "expired", "conflicted"]


def _url(template: str, world: dict) -> str:
    return template.format(case=world["case"].pk, artifact=world["artifact"].pk, grant=world["grant"].pk,
                           override=world["override"].pk, assignment=world["assignment"].pk,
                           dispute=world["dispute"].pk, hold=world["hold"].pk, request=world["request"].pk)


def _call(client, method: str, url: str):  # noqa: ANN001, ANN202
    return getattr(client, method)(url)


@pytest.mark.django_db
def test_reviewer_case_routes_are_404_for_every_wrong_reviewer_and_403_for_other_roles(world):  # noqa: ANN001
    for method, template, tier in REVIEWER_CASE_ROUTES:
        url = _url(template, world)
        wrong = WRONG_REVIEWERS + (["lower_tier"] if tier == "grey" else [])
        for name in wrong:
            assert _call(world["clients"][name], method, url).status_code == 404, (name, url)
        for name in NOT_REVIEWERS:
            assert _call(world["clients"][name], method, url).status_code == 403, (name, url)
        assert _call(world["clients"]["reviewer"], method, url).status_code == 200, url
        anonymous = _call(client_for(None), method, url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_download_is_404_for_everyone_below_white_box(world):  # noqa: ANN001
    url = _url("/review/cases/{case}/artifacts/{artifact}/download/", world)
    for name in ["reviewer", "lower_tier", *WRONG_REVIEWERS]:
        assert world["clients"][name].get(url).status_code == 404, name
    for name in NOT_REVIEWERS:
        assert world["clients"][name].get(url).status_code == 403, name


@pytest.mark.django_db
def test_coordinator_routes_are_403_for_every_other_role(world):  # noqa: ANN001
    for method, template in COORDINATOR_ROUTES:
        url = _url(template, world)
        for name in ["builder", "other_builder", "institution", "reviewer", "no_grant", "conflicted"]:
            response = _call(world["clients"][name], method, url)
            assert response.status_code == 403, (name, url, response.status_code)


@pytest.mark.django_db
def test_reviewer_pages_are_403_for_builders_institutions_and_coordinators(world):  # noqa: ANN001
    for method, template in REVIEWER_ONLY_ROUTES:
        for name in NOT_REVIEWERS:
            assert _call(world["clients"][name], method, template).status_code == 403, (name, template)


@pytest.mark.django_db
def test_assignment_answers_are_404_for_anyone_but_the_unconflicted_assignee(world):  # noqa: ANN001
    url = f"/review/assignments/{world['assignment'].pk}/respond/"
    for name in ["no_grant", "expired", "lower_tier", "conflicted"]:
        assert world["clients"][name].post(url, {"answer": "accept"}).status_code == 404, name
    # The conflicted reviewer's own proposal is hidden too: the conflict came after it.
    own = f"/review/assignments/{world['conflicted_assignment'].pk}/respond/"
    assert world["clients"]["conflicted"].post(own, {"answer": "decline"}).status_code == 404


@pytest.mark.django_db
def test_consent_and_conflict_naming_are_the_builders_alone(world):  # noqa: ANN001
    for template in ("/cases/{case}/consent/", "/cases/{case}/conflicts/"):
        url = _url(template, world)
        for name in ["other_builder", "institution", "reviewer", "no_grant"]:
            assert world["clients"][name].post(url, {"answer": "accept"}).status_code == 404, name
        assert world["clients"]["coordinator"].post(url, {"answer": "accept"}).status_code == 403


@pytest.mark.django_db
def test_opening_a_dispute_is_the_builders_alone(world):  # noqa: ANN001
    url = _url("/cases/{case}/disputes/new/", world)
    for name in ["other_builder", "institution", "reviewer", "no_grant"]:
        assert world["clients"][name].get(url).status_code == 404, name
        assert world["clients"][name].post(url, {"statement": "x"}).status_code == 404, name
    assert world["clients"]["coordinator"].get(url).status_code == 403
    assert world["clients"]["builder"].get(url).status_code == 200
    api = _url("/api/v1/submissions/{case}/disputes/", world)
    for name in ["other_builder", "institution", "reviewer", "no_grant"]:
        assert _api(world, name, "post", api).status_code == 404, name
        assert _api(world, name, "get", api).status_code == 404, name
    refused = _api(world, "coordinator", "post", api)  # a coordinator raises disputes from similarity links only
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid"


@pytest.mark.django_db
def test_the_thread_is_only_for_the_builder_and_coordinators(world):  # noqa: ANN001
    url = _url("/cases/{case}/messages/", world)
    for name in ["other_builder", "institution", "reviewer", "no_grant", "conflicted"]:
        assert world["clients"][name].get(url).status_code == 404, name
        assert world["clients"][name].post(url, {"body": "hi"}).status_code == 404, name
    for name in ["builder", "coordinator"]:
        assert world["clients"][name].get(url).status_code == 200


@pytest.mark.django_db
def test_conflicted_and_expired_reviewers_never_see_the_case_in_any_list(world):  # noqa: ANN001
    case = world["case"]
    for name in ["no_grant", "expired", "conflicted"]:
        inbox = world["clients"][name].get("/review/").content.decode()
        assert case.reference not in inbox, name
    assert case.reference in world["clients"]["reviewer"].get("/review/").content.decode()


# --- API ---------------------------------------------------------------------------------------------

API_REVIEWER_CASE = [("get", "/api/v1/review/cases/{case}/"), ("get", "/api/v1/review/cases/{case}/reviews/"),
                     ("post", "/api/v1/review/cases/{case}/reviews/")]
API_COORDINATOR = [("get", "/api/v1/coordinate/cases/{case}/conflicts/"),
                   ("post", "/api/v1/coordinate/cases/{case}/assignments/"),
                   ("get", "/api/v1/coordinate/cases/{case}/grants/"),
                   ("post", "/api/v1/coordinate/cases/{case}/grants/"),
                   ("post", "/api/v1/coordinate/grants/{grant}/revoke/"),
                   ("post", "/api/v1/coordinate/cases/{case}/decision/"),
                   ("post", "/api/v1/coordinate/disputes/{dispute}/decide/"),
                   ("get", "/api/v1/coordinate/cases/{case}/holds/"),
                   ("post", "/api/v1/coordinate/cases/{case}/holds/"),
                   ("post", "/api/v1/coordinate/holds/{hold}/approve/"),
                   ("post", "/api/v1/coordinate/holds/{hold}/release/"),
                   ("get", "/api/v1/coordinate/review-requests/"),
                   ("post", "/api/v1/coordinate/review-requests/{request}/decision/")]


def _api(world: dict, name: str, method: str, url: str, scopes=("reviews", "submissions:read",  # noqa: ANN001, ANN202
                                                                 "submissions:write")):
    key = (name, scopes)
    if key not in world["tokens"]:
        world["tokens"][key] = make_token(world["people"][name], scopes=scopes)
    token = world["tokens"][key]
    client = client_for(None)
    return getattr(client, method)(url, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_api_reviewer_case_endpoints_fail_closed_with_the_error_shape(world):  # noqa: ANN001
    for method, template in API_REVIEWER_CASE:
        url = _url(template, world)
        for name in ["no_grant", "expired", "conflicted"]:
            response = _api(world, name, method, url)
            assert response.status_code == 404, (name, url)
            assert response.json() == {"error": {"code": "not_found", "message": "No such case."}}
        for name in ["builder", "institution"]:
            response = _api(world, name, method, url)
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", (name, url)
    assert client_for(None).get(_url("/api/v1/review/cases/{case}/", world)).status_code == 401


@pytest.mark.django_db
def test_api_coordinator_endpoints_are_403_for_everyone_else(world):  # noqa: ANN001
    for method, template in API_COORDINATOR:
        url = _url(template, world)
        for name in ["builder", "institution", "reviewer", "conflicted"]:
            response = _api(world, name, method, url)
            assert response.status_code == 403, (name, url)
            assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
def test_api_consent_is_404_for_strangers_and_403_for_coordinators(world):  # noqa: ANN001
    url = _url("/api/v1/consent/{case}/", world)
    for name in ["other_builder", "institution", "reviewer"]:
        assert _api(world, name, "get", url).status_code == 404, name
    assert _api(world, "coordinator", "get", url).status_code == 403


@pytest.mark.django_db
def test_api_token_without_the_reviews_scope_is_refused(world):  # noqa: ANN001
    response = _api(world, "reviewer", "get", _url("/api/v1/review/cases/{case}/", world),
                    scopes=("submissions:read",))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token lacks the 'reviews' scope."


def test_every_review_route_is_in_the_matrix():
    """A new route must be added above, or this fails: fail closed on forgetting."""
    covered = {t for _m, t, _tier in REVIEWER_CASE_ROUTES} | {t for _m, t in COORDINATOR_ROUTES} | {
        t for _m, t in REVIEWER_ONLY_ROUTES} | {t for _m, t in API_REVIEWER_CASE} | {t for _m, t in API_COORDINATOR} | {
        "/review/cases/{case}/artifacts/{artifact}/download/", "/review/assignments/{assignment}/respond/",
        "/cases/{case}/consent/", "/cases/{case}/conflicts/", "/cases/{case}/messages/",
        "/review/profile/ties/{tie}/remove/", "/api/v1/consent/{case}/", "/api/v1/review/assignments/",
        "/api/v1/review/assignments/{assignment}/respond/", "/api/v1/review/grants/",
        "/cases/{case}/disputes/new/", "/api/v1/submissions/{case}/disputes/"}
    from reviews import api_urls, portal_urls

    def shape(pattern: str) -> str:
        for name, label in (("pk", "{case}"), ("artifact_pk", "{artifact}"), ("grant_pk", "{grant}"),
                            ("override_pk", "{override}"), ("assignment_pk", "{assignment}"), ("tie_pk", "{tie}"),
                            ("dispute_pk", "{dispute}"), ("hold_pk", "{hold}"), ("request_pk", "{request}")):
            pattern = pattern.replace(f"<uuid:{name}>", label).replace(f"<int:{name}>", label)
        return "/" + pattern

    routes = {shape(str(p.pattern)) for p in portal_urls.urlpatterns}
    routes |= {"/api/v1" + shape(str(p.pattern)).replace("{case}", "{case}") for p in api_urls.urlpatterns}
    # API integer pks are named pk: map them by route.
    routes = {r.replace("grants/{case}/revoke", "grants/{grant}/revoke").replace(
        "assignments/{case}/respond", "assignments/{assignment}/respond").replace(
        "review-requests/{case}/decision", "review-requests/{request}/decision") for r in routes}
    assert routes - covered == set()
    assert get_resolver()  # the project URLconf loads with them mounted


# --- tiers and expiry at the service layer, and the white-box download ------------------------------------------
# Fail if a grant can exceed the builder's consent, if access_case_as_reviewer stops checking tier, expiry or a
# later conflict, or if the download view serves full artifacts to a grey-box grant.

def _accepted(case, coordinator, reviewer):  # noqa: ANN001, ANN202
    from reviews.services import assignment_respond

    assignment = assignment_propose(submission=case, reviewer=reviewer, actor=coordinator)
    return assignment_respond(assignment=assignment, actor=reviewer, accept=True)


@pytest.fixture
def grey_case_in_review(builder):  # noqa: ANN001, ANN201
    from tests.unit.review_portal_support import case_in_review

    return case_in_review(builder, tier="grey")


@pytest.mark.django_db
def test_grant_is_limited_to_the_consented_tier(grey_case_in_review, coordinator):  # noqa: ANN001
    reviewer = make_reviewer("r1@northwind.example")
    _accepted(grey_case_in_review, coordinator, reviewer)
    with pytest.raises(NotPermitted, match="not consented to white box"):
        grant_issue(submission=grey_case_in_review, reviewer=reviewer, tier="white", days=7, actor=coordinator)
    grant = grant_issue(submission=grey_case_in_review, reviewer=reviewer, tier="grey", days=7, actor=coordinator)
    assert grant.is_active()


@pytest.mark.django_db
def test_reviewer_access_is_cut_by_expiry_revocation_tier_and_new_conflicts(grey_case_in_review, coordinator, builder):  # noqa: ANN001
    reviewer = make_reviewer("r1@northwind.example")
    stranger = make_reviewer("r2@southwind.example", organisation="Southwind")
    _accepted(grey_case_in_review, coordinator, reviewer)
    grant = grant_issue(submission=grey_case_in_review, reviewer=reviewer, tier="black", days=7, actor=coordinator)

    submission, _ = access_case_as_reviewer(reviewer=reviewer, submission_pk=grey_case_in_review.pk)
    assert submission.pk == grey_case_in_review.pk
    assert AuditEvent.objects.filter(action="reviewer.view", actor=reviewer).exists()
    with pytest.raises(Http404):  # no grant at all
        access_case_as_reviewer(reviewer=stranger, submission_pk=grey_case_in_review.pk)
    with pytest.raises(Http404):  # tier too low
        access_case_as_reviewer(reviewer=reviewer, submission_pk=grey_case_in_review.pk, minimum_tier="grey")
    with pytest.raises(Http404):  # the builder is not a reviewer
        access_case_as_reviewer(reviewer=builder, submission_pk=grey_case_in_review.pk)

    declaration_add(actor=builder, submission=grey_case_in_review, party="Northwind Security")
    with pytest.raises(Http404):  # a conflict declared after the grant cuts access at once
        access_case_as_reviewer(reviewer=reviewer, submission_pk=grey_case_in_review.pk)
    grey_case_in_review.builder_conflict_declarations.all().delete()

    AccessGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Http404):  # expired
        access_case_as_reviewer(reviewer=reviewer, submission_pk=grey_case_in_review.pk)


@pytest.mark.django_db
def test_download_is_refused_below_white_box_and_streams_at_white(builder):  # noqa: ANN001
    coordinator = make_coordinator()
    grey_reviewer = make_reviewer("g@southwind.example", organisation="Southwind")
    setup = granted(builder, coordinator, grey_reviewer, tier="grey")
    notes = setup.case.artifacts.get(name="notes.txt")
    assert client_for(grey_reviewer).get(
        f"/review/cases/{setup.case.pk}/artifacts/{notes.pk}/download/").status_code == 404

    white_reviewer = make_reviewer("w@eastwind.example", organisation="Eastwind")
    white = granted(builder, coordinator, white_reviewer, tier="white")
    notes = white.case.artifacts.get(name="notes.txt")
    response = client_for(white_reviewer).get(f"/review/cases/{white.case.pk}/artifacts/{notes.pk}/download/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store, max-age=0"
    content = b"".join(response.streaming_content)
    assert SECRET_LINE.encode() in content  # white box: full artifacts
    assert AuditEvent.objects.filter(action="reviewer.download_artifact", actor=white_reviewer).exists()
