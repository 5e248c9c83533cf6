#!/usr/bin/env bash
# vae.result = average: every fine-tuning reports Algorithm 1's theta-hat, the mean of its
# iterates. Checked exactly: with two updates per method, the reported theta is
# (theta_1 + theta_2) / 2 to the bit, theta_1 and theta_2 being what vae.result = last reports
# after one and after two updates (the iterates do not depend on the mode); the pre-training
# is untouched; and a run killed and resumed from its checkpoints (which carry the running
# sum), the last time on 3 ranks, ends with the same result.h5 as an uninterrupted one.
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/checkpoint/cklib.sh"
CFG="$SRC/data/table1-exp.ini"
common=(--quiet --set data.n=200 --set sagd.block=50 --set vae.pretrain_epochs=20
        --set metrics.loglik_every=4 --set metrics.samples=500 --set iwae.k=5
        --set vae.estimate=false)
# fine NAME UPDATES [--set ...]: a run of UPDATES fine-tuning updates per method into $TMP/NAME
fine() {
  sagd_np 2 run "$CFG" --out "$TMP/$1" "${common[@]}" --set vae.finetune_epochs="$2" "${@:3}" \
    || fail "$1 ($2 updates) failed"
}
# mean_of A B C: C's reported theta is (A's + B's)/2 bit for bit for every method, differs from
# B's (the last iterate), and C's pre-training is B's
mean_of() {
  /usr/bin/python3 - "$TMP" "$@" <<'PY'
import sys, h5py, numpy as np
t = sys.argv[1]
a, b, c = (h5py.File(f"{t}/{d}/result.h5", "r") for d in sys.argv[2:5])
ok = np.array_equal(c["/results/pretrain/theta"][()], b["/results/pretrain/theta"][()])
print("pretrain theta unchanged:", ok)
for m in ("vae", "iwae", "hmc", "sagd"):
    want = (a[f"/results/{m}/theta"][()] + b[f"/results/{m}/theta"][()]) / 2
    got = c[f"/results/{m}/theta"][()]
    same = np.array_equal(got.view(np.uint64), want.view(np.uint64))
    moved = not np.array_equal(got, b[f"/results/{m}/theta"][()])
    print(f"{m}: {sys.argv[4]} theta == ({sys.argv[2]} + {sys.argv[3]})/2 bit for bit: {same}; "
          f"differs from the last iterate: {moved}; max |mean - last| = "
          f"{np.abs(got - b[f'/results/{m}/theta'][()]).max():.3g}")
    ok = ok and same and moved
sys.exit(0 if ok else 1)
PY
}
fine last1 1
fine last2 2
fine avg2 2 --set vae.result=average
mean_of last1 last2 avg2 && pass "vae.result = average reports the mean of each fine-tuning's iterates" ||
  fail "vae.result = average"
# vae.result = tail: with four updates, the mean of the last two, (theta_3 + theta_4) / 2
fine last3 3
fine last4 4
fine tail4 4 --set vae.result=tail
mean_of last3 last4 tail4 && pass "vae.result = tail reports the mean of the second half of the iterates" ||
  fail "vae.result = tail"

# kill and resume in average mode
sagd_np 1 run "$CFG" --out "$TMP/ref" "${common[@]}" --set vae.finetune_epochs=8 \
  --set vae.result=average || fail "reference run failed"
D="$TMP/killed"
run=("${common[@]}" --set vae.finetune_epochs=8 --set vae.result=average
     --set checkpoint.every=3)
kill_repeatedly 2 "$D" "${run[@]}"
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 3 run "$CFG" --out "$D" "${run[@]}" > "$TMP/final.log" 2>&1 \
  || { fail "final resume (3 ranks) failed"; cat "$TMP/final.log" >&2; }
[ "$KILLS" -ge 1 ] && pass "$KILLS kills" || fail "no kill (runs ended too soon)"
excl=(--exclude-path /meta)
for g in pretrain vae iwae hmc sagd; do
  excl+=(--exclude-path "/trace/$g/seconds" --exclude-path "/results/$g/seconds")
done
if h5diff -q "${excl[@]}" "$TMP/ref/result.h5" "$D/result.h5"; then
  pass "average mode killed $KILLS times and resumed (last on 3 ranks): result.h5 identical"
else
  fail "average mode: resumed result differs"
  h5diff -r "${excl[@]}" "$TMP/ref/result.h5" "$D/result.h5" | head -6 >&2
fi
finish
