/**
 * @file sampler.h
 * @brief Langevin samplers (underdamped, symplectic, overdamped) on blocks of chains;
 *        pluggable ops table.
 *
 * Underdamped (DESIGN.md §1, the paper's scheme), friction γ:
 *   ξ' = ξ + δ ρ
 *   ρ' = (1 - γδ) ρ - δ ∇V(ξ) + sqrt(2γδ) η,   η ~ N(0, I)
 * Symplectic: the same kick, then the drift with the new momentum (symplectic Euler):
 *   ρ' = (1 - γδ) ρ - δ ∇V(ξ) + sqrt(2γδ) η,   ξ' = ξ + δ ρ'
 *   Same cost and gradient; the stationary law of ξ is O(δ²) from the target on Gaussian
 *   targets, against O(δ) for the underdamped scheme.
 * Overdamped: ξ' = ξ - δ ∇V(ξ) + sqrt(2δ) η  (ρ is ignored).
 * η for chain g at (t, k) is drawn from the counter-based RNG (stream given by the caller),
 * so the trajectory of a chain does not depend on the block or rank that runs it.
 */
#ifndef SAGD_SAMPLER_H
#define SAGD_SAMPLER_H

#include "sagd/config.h"
#include "sagd/model.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_sampler_s *sagd_sampler;

typedef struct sagd_sampler_type_s {
  const char *name;
  int momentum; /**< 1: the scheme carries momenta ρ and needs a friction γ > 0 */
  /** One step for the block's nb*C chains given ∇V(ξ) of each chain in grad[nb*C*r];
   *  xi, rho updated in place. The noise for chain g at (t, k) comes from the sampler's
   *  counter-based generator. */
  void (*update)(sagd_sampler s, const double *grad, size_t i0, size_t nb, double delta,
                 uint32_t stream, uint64_t t, uint64_t k, double *xi, double *rho);
  /** The config keys it reads when chosen (config.h): the momentum schemes' sagd.gamma. */
  sagd_config_type_keys keys;
} sagd_sampler_type;

extern const sagd_sampler_type sagd_sampler_underdamped;
extern const sagd_sampler_type sagd_sampler_symplectic;
extern const sagd_sampler_type sagd_sampler_overdamped;

/** Find a sampler type by name ("underdamped", "symplectic", "overdamped"); NULL if
 *  unknown. */
const sagd_sampler_type *sagd_sampler_type_find(const char *name);
/** The registry (registry.h): the types, NULL-terminated. */
const sagd_sampler_type *const *sagd_sampler_type_list(void);

/** Create a sampler for `model` with C chains per data point, able to step blocks of up to
 *  max_block data points. gamma > 0 is the friction (schemes with momentum only). The model is
 *  borrowed (it must outlive the sampler); all scratch is allocated here, none in step. */
int sagd_sampler_create(const sagd_sampler_type *type, sagd_model model, size_t C,
                        size_t max_block, double gamma, sagd_rng_key key, sagd_sampler *s);
void sagd_sampler_destroy(sagd_sampler *s);

/** Advance the chains of data points [i0, i0+nb) by one step of size delta > 0, at
 *  iteration t and step k. xi/rho point at the block's first chain. Not collective. */
int sagd_sampler_step(sagd_sampler s, const double *theta, size_t i0, size_t nb, double delta,
                      uint32_t stream, uint64_t t, uint64_t k, double *xi, double *rho);

/** The same step, with ∇V(ξ) of the block's nb*C chains given in grad[nb*C*r] (e.g. from a
 *  model's fused potential_grad_theta) instead of evaluated by the model: the update runs
 *  the very arithmetic of sagd_sampler_step, so given the gradient the model's potential
 *  returns it yields bit-identical chains. SAGD_ERR_ARG if the sampler type has no such
 *  form (see sagd_sampler_has_grad_step). Not collective. */
int sagd_sampler_step_with_grad(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                                double delta, uint32_t stream, uint64_t t, uint64_t k,
                                double *xi, double *rho);
/** 1 if sagd_sampler_step_with_grad works for this sampler (every built-in type). */
int sagd_sampler_has_grad_step(sagd_sampler s);

#ifdef __cplusplus
}
#endif
#endif
