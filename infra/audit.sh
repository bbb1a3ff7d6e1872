#!/usr/bin/env bash
# Security audits (make audit): kept out of `make test` because pip-audit needs the network.
#   1. bandit: static security lint of our code; findings reviewed as false positives live in
#      infra/bandit-baseline.json (sandbox-internal /tmp paths, the bounded SafeLoader, the operator's probe URL).
#      Anything new fails.
#   2. detect-secrets: no credential in any tracked file; reviewed placeholders live in infra/secrets-baseline.json.
#   3. pip-audit: known vulnerabilities in the installed dependencies (asks the vulnerability service per
#      package, so it needs the network). ASSAY_AUDIT_OFFLINE=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
echo "== bandit (medium and high severity) =="
$BIN/bandit -q -r assay intake triage reviews -ll -b infra/bandit-baseline.json || status=1
echo "== detect-secrets (tracked files) =="
git ls-files -z -- . ':!:infra/secrets-baseline.json' ':!:tests/fixtures' \
  | xargs -0 $BIN/detect-secrets-hook --baseline infra/secrets-baseline.json || status=1
if [[ "${ASSAY_AUDIT_OFFLINE:-0}" == "1" ]]; then
  echo "== pip-audit skipped (ASSAY_AUDIT_OFFLINE=1) =="
else
  echo "== pip-audit (installed dependencies; needs the network) =="
  $BIN/pip-audit --skip-editable --progress-spinner off || status=1
fi
exit $status
