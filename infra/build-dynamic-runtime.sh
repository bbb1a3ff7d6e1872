#!/usr/bin/env bash
# Builds the dynamic stage's vetted, offline runtime into var/dynamic-runtime (part of `make run` / `make test`
# set-up; never at triage time). Only what the committed lock files pin, each checked against its hash:
#   python/<set>/     pip --target dirs from infra/dynamic-runtime/requirements-<set>.lock (--require-hashes)
#   node/node_modules npm ci from infra/dynamic-runtime/node/package-lock.json (integrity hashes), no install scripts
#   runtime.json      what is inside (versions, Node's built-in modules), read by the stage
# The sandbox mounts the result read-only. A rebuild happens only when a lock file changes.
#   PYTHON=.venv/bin/python infra/build-dynamic-runtime.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
SPEC=infra/dynamic-runtime
DEST="${ASSAY_DYNAMIC_RUNTIME:-var/dynamic-runtime}"
stamp=$(cat "$SPEC"/requirements-*.lock "$SPEC"/node/package.json "$SPEC"/node/package-lock.json \
        <("$PYTHON" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
if [[ "${1:-}" != "--force" && -f "$DEST/runtime.json" ]] && grep -q "\"stamp\": \"$stamp\"" "$DEST/runtime.json"; then
  exit 0
fi
echo "Building the dynamic stage's offline runtime into $DEST (pip and npm, from the committed locks)"
command -v npm >/dev/null || { echo "build-dynamic-runtime: npm (Node 20) is needed for the Node runtime" >&2; exit 1; }
work="$DEST.partial"
rm -rf "$work"
mkdir -p "$work/python" "$work/node"
for lock in "$SPEC"/requirements-*.lock; do
  set_name=$(basename "$lock" .lock); set_name=${set_name#requirements-}
  "$PYTHON" -m pip install -q --disable-pip-version-check --no-input --require-hashes --no-deps \
    --only-binary=:all: --target "$work/python/$set_name" -r "$lock" 2>&1 | grep -v "is ignored: it is neither" || true
  test -d "$work/python/$set_name" || { echo "build-dynamic-runtime: pip failed for $lock" >&2; exit 1; }
done
cp "$SPEC/node/package.json" "$SPEC/node/package-lock.json" "$work/node/"
(cd "$work/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
"$PYTHON" - "$work" "$stamp" <<'PY'
import json, subprocess, sys
from importlib.metadata import distributions
from pathlib import Path

work, stamp = Path(sys.argv[1]), sys.argv[2]
python = {d.name: {dist.metadata["Name"].lower(): dist.version for dist in distributions(path=[str(d)])}
          for d in sorted((work / "python").iterdir())}
node_modules = work / "node" / "node_modules"
node = {}
for package in node_modules.glob("**/package.json"):
    rel = package.parent.relative_to(node_modules).parts
    if "node_modules" in rel or len(rel) > 2 or (len(rel) == 2 and not rel[0].startswith("@")):
        continue
    node["/".join(rel)] = json.loads(package.read_text()).get("version", "")
builtins = json.loads(subprocess.run(["node", "-p", "JSON.stringify(require('module').builtinModules)"],
                                     capture_output=True, text=True, check=True).stdout)
version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
(work / "runtime.json").write_text(json.dumps(
    {"stamp": stamp, "python": python, "node": {"version": version, "packages": dict(sorted(node.items())),
                                                "builtins": builtins}}, indent=1, sort_keys=True) + "\n")
PY
chmod -R a+rX,go-w "$work"
rm -rf "$DEST"
mv "$work" "$DEST"
echo "dynamic runtime built in $DEST"
