#!/usr/bin/env bash
# SIGKILL (the whole job: mpiexec and every rank, like a node failure) at several moments —
# before the first checkpoint, at random times, while checkpoint.h5.tmp is being written,
# and right after a checkpoint was renamed into place — resuming each time. After every
# kill the newest checkpoint must still verify (atomic write), a leftover .tmp must be
# ignored, and the final result.h5 must be bit-identical (h5diff, no tolerance) to an
# uninterrupted run's. 2 ranks.
# Work in /dev/shm when possible: these tests kill processes (the page cache survives), so
# they do not need a disk's fsync, which costs ~50 ms per checkpoint on a busy disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/cklib.sh"
CFG="$SRC/data/em_gamma.ini"
# Small but long enough to be killed many times: 2 x 100 updates on 200 chains (SAGD path)
# plus the exact path; a checkpoint every 3 iterations (~ 135 writes, each held >= 40 ms).
common=(--quiet --set em.msteps=2 --set em.updates=100 --set sagd.chains=2)

t0=$(now_ms)
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 2 run "$CFG" --out "$TMP/ref" "${common[@]}" --set checkpoint.every=0 \
  || fail "uninterrupted reference run failed"
tref=$(( $(now_ms) - t0 ))
echo "uninterrupted run (no checkpoints): ${tref} ms"

run=( "${common[@]}" --set checkpoint.every=3 )
D="$TMP/killed"
kills=0; during=0; last_iter=-1; attempt=0
# moments: b = before the first checkpoint of this attempt, r = at a random time (0.05 .. 0.30
# times the uninterrupted run's time tref) after this attempt's first checkpoint, so that the
# kills fall all along the run but add up to less than a whole run, d = during a write
# (checkpoint.h5.tmp exists; the write is held open 300 ms), a = right after a rename
for how in b r d a r d r a r; do
  attempt=$((attempt + 1))
  log="$TMP/attempt$attempt.log"
  touch "$TMP/marker"; sleep 0.01
  if [ "$how" = d ]; then
    SAGD_CHECKPOINT_DELAY_MS=300 bg_start 2 "$D" "$log" "${run[@]}"
  else
    bg_start 2 "$D" "$log" "${run[@]}"
  fi
  case $how in
    b) sleep 0.$((RANDOM % 3 + 1)) ;;                     # 0.1 .. 0.3 s
    r) ms=$(( tref / 20 + RANDOM % (tref / 4 + 1) ))     # 0.05 .. 0.30 x tref
       wait_fresh "$D/checkpoint.h5" "$TMP/marker" 20000
       sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))" ;;
    d) wait_fresh "$D/checkpoint.h5.tmp" "$TMP/marker" 20000 && sleep 0.05 ;;
    a) wait_change "$D/checkpoint.h5" 20000 ;;
  esac
  if ! bg_alive; then
    bg_wait
    echo "attempt $attempt ($how): the run ended by itself (status $BG_STATUS)"
    [ "$BG_STATUS" = 0 ] && break
    fail "attempt $attempt ended with status $BG_STATUS"; cat "$log" >&2; continue
  fi
  tmp_seen=0; [ -e "$D/checkpoint.h5.tmp" ] && tmp_seen=1
  bg_kill KILL
  bg_wait
  kills=$((kills + 1))
  [ "$how" = d ] && [ "$tmp_seen" = 1 ] && during=$((during + 1))
  it=-1
  if [ -e "$D/checkpoint.h5" ]; then
    it=$(ck_iteration "$D/checkpoint.h5")
    if "$SAGD" inspect "$D/checkpoint.h5" >/dev/null 2>&1; then
      pass "kill $kills ($how, .tmp present: $tmp_seen): newest checkpoint verifies (iteration $it)"
    else
      fail "kill $kills ($how): newest checkpoint does not verify"; "$SAGD" inspect "$D/checkpoint.h5" >&2
    fi
    [ "$it" -ge "$last_iter" ] || fail "checkpoint went back from iteration $last_iter to $it"
    last_iter=$it
  else
    pass "kill $kills ($how): killed before any checkpoint"
  fi
  if [ "$how" = d ] && [ "$tmp_seen" = 1 ]; then
    echo "   (left $D/checkpoint.h5.tmp behind; the next run must ignore it)"
  fi
done

# Finish: resume once more and run to the end.
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 2 run "$CFG" --out "$D" "${run[@]}" > "$TMP/final.log" 2>&1
st=$?
[ "$st" = 0 ] || { fail "final resume exited with $st"; cat "$TMP/final.log" >&2; }
[ $kills -ge 6 ] && pass "$kills kills" || fail "only $kills kills happened (runs ended too soon)"
[ $during -ge 1 ] && pass "$during kill(s) while checkpoint.h5.tmp was being written" \
  || fail "no kill happened during a checkpoint write"
if grep -q "ignoring .*checkpoint.h5.tmp" "$TMP"/attempt*.log "$TMP/final.log"; then
  pass "a leftover checkpoint.h5.tmp was ignored with a note"
else
  fail "no run reported ignoring a leftover checkpoint.h5.tmp"
fi
[ -e "$D/result.h5" ] && check_same "$TMP/ref/result.h5" "$D/result.h5" "after $kills SIGKILLs"
finish
