#!/usr/bin/env bash
# Single against double precision on one full replication of a Table 1 setting (default
# data/table1-exp.ini; long: two runs of minutes). The two runs start from the same data,
# networks and random draws; their trajectories part at float rounding and drift apart over
# 9000 Adam steps, so their metrics are compared with the metrics' Monte Carlo error: for
# every phase, the final generator of each run is evaluated on 20 further independent sets of
# metrics.samples latent draws (numpy, the network written out from /results/<phase>/theta),
# giving the standard deviation of KS and of W1 that the 5000 draws of the result alone
# leave; |KS_single - KS_double| and |W1_single - W1_double| must be within
# 3 sqrt(sd_single^2 + sd_double^2). Prints the table.
. "$SRC/tests/cli/lib.sh"
CFG="$SRC/data/${1:-table1-exp}.ini"
for prec in double single; do
  sagd_np 2 run "$CFG" --out "$TMP/$prec" --set model.precision=$prec > "$TMP/$prec.log" 2>&1 \
    || { fail "$prec run of $CFG failed"; cat "$TMP/$prec.log" >&2; finish; }
done
"$PYTHON" - "$TMP/double/result.h5" "$TMP/single/result.h5" <<'PY'
import sys, h5py, numpy as np

def parse_widths(cfg, key):
    for line in cfg.splitlines():
        line = line.split(";")[0].split("#")[0]
        if "=" in line and line.split("=")[0].strip() == key:
            return [int(float(v)) for v in line.split("=")[1].split(",")]
    raise KeyError(key)

def softplus(z):
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)

def generate(theta, w, u):
    a, off = u, 0
    for l in range(len(w) - 1):
        W = theta[off:off + w[l + 1] * w[l]].reshape(w[l + 1], w[l]); off += w[l + 1] * w[l]
        b = theta[off:off + w[l + 1]]; off += w[l + 1]
        a = a @ W.T + b
        if l + 2 < len(w):
            a = softplus(a)
    return a[:, 0]

def metrics(x, cdf):
    x = np.sort(x); m = len(x)
    F = cdf(x)
    ks = max(np.max(np.arange(1, m + 1) / m - F), np.max(F - np.arange(m) / m))
    # W1 = integral of |F_hat - F|: fine grid, enough for a standard deviation
    g = np.linspace(min(x[0], 0.0) - 1, max(x[-1], 0.0) + 60, 400001)  # truth's tail: e^-30
    Fh = np.searchsorted(x, g, side="right") / m
    w1 = np.trapz(np.abs(Fh - cdf(g)), g)
    return ks, w1

f = [h5py.File(p, "r") for p in sys.argv[1:3]]
cfg = f[0]["/meta"].attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else str(cfg)
truth = [l.split("=")[1].strip() for l in cfg.splitlines() if l.strip().startswith("truth")][0]
assert truth == "exponential", truth
cdf = lambda x: np.where(x > 0, -np.expm1(-np.maximum(x, 0) / 2.0), 0.0)
w = parse_widths(cfg, "generator")
m = f[0]["/results/pretrain/samples"].shape[0]
rng = np.random.default_rng(20261201)
ok = True
print("| phase | KS double | KS single | 3 MC sd | W1 double | W1 single | 3 MC sd |")
print("|---|---|---|---|---|---|---|")
for ph in ["pretrain", "vae", "iwae", "hmc", "sagd"]:
    rep = [(g["/results/%s/ks" % ph][()], g["/results/%s/w1" % ph][()]) for g in f]
    sds = []
    for g, (ks_r, w1_r) in zip(f, rep):
        th = g["/results/%s/theta" % ph][()]
        own = g["/results/%s/samples" % ph][()].reshape(-1)
        # the metrics written out here give the run's own KS (and W1 to the grid's accuracy)
        ks_o, w1_o = metrics(own, cdf)
        assert abs(ks_o - ks_r) < 1e-9 and abs(w1_o - w1_r) < 1e-3, (ph, ks_o, ks_r, w1_o, w1_r)
        vals, means = [], []
        for _ in range(20):
            x = generate(th, w, rng.standard_normal((m, w[0])))
            vals.append(metrics(x, cdf))
            means.append(x.mean())
        # the generator written out has the run's law: same mean within 5 standard errors
        assert abs(np.mean(means) - own.mean()) < 5 * own.std() / np.sqrt(m), (ph, np.mean(means), own.mean())
        sds.append(np.std(np.array(vals), axis=0, ddof=1))
    tol = 3 * np.sqrt(sds[0] ** 2 + sds[1] ** 2)
    dks, dw1 = abs(rep[0][0] - rep[1][0]), abs(rep[0][1] - rep[1][1])
    print("| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |" % (ph, rep[0][0], rep[1][0], tol[0],
                                                              rep[0][1], rep[1][1], tol[1]))
    ok = ok and dks <= tol[0] and dw1 <= tol[1]
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "single and double precision agree within the metrics' Monte Carlo error" \
  || fail "single and double precision differ beyond the Monte Carlo error"
finish
