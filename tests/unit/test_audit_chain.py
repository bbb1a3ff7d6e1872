"""The audit log is append-only and hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from intake.audit import audit_append, audit_verify_chain
from intake.models import AuditEvent


def _append_three(actor):  # noqa: ANN001, ANN202
    for n in range(3):
        audit_append(actor=actor, action="test.event", obj=("test", str(n)), data={"n": n})


def _without_guard(sql: str, params: list) -> None:  # noqa: ANN001
    """Play an attacker with direct database access: lift the append-only trigger, write, restore it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE intake_auditevent DISABLE TRIGGER intake_auditevent_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE intake_auditevent ENABLE TRIGGER intake_auditevent_append_only")
        else:
            cursor.execute("DROP TRIGGER intake_auditevent_no_update")
            cursor.execute(sql, params)
            cursor.execute("CREATE TRIGGER intake_auditevent_no_update BEFORE UPDATE ON intake_auditevent "
                           "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;")


@pytest.mark.django_db
def test_it_verifies_an_intact_chain(builder, capsys):  # noqa: ANN001
    _append_three(builder)
    result = audit_verify_chain()
    assert result.ok, result.message
    call_command("verify_audit")
    assert "audit chain intact" in capsys.readouterr().out


@pytest.mark.django_db
def test_database_refuses_updates_to_audit_rows(builder):  # noqa: ANN001
    _append_three(builder)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).update(action="forged")


@pytest.mark.django_db
def test_it_detects_an_edited_event(builder, capsys):  # noqa: ANN001
    _append_three(builder)
    base = AuditEvent.objects.get(seq=1).seq
    _without_guard("UPDATE intake_auditevent SET data = %s WHERE seq = %s", ['{"n": 99}', base + 1])
    result = audit_verify_chain()
    assert not result.ok
    assert result.broken_seq == base + 1
    assert "modified" in result.message
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    assert f"event {base + 1} was modified" in capsys.readouterr().err


@pytest.mark.django_db
def test_it_detects_a_deleted_event(builder):  # noqa: ANN001
    _append_three(builder)
    _without_guard("DELETE FROM intake_auditevent WHERE seq = %s", [2])
    result = audit_verify_chain()
    assert not result.ok
    assert result.message == "event 2 is missing (next present is 3)"


@pytest.mark.django_db
def test_it_detects_a_deleted_tail(builder):  # noqa: ANN001
    _append_three(builder)
    _without_guard("DELETE FROM intake_auditevent WHERE seq = %s", [3])
    result = audit_verify_chain()
    assert not result.ok
    assert "the tail was deleted" in result.message


@pytest.mark.django_db
def test_it_detects_reordered_events(builder):  # noqa: ANN001
    _append_three(builder)
    _without_guard("UPDATE intake_auditevent SET seq = -1 WHERE seq = %s", [2])
    _without_guard("UPDATE intake_auditevent SET seq = 2 WHERE seq = %s", [3])
    _without_guard("UPDATE intake_auditevent SET seq = 3 WHERE seq = %s", [-1])
    result = audit_verify_chain()
    assert not result.ok
    assert result.broken_seq == 2


# --- chain version 2: keyed hashes, the upgrade from unkeyed events, key rotation ---------------------------

@pytest.fixture
def fresh_audit_key(settings, tmp_path):  # noqa: ANN001, ANN201
    """An installation whose audit key file does not exist yet (as before the upgrade)."""
    settings.ASSAY_AUDIT_KEY = str(tmp_path / "keys" / "audit-keys.json")
    return tmp_path / "keys" / "audit-keys.json"


def _legacy_append(count: int) -> None:
    """Events as the pre-upgrade code wrote them: plain SHA-256 links, no key id."""
    from django.utils import timezone

    from intake.audit import event_hash
    from intake.models import AuditChainHead

    head, _ = AuditChainHead.objects.get_or_create(id=1)
    seq, prev = head.seq, head.hash
    for _ in range(count):
        seq += 1
        fields = {"seq": seq, "created_at": timezone.now(), "actor_id": None, "actor_label": "system",
                  "action": "legacy.event", "object_type": "test", "object_id": str(seq), "data": {"n": seq}}
        digest = event_hash(prev_hash=prev, **fields)
        AuditEvent.objects.create(prev_hash=prev, hash=digest, **fields)
        prev = digest
    AuditChainHead.objects.filter(id=1).update(seq=seq, hash=prev)


@pytest.mark.django_db
def test_unkeyed_events_from_before_the_upgrade_still_verify(fresh_audit_key):  # noqa: ANN001
    _legacy_append(3)
    assert audit_verify_chain().ok  # no key file yet: nothing keyed, the old rules apply
    audit_append(action="test.event", data={})
    legacy_tip = AuditEvent.objects.get(seq=3).hash
    from intake.audit_keys import audit_keyring

    assert audit_keyring().legacy() == (3, legacy_tip)  # pinned outside the database
    assert AuditEvent.objects.get(seq=4).key_id
    result = audit_verify_chain()
    assert result.ok, result.message
    assert result.events == 4


@pytest.mark.django_db
def test_a_rewrite_of_the_unkeyed_prefix_is_detected_after_the_upgrade(fresh_audit_key):  # noqa: ANN001
    from intake.audit import event_hash

    _legacy_append(3)
    audit_append(action="test.event", data={})
    # Re-chain the legacy prefix with the public function, stopping short of the keyed event.
    prev = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__in=[2, 3]).order_by("seq").values():
        event["data"] = {"n": 99}
        digest = event_hash(prev_hash=prev, seq=event["seq"], created_at=event["created_at"],
                            actor_id=event["actor_id"], actor_label=event["actor_label"], action=event["action"],
                            object_type=event["object_type"], object_id=event["object_id"], data=event["data"])
        _without_guard("UPDATE intake_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                       ['{"n": 99}', prev, digest, event["seq"]])
        prev = digest
    result = audit_verify_chain()
    assert not result.ok
    assert result.broken_seq == 3
    assert "the unkeyed chain tip the audit key file recorded" in result.message


@pytest.mark.django_db
def test_a_rotated_audit_key_keeps_old_events_verifiable(fresh_audit_key, capsys):  # noqa: ANN001
    audit_append(action="test.event", data={})
    first_key = AuditEvent.objects.get(seq=1).key_id
    call_command("rotate_keys", "--audit")
    assert "audit key rotated" in capsys.readouterr().out
    audit_append(action="test.event", data={})
    rotation = AuditEvent.objects.get(action="audit.key.rotate")
    assert rotation.data["from"] == first_key and rotation.key_id == rotation.data["to"] != first_key
    assert AuditEvent.objects.order_by("-seq").first().key_id == rotation.data["to"]
    result = audit_verify_chain()
    assert result.ok, result.message
    assert result.events == 3


@pytest.mark.django_db
def test_a_kek_rotation_rewraps_the_audit_keys(fresh_audit_key):  # noqa: ANN001
    import json

    from intake.audit_keys import AuditKeyring

    audit_append(action="test.event", data={})
    before = json.loads(fresh_audit_key.read_text())["keys"][0]
    call_command("rotate_keys", "--kek", stdout=io.StringIO())
    after = json.loads(fresh_audit_key.read_text())["keys"][0]
    assert after["id"] == before["id"] and after["kek_id"] != before["kek_id"]
    assert AuditKeyring(fresh_audit_key).key(after["id"])  # a fresh process opens it under the new KEK
    result = audit_verify_chain()
    assert result.ok, result.message
    # Already current: nothing is re-wrapped and the file is not rewritten (it may be a read-only mount).
    written = fresh_audit_key.stat().st_mtime_ns
    call_command("rotate_keys", "--rewrap-only", stdout=io.StringIO())
    assert fresh_audit_key.stat().st_mtime_ns == written
    assert AuditEvent.objects.get(action="vault.kek.rewrap").data["audit_keys_rewrapped"] == 0


@pytest.mark.django_db
def test_the_audit_key_file_holds_no_plaintext_key_and_is_private(fresh_audit_key):  # noqa: ANN001
    import base64
    import json
    import stat

    from intake.audit_keys import audit_keyring

    audit_append(action="test.event", data={})
    document = json.loads(fresh_audit_key.read_text())
    key_id, key = audit_keyring().current()
    assert stat.S_IMODE(fresh_audit_key.stat().st_mode) == 0o600
    assert base64.b64encode(key).decode() not in fresh_audit_key.read_text()
    assert key.hex() not in fresh_audit_key.read_text()
    assert document["keys"][0]["id"] == key_id


@pytest.mark.django_db
def test_rotate_keys_audit_provisions_the_first_key_at_the_current_tip(fresh_audit_key):  # noqa: ANN001
    from intake.audit_keys import audit_keyring

    _legacy_append(2)
    call_command("rotate_keys", "--audit", stdout=io.StringIO())
    assert audit_keyring().legacy() == (2, AuditEvent.objects.get(seq=2).hash)
    created = AuditEvent.objects.get(seq=3)
    assert created.action == "audit.key.rotate" and created.data["from"] == ""
    assert created.key_id == created.data["to"]
    assert audit_verify_chain().ok
