from __future__ import annotations

import pytest

from intake.models import AuditEvent, Submission
from intake.states import ALLOWED, IllegalTransition, StaleTransition, State, transition
from tests.factories import make_draft


@pytest.mark.django_db
def test_every_transition_writes_an_audit_event(builder):  # noqa: ANN001
    submission = make_draft(builder)
    transition(submission, State.SUBMITTED, actor=builder)
    event = AuditEvent.objects.filter(action="submission.transition", object_id=str(submission.pk)).get()
    assert event.data["from"] == "draft" and event.data["to"] == "submitted"
    assert event.actor_id == builder.pk


@pytest.mark.django_db
def test_illegal_transition_raises_and_changes_nothing(builder):  # noqa: ANN001
    submission = make_draft(builder)
    with pytest.raises(IllegalTransition, match="cannot move from draft to reported"):
        transition(submission, State.REPORTED, actor=builder)
    assert Submission.objects.get(pk=submission.pk).state == State.DRAFT


@pytest.mark.django_db
def test_a_stale_writer_loses(builder):  # noqa: ANN001
    submission = make_draft(builder)
    stale_copy = Submission.objects.get(pk=submission.pk)
    transition(submission, State.WITHDRAWN, actor=builder)
    with pytest.raises(StaleTransition):
        transition(stale_copy, State.SUBMITTED, actor=builder)
    assert Submission.objects.get(pk=submission.pk).state == State.WITHDRAWN


def test_shredded_is_final_and_every_state_has_a_row():
    assert set(ALLOWED) == set(State.values)
    assert ALLOWED[State.SHREDDED] == frozenset()
    for targets in ALLOWED.values():
        assert targets <= set(State.values)
