/**
 * @file hmc.h
 * @brief Hamiltonian Monte Carlo on blocks of chains of a batched model (model.h).
 *
 * One transition of chain q (target π ∝ exp(-V), V from the model's potential op):
 *   ρ ~ N(0, I);  L leapfrog steps of size δ:
 *     ρ ← ρ - (δ/2)∇V(ξ);  ξ ← ξ + δρ;  ρ ← ρ - (δ/2)∇V(ξ)
 *   accept the end point with probability min(1, exp(H(ξ,ρ) - H(ξ',ρ'))), H = V + ½‖ρ‖².
 * Every chain carries (ξ, V(ξ), ∇V(ξ)) between transitions, so a transition costs exactly L
 * batched potential evaluations (one per leapfrog step, for the whole block at once).
 * Randomness is counter-based and keyed by the global chain id g = i*C + c: momenta on
 * SAGD_STREAM_MOMENTUM at (g, t, k), accept uniforms on SAGD_STREAM_ACCEPT at (g, t, k), so
 * a chain's path never depends on the block or rank that runs it.
 */
#ifndef SAGD_HMC_H
#define SAGD_HMC_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/model.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_hmc_s *sagd_hmc;

/** Create an HMC kernel for `model` (borrowed: it must outlive the kernel) with C chains per
 *  data point, for blocks of up to max_block data points. All scratch is allocated here. */
int sagd_hmc_create(sagd_model model, size_t C, size_t max_block, sagd_rng_key key,
                    sagd_hmc *h);
/** Destroy (accepts NULL; sets *h to NULL). */
void sagd_hmc_destroy(sagd_hmc *h);

/** Evaluate V (nb*C values) and ∇V (nb*C*r) at the block's chain states xi, as the state a
 *  transition starts from. Not collective. */
int sagd_hmc_prepare(sagd_hmc h, const double *theta, size_t i0, size_t nb, const double *xi,
                     double *V, double *grad);

/** One HMC transition (L >= 1 leapfrog steps of size delta > 0) of each chain of data points
 *  [i0, i0+nb): xi, V, grad (as from sagd_hmc_prepare or the previous transition, at the same
 *  theta) are updated in place to the accepted state. *accepted (may be NULL) is increased by
 *  the number of accepted proposals. A proposal whose energy is not finite is rejected.
 *  Not collective. */
int sagd_hmc_step(sagd_hmc h, const double *theta, size_t i0, size_t nb, double delta,
                  size_t L, uint64_t t, uint64_t k, double *xi, double *V, double *grad,
                  size_t *accepted);

#ifdef __cplusplus
}
#endif
#endif
