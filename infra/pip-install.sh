#!/usr/bin/env bash
# pip install into .venv with one updating progress line instead of pip's hundreds (or -q's silence).
#   infra/pip-install.sh WHAT ARGS...   e.g. infra/pip-install.sh "runtime packages" -e .
set -euo pipefail
what="$1"; shift
log="$(mktemp /tmp/assay-pip.XXXXXX)"
trap 'rm -f "$log"' EXIT
started=$SECONDS
tty=0; [[ -t 1 ]] && tty=1
echo "Installing $what into .venv (pip; the first time takes a few minutes)"
set +e
.venv/bin/pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 | tee "$log" | awk -v tty="$tty" '
  /^(Collecting|Requirement already satisfied|Obtaining)/ { n++; if (tty) printf "\r  %d packages resolved", n; fflush() }
  /^Installing collected packages/ { if (tty) printf "\r  %d packages resolved; installing...", n; fflush() }
  END { if (tty) printf "\r\033[K"; }'
status=${PIPESTATUS[0]}
set -e
if (( status != 0 )); then
  grep -v "is ignored: it is neither" "$log" | tail -25 >&2
  echo "pip failed (exit $status); the lines above say why" >&2
  exit "$status"
fi
words=$(grep '^Successfully installed' "$log" | wc -w || true)
echo "  done in $((SECONDS - started)) s ($(( words > 2 ? words - 2 : 0 )) packages installed or upgraded)"
