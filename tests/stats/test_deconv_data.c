/* The deconvolution experiment's latent truths and data generator (src/models/deconv_data.c):
 * CDFs against closed forms (libm erfc/exp) and against the integrated density, sample
 * moments and KS against the truth, and the generator's determinism: a pure function of
 * (key, i) whatever the shard split, seed-dependent, with x - z ~ N(0, 1) independent of z. */
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>

#include "sagd/deconv.h"
#include "sagd/stats.h"
#include "testutil.h"

static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); } /* N(0,1) CDF via libm */

typedef struct {
  const sagd_truth_type *t;
  double center;
  int power;
} mom_par;

/* (z - center)^power · pdf(z), for moments by quadrature. */
static double moment_integrand(double z, void *vp) {
  const mom_par *p = vp;
  return pow(z - p->center, p->power) * p->t->pdf(z);
}

static double integrate_all(gsl_function *f, gsl_integration_workspace *ws) {
  double res = 0.0, err = 0.0;
  CHECK(gsl_integration_qagi(f, 1e-13, 1e-12, 1000, ws, &res, &err) == GSL_SUCCESS);
  return res;
}

static double cdf_by_pdf(const sagd_truth_type *t, double z, gsl_integration_workspace *ws) {
  mom_par p = {t, 0.0, 0};
  gsl_function f = {moment_integrand, &p};
  double res = 0.0, err = 0.0;
  CHECK(gsl_integration_qagil(&f, z, 1e-14, 1e-12, 1000, ws, &res, &err) == GSL_SUCCESS);
  return res;
}

static double std_normal_cdf(double z, const void *ctx) {
  (void)ctx;
  return Phi(z);
}

/* |corr(a, b)| for n pairs with strides. */
static double corr(const double *a, const double *b, size_t n, size_t sa, size_t sb) {
  double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
  for (size_t i = 0; i < n; i++) {
    ma += a[i * sa];
    mb += b[i * sb];
  }
  ma /= (double)n;
  mb /= (double)n;
  for (size_t i = 0; i < n; i++) {
    double da = a[i * sa] - ma, db = b[i * sb] - mb;
    saa += da * da;
    sbb += db * db;
    sab += da * db;
  }
  return sab / sqrt(saa * sbb);
}

int main(void) {
  MPI_Init(NULL, NULL);
  gsl_set_error_handler_off();
  gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
  const sagd_truth_type *truths[3] = {&sagd_truth_normal, &sagd_truth_exponential,
                                      &sagd_truth_mixture};

  /* 1. Lookup by name. */
  CHECK(sagd_truth_find("normal") == &sagd_truth_normal);
  CHECK(sagd_truth_find("exponential") == &sagd_truth_exponential);
  CHECK(sagd_truth_find("mixture") == &sagd_truth_mixture);
  CHECK(sagd_truth_find("gamma") == NULL && sagd_truth_find(NULL) == NULL);

  /* 2. CDFs against closed forms written with libm, and against ∫ pdf (1e-10). */
  {
    const double zs[] = {-1.3, -0.2, 0.0, 0.35, 1.0, 1.5, 2.7, 4.0, 7.5};
    for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
      double z = zs[i];
      double fn = Phi((z - 1.0) / 0.5);
      double fe = z <= 0.0 ? 0.0 : -expm1(-z / 2.0);
      double fm = 0.4 * Phi(z / 0.5) + 0.6 * Phi((z - 3.0) / 0.5);
      CHECK_CLOSE(sagd_truth_normal.cdf(z, NULL), fn, 1e-14);
      CHECK_CLOSE(sagd_truth_exponential.cdf(z, NULL), fe, 1e-14);
      CHECK_CLOSE(sagd_truth_mixture.cdf(z, NULL), fm, 1e-14);
      for (int t = 0; t < 3; t++) {
        CHECK_CLOSE(truths[t]->cdf(z, NULL), cdf_by_pdf(truths[t], z, ws), 1e-10);
      }
    }
    CHECK(sagd_truth_exponential.pdf(-0.1) == 0.0);
    CHECK_CLOSE(sagd_truth_exponential.pdf(1.0), 0.5 * exp(-0.5), 1e-15);
  }

  /* 3. Samples of each truth (n = 20000): mean and variance within 5 standard errors
   * (SE of the mean σ/√n, of the variance √((μ4 - σ⁴)/n), μ4 by quadrature of the pdf;
   * false alarm ~6e-7 per check); √n·KS within (0.3, 2.5) (Kolmogorov's law: each side has
   * probability ≲ 2e-5). The exact means/variances: 1, 0.25; 2, 4; 1.8, 2.41. */
  {
    const double mean_ref[3] = {1.0, 2.0, 1.8}, var_ref[3] = {0.25, 4.0, 2.41};
    const size_t n = 20000;
    double *s = malloc(n * sizeof(double));
    sagd_rng_gsl rg = NULL;
    REQUIRE_OK(sagd_rng_gsl_create(&rg));
    sagd_rng_key key = {7, 0};
    for (int t = 0; t < 3; t++) {
      mom_par p = {truths[t], 0.0, 1};
      gsl_function f = {moment_integrand, &p};
      double mu = integrate_all(&f, ws);
      p.center = mu;
      p.power = 2;
      double var = integrate_all(&f, ws);
      p.power = 4;
      double mu4 = integrate_all(&f, ws);
      CHECK_CLOSE(mu, mean_ref[t], 1e-10);
      CHECK_CLOSE(var, var_ref[t], 1e-10);
      sagd_rng_gsl_reset(rg, key, SAGD_STREAM_TEST, (uint64_t)t, 0, 0);
      gsl_rng *r = sagd_rng_gsl_get(rg);
      double m = 0.0, v = 0.0;
      for (size_t i = 0; i < n; i++) {
        s[i] = truths[t]->sample(r);
        m += s[i];
      }
      m /= (double)n;
      for (size_t i = 0; i < n; i++) {
        v += (s[i] - m) * (s[i] - m);
      }
      v /= (double)(n - 1);
      double ks = sagd_stats_ks(s, n, truths[t]->cdf, NULL);
      printf("%-11s mean %.4f (%.4f)  var %.4f (%.4f)  sqrt(n) KS %.3f\n", truths[t]->name, m,
             mu, v, var, sqrt((double)n) * ks);
      CHECK_CLOSE(m, mu, 5.0 * sqrt(var / (double)n));
      CHECK_CLOSE(v, var, 5.0 * sqrt((mu4 - var * var) / (double)n));
      CHECK(sqrt((double)n) * ks > 0.3 && sqrt((double)n) * ks < 2.5);
    }
    sagd_rng_gsl_destroy(&rg);
    free(s);
  }

  /* 4. Generator determinism: any shard split gives the same bits; one point alone from its
   * own index; z = NULL leaves x unchanged; another seed or replication changes every value. */
  {
    enum { N = 60, P = 3 };
    sagd_rng_key key = {1, 0};
    for (int t = 0; t < 3; t++) {
      double x[N * P], z[N * P], xs[N * P], zs[N * P], xn[N * P];
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 0, N, x, z));
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 0, 23, xs, zs));
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 23, 41, xs + 23 * P, zs + 23 * P));
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 41, N, xs + 41 * P, zs + 41 * P));
      CHECK(memcmp(x, xs, sizeof(x)) == 0 && memcmp(z, zs, sizeof(z)) == 0);
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 0, N, xn, NULL));
      CHECK(memcmp(x, xn, sizeof(x)) == 0);
      for (size_t i = 0; i < N; i++) {
        double x1[P], z1[P];
        REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, i, i + 1, x1, z1));
        CHECK(memcmp(x1, x + i * P, sizeof(x1)) == 0 && memcmp(z1, z + i * P, sizeof(z1)) == 0);
      }
      /* the p coordinates of one point are distinct draws */
      CHECK(z[0] != z[1] && z[1] != z[2] && x[0] - z[0] != x[1] - z[1]);
      sagd_rng_key k2 = {2, 0}, k3 = {1, 1};
      double x2[N * P], z2[N * P];
      const sagd_rng_key *others[2] = {&k2, &k3};
      for (int o = 0; o < 2; o++) {
        REQUIRE_OK(sagd_deconv_generate(*others[o], truths[t], P, 0, N, x2, z2));
        int same = 0;
        for (size_t i = 0; i < N * P; i++) {
          same += (x2[i] == x[i]) + (z2[i] == z[i]);
        }
        CHECK(same == 0);
      }
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], P, 5, 5, NULL, NULL)); /* empty range */
    }
  }

  /* 5. Distribution of the data (mixture truth, n = 20000, p = 2): e = x - z ~ N(0, 1):
   * mean within 5 SE (1/√n), variance within 5 SE (√(2/n)), √n·KS against Φ in (0.3, 2.5);
   * z against the truth likewise; e independent of z and coordinates independent of each
   * other: |corr| < 5/√n (5 standard errors under independence). */
  {
    const size_t n = 20000, p = 2;
    double *x = malloc(n * p * sizeof(double)), *z = malloc(n * p * sizeof(double));
    double *e = malloc(n * p * sizeof(double)), *col = malloc(n * sizeof(double));
    sagd_rng_key key = {3, 4};
    REQUIRE_OK(sagd_deconv_generate(key, &sagd_truth_mixture, p, 0, n, x, z));
    for (size_t i = 0; i < n * p; i++) {
      e[i] = x[i] - z[i];
    }
    const double tol_r = 5.0 / sqrt((double)n);
    for (size_t j = 0; j < p; j++) {
      double m = 0.0, v = 0.0;
      for (size_t i = 0; i < n; i++) {
        m += e[i * p + j];
      }
      m /= (double)n;
      for (size_t i = 0; i < n; i++) {
        v += (e[i * p + j] - m) * (e[i * p + j] - m);
      }
      v /= (double)(n - 1);
      CHECK_CLOSE(m, 0.0, 5.0 / sqrt((double)n));
      CHECK_CLOSE(v, 1.0, 5.0 * sqrt(2.0 / (double)n));
      for (size_t i = 0; i < n; i++) {
        col[i] = e[i * p + j];
      }
      double ks = sqrt((double)n) * sagd_stats_ks(col, n, std_normal_cdf, NULL);
      CHECK(ks > 0.3 && ks < 2.5);
      for (size_t i = 0; i < n; i++) {
        col[i] = z[i * p + j];
      }
      double ksz = sqrt((double)n) * sagd_stats_ks(col, n, sagd_truth_mixture.cdf, NULL);
      CHECK(ksz > 0.3 && ksz < 2.5);
      double rez = corr(e + j, z + j, n, p, p);
      printf("coordinate %zu: noise mean %.4f var %.4f sqrt(n) KS %.3f; z sqrt(n) KS %.3f; "
             "corr(e, z) %.4f\n",
             j, m, v, ks, ksz, rez);
      CHECK(fabs(rez) < tol_r);
    }
    CHECK(fabs(corr(e, e + 1, n, p, p)) < tol_r);
    CHECK(fabs(corr(z, z + 1, n, p, p)) < tol_r);
    free(x);
    free(z);
    free(e);
    free(col);
  }

  /* 6. The high-dimensional shape (p = 100, exponential): every z >= 0, and the mean of the
   * n·p = 20000 values within 5 SE (2/√20000) of 2. */
  {
    const size_t n = 200, p = 100;
    double *x = malloc(n * p * sizeof(double)), *z = malloc(n * p * sizeof(double));
    sagd_rng_key key = {11, 2};
    REQUIRE_OK(sagd_deconv_generate(key, &sagd_truth_exponential, p, 0, n, x, z));
    double m = 0.0;
    int neg = 0;
    for (size_t i = 0; i < n * p; i++) {
      m += z[i];
      neg += z[i] < 0.0;
    }
    m /= (double)(n * p);
    CHECK(neg == 0);
    CHECK_CLOSE(m, 2.0, 5.0 * 2.0 / sqrt((double)(n * p)));
    free(x);
    free(z);
  }

  /* 7. Bad arguments. */
  {
    double x[4];
    sagd_rng_key key = {1, 0};
    CHECK(sagd_deconv_generate(key, NULL, 1, 0, 1, x, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_deconv_generate(key, &sagd_truth_normal, 0, 0, 1, x, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_deconv_generate(key, &sagd_truth_normal, 1, 3, 2, x, NULL) == SAGD_ERR_ARG);
    CHECK(sagd_deconv_generate(key, &sagd_truth_normal, 1, 0, 2, NULL, NULL) == SAGD_ERR_ARG);
    sagd_error_clear();
  }

  gsl_integration_workspace_free(ws);
  MPI_Finalize();
  return TEST_EXIT();
}
