/* KS distance, 1-Wasserstein distance and mean/SE (src/core/stats.c) against hand-computed
 * cases, closed forms, an independent exact computation by antiderivatives (written here,
 * sharing no code with the library's quadrature path), and the large-sample behaviour. */
#include <float.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include "sagd/rng.h"
#include "sagd/stats.h"
#include "testutil.h"

/* ---- distributions, with the ctx argument carrying parameters ---------------------------- */

typedef struct {
  double mu, sd;
} normal_par;

static double normal_cdf(double z, const void *ctx) {
  const normal_par *p = ctx;
  return gsl_cdf_gaussian_P(z - p->mu, p->sd);
}
static double unif_cdf(double z, const void *ctx) {
  (void)ctx;
  return gsl_cdf_flat_P(z, 0.0, 1.0);
}
static double exp2_cdf(double z, const void *ctx) {
  (void)ctx;
  return gsl_cdf_exponential_P(z, 2.0);
}
static double cauchy_cdf(double z, const void *ctx) {
  (void)ctx;
  return gsl_cdf_cauchy_P(z, 1.0);
}

/* ---- the independent reference: exact W1 from G(z) = ∫_{-∞}^z F, the quantile Q and the
 * mean μ. On a gap [a, b] with F̂ = c and crossing q = clamp(Q(c), a, b):
 *   ∫|F - c| = c(q - a) - (G(q) - G(a)) + (G(b) - G(q)) - c(b - q);
 * left tail G(z_(1)), right tail ∫_{z_(n)}^∞ (1 - F) = μ - z_(n) + G(z_(n)). ----------------- */

typedef struct {
  double (*F)(double z, const void *ctx);
  double (*G)(double z, const void *ctx);
  double (*Q)(double c, const void *ctx);
  double mu;
  const void *ctx;
} exact_dist;

static double normal_G(double z, const void *ctx) {
  const normal_par *p = ctx;
  double s = (z - p->mu) / p->sd;
  return p->sd * (s * gsl_cdf_ugaussian_P(s) + gsl_ran_ugaussian_pdf(s));
}
static double normal_Q(double c, const void *ctx) {
  const normal_par *p = ctx;
  return p->mu + p->sd * gsl_cdf_ugaussian_Pinv(c);
}
static double exp2_G(double z, const void *ctx) {
  (void)ctx;
  double y = z > 0.0 ? z : 0.0;
  return y - 2.0 * (-expm1(-y / 2.0));
}
static double exp2_Q(double c, const void *ctx) {
  (void)ctx;
  return -2.0 * log1p(-c);
}
static double unif_G(double z, const void *ctx) {
  (void)ctx;
  return z <= 0.0 ? 0.0 : (z >= 1.0 ? z - 0.5 : 0.5 * z * z);
}
static double unif_Q(double c, const void *ctx) {
  (void)ctx;
  return c;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double w1_exact(const double *sample, size_t n, const exact_dist *d) {
  double *z = malloc(n * sizeof(double));
  memcpy(z, sample, n * sizeof(double));
  qsort(z, n, sizeof(double), cmp_double);
  double w = d->G(z[0], d->ctx) + d->mu - z[n - 1] + d->G(z[n - 1], d->ctx);
  for (size_t k = 1; k < n; k++) {
    double a = z[k - 1], b = z[k], c = (double)k / (double)n;
    double q = d->Q(c, d->ctx);
    q = q < a ? a : (q > b ? b : q);
    double Ga = d->G(a, d->ctx), Gb = d->G(b, d->ctx), Gq = d->G(q, d->ctx);
    w += c * (q - a) - (Gq - Ga) + (Gb - Gq) - c * (b - q);
  }
  free(z);
  return w;
}

/* The sup of |F̂ - F| over a grid (with left limits at the sample points), by counting. */
static double ks_grid(const double *sample, size_t n, double lo, double hi, size_t m,
                      double (*F)(double, const void *), const void *ctx) {
  double d = 0.0;
  for (size_t g = 0; g <= m; g++) {
    double z = lo + (hi - lo) * (double)g / (double)m;
    size_t le = 0;
    for (size_t i = 0; i < n; i++) {
      le += sample[i] <= z;
    }
    double v = fabs((double)le / (double)n - F(z, ctx));
    d = v > d ? v : d;
  }
  for (size_t j = 0; j < n; j++) { /* left limits F̂(z_j-) */
    size_t lt = 0;
    for (size_t i = 0; i < n; i++) {
      lt += sample[i] < sample[j];
    }
    double v = fabs((double)lt / (double)n - F(sample[j], ctx));
    d = v > d ? v : d;
  }
  return d;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* √(2/π) ∫ √(F(1-F)) dz for N(0,1): n^{1/2} E[W1] → E ∫|B(F(z))| dz for a Brownian bridge B. */
static double bridge_integrand(double z, void *vp) {
  (void)vp;
  double F = gsl_cdf_ugaussian_P(z), Q = gsl_cdf_ugaussian_Q(z);
  return sqrt(2.0 / M_PI) * sqrt(F * Q);
}

int main(void) {
  MPI_Init(NULL, NULL);
  const normal_par std = {0.0, 1.0}, nrm = {1.0, 0.5};
  sagd_rng_gsl rg = NULL;
  REQUIRE_OK(sagd_rng_gsl_create(&rg));
  gsl_rng *r = sagd_rng_gsl_get(rg);
  sagd_rng_key key = {12345, 0};

  /* 1. mean and standard error: {1,2,3,4}: mean 2.5, sd √(5/3), se = sd/2; n = 1: se = 0. */
  {
    const double v[4] = {1, 2, 3, 4};
    double m, se;
    sagd_stats_mean_se(v, 4, &m, &se);
    CHECK_CLOSE(m, 2.5, 1e-15);
    CHECK_CLOSE(se, sqrt(5.0 / 3.0) / 2.0, 1e-15);
    sagd_stats_mean_se(v + 2, 1, &m, &se);
    CHECK(m == 3.0 && se == 0.0);
  }

  /* 2. KS, hand-computed against U(0,1):
   * {0.9, 0.1, 0.5}: max(1/3 - .1, .9 - 2/3) = 7/30;  {0.7, 0.2, 0.2} (a tie): 2/3 - .2 = 7/15.
   * The sample comes back sorted. */
  {
    double s1[3] = {0.9, 0.1, 0.5}, s2[3] = {0.7, 0.2, 0.2};
    CHECK_CLOSE(sagd_stats_ks(s1, 3, unif_cdf, NULL), 7.0 / 30.0, 1e-15);
    CHECK(s1[0] == 0.1 && s1[1] == 0.5 && s1[2] == 0.9);
    CHECK_CLOSE(sagd_stats_ks(s2, 3, unif_cdf, NULL), 7.0 / 15.0, 1e-15);
    double s3[2] = {0.5, NAN};
    CHECK(isnan(sagd_stats_ks(s3, 2, unif_cdf, NULL)));
    CHECK(isnan(sagd_stats_ks(s1, 0, unif_cdf, NULL)));
  }

  /* 3. KS against a brute-force grid search of |F̂ - F| (F Lipschitz with constant ≤ 0.8 on
   * N(1, 0.5²), so a grid step h leaves the sup within 0.8 h). */
  {
    enum { N = 37 };
    double s[N], c[N];
    sagd_rng_gsl_reset(rg, key, SAGD_STREAM_TEST, 1, 0, 0);
    for (int i = 0; i < N; i++) {
      s[i] = 1.0 + gsl_ran_gaussian(r, 0.5);
      c[i] = s[i];
    }
    double ks = sagd_stats_ks(s, N, normal_cdf, &nrm);
    const size_t m = 200000;
    double g = ks_grid(c, N, -2.0, 4.0, m, normal_cdf, &nrm);
    CHECK(g <= ks + 1e-15);
    CHECK_CLOSE(ks, g, 0.8 * 6.0 / (double)m + 1e-15);
  }

  /* 4. Quantile samples z_k = Q((k - ½)/n): KS = 1/(2n) exactly; W1 = 1/(4n) for U(0,1). */
  {
    const size_t n = 1000;
    double *s = malloc(n * sizeof(double)), w1 = 0.0;
    for (size_t k = 0; k < n; k++) {
      s[n - 1 - k] = ((double)k + 0.5) / (double)n; /* reversed: the sort is exercised */
    }
    CHECK_CLOSE(sagd_stats_ks(s, n, unif_cdf, NULL), 0.5 / (double)n, 1e-14);
    REQUIRE_OK(sagd_stats_w1(s, n, unif_cdf, NULL, &w1));
    CHECK_CLOSE(w1, 0.25 / (double)n, 1e-12);
    for (size_t k = 0; k < n; k++) {
      s[k] = gsl_cdf_ugaussian_Pinv(((double)k + 0.5) / (double)n);
    }
    CHECK_CLOSE(sagd_stats_ks(s, n, normal_cdf, &std), 0.5 / (double)n, 1e-12);
    for (size_t k = 0; k < n; k++) {
      s[k] = gsl_cdf_exponential_Pinv(((double)k + 0.5) / (double)n, 2.0);
    }
    CHECK_CLOSE(sagd_stats_ks(s, n, exp2_cdf, NULL), 0.5 / (double)n, 1e-12);
    free(s);
  }

  /* 5. W1 of a single point a against N(0,1): E|Z - a| = 2φ(a) + a(2Φ(a) - 1), including
   * points far outside the distribution (relative 1e-10). */
  {
    const double as[] = {-3.0, -0.7, 0.0, 0.4, 2.5, 6.0, -40.0, 1e6};
    for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
      double a = as[i], w1 = 0.0;
      REQUIRE_OK(sagd_stats_w1(&a, 1, normal_cdf, &std, &w1));
      double ref = 2.0 * gsl_ran_ugaussian_pdf(as[i]) +
                   as[i] * (2.0 * gsl_cdf_ugaussian_P(as[i]) - 1.0);
      CHECK_CLOSE(w1, ref, 1e-10 * fmax(1.0, fabs(as[i])));
    }
  }

  /* 6. W1 against the exact antiderivative computation (w1_exact), to 1e-9 absolute:
   * uniform, normal and exponential truths; random samples (some outside the support of the
   * exponential, so F has a kink inside gaps and tails), quantile samples, ties, samples far
   * from the distribution on either side (gaps and tails much wider than its scale),
   * n = 2..5000. */
  {
    const exact_dist U = {unif_cdf, unif_G, unif_Q, 0.5, NULL};
    const exact_dist N01 = {normal_cdf, normal_G, normal_Q, 0.0, &std};
    const exact_dist N1 = {normal_cdf, normal_G, normal_Q, 1.0, &nrm};
    const exact_dist E2 = {exp2_cdf, exp2_G, exp2_Q, 2.0, NULL};
    const exact_dist *ds[] = {&U, &N01, &N1, &E2};
    const size_t ns[] = {2, 7, 100, 5000};
    double *s = malloc(5000 * sizeof(double)), *c = malloc(5000 * sizeof(double));
    double maxdiff = 0.0;
    for (size_t di = 0; di < 4; di++) {
      for (size_t ni = 0; ni < 4; ni++) {
        for (int kind = 0; kind < 5; kind++) {
          size_t n = ns[ni];
          sagd_rng_gsl_reset(rg, key, SAGD_STREAM_TEST, 100 + di * 10 + ni, (uint64_t)kind, 0);
          for (size_t k = 0; k < n; k++) {
            if (kind == 0) { /* N(1, 1.5²): beyond every support, including below 0 */
              s[k] = 1.0 + gsl_ran_gaussian(r, 1.5);
            } else if (kind == 1) { /* the quantile sample, shuffled */
              s[k] = ds[di]->Q(((double)k + 0.5) / (double)n, ds[di]->ctx);
            } else if (kind == 2) { /* coarse values: many ties */
              s[k] = 0.25 * floor(4.0 * (1.0 + gsl_ran_gaussian(r, 1.0)));
            } else if (kind == 3) { /* far to the right, spread wide */
              s[k] = 40.0 + 30.0 * gsl_rng_uniform(r);
            } else { /* on both sides, far: the bulk inside one wide gap */
              s[k] = (k % 2 ? -1.0 : 1.0) * (25.0 + 5.0 * gsl_rng_uniform(r));
            }
          }
          if (kind == 1) {
            gsl_ran_shuffle(r, s, n, sizeof(double));
          }
          memcpy(c, s, n * sizeof(double));
          double w1 = 0.0;
          REQUIRE_OK(sagd_stats_w1(s, n, ds[di]->F, ds[di]->ctx, &w1));
          double ref = w1_exact(c, n, ds[di]);
          double diff = fabs(w1 - ref);
          maxdiff = diff > maxdiff ? diff : maxdiff;
          if (!(diff <= 1e-9)) {
            fprintf(stderr, "dist %zu n %zu kind %d: W1 = %.15g, exact %.15g\n", di, n, kind,
                    w1, ref);
          }
          CHECK(diff <= 1e-9);
          for (size_t k = 1; k < n; k++) {
            CHECK(s[k - 1] <= s[k]);
          }
        }
      }
    }
    printf("W1 vs exact antiderivative: max |diff| = %.3g over 80 cases\n", maxdiff);
    free(s);
    free(c);
  }

  /* 7. Errors: no points, a non-finite point, an infinite-mean distribution (Cauchy). */
  {
    double w1 = 0.0, s[3] = {0.1, INFINITY, 0.3}, t[2] = {0.0, 1.0};
    CHECK(sagd_stats_w1(s, 0, unif_cdf, NULL, &w1) == SAGD_ERR_ARG);
    CHECK(sagd_stats_w1(s, 3, unif_cdf, NULL, &w1) == SAGD_ERR_NUMERIC);
    printf("non-finite sample: %s\n", sagd_error_message());
    int rc = sagd_stats_w1(t, 2, cauchy_cdf, NULL, &w1);
    CHECK(rc == SAGD_ERR_NUMERIC);
    printf("Cauchy: rc = %d: %s\n", rc, sagd_error_message());
    sagd_error_clear();
  }

  /* 8. Large samples from the truth: √n·KS follows Kolmogorov's law, whose tails give
   * P(√n D > 2.5) ≈ 1.5e-5 and P(√n D < 0.3) ≈ 1e-5, so each check fails by chance with
   * probability ≲ 3e-5. √n·E[W1] → c = √(2/π)∫√(F(1-F)) dz (mean |Brownian bridge|):
   * the mean of R = 30 replicates of √n·W1 must be within 5 standard errors (+3% for the
   * finite-n bias) of c at every n, so W1 shrinks like 1/√n. */
  {
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    gsl_function fb = {bridge_integrand, NULL};
    double cinf = 0.0, err = 0.0;
    gsl_integration_qagi(&fb, 1e-12, 1e-10, 1000, ws, &cinf, &err);
    gsl_integration_workspace_free(ws);
    const size_t ns[] = {500, 2000, 8000};
    enum { R = 30 };
    double *s = malloc(8000 * sizeof(double)), v[R], means[3];
    for (size_t ni = 0; ni < 3; ni++) {
      size_t n = ns[ni];
      for (int rep = 0; rep < R; rep++) {
        sagd_rng_normals(rg, key, SAGD_STREAM_TEST, 1000 + ni, (uint64_t)rep, 0, n, s);
        double ks = sagd_stats_ks(s, n, normal_cdf, &std), w1 = 0.0;
        CHECK(sqrt((double)n) * ks > 0.3 && sqrt((double)n) * ks < 2.5);
        REQUIRE_OK(sagd_stats_w1(s, n, normal_cdf, &std, &w1));
        v[rep] = sqrt((double)n) * w1;
      }
      double m, se;
      sagd_stats_mean_se(v, R, &m, &se);
      means[ni] = m / sqrt((double)n);
      printf("n = %5zu: sqrt(n) W1 = %.4f (SE %.4f), limit %.4f\n", n, m, se, cinf);
      CHECK(fabs(m - cinf) < 5.0 * se + 0.03 * cinf);
    }
    CHECK(means[2] < means[0] / 2.0); /* 16x the points: 1/4 of W1, 1/2 with ample margin */
    free(s);
  }

  /* 9. Timing: W1 and KS of 5000 N(1, 0.5²) samples (the metric of one 1-D run; the
   * high-dimensional run computes 100 of them). Gross regression bound only (shared cores). */
  {
    const size_t n = 5000;
    enum { REP = 20 };
    double *s = malloc(n * sizeof(double)), w1 = 0.0, tw = 0.0, tk = 0.0;
    for (int rep = 0; rep < REP; rep++) {
      sagd_rng_normals(rg, key, SAGD_STREAM_TEST, 5000, (uint64_t)rep, 0, n, s);
      for (size_t k = 0; k < n; k++) {
        s[k] = 1.0 + 0.5 * s[k];
      }
      double t0 = now_s();
      REQUIRE_OK(sagd_stats_w1(s, n, normal_cdf, &nrm, &w1));
      double t1 = now_s();
      gsl_ran_shuffle(r, s, n, sizeof(double));
      double t2 = now_s();
      volatile double ks = sagd_stats_ks(s, n, normal_cdf, &nrm);
      (void)ks;
      tk += now_s() - t2;
      tw += t1 - t0;
    }
    printf("timing, n = %zu: W1 %.2f ms, KS %.3f ms (mean of %d)\n", n, 1e3 * tw / REP,
           1e3 * tk / REP, REP);
    /* quantile sample: every gap has a crossing (the slowest case) */
    for (size_t k = 0; k < n; k++) {
      s[k] = normal_Q(((double)k + 0.5) / (double)n, &nrm);
    }
    double t0 = now_s();
    REQUIRE_OK(sagd_stats_w1(s, n, normal_cdf, &nrm, &w1));
    double tq = now_s() - t0;
    printf("timing, n = %zu quantile sample (a crossing in every gap): W1 %.2f ms\n", n,
           1e3 * tq);
    /* the high-dimensional metric: 100 dimensions × 5000 exponential(mean 2) values */
    double th = 0.0, wsum = 0.0;
    for (int d = 0; d < 100; d++) {
      sagd_rng_gsl_reset(rg, key, SAGD_STREAM_TEST, 6000, (uint64_t)d, 0);
      for (size_t k = 0; k < n; k++) {
        s[k] = gsl_ran_exponential(r, 2.0);
      }
      double t3 = now_s();
      REQUIRE_OK(sagd_stats_w1(s, n, exp2_cdf, NULL, &w1));
      th += now_s() - t3;
      wsum += w1;
    }
    printf("timing, 100 dimensions x %zu exponential values: W1 total %.3f s (mean W1 %.4f)\n",
           n, th, wsum / 100.0);
    CHECK(tw / REP < 0.25 && tq < 0.5 && th < 25.0);
    free(s);
  }

  sagd_rng_gsl_destroy(&rg);
  MPI_Finalize();
  return TEST_EXIT();
}
