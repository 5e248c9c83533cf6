/* Schedules: δ_t, K_t, α_t of each type against the closed forms, exact integer checks of
 * the chain-length ceilings, and parameter validation. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sagd/schedule.h"
#include "testutil.h"

/* Relative closeness for real-valued schedule values: the library and the closed form may
 * differ by a couple of roundings (sqrt vs pow), so 4 ulp-ish. */
#define RTOL 1e-15

static sagd_schedule make_(const sagd_schedule_type *t, double c1, double c2, double c,
                           double k0, double kpow, double alpha0, double apow) {
  sagd_schedule s;
  s.type = t;
  s.par.c1 = c1;
  s.par.c2 = c2;
  s.par.c = c;
  s.par.k0 = k0;
  s.par.kpow = kpow;
  s.par.alpha0 = alpha0;
  s.par.apow = apow;
  return s;
}

static void test_lookup_(void) {
  const sagd_schedule_type *const *list = sagd_schedule_type_list();
  const char *expect[] = {"constant", "thm3", "thm4", "em", "power"};
  size_t n = 0;
  while (list[n] != NULL) {
    CHECK(n < 5 && strcmp(list[n]->name, expect[n]) == 0);
    CHECK(sagd_schedule_type_find(list[n]->name) == list[n]);
    n++;
  }
  CHECK(n == 5);
  CHECK(sagd_schedule_type_find("thm3") == &sagd_schedule_thm3);
  CHECK(sagd_schedule_type_find("power") == &sagd_schedule_power);
  CHECK(sagd_schedule_type_find("nope") == NULL);
  CHECK(sagd_schedule_type_find(NULL) == NULL);
}

static void test_closed_forms_(void) {
  const uint64_t ts[] = {1, 2, 3, 4, 9, 10, 16, 100, 1000, 12345};
  for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
    const uint64_t t = ts[i];
    const double td = (double)t;

    sagd_schedule s = make_(&sagd_schedule_constant, 0.05, 0, 0, 7, 0, 0.3, 0);
    REQUIRE_OK(sagd_schedule_check(&s));
    CHECK(sagd_schedule_delta(&s, t) == 0.05);
    CHECK(sagd_schedule_length(&s, t) == 7);
    CHECK(sagd_schedule_alpha(&s, t) == 0.3);

    s = make_(&sagd_schedule_thm3, 0.5, 3.0, 0, 0, 0, 0.2, 0);
    REQUIRE_OK(sagd_schedule_check(&s));
    CHECK_CLOSE(sagd_schedule_delta(&s, t), 0.5 * pow(td, -0.5), RTOL * 0.5);
    CHECK_CLOSE(sagd_schedule_alpha(&s, t), 0.2 * pow(td, -0.5), RTOL * 0.2);
    {
      /* K = ceil(3 √t)  <=>  (K-1)^2 < 9 t <= K^2, checked in integers. */
      uint64_t K = sagd_schedule_length(&s, t);
      CHECK((K - 1) * (K - 1) < 9 * t && 9 * t <= K * K);
    }

    s = make_(&sagd_schedule_thm4, 0.5, 2.0, 0.25, 0, 0, 0.2, 0);
    REQUIRE_OK(sagd_schedule_check(&s));
    CHECK_CLOSE(sagd_schedule_delta(&s, t), 0.5 / sqrt(sqrt(td)), RTOL * 0.5);
    CHECK_CLOSE(sagd_schedule_alpha(&s, t), 0.2 / td, RTOL * 0.2);
    {
      /* K = ceil(2 t^(1/2))  <=>  (K-1)^2 < 4 t <= K^2. */
      uint64_t K = sagd_schedule_length(&s, t);
      CHECK((K - 1) * (K - 1) < 4 * t && 4 * t <= K * K);
    }
    /* thm4 with c = 0.4: K = ceil(1.5 t^0.8), compared with the real value. */
    s = make_(&sagd_schedule_thm4, 1.0, 1.5, 0.4, 0, 0, 1.0, 0);
    CHECK_CLOSE(sagd_schedule_delta(&s, t), exp(-0.4 * log(td)), RTOL);
    {
      double k = 1.5 * exp(0.8 * log(td));
      uint64_t K = sagd_schedule_length(&s, t);
      CHECK((double)K >= k - 1e-9 && (double)K < k + 1);
    }

    s = make_(&sagd_schedule_em, 0.1, 0, 0, 20, 0, 0.2, 0);
    REQUIRE_OK(sagd_schedule_check(&s));
    CHECK_CLOSE(sagd_schedule_delta(&s, t), 0.1 / sqrt(td), RTOL * 0.1);
    CHECK(sagd_schedule_length(&s, t) == t + 20);
    CHECK(sagd_schedule_alpha(&s, t) == 0.2);

    s = make_(&sagd_schedule_power, 0.3, 2.0, 0.6, 5, 1.0 / 3.0, 0.7, 0.75);
    REQUIRE_OK(sagd_schedule_check(&s));
    CHECK_CLOSE(sagd_schedule_delta(&s, t), 0.3 * exp(-0.6 * log(td)), RTOL * 0.3);
    CHECK_CLOSE(sagd_schedule_alpha(&s, t), 0.7 * exp(-0.75 * log(td)), RTOL * 0.7);
    {
      /* K - 5 = ceil(2 t^(1/3))  <=>  (K-6)^3 < 8 t <= (K-5)^3. */
      uint64_t K = sagd_schedule_length(&s, t);
      CHECK(K >= 6);
      uint64_t a = K - 6, b = K - 5;
      CHECK(a * a * a < 8 * t && 8 * t <= b * b * b);
    }
  }
  /* Hand-computed values. */
  sagd_schedule s = make_(&sagd_schedule_thm3, 1.0, 3.0, 0, 0, 0, 1.0, 0);
  CHECK(sagd_schedule_length(&s, 1) == 3);
  CHECK(sagd_schedule_length(&s, 2) == 5);  /* 3·1.414 = 4.24 */
  CHECK(sagd_schedule_length(&s, 16) == 12);
  s = make_(&sagd_schedule_power, 1.0, 1.5, 0, 5, 1.0 / 3.0, 1.0, 0);
  CHECK(sagd_schedule_length(&s, 8) == 8);  /* 5 + ceil(1.5·2) */
  CHECK(sagd_schedule_alpha(&s, 8) == 1.0); /* apow = 0 */
  CHECK(sagd_schedule_delta(&s, 8) == 1.0); /* c = 0 */
}

/* K_t must be exact where the closed form is an integer (perfect squares): with c2 = n/10
 * and t = q², ceil(c2·√t) = ceil(n q / 10) in integers. Without the tolerance, e.g.
 * 0.3·√100 = 3.0000000000000004 would give 4. Non-squares are checked by
 * 100 (K-1)² < n² t <= 100 K². */
static void test_exact_ceil_(void) {
  int bad = 0;
  for (uint64_t n = 1; n <= 40; n++) {
    sagd_schedule s = make_(&sagd_schedule_thm3, 1.0, (double)n / 10.0, 0, 0, 0, 1.0, 0);
    sagd_schedule s4 = make_(&sagd_schedule_thm4, 1.0, (double)n / 10.0, 0.25, 0, 0, 1.0, 0);
    for (uint64_t t = 1; t <= 3000; t++) {
      uint64_t K = sagd_schedule_length(&s, t), K4 = sagd_schedule_length(&s4, t);
      uint64_t q = (uint64_t)llround(sqrt((double)t));
      uint64_t expect;
      if (q * q == t) {
        expect = (n * q + 9) / 10;
        expect = expect >= 1 ? expect : 1;
        bad += K != expect;
      } else {
        bad += !((K - 1) * (K - 1) * 100 < n * n * t && n * n * t <= 100 * K * K);
      }
      bad += K4 != K; /* t^(2·0.25) = √t */
    }
  }
  CHECK(bad == 0);
  sagd_schedule s = make_(&sagd_schedule_thm3, 1.0, 0.3, 0, 0, 0, 1.0, 0);
  CHECK(sagd_schedule_length(&s, 100) == 3);
  /* K_t >= 1 always. */
  s = make_(&sagd_schedule_thm4, 1.0, 0.1, 0.0, 0, 0, 1.0, 0);
  CHECK(sagd_schedule_length(&s, 1) == 1);
  s = make_(&sagd_schedule_power, 1.0, 0.0, 0.0, 0, 1.0, 1.0, 0);
  REQUIRE_OK(sagd_schedule_check(&s));
  CHECK(sagd_schedule_length(&s, 50) == 1);
  s = make_(&sagd_schedule_thm3, 1.0, 0.01, 0, 0, 0, 1.0, 0);
  CHECK(sagd_schedule_length(&s, 4) == 1);
}

/* A rejected schedule must return SAGD_ERR_CONFIG and name the parameter. */
static void expect_reject_(sagd_schedule s, const char *param) {
  int rc = sagd_schedule_check(&s);
  CHECK(rc == SAGD_ERR_CONFIG);
  if (rc != 0) {
    const char *msg = sagd_error_message();
    char key[32];
    snprintf(key, sizeof key, "%s =", param);
    if (strstr(msg, key) == NULL) {
      fprintf(stderr, "message '%s' does not name '%s'\n", msg, param);
      test_failures_++;
    }
  }
  sagd_error_clear();
}

static void test_check_(void) {
  expect_reject_(make_(&sagd_schedule_thm3, 0.0, 1, 0, 0, 0, 1, 0), "c1");
  expect_reject_(make_(&sagd_schedule_thm3, -1.0, 1, 0, 0, 0, 1, 0), "c1");
  expect_reject_(make_(&sagd_schedule_thm3, NAN, 1, 0, 0, 0, 1, 0), "c1");
  expect_reject_(make_(&sagd_schedule_em, 0.1, 0, 0, 20, 0, 0.0, 0), "alpha0");
  expect_reject_(make_(&sagd_schedule_em, 0.1, 0, 0, 20, 0, INFINITY, 0), "alpha0");
  expect_reject_(make_(&sagd_schedule_thm3, 0.1, 0.0, 0, 0, 0, 1, 0), "c2");
  expect_reject_(make_(&sagd_schedule_thm4, 0.1, 0.0, 0.3, 0, 0, 1, 0), "c2");
  expect_reject_(make_(&sagd_schedule_thm4, 0.1, 1.0, -0.1, 0, 0, 1, 0), "c");
  expect_reject_(make_(&sagd_schedule_constant, 0.1, 0, 0, 0.0, 0, 1, 0), "k0");
  expect_reject_(make_(&sagd_schedule_constant, 0.1, 0, 0, 0.5, 0, 1, 0), "k0");
  expect_reject_(make_(&sagd_schedule_em, 0.1, 0, 0, -1.0, 0, 1, 0), "k0");
  expect_reject_(make_(&sagd_schedule_power, 0.1, 1, 0.5, 1, NAN, 1, 0), "kpow");
  expect_reject_(make_(&sagd_schedule_power, 0.1, 1, 0.5, 1, 0.5, 1, -1), "apow");
  /* The value appears too. */
  sagd_schedule s = make_(&sagd_schedule_thm3, 0.1, -2.5, 0, 0, 0, 1, 0);
  CHECK(sagd_schedule_check(&s) != 0);
  CHECK(strstr(sagd_error_message(), "-2.5") != NULL);
  sagd_error_clear();
  /* Fine: thm4 with c = 0 (constant δ, K), constant with k0 = 1. */
  s = make_(&sagd_schedule_thm4, 0.1, 1, 0, 0, 0, 1, 0);
  CHECK(sagd_schedule_check(&s) == 0);
  s = make_(&sagd_schedule_constant, 0.1, 0, 0, 1, 0, 1, 0);
  CHECK(sagd_schedule_check(&s) == 0);
  s.type = NULL;
  CHECK(sagd_schedule_check(&s) == SAGD_ERR_ARG);
  sagd_error_clear();
}

int main(void) {
  test_lookup_();
  test_closed_forms_();
  test_exact_ceil_();
  test_check_();
  return TEST_EXIT();
}
