#!/usr/bin/env bash
# The local cluster for AEGIS's e2e tests, the demo and local runs: etcd, kube-apiserver (RBAC,
# webhooks, ServiceAccount tokens) and kube-controller-manager on loopback, and a real node
# (scripts/lib/node.sh): kube-scheduler, containerd, a bridge CNI and a kubelet registered as
# `aegis-node`. The Kubernetes binaries are built from the pinned Go module in e2e/controlplane;
# containerd, runc, buildah and the CNI plugins are Debian's (scripts/test-deps.sh).
#
#   scripts/cluster.sh up       build once (cached), make the PKI once, start what is not running
#                               (and restart a component started with other flags), wait until
#                               ready (the Node too); prints the admin kubeconfig path as its LAST line
#   scripts/cluster.sh down     delete the node's pods, stop everything (SIGTERM, then SIGKILL) and
#                               remove what the node left (containers, shims, mounts, network
#                               namespaces, the bridge, cgroups); `down --wipe` also drops etcd's
#                               and the node's state
#   scripts/cluster.sh status   what runs
#   scripts/cluster.sh image import ARCHIVE IMAGE
#                               an OCI archive (e.g. `buildah push IMAGE oci-archive:ARCHIVE:IMAGE`)
#                               into the node's containerd, where pods find IMAGE without a registry
#   scripts/cluster.sh image from-dir DIR IMAGE [ENTRYPOINT_JSON [CMD_JSON]]
#                               an image FROM scratch whose root filesystem is DIR, imported likewise
#   scripts/cluster.sh image tag IMAGE NEW_IMAGE
#                               another name for an image the node has (e.g. a second tag for a
#                               rolling upgrade); replaces NEW_IMAGE if it names another image
#   scripts/cluster.sh buildah ARGS...
#                               buildah on the project's image store (vfs, under the cache)
#
# All progress goes to stderr; stdout carries only the kubeconfig path (for `up`).
# kube-apiserver presents a client certificate to every admission webhook (AdmissionConfiguration,
# --admission-control-config-file); the CA it chains to is webhook-client-ca.crt beside the
# kubeconfig, for `aegis serve --webhook-client-ca` (mutual TLS, docs/security.md).
# The node is tainted aegis.valina.ai/real-node:NoSchedule: only Pods that tolerate it run there.
# Pods must use images the node has (imagePullPolicy: Never or IfNotPresent): nothing is pulled
# from a registry. No kube-proxy and no cluster DNS. Pods reach kube-apiserver as in any cluster
# (the `kubernetes` Service, 10.0.0.1:443, from KUBERNETES_SERVICE_HOST/PORT) and PostgreSQL and
# Redis at the node IP (10.244.0.1:5432, :6379), through pod-forward and one nat rule for packets
# from the bridge (scripts/lib/node.sh, "Pod access"); kube-apiserver reaches webhook Services at
# their endpoints' pod IPs (--enable-aggregator-routing).
# Environment: AEGIS_CLUSTER_CACHE (default ~/.cache/aegis/cluster, shared by every clone), AEGIS_ETCD_PORT (23790),
# AEGIS_ETCD_PEER_PORT (23800), AEGIS_APISERVER_PORT (6443), AEGIS_KCM_PORT (10257),
# AEGIS_NODE (1; 0 starts the control plane alone, without scheduler or node), AEGIS_SCHEDULER_PORT
# (10259), AEGIS_KUBELET_PORT (10250, on the node IP), AEGIS_KUBELET_HEALTHZ_PORT (10248),
# AEGIS_NODE_BRIDGE (aegis0), AEGIS_CLUSTER_TIMEOUT (seconds to wait for each start step, 180),
# AEGIS_STOP_TIMEOUT (15).
set -euo pipefail
umask 077

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CP_DIR="$REPO/e2e/controlplane"
CACHE="${AEGIS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/cluster}"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
PKI="$CACHE/pki"
RUN="$CACHE/run"
KUBECONFIG_OUT="$CACHE/kubeconfig"
# For AEGIS_WEBHOOK_CLIENT_CA: beside the kubeconfig, so whoever has its path finds it.
CLIENT_CA_OUT="$CACHE/webhook-client-ca.crt"
ADMISSION_CONFIG="$RUN/admission-configuration.yaml"
WEBHOOK_CLIENT_KUBECONFIG="$RUN/webhook-client.kubeconfig"
APISERVER_FLAGS="$RUN/kube-apiserver.flags"

ETCD_PORT="${AEGIS_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${AEGIS_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${AEGIS_APISERVER_PORT:-6443}"
KCM_PORT="${AEGIS_KCM_PORT:-10257}"
STEP_TIMEOUT="${AEGIS_CLUSTER_TIMEOUT:-180}"
STOP_TIMEOUT="${AEGIS_STOP_TIMEOUT:-15}"

KUBE_VERSION=v1.36.3
SERVICE_CIDR=10.0.0.0/24
# The `kubernetes` Service's ClusterIP (the range's first address), in the serving certificate;
# pods on the node reach it (scripts/lib/node.sh, pod access).
KUBERNETES_SERVICE_IP=10.0.0.1
SA_ISSUER=https://kubernetes.default.svc.cluster.local
# The control plane's servers, and every binary this script builds (the node's, and kubectl of
# the same release, too).
COMPONENTS=(etcd kube-apiserver kube-controller-manager)
BINARIES=("${COMPONENTS[@]}" kube-scheduler kubelet kubectl)

log() { printf 'cluster: %s\n' "$*" >&2; }

# fail STEP [LOGFILE]: says which step failed, where its log is and what it ends with; exits 1.
fail() {
  local step=$1 logfile=${2:-}
  log "FAILED: $step"
  if [ -n "$logfile" ]; then
    log "log: $logfile"
    if [ -s "$logfile" ]; then
      log "last lines of $logfile:"
      tail -n 25 "$logfile" | sed 's/^/    /' >&2
    fi
  fi
  exit 1
}

# shellcheck source=scripts/lib/node.sh
. "$REPO/scripts/lib/node.sh"

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"

# The cache key: go.mod, go.sum, tools.go and every source under cmd/, plus the link flags.
# shellcheck source=scripts/lib/build-key.sh
. "$REPO/scripts/lib/build-key.sh"
# shellcheck source=scripts/lib/progress.sh
. "$REPO/scripts/lib/progress.sh"
cache_key() {
  # shellcheck disable=SC2046 # one word per file name; the names hold no spaces
  build_key "$CP_DIR" "$LDFLAGS" go.mod go.sum tools.go $(cd "$CP_DIR" && find cmd -type f -name '*.go' | LC_ALL=C sort)
}

KEY=$(cache_key)
BIN="$CACHE/bin-$KEY"
STAMP="$CACHE/bin.stamp"
BUILD_LOG="$CACHE/build.log"

binaries_present() {
  local c
  for c in "${BINARIES[@]}"; do [ -x "$BIN/$c" ] || return 1; done
}

build() {
  if [ "$(cat "$STAMP" 2>/dev/null || true)" = "$KEY" ] && binaries_present; then
    log "binaries up to date ($BIN)"
    ln -sfn "$BIN" "$CACHE/bin"
    return 0
  fi
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || fail "build: no Go toolchain (need Go >= 1.26 on PATH)"
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  log "building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl $KUBE_VERSION into $BIN (log: $BUILD_LOG)"
  log "this takes minutes, once: later runs reuse the cached binaries until e2e/controlplane changes"
  local tmp="$BIN.tmp.$$" start=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Keep the user's GOFLAGS (e.g. -buildvcs=false) and let missing modules be fetched through
  # the module proxy; everything already in the module cache builds without the network.
  local goflags
  goflags="$(go env GOFLAGS) -mod=mod -buildvcs=false"
  if ! with_progress "cluster: still building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl" \
         "once, then cached" "$BUILD_LOG" go_build "$goflags" "$tmp"; then
    rm -rf "$tmp"
    fail "build (go build in $CP_DIR)" "$BUILD_LOG"
  fi
  rm -rf "$BIN"
  mv "$tmp" "$BIN"
  echo "$KEY" >"$STAMP"
  # A stable path to the current binaries (kubectl of the same release for tests and users).
  ln -sfn "$BIN" "$CACHE/bin"
  # Older builds are dead weight (~450 MB each); running processes keep their unlinked binary.
  local old
  for old in "$CACHE"/bin-*; do
    [ "$old" = "$BIN" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  log "built in $(progress_elapsed $((SECONDS - start))), cached in $BIN"
}

# go_build GOFLAGS OUTDIR: the binaries into OUTDIR.
go_build() (
  cd "$CP_DIR" && GOFLAGS="$1" go build -trimpath -ldflags "$LDFLAGS" -o "$2/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl ./cmd/etcd
)

# ---------------------------------------------------------------------------------------------
# PKI (openssl, once)
# ---------------------------------------------------------------------------------------------
# leaf NAME SUBJECT EXTENDED_KEY_USAGE SANS CA_NAME DIR: a key and a certificate signed by CA_NAME.
leaf() {
  local name=$1 subj=$2 eku=$3 sans=${4:-} ca=${5:-ca} dir=$6
  local ext="$dir/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$ext"
  openssl genrsa -out "$dir/$name.key" 2048 &&
    openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
      -days 3650 -sha256 -extfile "$ext" -out "$dir/$name.crt" &&
    rm -f "$dir/$name.csr" "$dir/$name.ext"
}

ca() {
  local name=$1 cn=$2 dir=$3
  openssl genrsa -out "$dir/$name.key" 2048 &&
    openssl req -x509 -new -key "$dir/$name.key" -subj "/CN=$cn" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$dir/$name.crt"
}

make_pki() {
  [ -f "$PKI/.complete" ] && return 0
  command -v openssl >/dev/null 2>&1 || fail "pki: openssl not found"
  local tmp="$PKI.tmp.$$" plog="$CACHE/pki.log"
  log "generating PKI in $PKI"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 700 "$tmp"
  # `set -e` does not apply inside an `if` condition, hence the explicit && chain.
  if ! {
    ca ca aegis-local-ca "$tmp" &&
      leaf apiserver "/CN=kube-apiserver" serverAuth \
        "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:$KUBERNETES_SERVICE_IP" \
        ca "$tmp" &&
      leaf admin "/O=system:masters/CN=kubernetes-admin" clientAuth "" ca "$tmp" &&
      leaf kube-controller-manager "/CN=system:kube-controller-manager" clientAuth "" ca "$tmp" &&
      openssl genrsa -out "$tmp/sa.key" 2048 &&
      openssl rsa -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" &&
      ca front-proxy-ca aegis-front-proxy-ca "$tmp" &&
      leaf front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca "$tmp"
  } >"$plog" 2>&1; then
    rm -rf "$tmp"
    fail "pki (openssl)" "$plog"
  fi
  touch "$tmp/.complete"
  rm -rf "$PKI"
  mv "$tmp" "$PKI"
}

# The kube-apiserver's client certificate for admission webhooks, in a CA of its own: a webhook
# that trusts this CA trusts the API server and nobody else (not the admin or controller-manager
# certificates of ca.crt). Once, like the rest of the PKI, and apart from make_pki so that a PKI
# made before this existed gets it too.
make_webhook_client_pki() {
  [ -f "$PKI/.webhook-client-complete" ] && return 0
  local tmp="$PKI/webhook-client.tmp.$$" plog="$CACHE/pki.log" f
  log "generating the webhook client CA and kube-apiserver's webhook client certificate in $PKI"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 700 "$tmp"
  if ! {
    ca webhook-client-ca aegis-webhook-client-ca "$tmp" &&
      leaf webhook-client "/CN=kube-apiserver-webhook-client" clientAuth "" webhook-client-ca "$tmp"
  } >"$plog" 2>&1; then
    rm -rf "$tmp"
    fail "pki: webhook client certificate (openssl)" "$plog"
  fi
  for f in webhook-client-ca.crt webhook-client-ca.key webhook-client.crt webhook-client.key; do
    mv -f "$tmp/$f" "$PKI/$f"
  done
  rm -rf "$tmp"
  touch "$PKI/.webhook-client-complete"
}

b64() { base64 -w0 <"$1"; }

# kubeconfig FILE USER CERT KEY
write_kubeconfig() {
  local file=$1 user=$2 cert=$3 key=$4
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aegis-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$cert")
    client-key-data: $(b64 "$key")
contexts:
- name: $user@aegis-local
  context:
    cluster: aegis-local
    user: $user
    namespace: default
current-context: $user@aegis-local
EOF
  mv "$file.tmp" "$file"
}

# The AdmissionConfiguration kube-apiserver reads at start: both webhook plugins present the
# webhook client certificate. Paths must be absolute.
admission_configuration() {
  local plugin
  cat <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
EOF
  for plugin in ValidatingAdmissionWebhook MutatingAdmissionWebhook; do
    cat <<EOF
- name: $plugin
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: $WEBHOOK_CLIENT_KUBECONFIG
EOF
  done
}

# The kubeconfig of the webhook plugins. Its users are looked up by the webhook's host:port, then
# "*"; "*" gives every webhook the certificate (the e2e replicas listen on several ports).
write_admission_config() {
  cat >"$WEBHOOK_CLIENT_KUBECONFIG.tmp" <<EOF
apiVersion: v1
kind: Config
users:
- name: "*"
  user:
    client-certificate-data: $(b64 "$PKI/webhook-client.crt")
    client-key-data: $(b64 "$PKI/webhook-client.key")
EOF
  mv "$WEBHOOK_CLIENT_KUBECONFIG.tmp" "$WEBHOOK_CLIENT_KUBECONFIG"
  admission_configuration >"$ADMISSION_CONFIG.tmp"
  mv "$ADMISSION_CONFIG.tmp" "$ADMISSION_CONFIG"
  cp "$PKI/webhook-client-ca.crt" "$CLIENT_CA_OUT.tmp"
  mv "$CLIENT_CA_OUT.tmp" "$CLIENT_CA_OUT"
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
pidfile() { echo "$RUN/$1.pid"; }
logfile() { echo "$RUN/$1.log"; }

# alive PID: the process exists and is not a zombie waiting for its parent to reap it.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# The pid of a live COMPONENT started by this script, or nothing (a stale pid file is removed).
live_pid() {
  local c=$1 f pid
  f=$(pidfile "$c")
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" &&
     tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "/$c(\.mjs)? "; then
    echo "$pid"
    return 0
  fi
  log "removing stale pid file $f"
  rm -f "$f"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start COMPONENT PORT ARGS...: runs the binary in its own session, detached from our stdio.
start() {
  local c=$1 port=$2
  shift 2
  if port_open "$port"; then
    fail "start $c: 127.0.0.1:$port is already in use by another process (another cluster? 'npm run cluster:down', or set the AEGIS_*_PORT variables)"
  fi
  log "starting $c on 127.0.0.1:$port (log: $(logfile "$c"))"
  start_exe "$c" "$BIN/$c" "$@"
}

# start_exe COMPONENT COMMAND...: runs COMMAND in its own session as COMPONENT (pid and log file),
# with umask START_UMASK when that is set.
start_exe() {
  local c=$1 lf
  shift
  lf=$(logfile "$c")
  # Keep the previous run's log (it may say why that run ended).
  [ ! -s "$lf" ] || mv -f "$lf" "$lf.prev"
  : >"$lf"
  # The child writes its own pid before exec'ing, so the pid file names the server itself; it
  # applies START_UMASK (optional: instead of this script's 077) and closes every descriptor but
  # stdio, so that a server never holds what its caller had open (e.g. a `flock` around `up`,
  # which the servers would otherwise keep locked for as long as they run).
  # shellcheck disable=SC2016 # $$, $fd and $@ are the child's
  setsid bash -c 'echo $$ >"$1"; [ -z "$2" ] || umask "$2"; shift 2
    for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -le 2 ] || eval "exec $fd>&-"; done
    exec "$@"' _ "$(pidfile "$c")" "${START_UMASK:-}" "$@" </dev/null >>"$lf" 2>&1 9>&- &
  local i
  for i in $(seq 1 50); do
    [ -s "$(pidfile "$c")" ] && return 0
    sleep 0.1
  done
  fail "start $c: no pid file" "$lf"
}

# wait_for COMPONENT WHAT COMMAND...: polls COMMAND until it succeeds; fails fast if the process dies.
wait_for() {
  local c=$1 what=$2
  shift 2
  local deadline=$((SECONDS + STEP_TIMEOUT)) pid
  pid=$(cat "$(pidfile "$c")" 2>/dev/null || true)
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! alive "$pid"; then
      rm -f "$(pidfile "$c")"
      fail "$c exited while waiting for $what" "$(logfile "$c")"
    fi
    if ((SECONDS >= deadline)); then
      stop_one "$c"
      fail "$c: $what not reached within ${STEP_TIMEOUT}s (stopped it)" "$(logfile "$c")"
    fi
    sleep 0.5
  done
}

admin_curl() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1"
}
etcd_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { [ "$(admin_curl /readyz 2>/dev/null)" = ok ]; }
kcm_healthy() { [ "$(curl -fsSk --max-time 3 "https://127.0.0.1:$KCM_PORT/healthz")" = ok ]; }
default_sa_exists() { admin_curl /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

# No fsync: this etcd holds throwaway test state and fsync dominates its latency; after a host
# crash, `down --wipe` starts afresh.
start_etcd() {
  if port_open "$ETCD_PEER_PORT"; then
    fail "start etcd: peer port 127.0.0.1:$ETCD_PEER_PORT is already in use (set AEGIS_ETCD_PEER_PORT)"
  fi
  mkdir -p "$RUN/etcd"
  chmod 700 "$RUN/etcd"
  start etcd "$ETCD_PORT" \
    --name=aegis \
    --data-dir="$RUN/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="aegis=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --quota-backend-bytes=2147483648 \
    --log-level=warn
}

# The advertise address is loopback, which Endpoints validation refuses for the `kubernetes`
# Service; no endpoint reconciler, so the apiserver does not log that refusal every 10 s.
# --enable-aggregator-routing also makes webhook calls to a Service go to its endpoints (no kube-proxy).
# It reaches kubelets (logs, exec) at their InternalIP, checking their serving certificate, as
# kube-apiserver-kubelet-client; without the address types it would look the node's name up in DNS.
# apiserver_args fills APISERVER_ARGS; start_apiserver records their hash, so `up` can tell a
# running kube-apiserver started with other flags (an older cluster.sh) and restart it.
apiserver_args() {
  # shellcheck disable=SC2054 # the commas are inside flag values
  APISERVER_ARGS=(
    --etcd-servers="http://127.0.0.1:$ETCD_PORT"
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    --endpoint-reconciler-type=none
    --secure-port="$APISERVER_PORT"
    --tls-cert-file="$PKI/apiserver.crt"
    --tls-private-key-file="$PKI/apiserver.key"
    --client-ca-file="$PKI/ca.crt"
    --authorization-mode=Node,RBAC
    --enable-admission-plugins=NodeRestriction,ValidatingAdmissionWebhook,MutatingAdmissionWebhook,ValidatingAdmissionPolicy
    --allow-privileged=true
    --service-account-issuer="$SA_ISSUER"
    --service-account-key-file="$PKI/sa.pub"
    --service-account-signing-key-file="$PKI/sa.key"
    --api-audiences="$SA_ISSUER"
    --service-cluster-ip-range="$SERVICE_CIDR"
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt"
    --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User
    --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --proxy-client-cert-file="$PKI/front-proxy-client.crt"
    --proxy-client-key-file="$PKI/front-proxy-client.key"
    --enable-aggregator-routing=true
    --admission-control-config-file="$ADMISSION_CONFIG"
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt"
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key"
    --kubelet-certificate-authority="$PKI/ca.crt"
    --kubelet-preferred-address-types=InternalIP,Hostname
    --profiling=false
    --v=1
  )
}

# The hash of kube-apiserver's flags and of the AdmissionConfiguration they name.
apiserver_flags_key() {
  apiserver_args
  { printf '%s\n' "${APISERVER_ARGS[@]}"; admission_configuration; } | sha256sum | cut -d' ' -f1
}

apiserver_flags_current() { [ "$(cat "$APISERVER_FLAGS" 2>/dev/null || true)" = "$(apiserver_flags_key)" ]; }

start_apiserver() {
  apiserver_args
  start kube-apiserver "$APISERVER_PORT" "${APISERVER_ARGS[@]}"
  apiserver_flags_key >"$APISERVER_FLAGS"
}

# A running kube-apiserver started without today's flags (none recorded, or other ones) is
# stopped so that `up` starts it afresh: a warm machine picks up new flags with one restart.
restart_apiserver_if_flags_changed() {
  [ -n "$(live_pid kube-apiserver)" ] || return 0
  apiserver_flags_current && return 0
  log "kube-apiserver runs with flags other than these (e.g. without --admission-control-config-file); restarting it once"
  stop_one kube-apiserver
}

start_kcm() {
  mkdir -p "$RUN/kcm-certs"
  write_kubeconfig "$RUN/kube-controller-manager.kubeconfig" system:kube-controller-manager \
    "$PKI/kube-controller-manager.crt" "$PKI/kube-controller-manager.key"
  start kube-controller-manager "$KCM_PORT" \
    --kubeconfig="$RUN/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$RUN/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$RUN/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --cert-dir="$RUN/kcm-certs" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cluster-name=aegis \
    --leader-elect=false \
    --profiling=false \
    --v=1
}

all_running() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -n "$(live_pid "$c")" ] || return 1; done
  [ -f "$KUBECONFIG_OUT" ] && [ -f "$PKI/.complete" ] && [ -f "$PKI/.node-complete" ] && [ -f "$CLIENT_CA_OUT" ] &&
    [ -f "$ADMISSION_CONFIG" ] && apiserver_flags_current && apiserver_ready &&
    { ! node_enabled || node_running; }
}

# The running servers keep running after e2e/controlplane changes; say so instead of restarting.
warn_if_outdated() {
  local c pid exe
  for c in "${COMPONENTS[@]}" kube-scheduler kubelet; do
    pid=$(live_pid "$c")
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    if [ -n "$pid" ] && [ -n "$exe" ] && [ "${exe% (deleted)}" != "$BIN/$c" ]; then
      log "note: $c runs an older build ($exe); 'npm run cluster:down && npm run cluster:up' restarts it on the new one"
    fi
  done
}

up() {
  local t0=$SECONDS
  if all_running; then
    log "already running (etcd :$ETCD_PORT, kube-apiserver :$APISERVER_PORT, kube-controller-manager :$KCM_PORT$(node_enabled && echo ", kube-scheduler :$SCHEDULER_PORT, node $NODE_NAME Ready"))"
    warn_if_outdated
    echo "$KUBECONFIG_OUT"
    return 0
  fi
  build
  make_pki
  make_webhook_client_pki
  make_node_pki
  mkdir -p "$RUN"
  write_kubeconfig "$KUBECONFIG_OUT" kubernetes-admin "$PKI/admin.crt" "$PKI/admin.key"
  write_admission_config

  [ -n "$(live_pid etcd)" ] || start_etcd
  wait_for etcd "/health" etcd_healthy
  restart_apiserver_if_flags_changed
  [ -n "$(live_pid kube-apiserver)" ] || start_apiserver
  wait_for kube-apiserver "/readyz" apiserver_ready
  [ -n "$(live_pid kube-controller-manager)" ] || start_kcm
  wait_for kube-controller-manager "/healthz" kcm_healthy
  wait_for kube-controller-manager "the default ServiceAccount in namespace default" default_sa_exists
  if node_enabled; then
    node_up
  else
    log "AEGIS_NODE=0: no kube-scheduler and no node (Pods stay Pending)"
  fi
  log "ready in $((SECONDS - t0))s: etcd 127.0.0.1:$ETCD_PORT, kube-apiserver https://127.0.0.1:$APISERVER_PORT, kube-controller-manager 127.0.0.1:$KCM_PORT$(node_enabled && echo ", kube-scheduler 127.0.0.1:$SCHEDULER_PORT, node $NODE_NAME")"
  echo "$KUBECONFIG_OUT"
}

# kill_pid NAME PID: SIGTERM, then SIGKILL after STOP_TIMEOUT seconds.
kill_pid() {
  local c=$1 pid=$2 i
  alive "$pid" || return 0
  log "stopping $c (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((STOP_TIMEOUT * 10))); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "$c did not stop within ${STOP_TIMEOUT}s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
}

# Processes running COMPONENT's binary from this cache whose pid file does not name them
# (a deleted run dir, a pid file overwritten by hand, an older build still running); for
# containerd, which is Debian's, the ones started with our config.
orphans() {
  local c=$1 known=$2 p exe
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" != "$known" ] || continue
    exe=$(readlink "$p/exe" 2>/dev/null || true)
    exe=${exe% (deleted)}
    case "$exe" in
      "$CACHE"/bin-*/"$c") echo "${p#/proc/}" ;;
      */node)
        [ "$c" = pod-forward ] && tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -q '/pod-forward\.mjs$' &&
          tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$NODE_IP" && echo "${p#/proc/}"
        ;;
      */containerd)
        [ "$c" = containerd ] && tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "--config=$CONTAINERD_CONFIG" &&
          echo "${p#/proc/}"
        ;;
    esac
  done
}

stop_one() {
  local c=$1 pid extra
  pid=$(live_pid "$c")
  for extra in $(orphans "$c" "$pid"); do
    kill_pid "$c (no pid file)" "$extra"
  done
  [ -z "$pid" ] || kill_pid "$c" "$pid"
  rm -f "$(pidfile "$c")"
}

# Clients first, etcd last: the apiserver stops quickly once nothing holds watches on it.
# The node first: its pods are deleted through the API server.
down() {
  local c
  node_down
  for c in kube-controller-manager kube-apiserver etcd; do stop_one "$c"; done
  if [ "${1:-}" = "--wipe" ]; then
    log "wiping etcd data ($RUN/etcd)"
    rm -rf "$RUN/etcd"
    node_wipe
  fi
  log "stopped"
}

status() {
  local c pid ok=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(live_pid "$c")
    if [ -n "$pid" ]; then
      printf '%-24s running (pid %s)\n' "$c" "$pid"
    else
      printf '%-24s stopped\n' "$c"
      ok=1
    fi
  done
  if [ -f "$PKI/.complete" ] && apiserver_ready; then
    printf '%-24s ok (https://127.0.0.1:%s)\n' "readyz" "$APISERVER_PORT"
  else
    printf '%-24s not ready\n' "readyz"
    ok=1
  fi
  if node_enabled; then
    node_status || ok=1
  else
    printf '%-24s AEGIS_NODE=0 (not started)\n' "node"
  fi
  printf '%-24s %s\n' "kubeconfig" "$KUBECONFIG_OUT"
  printf '%-24s %s\n' "webhook client CA" "$CLIENT_CA_OUT"
  return "$ok"
}

# One `up`/`down` at a time (the e2e setup and the demo may race).
with_lock() {
  exec 9>"$CACHE/.lock"
  flock -w 900 9 || fail "lock: another cluster.sh holds $CACHE/.lock"
  "$@"
}

# image import ARCHIVE IMAGE | image from-dir DIR IMAGE [ENTRYPOINT_JSON [CMD_JSON]] | image tag IMAGE NEW_IMAGE
image_command() {
  local what=${1:-}
  shift || true
  if [ -z "$(live_pid containerd)" ] || ! containerd_ready; then
    fail "image: the node's containerd is not running; start it with 'npm run cluster:up'"
  fi
  case "$what" in
    import)
      (($# == 2)) || { echo "usage: cluster.sh image import ARCHIVE IMAGE" >&2; exit 2; }
      [ -s "$1" ] || fail "image import: no archive $1"
      local ilog="$CACHE/images.log"
      with_progress "cluster: still importing $2" "" "$ilog" image_import "$1" "$2" ||
        fail "image import: $1 did not give $2 in the node's containerd (ctr images import)" "$ilog"
      log "imported $2 into the node's containerd"
      ;;
    from-dir)
      (($# >= 2 && $# <= 4)) || { echo "usage: cluster.sh image from-dir DIR IMAGE [ENTRYPOINT_JSON [CMD_JSON]]" >&2; exit 2; }
      [ -d "$1" ] || fail "image from-dir: no directory $1"
      local ilog="$CACHE/images.log" archive
      archive=$(archive_of "$2")
      with_progress "cluster: still building $2" "" "$ilog" image_from_dir "$1" "$2" "$archive" "${3:-[]}" "${4:-}" ||
        fail "image from-dir: building $2 from $1 (buildah)" "$ilog"
      with_progress "cluster: still importing $2" "" "$ilog" image_import "$archive" "$2" ||
        fail "image from-dir: importing $2 (ctr images import)" "$ilog"
      log "built $2 from $1 ($archive) and imported it into the node's containerd"
      ;;
    tag)
      (($# == 2)) || { echo "usage: cluster.sh image tag IMAGE NEW_IMAGE" >&2; exit 2; }
      image_present "$1" || fail "image tag: the node has no $1 (npm run image, or cluster.sh image import)"
      local tlog="$CACHE/images.log"
      { nctr images tag --force "$1" "$2" && image_present "$2"; } >>"$tlog" 2>&1 ||
        fail "image tag: $1 as $2 (ctr images tag)" "$tlog"
      log "tagged $1 as $2 in the node's containerd"
      ;;
    *) echo "usage: cluster.sh image import ARCHIVE IMAGE | image from-dir DIR IMAGE [ENTRYPOINT_JSON [CMD_JSON]] | image tag IMAGE NEW_IMAGE" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  up) with_lock up ;;
  down) with_lock down "${2:-}" ;;
  status) status ;;
  image) shift; with_lock image_command "$@" ;;
  buildah) shift; mkdir -p "$BUILDAH_ROOT" "$BUILDAH_RUNROOT"; exec buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@" ;;
  *) echo "usage: cluster.sh up|down [--wipe]|status|image import ARCHIVE IMAGE|image from-dir DIR IMAGE [ENTRYPOINT [CMD]]|image tag IMAGE NEW_IMAGE|buildah ARGS..." >&2; exit 2 ;;
esac
