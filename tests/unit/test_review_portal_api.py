"""/api/v1/ for human review, as each role uses it with a personal token."""

from __future__ import annotations

import pytest
from django.test import Client

from intake.models import AuditEvent
from intake.states import State
from reviews.models import AccessGrant, Assignment, VendorTie
from tests.factories import make_token
from tests.unit.review_portal_support import case_in_review, escalated_case, granted, make_coordinator, make_reviewer


def api(user, scopes=("reviews",)):  # noqa: ANN001, ANN201
    token = make_token(user, scopes=scopes)

    class Api:
        client = Client()

        def get(self, url: str):  # noqa: ANN202
            return self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")

        def post(self, url: str, body: dict | None = None):  # noqa: ANN202
            return self.client.post(url, body or {}, content_type="application/json",
                                    HTTP_AUTHORIZATION=f"Bearer {token}")

    return Api()


@pytest.mark.django_db
def test_builder_reads_and_answers_consent_over_the_api(builder):  # noqa: ANN001
    case = escalated_case(builder, tier_required="white", offered="grey")
    client = api(builder, scopes=("submissions:read", "submissions:write"))
    read = client.get(f"/api/v1/consent/{case.pk}/").json()
    assert read["tier_required"] == "white" and read["tier_offered"] == "grey" and read["duration_days"] == 30
    refused = client.post(f"/api/v1/consent/{case.pk}/", {"accept": True, "tier": "white"})
    assert refused.status_code == 400
    assert refused.json()["error"] == {"code": "invalid", "message": "white box access is more than your claim "
                                                                     "offered (grey box); confirm it explicitly"}
    done = client.post(f"/api/v1/consent/{case.pk}/", {"accept": True, "tier": "white", "confirm_above_offer": True})
    assert done.status_code == 200 and done.json()["state"] == State.IN_REVIEW and done.json()["extra_consent"]
    again = client.post(f"/api/v1/consent/{case.pk}/", {"accept": False})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


@pytest.mark.django_db
def test_coordinator_assigns_grants_and_decides_over_the_api(builder):  # noqa: ANN001
    case = case_in_review(builder)
    coordinator = make_coordinator()
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    tied = make_reviewer("tied@eastwind.example", organisation="Eastwind")
    VendorTie.objects.create(reviewer=tied.reviewer_profile, name="ExampleAI", kind="provider")
    coord = api(coordinator)

    conflicts = coord.get(f"/api/v1/coordinate/cases/{case.pk}/conflicts/").json()
    by_id = {r["id"]: r for r in conflicts["reviewers"]}
    assert by_id[tied.pk]["assignable"] is False and by_id[tied.pk]["conflicts"][0]["rule"] == "vendor_interest"
    assert conflicts["plan"]["proposed"] == [reviewer.pk]

    refused = coord.post(f"/api/v1/coordinate/cases/{case.pk}/assignments/", {"reviewer": tied.pk})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "conflict_of_interest"
    created = coord.post(f"/api/v1/coordinate/cases/{case.pk}/assignments/", {"reviewer": reviewer.pk})
    assert created.status_code == 201 and created.json()["status"] == "proposed"

    rev = api(reviewer)
    listed = rev.get("/api/v1/review/assignments/").json()
    assert [a["case"] for a in listed] == [case.reference]
    accepted = rev.post(f"/api/v1/review/assignments/{listed[0]['id']}/respond/", {"accept": True})
    assert accepted.json()["status"] == "accepted"

    too_much = coord.post(f"/api/v1/coordinate/cases/{case.pk}/grants/",
                          {"reviewer": reviewer.pk, "tier": "white", "days": 7})
    assert too_much.status_code == 403
    assert too_much.json()["error"]["message"] == "the builder has not consented to white box access"
    grant = coord.post(f"/api/v1/coordinate/cases/{case.pk}/grants/",
                       {"reviewer": reviewer.pk, "tier": "grey", "days": 7})
    assert grant.status_code == 201 and grant.json()["tier"] == "grey"

    assert rev.get("/api/v1/review/grants/").json()[0]["case"] == case.reference
    view = rev.get(f"/api/v1/review/cases/{case.pk}/")
    body = view.json()
    assert view["Cache-Control"] == "no-store"
    assert body["builder"] is None and body["tier"] == "grey"
    assert builder.email not in view.content.decode()
    assert {a["name"] for a in body["artifacts"]} == {"agent.zip", "notes.txt", "settings.json"}
    assert "content" not in body["artifacts"][0]  # content only through the watermarking viewer

    bad = rev.post(f"/api/v1/review/cases/{case.pk}/reviews/", {
        "verdict": "not_supported", "confidence": 70, "limitations": "x",
        "findings": [{"title": "t", "severity": "high", "evidence": "line1\nline2", "remediation": "r"}]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    unknown_taxonomy = rev.post(f"/api/v1/review/cases/{case.pk}/reviews/", {
        "verdict": "not_supported", "confidence": 70, "limitations": "x",
        "findings": [{"title": "t", "severity": "high", "evidence": "e", "remediation": "r",
                      "taxonomy": ["LLM99:2030"]}]})
    assert unknown_taxonomy.status_code == 400 and "LLM99:2030" in unknown_taxonomy.json()["error"]["message"]
    submitted = rev.post(f"/api/v1/review/cases/{case.pk}/reviews/", {
        "verdict": "not_supported", "confidence": 70, "limitations": "grey box only",
        "findings": [{"title": "Shell reachable", "severity": "high", "evidence": "agent.zip:agent/config.py:1",
                      "remediation": "approval", "taxonomy": ["LLM06:2025"]}]})
    assert submitted.status_code == 201
    twice = rev.post(f"/api/v1/review/cases/{case.pk}/reviews/", {
        "verdict": "supported", "confidence": 1, "limitations": "x"})
    assert twice.status_code == 409

    decided = coord.post(f"/api/v1/coordinate/cases/{case.pk}/decision/", {
        "verdict": "not_supported", "rationale": "Untrusted tickets reach the shell without approval."})
    assert decided.status_code == 201
    assert decided.json()["disagreement"] is False and decided.json()["agreement_kappa"] is None
    case.refresh_from_db()
    assert case.state == State.DECIDED

    revoked = coord.post(f"/api/v1/coordinate/grants/{grant.json()['id']}/revoke/", {"reason": "case decided"})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert rev.get(f"/api/v1/review/cases/{case.pk}/").status_code == 404


@pytest.mark.django_db
def test_declining_over_the_api_replans(builder):  # noqa: ANN001
    case = case_in_review(builder)
    coordinator = make_coordinator()
    first = make_reviewer("a@southwind.example", organisation="Southwind")
    backup = make_reviewer("b@eastwind.example", organisation="Eastwind", expertise=())
    api(coordinator).post(f"/api/v1/coordinate/cases/{case.pk}/assignments/", {"reviewer": first.pk})
    assignment = Assignment.objects.get(submission=case, reviewer=first)
    response = api(first).post(f"/api/v1/review/assignments/{assignment.pk}/respond/", {"accept": False})
    assert response.json()["status"] == "declined"
    assert Assignment.objects.get(submission=case, reviewer=backup).assigned_by == coordinator
    assert AuditEvent.objects.filter(action="assignment.declined", actor=first).exists()


@pytest.mark.django_db
def test_reviewer_reviews_list_is_independent_until_own_submission(builder):  # noqa: ANN001
    coordinator = make_coordinator()
    first = make_reviewer("a@southwind.example", organisation="Southwind")
    setup = granted(builder, coordinator, first)
    assert api(first).get(f"/api/v1/review/cases/{setup.case.pk}/reviews/").json() == []
    assert api(coordinator).get(f"/api/v1/review/cases/{setup.case.pk}/reviews/").json() == []
    assert AccessGrant.objects.filter(reviewer=first).count() == 1
