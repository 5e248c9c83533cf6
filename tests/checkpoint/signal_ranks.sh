#!/usr/bin/env bash
# SIGUSR1 (to mpiexec, which forwards it) and SIGTERM (to the rank processes, as SLURM does)
# make every rank write a checkpoint and exit with status 75; the checkpoint written by 2
# ranks is resumed on 1, 2 and 3 ranks, and every result.h5 is bit-identical (h5diff, no
# tolerance) to an uninterrupted run's.
# Work in /dev/shm when possible: these tests kill processes (the page cache survives), so
# they do not need a disk's fsync, which costs ~50 ms per checkpoint on a busy disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/cklib.sh"
CFG="$SRC/data/em_gamma.ini"
common=(--quiet --set em.msteps=3 --set em.updates=100)
run=( "${common[@]}" --set checkpoint.every=10 )

SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 2 run "$CFG" --out "$TMP/ref" "${common[@]}" --set checkpoint.every=0 \
  || fail "uninterrupted reference run failed"

# stop DIR SIGNAL TARGET(mpiexec|ranks) LABEL: start on 2 ranks, wait for a fresh checkpoint,
# signal, expect exit status 75 and the stop message.
stop() {
  local dir=$1 sig=$2 target=$3 label=$4 log="$TMP/$4.log"
  touch "$TMP/marker"; sleep 0.01
  bg_start 2 "$dir" "$log" "${run[@]}"
  if ! wait_fresh "$dir/checkpoint.h5" "$TMP/marker" 30000; then
    bg_wait; fail "$label: no checkpoint appeared (status $BG_STATUS)"; cat "$log" >&2; return
  fi
  local ranks; ranks=$(bg_ranks)
  if [ "$target" = ranks ] && [ -z "${ranks// /}" ]; then
    bg_wait; fail "$label: the run ended (status $BG_STATUS) before the signal"; return
  fi
  if [ "$target" = mpiexec ]; then kill "-$sig" "$BG"; else kill "-$sig" $ranks; fi
  bg_wait
  if [ "$BG_STATUS" = 75 ] && grep -q "stopped by SIG$sig" "$log"; then
    pass "$label: SIG$sig to $target -> checkpoint, exit status 75 ($(grep -o 'iteration [0-9]*' "$log" | head -1))"
  else
    fail "$label: SIG$sig to $target gave exit status $BG_STATUS"; cat "$log" >&2
  fi
  [ ! -e "$dir/result.h5" ] || fail "$label: a result.h5 appeared although the run was stopped"
}

# 1. SIGUSR1 to mpiexec; resume the 2-rank checkpoint on 1, 2 and 3 ranks.
stop "$TMP/usr1" USR1 mpiexec usr1
"$SAGD" inspect "$TMP/usr1/checkpoint.h5" | grep -q "by 2 rank(s)" \
  && pass "inspect: the checkpoint was written by 2 ranks" || fail "inspect does not say 2 ranks"
for np in 1 2 3; do
  cp -r "$TMP/usr1" "$TMP/np$np"
  if SAGD_CHECKPOINT_DELAY_MS=0 sagd_np "$np" run "$CFG" --out "$TMP/np$np" "${run[@]}" > "$TMP/np$np.log" 2>&1; then
    check_same "$TMP/ref/result.h5" "$TMP/np$np/result.h5" "2-rank checkpoint resumed on $np rank(s)"
  else
    fail "resume on $np rank(s) failed"; cat "$TMP/np$np.log" >&2
  fi
done

# 2. SIGTERM to the ranks, twice (stop, resume, stop again), then run to the end.
stop "$TMP/term" TERM ranks term1
stop "$TMP/term" TERM ranks term2
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 2 run "$CFG" --out "$TMP/term" "${run[@]}" > "$TMP/term3.log" 2>&1 \
  || { fail "final resume after SIGTERM failed"; cat "$TMP/term3.log" >&2; }
[ -e "$TMP/term/result.h5" ] && check_same "$TMP/ref/result.h5" "$TMP/term/result.h5" "stopped twice by SIGTERM"
finish
