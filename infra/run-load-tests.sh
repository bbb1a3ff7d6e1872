#!/usr/bin/env bash
# make load-test: the queue (ASSAY_LOAD_CASES generated submissions, 1000 by default, through 2 workers) and a
# submission flood against a real gunicorn server. Loopback only, each test bounded in time; PostgreSQL when
# reachable, a private redis-server (own port and data dir) as broker and cache. --quick: 100 cases.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--quick" ]]; then export ASSAY_LOAD_CASES="${ASSAY_LOAD_CASES:-100}"; shift; fi
export ASSAY_LOAD_TESTS=1
export ASSAY_SUITE_PATH=tests/load
exec infra/run-fault-tests.sh -s "$@"
