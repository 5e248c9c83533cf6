#!/usr/bin/env bash
# Figure 1: after 3 M-steps SAGD's (a,b) is within 0.05 of the exact-gradient path's; the
# exact path agrees with an independent quadrature (Python/scipy) to 1e-6. With 30 M-steps
# (set MSTEPS=30) both are within 1e-2 of the MLE.
. "$(dirname "$0")/lib.sh"
MSTEPS=${1:-3}
sagd_np 2 run "$SRC/data/em_gamma.ini" --out "$TMP/run" --set em.msteps="$MSTEPS" \
  > "$TMP/log" || { cat "$TMP/log"; fail "em_gamma run failed"; finish; }
grep "summary" "$TMP/log" || fail "no summary line"
if [ "$MSTEPS" -ge 30 ]; then
  "$PYTHON" "$SRC/tests/cli/check_em_gamma.py" "$TMP/run/result.h5" --sagd-exact 0.05 --mle 0.01 || fail "Figure 1 checks"
else
  "$PYTHON" "$SRC/tests/cli/check_em_gamma.py" "$TMP/run/result.h5" --sagd-exact 0.05 || fail "Figure 1 checks"
fi
h5dump -H "$TMP/run/result.h5" > /dev/null || fail "h5dump cannot read result.h5"
finish
