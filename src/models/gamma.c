/* The Gamma-sigmoid model of the automated-EM experiment (see include/sagd/gamma.h):
 * data generator, batched model ops and the exact Gauss–Hermite reference.
 *
 * Numerics. With t = a + b u, σ = σ(t), σ̄ = 1 - σ = σ(-t) (both computed without
 * cancellation), s = S σ and
 *   f = u²/2 + log Γ(s) - (s-1) log x + x + log √(2π),
 *   ∂f/∂a = (ψ(s) - log x) S σ σ̄ = σ̄ (s ψ(s) - s log x) =: A(t) - B(t) log x,
 * the model is evaluated for every finite t. When s < 1/2 (including s underflowing to 0
 * for t below about -745) we use log Γ(s) = log Γ(1+s) - log s with
 * log s = log S + log σ(t) (log σ(t) = -softplus(-t), exact for very negative t) and
 * s ψ(s) = s ψ(1+s) - 1, so log Γ and ψ are only ever called at arguments >= 1/2 and
 * A(t) -> -1, B(t) -> 0 as t -> -∞; as t -> +∞, s -> S and σ̄ -> 0. The only failure is a
 * non-finite t (a diverging chain or θ), reported as SAGD_ERR_NUMERIC.
 * The potential includes every constant: V(u) = f(θ; x, u) exactly.
 */
#include "sagd/gamma.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"

#define LOG_SQRT_2PI_ 0.91893853320467274178032973640562 /* log √(2π) */

/* ---- shared per-(θ, u) terms -------------------------------------------------------- */

/* σ(t), σ(-t) and log σ(t) without overflow or cancellation. */
static void logistic_(double t, double *sig, double *sigc, double *logsig) {
  if (t >= 0.0) {
    double e = exp(-t);
    *sig = 1.0 / (1.0 + e);
    *sigc = e / (1.0 + e);
    *logsig = -log1p(e);
  } else {
    double e = exp(t);
    *sig = e / (1.0 + e);
    *sigc = 1.0 / (1.0 + e);
    *logsig = t - log1p(e);
  }
}

/* For finite t = a + b u: s = S σ(t), lgs = log Γ(s), and A, B with
 * ∂f/∂a = A - B log x (see the file comment). */
static void terms_(double S, double logS, double t, double *s, double *lgs, double *A,
                   double *B) {
  double sig, sigc, logsig;
  logistic_(t, &sig, &sigc, &logsig);
  double sv = S * sig;
  if (sv >= 0.5) {
    *lgs = gsl_sf_lngamma(sv);
    *A = sigc * sv * gsl_sf_psi(sv);
  } else {
    *lgs = gsl_sf_lngamma(1.0 + sv) - (logS + logsig);
    *A = sigc * (sv * gsl_sf_psi(1.0 + sv) - 1.0);
  }
  *B = sigc * sv;
  *s = sv;
}

static int check_shape_scale_(double S) {
  SAGD_CHECK(isfinite(S) && S > 0.0, SAGD_ERR_ARG,
             "Gamma model: shape_scale S = %g, expected a finite value > 0", S);
  return SAGD_OK;
}

/* ---- data ----------------------------------------------------------------------------- */

int sagd_gamma_check_data(const double *x, size_t count, size_t i0) {
  SAGD_CHECK(x != NULL || count == 0, SAGD_ERR_ARG, "Gamma data: x is NULL but count = %zu",
             count);
  for (size_t k = 0; k < count; k++) {
    if (!(isfinite(x[k]) && x[k] > 0.0)) {
      SAGD_FAIL(SAGD_ERR_DATA,
                "data x[%zu] = %g: the Gamma model needs every observation finite and > 0",
                i0 + k, x[k]);
    }
  }
  return SAGD_OK;
}

int sagd_gamma_generate(sagd_rng_key key, double a, double b, double shape_scale,
                        size_t i_begin, size_t i_end, double *x, double *z) {
  SAGD_CALL(check_shape_scale_(shape_scale));
  SAGD_CHECK(isfinite(a) && isfinite(b), SAGD_ERR_ARG,
             "Gamma generator: (a, b) = (%g, %g), expected finite values", a, b);
  sagd_rng_gsl rg = NULL;
  SAGD_CALL(sagd_rng_gsl_for_points("Gamma generator", i_begin, i_end, x, &rg));
  gsl_rng *r = sagd_rng_gsl_get(rg);
  int rc = SAGD_OK;
  for (size_t i = i_begin; i < i_end; i++) {
    sagd_rng_gsl_reset(rg, key, SAGD_STREAM_DATA, (uint64_t)i, 0, 0);
    double zi = gsl_ran_gaussian_ziggurat(r, 1.0);
    double t = a + b * zi, sig, sigc, logsig;
    logistic_(t, &sig, &sigc, &logsig);
    double s = shape_scale * sig;
    double xi = s > 0.0 ? gsl_ran_gamma(r, s, 1.0) : 0.0;
    if (!(isfinite(xi) && xi > 0.0)) {
      rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                          "Gamma generator: x[%zu] = %g is not > 0 (shape s = %g at a + b z = "
                          "%g): a = %g, b = %g, shape_scale = %g give shapes too small for "
                          "a representable draw",
                          i, xi, s, t, a, b, shape_scale);
      break;
    }
    x[i - i_begin] = xi;
    if (z != NULL) {
      z[i - i_begin] = zi;
    }
  }
  sagd_rng_gsl_destroy(&rg);
  return rc;
}

/* ---- the batched model ------------------------------------------------------------------ */

typedef struct {
  double S, logS;
  size_t i_begin, count;
  double *x, *logx; /* the shard, and log x precomputed */
} gamma_ctx;

static void gamma_destroy_(void *vctx) {
  gamma_ctx *c = vctx;
  if (c != NULL) {
    free(c->x);
    free(c->logx);
    free(c);
  }
}

static int bad_t_(double t, const double *theta, size_t i, size_t q, double u) {
  SAGD_FAIL(SAGD_ERR_NUMERIC,
            "Gamma model: a + b·u = %g is not finite at data point %zu, chain %zu of the "
            "block (a = %g, b = %g, u = %g)",
            t, i, q, theta[0], theta[1], u);
}

/* The per-chain terms both ops need, for chain q of the block starting at data point i0:
 * the shard index li of its data point, u = ξ_q, and terms_ at t = a + b u. */
typedef struct {
  size_t li;
  double u, s, lgs, A, B;
} chain_terms_t_;

static int chain_terms_(const gamma_ctx *c, const double *theta, size_t i0, size_t C, size_t q,
                        const double *xi, chain_terms_t_ *o) {
  o->li = i0 + q / C - c->i_begin;
  o->u = xi[q];
  double t = theta[0] + theta[1] * o->u;
  if (!isfinite(t)) {
    return bad_t_(t, theta, i0 + q / C, q, o->u);
  }
  terms_(c->S, c->logS, t, &o->s, &o->lgs, &o->A, &o->B);
  return SAGD_OK;
}

static int gamma_potential_(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                            const double *xi, double *V, double *grad_xi) {
  const gamma_ctx *c = vctx;
  const double b = theta[1];
  for (size_t q = 0; q < nb * C; q++) {
    chain_terms_t_ k;
    SAGD_CALL(chain_terms_(c, theta, i0, C, q, xi, &k));
    if (V != NULL) {
      V[q] = 0.5 * k.u * k.u + k.lgs - (k.s - 1.0) * c->logx[k.li] + c->x[k.li] + LOG_SQRT_2PI_;
    }
    if (grad_xi != NULL) {
      grad_xi[q] = k.u + b * (k.A - k.B * c->logx[k.li]);
    }
  }
  return SAGD_OK;
}

static int gamma_grad_theta_(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                             const double *xi, double *g) {
  const gamma_ctx *c = vctx;
  for (size_t q = 0; q < nb * C; q++) {
    chain_terms_t_ k;
    SAGD_CALL(chain_terms_(c, theta, i0, C, q, xi, &k));
    double da = k.A - k.B * c->logx[k.li];
    g[0] += da;
    g[1] += k.u * da;
  }
  return SAGD_OK;
}

static const sagd_model_type gamma_type_ = {.name = "gamma",
                                            .potential = gamma_potential_,
                                            .grad_theta = gamma_grad_theta_,
                                            .destroy = gamma_destroy_};

int sagd_gamma_model_create(const double *x_local, size_t n, size_t i_begin, size_t i_end,
                            double shape_scale, sagd_model *m) {
  SAGD_CHECK(m != NULL, SAGD_ERR_ARG, "Gamma model: output handle is NULL");
  *m = NULL;
  SAGD_CALL(check_shape_scale_(shape_scale));
  SAGD_CHECK(i_begin <= i_end && i_end <= n, SAGD_ERR_ARG,
             "Gamma model: shard [%zu, %zu) is not inside [0, %zu)", i_begin, i_end, n);
  size_t count = i_end - i_begin;
  SAGD_CALL(sagd_gamma_check_data(x_local, count, i_begin));
  gamma_ctx *c = calloc(1, sizeof(*c));
  SAGD_CHECK(c != NULL, SAGD_ERR_MEM, "cannot allocate the Gamma model context");
  c->S = shape_scale;
  c->logS = log(shape_scale);
  c->i_begin = i_begin;
  c->count = count;
  c->x = calloc(count > 0 ? count : 1, sizeof(double));
  c->logx = calloc(count > 0 ? count : 1, sizeof(double));
  if (c->x == NULL || c->logx == NULL) {
    gamma_destroy_(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the Gamma model's %zu data points", count);
  }
  for (size_t k = 0; k < count; k++) {
    c->x[k] = x_local[k];
    c->logx[k] = log(x_local[k]);
  }
  int rc = sagd_model_create(&gamma_type_, c, 1, 2, n, i_begin, i_end, m);
  if (rc != SAGD_OK) {
    gamma_destroy_(c);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  return SAGD_OK;
}

/* ---- the exact reference by Gauss–Hermite quadrature ---------------------------------- */

/* Per-node terms at one θ. */
typedef struct {
  double *s, *lgs, *A, *B;
} node_terms;

struct sagd_gamma_quad_s {
  size_t n, m;       /* data points; nodes with a representable (> 0) weight */
  double S, logS;
  double *x, *logx;  /* [n] */
  double *u, *logw;  /* [m] nodes and log weights (weight exp(-u²/2)) */
  node_terms tt, th; /* scratch: terms at θ_target and at θ, [m] each */
  double *lp;        /* scratch [m]: posterior weights */
};

static int check_theta_(const double *theta, const char *what) {
  SAGD_CHECK(theta != NULL, SAGD_ERR_ARG, "Gamma quadrature: %s is NULL", what);
  SAGD_CHECK(isfinite(theta[0]) && isfinite(theta[1]), SAGD_ERR_ARG,
             "Gamma quadrature: %s = (%g, %g), expected finite values", what, theta[0],
             theta[1]);
  return SAGD_OK;
}

static void node_terms_eval_(const struct sagd_gamma_quad_s *q, const double *theta,
                             const node_terms *nt) {
  for (size_t j = 0; j < q->m; j++) {
    double t = theta[0] + theta[1] * q->u[j];
    terms_(q->S, q->logS, t, &nt->s[j], &nt->lgs[j], &nt->A[j], &nt->B[j]);
  }
}

/* Posterior weights of data point i under the terms nt: q->lp[j] = w_j p(x_i|u_j) / Σ;
 * returns log Σ_j w_j p(x_i | u_j) (log-sum-exp). */
static double posterior_(const struct sagd_gamma_quad_s *q, const node_terms *nt, size_t i) {
  const double lx = q->logx[i];
  double mx = -INFINITY;
  for (size_t j = 0; j < q->m; j++) {
    double l = q->logw[j] - nt->lgs[j] + (nt->s[j] - 1.0) * lx;
    q->lp[j] = l;
    if (l > mx) {
      mx = l;
    }
  }
  double sum = 0.0;
  for (size_t j = 0; j < q->m; j++) {
    q->lp[j] = exp(q->lp[j] - mx);
    sum += q->lp[j];
  }
  for (size_t j = 0; j < q->m; j++) {
    q->lp[j] /= sum;
  }
  return mx + log(sum) - q->x[i];
}

void sagd_gamma_quad_destroy(sagd_gamma_quad *q) {
  if (q == NULL || *q == NULL) {
    return;
  }
  struct sagd_gamma_quad_s *p = *q;
  free(p->x);
  free(p->logx);
  free(p->u);
  free(p->logw);
  node_terms *sets[2] = {&p->tt, &p->th};
  for (int k = 0; k < 2; k++) {
    free(sets[k]->s);
    free(sets[k]->lgs);
    free(sets[k]->A);
    free(sets[k]->B);
  }
  free(p->lp);
  free(p);
  *q = NULL;
}

static int quad_alloc_(struct sagd_gamma_quad_s *p, size_t n, size_t nodes) {
  SAGD_CALLOC(p->x, n, "Gamma quadrature data");
  SAGD_CALLOC(p->logx, n, "Gamma quadrature log data");
  SAGD_CALLOC(p->u, nodes, "Gauss-Hermite nodes");
  SAGD_CALLOC(p->logw, nodes, "Gauss-Hermite weights");
  node_terms *sets[2] = {&p->tt, &p->th};
  for (int k = 0; k < 2; k++) {
    SAGD_CALLOC(sets[k]->s, nodes, "Gamma quadrature scratch");
    SAGD_CALLOC(sets[k]->lgs, nodes, "Gamma quadrature scratch");
    SAGD_CALLOC(sets[k]->A, nodes, "Gamma quadrature scratch");
    SAGD_CALLOC(sets[k]->B, nodes, "Gamma quadrature scratch");
  }
  SAGD_CALLOC(p->lp, nodes, "Gamma quadrature scratch");
  return SAGD_OK;
}

int sagd_gamma_quad_create(const double *x, size_t n, size_t nodes, double shape_scale,
                           sagd_gamma_quad *q) {
  SAGD_CHECK(q != NULL, SAGD_ERR_ARG, "Gamma quadrature: output handle is NULL");
  *q = NULL;
  SAGD_CHECK(nodes >= 64, SAGD_ERR_ARG,
             "Gamma quadrature: nodes = %zu, expected at least 64 Gauss-Hermite nodes", nodes);
  SAGD_CHECK(n >= 1, SAGD_ERR_ARG, "Gamma quadrature: n = %zu, expected at least 1 point", n);
  SAGD_CALL(check_shape_scale_(shape_scale));
  SAGD_CALL(sagd_gamma_check_data(x, n, 0));
  struct sagd_gamma_quad_s *p = calloc(1, sizeof(*p));
  SAGD_CHECK(p != NULL, SAGD_ERR_MEM, "cannot allocate the Gamma quadrature");
  int rc = quad_alloc_(p, n, nodes);
  if (rc != SAGD_OK) {
    sagd_gamma_quad_destroy(&p);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  p->n = n;
  p->S = shape_scale;
  p->logS = log(shape_scale);
  for (size_t i = 0; i < n; i++) {
    p->x[i] = x[i];
    p->logx[i] = log(x[i]);
  }
  /* Weight |u - 0|^0 exp(-0.5 (u - 0)²). */
  gsl_integration_fixed_workspace *w =
      gsl_integration_fixed_alloc(gsl_integration_fixed_hermite, nodes, 0.0, 0.5, 0.0, 0.0);
  if (w == NULL) {
    sagd_gamma_quad_destroy(&p);
    SAGD_FAIL(SAGD_ERR_NUMERIC, "Gamma quadrature: cannot build %zu Gauss-Hermite nodes",
              nodes);
  }
  const double *un = gsl_integration_fixed_nodes(w);
  const double *wn = gsl_integration_fixed_weights(w);
  size_t m = 0;
  for (size_t j = 0; j < nodes; j++) {
    if (wn[j] > 0.0 && isfinite(wn[j]) && isfinite(un[j])) { /* skip underflowed weights */
      p->u[m] = un[j];
      p->logw[m] = log(wn[j]);
      m++;
    }
  }
  gsl_integration_fixed_free(w);
  p->m = m;
  if (m < 64) {
    sagd_gamma_quad_destroy(&p);
    SAGD_FAIL(SAGD_ERR_NUMERIC,
              "Gamma quadrature: only %zu of %zu Gauss-Hermite weights are representable", m,
              nodes);
  }
  *q = p;
  return SAGD_OK;
}

int sagd_gamma_quad_loglik(sagd_gamma_quad q, const double theta[2], double *ll,
                           double grad[2]) {
  SAGD_CHECK(q != NULL && ll != NULL, SAGD_ERR_ARG, "Gamma quadrature: NULL argument");
  SAGD_CALL(check_theta_(theta, "theta"));
  node_terms_eval_(q, theta, &q->th);
  double sum = 0.0, ga = 0.0, gb = 0.0;
  for (size_t i = 0; i < q->n; i++) {
    sum += posterior_(q, &q->th, i) - LOG_SQRT_2PI_;
    if (grad != NULL) {
      double ea = 0.0, eb = 0.0;
      for (size_t j = 0; j < q->m; j++) {
        double d = q->lp[j] * (q->th.A[j] - q->th.B[j] * q->logx[i]);
        ea += d;
        eb += d * q->u[j];
      }
      ga -= ea; /* ∇ log p(x_i) = -E[∇_θ f] (Fisher's identity) */
      gb -= eb;
    }
  }
  *ll = sum;
  if (grad != NULL) {
    grad[0] = ga;
    grad[1] = gb;
  }
  return SAGD_OK;
}

int sagd_gamma_quad_qgrad(sagd_gamma_quad q, const double theta_target[2],
                          const double theta[2], double g[2]) {
  SAGD_CHECK(q != NULL && g != NULL, SAGD_ERR_ARG, "Gamma quadrature: NULL argument");
  SAGD_CALL(check_theta_(theta_target, "theta_target"));
  SAGD_CALL(check_theta_(theta, "theta"));
  node_terms_eval_(q, theta_target, &q->tt);
  node_terms_eval_(q, theta, &q->th);
  double ga = 0.0, gb = 0.0;
  for (size_t i = 0; i < q->n; i++) {
    (void)posterior_(q, &q->tt, i);
    double ea = 0.0, eb = 0.0;
    for (size_t j = 0; j < q->m; j++) {
      double d = q->lp[j] * (q->th.A[j] - q->th.B[j] * q->logx[i]);
      ea += d;
      eb += d * q->u[j];
    }
    ga += ea;
    gb += eb;
  }
  g[0] = ga / (double)q->n;
  g[1] = gb / (double)q->n;
  return SAGD_OK;
}

int sagd_gamma_quad_posterior(sagd_gamma_quad q, const double theta[2], size_t i,
                              double *mean, double *var) {
  SAGD_CHECK(q != NULL && mean != NULL, SAGD_ERR_ARG, "Gamma quadrature: NULL argument");
  SAGD_CALL(check_theta_(theta, "theta"));
  SAGD_CHECK(i < q->n, SAGD_ERR_ARG, "Gamma quadrature: data index %zu is not in [0, %zu)",
             i, q->n);
  node_terms_eval_(q, theta, &q->th);
  (void)posterior_(q, &q->th, i);
  double m1 = 0.0;
  for (size_t j = 0; j < q->m; j++) {
    m1 += q->lp[j] * q->u[j];
  }
  if (var != NULL) {
    double m2 = 0.0;
    for (size_t j = 0; j < q->m; j++) {
      double d = q->u[j] - m1;
      m2 += q->lp[j] * d * d;
    }
    *var = m2;
  }
  *mean = m1;
  return SAGD_OK;
}

/* ---- the MLE -------------------------------------------------------------------------- */

typedef struct {
  sagd_gamma_quad q;
  int rc; /* first error inside a GSL callback */
} mle_ctx;

/* F(θ) = -loglik(θ)/n and its gradient; errors are kept in the context, F = NaN. */
static void mle_fdf_(const gsl_vector *v, void *params, double *f, gsl_vector *df) {
  mle_ctx *c = params;
  double th[2] = {gsl_vector_get(v, 0), gsl_vector_get(v, 1)}, ll = 0.0, g[2] = {0.0, 0.0};
  int rc = c->rc == SAGD_OK ? sagd_gamma_quad_loglik(c->q, th, &ll, g) : c->rc;
  if (rc != SAGD_OK) {
    c->rc = rc;
    ll = NAN;
    g[0] = g[1] = NAN;
  }
  double n = (double)c->q->n;
  if (f != NULL) {
    *f = -ll / n;
  }
  if (df != NULL) {
    gsl_vector_set(df, 0, -g[0] / n);
    gsl_vector_set(df, 1, -g[1] / n);
  }
}

static double mle_f_(const gsl_vector *v, void *params) {
  double f;
  mle_fdf_(v, params, &f, NULL);
  return f;
}

static void mle_df_(const gsl_vector *v, void *params, gsl_vector *df) {
  mle_fdf_(v, params, NULL, df);
}

/* ∇F at th (F = -loglik/n). */
static int mle_grad_(sagd_gamma_quad q, const double th[2], double g[2], double *ll) {
  SAGD_CALL(sagd_gamma_quad_loglik(q, th, ll, g));
  g[0] = -g[0] / (double)q->n;
  g[1] = -g[1] / (double)q->n;
  return SAGD_OK;
}

/* Newton polish with a central-difference Hessian of the exact gradient: converges where
 * a line search on F can no longer resolve decreases of F (|∇F|² ~ ε |F|). */
static int mle_newton_(sagd_gamma_quad q, double th[2], double g[2], double *ll,
                       double tol, int max_steps, int *steps) {
  double gn = hypot(g[0], g[1]);
  for (*steps = 0; *steps < max_steps && !(gn < tol); (*steps)++) {
    double H[2][2], gp[2], gm[2], l;
    for (int k = 0; k < 2; k++) {
      double h = 1e-5 * fmax(1.0, fabs(th[k]));
      double tp[2] = {th[0], th[1]}, tm[2] = {th[0], th[1]};
      tp[k] += h;
      tm[k] -= h;
      SAGD_CALL(mle_grad_(q, tp, gp, &l));
      SAGD_CALL(mle_grad_(q, tm, gm, &l));
      H[0][k] = (gp[0] - gm[0]) / (tp[k] - tm[k]);
      H[1][k] = (gp[1] - gm[1]) / (tp[k] - tm[k]);
    }
    double h01 = 0.5 * (H[0][1] + H[1][0]);
    double det = H[0][0] * H[1][1] - h01 * h01;
    if (!(H[0][0] > 0.0 && det > 0.0)) {
      break; /* not locally convex: leave it to the caller's convergence check */
    }
    double d0 = -(H[1][1] * g[0] - h01 * g[1]) / det;
    double d1 = -(-h01 * g[0] + H[0][0] * g[1]) / det;
    int improved = 0;
    for (int half = 0; half < 30 && !improved; half++) {
      double tn[2] = {th[0] + d0, th[1] + d1}, gnew[2], lnew;
      SAGD_CALL(mle_grad_(q, tn, gnew, &lnew));
      if (hypot(gnew[0], gnew[1]) < gn) {
        th[0] = tn[0];
        th[1] = tn[1];
        g[0] = gnew[0];
        g[1] = gnew[1];
        *ll = lnew;
        gn = hypot(g[0], g[1]);
        improved = 1;
      }
      d0 *= 0.5;
      d1 *= 0.5;
    }
    if (!improved) {
      break;
    }
  }
  return SAGD_OK;
}

int sagd_gamma_quad_mle(sagd_gamma_quad q, const double theta0[2], double mle[2],
                        double *ll_max) {
  SAGD_CHECK(q != NULL && mle != NULL && ll_max != NULL, SAGD_ERR_ARG,
             "Gamma quadrature: NULL argument");
  SAGD_CALL(check_theta_(theta0, "theta0"));
  const double tol = 1e-8; /* on |∇(-loglik/n)|, i.e. |∇ loglik| < 1e-8 n */
  const int max_iter = 1000, max_newton = 50;
  mle_ctx ctx = {q, SAGD_OK};
  gsl_multimin_function_fdf fdf = {mle_f_, mle_df_, mle_fdf_, 2, &ctx};
  gsl_vector *x0 = gsl_vector_alloc(2);
  gsl_multimin_fdfminimizer *mz =
      gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, 2);
  if (x0 == NULL || mz == NULL) {
    gsl_vector_free(x0);
    gsl_multimin_fdfminimizer_free(mz);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the BFGS minimiser");
  }
  gsl_vector_set(x0, 0, theta0[0]);
  gsl_vector_set(x0, 1, theta0[1]);
  int st = gsl_multimin_fdfminimizer_set(mz, &fdf, x0, 0.1, 0.1);
  int iter = 0;
  double gnorm = INFINITY;
  while (st == GSL_SUCCESS && ctx.rc == SAGD_OK && iter < max_iter) {
    gnorm = gsl_blas_dnrm2(gsl_multimin_fdfminimizer_gradient(mz));
    if (gnorm < tol) {
      break;
    }
    st = gsl_multimin_fdfminimizer_iterate(mz);
    iter++;
  }
  const gsl_vector *xm = gsl_multimin_fdfminimizer_x(mz);
  double th[2] = {gsl_vector_get(xm, 0), gsl_vector_get(xm, 1)};
  gsl_multimin_fdfminimizer_free(mz);
  gsl_vector_free(x0);
  if (ctx.rc != SAGD_OK) {
    return sagd_error_trace(ctx.rc, __FILE__, __LINE__, __func__);
  }
  double g[2], ll;
  SAGD_CALL(mle_grad_(q, th, g, &ll));
  int newton = 0;
  SAGD_CALL(mle_newton_(q, th, g, &ll, tol, max_newton, &newton));
  gnorm = hypot(g[0], g[1]);
  SAGD_CHECK(gnorm < tol && isfinite(ll), SAGD_ERR_NUMERIC,
             "Gamma MLE did not converge: after %d BFGS iterations (GSL status %d: %s) and %d "
             "Newton steps |grad loglik|/n = %g at theta = (%g, %g), expected < %g",
             iter, st, gsl_strerror(st), newton, gnorm, th[0], th[1], tol);
  mle[0] = th[0];
  mle[1] = th[1];
  *ll_max = ll;
  return SAGD_OK;
}
