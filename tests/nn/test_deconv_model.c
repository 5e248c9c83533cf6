/* The batched deconvolution model (src/models/deconv_model.c): V, ∇_u V and Σ∇_θ f against
 * the closed forms of a linear generator, against central finite differences for softplus
 * generators (r = p = 1 and r = 3, p = 4) on blocks of C = 2 chains per data point, the
 * fused op against the separate ones (bit for bit), and input errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/deconv.h"
#include "testutil.h"

#define N 10     /* global data points */
#define IB 2     /* this "rank" owns [IB, IE) */
#define IE 9
#define C 2      /* chains per data point */
#define I0 4     /* the block: points I0 .. I0+NB-1 */
#define NB 3
#define NC (NB * C)

static void fill_(double *x, size_t n, unsigned seed, double s) {
  unsigned long st = seed * 2654435761UL + 7;
  for (size_t i = 0; i < n; i++) {
    st = st * 6364136223846793005UL + 1442695040888963407UL;
    x[i] = ((double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0) * s;
  }
}

/* A linear generator h(u) = W u + b: everything in closed form. */
static void test_linear(void) {
  enum { R = 3, P = 4 };
  const size_t w[] = {R, P};
  sagd_mlp gen = NULL;
  REQUIRE_OK(sagd_mlp_create(1, w, NULL, &sagd_act_identity, NC, &gen));
  double th[P * R + P], x[(IE - IB) * P], xi[NC * R];
  fill_(th, P * R + P, 1, 1.0);
  fill_(x, (IE - IB) * P, 2, 3.0);
  fill_(xi, NC * R, 3, 2.0);
  sagd_model m = NULL;
  REQUIRE_OK(sagd_deconv_model_create(gen, x, N, IB, IE, &m));
  CHECK(m->r == R && m->p == P * R + P && m->n == N && m->i_begin == IB && m->i_end == IE);
  CHECK(strcmp(m->type->name, "decoder") == 0 && m->type->potential_grad_theta != NULL);
  double V[NC], gxi[NC * R], g[P * R + P];
  for (size_t i = 0; i < P * R + P; i++) {
    g[i] = 0.5; /* grad_theta adds */
  }
  REQUIRE_OK(sagd_model_potential(m, th, I0, NB, C, xi, V, gxi));
  REQUIRE_OK(sagd_model_grad_theta(m, th, I0, NB, C, xi, g));
  const double *W = th, *b = th + P * R;
  double gref[P * R + P] = {0};
  double verr = 0, gerr = 0, terr = 0;
  for (size_t q = 0; q < NC; q++) {
    const size_t i = I0 + q / C;
    const double *u = xi + q * R, *xx = x + (i - IB) * P;
    double res[P], Vr = 0.5 * (P + R) * log(2 * M_PI);
    for (size_t a = 0; a < P; a++) {
      double h = b[a];
      for (size_t j = 0; j < R; j++) {
        h += W[a * R + j] * u[j];
      }
      res[a] = h - xx[a];
      Vr += 0.5 * res[a] * res[a];
      gref[P * R + a] += res[a];
      for (size_t j = 0; j < R; j++) {
        gref[a * R + j] += res[a] * u[j];
      }
    }
    for (size_t j = 0; j < R; j++) {
      Vr += 0.5 * u[j] * u[j];
      double gj = u[j];
      for (size_t a = 0; a < P; a++) {
        gj += W[a * R + j] * res[a];
      }
      gerr = fmax(gerr, fabs(gxi[q * R + j] - gj));
    }
    verr = fmax(verr, fabs(V[q] - Vr) / Vr);
  }
  for (size_t k = 0; k < P * R + P; k++) {
    terr = fmax(terr, fabs(g[k] - 0.5 - gref[k]));
  }
  printf("linear generator: V rel err %.2g, grad_u err %.2g, grad_theta err %.2g\n", verr, gerr,
         terr);
  CHECK(verr <= 1e-14);
  CHECK(gerr <= 1e-13);
  CHECK(terr <= 1e-12);
  sagd_model_destroy(&m);
  CHECK(m == NULL);
  sagd_mlp_destroy(&gen);
}

/* Σ_q V_q of the block (for finite differences in θ: ∂/∂θ Σ V = Σ ∇_θ f). */
static double block_sum_(sagd_model m, const double *th, const double *xi, double *V) {
  REQUIRE_OK(sagd_model_potential(m, th, I0, NB, C, xi, V, NULL));
  double s = 0;
  for (size_t q = 0; q < NC; q++) {
    s += V[q];
  }
  return s;
}

/* Finite-difference checks of a softplus generator. Central differences, h = 1e-6: the
 * truncation error is ~1e-12, the rounding error ~eps·|V|/h ~ 1e-9 (|ΣV| ~ 30); tolerance
 * 1e-6·max(1, |g|). */
static void check_fd_(size_t L, const size_t *w, unsigned seed) {
  const size_t r = w[0], p = w[L];
  sagd_mlp gen = NULL;
  REQUIRE_OK(sagd_mlp_create(L, w, &sagd_act_softplus, NULL, NC + 1, &gen));
  const size_t np = sagd_mlp_nparams(gen);
  double *th = malloc(np * sizeof(double)), *g = calloc(np, sizeof(double));
  double *g2 = calloc(np, sizeof(double)), *x = malloc((IE - IB) * p * sizeof(double));
  double *xi = malloc(NC * r * sizeof(double)), *gxi = malloc(NC * r * sizeof(double));
  double *gxi2 = malloc(NC * r * sizeof(double)), V[NC], Vp[NC], Vm[NC];
  REQUIRE_OK(th && g && g2 && x && xi && gxi && gxi2 ? SAGD_OK : SAGD_ERR_MEM);
  sagd_rng_key key = {5, 0};
  REQUIRE_OK(sagd_mlp_init_xavier(gen, key, seed, th));
  double *nudge = malloc(np * sizeof(double));
  REQUIRE_OK(nudge ? SAGD_OK : SAGD_ERR_MEM);
  fill_(nudge, np, seed, 0.2);
  for (size_t i = 0; i < np; i++) {
    th[i] += nudge[i];
  }
  free(nudge);
  fill_(x, (IE - IB) * p, seed + 1, 3.0);
  fill_(xi, NC * r, seed + 2, 1.5);
  sagd_model m = NULL;
  REQUIRE_OK(sagd_deconv_model_create(gen, x, N, IB, IE, &m));
  REQUIRE_OK(sagd_model_potential(m, th, I0, NB, C, xi, V, gxi));
  REQUIRE_OK(sagd_model_grad_theta(m, th, I0, NB, C, xi, g));
  const double h = 1e-6;
  double uerr = 0, terr = 0;
  for (size_t k = 0; k < NC * r; k++) {
    const double u0 = xi[k];
    xi[k] = u0 + h;
    REQUIRE_OK(sagd_model_potential(m, th, I0, NB, C, xi, Vp, NULL));
    xi[k] = u0 - h;
    REQUIRE_OK(sagd_model_potential(m, th, I0, NB, C, xi, Vm, NULL));
    xi[k] = u0;
    /* only chain k / r depends on this coordinate */
    const size_t q = k / r;
    for (size_t qq = 0; qq < NC; qq++) {
      if (qq != q) {
        CHECK(Vp[qq] == V[qq] && Vm[qq] == V[qq]);
      }
    }
    uerr = fmax(uerr, fabs(gxi[k] - (Vp[q] - Vm[q]) / (2 * h)) / fmax(1.0, fabs(gxi[k])));
  }
  for (size_t k = 0; k < np; k++) {
    const double t0 = th[k];
    th[k] = t0 + h;
    const double sp = block_sum_(m, th, xi, Vp);
    th[k] = t0 - h;
    const double sm = block_sum_(m, th, xi, Vm);
    th[k] = t0;
    terr = fmax(terr, fabs(g[k] - (sp - sm) / (2 * h)) / fmax(1.0, fabs(g[k])));
  }
  printf("softplus generator r = %zu, p = %zu (%zu params), %d x %d chains: grad_u FD err "
         "%.2g, grad_theta FD err %.2g\n",
         r, p, np, NB, C, uerr, terr);
  CHECK(uerr <= 1e-6);
  CHECK(terr <= 1e-6);

  /* The fused op: the same bits as the separate ops, and it adds into g. */
  for (size_t k = 0; k < np; k++) {
    g2[k] = g[k];
  }
  REQUIRE_OK(m->type->potential_grad_theta(m->ctx, th, I0, NB, C, xi, gxi2, g2));
  CHECK(memcmp(gxi, gxi2, NC * r * sizeof(double)) == 0);
  REQUIRE_OK(sagd_model_grad_theta(m, th, I0, NB, C, xi, g));
  CHECK(memcmp(g, g2, np * sizeof(double)) == 0);
  sagd_model_destroy(&m);
  sagd_mlp_destroy(&gen);
  free(th);
  free(g);
  free(g2);
  free(x);
  free(xi);
  free(gxi);
  free(gxi2);
}

static void test_fd(void) {
  const size_t a1[] = {1, 10, 1}, a2[] = {3, 8, 6, 4};
  check_fd_(2, a1, 11);
  check_fd_(3, a2, 12);
}

static void test_errors(void) {
  const size_t w[] = {2, 5, 3};
  sagd_mlp gen = NULL;
  REQUIRE_OK(sagd_mlp_create(2, w, &sagd_act_softplus, NULL, 5, &gen));
  double x[(IE - IB) * 3] = {0}, th[5 * 3 + 5 + 3 * 6] = {0}, xi[6 * 2] = {0}, gxi[6 * 2];
  sagd_model m = (sagd_model)1;
  CHECK(sagd_deconv_model_create(gen, x, N, 5, 3, &m) == SAGD_ERR_ARG);
  CHECK(m == NULL);
  CHECK(sagd_deconv_model_create(gen, x, N, 5, 12, &m) == SAGD_ERR_ARG);
  CHECK(sagd_deconv_model_create(NULL, x, N, IB, IE, &m) == SAGD_ERR_ARG);
  x[4] = NAN;
  CHECK(sagd_deconv_model_create(gen, x, N, IB, IE, &m) == SAGD_ERR_DATA);
  CHECK(strstr(sagd_error_message(), "x[3][1] = nan") != NULL);
  x[4] = 0;
  REQUIRE_OK(sagd_deconv_model_create(gen, x, N, IB, IE, &m));
  /* 3 points x 2 chains = 6 rows > max_batch = 5 */
  CHECK(sagd_model_potential(m, th, I0, 3, 2, xi, NULL, gxi) == SAGD_ERR_ARG);
  CHECK(strstr(sagd_error_message(), "= 6 rows exceeds the generator's max_batch = 5") != NULL);
  CHECK(sagd_model_grad_theta(m, th, I0, 3, 2, xi, th) == SAGD_ERR_ARG);
  CHECK(m->type->potential_grad_theta(m->ctx, th, I0, 3, 2, xi, gxi, th) == SAGD_ERR_ARG);
  CHECK(sagd_model_potential(m, th, 8, 2, 1, xi, NULL, gxi) == SAGD_ERR_ARG); /* outside */
  REQUIRE_OK(sagd_model_potential(m, th, I0, 2, 2, xi, NULL, gxi));
  sagd_model_destroy(&m);
  sagd_mlp_destroy(&gen);
}

int main(void) {
  test_linear();
  test_fd();
  test_errors();
  return TEST_EXIT();
}
