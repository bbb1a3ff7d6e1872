"""Load tests (make load-test): loopback only, bounded in time, never part of `make test`.

Collected only when ASSAY_LOAD_TESTS=1 (set by infra/run-load-tests.sh, which starts a private redis-server
for the broker and cache). ASSAY_LOAD_CASES sets the queue test's size (1000 by default; 100 with --quick).
"""

from __future__ import annotations

import os

from tests.fault.conftest import PrivateRedis, Worker, free_port, private_redis, start_worker, wait_port  # noqa: F401

if os.environ.get("ASSAY_LOAD_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]
