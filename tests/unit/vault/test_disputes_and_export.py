"""IP disputes (digest-only evidence, neither side sees the other) and the builder's data export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from intake.errors import ValidationFailed
from intake.models import AuditEvent
from intake.states import State, transition
from intake.vault.disputes import dispute_decide, dispute_open, dispute_view_for_builder
from intake.vault.errors import NotAllowed, ShredBlocked
from intake.vault.export import builder_export_stream
from intake.vault.shredding import case_delete_by_builder, case_shred
from tests.factories import make_draft

pytestmark = pytest.mark.django_db
DIGEST = "sha256:" + "ab" * 32
STATEMENT = "Their hooks and MCP wiring are ours, file for file."


def test_a_builder_raises_a_dispute_about_their_own_case_only(builder, other_builder, terms):
    mine, theirs = make_draft(builder), make_draft(other_builder)
    with pytest.raises(NotAllowed, match="only raise a dispute about their own case"):
        dispute_open(claimant_case=theirs, respondent_case=mine, actor=builder, source="builder")
    with pytest.raises(ValidationFailed, match="by digest only"):
        dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                     statement=STATEMENT, evidence_digests=["the full text of my prompt"])
    with pytest.raises(ValidationFailed, match="say what you dispute"):
        dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder", statement="mine")
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT, evidence_digests=["AB" * 32, DIGEST])
    assert dispute.evidence_digests == [DIGEST]
    assert AuditEvent.objects.filter(action="vault.dispute.open").count() == 2


def test_an_open_dispute_suspends_shredding_of_both_cases_until_decided(builder, other_builder, coordinator, terms):
    mine, theirs = make_draft(builder), make_draft(other_builder)
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=None, source="triage_similarity")
    for case, owner in ((mine, builder), (theirs, other_builder)):
        with pytest.raises(ShredBlocked, match="party to an open IP dispute"):
            case_delete_by_builder(submission=case, actor=owner)
    with pytest.raises(ValidationFailed, match="written decision"):
        dispute_decide(dispute=dispute, actor=coordinator, outcome="dismissed", decision="no")
    with pytest.raises(ValidationFailed, match="outcome must be one of upheld, dismissed"):
        dispute_decide(dispute=dispute, actor=coordinator, outcome="maybe",
                       decision="Similarity stems from a shared public template.")
    with pytest.raises(NotAllowed):
        dispute_decide(dispute=dispute, actor=builder, outcome="upheld",
                       decision="I win this dispute obviously, trust me.")
    dispute_decide(dispute=dispute, actor=coordinator, outcome="dismissed",
                   decision="Similarity stems from a shared public template; no misappropriation found.")
    assert case_shred(submission=theirs, actor=other_builder, trigger="builder_request").case_reference == \
        theirs.reference


def test_each_side_sees_only_its_own_case(builder, other_builder, terms):
    mine, theirs = make_draft(builder), make_draft(other_builder)
    dispute = dispute_open(claimant_case=mine, respondent_case=theirs, actor=builder, source="builder",
                           statement=STATEMENT)
    view = dispute_view_for_builder(dispute, other_builder)
    assert view["your_case"] == theirs.reference and view["your_role"] == "respondent"
    assert mine.reference not in json.dumps(view) and builder.email not in json.dumps(view)
    assert STATEMENT not in json.dumps(view)  # the claimant's text is never shown to the respondent
    assert dispute_view_for_builder(dispute, builder)["statement"] == STATEMENT


def test_the_export_holds_the_builders_data_and_decrypted_artifacts_and_audits_each_read(builder, other_builder,
                                                                                         terms):
    mine = make_draft(builder)
    make_draft(other_builder, title="Someone else's agent")
    gone = make_draft(builder, title="Deleted agent")
    receipt = case_delete_by_builder(submission=gone, actor=builder)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(builder_export_stream(user=builder))))
    document = json.loads(archive.read("assay-export.json"))
    assert document["account"]["email"] == builder.email
    assert {c["reference"] for c in document["cases"]} == {mine.reference, gone.reference}
    assert "Someone else's agent" not in json.dumps(document)
    assert archive.read(f"{mine.reference}/settings.json") == b'{"permissions": {"allow": ["Read"]}}'
    assert f"{gone.reference}/settings.json" not in archive.namelist()
    gone_record = next(c for c in document["cases"] if c["reference"] == gone.reference)
    assert gone_record["deletion_receipts"][0]["receipt"]["receipt_id"] == str(receipt.pk)
    reads = AuditEvent.objects.filter(action="vault.decrypt", data__purpose="builder_export")
    assert reads.count() == 1 and reads.get().actor_id == builder.pk


def test_a_withdrawn_case_moves_to_shredded_only_through_the_state_machine(builder, terms):
    case = transition(make_draft(builder), State.WITHDRAWN)
    case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.SHREDDED
