"""PostgreSQL connections dropped under a running server: requests fail cleanly (JSON, no internals, fast)
while the database is unreachable, /readyz says so, and everything recovers when it is back."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.factories import make_draft, make_token
from tests.fault.conftest import FlakyTcpProxy, free_port, wait_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, time.monotonic() - started


@pytest.fixture
def server_through_proxy():  # noqa: ANN201
    if connection.vendor != "postgresql":
        pytest.skip("connection drops are a PostgreSQL fault (run with DATABASE_URL=postgres://…)")
    db = connection.settings_dict
    proxy = FlakyTcpProxy(int(db["PORT"] or 5432))
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assay.settings",
           "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}"}
    log = open(Path(django_settings.DATA_DIR) / f"gunicorn-fault-{os.getpid()}.log", "wb")  # noqa: SIM115
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "assay.wsgi:application", f"--bind=127.0.0.1:{port}", "--workers=1",
                             "--worker-class=gthread", "--threads=4", "--timeout=30"],
                            env=env, cwd=str(django_settings.BASE_DIR), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_port(port, timeout=30)
        yield port, proxy
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        proxy.close()
        log.close()


def test_dropped_database_connections_fail_requests_cleanly_and_recover(builder, server_through_proxy) -> None:  # noqa: ANN001
    port, proxy = server_through_proxy
    make_draft(builder)
    token = make_token(builder)
    assert [get(port, "/api/v1/submissions/", token)[0] for _ in range(6)] == [200] * 6  # connections pooled

    proxy.drop_all(refuse_new=True)  # every open connection cut, new ones refused
    outage = [get(port, "/api/v1/submissions/", token) for _ in range(6)]
    for status, body, seconds in outage:
        assert status in (500, 503), status
        document = json.loads(body)
        assert document["error"]["code"] in ("server_error", "unavailable")
        assert b"Traceback" not in body and b"psycopg" not in body and b"127.0.0.1" not in body
        assert seconds < 10  # failing fast, not hanging on a dead socket
    status, body, _ = get(port, "/readyz")
    assert status == 503 and json.loads(body)["checks"]["database"]["ok"] is False
    assert get(port, "/healthz")[0] == 200  # liveness does not depend on the database: no restart storm

    proxy.resume()
    deadline = time.monotonic() + 20
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(get(port, "/api/v1/submissions/", token)[0])
        if statuses[-3:] == [200, 200, 200]:
            break
        time.sleep(0.2)
    assert statuses[-3:] == [200, 200, 200], statuses
    # With CONN_HEALTH_CHECKS a pooled dead connection is replaced before use: no failed request after recovery.
    assert statuses == [200] * len(statuses), statuses
    assert get(port, "/readyz")[0] == 200
