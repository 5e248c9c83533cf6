/* The true log-likelihood of the 1-D deconvolution model by Gauss–Hermite quadrature
 * (sagd_deconv_loglik_quad) against (a) the closed form of a linear generator h(u) = w u + b,
 * whose marginal is N(b, w² + 1), and (b) adaptive quadrature (gsl_integration_qagi) of
 * ∫ N(x; h(u), 1) φ(u) du for a softplus [1 → 10 → 1] network, point by point. */
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "sagd/deconv.h"
#include "testutil.h"

typedef struct {
  sagd_mlp net;
  const double *params;
  double x;
} qpar;

/* N(x; h(u), 1) φ(u), h evaluated one point at a time (independent of the batched path). */
static double integrand(double u, void *vp) {
  const qpar *p = vp;
  double h = 0.0;
  REQUIRE_OK(sagd_mlp_forward(p->net, p->params, 1, &u, &h));
  return gsl_ran_ugaussian_pdf(p->x - h) * gsl_ran_ugaussian_pdf(u);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
  MPI_Init(NULL, NULL);
  gsl_set_error_handler_off();
  sagd_rng_key key = {21, 0};
  const size_t n = 300;
  double *x = malloc(n * sizeof(double));
  REQUIRE_OK(sagd_deconv_generate(key, &sagd_truth_mixture, 1, 0, n, x, NULL));

  /* 1. Linear generator [1 → 1], identity output: params = (W, b) = (w, b). The marginal of x
   * is N(b, w² + 1); Gauss–Hermite with 64 nodes integrates this Gaussian integrand to
   * ~machine precision: relative 1e-10 on the sum (and 1e-10 absolute per point). */
  {
    const size_t widths[2] = {1, 1};
    sagd_mlp lin = NULL;
    REQUIRE_OK(sagd_mlp_create(1, widths, &sagd_act_identity, &sagd_act_identity, 64, &lin));
    CHECK(sagd_mlp_nparams(lin) == 2);
    const double wb[4][2] = {{0.5, 1.0}, {1.5, -0.3}, {-2.0, 3.0}, {0.0, 1.8}};
    for (int c = 0; c < 4; c++) {
      double ll = 0.0, ref = 0.0, s2 = wb[c][0] * wb[c][0] + 1.0;
      for (size_t i = 0; i < n; i++) {
        ref += log(gsl_ran_gaussian_pdf(x[i] - wb[c][1], sqrt(s2)));
      }
      REQUIRE_OK(sagd_deconv_loglik_quad(lin, wb[c], x, n, 64, &ll));
      printf("linear w = %4.1f b = %4.1f: ll = %.12f, closed form %.12f\n", wb[c][0], wb[c][1],
             ll, ref);
      CHECK_CLOSE(ll, ref, 1e-10 * fabs(ref));
      for (size_t i = 0; i < n; i += 37) {
        double l1 = 0.0;
        REQUIRE_OK(sagd_deconv_loglik_quad(lin, wb[c], x + i, 1, 64, &l1));
        CHECK_CLOSE(l1, log(gsl_ran_gaussian_pdf(x[i] - wb[c][1], sqrt(s2))), 1e-10);
      }
    }
    double ll = 0.0;
    REQUIRE_OK(sagd_deconv_loglik_quad(lin, wb[0], x, 0, 64, &ll)); /* no points: 0 */
    CHECK(ll == 0.0);

    /* Bad arguments: fewer than 20 nodes, more nodes than max_batch, a non-finite x. */
    CHECK(sagd_deconv_loglik_quad(lin, wb[0], x, n, 19, &ll) == SAGD_ERR_ARG);
    CHECK(sagd_deconv_loglik_quad(lin, wb[0], x, n, 65, &ll) == SAGD_ERR_ARG);
    printf("max_batch error: %s\n", sagd_error_message());
    double bad[2] = {0.5, NAN};
    CHECK(sagd_deconv_loglik_quad(lin, wb[0], bad, 2, 64, &ll) == SAGD_ERR_DATA);
    sagd_mlp_destroy(&lin);
    CHECK(lin == NULL);
    sagd_error_clear();
  }

  /* 2. A generator that is not 1 → 1 is refused. */
  {
    const size_t widths[2] = {1, 2};
    sagd_mlp g2 = NULL;
    REQUIRE_OK(sagd_mlp_create(1, widths, &sagd_act_identity, &sagd_act_identity, 64, &g2));
    double p[4] = {1, 1, 0, 0}, ll = 0.0;
    CHECK(sagd_deconv_loglik_quad(g2, p, x, n, 32, &ll) == SAGD_ERR_ARG);
    printf("shape error: %s\n", sagd_error_message());
    sagd_mlp_destroy(&g2);
    sagd_error_clear();
  }

  /* 3. Softplus [1 → 10 → 1] with Xavier weights and biases set by hand, against qagi per
   * point (relative 1e-12 requested): relative 1e-8 on each point's log-density and on the
   * sum, for 100 Gauss–Hermite nodes. */
  {
    const size_t widths[3] = {1, 10, 1};
    sagd_mlp net = NULL;
    REQUIRE_OK(sagd_mlp_create(2, widths, &sagd_act_softplus, &sagd_act_identity, 128, &net));
    const size_t np = sagd_mlp_nparams(net);
    CHECK(np == 10 + 10 + 10 + 1);
    double *params = malloc(np * sizeof(double));
    REQUIRE_OK(sagd_mlp_init_xavier(net, key, 0, params));
    /* layout: W1 (10×1), b1 (10), W2 (1×10), b2 (1); spread the kinks and shift the output */
    for (size_t j = 0; j < 10; j++) {
      params[j] *= 2.0;
      params[10 + j] = -1.5 + 0.3 * (double)j;
      params[20 + j] *= 1.5;
    }
    params[30] = 1.2;
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(2000);
    double sum_ref = 0.0, ll = 0.0, maxrel = 0.0;
    for (size_t i = 0; i < n; i++) {
      qpar qp = {net, params, x[i]};
      gsl_function f = {integrand, &qp};
      double res = 0.0, err = 0.0;
      CHECK(gsl_integration_qagi(&f, 0.0, 1e-12, 2000, ws, &res, &err) == GSL_SUCCESS);
      double l1 = 0.0;
      REQUIRE_OK(sagd_deconv_loglik_quad(net, params, x + i, 1, 100, &l1));
      double rel = fabs(l1 - log(res)) / fabs(log(res));
      maxrel = rel > maxrel ? rel : maxrel;
      CHECK(rel <= 1e-8);
      sum_ref += log(res);
    }
    REQUIRE_OK(sagd_deconv_loglik_quad(net, params, x, n, 100, &ll));
    printf("softplus [1,10,1]: ll = %.12f, qagi %.12f, max per-point relative diff %.2g\n", ll,
           sum_ref, maxrel);
    CHECK_CLOSE(ll, sum_ref, 1e-8 * fabs(sum_ref));
    /* Convergence in the number of nodes: 40 and 128 nodes agree with 100 to 1e-8. */
    double l40 = 0.0, l128 = 0.0;
    REQUIRE_OK(sagd_deconv_loglik_quad(net, params, x, n, 40, &l40));
    REQUIRE_OK(sagd_deconv_loglik_quad(net, params, x, n, 128, &l128));
    CHECK_CLOSE(l40, ll, 1e-8 * fabs(ll));
    CHECK_CLOSE(l128, ll, 1e-8 * fabs(ll));
    gsl_integration_workspace_free(ws);
    free(params);
    sagd_mlp_destroy(&net);
  }

  /* 4. Timing at the experiment's size: the mixture generator [1 → 50 → 100 → 50 → 1],
   * n = 1000 points, 100 nodes. */
  {
    const size_t widths[5] = {1, 50, 100, 50, 1}, nn = 1000;
    sagd_mlp net = NULL;
    REQUIRE_OK(sagd_mlp_create(4, widths, &sagd_act_softplus, &sagd_act_identity, 100, &net));
    double *params = malloc(sagd_mlp_nparams(net) * sizeof(double));
    double *xx = malloc(nn * sizeof(double));
    REQUIRE_OK(sagd_mlp_init_xavier(net, key, 1, params));
    REQUIRE_OK(sagd_deconv_generate(key, &sagd_truth_mixture, 1, 0, nn, xx, NULL));
    double ll = 0.0, t0 = now_s();
    for (int rep = 0; rep < 10; rep++) {
      REQUIRE_OK(sagd_deconv_loglik_quad(net, params, xx, nn, 100, &ll));
    }
    printf("timing: loglik of n = %zu, 100 nodes, [1,50,100,50,1]: %.2f ms\n", nn,
           1e3 * (now_s() - t0) / 10.0);
    CHECK(isfinite(ll));
    /* block by block (as a sharded caller does): 100 blocks of 10 points; the rule is built
     * once, so this costs about 100 forwards of the 100 nodes; the sum agrees to rounding */
    double lb = 0.0, sumb = 0.0;
    t0 = now_s();
    for (size_t i = 0; i < nn; i += 10) {
      REQUIRE_OK(sagd_deconv_loglik_quad(net, params, xx + i, 10, 100, &lb));
      sumb += lb;
    }
    printf("timing: the same in 100 blocks of 10 points: %.2f ms\n", 1e3 * (now_s() - t0));
    CHECK_CLOSE(sumb, ll, 1e-12 * fabs(ll));
    free(params);
    free(xx);
    sagd_mlp_destroy(&net);
  }

  free(x);
  MPI_Finalize();
  return TEST_EXIT();
}
