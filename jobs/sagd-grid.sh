#!/usr/bin/env bash
# A configuration study of one fine-tuning method on Table 1's 1-D settings (issue 19: choose
# SAGD's sampler, delta, gamma, K, chains and averaging on held-out replications, then report
# the others). Every configuration of a grid file runs on every setting and replication, here,
# with `jobs/replicate.sbatch --local` (so a run interrupted at any moment resumes from its
# checkpoint, and a finished one is verified and skipped when the same command runs again);
# then one Markdown table: a row per configuration, mean (SE) over the replications of the
# method's D and W per setting, the paper's value, and the score used to rank them.
#
#   bash jobs/sagd-grid.sh --grid FILE --reps A-B --out DIR [options]
#
# Grid file: one configuration per line, `name: --set S.K=V --set S.K=V ...` (blank lines
# and lines starting with # are ignored; names are [A-Za-z0-9_.-]+; values without spaces).
# Every run also gets --set vae.methods=METHOD (and the --set options given here), on a copy
# of its setting's config without the sections of the other methods ([iwae], [hmc],
# [coupled], [ald]: sagd refuses keys that nothing reads), in DIR/configs/.
#
# Score of a configuration: the mean over its cells (setting x {D, W}) of value / paper value,
# where the paper has one (lower is better; 1 = the paper's Table 1 on average). Runs whose
# result is missing are listed and make the command exit 2.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  cat <<EOF
usage: bash jobs/sagd-grid.sh --grid FILE --reps A-B --out DIR [options]
  --grid FILE        the configurations, one per line: name: --set S.K=V ...
  --reps A-B         replications A..B (inclusive), e.g. 30-39 to choose, 0-29 to report
  --out DIR          DIR/<name>/<setting>/rep-NNN run directories, DIR/grid.md, DIR/logs/
  --configs "..."    settings [data/table1-normal.ini data/table1-exp.ini data/table1-mixture.ini]
  --method M         the fine-tuning method studied [sagd]
  --set S.K=V        an override for every run (repeatable; e.g. reduced sizes in tests)
  --jobs N           runs at once, one rank each [2]
  --build DIR        build directory holding sagd [$ROOT/build]
  --table-only       do not run anything: tabulate what DIR holds
EOF
}
die() { echo "sagd-grid: $*" >&2; exit 2; }
GRID= REPS= OUT= METHOD=sagd JOBS=2 BUILD=$ROOT/build TABLE_ONLY=0
CONFIGS="$ROOT/data/table1-normal.ini $ROOT/data/table1-exp.ini $ROOT/data/table1-mixture.ini"
SETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --grid) GRID=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --method) METHOD=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --table-only) TABLE_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[ -n "$GRID" ] && [ -f "$GRID" ] || die "--grid FILE: '$GRID' is not a file"
[[ "$REPS" =~ ^([0-9]+)-([0-9]+)$ ]] || die "--reps '$REPS': expected A-B, e.g. 30-39"
R0=$((10#${BASH_REMATCH[1]})) R1=$((10#${BASH_REMATCH[2]}))
[ "$R0" -le "$R1" ] || die "--reps '$REPS': expected A <= B"
[ -n "$OUT" ] || die "--out DIR is required"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs '$JOBS': expected a positive integer"
SAGD=$BUILD/sagd
[ -x "$SAGD" ] || die "no sagd binary at '$SAGD' (build first, or give --build)"
for c in $CONFIGS; do [ -f "$c" ] || die "config '$c' not found (--configs)"; done

NAMES=() ARGS=()
while IFS= read -r line || [ -n "$line" ]; do
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  [[ "$line" =~ ^[[:space:]]*([A-Za-z0-9_.-]+):(.*)$ ]] ||
    die "$GRID: '$line': expected 'name: --set S.K=V ...'"
  for n in "${NAMES[@]}"; do [ "$n" != "${BASH_REMATCH[1]}" ] || die "$GRID: '$n' twice"; done
  NAMES+=("${BASH_REMATCH[1]}") ARGS+=("${BASH_REMATCH[2]}")
done < "$GRID"
[ ${#NAMES[@]} -gt 0 ] || die "$GRID holds no configuration"
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)

if [ "$TABLE_ONLY" = 0 ]; then
  # The settings' configs without the sections of the methods not studied ([iwae], [hmc],
  # [coupled], [ald]): sagd refuses keys that nothing reads.
  mkdir -p "$OUT/configs"
  for c in $CONFIGS; do
    awk -v keep="$METHOD" '
      /^[[:space:]]*\[/ { s = $0; gsub(/[][[:space:]]/, "", s)
                          drop = (s == "iwae" || s == "hmc" || s == "coupled" || s == "ald") && s != keep }
      !drop' "$c" > "$OUT/configs/$(basename "$c")"
  done
  # one line per run: name, setting config, replication (xargs runs them N at a time)
  list=$OUT/logs/runs.txt
  : > "$list"
  for i in "${!NAMES[@]}"; do
    for c in $CONFIGS; do
      for ((r = R0; r <= R1; r++)); do echo "$i $c $r" >> "$list"; done
    done
  done
  export ROOT SAGD OUT METHOD
  export GRID_ARGS_FILE=$OUT/logs/args
  : > "$GRID_ARGS_FILE"
  for i in "${!NAMES[@]}"; do printf '%s\t%s\n' "${NAMES[$i]}" "${ARGS[$i]}" >> "$GRID_ARGS_FILE"; done
  export GRID_SETS="${SETS[*]:-}"
  echo "sagd-grid: $(wc -l < "$list") runs, $JOBS at a time, in $OUT"
  # shellcheck disable=SC2016
  xargs -P "$JOBS" -L 1 bash -c '
    i=$1 cfg=$2 r=$3
    name=$(sed -n "$((i + 1))p" "$GRID_ARGS_FILE" | cut -f1)
    args=$(sed -n "$((i + 1))p" "$GRID_ARGS_FILE" | cut -f2-)
    setting=$(basename "$cfg" .ini)
    cfg=$OUT/configs/$setting.ini
    log=$(printf "%s/logs/%s-%s-rep-%03d.out" "$OUT" "$name" "$setting" "$r")
    # shellcheck disable=SC2086  # the grid line and --set options are words
    bash "$ROOT/jobs/replicate.sbatch" --local --np 1 --sagd "$SAGD" --config "$cfg" \
      --study "$OUT/$name/$setting" --replication "$r" --set vae.methods="$METHOD" \
      $args $GRID_SETS >> "$log" 2>&1 || echo "sagd-grid: $name $setting rep $r: exit $? (see $log)"
  ' _ < "$list"
fi

# the table: sagd table --csv per configuration, then one row per configuration
md=$OUT/grid.md
missing=0
{
  echo "## $METHOD configurations, replications $R0-$R1: mean (SE) over replications"
  echo
  echo "score = mean over the cells of value / paper value (lower is better)."
  echo
} > "$md"
rows=()
for i in "${!NAMES[@]}"; do
  name=${NAMES[$i]}
  dirs=()
  for c in $CONFIGS; do dirs+=("$OUT/$name/$(basename "$c" .ini)"); done
  if ! "$SAGD" table --allow-missing --csv "$OUT/logs/$name.csv" "${dirs[@]}" \
       > "$OUT/logs/$name.md" 2> "$OUT/logs/$name.table.err"; then
    missing=1
  fi
  grep -q "n=" "$OUT/logs/$name.md" && missing=1
  rows+=("$name" "$OUT/logs/$name.csv" "${ARGS[$i]}")
done
/usr/bin/python3 - "$METHOD" "$md" "${rows[@]}" <<'EOF'
import csv, math, os, sys
method, md, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
confs = [rest[k:k + 3] for k in range(0, len(rest), 3)]
cells, table = [], []
for name, path, args in confs:
    vals = {}
    if os.path.exists(path):
        for r in csv.DictReader(open(path)):
            if r["method"] == method and r["metric"] in ("D", "W"):
                vals[(r["setting"], r["metric"])] = r
    for key in vals:
        if key not in cells:
            cells.append(key)
    table.append((name, args.strip(), vals))
cells.sort()
def fmt(r):
    if r is None:
        return "–"
    se = float(r["se"]) if r["se"] not in ("", "nan") else float("nan")
    s = f'{float(r["mean"]):.3f}' + (f" ({se:.3f})" if math.isfinite(se) else "")
    return s
out = open(md, "a")
head = "| configuration | overrides | " + " | ".join(f"{s} {m}" for s, m in cells) + " | score |"
out.write(head + "\n|" + "---|" * (len(cells) + 3) + "\n")
paper = {}
for name, args, vals in table:
    ratios = []
    for key in cells:
        r = vals.get(key)
        if r is not None and r["paper"] not in ("", "nan", "NaN"):
            paper[key] = float(r["paper"])
            ratios.append(float(r["mean"]) / float(r["paper"]))
    score = sum(ratios) / len(ratios) if ratios and len(ratios) == len(cells) else float("nan")
    out.write(f"| {name} | `{args}` | " + " | ".join(fmt(vals.get(k)) for k in cells) +
              (f" | {score:.3f} |" if math.isfinite(score) else " | – |") + "\n")
out.write("| *paper* | | " + " | ".join(f"{paper[k]:.3f}" if k in paper else "–" for k in cells) + " | 1 |\n")
out.close()
EOF
cat "$md"
if [ "$missing" = 1 ]; then
  echo "sagd-grid: some runs have no result yet (cells say [n=used/expected]; see $OUT/logs)" >&2
  exit 2
fi
