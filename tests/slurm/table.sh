#!/usr/bin/env bash
# `sagd table`, jobs/figures.py and the job scripts' local mode (no SLURM needed; default
# suite). A toy-size study (two 1-D settings x 2 replications and a 3-dimensional "high-dim"
# run of deconv_vae, plus 2 em_gamma replications) goes through `jobs/submit-table1.sh
# --local`, then:
#   - every cell of table1.csv equals the mean and standard error computed independently in
#     Python from the result files (per-dimension values pooled for the high-dim run), and
#     carries the paper's value;
#   - a missing result, a truncated result.h5 and a run with only a checkpoint are each
#     listed by name and make `sagd table` exit 2; with --allow-missing the table is printed
#     and the affected cells say [n=1/2];
#   - the figures are PNG files.
. "$(dirname "$0")/../cli/lib.sh"
OUT=$TMP/study
TINY="data.n=100 vae.pretrain_epochs=60 vae.finetune_epochs=8 metrics.samples=300
      metrics.loglik_every=0 vae.estimate=false run.progress_every=0"
# the high-dimensional config at toy size (p = 3)
HD="data.n=60 data.dim=3 model.generator=3,8,3 model.encoder=3,8,6 sagd.block=20
    vae.batches=2 vae.pretrain_epochs=40 vae.finetune_epochs=6 metrics.samples=300
    vae.estimate=false run.progress_every=0"
BUILD=$(dirname "$SAGD")

# --dry-run (with and without --local) prints the commands and creates nothing.
for mode in "" --local; do
  bash "$SRC/jobs/submit-table1.sh" --dry-run $mode --build "$BUILD" --out "$TMP/dry" \
    > "$TMP/dry.log" 2>&1 || { cat "$TMP/dry.log"; fail "submit-table1.sh --dry-run $mode failed"; }
  grep -q "table1-mixture" "$TMP/dry.log" || fail "--dry-run $mode printed no mixture command"
  grep -q "data/em_gamma.ini" "$TMP/dry.log" && pass "--dry-run $mode includes the Figure 1 em_gamma run" ||
    fail "--dry-run $mode has no em_gamma run for Figure 1"
  [ ! -e "$TMP/dry" ] && pass "--dry-run $mode created nothing" ||
    fail "--dry-run $mode created $(find "$TMP/dry" | head -3)"
done
# The sbatch lines (printed whether or not sbatch is installed): the high-dim job waits for
# the four other jobs (three 1-D settings, Figure 1) only with --highdim-after-1d.
for flag in "" --highdim-after-1d; do
  bash "$SRC/jobs/submit-table1.sh" --dry-run $flag --build "$BUILD" --out "$TMP/dry" \
    > "$TMP/dry.log" 2>&1 || { cat "$TMP/dry.log"; fail "submit-table1.sh --dry-run $flag failed"; }
  hd=$(grep '^sbatch .*--job-name=sagd-table1-highdim' "$TMP/dry.log")
  ndep=$(printf '%s\n' "$hd" | grep -o -- '--dependency=afterany[:A-Z0-9]*' | tr -cd ':' | wc -c)
  want=0; [ -n "$flag" ] && want=4
  [ -n "$hd" ] && [ "$ndep" = "$want" ] &&
    pass "--dry-run ${flag:-(default)}: the high-dim job depends on $want job(s)" ||
    { cat "$TMP/dry.log"; fail "--dry-run ${flag:-(default)}: high-dim dependencies $ndep, expected $want"; }
done

SAGD_SET="$TINY" bash "$SRC/jobs/submit-table1.sh" --local --np 1 --build "$BUILD" \
  --out "$OUT" --configs "$SRC/data/table1-normal.ini $SRC/data/table1-mixture.ini" \
  --replications 2 --highdim none --figure1 none > "$TMP/submit.log" 2>&1
st=$?
[ "$st" = 0 ] && pass "submit-table1.sh --local ran the toy study and aggregated it" ||
  { tail -n 30 "$TMP/submit.log" "$OUT"/logs/*; fail "submit-table1.sh --local: exit $st"; finish; }
for r in 0 1; do
  bash "$SRC/jobs/replicate.sbatch" --local --np 1 --sagd "$SAGD" --config "$SRC/data/em_gamma.ini" \
    --study "$TMP/em" --replication "$r" --set em.updates=20 --set run.progress_every=0 \
    > "$TMP/em$r.log" 2>&1 || fail "em_gamma replication $r"
done
# Local replications run side by side must not share a core: each mpiexec would bind its
# rank 0 to core 0. A stand-in for sagd records the CPUs its rank may run on; with the
# caller's binding setting removed from the environment (the test suite sets it too) they
# must be the caller's, for two replications started at once.
cat > "$TMP/fake-sagd" <<'EOF'
#!/usr/bin/env bash
while [ $# -gt 0 ] && [ "$1" != --out ]; do shift; done
mkdir -p "$2" && grep Cpus_allowed_list /proc/self/status | cut -f2 > "$2/cpus" && : > "$2/result.h5"
EOF
chmod +x "$TMP/fake-sagd"
for r in 0 1; do
  env -u OMPI_MCA_hwloc_base_binding_policy bash "$SRC/jobs/replicate.sbatch" --local --np 1 \
    --sagd "$TMP/fake-sagd" --config "$SRC/data/em_gamma.ini" --study "$TMP/bind" --replication "$r" \
    > "$TMP/bind$r.log" 2>&1 &
done
wait
mine=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
for r in 0 1; do
  got=$(cat "$TMP/bind/rep-00$r/cpus" 2>/dev/null)
  [ "$got" = "$mine" ] && pass "local replication $r may run on the caller's CPUs ($mine)" ||
    { cat "$TMP/bind$r.log"; fail "local replication $r bound to CPUs '$got', the caller has $mine"; }
done
# SIGTERM to a local replication (a user's kill, a shutdown): sagd checkpoints and the script
# exits 75, so the caller knows to run it again (mpiexec itself would end the job with 1).
bash "$SRC/jobs/replicate.sbatch" --local --np 2 --sagd "$SAGD" --config "$SRC/data/em_gamma.ini" \
  --study "$TMP/term" --replication 0 --set em.updates=1000000 > "$TMP/term.log" 2>&1 &
tpid=$!
for _ in $(seq 1 300); do grep -q "update" "$TMP/term.log" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$tpid"
wait "$tpid"
st=$?
[ "$st" = 75 ] && [ -f "$TMP/term/rep-000/checkpoint.h5" ] &&
  pass "SIGTERM to a local replication: checkpoint written, exit 75" ||
  { tail -n 15 "$TMP/term.log"; fail "SIGTERM to a local replication: exit $st, expected 75 and a checkpoint"; }
SAGD_SET="$HD" bash "$SRC/jobs/replicate.sbatch" --local --np 2 --sagd "$SAGD" \
  --config "$SRC/data/table1-highdim.ini" --study "$TMP/hd" --replication 0 > "$TMP/hd.log" 2>&1 ||
  { tail -n 20 "$TMP/hd.log"; fail "toy high-dim run"; }

STUDIES=("$OUT/table1-normal" "$OUT/table1-mixture" "$TMP/hd" "$TMP/em")
if "$SAGD" table --replications 2 --csv "$TMP/t.csv" "${STUDIES[@]:0:2}" > "$TMP/t.md" 2> "$TMP/t.err"; then
  pass "sagd table on the complete 1-D study"
else
  cat "$TMP/t.err"; fail "sagd table on a complete study"
fi
"$SAGD" table --csv "$TMP/all.csv" "${STUDIES[@]}" > "$TMP/all.md" 2> "$TMP/all.err" ||
  { cat "$TMP/all.err"; fail "sagd table on 1-D + high-dim + em_gamma"; }
cat "$TMP/all.md"

# Independent check of every number in the CSV.
"$PYTHON" - "$TMP/all.csv" "${STUDIES[@]}" <<'EOF' && pass "every table cell matches the independent mean/SE and the paper's value" || fail "table values"
import csv, glob, math, os, sys
import h5py
import numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
paper = {("exponential", "D"): [.095, .059, .085, .064], ("exponential", "W"): [.226, .125, .161, .115],
         ("mixture", "D"): [.127, .098, .104, .085], ("mixture", "W"): [.320, .165, .276, .197],
         ("normal", "D"): [.033, .043, .032, .033], ("normal", "W"): [.052, .066, .050, .052]}
meth = ["vae", "iwae", "hmc", "sagd"]
vals = {}
em = {}
for study in sys.argv[2:]:
    for f in sorted(glob.glob(os.path.join(study, "rep-*", "result.h5"))):
        h = h5py.File(f, "r")
        exp = h["/meta"].attrs["experiment"]
        exp = exp.decode() if isinstance(exp, bytes) else exp
        if exp == "em_gamma":
            em.setdefault("a", []).append(h["/results/sagd_theta"][0])
            continue
        cfg = h["/meta"].attrs["config"]
        cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
        truth = [l.split("=")[1].strip() for l in cfg.splitlines() if l.strip().startswith("truth")][0]
        dim = int(float([l.split("=")[1] for l in cfg.splitlines() if l.strip().startswith("dim")][0]))
        setting = truth if dim == 1 else f"high-dim {truth} (p={dim})"
        ranks = int(h["/meta"].attrs["n_ranks"])
        for m in meth:
            for metric, key in (("D", "ks"), ("W", "w1")):
                v = h[f"/results/{m}/{key}_dim"][...].ravel() if dim > 1 else [float(h[f"/results/{m}/{key}"][()])]
                vals.setdefault((setting, metric, m), []).extend(v)
            # CPU s: the phase's wall seconds times the run's ranks, one value per replication
            vals.setdefault((setting, "CPU", m), []).append(float(h[f"/results/{m}/seconds"][()]) * ranks)
bad = 0
seen = 0
for r in rows:
    if r["setting"] == "em_gamma":
        if r["metric"] == "a" and r["method"] == "sagd":
            v = np.array(em["a"])
            ok = abs(float(r["mean"]) - v.mean()) < 1e-12 and int(r["replications"]) == len(v)
            seen += 1
            bad += not ok
        continue
    v = np.array(vals[(r["setting"], r["metric"], r["method"])])
    mean, se = v.mean(), (v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan"))
    ok = abs(float(r["mean"]) - mean) <= 1e-12 * max(1, abs(mean)) and int(r["values"]) == len(v)
    if len(v) > 1:
        ok &= abs(float(r["se"]) - se) <= 1e-9 * max(1e-12, se)
    key = (r["setting"].replace("high-dim ", "").split(" ")[0] if r["setting"].startswith("high") else r["setting"], r["metric"])
    if not r["setting"].startswith("high") and key in paper:
        ok &= abs(float(r["paper"]) - paper[key][meth.index(r["method"])]) < 1e-9
    if r["metric"] == "CPU":
        ok &= r["paper"] in ("", "nan", "NaN")
    elif r["setting"].startswith("high"):
        hp = {"D": [.093, .080, .092, .065], "W": [.222, .158, .212, .093]}[r["metric"]]
        ok &= abs(float(r["paper"]) - hp[meth.index(r["method"])]) < 1e-9
    seen += 1
    if not ok:
        bad += 1
        print("mismatch:", r, "independent", mean, se, file=sys.stderr)
expected = 3 * 3 * 4 + 1  # D, W and CPU s of 4 methods in 3 settings, and em_gamma's a
print(f"{seen} cells checked, {bad} mismatches")
sys.exit(0 if bad == 0 and seen == expected else 1)
EOF
grep -q "| high-dim exponential (p=3) | D | 1 |" "$TMP/all.md" && pass "high-dim row: 1 replication, per-dimension mean (SE)" || fail "no high-dim row"
grep -q "em_gamma (Figure 1)" "$TMP/all.md" && pass "em_gamma summary printed" || fail "no em_gamma summary"

# Incomplete studies.
N=$OUT/table1-normal
mv "$N/rep-001/result.h5" "$TMP/keep.h5"
"$SAGD" table "${STUDIES[@]:0:2}" > "$TMP/m.out" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "table1-normal/rep-001: no result.h5" "$TMP/m.out" &&
  pass "missing result.h5: exit 2 naming table1-normal/rep-001" || { cat "$TMP/m.out"; fail "missing result: exit $st"; }
"$SAGD" table --allow-missing --csv "$TMP/am.csv" "${STUDIES[@]:0:2}" > "$TMP/am.out" 2> "$TMP/am.err"; st=$?
[ "$st" = 0 ] && grep -q "| normal | D | 1 | [0-9.]* \[n=1/2\]" "$TMP/am.out" &&
  grep -q '^"normal",D,sagd,1,1,' "$TMP/am.csv" && grep -q '^"mixture",D,sagd,2,2,' "$TMP/am.csv" &&
  grep -q "warning: 1 incomplete" "$TMP/am.err" &&
  pass "--allow-missing: table printed, cells say [n=1/2], CSV counts 1 and 2" ||
  { cat "$TMP/am.out" "$TMP/am.err"; fail "--allow-missing: exit $st"; }
# a study with no complete replication at all is named under the tables, not dropped
mv "$TMP/hd/rep-000/result.h5" "$TMP/hd-keep.h5"
"$SAGD" table --allow-missing "${STUDIES[@]:0:3}" > "$TMP/am2.out" 2> /dev/null; st=$?
[ "$st" = 0 ] && grep -q "no complete replication yet: $TMP/hd (0 of 1 replication complete)" "$TMP/am2.out" &&
  pass "--allow-missing: a study with no complete replication is named under the tables" ||
  { cat "$TMP/am2.out"; fail "--allow-missing with an empty study: exit $st"; }
mv "$TMP/hd-keep.h5" "$TMP/hd/rep-000/result.h5"
# one flipped bit in a dataset of a result: named as damaged (Fletcher32)
"$PYTHON" - "$TMP/keep.h5" "$N/rep-001/result.h5" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    off = f["/results/sagd/samples"].id.get_chunk_info(0).byte_offset + 16
b = bytearray(open(sys.argv[1], "rb").read()); b[off] ^= 0x20
open(sys.argv[2], "wb").write(b)
PYEOF
"$SAGD" table "$N" > "$TMP/f.out" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "rep-001: result.h5 cannot be used: .*'/results/sagd/samples' is damaged (its Fletcher32" "$TMP/f.out" &&
  pass "a flipped bit in result.h5: exit 2, named with the damaged dataset" || { cat "$TMP/f.out"; fail "flipped bit: exit $st"; }
head -c 4000 "$TMP/keep.h5" > "$N/rep-001/result.h5"
"$SAGD" table "$N" > "$TMP/d.out" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "rep-001: result.h5 cannot be used" "$TMP/d.out" &&
  pass "truncated result.h5: exit 2, named as damaged" || { cat "$TMP/d.out"; fail "truncated result: exit $st"; }
mv "$TMP/keep.h5" "$N/rep-001/result.h5"
mkdir -p "$N/rep-002"
cp "$N/rep-000/checkpoint.h5" "$N/rep-002/" 2>/dev/null ||
  cp "$OUT/table1-mixture/rep-000/checkpoint.h5" "$N/rep-002/" 2>/dev/null
if [ -f "$N/rep-002/checkpoint.h5" ]; then
  "$SAGD" table "$N" > "$TMP/c.out" 2>&1; st=$?
  [ "$st" = 2 ] && grep -q "rep-002: no result.h5, only a checkpoint" "$TMP/c.out" &&
    pass "checkpoint only: exit 2, named with its iteration" || { cat "$TMP/c.out"; fail "checkpoint-only: exit $st"; }
fi
"$SAGD" table --replications 4 "$N" > "$TMP/r.out" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "rep-003: no such directory" "$TMP/r.out" &&
  pass "--replications 4: the never-started rep-003 is named" || { cat "$TMP/r.out"; fail "--replications: exit $st"; }
"$SAGD" table --bogus "$N" > /dev/null 2>&1; [ $? = 2 ] && pass "unknown option: exit 2" || fail "unknown option"

# Figures (the aggregation of the local study drew Figure 2; Figure 1 from em_gamma here).
png() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; }
png "$OUT/figures/figure2.png" && pass "aggregate drew figures/figure2.png" || fail "no figure2.png from the aggregation"
"$PYTHON" "$SRC/jobs/figures.py" --out "$TMP/fig" "$TMP/em" "$TMP/hd" > "$TMP/fig.log" 2>&1 &&
  png "$TMP/fig/figure1.png" && png "$TMP/fig/figure2.png" &&
  pass "figures.py: figure1.png (em_gamma) and figure2.png (high-dim)" || { cat "$TMP/fig.log"; fail "figures.py"; }
finish
