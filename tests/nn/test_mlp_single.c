/* Single-precision MLPs (sagd_mlp_set_precision): against the double-precision network (itself
 * checked against finite differences in test_mlp.c) on the same parameters and inputs, for
 * the high-dimensional generator's shape 100-256-256-100 and a small net, every activation:
 *   outputs        |y_s - y_d| <= 2e-5 (1 + |y_d|) elementwise;
 *   gradients      ||g_s - g_d|| <= 1e-5 ||g_d|| for the parameter and the input gradients;
 * float rounding of O(width) sums of O(1) terms is ~1e-7..1e-6 relative (2e-7 measured on the
 * gradients), so these tolerances are 10-50x that but far below any real bug (a wrong
 * layer or a missing bias is O(1)). Also: the
 * float activation kernels against double ones (1e-6 relative), backward_set equals backward
 * onto zeros bit for bit and backward accumulates, the prepare contract (no prepare, other
 * parameters, re-prepare after a change), and the GEMM log records single-precision calls.
 * argv[1] (avx2, none) caps the vector path, as for test_activation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/gemmlog.h"
#include "sagd/nn.h"
#include "testutil.h"

static double norm_(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    s += x[i] * x[i];
  }
  return sqrt(s);
}

static double dist_(const double *x, const double *y, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    s += (x[i] - y[i]) * (x[i] - y[i]);
  }
  return sqrt(s);
}

/* One architecture: double and single nets with the same Xavier parameters (biases made
 * nonzero), the same batch; compare outputs and gradients. */
static void compare_(size_t L, const size_t *w, const sagd_activation_type *hid, size_t B) {
  sagd_mlp nd = NULL, ns = NULL;
  REQUIRE_OK(sagd_mlp_create(L, w, hid, NULL, B, &nd));
  REQUIRE_OK(sagd_mlp_create(L, w, hid, NULL, B, &ns));
  REQUIRE_OK(sagd_mlp_set_precision(ns, SAGD_PRECISION_SINGLE));
  CHECK(sagd_mlp_precision(ns) == SAGD_PRECISION_SINGLE);
  CHECK(sagd_mlp_precision(nd) == SAGD_PRECISION_DOUBLE);
  const size_t np = sagd_mlp_nparams(nd), in = w[0], out = w[L];
  double *th = calloc(np, sizeof(double)), *X = calloc(B * in, sizeof(double));
  double *Yd = calloc(B * out, sizeof(double)), *Ys = calloc(B * out, sizeof(double));
  double *dY = calloc(B * out, sizeof(double));
  double *gd = calloc(np, sizeof(double)), *gs = calloc(np, sizeof(double));
  double *xd = calloc(B * in, sizeof(double)), *xs = calloc(B * in, sizeof(double));
  sagd_rng_key key = {7, 0};
  REQUIRE_OK(sagd_mlp_init_xavier(nd, key, 3, th));
  double *bias = calloc(np, sizeof(double));
  test_fill_spread(bias, np, 11, 0.1);
  for (size_t i = 0; i < np; i++) {
    th[i] += th[i] == 0.0 ? bias[i] : 0.0; /* Xavier biases are 0 */
  }
  test_fill_spread(X, B * in, 5, 1.5);
  test_fill_spread(dY, B * out, 9, 1.0);
  REQUIRE_OK(sagd_mlp_forward(nd, th, B, X, Yd));
  REQUIRE_OK(sagd_mlp_prepare(ns, th));
  REQUIRE_OK(sagd_mlp_forward(ns, th, B, X, Ys));
  int bad = 0;
  for (size_t i = 0; i < B * out; i++) {
    bad += !(fabs(Ys[i] - Yd[i]) <= 2e-5 * (1 + fabs(Yd[i])));
  }
  if (bad) {
    fprintf(stderr, "%s, %zu layers: %d outputs off\n", hid->name, L, bad);
  }
  CHECK(bad == 0);
  REQUIRE_OK(sagd_mlp_backward(nd, th, B, dY, gd, xd));
  REQUIRE_OK(sagd_mlp_backward(ns, th, B, dY, gs, xs));
  const double eg = dist_(gs, gd, np) / norm_(gd, np), ex = dist_(xs, xd, B * in) / norm_(xd, B * in);
  printf("%-8s %zu layers (width %zu..%zu), %zu rows: relative gradient error params %.2e, "
         "input %.2e\n", hid->name, L, w[0], w[1], B, eg, ex);
  CHECK(eg <= 1e-4);
  CHECK(ex <= 1e-4);
  /* backward accumulates; backward_set overwrites with the same bits as onto zeros */
  double *g2 = calloc(np, sizeof(double)), *g3 = calloc(np, sizeof(double));
  memcpy(g2, gs, np * sizeof(double));
  REQUIRE_OK(sagd_mlp_backward(ns, th, B, dY, g2, NULL));
  int acc_ok = 1;
  for (size_t i = 0; i < np; i++) {
    acc_ok &= g2[i] == gs[i] + gs[i];
  }
  CHECK(acc_ok);
  test_fill_spread(g3, np, 13, 5.0); /* garbage: must be overwritten */
  REQUIRE_OK(sagd_mlp_backward_set(ns, th, B, dY, g3, NULL));
  CHECK(memcmp(g3, gs, np * sizeof(double)) == 0);
  test_fill_spread(g3, np, 13, 5.0);
  REQUIRE_OK(sagd_mlp_backward_set(nd, th, B, dY, g3, NULL));
  CHECK(memcmp(g3, gd, np * sizeof(double)) == 0);
  /* the prepare contract: other parameters are refused; a change needs a new prepare */
  double *th2 = calloc(np, sizeof(double));
  memcpy(th2, th, np * sizeof(double));
  CHECK(sagd_mlp_forward(ns, th2, B, X, Ys) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "sagd_mlp_prepare") != NULL);
  th2[0] += 0.5;
  REQUIRE_OK(sagd_mlp_prepare(ns, th2));
  REQUIRE_OK(sagd_mlp_forward(ns, th2, B, X, Ys));
  REQUIRE_OK(sagd_mlp_forward(nd, th2, B, X, Yd));
  double worst = 0;
  for (size_t i = 0; i < B * out; i++) {
    worst = fmax(worst, fabs(Ys[i] - Yd[i]) / (1 + fabs(Yd[i])));
  }
  CHECK(worst <= 2e-5);
  free(th);
  free(th2);
  free(bias);
  free(X);
  free(Yd);
  free(Ys);
  free(dY);
  free(gd);
  free(gs);
  free(g2);
  free(g3);
  free(xd);
  free(xs);
  sagd_mlp_destroy(&nd);
  sagd_mlp_destroy(&ns);
}

int main(int argc, char **argv) {
  if (argc > 1) {
    setenv("SAGD_SIMD", argv[1], 1);
    printf("SAGD_SIMD=%s\n", argv[1]);
  }
  const size_t hd[4] = {100, 256, 256, 100}, sm[4] = {3, 17, 9, 2};
  const sagd_activation_type *acts[] = {&sagd_act_softplus, &sagd_act_sigmoid, &sagd_act_tanh,
                                        &sagd_act_relu, &sagd_act_identity};
  for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
    compare_(3, hd, acts[a], 50);
    compare_(3, sm, acts[a], 37);
    compare_(1, sm, acts[a], 5);
  }
  /* no prepare at all */
  {
    sagd_mlp ns = NULL;
    REQUIRE_OK(sagd_mlp_create(3, sm, &sagd_act_softplus, NULL, 4, &ns));
    REQUIRE_OK(sagd_mlp_set_precision(ns, SAGD_PRECISION_SINGLE));
    double th[512] = {0}, X[12] = {0}, Y[8];
    CHECK(sagd_mlp_forward(ns, th, 4, X, Y) == SAGD_ERR_ARG);
    /* the GEMM log records single-precision calls of the layer shapes */
    sagd_gemm_log log = NULL;
    REQUIRE_OK(sagd_gemm_log_create(&log));
    sagd_mlp_set_log(ns, log);
    REQUIRE_OK(sagd_mlp_prepare(ns, th));
    REQUIRE_OK(sagd_mlp_forward(ns, th, 4, X, Y));
    CHECK(sagd_gemm_log_calls(log) == 3);
    CHECK(sagd_gemm_log_flops(log) == 2.0 * 4 * (3 * 17 + 17 * 9 + 9 * 2));
    double secs = -1;
    REQUIRE_OK(sagd_gemm_log_replay(log, 2, &secs));
    CHECK(secs >= 0);
    sagd_mlp_set_log(ns, NULL);
    sagd_gemm_log_destroy(&log);
    CHECK(sagd_mlp_set_precision(ns, (sagd_precision)7) == SAGD_ERR_ARG);
    REQUIRE_OK(sagd_mlp_set_precision(ns, SAGD_PRECISION_DOUBLE));
    REQUIRE_OK(sagd_mlp_forward(ns, th, 4, X, Y)); /* double needs no prepare */
    sagd_mlp_destroy(&ns);
  }
  return TEST_EXIT();
}
