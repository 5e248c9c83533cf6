/* Amortized Langevin dynamics (ald.h) on the toys of "Langevin autoencoders":
 *  1. a bivariate conjugate Gaussian with three observations: z ~ N(0, I), x | z ~ N(z, P⁻¹),
 *     exact posterior N(Λ P x_i, Λ), Λ = (I + P)⁻¹. Over the run, each point's sample mean and
 *     covariance must be within 3 SE of the exact ones (SE by batch means, 50 batches; the
 *     effective sample sizes are printed). Full batch, no preconditioning, η = 0.004: the
 *     discretisation inflates a variance by about η λ/2, under 1% here (at η = 0.01 the
 *     variances came out 1-2% high, up to 2.5 SE).
 *  2. an unconditional mixture of eight Gaussians (means on a circle of radius 4, sd 0.5):
 *     2000 particles z_i = Φ g_i from random inputs g_i; every mode is visited, each mode's
 *     share of the samples is within 0.03 of 1/8, and the within-mode variance within 15%
 *     of 0.25.
 *  3. (argument "ranks") rank invariance: Φ after 30 minibatch RMSProp steps of toy 2
 *     (reduced) is the same, bit for bit, on every rank count (test_ald_ranks runs it on 3
 *     ranks against rank 0 alone). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/ald.h"
#include "sagd/error.h"
#include "sagd/model.h"
#include "testutil.h"

/* Full batch, constant step, no preconditioning. */
static sagd_ald_options plain_(size_t block, double step, double init_scale, sagd_rng_key key) {
  return (sagd_ald_options){.block = block,
                            .batches = 1,
                            .step = step,
                            .decay = 0,
                            .rms_beta = 0,
                            .rms_eps = 1e-8,
                            .init_scale = init_scale,
                            .key = key};
}

/* ---- toy 1: conjugate Gaussian ----------------------------------------------------------- */

static const double P_[2][2] = {{2.0, 0.5}, {0.5, 1.0}}; /* the observations' precision */
static const double X_[3][2] = {{1.0, -0.5}, {-1.5, 2.0}, {0.3, 0.8}};

/* V_i(z) = ½|z|² + ½ (x_i - z)ᵀ P (x_i - z) */
static int conj_potential_(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                           const double *xi, double *V, double *grad) {
  (void)ctx;
  (void)theta;
  for (size_t q = 0; q < nb * C; q++) {
    const double *z = xi + 2 * q, *x = X_[i0 + q / C];
    const double e0 = x[0] - z[0], e1 = x[1] - z[1];
    const double pe0 = P_[0][0] * e0 + P_[0][1] * e1, pe1 = P_[1][0] * e0 + P_[1][1] * e1;
    if (V != NULL) {
      V[q] = 0.5 * (z[0] * z[0] + z[1] * z[1]) + 0.5 * (e0 * pe0 + e1 * pe1);
    }
    if (grad != NULL) {
      grad[2 * q] = z[0] - pe0;
      grad[2 * q + 1] = z[1] - pe1;
    }
  }
  return SAGD_OK;
}

static int no_grad_theta_(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                          const double *xi, double *g) {
  (void)ctx, (void)theta, (void)i0, (void)nb, (void)C, (void)xi, (void)g;
  return SAGD_OK;
}

static const sagd_model_type conj_type_ = {"conjugate", conj_potential_, no_grad_theta_, NULL,
                                           NULL};

/* Mean, SE of the mean by batch means, and the effective sample size of series s[0..N). */
static void batch_stats_(const double *s, size_t N, size_t nbatch, double *mean, double *se,
                         double *ess) {
  double m = 0, v = 0;
  for (size_t i = 0; i < N; i++) {
    m += s[i];
  }
  m /= (double)N;
  for (size_t i = 0; i < N; i++) {
    v += (s[i] - m) * (s[i] - m);
  }
  v /= (double)(N - 1);
  const size_t b = N / nbatch;
  double vb = 0;
  for (size_t k = 0; k < nbatch; k++) {
    double bm = 0;
    for (size_t i = k * b; i < (k + 1) * b; i++) {
      bm += s[i];
    }
    bm /= (double)b;
    vb += (bm - m) * (bm - m);
  }
  vb /= (double)(nbatch - 1);
  *mean = m;
  *se = sqrt(vb / (double)nbatch);
  *ess = v / (*se * *se);
}

static void conjugate_toy_(void) {
  const size_t n = 3, d = 16, burn = 50000, N = 1000000;
  sagd_model model = NULL;
  REQUIRE_OK(sagd_model_create(&conj_type_, NULL, 2, 1, n, 0, n, &model));
  double G[3 * 16];
  sagd_rng_key key = {3, 0};
  REQUIRE_OK(sagd_ald_features(key, &X_[0][0], n, 2, d, 1.0, G));
  const sagd_ald_options o = plain_(n, 0.004, 0, key);
  sagd_ald a = NULL;
  REQUIRE_OK(sagd_ald_create(MPI_COMM_SELF, model, d, G, &o, &a));
  /* per point: z0, z1 and the three products (after the run, about the sample mean) */
  double *tr = malloc(N * 6 * sizeof(double));
  double z[6];
  for (size_t t = 1; t <= burn + N; t++) {
    REQUIRE_OK(sagd_ald_step(a, NULL, t, 0));
    if (t > burn) {
      REQUIRE_OK(sagd_ald_latents(a, 0, n, z));
      memcpy(tr + (t - burn - 1) * 6, z, sizeof z);
    }
  }
  /* exact posterior: Λ = (I + P)⁻¹, μ_i = Λ P x_i */
  const double A00 = 1 + P_[0][0], A01 = P_[0][1], A11 = 1 + P_[1][1];
  const double det = A00 * A11 - A01 * A01;
  const double L[2][2] = {{A11 / det, -A01 / det}, {-A01 / det, A00 / det}};
  double *s = malloc(N * sizeof(double));
  double min_ess = INFINITY, worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double px0 = P_[0][0] * X_[i][0] + P_[0][1] * X_[i][1];
    const double px1 = P_[1][0] * X_[i][0] + P_[1][1] * X_[i][1];
    const double mu[2] = {L[0][0] * px0 + L[0][1] * px1, L[1][0] * px0 + L[1][1] * px1};
    double m[2], se, ess;
    for (int c = 0; c < 2; c++) {
      for (size_t k = 0; k < N; k++) {
        s[k] = tr[k * 6 + 2 * i + c];
      }
      batch_stats_(s, N, 50, &m[c], &se, &ess);
      min_ess = fmin(min_ess, ess);
      worst = fmax(worst, fabs(m[c] - mu[c]) / se);
      printf("point %zu: mean[%d] %.4f (SE %.4f, ESS %.0f) exact %.4f\n", i, c, m[c], se, ess,
             mu[c]);
      CHECK(fabs(m[c] - mu[c]) <= 3 * se);
    }
    const int pairs[3][2] = {{0, 0}, {0, 1}, {1, 1}};
    for (int pc = 0; pc < 3; pc++) {
      const int u = pairs[pc][0], w = pairs[pc][1];
      for (size_t k = 0; k < N; k++) {
        s[k] = (tr[k * 6 + 2 * i + u] - m[u]) * (tr[k * 6 + 2 * i + w] - m[w]);
      }
      double cv;
      batch_stats_(s, N, 50, &cv, &se, &ess);
      min_ess = fmin(min_ess, ess);
      worst = fmax(worst, fabs(cv - L[u][w]) / se);
      printf("point %zu: cov[%d][%d] %.4f (SE %.4f, ESS %.0f) exact %.4f\n", i, u, w, cv, se, ess,
             L[u][w]);
      CHECK(fabs(cv - L[u][w]) <= 3 * se);
    }
  }
  printf(
      "conjugate Gaussian: %zu steps after %zu of burn-in, smallest ESS %.0f, worst "
      "|estimate - exact| = %.2f SE\n",
      N, burn, min_ess, worst);
  free(s);
  free(tr);
  sagd_ald_destroy(&a);
  sagd_model_destroy(&model);
}

/* ---- toy 2: eight Gaussians --------------------------------------------------------------- */

enum { NMODES = 8 };
#define RADIUS 4.0
#define SD 0.5

static void mode_mean_(int k, double *m) {
  m[0] = RADIUS * cos(2 * M_PI * k / NMODES);
  m[1] = RADIUS * sin(2 * M_PI * k / NMODES);
}

/* V(z) = -log Σ_k exp(-|z - m_k|²/(2 s²)) (the same target for every point) */
static int mix_potential_(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                          const double *xi, double *V, double *grad) {
  (void)ctx, (void)theta, (void)i0;
  for (size_t q = 0; q < nb * C; q++) {
    const double *z = xi + 2 * q;
    double e[NMODES], mx = -INFINITY, sum = 0, g0 = 0, g1 = 0;
    for (int k = 0; k < NMODES; k++) {
      double m[2];
      mode_mean_(k, m);
      e[k] = -((z[0] - m[0]) * (z[0] - m[0]) + (z[1] - m[1]) * (z[1] - m[1])) / (2 * SD * SD);
      mx = fmax(mx, e[k]);
    }
    for (int k = 0; k < NMODES; k++) {
      e[k] = exp(e[k] - mx);
      sum += e[k];
    }
    for (int k = 0; k < NMODES; k++) {
      double m[2];
      mode_mean_(k, m);
      g0 += e[k] / sum * (z[0] - m[0]) / (SD * SD);
      g1 += e[k] / sum * (z[1] - m[1]) / (SD * SD);
    }
    if (V != NULL) {
      V[q] = -(mx + log(sum));
    }
    if (grad != NULL) {
      grad[2 * q] = g0;
      grad[2 * q + 1] = g1;
    }
  }
  return SAGD_OK;
}

static const sagd_model_type mix_type_ = {"eight_gaussians", mix_potential_, no_grad_theta_, NULL,
                                          NULL};

/* The unconditional toy's features: n random inputs g_i ~ N(0, I_d / d) (the same on every
 * rank; mean-free, so G Gᵀ stays well conditioned and a fixed step is stable for any n), rows
 * [i0, i1) into G. */
static void mix_features_(size_t n, size_t i0, size_t i1, size_t d, double *G) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 5);
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < d; k++) {
      const double v = gsl_ran_gaussian(g, 1.0 / sqrt((double)d));
      if (i >= i0 && i < i1) {
        G[(i - i0) * d + k] = v;
      }
    }
  }
  gsl_rng_free(g);
}

static void mixture_toy_(void) {
  const size_t n = 2000, d = 4096, burn = 300, steps = 700, every = 10;
  sagd_rng_key key = {4, 0};
  sagd_model model = NULL;
  REQUIRE_OK(sagd_model_create(&mix_type_, NULL, 2, 1, n, 0, n, &model));
  double *G = malloc(n * d * sizeof(double)), *z = malloc(n * 2 * sizeof(double));
  mix_features_(n, 0, n, d, G);
  const sagd_ald_options o = plain_(500, 0.02, 8, key);
  sagd_ald a = NULL;
  REQUIRE_OK(sagd_ald_create(MPI_COMM_SELF, model, d, G, &o, &a));
  double count[NMODES] = {0}, ss[NMODES] = {0}, total = 0;
  for (size_t t = 1; t <= burn + steps; t++) {
    REQUIRE_OK(sagd_ald_step(a, NULL, t, 0));
    if (t > burn && t % every == 0) {
      REQUIRE_OK(sagd_ald_latents(a, 0, n, z));
      for (size_t i = 0; i < n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int k = 0; k < NMODES; k++) {
          double m[2];
          mode_mean_(k, m);
          double dd =
              (z[2 * i] - m[0]) * (z[2 * i] - m[0]) + (z[2 * i + 1] - m[1]) * (z[2 * i + 1] - m[1]);
          if (dd < bd) {
            bd = dd;
            best = k;
          }
        }
        count[best]++;
        ss[best] += bd;
        total++;
      }
    }
  }
  printf("eight Gaussians: %zu particles, %zu features, samples every %zu steps after %zu\n", n, d,
         every, burn);
  for (int k = 0; k < NMODES; k++) {
    const double w = count[k] / total, var = count[k] > 0 ? ss[k] / (2 * count[k]) : NAN;
    printf("mode %d: weight %.4f (1/8 = 0.125), within-mode variance %.4f (0.25)\n", k, w, var);
    CHECK(count[k] > 0);
    CHECK(fabs(w - 1.0 / NMODES) <= 0.03);
    CHECK(fabs(var - SD * SD) <= 0.15 * SD * SD);
  }
  free(G);
  free(z);
  sagd_ald_destroy(&a);
  sagd_model_destroy(&model);
}

/* ---- 3: rank invariance ------------------------------------------------------------------ */

static void run_phi_(MPI_Comm comm, size_t n, size_t d, double *phi_out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  sagd_ald_options o = {.block = 50,
                        .batches = 5,
                        .step = 0.02,
                        .decay = 10,
                        .rms_beta = 0.9,
                        .rms_eps = 1e-3,
                        .init_scale = 8,
                        .key = {4, 1}};
  size_t i0, i1;
  sagd_shard_range(n, o.block, rank, size, &i0, &i1);
  sagd_model model = NULL;
  REQUIRE_OK(sagd_model_create(&mix_type_, NULL, 2, 1, n, i0, i1, &model));
  double *G = malloc(((i1 - i0) * d + 1) * sizeof(double));
  mix_features_(n, i0, i1, d, G);
  sagd_ald a = NULL;
  REQUIRE_OK(sagd_ald_create(comm, model, d, G, &o, &a));
  for (uint64_t t = 1; t <= 30; t++) {
    REQUIRE_OK(sagd_ald_step(a, NULL, t, 0));
  }
  double *phi, *v;
  size_t len;
  uint64_t *steps;
  sagd_ald_state(a, &phi, &v, &len, &steps);
  memcpy(phi_out, phi, len * sizeof(double));
  free(G);
  sagd_ald_destroy(&a);
  sagd_model_destroy(&model);
}

/* Usage: test_ald (the toys, one rank) | test_ald ranks (Φ on all ranks against rank 0 alone) */
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc > 1 && strcmp(argv[1], "ranks") == 0) {
    const size_t n = 200, d = 256;
    double *all = malloc(2 * d * sizeof(double)), *one = malloc(2 * d * sizeof(double));
    run_phi_(MPI_COMM_WORLD, n, d, all);
    if (rank == 0) {
      run_phi_(MPI_COMM_SELF, n, d, one);
      const int same = memcmp(all, one, 2 * d * sizeof(double)) == 0;
      CHECK(same);
      printf("rank invariance: Phi after 30 minibatch RMSProp steps on %d ranks and on 1: %s\n",
             size, same ? "identical" : "DIFFERENT");
    }
    free(all);
    free(one);
  } else if (rank == 0) {
    conjugate_toy_();
    mixture_toy_();
  }
  return test_exit_mpi();
}
