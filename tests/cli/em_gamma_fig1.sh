#!/usr/bin/env bash
# usage: em_gamma_fig1.sh fig1|mle
# fig1: the paper's Figure 1 settings (data/em_gamma.ini, 3 M-steps): SAGD's final (a,b) is
#   within 0.05 of the exact-gradient path's, and the exact path agrees with an independent
#   quadrature (Python/scipy, another node count) to 1e-6.
# mle (label long, ~11 min on 2 cores): data/em_gamma-mle.ini, 30 M-steps: both the exact path
#   and SAGD end within 1e-2 of the MLE (max over a, b; up to b -> -b), and the EM rate in
#   result.h5 matches an independent computation. The config explains its four changes from
#   the paper's settings (symplectic sampler, 200 chains, seed 5's data set, 30 M-steps) and
#   README ("Figure 1: running to the MLE") why each is needed.
. "$(dirname "$0")/lib.sh"
mode=${1:-fig1}
cfg="$SRC/data/em_gamma.ini"
if [ "$mode" = mle ]; then
  cfg="$SRC/data/em_gamma-mle.ini"
  args=()
  checks=(--sagd-exact 0.05 --mle 0.01)
else
  args=()
  checks=(--sagd-exact 0.05)
fi
sagd_np 2 run "$cfg" --out "$TMP/run" "${args[@]}" > "$TMP/log" \
  || { cat "$TMP/log"; fail "em_gamma run failed"; finish; }
grep "summary" "$TMP/log" || fail "no summary line"
"$PYTHON" "$SRC/tests/cli/check_em_gamma.py" "$TMP/run/result.h5" "${checks[@]}" || fail "Figure 1 checks"
h5dump -H "$TMP/run/result.h5" > /dev/null || fail "h5dump cannot read result.h5"
finish
