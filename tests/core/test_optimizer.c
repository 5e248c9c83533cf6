/* Optimizers: projected SGD is exactly θ - αg then clipped; Adam's first steps against the
 * closed forms; Adam minimises a quadratic (inside and at the edge of the box); the running
 * average is the arithmetic mean; validation of bounds and gradients. */
#include <math.h>
#include <string.h>

#include "sagd/optimizer.h"
#include "testutil.h"

#define P 5

static int msg_has_(const char *needle) {
  if (strstr(sagd_error_message(), needle) == NULL) {
    fprintf(stderr, "error message '%s' lacks '%s'\n", sagd_error_message(), needle);
    return 0;
  }
  return 1;
}

static void test_lookup_(void) {
  const sagd_optimizer_type *const *list = sagd_optimizer_type_list();
  CHECK(list[0] == &sagd_optimizer_sgd && list[1] == &sagd_optimizer_adam && list[2] == NULL);
  CHECK(sagd_optimizer_type_find("sgd") == &sagd_optimizer_sgd);
  CHECK(sagd_optimizer_type_find("adam") == &sagd_optimizer_adam);
  CHECK(sagd_optimizer_type_find("rmsprop") == NULL);
  CHECK(sagd_optimizer_sgd.state_size(7) == 0);
  CHECK(sagd_optimizer_adam.state_size(7) == 15);
}

static void test_sgd_(void) {
  sagd_optimizer o = NULL;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_sgd, P, NULL, &o));
  double theta[P] = {0.1, -2.5, 3.75, 1e10, -1e-7};
  const double g[P] = {0.3, 1.0 / 3.0, -7.25, 12345.678, 1e-3};
  const double alpha = 0.37;
  double expect[P];
  for (int i = 0; i < P; i++) {
    expect[i] = theta[i] - alpha * g[i];
  }
  REQUIRE_OK(sagd_optimizer_step(o, alpha, g, theta));
  for (int i = 0; i < P; i++) {
    CHECK(theta[i] == expect[i]); /* bit-exact: unbounded box, no state */
  }
  double *st;
  size_t len;
  sagd_optimizer_state(o, &st, &len);
  CHECK(len == 0);
  sagd_optimizer_destroy(&o);
  CHECK(o == NULL);
  sagd_optimizer_destroy(&o); /* NULL is fine */
  sagd_optimizer_destroy(NULL);
}

static void test_projection_(void) {
  const double lo[P] = {0.0, -1.0, -INFINITY, 2.0, -3.0};
  const double hi[P] = {1.0, INFINITY, 0.5, 2.0, 3.0};
  sagd_optimizer_options opt = {0};
  opt.lower = lo;
  opt.upper = hi;
  sagd_optimizer o = NULL;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_sgd, P, &opt, &o));
  /* Steps overshooting every bound land exactly on it; inside steps are untouched. */
  double theta[P] = {0.5, 0.0, 0.0, 2.0, 0.0};
  const double g[P] = {-10.0, 10.0, -10.0, 1.0, 0.25};
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, g, theta));
  CHECK(theta[0] == 1.0);
  CHECK(theta[1] == -1.0);
  CHECK(theta[2] == 0.5);
  CHECK(theta[3] == 2.0);
  CHECK(theta[4] == -0.25);
  const double g2[P] = {10.0, -1e300, 1e300, -1.0, -100.0};
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, g2, theta));
  CHECK(theta[0] == 0.0);
  CHECK(theta[1] == 1e300);
  CHECK(theta[2] == -1e300);
  CHECK(theta[3] == 2.0);
  CHECK(theta[4] == 3.0);
  /* Project alone. */
  double t2[P] = {-5, -5, 5, 7, 2.5};
  sagd_optimizer_project(o, t2);
  CHECK(t2[0] == 0.0 && t2[1] == -1.0 && t2[2] == 0.5 && t2[3] == 2.0 && t2[4] == 2.5);
  sagd_optimizer_destroy(&o);

  /* Only a lower bound. */
  const double lo1[2] = {0.0, 0.0};
  sagd_optimizer_options o1 = {0};
  o1.lower = lo1;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_sgd, 2, &o1, &o));
  double th[2] = {1.0, 1.0};
  const double gg[2] = {2.0, -1e6};
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, gg, th));
  CHECK(th[0] == 0.0 && th[1] == 1e6 + 1.0);
  sagd_optimizer_destroy(&o);
}

/* Adam against its closed form: after steps with gradients g_1..g_t,
 *   m̂_t = (1-β1) Σ_s β1^(t-s) g_s / (1-β1^t),  v̂_t likewise with β2 and g²,
 *   θ_t = θ_{t-1} - α m̂_t / (√v̂_t + ε). Computed here in long double from the sums. */
static void adam_reference_(double b1, double b2, double eps, int t, const double *gs,
                            double alpha, long double *theta) {
  long double m = 0, v = 0;
  for (int s = 0; s < t; s++) {
    m += powl(b1, t - 1 - s) * gs[s];
    v += powl(b2, t - 1 - s) * gs[s] * gs[s];
  }
  m *= (1 - (long double)b1) / (1 - powl(b1, t));
  v *= (1 - (long double)b2) / (1 - powl(b2, t));
  *theta -= alpha * m / (sqrtl(v) + eps);
}

static void test_adam_closed_form_(void) {
  /* Explicit hyper-parameters. */
  const double b1 = 0.8, b2 = 0.95, eps = 1e-6;
  sagd_optimizer_options opt = {0};
  opt.beta1 = b1;
  opt.beta2 = b2;
  opt.eps = eps;
  sagd_optimizer o = NULL;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, 3, &opt, &o));
  /* per coordinate, the gradients of four steps */
  const double gs[3][4] = {{1.0, 2.0, -1.0, 0.5}, {-3.0, -3.0, -3.0, -3.0}, {1e-3, -2e-3, 5.0, 0}};
  double theta[3] = {0.0, 1.0, -2.0};
  long double ref[3] = {0.0L, 1.0L, -2.0L};
  const double alpha = 0.1;
  for (int t = 1; t <= 4; t++) {
    double g[3] = {gs[0][t - 1], gs[1][t - 1], gs[2][t - 1]};
    double before[3] = {theta[0], theta[1], theta[2]};
    REQUIRE_OK(sagd_optimizer_step(o, alpha, g, theta));
    for (int i = 0; i < 3; i++) {
      adam_reference_(b1, b2, eps, t, gs[i], alpha, &ref[i]);
      /* A handful of roundings of O(1) quantities: 1e-14 absolute is ~50 ulp. */
      CHECK_CLOSE(theta[i], (double)ref[i], 1e-14);
      if (t == 1) {
        /* First step: m̂ = g, v̂ = g², so the move is α g / (|g| + ε) = α sign(g) up to ε. */
        double move = before[i] - theta[i];
        CHECK_CLOSE(move, alpha * (g[i] > 0 ? 1 : -1), alpha * eps / fabs(g[i]) + 1e-15);
      }
    }
    /* The counter lives in the flat state: [m (3), v (3), t]. */
    double *st;
    size_t len;
    sagd_optimizer_state(o, &st, &len);
    CHECK(len == 7);
    CHECK(st[6] == (double)t);
  }
  /* Constant gradient: every step moves by α/(1 + ε/|g|) exactly like the first. */
  CHECK_CLOSE(theta[1], 1.0 + 4 * alpha * 3.0 / (3.0 + eps), 1e-14);

  /* Reset: the next step is a first step again. */
  sagd_optimizer_reset(o);
  double *st;
  size_t len;
  sagd_optimizer_state(o, &st, &len);
  for (size_t k = 0; k < len; k++) {
    CHECK(st[k] == 0.0);
  }
  double th[3] = {0, 0, 0};
  const double g[3] = {4.0, -0.5, 2.0};
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, g, th));
  CHECK_CLOSE(th[0], -4.0 / (4.0 + eps), 1e-15);
  CHECK_CLOSE(th[1], 0.5 / (0.5 + eps), 1e-15);
  sagd_optimizer_destroy(&o);

  /* Defaults (0 in the options): ε = 1e-8 is visible when |g| = 1e-8, where the first move
   * is α g/(|g| + ε) = α/2; β1 = 0.9, β2 = 0.999 in the second step's closed form. */
  sagd_optimizer_options def = {0};
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, 2, &def, &o));
  double t2[2] = {0, 0};
  const double g1[2] = {1e-8, 1.0}, g2[2] = {1e-8, -2.0};
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, g1, t2));
  CHECK_CLOSE(t2[0], -0.5, 1e-12);
  long double r = -1.0L / (1.0L + 1e-8L);
  const double seq[2] = {1.0, -2.0};
  adam_reference_(0.9, 0.999, 1e-8, 2, seq, 1.0, &r);
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, g2, t2));
  CHECK_CLOSE(t2[1], (double)r, 1e-14);
  sagd_optimizer_destroy(&o);
  /* NULL options are the defaults too. */
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, 1, NULL, &o));
  double t3 = 0;
  const double g3 = 1e-8;
  REQUIRE_OK(sagd_optimizer_step(o, 1.0, &g3, &t3));
  CHECK_CLOSE(t3, -0.5, 1e-12);
  sagd_optimizer_destroy(&o);
}

/* Adam on f(θ) = ½ Σ a_i (θ_i - c_i)² with α_t = 0.1/√t from θ = 0: ill-conditioned
 * curvatures (a from 0.01 to 100) are what Adam's scaling is for. After 5000 steps the
 * step size is 1.4e-3 and the iterate oscillates within O(α_t) of the minimiser, so we
 * require 1e-2. Coordinate 4's minimiser (c = 5) lies outside the box [.., 2]: it must end
 * exactly on the bound. */
static void test_adam_quadratic_(void) {
  const double a[P] = {0.01, 0.1, 1.0, 10.0, 100.0};
  const double c[P] = {1.0, -2.0, 0.5, 3.0, 5.0};
  const double hi[P] = {INFINITY, INFINITY, INFINITY, INFINITY, 2.0};
  sagd_optimizer_options opt = {0};
  opt.upper = hi;
  sagd_optimizer o = NULL;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, P, &opt, &o));
  double theta[P] = {0};
  double g[P];
  for (int t = 1; t <= 5000; t++) {
    for (int i = 0; i < P; i++) {
      g[i] = a[i] * (theta[i] - c[i]);
    }
    REQUIRE_OK(sagd_optimizer_step(o, 0.1 / sqrt((double)t), g, theta));
  }
  for (int i = 0; i < P - 1; i++) {
    CHECK_CLOSE(theta[i], c[i], 1e-2);
  }
  CHECK(theta[P - 1] == 2.0);
  sagd_optimizer_destroy(&o);
}

static void test_average_(void) {
  sagd_average a = NULL;
  REQUIRE_OK(sagd_average_create(3, &a));
  /* θ_t = (t, -2t, 0.25 t) for t = 1..T: the mean is exactly ((T+1)/2)·(1, -2, 0.25). */
  const int T = 99;
  for (int t = 1; t <= T; t++) {
    double th[3] = {t, -2.0 * t, 0.25 * t};
    sagd_average_add(a, th);
  }
  double out[3];
  sagd_average_get(a, out);
  CHECK(out[0] == 50.0 && out[1] == -100.0 && out[2] == 12.5);
  CHECK(*sagd_average_count(a) == (unsigned long)T);
  CHECK(sagd_average_sum(a)[0] == 4950.0);
  /* Non-integer values: against the mean computed in long double. */
  sagd_average_reset(a);
  CHECK(*sagd_average_count(a) == 0 && sagd_average_sum(a)[1] == 0.0);
  long double ref[3] = {0, 0, 0};
  for (int t = 1; t <= 10; t++) {
    double th[3] = {sin(t), 1.0 / t, exp(-t)};
    for (int i = 0; i < 3; i++) {
      ref[i] += th[i];
    }
    sagd_average_add(a, th);
  }
  sagd_average_get(a, out);
  for (int i = 0; i < 3; i++) {
    CHECK_CLOSE(out[i], (double)(ref[i] / 10), 1e-15);
  }
  /* Restore through the accessors (as a checkpoint would) gives the same mean. */
  sagd_average b = NULL;
  REQUIRE_OK(sagd_average_create(3, &b));
  memcpy(sagd_average_sum(b), sagd_average_sum(a), 3 * sizeof(double));
  *sagd_average_count(b) = *sagd_average_count(a);
  double out2[3];
  sagd_average_get(b, out2);
  CHECK(memcmp(out, out2, sizeof out) == 0);
  sagd_average_destroy(&a);
  sagd_average_destroy(&b);
  CHECK(a == NULL && b == NULL);
}

static void test_validation_(void) {
  sagd_optimizer o = NULL;
  const double lo[3] = {0.0, 1.0, 2.0}, hi[3] = {1.0, 1.0, 1.5};
  sagd_optimizer_options opt = {0};
  opt.lower = lo;
  opt.upper = hi;
  CHECK(sagd_optimizer_create(&sagd_optimizer_sgd, 3, &opt, &o) == SAGD_ERR_CONFIG);
  CHECK(o == NULL);
  CHECK(msg_has_("coordinate 2"));
  sagd_error_clear();
  sagd_optimizer_options bad = {0};
  bad.beta1 = 1.0;
  CHECK(sagd_optimizer_create(&sagd_optimizer_adam, 3, &bad, &o) == SAGD_ERR_CONFIG);
  CHECK(msg_has_("beta1"));
  sagd_error_clear();
  CHECK(sagd_optimizer_create(&sagd_optimizer_adam, 0, NULL, &o) == SAGD_ERR_ARG);
  sagd_error_clear();

  /* Non-finite gradient: rejected naming the index; θ and the state stay as they were. */
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, 4, NULL, &o));
  double theta[4] = {1, 2, 3, 4};
  double g[4] = {0.1, 0.2, 0.3, NAN};
  CHECK(sagd_optimizer_step(o, 0.1, g, theta) == SAGD_ERR_NUMERIC);
  CHECK(msg_has_("component 3"));
  sagd_error_clear();
  g[3] = 0.4;
  g[1] = -INFINITY;
  CHECK(sagd_optimizer_step(o, 0.1, g, theta) == SAGD_ERR_NUMERIC);
  CHECK(msg_has_("component 1"));
  sagd_error_clear();
  CHECK(theta[0] == 1 && theta[1] == 2 && theta[2] == 3 && theta[3] == 4);
  double *st;
  size_t len;
  sagd_optimizer_state(o, &st, &len);
  CHECK(len == 9);
  for (size_t k = 0; k < len; k++) {
    CHECK(st[k] == 0.0);
  }
  sagd_optimizer_destroy(&o);
}

/* Adam's vector loop (AVX-512 where the CPU has it) and its scalar loop give the same bits:
 * 1003 components (a vector tail), 50 steps of gradients spanning many binades. */
static void test_adam_vector_scalar_(void) {
  const size_t p = 1003;
  double *ta = calloc(p, sizeof(double)), *tb = calloc(p, sizeof(double));
  double *g = calloc(p, sizeof(double));
  sagd_optimizer a = NULL, b = NULL;
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, p, NULL, &a));
  REQUIRE_OK(sagd_optimizer_create(&sagd_optimizer_adam, p, NULL, &b));
  unsigned long st = 12345;
  int same = 1;
  for (int k = 0; k < 50; k++) {
    for (size_t i = 0; i < p; i++) {
      st = st * 6364136223846793005UL + 1442695040888963407UL;
      const double u = (double)(st >> 11) / 9007199254740992.0;
      g[i] = (u - 0.5) * pow(10.0, (double)((int)(i % 13) - 6));
    }
    unsetenv("SAGD_SIMD");
    REQUIRE_OK(sagd_optimizer_step(a, 0.01, g, ta));
    setenv("SAGD_SIMD", "none", 1);
    REQUIRE_OK(sagd_optimizer_step(b, 0.01, g, tb));
    same &= memcmp(ta, tb, p * sizeof(double)) == 0;
  }
  unsetenv("SAGD_SIMD");
  CHECK(same);
  CHECK(ta[0] != 0.0);
  sagd_optimizer_destroy(&a);
  sagd_optimizer_destroy(&b);
  free(ta);
  free(tb);
  free(g);
}

int main(void) {
  test_adam_vector_scalar_();
  test_lookup_();
  test_sgd_();
  test_projection_();
  test_adam_closed_form_();
  test_adam_quadratic_();
  test_average_();
  test_validation_();
  return TEST_EXIT();
}
