/**
 * @file gamma.h
 * @brief The Gamma-sigmoid latent-variable model of the automated-EM experiment
 *        (paper Figure 1), its data generator and its exact (quadrature) reference.
 *
 *   Z_i ~ N(0,1),  X_i | Z_i ~ Gamma(shape s = S·σ(a + b Z_i), rate 1),  θ = (a, b)
 * with S = shape_scale (10 in the paper). Per data point, with u the latent:
 *   f(θ; x, u) = -log p(x, u; θ) = u²/2 + log Γ(s) - (s-1) log x + x + log √(2π)
 *   ∂f/∂a = (ψ(s) - log x)·S·σ(1-σ),  ∂f/∂b = u·∂f/∂a,  ∂f/∂u = u + b·(ψ(s) - log x)·S·σ(1-σ)
 */
#ifndef SAGD_GAMMA_H
#define SAGD_GAMMA_H

#include "sagd/model.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Generate data points i in [i_begin, i_end): z[i-i_begin] ~ N(0,1) and x ~ Gamma(s, 1),
 *  each a pure function of (key, i) (stream SAGD_STREAM_DATA), so any rank can generate
 *  any shard. z may be NULL. */
int sagd_gamma_generate(sagd_rng_key key, double a, double b, double shape_scale,
                        size_t i_begin, size_t i_end, double *x, double *z);

/** Check data: every x finite and > 0; the message names the first bad (global) index and
 *  value. i0 is the global index of x[0]. Returns SAGD_ERR_DATA on failure. */
int sagd_gamma_check_data(const double *x, size_t count, size_t i0);

/** The batched model (r = 1, p = 2) over the shard x_local = x[i_begin..i_end) (copied and
 *  checked as above). Its potential is V(u) = f(θ; x_i, u), constants included; it is
 *  finite for every finite a + b·u and fails with SAGD_ERR_NUMERIC otherwise. */
int sagd_gamma_model_create(const double *x_local, size_t n, size_t i_begin, size_t i_end,
                            double shape_scale, sagd_model *m);

/** Exact reference by Gauss–Hermite quadrature (GSL gsl_integration_fixed, weight
 *  exp(-u²/2), nodes >= 64) over the full data set x[0..n) (copied). Accuracy falls as |b|
 *  grows (σ(a + b u) has poles at distance π/|b| from the real axis): 64 nodes give ~1e-8
 *  relative for |b| <= 1.2, |b| = 2 needs ~200. The handle holds scratch space: one thread
 *  at a time. */
typedef struct sagd_gamma_quad_s *sagd_gamma_quad;
int sagd_gamma_quad_create(const double *x, size_t n, size_t nodes, double shape_scale,
                           sagd_gamma_quad *q);
void sagd_gamma_quad_destroy(sagd_gamma_quad *q);
/** Marginal log-likelihood Σ_i log p(x_i; θ), and its gradient (grad may be NULL). */
int sagd_gamma_quad_loglik(sagd_gamma_quad q, const double theta[2], double *ll,
                           double grad[2]);
/** The exact M-step gradient: g = (1/n) Σ_i E_{u ~ p(u | x_i; θ_target)} ∇_θ f(θ; x_i, u)
 *  (the gradient of -Q(θ; θ_target)/n). */
int sagd_gamma_quad_qgrad(sagd_gamma_quad q, const double theta_target[2],
                          const double theta[2], double g[2]);
/** Posterior mean (and variance; var may be NULL) of u given x_i under θ, i in [0, n). */
int sagd_gamma_quad_posterior(sagd_gamma_quad q, const double theta[2], size_t i,
                              double *mean, double *var);
/** Maximise the quadrature log-likelihood from theta0 (GSL multimin, BFGS, then Newton
 *  polish); returns the maximiser and the maximum. Converged means |∇ loglik| < 1e-8·n,
 *  SAGD_ERR_NUMERIC otherwise. (p(x; a, b) = p(x; a, -b): the sign of b follows theta0.) */
int sagd_gamma_quad_mle(sagd_gamma_quad q, const double theta0[2], double mle[2],
                        double *ll_max);

#ifdef __cplusplus
}
#endif
#endif
