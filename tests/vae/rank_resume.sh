#!/usr/bin/env bash
# Usage: rank_resume.sh ranks|resume [double|single]
# deconv_vae on a reduced setting, all six fine-tuning methods: result.h5 (traces, chains,
# meeting times, the ALD map, final parameters, generated samples, KS/W1, log-likelihoods) is bit-identical on 1, 2 and 3 ranks, full batch and
# minibatches; and a run killed (SIGKILL) several times and
# resumed from its checkpoints — the last time on another number of ranks — ends with the
# same result.h5 as an uninterrupted run. h5diff without tolerance compares bits; only /meta
# and wall-clock seconds are excluded. The second argument is model.precision (default double).
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/checkpoint/cklib.sh"
CFG="$SRC/data/table1-exp.ini"
# 200 points in 4 blocks of 50: on 3 ranks the shards hold 2, 1 and 1 blocks
common=(--quiet --set data.n=200 --set sagd.block=50 --set vae.pretrain_epochs=20
        --set vae.finetune_epochs=8 --set metrics.loglik_every=4 --set metrics.samples=500
        --set iwae.k=5 --set vae.estimate=false --set model.precision=${2:-double}
        --set vae.methods="vae, iwae, hmc, sagd, coupled, ald" --set ald.features=64)
mode=${1:-ranks}
echo "model.precision = ${2:-double}"
excl=(--exclude-path /meta)
for g in pretrain vae iwae hmc sagd coupled ald; do
  excl+=(--exclude-path "/trace/$g/seconds" --exclude-path "/results/$g/seconds")
done
same() { h5diff -q "${excl[@]}" "$1" "$2"; }
check() { # REF NEW WHAT
  if same "$1" "$2"; then pass "$3"; else
    fail "$3"; h5diff -r "${excl[@]}" "$1" "$2" | grep -v "^0 differences" | head -6 >&2; fi
}
if [ "$mode" = resume ]; then
  sagd_np 1 run "$CFG" --out "$TMP/m1-np1" "${common[@]}" || fail "reference run failed"
fi
for M in 1 2; do
  [ "$mode" = ranks ] || break
  nps="1 2 3"; [ $M = 2 ] && nps="1 3"
  for np in $nps; do
    sagd_np "$np" run "$CFG" --out "$TMP/m$M-np$np" "${common[@]}" --set vae.batches=$M \
      || fail "run on $np ranks (batches $M) failed"
  done
  for np in ${nps#1 }; do
    check "$TMP/m$M-np1/result.h5" "$TMP/m$M-np$np/result.h5" \
      "batches=$M: result.h5 identical on 1 and $np ranks"
  done
done
if [ "$mode" = ranks ]; then
  # the meeting times: one per point, integers >= 2 (the lag is 1), none capped, and their
  # figure (a different seed giving another trajectory is checked by test_vae_ranks)
  "$PYTHON" - "$TMP/m1-np1/result.h5" <<'EOF' && pass "meeting times: 200 integers >= 2, none capped" || fail "meeting times"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
t = f["/results/coupled/meeting_time"][...].ravel()
tr = f["/trace/coupled/meeting_time"][...]
assert t.shape == (200,) and np.all(t >= 2) and np.all(t == np.round(t)), t
assert np.all(f["/trace/coupled/capped"][...] == 0) and np.all(tr >= 2), tr
EOF
  "$PYTHON" "$SRC/jobs/figures.py" --out "$TMP/fig" "$TMP/m1-np1" > "$TMP/fig.log" 2>&1 &&
    [ "$(head -c 4 "$TMP/fig/meeting_times.png" | od -An -c | tr -d ' ')" = '211PNG' ] &&
    pass "figures.py drew meeting_times.png" || { cat "$TMP/fig.log" >&2; fail "meeting_times.png"; }
finish
fi

# kill and resume
D="$TMP/killed"
run=("${common[@]}" --set checkpoint.every=3)
kill_repeatedly 2 "$D" "${run[@]}"
kills=$KILLS
SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 3 run "$CFG" --out "$D" "${run[@]}" > "$TMP/final.log" 2>&1 || {
  fail "final resume (3 ranks) failed"; cat "$TMP/final.log" >&2; }
[ "$kills" -ge 2 ] && pass "$kills kills" || fail "only $kills kills (runs ended too soon)"
check "$TMP/m1-np1/result.h5" "$D/result.h5" \
  "killed $kills times and resumed (last on 3 ranks): result.h5 identical to an uninterrupted run"
finish
