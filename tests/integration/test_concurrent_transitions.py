"""Racing writers: exactly one transition wins, the other sees StaleTransition, and the audit chain stays whole.

Runs on whichever database the pass uses (row-guarded UPDATE on PostgreSQL, IMMEDIATE transactions on SQLite).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from intake.audit import audit_append, audit_verify_chain
from intake.models import AuditEvent, Submission
from intake.states import StaleTransition, State, transition
from tests.factories import make_draft


@pytest.mark.django_db(transaction=True)
def test_two_racing_transitions_one_wins(builder):  # noqa: ANN001
    submission = make_draft(builder)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(target: str) -> None:
        copy = Submission.objects.get(pk=submission.pk)
        barrier.wait()
        try:
            transition(copy, target, actor=builder)
            outcomes.append(f"won:{target}")
        except StaleTransition:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(target,)) for target in (State.SUBMITTED, State.WITHDRAWN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["stale", "won"]
    winner = next(o.split(":")[1] for o in outcomes if o.startswith("won"))
    assert Submission.objects.get(pk=submission.pk).state == winner
    moves = AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk))
    assert moves.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_audit_appends_keep_one_chain(builder):  # noqa: ANN001
    def append_many(n: int) -> None:
        try:
            for i in range(n):
                audit_append(actor=builder, action="test.concurrent", obj=("test", str(i)), data={"i": i})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_many, args=(15,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 60
    check = audit_verify_chain()
    assert check.ok, check.message
