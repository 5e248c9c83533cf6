/* Exact sums on one rank: exactness against two independent references (a __float128 sum
 * that is exact by construction, and the correctly rounded fsum of Shewchuk/CPython),
 * order independence (bit-identical for several permutations), rounding ties (also over many
 * components with built-in ties, sticky bits and cancellations), truncation below 2^-EMIN,
 * carry room, and rejection of bad terms. */
#include <mpi.h>
#include <string.h>

#include "sagd/reduce.h"
#include "testutil.h"
#include "xsum_ref.h"

#define NT 3000 /* terms per component */
#define PC 6    /* components */

static double sum1_(const double *terms, size_t n) {
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(1, &x));
  for (size_t k = 0; k < n; k++) {
    REQUIRE_OK(sagd_xsum_add(x, &terms[k]));
  }
  double out;
  sagd_xsum_get(x, &out);
  sagd_xsum_destroy(&x);
  return out;
}

#define CHECK_BITS(a, b)                                                                 \
  do {                                                                                   \
    double ba_ = (a), bb_ = (b);                                                         \
    if (dbits(ba_) != dbits(bb_)) {                                                      \
      fprintf(stderr, "%s:%d: bits differ: %s = %a, %s = %a\n", __FILE__, __LINE__, #a, \
              ba_, #b, bb_);                                                             \
      test_failures_++;                                                                  \
    }                                                                                    \
  } while (0)

static void test_small_cases_(void) {
  const double a[3] = {1e16, 1.0, -1e16};
  CHECK(sum1_(a, 3) == 1.0);
  const double b[3] = {1e16, -1e16, 1.0};
  CHECK(sum1_(b, 3) == 1.0);
  const double c[4] = {0x1p150, 0x1p-250, -0x1p150, 0x1p-250};
  CHECK(sum1_(c, 4) == 0x1p-249);
  /* Exact zero is +0 whatever the terms' signs. */
  const double z[4] = {3.5, -0.0, -3.5, -0.0};
  double s = sum1_(z, 4);
  CHECK(s == 0.0 && !signbit(s));
  CHECK(sum1_(z, 0) == 0.0);
  /* Ties to even, and a sticky bit far below breaks the tie. */
  const double t1[2] = {1.0, 0x1p-53};
  CHECK_BITS(sum1_(t1, 2), 1.0);
  const double t2[3] = {1.0, 0x1p-53, 0x1p-250};
  CHECK_BITS(sum1_(t2, 3), 1.0 + 0x1p-52);
  const double t3[2] = {1.0 + 0x1p-52, 0x1p-53};
  CHECK_BITS(sum1_(t3, 2), 1.0 + 0x1p-51);
  const double t4[3] = {-1.0, -0x1p-53, -0x1p-250};
  CHECK_BITS(sum1_(t4, 3), -1.0 - 0x1p-52);
  const double t5[3] = {1.0, 0x1p-53, -0x1p-250}; /* just below the tie: down */
  CHECK_BITS(sum1_(t5, 3), 1.0);
  /* Negative sum spanning a limb boundary with borrows. */
  const double t6[3] = {-0x1p64, 0x1p-200, 1.0};
  CHECK_BITS(sum1_(t6, 3), -0x1p64 + 1.0);
  /* Truncation toward zero below 2^-256, per term. */
  const double u1[1] = {0x1p-300};
  CHECK(sum1_(u1, 1) == 0.0);
  const double u2[1] = {0x1.8p-256};
  CHECK_BITS(sum1_(u2, 1), 0x1p-256);
  const double u3[1] = {-0x1.8p-256};
  CHECK_BITS(sum1_(u3, 1), -0x1p-256);
  const double u4[2] = {0x1p-257, 0x1p-257}; /* each truncated to 0 before adding */
  CHECK(sum1_(u4, 2) == 0.0);
  const double u5[3] = {1.0, 0x1p-53, 0x1p-300}; /* the tiny term cannot break the tie */
  CHECK_BITS(sum1_(u5, 3), 1.0);
  const double u6[1] = {4.9406564584124654e-324}; /* subnormal */
  CHECK(sum1_(u6, 1) == 0.0);
  /* Largest allowed terms and carry room beyond 2^160 for the sum. */
  const double big = 0x1.fffffffffffffp159;
  double bigs[8];
  for (int k = 0; k < 8; k++) {
    bigs[k] = big;
  }
  CHECK_BITS(sum1_(bigs, 8), 8 * big);
  for (int k = 0; k < 8; k++) {
    bigs[k] = -big;
  }
  CHECK_BITS(sum1_(bigs, 8), -8 * big);
  /* The smallest kept bit and the largest together: rounds to the large one. */
  const double w[2] = {big, 0x1p-256};
  CHECK_BITS(sum1_(w, 2), big);
}

static void test_rejects_(void) {
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(3, &x));
  const double ok[3] = {1.0, 2.0, 3.0};
  REQUIRE_OK(sagd_xsum_add(x, ok));
  const double bad[4][3] = {{1.0, NAN, 1.0}, {1.0, 1.0, INFINITY},
                            {0x1p160, 1.0, 1.0}, {1.0, 1.0, -0x1p161}};
  const char *names[4] = {"component 1", "component 2", "component 0", "component 2"};
  for (int k = 0; k < 4; k++) {
    CHECK(sagd_xsum_add(x, bad[k]) == SAGD_ERR_NUMERIC);
    if (strstr(sagd_error_message(), names[k]) == NULL) {
      fprintf(stderr, "message '%s' lacks '%s'\n", sagd_error_message(), names[k]);
      test_failures_++;
    }
    sagd_error_clear();
  }
  /* The value is named too (2^160 = 1.4615016373309029e+48). */
  CHECK(sagd_xsum_add(x, bad[2]) != 0);
  CHECK(strstr(sagd_error_message(), "1.4615016373309029e+48") != NULL);
  sagd_error_clear();
  /* Rejected vectors left the accumulators unchanged. */
  double out[3];
  sagd_xsum_get(x, out);
  CHECK(out[0] == 1.0 && out[1] == 2.0 && out[2] == 3.0);
  sagd_xsum_zero(x);
  sagd_xsum_get(x, out);
  CHECK(out[0] == 0.0 && out[1] == 0.0 && out[2] == 0.0);
  sagd_xsum_destroy(&x);
  CHECK(x == NULL);
  sagd_xsum_destroy(&x);
  CHECK(sagd_xsum_create(0, &x) == SAGD_ERR_ARG);
  sagd_error_clear();
}

/* Moderate range: terms with exponents in [0, 45] are multiples of 2^-52 and NT of them sum
 * to below 2^58, so the exact sum needs < 111 bits and a __float128 running sum (113-bit
 * significand) is exact; its conversion to double is the correctly rounded reference. */
static void test_float128_reference_(void) {
  uint64_t seed = 12345;
  static double terms[NT];
  int bad = 0;
  for (int rep = 0; rep < 20; rep++) {
    __float128 q = 0;
    for (int k = 0; k < NT; k++) {
      terms[k] = random_wide(&seed, -52, -7); /* M·2^e: magnitude 2^0 .. 2^46 */
      q += terms[k];
    }
    double s = sum1_(terms, NT);
    bad += dbits(s) != dbits((double)q);
    bad += dbits(s) != dbits(ref_fsum(terms, NT, 1));
  }
  CHECK(bad == 0);
}

/* Wide range, cancellation, several orders: PC components, each with its own distribution.
 * All orders must give the same bits, equal to the correctly rounded fsum reference. */
static void make_terms_(double *v, uint64_t seed) {
  for (int k = 0; k < NT; k++) {
    for (int j = 0; j < PC; j++) {
      double *t = &v[k * PC + j];
      switch (j) {
      case 0: /* widest allowed exact range: 2^-200 .. 2^148 */
        *t = random_wide(&seed, -253, 95);
        break;
      case 1: /* big terms that cancel in pairs, plus small residue */
        *t = (k % 2 == 0) ? random_wide(&seed, 40, 90) : -v[(k - 1) * PC + j];
        if (k % 7 == 0) {
          *t = random_wide(&seed, -120, -60);
        }
        break;
      case 2: /* ordinary numbers */
        *t = random_wide(&seed, -60, -50);
        break;
      case 3: /* all near the bottom of the range */
        *t = random_wide(&seed, -253, -230);
        break;
      case 4: /* the exact sum is zero */
        *t = (k < NT / 2) ? random_wide(&seed, -100, 50) : -v[(k - NT / 2) * PC + j];
        break;
      default: /* mixed signs of similar size: heavy cancellation */
        *t = random_wide(&seed, -1, 1) * ((k % 3 == 0) ? 1e10 : 1.0);
        break;
      }
    }
  }
}

static void test_orders_(void) {
  static double v[NT * PC];
  static size_t perm[NT];
  make_terms_(v, 777);
  double ref[PC];
  for (int j = 0; j < PC; j++) {
    ref[j] = ref_fsum(v + j, NT, PC);
  }
  CHECK(ref[4] == 0.0);
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(PC, &x));
  uint64_t seed = 99;
  for (int order = 0; order < 6; order++) {
    for (size_t k = 0; k < NT; k++) {
      perm[k] = order == 1 ? NT - 1 - k : k;
    }
    if (order >= 2) { /* Fisher-Yates */
      for (size_t k = NT - 1; k > 0; k--) {
        size_t r = (size_t)(splitmix64(&seed) % (k + 1));
        size_t tmp = perm[k];
        perm[k] = perm[r];
        perm[r] = tmp;
      }
    }
    sagd_xsum_zero(x);
    for (size_t k = 0; k < NT; k++) {
      REQUIRE_OK(sagd_xsum_add(x, v + perm[k] * PC));
    }
    double out[PC], out2[PC];
    sagd_xsum_get(x, out);
    for (int j = 0; j < PC; j++) {
      CHECK_BITS(out[j], ref[j]);
    }
    /* A one-rank allreduce is the same rounding of the same limbs. */
    REQUIRE_OK(sagd_xsum_allreduce(x, MPI_COMM_SELF, out2));
    CHECK(memcmp(out, out2, sizeof out) == 0);
    /* get/allreduce leave the value unchanged: adding on continues the same sum. */
    if (order == 0) {
      for (size_t k = 0; k < NT; k++) {
        REQUIRE_OK(sagd_xsum_add(x, v + k * PC));
      }
      sagd_xsum_get(x, out2);
      static double twice[2 * NT];
      for (int j = 0; j < PC; j++) {
        for (size_t k = 0; k < NT; k++) {
          twice[k] = twice[NT + k] = v[k * PC + j];
        }
        CHECK_BITS(out2[j], ref_fsum(twice, 2 * NT, 1));
      }
    }
  }
  /* Versus naive double summation, the references agree to within the naive error, and a
   * __float128 Kahan-free sum of component 0 agrees within 1 ulp of the exact rounding. */
  __float128 q = 0;
  for (size_t k = 0; k < NT; k++) {
    q += v[k * PC];
  }
  CHECK(fabs((double)q - ref[0]) <= nextafter(fabs(ref[0]), INFINITY) - fabs(ref[0]));
  sagd_xsum_destroy(&x);
}

/* Many additions (3·10^5 per component, to exercise long carry chains of +/- limbs). */
static void test_many_(void) {
  const size_t n = 300000;
  double *t = malloc(n * sizeof(double));
  REQUIRE_OK(t == NULL ? SAGD_ERR_MEM : 0);
  uint64_t seed = 4242;
  for (size_t k = 0; k < n; k++) {
    t[k] = random_wide(&seed, -253, 90);
  }
  CHECK_BITS(sum1_(t, n), ref_fsum(t, n, 1));
  free(t);
}

/* Rounding over many components at once: every component's sum is built to hit one case of
 * the rounding (a tie, a tie broken by a bit far below, cancellation down to a tiny residue,
 * three quarters of an ulp left after cancelling, wide mixtures), with its leading digit at every position of a
 * 32-bit limb and in every limb, both signs. Each must equal the correctly rounded fsum. All
 * terms are multiples of 2^-256, so nothing is truncated. */
static double pow2_(uint64_t *seed, int e) { /* +-2^e, e raised to -256 if below */
  e = e < -256 ? -256 : e;
  return (splitmix64(seed) & 1) ? -ldexp(1.0, e) : ldexp(1.0, e);
}

static void test_rounding_patterns_(void) {
  const size_t p = 60000, nt = 6;
  double *v = calloc(nt * p, sizeof(double)), *out = malloc(p * sizeof(double));
  REQUIRE_OK(v == NULL || out == NULL ? SAGD_ERR_MEM : 0);
  uint64_t seed = 2026;
  for (size_t i = 0; i < p; i++) {
    const int e = -200 + (int)(splitmix64(&seed) % 297); /* a's lowest bit 2^e, |a| < 2^149 */
    const double a = random_wide(&seed, e, e), ulp = ldexp(1.0, e);
    double *t = v + i; /* term k at t[k p] */
    t[0] = a;
    switch (i % 6) {
    case 0: /* an exact tie: to even */
      t[p] = pow2_(&seed, e - 1);
      break;
    case 1: /* a tie broken (either way) by one bit far below */
      t[p] = copysign(ulp / 2, a);
      t[2 * p] = pow2_(&seed, e - 2 - (int)(splitmix64(&seed) % 220));
      break;
    case 2: /* cancellation: only a tiny residue is left */
      t[p] = -a;
      t[2 * p] = random_wide(&seed, -256, -256 + (int)(splitmix64(&seed) % 200));
      break;
    case 3: /* a - a + ulp - ulp/4 + a: three quarters of an ulp above a, after cancelling */
      t[p] = -a;
      t[2 * p] = copysign(ulp, a);
      t[3 * p] = -copysign(ulp / 4, a);
      t[4 * p] = a;
      break;
    case 4: /* smaller terms of mixed signs a few binades down */
      for (size_t k = 1; k < nt; k++) {
        t[k * p] = random_wide(&seed, e - 1 - (int)(splitmix64(&seed) % 56), e - 1);
      }
      break;
    default: /* terms anywhere in the range */
      for (size_t k = 1; k < nt; k++) {
        t[k * p] = random_wide(&seed, -256, 96);
      }
      break;
    }
  }
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(p, &x));
  for (size_t k = 0; k < nt; k++) {
    REQUIRE_OK(sagd_xsum_add(x, v + k * p));
  }
  sagd_xsum_get(x, out);
  size_t bad = 0;
  for (size_t i = 0; i < p; i++) {
    const double ref = ref_fsum(v + i, nt, p);
    if (dbits(out[i]) != dbits(ref)) {
      if (bad++ < 5) {
        fprintf(stderr, "component %zu (case %zu): %a, correctly rounded %a\n", i, i % 6,
                out[i], ref);
      }
    }
  }
  CHECK(bad == 0);
  sagd_xsum_destroy(&x);
  free(v);
  free(out);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  test_small_cases_();
  test_rejects_();
  test_float128_reference_();
  test_orders_();
  test_many_();
  test_rounding_patterns_();
  MPI_Finalize();
  return TEST_EXIT();
}
