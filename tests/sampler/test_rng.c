/* Counter-based RNG (include/sagd/rng.h): the documented Philox key/counter layout, draws as
 * a pure function of (seed, replication, stream, id, t, k), and the distribution of the
 * normals and uniforms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>

#include "sagd/rng.h"
#include "testutil.h"

#define NDRAW 64

typedef struct {
  sagd_rng_key key;
  uint32_t stream;
  uint64_t id, t, k;
} tuple;

static void normals_(sagd_rng_gsl r, tuple u, size_t n, double *out) {
  sagd_rng_normals(r, u.key, u.stream, u.id, u.t, u.k, n, out);
}

/* Number of positions where two draws are bit-identical. */
static size_t same_(const double *a, const double *b, size_t n) {
  size_t s = 0;
  for (size_t i = 0; i < n; i++) {
    s += memcmp(&a[i], &b[i], sizeof(double)) == 0;
  }
  return s;
}

/* The raw 32-bit outputs follow the layout documented in rng.h: key {seed, rep<<16|stream},
 * counter {id, t, k, n<<32}, words taken from the last to the first. */
static void test_layout(sagd_rng_gsl r) {
  sagd_rng_key key = {0x0123456789abcdefULL, 7};
  uint32_t stream = SAGD_STREAM_LANGEVIN;
  uint64_t id = 123456789012ULL, t = 42, k = 9;
  sagd_rng_gsl_reset(r, key, stream, id, t, k);
  gsl_rng *g = sagd_rng_gsl_get(r);
  philox4x64_key_t kk = {{key.seed, (key.replication << 16) | stream}};
  int ok = 1;
  for (uint64_t blk = 0; blk < 3; blk++) {
    philox4x64_ctr_t c = {{id, t, k, blk << 32}};
    philox4x64_ctr_t out = philox4x64(c, kk);
    for (int w = 3; w >= 0; w--) {
      unsigned long got = gsl_rng_get(g);
      ok &= got == (unsigned long)(out.v[w] & 0xffffffffULL);
    }
  }
  CHECK(ok);
  CHECK(gsl_rng_max(g) == 0xffffffffUL && gsl_rng_min(g) == 0);
}

static void test_pure_function(sagd_rng_gsl r) {
  double a[NDRAW], b[NDRAW], u1[NDRAW], u2[NDRAW];
  tuple base = {{2024, 3}, SAGD_STREAM_LANGEVIN, 17, 5, 11};

  /* Same tuple => same bits, whatever happened to the generator in between. */
  normals_(r, base, NDRAW, a);
  sagd_rng_uniforms(r, base.key, SAGD_STREAM_DATA, 99, 1, 2, NDRAW, u1);
  normals_(r, base, NDRAW, b);
  CHECK(memcmp(a, b, sizeof a) == 0);
  sagd_rng_gsl r2 = NULL;
  REQUIRE_OK(sagd_rng_gsl_create(&r2));
  normals_(r2, base, NDRAW, b);
  CHECK(memcmp(a, b, sizeof a) == 0);
  sagd_rng_uniforms(r, base.key, base.stream, base.id, base.t, base.k, NDRAW, u1);
  sagd_rng_uniforms(r2, base.key, base.stream, base.id, base.t, base.k, NDRAW, u2);
  CHECK(memcmp(u1, u2, sizeof u1) == 0);
  sagd_rng_gsl_destroy(&r2);
  CHECK(r2 == NULL);
  sagd_rng_gsl_destroy(&r2); /* NULL is accepted */

  /* A shorter request is a prefix of a longer one (draw j does not depend on n). */
  normals_(r, base, 10, b);
  CHECK(memcmp(a, b, 10 * sizeof(double)) == 0);

  /* Changing any one element of the tuple changes the draws (no draw is shared: equal
   * doubles by chance have probability ~0). */
  tuple v[] = {base, base, base, base, base, base, base, base, base, base};
  v[0].key.seed += 1;
  v[1].key.replication += 1;
  v[2].stream = SAGD_STREAM_BURNIN;
  v[3].id += 1;
  v[4].t += 1;
  v[5].k += 1;
  v[6].id = base.t; /* permuting counter words must not alias */
  v[6].t = base.id;
  v[7].key.seed = base.key.seed ^ (1ULL << 63); /* high bits matter */
  v[8].id = base.id | (1ULL << 63);
  v[9].key.replication = base.key.replication | (1ULL << 47);
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    normals_(r, v[i], NDRAW, b);
    size_t s = same_(a, b, NDRAW);
    if (s != 0) {
      fprintf(stderr, "variant %zu shares %zu of %d draws with the base tuple\n", i, s, NDRAW);
    }
    CHECK(s == 0);
    sagd_rng_uniforms(r, v[i].key, v[i].stream, v[i].id, v[i].t, v[i].k, NDRAW, u2);
    sagd_rng_uniforms(r, base.key, base.stream, base.id, base.t, base.k, NDRAW, u1);
    CHECK(same_(u1, u2, NDRAW) == 0);
  }
}

/* Kolmogorov-Smirnov distance of sorted x[0..n) to a CDF. */
static double ks_(const double *x, size_t n, double (*cdf)(double)) {
  double d = 0.0;
  for (size_t i = 0; i < n; i++) {
    double F = cdf(x[i]);
    double lo = F - (double)i / (double)n, hi = (double)(i + 1) / (double)n - F;
    d = fmax(d, fmax(lo, hi));
  }
  return d;
}

static double unif_cdf_(double x) { return x; }

static void test_distribution(sagd_rng_gsl r) {
  /* 10^6 draws: 10^4 tuples (ids) x 100 draws each, so both the within-call sequence and
   * the across-counter structure are exercised. */
  const size_t nid = 10000, per = 100, n = nid * per;
  double *x = malloc(n * sizeof(double));
  double *u = malloc(n * sizeof(double));
  REQUIRE_OK(x == NULL || u == NULL ? SAGD_ERR_MEM : SAGD_OK);
  sagd_rng_key key = {77, 1};
  for (size_t id = 0; id < nid; id++) {
    sagd_rng_normals(r, key, SAGD_STREAM_TEST, id, 3, 4, per, x + id * per);
    sagd_rng_uniforms(r, key, SAGD_STREAM_TEST, id, 3, 4, per, u + id * per);
  }
  double m1 = 0, m2 = 0, m4 = 0, lag = 0, cross = 0, um = 0, uv = 0;
  size_t outside = 0;
  for (size_t i = 0; i < n; i++) {
    m1 += x[i];
    m2 += x[i] * x[i];
    m4 += x[i] * x[i] * x[i] * x[i];
    outside += !(u[i] > 0.0 && u[i] < 1.0);
    um += u[i];
    uv += (u[i] - 0.5) * (u[i] - 0.5);
    if (i + 1 < n) {
      lag += x[i] * x[i + 1];
    }
    if (i + per < n) {
      cross += x[i] * x[i + per]; /* same draw index, neighbouring ids */
    }
  }
  const double N = (double)n;
  m1 /= N;
  m2 /= N;
  m4 /= N;
  lag /= N - 1;
  cross /= N - (double)per;
  um /= N;
  uv /= N;
  /* Tolerances are 5 standard errors of each estimator under the N(0,1) / U(0,1) law:
   * SE(mean) = 1/sqrt(N), SE(E x^2) = sqrt(2/N), SE(E x^4) = sqrt(96/N),
   * SE(lag products) = 1/sqrt(N), SE(uniform mean) = sqrt(1/12/N),
   * SE(uniform variance) = sqrt((1/80 - 1/144)/N). */
  CHECK_CLOSE(m1, 0.0, 5.0 / sqrt(N));
  CHECK_CLOSE(m2, 1.0, 5.0 * sqrt(2.0 / N));
  CHECK_CLOSE(m4, 3.0, 5.0 * sqrt(96.0 / N));
  CHECK_CLOSE(lag, 0.0, 5.0 / sqrt(N));
  CHECK_CLOSE(cross, 0.0, 5.0 / sqrt(N));
  CHECK(outside == 0);
  CHECK_CLOSE(um, 0.5, 5.0 * sqrt(1.0 / 12.0 / N));
  CHECK_CLOSE(uv, 1.0 / 12.0, 5.0 * sqrt((1.0 / 80.0 - 1.0 / 144.0) / N));

  /* KS against gsl_cdf_ugaussian_P (and the uniform CDF): the asymptotic critical value at
   * level 0.001 is 1.949/sqrt(N). */
  gsl_sort(x, 1, n);
  gsl_sort(u, 1, n);
  double dn = ks_(x, n, gsl_cdf_ugaussian_P), du = ks_(u, n, unif_cdf_);
  printf("normals: mean %.5f var %.5f m4 %.4f lag1 %.5f; KS %.5f; uniforms KS %.5f\n", m1,
         m2, m4, lag, dn, du);
  CHECK(dn < 1.949 / sqrt(N));
  CHECK(du < 1.949 / sqrt(N));
  free(x);
  free(u);
}

int main(void) {
  sagd_rng_gsl r = NULL;
  REQUIRE_OK(sagd_rng_gsl_create(&r));
  test_layout(r);
  test_pure_function(r);
  test_distribution(r);
  sagd_rng_gsl_destroy(&r);
  CHECK(r == NULL);
  return TEST_EXIT();
}
