/* Convolution and transposed convolution layers (include/sagd/conv.h), against independent
 * references, for several geometries (stride 1 and 2, padding, output padding, channels, a
 * non-square input):
 *  - forward against a direct (naive) loop over the definition, to 1e-13 relative;
 *  - the transposed layer is the adjoint of the convolution with the same weights:
 *    <conv(X), Y> = <X, convt(Y)> (biases 0, identity), to 1e-13;
 *  - dL/dX and dL/dθ of L = Σ c ⊙ layer(X) (tanh activation) against central finite
 *    differences, to 1e-6 relative;
 *  - single precision against double: forward, dX and dθ to 2e-5 relative (of the largest);
 *  - an image's result does not depend on the other images of its batch (1e-14);
 *  - bad geometries and misuse are SAGD_ERR_ARG. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/conv.h"
#include "testutil.h"

typedef struct {
  const char *name;
  sagd_conv_geom g;
} case_t;

static const case_t cases_[] = {
    {"conv 5x6x2 -> 3, k3 s1 p1", {SAGD_CONV_FORWARD, 5, 6, 2, 3, 3, 1, 1, 0}},
    {"conv 8x8x3 -> 4, k4 s2 p1", {SAGD_CONV_FORWARD, 8, 8, 3, 4, 4, 2, 1, 0}},
    {"conv 7x9x1 -> 2, k5 s2 p2", {SAGD_CONV_FORWARD, 7, 9, 1, 2, 5, 2, 2, 0}},
    {"conv 6x5x2 -> 2, k2 s3 p0", {SAGD_CONV_FORWARD, 6, 5, 2, 2, 2, 3, 0, 0}},
    {"convt 4x4x3 -> 2, k4 s2 p1", {SAGD_CONV_TRANSPOSED, 4, 4, 3, 2, 4, 2, 1, 0}},
    {"convt 3x4x2 -> 3, k5 s2 p2 op1", {SAGD_CONV_TRANSPOSED, 3, 4, 2, 3, 5, 2, 2, 1}},
    {"convt 5x5x1 -> 2, k3 s1 p0", {SAGD_CONV_TRANSPOSED, 5, 5, 1, 2, 3, 1, 0, 0}},
    {"convt 2x3x2 -> 1, k3 s3 p1 op2", {SAGD_CONV_TRANSPOSED, 2, 3, 2, 1, 3, 3, 1, 2}},
};
#define NCASES (sizeof cases_ / sizeof cases_[0])
#define BATCH 3

/* The definition, one output value at a time (NHWC, weights as documented in conv.h). */
static void naive_(const sagd_conv_geom *g, size_t orows, size_t ocols, const double *th,
                   size_t batch, const double *X, double *Y) {
  const size_t k = g->kernel, s = g->stride, p = g->pad, ci_n = g->in_channels,
               co_n = g->out_channels;
  const size_t nw = ci_n * co_n * k * k;
  const double *b = th + nw;
  const size_t isz = g->in_rows * g->in_cols * ci_n, osz = orows * ocols * co_n;
  for (size_t q = 0; q < batch; q++) {
    const double *x = X + q * isz;
    double *y = Y + q * osz;
    for (size_t i = 0; i < osz; i++) {
      y[i] = b[i % co_n];
    }
    if (g->kind == SAGD_CONV_FORWARD) {
      for (size_t oh = 0; oh < orows; oh++)
        for (size_t ow = 0; ow < ocols; ow++)
          for (size_t co = 0; co < co_n; co++)
            for (size_t ki = 0; ki < k; ki++)
              for (size_t kj = 0; kj < k; kj++) {
                long ih = (long)(oh * s + ki) - (long)p, iw = (long)(ow * s + kj) - (long)p;
                if (ih < 0 || iw < 0 || ih >= (long)g->in_rows || iw >= (long)g->in_cols) {
                  continue;
                }
                for (size_t ci = 0; ci < ci_n; ci++) {
                  y[(oh * ocols + ow) * co_n + co] +=
                      th[((co * k + ki) * k + kj) * ci_n + ci] *
                      x[((size_t)ih * g->in_cols + (size_t)iw) * ci_n + ci];
                }
              }
    } else { /* every input pixel scatters its kernel-weighted values */
      for (size_t ih = 0; ih < g->in_rows; ih++)
        for (size_t iw = 0; iw < g->in_cols; iw++)
          for (size_t ci = 0; ci < ci_n; ci++)
            for (size_t ki = 0; ki < k; ki++)
              for (size_t kj = 0; kj < k; kj++) {
                long oh = (long)(ih * s + ki) - (long)p, ow = (long)(iw * s + kj) - (long)p;
                if (oh < 0 || ow < 0 || oh >= (long)orows || ow >= (long)ocols) {
                  continue;
                }
                for (size_t co = 0; co < co_n; co++) {
                  y[((size_t)oh * ocols + (size_t)ow) * co_n + co] +=
                      th[((ci * k + ki) * k + kj) * co_n + co] *
                      x[(ih * g->in_cols + iw) * ci_n + ci];
                }
              }
    }
  }
}

/* L = Σ c ⊙ layer(X) */
typedef struct {
  sagd_conv c;
  const double *th, *X, *cw;
  size_t batch;
  double *Y;
} loss_ctx_;

static double loss_(void *p) {
  const loss_ctx_ *l = p;
  REQUIRE_OK(sagd_conv_forward(l->c, l->th, l->batch, l->X, l->Y));
  return test_dot(l->cw, l->Y, l->batch * sagd_conv_out_size(l->c));
}

static void one_case_(const case_t *tc, unsigned seed) {
  sagd_conv lin = NULL, nl = NULL;
  REQUIRE_OK(sagd_conv_create(&tc->g, NULL, BATCH, &lin));
  REQUIRE_OK(sagd_conv_create(&tc->g, &sagd_act_tanh, BATCH, &nl));
  const size_t np = sagd_conv_nparams(lin), in = sagd_conv_in_size(lin),
               out = sagd_conv_out_size(lin), orows = sagd_conv_out_rows(lin),
               ocols = sagd_conv_out_cols(lin);
  CHECK(np == tc->g.in_channels * tc->g.out_channels * tc->g.kernel * tc->g.kernel +
                  tc->g.out_channels);
  double *th = malloc(np * sizeof(double)), *X = malloc(BATCH * in * sizeof(double));
  double *Y = malloc(BATCH * out * sizeof(double)), *R = malloc(BATCH * out * sizeof(double));
  double *cw = malloc(BATCH * out * sizeof(double)), *dX = malloc(BATCH * in * sizeof(double));
  double *g = calloc(np, sizeof(double)), *dXs = malloc(BATCH * in * sizeof(double));
  double *gs = calloc(np, sizeof(double)), *Ys = malloc(BATCH * out * sizeof(double));
  test_fill_spread(th, np, seed, 0.5);
  test_fill_spread(X, BATCH * in, seed + 1, 1.0);
  test_fill_spread(cw, BATCH * out, seed + 2, 1.0);

  /* forward against the definition */
  REQUIRE_OK(sagd_conv_forward(lin, th, BATCH, X, Y));
  naive_(&tc->g, orows, ocols, th, BATCH, X, R);
  const double fe = test_max_diff(Y, R, BATCH * out) / test_max_abs(R, BATCH * out);
  CHECK(fe < 1e-13);

  /* adjoint: the transposed geometry with the same weight array */
  sagd_conv_geom a = tc->g;
  a.kind = tc->g.kind == SAGD_CONV_FORWARD ? SAGD_CONV_TRANSPOSED : SAGD_CONV_FORWARD;
  a.in_rows = orows;
  a.in_cols = ocols;
  a.in_channels = tc->g.out_channels;
  a.out_channels = tc->g.in_channels;
  a.out_pad = 0;
  if (a.kind == SAGD_CONV_TRANSPOSED) { /* the output padding that gives back the input size */
    a.out_pad = tc->g.in_rows - ((orows - 1) * a.stride + a.kernel - 2 * a.pad);
  }
  double adj = -1;
  sagd_conv adjc = NULL;
  if (a.kind == SAGD_CONV_FORWARD ||
      (a.out_pad < a.stride &&
       tc->g.in_cols == (ocols - 1) * a.stride + a.kernel - 2 * a.pad + a.out_pad)) {
    REQUIRE_OK(sagd_conv_create(&a, NULL, BATCH, &adjc));
    CHECK(sagd_conv_out_rows(adjc) == tc->g.in_rows && sagd_conv_out_cols(adjc) == tc->g.in_cols);
    CHECK(sagd_conv_nparams(adjc) - a.out_channels == np - tc->g.out_channels);
    double *th0 = calloc(sagd_conv_nparams(adjc), sizeof(double));
    double *th1 = calloc(np, sizeof(double));
    memcpy(th0, th, (np - tc->g.out_channels) * sizeof(double));
    memcpy(th1, th, (np - tc->g.out_channels) * sizeof(double));
    double *AY = malloc(BATCH * in * sizeof(double));
    REQUIRE_OK(sagd_conv_forward(lin, th1, BATCH, X, Y));
    REQUIRE_OK(sagd_conv_forward(adjc, th0, BATCH, cw, AY));
    const double l = test_dot(Y, cw, BATCH * out), r = test_dot(X, AY, BATCH * in);
    adj = fabs(l - r) / fmax(fabs(l), 1e-300);
    CHECK(adj < 1e-13);
    free(th0);
    free(th1);
    free(AY);
    sagd_conv_destroy(&adjc);
  }

  /* gradients against central differences (tanh layer) */
  loss_ctx_ lc = {nl, th, X, cw, BATCH, Y};
  loss_(&lc);
  REQUIRE_OK(sagd_conv_backward(nl, th, BATCH, cw, g, dX));
  const double gmax = test_max_abs(g, np), xmax = test_max_abs(dX, BATCH * in);
  const double gerr = test_fd_rel_error(loss_, &lc, th, np, g, 1e-5);
  const double xerr = test_fd_rel_error(loss_, &lc, X, BATCH * in, dX, 1e-5);
  CHECK(gerr < 1e-6);
  CHECK(xerr < 1e-6);
  /* backward accumulates into the gradient and may be repeated after one forward */
  REQUIRE_OK(sagd_conv_forward(nl, th, BATCH, X, Y));
  double *g2 = calloc(np, sizeof(double));
  REQUIRE_OK(sagd_conv_backward(nl, th, BATCH, cw, g2, NULL));
  REQUIRE_OK(sagd_conv_backward(nl, th, BATCH, cw, g2, NULL));
  double e2 = 0;
  for (size_t i = 0; i < np; i++) {
    e2 = fmax(e2, fabs(g2[i] - 2 * g[i]));
  }
  CHECK(e2 <= 1e-15 * gmax * 4);
  free(g2);

  /* one image alone gives its result in the batch */
  double *Y1 = malloc(out * sizeof(double));
  REQUIRE_OK(sagd_conv_forward(nl, th, BATCH, X, Y));
  REQUIRE_OK(sagd_conv_forward(nl, th, 1, X + 2 * in, Y1));
  CHECK(test_max_diff(Y1, Y + 2 * out, out) <= 1e-14 * test_max_abs(Y1, out));
  free(Y1);

  /* single precision against double */
  REQUIRE_OK(sagd_conv_forward(nl, th, BATCH, X, Y));
  REQUIRE_OK(sagd_conv_set_precision(nl, SAGD_PRECISION_SINGLE));
  CHECK(sagd_conv_forward(nl, th, BATCH, X, Ys) == SAGD_ERR_ARG); /* not prepared */
  sagd_error_clear();
  REQUIRE_OK(sagd_conv_prepare(nl, th));
  REQUIRE_OK(sagd_conv_forward(nl, th, BATCH, X, Ys));
  REQUIRE_OK(sagd_conv_backward(nl, th, BATCH, cw, gs, dXs));
  const double sf = test_max_diff(Ys, Y, BATCH * out) / test_max_abs(Y, BATCH * out);
  const double sg = test_max_diff(gs, g, np) / gmax, sx = test_max_diff(dXs, dX, BATCH * in) / xmax;
  CHECK(sf < 2e-5 && sg < 2e-5 && sx < 2e-5);
  REQUIRE_OK(sagd_conv_set_precision(nl, SAGD_PRECISION_DOUBLE));

  char adjs[32];
  snprintf(adjs, sizeof adjs, adj < 0 ? "n/a" : "%.1e", adj);
  printf("%-32s out %zux%zux%zu  naive %.1e  adjoint %s  fd dθ %.1e dX %.1e  single "
         "%.1e %.1e %.1e\n",
         tc->name, orows, ocols, tc->g.out_channels, fe, adjs, gerr, xerr, sf,
         sg, sx);
  free(th);
  free(X);
  free(Y);
  free(R);
  free(cw);
  free(dX);
  free(g);
  free(dXs);
  free(gs);
  free(Ys);
  sagd_conv_destroy(&lin);
  sagd_conv_destroy(&nl);
}

static void expect_arg_(const char *what, sagd_conv_geom g, size_t batch, const char *needle) {
  sagd_conv c = NULL;
  int rc = sagd_conv_create(&g, NULL, batch, &c);
  if (rc != SAGD_ERR_ARG || c != NULL || strstr(sagd_error_message(), needle) == NULL) {
    fprintf(stderr, "%s: rc %d, message '%s': expected invalid argument with '%s'\n", what, rc,
            sagd_error_message(), needle);
    test_failures_++;
  }
  sagd_error_clear();
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  for (size_t i = 0; i < NCASES; i++) {
    one_case_(&cases_[i], 17 + 5 * (unsigned)i);
  }
  /* the MNIST generator's shape: 7x7x64 -> 14x14x32 -> 28x28x1 */
  sagd_conv_geom t1 = {SAGD_CONV_TRANSPOSED, 7, 7, 64, 32, 4, 2, 1, 0};
  sagd_conv c = NULL;
  REQUIRE_OK(sagd_conv_create(&t1, &sagd_act_relu, 2, &c));
  CHECK(sagd_conv_out_rows(c) == 14 && sagd_conv_out_cols(c) == 14);
  CHECK(sagd_conv_flops(c, 1, 0) == 2.0 * 49 * 64 * 16 * 32);
  sagd_conv_destroy(&c);

  sagd_conv_geom b = {SAGD_CONV_FORWARD, 5, 5, 1, 1, 3, 1, 0, 0};
  sagd_conv_geom x = b;
  x.kernel = 0;
  expect_arg_("kernel 0", x, 1, "kernel = 0");
  x = b;
  x.pad = 3;
  expect_arg_("pad >= kernel", x, 1, "pad = 3");
  x = b;
  x.kernel = 7;
  x.pad = 0;
  expect_arg_("kernel larger than the input", x, 1, "larger than the padded input");
  x = b;
  x.out_pad = 1;
  expect_arg_("out_pad on conv", x, 1, "out_pad = 1");
  x = b;
  x.kind = SAGD_CONV_TRANSPOSED;
  x.out_pad = 1;
  expect_arg_("out_pad >= stride", x, 1, "out_pad < stride");
  x = b;
  x.in_channels = 0;
  expect_arg_("no channels", x, 1, "expected every size >= 1");
  expect_arg_("max_batch 0", b, 0, "max_batch = 0");
  x = b;
  x.kind = SAGD_CONV_TRANSPOSED;
  x.in_rows = x.in_cols = 1;
  x.kernel = 2;
  x.pad = 1;
  expect_arg_("transposed without output", x, 1, "gives no output");
  /* misuse of a valid layer */
  REQUIRE_OK(sagd_conv_create(&b, NULL, 2, &c));
  double th[10] = {0}, X[75] = {0}, Y[27], dY[27] = {0};
  CHECK(sagd_conv_forward(c, th, 3, X, Y) == SAGD_ERR_ARG);
  sagd_error_clear();
  REQUIRE_OK(sagd_conv_forward(c, th, 1, X, Y));
  CHECK(sagd_conv_backward(c, th, 2, dY, NULL, X) == SAGD_ERR_ARG);
  sagd_error_clear();
  sagd_conv_destroy(&c);
  sagd_conv_destroy(&c); /* NULL is fine */
  MPI_Finalize();
  return TEST_EXIT();
}
