"""A submission flood from one identity gets 429s while other identities keep working (real server, real
cache shared by its processes, clients told apart by X-Forwarded-For as behind the ingress proxy)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from intake.accounts.assurance import assurance_level
from intake.models import Submission
from tests.factories import make_token, make_user
from tests.fault.conftest import free_port, worker_database_url, wait_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

FLOOD_SECONDS = float(os.environ.get("ASSAY_LOAD_FLOOD_SECONDS", "15"))
FLOOD_THREADS = 8


@pytest.fixture
def server():  # noqa: ANN201
    port = free_port()
    redis_port = os.environ["ASSAY_FAULT_REDIS_PORT"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assay.settings", "DATABASE_URL": worker_database_url(),
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/1", "ASSAY_CACHE_PREFIX": f"flood-{time.monotonic_ns()}",
           "ASSAY_TRUSTED_PROXY_COUNT": "1", "ASSAY_LOG_LEVEL": "WARNING"}
    log = open(Path(django_settings.DATA_DIR) / f"gunicorn-flood-{os.getpid()}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "assay.wsgi:application",
                             f"--bind=127.0.0.1:{port}", "--workers=2", "--worker-class=gthread", "--threads=8"],
                            env=env, cwd=str(django_settings.BASE_DIR), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_port(port, timeout=30)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def call(port: int, method: str, path: str, token: str, address: str, body: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address, "Content-Type": "application/json"}
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def test_a_flood_from_one_identity_is_throttled_while_others_keep_working(server) -> None:  # noqa: ANN001
    port = server
    flooding_user = make_user("flooder@spam.example")
    flooder = make_token(flooding_user, scopes=("submissions:read", "submissions:write"))
    others = [(make_token(make_user(f"builder{i}@lab{i}.example"), scopes=("submissions:read", "submissions:write")),
               f"203.0.113.{10 + i}") for i in range(4)]
    stop_at = time.monotonic() + FLOOD_SECONDS
    flood_statuses: Counter = Counter()
    other_statuses: Counter = Counter()
    lock = threading.Lock()

    def flood() -> None:
        while time.monotonic() < stop_at:
            status = call(port, "POST", "/api/v1/submissions/", flooder, "198.51.100.66", {"title": "spam"})
            with lock:
                flood_statuses[status] += 1

    def honest(token: str, address: str) -> None:
        created = False
        while time.monotonic() < stop_at:
            statuses = [call(port, "GET", "/api/v1/submissions/", token, address)]
            if not created:
                statuses.append(call(port, "POST", "/api/v1/submissions/", token, address, {"title": "my agent"}))
                created = True
            with lock:
                other_statuses.update(statuses)
            time.sleep(0.5)

    threads = [threading.Thread(target=flood) for _ in range(FLOOD_THREADS)]
    threads += [threading.Thread(target=honest, args=other) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FLOOD_SECONDS + 60)

    total_flood = sum(flood_statuses.values())
    print(f"\nflood: {total_flood} requests in {FLOOD_SECONDS:.0f} s ({total_flood / FLOOD_SECONDS:.0f}/s): "
          f"{dict(flood_statuses)}; others: {dict(other_statuses)}")
    assert flood_statuses[429] > 0.9 * total_flood  # after the first few, the flooder only gets 429s
    assert flood_statuses[201] <= 20  # at most the per-account creation limit got through
    # Concurrent creations must not overrun the open-case quota (a check-then-insert race would).
    quota = django_settings.ASSAY_OPEN_CASE_QUOTA[assurance_level(flooding_user)]
    assert Submission.objects.filter(owner=flooding_user).count() == flood_statuses[201] <= quota
    assert not [status for status in flood_statuses if status >= 500 or status == 0]
    assert other_statuses[429] == 0 and other_statuses[201] == len(others)
    assert set(other_statuses) <= {200, 201}
    assert other_statuses[200] >= len(others) * FLOOD_SECONDS / 2 * 0.5  # they kept being served during the flood
