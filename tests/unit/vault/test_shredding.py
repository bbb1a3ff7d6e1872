"""Crypto-shredding a case: keys destroyed, content unrecoverable, a receipt anyone can verify offline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from intake.models import AuditEvent
from intake.states import IllegalTransition, State, transition
from intake.storage import artifact_store
from intake.vault.errors import KeyDestroyed, ShredBlocked
from intake.vault.models import DeletionReceipt, VaultObject, VaultObjectState
from intake.vault.retention import legal_hold_approve, legal_hold_request
from intake.vault.shredding import case_delete_by_builder, case_shred, receipt_digest
from intake.services import artifact_add
from tests.factories import make_draft
from intake.access import SystemRead
from intake.vault.services import ReadPurpose

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access

pytestmark = pytest.mark.django_db


def rejected_case(owner):  # noqa: ANN001, ANN201
    submission = make_draft(owner)
    artifact_add(submission=submission, actor=owner, name="agent.py", stream=io.BytesIO(b"print('secret sauce')\n"),
                 kind="other")
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.REJECTED):
        submission = transition(submission, state)
    return submission


def ciphertext_path(key: str) -> Path:
    from django.conf import settings

    return Path(settings.ASSAY_VAULT.removeprefix("file://")) / key[:2] / key


def run_verify(path) -> tuple[int, str, str]:  # noqa: ANN001
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_receipt", str(path), stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_shredded_content_is_unrecoverable_even_with_the_ciphertext_still_present(builder, terms):
    case = rejected_case(builder)
    keys = list(case.artifacts.values_list("storage_key", flat=True))
    backups = {key: ciphertext_path(key).read_bytes() for key in keys}  # e.g. a storage snapshot
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.SHREDDED
    assert not any(ciphertext_path(key).exists() for key in keys)  # purged after the commit
    for key, ciphertext in backups.items():
        ciphertext_path(key).write_bytes(ciphertext)  # restore the backup copy
        with pytest.raises(KeyDestroyed, match="crypto-shredded; its content is unrecoverable"):
            artifact_store().open(key, access=MAINTENANCE_READ)
    assert set(VaultObject.objects.values_list("state", flat=True)) == {VaultObjectState.SHREDDED}
    assert not VaultObject.objects.filter(wrapped_key__isnull=False).exists()
    from intake.vault.models import CaseKey

    case_key = CaseKey.objects.get(case_id=case.pk)  # sealed the case's text in the database
    assert case_key.wrapped_key is None and case_key.key_destroyed_at is not None
    assert sorted(receipt.document["receipt"]["data_keys_destroyed"]) == sorted(
        [*VaultObject.objects.values_list("data_key_id", flat=True), case_key.data_key_id])
    event = AuditEvent.objects.get(action="vault.shred")
    assert event.data["receipt"] == str(receipt.pk)


def test_each_receipt_is_appended_to_the_transparency_log_by_digest(builder, terms):
    from reviews.models import TransparencyEntry

    receipt = case_shred(submission=rejected_case(builder), actor=builder, trigger="builder_request")
    entry = TransparencyEntry.objects.get(kind="deletion_receipt")
    assert entry.subject_sha256 == receipt_digest(receipt.document)
    assert AuditEvent.objects.get(action="vault.shred").data["transparency_index"] == entry.index


def test_the_receipt_names_case_digests_time_method_and_destroyed_keys(builder, terms):
    case = rejected_case(builder)
    receipt = case_shred(submission=case, actor=None, trigger="retention_expired").document["receipt"]
    assert receipt["case_reference"] == case.reference
    assert receipt["config_digest"] == (case.config_digest or None)
    assert sorted(a["sha256"] for a in receipt["artifacts"]) == sorted(case.artifacts.values_list("sha256", flat=True))
    assert receipt["method"].startswith("crypto-shred:")
    assert receipt["trigger"] == "retention_expired"
    assert len(receipt["data_keys_destroyed"]) == 3  # the two artifacts' keys and the case key
    assert "agent.py" not in json.dumps(receipt)  # file names can be confidential; digests are enough


def test_a_receipt_verifies_offline_and_fails_when_edited(builder, terms, tmp_path):
    receipt = case_shred(submission=rejected_case(builder), actor=builder, trigger="builder_request")
    receipt = DeletionReceipt.objects.get(pk=receipt.pk)  # as stored (and served for download)
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt.document, indent=2))
    code, out, err = run_verify(path)
    assert code == 0, err
    assert out.startswith(f"valid deletion receipt {receipt.pk} for case {receipt.case_reference}: 2 artifact(s), "
                          "3 data key(s) destroyed by crypto-shred at ")
    assert out.count("\n") == 1

    edited = json.loads(path.read_text())
    edited["receipt"]["issued_at"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(edited))
    code, out, err = run_verify(path)
    assert (code, out) == (1, "")
    assert err.strip() == "invalid: bad signature: the document was altered or not signed by this key"


def test_a_receipt_verifies_against_a_downloaded_keys_file_alone(builder, terms, tmp_path):
    from intake.signing import published_keys_json

    receipt = case_shred(submission=rejected_case(builder), actor=builder, trigger="builder_request")
    (tmp_path / "r.json").write_text(json.dumps(receipt.document))
    (tmp_path / "keys.json").write_text(json.dumps(published_keys_json()))
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_receipt", str(tmp_path / "r.json"), "--keys", str(tmp_path / "keys.json"), stdout=out,
                 stderr=err)
    assert out.getvalue().startswith("valid deletion receipt")


@pytest.mark.parametrize("content, reason", [
    ("not json", "invalid: cannot read receipt: JSONDecodeError"),
    ('{"receipt": {}, "signature": {}}', "invalid: not a deletion receipt: type is not assay.deletion-receipt/v1"),
    ("[1, 2]", 'invalid: not a deletion receipt: expected {"receipt": …, "signature": …}'),
])
def test_malformed_receipts_exit_1_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "r.json"
    path.write_text(content)
    assert run_verify(path)[0::2] == (1, reason + "\n")


def test_a_receipt_signed_by_an_unknown_key_is_refused(builder, terms, tmp_path):
    receipt = case_shred(submission=rejected_case(builder), actor=builder, trigger="builder_request")
    document = receipt.document
    document["signature"]["key_id"] = "ed25519:0000000000000000"
    (tmp_path / "r.json").write_text(json.dumps(document))
    assert run_verify(tmp_path / "r.json")[0::2] == (1, "invalid: unknown signing key ed25519:0000000000000000\n")


def test_a_failed_shred_leaves_the_case_intact_and_retryable(builder, terms, tmp_path, settings):
    case = rejected_case(builder)
    broken_key = tmp_path / "broken.pem"
    broken_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with override_settings(ASSAY_SIGNING_KEY=str(broken_key)):
        with pytest.raises(ValueError):
            case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.REJECTED
    assert not DeletionReceipt.objects.exists()
    key = case.artifacts.first().storage_key
    with artifact_store().open(key, access=MAINTENANCE_READ) as reader:
        assert reader.read()
    case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.SHREDDED


def test_an_open_case_cannot_be_shredded_directly(builder, terms):
    case = make_draft(builder)
    with pytest.raises(IllegalTransition, match="cannot move from draft to shredded"):
        case_shred(submission=case, actor=builder, trigger="builder_request")
    assert VaultObject.objects.filter(state=VaultObjectState.STORED).count() == 1


def test_builder_deletion_withdraws_then_shreds_through_the_same_path(builder, terms):
    case = make_draft(builder)
    receipt = case_delete_by_builder(submission=case, actor=builder)
    case.refresh_from_db()
    assert case.state == State.SHREDDED
    transitions = list(AuditEvent.objects.filter(action="submission.transition", object_id=str(case.pk))
                       .values_list("data__to", flat=True))
    assert transitions == ["withdrawn", "shredded"]
    assert receipt.document["receipt"]["trigger"] == "builder_request"


def test_a_legal_hold_blocks_shredding(builder, terms, coordinator):
    from tests.factories import make_user
    from intake.models import Role

    second = make_user("second-coordinator@assay.example", role=Role.COORDINATOR)
    case = rejected_case(builder)
    hold = legal_hold_request(submission=case, actor=coordinator, reason="Litigation hold from counsel, ref 42")
    legal_hold_approve(hold=hold, actor=second)
    with pytest.raises(ShredBlocked, match="is under a legal hold; shredding is suspended"):
        case_shred(submission=case, actor=builder, trigger="builder_request")
    case.refresh_from_db()
    assert case.state == State.REJECTED
    assert VaultObject.objects.filter(wrapped_key__isnull=False).count() == 2


def test_only_the_owner_can_delete_their_case(builder, other_builder, coordinator, terms):
    from intake.vault.errors import NotAllowed

    case = make_draft(builder)
    for stranger in (other_builder, coordinator, None):
        with pytest.raises(NotAllowed, match="only the builder who owns this case can delete it"):
            case_delete_by_builder(submission=case, actor=stranger)
    case.refresh_from_db()
    assert case.state == State.DRAFT


def test_artifacts_from_before_the_vault_are_deleted_in_clear_on_shred(builder, terms, settings):
    from intake.models import Artifact
    from intake.storage import PrivateFileStore

    case = rejected_case(builder)
    legacy_store = PrivateFileStore(Path(settings.DATA_DIR) / "artifacts")
    legacy = legacy_store.put(io.BytesIO(b"old plaintext"), max_bytes=100, artifact_id="old")
    Artifact.objects.create(submission=case, name="old.txt", size=legacy.size, sha256=legacy.sha256,
                            storage_key=legacy.key)
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    assert not (Path(settings.DATA_DIR) / "artifacts" / legacy.key).exists()
    listed = {a["sha256"]: a["data_key_id"] for a in receipt.document["receipt"]["artifacts"]}
    assert listed[legacy.sha256] is None


def test_vault_records_derived_from_a_case_are_shredded_with_it(builder, terms):
    from triage.models import DynamicRun

    case = rejected_case(builder)
    stored = artifact_store().put(io.BytesIO(b'{"probes": "raw dynamic transcript"}'), max_bytes=1000,
                                  artifact_id="dynamic-record")
    DynamicRun.objects.create(submission=case, sandbox="bubblewrap", config_digest=case.config_digest,
                              record_key=stored.key, record_sha256=stored.sha256)
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    record = VaultObject.objects.get(pk=stored.key)
    assert record.wrapped_key is None and record.state == VaultObjectState.SHREDDED
    vaulted = [d for d in receipt.document["receipt"]["derived_records"] if d["record_class"] == "vault.vault_object"]
    assert [d["data_key_id"] for d in vaulted] == [record.data_key_id]
    assert record.data_key_id in receipt.document["receipt"]["data_keys_destroyed"]
    with pytest.raises(KeyDestroyed):
        artifact_store().open(stored.key, access=MAINTENANCE_READ)
