"""Session hijack window: an unattended staff session stays open for its whole lifetime.

The bug class: reviewers and coordinators see other people's confidential cases, and their sessions lasted
eight hours whatever they did; a browser left open was a case file left open. Staff sessions now end after
``ASSAY_STAFF_IDLE_TIMEOUT`` seconds (30 minutes by default) without a page load or form post; a background
htmx refresh does not count as activity. Builders keep the ordinary session lifetime.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from intake.middleware import STAFF_SEEN_SESSION_KEY
from intake.models import AuditEvent, Role
from tests.factories import enable_totp, login_with_mfa, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):  # noqa: ANN001, ANN201
    user = make_user("coord@assay.example", role=Role.COORDINATOR)
    enable_totp(user)
    return user


def idle_for(client: Client, seconds: float) -> None:
    session = client.session
    session[STAFF_SEEN_SESSION_KEY] = time.time() - seconds
    session.save()


def seen_at(client: Client) -> float:
    return client.session[STAFF_SEEN_SESSION_KEY]


def test_an_idle_coordinator_is_signed_out_and_sent_to_the_login(staff):  # noqa: ANN001
    client = login_with_mfa(Client(), staff)
    idle_for(client, 31 * 60)
    response = client.get("/queue/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fqueue%2F"
    assert "_auth_user_id" not in client.session
    assert client.get("/queue/")["Location"].startswith("/accounts/login/")
    event = AuditEvent.objects.get(action="account.idle_logout")
    assert event.actor_id == staff.pk and event.data["idle_seconds"] >= 31 * 60


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_every_staff_role_is_timed_out(role):  # noqa: ANN001
    user = make_user(f"{role}@assay.example", role=role)
    enable_totp(user)
    client = login_with_mfa(Client(), user)
    idle_for(client, 31 * 60)
    assert client.get("/dashboard/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_activity_within_the_timeout_keeps_the_session_and_moves_the_clock(staff):  # noqa: ANN001
    client = login_with_mfa(Client(), staff)
    idle_for(client, 20 * 60)
    before = seen_at(client)
    assert client.get("/queue/").status_code == 200
    assert seen_at(client) > before + 19 * 60


def test_a_background_htmx_refresh_is_not_activity(staff):  # noqa: ANN001
    client = login_with_mfa(Client(), staff)
    idle_for(client, 20 * 60)
    before = seen_at(client)
    assert client.get("/queue/", HTTP_HX_REQUEST="true").status_code == 200
    assert seen_at(client) == before
    idle_for(client, 31 * 60)
    expired = client.get("/queue/", HTTP_HX_REQUEST="true")
    assert expired.status_code == 204 and expired["HX-Redirect"].startswith("/accounts/login/")


def test_the_api_answers_an_idle_session_with_401(staff):  # noqa: ANN001
    client = login_with_mfa(APIClient(), staff)
    idle_for(client, 31 * 60)
    response = client.get("/api/v1/submissions/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_timeout_is_configurable(staff, settings):  # noqa: ANN001
    settings.ASSAY_STAFF_IDLE_TIMEOUT = 120
    client = login_with_mfa(Client(), staff)
    idle_for(client, 100)
    assert client.get("/queue/").status_code == 200
    idle_for(client, 150)
    assert client.get("/queue/").status_code == 302


def test_builders_keep_the_ordinary_session_lifetime(builder):  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    idle_for(client, 3 * 3600)
    assert client.get("/dashboard/").status_code == 200


def test_the_environment_variable_is_read_and_junk_stops_startup():
    import subprocess
    import sys

    from django.conf import settings

    probe = "import django; django.setup(); from django.conf import settings; print(settings.ASSAY_STAFF_IDLE_TIMEOUT)"
    env = {"ASSAY_DATA_DIR": str(settings.DATA_DIR), "DJANGO_SETTINGS_MODULE": "assay.settings",
           "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-c", probe], env={**env, "ASSAY_STAFF_IDLE_TIMEOUT": "900"},
                        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert ok.stdout.strip() == "900", ok.stderr
    bad = subprocess.run([sys.executable, "-c", probe], env={**env, "ASSAY_STAFF_IDLE_TIMEOUT": "10"},
                         cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "ASSAY_STAFF_IDLE_TIMEOUT must be at least 60, got 10" in bad.stderr
