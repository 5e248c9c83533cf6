/**
 * @file ald.h
 * @brief Amortized Langevin dynamics (ALD / SGALD, "Langevin autoencoders"): Langevin
 *        dynamics on the parameters Φ of an inference map z_i = Φ g_i instead of one chain
 *        per data point.
 *
 * For the targets π_i(z) ∝ exp(-V_i(z)) of a sagd_model (one per data point, V_i = f(θ;
 * x_i, ·)) and fixed features g_i ∈ R^d (rows of G, e.g. random Fourier features of x_i), Φ
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
 * about 2 / (λ_max(K) · the targets' curvature), and the directions with small eigenvalues of
 * K mix slowly. Smooth or correlated features (a common mean, a small feature scale) make
 * λ_max grow with n and most eigenvalues tiny; nearly orthogonal ones (sagd_ald_features with
 * a large scale, d a few times n) keep K's spectrum within [(1 - sqrt(n/d))², (1 +
 * sqrt(n/d))²].
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
 *  sum, preconditioned Langevin move of Φ. */
int sagd_ald_step(sagd_ald a, const double *theta, uint64_t t, uint64_t k);

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

/** Random Fourier features for ALD (Rahimi & Recht): g_k(x) = sqrt(2/d) cos(scale ω_kᵀ x /
 *  sqrt(p) + b_k), ω_k ~ N(0, I_p) and b_k ~ U(0, 2π) drawn at (SAGD_STREAM_ALD, id = 2,
 *  t = k, 0 and 1): g_iᵀ g_j ≈ exp(-scale² |x_i - x_j|² / (2p)), so a scale far above
 *  1 / (the points' spacing) makes the rows of G nearly orthogonal (G Gᵀ ≈ I for d >> n: each
 *  point then moves almost on its own, and the stable step no longer shrinks with n); a small
 *  scale gives smooth maps and a badly conditioned G Gᵀ. For m points x [m × p] into
 *  G [m × d]; the same (key, p, d, scale) give the same features. Not collective. */
int sagd_ald_features(sagd_rng_key key, const double *x, size_t m, size_t p, size_t d, double scale,
                      double *G);

#ifdef __cplusplus
}
#endif
#endif
