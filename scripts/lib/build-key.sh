# Sourced by scripts that build Go tools into a cache: the cache key of a build is the sha256 of
# the named files (relative to DIR) and the link flags, so it changes exactly when the build would.
# Usage: build_key DIR LDFLAGS FILE...
build_key() {
  local dir=$1 ldflags=$2
  shift 2
  (
    cd "$dir"
    local f
    for f in "$@"; do
      printf '== %s\n' "$f"
      cat "$f"
    done
    printf '== ldflags\n%s\n' "$ldflags"
  ) | sha256sum | cut -d' ' -f1
}
