/* An independent reference for the Gamma-sigmoid model, written directly from the model's
 * definition (gsl_ran_gamma_pdf, the naive logistic, ψ) and integrated over the real line
 * by adaptive quadrature (gsl_integration_qagi), sharing no code with src/models/gamma.c.
 * Valid for moderate a + b·u (the tests use |a + b u| well inside the double range). */
#ifndef SAGD_TEST_GAMMA_REF_H
#define SAGD_TEST_GAMMA_REF_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdio.h>

#include "testutil.h"

/* Beyond |u| = 60 the N(0,1) density is below 1e-780: exactly 0 in double. */
#define REF_UMAX 60.0

static inline double ref_sigmoid(double t) { return 1.0 / (1.0 + exp(-t)); }

/* p(x | u; a, b) = Gamma(x; shape S σ(a + b u), rate 1). */
static inline double ref_pcond(double S, double a, double b, double x, double u) {
  return gsl_ran_gamma_pdf(x, S * ref_sigmoid(a + b * u), 1.0);
}

/* ∂f/∂a = (ψ(s) - log x) S σ (1 - σ), straight from the header's formula. */
static inline double ref_dfda(double S, double a, double b, double x, double u) {
  double sg = ref_sigmoid(a + b * u);
  return (gsl_sf_psi(S * sg) - log(x)) * S * sg * (1.0 - sg);
}

static gsl_integration_workspace *ref_ws_ = NULL;

/* ∫_R f(u) du by gsl_integration_qagi to relative 1e-12 (absolute epsabs). A failure to
 * converge is a test failure (it would make the reference meaningless). */
static inline double ref_qagi(double (*f)(double, void *), void *params, double epsabs) {
  if (ref_ws_ == NULL) {
    gsl_set_error_handler_off();
    ref_ws_ = gsl_integration_workspace_alloc(2000);
  }
  gsl_function F = {f, params};
  double res = 0.0, err = 0.0;
  int st = gsl_integration_qagi(&F, epsabs, 1e-12, 2000, ref_ws_, &res, &err);
  if (st != GSL_SUCCESS && !(err <= 1e-11 * fabs(res) + epsabs)) {
    fprintf(stderr, "reference qagi failed: %s (result %.17g, error %.3g)\n",
            gsl_strerror(st), res, err);
    test_failures_++;
  }
  return res;
}

/* Integrands over u for one data point x under θ_target = (at, bt) and θ = (a, b). */
typedef struct {
  double S, at, bt, a, b, x;
  double logZ; /* log ∫ φ(u) p(x | u; θ_target) du, for the normalised integrands */
  int power;   /* u^power in ref_post_moment_ */
} ref_point;

static inline double ref_joint_(double u, void *vp) { /* φ(u) p(x | u; θ_target) */
  const ref_point *p = vp;
  if (fabs(u) > REF_UMAX) {
    return 0.0;
  }
  return gsl_ran_ugaussian_pdf(u) * ref_pcond(p->S, p->at, p->bt, p->x, u);
}

static inline double ref_post_moment_(double u, void *vp) { /* u^k × posterior density */
  const ref_point *p = vp;
  if (fabs(u) > REF_UMAX) {
    return 0.0;
  }
  return pow(u, p->power) * exp(log(ref_joint_(u, vp)) - p->logZ);
}

static inline double ref_post_dfda_(double u, void *vp) { /* u^k ∂f/∂a(θ) × posterior(θ_target) */
  const ref_point *p = vp;
  if (fabs(u) > REF_UMAX) {
    return 0.0;
  }
  double post = exp(log(ref_joint_(u, vp)) - p->logZ);
  return pow(u, p->power) * ref_dfda(p->S, p->a, p->b, p->x, u) * post;
}

/* log p(x; θ) = log ∫ φ(u) p(x | u; θ) du. */
static inline double ref_logmarg(double S, const double th[2], double x) {
  ref_point p = {S, th[0], th[1], th[0], th[1], x, 0.0, 0};
  return log(ref_qagi(ref_joint_, &p, 0.0));
}

static inline double ref_loglik(double S, const double th[2], const double *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += ref_logmarg(S, th, x[i]);
  }
  return s;
}

/* E[u^k | x; θ]. */
static inline double ref_post_moment(double S, const double th[2], double x, int k) {
  ref_point p = {S, th[0], th[1], th[0], th[1], x, ref_logmarg(S, th, x), k};
  return ref_qagi(ref_post_moment_, &p, 1e-300);
}

/* (1/n) Σ_i E_{u ~ p(u | x_i; θ_target)} ∇_θ f(θ; x_i, u), one data point at a time. */
static inline void ref_qgrad(double S, const double tt[2], const double th[2], const double *x,
                      size_t n, double g[2]) {
  g[0] = g[1] = 0.0;
  for (size_t i = 0; i < n; i++) {
    ref_point p = {S, tt[0], tt[1], th[0], th[1], x[i], ref_logmarg(S, tt, x[i]), 0};
    g[0] += ref_qagi(ref_post_dfda_, &p, 1e-14);
    p.power = 1;
    g[1] += ref_qagi(ref_post_dfda_, &p, 1e-14);
  }
  g[0] /= (double)n;
  g[1] /= (double)n;
}

#endif
