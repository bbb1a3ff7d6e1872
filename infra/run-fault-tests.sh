#!/usr/bin/env bash
# make fault-test: kill and restart real processes (Celery workers, a private Redis broker, moto's S3, a proxy
# in front of PostgreSQL) and check nothing is lost, duplicated or half-written. Loopback only; every test has
# its own timeout. Uses PostgreSQL on 127.0.0.1:5432 when reachable (the database-drop test needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export ASSAY_DATA_DIR="${ASSAY_TEST_DATA_DIR:-$(mktemp -d /tmp/assay-fault.XXXXXX)}"
REDIS_DIR="$ASSAY_DATA_DIR/redis"
mkdir -p "$REDIS_DIR"
REDIS_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A private broker on our own port and data dir, restarted by the tests at will: never the shared Redis.
REDIS_CMD=(redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" --appendonly yes
           --appendfsync always --save "" --protected-mode yes)
"${REDIS_CMD[@]}" >"$REDIS_DIR/server.log" 2>&1 &
stop_redis() { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }
trap stop_redis EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export ASSAY_FAULT_TESTS=1 ASSAY_FAULT_REDIS_PORT="$REDIS_PORT"
export ASSAY_FAULT_REDIS_CMD
ASSAY_FAULT_REDIS_CMD=$($PY -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${REDIS_CMD[@]}")
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export ASSAY_SANDBOX="${ASSAY_SANDBOX:-bubblewrap}"
PG_URL="${ASSAY_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if $PY -c "import psycopg,sys; psycopg.connect(sys.argv[1].replace('postgres://','postgresql://'), connect_timeout=3).close()" "$PG_URL" 2>/dev/null; then
  export DATABASE_URL="$PG_URL"
fi
.venv/bin/pytest -p no:cacheprovider "${ASSAY_SUITE_PATH:-tests/fault}" "$@"
