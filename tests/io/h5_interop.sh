#!/bin/sh
# A run file written by sagd's parallel HDF5 helpers (test_h5 on 2 ranks) reads back with
# independent tools: h5py (values, attribute strings) and h5dump; and a file written by
# h5py (variable-length strings, 32-bit integers) reads back with the helpers.
# Usage: h5_interop.sh TEST_H5_EXECUTABLE   (env: MPIEXEC, PYTHON from the test harness)
set -eu
exe="$1"
dir=$(mktemp -d /tmp/sagd_h5_interop_XXXXXX)
trap 'rm -rf "$dir"' EXIT
file="$dir/run.h5"
"${MPIEXEC:-mpiexec}" --oversubscribe -n 2 "$exe" "$file"

# h5dump: the file is valid HDF5 for the reference tools, and shows our values.
h5dump -a /meta/seed "$file" | grep -q -- '-9223372036854775807'
h5dump -d /results/loglik "$file" | grep -q -- '-123.456'
h5dump -a /meta/config "$file" | grep -q 'K0 = 7'

"${PYTHON:-python3}" - "$file" <<'PYEOF'
import math, sys
import h5py
import numpy as np

def text(v):
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v)

def cell(i, j):  # the test's values: sin(7 i + j) * 1e3 + i
    return math.sin(i * 7 + j) * 1e3 + i

with h5py.File(sys.argv[1], "r") as f:
    a = f["/meta"].attrs
    assert text(a["config"]) == "[sagd]\ndelta = 0.25\nK0 = 7\n", a["config"]
    assert text(a["empty"]) == "", a["empty"]
    assert text(a["utf8"]) == "\u03b8 = (a, b)", a["utf8"]
    assert int(a["seed"]) == -2**63 + 1
    assert int(a["format_version"]) == 4
    assert float(a["pi"]) == math.pi
    assert int(f["/"].attrs["root_attr"]) == 17
    assert int(f["/a/b/c"].attrs["deep"]) == 5
    # same libm as the C test, but allow 1 ulp-level differences anyway
    theta = f["/trace/sagd/theta"][...]
    assert theta.shape == (5,) and theta.dtype == np.float64
    assert np.allclose(theta, [cell(100, j) for j in range(5)], rtol=1e-15, atol=0)
    m = f["/trace/m"][...]
    assert m.shape == (3, 4)
    assert np.allclose(m, [[-cell(200 + i, j) for j in range(4)] for i in range(3)], rtol=1e-15, atol=0)
    assert f["/results/loglik"].shape == () and f["/results/loglik"][()] == -123.456
    assert f["/results/empty"].shape == (0,)
    xi = f["/chains/xi"][...]
    assert xi.shape == (10, 3)
    assert np.allclose(xi, [[cell(i, j) for j in range(3)] for i in range(10)], rtol=1e-15, atol=0)
    rho = f["/chains/rho"][...]
    assert rho.shape == (7, 2)
    assert np.allclose(rho.ravel(), [cell(300 + k // 2, k % 2) for k in range(14)], rtol=1e-15, atol=0)
print("h5py and h5dump read the file correctly")
PYEOF

# The other direction: h5py writes, test_h5 --foreign reads on 2 ranks.
"${PYTHON:-python3}" - "$dir/foreign.h5" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as f:
    g = f.create_group("meta")
    g.attrs["vlen"] = "variable \u03b8 string"     # h5py: variable-length UTF-8
    g.attrs["fixed"] = np.bytes_(b"fixed")          # fixed-length, null-padded
    g.attrs["i32"] = np.int32(-7)
    f["x"] = np.arange(6, dtype=np.int32).reshape(2, 3)
    f["text"] = np.array([b"a", b"b"])
    # 10^7 one-element chunks, none stored: more chunks than the file can hold (libhdf5
    # 1.10.8 would build one selection per chunk in H5Dread and grow by gigabytes)
    f.create_dataset("tiny_chunks", shape=(10**7,), dtype="f8", chunks=(1,))
PYEOF
"${MPIEXEC:-mpiexec}" --oversubscribe -n 2 "$exe" --foreign "$dir/foreign.h5"

# The dataset walk of sagd_h5_verify: a group with two hard links is walked once; a damaged
# file whose groups link back to an ancestor (found by fuzz_runfile: h5ls -r and H5Lvisit
# recurse on it without end) ends.
"${PYTHON:-python3}" - "$dir/links.h5" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["g/d"] = np.arange(3.0)
    f["g/h/e"] = np.arange(2.0)
    f["g2"] = f["g"]           # a second hard link to the same group
    f["top"] = np.zeros(1)
PYEOF
"${MPIEXEC:-mpiexec}" --oversubscribe -n 2 "$exe" --verify "$dir/links.h5" 3
# sagd reads every dataset's layout from its raw object header before libhdf5 opens it
# (h5_layout.c): h5py files of both header versions must pass it, with layouts of every rank,
# headers spilling into continuation chunks (many attributes) and creation-order tracking.
for libver in earliest latest; do
"${PYTHON:-python3}" - "$dir/layout-$libver.h5" "$libver" <<'PYEOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w", libver=(sys.argv[2], "latest"), track_order=True) as f:
    for rank in range(1, 5):
        shape = (6, 5, 4, 3)[:rank]
        d = f.create_dataset(f"chunked{rank}", data=np.arange(np.prod(shape), dtype="f8").reshape(shape),
                             chunks=tuple(max(1, n // 2) for n in shape), fletcher32=True)
        for k in range(40):  # pushes the header past its first chunk
            d.attrs[f"attribute_number_{k:02d}"] = np.full(8, k, dtype="f8")
    f.create_dataset("contiguous", data=np.arange(7.0))
    f.create_dataset("small", data=np.float64(2.5))
    f.create_dataset("deflated", data=np.arange(100.0), chunks=(10,), compression="gzip",
                     shuffle=True, fletcher32=True)
PYEOF
"${MPIEXEC:-mpiexec}" --oversubscribe -n 2 "$exe" --verify "$dir/layout-$libver.h5" 7
done
seeds="$(dirname "$0")/../fuzz/seeds/runfile"
timeout 60 "${MPIEXEC:-mpiexec}" --oversubscribe -n 1 "$exe" --verify "$seeds/cyclic-groups.h5" 0
