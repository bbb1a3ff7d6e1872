#!/usr/bin/env bash
# Installs the Debian packages Assay needs, only those missing.
#   infra/system-deps.sh          runtime: bubblewrap + gVisor (sandbox), pango + fonts (PDF reports)
#   infra/system-deps.sh --test   also chromium (browser tests) and poppler-utils (PDF to PNG checks)
set -euo pipefail
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# gVisor from before mid-2023 has only the ptrace platform, which makes a triage run about half again slower
# than the systrap platform of later releases; on bookworm the later runsc comes from Debian's own backports.
runsc_is_old() {
  local version
  version=$(runsc --version 2>/dev/null | sed -n 's/^runsc version 0\.0~\([0-9]\{8\}\).*/\1/p')
  [[ -n "$version" && "$version" < "20230601" ]]
}
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [[ "$codename" == "bookworm" ]] && { ! have_pkg runsc || runsc_is_old; }; then
  list=/etc/apt/sources.list.d/assay-bookworm-backports.list
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$list" >/dev/null
  fi
  echo "Installing gVisor (runsc) from bookworm-backports"
  if ! { $SUDO apt-get update -qq >/dev/null &&
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
           -t bookworm-backports runsc >/dev/null; }; then
    echo "runsc from bookworm-backports unavailable; keeping what is installed (or bubblewrap)" >&2
  fi
fi
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
if [[ -n "$SUDO" ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${need[*]}" >&2; exit 1; }
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
