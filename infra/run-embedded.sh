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
$PY -c "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','assay.settings'); django.setup(); from assay.celery import ensure_broker_folders; ensure_broker_folders()"
.venv/bin/celery -A assay worker --loglevel=INFO --concurrency=2 --without-gossip --without-mingle \
  --logfile "$ASSAY_DATA_DIR/worker.log" &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo "Celery worker started (pid $WORKER, log $ASSAY_DATA_DIR/worker.log)"
echo "Assay portal: http://127.0.0.1:8000/"
$PY manage.py runserver 127.0.0.1:8000 --noreload
