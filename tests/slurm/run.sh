#!/usr/bin/env bash
# Real SLURM test of the replication-study job scripts (CTest label `slurm`).
#
#   bash tests/slurm/run.sh [--keep]          (as root; SAGD=build/sagd by default)
#
# Installs slurm-wlm and munge if missing, starts a private munged, slurmctld and slurmd for
# this host with jobs/local-slurm.sh (config, state, spool, logs and socket in a temporary
# directory, non-default ports; PIDs recorded, stopped by PID on exit, also by a watchdog if
# this script is killed), then goes through jobs/submit-table1.sh:
#   1. a 3-replication em_gamma array study (1 rank per task, a few seconds each) and the
#      dependent (afterany) aggregation job;
#   2. task 1 is preempted mid-run with `scancel --signal=USR1 --batch` (the signal reaches
#      the job script, which forwards it through srun to sagd: checkpoint, exit 75, and the
#      script requeues the task, which restarts and resumes from the checkpoint);
#   3. waits for every job, then checks: all replications complete (`sagd table
#      --replications 3`), the preempted one restarted once and is bit-identical (h5diff) to
#      an uninterrupted run (on 2 ranks, outside SLURM), the aggregation job succeeded and wrote table1.md/.csv and the
#      Figure 1 PNG, and an incomplete study is refused naming the missing replication;
#   4. `scancel` (SIGTERM) of a running job: it checkpoints, exits 75 and stays cancelled;
#   5. `jobs/local-slurm.sh stop` with a job running: afterwards no job process and no daemon
#      is left, and the job's checkpoint verifies.
# Exit status 77 (CTest: skipped) when the daemons cannot be started here (not root, no
# package manager); 0 when every check passed, 1 otherwise. --keep leaves the directory.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../slurm/standalone.sh"
note() { echo "--- $(date +%T) $*"; }

[ "$(id -u)" = 0 ] || skip "starting munged/slurmctld/slurmd needs root"
[ -x "$SAGD" ] || { echo "FAIL: no sagd binary at $SAGD" >&2; exit 1; }

missing=()
for p in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || skip "no apt-get to install ${missing[*]}"
  note "installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } > /tmp/sagd-slurm-apt.log 2>&1 ||
    skip "cannot install ${missing[*]} (see /tmp/sagd-slurm-apt.log)"
fi
for c in munged slurmctld slurmd sinfo sbatch squeue scontrol scancel srun h5diff h5ls ss; do
  command -v "$c" >/dev/null || skip "$c not found"
done

TMP=$(mktemp -d /tmp/sagd-slurm.XXXXXX)
chmod 755 "$TMP"
CL=$TMP/cluster
WATCH_PID=
cleanup() {
  set +e
  [ ! -f "$CL/pids" ] || bash "$SRC/jobs/local-slurm.sh" stop "$CL"
  [ -z "$WATCH_PID" ] || kill "$WATCH_PID" 2>/dev/null
  if [ "$KEEP" = 1 ] || [ "$FAILS" -ne 0 ]; then
    echo "logs and runs kept in $TMP"
    [ "$FAILS" -eq 0 ] || tail -n 20 "$CL"/log/slurmctld.log "$TMP"/out/logs/* 2>/dev/null | tail -n 80
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 1' INT TERM

note "starting munged, slurmctld, slurmd in $CL (jobs/local-slurm.sh)"
# a pids file left by daemons that are gone (a machine restart) must not block the start
mkdir -p "$CL" && printf 'munged 4194303\nslurmctld 4194302\n' > "$CL/pids"
if ! bash "$SRC/jobs/local-slurm.sh" start "$CL" --cpus 2 > "$TMP/start.out" 2> "$TMP/start.err"; then
  cat "$TMP/start.err"
  skip "the SLURM daemons did not start here"
fi
cat "$TMP/start.err"
grep -q "pids is stale" "$TMP/start.err" && pass "a stale pids file (daemons gone) is replaced at start" ||
  fail "start did not report the stale pids file"
export SLURM_CONF="$CL/slurm.conf"
# If this script is killed without running its EXIT trap (a CTest timeout), stop the
# daemons anyway: a watchdog ends them, by PID, once this shell is gone.
PIDS=$(awk '{print $2}' "$CL/pids" | tr '\n' ' ')
( while kill -0 $$ 2>/dev/null; do sleep 2; done; kill $PIDS ) > /dev/null 2>&1 &
WATCH_PID=$!
pass "munged, slurmctld, slurmd up (pids $PIDS): $(sinfo -h -o '%P %D node %c CPUs %T')"

# ---- 1. submit the study through the real job scripts ------------------------------------
OUT=$TMP/out
CFG=$SRC/data/em_gamma.ini
SETS=(--set em.msteps=12 --set run.progress_every=0)
note "submitting through jobs/submit-table1.sh"
if bash "$SRC/jobs/submit-table1.sh" --build "$(dirname "$SAGD")" --out "$OUT" \
     --configs "$CFG" --highdim none --replications 3 --ntasks 1 --time 00:10:00 \
     --signal-secs 60 "${SETS[@]}" > "$TMP/submit.out" 2>&1; then
  cat "$TMP/submit.out"
  pass "submit-table1.sh submitted the study"
else
  cat "$TMP/submit.out"
  fail "submit-table1.sh failed"
  exit 1
fi
ARR=$(sed -n 's/^em_gamma=//p' "$OUT/jobids")
AGG=$(sed -n 's/^aggregate=//p' "$OUT/jobids")
[ -n "$ARR" ] && [ -n "$AGG" ] && pass "job ids: array $ARR, aggregation $AGG" || { fail "no job ids in $OUT/jobids"; exit 1; }
dep=$(scontrol show job "$AGG" | grep -o 'Dependency=[^ ]*')
case "$dep" in *afterany:"$ARR"*) pass "aggregation job waits on the array: $dep" ;; *) fail "aggregation dependency is '$dep'" ;; esac

# ---- 2. preempt task 1 mid-run ------------------------------------------------------------
LOG1="$OUT/logs/sagd-em_gamma-${ARR}_1.out"
note "waiting for task ${ARR}_1 to get going"
for _ in $(seq 1 240); do
  grep -q "M-step 2/12 done" "$LOG1" 2>/dev/null && break
  sleep 0.25
done
if grep -q "M-step 2/12 done" "$LOG1" 2>/dev/null; then
  scancel --signal=USR1 --batch "${ARR}_1" && pass "sent SIGUSR1 to the batch script of ${ARR}_1 mid-run"
else
  fail "task ${ARR}_1 did not start (log: $LOG1)"
fi
for _ in $(seq 1 120); do grep -q "exited with status 75" "$LOG1" 2>/dev/null && break; sleep 0.25; done
grep -q "caught SIGUSR1: forwarding" "$LOG1" && pass "job script caught SIGUSR1 and forwarded it" || fail "job script did not catch SIGUSR1"
grep -q "exited with status 75" "$LOG1" && pass "sagd checkpointed and exited 75" || fail "sagd did not exit 75 after SIGUSR1"
grep -q "requeueing ${ARR}_1" "$LOG1" && pass "job script requeued ${ARR}_1" || fail "no requeue of ${ARR}_1"
[ -f "$OUT/em_gamma/rep-001/checkpoint.h5" ] && pass "checkpoint.h5 written" || fail "no checkpoint.h5 in rep-001"

# ---- 3. wait for everything -----------------------------------------------------------------
note "waiting for all jobs (the requeued task restarts after cred_expire)"
for _ in $(seq 1 360); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 0.5
done
if [ -n "$(squeue -h)" ]; then fail "jobs still queued after 180 s:"; squeue; fi
squeue -h > /dev/null
restarts=$(scontrol show job "${ARR}_1" | grep -o 'Restarts=[0-9]*')
[ "$restarts" = Restarts=1 ] && pass "task ${ARR}_1 ran twice ($restarts)" || fail "task ${ARR}_1: $restarts, expected Restarts=1"
grep -q "(restart 1)" "$LOG1" && pass "restarted job appended to the same log" || fail "no second run in $LOG1"
grep -q "resum" "$LOG1" && pass "sagd resumed from the checkpoint" || fail "no resume message in $LOG1"
for r in 0 1 2; do
  d=$(printf '%s/em_gamma/rep-%03d' "$OUT" "$r")
  [ -f "$d/result.h5" ] && pass "replication $r complete" || fail "replication $r has no result.h5"
done
if "$SAGD" table --replications 3 "$OUT/em_gamma" > "$TMP/table.out" 2>&1; then
  pass "sagd table: all 3 replications complete"
else
  cat "$TMP/table.out"; fail "sagd table refused the study"
fi

# The preempted replication (1 rank under srun) against one that never stopped (2 ranks,
# mpiexec, outside SLURM).
"$MPIEXEC" -n 2 "$SAGD" run "$CFG" --out "$TMP/ref" --replication 1 "${SETS[@]}" --quiet ||
  fail "reference run failed"
same_run "$OUT/em_gamma/rep-001/result.h5" "$TMP/ref/result.h5" &&
  pass "preempted + requeued replication is bit-identical to an uninterrupted run" ||
  fail "preempted replication differs from the uninterrupted run"

# The aggregation job.
agg_state=$(scontrol show job "$AGG" | grep -o 'JobState=[A-Z]*')
agg_exit=$(scontrol show job "$AGG" | grep -o ' ExitCode=[0-9:]*' | tr -d ' ')
[ "$agg_state" = JobState=COMPLETED ] && [ "$agg_exit" = ExitCode=0:0 ] &&
  pass "aggregation job $AGG: $agg_state $agg_exit" || fail "aggregation job $AGG: $agg_state $agg_exit"
grep -q "em_gamma (Figure 1)" "$OUT/table1.md" 2>/dev/null && pass "table1.md written" || fail "no table1.md"
[ "$(head -c 8 "$OUT/figures/figure1.png" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] &&
  pass "figures/figure1.png is a PNG" || fail "no figures/figure1.png"
grep -q '^"em_gamma",a,sagd,3,' "$OUT/table1.csv" 2>/dev/null && pass "table1.csv has the 3 replications" || fail "table1.csv"

# An incomplete study is refused, naming the replication.
mv "$OUT/em_gamma/rep-002/result.h5" "$TMP/r2.h5"
"$SAGD" table "$OUT/em_gamma" > "$TMP/t2.out" 2>&1
st=$?
[ "$st" = 2 ] && grep -q "rep-002" "$TMP/t2.out" && pass "incomplete study refused (exit 2) naming rep-002" ||
  { cat "$TMP/t2.out"; fail "incomplete study: exit $st"; }

# ---- 4. a user's scancel (SIGTERM) checkpoints and is not requeued ------------------------
long_job() { # submit one long em_gamma replication R; prints its job id
  sbatch --parsable --requeue --open-mode=append --signal=B:USR1@60 --ntasks=1 --time=00:10:00 \
    --job-name=sagd-long --output="$OUT/logs/long-%j.out" "$SRC/jobs/replicate.sbatch" \
    --sagd "$SAGD" --config "$CFG" --study "$OUT/long" --replication "$1" \
    --set em.msteps=400 --set run.progress_every=0
}
wait_running() { # job log: wait until sagd has done two M-steps
  for _ in $(seq 1 240); do grep -q "M-step 2/400 done" "$1" 2>/dev/null && return 0; sleep 0.25; done
  return 1
}
note "scancel (SIGTERM) of a running job"
CJ=$(long_job 0)
CLOG="$OUT/logs/long-$CJ.out"
if wait_running "$CLOG"; then
  scancel "$CJ"
  for _ in $(seq 1 120); do [ -z "$(squeue -h -j "$CJ" 2>/dev/null)" ] && break; sleep 0.5; done
  sleep 3 # a requeue (the bug this guards against) would show up here
  st=$(scontrol show job "$CJ" | grep -o 'JobState=[A-Z]*')
  rs=$(scontrol show job "$CJ" | grep -o 'Restarts=[0-9]*')
  [ "$st" = JobState=CANCELLED ] && [ "$rs" = Restarts=0 ] &&
    pass "cancelled job $CJ stays cancelled: $st $rs" || fail "cancelled job $CJ: $st $rs (requeued?)"
  grep -q "caught SIGTERM" "$CLOG" && grep -q "exited with status 75" "$CLOG" &&
    grep -q "not requeueing" "$CLOG" && pass "job script caught SIGTERM, sagd checkpointed (75), no requeue" ||
    { cat "$CLOG"; fail "cancel: log does not show SIGTERM -> exit 75 -> no requeue"; }
  "$SAGD" inspect "$OUT/long/rep-000" > "$TMP/inspect.out" 2>&1 &&
    pass "the cancelled run's checkpoint verifies (sagd inspect)" || { cat "$TMP/inspect.out"; fail "sagd inspect"; }
else
  fail "long job $CJ did not start"; cat "$CLOG" 2>/dev/null
fi

# ---- 5. local-slurm.sh stop with a job running: no job process outlives the daemons --------
note "local-slurm.sh stop while a job runs"
SJ=$(long_job 1)
if wait_running "$OUT/logs/long-$SJ.out"; then
  jp=$(scontrol listpids "$SJ" 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' ')
  [ -n "$jp" ] && pass "job $SJ processes: $jp" || fail "scontrol listpids $SJ gave no processes"
  bash "$SRC/jobs/local-slurm.sh" stop "$CL" > "$TMP/stop.out" 2>&1 || fail "local-slurm.sh stop failed"
  left=
  for p in $jp $PIDS; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
  [ -z "$left" ] && pass "after stop no job process or daemon is left" ||
    { ps -o pid,args -p "${left# }" 2>/dev/null; fail "processes left after stop:$left"; }
  [ -f "$OUT/long/rep-001/checkpoint.h5" ] && "$SAGD" inspect "$OUT/long/rep-001" > /dev/null 2>&1 &&
    pass "the stopped job checkpointed" || fail "no verified checkpoint after local-slurm.sh stop"
else
  fail "long job $SJ did not start"
fi

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
