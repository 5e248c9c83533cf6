#!/usr/bin/env bash
# `cmake --install` of this build into a fresh prefix, then a program outside the tree
# (tests/install/example) configured with find_package(SAGD) against that prefix only,
# built, and run on 1 and 3 ranks: its sums equal their closed forms and its network's
# output is 2x + 1. Also checks what the prefix holds (bin/sagd, the library, the headers,
# the CMake package files).
. "$SRC/tests/cli/lib.sh"
: "${BUILD:?BUILD must point at the build tree}"
P="$TMP/prefix"
cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log" 2>&1 || { fail "cmake --install"; cat "$TMP/install.log" >&2; finish; }
for f in bin/sagd include/sagd/psum.h include/sagd/nn.h lib/cmake/SAGD/SAGDConfig.cmake \
         lib/cmake/SAGD/SAGDConfigVersion.cmake lib/cmake/SAGD/SAGDTargets.cmake; do
  [ -e "$P/$f" ] || fail "the prefix lacks $f"
done
ls "$P"/lib/libsagd.* > /dev/null 2>&1 && pass "prefix holds bin/sagd, the library, headers and lib/cmake/SAGD" \
  || fail "the prefix lacks the library"
"$P/bin/sagd" version > "$TMP/version" 2>/dev/null && grep -q "^sagd " "$TMP/version" \
  && pass "installed sagd runs: $(head -1 "$TMP/version")" || fail "installed bin/sagd does not run"
cp -r "$SRC/tests/install/example" "$TMP/example"
cmake -S "$TMP/example" -B "$TMP/example/build" -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_BUILD_TYPE=Release > "$TMP/configure.log" 2>&1 \
  && cmake --build "$TMP/example/build" > "$TMP/build.log" 2>&1 \
  && pass "out-of-tree program configured with find_package(SAGD) and built" \
  || { fail "out-of-tree build"; cat "$TMP/configure.log" "$TMP/build.log" >&2; finish; }
for np in 1 3; do
  "$MPIEXEC" --oversubscribe -n "$np" "$TMP/example/build/sagd_example" > "$TMP/out$np" 2>&1 \
    || { fail "example on $np ranks"; cat "$TMP/out$np" >&2; continue; }
  "$PYTHON" - "$TMP/out$np" "$np" <<'PY' && pass "example on $np rank(s): sums and network output as expected" || fail "example on $np rank(s): $(cat "$TMP/out$np")"
import sys
P = int(sys.argv[2])
vals = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1]) if l[:4] in ("psum", "xsum", "mlp ")}
want = [P * (P + 1) / 2, 0.5 * P, sum(1e-3 * (r + 1) for r in range(P))]
for k in ("psum1", "xsum"):      # exact paths: correctly rounded
    assert vals[k][:2] == want[:2], (k, vals[k])
    assert abs(vals[k][2] - want[2]) <= 1e-18, (k, vals[k])
assert all(abs(a - b) <= 1e-15 * abs(b) for a, b in zip(vals["psum2"], want)), vals["psum2"]
assert vals["mlp"] == [1.0, 3.0, 5.0], vals["mlp"]
PY
done
finish
