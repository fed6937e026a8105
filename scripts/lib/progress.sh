# shellcheck shell=bash
# Sourced by scripts whose long steps are otherwise silent for minutes (Go builds, apt-get, pip).
#
# with_progress LABEL NOTE LOGFILE CMD...
#   Runs CMD (a command or a shell function) in the background with stdin from /dev/null and
#   stdout and stderr to LOGFILE, and while it runs prints "LABEL (1m20s; NOTE)" to stderr every
#   AEGIS_PROGRESS_INTERVAL seconds (default 10; no "; NOTE" when NOTE is empty). Returns CMD's
#   exit status. On SIGINT, SIGTERM or SIGHUP it stops CMD and every process CMD started, and the
#   ticker, then raises the signal again for the caller's own trap, or without one dies of it as
#   the shell would have: nothing is left running behind it.
#   Called as a condition (`if ! with_progress …`), bash runs CMD with `set -e` off, so a shell
#   function given as CMD chains its steps with &&.
#
# progress_elapsed SECONDS   prints 45s, 1m20s, ...
# progress_tail LOGFILE      the last 25 lines of LOGFILE on stderr, indented (after a failure)

progress_elapsed() {
  if (($1 >= 60)); then printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); else printf '%ds' "$1"; fi
}

progress_tail() {
  [ -s "$1" ] || return 0
  tail -n 25 "$1" | sed 's/^/    /' >&2
}

with_progress() {
  local label=$1 note=$2 logfile=$3
  shift 3
  local interval=${AEGIS_PROGRESS_INTERVAL:-10} start=$SECONDS owner=$BASHPID pid ticker rc=0 saved sig
  [[ $interval =~ ^[1-9][0-9]*$ ]] || interval=10
  "$@" </dev/null >"$logfile" 2>&1 &
  pid=$!
  # The ticker polls every second, so it also ends within a second if this shell is killed with
  # SIGKILL. Its stdout is closed: callers read scripts' stdout to its end (`$(cluster.sh up)`).
  (
    trap 'kill "$tick" 2>/dev/null; exit 0' TERM
    tick=
    n=0
    while :; do
      sleep 1 &
      tick=$!
      wait "$tick" || exit 0
      kill -0 "$pid" 2>/dev/null && kill -0 "$owner" 2>/dev/null || exit 0
      n=$((n + 1))
      if ((n % interval == 0)); then
        printf '%s (%s%s)\n' "$label" "$(progress_elapsed $((SECONDS - start)))" "${note:+; $note}" >&2
      fi
    done
  ) </dev/null >/dev/null &
  ticker=$!
  saved=$(trap -p INT TERM HUP)
  for sig in INT TERM HUP; do
    # shellcheck disable=SC2064 # the pids are fixed now
    trap "_progress_abort $sig $pid $ticker" "$sig"
  done
  wait "$pid" || rc=$?
  trap - INT TERM HUP
  eval "$saved"
  kill -TERM "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}

# _progress_abort SIGNAL PID TICKER: the INT/TERM/HUP trap of with_progress. Stops everything,
# puts the caller's traps back and raises the signal again: the caller's trap runs (and
# with_progress returns 128+N) or, with none, the shell dies of the signal as it would have.
_progress_abort() {
  local sig=$1 pid=$2 ticker=$3
  kill -TERM "$ticker" 2>/dev/null || true
  _progress_stop_tree "$pid"
  wait "$ticker" "$pid" 2>/dev/null || true
  trap - INT TERM HUP
  eval "$saved" # with_progress's local: a trap runs in the scope of the function it interrupts
  kill -s "$sig" "$BASHPID"
}

# _progress_stop_tree PID: SIGTERM to PID and all its descendants; SIGKILL to those left after 5 s.
_progress_stop_tree() {
  local -a tree
  mapfile -t tree < <(_progress_tree "$1")
  kill -TERM "${tree[@]}" 2>/dev/null || true
  local i p left
  for ((i = 0; i < 50; i++)); do
    left=0
    for p in "${tree[@]}"; do _progress_running "$p" && left=1 && break; done
    ((left)) || return 0
    sleep 0.1
  done
  kill -KILL "${tree[@]}" 2>/dev/null || true
}

# _progress_tree PID: PID and its descendants, one a line, parents first (from /proc).
_progress_tree() {
  local -A kids=()
  local f s rest p
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null <"$f" || continue
    rest=${s##*) } # after the command name, which may hold spaces and parentheses
    rest=${rest#* }
    p=${f#/proc/}
    kids[${rest%% *}]+=" ${p%/stat}"
  done
  local -a queue=("$1")
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    echo "$p"
    # shellcheck disable=SC2206 # a list of pids
    queue+=(${kids[$p]:-})
  done
}

# _progress_running PID: the process exists and is not a zombie.
_progress_running() {
  local s
  read -r s 2>/dev/null <"/proc/$1/stat" || return 1
  s=${s##*) }
  [ "${s%% *}" != Z ]
}
