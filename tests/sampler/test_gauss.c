/* Gaussian toy model (include/sagd/gauss.h): V, ∇V and ∇θ f against direct evaluation and
 * finite differences, over blocks larger than the internal GEMM chunk; input validation. */
#include <stdlib.h>
#include <string.h>

#include "sagd/gauss.h"
#include "testutil.h"

#define R 3

static const double MU[R] = {1.0, -2.0, 0.5};
/* A non-diagonal SPD precision (eigenvalues about 1.3, 2.6, 4.1). */
static const double PREC[R * R] = {2.0, 0.6, -0.4, 0.6, 3.0, 0.9, -0.4, 0.9, 3.0};

/* A deterministic spread of chain states (a simple LCG; no statistics needed here). */
static void fill_(double *x, size_t n, unsigned seed) {
  unsigned long s = seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005UL + 1442695040888963407UL;
    x[i] = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 8.0;
  }
}

static void test_values(void) {
  /* n = 10 data points, this "rank" owns [2, 9); block [3, 7) with C = 300 is 1200 chains,
   * several GEMM chunks. */
  const size_t n = 10, C = 300, i0 = 3, nb = 4, nc = nb * C;
  sagd_model m = NULL;
  REQUIRE_OK(sagd_gauss_model_create(R, MU, PREC, n, 2, 9, &m));
  CHECK(m->r == R && m->p == R && m->n == n && m->i_begin == 2 && m->i_end == 9);
  double *xi = malloc(nc * R * sizeof(double)), *grad = malloc(nc * R * sizeof(double));
  double *grad2 = malloc(nc * R * sizeof(double));
  double *V = malloc(nc * sizeof(double)), *V2 = malloc(nc * sizeof(double));
  REQUIRE_OK(!xi || !grad || !grad2 || !V || !V2 ? SAGD_ERR_MEM : SAGD_OK);
  fill_(xi, nc * R, 1);
  double theta[R] = {0.3, 0.1, -0.7};
  REQUIRE_OK(sagd_model_potential(m, theta, i0, nb, C, xi, V, grad));

  double max_gerr = 0, max_verr = 0;
  for (size_t q = 0; q < nc; q++) {
    double d[R], Vq = 0;
    for (size_t j = 0; j < R; j++) {
      d[j] = xi[q * R + j] - MU[j];
    }
    for (size_t i = 0; i < R; i++) {
      double gi = 0;
      for (size_t j = 0; j < R; j++) {
        gi += PREC[i * R + j] * d[j];
      }
      Vq += 0.5 * d[i] * gi;
      max_gerr = fmax(max_gerr, fabs(gi - grad[q * R + i]) / (1 + fabs(gi)));
    }
    max_verr = fmax(max_verr, fabs(Vq - V[q]) / (1 + fabs(Vq)));
  }
  /* Both are sums of 3 products of O(10) numbers: agreement to a few ulps. */
  CHECK(max_gerr < 1e-13);
  CHECK(max_verr < 1e-13);

  /* V alone and ∇V alone give the same bits as the joint call. */
  REQUIRE_OK(sagd_model_potential(m, theta, i0, nb, C, xi, V2, NULL));
  CHECK(memcmp(V, V2, nc * sizeof(double)) == 0);
  REQUIRE_OK(sagd_model_potential(m, theta, i0, nb, C, xi, NULL, grad2));
  CHECK(memcmp(grad, grad2, nc * R * sizeof(double)) == 0);
  REQUIRE_OK(sagd_model_potential(m, theta, i0, nb, C, xi, NULL, NULL));

  /* ∇V is the gradient of V: central differences are exact for a quadratic up to
   * rounding (~1e-16 * |V| / h = 1e-11 here); tolerance 1e-7. */
  const double h = 1e-4;
  double x1[R], x2[R], Va, Vb;
  for (size_t q = 0; q < 5; q++) {
    for (size_t j = 0; j < R; j++) {
      memcpy(x1, xi + q * R, sizeof x1);
      memcpy(x2, xi + q * R, sizeof x2);
      x1[j] += h;
      x2[j] -= h;
      REQUIRE_OK(sagd_model_potential(m, theta, i0, 1, 1, x1, &Va, NULL));
      REQUIRE_OK(sagd_model_potential(m, theta, i0, 1, 1, x2, &Vb, NULL));
      CHECK_CLOSE((Va - Vb) / (2 * h), grad[q * R + j], 1e-7);
    }
  }
  /* V(μ) = 0, ∇V(μ) = 0. */
  REQUIRE_OK(sagd_model_potential(m, theta, i0, 1, 1, MU, &Va, x1));
  CHECK(Va == 0.0 && x1[0] == 0.0 && x1[1] == 0.0 && x1[2] == 0.0);

  /* grad_theta accumulates Σ_chains (θ - ξ) onto g. */
  double g[R] = {10.0, 20.0, 30.0}, expect[R] = {10.0, 20.0, 30.0};
  REQUIRE_OK(sagd_model_grad_theta(m, theta, i0, nb, C, xi, g));
  for (size_t q = 0; q < nc; q++) {
    for (size_t j = 0; j < R; j++) {
      expect[j] += theta[j] - xi[q * R + j];
    }
  }
  for (size_t j = 0; j < R; j++) {
    CHECK_CLOSE(g[j], expect[j], 1e-9 * (1 + fabs(expect[j])));
  }

  /* Blocks outside the shard are refused. */
  CHECK(sagd_model_potential(m, theta, 8, 2, C, xi, V, grad) == SAGD_ERR_ARG);
  sagd_model_destroy(&m);
  CHECK(m == NULL);
  sagd_model_destroy(&m);
  free(xi);
  free(grad);
  free(grad2);
  free(V);
  free(V2);
}

static void test_validation(void) {
  sagd_model m = NULL;
  const double indefinite[4] = {1.0, 2.0, 2.0, 1.0}; /* eigenvalues 3, -1 */
  const double asym[4] = {2.0, 0.5, 0.4, 2.0};
  const double mu2[2] = {0.0, 0.0}, bad_mu[2] = {0.0, NAN};
  const double spd2[4] = {2.0, 0.5, 0.5, 1.0};
  CHECK(sagd_gauss_model_create(2, mu2, indefinite, 1, 0, 1, &m) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "positive definite") != NULL);
  CHECK(m == NULL);
  CHECK(sagd_gauss_model_create(2, mu2, asym, 1, 0, 1, &m) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "symmetric") != NULL);
  CHECK(sagd_gauss_model_create(2, bad_mu, spd2, 1, 0, 1, &m) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "mean[1]") != NULL);
  CHECK(sagd_gauss_model_create(0, mu2, spd2, 1, 0, 1, &m) == SAGD_ERR_ARG);
  CHECK(sagd_gauss_model_create(2, mu2, spd2, 1, 0, 2, &m) == SAGD_ERR_ARG);
  CHECK(m == NULL);
  REQUIRE_OK(sagd_gauss_model_create(2, mu2, spd2, 1, 0, 1, &m));
  sagd_model_destroy(&m);
}

int main(void) {
  test_values();
  test_validation();
  return TEST_EXIT();
}
