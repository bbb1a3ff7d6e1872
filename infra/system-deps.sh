#!/usr/bin/env bash
# Installs the Debian packages Assay needs, only those missing.
#   infra/system-deps.sh          runtime: bubblewrap + gVisor (sandbox), pango + fonts (PDF reports)
#   infra/system-deps.sh --test   also chromium (browser tests) and poppler-utils (PDF to PNG checks)
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in bubblewrap runsc libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
  have_pkg "$pkg" || need+=("$pkg")
done
if [[ "${1:-}" == "--test" ]]; then
  for pkg in chromium poppler-utils; do have_pkg "$pkg" || need+=("$pkg"); done
fi
if ((${#need[@]} == 0)); then
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# runsc is optional: bubblewrap is the fallback sandbox, so a mirror without it must not stop set-up.
if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    rest=()
    for pkg in "${need[@]}"; do [[ "$pkg" == runsc ]] || rest+=("$pkg"); done
    echo "runsc (gVisor) unavailable; continuing with bubblewrap" >&2
    $SUDO apt-get install -y -qq --no-install-recommends "${rest[@]}" >/dev/null
  fi
fi
