"""The audit log is append-only and hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

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
