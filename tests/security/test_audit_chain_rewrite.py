"""Whole-chain rewrite of the audit log by someone who can write the database (issue 14, item 3).

The bug class: the chain hash was a public function of the row, so a database writer could lift the
append-only trigger, edit an event, recompute every later hash, move the chain head, put the trigger back,
and ``verify_audit`` reported the chain intact. Chain hashes are now HMACs under a key the database never
holds, and the chain head is periodically anchored in the signed transparency log; ``verify_audit`` checks
both, so the rewrite shows twice: as a keyed-hash mismatch and as a mismatch with a signed anchor.
"""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.db import connection

from intake.audit import audit_append, canonical_json, event_hash
from intake.models import AuditChainHead, AuditEvent
from reviews.audit_anchors import audit_anchor_head, audit_verify
from reviews.models import AuditAnchor, SignedTreeHead

pytestmark = pytest.mark.django_db

SQLITE_TRIGGER = ("CREATE TRIGGER intake_auditevent_no_update BEFORE UPDATE ON intake_auditevent "
                  "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;")


@pytest.fixture(autouse=True)
def _own_audit_key(settings, tmp_path):  # noqa: ANN001
    """A fresh audit key file per test, as a fresh installation has: keyed from event 1 on."""
    settings.ASSAY_AUDIT_KEY = str(tmp_path / "keys" / "audit-keys.json")


def _write_events(actor, count: int = 5) -> None:  # noqa: ANN001
    for n in range(count):
        audit_append(actor=actor, action="case.note", obj=("test", str(n)), data={"n": n})


def _unkeyed(event: dict, prev: str) -> str:
    """The attacker's first try: the public hash function the chain used to be."""
    return event_hash(prev_hash=prev, seq=event["seq"], created_at=event["created_at"], actor_id=event["actor_id"],
                      actor_label=event["actor_label"], action=event["action"], object_type=event["object_type"],
                      object_id=event["object_id"], data=event["data"])


def _guessed_key(event: dict, prev: str) -> str:
    """The second try: an HMAC in the chain's own format under a key the attacker guessed (the Django secret)."""
    from django.conf import settings

    from intake.audit import event_mac

    return event_mac(key=hashlib.sha256(settings.SECRET_KEY.encode()).digest(), key_id=event["key_id"],
                     prev_hash=prev, seq=event["seq"], created_at=event["created_at"], actor_id=event["actor_id"],
                     actor_label=event["actor_label"], action=event["action"], object_type=event["object_type"],
                     object_id=event["object_id"], data=event["data"])


def _rewrite_whole_chain(*, edit_seq: int, rehash, downgrade: bool = False) -> None:  # noqa: ANN001
    """Act as a database writer: drop the no-update trigger, edit one event, re-chain everything after it,
    move the head to the new tip, and put the trigger back so nothing looks disturbed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER intake_auditevent_append_only ON intake_auditevent")
        else:
            cursor.execute("DROP TRIGGER intake_auditevent_no_update")
        prev = AuditEvent.objects.get(seq=edit_seq - 1).hash if edit_seq > 1 else "0" * 64
        for event in AuditEvent.objects.filter(seq__gte=edit_seq).order_by("seq").values():
            if event["seq"] == edit_seq:
                event["data"] = {"n": 99, "forged": True}
            if downgrade:
                event["key_id"] = ""  # pretend the event predates keyed hashes
            new_hash = rehash(event, prev)
            AuditEvent.objects.filter(seq=event["seq"]).update(data=event["data"], prev_hash=prev, hash=new_hash,
                                                               key_id=event["key_id"])
            prev = new_hash
        AuditChainHead.objects.filter(id=1).update(hash=prev)
        if connection.vendor == "postgresql":
            cursor.execute("CREATE TRIGGER intake_auditevent_append_only BEFORE UPDATE OR DELETE ON "
                           "intake_auditevent FOR EACH ROW EXECUTE FUNCTION assay_audit_append_only()")
        else:
            cursor.execute(SQLITE_TRIGGER)
    assert AuditEvent.objects.get(seq=edit_seq).data["forged"] is True  # the rewrite really landed


def test_an_untouched_anchored_chain_verifies(builder, capsys):  # noqa: ANN001
    _write_events(builder)
    anchor = audit_anchor_head()
    _write_events(builder, 2)  # events after the last anchor are covered by the keyed chain alone
    result = audit_verify()
    assert result.ok, result.message
    assert anchor.seq == 5 and anchor.chain_hash == AuditEvent.objects.get(seq=5).hash
    assert SignedTreeHead.objects.filter(tree_size__gt=anchor.log_index).exists()
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "audit chain intact: 7 events" in out
    assert "1 anchor in the transparency log, the latest at event 5" in out


def test_every_event_carries_the_id_of_the_key_that_hashed_it(builder):  # noqa: ANN001
    _write_events(builder, 2)
    ids = set(AuditEvent.objects.values_list("key_id", flat=True))
    assert len(ids) == 1 and "" not in ids
    # Nothing in the database opens the chain: the hash is not the public function of the row.
    event = AuditEvent.objects.filter(seq=2).values().get()
    assert event["hash"] != _unkeyed(event, event["prev_hash"])


@pytest.mark.parametrize(("rehash", "downgrade"), [
    pytest.param(_unkeyed, False, id="public-unkeyed-hash"),
    pytest.param(_unkeyed, True, id="public-unkeyed-hash-posing-as-legacy-events"),
    pytest.param(_guessed_key, False, id="guessed-key"),
])
def test_a_whole_chain_rewrite_by_a_database_writer_is_reported(builder, capsys, rehash, downgrade):  # noqa: ANN001
    _write_events(builder)
    anchor = audit_anchor_head()
    assert anchor.seq == 5
    _rewrite_whole_chain(edit_seq=2, rehash=rehash, downgrade=downgrade)

    result = audit_verify()
    assert not result.ok
    # The keyed chain breaks at the edited event ...
    assert not result.chain.ok
    assert result.chain.broken_seq == 2
    expected_chain = ("event 2 is not keyed, but the chain is keyed from event 1 on (it was rewritten)" if downgrade
                      else "event 2 was modified (its keyed hash does not match its content)")
    assert result.chain.message == expected_chain
    # ... and, independently, the chain no longer matches the head signed into the transparency log.
    assert not result.anchors.ok
    assert result.anchors.message == (f"event 5 no longer matches the chain head anchored in the transparency log "
                                      f"at entry {anchor.log_index} (the chain was rewritten)")

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"audit chain broken: {expected_chain}" in err
    assert "audit anchors broken: event 5 no longer matches" in err


def test_rewriting_the_anchor_record_too_is_reported(builder):  # noqa: ANN001
    """The attacker also points the anchor row at the forged head: the signed log leaf still disagrees."""
    _write_events(builder)
    anchor = audit_anchor_head()
    _rewrite_whole_chain(edit_seq=2, rehash=_unkeyed)
    AuditAnchor.objects.filter(pk=anchor.pk).update(chain_hash=AuditEvent.objects.get(seq=5).hash)
    result = audit_verify()
    assert not result.anchors.ok
    assert result.anchors.message == (f"the anchor record for transparency log entry {anchor.log_index} does not "
                                      "match the signed log (it was rewritten)")


def test_deleting_the_anchor_record_is_reported(builder):  # noqa: ANN001
    _write_events(builder)
    anchor = audit_anchor_head()
    AuditAnchor.objects.filter(pk=anchor.pk).delete()
    result = audit_verify()
    assert not result.anchors.ok
    assert result.anchors.message == (f"transparency log entry {anchor.log_index} anchors the audit chain, but its "
                                      "anchor record is gone")


def test_truncating_the_chain_below_an_anchor_is_reported(builder):  # noqa: ANN001
    _write_events(builder)
    audit_anchor_head()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE intake_auditevent DISABLE TRIGGER intake_auditevent_append_only")
        cursor.execute("DELETE FROM intake_auditevent WHERE seq >= 4")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE intake_auditevent ENABLE TRIGGER intake_auditevent_append_only")
    last = AuditEvent.objects.get(seq=3)
    AuditChainHead.objects.filter(id=1).update(seq=3, hash=last.hash)
    result = audit_verify()
    assert result.chain.ok  # what is left is a consistent keyed chain ...
    assert not result.anchors.ok  # ... but shorter than what was signed
    assert result.anchors.message.startswith("event 5 is missing: the transparency log anchored the chain at event 5")


def test_anchoring_is_idempotent_and_refuses_a_broken_chain(builder):  # noqa: ANN001
    _write_events(builder)
    first = audit_anchor_head()
    assert audit_anchor_head() == first
    assert AuditAnchor.objects.count() == 1
    audit_append(actor=builder, action="case.note", obj=("test", "x"), data={})
    _rewrite_whole_chain(edit_seq=6, rehash=_unkeyed)
    assert audit_anchor_head() is None  # never sign a head the keyed chain does not vouch for
    assert AuditAnchor.objects.count() == 1


def test_the_anchor_leaf_names_the_chain_head_by_digest_only(builder):  # noqa: ANN001
    _write_events(builder)
    anchor = audit_anchor_head()
    expected = hashlib.sha256(canonical_json({"chain": "assay-audit", "hash": anchor.chain_hash,
                                              "seq": anchor.seq})).hexdigest()
    entry = anchor.log_entry
    assert entry.kind == "audit_head" and entry.subject_sha256 == expected


def test_celery_beat_anchors_the_head_periodically(builder):  # noqa: ANN001
    from assay.celery import app
    from reviews.tasks import anchor_audit_head

    entry = app.conf.beat_schedule["reviews-anchor-audit-head"]
    assert entry["task"] == anchor_audit_head.name == "reviews.tasks.anchor_audit_head"
    assert entry["schedule"] <= 3600
    _write_events(builder, 3)
    assert anchor_audit_head.apply().get() == "anchored event 3"
    assert anchor_audit_head.apply().get() == "anchored event 3"  # idempotent for an unchanged head
    assert AuditAnchor.objects.count() == 1
