"""Conflict of interest at the top: the coordinator of record was never conflict-checked.

The bug class: the conflict rules stopped a *reviewer* on the builder's organisation domain, but a
coordinator on that same domain could take the case, assign and grant reviewers, and decide it. The same
rules (organisation, organisation domain, vendor interest, named competitor, declarations, prior work) now
apply to the coordinator: a conflicted coordinator cannot become coordinator of record, open the case's
coordinator page or API, assign, grant, override or decide; another coordinator takes the case.

Nor read it: ``submissions_visible_to`` (every list and fetch of a case: the queue, the case page, the API,
the thread, triage downloads) hides the case from a conflicted coordinator, and the review queue names it
only by reference, as one another coordinator must take.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from django.http import Http404

from intake.models import Role, Submission
from intake.selectors import submission_get_for, submissions_visible_to
from reviews import services
from reviews.models import CaseCoordination, Decision, ReviewerProfile, VendorTie
from tests.factories import enable_totp, login_with_mfa, make_user
from tests.unit.review_portal_support import case_in_review, client_for, granted, make_coordinator, make_reviewer

pytestmark = pytest.mark.django_db

SAME_DOMAIN_MESSAGE = ("You have a conflict of interest with this case: shares the organisation domain "
                       "acme-agents.example with the builder (same_email_domain). Another coordinator must "
                       "coordinate and decide it.")


@pytest.fixture
def insider(db):  # noqa: ANN001, ANN201
    """A coordinator whose email is on the builder's organisation domain (a subdomain of it)."""
    user = make_user("ops@eu.acme-agents.example", role=Role.COORDINATOR)
    enable_totp(user)
    return user


@pytest.fixture
def outsider(db):  # noqa: ANN001, ANN201
    return make_coordinator("coord@assay.example")


def test_a_coordinator_on_the_builders_domain_cannot_become_coordinator_of_record(builder, insider):  # noqa: ANN001
    case = case_in_review(builder)
    response = client_for(insider).post(f"/coordinate/cases/{case.pk}/take/")
    assert response.status_code == 403
    assert SAME_DOMAIN_MESSAGE in response.content.decode()
    assert not CaseCoordination.objects.filter(submission=case).exists()
    with pytest.raises(services.Conflicted) as refused:
        services.coordination_take(submission=case, actor=insider)
    assert str(refused.value) == SAME_DOMAIN_MESSAGE


def test_an_unconflicted_coordinator_takes_and_coordinates_the_case(builder, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    client = client_for(outsider)
    response = client.post(f"/coordinate/cases/{case.pk}/take/")
    assert response.status_code == 302
    assert CaseCoordination.objects.get(submission=case).coordinator == outsider
    assert client.get(f"/coordinate/cases/{case.pk}/").status_code == 200


def test_a_conflicted_coordinator_sees_the_reason_and_none_of_the_case(builder, insider):  # noqa: ANN001
    case = case_in_review(builder)
    response = client_for(insider).get(f"/coordinate/cases/{case.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert SAME_DOMAIN_MESSAGE in html
    assert case.title not in html and case.claim_statement not in html


def test_a_conflicted_coordinator_cannot_use_the_coordinator_api(builder, insider):  # noqa: ANN001
    case = case_in_review(builder)
    client = login_with_mfa(APIClient(), insider)
    for method, path in (("get", "conflicts/"), ("get", "grants/"), ("post", "decision/")):
        response = getattr(client, method)(f"/api/v1/coordinate/cases/{case.pk}/{path}", {}, format="json")
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "conflict_of_interest"
        assert response.json()["error"]["message"] == SAME_DOMAIN_MESSAGE


def test_a_conflicted_coordinator_cannot_decide_the_case_another_coordinated(builder, insider, outsider):  # noqa: ANN001
    reviewer = make_reviewer("rev@northwind.example")
    setup = granted(builder, outsider, reviewer)
    services.review_submit(submission=setup.case, reviewer=reviewer, verdict="supported", confidence=80,
                           findings=[], limitations="Configuration only.")
    with pytest.raises(services.Conflicted, match="conflict of interest"):
        services.decision_record(submission=setup.case, actor=insider, verdict="supported",
                                 rationale="Looks fine to me, the reviewer agreed with it.")
    response = client_for(insider).post(f"/coordinate/cases/{setup.case.pk}/decision/",
                                        {"verdict": "supported", "rationale": "Looks fine to me, the reviewer agreed."})
    assert response.status_code == 403
    assert not Decision.objects.filter(submission=setup.case).exists()
    decision = services.decision_record(submission=setup.case, actor=outsider, verdict="supported",
                                        rationale="The reviewer's reasoning holds for the stated scope.")
    assert decision.coordinator == outsider


@pytest.mark.parametrize("action", ["assign", "replan", "grant", "override"])
def test_a_conflicted_coordinator_cannot_widen_anyones_access(action, builder, insider, outsider):  # noqa: ANN001
    reviewer = make_reviewer("rev@northwind.example")
    case = case_in_review(builder)
    calls = {
        "assign": lambda: services.assignment_propose(submission=case, reviewer=reviewer, actor=insider),
        "replan": lambda: services.assignment_replan(submission=case, actor=insider),
        "grant": lambda: services.grant_issue(submission=case, reviewer=reviewer, tier="grey", days=7, actor=insider),
        "override": lambda: services.override_request(submission=case, reviewer=reviewer, rule="prior_work",
                                                      reason="They reviewed an unrelated product years ago.",
                                                      actor=insider),
    }
    with pytest.raises(services.Conflicted, match="Another coordinator must coordinate and decide it"):
        calls[action]()


def _same_organisation(builder, coordinator) -> None:  # noqa: ANN001
    builder.organisation = coordinator.organisation = "Acme Agents Ltd"
    builder.save(), coordinator.save()


def _declared_by_builder(builder, coordinator, case) -> None:  # noqa: ANN001
    services.declaration_add(actor=builder, party=coordinator.email, submission=case)


def _vendor_interest(builder, coordinator) -> None:  # noqa: ANN001
    profile = ReviewerProfile.objects.create(user=coordinator, capacity=0)
    VendorTie.objects.create(reviewer=profile, name="ExampleAI", kind="investor")


@pytest.mark.parametrize(("make_conflict", "rule"), [
    (lambda b, c, case: _same_organisation(b, c), "same_organisation"),
    (_declared_by_builder, "declared_by_builder"),
    (lambda b, c, case: _vendor_interest(b, c), "vendor_interest"),
])
def test_every_reviewer_rule_applies_to_coordinators(make_conflict, rule, builder, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    assert services.coordinator_conflicts(case, outsider) == []
    make_conflict(builder, outsider, case)
    case = Submission.objects.get(pk=case.pk)  # the builder as the database now holds them
    assert [c.rule for c in services.coordinator_conflicts(case, outsider)] == [rule]
    with pytest.raises(services.Conflicted):
        services.coordination_take(submission=case, actor=outsider)


def test_a_coordinator_conflicted_after_taking_the_case_is_replaced_by_another(builder, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    services.coordination_take(submission=case, actor=outsider)
    services.declaration_add(actor=builder, party="assay.example", submission=case)
    with pytest.raises(services.Conflicted):
        services.assignment_propose(submission=case, reviewer=make_reviewer("rev@northwind.example"), actor=outsider)
    other = make_coordinator("second@coordinators.example")
    services.coordination_take(submission=case, actor=other)
    assert CaseCoordination.objects.get(submission=case).coordinator == other


def test_a_decline_is_not_replanned_in_a_conflicted_coordinators_name(builder, outsider):  # noqa: ANN001
    first = make_reviewer("first@northwind.example")
    make_reviewer("second@fabrikam.example")
    case = case_in_review(builder)
    services.coordination_take(submission=case, actor=outsider)
    assignment = services.assignment_propose(submission=case, reviewer=first, actor=outsider)
    services.declaration_add(actor=builder, party=outsider.email, submission=case)
    services.assignment_answer(assignment=assignment, actor=first, accept=False)
    assert list(case.assignments.values_list("reviewer__email", flat=True)) == ["first@northwind.example"]


# --- reading: a conflicted coordinator sees none of the case ------------------------------------------------

def test_the_visibility_selector_hides_the_case_from_a_conflicted_coordinator(builder, other_builder, insider,  # noqa: ANN001
                                                                              outsider):
    case = case_in_review(builder)
    elsewhere = case_in_review(other_builder)
    assert set(submissions_visible_to(insider)) == {elsewhere}
    assert set(submissions_visible_to(outsider)) == {case, elsewhere}
    with pytest.raises(Http404):
        submission_get_for(insider, case.pk)
    assert submission_get_for(outsider, case.pk) == case


def test_a_conflict_declared_now_hides_the_case_at_once(builder, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    client = client_for(outsider)
    assert case.title in client.get("/queue/").content.decode()
    services.declaration_add(actor=builder, party=outsider.email, submission=case)
    assert case.reference not in client.get("/queue/").content.decode()
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    with pytest.raises(Http404):
        submission_get_for(outsider, case.pk)


def test_the_coordinator_queue_shows_a_conflicted_coordinator_nothing_of_the_case(builder, insider, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    html = client_for(insider).get("/queue/").content.decode()
    assert case.reference not in html and case.title not in html
    assert case.title in client_for(outsider).get("/queue/").content.decode()


def test_the_review_queue_names_a_conflicted_case_by_reference_only(builder, insider, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    response = client_for(insider).get("/coordinate/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<code>{case.reference}</code> — conflicted, another coordinator must take it" in html
    assert case.title not in html and case.claim_statement not in html
    assert f"/coordinate/cases/{case.pk}/" not in html
    clear = client_for(outsider).get("/coordinate/").content.decode()
    assert f'href="/coordinate/cases/{case.pk}/"' in clear and "conflicted, another coordinator" not in clear


@pytest.mark.parametrize("path", ["/cases/{pk}/", "/cases/{pk}/messages/", "/cases/{pk}/triage.sarif"])
def test_a_conflicted_coordinator_cannot_open_the_case_pages(path, builder, insider, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    url = path.format(pk=case.pk)
    response = client_for(insider).get(url)
    assert response.status_code == 404
    assert case.title not in response.content.decode()
    assert client_for(outsider).get(url).status_code == 200


def test_a_conflicted_coordinator_cannot_read_the_case_through_the_api(builder, insider, outsider):  # noqa: ANN001
    case = case_in_review(builder)
    client = login_with_mfa(APIClient(), insider)
    listing = client.get("/api/v1/submissions/")
    assert listing.status_code == 200
    assert str(case.pk) not in listing.content.decode()
    for path in (f"/api/v1/submissions/{case.pk}/", f"/api/v1/submissions/{case.pk}/triage/",
                 f"/api/v1/review/cases/{case.pk}/reviews/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert case.title not in response.content.decode()
    clear = login_with_mfa(APIClient(), outsider)
    assert str(case.pk) in clear.get("/api/v1/submissions/").content.decode()
    assert clear.get(f"/api/v1/submissions/{case.pk}/").status_code == 200
