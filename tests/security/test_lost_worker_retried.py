"""A worker killed outright mid-triage loses nothing: its lease stops beating, the sweep says "retrying" on the case
and starts it again, and only one run at a time holds a case.

Bug class: with acks_late a SIGKILLed *pool process* is redelivered, but a whole worker killed at once cannot hand its
message back on every broker (the embedded filesystem transport drops it, Redis waits for its visibility timeout):
the case showed "triaging" for 30 minutes until the old stale-case sweep.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from assay.celery import app
from intake.models import AuditEvent, Submission
from intake.states import State, transition
from tests.factories import make_draft
from triage.leases import LEASE_TTL, heartbeat, lease_acquire, lease_release, lost_triage_runs
from triage.models import TriageLease
from triage.sandbox import backend_works
from triage.tasks import triage_requeue_stale

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _room_for_cases(settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 100 for level in range(4)}


def _triaging_case(builder):  # noqa: ANN001, ANN202
    submission = make_draft(builder)
    Submission.objects.filter(pk=submission.pk).update(state=State.SUBMITTED)
    submission.refresh_from_db()
    return transition(submission, State.TRIAGING, actor=None, reason="triage started")


def _age(submission, seconds: float) -> None:  # noqa: ANN001
    Submission.objects.filter(pk=submission.pk).update(state_changed_at=timezone.now() - timedelta(seconds=seconds))


def test_only_one_run_holds_a_case_until_its_heartbeat_dies(builder):  # noqa: ANN001
    case = _triaging_case(builder)
    assert lease_acquire(submission_id=str(case.pk), holder="worker-a:1:aa")
    assert not lease_acquire(submission_id=str(case.pk), holder="worker-b:2:bb")  # a duplicate delivery waits
    TriageLease.objects.filter(submission=case).update(heartbeat_at=timezone.now() - LEASE_TTL - timedelta(seconds=1))
    assert lease_acquire(submission_id=str(case.pk), holder="worker-b:2:bb")  # worker a died: b takes over
    lease = TriageLease.objects.get(submission=case)
    assert (lease.holder, lease.attempts) == ("worker-b:2:bb", 2)
    lease_release(submission_id=str(case.pk), holder="worker-a:1:aa")  # a stale holder cannot release b's lease
    assert TriageLease.objects.filter(submission=case).exists()
    lease_release(submission_id=str(case.pk), holder="worker-b:2:bb")
    assert not TriageLease.objects.filter(submission=case).exists()


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_long_run_alive(builder):  # noqa: ANN001
    case = _triaging_case(builder)
    assert lease_acquire(submission_id=str(case.pk), holder="w:1:x")
    TriageLease.objects.filter(submission=case).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    with heartbeat(submission_id=str(case.pk), holder="w:1:x", every=0.05):
        time.sleep(0.5)
    assert TriageLease.objects.get(submission=case).heartbeat_at > timezone.now() - timedelta(seconds=5)


def test_the_sweep_finds_runs_whose_worker_died_within_the_lease_ttl(builder):  # noqa: ANN001
    alive, dead, orphan = (_triaging_case(builder) for _ in range(3))
    for case in (alive, dead, orphan):
        _age(case, LEASE_TTL.total_seconds() + 5)
    lease_acquire(submission_id=str(alive.pk), holder="w:1:alive")
    lease_acquire(submission_id=str(dead.pk), holder="w:2:dead")
    TriageLease.objects.filter(submission=dead).update(heartbeat_at=timezone.now() - LEASE_TTL - timedelta(seconds=1))
    assert sorted(lost_triage_runs()) == sorted([str(dead.pk), str(orphan.pk)])
    young = _triaging_case(builder)  # just started, no lease yet: not lost
    assert str(young.pk) not in lost_triage_runs()


def test_a_submitted_case_waiting_in_a_long_queue_is_not_requeued_early(builder):  # noqa: ANN001
    case = make_draft(builder)
    Submission.objects.filter(pk=case.pk).update(state=State.SUBMITTED)
    _age(case, 25 * 60)
    assert lost_triage_runs() == []
    _age(case, 31 * 60)
    assert lost_triage_runs() == [str(case.pk)]


def test_a_restarted_case_says_retrying_on_its_page_and_then_finishes(builder, settings):  # noqa: ANN001
    settings.ASSAY_SANDBOX = "bubblewrap" if backend_works("bubblewrap") else "auto"
    case = _triaging_case(builder)
    _age(case, LEASE_TTL.total_seconds() + 5)
    app.conf.task_always_eager = True  # the re-queued run executes here, through the real pipeline and sandbox
    try:
        assert triage_requeue_stale() == 1
    finally:
        app.conf.task_always_eager = False
    assert AuditEvent.objects.filter(object_id=str(case.pk), action="triage.retry").count() == 1
    case.refresh_from_db()
    assert case.state not in (State.SUBMITTED, State.TRIAGING, State.TRIAGED)
    assert not TriageLease.objects.filter(submission=case).exists()
    client = Client()
    client.force_login(builder)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Retrying automated triage" in page
    assert "the worker running automated triage stopped; it is being started again" in page


def test_a_lease_of_a_process_gone_from_this_host_is_dead_at_once(builder):  # noqa: ANN001
    """A pool process killed by the OOM killer: its redelivered message must not wait for the heartbeat to age."""
    import socket

    case = _triaging_case(builder)
    gone = f"{socket.gethostname()[:120]}:{2 ** 22 + 7}:dead"  # above the kernel's largest pid_max: never alive
    alive_here = f"{socket.gethostname()[:120]}:{os.getpid()}:live"
    assert lease_acquire(submission_id=str(case.pk), holder=gone)
    assert lease_acquire(submission_id=str(case.pk), holder=alive_here)  # heartbeat fresh, but its process is gone
    assert not lease_acquire(submission_id=str(case.pk), holder="other-host:1:x")  # this process is alive
    assert TriageLease.objects.get(submission=case).holder == alive_here
