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
