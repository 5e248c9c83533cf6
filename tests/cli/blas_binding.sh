#!/usr/bin/env bash
# OpenBLAS, not GSL's reference CBLAS, must serve cblas_dgemm (gslcblas is ~8x slower).
# Debian's libgsl itself depends on libgslcblas, so it is loaded; what matters is that sagd
# does not link it directly and that the dynamic linker binds cblas_* to OpenBLAS (which
# precedes libgsl in sagd's NEEDED list).
. "$(dirname "$0")/lib.sh"
needed=$(readelf -d "$SAGD" | grep NEEDED)
grep -q "libgslcblas" <<< "$needed" && fail "sagd links libgslcblas directly" || pass "sagd does not link libgslcblas"
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$TMP/ld" "$SAGD" bench langevin --model mlp --points 200 \
  --steps 1 --repeat 1 > /dev/null 2>&1 || fail "bench run failed"
b=$(grep -h "normal symbol \`cblas_dgemm'" "$TMP"/ld.* | head -1)
if grep -q "libopenblas" <<< "$b"; then pass "cblas_dgemm -> OpenBLAS: $b"; else fail "cblas_dgemm bound elsewhere: '$b'"; fi

# OpenBLAS's kernels: Debian 12's OpenBLAS falls back to Prescott (SSE3) on CPU models newer
# than itself; sagd then re-executes itself with the kernels the CPU runs. A user's choice
# (OPENBLAS_CORETYPE) is kept.
core=$(env -u OPENBLAS_CORETYPE "$SAGD" version 2>"$TMP/err" | sed -n 2p)
echo "sagd version, OPENBLAS_CORETYPE unset: $core; stderr: $(cat "$TMP/err")"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  if grep -q "Prescott" <<< "$core"; then fail "AVX2 CPU, but sagd runs OpenBLAS's Prescott kernels: $core"
  else pass "AVX2 CPU: OpenBLAS kernels are not Prescott's ($core)"; fi
else
  pass "CPU without AVX2: nothing to check ($core)"
fi
core=$(OPENBLAS_CORETYPE=Prescott "$SAGD" version 2>&1 | sed -n 2p)
grep -q "Prescott" <<< "$core" && pass "OPENBLAS_CORETYPE=Prescott is kept ($core)" \
  || fail "OPENBLAS_CORETYPE=Prescott was overridden: $core"
finish
