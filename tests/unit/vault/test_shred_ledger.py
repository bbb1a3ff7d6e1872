"""The shred ledger: each shred appends a signed, chained line outside the database; replaying it after a
restore destroys again every key shredded since the backup; any tampering is detected and nothing is
destroyed on the word of a ledger that does not verify."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from intake.models import AuditEvent, Submission
from intake.signing import SigningKeyring
from intake.states import State
from intake.storage import artifact_store
from intake.vault.errors import KeyDestroyed
from intake.vault.ledger import LedgerHead, LedgerInvalid, ledger_head, ledger_path, ledger_replay, ledger_verify
from intake.vault.models import DeletionReceipt, VaultObject, VaultObjectState
from intake.vault.shredding import case_shred
from tests.unit.vault.test_shredding import ciphertext_path, rejected_case
from intake.access import SystemRead
from intake.vault.services import ReadPurpose

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access

pytestmark = pytest.mark.django_db


def lines() -> list[dict]:
    return [json.loads(line) for line in ledger_path().read_text().splitlines()]


def write_lines(documents: list[dict]) -> None:
    ledger_path().write_text("".join(json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n" for d in documents))


def snapshot(case: Submission) -> dict:
    """What a backup taken now holds of a case: its key rows, its state, its ciphertext."""
    keys = list(case.artifacts.order_by("name").values_list("storage_key", flat=True))  # agent.py first
    return {"state": case.state, "keys": keys,
            "rows": {key: VaultObject.objects.filter(id=key).values().get() for key in keys},
            "ciphertext": {key: ciphertext_path(key).read_bytes() for key in keys}}


def restore(case: Submission, saved: dict) -> None:
    """Put the case back as the backup had it (in place of a whole restore, which the fault test does)."""
    for key, row in saved["rows"].items():
        VaultObject.objects.filter(id=key).update(**{k: v for k, v in row.items() if k != "id"})
        ciphertext_path(key).parent.mkdir(parents=True, exist_ok=True)
        ciphertext_path(key).write_bytes(saved["ciphertext"][key])
    Submission.objects.filter(pk=case.pk).update(state=saved["state"])
    DeletionReceipt.objects.filter(submission=case).delete()


def read(key: str) -> bytes:
    with artifact_store().open(key, access=MAINTENANCE_READ) as stream:
        return stream.read()


def test_each_shred_appends_a_signed_chained_line_naming_the_keys_it_destroyed(builder, terms):  # noqa: ANN001
    first, second = rejected_case(builder), rejected_case(builder)
    receipts = [case_shred(submission=case, actor=builder, trigger="coordinator") for case in (first, second)]
    entries = ledger_verify()
    assert [entry["seq"] for entry in entries] == [0, 1]
    for entry, case, receipt in zip(entries, (first, second), receipts, strict=True):
        assert entry["submission_id"] == str(case.pk) and entry["receipt_id"] == str(receipt.pk)
        assert entry["data_key_ids"] == receipt.document["receipt"]["data_keys_destroyed"]
        assert entry["object_ids"] == sorted(case.artifacts.values_list("storage_key", flat=True))
        assert entry["receipt"] == receipt.document
    documents = lines()
    assert documents[1]["entry"]["prev"] != "0" * 64 and documents[0]["entry"]["prev"] == "0" * 64
    assert ledger_head().seq == 1
    assert oct(ledger_path().stat().st_mode & 0o777) == "0o600"


def test_replay_destroys_again_what_an_older_backup_brought_back(builder, terms):  # noqa: ANN001
    kept, shredded = rejected_case(builder), rejected_case(builder)
    saved = snapshot(shredded)
    case_shred(submission=shredded, actor=builder, trigger="builder_request")
    restore(shredded, saved)  # the backup (taken before the shred) is restored
    key = saved["keys"][0]
    assert read(key) == b"print('secret sauce')\n"  # the gap the ledger closes: the case is readable again

    result = ledger_replay()
    assert sorted(result.keys_destroyed) == sorted(row["data_key_id"] for row in saved["rows"].values())
    assert result.cases_shredded == [shredded.reference] and len(result.receipts_restored) == 1
    with pytest.raises(KeyDestroyed):
        read(key)
    shredded.refresh_from_db()
    assert shredded.state == State.SHREDDED and shredded.deletion_receipts.count() == 1
    assert AuditEvent.objects.filter(action="vault.ledger_replay_shred", object_id=str(shredded.pk)).exists()
    assert read(kept.artifacts.get(name="agent.py").storage_key) == b"print('secret sauce')\n"  # untouched
    again = ledger_replay()  # idempotent
    assert (again.keys_destroyed, again.cases_shredded, again.receipts_restored) == ([], [], [])


@pytest.mark.parametrize("tamper", ["edit", "drop_middle", "reorder", "torn", "foreign_key", "truncate"])
def test_a_tampered_ledger_fails_and_nothing_is_destroyed(builder, terms, tmp_path, tamper):  # noqa: ANN001
    cases = [rejected_case(builder) for _ in range(3)]
    saved = [snapshot(case) for case in cases]
    for case in cases:
        case_shred(submission=case, actor=builder, trigger="coordinator")
    head = ledger_head()
    for case, snap in zip(cases, saved, strict=True):
        restore(case, snap)
    documents = lines()
    expect = None
    if tamper == "edit":  # point a shred at another case's keys
        documents[1]["entry"]["object_ids"] = documents[0]["entry"]["object_ids"]
        write_lines(documents)
    elif tamper == "drop_middle":
        write_lines([documents[0], documents[2]])
    elif tamper == "reorder":
        write_lines([documents[0], documents[2], documents[1]])
    elif tamper == "torn":
        ledger_path().write_text(ledger_path().read_text()[:-40])
    elif tamper == "foreign_key":  # a well-formed line signed by a key that is not the platform's
        from intake.vault.ledger import _signing_bytes

        other = SigningKeyring(tmp_path / "other" / "key.pem")
        key_id, signature = other.sign(_signing_bytes(documents[2]["entry"]))
        import base64

        documents[2]["signature"] = {"alg": "Ed25519", "key_id": key_id, "value": base64.b64encode(signature).decode()}
        write_lines(documents)
    elif tamper == "truncate":  # the last line removed: only the head a backup recorded can tell
        write_lines(documents[:2])
        ledger_verify()  # still a valid chain on its own
        expect = head
    with pytest.raises(LedgerInvalid) as failure:
        ledger_replay(expect_head=expect)
    assert "line" in str(failure.value) or "truncated" in str(failure.value)
    assert VaultObject.objects.filter(state=VaultObjectState.SHREDDED).count() == 0  # nothing destroyed
    with pytest.raises(CommandError, match="shred ledger failed verification, nothing was destroyed"):
        call_command("vault_reconcile", *(["--expect-head", f"{head.seq}:{head.sha256}"] if expect else []),
                     stdout=io.StringIO())
    assert all(read(snap["keys"][0]) == b"print('secret sauce')\n" for snap in saved)


def test_a_ledger_that_cannot_be_written_rolls_the_shred_back(builder, terms, settings, tmp_path):  # noqa: ANN001
    case = rejected_case(builder)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.ASSAY_SHRED_LEDGER = str(blocker)
    with pytest.raises(OSError):
        case_shred(submission=case, actor=builder, trigger="coordinator")
    case.refresh_from_db()
    assert case.state == State.REJECTED and not case.deletion_receipts.exists()
    assert read(case.artifacts.get(name="agent.py").storage_key) == b"print('secret sauce')\n"


def test_the_ledger_may_not_live_inside_the_vault(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SHRED_LEDGER = str(Path(settings.ASSAY_VAULT.removeprefix("file://")) / "ledger")
    with pytest.raises(ImproperlyConfigured):
        ledger_path()


def test_vault_reconcile_reports_the_replay(builder, terms):  # noqa: ANN001
    case = rejected_case(builder)
    saved = snapshot(case)
    case_shred(submission=case, actor=builder, trigger="coordinator")
    restore(case, saved)
    head = ledger_head()
    out = io.StringIO()
    call_command("vault_reconcile", "--expect-head", f"{head.seq}:{head.sha256}", stdout=out)
    assert "shred ledger verified (1 entry): 2 key(s) destroyed again, 1 case(s) marked shredded again" \
        in out.getvalue()
    assert "2 ciphertext(s) deleted" in out.getvalue()
    assert not ciphertext_path(saved["keys"][0]).exists()
    assert LedgerHead.parse(f"{head.seq}:{head.sha256}") == head
