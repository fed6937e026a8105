#!/usr/bin/env bash
# helm for AEGIS's chart tests and for local use, built from the pinned Go module in tools/helm
# (helm.sh/helm/v3, see tools/helm/go.mod), the same way scripts/cluster.sh builds the control
# plane: no download of a prebuilt binary, no Docker.
#
#   scripts/helm.sh ARGS...        builds helm once (cached), then runs `helm ARGS...`
#   scripts/helm.sh --build-only   builds (or finds) helm and prints its path
#
# The binary lives in ${AEGIS_TOOLS_CACHE:-${AEGIS_CLUSTER_CACHE:-~/.cache/aegis/cluster}}/helm-<key>/helm,
# key = sha256 of tools/helm/go.mod, go.sum, tools.go and the link flags; e2e/.cache is
# git-ignored. Build progress goes to stderr; a failed build prints the end of its log.
# helm's own state (repositories, cache, config) is kept beside the binary unless HELM_*_HOME
# variables say otherwise, so a run never touches ~/.config/helm.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOD_DIR="$REPO/tools/helm"
CACHE="${AEGIS_TOOLS_CACHE:-${AEGIS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/cluster}}"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

HELM_VERSION=v3.22.0
# helm's Makefile sets the default Kubernetes version of `helm template`/`lint` (Capabilities)
# from its client-go (v0.37 → 1.37); without these flags it would claim v1.20.
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
LDFLAGS+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"

log() { printf 'helm.sh: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/build-key.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/build-key.sh"
# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/progress.sh"
cache_key() {
  build_key "$MOD_DIR" "$LDFLAGS" go.mod go.sum tools.go
}

KEY=$(cache_key)
DIR="$CACHE/helm-$KEY"
BIN="$DIR/helm"

build() {
  [ -x "$BIN" ] && return 0
  exec 9>"$CACHE/.helm.lock"
  flock -w 900 9 || { log "another build holds $CACHE/.helm.lock"; exit 1; }
  [ -x "$BIN" ] && return 0 # built by whoever held the lock
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || { log "no Go toolchain (need Go >= 1.26 on PATH)"; exit 1; }
  local tmp="$DIR.tmp.$$" build_log="$CACHE/helm-build.log" start=$SECONDS goflags
  log "building helm $HELM_VERSION into $DIR (log: $build_log)"
  log "this takes a minute or more, once: later runs reuse the cached binary until tools/helm changes"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Keep the user's GOFLAGS and let missing modules come through the module proxy;
  # everything already in the module cache builds offline.
  goflags="$(go env GOFLAGS) -mod=mod -buildvcs=false"
  if ! with_progress "helm.sh: still building helm $HELM_VERSION" "once, then cached" "$build_log" \
         go_build "$goflags" "$tmp/helm"; then
    rm -rf "$tmp"
    log "FAILED: go build helm.sh/helm/v3/cmd/helm in $MOD_DIR; last lines of $build_log:"
    tail -n 25 "$build_log" | sed 's/^/    /' >&2
    exit 1
  fi
  rm -rf "$DIR"
  mv "$tmp" "$DIR"
  # Older builds are dead weight (~60 MB each).
  local old
  for old in "$CACHE"/helm-*; do
    [ "$old" = "$DIR" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  log "built in $(progress_elapsed $((SECONDS - start))), cached in $DIR"
}

# go_build GOFLAGS OUT: helm into OUT.
go_build() (
  cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS="$1" go build -trimpath -ldflags "$LDFLAGS" -o "$2" helm.sh/helm/v3/cmd/helm
)

build
if [ "${1:-}" = "--build-only" ]; then
  echo "$BIN"
  exit 0
fi
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-$DIR/home/cache}"
export HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-$DIR/home/config}"
export HELM_DATA_HOME="${HELM_DATA_HOME:-$DIR/home/data}"
exec "$BIN" "$@"
