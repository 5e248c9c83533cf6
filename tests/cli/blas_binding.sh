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
finish
