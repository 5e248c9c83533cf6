/* The batched Gamma-sigmoid model: V against the density written out with GSL's pdfs,
 * ∇_u V and ∇_θ f against central differences (single chains, and a block of 4 data points
 * x 3 chains with a shard offset), numerical safety where σ saturates or s underflows,
 * and the data checks. */
#include <string.h>

#include "gamma_ref.h"
#include "sagd/gamma.h"
#include "testutil.h"

#define S_ 10.0

/* |an - fd| <= tol·max(1, |an|): central differences with h = 1e-5·max(1,|·|) are accurate
 * to ~h²|f'''| + ε|f|/h ≈ 1e-9 here, so 1e-6 leaves room without hiding a wrong term. */
#define CHECK_FD(an, fd) CHECK_CLOSE((an), (fd), 1e-6 * fmax(1.0, fabs(an)))

static double V1_(sagd_model m, const double th[2], size_t i, double u) {
  double V = NAN;
  REQUIRE_OK(sagd_model_potential(m, th, i, 1, 1, &u, &V, NULL));
  return V;
}

int main(void) {
  /* Shard [5, 9) of n = 20: exercises the global -> local index mapping. */
  const double x[4] = {0.3, 2.5, 7.1, 12.0};
  const size_t n = 20, i_begin = 5, i_end = 9;
  sagd_model m = NULL;
  REQUIRE_OK(sagd_gamma_model_create(x, n, i_begin, i_end, S_, &m));
  CHECK(strcmp(m->type->name, "gamma") == 0);
  CHECK(m->r == 1 && m->p == 2 && m->n == n && m->i_begin == i_begin && m->i_end == i_end);

  /* 1. V = f = -log Gamma(x; s, 1) - log φ(u), and single-chain derivatives. */
  const double thetas[][2] = {{2.0, 0.5}, {0.0, 1.0}, {-1.5, 2.0}, {1.0, -0.7}, {-3.0, 0.2}};
  const double us[] = {-2.3, -0.4, 0.0, 0.8, 3.1};
  for (size_t k = 0; k < sizeof(thetas) / sizeof(thetas[0]); k++) {
    const double *th = thetas[k];
    for (size_t iu = 0; iu < sizeof(us) / sizeof(us[0]); iu++) {
      for (size_t d = 0; d < 4; d++) {
        size_t i = i_begin + d;
        double u = us[iu], V, gu;
        REQUIRE_OK(sagd_model_potential(m, th, i, 1, 1, &u, &V, &gu));
        double ref = -log(ref_pcond(S_, th[0], th[1], x[d], u)) - log(gsl_ran_ugaussian_pdf(u));
        CHECK_CLOSE(V, ref, 1e-12 * fmax(1.0, fabs(ref)));
        double h = 1e-5 * fmax(1.0, fabs(u));
        double fd = (V1_(m, th, i, u + h) - V1_(m, th, i, u - h)) / (2.0 * h);
        CHECK_FD(gu, fd);
        /* ∇_θ f for this chain, and the header's closed form ∂f/∂a. */
        double g[2] = {0.0, 0.0};
        REQUIRE_OK(sagd_model_grad_theta(m, th, i, 1, 1, &u, g));
        CHECK_CLOSE(g[0], ref_dfda(S_, th[0], th[1], x[d], u),
                    1e-10 * fmax(1.0, fabs(g[0])));
        for (int c = 0; c < 2; c++) {
          double hp = 1e-5 * fmax(1.0, fabs(th[c]));
          double tp[2] = {th[0], th[1]}, tm[2] = {th[0], th[1]};
          tp[c] += hp;
          tm[c] -= hp;
          double fdt = (V1_(m, tp, i, u) - V1_(m, tm, i, u)) / (2.0 * hp);
          CHECK_FD(g[c], fdt);
        }
      }
    }
  }

  /* 2. A block of nb = 4 data points x C = 3 chains (chain q -> data i0 + q/C). */
  {
    const size_t nb = 4, C = 3, nq = nb * C;
    double xi[12], V[12], gx[12];
    for (size_t q = 0; q < nq; q++) {
      xi[q] = -1.7 + 0.31 * (double)q;
    }
    const double th[2] = {0.7, -1.2};
    REQUIRE_OK(sagd_model_potential(m, th, i_begin, nb, C, xi, V, gx));
    for (size_t q = 0; q < nq; q++) {
      CHECK_CLOSE(V[q], V1_(m, th, i_begin + q / C, xi[q]), 0.0); /* same data mapping */
      double h = 1e-5 * fmax(1.0, fabs(xi[q]));
      double xp[12], xm[12], Vp[12], Vm[12];
      memcpy(xp, xi, sizeof(xi));
      memcpy(xm, xi, sizeof(xi));
      xp[q] += h;
      xm[q] -= h;
      REQUIRE_OK(sagd_model_potential(m, th, i_begin, nb, C, xp, Vp, NULL));
      REQUIRE_OK(sagd_model_potential(m, th, i_begin, nb, C, xm, Vm, NULL));
      CHECK_FD(gx[q], (Vp[q] - Vm[q]) / (2.0 * h));
      for (size_t r = 0; r < nq; r++) { /* chains do not interact */
        if (r != q) {
          CHECK(Vp[r] == V[r] && Vm[r] == V[r]);
        }
      }
    }
    /* grad_theta accumulates (+=) the block sum: start from a nonzero g. */
    double g[2] = {1.0, -2.0};
    REQUIRE_OK(sagd_model_grad_theta(m, th, i_begin, nb, C, xi, g));
    for (int c = 0; c < 2; c++) {
      double hp = 1e-5;
      double tp[2] = {th[0], th[1]}, tm[2] = {th[0], th[1]}, Vp[12], Vm[12];
      tp[c] += hp;
      tm[c] -= hp;
      REQUIRE_OK(sagd_model_potential(m, tp, i_begin, nb, C, xi, Vp, NULL));
      REQUIRE_OK(sagd_model_potential(m, tm, i_begin, nb, C, xi, Vm, NULL));
      double fd = 0.0;
      for (size_t q = 0; q < nq; q++) {
        fd += (Vp[q] - Vm[q]) / (2.0 * hp);
      }
      CHECK_FD(g[c] - (c == 0 ? 1.0 : -2.0), fd);
    }
    /* The sum is in chain order: equal to adding the chains one by one. */
    double g1[2] = {1.0, -2.0};
    for (size_t q = 0; q < nq; q++) {
      REQUIRE_OK(sagd_model_grad_theta(m, th, i_begin + q / C, 1, 1, &xi[q], g1));
    }
    CHECK(g1[0] == g[0] && g1[1] == g[1]);
    /* V and grad may each be omitted. */
    double V2[12];
    REQUIRE_OK(sagd_model_potential(m, th, i_begin, nb, C, xi, V2, NULL));
    CHECK(memcmp(V, V2, sizeof(V)) == 0);
    REQUIRE_OK(sagd_model_potential(m, th, i_begin, nb, C, xi, NULL, V2));
    CHECK(memcmp(gx, V2, sizeof(gx)) == 0);
  }

  /* 3. Saturation: t = a + b u far in either tail (s -> S, s -> 0 and even s underflowing
   * to 0 at t = -800) keeps V and the gradients finite and consistent with differences. */
  {
    const double ext[][2] = {{40.0, 0.5}, {-40.0, 0.5}, {-800.0, 1.0}, {800.0, -1.0},
                             {-1e5, 3.0}};
    for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
      const double *th = ext[k];
      for (size_t d = 0; d < 4; d++) {
        size_t i = i_begin + d;
        double u = 0.37, V, gu, g[2] = {0.0, 0.0};
        REQUIRE_OK(sagd_model_potential(m, th, i, 1, 1, &u, &V, &gu));
        REQUIRE_OK(sagd_model_grad_theta(m, th, i, 1, 1, &u, g));
        CHECK(isfinite(V) && isfinite(gu) && isfinite(g[0]) && isfinite(g[1]));
        double h = 1e-4; /* |V| up to 1e5 here: a larger h keeps rounding ε|V|/h small */
        double fd = (V1_(m, th, i, u + h) - V1_(m, th, i, u - h)) / (2.0 * h);
        CHECK_FD(gu, fd);
        double tp[2] = {th[0] + h, th[1]}, tm[2] = {th[0] - h, th[1]};
        CHECK_FD(g[0], (V1_(m, tp, i, u) - V1_(m, tm, i, u)) / (2.0 * h));
        if (th[0] < -100.0) {
          /* s ≈ S e^t: f ≈ -log S - t + u²/2 + log x + x + log √(2π), ∂f/∂a ≈ -1. */
          double t = th[0] + th[1] * u;
          double approx = -log(S_) - t + 0.5 * u * u + log(x[d]) + x[d] + 0.918938533204672742;
          CHECK_CLOSE(V, approx, 1e-12 * fabs(approx));
          CHECK_CLOSE(g[0], -1.0, 1e-12);
        }
      }
    }
    /* A non-finite a + b u (a diverged chain) is a numerical error, not a silent NaN. */
    double u = INFINITY, V, th[2] = {0.0, 1.0};
    int rc = sagd_model_potential(m, th, i_begin, 1, 1, &u, &V, NULL);
    CHECK(rc == SAGD_ERR_NUMERIC);
    CHECK(strstr(sagd_error_message(), "not finite") != NULL);
    u = NAN;
    double g[2] = {0.0, 0.0};
    CHECK(sagd_model_grad_theta(m, th, i_begin, 1, 1, &u, g) == SAGD_ERR_NUMERIC);
  }
  sagd_model_destroy(&m);
  CHECK(m == NULL);
  sagd_model_destroy(&m); /* NULL is fine */

  /* 4. Data checks name the global index and value. */
  {
    double bad[20];
    for (int k = 0; k < 20; k++) {
      bad[k] = 1.0 + k;
    }
    REQUIRE_OK(sagd_gamma_check_data(bad, 20, 0));
    bad[17] = -0.5;
    CHECK(sagd_gamma_check_data(bad, 20, 0) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[17] = -0.5") != NULL);
    CHECK(strstr(sagd_error_message(), "finite and > 0") != NULL);
    printf("check_data message: %s\n", sagd_error_message());
    bad[17] = 0.0;
    CHECK(sagd_gamma_check_data(bad, 20, 0) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[17] = 0") != NULL);
    bad[17] = 1.0;
    bad[3] = NAN;
    CHECK(sagd_gamma_check_data(bad, 20, 100) == SAGD_ERR_DATA); /* i0 = 100: x[103] */
    CHECK(strstr(sagd_error_message(), "x[103] = nan") != NULL ||
          strstr(sagd_error_message(), "x[103] = -nan") != NULL);
    bad[3] = INFINITY;
    CHECK(sagd_gamma_check_data(bad, 20, 100) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[103] = inf") != NULL);
    bad[3] = -INFINITY;
    CHECK(sagd_gamma_check_data(bad, 20, 100) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[103] = -inf") != NULL);
    /* model and quadrature creation validate too (first bad index, global numbering). */
    sagd_model mm = NULL;
    CHECK(sagd_gamma_model_create(bad, 40, 20, 40, S_, &mm) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[23] = -inf") != NULL);
    CHECK(mm == NULL);
    sagd_gamma_quad q = NULL;
    CHECK(sagd_gamma_quad_create(bad, 20, 64, S_, &q) == SAGD_ERR_DATA);
    CHECK(strstr(sagd_error_message(), "x[3] = -inf") != NULL);
    CHECK(q == NULL);
    bad[3] = 1.0;
    CHECK(sagd_gamma_model_create(bad, 20, 0, 20, 0.0, &mm) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_model_create(bad, 20, 0, 20, NAN, &mm) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_model_create(bad, 20, 5, 21, S_, &mm) == SAGD_ERR_ARG);
    CHECK(mm == NULL);
  }
  return TEST_EXIT();
}
