"""/healthz (liveness), /readyz (database, broker, vault, no restore pending) and /metrics (restricted to the scraper)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from assay.celery import app as celery_app
from intake.models import Submission
from tests.factories import make_draft

pytestmark = pytest.mark.django_db


def test_healthz_answers_even_for_a_host_not_in_allowed_hosts() -> None:
    # The kubelet probes the pod IP over plain HTTP; the host check and HTTPS redirect must not refuse it.
    response = Client().get("/healthz", HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_each_dependency_ready() -> None:
    response = Client().get("/readyz", HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "vault", "restore"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_while_a_restore_is_pending(settings, tmp_path) -> None:  # noqa: ANN001
    # infra/backup.py leaves this mark until the shred ledger has been replayed into the restored database.
    settings.DATA_DIR = tmp_path
    (tmp_path / "restore-pending").write_text("{}")
    response = Client().get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["restore"]["ok"] is False and checks["database"]["ok"] is True
    (tmp_path / "restore-pending").unlink()
    assert Client().get("/readyz").status_code == 200


def test_readyz_is_503_naming_the_broker_when_the_broker_is_unreachable(monkeypatch) -> None:  # noqa: ANN001
    # A real connection attempt to a port nothing listens on.
    # In this order: Celery prefers the variable when set, and undoing must restore the configured URL.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode()  # the class of the failure, never its details


def test_readyz_is_503_naming_the_vault_when_the_object_store_is_unreachable(settings, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.ASSAY_VAULT = "s3://assay-readyz-unreachable/vault"
    response = Client().get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["vault"]["ok"] is False and checks["vault"]["error"]
    assert checks["database"]["ok"] is True and checks["broker"]["ok"] is True


def test_operational_endpoints_refuse_writes() -> None:
    response = Client().post("/readyz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_metrics_are_served_to_a_loopback_scraper_with_request_and_state_metrics(builder) -> None:  # noqa: ANN001
    make_draft(builder)
    client = Client(REMOTE_ADDR="127.0.0.1")
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert re.search(r'assay_http_request_duration_seconds_count\{method="GET",status_class="2xx",view="/healthz"\} '
                     r'[1-9]', text)
    assert 'assay_cases{state="draft"} 1.0' in text
    assert re.search(r'assay_queue_depth\{queue="[a-z0-9_-]+"\} \d', text)
    assert 'assay_metrics_source_up{source="database"} 1.0' in text
    assert 'assay_metrics_source_up{source="broker"} 1.0' in text
    assert Submission.objects.count() == 1


def test_metrics_are_refused_to_a_remote_client() -> None:
    response = Client(REMOTE_ADDR="10.0.0.9").get("/metrics")
    assert response.status_code == 403
    assert b"assay_" not in response.content


def test_metrics_are_refused_to_a_client_behind_a_proxy_even_on_loopback() -> None:
    # A reverse proxy on the same host would make every outside caller look like loopback.
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403


def test_metrics_need_the_bearer_token_when_one_is_configured(settings) -> None:  # noqa: ANN001
    settings.ASSAY_METRICS_TOKEN = "scrape-token-for-tests-0123456789"
    client = Client(REMOTE_ADDR="10.0.0.9")
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    # Loopback alone is not enough once a token is configured.
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.ASSAY_METRICS_TOKEN}")
    assert response.status_code == 200
    assert b"assay_http_request_duration_seconds" in response.content
