#!/usr/bin/env bash
# Debian packages the test suites drive for real, installed when missing: Chromium (dashboard,
# through playwright-core) and Lua (the Argo CD health check). PostgreSQL and Redis come from
# services.sh. Prints nothing but progress on stderr.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
install_schemathesis() {
  # The REST API fuzzer (PyPI), in its own virtualenv outside the work tree.
  local venv="${AEGIS_SCHEMATHESIS_VENV:-$HOME/.cache/aegis/schemathesis}"
  [ -x "$venv/bin/schemathesis" ] && return 0
  echo "test-deps: installing schemathesis into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "schemathesis==4.32.5" >&2
}
install_schemathesis
((${#need[@]})) || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test-deps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "test-deps: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "${need[@]}" >&2
