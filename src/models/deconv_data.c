/* The deconvolution experiment's latent truths, data generator and true log-likelihood by
 * Gauss–Hermite quadrature (see include/sagd/deconv.h). The batched model itself is in
 * deconv_model.c. */
#include "sagd/deconv.h"
#include "sagd/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "sagd/error.h"

/* ---- latent truths ----------------------------------------------------------------------- */

#define NORMAL_MU_ 1.0
#define NORMAL_SD_ 0.5
#define EXP_MEAN_ 2.0
#define MIX_W0_ 0.4 /* weight of the first component; the second has 1 - MIX_W0_ */
#define MIX_MU0_ 0.0
#define MIX_MU1_ 3.0
#define MIX_SD_ 0.5

static double normal_sample_(gsl_rng *r) { return NORMAL_MU_ + gsl_ran_gaussian(r, NORMAL_SD_); }
static double normal_cdf_(double z, const void *ctx) {
  (void)ctx;
  return gsl_cdf_gaussian_P(z - NORMAL_MU_, NORMAL_SD_);
}
static double normal_pdf_(double z) { return gsl_ran_gaussian_pdf(z - NORMAL_MU_, NORMAL_SD_); }

static double exp_sample_(gsl_rng *r) { return gsl_ran_exponential(r, EXP_MEAN_); }
static double exp_cdf_(double z, const void *ctx) {
  (void)ctx;
  return gsl_cdf_exponential_P(z, EXP_MEAN_);
}
static double exp_pdf_(double z) { return gsl_ran_exponential_pdf(z, EXP_MEAN_); }

/* Component chosen by one uniform, then one Gaussian draw. */
static double mix_sample_(gsl_rng *r) {
  double mu = gsl_rng_uniform(r) < MIX_W0_ ? MIX_MU0_ : MIX_MU1_;
  return mu + gsl_ran_gaussian(r, MIX_SD_);
}
static double mix_cdf_(double z, const void *ctx) {
  (void)ctx;
  return MIX_W0_ * gsl_cdf_gaussian_P(z - MIX_MU0_, MIX_SD_) +
         (1.0 - MIX_W0_) * gsl_cdf_gaussian_P(z - MIX_MU1_, MIX_SD_);
}
static double mix_pdf_(double z) {
  return MIX_W0_ * gsl_ran_gaussian_pdf(z - MIX_MU0_, MIX_SD_) +
         (1.0 - MIX_W0_) * gsl_ran_gaussian_pdf(z - MIX_MU1_, MIX_SD_);
}

const sagd_truth_type sagd_truth_normal = {"normal", normal_sample_, normal_cdf_, normal_pdf_};
const sagd_truth_type sagd_truth_exponential = {"exponential", exp_sample_, exp_cdf_,
                                                exp_pdf_};
const sagd_truth_type sagd_truth_mixture = {"mixture", mix_sample_, mix_cdf_, mix_pdf_};

static const sagd_truth_type *const truths_[] = {&sagd_truth_normal, &sagd_truth_exponential,
                                                 &sagd_truth_mixture, NULL};

const sagd_truth_type *const *sagd_truth_list(void) { return truths_; }

const sagd_truth_type *sagd_truth_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(truths_), name);
}

/* ---- data ------------------------------------------------------------------------------- */

int sagd_deconv_generate(sagd_rng_key key, const sagd_truth_type *truth, size_t p,
                         size_t i_begin, size_t i_end, double *x, double *z) {
  SAGD_CHECK(truth != NULL && truth->sample != NULL, SAGD_ERR_ARG,
             "deconvolution data: the latent truth must be given");
  SAGD_CHECK(p >= 1, SAGD_ERR_ARG, "deconvolution data: dimension p = %zu, expected >= 1", p);
  sagd_rng_gsl rg = NULL;
  SAGD_CALL(sagd_rng_gsl_for_points("deconvolution data", i_begin, i_end, x, &rg));
  gsl_rng *r = sagd_rng_gsl_get(rg);
  for (size_t i = i_begin; i < i_end; i++) {
    double *xi = x + (i - i_begin) * p;
    /* Point i alone fixes its draws: first the p latent coordinates, then the p noises. */
    sagd_rng_gsl_reset(rg, key, SAGD_STREAM_DATA, (uint64_t)i, 0, 0);
    for (size_t j = 0; j < p; j++) {
      xi[j] = truth->sample(r);
    }
    if (z != NULL) {
      memcpy(z + (i - i_begin) * p, xi, p * sizeof(double));
    }
    for (size_t j = 0; j < p; j++) {
      xi[j] += gsl_ran_gaussian_ziggurat(r, 1.0);
    }
  }
  sagd_rng_gsl_destroy(&rg);
  return SAGD_OK;
}

/* ---- true log-likelihood (r = p = 1) --------------------------------------------------- */

/* The Gauss–Hermite rule of the last `nodes` used (building one costs ~1 ms for 100 nodes,
 * more than the rest of a call for a small block of points, and callers evaluate the
 * likelihood block by block every iteration): nodes u_k and log-weights log w_k of the m
 * representable weights, with the scratch of a call, in one block. Kept for the life of
 * the process; not thread-safe (neither is the generator). */
static struct {
  size_t nodes, m;
  double *u, *logw, *h, *t; /* h, t: per-call scratch for the m nodes */
} gh_cache_ = {0, 0, NULL, NULL, NULL, NULL};

static int gh_rule_(size_t nodes) {
  if (gh_cache_.nodes == nodes) {
    return SAGD_OK;
  }
  /* Weight exp(-u²/2) (a = 0, b = 1/2, alpha = 0): Σ_k w_k g(u_k) ≈ ∫ g(u) e^{-u²/2} du. */
  gsl_integration_fixed_workspace *w =
      gsl_integration_fixed_alloc(gsl_integration_fixed_hermite, nodes, 0.0, 0.5, 0.0, 0.0);
  SAGD_CHECK(w != NULL, SAGD_ERR_NUMERIC,
             "deconvolution log-likelihood: cannot build %zu Gauss-Hermite nodes", nodes);
  /* u, log w, h (up to 2 outputs per node: gaussian_var), t */
  double *u = malloc(5 * nodes * sizeof(double)), *logw = u + nodes;
  if (u == NULL) {
    gsl_integration_fixed_free(w);
    SAGD_FAIL(SAGD_ERR_MEM, "deconvolution log-likelihood: cannot allocate %zu nodes", nodes);
  }
  const double *un = gsl_integration_fixed_nodes(w);
  const double *wn = gsl_integration_fixed_weights(w);
  size_t m = 0;
  for (size_t k = 0; k < nodes; k++) {
    if (wn[k] > 0.0 && isfinite(wn[k]) && isfinite(un[k])) { /* skip underflowed weights */
      u[m] = un[k];
      logw[m] = log(wn[k]);
      m++;
    }
  }
  gsl_integration_fixed_free(w);
  if (m < 20) {
    free(u);
    SAGD_FAIL(SAGD_ERR_NUMERIC,
              "deconvolution log-likelihood: only %zu of %zu Gauss-Hermite weights are "
              "representable, expected at least 20",
              m, nodes);
  }
  free(gh_cache_.u);
  gh_cache_.nodes = nodes;
  gh_cache_.m = m;
  gh_cache_.u = u;
  gh_cache_.logw = logw;
  gh_cache_.h = u + 2 * nodes;
  gh_cache_.t = u + 4 * nodes;
  return SAGD_OK;
}

int sagd_decoder_loglik_quad(sagd_mlp gen, const sagd_likelihood_type *lik,
                             const double *params, const double *x, size_t n, size_t nodes,
                             double *ll) {
  SAGD_CHECK(gen != NULL && lik != NULL && params != NULL && ll != NULL, SAGD_ERR_ARG,
             "deconvolution log-likelihood: generator, likelihood, parameters and output must "
             "be given");
  SAGD_CHECK(x != NULL || n == 0, SAGD_ERR_ARG, "deconvolution log-likelihood: x is NULL");
  const size_t w = lik->outputs;
  SAGD_CHECK(sagd_mlp_in(gen) == 1 && sagd_mlp_out(gen) == w && w <= 2, SAGD_ERR_ARG,
             "deconvolution log-likelihood by quadrature: generator is %zu -> %zu, expected "
             "1 -> %zu (latent and data dimension 1, likelihood %s)",
             sagd_mlp_in(gen), sagd_mlp_out(gen), w, lik->name);
  SAGD_CHECK(nodes >= 20, SAGD_ERR_ARG,
             "deconvolution log-likelihood: nodes = %zu, expected at least 20 Gauss-Hermite "
             "nodes",
             nodes);
  SAGD_CHECK(sagd_mlp_max_batch(gen) >= nodes, SAGD_ERR_ARG,
             "deconvolution log-likelihood: the generator's max_batch = %zu is below the %zu "
             "quadrature nodes evaluated as one batch",
             sagd_mlp_max_batch(gen), nodes);
  SAGD_CALL(lik->check_data(x, n, 1, 0));

  SAGD_CALL(gh_rule_(nodes)); /* cached: rebuilt only when `nodes` changes */
  const size_t m = gh_cache_.m;
  const double *u = gh_cache_.u, *logw = gh_cache_.logw;
  double *h = gh_cache_.h, *t = gh_cache_.t;
  SAGD_CALL(sagd_mlp_forward(gen, params, m, u, h));
  for (size_t k = 0; k < m * w; k++) {
    SAGD_CHECK(isfinite(h[k]), SAGD_ERR_NUMERIC,
               "deconvolution log-likelihood: generator output h(%g) = %g at quadrature node "
               "%zu, expected a finite value",
               u[k / w], h[k], k / w);
  }
  /* p(x) = ∫ p(x | h(u)) φ(u) du ≈ Σ_k w_k e^{-ℓ_k - c}, φ(u) = e^{-u²/2}/√(2π): c = the
   * likelihood's constant + the prior's (Gaussian: log 2π) */
  const double c = lik->constant(1) + sagd_prior_constant(1);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    /* log Σ_k exp(t_k), t_k = log w_k - c - ℓ(x_i | h_k), by log-sum-exp. */
    double tmax = -INFINITY;
    for (size_t k = 0; k < m; k++) {
      double l = 0;
      lik->nll_row(h + k * w, x + i, 1, 1.0, &l, NULL);
      t[k] = (logw[k] - c) - l;
      tmax = t[k] > tmax ? t[k] : tmax;
    }
    double s = 0.0;
    for (size_t k = 0; k < m; k++) {
      s += exp(t[k] - tmax);
    }
    sum += tmax + log(s);
  }
  *ll = sum;
  return SAGD_OK;
}

int sagd_deconv_loglik_quad(sagd_mlp gen, const double *params, const double *x, size_t n,
                            size_t nodes, double *ll) {
  SAGD_CALL(sagd_decoder_loglik_quad(gen, &sagd_likelihood_gaussian, params, x, n, nodes, ll));
  return SAGD_OK;
}
