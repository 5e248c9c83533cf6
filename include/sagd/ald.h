/**
 * @file ald.h
 * @brief Amortized Langevin dynamics (ALD / SGALD, "Langevin autoencoders"): Langevin
 *        dynamics on the parameters Φ of an inference map z_i = Φ g_i instead of one chain
 *        per data point.
 *
 * For the targets π_i(z) ∝ exp(-V_i(z)) of a sagd_model (one per data point, V_i = f(θ;
 * x_i, ·)) and fixed features g_i ∈ R^d (rows of G, e.g. a frozen random network of x_i), Φ
 * (r × d) follows the Langevin dynamics of U(Φ) = Σ_i V_i(Φ g_i):
 *   g = (n / |B|) Σ_{i∈B} ∇V_i(Φ g_i) g_iᵀ       (B: the step's minibatch; all points if M = 1)
 *   v ← β v + (1 - β) g²,  P = 1 / (ε + √v)       (RMSProp preconditioner; β = 0: P = 1)
 *   Φ ← Φ - η_s P ⊙ g + sqrt(2 η_s P) ⊙ ξ,        η_s = η (1 + s / decay)^(-1/2) after s
 *                                                  steps (decay 0: constant), ξ ~ N(0, I)
 * When G [n × d] has rank n, the law of (z_1, .., z_n) under exp(-U) is Π_i π_i (the
 * directions of Φ orthogonal to G's rows carry no potential): the z_i = Φ g_i along the run
 * are posterior samples, all points from one Φ (exact as η → 0 with full batch and β = 0;
 * preconditioning and minibatches add the usual SGLD biases).
 *
 * Parallel shape: each rank holds its shard's rows of G; Φ and v are replicated. Every step
 * sums the blocks' gradients exactly (reduce.h: rank- and order-independent), and the noise ξ
 * is drawn at (SAGD_STREAM_ALD, id = 0, t, k), so Φ is bit-identical on any number of ranks.
 * Minibatches: the parts of sagd_minibatch_part (vae.h) of update t.
 *
 * Step size: the z_i move as Langevin dynamics preconditioned by K = G Gᵀ, so η must be below
 * about 2 / (λ_max(K) · the targets' curvature). Features with a common mean make λ_max grow
 * with n (a rank-one part n |mean g|²); RMSProp (β > 0) adapts to it.
 */
#ifndef SAGD_ALD_H
#define SAGD_ALD_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "sagd/model.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t block;      /**< data points per reduction block (>= 1) */
  size_t batches;    /**< M, minibatches per epoch (1 = full batch; <= block) */
  double step;       /**< η > 0 */
  double decay;      /**< η_t = η (1 + t/decay)^(-1/2); 0: constant (>= 0) */
  double rms_beta;   /**< β in [0, 1): RMSProp preconditioning; 0: none */
  double rms_eps;    /**< ε > 0 */
  double init_scale; /**< Φ_0 entries N(0, init_scale²) at (SAGD_STREAM_ALD, 1, 0, 0) (>= 0) */
  sagd_rng_key key;
} sagd_ald_options;

typedef struct sagd_ald_s *sagd_ald;

/** Over a model's shard [i_begin, i_end) (sagd_shard_range(n, o->block) of comm) with its
 *  features G_local [nloc × d] (copied). The model is borrowed. Not collective. */
int sagd_ald_create(MPI_Comm comm, sagd_model model, size_t d, const double *G_local,
                    const sagd_ald_options *o, sagd_ald *out);
void sagd_ald_destroy(sagd_ald *a);

/** **Collective.** Step k of update t (t >= 1) at θ: the update's minibatch, exact gradient
 *  sum, preconditioned Langevin move of Φ. *mean_V (may be NULL): the mean of V_i(Φ g_i) over
 *  the step's points, before the move. */
int sagd_ald_step(sagd_ald a, const double *theta, uint64_t t, uint64_t k, double *mean_V);

/** Φ back to its initial draw, v = 0, the step count to 0. Not collective. */
void sagd_ald_reset(sagd_ald a);

/** z [m × r] = the map at the local points [i0, i0 + m) (inside the shard). Not collective. */
int sagd_ald_latents(sagd_ald a, size_t i0, size_t m, double *z);
/** The same for another map phi (r × d), e.g. a stored earlier Φ. */
int sagd_ald_latents_at(sagd_ald a, const double *phi, size_t i0, size_t m, double *z);

/** Φ (r × d, row-major), the RMSProp state v (r × d) and the step count: writable
 *  (checkpoint restore). */
void sagd_ald_state(sagd_ald a, double **phi, double **v, size_t *len, uint64_t **steps);
/** r · d, the length of Φ. */
size_t sagd_ald_dim(sagd_ald a);

/** Features for ALD: g(x) = tanh(A x + b) / sqrt(d) (A ~ N(0, 1/p), b ~ N(0, 1) drawn at
 *  (SAGD_STREAM_ALD, id = 2, t = feature, 0): a frozen random network), for m points x [m × p] into
 *  G [m × d]. The same (key, p, d) give the same network. Not collective. */
int sagd_ald_features(sagd_rng_key key, const double *x, size_t m, size_t p, size_t d, double *G);

#ifdef __cplusplus
}
#endif
#endif
