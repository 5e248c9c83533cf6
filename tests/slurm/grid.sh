#!/usr/bin/env bash
# jobs/sagd-grid.sh on a reduced setting: two configurations x two settings x two
# replications, SAGD only. The table has a row per configuration with every cell and a score;
# each cell equals `sagd table` on that configuration's runs; the configurations really differ
# (sagd.delta changes SAGD's result), and a second run of the same command redoes nothing (the
# runs are verified and skipped) and prints the same table; malformed grids exit 2.
. "$SRC/tests/cli/lib.sh"
BUILD=$(dirname "$SAGD")
small=(--set data.n=200 --set sagd.block=50 --set vae.pretrain_epochs=20
       --set vae.finetune_epochs=8 --set metrics.samples=500 --set vae.estimate=false)
cat > "$TMP/grid.txt" <<'G'
# two configurations
paper: --set sagd.delta=0.05
small-delta: --set sagd.delta=0.02 --set vae.result=tail
G
cfgs="$SRC/data/table1-exp.ini $SRC/data/table1-normal.ini"
run() { bash "$SRC/jobs/sagd-grid.sh" --grid "$TMP/grid.txt" --reps 3-4 --out "$TMP/g" \
          --build "$BUILD" --configs "$cfgs" "${small[@]}" "$@"; }
run > "$TMP/first.log" 2>&1 && pass "sagd-grid ran 8 runs" || { cat "$TMP/first.log"; fail "sagd-grid"; }
cp "$TMP/g/grid.md" "$TMP/first.md"
"$PYTHON" - "$TMP/g/grid.md" "$TMP/g" <<'PY' && pass "grid table: 2 rows x 4 cells + score, cells equal sagd table's" || fail "grid table"
import csv, sys
md, out = sys.argv[1], sys.argv[2]
rows = [l for l in open(md) if l.startswith("| paper |") or l.startswith("| small-delta |")]
assert len(rows) == 2, rows
vals = {}
for name in ("paper", "small-delta"):
    for r in csv.DictReader(open(f"{out}/logs/{name}.csv")):
        if r["method"] == "sagd" and r["metric"] in ("D", "W"):
            assert int(r["replications"]) == 2, r
            vals.setdefault(name, []).append(f'{float(r["mean"]):.3f}')
for row in rows:
    name = row.split("|")[1].strip()
    cells = [c.strip() for c in row.split("|")[3:-1]]
    assert len(cells) == 5, cells  # 2 settings x {D, W}, score
    assert all(c != "–" for c in cells), cells
    assert sorted(c.split(" ")[0] for c in cells[:4]) == sorted(vals[name]), (cells, vals[name])
assert vals["paper"] != vals["small-delta"], vals
PY
t0=$(date +%s)
run > "$TMP/second.log" 2>&1 && cmp -s "$TMP/first.md" "$TMP/g/grid.md" &&
  [ "$(cat "$TMP"/g/logs/*-rep-*.out | grep -c "is complete for this configuration: nothing to do")" = 8 ] &&
  pass "a second run redoes nothing and prints the same table ($(( $(date +%s) - t0 )) s)" ||
  { cat "$TMP/second.log"; fail "second run"; }
echo "bad: line" > "$TMP/bad.txt"
echo "no colon here" >> "$TMP/bad.txt"
bash "$SRC/jobs/sagd-grid.sh" --grid "$TMP/bad.txt" --reps 0-0 --out "$TMP/b" --build "$BUILD" \
  > "$TMP/bad.log" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "expected 'name: --set S.K=V ...'" "$TMP/bad.log" &&
  pass "a malformed grid line: exit 2 naming it" || { cat "$TMP/bad.log"; fail "bad grid (rc $rc)"; }
bash "$SRC/jobs/sagd-grid.sh" --grid "$TMP/grid.txt" --reps 5-4 --out "$TMP/b" --build "$BUILD" \
  > "$TMP/bad2.log" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "expected A <= B" "$TMP/bad2.log" && pass "--reps 5-4: exit 2" || fail "bad reps"
finish
