/* The Gauss–Hermite reference of the Gamma-sigmoid model against an independent adaptive
 * quadrature (gsl_integration_qagi over R, written from the model's definition in
 * gamma_ref.h): log-likelihood, M-step gradient, posterior moments; the log-likelihood
 * gradient against finite differences; the MLE (stationary, a local maximum, and
 * stationary for the independent gradient too). */
#include <string.h>

#include "gamma_ref.h"
#include "sagd/gamma.h"
#include "testutil.h"

#define S_ 10.0
#define N_ 100

int main(void) {
  double x[N_];
  sagd_rng_key key = {1, 0};
  REQUIRE_OK(sagd_gamma_generate(key, 2.0, 0.5, S_, 0, N_, x, NULL));
  sagd_gamma_quad q = NULL;

  /* Fewer than 64 nodes is refused, naming the value. */
  CHECK(sagd_gamma_quad_create(x, N_, 63, S_, &q) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "63") != NULL);
  CHECK(q == NULL);

  /* Gauss–Hermite error grows with |b|: σ(a + b u) has poles at distance π/|b| from the
   * real axis. 64 nodes reach 1e-8 for |b| <= 1.2 (the experiment's range: the EM path from
   * (0, 1) and the MLE have |b| <= 1.13); |b| = 1.5 .. 2 needs ~200 nodes. */
  typedef struct {
    size_t nodes;
    size_t count;
    double th[5][2];
  } config;
  const config configs[2] = {
      {64, 5, {{2.0, 0.5}, {0.0, 1.0}, {1.3, 1.2}, {-0.5, 0.1}, {1.0, -1.0}}},
      {200, 2, {{1.0, -1.5}, {3.0, 2.0}}},
  };
  sagd_gamma_quad q64 = NULL;
  for (size_t nc = 0; nc < 2; nc++) {
    const config *cf = &configs[nc];
    REQUIRE_OK(sagd_gamma_quad_create(x, N_, cf->nodes, S_, &q));
    double worst_ll = 0.0, worst_g = 0.0, worst_pm = 0.0;
    for (size_t k = 0; k < cf->count; k++) {
      const double *th = cf->th[k];
      /* log-likelihood, to 1e-8 relative */
      double ll, grad[2];
      REQUIRE_OK(sagd_gamma_quad_loglik(q, th, &ll, grad));
      double ll_ref = ref_loglik(S_, th, x, N_);
      CHECK_CLOSE(ll, ll_ref, 1e-8 * fabs(ll_ref));
      worst_ll = fmax(worst_ll, fabs(ll - ll_ref) / fabs(ll_ref));
      /* ∇ loglik against central differences of loglik (h = 1e-5: error ~1e-10 |ll|) */
      for (int c = 0; c < 2; c++) {
        double h = 1e-5, tp[2] = {th[0], th[1]}, tm[2] = {th[0], th[1]}, lp, lm;
        tp[c] += h;
        tm[c] -= h;
        REQUIRE_OK(sagd_gamma_quad_loglik(q, tp, &lp, NULL));
        REQUIRE_OK(sagd_gamma_quad_loglik(q, tm, &lm, NULL));
        CHECK_CLOSE(grad[c], (lp - lm) / (2.0 * h), 1e-6 * fmax(1.0, fabs(grad[c])));
      }
      /* Fisher's identity: qgrad(θ, θ) = -∇ loglik / n */
      double gq[2];
      REQUIRE_OK(sagd_gamma_quad_qgrad(q, th, th, gq));
      CHECK_CLOSE(gq[0], -grad[0] / N_, 1e-12 * fmax(1.0, fabs(gq[0])));
      CHECK_CLOSE(gq[1], -grad[1] / N_, 1e-12 * fmax(1.0, fabs(gq[1])));
      /* qgrad with θ ≠ θ_target, to 1e-8 relative to the vector's size */
      const double *tt = cf->th[(k + 1) % cf->count];
      double g[2], g_ref[2];
      REQUIRE_OK(sagd_gamma_quad_qgrad(q, tt, th, g));
      ref_qgrad(S_, tt, th, x, N_, g_ref);
      double scale = fmax(fabs(g_ref[0]), fabs(g_ref[1]));
      CHECK_CLOSE(g[0], g_ref[0], 1e-8 * scale);
      CHECK_CLOSE(g[1], g_ref[1], 1e-8 * scale);
      worst_g = fmax(worst_g, fmax(fabs(g[0] - g_ref[0]), fabs(g[1] - g_ref[1])) / scale);
      /* posterior mean and variance of a few data points */
      for (size_t i = 0; i < N_; i += 13) {
        double pm, pv;
        REQUIRE_OK(sagd_gamma_quad_posterior(q, th, i, &pm, &pv));
        double m1 = ref_post_moment(S_, th, x[i], 1), m2 = ref_post_moment(S_, th, x[i], 2);
        double v_ref = m2 - m1 * m1, sd = sqrt(v_ref);
        /* relative to the posterior's spread (the mean itself may be ~0) */
        CHECK_CLOSE(pm, m1, 1e-8 * fmax(fabs(m1), sd));
        CHECK_CLOSE(pv, v_ref, 1e-8 * v_ref);
        worst_pm = fmax(worst_pm, fabs(pm - m1) / fmax(fabs(m1), sd));
      }
    }
    printf("%zu nodes: worst relative error vs qagi: loglik %.2e, qgrad %.2e, posterior mean "
           "%.2e\n",
           cf->nodes, worst_ll, worst_g, worst_pm);
    if (nc == 0) {
      q64 = q;
      q = NULL;
    } else {
      sagd_gamma_quad_destroy(&q);
      CHECK(q == NULL);
    }
  }
  q = q64;

  /* The MLE from θ0 = (0, 1). */
  {
    double th0[2] = {0.0, 1.0}, mle[2], llmax;
    REQUIRE_OK(sagd_gamma_quad_mle(q, th0, mle, &llmax));
    double ll, grad[2];
    REQUIRE_OK(sagd_gamma_quad_loglik(q, mle, &ll, grad));
    CHECK(ll == llmax);
    CHECK(hypot(grad[0], grad[1]) < 1e-8 * N_);
    printf("MLE (a, b) = (%.10f, %.10f), loglik %.10f, |grad| %.2e\n", mle[0], mle[1], llmax,
           hypot(grad[0], grad[1]));
    /* a strict local maximum: lower at 8 neighbours at distance 1e-3 and 1e-1 */
    for (double r = 1e-3; r < 0.2; r *= 100.0) {
      for (int d = 0; d < 8; d++) {
        double ang = d * 0.78539816339744830962; /* π/4 */
        double tn[2] = {mle[0] + r * cos(ang), mle[1] + r * sin(ang)};
        double ln;
        REQUIRE_OK(sagd_gamma_quad_loglik(q, tn, &ln, NULL));
        CHECK(ln < llmax);
      }
    }
    /* independent check: the qagi gradient -n·qgrad_ref(mle, mle) vanishes there too (to
     * the 1e-8 accuracy of the quadratures, relative to the gradient's size at θ0) */
    double g_ref[2], g0[2];
    ref_qgrad(S_, mle, mle, x, N_, g_ref);
    REQUIRE_OK(sagd_gamma_quad_qgrad(q, th0, th0, g0));
    CHECK(hypot(g_ref[0], g_ref[1]) < 1e-7 * hypot(g0[0], g0[1]));
    printf("qagi gradient at the MLE: (%.2e, %.2e)\n", g_ref[0], g_ref[1]);
    /* the symmetry p(x; a, b) = p(x; a, -b): starting with b < 0 finds (a, -b) */
    double th1[2] = {0.0, -1.0}, mle2[2], ll2;
    REQUIRE_OK(sagd_gamma_quad_mle(q, th1, mle2, &ll2));
    CHECK_CLOSE(mle2[0], mle[0], 1e-6);
    CHECK_CLOSE(mle2[1], -mle[1], 1e-6);
    CHECK_CLOSE(ll2, llmax, 1e-9 * fabs(llmax));
  }
  /* bad arguments name the value */
  {
    double th[2] = {NAN, 1.0}, ll, pm, g[2], ok[2] = {0.0, 1.0};
    CHECK(sagd_gamma_quad_loglik(q, th, &ll, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_quad_qgrad(q, ok, th, g) == SAGD_ERR_ARG);
    CHECK(sagd_gamma_quad_posterior(q, ok, N_, &pm, NULL) == SAGD_ERR_ARG);
    CHECK(strstr(sagd_error_message(), "100") != NULL);
  }
  sagd_gamma_quad_destroy(&q);
  CHECK(q == NULL);
  sagd_gamma_quad_destroy(&q);
  return TEST_EXIT();
}
