/* The Gamma-sigmoid data generator: bit-identical for any shard split, seed-dependent, and
 * distributed as Z ~ N(0,1), X | Z ~ Gamma(S σ(a + b Z), 1) (moments against quadrature). */
#include <stdlib.h>
#include <string.h>

#include "gamma_ref.h"
#include "sagd/gamma.h"
#include "testutil.h"

typedef struct {
  double S, a, b;
  int kind;
} mom_params;

/* E over Z ~ N(0,1) of: 0: s, 1: s², 2: s Z, 3: (s + s²) Z², with s = S σ(a + b Z). */
static double moment_(double z, void *vp) {
  const mom_params *p = vp;
  if (fabs(z) > REF_UMAX) {
    return 0.0;
  }
  double s = p->S * ref_sigmoid(p->a + p->b * z), v = 0.0;
  switch (p->kind) {
  case 0: v = s; break;
  case 1: v = s * s; break;
  case 2: v = s * z; break;
  default: v = (s + s * s) * z * z; break;
  }
  return v * gsl_ran_ugaussian_pdf(z);
}

static double E_(double S, double a, double b, int kind) {
  mom_params p = {S, a, b, kind};
  return ref_qagi(moment_, &p, 1e-15);
}

int main(void) {
  const double S = 10.0, a = 2.0, b = 0.5;
  sagd_rng_key key = {1, 0};

  /* 1. Any shard split gives the same bits; z = NULL does not change x. */
  {
    double x[100], z[100], xs[100], zs[100], xn[100];
    REQUIRE_OK(sagd_gamma_generate(key, a, b, S, 0, 100, x, z));
    REQUIRE_OK(sagd_gamma_generate(key, a, b, S, 0, 37, xs, zs));
    REQUIRE_OK(sagd_gamma_generate(key, a, b, S, 37, 100, xs + 37, zs + 37));
    CHECK(memcmp(x, xs, sizeof(x)) == 0);
    CHECK(memcmp(z, zs, sizeof(z)) == 0);
    REQUIRE_OK(sagd_gamma_generate(key, a, b, S, 0, 100, xn, NULL));
    CHECK(memcmp(x, xn, sizeof(x)) == 0);
    for (int i = 0; i < 100; i++) { /* one point alone, from its own index */
      double x1, z1;
      REQUIRE_OK(sagd_gamma_generate(key, a, b, S, (size_t)i, (size_t)i + 1, &x1, &z1));
      CHECK(x1 == x[i] && z1 == z[i]);
    }
    REQUIRE_OK(sagd_gamma_check_data(x, 100, 0));
    printf("seed 1: x[0..3] = %.6f %.6f %.6f, z[0..3] = %.6f %.6f %.6f\n", x[0], x[1], x[2],
           z[0], z[1], z[2]);

    /* 2. Another seed, or another replication, gives another data set (every point). */
    double x2[100], z2[100];
    sagd_rng_key k2 = {2, 0}, k3 = {1, 1};
    REQUIRE_OK(sagd_gamma_generate(k2, a, b, S, 0, 100, x2, z2));
    int same = 0;
    for (int i = 0; i < 100; i++) {
      same += (x2[i] == x[i]) + (z2[i] == z[i]);
    }
    CHECK(same == 0);
    REQUIRE_OK(sagd_gamma_generate(k3, a, b, S, 0, 100, x2, z2));
    same = 0;
    for (int i = 0; i < 100; i++) {
      same += (x2[i] == x[i]) + (z2[i] == z[i]);
    }
    CHECK(same == 0);
  }

  /* 3. Distribution, n = 20000, at two parameter settings. Tolerances: 5 standard errors
   * of each sample mean (false-alarm probability ~6e-7 per check). */
  {
    const size_t n = 20000;
    double *x = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
    CHECK(x != NULL && z != NULL);
    const double params[2][2] = {{2.0, 0.5}, {-1.0, 1.5}};
    for (int ps = 0; ps < 2; ps++) {
      double pa = params[ps][0], pb = params[ps][1];
      sagd_rng_key kk = {(uint64_t)(11 + ps), 0};
      REQUIRE_OK(sagd_gamma_generate(kk, pa, pb, S, 0, n, x, z));
      REQUIRE_OK(sagd_gamma_check_data(x, n, 0));
      double mz = 0.0, mx = 0.0, mxz = 0.0;
      for (size_t i = 0; i < n; i++) {
        mz += z[i];
        mx += x[i];
        mxz += x[i] * z[i];
      }
      mz /= (double)n;
      mx /= (double)n;
      mxz /= (double)n;
      double vz = 0.0;
      for (size_t i = 0; i < n; i++) {
        vz += (z[i] - mz) * (z[i] - mz);
      }
      vz /= (double)(n - 1);
      double se_mean = 1.0 / sqrt((double)n), se_var = sqrt(2.0 / (double)n);
      CHECK_CLOSE(mz, 0.0, 5.0 * se_mean);
      CHECK_CLOSE(vz, 1.0, 5.0 * se_var);
      /* E[X] = E[s]; Var X = E[Var(X|Z)] + Var E[X|Z] = E[s] + E[s²] - E[s]². */
      double Es = E_(S, pa, pb, 0), Es2 = E_(S, pa, pb, 1);
      double se_x = sqrt((Es + Es2 - Es * Es) / (double)n);
      CHECK_CLOSE(mx, Es, 5.0 * se_x);
      /* E[XZ] = E[s Z] ties x to its own z; Var(XZ) = E[(s + s²) Z²] - E[sZ]². */
      double Esz = E_(S, pa, pb, 2), Ex2z2 = E_(S, pa, pb, 3);
      double se_xz = sqrt((Ex2z2 - Esz * Esz) / (double)n);
      CHECK_CLOSE(mxz, Esz, 5.0 * se_xz);
      printf("(a,b) = (%g,%g): mean z %.4f (se %.4f), var z %.4f (se %.4f), mean x %.4f vs "
             "E[X] %.4f (se %.4f), mean xz %.4f vs E[XZ] %.4f (se %.4f)\n",
             pa, pb, mz, se_mean, vz, se_var, mx, Es, se_x, mxz, Esz, se_xz);
    }
    free(x);
    free(z);
  }

  /* 4. Bad arguments. */
  {
    double x[4];
    CHECK(sagd_gamma_generate(key, a, b, 0.0, 0, 4, x, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_generate(key, NAN, b, S, 0, 4, x, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_generate(key, a, b, S, 4, 0, x, NULL) == SAGD_ERR_ARG);
    /* Shapes so small that draws underflow to 0: refused, naming the point. */
    CHECK(sagd_gamma_generate(key, -2000.0, 0.0, S, 0, 4, x, NULL) == SAGD_ERR_ARG);
    CHECK(strstr(sagd_error_message(), "x[0]") != NULL);
  }
  return TEST_EXIT();
}
