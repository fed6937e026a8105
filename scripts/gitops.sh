#!/usr/bin/env bash
# A real Argo CD for the GitOps e2e tests and local runs: its application controller and repo
# server, built once (cached) from Argo CD's own Go module at the release e2e/argocd pins, run as
# processes on loopback against the local cluster (scripts/cluster.sh), with the local Redis
# (scripts/services.sh) as its cache. Git repositories are read from this machine (file://).
#
#   scripts/gitops.sh up     build once, install Argo CD's CRDs and settings into namespace
#                            argocd, start what is not running, wait until both answer; prints
#                            ARGOCD_NAMESPACE= and ARGOCD_CLUSTER_SERVER= as its last lines
#   scripts/gitops.sh down   stop both processes
#   scripts/gitops.sh status what runs
#
# Applications sync to the cluster registered as ARGOCD_CLUSTER_SERVER (the local kube-apiserver)
# as ServiceAccount argocd/argocd-application-controller, bound to cluster-admin as in a stock
# install: AEGIS gates its writes like anyone's. argocd-cm carries AEGIS's ApprovalRequest health
# check (docs/argocd/approvalrequest-health.lua).
# Environment: AEGIS_GITOPS_CACHE (default ~/.cache/aegis/gitops), AEGIS_ARGOCD_REPO_SERVER_PORT
# (18181), AEGIS_ARGOCD_CONTROLLER_METRICS_PORT (18182), AEGIS_ARGOCD_REPO_METRICS_PORT (18184),
# AEGIS_REDIS_PORT (6379; Argo CD uses database 1).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARGO_DIR="$REPO/e2e/argocd"
CACHE="${AEGIS_GITOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/gitops}"
mkdir -p "$CACHE"
RUN="$CACHE/run"
mkdir -p "$RUN"
NAMESPACE=argocd
REPO_SERVER_PORT="${AEGIS_ARGOCD_REPO_SERVER_PORT:-18181}"
CONTROLLER_METRICS_PORT="${AEGIS_ARGOCD_CONTROLLER_METRICS_PORT:-18182}"
REPO_METRICS_PORT="${AEGIS_ARGOCD_REPO_METRICS_PORT:-18184}"
REDIS_PORT="${AEGIS_REDIS_PORT:-6379}"

log() { printf 'gitops: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    log "last lines of $2:"
    tail -n 25 "$2" | sed 's/^/    /' >&2
  fi
  exit 1
}

# shellcheck source=scripts/lib/build-key.sh
. "$REPO/scripts/lib/build-key.sh"
# shellcheck source=scripts/lib/progress.sh
. "$REPO/scripts/lib/progress.sh"

ARGO_VERSION=$(awk '$1 == "require" && $2 == "github.com/argoproj/argo-cd/v2" { print $3; exit }
  $1 == "github.com/argoproj/argo-cd/v2" { print $2; exit }' "$ARGO_DIR/go.mod")
[ -n "$ARGO_VERSION" ] || { echo "gitops: no github.com/argoproj/argo-cd/v2 requirement in $ARGO_DIR/go.mod" >&2; exit 1; }
LDFLAGS="-s -w -X github.com/argoproj/argo-cd/v2/common.version=${ARGO_VERSION#v}"
KEY=$(build_key "$ARGO_DIR" "$LDFLAGS" go.mod go.sum tools.go)
BIN="$CACHE/bin-$KEY/argocd"
BUILD_LOG="$CACHE/build.log"

build() {
  if [ -x "$BIN" ]; then
    log "argocd $ARGO_VERSION up to date ($BIN)"
    return 0
  fi
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || fail "build: no Go toolchain (need Go >= 1.24 on PATH)"
  log "building Argo CD $ARGO_VERSION (application controller, repo server) into $BIN (log: $BUILD_LOG)"
  log "this takes minutes, once: later runs reuse the cached binary until e2e/argocd changes"
  local tmp="$BIN.tmp.$$" start=$SECONDS goflags
  mkdir -p "$(dirname "$BIN")"
  goflags="$(go env GOFLAGS) -mod=mod -buildvcs=false"
  if ! with_progress "gitops: still building Argo CD $ARGO_VERSION" "once, then cached" "$BUILD_LOG" \
         go_build "$goflags" "$tmp"; then
    rm -f "$tmp"
    fail "build (go build in $ARGO_DIR)" "$BUILD_LOG"
  fi
  mv "$tmp" "$BIN"
  local old
  for old in "$CACHE"/bin-*; do
    [ "$old" = "$(dirname "$BIN")" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  log "built in $(progress_elapsed $((SECONDS - start))), cached in $BIN"
}

# go_build GOFLAGS OUT
go_build() (
  cd "$ARGO_DIR" && GOFLAGS="$1" go build -trimpath -ldflags "$LDFLAGS" -o "$2" github.com/argoproj/argo-cd/v2/cmd
)

running() { [ -s "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# start NAME ARGS...: runs the multi-call binary as NAME (ARGOCD_BINARY_NAME) in the background.
start() {
  local name=$1
  shift
  if running "$name"; then
    log "$name runs (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  log "starting $name (log: $RUN/$name.log)"
  mkdir -p "$RUN/tmp"
  ARGOCD_BINARY_NAME="$name" ARGOCD_GPG_ENABLED=false TMPDIR="$RUN/tmp" KUBECONFIG="$KUBECONFIG" \
    nohup "$BIN" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

wait_http() {
  local url=$1 what=$2 i
  for i in $(seq 1 120); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    running "$what" || fail "$what exited" "$RUN/$what.log"
    sleep 0.5
  done
  fail "$what did not answer at $url within 60 s" "$RUN/$what.log"
}

settings() {
  local k="$KUBECTL" argo_mod crds health server ca token
  argo_mod=$(cd "$ARGO_DIR" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v2)
  crds="$argo_mod/manifests/crds"
  $k apply --server-side --force-conflicts -f "$crds/application-crd.yaml" -f "$crds/appproject-crd.yaml" >/dev/null
  # `kubectl wait` fails outright on a CRD created a moment ago (no status.conditions yet): poll.
  local crd i
  for crd in applications.argoproj.io appprojects.argoproj.io; do
    for i in $(seq 1 120); do
      [ "$($k get crd "$crd" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = "True" ] && break
      [ "$i" -lt 120 ] || fail "CRD $crd not Established after 60 s"
      sleep 0.5
    done
  done
  $k get namespace "$NAMESPACE" >/dev/null 2>&1 || $k create namespace "$NAMESPACE" >/dev/null
  health=$(cat "$REPO/docs/argocd/approvalrequest-health.lua")
  server=$($k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  ca=$($k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  $k -n "$NAMESPACE" get serviceaccount argocd-application-controller >/dev/null 2>&1 ||
    $k -n "$NAMESPACE" create serviceaccount argocd-application-controller >/dev/null
  $k get clusterrolebinding argocd-application-controller >/dev/null 2>&1 ||
    $k create clusterrolebinding argocd-application-controller --clusterrole=cluster-admin \
      --serviceaccount="$NAMESPACE:argocd-application-controller" >/dev/null
  token=$($k -n "$NAMESPACE" create token argocd-application-controller --duration=48h)
  CLUSTER_SERVER=$server
  python3 - "$health" "$server" "$ca" "$token" "$NAMESPACE" <<'PY' | $k apply -f - >/dev/null
import json, sys
health, server, ca, token, ns = sys.argv[1:6]
part_of = {"app.kubernetes.io/part-of": "argocd"}
def obj(kind, name, **rest):
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": ns, "labels": dict(part_of, **rest.pop("labels", {}))}, **rest}
items = [
    obj("ConfigMap", "argocd-cm", data={
        "resource.customizations.health.aegis.valina.ai_ApprovalRequest": health,
        "timeout.reconciliation": "15s",
    }),
    obj("ConfigMap", "argocd-rbac-cm", data={}),
    obj("ConfigMap", "argocd-cmd-params-cm", data={}),
    obj("Secret", "argocd-secret", stringData={"server.secretkey": "aegis-e2e"}),
    obj("Secret", "local-cluster", labels={"argocd.argoproj.io/secret-type": "cluster"}, stringData={
        "name": "local", "server": server,
        "config": json.dumps({"bearerToken": token, "tlsClientConfig": {"caData": ca}}),
    }),
    {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "default", "namespace": ns},
     "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
              "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}},
]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}

up() {
  KUBECONFIG=$(bash "$REPO/scripts/cluster.sh" up | tail -n 1)
  export KUBECONFIG
  KUBECTL="${AEGIS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/cluster}/bin/kubectl"
  [ -x "$KUBECTL" ] || fail "no kubectl at $KUBECTL (scripts/cluster.sh up builds it)"
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    bash "$REPO/scripts/services.sh" up >/dev/null
  fi
  build
  settings
  start argocd-repo-server --port "$REPO_SERVER_PORT" --metrics-port "$REPO_METRICS_PORT" --disable-tls \
    --redis "127.0.0.1:$REDIS_PORT" --redisdb 1 --loglevel warn
  wait_http "http://127.0.0.1:$REPO_METRICS_PORT/metrics" argocd-repo-server
  start argocd-application-controller --kubeconfig "$KUBECONFIG" --namespace "$NAMESPACE" \
    --repo-server "127.0.0.1:$REPO_SERVER_PORT" --repo-server-plaintext --redis "127.0.0.1:$REDIS_PORT" \
    --redisdb 1 --metrics-port "$CONTROLLER_METRICS_PORT" --app-resync 60 --loglevel warn
  wait_http "http://127.0.0.1:$CONTROLLER_METRICS_PORT/metrics" argocd-application-controller
  log "Argo CD $ARGO_VERSION runs: applications in namespace $NAMESPACE sync to $CLUSTER_SERVER"
  echo "ARGOCD_NAMESPACE=$NAMESPACE"
  echo "ARGOCD_CLUSTER_SERVER=$CLUSTER_SERVER"
}

down() {
  local name pid
  for name in argocd-application-controller argocd-repo-server; do
    if running "$name"; then
      pid=$(cat "$RUN/$name.pid")
      log "stopping $name (pid $pid)"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  local name
  for name in argocd-repo-server argocd-application-controller; do
    if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: scripts/gitops.sh up|down|status" >&2
    exit 2
    ;;
esac
