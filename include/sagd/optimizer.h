/**
 * @file optimizer.h
 * @brief Optimizers on flat parameter vectors: projected SGD, Adam, and the running average.
 *
 *   sgd : θ ← P_Θ(θ - α g)
 *   adam: m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²; θ ← P_Θ(θ - α m̂ / (√v̂ + ε))
 * P_Θ is the projection onto the box [lower, upper] (±inf allowed). All state is a flat
 * double vector (sagd_optimizer_state) so checkpoints never need the optimizer's type.
 */
#ifndef SAGD_OPTIMIZER_H
#define SAGD_OPTIMIZER_H

#include <stddef.h>

#include "sagd/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_optimizer_s *sagd_optimizer;

typedef struct sagd_optimizer_type_s {
  const char *name;
  /** Number of state doubles for p parameters (moments, step counter, ...). */
  size_t (*state_size)(size_t p);
  /** One step: theta updated in place (before projection); state is the flat state. */
  void (*step)(const double *hyper, size_t p, double *state, double alpha, const double *g,
               double *theta);
  /** The config keys it reads when chosen (config.h): adam's sagd.beta1, sagd.beta2. */
  sagd_config_type_keys keys;
} sagd_optimizer_type;

extern const sagd_optimizer_type sagd_optimizer_sgd, sagd_optimizer_adam;
const sagd_optimizer_type *sagd_optimizer_type_find(const char *name);
/** The registry (registry.h): the types, NULL-terminated. */
const sagd_optimizer_type *const *sagd_optimizer_type_list(void);

typedef struct {
  double beta1, beta2, eps; /**< Adam hyper-parameters (defaults 0.9, 0.999, 1e-8) */
  const double *lower;      /**< box Θ lower bounds, length p, or NULL for -inf */
  const double *upper;      /**< box Θ upper bounds, length p, or NULL for +inf */
} sagd_optimizer_options;

/** Create; copies the bounds. Rejects lower > upper naming the coordinate. */
int sagd_optimizer_create(const sagd_optimizer_type *type, size_t p,
                          const sagd_optimizer_options *opt, sagd_optimizer *o);
void sagd_optimizer_destroy(sagd_optimizer *o);
/** θ ← P_Θ(update(θ, α, g)). Rejects a non-finite gradient. */
int sagd_optimizer_step(sagd_optimizer o, double alpha, const double *g, double *theta);
/** Zero the state (moments, counters). */
void sagd_optimizer_reset(sagd_optimizer o);
/** The flat state for checkpointing: *state points into the optimizer, *len doubles. */
void sagd_optimizer_state(sagd_optimizer o, double **state, size_t *len);
/** Project θ onto the box in place. */
void sagd_optimizer_project(sagd_optimizer o, double *theta);

/** Running (Polyak) average θ̂ = (1/T) Σ θ_t. */
typedef struct sagd_average_s *sagd_average;
int sagd_average_create(size_t p, sagd_average *a);
void sagd_average_destroy(sagd_average *a);
void sagd_average_reset(sagd_average a);
/** Add θ_t; after T calls, sagd_average_get gives the mean of them. */
void sagd_average_add(sagd_average a, const double *theta);
/** Copy θ̂ into out (requires at least one add). */
void sagd_average_get(sagd_average a, double *out);
/** Count and the flat sum vector, for checkpointing (restore by writing into them). */
double *sagd_average_sum(sagd_average a);
unsigned long *sagd_average_count(sagd_average a);

#ifdef __cplusplus
}
#endif
#endif
