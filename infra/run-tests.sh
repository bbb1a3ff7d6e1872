#!/usr/bin/env bash
# The whole suite: first on PostgreSQL + Redis (the production engines), then
# again on the embedded SQLite default. ASSAY_REQUIRE_SERVICES=1 turns a
# missing service into a failure instead of a skipped pass.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
# The dynamic stage's vetted runtime (a no-op when var/dynamic-runtime matches the lock files).
PYTHON=.venv/bin/python infra/build-dynamic-runtime.sh
# Each pass gets its own data dir (keys, vault, broker queue), as two fresh installations would.
DATA_ROOT="${ASSAY_TEST_DATA_DIR:-$(mktemp -d /tmp/assay-test.XXXXXX)}"
PG_URL="${ASSAY_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${ASSAY_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
pg_up() { .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc}", file=sys.stderr); sys.exit(1)
PY
}
if pg_up; then
  echo "== pass 1: PostgreSQL + Redis =="
  ASSAY_DATA_DIR="$DATA_ROOT/postgresql" DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" $PYTEST "$@"
elif [[ "${ASSAY_REQUIRE_SERVICES:-0}" == "1" ]]; then
  echo "ASSAY_REQUIRE_SERVICES=1 but PostgreSQL is not reachable at $PG_URL" >&2
  exit 1
else
  echo "== PostgreSQL not reachable: skipping the PostgreSQL pass =="
fi
echo "== pass 2: embedded default (SQLite, database cache) =="
ASSAY_DATA_DIR="$DATA_ROOT/sqlite" env -u DATABASE_URL -u REDIS_URL $PYTEST -m "not browser and not postgres_only" "$@"
