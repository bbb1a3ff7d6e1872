"""Shared test set-up.

Tests talk to real services. With ASSAY_REQUIRE_SERVICES=1 (set by .ci/run)
a missing PostgreSQL or Redis fails the run instead of skipping tests.
"""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from django.conf import settings as django_settings

REQUIRE_SERVICES = os.environ.get("ASSAY_REQUIRE_SERVICES") == "1"
SERVICES = {"postgresql": ("127.0.0.1", 5432), "redis": ("127.0.0.1", 6379), "rabbitmq": ("127.0.0.1", 5672)}


def service_up(name: str) -> bool:
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip the calling test when ``name`` is down, or fail when services are required."""
    if service_up(name):
        return
    message = f"{name} is not reachable on {SERVICES[name][0]}:{SERVICES[name][1]}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and ASSAY_REQUIRE_SERVICES=1")
    pytest.skip(message)


def pytest_configure(config):  # noqa: ANN001
    if REQUIRE_SERVICES:
        missing = [name for name in ("postgresql", "redis") if not service_up(name)]
        if missing:
            raise pytest.UsageError(f"ASSAY_REQUIRE_SERVICES=1 but not reachable: {', '.join(missing)}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # noqa: ANN001
    """Password hashing costs ~0.65 s a user with the real hasher; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):  # noqa: ANN001
    """A fresh key prefix per test: rate-limit counters never leak between tests or runs."""
    caches = {alias: dict(conf) for alias, conf in django_settings.CACHES.items()}
    for conf in caches.values():
        conf["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture
def terms(db):  # noqa: ANN001
    from tests.factories import make_terms

    return make_terms()


@pytest.fixture
def builder(db):  # noqa: ANN001
    from tests.factories import make_user

    return make_user("builder@acme-agents.example", verified=True)


@pytest.fixture
def other_builder(db):  # noqa: ANN001
    from tests.factories import make_user

    return make_user("stranger@other-lab.example", verified=True)


@pytest.fixture
def coordinator(db):  # noqa: ANN001
    from intake.models import Role
    from tests.factories import make_user

    return make_user("coordinator@assay.example", role=Role.COORDINATOR, verified=True)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):  # noqa: ANN001
    """A real Celery worker process on the same broker and test database as this run.

    Tests that use it must use ``transactional_db`` so their rows are committed
    and visible to the worker. The broker is the run's own (embedded filesystem
    transport under ASSAY_DATA_DIR unless CELERY_BROKER_URL says otherwise).
    """
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    from assay.celery import ensure_broker_folders

    ensure_broker_folders()
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "assay.settings"}
    log_path = Path(django_settings.DATA_DIR) / f"worker-{os.getpid()}.log"
    celery = Path(sys.executable).with_name("celery")
    proc = subprocess.Popen(
        [str(celery), "-A", "assay", "worker", "--pool=solo", "--concurrency=1", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "--loglevel=INFO", f"--logfile={log_path}"],
        env=env, cwd=str(django_settings.BASE_DIR), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early; see {log_path}")
        if log_path.exists() and "ready." in log_path.read_text(errors="replace"):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(f"celery worker did not become ready; see {log_path}")
    proc.log_path = log_path
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2):  # noqa: ANN001, ANN201
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
