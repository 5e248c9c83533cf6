#!/usr/bin/env bash
# A user's model as a plug-in, end to end, as a user would do it: `cmake --install` of this
# build into a fresh prefix; tests/plugin/model (probabilistic PCA, one factor) configured
# out of tree with find_package(SAGD) against that prefix only and built as a shared object;
# run by the installed sagd with model.plugin.
#  - automated EM on 1 and 3 ranks: bit-identical, and within 0.03 of the closed-form MLE
#    (numpy's eigendecomposition of the sample covariance) in every coordinate, with a
#    log-likelihood gap under 0.05 nats (n = 500); the plug-in's own log-likelihood op
#    agrees with numpy's to 1e-9 relative;
#  - direct MLE (em.target = follow) on 2 ranks: the same tolerances;
#  - SIGKILL of a 2-rank run after a checkpoint, resume: bit-identical to the 1-rank run;
#  - bad plug-ins (missing file, bare name, no entry point, another ABI version, bad
#    parameters, an op failing on one rank's shard, a changed .so on resume): exit 2 and a
#    message naming the plug-in.
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/checkpoint/cklib.sh"
: "${BUILD:?BUILD must point at the build tree}"
P="$TMP/prefix"
cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log" 2>&1 \
  || { fail "cmake --install"; cat "$TMP/install.log" >&2; finish; }
[ -e "$P/include/sagd/plugin.h" ] && pass "the prefix holds include/sagd/plugin.h" \
  || fail "the prefix lacks include/sagd/plugin.h"
SAGD="$P/bin/sagd"   # every run below uses the installed program
M="$TMP/model"
cp -r "$SRC/tests/plugin/model" "$M"
cmake -S "$M" -B "$M/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
  > "$TMP/configure.log" 2>&1 && cmake --build "$M/build" > "$TMP/build.log" 2>&1 \
  && pass "plug-in configured with find_package(SAGD) out of tree and built" \
  || { fail "out-of-tree plug-in build"; cat "$TMP/configure.log" "$TMP/build.log" >&2; finish; }
SO="$M/build/libppca.so"
CFG="$M/ppca.ini"
cd "$M" || exit 1   # model.plugin = ./build/libppca.so in ppca.ini is relative to here

# check_mle RESULT WHAT: θ and the log-likelihood against the closed form
check_mle() {
  "$PYTHON" - "$1" <<'PY' && pass "$2: within 0.03 of the closed-form MLE" || fail "$2: not the MLE"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
x, th, ll = f["/data/x"][...], f["/results/sagd_theta"][...], f["/results/sagd_loglik"][()]
n, d = x.shape
mu = x.mean(0); S = np.cov(x.T, bias=True); lam, U = np.linalg.eigh(S)
s2 = lam[:-1].mean(); w = U[:, -1] * np.sqrt(lam[-1] - s2)
if w @ th[d:2 * d] < 0: w = -w          # p(x; mu, w, s) = p(x; mu, -w, s)
mle = np.concatenate([mu, w, [np.log(s2)]])
def loglik(t):
    C = np.exp(t[2 * d]) * np.eye(d) + np.outer(t[d:2 * d], t[d:2 * d]); y = x - t[:d]
    return -0.5 * (n * d * np.log(2 * np.pi) + n * np.linalg.slogdet(C)[1]
                   + np.einsum("ij,jk,ik->", y, np.linalg.inv(C), y))
gap, err = loglik(mle) - loglik(th), np.abs(th - mle).max()
print(f"   theta {np.round(th, 4)}\n   MLE   {np.round(mle, 4)}\n   max |theta - MLE| = {err:.4f}, "
      f"loglik gap = {gap:.4f} nats, plug-in loglik {ll:.10f} vs numpy {loglik(th):.10f}")
assert abs(ll - loglik(th)) <= 1e-9 * abs(ll), "the plug-in's loglik op disagrees with numpy"
assert err <= 0.03 and 0 <= gap + 1e-9 and gap <= 0.05, (err, gap)
PY
}

for np in 1 3; do
  sagd_np "$np" run "$CFG" --out "$TMP/em$np" --quiet > "$TMP/em$np.log" 2>&1 \
    || { fail "EM on $np rank(s) exited $?"; cat "$TMP/em$np.log" >&2; }
done
check_mle "$TMP/em1/result.h5" "automated EM, 1 rank"
h5same "$TMP/em1/result.h5" "$TMP/em3/result.h5" \
  && pass "automated EM: 3 ranks bit-identical to 1 rank" || fail "EM differs between 1 and 3 ranks"
"$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f['/meta'].attrs['plugin_name'] in (b'ppca', 'ppca')" \
  "$TMP/em1/result.h5" && pass "result.h5 names the plug-in" || fail "result.h5 lacks /meta plugin_name"

MLE=(--set em.target=follow --set em.msteps=4 --set em.updates=300 --set em.result=average
     --set sagd.schedule=constant --set sagd.delta=0.03 --set sagd.K0=10 --set sagd.alpha=0.3)
sagd_np 2 run "$CFG" --out "$TMP/mle" --quiet "${MLE[@]}" > "$TMP/mle.log" 2>&1 \
  || { fail "direct MLE exited $?"; cat "$TMP/mle.log" >&2; }
check_mle "$TMP/mle/result.h5" "direct MLE (target follows theta), 2 ranks"

# Kill the whole job after its first checkpoint, resume with the same command.
K="$TMP/killed"
touch "$TMP/marker"; sleep 0.01
bg_start 2 "$K" "$TMP/kill.log" --quiet --set checkpoint.every=20
if wait_fresh "$K/checkpoint.h5" "$TMP/marker" 60000; then
  sleep 0.3; bg_kill KILL; bg_wait
  [ -e "$K/result.h5" ] && fail "the run finished before it could be killed" \
    || pass "killed at checkpoint iteration $(ck_iteration "$K/checkpoint.h5")"
  SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 2 run "$CFG" --out "$K" --set checkpoint.every=20 \
    > "$TMP/resume.log" 2>&1 || { fail "resume exited $?"; cat "$TMP/resume.log" >&2; }
  grep -q "resum" "$TMP/resume.log" && pass "the second run resumed" || fail "no resume"
  check_same "$TMP/em1/result.h5" "$K/result.h5" "SIGKILL + resume on 2 ranks"
else
  fail "no checkpoint appeared"; cat "$TMP/kill.log" >&2
fi

# Bad plug-ins: exit 2, one message naming the plug-in, no output.
expect_bad "missing plug-in file" "model.plugin = '$M/build/nope.so': cannot load it" \
  "$CFG" --set model.plugin="$M/build/nope.so"
expect_bad "bare name (not a path)" "expected a path" "$CFG" --set model.plugin=libppca.so
expect_bad "no entry point" "has no symbol 'sagd_plugin_entry'" \
  "$CFG" --set model.plugin="$M/build/libppca_noentry.so"
expect_bad "ABI mismatch" "built for plug-in ABI version 999" \
  "$CFG" --set model.plugin="$M/build/libppca_abi.so"
expect_bad "open refuses the parameters" "plug-in 'ppca' (open op): plugin.params[0] = 0" \
  "$CFG" --set plugin.params=0
expect_bad "theta0 of the wrong length" "model.theta0 = '1, 2': expected exactly 7 values" \
  "$CFG" --set model.theta0=1,2
expect_bad "empty model.plugin" "model.plugin is empty" "$CFG" --set model.plugin=

# An op failing on rank 1's shard only (point 400 of 500): every rank stops, exit 2.
"$MPIEXEC" --oversubscribe -n 2 "$SAGD" run "$CFG" --out "$TMP/fail" --quiet \
  --set plugin.params=3,400 > "$TMP/fail.out" 2> "$TMP/fail.err"
st=$?
if [ "$st" = 2 ] && grep -q "plug-in 'ppca' (potential op): potential not finite at data point 400" "$TMP/fail.err"; then
  pass "an op failing on one rank: exit 2, $(grep -o "\[rank [0-9]*\] sagd: error.*point 400" "$TMP/fail.err" | head -1)"
else
  fail "an op failing on one rank: exit $st"; cat "$TMP/fail.err" >&2
fi

# Resuming with another shared object (same code, one byte appended) is refused.
cp "$SO" "$TMP/p.so"
touch "$TMP/marker2"; sleep 0.01
bg_start 2 "$TMP/swap" "$TMP/swap.log" --quiet --set checkpoint.every=20 --set model.plugin="$TMP/p.so"
if wait_fresh "$TMP/swap/checkpoint.h5" "$TMP/marker2" 60000; then
  bg_kill KILL; bg_wait
  printf 'x' >> "$TMP/p.so"
  sagd_np 2 run "$CFG" --out "$TMP/swap" --quiet --set checkpoint.every=20 \
    --set model.plugin="$TMP/p.so" > "$TMP/swap2.log" 2>&1
  st=$?
  [ "$st" = 2 ] && grep -q "is not the shared object the checkpoint was written with" "$TMP/swap2.log" \
    && pass "resume with a changed plug-in refused (exit 2)" \
    || { fail "resume with a changed plug-in: exit $st"; cat "$TMP/swap2.log" >&2; }
else
  fail "no checkpoint appeared (swap)"; cat "$TMP/swap.log" >&2
fi
finish
