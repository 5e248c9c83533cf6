"""Independent check of an em_gamma result.h5 (Figure 1), in Python with numpy/scipy.

Recomputes the exact-gradient EM path from /data/x with its own Gauss-Hermite rule
(numpy's hermegauss, a different node count from the C code) and scipy's special
functions, and compares it with /trace/exact/theta; recomputes the MLE with scipy.optimize
and compares with /results/mle; then checks the SAGD-vs-exact and -vs-MLE tolerances given
on the command line.

usage: check_em_gamma.py RESULT.h5 [--sagd-exact TOL] [--mle TOL]
"""
import argparse
import sys

import h5py
import numpy as np
from scipy import optimize, special

p = argparse.ArgumentParser()
p.add_argument("result")
p.add_argument("--sagd-exact", type=float, default=None,
               help="max |SAGD - exact| per coordinate of the final (a, b)")
p.add_argument("--mle", type=float, default=None,
               help="max |theta - MLE| per coordinate (up to b -> -b) for SAGD and exact")
p.add_argument("--sagd-mle", type=float, default=None,
               help="max |SAGD - MLE| per coordinate (default: the --mle value)")
p.add_argument("--path-tol", type=float, default=1e-6)
args = p.parse_args()

f = h5py.File(args.result, "r")
cfg = f["/meta"].attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else str(cfg)
conf = {}
section = ""
for line in cfg.splitlines():
    line = line.split(";")[0].split("#")[0].strip()
    if line.startswith("["):
        section = line.strip("[]")
    elif "=" in line:
        k, v = (s.strip() for s in line.split("=", 1))
        conf[section + "." + k] = v

S = float(conf["data.shape_scale"])
M, T = int(conf["em.msteps"]), int(conf["em.updates"])
alpha = float(conf["sagd.alpha"])
use_avg = conf["em.result"] == "average"
lower = np.array([float(v) for v in conf["model.lower"].split(",")])
upper = np.array([float(v) for v in conf["model.upper"].split(",")])
theta0 = np.array([float(v) for v in conf["model.theta0"].split(",")])
x = f["/data/x"][...]
n = len(x)
logx = np.log(x)

u, w = np.polynomial.hermite_e.hermegauss(120)   # weight exp(-u^2/2)
w = w / np.sqrt(2 * np.pi)                         # now sums to 1: E over N(0,1)


def logpx_u(theta):
    """log p(x_i | u_j; theta), shape (n, nodes)."""
    a, b = theta
    s = S * special.expit(a + b * u)[None, :]
    return (s - 1) * logx[:, None] - x[:, None] - special.gammaln(s)


def loglik(theta):
    return float(np.sum(special.logsumexp(logpx_u(theta) + np.log(w)[None, :], axis=1)))


def post_weights(theta):
    lw = logpx_u(theta) + np.log(w)[None, :]
    lw -= lw.max(axis=1, keepdims=True)
    pw = np.exp(lw)
    return pw / pw.sum(axis=1, keepdims=True)


def grad_f(theta):
    """d f / d(a, b) at every (i, node), f = -log p(x, u; theta)."""
    a, b = theta
    sig = special.expit(a + b * u)
    s = S * sig
    da = (special.digamma(s)[None, :] - logx[:, None]) * (S * sig * (1 - sig))[None, :]
    return da, da * u[None, :]


def qgrad(target, theta):
    pw = post_weights(target)
    da, db = grad_f(theta)
    return np.array([np.sum(pw * da), np.sum(pw * db)]) / n


def loglik_grad(theta):
    return -n * qgrad(theta, theta)


fails = 0


def check(ok, msg):
    global fails
    print(("ok: " if ok else "FAIL: ") + msg)
    if not ok:
        fails += 1


# 1. exact EM path, same loop as the C code
def mstep(theta, path=None):
    """One exact M-step from theta: T projected gradient updates on -Q(.; theta)."""
    target = theta.copy()
    acc = np.zeros(2)
    for t in range(1, T + 1):
        theta = np.clip(theta - alpha * qgrad(target, theta), lower, upper)
        acc += theta
        if path is not None:
            path.append(theta.copy())
    return acc / T if use_avg else theta


theta = np.clip(theta0.copy(), lower, upper)
path = [theta.copy()]
for m in range(M):
    theta = mstep(theta, path)
path = np.array(path)
if "/trace/exact/theta" in f:
    ref = f["/trace/exact/theta"][...]
    err = np.max(np.abs(ref - path))
    check(ref.shape == path.shape and err <= args.path_tol,
          f"exact EM path ({path.shape[0]} rows) matches independent quadrature: max |diff| = {err:.2e} <= {args.path_tol:g}")
    # log-likelihood column against the independent loglik
    llref = f["/trace/exact/loglik"][...]
    llerr = max(abs(llref[k] - loglik(path[k])) for k in range(0, len(path), max(1, len(path) // 20)))
    check(llerr <= 1e-6 * n, f"exact loglik trace matches: max |diff| = {llerr:.2e}")

# 2. MLE
res = optimize.minimize(lambda th: -loglik(th), theta0, jac=lambda th: -loglik_grad(th),
                        method="BFGS", options={"gtol": 1e-10})
mle = res.x
if "/results/mle" in f:
    cm = f["/results/mle"][...]
    # b -> -b is a symmetry of the model: compare up to it
    d = min(np.max(np.abs(cm - mle)), np.max(np.abs(cm - mle * [1, -1])))
    check(d <= 1e-5, f"MLE {cm} matches scipy's {mle}: |diff| = {d:.2e}")
    mx = float(f["/results/max_loglik"][()])
    check(abs(mx - loglik(mle)) <= 1e-6 * n, f"max loglik {mx:.8f} matches {loglik(mle):.8f}")

# 3. EM's rate near the MLE: spectral radius of the M-step map's Jacobian (central
# differences, numpy's eigenvalues)
if "/results/em_rate" in f:
    h = 1e-4
    J = np.column_stack([(mstep(mle + h * e) - mstep(mle - h * e)) / (2 * h) for e in np.eye(2)])
    lam = float(np.max(np.abs(np.linalg.eigvals(J))))
    cr = float(f["/results/em_rate"][()])
    check(abs(cr - lam) <= 1e-4, f"EM rate {cr:.6f} matches numpy's {lam:.6f}")

sagd = f["/results/sagd_theta"][...]
exact = f["/results/exact_theta"][...] if "/results/exact_theta" in f else None
print(f"SAGD (a,b) = {sagd}, exact (a,b) = {exact}, MLE (a,b) = {mle}")
if args.sagd_exact is not None:
    d = np.max(np.abs(sagd - exact))
    check(d <= args.sagd_exact, f"|SAGD - exact| = {d:.4f} <= {args.sagd_exact}")
if args.mle is not None:
    tols = (("SAGD", sagd, args.sagd_mle if args.sagd_mle is not None else args.mle),
            ("exact", exact, args.mle))
    for name, th, tol in tols:
        d = min(np.max(np.abs(th - mle)), np.max(np.abs(th - mle * [1, -1])))
        check(d <= tol, f"|{name} - MLE| = {d:.4f} <= {tol} (up to b -> -b)")
sys.exit(1 if fails else 0)
