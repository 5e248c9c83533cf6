#!/usr/bin/env bash
# Benchmark (CTest label "bench"): `sagd bench phases` on the full high-dimensional config
# (data/table1-highdim.ini) on 2 ranks in double and single precision, one after the other,
# each with the 1-rank timing (efficiency 1 -> 2), and once with OpenBLAS's Prescott kernels
# (what Debian 12's OpenBLAS picks by itself on CPUs newer than it) for comparison. Prints the
# tables; asserts only that the runs succeed.
. "$SRC/tests/cli/lib.sh"
CFG="$SRC/data/table1-highdim.ini"
ITERS=${BENCH_ITERS:-5}
for prec in double single; do
  echo "== model.precision = $prec, 2 ranks"
  sagd_np 2 bench phases "$CFG" --iters "$ITERS" --set model.precision=$prec \
    || fail "bench phases ($prec)"
done
echo "== model.precision = single, 2 ranks, OPENBLAS_CORETYPE=Prescott"
OPENBLAS_CORETYPE=Prescott sagd_np 2 bench phases "$CFG" --iters 2 --no-efficiency \
  --set model.precision=single || fail "bench phases (Prescott)"
finish
