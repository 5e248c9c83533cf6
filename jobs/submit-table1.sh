#!/usr/bin/env bash
# Submit the SAGD paper's Table 1 study to SLURM: one array job per 1-D setting (normal,
# exponential, mixture; 30 replications each), one job for the high-dimensional run, one
# em_gamma run for Figure 1, and an aggregation job (afterany all of them) that writes the
# table and the figures.
#
#   bash jobs/submit-table1.sh [options]            # submit; prints the job ids
#   bash jobs/submit-table1.sh --local [options]    # no SLURM: run everything here, in turn
#
# Every option has an environment variable (given in brackets); the command line wins.
# Layout of the output root OUT: OUT/<config name>/rep-NNN/ (one run directory per
# replication, created at submission), OUT/logs/ (job output, appended over requeues),
# OUT/jobids (name=jobid lines), OUT/table1.md, OUT/table1.csv, OUT/figures/*.png.
set -euo pipefail

JOBS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$JOBS_DIR/.." && pwd)

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
  cat <<EOF

options [environment variable] (default):
  --configs "A.ini B.ini ..."  1-D settings, one array job each [SAGD_CONFIGS]
                          (data/table1-normal.ini data/table1-exp.ini data/table1-mixture.ini)
  --replications R        replications per 1-D setting [SAGD_REPLICATIONS] (30)
  --highdim CFG|none      the high-dimensional run [SAGD_HIGHDIM_CONFIG] (data/table1-highdim.ini)
  --highdim-replications R                      [SAGD_HIGHDIM_REPLICATIONS] (1)
  --figure1 CFG|none      the em_gamma run drawn as Figure 1 (one replication, --nodes,
                          --ntasks, --time as the 1-D jobs) [SAGD_FIGURE1_CONFIG]
                          (data/em_gamma.ini; skipped if CFG is already among --configs)
  --partition P           SLURM partition [SAGD_PARTITION] (cluster default)
  --account A             SLURM account [SAGD_ACCOUNT] (user default)
  --qos Q                 SLURM QOS [SAGD_QOS] (default)
  --nodes N               nodes per 1-D replication [SAGD_NODES] (1)
  --ntasks N              MPI ranks per 1-D replication [SAGD_NTASKS] (2)
  --time T                wall-time limit per 1-D job [SAGD_TIME] (02:00:00)
  --highdim-nodes N       [SAGD_HIGHDIM_NODES] (2)
  --highdim-ntasks N      [SAGD_HIGHDIM_NTASKS] (4)
  --highdim-time T        [SAGD_HIGHDIM_TIME] (24:00:00)
  --highdim-after-1d      start the high-dim job only after the 1-D and Figure 1 jobs
                          have ended (--dependency=afterany): for a small cluster, whose
                          FIFO scheduler would otherwise keep CPUs idle while the wide
                          high-dim job waits for a whole allocation [SAGD_HIGHDIM_AFTER_1D=1]
  --signal-secs S         SIGUSR1 to the job script S seconds before the time limit: sagd
                          checkpoints and the job requeues itself [SAGD_SIGNAL_SECS] (300)
  --array-limit N         at most N replications of a setting running at once
                          [SAGD_ARRAY_LIMIT] (no limit)
  --max-requeues N        [SAGD_MAX_REQUEUES] (20)
  --sbatch-args "..."     extra sbatch options for every job [SAGD_SBATCH_ARGS]
  --build DIR             build directory holding the sagd binary [SAGD_BUILD] ($ROOT/build)
  --out DIR               output root [SAGD_OUT] ($ROOT/out/table1)
  --set S.K=V             configuration override for every run that reads the key
                          (sagd run --set-if-read: e.g. vae.* keys reach the deconv_vae
                          runs, not the em_gamma one), repeatable [SAGD_SET, space separated]
  --local                 run here without SLURM, one replication after the other, ranks
                          started by mpiexec [SAGD_LOCAL=1]; chosen automatically when
                          sbatch is not installed
  --np N                  ranks per run with --local [SAGD_NP] (2)
  --dry-run               print the sbatch commands (or with --local the commands run
                          here), submit and create nothing
  --help                  this text
EOF
}

CONFIGS=${SAGD_CONFIGS:-"$ROOT/data/table1-normal.ini $ROOT/data/table1-exp.ini $ROOT/data/table1-mixture.ini"}
REPS=${SAGD_REPLICATIONS:-30}
HIGHDIM=${SAGD_HIGHDIM_CONFIG:-$ROOT/data/table1-highdim.ini}
HD_REPS=${SAGD_HIGHDIM_REPLICATIONS:-1}
FIG1=${SAGD_FIGURE1_CONFIG:-$ROOT/data/em_gamma.ini}
PARTITION=${SAGD_PARTITION:-}
ACCOUNT=${SAGD_ACCOUNT:-}
QOS=${SAGD_QOS:-}
NODES=${SAGD_NODES:-1}
NTASKS=${SAGD_NTASKS:-2}
TIME=${SAGD_TIME:-02:00:00}
HD_NODES=${SAGD_HIGHDIM_NODES:-2}
HD_NTASKS=${SAGD_HIGHDIM_NTASKS:-4}
HD_TIME=${SAGD_HIGHDIM_TIME:-24:00:00}
HD_AFTER=${SAGD_HIGHDIM_AFTER_1D:-0}
SIGNAL_SECS=${SAGD_SIGNAL_SECS:-300}
ARRAY_LIMIT=${SAGD_ARRAY_LIMIT:-}
MAX_REQUEUES=${SAGD_MAX_REQUEUES:-20}
EXTRA=${SAGD_SBATCH_ARGS:-}
BUILD=${SAGD_BUILD:-$ROOT/build}
OUT=${SAGD_OUT:-$ROOT/out/table1}
LOCAL=${SAGD_LOCAL:-0}
NP=${SAGD_NP:-2}
DRY=0
SETS=()
for s in ${SAGD_SET:-}; do SETS+=("$s"); done
# passed on as --set-if-read below: the jobs must not also see them as replicate.sbatch's
# SAGD_SET (plain --set, which an experiment that does not read the key refuses)
unset SAGD_SET

while [ $# -gt 0 ]; do
  case "$1" in
    --configs) CONFIGS=$2; shift 2 ;;
    --replications) REPS=$2; shift 2 ;;
    --highdim) HIGHDIM=$2; shift 2 ;;
    --highdim-replications) HD_REPS=$2; shift 2 ;;
    --figure1) FIG1=$2; shift 2 ;;
    --partition) PARTITION=$2; shift 2 ;;
    --account) ACCOUNT=$2; shift 2 ;;
    --qos) QOS=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --ntasks) NTASKS=$2; shift 2 ;;
    --time) TIME=$2; shift 2 ;;
    --highdim-nodes) HD_NODES=$2; shift 2 ;;
    --highdim-ntasks) HD_NTASKS=$2; shift 2 ;;
    --highdim-time) HD_TIME=$2; shift 2 ;;
    --highdim-after-1d) HD_AFTER=1; shift ;;
    --signal-secs) SIGNAL_SECS=$2; shift 2 ;;
    --array-limit) ARRAY_LIMIT=$2; shift 2 ;;
    --max-requeues) MAX_REQUEUES=$2; shift 2 ;;
    --sbatch-args) EXTRA=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --set) SETS+=("$2"); shift 2 ;;
    --local) LOCAL=1; shift ;;
    --np) NP=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "submit-table1: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "submit-table1: error: $*" >&2; exit 2; }
isnum() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }
isnum "$REPS" && [ "$REPS" -ge 1 ] || die "--replications '$REPS': expected a positive integer"
isnum "$HD_REPS" && [ "$HD_REPS" -ge 1 ] || die "--highdim-replications '$HD_REPS': expected a positive integer"
isnum "$SIGNAL_SECS" || die "--signal-secs '$SIGNAL_SECS': expected seconds"
SAGD_BIN="$BUILD/sagd"
[ -x "$SAGD_BIN" ] || die "no sagd binary at '$SAGD_BIN' (build first, or pass --build DIR)"
SAGD_BIN=$(cd "$(dirname "$SAGD_BIN")" && pwd)/sagd
# (a dry run prints the sbatch commands whether or not sbatch is installed)
if [ "$LOCAL" != 1 ] && [ "$DRY" != 1 ] && ! command -v sbatch >/dev/null 2>&1; then
  echo "submit-table1: sbatch not found: running locally (--local)"
  LOCAL=1
fi

# (name, config, replications, nodes, ntasks, time) per job
NAMES=(); CFGS=(); NREPS=(); JNODES=(); JTASKS=(); JTIME=()
HD_INDEX=-1 # index of the high-dim job, if any
add_job() {
  local cfg=$1
  [ -f "$cfg" ] || die "config '$cfg' not found (see --configs / --highdim)"
  cfg=$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")
  local name
  name=$(basename "$cfg" .ini)
  for n in "${NAMES[@]}"; do [ "$n" != "$name" ] || die "two configs named '$name'"; done
  NAMES+=("$name"); CFGS+=("$cfg"); NREPS+=("$2"); JNODES+=("$3"); JTASKS+=("$4"); JTIME+=("$5")
}
for c in $CONFIGS; do add_job "$c" "$REPS" "$NODES" "$NTASKS" "$TIME"; done
if [ -n "$FIG1" ] && [ "$FIG1" != none ]; then
  [ -f "$FIG1" ] || die "config '$FIG1' not found (see --figure1)"
  fig1_abs=$(cd "$(dirname "$FIG1")" && pwd)/$(basename "$FIG1")
  have=0
  for c in "${CFGS[@]}"; do [ "$c" != "$fig1_abs" ] || have=1; done
  [ "$have" = 1 ] || add_job "$FIG1" 1 "$NODES" "$NTASKS" "$TIME"
fi
if [ -n "$HIGHDIM" ] && [ "$HIGHDIM" != none ]; then
  add_job "$HIGHDIM" "$HD_REPS" "$HD_NODES" "$HD_NTASKS" "$HD_TIME"
  HD_INDEX=$((${#NAMES[@]} - 1))
fi
[ ${#NAMES[@]} -gt 0 ] || die "nothing to run: no configs"

# --dry-run creates and writes nothing: it only prints what would be submitted.
if [ "$DRY" = 1 ]; then
  OUT=$(realpath -m "$OUT")
else
  mkdir -p "$OUT/logs"
  OUT=$(cd "$OUT" && pwd)
fi
STUDIES=()
for j in "${!NAMES[@]}"; do
  STUDIES+=("$OUT/${NAMES[$j]}")
  # Every replication's directory exists from the start, so `sagd table` names the ones
  # that never produced a result.
  [ "$DRY" = 1 ] && continue
  for ((r = 0; r < ${NREPS[$j]}; r++)); do mkdir -p "$(printf '%s/rep-%03d' "${STUDIES[$j]}" "$r")"; done
done
set_args=()
for s in "${SETS[@]}"; do set_args+=(--set-if-read "$s"); done

if [ "$LOCAL" = 1 ]; then
  echo "submit-table1: running locally, $NP rank(s) per run, output in $OUT"
  failed=0
  for j in "${!NAMES[@]}"; do
    for ((r = 0; r < ${NREPS[$j]}; r++)); do
      log=$(printf '%s/logs/%s-rep-%03d.out' "$OUT" "${NAMES[$j]}" "$r")
      if [ "$DRY" = 1 ]; then
        echo "bash $JOBS_DIR/replicate.sbatch --local --np $NP --sagd $SAGD_BIN --config ${CFGS[$j]} --study ${STUDIES[$j]} --replication $r ${set_args[*]}"
        continue
      fi
      echo "submit-table1: ${NAMES[$j]} replication $r (log $log)"
      if ! bash "$JOBS_DIR/replicate.sbatch" --local --np "$NP" --sagd "$SAGD_BIN" \
           --config "${CFGS[$j]}" --study "${STUDIES[$j]}" --replication "$r" \
           "${set_args[@]}" >> "$log" 2>&1; then
        echo "submit-table1: ${NAMES[$j]} replication $r failed (see $log)" >&2
        failed=$((failed + 1))
      fi
    done
  done
  agg=(bash "$JOBS_DIR/aggregate.sbatch" --sagd "$SAGD_BIN" --out "$OUT" --figures "$JOBS_DIR/figures.py" "${STUDIES[@]}")
  if [ "$DRY" = 1 ]; then echo "${agg[*]}"; exit 0; fi
  "${agg[@]}" 2>&1 | tee -a "$OUT/logs/aggregate.out"
  exit "${PIPESTATUS[0]}"
fi

common=(--parsable --requeue --open-mode=append --signal="B:USR1@$SIGNAL_SECS")
[ -z "$PARTITION" ] || common+=(--partition="$PARTITION")
[ -z "$ACCOUNT" ] || common+=(--account="$ACCOUNT")
[ -z "$QOS" ] || common+=(--qos="$QOS")
# shellcheck disable=SC2206
extra=($EXTRA)
env_export="ALL,SAGD_MAX_REQUEUES=$MAX_REQUEUES"

submit() { # prints the job id
  if [ "$DRY" = 1 ]; then
    echo "sbatch $*" >&2
    echo "DRYRUN$RANDOM"
  else
    sbatch "$@"
  fi
}

jobids_tmp="$OUT/jobids.tmp"
[ "$DRY" = 1 ] && jobids_tmp=/dev/null
: > "$jobids_tmp"
ids=()
for j in "${!NAMES[@]}"; do
  array="0-$((${NREPS[$j]} - 1))${ARRAY_LIMIT:+%$ARRAY_LIMIT}"
  after=()
  if [ "$j" = "$HD_INDEX" ] && [ "$HD_AFTER" = 1 ] && [ ${#ids[@]} -gt 0 ]; then
    after=(--dependency="afterany$(printf ':%s' "${ids[@]}")")
  fi
  id=$(submit "${common[@]}" "${extra[@]}" "${after[@]}" --job-name="sagd-${NAMES[$j]}" --array="$array" \
         --nodes="${JNODES[$j]}" --ntasks="${JTASKS[$j]}" --time="${JTIME[$j]}" \
         --export="$env_export" --output="$OUT/logs/%x-%A_%a.out" \
         "$JOBS_DIR/replicate.sbatch" --sagd "$SAGD_BIN" --config "${CFGS[$j]}" \
         --study "${STUDIES[$j]}" --max-requeues "$MAX_REQUEUES" "${set_args[@]}")
  id=${id%%;*}
  ids+=("$id")
  echo "${NAMES[$j]}=$id" >> "$jobids_tmp"
  echo "submit-table1: ${NAMES[$j]}: array job $id, replications $array, ${JNODES[$j]} node(s) x ${JTASKS[$j]} task(s), time ${JTIME[$j]}${after[*]:+, ${after[*]#--dependency=}}"
done
dep="afterany$(printf ':%s' "${ids[@]}")"
agg_common=(--parsable --open-mode=append)
[ -z "$PARTITION" ] || agg_common+=(--partition="$PARTITION")
[ -z "$ACCOUNT" ] || agg_common+=(--account="$ACCOUNT")
[ -z "$QOS" ] || agg_common+=(--qos="$QOS")
aid=$(submit "${agg_common[@]}" "${extra[@]}" --job-name=sagd-table --dependency="$dep" \
        --output="$OUT/logs/%x-%j.out" --export=ALL \
        "$JOBS_DIR/aggregate.sbatch" --sagd "$SAGD_BIN" --out "$OUT" \
        --figures "$JOBS_DIR/figures.py" "${STUDIES[@]}")
aid=${aid%%;*}
echo "aggregate=$aid" >> "$jobids_tmp"
if [ "$DRY" = 1 ]; then
  echo "submit-table1: dry run: nothing submitted, nothing created under $OUT"
  exit 0
fi
mv -f "$jobids_tmp" "$OUT/jobids"
echo "submit-table1: aggregate: job $aid ($dep): $OUT/table1.md, $OUT/table1.csv, $OUT/figures/"
echo "submit-table1: job ids in $OUT/jobids; watch with: squeue -u $(id -un)"
