#!/usr/bin/env bash
# promtool for the chart's monitoring tests (`promtool check rules`, `promtool test rules` on
# charts/aegis/files/prometheus-rules.yaml) and for local use, built from the pinned Go module in
# tools/promtool (github.com/prometheus/prometheus, see tools/promtool/go.mod) the way
# scripts/helm.sh builds helm: no download of a prebuilt binary, no Docker.
#
#   scripts/promtool.sh ARGS...        builds promtool once (cached), then runs `promtool ARGS...`
#   scripts/promtool.sh --build-only   builds (or finds) promtool and prints its path
#
# The binary lives in ${AEGIS_TOOLS_CACHE:-${AEGIS_CLUSTER_CACHE:-~/.cache/aegis/cluster}}/promtool-<key>/promtool,
# key = sha256 of tools/promtool/go.mod, go.sum, tools.go and the link flags. Build progress goes
# to stderr; a failed build prints the end of its log.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOD_DIR="$REPO/tools/promtool"
CACHE="${AEGIS_TOOLS_CACHE:-${AEGIS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/cluster}}"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# Prometheus's Go module v0.316.0 is Prometheus 3.16.0 (module v0.3MM.P ↔ release 3.MM.P).
PROMTOOL_VERSION=v0.316.0
RELEASE=3.16.0
LDFLAGS="-s -w -X github.com/prometheus/common/version.Version=$RELEASE"
LDFLAGS+=" -X github.com/prometheus/common/version.Branch=HEAD"
# Prometheus's own build tag: leaves out the service discoveries promtool does not import itself
# (AWS, Azure, GCE, Consul, …: their SDKs are much of the build), which `check rules` and
# `test rules` never use. Part of the cache key.
TAGS=remove_all_sd

log() { printf 'promtool.sh: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/build-key.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/build-key.sh"
# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/progress.sh"

KEY=$(build_key "$MOD_DIR" "$LDFLAGS -tags $TAGS" go.mod go.sum tools.go)
DIR="$CACHE/promtool-$KEY"
BIN="$DIR/promtool"

build() {
  [ -x "$BIN" ] && return 0
  exec 9>"$CACHE/.promtool.lock"
  flock -w 1500 9 || { log "another build holds $CACHE/.promtool.lock"; exit 1; }
  [ -x "$BIN" ] && return 0 # built by whoever held the lock
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || { log "no Go toolchain (need Go >= 1.26 on PATH)"; exit 1; }
  local tmp="$DIR.tmp.$$" build_log="$CACHE/promtool-build.log" start=$SECONDS goflags
  log "building promtool (prometheus $PROMTOOL_VERSION) into $DIR (log: $build_log)"
  log "this takes several minutes, once: later runs reuse the cached binary until tools/promtool changes"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Keep the user's GOFLAGS and let missing modules come through the module proxy;
  # everything already in the module cache builds offline.
  goflags="$(go env GOFLAGS) -mod=mod -buildvcs=false"
  if ! with_progress "promtool.sh: still building promtool $PROMTOOL_VERSION" "once, then cached" "$build_log" \
         go_build "$goflags" "$tmp/promtool"; then
    rm -rf "$tmp"
    log "FAILED: go build github.com/prometheus/prometheus/cmd/promtool in $MOD_DIR; last lines of $build_log:"
    progress_tail "$build_log"
    exit 1
  fi
  rm -rf "$DIR"
  mv "$tmp" "$DIR"
  # Older builds are dead weight (~100 MB each).
  local old
  for old in "$CACHE"/promtool-*; do
    [ "$old" = "$DIR" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  log "built in $(progress_elapsed $((SECONDS - start))), cached in $DIR"
}

# go_build GOFLAGS OUT: promtool into OUT.
go_build() (
  cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS="$1" go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$2" \
    github.com/prometheus/prometheus/cmd/promtool
)

build
if [ "${1:-}" = "--build-only" ]; then
  echo "$BIN"
  exit 0
fi
exec "$BIN" "$@"
