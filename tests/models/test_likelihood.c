/* The likelihood types against independent references:
 *  - gaussian: -log p equals -Σ log gsl_ran_gaussian_pdf (GSL) to 1e-13; gaussian_var
 *    (learned variance, 2p outputs) equals it with σ_j = exp(ℓ_j / 2);
 *  - bernoulli: equals -Σ [x log σ(η) + (1 - x) log(1 - σ(η))] (GSL's logistic CDF) for
 *    moderate η, and stays finite with the right asymptote for |η| = 800;
 *  - both gradients equal central finite differences of nll_row (1e-7 relative); the scale
 *    multiplies them; in place (deta = eta) gives the same numbers; accumulation starts
 *    from *acc;
 *  - mean: the identity / σ(η) (GSL); check_data rejects what is outside the support,
 *    naming the index; the registry finds both by name and nothing else. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sagd/likelihood.h"
#include "testutil.h"

/* ∂/∂η_k for all outputs·p outputs k of a row of p data values. */
static void check_grad_(const sagd_likelihood_type *L, const double *eta0, const double *x,
                        size_t p) {
  const size_t w = L->outputs * p;
  double eta[16], g[16], g2[16], acc = 0;
  memcpy(eta, eta0, w * sizeof(double));
  L->nll_row(eta, x, p, 1.0, &acc, g);
  L->nll_row(eta, x, p, 0.25, &acc, g2);
  for (size_t j = 0; j < w; j++) {
    const double h = 1e-6, keep = eta[j];
    double lp = 0, lm = 0;
    eta[j] = keep + h;
    L->nll_row(eta, x, p, 1.0, &lp, NULL);
    eta[j] = keep - h;
    L->nll_row(eta, x, p, 1.0, &lm, NULL);
    eta[j] = keep;
    const double fd = (lp - lm) / (2 * h);
    CHECK(fabs(fd - g[j]) <= 1e-7 * (1 + fabs(fd)));
    CHECK(g2[j] == 0.25 * g[j]);
  }
  double in[16], acc1 = 3.5, acc2 = 0;
  memcpy(in, eta, w * sizeof(double));
  L->nll_row(in, x, p, 1.0, &acc1, in); /* in place */
  L->nll_row(eta, x, p, 1.0, &acc2, NULL);
  for (size_t j = 0; j < w; j++) {
    CHECK(in[j] == g[j]);
  }
  CHECK(fabs(acc1 - (3.5 + acc2)) <= 1e-14 * fabs(acc1)); /* adds to *acc */
}

int main(void) {
  const double eta[5] = {-2.5, -0.3, 0.0, 0.7, 3.1}, xg[5] = {-1.0, 0.2, 0.4, 2.0, 2.9};
  const double xb[5] = {0, 1, 0.5, 1, 0};
  /* gaussian against GSL's density */
  {
    const sagd_likelihood_type *L = &sagd_likelihood_gaussian;
    double acc = 0, ref = 0;
    L->nll_row(eta, xg, 5, 1.0, &acc, NULL);
    for (int j = 0; j < 5; j++) {
      ref -= log(gsl_ran_gaussian_pdf(xg[j] - eta[j], 1.0));
    }
    printf("gaussian: -log p = %.15g, GSL %.15g\n", acc + L->constant(5), ref);
    CHECK(fabs(acc + L->constant(5) - ref) <= 1e-13 * fabs(ref));
    check_grad_(L, eta, xg, 5);
    double m[5];
    L->mean(eta, 5, m);
    CHECK(memcmp(m, eta, sizeof m) == 0);
  }
  /* gaussian_var: η = (μ, ℓ), against GSL's density with σ = exp(ℓ/2) */
  {
    const sagd_likelihood_type *L = &sagd_likelihood_gaussian_var;
    const double ev[10] = {-2.5, -0.3, 0.0, 0.7, 3.1, 0.4, -1.2, 0.0, 2.3, -0.05};
    double acc = 0, ref = 0;
    CHECK(L->outputs == 2);
    L->nll_row(ev, xg, 5, 1.0, &acc, NULL);
    for (int j = 0; j < 5; j++) {
      ref -= log(gsl_ran_gaussian_pdf(xg[j] - ev[j], exp(0.5 * ev[5 + j])));
    }
    printf("gaussian_var: -log p = %.15g, GSL %.15g\n", acc + L->constant(5), ref);
    CHECK(fabs(acc + L->constant(5) - ref) <= 1e-13 * fabs(ref));
    check_grad_(L, ev, xg, 5);
    double m[5];
    L->mean(ev, 5, m);
    CHECK(memcmp(m, ev, sizeof m) == 0); /* the means */
    /* rows of 2p outputs packed to their p locations, in place */
    double rows[3 * 4] = {1, 2, 9, 9, 3, 4, 9, 9, 5, 6, 9, 9};
    sagd_likelihood_locations(3, 4, 2, rows);
    CHECK(rows[0] == 1 && rows[1] == 2 && rows[2] == 3 && rows[3] == 4 && rows[4] == 5 &&
          rows[5] == 6);
  }
  /* bernoulli against the logistic CDF */
  {
    const sagd_likelihood_type *L = &sagd_likelihood_bernoulli;
    double acc = 0, ref = 0, m[5];
    L->nll_row(eta, xb, 5, 1.0, &acc, NULL);
    for (int j = 0; j < 5; j++) {
      const double s = gsl_cdf_logistic_P(eta[j], 1.0);
      ref -= xb[j] * log(s) + (1 - xb[j]) * log(1 - s);
    }
    printf("bernoulli: -log p = %.15g, GSL %.15g\n", acc + L->constant(5), ref);
    CHECK(fabs(acc + L->constant(5) - ref) <= 1e-13 * fabs(ref));
    check_grad_(L, eta, xb, 5);
    L->mean(eta, 5, m);
    for (int j = 0; j < 5; j++) {
      CHECK(fabs(m[j] - gsl_cdf_logistic_P(eta[j], 1.0)) <= 1e-15);
    }
    /* far tails: -log p(x = 1 | η = -800) = 800, p(x = 0 | η = 800) likewise; no overflow */
    const double big[2] = {-800, 800}, ones[2] = {1, 0};
    double a2 = 0, g[2];
    L->nll_row(big, ones, 2, 1.0, &a2, g);
    CHECK(fabs(a2 - 1600) <= 1e-12 * 1600 && g[0] == -1 && g[1] == 1);
    const double bad[3] = {0, 1.5, 1};
    CHECK(L->check_data(bad, 3, 1, 10) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[11][0] = 1.5") != NULL);
    CHECK(L->check_data(xb, 5, 1, 0) == SAGD_OK);
  }
  const double nan_x[2] = {0, NAN};
  CHECK(sagd_likelihood_gaussian.check_data(nan_x, 1, 2, 0) == SAGD_ERR_DATA);
  CHECK(sagd_likelihood_find("gaussian") == &sagd_likelihood_gaussian);
  CHECK(sagd_likelihood_find("bernoulli") == &sagd_likelihood_bernoulli);
  CHECK(sagd_likelihood_find("gaussian_var") == &sagd_likelihood_gaussian_var);
  CHECK(sagd_likelihood_find("poisson") == NULL && sagd_likelihood_find(NULL) == NULL);
  size_t k = 0;
  for (const sagd_likelihood_type *const *l = sagd_likelihood_list(); *l; l++) {
    k++;
  }
  CHECK(k == 3);
  return TEST_EXIT();
}
