/* Optimizers on flat parameter vectors: projected SGD, Adam, and the running average
 * (see include/sagd/optimizer.h).
 *
 * hyper[] = {beta1, beta2, eps}. Adam's flat state is [m (p), v (p), t (1)]: the step
 * counter is stored as a double (exact up to 2^53 steps) so a checkpoint of the state
 * vector alone resumes the bias correction exactly. */
#include "sagd/optimizer.h"
#include "sagd/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "sagd/error.h"

#define ADAM_BETA1_DEFAULT 0.9
#define ADAM_BETA2_DEFAULT 0.999
#define ADAM_EPS_DEFAULT 1e-8

struct sagd_optimizer_s {
  const sagd_optimizer_type *type;
  size_t p;
  double hyper[3];      /* beta1, beta2, eps */
  double *lower, *upper; /* length p each; ±inf where unbounded */
  int bounded;           /* some bound is finite (else projecting is the identity) */
  double *state;
  size_t state_len;
};

/* --- sgd ---------------------------------------------------------------------------------- */
static size_t state_size_sgd_(size_t p) {
  (void)p;
  return 0;
}

static void step_sgd_(const double *hyper, size_t p, double *state, double alpha,
                      const double *g, double *theta) {
  (void)hyper;
  (void)state;
  for (size_t i = 0; i < p; i++) {
    theta[i] -= alpha * g[i];
  }
}

/* --- adam --------------------------------------------------------------------------------- */
static size_t state_size_adam_(size_t p) { return 2 * p + 1; }

/* One Adam update of components [i0, i1), the arithmetic written out in the order the
 * scalar and vector loops both follow (no contraction to FMA: C11 mode), so both give the
 * same bits. */
static void adam_scalar_(size_t i0, size_t i1, double b1, double b2, double eps, double bc1,
                         double bc2, double alpha, double *m, double *v, const double *g,
                         double *theta) {
  const double c1 = 1.0 - b1, c2 = 1.0 - b2;
  for (size_t i = i0; i < i1; i++) {
    m[i] = b1 * m[i] + c1 * g[i];
    v[i] = b2 * v[i] + c2 * g[i] * g[i];
    const double mhat = m[i] / bc1, vhat = v[i] / bc2;
    theta[i] -= alpha * mhat / (sqrt(vhat) + eps);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static size_t adam_avx512_(size_t p, double b1, double b2,
                                                              double eps, double bc1,
                                                              double bc2, double alpha,
                                                              double *m, double *v,
                                                              const double *g, double *theta) {
  const __m512d B1 = _mm512_set1_pd(b1), B2 = _mm512_set1_pd(b2), C1 = _mm512_set1_pd(1.0 - b1),
                C2 = _mm512_set1_pd(1.0 - b2), BC1 = _mm512_set1_pd(bc1),
                BC2 = _mm512_set1_pd(bc2), A = _mm512_set1_pd(alpha), E = _mm512_set1_pd(eps);
  const size_t p8 = p & ~(size_t)7;
  for (size_t i = 0; i < p8; i += 8) {
    const __m512d gi = _mm512_loadu_pd(g + i);
    const __m512d mi = _mm512_add_pd(_mm512_mul_pd(B1, _mm512_loadu_pd(m + i)),
                                     _mm512_mul_pd(C1, gi));
    const __m512d vi = _mm512_add_pd(_mm512_mul_pd(B2, _mm512_loadu_pd(v + i)),
                                     _mm512_mul_pd(_mm512_mul_pd(C2, gi), gi));
    _mm512_storeu_pd(m + i, mi);
    _mm512_storeu_pd(v + i, vi);
    const __m512d mhat = _mm512_div_pd(mi, BC1), vhat = _mm512_div_pd(vi, BC2);
    const __m512d step =
        _mm512_div_pd(_mm512_mul_pd(A, mhat), _mm512_add_pd(_mm512_sqrt_pd(vhat), E));
    _mm512_storeu_pd(theta + i, _mm512_sub_pd(_mm512_loadu_pd(theta + i), step));
  }
  return p8;
}
#endif

static void step_adam_(const double *hyper, size_t p, double *state, double alpha,
                       const double *g, double *theta) {
  const double b1 = hyper[0], b2 = hyper[1], eps = hyper[2];
  double *m = state, *v = state + p;
  double t = state[2 * p] + 1.0;
  state[2 * p] = t;
  const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
  size_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (sagd_simd() == SAGD_SIMD_AVX512) {
    done = adam_avx512_(p, b1, b2, eps, bc1, bc2, alpha, m, v, g, theta);
  }
#endif
  adam_scalar_(done, p, b1, b2, eps, bc1, bc2, alpha, m, v, g, theta);
}

static const sagd_config_key key_beta1_ = {"sagd", "beta1", SAGD_CFG_REAL, "0.9",
                                           SAGD_CFG_POSITIVE, "adam beta1 (< 1)", 0};
static const sagd_config_key key_beta2_ = {"sagd", "beta2", SAGD_CFG_REAL, "0.999",
                                           SAGD_CFG_POSITIVE, "adam beta2 (< 1)", 0};
static const sagd_config_key *const adam_keys_[] = {&key_beta1_, &key_beta2_, NULL};

const sagd_optimizer_type sagd_optimizer_sgd = {
    .name = "sgd", .state_size = state_size_sgd_, .step = step_sgd_, .keys = NULL};
const sagd_optimizer_type sagd_optimizer_adam = {
    .name = "adam", .state_size = state_size_adam_, .step = step_adam_, .keys = adam_keys_};

static const sagd_optimizer_type *const optimizer_types_[] = {&sagd_optimizer_sgd,
                                                              &sagd_optimizer_adam, NULL};

const sagd_optimizer_type *const *sagd_optimizer_type_list(void) { return optimizer_types_; }

const sagd_optimizer_type *sagd_optimizer_type_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(optimizer_types_), name);
}

static int create_body_(sagd_optimizer o, const sagd_optimizer_options *opt) {
  const size_t p = o->p;
  const double b1 = (opt != NULL && opt->beta1 != 0) ? opt->beta1 : ADAM_BETA1_DEFAULT;
  const double b2 = (opt != NULL && opt->beta2 != 0) ? opt->beta2 : ADAM_BETA2_DEFAULT;
  const double eps = (opt != NULL && opt->eps != 0) ? opt->eps : ADAM_EPS_DEFAULT;
  SAGD_CHECK(b1 > 0 && b1 < 1, SAGD_ERR_CONFIG, "optimizer '%s': beta1 = %g, expected 0 < beta1 < 1",
             o->type->name, b1);
  SAGD_CHECK(b2 > 0 && b2 < 1, SAGD_ERR_CONFIG, "optimizer '%s': beta2 = %g, expected 0 < beta2 < 1",
             o->type->name, b2);
  SAGD_CHECK(eps > 0 && isfinite(eps), SAGD_ERR_CONFIG,
             "optimizer '%s': eps = %g, expected a finite eps > 0", o->type->name, eps);
  o->hyper[0] = b1;
  o->hyper[1] = b2;
  o->hyper[2] = eps;

  SAGD_CALLOC(o->lower, p, "optimizer lower bounds");
  SAGD_CALLOC(o->upper, p, "optimizer upper bounds");
  for (size_t i = 0; i < p; i++) {
    o->lower[i] = (opt != NULL && opt->lower != NULL) ? opt->lower[i] : -INFINITY;
    o->upper[i] = (opt != NULL && opt->upper != NULL) ? opt->upper[i] : INFINITY;
    SAGD_CHECK(!isnan(o->lower[i]) && !isnan(o->upper[i]) && o->lower[i] <= o->upper[i],
               SAGD_ERR_CONFIG,
               "optimizer box: coordinate %zu has lower = %g > upper = %g (expected "
               "lower <= upper, no NaN)",
               i, o->lower[i], o->upper[i]);
    o->bounded |= isfinite(o->lower[i]) || isfinite(o->upper[i]);
  }
  o->state_len = o->type->state_size(p);
  SAGD_CALLOC(o->state, o->state_len, "optimizer state");
  return SAGD_OK;
}

int sagd_optimizer_create(const sagd_optimizer_type *type, size_t p,
                          const sagd_optimizer_options *opt, sagd_optimizer *o) {
  SAGD_CHECK(o != NULL, SAGD_ERR_ARG, "optimizer output handle is NULL");
  *o = NULL;
  SAGD_CHECK(type != NULL && type->state_size != NULL && type->step != NULL, SAGD_ERR_ARG,
             "optimizer type is missing or incomplete");
  SAGD_CHECK(p >= 1, SAGD_ERR_ARG, "optimizer '%s': parameter length p = %zu, expected >= 1",
             type->name, p);
  sagd_optimizer n = calloc(1, sizeof(*n));
  SAGD_CHECK(n != NULL, SAGD_ERR_MEM, "cannot allocate optimizer '%s'", type->name);
  n->type = type;
  n->p = p;
  int err = create_body_(n, opt);
  if (err != 0) {
    sagd_optimizer_destroy(&n);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *o = n;
  return SAGD_OK;
}

void sagd_optimizer_destroy(sagd_optimizer *o) {
  if (o == NULL || *o == NULL) {
    return;
  }
  free((*o)->lower);
  free((*o)->upper);
  free((*o)->state);
  free(*o);
  *o = NULL;
}

int sagd_optimizer_step(sagd_optimizer o, double alpha, const double *g, double *theta) {
  SAGD_CHECK(o != NULL && g != NULL && theta != NULL, SAGD_ERR_ARG,
             "optimizer step: optimizer, gradient and theta must be given");
  SAGD_CHECK(isfinite(alpha), SAGD_ERR_NUMERIC,
             "optimizer '%s': learning rate alpha = %g, expected a finite value",
             o->type->name, alpha);
  for (size_t i = 0; i < o->p; i++) {
    SAGD_CHECK(isfinite(g[i]), SAGD_ERR_NUMERIC,
               "optimizer '%s': gradient component %zu is %g, expected a finite value",
               o->type->name, i, g[i]);
  }
  o->type->step(o->hyper, o->p, o->state, alpha, g, theta);
  sagd_optimizer_project(o, theta);
  return SAGD_OK;
}

void sagd_optimizer_reset(sagd_optimizer o) {
  if (o->state_len > 0) {
    memset(o->state, 0, o->state_len * sizeof(double));
  }
}

void sagd_optimizer_state(sagd_optimizer o, double **state, size_t *len) {
  *state = o->state;
  *len = o->state_len;
}

void sagd_optimizer_project(sagd_optimizer o, double *theta) {
  if (!o->bounded) {
    return;
  }
  for (size_t i = 0; i < o->p; i++) {
    if (theta[i] < o->lower[i]) {
      theta[i] = o->lower[i];
    } else if (theta[i] > o->upper[i]) {
      theta[i] = o->upper[i];
    }
  }
}

/* --- running average ------------------------------------------------------------------------ */
struct sagd_average_s {
  size_t p;
  double *sum;
  unsigned long count;
};

int sagd_average_create(size_t p, sagd_average *a) {
  SAGD_CHECK(a != NULL, SAGD_ERR_ARG, "average output handle is NULL");
  *a = NULL;
  SAGD_CHECK(p >= 1, SAGD_ERR_ARG, "average: parameter length p = %zu, expected >= 1", p);
  sagd_average n = calloc(1, sizeof(*n));
  SAGD_CHECK(n != NULL, SAGD_ERR_MEM, "cannot allocate running average");
  n->p = p;
  n->sum = calloc(p, sizeof(double));
  if (n->sum == NULL) {
    free(n);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu doubles for the running average", p);
  }
  *a = n;
  return SAGD_OK;
}

void sagd_average_destroy(sagd_average *a) {
  if (a == NULL || *a == NULL) {
    return;
  }
  free((*a)->sum);
  free(*a);
  *a = NULL;
}

void sagd_average_reset(sagd_average a) {
  memset(a->sum, 0, a->p * sizeof(double));
  a->count = 0;
}

void sagd_average_add(sagd_average a, const double *theta) {
  for (size_t i = 0; i < a->p; i++) {
    a->sum[i] += theta[i];
  }
  a->count++;
}

void sagd_average_get(sagd_average a, double *out) {
  SAGD_ASSERT(a->count > 0);
  const double n = (double)a->count;
  for (size_t i = 0; i < a->p; i++) {
    out[i] = a->sum[i] / n;
  }
}

double *sagd_average_sum(sagd_average a) { return a->sum; }

unsigned long *sagd_average_count(sagd_average a) { return &a->count; }
