/* MLPs (include/sagd/nn.h): forward against a naive reference written here, the input and
 * parameter gradients against central finite differences for several architectures and
 * activations, backward's accumulation/repeatability, Xavier initialisation (its definition,
 * purity in (key, id), bounds and variance), the FLOP count, and input errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/nn.h"
#include "testutil.h"

/* Independent scalar activations for the reference forward. */
static double ref_act_(const sagd_activation_type *a, double z) {
  if (a == &sagd_act_softplus) {
    return z > 30 ? z + log1p(exp(-z)) : log1p(exp(z));
  }
  if (a == &sagd_act_relu) {
    return z > 0 ? z : 0;
  }
  if (a == &sagd_act_tanh) {
    return tanh(z);
  }
  if (a == &sagd_act_sigmoid) {
    return 1.0 / (1.0 + exp(-z));
  }
  return z;
}

/* Naive forward of one row; also returns the smallest |pre-activation| of hidden layers
 * (to keep relu checks away from its kink). */
static void ref_forward_(size_t L, const size_t *w, const sagd_activation_type *hid,
                         const sagd_activation_type *out, const double *th, const double *x,
                         double *y, double *minabsz) {
  double a[256], z[256];
  memcpy(a, x, w[0] * sizeof(double));
  size_t off = 0;
  for (size_t l = 0; l < L; l++) {
    const double *W = th + off, *b = th + off + w[l + 1] * w[l];
    for (size_t i = 0; i < w[l + 1]; i++) {
      double s = b[i];
      for (size_t j = 0; j < w[l]; j++) {
        s += W[i * w[l] + j] * a[j];
      }
      z[i] = s;
      if (l + 1 < L) {
        *minabsz = fmin(*minabsz, fabs(s));
      }
    }
    for (size_t i = 0; i < w[l + 1]; i++) {
      a[i] = ref_act_(l + 1 == L ? out : hid, z[i]);
    }
    off += w[l + 1] * (w[l] + 1);
  }
  memcpy(y, a, w[L] * sizeof(double));
}

/* The loss L = Σ c ⊙ net(X) (so dL/dY = c). */
static double loss_(sagd_mlp net, const double *th, size_t B, const double *X, const double *c,
                    double *Y) {
  REQUIRE_OK(sagd_mlp_forward(net, th, B, X, Y));
  double s = 0;
  for (size_t i = 0; i < B * sagd_mlp_out(net); i++) {
    s += c[i] * Y[i];
  }
  return s;
}

/* Gradient check of one architecture. Central differences with h = 1e-6: truncation error
 * ~h²·|L'''| ~ 1e-12 and rounding ~eps·Σ|c·Y|/h ~ 1e-9 for these sizes; tolerance
 * 1e-6·max(1, |g|) still catches any wrong term (errors of a wrong gradient are O(|g|)). */
static void check_arch_(const char *label, size_t L, const size_t *w,
                        const sagd_activation_type *hid, const sagd_activation_type *out,
                        size_t B, double xscale, unsigned seed) {
  sagd_mlp net = NULL;
  REQUIRE_OK(sagd_mlp_create(L, w, hid, out, B + 3, &net));
  const size_t np = sagd_mlp_nparams(net), nin = w[0], nout = w[L];
  size_t np_expect = 0;
  for (size_t l = 0; l < L; l++) {
    np_expect += w[l + 1] * (w[l] + 1);
  }
  CHECK(np == np_expect && sagd_mlp_in(net) == nin && sagd_mlp_out(net) == nout);
  CHECK(sagd_mlp_max_batch(net) == B + 3);
  double *th = malloc(np * sizeof(double)), *g = malloc(np * sizeof(double));
  double *g2 = malloc(np * sizeof(double)), *bias = malloc(np * sizeof(double));
  double *X = malloc(B * nin * sizeof(double)), *dX = malloc(B * nin * sizeof(double));
  double *c = malloc(B * nout * sizeof(double)), *Y = malloc(B * nout * sizeof(double));
  double *Yr = malloc(nout * sizeof(double));
  REQUIRE_OK(th && g && g2 && bias && X && dX && c && Y && Yr ? SAGD_OK : SAGD_ERR_MEM);
  sagd_rng_key key = {77, 3};
  REQUIRE_OK(sagd_mlp_init_xavier(net, key, seed, th));
  test_fill_spread(bias, np, seed + 1, 0.3); /* non-zero biases (and a nudge to every weight) */
  for (size_t i = 0; i < np; i++) {
    th[i] += bias[i];
  }
  test_fill_spread(X, B * nin, seed + 2, xscale);
  test_fill_spread(c, B * nout, seed + 3, 1.0);

  /* forward against the reference */
  REQUIRE_OK(sagd_mlp_forward(net, th, B, X, Y));
  double ferr = 0, minz = INFINITY;
  for (size_t q = 0; q < B; q++) {
    ref_forward_(L, w, hid, out, th, X + q * nin, Yr, &minz);
    for (size_t j = 0; j < nout; j++) {
      ferr = fmax(ferr, fabs(Y[q * nout + j] - Yr[j]) / fmax(1.0, fabs(Yr[j])));
    }
  }
  CHECK(ferr <= 1e-13);
  if (hid == &sagd_act_relu) {
    CHECK(minz > 1e-3); /* FD steps of 1e-6 never cross a kink */
  }

  /* analytic gradients; grad_params accumulates (start from 1) */
  for (size_t i = 0; i < np; i++) {
    g[i] = 1.0;
  }
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, g, dX));
  for (size_t i = 0; i < np; i++) {
    g[i] -= 1.0;
  }
  /* repeatable: a second backward after the same forward gives the same bits */
  double *dX2 = malloc(B * nin * sizeof(double));
  REQUIRE_OK(dX2 ? SAGD_OK : SAGD_ERR_MEM);
  memset(g2, 0, np * sizeof(double));
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, g2, dX2));
  CHECK(memcmp(dX, dX2, B * nin * sizeof(double)) == 0);
  memset(dX2, 0, B * nin * sizeof(double));
  /* and the parts asked for alone are the same as together */
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, NULL, dX2));
  CHECK(memcmp(dX, dX2, B * nin * sizeof(double)) == 0);
  double *g3 = calloc(np, sizeof(double));
  REQUIRE_OK(g3 ? SAGD_OK : SAGD_ERR_MEM);
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, g3, NULL));
  CHECK(memcmp(g2, g3, np * sizeof(double)) == 0);

  const double h = 1e-6;
  double perr = 0, xerr = 0;
  for (size_t i = 0; i < np; i++) {
    const double t0 = th[i];
    th[i] = t0 + h;
    const double lp = loss_(net, th, B, X, c, Y);
    th[i] = t0 - h;
    const double lm = loss_(net, th, B, X, c, Y);
    th[i] = t0;
    perr = fmax(perr, fabs(g[i] - (lp - lm) / (2 * h)) / fmax(1.0, fabs(g[i])));
  }
  for (size_t i = 0; i < B * nin; i++) {
    const double x0 = X[i];
    X[i] = x0 + h;
    const double lp = loss_(net, th, B, X, c, Y);
    X[i] = x0 - h;
    const double lm = loss_(net, th, B, X, c, Y);
    X[i] = x0;
    xerr = fmax(xerr, fabs(dX[i] - (lp - lm) / (2 * h)) / fmax(1.0, fabs(dX[i])));
  }
  printf("%-34s %6zu params: forward err %.2g, dθ FD err %.2g, dX FD err %.2g\n", label, np,
         ferr, perr, xerr);
  CHECK(perr <= 1e-6);
  CHECK(xerr <= 1e-6);
  free(th);
  free(g);
  free(g2);
  free(g3);
  free(bias);
  free(X);
  free(dX);
  free(dX2);
  free(c);
  free(Y);
  free(Yr);
  sagd_mlp_destroy(&net);
  CHECK(net == NULL);
}

static void test_gradients(void) {
  const size_t a1[] = {1, 10, 1}, a2[] = {1, 50, 100, 50, 1}, a3[] = {3, 7, 5, 2};
  const size_t a4[] = {4, 6, 3}, a5[] = {2, 5, 3}, a6[] = {3, 2}, a7[] = {5, 16, 16, 4};
  check_arch_("[1-10-1] softplus", 2, a1, &sagd_act_softplus, NULL, 6, 2.0, 1);
  check_arch_("[1-50-100-50-1] softplus", 4, a2, &sagd_act_softplus, &sagd_act_identity, 5,
              2.0, 2);
  check_arch_("[3-7-5-2] tanh, sigmoid out", 3, a3, &sagd_act_tanh, &sagd_act_sigmoid, 4, 1.5,
              3);
  check_arch_("[4-6-3] relu, softplus out", 2, a4, &sagd_act_relu, &sagd_act_softplus, 7, 1.0,
              4);
  check_arch_("[2-5-3] sigmoid, tanh out", 2, a5, &sagd_act_sigmoid, &sagd_act_tanh, 3, 2.0, 5);
  check_arch_("[3-2] single layer", 1, a6, NULL, NULL, 4, 1.0, 6);
  check_arch_("[5-16-16-4] softplus, 40 rows", 3, a7, &sagd_act_softplus, NULL, 40, 3.0, 7);
}

static void test_xavier(void) {
  const size_t w[] = {400, 200, 30};
  sagd_mlp net = NULL, net2 = NULL;
  REQUIRE_OK(sagd_mlp_create(2, w, &sagd_act_softplus, NULL, 1, &net));
  REQUIRE_OK(sagd_mlp_create(2, w, &sagd_act_tanh, &sagd_act_relu, 5, &net2));
  const size_t np = sagd_mlp_nparams(net), n0 = 400 * 200;
  CHECK(np == 200 * 401 + 30 * 201);
  double *a = malloc(np * sizeof(double)), *b = malloc(np * sizeof(double));
  double *u = malloc(n0 * sizeof(double));
  REQUIRE_OK(a && b && u ? SAGD_OK : SAGD_ERR_MEM);
  sagd_rng_key key = {2024, 7};
  REQUIRE_OK(sagd_mlp_init_xavier(net, key, 11, a));
  /* A pure function of (key, id) and the widths: another net, same bits. */
  for (size_t i = 0; i < np; i++) {
    b[i] = NAN;
  }
  REQUIRE_OK(sagd_mlp_init_xavier(net2, key, 11, b));
  CHECK(memcmp(a, b, np * sizeof(double)) == 0);
  /* The definition: W_0[j] = (2u_j - 1)·sqrt(6/(fan_in + fan_out)) with u_j the uniforms at
   * (key, NN_INIT, id, t = 0, k = 0); biases zero. */
  sagd_rng_gsl rng = NULL;
  REQUIRE_OK(sagd_rng_gsl_create(&rng));
  sagd_rng_uniforms(rng, key, SAGD_STREAM_NN_INIT, 11, 0, 0, n0, u);
  const double lim0 = sqrt(6.0 / 600.0), lim1 = sqrt(6.0 / 230.0);
  size_t bad = 0;
  for (size_t j = 0; j < n0; j++) {
    bad += a[j] != (2.0 * u[j] - 1.0) * lim0;
  }
  CHECK(bad == 0);
  sagd_rng_gsl_destroy(&rng);
  size_t nonzero_bias = 0, out_of_range = 0;
  for (size_t i = 0; i < 200; i++) {
    nonzero_bias += a[n0 + i] != 0.0;
  }
  for (size_t i = 0; i < 30; i++) {
    nonzero_bias += a[np - 30 + i] != 0.0;
  }
  for (size_t j = 0; j < n0; j++) {
    out_of_range += fabs(a[j]) > lim0;
  }
  for (size_t j = 0; j < 30 * 200; j++) {
    out_of_range += fabs(a[n0 + 200 + j]) > lim1;
  }
  CHECK(nonzero_bias == 0 && out_of_range == 0);
  /* Variance: U(-l, l) has E w² = l²/3 and Var w² = 4l⁴/45, so the mean of w² over N weights
   * has relative standard error 3·sqrt(4/45)/sqrt(N) = 0.894/sqrt(N) (0.32% for N = 80000,
   * 1.2% for N = 6000); the mean has SE l/sqrt(3N). Tolerance: 5 standard errors. */
  const size_t cnt[2] = {n0, 30 * 200}, off[2] = {0, n0 + 200};
  const double lim[2] = {lim0, lim1};
  for (size_t l = 0; l < 2; l++) {
    double m = 0, m2 = 0;
    for (size_t j = 0; j < cnt[l]; j++) {
      m += a[off[l] + j];
      m2 += a[off[l] + j] * a[off[l] + j];
    }
    m /= (double)cnt[l];
    m2 /= (double)cnt[l];
    const double var = lim[l] * lim[l] / 3.0, N = (double)cnt[l];
    printf("xavier layer %zu: var %.6g (expected %.6g = 2/(fan_in+fan_out)), mean %.3g\n", l, m2,
           var, m);
    CHECK(fabs(m2 / var - 1.0) <= 5 * 0.894 / sqrt(N));
    CHECK(fabs(m) <= 5 * lim[l] / sqrt(3 * N));
  }
  /* A different id, seed or replication gives different weights; layer l's draws depend only
   * on (key, id, l) and its shape, so a net with another last layer shares layer 0. */
  sagd_rng_key k2 = {2025, 7}, k3 = {2024, 8};
  REQUIRE_OK(sagd_mlp_init_xavier(net, key, 12, b));
  CHECK(memcmp(a, b, n0 * sizeof(double)) != 0);
  REQUIRE_OK(sagd_mlp_init_xavier(net, k2, 11, b));
  CHECK(memcmp(a, b, n0 * sizeof(double)) != 0);
  REQUIRE_OK(sagd_mlp_init_xavier(net, k3, 11, b));
  CHECK(memcmp(a, b, n0 * sizeof(double)) != 0);
  const size_t w3[] = {400, 200, 7};
  sagd_mlp net3 = NULL;
  REQUIRE_OK(sagd_mlp_create(2, w3, NULL, NULL, 1, &net3));
  REQUIRE_OK(sagd_mlp_init_xavier(net3, key, 11, b));
  CHECK(memcmp(a, b, (n0 + 200) * sizeof(double)) == 0);
  sagd_mlp_destroy(&net3);
  sagd_mlp_destroy(&net);
  sagd_mlp_destroy(&net2);
  free(a);
  free(b);
  free(u);
}

static void test_flops(void) {
  const size_t w[] = {100, 256, 256, 100};
  sagd_mlp net = NULL;
  REQUIRE_OK(sagd_mlp_create(3, w, &sagd_act_softplus, NULL, 4, &net));
  const double fwd = 2.0 * (100 * 256 + 256 * 256 + 256 * 100);
  CHECK(sagd_mlp_flops(net, 1, 0) == fwd);
  CHECK(sagd_mlp_flops(net, 10, 0) == 10 * fwd);
  CHECK(sagd_mlp_flops(net, 10, SAGD_MLP_BACKWARD_INPUT) == 20 * fwd);
  CHECK(sagd_mlp_flops(net, 10, SAGD_MLP_BACKWARD_INPUT | SAGD_MLP_BACKWARD_PARAMS) ==
        30 * fwd);
  /* parameters only: the first layer's dA GEMM (to dX) is skipped */
  CHECK(sagd_mlp_flops(net, 10, SAGD_MLP_BACKWARD_PARAMS) == 10 * (3 * fwd - 2.0 * 100 * 256));
  sagd_mlp_destroy(&net);
  sagd_mlp_destroy(&net); /* NULL is fine */
  sagd_mlp_destroy(NULL);
}

static void test_errors(void) {
  sagd_mlp net = (sagd_mlp)1;
  const size_t bad[] = {1, 5, 0, 1};
  CHECK(sagd_mlp_create(3, bad, &sagd_act_softplus, NULL, 8, &net) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "layer 2 width = 0: expected >= 1") != NULL);
  CHECK(net == NULL);
  const size_t bad0[] = {0, 5};
  CHECK(sagd_mlp_create(1, bad0, NULL, NULL, 8, &net) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "layer 0 width = 0") != NULL);
  const size_t ok[] = {2, 4, 1};
  CHECK(sagd_mlp_create(0, ok, NULL, NULL, 8, &net) == SAGD_ERR_ARG);
  CHECK(sagd_mlp_create(2, ok, NULL, NULL, 0, &net) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "max_batch = 0") != NULL);
  CHECK(sagd_mlp_create(2, NULL, NULL, NULL, 8, &net) == SAGD_ERR_ARG);

  REQUIRE_OK(sagd_mlp_create(2, ok, &sagd_act_softplus, NULL, 8, &net));
  double th[4 * 3 + 4 + 5] = {0}, X[9 * 2] = {0}, Y[9] = {0}, g[21] = {0}, dX[18];
  CHECK(sagd_mlp_forward(net, th, 9, X, Y) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "batch = 9 rows, expected 1 .. max_batch = 8") != NULL);
  CHECK(sagd_mlp_forward(net, th, 0, X, Y) == SAGD_ERR_ARG);
  /* backward before any forward, and after a forward of another batch size */
  CHECK(sagd_mlp_backward(net, th, 3, Y, g, dX) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "must follow the forward") != NULL);
  REQUIRE_OK(sagd_mlp_forward(net, th, 4, X, Y));
  CHECK(sagd_mlp_backward(net, th, 3, Y, g, dX) == SAGD_ERR_ARG);
  CHECK(sagd_mlp_backward(net, th, 9, Y, g, dX) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "batch = 9 rows") != NULL);
  REQUIRE_OK(sagd_mlp_backward(net, th, 4, Y, g, dX));
  sagd_mlp_destroy(&net);
}

int main(void) {
  test_gradients();
  test_xavier();
  test_flops();
  test_errors();
  return TEST_EXIT();
}
