"""The review portal end to end over HTTP: consent, plan and assign, accept/decline (re-plan), grant,
case view at the tier, review form, decision with agreement, calibration, registry edits."""

from __future__ import annotations

import pytest

from intake.models import AuditEvent
from intake.states import State
from reviews.models import AccessGrant, Assignment, ConflictDeclaration, Decision, Review, VendorTie
from reviews.services import grant_issue, review_submit
from tests.unit.review_portal_support import (
    case_in_review, client_for, escalated_case, granted, make_coordinator, make_reviewer,
)


@pytest.fixture
def coord(db):  # noqa: ANN001, ANN201
    return make_coordinator()


@pytest.mark.django_db
def test_consent_page_shows_tier_and_duration_and_accepting_moves_the_case_in_review(builder):  # noqa: ANN001
    case = escalated_case(builder, tier_required="grey", offered="grey")
    client = client_for(builder)
    page = client.get(f"/cases/{case.pk}/consent/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Grey box: redacted artifacts" in body and "30 days at most" in body
    response = client.post(f"/cases/{case.pk}/consent/", {"answer": "accept", "tier": "grey"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


@pytest.mark.django_db
def test_consent_above_the_offer_needs_the_explicit_box(builder):  # noqa: ANN001
    case = escalated_case(builder, tier_required="white", offered="grey")
    client = client_for(builder)
    refused = client.post(f"/cases/{case.pk}/consent/", {"answer": "accept", "tier": "white"})
    assert refused.status_code == 400
    assert "more than your claim offered (grey box); confirm it explicitly" in refused.content.decode()
    client.post(f"/cases/{case.pk}/consent/", {"answer": "accept", "tier": "white", "confirm_above_offer": "on"})
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW and case.consent.extra_consent is True


@pytest.mark.django_db
def test_declining_consent_closes_with_guidance(builder):  # noqa: ANN001
    case = escalated_case(builder)
    response = client_for(builder).post(f"/cases/{case.pk}/consent/", {"answer": "decline"}, follow=True)
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert "closed with guidance" in response.content.decode()


@pytest.mark.django_db
def test_builder_names_a_conflict_and_that_reviewer_is_no_longer_assignable(builder, coord):  # noqa: ANN001
    case = case_in_review(builder)
    reviewer = make_reviewer("r1@northwind.example")
    response = client_for(builder).post(f"/cases/{case.pk}/conflicts/", {"party": "Northwind Security"})
    assert response.status_code == 302
    assert ConflictDeclaration.objects.filter(submission=case, party="Northwind Security").exists()
    page = client_for(coord).get(f"/coordinate/cases/{case.pk}/").content.decode()
    assert "declared_by_builder" in page and "builder declared a conflict with Northwind Security" in page
    refused = client_for(coord).post(f"/coordinate/cases/{case.pk}/assign/", {"reviewer": reviewer.pk})
    assert refused.status_code == 403
    assert not Assignment.objects.filter(submission=case, reviewer=reviewer).exists()


@pytest.mark.django_db
def test_coordinator_page_lists_conflicts_with_reasons_and_plan_skips_conflicted(builder, coord):  # noqa: ANN001
    case = case_in_review(builder)
    clean = make_reviewer("clean@southwind.example", organisation="Southwind")
    tied = make_reviewer("tied@eastwind.example", organisation="Eastwind")
    VendorTie.objects.create(reviewer=tied.reviewer_profile, name="ExampleAI", kind="employer")
    page = client_for(coord).get(f"/coordinate/cases/{case.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "employer tie to ExampleAI, vendor of ExampleAI example-large used by the system" in body
    plan_section = body.split('id="plan"')[1].split("</section>")[0]
    assert clean.pseudonym in plan_section and tied.pseudonym not in plan_section
    assert "1 seat(s) unfilled" in plan_section
    rows = body.split('id="standings"')[1].split("</table>")[0].split("<tr>")
    tied_row = next(r for r in rows if tied.pseudonym in r)
    clean_row = next(r for r in rows if clean.pseudonym in r)
    assert "not assignable" in tied_row and "Assign</button>" not in tied_row
    assert "Assign</button>" in clean_row


@pytest.mark.django_db
def test_one_click_plan_proposes_and_a_decline_replans(builder, coord):  # noqa: ANN001
    case = case_in_review(builder)
    first = make_reviewer("a@southwind.example", organisation="Southwind")
    second = make_reviewer("b@eastwind.example", organisation="Eastwind")
    third = make_reviewer("c@westwind.example", organisation="Westwind", expertise=())
    client_for(coord).post(f"/coordinate/cases/{case.pk}/assign-plan/")
    proposed = set(Assignment.objects.filter(submission=case).values_list("reviewer_id", flat=True))
    assert proposed == {first.pk, second.pk}  # the best two by expertise
    assignment = Assignment.objects.get(submission=case, reviewer=first)
    response = client_for(first).post(f"/review/assignments/{assignment.pk}/respond/", {"answer": "decline"})
    assert response.status_code == 302
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.DECLINED
    assert Assignment.objects.get(submission=case, reviewer=third).status == Assignment.Status.PROPOSED
    replans = list(AuditEvent.objects.filter(action="assignment.replan", object_id=str(case.pk)).order_by("pk"))
    assert len(replans) == 2
    assert replans[0].actor_id == coord.pk and "automatic" not in replans[0].data
    # The decline's re-plan was done by the system for the coordinator, not by the coordinator.
    assert replans[1].actor_id is None
    assert replans[1].data["automatic"] == "decline" and replans[1].data["declined_by"] == first.pseudonym
    assert replans[1].data["on_behalf_of"] == coord.pseudonym
    auto_proposal = AuditEvent.objects.filter(action="assignment.propose", object_id=str(case.pk)).order_by("pk").last()
    assert auto_proposal.actor_id is None and auto_proposal.data["reviewer"] == third.pseudonym


@pytest.mark.django_db
def test_reviewer_accepts_gets_granted_and_sees_the_case_without_the_builders_identity(builder, coord):  # noqa: ANN001
    case = case_in_review(builder)
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    client_for(coord).post(f"/coordinate/cases/{case.pk}/assign/", {"reviewer": reviewer.pk})
    assignment = Assignment.objects.get(submission=case, reviewer=reviewer)
    rclient = client_for(reviewer)
    inbox = rclient.get("/review/").content.decode()
    assert case.reference in inbox and builder.email not in inbox and case.title not in inbox
    rclient.post(f"/review/assignments/{assignment.pk}/respond/", {"answer": "accept"})
    response = client_for(coord).post(f"/coordinate/cases/{case.pk}/grants/",
                                      {"reviewer": reviewer.pk, "tier": "black", "days": 5})
    assert response.status_code == 302
    grant = AccessGrant.objects.get(submission=case, reviewer=reviewer)
    assert grant.tier == "black"
    page = rclient.get(f"/review/cases/{case.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].startswith("no-store")
    assert case.claim_statement in body and "trifecta.mcp-untrusted-to-shell" in body
    assert "ExampleAI example-large" in body
    assert builder.email not in body and "acme" not in body.lower()
    assert "The builder's identity is not disclosed." in body
    assert reviewer.pseudonym in body  # watermark label
    # Black box: no artifacts listed.
    assert "agent.zip" not in body


@pytest.mark.django_db
def test_identity_is_shown_only_when_the_builder_opted_in(builder, coord):  # noqa: ANN001
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    setup = granted(builder, coord, reviewer, tier="grey")
    type(setup.case.consent).objects.filter(pk=setup.case.consent.pk).update(reveal_identity=True)
    body = client_for(reviewer).get(f"/review/cases/{setup.case.pk}/").content.decode()
    assert builder.email in body


@pytest.mark.django_db
def test_review_form_submits_structured_review_and_others_stay_hidden_until_then(builder, coord):  # noqa: ANN001
    first = make_reviewer("r1@southwind.example", organisation="Southwind")
    second = make_reviewer("r2@eastwind.example", organisation="Eastwind")
    setup = granted(builder, coord, first, tier="grey")
    from reviews.services import assignment_propose, assignment_respond

    assignment_respond(assignment=assignment_propose(submission=setup.case, reviewer=second, actor=coord),
                       actor=second, accept=True)
    grant_issue(submission=setup.case, reviewer=second, tier="grey", days=7, actor=coord)
    review_submit(submission=setup.case, reviewer=second, verdict="supported", confidence=55, findings=[],
                  limitations="grey box only")
    client = client_for(first)
    before = client.get(f"/review/cases/{setup.case.pk}/").content.decode()
    assert "Other reviewers' reviews stay hidden until you submit yours." in before
    assert second.pseudonym not in before
    bad = client.post(f"/review/cases/{setup.case.pk}/review/", {
        "verdict": "not_supported", "confidence": 80, "limitations": "no runtime access",
        "findings-TOTAL_FORMS": 1, "findings-INITIAL_FORMS": 0, "findings-0-title": "Shell reachable",
        "findings-0-severity": "high", "findings-0-evidence": "", "findings-0-remediation": ""})
    assert bad.status_code == 400
    assert "A finding needs a title, an evidence reference and a remediation." in bad.content.decode()
    response = client.post(f"/review/cases/{setup.case.pk}/review/", {
        "verdict": "not_supported", "confidence": 80, "limitations": "no runtime access", "summary": "",
        "findings-TOTAL_FORMS": 2, "findings-INITIAL_FORMS": 0, "findings-0-title": "Shell reachable",
        "findings-0-severity": "high", "findings-0-evidence": "agent.zip:agent/config.py:1",
        "findings-0-remediation": "Require approval for shell", "findings-0-taxonomy": ["LLM06:2025", "CWE-78"],
        "findings-1-title": ""})
    assert response.status_code == 302
    review = Review.objects.get(submission=setup.case, reviewer=first)
    assert review.verdict == "not_supported" and review.findings == [
        {"title": "Shell reachable", "severity": "high", "evidence": "agent.zip:agent/config.py:1",
         "remediation": "Require approval for shell", "taxonomy": ["CWE-78", "LLM06:2025"]}]
    after = client.get(f"/review/cases/{setup.case.pk}/").content.decode()
    assert second.pseudonym in after


@pytest.mark.django_db
def test_decision_shows_agreement_flags_disagreement_and_moves_case_to_decided(builder, coord):  # noqa: ANN001
    first = make_reviewer("r1@southwind.example", organisation="Southwind")
    setup = granted(builder, coord, first)
    review_submit(submission=setup.case, reviewer=first, verdict="inconclusive", confidence=50, findings=[],
                  limitations="x")
    client = client_for(coord)
    page = client.get(f"/coordinate/cases/{setup.case.pk}/").content.decode()
    assert "1 review(s); Fleiss' κ undefined below two reviews" in page
    short = client.post(f"/coordinate/cases/{setup.case.pk}/decision/", {"verdict": "supported", "rationale": "ok"})
    assert short.status_code == 400 and "rationale of at least 20 characters" in short.content.decode()
    overruled = client.post(f"/coordinate/cases/{setup.case.pk}/decision/", {
        "verdict": "supported", "rationale": "The allowlist proxy holds in every path we examined."})
    assert overruled.status_code == 400 and "give a reason for overruling the reviews" in overruled.content.decode()
    response = client.post(f"/coordinate/cases/{setup.case.pk}/decision/", {
        "verdict": "supported", "rationale": "The allowlist proxy holds in every path we examined.",
        "override_reason": "The reviewer could not run the proxy; its logs show every request filtered."},
        follow=True)
    setup.case.refresh_from_db()
    assert setup.case.state == State.DECIDED
    decision = Decision.objects.get(submission=setup.case)
    assert decision.disagreement is True
    assert "Reviewers disagreed; the rationale is on record." in response.content.decode()
    calibration = client.get("/coordinate/calibration/").content.decode()
    assert first.pseudonym in calibration and "0 %" in calibration
    later = client.get("/coordinate/calibration/", {"since": "2999-01-01"}).content.decode()
    assert first.pseudonym not in later and "No decided cases yet." in later


@pytest.mark.django_db
def test_revoking_a_grant_cuts_the_open_case_at_once(builder, coord):  # noqa: ANN001
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    setup = granted(builder, coord, reviewer)
    rclient = client_for(reviewer)
    assert rclient.get(f"/review/cases/{setup.case.pk}/").status_code == 200
    client_for(coord).post(f"/coordinate/grants/{setup.grant.pk}/revoke/", {"reason": "reviewer left"})
    assert rclient.get(f"/review/cases/{setup.case.pk}/").status_code == 404
    assert setup.case.reference not in rclient.get("/review/").content.decode()


@pytest.mark.django_db
def test_two_coordinator_override_through_the_pages(builder, coord):  # noqa: ANN001
    case = case_in_review(builder)
    second = make_coordinator("second@assay.example")
    tied = make_reviewer("tied@eastwind.example", organisation="Eastwind")
    VendorTie.objects.create(reviewer=tied.reviewer_profile, name="ExampleAI", kind="investor")
    reason = "The tie is to an unrelated ExampleAI subsidiary, verified by contract."
    form = client_for(coord).get(f"/coordinate/cases/{case.pk}/").content.decode().split('id="override-form"')[1]
    assert f'<option value="{tied.pk}">{tied.pseudonym} (vendor_interest)</option>' in form.split("</form>")[0]
    client_for(coord).post(f"/coordinate/cases/{case.pk}/overrides/",
                           {"reviewer": tied.pk, "rule": "vendor_interest", "reason": reason})
    override = case.conflict_overrides.get()
    same = client_for(coord).post(f"/coordinate/overrides/{override.pk}/approve/")
    assert same.status_code == 403 and "a second coordinator must approve" in same.content.decode()
    assert client_for(coord).post(f"/coordinate/cases/{case.pk}/assign/", {"reviewer": tied.pk}).status_code == 403
    client_for(second).post(f"/coordinate/overrides/{override.pk}/approve/")
    assert client_for(coord).post(f"/coordinate/cases/{case.pk}/assign/", {"reviewer": tied.pk}).status_code == 302
    assert Assignment.objects.filter(submission=case, reviewer=tied).exists()


@pytest.mark.django_db
def test_reviewer_registry_changes_are_saved_and_audited(db):  # noqa: ANN001
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    client = client_for(reviewer)
    assert client.get("/review/profile/").status_code == 200
    client.post("/review/profile/", {"verified_domains": "southwind.example\nLabs.Southwind.example",
                                     "expertise": "mcp, no-exfiltration", "capacity": 4, "available": "on"})
    profile = reviewer.reviewer_profile
    profile.refresh_from_db()
    assert profile.verified_domains == ["labs.southwind.example", "southwind.example"]
    assert profile.expertise == ["mcp", "no-exfiltration"] and profile.capacity == 4
    bad = client.post("/review/profile/", {"verified_domains": "bob@x.example", "expertise": "", "capacity": 1})
    assert bad.status_code == 400 and "organisation domains look like example.org" in bad.content.decode()
    client.post("/review/profile/ties/", {"name": "ExampleAI", "kind": "investor", "start": "2024-01-01",
                                          "end": "2025-01-01"})
    tie = VendorTie.objects.get(reviewer=profile)
    backwards = client.post("/review/profile/ties/", {"name": "Other", "kind": "customer", "start": "2025-01-01",
                                                      "end": "2024-01-01"})
    assert backwards.status_code == 400 and "a tie cannot end before it starts" in backwards.content.decode()
    client.post(f"/review/profile/ties/{tie.pk}/remove/")
    client.post("/review/profile/declarations/", {"party": "acme-agents.example", "note": "former employer"})
    actions = list(AuditEvent.objects.filter(actor=reviewer).values_list("action", flat=True))
    for action in ("reviewer.profile.update", "reviewer.tie.add", "reviewer.tie.remove",
                   "conflict.declare.reviewer"):
        assert action in actions
    update = AuditEvent.objects.filter(actor=reviewer, action="reviewer.profile.update").first()
    assert update.data["changed"]["capacity"] == {"from": 3, "to": 4}
    assert not VendorTie.objects.filter(pk=tie.pk).exists()
