#!/usr/bin/env bash
# `sagd bench phases` on a reduced high-dimensional config (1000 points, minibatches of 500)
# on 2 ranks: every phase is timed, and the GEMM FLOPs it reports per iteration are the ones
# counted independently here from the layer shapes (generator 100-256-256-100 with forward,
# parameter and input gradients; encoder 100-256-256-200 without the first layer's input
# gradient). An experiment without phases is refused (exit 2). Speed itself is not asserted.
. "$SRC/tests/cli/lib.sh"
CFG="$SRC/data/table1-highdim.ini"
sagd_np 2 bench phases "$CFG" --iters 1 --set data.n=1000 --set sagd.block=500 \
  --set vae.batches=2 > "$TMP/bench.log" 2>&1 || { fail "bench phases failed"; cat "$TMP/bench.log" >&2; }
cat "$TMP/bench.log"
"$PYTHON" - "$TMP/bench.log" <<'PY' && pass "every phase timed; GFLOP/it match the layer shapes" || fail "bench table check"
import sys
rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 13 and cells[0] in ("pretrain", "vae", "iwae", "hmc", "sagd"):
        rows[cells[0]] = cells
assert sorted(rows) == sorted(["pretrain", "vae", "iwae", "hmc", "sagd"]), rows.keys()
def macs(w):
    return [w[i] * w[i + 1] for i in range(len(w) - 1)]
g, e = macs([100, 256, 256, 100]), macs([100, 256, 256, 200])
gen_full = 6 * sum(g)                  # forward, dW, dX
enc_train = 6 * sum(e) - 2 * e[0]      # forward, dW, dX above the first layer
gen_fwd_dx = 4 * sum(g)                # forward and dX (potential gradients)
m = 500                                # points per minibatch
want = {
    "pretrain": m * (gen_full + enc_train),
    "vae": m * (gen_full + enc_train),
    "iwae": m * 50 * gen_full + m * enc_train,
}
for ph, flops in want.items():
    got = float(rows[ph][2]) * 1e9
    assert abs(got - flops) / flops < 5e-3, (ph, got, flops)
for ph, r in rows.items():
    s_it, gemm, mb = float(r[1]), float(r[4]), float(r[8])
    assert s_it > 0 and 0 < gemm, r
    assert r[10].endswith("%") and r[7].endswith("%"), r  # efficiency 1 -> 2, wait
    npar = {"pretrain": 117348 + 143048, "vae": 117348 + 143048, "iwae": 117348 + 143048}.get(ph, 117348)
    # pre-rounded: (p + 1) int64 + p uint16, p = parameters + 4 extras
    grid_bytes = (npar + 5) * 8 + (npar + 4) * 2
    if "*" in r[6]:                 # some terms outgrew the grid: a few more bytes
        assert grid_bytes - 0.006e6 < mb * 1e6 < 1.5 * grid_bytes, (ph, mb)
    else:
        assert abs(mb * 1e6 - grid_bytes) < 0.006e6, (ph, mb)
PY
grep -q "^whole run on 2 rank(s): " "$TMP/bench.log" && pass "whole-run estimate printed" || fail "no whole-run estimate"
sagd_np 2 bench phases "$SRC/data/em_gamma.ini" > "$TMP/out" 2> "$TMP/err"; st=$?
[ "$st" -eq 2 ] && grep -q "has no phases to time" "$TMP/err" && pass "em_gamma refused: $(grep error "$TMP/err")" \
  || fail "em_gamma: exit $st, $(cat "$TMP/err")"
finish
