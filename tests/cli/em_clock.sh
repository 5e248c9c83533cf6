#!/usr/bin/env bash
# sagd.clock: with 'mstep' the schedule index of update t restarts at every M-step; with 'run'
# it is the global update count (m-1)T + t. The trace of the SAGD path must record the delta_t
# and K_t the estimator used: /trace/sagd/{delta,K} row 1 + i (i = 0 .. MT-1; row 0 is θ_0)
# equal 0.1/sqrt(j) and j + 20 with j the schedule index (data/em_gamma.ini: schedule em,
# delta 0.1, K0 20), for 3 M-steps x 4 updates; and the two clocks give different paths.
. "$(dirname "$0")/lib.sh"
CFG="$SRC/data/em_gamma.ini"
for clock in mstep run; do
  sagd_np 2 run "$CFG" --out "$TMP/$clock" --quiet --set em.msteps=3 --set em.updates=4 \
    --set sagd.burnin=5 --set sagd.clock=$clock --set exact.enabled=false \
    || fail "run with sagd.clock=$clock failed"
done
"$PYTHON" - "$TMP/mstep/result.h5" "$TMP/run/result.h5" <<'PY' && pass "trace delta_t, K_t follow sagd.clock (mstep and run); the paths differ" || fail "trace of delta_t, K_t"
import sys, h5py, numpy as np
M, T = 3, 4
paths = []
for path, glob in zip(sys.argv[1:3], (False, True)):
    f = h5py.File(path, "r")
    d, K = f["/trace/sagd/delta"][()], f["/trace/sagd/K"][()]
    assert d.shape == (1 + M * T,), d.shape
    for i in range(M * T):
        j = i + 1 if glob else i % T + 1
        assert abs(d[1 + i] - 0.1 / np.sqrt(j)) < 1e-15, (glob, i, d[1 + i])
        assert K[1 + i] == j + 20, (glob, i, K[1 + i])
    paths.append(f["/trace/sagd/theta"][()])
assert np.abs(paths[0] - paths[1]).max() > 0
PY
finish
