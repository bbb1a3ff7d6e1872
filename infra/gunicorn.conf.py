"""gunicorn settings for the production image (infra/docker-entrypoint.sh web).

Threads (gthread) rather than many processes: a request mostly waits on
PostgreSQL and the vault. bench_portal measures this configuration.
"""

import os

bind = os.environ.get("ASSAY_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("ASSAY_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("ASSAY_WEB_THREADS", "8"))
timeout = int(os.environ.get("ASSAY_WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 30
max_requests = 2000  # recycle workers now and then: bounds slow leaks in any dependency
max_requests_jitter = 200
# The access line comes from assay.observability (JSON, request id, no query strings); gunicorn's would
# repeat it with the query string (which may hold tokens), so it stays off.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("ASSAY_LOG_LEVEL", "info").lower()
# Only the ingress controller's hops may set X-Forwarded-*; anything else is the client's claim.
forwarded_allow_ips = os.environ.get("ASSAY_FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190
limit_request_fields = 100
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def child_exit(server, worker):  # noqa: ANN001, ANN201
    """A dead worker's metric files must stop counting as live (prometheus_client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
