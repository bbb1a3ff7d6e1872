"""The Celery application. Settings come from Django's (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_ready

from intake.broker import ensure_broker_folders  # noqa: F401 - re-exported for the worker and tests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")

app = Celery("assay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _observability() -> None:
    """Task ids in worker log lines; a metrics port for workers when ASSAY_WORKER_METRICS_PORT is set."""
    from assay.metrics import worker_metrics_server
    from assay.observability import celery_task_ids_in_logs

    celery_task_ids_in_logs()
    worker_metrics_server()


_observability()


@worker_ready.connect
def _sweep_leftovers(**_kwargs) -> None:
    """A worker that starts after a crash removes the plaintext its dead predecessor left in run directories."""
    from intake.run_dirs import sweep_run_dirs
    from triage.cgroups import sweep_leftovers

    sweep_run_dirs()
    sweep_leftovers()
