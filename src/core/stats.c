/* Distances between a sample and a distribution (see include/sagd/stats.h).
 *
 * KS: for the sorted sample z_(1) <= ... <= z_(n), F̂ jumps from (k-1)/n to k/n at z_(k), so
 * with F continuous the supremum of |F̂ - F| is attained next to a jump:
 *   D = max_k max(k/n - F(z_(k)), F(z_(k)) - (k-1)/n).
 *
 * W1 = ∫|F̂ - F| dz is a sum of pieces on which F̂ = c is constant: the n - 1 gaps
 * [z_(k), z_(k+1)] (c = k/n), the left tail (-∞, z_(1)] (c = 0) and the right tail
 * [z_(n), ∞) (c = 1). F being non-decreasing, a piece is cut
 *  - where F crosses c (located by Brent's method), so each side has the smooth signed
 *    integrand ±(F - c) and the kink of |F - c| is never inside a quadrature interval;
 *  - where F crosses the middle level while it rises by more than 1/W1_LEVELS_ across the
 *    piece, so no quadrature interval hides a large rise of F between its nodes (a sample far
 *    from the distribution, a gap wider than its scale);
 *  - at a support edge (F exactly 0 on one side, or exactly 1), located by bisection;
 *  - in the tails, beyond F = 1/W1_LEVELS_ (resp. 1 - F), at the points where the integrand
 *    halves, down to W1_TAIL_FLOOR_; the improper rule (qagil / qagiu) takes the rest.
 * Each resulting interval is integrated by qags, which for a sample of the distribution
 * usually stops after its first 21-point Gauss–Kronrod rule. */
#include "sagd/stats.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "sagd/error.h"

#define W1_LIMIT_ 1000       /* subintervals of the adaptive quadrature workspace */
#define W1_EPSREL_ 1e-10     /* relative tolerance of each piece */
#define W1_EPSABS_MAX_ 1e-12 /* absolute tolerance of each piece (at most) */
#define W1_ROOT_ITER_ 100    /* Brent iterations for one cut */
#define W1_LEVELS_ 1024.0    /* no quadrature interval spans a rise of F above 1/W1_LEVELS_ */
#define W1_DEPTH_ 64         /* ... unless cut this many times (a jump of F) */
#define W1_TAIL_FLOOR_ 1e-13 /* tails are cut at halving levels down to this integrand */

/* Returns the index of the first non-finite value, or n if all are finite. */
static size_t first_nonfinite_(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(v[i])) {
      return i;
    }
  }
  return n;
}

double sagd_stats_ks(double *sample, size_t n, sagd_cdf_fn cdf, const void *ctx) {
  if (n == 0 || sample == NULL || cdf == NULL || first_nonfinite_(sample, n) < n) {
    return NAN;
  }
  gsl_sort(sample, 1, n);
  const double dn = (double)n;
  double d = 0.0;
  for (size_t k = 0; k < n; k++) {
    double F = cdf(sample[k], ctx);
    if (isnan(F)) {
      return NAN;
    }
    double above = (double)(k + 1) / dn - F; /* just after the jump at z_(k+1) */
    double below = F - (double)k / dn;       /* just before it */
    if (above > d) {
      d = above;
    }
    if (below > d) {
      d = below;
    }
  }
  return d;
}

/* The signed integrand s·(F(z) - c), and F(z) - level for root finding. */
typedef struct {
  sagd_cdf_fn cdf;
  const void *ctx;
  double c, s, level;
} w1_par_;

static double signed_piece_(double z, void *vp) {
  const w1_par_ *p = vp;
  return p->s * (p->cdf(z, p->ctx) - p->c);
}

static double cdf_minus_level_(double z, void *vp) {
  const w1_par_ *p = vp;
  return p->cdf(z, p->ctx) - p->level;
}

typedef struct {
  gsl_integration_workspace *ws;
  gsl_root_fsolver *root;
  double epsabs;
} w1_work_;

/* A point q in [a, b] with F(q) = level, given F(a) <= level <= F(b), by Brent's method. A
 * crossing of c off by δ changes the result by about f(q)·δ²: a relative width of 1e-9 of the
 * bracket is far below the quadrature tolerance (and level cuts need no precision at all). */
static int level_point_(w1_work_ *w, w1_par_ *par, double a, double b, double level,
                        double *q) {
  par->level = level;
  gsl_function fn = {cdf_minus_level_, par};
  int st = gsl_root_fsolver_set(w->root, &fn, a, b);
  SAGD_CHECK(st == GSL_SUCCESS, SAGD_ERR_NUMERIC,
             "W1: cannot bracket F(z) = %.17g on [%.17g, %.17g] (%s); is the CDF "
             "non-decreasing?",
             level, a, b, gsl_strerror(st));
  const double xtol = 1e-9 * (b - a);
  for (int it = 0; it < W1_ROOT_ITER_; it++) {
    st = gsl_root_fsolver_iterate(w->root);
    if (st != GSL_SUCCESS) {
      break;
    }
    double lo = gsl_root_fsolver_x_lower(w->root), hi = gsl_root_fsolver_x_upper(w->root);
    if (hi - lo <= xtol ||
        gsl_root_test_interval(lo, hi, 0.0, 4.0 * GSL_DBL_EPSILON) == GSL_SUCCESS) {
      break;
    }
  }
  *q = gsl_root_fsolver_root(w->root);
  if (!(*q >= a && *q <= b)) {
    *q = 0.5 * (a + b);
  }
  return SAGD_OK;
}

/* Where F leaves 0 (to_one = 0: F(a) = 0 < F(b); returns the last point found with F = 0) or
 * reaches 1 (to_one = 1: F(a) < 1 = F(b); returns the first point found with F = 1), by
 * bisection to 1e-12 of the interval: a support edge, where F has a kink. */
static double edge_(const w1_par_ *par, double a, double b, int to_one) {
  double lo = a, hi = b;
  for (int it = 0; it < 200 && hi - lo > 1e-12 * (b - a); it++) {
    double mid = 0.5 * (lo + hi), Fm = par->cdf(mid, par->ctx);
    int at_edge_side = to_one ? Fm < 1.0 : Fm == 0.0; /* mid is on lo's side */
    if (at_edge_side) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return to_one ? hi : lo;
}

#define EDGE0_ 1u /* a is known to be where F leaves 0 */
#define EDGE1_ 2u /* b is known to be where F reaches 1 */

/* ∫_a^b |F - c| dz (c = par->c) added to *sum, given Fa = F(a), Fb = F(b): cut at a support
 * edge (F exactly 0 or 1 on one side), at the crossing of c, then at middle levels while F
 * rises by more than 1/W1_LEVELS_; then qags on the smooth signed integrand. */
static int piece_(w1_work_ *w, w1_par_ *par, double a, double b, double Fa, double Fb,
                  unsigned flags, int depth, double *sum) {
  if (!(b > a)) {
    return SAGD_OK;
  }
  const double c = par->c;
  if (depth < W1_DEPTH_) {
    if (Fa == 0.0 && Fb > 0.0 && !(flags & EDGE0_)) {
      double e = edge_(par, a, b, 0);
      SAGD_CALL(piece_(w, par, a, e, 0.0, 0.0, 0u, depth + 1, sum));
      SAGD_CALL(piece_(w, par, e, b, 0.0, Fb, (flags & EDGE1_) | EDGE0_, depth + 1, sum));
      return SAGD_OK;
    }
    if (Fb == 1.0 && Fa < 1.0 && !(flags & EDGE1_)) {
      double e = edge_(par, a, b, 1);
      SAGD_CALL(piece_(w, par, a, e, Fa, 1.0, (flags & EDGE0_) | EDGE1_, depth + 1, sum));
      SAGD_CALL(piece_(w, par, e, b, 1.0, 1.0, 0u, depth + 1, sum));
      return SAGD_OK;
    }
    int cut = 0;
    double level = 0.0;
    if (Fa < c && c < Fb) {
      cut = 1;
      level = c;
    } else if (Fb - Fa > 1.0 / W1_LEVELS_) {
      cut = 2;
      level = 0.5 * (Fa + Fb);
    }
    if (cut != 0) {
      double q = 0.0;
      SAGD_CALL(level_point_(w, par, a, b, level, &q));
      if (q > a && q < b) {
        double Fq = cut == 1 ? c : par->cdf(q, par->ctx);
        SAGD_CHECK(isfinite(Fq), SAGD_ERR_NUMERIC,
                   "W1: the CDF is not finite at %.17g (F = %g)", q, Fq);
        SAGD_CALL(piece_(w, par, a, q, Fa, Fq, flags & EDGE0_, depth + 1, sum));
        SAGD_CALL(piece_(w, par, q, b, Fq, Fb, flags & EDGE1_, depth + 1, sum));
        return SAGD_OK;
      }
    }
  }
  par->s = Fa + Fb >= 2.0 * c ? 1.0 : -1.0; /* the sign of F - c on the piece */
  gsl_function fn = {signed_piece_, par};
  double res = 0.0, err = 0.0;
  int st = gsl_integration_qags(&fn, a, b, w->epsabs, W1_EPSREL_, W1_LIMIT_, w->ws, &res, &err);
  SAGD_CHECK(st == GSL_SUCCESS, SAGD_ERR_NUMERIC,
             "W1: quadrature of |F - %g| on [%.17g, %.17g] failed (%s; estimate %g, error "
             "%g); is the CDF continuous and non-decreasing?",
             c, a, b, gsl_strerror(st), res, err);
  *sum += res;
  return SAGD_OK;
}

/* The tail beyond the extreme sample point e: dir = -1 is ∫_{-∞}^{e} F (c = 0), dir = +1 is
 * ∫_{e}^{∞} (1 - F) (c = 1); g denotes that integrand. Outwards from e, the points where g
 * falls to 1/W1_LEVELS_ (if above) and then halves each time are bracketed by steps that
 * double from h and found by Brent's method; each interval in between is a piece_. A bracket
 * reaching g = 0 exactly holds a support edge: that last piece_ finds it and ends the tail.
 * Below W1_TAIL_FLOOR_ the improper rule (qagil / qagiu) integrates the rest. */
static int tail_(w1_work_ *w, w1_par_ *par, double e, int dir, double h, double *sum) {
  const double c = dir < 0 ? 0.0 : 1.0;
  par->c = c;
  double inner = e, Fi = par->cdf(e, par->ctx);
  double gi = dir < 0 ? Fi : 1.0 - Fi, step = h;
  SAGD_CHECK(gi >= 0.0 && gi <= 1.0, SAGD_ERR_NUMERIC,
             "W1: the CDF at %.17g is %g, expected a value in [0, 1]", e, Fi);
  for (int level = 0; gi >= W1_TAIL_FLOOR_; level++) {
    SAGD_CHECK(level < 4000, SAGD_ERR_NUMERIC,
               "W1: the %s tail beyond %.17g does not converge (F = %g at %.17g)",
               dir < 0 ? "left" : "right", e, Fi, inner);
    const double L = gi > 1.0 / W1_LEVELS_ ? 1.0 / W1_LEVELS_ : 0.5 * gi;
    double outer = inner, go = gi, Fo = Fi;
    for (int it = 0; go > L; it++) {
      outer = inner + dir * step;
      SAGD_CHECK(isfinite(outer) && it < 4000, SAGD_ERR_NUMERIC,
                 "W1: the CDF does not reach %g beyond %.17g (F = %g there); expected a CDF "
                 "tending to 0 at -inf and 1 at +inf",
                 dir < 0 ? L : 1.0 - L, inner, Fi);
      Fo = par->cdf(outer, par->ctx);
      go = dir < 0 ? Fo : 1.0 - Fo;
      if (go > L) {
        step *= 2.0;
      }
    }
    double lo = dir < 0 ? outer : inner, hi = dir < 0 ? inner : outer;
    double Flo = dir < 0 ? Fo : Fi, Fhi = dir < 0 ? Fi : Fo;
    if (go == 0.0) { /* a support edge in [lo, hi]; nothing beyond it */
      SAGD_CALL(piece_(w, par, lo, hi, Flo, Fhi, 0u, 0, sum));
      return SAGD_OK;
    }
    double q = 0.0;
    SAGD_CALL(level_point_(w, par, lo, hi, dir < 0 ? L : 1.0 - L, &q));
    if (q == inner) { /* no progress (a flat or jumping CDF): take the whole bracket */
      q = outer;
    }
    double Fq = par->cdf(q, par->ctx);
    SAGD_CALL(dir < 0 ? piece_(w, par, q, inner, Fq, Fi, 0u, 0, sum)
                      : piece_(w, par, inner, q, Fi, Fq, 0u, 0, sum));
    step = fmax(h, fabs(q - inner));
    inner = q;
    Fi = Fq;
    gi = dir < 0 ? Fi : 1.0 - Fi;
    if (gi == 0.0) {
      return SAGD_OK;
    }
  }
  par->s = dir < 0 ? 1.0 : -1.0;
  gsl_function fn = {signed_piece_, par};
  double res = 0.0, err = 0.0;
  int st;
  if (dir < 0) {
    st = gsl_integration_qagil(&fn, inner, w->epsabs, W1_EPSREL_, W1_LIMIT_, w->ws, &res, &err);
  } else {
    st = gsl_integration_qagiu(&fn, inner, w->epsabs, W1_EPSREL_, W1_LIMIT_, w->ws, &res, &err);
  }
  SAGD_CHECK(st == GSL_SUCCESS, SAGD_ERR_NUMERIC,
             "W1: %s tail beyond %.17g failed (%s; estimate %g, error %g); does the "
             "distribution have a finite mean?",
             dir < 0 ? "left" : "right", inner, gsl_strerror(st), res, err);
  *sum += res;
  return SAGD_OK;
}

static int w1_sorted_(w1_work_ *w, const double *z, size_t n, sagd_cdf_fn cdf,
                      const void *ctx, double *w1) {
  w1_par_ par = {cdf, ctx, 0.0, 1.0, 0.0};
  double sum = 0.0;

  /* The tails' first bracketing step: the mean gap (or a small scale if all points
   * coincide). */
  const double range = z[n - 1] - z[0];
  const double h = range > 0.0 ? range / (double)n : 1e-3 * fmax(1.0, fabs(z[0]));
  SAGD_CALL(tail_(w, &par, z[0], -1, h, &sum));
  SAGD_CALL(tail_(w, &par, z[n - 1], 1, h, &sum));

  const double dn = (double)n;
  double Fa = cdf(z[0], ctx);
  for (size_t k = 1; k < n; k++) {
    double Fb = cdf(z[k], ctx);
    SAGD_CHECK(isfinite(Fa) && isfinite(Fb), SAGD_ERR_NUMERIC,
               "W1: the CDF is not finite at %.17g or %.17g (F = %g, %g)", z[k - 1], z[k], Fa,
               Fb);
    par.c = (double)k / dn;
    SAGD_CALL(piece_(w, &par, z[k - 1], z[k], Fa, Fb, 0u, 0, &sum));
    Fa = Fb;
  }
  *w1 = sum;
  return SAGD_OK;
}

int sagd_stats_w1(double *sample, size_t n, sagd_cdf_fn cdf, const void *ctx, double *w1) {
  SAGD_CHECK(w1 != NULL && cdf != NULL, SAGD_ERR_ARG, "W1: the CDF and output must be given");
  SAGD_CHECK(n >= 1, SAGD_ERR_ARG, "W1: sample size n = %zu, expected at least 1", n);
  SAGD_CHECK(sample != NULL, SAGD_ERR_ARG, "W1: the sample is NULL");
  size_t bad = first_nonfinite_(sample, n);
  SAGD_CHECK(bad == n, SAGD_ERR_NUMERIC, "W1: sample[%zu] = %g, expected a finite value", bad,
             bad < n ? sample[bad] : 0.0);
  gsl_sort(sample, 1, n);

  w1_work_ w = {NULL, NULL, 0.0};
  /* Per-piece absolute tolerance: the n + 1 pieces together stay below ~1e-9. */
  w.epsabs = fmin(W1_EPSABS_MAX_, 1e-9 / (double)(n + 1));
  w.ws = gsl_integration_workspace_alloc(W1_LIMIT_);
  w.root = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
  if (w.ws == NULL || w.root == NULL) {
    if (w.ws != NULL) {
      gsl_integration_workspace_free(w.ws);
    }
    if (w.root != NULL) {
      gsl_root_fsolver_free(w.root);
    }
    SAGD_FAIL(SAGD_ERR_MEM, "W1: cannot allocate the quadrature workspace");
  }
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int rc = w1_sorted_(&w, sample, n, cdf, ctx, w1);
  gsl_set_error_handler(old);
  gsl_integration_workspace_free(w.ws);
  gsl_root_fsolver_free(w.root);
  if (rc != SAGD_OK) {
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  return SAGD_OK;
}

void sagd_stats_mean_se(const double *v, size_t n, double *mean, double *se) {
  if (n == 0 || v == NULL) {
    *mean = NAN;
    *se = NAN;
    return;
  }
  double m = gsl_stats_mean(v, 1, n);
  *mean = m;
  *se = n > 1 ? gsl_stats_sd_m(v, 1, n, m) / sqrt((double)n) : 0.0;
}
