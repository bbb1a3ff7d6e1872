"""Leases on running triage: one run per case at a time, a heartbeat while it runs, and a sweep that restarts
runs whose worker died (see :class:`triage.models.TriageLease`)."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from intake.audit import audit_append
from intake.models import Submission
from intake.states import State
from triage.models import TriageLease

HEARTBEAT_SECONDS = 15
# A run whose heartbeat is this old has lost its worker: four missed beats, so a busy database is not mistaken
# for a dead worker. With the sweep every 30 s a lost run restarts within LEASE_TTL + 30 s (under two minutes).
LEASE_TTL = timedelta(seconds=60)
SWEEP_SECONDS = 30.0
# A case submitted but never started: the message itself was lost. Generous, since a long queue is not a loss.
NEVER_STARTED_AFTER = timedelta(minutes=30)


def new_holder() -> str:
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def _holder_gone(holder: str) -> bool:
    """True when the holder was a process on this host that no longer exists (a pool process the OOM killer took):
    its lease is dead now, without waiting for the heartbeat to age out."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:120] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_acquire(*, submission_id: str, holder: str) -> bool:
    """Take the case's lease unless another run holds a live one. Returns whether this run may go on."""
    now = timezone.now()
    with transaction.atomic():
        lease, created = TriageLease.objects.select_for_update().get_or_create(
            submission_id=submission_id, defaults={"holder": holder, "heartbeat_at": now, "attempts": 1})
        if created:
            return True
        if lease.holder not in ("", holder) and lease.heartbeat_at > now - LEASE_TTL and not _holder_gone(lease.holder):
            return False
        TriageLease.objects.filter(pk=lease.pk).update(holder=holder, heartbeat_at=now, attempts=lease.attempts + 1)
    return True


def lease_release(*, submission_id: str, holder: str) -> None:
    TriageLease.objects.filter(submission_id=submission_id, holder=holder).delete()


@contextmanager
def heartbeat(*, submission_id: str, holder: str, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Keep the lease alive from a background thread while the block runs (the run itself may sit in one long
    sandbox call); the thread uses and closes its own database connection."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                close_old_connections()
                TriageLease.objects.filter(submission_id=submission_id, holder=holder).update(
                    heartbeat_at=timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"triage-heartbeat-{submission_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


def lost_triage_runs(*, now=None) -> list[str]:  # noqa: ANN001
    """Cases whose triage lost its worker (triaging with a dead or missing lease, or triaged with the decision
    never applied), or whose message was lost before any worker started it."""
    now = now or timezone.now()
    dead = now - LEASE_TTL
    live_leases = TriageLease.objects.filter(heartbeat_at__gt=dead).values("submission_id")
    cases = Submission.objects.filter(
        Q(state__in=[State.TRIAGING, State.TRIAGED], state_changed_at__lt=dead)
        | Q(state=State.SUBMITTED, state_changed_at__lt=now - NEVER_STARTED_AFTER),
    ).exclude(pk__in=live_leases)
    return [str(pk) for pk in cases.order_by("state_changed_at", "pk").values_list("pk", flat=True)]


def lost_run_record(*, submission_id: str) -> None:
    """Say on the case (its timeline) that triage is being retried, so nobody reads the wait as a hang."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is not None:
        audit_append(action="triage.retry", obj=submission,
                     data={"reason": "the worker running automated triage stopped; it is being started again"})
