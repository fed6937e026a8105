# shellcheck shell=bash
# Sourced by scripts/cluster.sh: the local cluster's real node. kube-scheduler, containerd with its
# own root, state and socket, a bridge CNI (aegis0, pods in 10.244.0.0/24, node IP 10.244.0.1 on
# the bridge), locally built pause and busybox images, and a kubelet registered as `aegis-node`.
# Everything lives under $RUN/node (configs from scripts/node/) and $CACHE/images; `down` stops it
# by pid and removes what it left: pods, containers, shims bound to our socket, mounts, network
# namespaces, the bridge and the pods' cgroups.
#
# Uses cluster.sh's CACHE, RUN, PKI, BIN, KUBECONFIG_OUT, STEP_TIMEOUT and its functions (log,
# fail, leaf, write_kubeconfig, live_pid, start_exe, wait_for, stop_one, alive, port_open).
#
# Traffic stays on this machine: the kubelet serves on the bridge's address, pods have no route
# but the pod range and the `kubernetes` Service's ClusterIP (no default route, IPv4 forwarding
# left as it is, no masquerading), and containerd pulls through a proxy on a closed loopback port,
# so an image that is not here fails to pull instead of being fetched from a registry.
# Pods reach kube-apiserver, PostgreSQL and Redis (all bound to loopback) through the node IP:
# see "Pod access" below.

NODE_ENABLED="${AEGIS_NODE:-1}"
case "$NODE_ENABLED" in 0 | 1) ;; *) fail "AEGIS_NODE must be 1 (default: start the node) or 0 (the control plane alone), not '$NODE_ENABLED'" ;; esac

NODE_NAME=aegis-node
NODE_BRIDGE="${AEGIS_NODE_BRIDGE:-aegis0}"
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1
NODE_IP_PREFIX=24
# Pods that should run on the node tolerate this taint (kubelet.yaml says why it is there).
NODE_TAINT_KEY=aegis.valina.ai/real-node
KUBELET_PORT="${AEGIS_KUBELET_PORT:-10250}"
KUBELET_HEALTHZ_PORT="${AEGIS_KUBELET_HEALTHZ_PORT:-10248}"
SCHEDULER_PORT="${AEGIS_SCHEDULER_PORT:-10259}"
# containerd's registry traffic goes here and is refused: nothing listens on the discard port.
NODE_DEAD_PROXY=http://127.0.0.1:9
CGROUP_ROOT=aegis-node
CNI_BIN_DIR=/usr/lib/cni

NODE_TEMPLATES="$REPO/scripts/node"
NODE_DIR="$RUN/node"
CONTAINERD_DIR="$NODE_DIR/containerd"
CONTAINERD_ROOT="$CONTAINERD_DIR/root"
CONTAINERD_STATE="$CONTAINERD_DIR/state"
CONTAINERD_SOCK="$CONTAINERD_DIR/containerd.sock"
CONTAINERD_CONFIG="$NODE_DIR/containerd.toml"
KUBELET_ROOT="$NODE_DIR/kubelet"
KUBELET_CONFIG="$NODE_DIR/kubelet.yaml"
KUBELET_KUBECONFIG="$NODE_DIR/kubelet.kubeconfig"
POD_LOGS_DIR="$NODE_DIR/pod-logs"
CNI_CONF_DIR="$NODE_DIR/cni/conf"
CNI_IPAM_DIR="$NODE_DIR/cni/ipam"
SCHEDULER_KUBECONFIG="$RUN/kube-scheduler.kubeconfig"
# Images: OCI archives (the cache) and buildah's own store (vfs: no fuse-overlayfs needed).
IMAGES_DIR="$CACHE/images"
BUILDAH_ROOT="$IMAGES_DIR/buildah/root"
BUILDAH_RUNROOT="$IMAGES_DIR/buildah/runroot"
# The images the node has, one NAME=IMAGE a line, beside the kubeconfig.
NODE_IMAGES_OUT="$CACHE/node-images"
# Bump when the images' recipe below changes; their tag is a hash of this and of busybox.
NODE_IMAGE_RECIPE=1

NODE_PACKAGES="containerd runc buildah conntrack iptables containernetworking-plugins busybox-static"

# Pod access (below): the loopback servers pods reach through the node IP, and our NAT chain.
POD_FORWARD_SCRIPT="$REPO/scripts/lib/pod-forward.mjs"
POD_PG_PORT="${AEGIS_PG_PORT:-5432}"
POD_REDIS_PORT="${AEGIS_REDIS_PORT:-6379}"
NODE_NAT_CHAIN=AEGIS-NODE

node_enabled() { [ "$NODE_ENABLED" = 1 ]; }

nctr() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }
nbuildah() { buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"; }

# ---------------------------------------------------------------------------------------------
# Preflight, PKI, configs
# ---------------------------------------------------------------------------------------------
node_preflight() {
  local missing=() c
  [ "$(id -u)" = 0 ] ||
    fail "node: needs root (a bridge, mounts, cgroups); run as root, or AEGIS_NODE=0 for the control plane alone"
  for c in containerd ctr runc buildah ip iptables node; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  for c in bridge host-local loopback; do [ -x "$CNI_BIN_DIR/$c" ] || missing+=("$CNI_BIN_DIR/$c"); done
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=("a static /bin/busybox")
  ((${#missing[@]} == 0)) ||
    fail "node: missing ${missing[*]}; run 'bash scripts/test-deps.sh' (apt-get install $NODE_PACKAGES), or AEGIS_NODE=0 for the control plane alone"
  # Unix socket paths hold at most 107 bytes; the kubelet's own sockets are the longest.
  local longest="$KUBELET_ROOT/plugins_registry/aegis-csi-plugin-reg.sock"
  ((${#longest} <= 107)) ||
    fail "node: $CACHE is too long a path for unix sockets under it; set AEGIS_CLUSTER_CACHE to a shorter directory"
  [ -d /sys/fs/cgroup ] || fail "node: no /sys/fs/cgroup"
}

# The scheduler's and the node's identities, the kubelet's serving certificate (for the node IP,
# checked by kube-apiserver), and kube-apiserver's client certificate for the kubelet. Once, and
# apart from make_pki so that a PKI made before the node existed gets them too.
make_node_pki() {
  [ -f "$PKI/.node-complete" ] && return 0
  local tmp="$PKI/node.tmp.$$" plog="$CACHE/pki.log" f
  log "generating the node's certificates in $PKI"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 700 "$tmp"
  cp "$PKI/ca.crt" "$PKI/ca.key" "$tmp/"
  if ! {
    leaf kube-scheduler "/CN=system:kube-scheduler" clientAuth "" ca "$tmp" &&
      leaf kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth "" ca "$tmp" &&
      leaf kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" serverAuth \
        "IP:$NODE_IP,DNS:$NODE_NAME" ca "$tmp" &&
      leaf apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" clientAuth "" ca "$tmp"
  } >"$plog" 2>&1; then
    rm -rf "$tmp"
    fail "pki: the node's certificates (openssl)" "$plog"
  fi
  for f in kube-scheduler kubelet-client kubelet-serving apiserver-kubelet-client; do
    mv -f "$tmp/$f.crt" "$PKI/$f.crt"
    mv -f "$tmp/$f.key" "$PKI/$f.key"
  done
  rm -rf "$tmp"
  touch "$PKI/.node-complete"
}

# render TEMPLATE OUT NAME=VALUE...: @NAME@ in TEMPLATE replaced by VALUE, into OUT.
render() {
  local template=$1 out=$2 text pair
  shift 2
  text=$(<"$template")
  for pair in "$@"; do text=${text//"@${pair%%=*}@"/"${pair#*=}"}; done
  if [[ $text =~ @[A-Z_]+@ ]]; then fail "render $template: ${BASH_REMATCH[0]} has no value"; fi
  printf '%s\n' "$text" >"$out.tmp"
  mv "$out.tmp" "$out"
}

write_node_configs() {
  mkdir -p "$NODE_DIR" "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$KUBELET_ROOT" "$POD_LOGS_DIR" \
    "$CNI_CONF_DIR" "$CNI_IPAM_DIR"
  render "$NODE_TEMPLATES/containerd.toml" "$CONTAINERD_CONFIG" \
    CONTAINERD_ROOT="$CONTAINERD_ROOT" CONTAINERD_STATE="$CONTAINERD_STATE" \
    CONTAINERD_SOCK="$CONTAINERD_SOCK" PAUSE_IMAGE="$PAUSE_IMAGE" \
    CNI_BIN_DIR="$CNI_BIN_DIR" CNI_CONF_DIR="$CNI_CONF_DIR"
  render "$NODE_TEMPLATES/cni.conflist" "$CNI_CONF_DIR/10-aegis.conflist" \
    BRIDGE="$NODE_BRIDGE" POD_CIDR="$POD_CIDR" NODE_IP="$NODE_IP" CNI_IPAM_DIR="$CNI_IPAM_DIR" \
    KUBERNETES_SERVICE_IP="$KUBERNETES_SERVICE_IP"
  render "$NODE_TEMPLATES/kubelet.yaml" "$KUBELET_CONFIG" \
    CGROUP_ROOT="$CGROUP_ROOT" CONTAINERD_SOCK="$CONTAINERD_SOCK" NODE_IP="$NODE_IP" \
    KUBELET_PORT="$KUBELET_PORT" KUBELET_HEALTHZ_PORT="$KUBELET_HEALTHZ_PORT" PKI="$PKI" \
    POD_LOGS_DIR="$POD_LOGS_DIR" NODE_TAINT_KEY="$NODE_TAINT_KEY"
  write_kubeconfig "$KUBELET_KUBECONFIG" "system:node:$NODE_NAME" "$PKI/kubelet-client.crt" "$PKI/kubelet-client.key"
  write_kubeconfig "$SCHEDULER_KUBECONFIG" system:kube-scheduler "$PKI/kube-scheduler.crt" "$PKI/kube-scheduler.key"
}

# kube-apiserver reaches the kubelet (logs, exec) as kube-apiserver-kubelet-client; the kubelet
# asks the API server whether that user may (webhook authorization).
apply_node_rbac() {
  local rlog="$RUN/node-rbac.log"
  kctl apply --server-side --field-manager=aegis-cluster -f - >"$rlog" 2>&1 <<EOF || fail "node: RBAC for kube-apiserver's kubelet client (kubectl apply)" "$rlog"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: aegis-local:kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: kube-apiserver-kubelet-client
EOF
}

# ---------------------------------------------------------------------------------------------
# Host: the bridge and the cgroup root (both ours alone, by name)
# ---------------------------------------------------------------------------------------------
node_bridge() {
  local blog="$RUN/node-bridge.log"
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $NODE_BRIDGE with $NODE_IP/$NODE_IP_PREFIX (the node IP; pods in $POD_CIDR)"
    ip link add "$NODE_BRIDGE" type bridge >"$blog" 2>&1 || fail "node: creating bridge $NODE_BRIDGE (ip link add)" "$blog"
  fi
  if ! ip -4 addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_IP/$NODE_IP_PREFIX "; then
    ip addr add "$NODE_IP/$NODE_IP_PREFIX" dev "$NODE_BRIDGE" >"$blog" 2>&1 ||
      fail "node: adding $NODE_IP/$NODE_IP_PREFIX to $NODE_BRIDGE (is $POD_CIDR in use elsewhere on this machine?)" "$blog"
  fi
  ip link set "$NODE_BRIDGE" up >"$blog" 2>&1 || fail "node: ip link set $NODE_BRIDGE up" "$blog"
}

# The mount points of the cgroup v1 hierarchies (cpu, memory, …, name=systemd).
cgroup_v1_mounts() { awk '$9 == "cgroup" { print $5 }' /proc/self/mountinfo; }

# The kubelet puts pods under cgroupRoot, which must exist in every hierarchy.
node_cgroups() {
  local mnt dir f
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mkdir -p "/sys/fs/cgroup/$CGROUP_ROOT"
    return 0
  fi
  for mnt in $(cgroup_v1_mounts); do
    dir="$mnt/$CGROUP_ROOT"
    [ -d "$dir" ] || mkdir "$dir" || fail "node: creating cgroup $dir"
    # A new cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's.
    for f in cpuset.cpus cpuset.mems; do
      if [ -f "$dir/$f" ] && [ -z "$(cat "$dir/$f")" ]; then cat "$mnt/$f" >"$dir/$f"; fi
    done
  done
}

# ---------------------------------------------------------------------------------------------
# Pod access: kube-apiserver, PostgreSQL and Redis from inside pods, without leaving the machine
# ---------------------------------------------------------------------------------------------
# The three listen on 127.0.0.1 only. pod-forward (scripts/lib/pod-forward.mjs, one node process,
# pid-tracked like the other components) listens on the node IP, which only this machine and the
# pods on its bridge reach, and pipes each connection to the loopback server:
#   NODE_IP:APISERVER_PORT -> 127.0.0.1:APISERVER_PORT, NODE_IP:5432 and :6379 likewise.
# In-cluster clients need nothing special: the kubelet gives every container
# KUBERNETES_SERVICE_HOST=10.0.0.1 (the `kubernetes` Service) and port 443; the pods' routing
# table has that one address via the node IP (cni.conflist), and one DNAT rule in our nat chain
# AEGIS-NODE, for packets coming in on the bridge only, sends 10.0.0.1:443 to the forwarded API
# port. kube-apiserver's serving certificate names 10.0.0.1. Pods use PostgreSQL and Redis at
# NODE_IP:5432 and NODE_IP:6379 (e.g. the chart's database.url and redis.url). Nothing else is
# NATed, nothing is routed or masqueraded off the machine; `down` removes the chain and stops
# the forwarder.
pod_forward_args() {
  POD_FORWARD_ARGS=(
    "$(command -v node)" "$POD_FORWARD_SCRIPT" "$NODE_IP"
    "$APISERVER_PORT=127.0.0.1:$APISERVER_PORT"
    "$POD_PG_PORT=127.0.0.1:$POD_PG_PORT"
    "$POD_REDIS_PORT=127.0.0.1:$POD_REDIS_PORT"
  )
}
pod_forward_key() {
  pod_forward_args
  { flags_key "${POD_FORWARD_ARGS[@]}"; sha256sum <"$POD_FORWARD_SCRIPT"; } | sha256sum | cut -d' ' -f1
}
node_port_open() { (exec 3<>"/dev/tcp/$NODE_IP/$1") 2>/dev/null; }
pod_forward_listening() {
  node_port_open "$APISERVER_PORT" && node_port_open "$POD_PG_PORT" && node_port_open "$POD_REDIS_PORT"
}

start_pod_forward() {
  local port
  for port in "$APISERVER_PORT" "$POD_PG_PORT" "$POD_REDIS_PORT"; do
    if node_port_open "$port"; then
      fail "start pod-forward: $NODE_IP:$port is already in use by a process this script did not start"
    fi
  done
  pod_forward_args
  log "starting pod-forward on $NODE_IP (:$APISERVER_PORT kube-apiserver, :$POD_PG_PORT PostgreSQL, :$POD_REDIS_PORT Redis; log: $(logfile pod-forward))"
  start_exe pod-forward "${POD_FORWARD_ARGS[@]}"
  pod_forward_key >"$RUN/pod-forward.flags"
}

# The DNAT rule for the `kubernetes` Service, in a chain of ours jumped to from PREROUTING for
# packets that come in on the bridge (nothing the host itself sends is NATed).
nat_rule() { printf '%s ' -d "$KUBERNETES_SERVICE_IP/32" -p tcp --dport 443 -j DNAT --to-destination "$NODE_IP:$APISERVER_PORT"; }
pod_nat_present() {
  # shellcheck disable=SC2046 # the rule's words
  iptables -w 5 -t nat -C "$NODE_NAT_CHAIN" $(nat_rule) 2>/dev/null &&
    iptables -w 5 -t nat -C PREROUTING -i "$NODE_BRIDGE" -j "$NODE_NAT_CHAIN" 2>/dev/null
}
pod_nat() {
  pod_nat_present && return 0
  local nlog="$RUN/node-nat.log"
  log "nat: ClusterIP $KUBERNETES_SERVICE_IP:443 from pods on $NODE_BRIDGE -> $NODE_IP:$APISERVER_PORT (chain $NODE_NAT_CHAIN)"
  {
    iptables -w 5 -t nat -N "$NODE_NAT_CHAIN" 2>/dev/null || true
    # shellcheck disable=SC2046 # the rule's words
    iptables -w 5 -t nat -F "$NODE_NAT_CHAIN" && iptables -w 5 -t nat -A "$NODE_NAT_CHAIN" $(nat_rule) &&
      { iptables -w 5 -t nat -C PREROUTING -i "$NODE_BRIDGE" -j "$NODE_NAT_CHAIN" 2>/dev/null ||
        iptables -w 5 -t nat -A PREROUTING -i "$NODE_BRIDGE" -j "$NODE_NAT_CHAIN"; }
  } >"$nlog" 2>&1 || fail "node: the nat rule for the kubernetes Service (iptables -t nat)" "$nlog"
}
pod_nat_remove() {
  command -v iptables >/dev/null 2>&1 || return 0
  iptables -w 5 -t nat -L "$NODE_NAT_CHAIN" >/dev/null 2>&1 || return 0
  log "removing nat chain $NODE_NAT_CHAIN"
  while iptables -w 5 -t nat -D PREROUTING -i "$NODE_BRIDGE" -j "$NODE_NAT_CHAIN" 2>/dev/null; do :; done
  iptables -w 5 -t nat -F "$NODE_NAT_CHAIN" 2>/dev/null || true
  iptables -w 5 -t nat -X "$NODE_NAT_CHAIN" 2>/dev/null || log "note: could not delete nat chain $NODE_NAT_CHAIN"
}

pod_access_up() {
  restart_if_changed pod-forward "$(pod_forward_key)"
  [ -n "$(live_pid pod-forward)" ] || start_pod_forward
  wait_for pod-forward "its ports on $NODE_IP" pod_forward_listening
  pod_nat
}

pod_access_running() {
  [ -n "$(live_pid pod-forward)" ] && flags_current pod-forward "$(pod_forward_key)" && pod_nat_present
}

# ---------------------------------------------------------------------------------------------
# Images: built with buildah from a directory, kept as OCI archives, imported into containerd
# ---------------------------------------------------------------------------------------------
# image_from_dir DIR IMAGE ARCHIVE [ENTRYPOINT_JSON [CMD_JSON]]: an image FROM scratch whose root
# filesystem is DIR's content, written to the OCI archive ARCHIVE (named IMAGE inside).
image_from_dir() {
  local dir=$1 image=$2 archive=$3 entrypoint=${4:-[]} cmd=${5:-}
  local c mnt
  mkdir -p "$BUILDAH_ROOT" "$BUILDAH_RUNROOT" "$(dirname "$archive")"
  c=$(nbuildah from scratch) || return 1
  if mnt=$(nbuildah mount "$c") &&
    cp -a "$dir/." "$mnt/" &&
    nbuildah umount "$c" &&
    nbuildah config --env PATH=/bin --entrypoint "$entrypoint" ${cmd:+--cmd "$cmd"} "$c" &&
    nbuildah commit --format oci --rm "$c" "$image"; then
    # The archive is the cache; the store keeps nothing.
    rm -f "$archive.tmp" &&
      nbuildah push "$image" "oci-archive:$archive.tmp:$image" &&
      nbuildah rmi "$image" &&
      mv "$archive.tmp" "$archive"
  else
    nbuildah rm "$c" >/dev/null 2>&1
    return 1
  fi
}

# image_import ARCHIVE IMAGE: the OCI archive into the node's containerd (namespace k8s.io, where
# the kubelet looks), unpacked for its snapshotter; fails unless IMAGE is there afterwards.
# containerd may list a freshly imported image a moment after `ctr images import` returns: look
# again for a few seconds, and import once more before giving up.
image_import() {
  local archive=$1 image=$2 attempt wait
  for attempt in 1 2; do
    nctr images import --snapshotter overlayfs --base-name "${image%:*}" "$archive" || continue
    for wait in 1 2 3 4 5; do
      image_present "$image" && return 0
      sleep "$wait"
    done
    echo "image_import: $image not listed after import $attempt" >&2
  done
  return 1
}

image_present() { nctr images ls -q 2>/dev/null | grep -qxF "$1"; }

# A root filesystem with a static busybox and all its applets, world-readable (non-root pods).
busybox_rootfs() (
  umask 022
  local dir=$1 applet
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  chmod 0755 "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
)

node_image_tag() {
  { echo "recipe $NODE_IMAGE_RECIPE"; sha256sum </bin/busybox; } | sha256sum | cut -c1-12
}

node_image_names() {
  local tag
  tag=$(node_image_tag)
  PAUSE_IMAGE="localhost/aegis-pause:$tag"
  BUSYBOX_IMAGE="localhost/aegis-busybox:$tag"
}

archive_of() { local name=${1#localhost/}; echo "$IMAGES_DIR/${name//:/-}.oci.tar"; }

# Both images from one busybox root filesystem: the sandbox's pause (sleeps; busybox's sleep exits
# on SIGTERM) and a busybox for tests, `sh` by default.
build_node_images() {
  local rootfs="$IMAGES_DIR/busybox-rootfs.$$"
  busybox_rootfs "$rootfs" &&
    image_from_dir "$rootfs" "$PAUSE_IMAGE" "$(archive_of "$PAUSE_IMAGE")" '["/bin/sleep","2147483647"]' &&
    image_from_dir "$rootfs" "$BUSYBOX_IMAGE" "$(archive_of "$BUSYBOX_IMAGE")" '[]' '["/bin/sh"]' &&
    rm -rf "$rootfs"
}

import_node_images() {
  local image
  for image in "$PAUSE_IMAGE" "$BUSYBOX_IMAGE"; do
    image_present "$image" || image_import "$(archive_of "$image")" "$image" || return 1
  done
}

node_images() {
  local ilog="$CACHE/images.log" start=$SECONDS
  mkdir -p "$IMAGES_DIR"
  if [ ! -s "$(archive_of "$PAUSE_IMAGE")" ] || [ ! -s "$(archive_of "$BUSYBOX_IMAGE")" ]; then
    log "building $PAUSE_IMAGE and $BUSYBOX_IMAGE with buildah (log: $ilog)"
    with_progress "cluster: still building the node's images" "once, then cached" "$ilog" build_node_images ||
      fail "node: building the pause and busybox images (buildah)" "$ilog"
    log "built the node's images in $(progress_elapsed $((SECONDS - start))), cached in $IMAGES_DIR"
    local old
    for old in "$IMAGES_DIR"/aegis-pause-*.oci.tar "$IMAGES_DIR"/aegis-busybox-*.oci.tar; do
      [ ! -e "$old" ] || [ "$old" = "$(archive_of "$PAUSE_IMAGE")" ] || [ "$old" = "$(archive_of "$BUSYBOX_IMAGE")" ] ||
        rm -f "$old"
    done
  fi
  if ! image_present "$PAUSE_IMAGE" || ! image_present "$BUSYBOX_IMAGE"; then
    log "importing $PAUSE_IMAGE and $BUSYBOX_IMAGE into the node's containerd"
    with_progress "cluster: still importing the node's images" "" "$ilog" import_node_images ||
      fail "node: importing the images into containerd (ctr images import)" "$ilog"
    # Earlier builds of the two (another busybox, another recipe) are dead weight.
    local image
    for image in $(nctr images ls -q 2>/dev/null | grep -E '^localhost/aegis-(pause|busybox):'); do
      [ "$image" = "$PAUSE_IMAGE" ] || [ "$image" = "$BUSYBOX_IMAGE" ] || nctr images rm "$image" >/dev/null 2>&1 || true
    done
  fi
  printf 'pause=%s\nbusybox=%s\n' "$PAUSE_IMAGE" "$BUSYBOX_IMAGE" >"$NODE_IMAGES_OUT.tmp"
  mv "$NODE_IMAGES_OUT.tmp" "$NODE_IMAGES_OUT"
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
scheduler_healthy() { [ "$(curl -fsSk --max-time 3 "https://127.0.0.1:$SCHEDULER_PORT/healthz")" = ok ]; }
containerd_ready() { nctr plugins ls 2>/dev/null | grep -Eq '^io\.containerd\.grpc\.v1 +cri +[^ ]+ +ok'; }
kubelet_healthy() { [ "$(curl -fsS --max-time 3 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz")" = ok ]; }
node_ready() {
  [ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# The hash of a component's command line and of the files it reads: `up` restarts a component
# started with other ones (an older cluster.sh), as it does kube-apiserver.
flags_key() {
  local f
  {
    printf '%s\n' "$@"
    for f in "$@"; do
      case "$f" in --config=*) cat "${f#--config=}" ;; esac
    done
  } | sha256sum | cut -d' ' -f1
}
flags_current() { [ "$(cat "$RUN/$1.flags" 2>/dev/null || true)" = "$2" ]; }
restart_if_changed() {
  local c=$1 key=$2
  [ -n "$(live_pid "$c")" ] || return 0
  flags_current "$c" "$key" && return 0
  log "$c runs with another configuration; restarting it once"
  stop_one "$c"
}

scheduler_args() {
  SCHEDULER_ARGS=(
    --kubeconfig="$SCHEDULER_KUBECONFIG"
    --authentication-kubeconfig="$SCHEDULER_KUBECONFIG"
    --authorization-kubeconfig="$SCHEDULER_KUBECONFIG"
    --bind-address=127.0.0.1
    --secure-port="$SCHEDULER_PORT"
    --cert-dir="$RUN/scheduler-certs"
    --leader-elect=false
    --profiling=false
    --v=1
  )
}

containerd_args() {
  CONTAINERD_ARGS=(
    env HTTP_PROXY="$NODE_DEAD_PROXY" HTTPS_PROXY="$NODE_DEAD_PROXY" NO_PROXY= http_proxy= https_proxy= no_proxy=
    "$(command -v containerd)" --config="$CONTAINERD_CONFIG" --log-level=warn
  )
}

kubelet_args() {
  KUBELET_ARGS=(
    --config="$KUBELET_CONFIG"
    --kubeconfig="$KUBELET_KUBECONFIG"
    --root-dir="$KUBELET_ROOT"
    --hostname-override="$NODE_NAME"
    --node-ip="$NODE_IP"
    --v=1
  )
}

# containerd and the kubelet create what containers see (the root of each container's overlay,
# volume directories) with their umask: 022, as a service manager gives them, not cluster.sh's
# 077, under which a non-root container cannot even enter its own root directory.
NODE_UMASK=022
containerd_key() { containerd_args; flags_key "umask $NODE_UMASK" "${CONTAINERD_ARGS[@]}"; }
kubelet_key() { kubelet_args; flags_key "umask $NODE_UMASK" "${KUBELET_ARGS[@]}"; }

start_scheduler() {
  mkdir -p "$RUN/scheduler-certs"
  scheduler_args
  start kube-scheduler "$SCHEDULER_PORT" "${SCHEDULER_ARGS[@]}"
  flags_key "${SCHEDULER_ARGS[@]}" >"$RUN/kube-scheduler.flags"
}

start_containerd() {
  [ ! -S "$CONTAINERD_SOCK" ] || ! ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 ||
    fail "start containerd: $CONTAINERD_SOCK is served by a containerd this script did not start ('npm run cluster:down' stops it)"
  containerd_args
  log "starting containerd (socket $CONTAINERD_SOCK, log: $(logfile containerd))"
  START_UMASK=$NODE_UMASK start_exe containerd "${CONTAINERD_ARGS[@]}"
  containerd_key >"$RUN/containerd.flags"
}

start_kubelet() {
  # A kubelet just stopped holds its ports until its last thread has exited.
  local i
  for i in $(seq 1 50); do port_open "$KUBELET_HEALTHZ_PORT" || break; sleep 0.2; done
  if port_open "$KUBELET_HEALTHZ_PORT"; then
    fail "start kubelet: 127.0.0.1:$KUBELET_HEALTHZ_PORT is already in use (another kubelet? set AEGIS_KUBELET_HEALTHZ_PORT)"
  fi
  kubelet_args
  log "starting kubelet as node $NODE_NAME on $NODE_IP:$KUBELET_PORT (log: $(logfile kubelet))"
  START_UMASK=$NODE_UMASK start_exe kubelet "$BIN/kubelet" "${KUBELET_ARGS[@]}"
  kubelet_key >"$RUN/kubelet.flags"
}

# Everything runs with today's configuration, the images are in, the Node is Ready.
node_running() {
  local c
  for c in kube-scheduler containerd kubelet; do [ -n "$(live_pid "$c")" ] || return 1; done
  [ -f "$PKI/.node-complete" ] || return 1
  node_image_names
  write_node_configs
  scheduler_args
  containerd_args
  kubelet_args
  flags_current kube-scheduler "$(flags_key "${SCHEDULER_ARGS[@]}")" &&
    flags_current containerd "$(containerd_key)" &&
    flags_current kubelet "$(kubelet_key)" &&
    image_present "$PAUSE_IMAGE" && image_present "$BUSYBOX_IMAGE" &&
    ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && pod_access_running && node_ready
}

node_up() {
  local t0=$SECONDS
  node_preflight
  node_image_names
  write_node_configs
  apply_node_rbac

  scheduler_args
  restart_if_changed kube-scheduler "$(flags_key "${SCHEDULER_ARGS[@]}")"
  [ -n "$(live_pid kube-scheduler)" ] || start_scheduler
  wait_for kube-scheduler "/healthz" scheduler_healthy

  node_bridge
  pod_access_up
  node_cgroups
  containerd_args
  restart_if_changed containerd "$(containerd_key)"
  [ -n "$(live_pid containerd)" ] || start_containerd
  wait_for containerd "its CRI plugin" containerd_ready
  node_images

  kubelet_args
  restart_if_changed kubelet "$(kubelet_key)"
  [ -n "$(live_pid kubelet)" ] || start_kubelet
  wait_for kubelet "/healthz" kubelet_healthy
  wait_for kubelet "Node $NODE_NAME Ready" node_ready
  log "node $NODE_NAME Ready in $((SECONDS - t0))s ($NODE_IP on $NODE_BRIDGE, pods in $POD_CIDR, taint $NODE_TAINT_KEY:NoSchedule; images $PAUSE_IMAGE, $BUSYBOX_IMAGE)"
}

# ---------------------------------------------------------------------------------------------
# Teardown
# ---------------------------------------------------------------------------------------------
# Mount points under DIR, deepest first (mountinfo escapes spaces and the like as \ooo).
mounts_under() {
  local dir=$1
  awk -v p="$dir/" '{ m = $5; if (index(m, p) == 1 || m == substr(p, 1, length(p) - 1)) print m }' /proc/self/mountinfo |
    while IFS= read -r m; do printf '%b\n' "$m"; done | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# Pids of containerd shims serving OUR containerd (their -address is our socket).
our_shims() {
  local p args i
  for p in /proc/[0-9]*; do
    mapfile -d '' -t args <"$p/cmdline" 2>/dev/null || continue
    case "${args[0]:-}" in *containerd-shim*) ;; *) continue ;; esac
    for ((i = 1; i < ${#args[@]}; i++)); do
      if [ "${args[i - 1]}" = -address ] && [ "${args[i]}" = "$CONTAINERD_SOCK" ]; then
        echo "${p#/proc/}"
        break
      fi
    done
  done
}

# Pods on the node are deleted through the API first, so that the kubelet stops their containers,
# runs CNI DEL (IP released, veth gone) and unmounts their volumes; the node is cordoned first so
# that controllers' replacements stay Pending instead of landing here again.
drain_node() {
  [ -f "$PKI/.complete" ] && [ -x "$BIN/kubectl" ] && apiserver_ready || return 0
  kctl get node "$NODE_NAME" >/dev/null 2>&1 || return 0
  local pods
  kctl cordon "$NODE_NAME" >/dev/null 2>&1 || true
  pods=$(kctl get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null | wc -l)
  if ((pods > 0)) && { [ -z "$(live_pid kubelet)" ] || [ -z "$(live_pid containerd)" ]; }; then
    # Nobody could stop the containers gracefully: remove the pods from the API now, their
    # containers and network namespaces below.
    log "the kubelet or containerd is not running: force-deleting the $pods pod(s) on $NODE_NAME and removing their containers directly"
    kctl delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
  elif ((pods > 0)); then
    log "deleting the $pods pod(s) on $NODE_NAME (the kubelet stops them, releases their IPs and unmounts their volumes)"
    kctl delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --grace-period=1 --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)) &&
      [ -n "$(kctl get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null)" ]; do
      sleep 0.5
    done
    [ -z "$(kctl get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null)" ] ||
      log "some pods on $NODE_NAME were still terminating after 60s; removing their containers directly"
    # The kubelet removes a deleted pod's directory (and its last mounts) shortly after the API object.
    deadline=$((SECONDS + 15))
    while ((SECONDS < deadline)) && [ -n "$(ls -A "$KUBELET_ROOT/pods" 2>/dev/null)" ]; do sleep 0.5; done
  fi
}

# Containers and tasks the kubelet did not remove (it crashed, or was stopped first).
remove_containers() {
  [ -n "$(live_pid containerd)" ] || return 0
  local t c
  for t in $(nctr tasks ls -q 2>/dev/null); do
    nctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
  done
  for t in $(nctr tasks ls -q 2>/dev/null); do
    nctr tasks delete -f "$t" >/dev/null 2>&1 || true
  done
  for c in $(nctr containers ls -q 2>/dev/null); do
    nctr containers rm "$c" >/dev/null 2>&1 || true
  done
  [ -z "$(nctr containers ls -q 2>/dev/null)" ] || log "note: containerd still lists containers: $(nctr containers ls -q | tr '\n' ' ')"
}

# Processes still in the pods' cgroups belong to containers whose shim is gone (containerd died
# before `down`); nothing else runs there.
remove_cgroups() {
  local d pids
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT" "/sys/fs/cgroup/$CGROUP_ROOT"; do
    [ -d "$d" ] || continue
    pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${pids// /}" ]; then
      log "killing container processes left in $d: $pids"
      # shellcheck disable=SC2086 # a list of pids
      kill -KILL $pids 2>/dev/null || true
      sleep 0.5
    fi
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$d" ] || log "note: cgroup $d is still in use (pids: $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' '))"
  done
}

node_down() {
  drain_node
  local nodes_left=0
  if [ -f "$PKI/.complete" ] && apiserver_ready 2>/dev/null && kctl get node "$NODE_NAME" >/dev/null 2>&1; then
    nodes_left=1
  fi
  stop_one kubelet
  stop_one kube-scheduler
  stop_one pod-forward
  pod_nat_remove
  if ((nodes_left)); then
    # A later `up` registers it afresh (taints, addresses, no cordon).
    kctl delete node "$NODE_NAME" --wait=false >/dev/null 2>&1 || true
  fi
  remove_containers
  stop_one containerd
  local pid
  for pid in $(our_shims); do kill_pid "containerd-shim (our socket)" "$pid"; done
  # Shims put their sockets in containerd's fixed /run/containerd/s whatever its state dir; the
  # directories go when empty (another containerd's shims would recreate them).
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  local m
  while IFS= read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "note: could not unmount $m"
  done < <(mounts_under "$NODE_DIR")
  # Network namespaces the CRI plugin made for sandboxes (bind mounts, now unmounted).
  [ ! -d "$CONTAINERD_STATE" ] || find "$CONTAINERD_STATE" -path '*/netns/*' -type f -delete 2>/dev/null || true
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    log "deleting bridge $NODE_BRIDGE"
    ip link del "$NODE_BRIDGE" 2>/dev/null || log "note: could not delete bridge $NODE_BRIDGE"
  fi
  # No sandbox is left, so no IP is in use.
  [ ! -d "$CNI_IPAM_DIR" ] || find "$CNI_IPAM_DIR" -mindepth 1 -delete 2>/dev/null || true
  remove_cgroups
}

# `down --wipe`: the node's state goes with etcd's (its pods are gone from the API too). The
# images stay as archives and are imported again by the next `up`.
node_wipe() {
  [ -d "$NODE_DIR" ] || return 0
  if [ -n "$(mounts_under "$NODE_DIR")" ]; then
    log "not wiping $NODE_DIR: something is still mounted under it"
    return 0
  fi
  log "wiping the node's state ($NODE_DIR)"
  rm -rf --one-file-system "$NODE_DIR"
}

node_status() {
  local c pid ok=0
  for c in kube-scheduler containerd kubelet pod-forward; do
    pid=$(live_pid "$c")
    if [ -n "$pid" ]; then
      printf '%-24s running (pid %s)\n' "$c" "$pid"
    else
      printf '%-24s stopped\n' "$c"
      ok=1
    fi
  done
  if [ -f "$PKI/.complete" ] && apiserver_ready && node_ready; then
    printf '%-24s Ready (%s on %s, pods in %s)\n' "node $NODE_NAME" "$NODE_IP" "$NODE_BRIDGE" "$POD_CIDR"
  else
    printf '%-24s not ready\n' "node $NODE_NAME"
    ok=1
  fi
  if [ -S "$CONTAINERD_SOCK" ] && [ -f "$NODE_IMAGES_OUT" ]; then
    printf '%-24s %s\n' "images" "$(cut -d= -f2 "$NODE_IMAGES_OUT" | tr '\n' ' ')"
  fi
  if pod_nat_present; then
    printf '%-24s %s\n' "pod access" "$KUBERNETES_SERVICE_IP:443 and $NODE_IP:$APISERVER_PORT (kube-apiserver), $NODE_IP:$POD_PG_PORT (PostgreSQL), $NODE_IP:$POD_REDIS_PORT (Redis)"
  else
    printf '%-24s %s\n' "pod access" "no nat rule for $KUBERNETES_SERVICE_IP:443"
    ok=1
  fi
  printf '%-24s %s\n' "containerd socket" "$CONTAINERD_SOCK"
  return "$ok"
}
