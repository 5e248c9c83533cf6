#!/usr/bin/env bash
# A private one-node SLURM cluster on this machine, for trying the job scripts (and for
# tests/slurm/run.sh): munged, slurmctld and slurmd started as root with their config, state,
# spool, logs and munge socket in DIR, on non-default ports.
#
#   bash jobs/local-slurm.sh start DIR [--cpus N] [--nice N]   # prints: export SLURM_CONF=...
#   export SLURM_CONF=DIR/slurm.conf                           # then sbatch/squeue/... use it
#   bash jobs/local-slurm.sh stop DIR                          # cancel jobs, stop the daemons
#
# The daemons' PIDs are kept in DIR/pids and `stop` ends exactly those (TERM, then KILL
# after 10 s). Needs slurm-wlm and munge (jobs/setup-debian.sh installs them). Partition
# `local` (default) holds this host with N CPUs (default: all). --nice N runs the jobs at
# lower priority. Requeued jobs may start again after 10 s (cred_expire; 120 s by default
# on a real cluster); the scheduler runs every 2 s.
set -euo pipefail

die() { echo "local-slurm: error: $*" >&2; exit 2; }
cmd=${1:-}
DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2; }
shift 2
CPUS=$(nproc)
NICE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cpus) CPUS=$2; shift 2 ;;
    --nice) NICE=$2; shift 2 ;;
    *) die "unknown option '$1'" ;;
  esac
done

stop_pid() { # TERM, wait up to 10 s, then KILL
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
start)
  [ "$(id -u)" = 0 ] || die "the daemons are started as root"
  for c in munged slurmctld slurmd sinfo ss; do command -v "$c" >/dev/null || die "$c not found (bash jobs/setup-debian.sh)"; done
  if [ -s "$DIR/pids" ]; then
    live=
    for pid in $(awk '{print $2}' "$DIR/pids"); do kill -0 "$pid" 2>/dev/null && live="$live $pid"; done
    [ -z "$live" ] || die "a cluster is running in $DIR (pids$live): stop it first (bash $0 stop $DIR)"
    # e.g. the machine was restarted: no daemon of DIR/pids is alive
    echo "local-slurm: $DIR/pids is stale (none of its daemons is running): starting afresh," \
      "with an empty job queue (resubmit a study to resume it from its checkpoints)" >&2
    rm -rf "$DIR/pids" "$DIR/state" "$DIR/spool"
  fi
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/pmix"
  DIR=$(cd "$DIR" && pwd)
  chmod 755 "$DIR"
  port_free() { [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
  for _ in $(seq 1 50); do
    P1=$((20000 + RANDOM % 20000)); P2=$((P1 + 1))
    port_free "$P1" && port_free "$P2" && break
  done
  HOST=$(hostname)
  dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$DIR/munge.key"
  # Several private clusters may run at once on one host (tests in parallel): distinct job
  # ids and a private PMIx directory keep their job steps apart (slurm's PMIx plugin names
  # /tmp/spmix_appdir_<uid>_<job>.<step> otherwise).
  echo "PMIxCliTmpDirBase=$DIR/pmix" > "$DIR/mpi.conf"
  cat > "$DIR/slurm.conf" <<EOF
ClusterName=sagdlocal
FirstJobId=$((1000 + RANDOM * 100))
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$P1
SlurmdPort=$P2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge.sock,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
KillWait=10
MinJobAge=900
InactiveLimit=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$DIR/pids"
  setsid munged -F --socket="$DIR/munge.sock" --key-file="$DIR/munge.key" \
    --log-file="$DIR/log/munged.log" --pid-file="$DIR/munged.pid" --seed-file="$DIR/munged.seed" \
    > "$DIR/log/munged.out" 2>&1 < /dev/null &
  echo "munged $!" >> "$DIR/pids"
  for _ in $(seq 1 50); do [ -S "$DIR/munge.sock" ] && break; sleep 0.2; done
  [ -S "$DIR/munge.sock" ] || die "munged did not start: $(cat "$DIR/log/munged.out")"
  export SLURM_CONF="$DIR/slurm.conf"
  setsid slurmctld -D -i > "$DIR/log/slurmctld.out" 2>&1 < /dev/null &
  echo "slurmctld $!" >> "$DIR/pids"
  setsid nice -n "$NICE" slurmd -D > "$DIR/log/slurmd.out" 2>&1 < /dev/null &
  echo "slurmd $!" >> "$DIR/pids"
  for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    sleep 0.5
  done
  if [ "$(sinfo -h -o %T 2>/dev/null)" != idle ]; then
    tail -n 5 "$DIR"/log/*.out "$DIR"/log/*.log >&2 2>/dev/null || true
    bash "$0" stop "$DIR" >&2 || true
    die "slurmctld/slurmd did not come up"
  fi
  echo "local-slurm: up ($(sinfo -h -o '%P %D node %c CPUs %T')); pids in $DIR/pids" >&2
  echo "export SLURM_CONF=$DIR/slurm.conf"
  ;;
stop)
  [ -f "$DIR/pids" ] || die "no $DIR/pids: nothing started there"
  export SLURM_CONF="$DIR/slurm.conf"
  ctld=$(awk '$1 == "slurmctld" {print $2}' "$DIR/pids")
  # Cancel every job (each checkpoints on the SIGTERM and is not requeued), then wait until
  # the jobs' processes (as `scontrol listpids` reported them while slurmd ran) are gone, so
  # no job step outlives the daemons; stragglers get SIGKILL after KillWait and 20 s more.
  jobpids=
  if [ -n "$ctld" ] && kill -0 "$ctld" 2>/dev/null; then
    for round in 1 2 3; do
      ids=$(squeue -h -o %A 2>/dev/null | sort -u || true)
      [ -n "$ids" ] || break
      jobpids="$jobpids $(scontrol listpids 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' ')"
      echo "local-slurm: cancelling jobs $(echo $ids)" >&2
      scancel $ids 2>/dev/null || true
      for _ in $(seq 1 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
    done
  fi
  alive() { local p n=0; for p in $jobpids; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
  for _ in $(seq 1 150); do [ "$(alive)" = 0 ] && break; sleep 0.2; done
  if [ "$(alive)" != 0 ]; then
    echo "local-slurm: $(alive) job process(es) still running after cancel: SIGKILL" >&2
    for p in $jobpids; do kill -9 "$p" 2>/dev/null || true; done
  fi
  for name in slurmd slurmctld munged; do
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$DIR/pids")
    [ -z "$pid" ] || stop_pid "$pid"
  done
  rm -f "$DIR/pids"
  echo "local-slurm: stopped" >&2
  ;;
*) die "unknown command '$cmd': expected start or stop" ;;
esac
