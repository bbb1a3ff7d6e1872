"""Prometheus metrics.

Two kinds:

* **Process metrics**, counted where they happen: request latency by view,
  rate-limit refusals, triage stage durations. Under gunicorn or Celery's
  prefork pool several processes count; set ``PROMETHEUS_MULTIPROC_DIR`` (the
  compose file and the Kubernetes manifests do) and prometheus_client shares
  them through files, aggregated at scrape time.
* **State metrics**, read at scrape time from the source of truth, so every
  replica reports the same numbers however many processes there are: cases by
  state, triage decisions and review verdicts by outcome, and the depth of the
  Celery queue on the broker.

Labels are bounded: views are resolved view names (``unmatched`` otherwise),
never raw paths, and no label ever carries a case id, a user or content.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

# The instruments live in the lowest layer (intake.metrics) so every layer can time its work; this module adds
# the state read at scrape time, which needs all three apps.
from intake.metrics import (RATE_LIMITED, REQUEST_SECONDS, TRIAGE_RUNS, TRIAGE_STAGE_SECONDS,  # noqa: E402, F401
                            request_observe, triage_stage)


class StateCollector(Collector):
    """Reads the platform's state at scrape time. A failing source is skipped and counted, never fatal."""

    def collect(self):  # noqa: ANN201
        scrape_errors = GaugeMetricFamily("assay_metrics_source_up", "1 if a state source answered this scrape.",
                                          labels=["source"])
        for source, method in (("database", self._database), ("broker", self._broker)):
            try:
                families = list(method())
            except Exception as exc:  # the database or broker is down: report that, keep the rest
                logger.warning("metrics source %s failed: %s", source, exc.__class__.__name__)
                scrape_errors.add_metric([source], 0)
                continue
            scrape_errors.add_metric([source], 1)
            yield from families
        yield scrape_errors

    @staticmethod
    def _database():  # noqa: ANN205
        from django.db.models import Count

        from intake.models import Submission
        from reviews.models import Decision as ReviewDecision
        from triage.models import TriageResult

        cases = GaugeMetricFamily("assay_cases", "Cases by state.", labels=["state"])
        for row in Submission.objects.values("state").annotate(n=Count("pk")).order_by("state"):
            cases.add_metric([row["state"]], row["n"])
        decisions = GaugeMetricFamily("assay_decisions", "Decisions recorded, by kind and outcome.",
                                      labels=["kind", "outcome"])
        for row in TriageResult.objects.values("decision").annotate(n=Count("pk")).order_by("decision"):
            decisions.add_metric(["triage", row["decision"]], row["n"])
        for row in ReviewDecision.objects.values("verdict").annotate(n=Count("pk")).order_by("verdict"):
            decisions.add_metric(["review", row["verdict"]], row["n"])
        return [cases, decisions]

    @staticmethod
    def _broker():  # noqa: ANN205
        from django.conf import settings

        depth = GaugeMetricFamily("assay_queue_depth", "Messages waiting on the broker, by queue.",
                                  labels=["queue"])
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        depth.add_metric([queue], broker_queue_depth(queue))
        return [depth]


def broker_queue_depth(queue: str) -> int:
    """Messages waiting in ``queue`` (passive declare: never creates the queue)."""
    from assay.celery import app
    from intake.broker import ensure_broker_folders

    ensure_broker_folders()
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
        channel = connection.default_channel
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except Exception as exc:
            # A queue nothing was ever published to (or, on Redis, an empty list) does not exist: NOT_FOUND (404).
            if "404" in (str(getattr(exc, "reply_code", "")), str(getattr(exc, "code", ""))):  # kombu passes "404"
                return 0
            raise


class _Scrape:
    """What one scrape sees: process metrics (all processes' under multiprocess mode) plus state."""

    def __init__(self) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            self.process = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.process)
        else:
            self.process = REGISTRY

    def collect(self):  # noqa: ANN201
        yield from self.process.collect()
        yield from StateCollector().collect()


def metrics_exposition() -> tuple[bytes, str]:
    return generate_latest(_Scrape()), CONTENT_TYPE_LATEST


def worker_metrics_server() -> None:
    """Serve a Celery worker's metrics on ASSAY_WORKER_METRICS_PORT (connected from assay.celery).

    Workers answer no HTTP otherwise; Prometheus scrapes this port in the pod
    (the NetworkPolicy admits only the monitoring namespace to it).
    """
    from celery.signals import worker_ready

    port = os.environ.get("ASSAY_WORKER_METRICS_PORT")
    if not port:
        return

    @worker_ready.connect(weak=False)
    def _serve(**_):  # noqa: ANN202
        from prometheus_client import start_http_server
        from prometheus_client import multiprocess

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        # All interfaces of the worker pod: the NetworkPolicy admits only the monitoring namespace to this port.
        address = os.environ.get("ASSAY_WORKER_METRICS_ADDR", "0.0.0.0")  # nosec B104
        start_http_server(int(port), addr=address, registry=registry)


def metrics(request):  # noqa: ANN001, ANN201
    """GET /metrics: for the scraper only (a bearer token, or loopback without a proxy in front)."""
    from django.http import HttpResponse, JsonResponse

    from intake.health import metrics_allowed

    if not metrics_allowed(request):
        return JsonResponse({"error": {"code": "forbidden", "message": "Metrics are for the scraper only."}},
                            status=403)
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)
