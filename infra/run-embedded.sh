#!/usr/bin/env bash
# The embedded default: SQLite, local vault and keys under var/, a real Celery
# worker on kombu's filesystem broker, and the web server on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export ASSAY_DATA_DIR="${ASSAY_DATA_DIR:-$PWD/var}"
$PY manage.py migrate --noinput -v0
$PY manage.py createcachetable
$PY manage.py load_demo
# A signed sample report (checks fonts, keys and the transparency log on this machine).
$PY manage.py demo_report "$ASSAY_DATA_DIR/demo-report.pdf"
$PY manage.py verify_report "$ASSAY_DATA_DIR/demo-report.pdf"
.venv/bin/celery -A assay worker -B --loglevel=INFO --concurrency=2 --without-gossip --without-mingle \
  --logfile "$ASSAY_DATA_DIR/worker.log" &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo "Celery worker started (pid $WORKER, log $ASSAY_DATA_DIR/worker.log)"
echo "Assay portal: http://127.0.0.1:8000/"
$PY manage.py runserver 127.0.0.1:8000 --noreload
