/**
 * @file schedule.h
 * @brief Step-size / chain-length / learning-rate schedules (index t from 1).
 *
 *   constant : δ_t = c1,            K_t = k0,                  α_t = alpha0
 *   thm3     : δ_t = c1/√t,         K_t = ceil(c2·√t),         α_t = alpha0/√t   (convex)
 *   thm4     : δ_t = c1·t^-c,       K_t = ceil(c2·t^(2c)),     α_t = alpha0/t    (non-convex)
 *   em       : δ_t = c1/√t,         K_t = t + k0,              α_t = alpha0      (paper Fig. 1)
 *   power    : δ_t = c1·t^-c,       K_t = k0 + ceil(c2·t^kpow), α_t = alpha0·t^-apow (user form)
 */
#ifndef SAGD_SCHEDULE_H
#define SAGD_SCHEDULE_H

#include <stdint.h>

#include "sagd/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double c1;     /**< step-size scale (> 0) */
  double c2;     /**< chain-length scale (> 0 where used) */
  double c;      /**< exponent of thm4 / power (>= 0) */
  double k0;     /**< chain-length offset (>= 0; >= 1 for constant) */
  double kpow;   /**< power: chain-length exponent */
  double alpha0; /**< learning-rate scale (> 0) */
  double apow;   /**< power: learning-rate exponent (>= 0) */
} sagd_schedule_params;

typedef struct sagd_schedule_type_s {
  const char *name;
  double (*delta)(const sagd_schedule_params *p, uint64_t t);
  uint64_t (*length)(const sagd_schedule_params *p, uint64_t t);
  double (*alpha)(const sagd_schedule_params *p, uint64_t t);
  /** The config keys of the parameters it uses ([sagd] delta = c1, K0 = k0, c2, c, kpow,
   *  alpha = alpha0, apow); read only when it is chosen (sagd_schedule_from_config). */
  sagd_config_type_keys keys;
} sagd_schedule_type;

/** A schedule is a type plus its parameters (a small value; no create/destroy needed). */
typedef struct {
  const sagd_schedule_type *type;
  sagd_schedule_params par;
} sagd_schedule;

extern const sagd_schedule_type sagd_schedule_constant, sagd_schedule_thm3,
    sagd_schedule_thm4, sagd_schedule_em, sagd_schedule_power;

/** Find by name; NULL if unknown. */
const sagd_schedule_type *sagd_schedule_type_find(const char *name);
/** The registry (registry.h): the types, NULL-terminated. */
const sagd_schedule_type *const *sagd_schedule_type_list(void);

/** The parameters `type` uses, read from their keys in cfg (type->keys); the others 0. */
void sagd_schedule_from_config(sagd_config cfg, const sagd_schedule_type *type,
                               sagd_schedule_params *par);

/** Validate the parameters for the type (messages name the bad parameter); 0 if fine. */
int sagd_schedule_check(const sagd_schedule *s);

/** δ_t, K_t (>= 1) and α_t for t >= 1. */
double sagd_schedule_delta(const sagd_schedule *s, uint64_t t);
uint64_t sagd_schedule_length(const sagd_schedule *s, uint64_t t);
double sagd_schedule_alpha(const sagd_schedule *s, uint64_t t);

#ifdef __cplusplus
}
#endif
#endif
