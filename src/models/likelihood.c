/* Observation models of the VAE family (see include/sagd/likelihood.h). */
#include "sagd/likelihood.h"
#include "sagd/registry.h"

#include <math.h>
#include <string.h>

#include "sagd/error.h"

static const double LOG_2PI = 1.8378770664093454836;

double sagd_prior_constant(size_t r) { return 0.5 * (double)r * LOG_2PI; }

/* ---- gaussian: N(η, I) --------------------------------------------------------------------- */

static void gauss_nll_row_(const double *eta, const double *x, size_t p, double scale,
                           double *acc, double *deta) {
  double s = *acc;
  for (size_t j = 0; j < p; j++) {
    const double d = eta[j] - x[j];
    s += 0.5 * d * d;
    if (deta != NULL) {
      deta[j] = d * scale;
    }
  }
  *acc = s;
}

static double gauss_constant_(size_t p) { return 0.5 * (double)p * LOG_2PI; }

static int gauss_check_(const double *x, size_t n, size_t p, size_t i0) {
  for (size_t i = 0; i < n * p; i++) {
    SAGD_CHECK(isfinite(x[i]), SAGD_ERR_DATA,
               "likelihood gaussian: x[%zu][%zu] = %g: expected a finite value", i0 + i / p,
               i % p, x[i]);
  }
  return SAGD_OK;
}

static void gauss_mean_(const double *eta, size_t p, double *out) {
  memmove(out, eta, p * sizeof(double));
}

const sagd_likelihood_type sagd_likelihood_gaussian = {
    "gaussian", "x ~ N(decoder output, I)", 1, gauss_nll_row_, gauss_constant_, gauss_check_,
    gauss_mean_};

/* ---- gaussian_var: N(μ, diag e^ℓ), η = (μ_0..μ_{p-1}, ℓ_0..ℓ_{p-1}) -------------------------- */

static void gvar_nll_row_(const double *eta, const double *x, size_t p, double scale,
                          double *acc, double *deta) {
  double s = *acc;
  for (size_t j = 0; j < p; j++) {
    const double d = eta[j] - x[j], l = eta[p + j], iv = exp(-l), dd = d * d * iv;
    s += 0.5 * (dd + l);
    if (deta != NULL) { /* both read above: in place is safe */
      deta[j] = d * iv * scale;
      deta[p + j] = 0.5 * (1.0 - dd) * scale;
    }
  }
  *acc = s;
}

const sagd_likelihood_type sagd_likelihood_gaussian_var = {
    "gaussian_var", "x ~ N(mu, diag exp(l)): the decoder gives mu and l = log variance", 2,
    gvar_nll_row_, gauss_constant_, gauss_check_, gauss_mean_};

void sagd_likelihood_locations(size_t m, size_t w, size_t p, double *rows) {
  if (w == p) {
    return;
  }
  for (size_t i = 0; i < m; i++) { /* row i moves down from i·w to i·p <= i·w */
    memmove(rows + i * p, rows + i * w, p * sizeof(double));
  }
}

/* ---- bernoulli: η are logits ------------------------------------------------------------------ */

/* softplus(η) = max(η, 0) + log1p(e^-|η|) and σ(η) from the same exponential: no overflow */
static void bern_nll_row_(const double *eta, const double *x, size_t p, double scale,
                          double *acc, double *deta) {
  double s = *acc;
  for (size_t j = 0; j < p; j++) {
    const double e = eta[j], z = exp(-fabs(e));
    s += (e > 0 ? e : 0) + log1p(z) - x[j] * e;
    if (deta != NULL) {
      const double sig = e >= 0 ? 1 / (1 + z) : z / (1 + z);
      deta[j] = (sig - x[j]) * scale;
    }
  }
  *acc = s;
}

static double bern_constant_(size_t p) {
  (void)p;
  return 0;
}

static int bern_check_(const double *x, size_t n, size_t p, size_t i0) {
  for (size_t i = 0; i < n * p; i++) {
    SAGD_CHECK(x[i] >= 0 && x[i] <= 1, SAGD_ERR_DATA,
               "likelihood bernoulli: x[%zu][%zu] = %g: expected a value in [0, 1]",
               i0 + i / p, i % p, x[i]);
  }
  return SAGD_OK;
}

static void bern_mean_(const double *eta, size_t p, double *out) {
  for (size_t j = 0; j < p; j++) {
    const double z = exp(-fabs(eta[j]));
    out[j] = eta[j] >= 0 ? 1 / (1 + z) : z / (1 + z);
  }
}

const sagd_likelihood_type sagd_likelihood_bernoulli = {
    "bernoulli", "x ~ Bernoulli(sigmoid(decoder output)), x in [0, 1]", 1, bern_nll_row_,
    bern_constant_, bern_check_, bern_mean_};

/* ---- the registry ------------------------------------------------------------------------------ */

static const sagd_likelihood_type *const likelihoods_[] = {
    &sagd_likelihood_gaussian, &sagd_likelihood_bernoulli, &sagd_likelihood_gaussian_var, NULL};

const sagd_likelihood_type *const *sagd_likelihood_list(void) { return likelihoods_; }

const sagd_likelihood_type *sagd_likelihood_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(likelihoods_), name);
}
