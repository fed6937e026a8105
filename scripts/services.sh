#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis run on loopback for the integration tests and local runs.
# Installs them from Debian when missing. Idempotent. Prints DATABASE_URL= and REDIS_URL= last.
set -euo pipefail

PG_PORT="${AEGIS_PG_PORT:-5432}"
REDIS_PORT="${AEGIS_REDIS_PORT:-6379}"
PG_USER=aegis PG_PASSWORD=aegis PG_DB=aegis

log() { printf 'services: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/progress.sh"

apt_install() { apt-get update -qq && apt-get install -y -qq "$@"; }

install_missing() {
  local pkgs=()
  command -v pg_ctlcluster >/dev/null 2>&1 || pkgs+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  ((${#pkgs[@]})) || return 0
  local apt_log="${TMPDIR:-/tmp}/aegis-services-apt.log" start=$SECONDS
  log "installing ${pkgs[*]} from Debian (log: $apt_log); once: later runs find them installed"
  export DEBIAN_FRONTEND=noninteractive
  if ! with_progress "services: still installing ${pkgs[*]}" "once" "$apt_log" apt_install "${pkgs[@]}"; then
    log "FAILED: apt-get install ${pkgs[*]}; log: $apt_log; last lines:"
    progress_tail "$apt_log"
    exit 1
  fi
  log "installed ${pkgs[*]} in $(progress_elapsed $((SECONDS - start)))"
}

pg_cluster() {
  # Debian names clusters <version>/<name>; take the newest installed server version.
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || { log "no PostgreSQL server under /usr/lib/postgresql"; exit 1; }
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$version/main"; then
    log "creating PostgreSQL cluster $version/main"
    pg_createcluster "$version" main --port "$PG_PORT" >&2
  fi
  echo "$version"
}

start_postgres() {
  local version
  version=$(pg_cluster)
  if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
    log "starting PostgreSQL $version/main"
    pg_ctlcluster "$version" main start >&2
  fi
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.2
  done
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL did not become ready; see /var/log/postgresql/"; exit 1; }
  # The test role is a superuser so that tests can create fresh databases and restricted roles.
  su postgres -c "psql -q -p $PG_PORT -tc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1 ||
    su postgres -c "psql -q -p $PG_PORT -c \"CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD'\"" >&2
  su postgres -c "psql -q -p $PG_PORT -tc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 ||
    su postgres -c "psql -q -p $PG_PORT -c \"CREATE DATABASE $PG_DB OWNER $PG_USER\"" >&2
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then return 0; fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p /tmp/aegis-redis
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
    --dir /tmp/aegis-redis --logfile /tmp/aegis-redis/redis.log >&2
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  log "Redis did not answer; see /tmp/aegis-redis/redis.log"; exit 1
}

case "${1:-up}" in
  up)
    install_missing
    start_postgres
    start_redis
    echo "DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
    echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
    ;;
  down)
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave 2>/dev/null || true
    for v in $(ls /usr/lib/postgresql 2>/dev/null); do pg_ctlcluster "$v" main stop 2>/dev/null || true; done
    ;;
  *) echo "usage: services.sh up|down" >&2; exit 2 ;;
esac
