"""Operational endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics`` (Prometheus).

``assay.operational.OperationalEndpointsMiddleware`` answers them ahead of everything else, so
an orchestrator's probe (which sends the pod IP as Host, over plain HTTP) is
not refused by the host check or redirected to HTTPS. Nothing here reveals
data: readiness names each dependency and whether it answered, with the
exception's class at most, never its message (which may hold hosts or keys).

``/metrics`` is for the scraper only: a request must carry
``Authorization: Bearer <ASSAY_METRICS_TOKEN>`` when that is set; without a
token only a direct loopback client (no proxy headers) is served.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
LOOPBACK = frozenset({"127.0.0.1", "::1"})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Dependencies are /readyz's business (a dead database must not
    get every web pod restarted)."""
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("unexpected answer")


def check_broker() -> None:
    from celery import current_app as app  # the project's app (assay/__init__ makes it current); no upward import

    from intake.broker import ensure_broker_folders

    if app.conf.broker_url.startswith("filesystem"):
        ensure_broker_folders()
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            raise PermissionError("broker folder is not writable")
        return
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def check_vault() -> None:
    """The ciphertext store answers and the key provider knows its key."""
    from intake.vault.backends import FileBackend, S3Backend
    from intake.vault.keys import KmsKeyProvider, key_provider_from_uri
    from intake.vault.services import backend_for

    backend = backend_for(settings.ASSAY_VAULT)
    if isinstance(backend, S3Backend):
        backend.client.head_bucket(Bucket=backend.bucket)
    elif isinstance(backend, FileBackend):
        if not os.access(backend.root, os.W_OK | os.X_OK):
            raise PermissionError("vault directory is not writable")
    provider = key_provider_from_uri(settings.ASSAY_KEY_PROVIDER)
    if isinstance(provider, KmsKeyProvider):
        provider._call("describe_key", KeyId=provider.key_id)  # a live call: current_kek_id() is cached
    else:
        provider.current_kek_id()


def check_restore() -> None:
    """Not while infra/backup.py restores this instance: until the shred ledger has been replayed, the restored
    database may still hold keys shredded after the backup."""
    if (settings.DATA_DIR / "restore-pending").exists():
        raise RuntimeError("restore pending")


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "vault": check_vault,
    "restore": check_restore,
}


def _run_check(check: Callable[[], None]) -> None:
    from django.db import connection

    try:
        check()
    finally:
        connection.close()  # the check ran in a pool thread: never leave its connection behind


def readiness() -> tuple[bool, dict[str, dict]]:
    """Run every check concurrently, each bounded in time."""
    results: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=len(READINESS_CHECKS), thread_name_prefix="readyz")
    started = time.perf_counter()
    futures = {name: pool.submit(_run_check, check) for name, check in READINESS_CHECKS.items()}
    for name, future in futures.items():
        remaining = max(0.0, CHECK_TIMEOUT_SECONDS - (time.perf_counter() - started))
        try:
            future.result(timeout=remaining)
            results[name] = {"ok": True}
        except FutureTimeout:
            results[name] = {"ok": False, "error": "timed out"}
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, exc.__class__.__name__)
            results[name] = {"ok": False, "error": exc.__class__.__name__}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    # Never wait for a hung check on the way out: its thread ends with its own (client) timeout.
    pool.shutdown(wait=False, cancel_futures=True)
    return all(result["ok"] for result in results.values()), results


def readyz(request: HttpRequest) -> JsonResponse:
    ready, checks = readiness()
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)


def metrics_allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "ASSAY_METRICS_TOKEN", "")
    if token:
        presented = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    proxied = any(key in request.META for key in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"))
    return request.META.get("REMOTE_ADDR") in LOOPBACK and not proxied
