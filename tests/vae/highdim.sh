#!/usr/bin/env bash
# The high-dimensional config (data/table1-highdim.ini, p = r = 100, minibatches) end to end
# on a reduced setting (1000 points, 2 + 1 epochs), checking the result file's per-dimension
# metrics; and the full config's start-up line with the estimated wall time of the whole run
# on 2 ranks (the full run is stopped right after it).
. "$SRC/tests/cli/lib.sh"
CFG="$SRC/data/table1-highdim.ini"
sagd_np 2 run "$CFG" --out "$TMP/small" --set data.n=1000 --set sagd.block=100 \
  --set vae.batches=2 --set vae.pretrain_epochs=2 --set vae.finetune_epochs=1 \
  --set metrics.samples=1000 --set vae.estimate=false > "$TMP/small.log" 2>&1 \
  || { fail "reduced high-dimensional run failed"; cat "$TMP/small.log" >&2; }
grep -q "| sagd |" "$TMP/small.log" && pass "summary table printed" || fail "no summary table"
"$PYTHON" - "$TMP/small/result.h5" <<'PY' && pass "result.h5 holds per-dimension KS/W1 for every phase" || fail "result.h5 check"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert f["/data/x"].shape == (1000, 100), f["/data/x"].shape
for g in ["pretrain", "vae", "iwae", "hmc", "sagd"]:
    r = f["/results/" + g]
    ks, w1 = r["ks_dim"][()], r["w1_dim"][()]
    assert ks.shape == (100,) and w1.shape == (100,)
    assert np.all((ks > 0) & (ks <= 1)) and np.all(w1 > 0)
    assert abs(r["ks"][()] - ks.mean()) < 1e-12
    assert abs(r["ks_se"][()] - ks.std(ddof=1) / 10) < 1e-12
    assert r["samples"].shape == (1000, 100)
    assert "loglik" not in r
# 2 epochs x 2 minibatches of pre-training, 1 x 2 per method
assert f["/trace/pretrain/elbo"].shape == (4,)
assert f["/trace/sagd/objective"].shape == (2,)
acc = f["/results/hmc/accept_rate"][()]
assert 0 < acc <= 1, acc
PY
# The full run's estimate on 2 ranks: start it, wait for the line, stop it.
setsid "$MPIEXEC" --oversubscribe -n 2 "$SAGD" run "$CFG" --out "$TMP/full" > "$TMP/full.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "estimated wall time" "$TMP/full.log" && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -KILL $(ps -o pid= -s $pid) 2>/dev/null; wait $pid 2>/dev/null
if line=$(grep "estimated wall time of the full run on 2 rank(s)" "$TMP/full.log"); then
  pass "full high-dimensional run: $line"
else
  fail "no wall-time estimate printed"; cat "$TMP/full.log" >&2
fi
finish
