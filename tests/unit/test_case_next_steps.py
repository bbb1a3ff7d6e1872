"""Issue 15 item 3: a next step after every outcome. After guidance or reject the builder can request human review
(a coordinator accepts or declines with a reason) or submit a new configuration version of the case; services,
pages and API, with permissions, CSRF, the rate limit and the quota."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client

from intake.errors import NotEditable, QuotaExceeded, ValidationFailed
from intake.models import AuditEvent, ReviewRequest, Submission
from intake.review_requests import review_request_create
from intake.selectors import open_case_count
from intake.services import artifact_add, submission_create
from intake.states import IllegalTransition, State, transition
from intake.vault.retention import shredding_blocked_reason
from intake.versions import claim_key, submission_new_version
from reviews.models import Consent
from reviews.review_requests import review_request_decide
from reviews.services import Conflicted, consent_answer
from tests.factories import make_draft, make_token
from tests.unit.review_portal_support import client_for, make_coordinator, make_reviewer, outcome_case
from triage.models import TriageResult

pytestmark = pytest.mark.django_db

WHY = "Triage missed that the tickets MCP server can post to a webhook; please have a person check it."


@pytest.fixture
def coord(db):  # noqa: ANN001, ANN201
    return make_coordinator()


# --- services: requesting --------------------------------------------------------------------------------------

def test_a_request_is_stored_sealed_and_audited_without_the_builders_text(builder):  # noqa: ANN001
    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    assert (request.status, request.outcome_state) == ("pending", State.CLOSED)
    assert ReviewRequest.objects.get(pk=request.pk).justification == WHY
    with connection.cursor() as cursor:
        cursor.execute("SELECT justification FROM intake_reviewrequest WHERE id = %s", [request.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("assay-sealed/v1:") and "webhook" not in stored
    event = AuditEvent.objects.get(action="review_request.create")
    assert event.data == {"request": request.pk, "outcome": "closed", "justification_chars": len(WHY)}
    assert "webhook" not in str(event.data)


def test_a_short_justification_is_refused_and_nothing_is_stored(builder):  # noqa: ANN001
    case = outcome_case(builder)
    with pytest.raises(ValidationFailed, match="at least 30 characters"):
        review_request_create(submission=case, actor=builder, justification="  please  ")
    assert not ReviewRequest.objects.exists()


@pytest.mark.parametrize("state", [State.DRAFT, State.AWAITING_CONSENT])
def test_review_is_requested_only_after_a_guidance_or_reject_outcome(builder, state):  # noqa: ANN001
    case = make_draft(builder)
    if state == State.AWAITING_CONSENT:
        for step in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT):
            case = transition(case, step, actor=None)
    with pytest.raises(NotEditable, match="only after a guidance or reject outcome"):
        review_request_create(submission=case, actor=builder, justification=WHY)


def test_another_builder_cannot_request_review_of_the_case(builder, other_builder):  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        review_request_create(submission=outcome_case(builder), actor=other_builder, justification=WHY)


def test_one_pending_request_at_a_time_and_at_most_two_per_case(builder, coord):  # noqa: ANN001
    case = outcome_case(builder, state=State.REJECTED)
    first = review_request_create(submission=case, actor=builder, justification=WHY)
    with pytest.raises(NotEditable, match="already waiting for a coordinator"):
        review_request_create(submission=case, actor=builder, justification=WHY)
    review_request_decide(review_request=first, actor=coord, accept=False, reason="The findings stand as reported.")
    second = review_request_create(submission=case, actor=builder, justification=WHY + " Second try.")
    review_request_decide(review_request=second, actor=coord, accept=False, reason="Still nothing new to review.")
    with pytest.raises(NotEditable, match="2 requests for human review; submit a new version instead"):
        review_request_create(submission=case, actor=builder, justification=WHY)


def test_a_pending_request_counts_in_the_open_case_quota(builder, settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {0: 1, 1: 1, 2: 1, 3: 1}
    first, second = outcome_case(builder), outcome_case(builder, state=State.REJECTED)
    assert open_case_count(builder) == 0
    review_request_create(submission=first, actor=builder, justification=WHY)
    assert open_case_count(builder) == 1
    with pytest.raises(QuotaExceeded, match="a pending request for human review counts as an open case"):
        review_request_create(submission=second, actor=builder, justification=WHY)
    with pytest.raises(QuotaExceeded):
        submission_create(owner=builder, title="One more")


def test_a_pending_request_suspends_shredding(builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    assert "request for human review waiting for a coordinator" in shredding_blocked_reason(case)
    review_request_decide(review_request=request, actor=coord, accept=False, reason="Nothing for people to add.")
    assert shredding_blocked_reason(case) is None


# --- services: deciding ----------------------------------------------------------------------------------------

def test_accepting_sends_the_case_to_consent_as_an_escalated_case(builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    decided = review_request_decide(review_request=request, actor=coord, accept=True,
                                    reason="A critical exfiltration finding deserves a reviewer.")
    case.refresh_from_db()
    assert (decided.status, case.state) == ("accepted", State.AWAITING_CONSENT)
    consent = Consent.objects.get(submission=case)
    assert consent.tier_required == "grey" and consent.answered_at is None
    moves = [e.data for e in AuditEvent.objects.filter(action="submission.transition", object_id=str(case.pk))]
    assert moves[-1]["from"] == "closed" and moves[-1]["to"] == "awaiting_consent"
    assert moves[-1]["review_request"] == request.pk
    assert AuditEvent.objects.filter(action="review_request.accepted", data__request=request.pk).exists()
    consent_answer(submission=case, actor=builder, accept=True, tier="grey", confirm_above_offer=True)
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_declining_records_the_reason_and_the_case_keeps_its_outcome(builder, coord):  # noqa: ANN001
    case = outcome_case(builder, state=State.REJECTED)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    decided = review_request_decide(review_request=request, actor=coord, accept=False,
                                    reason="The archive could not be unpacked; submit a new version.")
    case.refresh_from_db()
    assert (decided.status, case.state) == ("declined", State.REJECTED)
    assert decided.decision_reason == "The archive could not be unpacked; submit a new version."
    with pytest.raises(NotEditable, match="already declined"):
        review_request_decide(review_request=request, actor=coord, accept=True, reason="Changed my mind now.")


def test_a_decision_needs_a_reason(builder, coord):  # noqa: ANN001
    request = review_request_create(submission=outcome_case(builder), actor=builder, justification=WHY)
    with pytest.raises(ValidationFailed, match="reason of 10 to 2000 characters"):
        review_request_decide(review_request=request, actor=coord, accept=False, reason="no")
    assert ReviewRequest.objects.get(pk=request.pk).status == "pending"


def test_a_conflicted_coordinator_cannot_decide(builder):  # noqa: ANN001
    request = review_request_create(submission=outcome_case(builder), actor=builder, justification=WHY)
    colleague = make_coordinator("coord@acme-agents.example")  # the builder's own organisation domain
    with pytest.raises(Conflicted):
        review_request_decide(review_request=request, actor=colleague, accept=True, reason="Looks fine to me.")


def test_a_finished_case_reopens_only_through_an_accepted_request(builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    with pytest.raises(IllegalTransition):
        transition(case, State.AWAITING_CONSENT, actor=coord)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    with pytest.raises(IllegalTransition):  # pending is not accepted
        transition(case, State.AWAITING_CONSENT, actor=coord, data={"review_request": request.pk})
    case.refresh_from_db()
    assert case.state == State.CLOSED


# --- services: versions ----------------------------------------------------------------------------------------

def test_a_new_version_is_a_linked_prefilled_draft_with_its_own_artifacts(builder):  # noqa: ANN001
    first = outcome_case(builder)
    second = submission_new_version(previous=first, actor=builder)
    assert (second.state, second.version, second.previous_version_id) == (State.DRAFT, 2, first.pk)
    assert claim_key(second) == claim_key(first)
    assert second.manifest == first.manifest and second.claim_access_tier == first.claim_access_tier
    assert second.title.endswith("(v2)")
    assert not second.artifacts.exists() and not second.terms_acceptances.exists()
    assert second.config_digest == ""
    assert AuditEvent.objects.filter(action="submission.new_version", object_id=str(first.pk)).exists()
    third = submission_new_version(previous=_finish(second, builder), actor=builder)
    assert third.title == first.title + " (v3)"
    other = outcome_case(builder)
    other.title = "Mail agent (vision)"
    other.save(update_fields=["title"])
    assert submission_new_version(previous=other, actor=builder).title == "Mail agent (vision) (v2)"


def _finish(draft, builder):  # noqa: ANN001, ANN202
    """Give a draft version its own artifact and terms, then a guidance outcome."""
    import io

    from intake.services import terms_accept
    from tests.factories import make_terms

    terms_accept(submission=draft, actor=builder, terms=make_terms())
    artifact_add(submission=draft, actor=builder, name="settings.json",
                 stream=io.BytesIO(b'{"permissions": {"allow": ["Read", "Write"]}}'), kind="config")
    for step in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.CLOSED):
        draft = transition(draft, step, actor=None)
    return draft


def test_one_successor_per_version_and_only_after_an_outcome(builder, other_builder):  # noqa: ANN001
    first = outcome_case(builder, state=State.REJECTED)
    second = submission_new_version(previous=first, actor=builder)
    with pytest.raises(NotEditable, match=f"version 2 of this case already exists \\({second.reference}\\)"):
        submission_new_version(previous=first, actor=builder)
    with pytest.raises(NotEditable, match="can follow only a guidance or reject outcome"):
        submission_new_version(previous=second, actor=builder)
    with pytest.raises(PermissionDenied):
        submission_new_version(previous=outcome_case(builder), actor=other_builder)


def test_a_new_version_counts_in_the_quota(builder, settings):  # noqa: ANN001
    first = outcome_case(builder)
    settings.ASSAY_OPEN_CASE_QUOTA = {0: 0, 1: 0, 2: 0, 3: 0}
    with pytest.raises(QuotaExceeded):
        submission_new_version(previous=first, actor=builder)
    assert not Submission.objects.filter(previous_version=first).exists()


# --- the duplicate check compares claim and digest -------------------------------------------------------------

def _duplicate(submission):  # noqa: ANN001, ANN202
    from triage.fingerprints import FingerprintVerdict
    from triage.pipeline import _own_exact_duplicate

    return _own_exact_duplicate(submission, FingerprintVerdict(False, False, [], []))


def test_same_claim_and_digest_is_a_duplicate_a_changed_claim_or_digest_is_not(builder):  # noqa: ANN001
    first = outcome_case(builder)
    again = outcome_case(builder)  # same draft factory: same claim, same artifacts, same digest
    assert again.config_digest == first.config_digest
    assert _duplicate(again) == first
    version = submission_new_version(previous=first, actor=builder)
    from intake.services import submission_update

    submission_update(submission=version, actor=builder, claim_scope_in=[".mcp.json", "agent harness"])
    version = _finish(Submission.objects.get(pk=version.pk), builder)
    Submission.objects.filter(pk=version.pk).update(config_digest=first.config_digest)
    version.refresh_from_db()
    assert _duplicate(version) is None  # the same configuration under a corrected claim is not a duplicate
    unchanged = submission_new_version(previous=outcome_case(builder, state=State.REJECTED), actor=builder)
    unchanged = _finish(unchanged, builder)
    Submission.objects.filter(pk=unchanged.pk).update(config_digest="sha256:" + "e" * 64)
    unchanged.refresh_from_db()
    assert _duplicate(unchanged) is None  # the same claim about a changed configuration is not a duplicate


def test_a_withdrawn_or_shredded_earlier_case_is_not_what_a_submission_duplicates(builder):  # noqa: ANN001
    from intake.vault.shredding import case_shred

    withdrawn = make_draft(builder)
    first = outcome_case(builder, state=State.REJECTED)
    again = outcome_case(builder)
    Submission.objects.filter(pk=withdrawn.pk).update(config_digest=again.config_digest)
    withdrawn.refresh_from_db()
    transition(withdrawn, State.WITHDRAWN, actor=builder)
    assert _duplicate(again) == first
    assert _duplicate(first) is None  # only an earlier case is duplicated, and the withdrawn one is not followed up
    case_shred(submission=first, actor=builder, trigger="builder_request")
    assert _duplicate(again) is None


def test_the_policy_names_the_earlier_case_and_its_next_steps():
    from triage.policy import PolicyContext, decide

    decision = decide([], context=PolicyContext(builder_history={"exact_duplicate_of_own_case": True,
                                                                 "duplicate_of_reference": "AS-0123456789"}))
    assert decision.decision == "reject"
    assert decision.reasons == ["exact duplicate (same configuration and claim) of your earlier case AS-0123456789; "
                                "open that case to request human review or submit a new version"]


# --- pages ------------------------------------------------------------------------------------------------------

def test_the_case_page_offers_both_next_steps_with_labelled_forms(builder):  # noqa: ANN001
    case = outcome_case(builder)
    body = client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="case-next-steps"' in body and "Triage closed this case with guidance" in body
    assert f'action="/cases/{case.pk}/review-request/"' in body
    assert '<label for="id_justification">Why should people review this outcome?</label>' in body
    assert '<button type="submit">Request human review</button>' in body
    assert f'action="/cases/{case.pk}/new-version/"' in body and "Start version 2 of this case" in body


def test_a_builder_requests_review_on_the_page_and_sees_the_coordinators_answer(builder, coord):  # noqa: ANN001
    case = outcome_case(builder, state=State.REJECTED)
    client = client_for(builder)
    response = client.post(f"/cases/{case.pk}/review-request/", {"justification": WHY}, follow=True)
    assert response.status_code == 200 and "Human review of case" in response.content.decode()
    request = ReviewRequest.objects.get(submission=case)
    review_request_decide(review_request=request, actor=coord, accept=False,
                          reason="The rejection was for an unreadable archive.")
    body = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Requests for human review" in body and "Declined" in body
    assert "The rejection was for an unreadable archive." in body and WHY in body
    assert "submit a new configuration version" in body


def test_a_refused_request_keeps_what_the_builder_typed(builder):  # noqa: ANN001
    case = outcome_case(builder)
    response = client_for(builder).post(f"/cases/{case.pk}/review-request/", {"justification": "too short"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "too short" in body and "at least 30 characters" in body
    assert not ReviewRequest.objects.exists()


def test_review_request_and_new_version_posts_need_the_csrf_token(builder):  # noqa: ANN001
    case = outcome_case(builder)
    client = Client(enforce_csrf_checks=True)
    from tests.factories import login_with_mfa

    login_with_mfa(client, builder)
    assert client.post(f"/cases/{case.pk}/review-request/", {"justification": WHY}).status_code == 403
    assert client.post(f"/cases/{case.pk}/new-version/").status_code == 403
    assert not ReviewRequest.objects.exists() and not Submission.objects.filter(previous_version=case).exists()


def test_only_the_builder_may_request_review_or_a_new_version(builder, other_builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    reviewer = make_reviewer("reviewer@northwind.example")
    for user, expected in ((other_builder, 404), (reviewer, 404), (coord, 403)):
        client = client_for(user)
        assert client.post(f"/cases/{case.pk}/review-request/", {"justification": WHY}).status_code == expected
        assert client.post(f"/cases/{case.pk}/new-version/").status_code == expected
    assert not ReviewRequest.objects.exists() and not Submission.objects.filter(previous_version=case).exists()


def test_review_requests_are_rate_limited(builder, settings):  # noqa: ANN001
    settings.ASSAY_RATE_LIMITS = {"review-request": "1/h"}
    first, second = outcome_case(builder), outcome_case(builder, state=State.REJECTED)
    client = client_for(builder)
    assert client.post(f"/cases/{first.pk}/review-request/", {"justification": WHY}).status_code == 302
    refused = client.post(f"/cases/{second.pk}/review-request/", {"justification": WHY})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert ReviewRequest.objects.count() == 1


def test_a_new_version_from_the_page_opens_the_prefilled_wizard(builder):  # noqa: ANN001
    case = outcome_case(builder)
    client = client_for(builder)
    response = client.post(f"/cases/{case.pk}/new-version/")
    draft = Submission.objects.get(previous_version=case)
    assert response.status_code == 302 and response["Location"] == f"/cases/{draft.pk}/edit/claim/"
    wizard = client.get(response["Location"]).content.decode()
    assert "The agent cannot send ticket contents to any host outside the allowlist." in wizard
    versions = client.get(f"/cases/{draft.pk}/").content.decode()
    assert 'id="case-versions"' in versions and f'href="/cases/{case.pk}/"' in versions
    assert "Version 2:" in versions and "(this case)" in versions
    earlier = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'href="/cases/{draft.pk}/"' in earlier and "continue with" in earlier
    again = client.post(f"/cases/{case.pk}/new-version/")
    assert again.status_code == 409 and "version 2 of this case already exists" in again.content.decode()


def test_a_duplicate_rejection_points_to_the_earlier_case(builder):  # noqa: ANN001
    first = outcome_case(builder)
    duplicate = outcome_case(builder, state=State.REJECTED)
    TriageResult.objects.filter(submission=duplicate).update(duplicate_of=first)
    body = client_for(builder).get(f"/cases/{duplicate.pk}/").content.decode()
    assert 'id="duplicate-of"' in body and f'href="/cases/{first.pk}/"' in body and first.reference in body


def test_the_coordinator_sees_pending_requests_and_accepts_one(builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    client = client_for(coord)
    queue = client.get("/coordinate/").content.decode()
    assert "1 request for human review is waiting" in queue and 'href="/coordinate/review-requests/"' in queue
    page = client.get("/coordinate/review-requests/").content.decode()
    assert case.reference in page and WHY in page
    assert f'action="/coordinate/review-requests/{request.pk}/decide/"' in page
    assert "Reason (shown to the builder)" in page and "Record answer" in page
    refused = client.post(f"/coordinate/review-requests/{request.pk}/decide/", {f"r{request.pk}-answer": "accept"})
    assert refused.status_code == 400
    response = client.post(f"/coordinate/review-requests/{request.pk}/decide/",
                           {f"r{request.pk}-answer": "accept", f"r{request.pk}-reason": "Worth a reviewer's time."})
    assert response.status_code == 302 and response["Location"] == f"/coordinate/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state == State.AWAITING_CONSENT
    assert "No requests for human review are waiting." in client.get("/coordinate/review-requests/").content.decode()
    builder_page = client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    assert "Review access and consent" in builder_page and "Worth a reviewer" in builder_page


def test_builders_and_reviewers_cannot_use_the_coordinator_pages(builder, other_builder):  # noqa: ANN001
    request = review_request_create(submission=outcome_case(builder), actor=builder, justification=WHY)
    reviewer = make_reviewer("reviewer@northwind.example")
    for user in (builder, other_builder, reviewer):
        client = client_for(user)
        assert client.get("/coordinate/review-requests/").status_code == 403
        answer = {f"r{request.pk}-answer": "accept", f"r{request.pk}-reason": "Accepting my own request."}
        assert client.post(f"/coordinate/review-requests/{request.pk}/decide/", answer).status_code == 403
    assert ReviewRequest.objects.get(pk=request.pk).status == "pending"


def test_a_conflicted_coordinator_does_not_see_the_request(builder):  # noqa: ANN001
    request = review_request_create(submission=outcome_case(builder), actor=builder, justification=WHY)
    colleague = make_coordinator("coord@acme-agents.example")
    client = client_for(colleague)
    assert request.submission.reference not in client.get("/coordinate/review-requests/").content.decode()
    answer = {f"r{request.pk}-answer": "accept", f"r{request.pk}-reason": "Accepting my colleague's request."}
    assert client.post(f"/coordinate/review-requests/{request.pk}/decide/", answer).status_code == 404


# --- API --------------------------------------------------------------------------------------------------------

def _api(user, scopes=("submissions:read", "submissions:write")):  # noqa: ANN001, ANN202
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user, scopes=scopes)}")
    return client


def test_the_api_requests_review_and_lists_next_steps(builder):  # noqa: ANN001
    case = outcome_case(builder)
    api = _api(builder)
    steps = api.get(f"/api/v1/submissions/{case.pk}/next-steps/").json()
    assert (steps["can_request_review"], steps["can_submit_new_version"]) == (True, True)
    assert [v["reference"] for v in steps["versions"]] == [case.reference]
    short = api.post(f"/api/v1/submissions/{case.pk}/review-requests/", {"justification": "short"}, format="json")
    assert short.status_code == 400
    assert short.json()["error"]["message"] == "explain why the outcome should be reviewed by people in at least " \
                                               "30 characters"
    unknown = api.post(f"/api/v1/submissions/{case.pk}/review-requests/", {"justification": WHY, "x": 1},
                       format="json")
    assert unknown.status_code == 400
    created = api.post(f"/api/v1/submissions/{case.pk}/review-requests/", {"justification": WHY}, format="json")
    assert created.status_code == 201
    assert (created.json()["status"], created.json()["justification"]) == ("pending", WHY)
    again = api.post(f"/api/v1/submissions/{case.pk}/review-requests/", {"justification": WHY}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_editable"
    steps = api.get(f"/api/v1/submissions/{case.pk}/next-steps/").json()
    assert steps["can_request_review"] is False
    assert steps["review_request_refusal"] == "a request for human review of this case is already waiting for a " \
                                              "coordinator"
    assert [r["status"] for r in api.get(f"/api/v1/submissions/{case.pk}/review-requests/").json()] == ["pending"]


def test_the_api_starts_a_new_version(builder, other_builder):  # noqa: ANN001
    case = outcome_case(builder)
    assert _api(other_builder).post(f"/api/v1/submissions/{case.pk}/versions/").status_code == 404
    created = _api(builder).post(f"/api/v1/submissions/{case.pk}/versions/")
    assert created.status_code == 201
    body = created.json()
    assert (body["version"], body["previous_version"], body["state"]) == (2, str(case.pk), "draft")
    assert body["claim_scope_in"] == case.claim_scope_in and body["artifacts"] == []
    again = _api(builder).post(f"/api/v1/submissions/{case.pk}/versions/")
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]


def test_the_api_lets_a_coordinator_decide_and_nobody_else(builder, coord):  # noqa: ANN001
    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    assert _api(builder, scopes=("reviews",)).get("/api/v1/coordinate/review-requests/").status_code == 403
    reviewer = make_reviewer("reviewer@northwind.example")
    url = f"/api/v1/coordinate/review-requests/{request.pk}/decision/"
    assert _api(reviewer, scopes=("reviews",)).post(url, {"accept": True, "reason": "Sure, why not."},
                                                    format="json").status_code == 403
    api = _api(coord, scopes=("reviews",))
    assert [r["id"] for r in api.get("/api/v1/coordinate/review-requests/").json()] == [request.pk]
    missing = api.post(url, {"accept": False}, format="json")
    assert missing.status_code == 400
    short = api.post(url, {"accept": False, "reason": "no"}, format="json")
    assert short.status_code == 400 and "reason of 10 to 2000 characters" in short.json()["error"]["message"]
    declined = api.post(url, {"accept": False, "reason": "Nothing new to review here."}, format="json")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert api.post(url, {"accept": True, "reason": "Second thoughts now."}, format="json").status_code == 404
    mine = _api(builder).get(f"/api/v1/submissions/{case.pk}/review-requests/").json()
    assert mine[0]["decision_reason"] == "Nothing new to review here."


def test_the_triage_api_names_the_duplicated_case(builder):  # noqa: ANN001
    first = outcome_case(builder)
    duplicate = outcome_case(builder, state=State.REJECTED)
    TriageResult.objects.filter(submission=duplicate).update(duplicate_of=first)
    body = _api(builder).get(f"/api/v1/submissions/{duplicate.pk}/triage/").json()
    assert body["duplicate_of"] == {"id": str(first.pk), "reference": first.reference}
    assert _api(builder).get(f"/api/v1/submissions/{first.pk}/triage/").json()["duplicate_of"] is None



def test_the_live_status_links_the_builder_to_the_next_steps_once_triage_finishes(builder, coord):  # noqa: ANN001
    case = outcome_case(builder, state=State.REJECTED)
    status = client_for(builder).get(f"/cases/{case.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/cases/{case.pk}/#case-next-steps"' in status
    assert "#case-next-steps" not in client_for(coord).get(f"/cases/{case.pk}/", HTTP_HX_REQUEST="true").content.decode()


def test_the_builders_own_deletion_withdraws_a_pending_request_but_the_sweep_waits(builder):  # noqa: ANN001
    from intake.vault.errors import ShredBlocked
    from intake.vault.shredding import case_shred

    case = outcome_case(builder)
    request = review_request_create(submission=case, actor=builder, justification=WHY)
    with pytest.raises(ShredBlocked, match="request for human review waiting"):
        case_shred(submission=case, actor=None, trigger="retention_expired")
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.SHREDDED
    withdrawn = ReviewRequest.objects.get(pk=request.pk)
    assert (withdrawn.status, withdrawn.justification) == ("withdrawn", "[shredded]")
    destroyed = {item["record_class"]: item for item in receipt.document["receipt"]["derived_records"]}
    assert destroyed["intake.review_request"]["count"] == 1
    assert open_case_count(builder) == 0


def test_a_reviewed_outcome_is_not_sent_back_to_review_but_may_get_a_new_version(builder):  # noqa: ANN001
    from tests.unit.review_portal_support import case_in_review

    case = case_in_review(builder)
    for step in (State.DECIDED, State.REPORTED, State.CLOSED):
        case = transition(case, step, actor=None)
    with pytest.raises(NotEditable, match="already followed a human review"):
        review_request_create(submission=case, actor=builder, justification=WHY)
    body = client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    assert "This case was reviewed by people and is closed." in body
    assert "not available — this outcome already followed a human review" in body
    assert submission_new_version(previous=case, actor=builder).version == 2


def test_the_builders_export_carries_versions_and_requests(builder):  # noqa: ANN001
    import io
    import json
    import zipfile

    case = outcome_case(builder)
    review_request_create(submission=case, actor=builder, justification=WHY)
    draft = submission_new_version(previous=case, actor=builder)
    response = client_for(builder).get("/account/export.zip")
    document = json.loads(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).read("assay-export.json"))
    by_reference = {c["reference"]: c for c in document["cases"]}
    assert by_reference[case.reference]["review_requests"][0]["justification"] == WHY
    assert (by_reference[draft.reference]["version"], by_reference[draft.reference]["previous_version"]) == (
        2, case.reference)


def test_a_same_content_link_under_another_claim_does_not_call_itself_a_duplicate(builder):  # noqa: ANN001
    from triage.models import FingerprintLink, LinkKind

    first = outcome_case(builder)
    version = _finish(submission_new_version(previous=first, actor=builder), builder)
    FingerprintLink.objects.create(submission=version, other=first, similarity=1.0, kind=LinkKind.OWN_EXACT)
    TriageResult.objects.create(submission=version, policy_version="test-1", sandbox="none",
                                config_digest=first.config_digest, score=0, decision="guidance",
                                reasons=["no findings by static checks"], findings=[])
    body = client_for(builder).get(f"/cases/{version.pk}/").content.decode()
    assert f"Same content as the builder&#x27;s own case: {first.reference}" in body
    assert "duplicate" not in body.lower()
