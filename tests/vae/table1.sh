#!/usr/bin/env bash
# One full replication of a paper Table 1 setting (default data/table1-exp.ini; the config is
# the first argument): SAGD fine-tuning must beat VAE fine-tuning on both the KS distance and
# W1 of the generated values, and reach a higher true log-likelihood. Long (minutes).
. "$SRC/tests/cli/lib.sh"
CFG="$SRC/data/${1:-table1-exp}.ini"
sagd_np 2 run "$CFG" --out "$TMP/run" > "$TMP/run.log" 2>&1 \
  || { fail "run of $CFG failed"; cat "$TMP/run.log" >&2; finish; }
sed -n '/^| method/,$p' "$TMP/run.log"
"$PYTHON" - "$TMP/run/result.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
r = {m: {k: f["/results/%s/%s" % (m, k)][()] for k in ("ks", "w1", "loglik")}
     for m in ("vae", "sagd")}
ok = True
for k in ("ks", "w1", "loglik"):
    better = r["sagd"][k] > r["vae"][k] if k == "loglik" else r["sagd"][k] < r["vae"][k]
    print("%s: %-6s vae %.4f  sagd %.4f" % ("ok" if better else "FAIL", k, r["vae"][k],
                                          r["sagd"][k]))
    ok = ok and better
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "SAGD beats VAE on KS, W1 and the true log-likelihood" || fail "SAGD does not beat VAE"
finish
