/* Networks from a text description (sagd_mlp_create_spec): dense and convolution layers in
 * one network.
 *  - the MNIST networks of data/mnist.ini have the shapes and parameter counts computed here
 *    by hand;
 *  - a spec network of conv layers gives the same bits as the same sagd_conv layers composed
 *    by hand (forward, dX, dθ), in double and in single precision;
 *  - a mixed network (conv → dense → reshape → convt, tanh/softplus/sigmoid) against central
 *    differences: dX and dθ to 1e-6 relative; backward accumulates; backward_psum gives the
 *    bits of backward_set; single precision within 2e-5 of double;
 *  - bad descriptions are SAGD_ERR_CONFIG naming the item. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/conv.h"
#include "sagd/nn.h"
#include "sagd/psum.h"
#include "testutil.h"

static void mnist_shapes_(void) {
  sagd_mlp gen = NULL, enc = NULL;
  REQUIRE_OK(sagd_mlp_create_spec("gen",
                                  "dense 1024 relu; dense 3136 relu; reshape 7x7x64; "
                                  "convt 32 k4 s2 p1 relu; convt 1 k4 s2 p1",
                                  1, 1, 20, 4, &gen));
  REQUIRE_OK(sagd_mlp_create_spec("enc",
                                  "conv 32 k4 s2 p1 relu; conv 64 k4 s2 p1 relu; dense 256 relu; "
                                  "dense 40",
                                  28, 28, 1, 4, &enc));
  CHECK(sagd_mlp_in(gen) == 20 && sagd_mlp_out(gen) == 784);
  CHECK(sagd_mlp_in(enc) == 784 && sagd_mlp_out(enc) == 40);
  const size_t ng = (20 * 1024 + 1024) + (1024 * 3136 + 3136) + (64 * 16 * 32 + 32) + (32 * 16 + 1);
  const size_t ne = (32 * 16 + 32) + (64 * 16 * 32 + 64) + (3136 * 256 + 256) + (256 * 40 + 40);
  CHECK(sagd_mlp_nparams(gen) == ng && sagd_mlp_nparams(enc) == ne);
  /* multiply-adds per image: dense 20·1024 + 1024·3136, convt 7·7·(16·32)·64, 14·14·16·32 */
  const double mg = 20.0 * 1024 + 1024.0 * 3136 + 49.0 * 16 * 32 * 64 + 196.0 * 16 * 32;
  CHECK(sagd_mlp_flops(gen, 1, 0) == 2 * mg);
  char d[1024];
  REQUIRE_OK(sagd_mlp_describe(gen, d, sizeof d));
  printf("generator: %s\n", d);
  CHECK(strstr(d, "[7x7x64] convt 32 k4 s2 p1 relu [14x14x32]") != NULL);
  REQUIRE_OK(sagd_mlp_describe(enc, d, sizeof d));
  printf("encoder:   %s\n", d);
  CHECK(strstr(d, "[14x14x32] conv 64 k4 s2 p1 relu [7x7x64]") != NULL);
  sagd_mlp_destroy(&gen);
  sagd_mlp_destroy(&enc);
}

/* conv 6x6x2 → 3 (k3 s2 p1, tanh) → convt 2 (k4 s2 p1, softplus): by spec and by hand */
static void composed_(sagd_precision prec) {
  const size_t B = 3;
  sagd_mlp net = NULL;
  REQUIRE_OK(sagd_mlp_create_spec("net", "conv 3 k3 s2 p1 tanh; convt 2 k4 s2 p1 softplus", 6, 6,
                                  2, B, &net));
  sagd_conv_geom g1 = {SAGD_CONV_FORWARD, 6, 6, 2, 3, 3, 2, 1, 0};
  sagd_conv_geom g2 = {SAGD_CONV_TRANSPOSED, 3, 3, 3, 2, 4, 2, 1, 0};
  sagd_conv c1 = NULL, c2 = NULL;
  REQUIRE_OK(sagd_conv_create(&g1, &sagd_act_tanh, B, &c1));
  REQUIRE_OK(sagd_conv_create(&g2, &sagd_act_softplus, B, &c2));
  const size_t n1 = sagd_conv_nparams(c1), n2 = sagd_conv_nparams(c2), np = n1 + n2;
  CHECK(sagd_mlp_nparams(net) == np && sagd_mlp_out(net) == 72);
  double *th = malloc(np * sizeof(double)), X[216], dY[216], Y[216], Yc[216], H[27 * 3];
  double dX[216], dXc[216], dH[81];
  double *g = calloc(np, sizeof(double)), *gc = calloc(np, sizeof(double));
  test_fill_spread(th, np, 3, 0.4);
  test_fill_spread(X, 216, 4, 1.0);
  test_fill_spread(dY, 216, 5, 1.0);
  REQUIRE_OK(sagd_mlp_set_precision(net, prec));
  REQUIRE_OK(sagd_conv_set_precision(c1, prec));
  REQUIRE_OK(sagd_conv_set_precision(c2, prec));
  REQUIRE_OK(sagd_mlp_prepare(net, th));
  REQUIRE_OK(sagd_conv_prepare(c1, th));
  REQUIRE_OK(sagd_conv_prepare(c2, th + n1));
  REQUIRE_OK(sagd_mlp_forward(net, th, B, X, Y));
  REQUIRE_OK(sagd_mlp_backward(net, th, B, dY, g, dX));
  REQUIRE_OK(sagd_conv_forward(c1, th, B, X, H));
  REQUIRE_OK(sagd_conv_forward(c2, th + n1, B, H, Yc));
  REQUIRE_OK(sagd_conv_backward(c2, th + n1, B, dY, gc + n1, dH));
  REQUIRE_OK(sagd_conv_backward(c1, th, B, dH, gc, dXc));
  const int same = memcmp(Y, Yc, sizeof Y) == 0 && memcmp(dX, dXc, sizeof dX) == 0 &&
                   memcmp(g, gc, np * sizeof(double)) == 0;
  /* in single precision the network keeps the hidden layer in float, the hand composition
   * rounds it through double: the same floats, so the same bits */
  printf("spec network = composed layers (%s): %s\n",
         prec == SAGD_PRECISION_SINGLE ? "single" : "double", same ? "bit-identical" : "DIFFER");
  CHECK(same);
  free(th);
  free(g);
  free(gc);
  sagd_conv_destroy(&c1);
  sagd_conv_destroy(&c2);
  sagd_mlp_destroy(&net);
}

typedef struct {
  sagd_mlp net;
  const double *th, *X, *c;
  size_t B;
  double *Y;
} loss_ctx_;

/* L = Σ c ⊙ net(X) */
static double loss_(void *p) {
  const loss_ctx_ *l = p;
  REQUIRE_OK(sagd_mlp_forward(l->net, l->th, l->B, l->X, l->Y));
  return test_dot(l->c, l->Y, l->B * sagd_mlp_out(l->net));
}

static void mixed_(void) {
  const size_t B = 2;
  const char *spec = "conv 2 k3 s1 p1 tanh; dense 5 softplus; dense 8; reshape 2x2x2; "
                     "convt 1 k3 s2 p1 o1 sigmoid";
  sagd_mlp net = NULL;
  REQUIRE_OK(sagd_mlp_create_spec("mixed", spec, 5, 4, 1, B, &net));
  const size_t np = sagd_mlp_nparams(net), in = sagd_mlp_in(net), out = sagd_mlp_out(net);
  CHECK(in == 20 && out == 16);
  double *th = malloc(np * sizeof(double)), *g = calloc(np, sizeof(double));
  double *g2 = calloc(np, sizeof(double)), X[40], c[32], Y[32], dX[40], Ys[32], dXs[40];
  double *gs = calloc(np, sizeof(double));
  REQUIRE_OK(sagd_mlp_init_xavier(net, (sagd_rng_key){7, 1}, 3, th));
  for (size_t i = 0; i < np; i++) { /* non-zero biases too */
    th[i] += 0.05 * sin((double)i);
  }
  test_fill_spread(X, 40, 8, 1.0);
  test_fill_spread(c, 32, 9, 1.0);
  loss_ctx_ lc = {net, th, X, c, B, Y};
  loss_(&lc);
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, g, dX));
  const double ge = test_fd_rel_error(loss_, &lc, th, np, g, 1e-5);
  const double xe = test_fd_rel_error(loss_, &lc, X, 40, dX, 1e-5);
  CHECK(ge < 1e-6 && xe < 1e-6);
  /* backward_set, twice-accumulated backward, backward_psum */
  loss_(&lc);
  REQUIRE_OK(sagd_mlp_backward_set(net, th, B, c, g2, NULL));
  CHECK(memcmp(g, g2, np * sizeof(double)) == 0);
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, g2, NULL));
  for (size_t i = 0; i < np; i++) {
    g2[i] -= 2 * g[i];
  }
  CHECK(test_max_abs(g2, np) <= test_max_abs(g, np) * 1e-15);
  sagd_psum s = NULL;
  REQUIRE_OK(sagd_psum_create(np, 1, 6, &s)); /* no zero(): create starts at zero */
  REQUIRE_OK(sagd_psum_begin_term(s));
  REQUIRE_OK(sagd_mlp_backward_psum(net, th, B, c, s, 0, NULL));
  REQUIRE_OK(sagd_psum_allreduce(s, MPI_COMM_SELF, g2));
  for (size_t i = 0; i < np; i++) {
    if (g[i] != g2[i]) {
      fprintf(stderr, "psum differs at %zu: %.17g vs %.17g\n", i, g[i], g2[i]);
    }
  }
  CHECK(memcmp(g, g2, np * sizeof(double)) == 0);
  sagd_psum_destroy(&s);
  /* single precision */
  REQUIRE_OK(sagd_mlp_set_precision(net, SAGD_PRECISION_SINGLE));
  REQUIRE_OK(sagd_mlp_prepare(net, th));
  REQUIRE_OK(sagd_mlp_forward(net, th, B, X, Ys));
  REQUIRE_OK(sagd_mlp_backward(net, th, B, c, gs, dXs));
  lc.Y = Ys;
  loss_(&lc); /* again: forward twice gives the same */
  const double sf = test_max_diff(Ys, Y, 32) / test_max_abs(Y, 32), sg = test_max_diff(gs, g, np) / test_max_abs(g, np),
               sx = test_max_diff(dXs, dX, 40) / test_max_abs(dX, 40);
  CHECK(sf < 2e-5 && sg < 2e-5 && sx < 2e-5);
  /* single-precision psum path against backward_set in single */
  memset(g2, 0, np * sizeof(double));
  REQUIRE_OK(sagd_mlp_backward_set(net, th, B, c, g2, NULL));
  REQUIRE_OK(sagd_psum_create(np, 1, 6, &s)); /* no zero(): create starts at zero */
  REQUIRE_OK(sagd_psum_begin_term(s));
  REQUIRE_OK(sagd_mlp_backward_psum(net, th, B, c, s, 0, NULL));
  double *g3 = calloc(np, sizeof(double));
  REQUIRE_OK(sagd_psum_allreduce(s, MPI_COMM_SELF, g3));
  CHECK(memcmp(g3, g2, np * sizeof(double)) == 0);
  sagd_psum_destroy(&s);
  char d[512];
  REQUIRE_OK(sagd_mlp_describe(net, d, sizeof d));
  printf("mixed: %s\n  fd dθ %.1e dX %.1e; single %.1e %.1e %.1e\n", d, ge, xe, sf, sg, sx);
  free(th);
  free(g);
  free(g2);
  free(g3);
  free(gs);
  sagd_mlp_destroy(&net);
}

static void bad_(const char *spec, size_t r, size_t c, size_t ch, const char *needle) {
  sagd_mlp net = NULL;
  int rc = sagd_mlp_create_spec("model.generator", spec, r, c, ch, 2, &net);
  if (rc != SAGD_ERR_CONFIG || net != NULL ||
      strstr(sagd_error_message(), needle) == NULL ||
      strstr(sagd_error_message(), "model.generator") == NULL) {
    fprintf(stderr, "spec '%s': rc %d, message '%s': expected a configuration error with '%s'\n",
            spec, rc, sagd_error_message(), needle);
    test_failures_++;
  } else {
    printf("bad '%s' -> %s\n", spec, sagd_error_message());
  }
  sagd_error_clear();
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  mnist_shapes_();
  composed_(SAGD_PRECISION_DOUBLE);
  composed_(SAGD_PRECISION_SINGLE);
  mixed_();
  bad_("", 1, 1, 4, "no layers");
  bad_("dense 4; ;dense 2", 1, 1, 4, "item 2 is empty");
  bad_("pool 2", 1, 1, 4, "unknown layer kind");
  bad_("dense x", 1, 1, 4, "expected the width");
  bad_("dense 4 gelu", 1, 1, 4, "'gelu' is not understood");
  bad_("conv 4 s2", 6, 6, 1, "kernel size kK is missing");
  bad_("dense 10; reshape 3x3x1", 1, 1, 4, "expected the same number");
  bad_("dense 9; reshape 3x3", 1, 1, 4, "expected reshape RxCxCH");
  bad_("dense 9; conv 2 k3", 1, 1, 4, "larger than the padded input");
  bad_("convt 2 k3 s2 o2", 3, 3, 1, "out_pad < stride");
  MPI_Finalize();
  return TEST_EXIT();
}
