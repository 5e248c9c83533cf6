#!/usr/bin/env bash
# Benchmark (CTest label "bench"): Langevin chain-steps per second through the SAGD gradient
# path, for the Gamma model (r = 1) and a batched correlated Gaussian target (r = 10, GEMM),
# on 1 and 2 ranks. Prints figures; asserts only that the runs succeed.
. "$(dirname "$0")/lib.sh"
for model in gamma gauss; do
  for np in 1 2; do
    sagd_np "$np" bench langevin --model "$model" --points 20000 --steps 50 --repeat 3 \
      || fail "bench $model on $np ranks"
  done
done
finish
