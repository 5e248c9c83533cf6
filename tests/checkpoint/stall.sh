#!/usr/bin/env bash
# The stall watchdog (run.stall_seconds) on one machine: a 2-rank run whose rank 1 is frozen
# (SIGSTOP) after a checkpoint must end within 20 s with rank 0's message naming the
# checkpoint (MPI alone would wait in the next allreduce forever), and the run resumed on 1
# rank must be bit-identical to an uninterrupted run. A bad value is refused. (The same across
# two "nodes": tests/multinode/run.sh.)
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/cklib.sh"
CFG="$SRC/data/em_gamma.ini"
common=(--quiet --set em.msteps=3 --set em.updates=100)
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 1 run "$CFG" --out "$TMP/ref" "${common[@]}" \
  || fail "uninterrupted reference run failed"
D="$TMP/stalled"
touch "$TMP/marker"; sleep 0.01
bg_start 2 "$D" "$TMP/stall.log" "${common[@]}" --set checkpoint.every=10 --set run.stall_seconds=3
if ! wait_fresh "$D/checkpoint.h5" "$TMP/marker" 30000; then
  bg_wait; fail "no checkpoint appeared (status $BG_STATUS)"; cat "$TMP/stall.log" >&2; finish
fi
ranks=$(bg_ranks)
# rank 1 is the second rank process (ranks are children of mpiexec, in pid order)
r1=$(echo $ranks | tr ' ' '\n' | sort -n | tail -1)
t0=$(now_ms)
kill -STOP "$r1"
for _ in $(seq 1 200); do
  grep -q "run.stall_seconds" "$TMP/stall.log" && break
  sleep 0.1
done
t1=$(now_ms)
kill -KILL "$r1" 2>/dev/null
bg_wait
msg=$(grep "run.stall_seconds" "$TMP/stall.log" | head -1)
echo "after $(( (t1 - t0) / 1000 )) s, exit $BG_STATUS: $msg"
if [ -n "$msg" ] && [ "$BG_STATUS" -ne 0 ] && [ $((t1 - t0)) -le 20000 ] &&
   grep -qF "checkpoint '$D/checkpoint.h5'" <<< "$msg"; then
  pass "a frozen rank: the other ended the job after ~3 s, naming the checkpoint"
else
  fail "a frozen rank: no watchdog message within 20 s (exit $BG_STATUS)"; cat "$TMP/stall.log" >&2
fi
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 1 run "$CFG" --out "$D" "${common[@]}" --set checkpoint.every=10 \
  --set run.stall_seconds=3 > "$TMP/resume.log" 2>&1 || { fail "resume failed"; cat "$TMP/resume.log" >&2; }
check_same "$TMP/ref/result.h5" "$D/result.h5" "frozen rank, resumed on 1 rank"
expect_bad "negative stall_seconds" "run.stall_seconds" "$CFG" --set run.stall_seconds=-1
finish
