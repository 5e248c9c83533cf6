# Helpers for the checkpoint/restart scripts (sourced after ../cli/lib.sh).
#
# Killed MPI jobs leave their shared-memory segments and session directories behind: keep
# them inside $TMP (removed on exit by lib.sh's trap) rather than in /dev/shm or /tmp.
export TMPDIR="$TMP" OMPI_MCA_btl_vader_backing_directory="$TMP"
# Every checkpoint write is held open this long (test hook), so that a run lasts long enough
# to be interrupted however fast the machine is; results do not depend on it.
export SAGD_CHECKPOINT_DELAY_MS=${SAGD_CHECKPOINT_DELAY_MS:-40}

# Datasets of result.h5 promised bit-identical across interruptions and rank counts:
# everything except /meta (its "created" and "n_ranks" attributes describe the last run) and
# /trace/*/seconds (wall-clock time). h5diff without tolerance compares the bits.
h5same() { # REF NEW
  h5diff -q --exclude-path /meta --exclude-path /trace/sagd/seconds \
    --exclude-path /trace/exact/seconds "$1" "$2"
}
check_same() { # REF NEW WHAT
  if h5same "$1" "$2"; then
    pass "$3: result.h5 bit-identical to the uninterrupted run"
  else
    fail "$3: result.h5 differs from the uninterrupted run"
    h5diff -r --exclude-path /meta "$1" "$2" | grep -v "^0 differences" | head -8 >&2
  fi
}

now_ms() { date +%s%3N; }

# bg_start NP DIR LOG args...: start `sagd run` in its own session (setsid); BG = its pid,
# which is also the session id shared by mpiexec and every rank.
bg_start() {
  local np=$1 dir=$2 log=$3; shift 3
  setsid "$MPIEXEC" --oversubscribe -n "$np" "$SAGD" run "$CFG" --out "$dir" "$@" >"$log" 2>&1 &
  BG=$!
}
# procs_where ppid|sid VALUE: pids whose parent (ppid) or session (sid) is VALUE, read from
# /proc/PID/stat directly (no dependency on procps).
procs_where() {
  local f p st out=""
  for f in /proc/[0-9]*/stat; do
    st=$(cat "$f" 2>/dev/null) || continue
    p=${st%% *}; st=${st##*) }
    set -- $st   # state ppid pgrp session ...
    case $FIELD in
      ppid) [ "$2" = "$VALUE" ] && out="$out $p" ;;
      sid) [ "$4" = "$VALUE" ] && out="$out $p" ;;
    esac
  done
  echo "$out"
}
# bg_kill SIG: send SIG to every process of the job's session (mpiexec and the ranks).
bg_kill() {
  local pids
  pids=$(FIELD=sid VALUE=$BG procs_where)
  [ -n "${pids// /}" ] && kill "-$1" $pids 2>/dev/null
  return 0
}
# bg_ranks: pids of the rank processes (children of mpiexec)
bg_ranks() { FIELD=ppid VALUE=$BG procs_where; }
# bg_wait: wait for the job; BG_STATUS = its exit status
bg_wait() { wait "$BG" 2>/dev/null; BG_STATUS=$?; }
bg_alive() { kill -0 "$BG" 2>/dev/null; }

# wait_for PATH TIMEOUT_MS: poll (every 10 ms) until PATH exists while the job runs;
# status 1 if it never appeared.
wait_for() {
  local deadline=$(( $(now_ms) + $2 ))
  while [ ! -e "$1" ]; do
    bg_alive || return 1
    [ "$(now_ms)" -gt "$deadline" ] && return 1
    sleep 0.01
  done
  return 0
}
# wait_fresh PATH MARKER TIMEOUT_MS: poll until PATH exists and is newer than MARKER (a file
# touched before the job started: a stale PATH from an earlier run does not count).
wait_fresh() {
  local deadline=$(( $(now_ms) + $3 ))
  while [ -z "$(find "$1" -newer "$2" 2>/dev/null)" ]; do
    bg_alive || return 1
    [ "$(now_ms)" -gt "$deadline" ] && return 1
    sleep 0.01
  done
  return 0
}
# wait_change PATH TIMEOUT_MS: poll until PATH's inode changes (a rename put a new file
# there); status 1 if it did not.
wait_change() {
  local before deadline=$(( $(now_ms) + $2 ))
  before=$(stat -c %i "$1" 2>/dev/null || echo none)
  while [ "$(stat -c %i "$1" 2>/dev/null || echo none)" = "$before" ]; do
    bg_alive || return 1
    [ "$(now_ms)" -gt "$deadline" ] && return 1
    sleep 0.005
  done
  return 0
}

# iteration DIR/checkpoint.h5 → its iteration (from sagd inspect), or -1
ck_iteration() { "$SAGD" inspect "$1" 2>/dev/null | awk '/^iteration:/ {print $2; f=1} END {if (!f) print -1}'; }

# kill_repeatedly NP DIR args...: up to 6 times, start `sagd run "$CFG" --out DIR args...` on
# NP ranks and SIGKILL it a little after it wrote a checkpoint (so every attempt makes
# progress; SAGD_CHECKPOINT_DELAY_MS holds every write open so the run cannot finish first);
# stops early when a run ends by itself. KILLS = how many runs were killed.
kill_repeatedly() {
  local np=$1 dir=$2; shift 2
  KILLS=0
  for attempt in 1 2 3 4 5 6; do
    bg_start "$np" "$dir" "$TMP/attempt$attempt.log" "$@"
    wait_change "$dir/checkpoint.h5" 60000
    sleep "0.0$((RANDOM % 9 + 1))"
    if ! bg_alive; then bg_wait; echo "attempt $attempt: ended by itself ($BG_STATUS)"; break; fi
    bg_kill KILL
    bg_wait
    KILLS=$((KILLS + 1))
    echo "kill $KILLS: checkpoint at iteration $(ck_iteration "$dir/checkpoint.h5")"
  done
}
