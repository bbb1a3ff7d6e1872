#!/bin/sh
# One image, four roles: web | worker | beat | migrate (anything else is run as given).
set -eu
# Metrics files of a previous run would be counted again: start each container with an empty directory.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
case "${1:-web}" in
  web)
    exec gunicorn assay.wsgi:application --config /app/infra/gunicorn.conf.py ;;
  worker)
    exec celery -A assay worker --loglevel="${ASSAY_LOG_LEVEL:-INFO}" \
      --concurrency="${ASSAY_WORKER_CONCURRENCY:-2}" --prefetch-multiplier=1 \
      --without-gossip --without-mingle -Q "${ASSAY_CELERY_QUEUE:-assay}" ;;
  beat)
    exec celery -A assay beat --loglevel="${ASSAY_LOG_LEVEL:-INFO}" \
      --schedule="${ASSAY_DATA_DIR:-/var/lib/assay}/celerybeat-schedule" ;;
  migrate)
    python manage.py migrate --noinput && exec python manage.py createcachetable ;;
  *)
    exec "$@" ;;
esac
