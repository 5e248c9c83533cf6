#!/usr/bin/python3
"""Figures of the SAGD paper from sagd result files (PNG, matplotlib + h5py).

  /usr/bin/python3 jobs/figures.py --out DIR PATH...

Each PATH is a result.h5, a run directory, or a study directory of run directories
(OUT/<config>/rep-NNN as written by jobs/submit-table1.sh). Writes

  DIR/figure1.png  from the first em_gamma result: the (a, b) paths of SAGD and of
                   exact-gradient EM on the contours of the log-likelihood surface (computed
                   here by Gauss-Hermite quadrature from /data/x), and the log-likelihood
                   after every update, with the maximum (MLE) as a reference line;
  DIR/figure2.png  from the deconv_vae results: histograms of the generated latents h(U)
                   (/results/<method>/samples) against the true latent density, one row per
                   setting (the first complete replication of each), one column per method;
  DIR/meeting_times.png  from the deconv_vae results with the coupled method, one column
                   per setting: the distribution of the coupled chains' meeting times τ (each
                   point's τ at its last update, /results/coupled/meeting_time, pooled over
                   the replications; log scale) and the mean τ per fine-tuning update
                   (/trace/coupled/meeting_time) of the first replication;
  DIR/figure3.png  from the first mnist_vae result: the same 100 latent draws decoded by the
                   pre-trained VAE's generator and by each fine-tuned one, SAGD's and the
                   others of vae.finetune (Bernoulli means, aligned 10 x 10 grids), and
                   below them a row of test digits with their
                   reconstructions by each (encoder mean, decoded), titled with the held-out
                   log-likelihoods (mean and SE over the test digits).

Incomplete run directories (no result.h5) are skipped with a note.
"""
import argparse
import glob
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

METHODS = [("pretrain", "VAE pre-trained"), ("vae", "VAE"), ("iwae", "IWAE"),
           ("hmc", "HMC"), ("sagd", "SAGD"), ("coupled", "Coupled"), ("ald", "ALD")]
SETTING_ORDER = ["exponential", "mixture", "normal"]


def parse_config(text):
    conf, section = {}, ""
    for line in text.splitlines():
        line = line.split(";")[0].split("#")[0].strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif "=" in line:
            k, v = (s.strip() for s in line.split("=", 1))
            conf[section + "." + k] = v
    return conf


def attr_text(f, name):
    v = f["/meta"].attrs[name]
    return v.decode() if isinstance(v, bytes) else str(v)


def find_results(paths):
    found = []
    for p in paths:
        if os.path.isfile(p):
            found.append(p)
        elif os.path.isfile(os.path.join(p, "result.h5")):
            found.append(os.path.join(p, "result.h5"))
        elif os.path.isdir(p):
            subs = sorted(d for d in glob.glob(os.path.join(p, "*")) if os.path.isdir(d))
            for d in subs:
                r = os.path.join(d, "result.h5")
                if os.path.isfile(r):
                    found.append(r)
                else:
                    print(f"figures: skipping {d}: no result.h5", file=sys.stderr)
        else:
            print(f"figures: skipping {p}: not found", file=sys.stderr)
    return found


# ---- Figure 1 ----------------------------------------------------------------------------

def gamma_loglik_surface(x, S, A, B, nodes=64):
    """log p(x; a, b) = sum_i log E_{u~N(0,1)} Gamma(x_i; S*sigmoid(a + b u), 1) on a grid."""
    u, w = np.polynomial.hermite_e.hermegauss(nodes)
    logw = np.log(w / np.sqrt(2 * np.pi))
    logx = np.log(x)
    out = np.empty(A.shape)
    for idx in np.ndindex(A.shape):
        s = S * special.expit(A[idx] + B[idx] * u)                     # [nodes]
        lp = (s[None, :] - 1) * logx[:, None] - x[:, None] - special.gammaln(s)[None, :]
        out[idx] = np.sum(special.logsumexp(lp + logw[None, :], axis=1))
    return out


def figure1(path, out):
    with h5py.File(path, "r") as f:
        conf = parse_config(attr_text(f, "config"))
        x = f["/data/x"][...].ravel()
        S = float(conf.get("data.shape_scale", "10"))
        sagd = f["/trace/sagd/theta"][...]
        ll_sagd = f["/trace/sagd/loglik"][...]
        exact = f["/trace/exact/theta"][...] if "/trace/exact/theta" in f else None
        ll_exact = f["/trace/exact/loglik"][...] if "/trace/exact/loglik" in f else None
        mle = f["/results/mle"][...] if "/results/mle" in f else None
        maxll = float(f["/results/max_loglik"][()]) if "/results/max_loglik" in f else None
        msteps = f["/trace/sagd/mstep_theta"][...] if "/trace/sagd/mstep_theta" in f else None
        rep = int(f["/meta"].attrs.get("replication", 0))
    pts = [sagd] + ([exact] if exact is not None else []) + ([mle[None, :]] if mle is not None else [])
    allp = np.vstack(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = np.maximum(0.15 * (hi - lo), 0.2)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 90)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 90)
    A, B = np.meshgrid(a, b)
    L = gamma_loglik_surface(x, S, A, B)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    top = np.nanmax(L)
    drops = np.array([256, 128, 64, 32, 16, 8, 4, 2, 1, 0.5, 0.25])
    levels = np.concatenate([top - drops, [top + 1e-9]])
    norm = matplotlib.colors.BoundaryNorm(levels, ncolors=256, extend="min")
    cf = ax.contourf(A, B, L, levels=levels, cmap="viridis", norm=norm, extend="min", alpha=0.8)
    cs = ax.contour(A, B, L, levels=levels[:-1], colors="k", linewidths=0.4, alpha=0.5)
    ax.clabel(cs, fmt=lambda v: f"-{top - v:g}", fontsize=7)
    cb = fig.colorbar(cf, ax=ax, shrink=0.85, ticks=levels[::2])
    cb.ax.set_yticklabels([f"{v:.1f}" for v in levels[::2]], fontsize=7)
    cb.set_label(f"log-likelihood (contours: max {top:.2f} minus 0.25 ... 256)", fontsize=8)
    if exact is not None:
        ax.plot(exact[:, 0], exact[:, 1], "-", color="tab:blue", lw=2, label="exact-gradient EM")
    ax.plot(sagd[:, 0], sagd[:, 1], "-", color="tab:red", lw=1, alpha=0.9, label="SAGD (automated EM)")
    if msteps is not None:
        ax.plot(msteps[1:, 0], msteps[1:, 1], "o", ms=4, color="tab:red", mec="k", mew=0.5,
                label="SAGD after each M-step")
    ax.plot(sagd[0, 0], sagd[0, 1], "s", color="k", ms=7, label=r"$\theta_0$")
    if mle is not None:
        ax.plot(mle[0], mle[1], "*", color="gold", mec="k", ms=16, label="MLE")
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    ax.set_title(f"(a, b) paths on the log-likelihood surface (n = {len(x)}, replication {rep})")
    ax.legend(loc="best", fontsize=8, framealpha=0.9)

    t = np.arange(len(ll_sagd))
    ax2.plot(t, ll_sagd, color="tab:red", lw=1, label="SAGD")
    if ll_exact is not None:
        ax2.plot(np.arange(len(ll_exact)), ll_exact, color="tab:blue", lw=2, label="exact-gradient EM")
    if maxll is not None:
        ax2.axhline(maxll, color="k", ls="--", lw=1, label=f"max log-likelihood {maxll:.2f}")
    T = int(round((len(ll_sagd) - 1) / max(1, (len(msteps) - 1 if msteps is not None else 1))))
    if msteps is not None and len(msteps) > 2:
        for k in range(1, len(msteps) - 1):
            ax2.axvline(k * T, color="0.8", lw=0.6, zorder=0)
    lo2 = np.nanpercentile(np.concatenate([ll_sagd, ll_exact if ll_exact is not None else ll_sagd]), 2)
    ax2.set_ylim(lo2 - 0.05 * abs(lo2), (maxll if maxll is not None else np.nanmax(ll_sagd)) + 0.02 * abs(lo2))
    ax2.set_xlabel("update (M-step boundaries in grey)")
    ax2.set_ylabel("log-likelihood")
    ax2.set_title("log-likelihood after each update")
    ax2.legend(loc="lower right", fontsize=8)
    fig.suptitle("Figure 1: automated EM for the Gamma-sigmoid model", fontsize=12)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


# ---- Figure 2 ----------------------------------------------------------------------------

def true_density(truth, z):
    if truth == "normal":
        return np.exp(-0.5 * ((z - 1) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
    if truth == "exponential":
        return np.where(z >= 0, 0.5 * np.exp(-np.clip(z, 0, None) / 2), 0.0)
    if truth == "mixture":
        n = lambda m: np.exp(-0.5 * ((z - m) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))  # noqa: E731
        return 0.4 * n(0.0) + 0.6 * n(3.0)
    return None


def figure2(results, out):
    """results: list of (setting label, truth, dim, path), first replication per setting."""
    methods = []
    for _, _, _, path in results:
        with h5py.File(path, "r") as f:
            for m, _ in METHODS:
                if f"/results/{m}/samples" in f and m not in methods:
                    methods.append(m)
    methods = [m for m, _ in METHODS if m in methods]
    labels = dict(METHODS)
    nr, nc = len(results), len(methods)
    fig, axes = plt.subplots(nr, nc, figsize=(3.0 * nc + 0.6, 2.5 * nr + 0.9), squeeze=False)
    for i, (label, truth, dim, path) in enumerate(results):
        with h5py.File(path, "r") as f:
            rep = int(f["/meta"].attrs.get("replication", 0))
            samples = {m: f[f"/results/{m}/samples"][...].ravel()
                       for m in methods if f"/results/{m}/samples" in f}
            ks = {m: float(np.mean(f[f"/results/{m}/ks"][...])) for m in methods if f"/results/{m}/ks" in f}
            w1 = {m: float(np.mean(f[f"/results/{m}/w1"][...])) for m in methods if f"/results/{m}/w1" in f}
        allv = np.concatenate(list(samples.values())) if samples else np.zeros(1)
        lo, hi = np.percentile(allv, [0.2, 99.8])
        if truth == "exponential":
            lo = min(lo, -0.5)
        span = hi - lo
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
        z = np.linspace(lo, hi, 400)
        dens = true_density(truth, z)
        bins = np.linspace(lo, hi, 50)
        for j, m in enumerate(methods):
            ax = axes[i, j]
            if m in samples:
                v = samples[m]
                # density of all samples (values outside the window are counted, not drawn)
                w = np.full(len(v), 1.0 / (len(v) * (bins[1] - bins[0])))
                ax.hist(v, bins=bins, weights=w, color="tab:blue", alpha=0.55,
                        edgecolor="white", linewidth=0.3, label="generated h(U)")
            if dens is not None:
                ax.plot(z, dens, color="k", lw=1.6, label="true density")
            ax.set_xlim(lo, hi)
            txt = []
            if m in ks:
                txt.append(f"D = {ks[m]:.3f}")
            if m in w1:
                txt.append(f"W = {w1[m]:.3f}")
            ax.text(0.97, 0.95, "\n".join(txt), transform=ax.transAxes, ha="right", va="top",
                    fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
            if i == 0:
                ax.set_title(labels[m], fontsize=11)
            if j == 0:
                ax.set_ylabel(f"{label}\n(replication {rep})" + (f"\nall {dim} dims" if dim > 1 else ""),
                              fontsize=9)
            ax.tick_params(labelsize=7)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Figure 2: generated latents h(U) against the true latent density", fontsize=12)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def figure_meeting(settings, out):
    """settings: list of (label, [paths]) whose results hold /results/coupled/meeting_time."""
    nc = len(settings)
    fig, axes = plt.subplots(2, nc, figsize=(3.6 * nc + 0.6, 5.6), squeeze=False)
    for j, (label, paths) in enumerate(settings):
        taus, trace, capped = [], None, 0.0
        for path in paths:
            with h5py.File(path, "r") as f:
                taus.append(f["/results/coupled/meeting_time"][...].ravel())
                if trace is None:
                    trace = f["/trace/coupled/meeting_time"][...]
                capped += float(np.sum(f["/trace/coupled/capped"][...]))
        tau = np.concatenate(taus)
        top = int(np.max(tau))
        ax = axes[0, j]
        ax.hist(tau, bins=np.arange(0.5, top + 1.5, 1.0), color="tab:green", alpha=0.7,
                edgecolor="white", linewidth=0.3)
        ax.set_yscale("log")
        ax.set_xlabel("meeting time τ (steps)")
        ax.set_title(f"{label}: {len(paths)} replication(s)\nmean τ {np.mean(tau):.2f}, "
                     f"max {top}, capped pairs {capped:.0f}", fontsize=9)
        if j == 0:
            ax.set_ylabel("data points")
        ax = axes[1, j]
        ax.plot(np.arange(1, len(trace) + 1), trace, color="tab:green", lw=0.8)
        ax.set_xlabel("fine-tuning update")
        if j == 0:
            ax.set_ylabel("mean τ of the update")
    fig.suptitle("Coupled ISIR chains: meeting times", fontsize=12)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


# ---- Figure 3 ----------------------------------------------------------------------------

def grid(images, rows, cols):
    """[rows*cols, h, w] -> one mosaic with a 1-pixel gutter (0: white in gray_r)."""
    n, h, w = images.shape
    out = np.zeros((rows * (h + 1) - 1, cols * (w + 1) - 1))
    for k in range(min(n, rows * cols)):
        r, c = divmod(k, cols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = images[k]
    return out


FINETUNE_LABELS = {"sagd": "SAGD", "coupled": "Coupled", "hmc": "HMC", "ald": "ALD"}


def figure3(path, out):
    with h5py.File(path, "r") as f:
        fig_ = f["/figure"]
        r = f["/results"]
        # the fine-tuned generators the run holds, in the run's order (vae.finetune)
        conf = parse_config(attr_text(f, "config"))
        methods = [m for m in conf.get("vae.finetune", "sagd").replace(",", " ").split()
                   if f"{m}_means" in fig_]
        means = [fig_["pretrain_means"][...]] + [fig_[f"{m}_means"][...] for m in methods]
        test = fig_["test_digits"][...]
        recs = [fig_["pretrain_reconstructions"][...]] + \
            [fig_[f"{m}_reconstructions"][...] for m in methods]
        lp, lps = r["pretrain/test_loglik"][()], r["pretrain/test_loglik_se"][()]
        scores = [(r[f"{m}/test_loglik"][()], r[f"{m}/test_loglik_se"][()],
                   r[f"{m}/gain_over_pretrain"][()], r[f"{m}/gain_over_pretrain_se"][()])
                  for m in methods]
        nt = len(r["pretrain/test_loglik_digits"])
    labels = [FINETUNE_LABELS[m] for m in methods]
    ng = 1 + len(methods)
    fig = plt.figure(figsize=(5 * ng, 7.2))
    gs = fig.add_gridspec(2, ng, height_ratios=[10, 3.3])
    titles = [f"VAE: held-out log-lik {lp:.2f} (SE {lps:.2f})"] + \
        [f"{lab}: {ll:.2f} (SE {se:.2f})" for lab, (ll, se, _, _) in zip(labels, scores)]
    for k, (imgs, title) in enumerate(zip(means, titles)):
        ax = fig.add_subplot(gs[0, k])
        ax.imshow(grid(imgs, 10, 10), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    ax = fig.add_subplot(gs[1, :])
    n = len(test)
    rows = np.concatenate([test] + recs)
    ax.imshow(grid(rows, 1 + ng, n), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([14 + 29 * i for i in range(1 + ng)])
    ax.set_yticklabels(["test digits", "VAE"] + labels)
    ax.set_xticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    gains = ", ".join(f"{lab} - VAE = {g:+.2f} (SE {gse:.2f})"
                      for lab, (_, _, g, gse) in zip(labels, scores))
    fig.suptitle("The same 100 latent draws decoded by the pre-trained and the fine-tuned "
                 f"generators\n{gains} nats over {nt} test digits", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("paths", nargs="+", help="result.h5 files, run or study directories")
    p.add_argument("--out", required=True,
                   help="directory for figure1.png, figure2.png, figure3.png")
    args = p.parse_args()
    files = find_results(args.paths)
    if not files:
        print("figures: no result.h5 found", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    em, dv, mn = [], {}, []
    for path in files:
        try:
            with h5py.File(path, "r") as f:
                exp = attr_text(f, "experiment")
                conf = parse_config(attr_text(f, "config"))
        except (OSError, KeyError) as e:
            print(f"figures: skipping {path}: {e}", file=sys.stderr)
            continue
        if exp == "em_gamma":
            em.append(path)
        elif exp == "mnist_vae":
            mn.append(path)
        elif exp == "deconv_vae":
            truth = conf.get("data.truth", "?")
            dim = int(float(conf.get("data.dim", "1")))
            label = truth if dim == 1 else f"high-dim {truth} (p={dim})"
            dv.setdefault((dim > 1, SETTING_ORDER.index(truth) if truth in SETTING_ORDER else 9,
                           label), []).append((label, truth, dim, path))
    made = []
    if em:
        o = os.path.join(args.out, "figure1.png")
        figure1(em[0], o)
        made.append(o)
    if dv:
        rows = [sorted(v, key=lambda r: r[3])[0] for _, v in sorted(dv.items())]
        o = os.path.join(args.out, "figure2.png")
        figure2(rows, o)
        made.append(o)
        meet = []
        for _, v in sorted(dv.items()):
            paths = []
            for _, _, _, path in sorted(v, key=lambda r: r[3]):
                with h5py.File(path, "r") as f:
                    if "/results/coupled/meeting_time" in f:
                        paths.append(path)
            if paths:
                meet.append((v[0][0], paths))
        if meet:
            o = os.path.join(args.out, "meeting_times.png")
            figure_meeting(meet, o)
            made.append(o)
    if mn:
        o = os.path.join(args.out, "figure3.png")
        figure3(mn[0], o)
        made.append(o)
    for o in made:
        print(f"figures: wrote {o}")
    if not made:
        print("figures: no em_gamma, deconv_vae or mnist_vae result found", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
