/* Langevin samplers (include/sagd/sampler.h): type table lookup, input validation, and one
 * step of each scheme against the closed-form update with the documented noise draws. */
#include <stdlib.h>
#include <string.h>

#include "sagd/gauss.h"
#include "sagd/registry.h"
#include "sagd/sampler.h"
#include "testutil.h"

#define R 2

static const double MU[R] = {0.5, -1.0};
static const double PREC[R * R] = {3.0, -1.0, -1.0, 2.0};

static void test_types(void) {
  CHECK(sagd_sampler_type_find("underdamped") == &sagd_sampler_underdamped);
  CHECK(sagd_sampler_type_find("overdamped") == &sagd_sampler_overdamped);
  CHECK(sagd_sampler_type_find("symplectic") == &sagd_sampler_symplectic);
  CHECK(sagd_sampler_type_find("hmc") == NULL);
  CHECK(sagd_sampler_type_find("") == NULL);
  CHECK(sagd_sampler_type_find(NULL) == NULL);
  const sagd_sampler_type *const *list = sagd_sampler_type_list();
  size_t n = 0;
  for (; list[n] != NULL; n++) {
    CHECK(sagd_sampler_type_find(list[n]->name) == list[n]);
  }
  CHECK(n == 3);
  char known[64];
  CHECK(strcmp(sagd_registry_names(SAGD_REGISTRY(list), known, sizeof known),
               "underdamped, symplectic, overdamped") == 0);
  /* a buffer too small is truncated, never overrun */
  CHECK(strcmp(sagd_registry_names(SAGD_REGISTRY(list), known, 8), "underda") == 0);
  CHECK(sagd_registry_count(SAGD_REGISTRY(list)) == 3);
}

static void test_validation(sagd_model m) {
  sagd_rng_key key = {1, 0};
  sagd_sampler s = NULL;
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 4, 0.0, key, &s) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "gamma = 0") != NULL);
  CHECK(s == NULL);
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 4, -1.5, key, &s) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "gamma = -1.5") != NULL);
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 4, NAN, key, &s) == SAGD_ERR_ARG);
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 0, 4, 2.0, key, &s) == SAGD_ERR_ARG);
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 0, 2.0, key, &s) == SAGD_ERR_ARG);
  CHECK(sagd_sampler_create(NULL, m, 2, 4, 2.0, key, &s) == SAGD_ERR_ARG);
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, NULL, 2, 4, 2.0, key, &s) ==
        SAGD_ERR_ARG);
  sagd_rng_key badkey = {1, (uint64_t)1 << 48};
  CHECK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 4, 2.0, badkey, &s) ==
        SAGD_ERR_ARG);
  CHECK(s == NULL);
  /* gamma is not used by the overdamped scheme. */
  REQUIRE_OK(sagd_sampler_create(&sagd_sampler_overdamped, m, 2, 4, 0.0, key, &s));
  sagd_sampler_destroy(&s);
  CHECK(s == NULL);
  sagd_sampler_destroy(&s);

  REQUIRE_OK(sagd_sampler_create(&sagd_sampler_underdamped, m, 2, 4, 2.0, key, &s));
  double xi[4 * 2 * R] = {0}, rho[4 * 2 * R] = {0}, theta[R] = {0};
  const double bad[] = {0.0, -0.1, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK(sagd_sampler_step(s, theta, 0, 1, bad[i], SAGD_STREAM_LANGEVIN, 1, 0, xi, rho) ==
          SAGD_ERR_ARG);
    CHECK(strstr(sagd_error_message(), "delta = ") != NULL);
  }
  CHECK(strstr(sagd_error_message(), "delta = inf") != NULL);
  CHECK(sagd_sampler_step(s, theta, 0, 5, 0.1, SAGD_STREAM_LANGEVIN, 1, 0, xi, rho) ==
        SAGD_ERR_ARG); /* nb > max_block */
  CHECK(strstr(sagd_error_message(), "5 data points") != NULL);
  CHECK(sagd_sampler_step(s, theta, 0, 1, 0.1, SAGD_STREAM_LANGEVIN, 1, 0, xi, NULL) ==
        SAGD_ERR_ARG);
  CHECK(sagd_sampler_step(s, theta, 0, 1, 0.1, 1u << 16, 1, 0, xi, rho) == SAGD_ERR_ARG);
  CHECK(sagd_sampler_step(s, theta, 6, 2, 0.1, SAGD_STREAM_LANGEVIN, 1, 0, xi, rho) ==
        SAGD_ERR_ARG); /* outside the model's shard [0, 6) */
  /* An empty block is a no-op. */
  REQUIRE_OK(sagd_sampler_step(s, theta, 0, 0, 0.1, SAGD_STREAM_LANGEVIN, 1, 0, xi, rho));
  for (size_t i = 0; i < sizeof xi / sizeof xi[0]; i++) {
    CHECK(xi[i] == 0.0 && rho[i] == 0.0);
  }
  sagd_sampler_destroy(&s);

  /* The overdamped scheme needs no momenta. */
  REQUIRE_OK(sagd_sampler_create(&sagd_sampler_overdamped, m, 2, 4, 0.0, key, &s));
  REQUIRE_OK(sagd_sampler_step(s, theta, 0, 1, 0.1, SAGD_STREAM_LANGEVIN, 1, 0, xi, NULL));
  sagd_sampler_destroy(&s);
}

/* One step of each scheme on chains of data points [2, 4) with C = 3 (global chain ids
 * 6..11), against the update written out by hand with η from sagd_rng_normals. */
static void test_one_step(sagd_model m) {
  const size_t C = 3, i0 = 2, nb = 2, nc = nb * C;
  const double delta = 0.07, gamma = 1.7;
  const uint64_t t = 12, k = 5;
  sagd_rng_key key = {987654321, 4};
  double xi[6 * R], rho[6 * R], xi0[6 * R], rho0[6 * R], theta[R] = {0};
  for (size_t i = 0; i < nc * R; i++) {
    xi0[i] = 0.3 * (double)i - 1.0;
    rho0[i] = 0.5 - 0.2 * (double)i;
  }
  sagd_rng_gsl rng = NULL;
  REQUIRE_OK(sagd_rng_gsl_create(&rng));

  const sagd_sampler_type *types[3] = {&sagd_sampler_underdamped, &sagd_sampler_symplectic,
                                       &sagd_sampler_overdamped};
  for (int type = 0; type < 3; type++) {
    sagd_sampler s = NULL;
    const sagd_sampler_type *st = types[type];
    REQUIRE_OK(sagd_sampler_create(st, m, C, 4, gamma, key, &s));
    memcpy(xi, xi0, sizeof xi);
    memcpy(rho, rho0, sizeof rho);
    REQUIRE_OK(sagd_sampler_step(s, theta, i0, nb, delta, SAGD_STREAM_BURNIN, t, k, xi, rho));
    double maxerr = 0;
    for (size_t q = 0; q < nc; q++) {
      double eta[R], grad[R];
      sagd_rng_normals(rng, key, SAGD_STREAM_BURNIN, i0 * C + q, t, k, R, eta);
      const double *x = xi0 + q * R, *p = rho0 + q * R;
      for (size_t i = 0; i < R; i++) {
        grad[i] = 0;
        for (size_t j = 0; j < R; j++) {
          grad[i] += PREC[i * R + j] * (x[j] - MU[j]);
        }
      }
      for (size_t j = 0; j < R; j++) {
        if (type < 2) {
          double pe = (1 - gamma * delta) * p[j] - delta * grad[j] +
                      sqrt(2 * gamma * delta) * eta[j];
          double xe = x[j] + delta * (type == 0 ? p[j] : pe); /* drift with old/new ρ */
          maxerr = fmax(maxerr, fabs(xe - xi[q * R + j]));
          maxerr = fmax(maxerr, fabs(pe - rho[q * R + j]));
        } else {
          double xe = x[j] - delta * grad[j] + sqrt(2 * delta) * eta[j];
          maxerr = fmax(maxerr, fabs(xe - xi[q * R + j]));
          CHECK(rho[q * R + j] == rho0[q * R + j]); /* ρ untouched */
        }
      }
    }
    /* Only the order of the 2-term sums in ∇V may differ: a few ulps of O(1) values. */
    printf("%s: max |step - closed form| = %.3g\n", st->name, maxerr);
    CHECK(maxerr < 1e-14);
    sagd_sampler_destroy(&s);
  }
  sagd_rng_gsl_destroy(&rng);
}

int main(void) {
  sagd_model m = NULL;
  REQUIRE_OK(sagd_gauss_model_create(R, MU, PREC, 6, 0, 6, &m));
  test_types();
  test_validation(m);
  test_one_step(m);
  sagd_model_destroy(&m);
  return TEST_EXIT();
}
