#!/usr/bin/env bash
# Debian packages the test suites drive for real, installed when missing: Chromium (dashboard,
# through playwright-core), Lua (the Argo CD health check) and the local cluster's node
# (containerd, runc, buildah, the CNI plugins, a static busybox for its images, debootstrap for
# AEGIS's own image's base; not with AEGIS_NODE=0). PostgreSQL and Redis come from services.sh. Prints nothing but progress on stderr.
set -euo pipefail
# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/progress.sh"
log() { printf 'test-deps: %s\n' "$*" >&2; }
# failed STEP LOGFILE: which step failed, where its log is and how it ends; exits 1.
failed() {
  log "FAILED: $1; log: $2; last lines:"
  progress_tail "$2"
  exit 1
}

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [ "${AEGIS_NODE:-1}" != 0 ]; then
  for pkg in containerd runc buildah conntrack iptables containernetworking-plugins busybox-static iproute2 debootstrap; do
    installed "$pkg" || need+=("$pkg")
  done
fi

venv_install() { python3 -m venv "$1" && "$1/bin/pip" install -q "$2"; }
install_schemathesis() {
  # The REST API fuzzer (PyPI), in its own virtualenv outside the work tree.
  local venv="${AEGIS_SCHEMATHESIS_VENV:-$HOME/.cache/aegis/schemathesis}" spec="schemathesis==4.32.5"
  [ -x "$venv/bin/schemathesis" ] && return 0
  local pip_log="${TMPDIR:-/tmp}/aegis-schemathesis-pip.log" start=$SECONDS
  log "installing $spec into $venv (log: $pip_log); once, then cached there"
  with_progress "test-deps: still installing $spec" "once, then cached" "$pip_log" venv_install "$venv" "$spec" ||
    failed "pip install $spec into $venv" "$pip_log"
  log "installed schemathesis in $(progress_elapsed $((SECONDS - start)))"
}
install_schemathesis
((${#need[@]})) || exit 0
if [ "$(id -u)" != 0 ]; then
  log "missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root"
  exit 1
fi
apt_install() { apt-get update -qq && apt-get install -y -qq "$@"; }
apt_log="${TMPDIR:-/tmp}/aegis-test-deps-apt.log"
start=$SECONDS
log "installing ${need[*]} from Debian (log: $apt_log); once: later runs find them installed"
export DEBIAN_FRONTEND=noninteractive
with_progress "test-deps: still installing ${need[*]}" "once" "$apt_log" apt_install "${need[@]}" ||
  failed "apt-get install ${need[*]}" "$apt_log"
log "installed ${need[*]} in $(progress_elapsed $((SECONDS - start)))"
