"""The process's metric instruments (Prometheus): HTTP requests, rate limits, triage stages and runs.

In the lowest layer so intake's middleware and triage's pipeline time their work without importing the top
(assay.metrics adds what is read from the database and broker at scrape time, and serves the exposition).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "assay_http_request_duration_seconds", "Time to answer an HTTP request, by resolved view.",
    ["method", "view", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RATE_LIMITED = Counter("assay_http_rate_limited_total", "Requests refused with 429, by resolved view.", ["view"])
TRIAGE_STAGE_SECONDS = Histogram(
    "assay_triage_stage_duration_seconds", "Time spent in each stage of triaging one case.", ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0))
TRIAGE_RUNS = Counter("assay_triage_runs_total", "Triage runs finished, by how they ended.", ["result"])

_ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_observe(*, method: str, view: str, status: int, seconds: float) -> None:
    method = method if method in _ALLOWED_METHODS else "OTHER"  # methods are caller-chosen: bound them
    REQUEST_SECONDS.labels(method=method, view=view, status_class=f"{status // 100}xx").observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(view=view).inc()


@contextmanager
def triage_stage(stage: str) -> Iterator[None]:
    """Time one stage of a triage run (stage names are fixed strings in triage.pipeline)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        TRIAGE_STAGE_SECONDS.labels(stage=stage).observe(time.perf_counter() - started)
