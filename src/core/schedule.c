/* Step-size / chain-length / learning-rate schedules (see include/sagd/schedule.h).
 *
 * Chain lengths K_t are ceilings of real expressions such as c2·√t. Floating error can put
 * an expression that is mathematically an integer just above it (0.3·√100 evaluates to
 * 3.0000000000000004), and a plain ceil would then add one step. ceil_tol_() therefore
 * snaps a value lying within a relative 1e-12 of an integer onto that integer before
 * taking the ceiling; 1e-12 is far above the few-ulp error of these expressions and far
 * below any deliberate fractional part. K_t is always at least 1. */
#include "sagd/registry.h"
#include "sagd/schedule.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "sagd/error.h"

#define SCHED_SNAP_RTOL 1e-12
/* Lengths are clamped here (far beyond anything runnable) so the cast to uint64 is defined. */
#define SCHED_LENGTH_MAX 4.0e18

static double ceil_tol_(double x) {
  double r = nearbyint(x);
  if (fabs(x - r) <= SCHED_SNAP_RTOL * fabs(r)) {
    return r;
  }
  return ceil(x);
}

static uint64_t length_from_(double k) {
  if (!(k >= 1.0)) { /* also catches NaN */
    return 1;
  }
  if (k > SCHED_LENGTH_MAX) {
    return (uint64_t)SCHED_LENGTH_MAX;
  }
  return (uint64_t)k;
}

/* --- constant --------------------------------------------------------------------------- */
static double delta_constant_(const sagd_schedule_params *p, uint64_t t) {
  (void)t;
  return p->c1;
}
static uint64_t length_constant_(const sagd_schedule_params *p, uint64_t t) {
  (void)t;
  return length_from_(ceil_tol_(p->k0));
}
static double alpha_constant_(const sagd_schedule_params *p, uint64_t t) {
  (void)t;
  return p->alpha0;
}

/* --- thm3 (convex) ------------------------------------------------------------------------ */
static double delta_thm3_(const sagd_schedule_params *p, uint64_t t) {
  return p->c1 / sqrt((double)t);
}
static uint64_t length_thm3_(const sagd_schedule_params *p, uint64_t t) {
  return length_from_(ceil_tol_(p->c2 * sqrt((double)t)));
}
static double alpha_thm3_(const sagd_schedule_params *p, uint64_t t) {
  return p->alpha0 / sqrt((double)t);
}

/* --- thm4 (non-convex) -------------------------------------------------------------------- */
static double delta_thm4_(const sagd_schedule_params *p, uint64_t t) {
  return p->c1 * pow((double)t, -p->c);
}
static uint64_t length_thm4_(const sagd_schedule_params *p, uint64_t t) {
  return length_from_(ceil_tol_(p->c2 * pow((double)t, 2.0 * p->c)));
}
static double alpha_thm4_(const sagd_schedule_params *p, uint64_t t) {
  return p->alpha0 / (double)t;
}

/* --- em (paper Fig. 1) --------------------------------------------------------------------- */
static uint64_t length_em_(const sagd_schedule_params *p, uint64_t t) {
  return length_from_((double)t + ceil_tol_(p->k0));
}

/* --- power (user form) --------------------------------------------------------------------- */
static uint64_t length_power_(const sagd_schedule_params *p, uint64_t t) {
  return length_from_(ceil_tol_(p->k0) + ceil_tol_(p->c2 * pow((double)t, p->kpow)));
}
static double alpha_power_(const sagd_schedule_params *p, uint64_t t) {
  return p->alpha0 * pow((double)t, -p->apow);
}

/* --- the parameters' config keys ([sagd]), each tied to the field it sets ---------------- */
static const sagd_config_key key_delta_ = {
    "sagd", "delta", SAGD_CFG_REAL, "0.1", SAGD_CFG_POSITIVE,
    "C1: step-size scale delta (deconv_vae, mnist_vae: the Langevin and leapfrog step size)", 0};
static const sagd_config_key key_k0_ = {
    "sagd", "K0", SAGD_CFG_INT, "20", SAGD_CFG_NONNEGATIVE,
    "chain-length offset: constant K_t = K0 (>= 1), em K_t = t + K0, power K0 + ...; "
    "deconv_vae, mnist_vae: Langevin steps (sagd) and HMC transitions (hmc) per update", 0};
static const sagd_config_key key_c2_ = {"sagd", "c2", SAGD_CFG_REAL, "1", SAGD_CFG_POSITIVE,
                                        "C2: chain-length scale", 0};
static const sagd_config_key key_c_ = {"sagd", "c", SAGD_CFG_REAL, "0.25", SAGD_CFG_NONNEGATIVE,
                                       "step-size exponent c (chain length t^(2c) for thm4)", 0};
static const sagd_config_key key_kpow_ = {"sagd", "kpow", SAGD_CFG_REAL, "0.5",
                                          SAGD_CFG_NONNEGATIVE, "chain-length exponent", 0};
static const sagd_config_key key_alpha_ = {"sagd", "alpha", SAGD_CFG_REAL, "0.2",
                                           SAGD_CFG_POSITIVE, "alpha0: learning-rate scale", 0};
static const sagd_config_key key_apow_ = {"sagd", "apow", SAGD_CFG_REAL, "0",
                                          SAGD_CFG_NONNEGATIVE, "learning-rate exponent", 0};

static const struct {
  const sagd_config_key *key;
  size_t offset;
} par_of_[] = {{&key_delta_, offsetof(sagd_schedule_params, c1)},
               {&key_k0_, offsetof(sagd_schedule_params, k0)},
               {&key_c2_, offsetof(sagd_schedule_params, c2)},
               {&key_c_, offsetof(sagd_schedule_params, c)},
               {&key_kpow_, offsetof(sagd_schedule_params, kpow)},
               {&key_alpha_, offsetof(sagd_schedule_params, alpha0)},
               {&key_apow_, offsetof(sagd_schedule_params, apow)}};

static const sagd_config_key *const constant_keys_[] = {&key_delta_, &key_k0_, &key_alpha_,
                                                        NULL};
static const sagd_config_key *const thm3_keys_[] = {&key_delta_, &key_c2_, &key_alpha_, NULL};
static const sagd_config_key *const thm4_keys_[] = {&key_delta_, &key_c2_, &key_c_, &key_alpha_,
                                                    NULL};
static const sagd_config_key *const power_keys_[] = {
    &key_delta_, &key_c_, &key_k0_, &key_c2_, &key_kpow_, &key_alpha_, &key_apow_, NULL};

const sagd_schedule_type sagd_schedule_constant = {.name = "constant",
                                                   .delta = delta_constant_,
                                                   .length = length_constant_,
                                                   .alpha = alpha_constant_,
                                                   .keys = constant_keys_};
const sagd_schedule_type sagd_schedule_thm3 = {.name = "thm3",
                                               .delta = delta_thm3_,
                                               .length = length_thm3_,
                                               .alpha = alpha_thm3_,
                                               .keys = thm3_keys_};
const sagd_schedule_type sagd_schedule_thm4 = {.name = "thm4",
                                               .delta = delta_thm4_,
                                               .length = length_thm4_,
                                               .alpha = alpha_thm4_,
                                               .keys = thm4_keys_};
const sagd_schedule_type sagd_schedule_em = {.name = "em",
                                             .delta = delta_thm3_,
                                             .length = length_em_,
                                             .alpha = alpha_constant_,
                                             .keys = constant_keys_};
const sagd_schedule_type sagd_schedule_power = {.name = "power",
                                                .delta = delta_thm4_,
                                                .length = length_power_,
                                                .alpha = alpha_power_,
                                                .keys = power_keys_};

void sagd_schedule_from_config(sagd_config cfg, const sagd_schedule_type *type,
                               sagd_schedule_params *par) {
  memset(par, 0, sizeof *par);
  for (size_t i = 0; type->keys != NULL && type->keys[i] != NULL; i++) {
    const sagd_config_key *k = type->keys[i];
    for (size_t j = 0; j < sizeof par_of_ / sizeof par_of_[0]; j++) {
      if (par_of_[j].key == k) {
        *(double *)((char *)par + par_of_[j].offset) =
            k->type == SAGD_CFG_INT ? (double)sagd_config_int(cfg, k->section, k->key)
                                    : sagd_config_real(cfg, k->section, k->key);
      }
    }
  }
}

static const sagd_schedule_type *const schedule_types_[] = {
    &sagd_schedule_constant, &sagd_schedule_thm3, &sagd_schedule_thm4, &sagd_schedule_em,
    &sagd_schedule_power, NULL};

const sagd_schedule_type *const *sagd_schedule_type_list(void) { return schedule_types_; }

const sagd_schedule_type *sagd_schedule_type_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(schedule_types_), name);
}

/* A parameter must be finite and satisfy `cond`; the message names it and its value. */
#define CHECK_PAR_(s, field, cond, expect)                                                 \
  SAGD_CHECK(isfinite((s)->par.field) && (cond), SAGD_ERR_CONFIG,                          \
             "schedule '%s': parameter %s = %g, expected %s", (s)->type->name, #field,      \
             (s)->par.field, (expect))

int sagd_schedule_check(const sagd_schedule *s) {
  SAGD_CHECK(s != NULL && s->type != NULL, SAGD_ERR_ARG, "schedule has no type");
  const sagd_schedule_type *t = s->type;
  const sagd_schedule_params *p = &s->par;
  CHECK_PAR_(s, c1, p->c1 > 0, "c1 > 0");
  CHECK_PAR_(s, alpha0, p->alpha0 > 0, "alpha0 > 0");
  if (t == &sagd_schedule_constant) {
    CHECK_PAR_(s, k0, p->k0 >= 1, "k0 >= 1 (the constant chain length)");
  } else if (t == &sagd_schedule_thm3) {
    CHECK_PAR_(s, c2, p->c2 > 0, "c2 > 0");
  } else if (t == &sagd_schedule_thm4) {
    CHECK_PAR_(s, c2, p->c2 > 0, "c2 > 0");
    CHECK_PAR_(s, c, p->c >= 0, "c >= 0");
  } else if (t == &sagd_schedule_em) {
    CHECK_PAR_(s, k0, p->k0 >= 0, "k0 >= 0");
  } else if (t == &sagd_schedule_power) {
    CHECK_PAR_(s, c, p->c >= 0, "c >= 0");
    CHECK_PAR_(s, c2, p->c2 >= 0, "c2 >= 0");
    CHECK_PAR_(s, k0, p->k0 >= 0, "k0 >= 0");
    CHECK_PAR_(s, kpow, 1, "a finite chain-length exponent");
    CHECK_PAR_(s, apow, p->apow >= 0, "apow >= 0");
  } else {
    SAGD_CHECK(t->name != NULL && t->delta != NULL && t->length != NULL && t->alpha != NULL,
               SAGD_ERR_ARG, "schedule type '%s' is incomplete",
               t->name != NULL ? t->name : "(unnamed)");
  }
  return SAGD_OK;
}

double sagd_schedule_delta(const sagd_schedule *s, uint64_t t) {
  return s->type->delta(&s->par, t);
}

uint64_t sagd_schedule_length(const sagd_schedule *s, uint64_t t) {
  uint64_t k = s->type->length(&s->par, t);
  return k >= 1 ? k : 1;
}

double sagd_schedule_alpha(const sagd_schedule *s, uint64_t t) {
  return s->type->alpha(&s->par, t);
}
