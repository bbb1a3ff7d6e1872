"""IP disputes and legal holds, end to end: services, portal pages (permissions, the two-person rule, CSRF), the
API, and what the case page and the retention summary show.

The bug classes pinned here: a builder disputing from someone else's case, a respondent reading the claimant's
text, one coordinator placing a hold alone, a builder or an unverified session acting as a coordinator, a refused
dispute leaving its evidence file in the vault, evidence outliving the claimant's shred.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from intake.errors import NotEditable, ValidationFailed
from intake.models import AuditEvent
from intake.states import State, transition
from intake.vault.disputes import dispute_decide, dispute_evidence_open, dispute_open
from intake.vault.errors import NotAllowed, ShredBlocked
from intake.vault.models import DisputeState, IpDispute, LegalHold, VaultObject, VaultObjectState
from intake.vault.retention import legal_hold_approve, legal_hold_release, legal_hold_request, retention_summary
from intake.vault.shredding import case_shred
from reviews.models import Report
from tests.factories import make_draft, make_token
from tests.unit.review_portal_support import client_for, make_coordinator

pytestmark = pytest.mark.django_db
STATEMENT = "Their MCP wiring and hooks are copied from our system, file for file."
EVIDENCE = b"canary-evidence-7f3a: our original hooks, dated 2026-03-01"


@pytest.fixture(autouse=True)
def _private_vault(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_VAULT = f"file://{tmp_path / 'vault'}"
    settings.ASSAY_KEY_PROVIDER = f"local:{tmp_path / 'keys' / 'kek'}"
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_SHRED_LEDGER = str(tmp_path / "shred-ledger")
    return tmp_path


def report_of(case) -> Report:  # noqa: ANN001
    """A report row of ``case`` (what the builder names their dispute by); issuing a real one needs a review."""
    return Report.objects.create(submission=case, kind=Report.Kind.GUIDANCE, config_digest="sha256:" + "1" * 64,
                                 statement={"report": "of their case"}, statement_sha256=uuid.uuid4().hex * 2,
                                 key_id="k1", pdf_sha256="0" * 64, pdf=b"%PDF", issued_at=timezone.now(),
                                 expires_at=timezone.now() + timedelta(days=180))


@pytest.fixture
def parties(builder, other_builder, terms):  # noqa: ANN001, ANN201
    mine = transition(make_draft(builder), State.WITHDRAWN)  # any case but a draft or shredded one may dispute
    theirs = make_draft(other_builder, title="Their agent")
    return mine, theirs, report_of(theirs)


def _raw(dispute: IpDispute, column: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM vault_ipdispute WHERE id = %s", [dispute.pk.hex if
                       connection.vendor == "sqlite" else str(dispute.pk)])
        return cursor.fetchone()[0]


# --- services --------------------------------------------------------------------------------------------

def test_evidence_is_stored_encrypted_and_the_builders_text_is_sealed(parties, builder, _private_vault):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT, evidence_file=io.BytesIO(EVIDENCE), evidence_name="hooks-2026.txt")
    record = VaultObject.objects.get(pk=uuid.UUID(hex=dispute.evidence_key))
    assert record.state == VaultObjectState.STORED and record.size == len(EVIDENCE)
    assert f"sha256:{record.sha256}" in dispute.evidence_digests
    ciphertext = b"".join(path.read_bytes() for path in Path(_private_vault / "vault").rglob("*") if path.is_file())
    assert ciphertext and EVIDENCE not in ciphertext
    assert _raw(dispute, "statement").startswith("assay-sealed/v1:")
    assert _raw(dispute, "evidence_name").startswith("assay-sealed/v1:")
    fresh = IpDispute.objects.get(pk=dispute.pk)
    assert (fresh.statement, fresh.evidence_name) == (STATEMENT, "hooks-2026.txt")
    opened = AuditEvent.objects.filter(action="vault.dispute.open")
    assert opened.count() == 2 and all(STATEMENT not in str(event.data) for event in opened)


def test_only_a_coordinator_reads_the_evidence_and_each_read_is_audited(parties, builder, coordinator):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT, evidence_file=io.BytesIO(EVIDENCE), evidence_name="e.txt")
    with pytest.raises(NotAllowed):
        dispute_evidence_open(dispute=dispute, actor=builder)
    assert dispute_evidence_open(dispute=dispute, actor=coordinator).read() == EVIDENCE
    read = AuditEvent.objects.get(action="vault.decrypt")
    assert read.actor_id == coordinator.pk and read.data["purpose"] == "dispute_review"


def test_a_refused_dispute_leaves_no_evidence_behind(parties, builder):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder", statement=STATEMENT)
    stored = VaultObject.objects.count()
    with pytest.raises(NotEditable, match="already open"):
        dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                     statement=STATEMENT, evidence_file=io.BytesIO(EVIDENCE), evidence_name="e.txt")
    assert VaultObject.objects.count() == stored


def test_shredding_the_claimant_destroys_the_evidence_and_the_statement(parties, builder, coordinator):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT, evidence_file=io.BytesIO(EVIDENCE), evidence_name="e.txt")
    with pytest.raises(ShredBlocked, match="open IP dispute"):
        case_shred(submission=mine, actor=builder, trigger="builder_request")
    dispute_decide(dispute=dispute, actor=coordinator, outcome="upheld",
                   decision="The hooks match the claimant's earlier, dated files exactly.")
    receipt = case_shred(submission=mine, actor=builder, trigger="builder_request")
    record = VaultObject.objects.get(pk=uuid.UUID(hex=dispute.evidence_key))
    assert record.wrapped_key is None and record.data_key_id in receipt.document["receipt"]["data_keys_destroyed"]
    fresh = IpDispute.objects.get(pk=dispute.pk)
    assert fresh.statement == "[shredded]" and fresh.outcome == "upheld"


def test_a_legal_hold_needs_a_second_coordinator_and_a_reason_to_release(builder, coordinator, terms):  # noqa: ANN001
    case = transition(make_draft(builder), State.WITHDRAWN)
    second = make_coordinator("second@assay.example")
    with pytest.raises(ValidationFailed, match="written reason"):
        legal_hold_request(submission=case, actor=coordinator, reason="because")
    hold = legal_hold_request(submission=case, actor=coordinator, reason="Preserve for the court order")
    with pytest.raises(NotAllowed, match="second coordinator"):
        legal_hold_approve(hold=hold, actor=coordinator)
    with pytest.raises(NotAllowed):
        legal_hold_approve(hold=hold, actor=builder)
    legal_hold_approve(hold=hold, actor=second)
    assert retention_summary(case)["legal_hold"] == "approved"
    with pytest.raises(ValidationFailed, match="written reason"):
        legal_hold_release(hold=hold, actor=coordinator, reason="")
    legal_hold_release(hold=hold, actor=coordinator, reason="The court order was lifted")
    assert retention_summary(case)["legal_hold"] is None
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="vault.legal_hold").order_by("seq")] == [
        "vault.legal_hold.request", "vault.legal_hold.approve", "vault.legal_hold.release"]


# --- portal ----------------------------------------------------------------------------------------------

def test_a_builder_opens_a_dispute_in_the_portal_and_the_respondent_never_sees_its_text(parties, builder,
                                                                                         other_builder):  # noqa: ANN001
    mine, theirs, report = parties
    client = client_for(builder)
    assert "Open an IP dispute" in client.get(f"/cases/{mine.pk}/").content.decode()
    evidence = io.BytesIO(EVIDENCE)
    evidence.name = "hooks.txt"
    response = client.post(f"/cases/{mine.pk}/disputes/new/", {"report_id": str(report.pk), "statement": STATEMENT,
                                                              "evidence": evidence})
    assert response.status_code == 302 and response["Location"] == f"/cases/{mine.pk}/"
    dispute = IpDispute.objects.get()
    assert (dispute.claimant_case_id, dispute.respondent_case_id, dispute.target_ref) == (mine.pk, theirs.pk,
                                                                                          str(report.pk))
    page = client.get(f"/cases/{mine.pk}/").content.decode()
    assert STATEMENT in page and "hooks.txt" in page and "party to an open IP dispute" in page
    their_page = client_for(other_builder).get(f"/cases/{theirs.pk}/").content.decode()
    assert "Another builder raised an IP dispute" in their_page
    assert STATEMENT not in their_page and mine.reference not in their_page and "hooks.txt" not in their_page
    assert builder.email not in their_page and "Another builder" in their_page and "this case is the respondent" in their_page


def test_only_the_cases_builder_opens_a_dispute_and_bad_input_is_a_clear_400(parties, builder, other_builder):  # noqa: ANN001
    mine, theirs, report = parties
    body = {"report_id": str(report.pk), "statement": STATEMENT}
    assert client_for(other_builder).post(f"/cases/{mine.pk}/disputes/new/", body).status_code == 404
    coordinator = client_for(make_coordinator())
    assert coordinator.get(f"/cases/{mine.pk}/").status_code == 200  # sees the case, but it is not theirs
    assert coordinator.get(f"/cases/{mine.pk}/disputes/new/").status_code == 403
    assert coordinator.post(f"/cases/{mine.pk}/disputes/new/", body).status_code == 403
    client = client_for(builder)
    unknown = client.post(f"/cases/{mine.pk}/disputes/new/", {**body, "report_id": str(uuid.uuid4())})
    assert unknown.status_code == 400 and "no report with that id was issued here" in unknown.content.decode()
    own = client.post(f"/cases/{mine.pk}/disputes/new/", {**body, "report_id": str(report_of(mine).pk)})
    assert own.status_code == 400 and "two different builders" in own.content.decode()
    short = client.post(f"/cases/{mine.pk}/disputes/new/", {**body, "statement": "copied"})
    assert short.status_code == 400
    assert not IpDispute.objects.exists()


def test_portal_writes_need_a_csrf_token(parties, builder, coordinator):  # noqa: ANN001
    mine, _theirs, report = parties
    from tests.factories import login_with_mfa

    strict = login_with_mfa(Client(enforce_csrf_checks=True), builder)
    refused = strict.post(f"/cases/{mine.pk}/disputes/new/", {"report_id": str(report.pk), "statement": STATEMENT})
    assert refused.status_code == 403 and not IpDispute.objects.exists()
    coord = login_with_mfa(Client(enforce_csrf_checks=True), make_coordinator())
    refused = coord.post(f"/coordinate/cases/{mine.pk}/holds/", {"reason": "Preserve for the court order"})
    assert refused.status_code == 403 and not LegalHold.objects.exists()


def test_a_coordinator_decides_a_dispute_and_both_builders_see_the_decision(parties, builder, other_builder):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT)
    coordinator = make_coordinator()
    body = {"outcome": "dismissed", "decision": "Both follow the same public template; nothing was taken.",
            "case": str(mine.pk)}
    assert client_for(builder).post(f"/coordinate/disputes/{dispute.pk}/decide/", body).status_code == 403
    unverified = Client()
    unverified.force_login(coordinator)  # signed in, but this session never passed the second factor
    refused = unverified.post(f"/coordinate/disputes/{dispute.pk}/decide/", body)
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/2fa/reauthenticate/")
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.OPEN
    client = client_for(coordinator)
    page = client.get(f"/cases/{mine.pk}/").content.decode()
    assert STATEMENT in page and theirs.reference in page and "Record decision" in page
    assert client.post(f"/coordinate/disputes/{dispute.pk}/decide/", {**body, "outcome": "maybe"}).status_code == 400
    assert client.post(f"/coordinate/disputes/{uuid.uuid4()}/decide/", body).status_code == 404
    assert client.post(f"/coordinate/disputes/{dispute.pk}/decide/", body).status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.decided_by_id) == (DisputeState.DECIDED, "dismissed",
                                                                       coordinator.pk)
    again = client.post(f"/coordinate/disputes/{dispute.pk}/decide/", body)
    assert again.status_code == 409 and "already decided" in again.content.decode()
    for user, case in ((builder, mine), (other_builder, theirs)):
        assert "same public template" in client_for(user).get(f"/cases/{case.pk}/").content.decode()
    assert AuditEvent.objects.filter(action="vault.dispute.decide", data__outcome="dismissed").count() == 2


def test_a_coordinator_pair_places_and_releases_a_legal_hold_in_the_portal(builder, terms):  # noqa: ANN001
    case = transition(make_draft(builder), State.WITHDRAWN)
    first, second = make_coordinator("first@assay.example"), make_coordinator("second@assay.example")
    assert client_for(builder).post(f"/coordinate/cases/{case.pk}/holds/",
                                    {"reason": "Preserve for the court order"}).status_code == 403
    one, two = client_for(first), client_for(second)
    assert one.post(f"/coordinate/cases/{case.pk}/holds/", {"reason": "short"}).status_code == 400
    assert one.post(f"/coordinate/cases/{case.pk}/holds/", {"reason": "Preserve for the court order"}
                    ).status_code == 302
    hold = LegalHold.objects.get()
    alone = one.post(f"/coordinate/holds/{hold.pk}/approve/")
    assert alone.status_code == 403 and "second coordinator" in alone.content.decode()
    assert "Approve hold" in two.get(f"/cases/{case.pk}/").content.decode()
    assert two.post(f"/coordinate/holds/{hold.pk}/approve/").status_code == 302
    hold.refresh_from_db()
    assert hold.approved_by_id == second.pk
    assert "In force" in one.get(f"/cases/{case.pk}/").content.decode()
    builder_page = client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    assert "under a legal hold" in builder_page and "Preserve for the court order" not in builder_page
    summary = client_for(builder).get(f"/cases/{case.pk}/delete/").content.decode()
    assert "under a legal hold" in summary
    with pytest.raises(ShredBlocked):
        case_shred(submission=case, actor=None, trigger="retention_expired")
    assert one.post(f"/coordinate/holds/{hold.pk}/release/", {"reason": ""}).status_code == 400
    assert one.post(f"/coordinate/holds/{hold.pk}/release/", {"reason": "The court order was lifted"}
                    ).status_code == 302
    hold.refresh_from_db()
    assert hold.released_by_id == first.pk
    assert case_shred(submission=case, actor=None, trigger="retention_expired")


def test_the_builder_acknowledges_a_report_which_closes_the_case(builder, other_builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW,
                  State.DECIDED, State.REPORTED):
        case = transition(case, state)  # set-up only; tests/integration/test_lifecycle.py walks the real services
    page = client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    assert "Acknowledge the report and close the case" in page and "closes when you acknowledge" in page
    assert client_for(other_builder).post(f"/cases/{case.pk}/acknowledge/").status_code == 404
    assert client_for(builder).post(f"/cases/{case.pk}/acknowledge/").status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED
    again = client_for(builder).post(f"/cases/{case.pk}/acknowledge/")
    assert again.status_code == 409 and "only a reported case can be acknowledged" in again.content.decode()


# --- API -------------------------------------------------------------------------------------------------

def _api(user, scopes):  # noqa: ANN001, ANN202
    token = make_token(user, scopes=scopes)
    client = Client()

    def call(method: str, url: str, body: dict | None = None):  # noqa: ANN202
        if method == "get":
            return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(url, body or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    return call


def test_a_builder_opens_a_dispute_over_the_api_with_clear_400s(parties, builder, other_builder):  # noqa: ANN001
    mine, theirs, report = parties
    api = _api(builder, ("submissions:read", "submissions:write"))
    url = f"/api/v1/submissions/{mine.pk}/disputes/"
    bad = api("post", url, {"target": "report", "target_id": "not-a-uuid", "statement": STATEMENT})
    assert bad.status_code == 400
    assert bad.json()["error"] == {"code": "invalid", "message": "give the report id printed on the report (a UUID)"}
    short = api("post", url, {"target_id": str(report.pk), "statement": "copied"})
    assert short.status_code == 400 and short.json()["error"]["message"].startswith("statement:")
    link = api("post", url, {"target": "similarity_link", "target_id": "1", "statement": STATEMENT})
    assert link.status_code == 403 and "coordinator" in link.json()["error"]["message"]
    created = api("post", url, {"target_id": str(report.pk), "statement": STATEMENT})
    assert created.status_code == 201
    [view] = created.json()
    assert view["your_role"] == "claimant" and view["statement"] == STATEMENT and view["state"] == "open"
    assert api("post", url, {"target_id": str(report.pk), "statement": STATEMENT}).status_code == 409
    theirs_api = _api(other_builder, ("submissions:read", "submissions:write"))
    assert theirs_api("post", url, {"target_id": str(report.pk), "statement": STATEMENT}).status_code == 404
    [their_view] = theirs_api("get", f"/api/v1/submissions/{theirs.pk}/disputes/").json()
    assert their_view["your_role"] == "respondent" and "statement" not in their_view
    retention = api("get", f"/api/v1/submissions/{mine.pk}/retention/").json()
    assert retention["open_disputes"] == 1 and "open IP dispute" in retention["suspended_because"]


def test_coordinators_decide_and_hold_over_the_api_under_the_two_person_rule(parties, builder):  # noqa: ANN001
    mine, theirs, _report = parties
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT)
    first, second = make_coordinator("first@assay.example"), make_coordinator("second@assay.example")
    one, two = _api(first, ("reviews",)), _api(second, ("reviews",))
    builder_api = _api(builder, ("submissions:read", "submissions:write", "reviews"))
    assert builder_api("get", f"/api/v1/coordinate/cases/{mine.pk}/holds/").status_code == 403
    decided = one("post", f"/api/v1/coordinate/disputes/{dispute.pk}/decide/",
                  {"outcome": "upheld", "decision": "The claimant's dated files predate the respondent's."})
    assert decided.status_code == 200 and decided.json()["outcome"] == "upheld"
    requested = one("post", f"/api/v1/coordinate/cases/{theirs.pk}/holds/", {"reason": "Preserve for the claim"})
    assert requested.status_code == 201 and requested.json()["status"] == "awaiting_approval"
    hold_id = requested.json()["id"]
    alone = one("post", f"/api/v1/coordinate/holds/{hold_id}/approve/")
    assert alone.status_code == 403 and "second coordinator" in alone.json()["error"]["message"]
    approved = two("post", f"/api/v1/coordinate/holds/{hold_id}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert two("post", f"/api/v1/coordinate/holds/{hold_id}/approve/").status_code == 409
    assert one("get", f"/api/v1/coordinate/cases/{theirs.pk}/holds/").json()[0]["approved_by"] == second.email
    no_reason = one("post", f"/api/v1/coordinate/holds/{hold_id}/release/", {})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["message"].startswith("reason:")
    released = one("post", f"/api/v1/coordinate/holds/{hold_id}/release/", {"reason": "The claim was settled"})
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert one("post", f"/api/v1/coordinate/holds/999999/approve/").status_code == 404


def test_the_builder_acknowledges_a_report_over_the_api(builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW,
                  State.DECIDED, State.REPORTED):
        case = transition(case, state)  # set-up only
    api = _api(builder, ("submissions:read", "submissions:write"))
    retention = api("get", f"/api/v1/submissions/{case.pk}/retention/").json()
    assert retention["outcome"] == "reviewed_after_report_expiry" and retention["closes_at"]
    done = api("post", f"/api/v1/submissions/{case.pk}/acknowledge/")
    assert done.status_code == 200 and done.json()["state"] == State.CLOSED
    again = api("post", f"/api/v1/submissions/{case.pk}/acknowledge/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_editable"


def test_a_coordinator_raises_a_dispute_from_a_similarity_link_not_from_a_report(parties):  # noqa: ANN001
    from triage.models import FingerprintLink, LinkKind

    mine, theirs, report = parties
    link = FingerprintLink.objects.create(submission=theirs, other=mine, kind=LinkKind.POSSIBLE_EXTRACTION,
                                          similarity=0.93)
    api = _api(make_coordinator(), ("reviews", "submissions:read", "submissions:write"))
    url = f"/api/v1/submissions/{theirs.pk}/disputes/"
    by_report = api("post", url, {"target": "report", "target_id": str(report.pk), "statement": STATEMENT})
    assert by_report.status_code == 403 and "similarity link" in by_report.json()["error"]["message"]
    unknown = api("post", url, {"target": "similarity_link", "target_id": "999999", "statement": STATEMENT})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "this case has no similarity link with that id"
    created = api("post", url, {"target": "similarity_link", "target_id": str(link.pk), "statement": STATEMENT})
    assert created.status_code == 201
    [view] = created.json()
    # The earlier case the new one resembles is the claimant; the linked (newer) case responds.
    assert view["this_case_role"] == "respondent" and view["other_case"] == mine.reference
    assert view["source"] == "triage_similarity" and view["target"] == "similarity_link"


def test_a_coordinator_opens_a_dispute_from_a_similarity_link_on_the_case_page(parties, builder):  # noqa: ANN001
    from triage.models import FingerprintLink, LinkKind, TriageResult

    mine, theirs, _report = parties
    TriageResult.objects.create(submission=theirs, policy_version="test-1", sandbox="none",
                                config_digest="sha256:" + "0" * 64, findings=[], score=0, decision="escalate",
                                reasons=["similar to another builder's case"])
    link = FingerprintLink.objects.create(submission=theirs, other=mine, kind=LinkKind.POSSIBLE_EXTRACTION,
                                          similarity=0.91)
    client = client_for(make_coordinator())
    page = client.get(f"/cases/{theirs.pk}/").content.decode()
    assert "Open an IP dispute from the similarity to" in page and mine.reference in page
    assert client.post(f"/coordinate/cases/{theirs.pk}/disputes/", {"link": link.pk, "statement": "short"}
                       ).status_code == 400
    other = client.post(f"/coordinate/cases/{mine.pk}/disputes/", {"link": link.pk, "statement": STATEMENT})
    assert other.status_code == 400 and "no similarity link with that id" in other.content.decode()
    done = client.post(f"/coordinate/cases/{theirs.pk}/disputes/", {"link": link.pk, "statement": STATEMENT})
    assert done.status_code == 302
    dispute = IpDispute.objects.get()
    assert (dispute.claimant_case_id, dispute.respondent_case_id, dispute.source) == (mine.pk, theirs.pk,
                                                                                      "triage_similarity")
    # The builder of the earlier case sees a dispute on their side; the coordinator's text is sealed there too.
    assert _raw(dispute, "statement").startswith("assay-sealed/v1:")
    claimant_page = client_for(builder).get(f"/cases/{mine.pk}/").content.decode()
    assert "A coordinator opened this dispute on your behalf" in claimant_page
    assert STATEMENT not in claimant_page and theirs.reference not in claimant_page
    assert "Open an IP dispute from the similarity" not in claimant_page
