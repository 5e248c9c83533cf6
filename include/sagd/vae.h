/**
 * @file vae.h
 * @brief VAE pre-training and the fine-tuning methods of the debiased-VAE experiment
 *        (paper Table 1) for the deconvolution model X = h_θ(U) + e (deconv.h).
 *
 * Generator h_θ: R^r → R^p (an MLP, θ its flat parameters); Gaussian encoder
 * q_φ(u | x) = N(μ_φ(x), diag σ²_φ(x)), an MLP R^p → R^{2r} whose outputs are (μ, log σ²).
 * A sagd_vae holds this rank's shard of the data and evaluates, **collectively**, one update's
 * gradient of a method's loss (to be minimised) with respect to θ (and φ where the method
 * trains the encoder):
 *   vae  : -ELBO,  ELBO_i = E_ε[log p(x_i | u)] - KL(q_φ(·|x_i) ‖ N(0, I)),  u = μ + σ ε
 *          (S reparameterised samples, KL in closed form)
 *   iwae : -log (1/k) Σ_s w_s,  w_s = p(x_i, u_s) / q_φ(u_s | x_i)  (the k-sample bound)
 *   hmc  : E[∇_θ f(θ; x_i, u)] over K HMC transitions (L leapfrog steps, Metropolis) from
 *          chains drawn from the encoder at every update; generator only
 *   sagd : the same average over K Langevin steps (∇θ f at the state before each step) of
 *          persistent chains started from the encoder by start(); the target follows θ
 *          (direct MLE); generator only
 *   coupled: the unbiased estimate of E_{p(u|x;θ)}[∇_θ f] of Ruiz, Titsias, Cemgil & Doucet
 *          (UAI 2021): two ISIR chains (S proposals from the encoder, the state one of them)
 *          coupled by common proposals and a maximal coupling of the resampling index, lag L,
 *          meeting at τ; H = (1/(m-k+1)) [Σ_{t=k}^{m} h(X_t) + Σ_{t=k+L}^{τ} v_t
 *          (h(X_t) - h(Y_{t-L}))], v_t = ⌊(t-k)/L⌋ - ⌈max(L, t-m)/L⌉ + 1 (= min(m-k+1, t-k)
 *          for L = 1), with h Rao-Blackwellised (the S weighted
 *          proposals of the step; the step that meets is the last correction: before its
 *          resampling the pair had not met). Chains from the encoder at every update;
 *          generator only (see vae_coupled.c)
 *   ald  : the same average as sagd over the K maps Φ_1..Φ_K of K amortized-Langevin steps
 *          (ald.h: z_i = Φ g(x_i), g random Fourier features of x, Φ persistent across
 *          updates, started by start()); generator only (see vae_ald.c)
 * where f = -log p(x, u; θ) (deconv.h). Every value is a mean over the update's data points.
 *
 * Parallel shape (DESIGN.md §2): the shard is sagd_shard_range(n, block); each update's sums
 * are formed per reduction block in a fixed order and combined exactly (reduce.h), every
 * batched network evaluation is one block's rows, and noise is keyed by global indices, so the
 * results are bit-identical on any number of ranks.
 *
 * Minibatches: with M = batches per epoch, every block is cut into M contiguous parts and
 * update t (1-based) of epoch e = (t-1)/M uses, in every block, the part π_{e,b}((t-1) mod M)
 * where π_{e,b} is a random permutation of the M parts drawn from the counter-based RNG at
 * (SAGD_STREAM_MINIBATCH, id = block, t = e). So an epoch visits every point once, every
 * minibatch is spread evenly over the blocks (and ranks), and all ranks agree without
 * communication. M = 1 is full batch.
 *
 * Noise: ε on SAGD_STREAM_REPARAM at (data index, t, sample); chain initial states from the
 * encoder on SAGD_STREAM_CHAIN_INIT at (chain id, t, 0) (HMC) or (chain id, 0, 0/1) (SAGD's
 * start); Langevin noise on SAGD_STREAM_LANGEVIN at (chain id, t, step).
 */
#ifndef SAGD_VAE_H
#define SAGD_VAE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "sagd/likelihood.h"
#include "sagd/nn.h"
#include "sagd/rng.h"
#include "sagd/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bits of room the pre-rounded sums' grid keeps above the previous update's largest term:
 *  a gradient component may grow 64-fold from one update to the next before its terms take
 *  the exact path; the grid's rounding error is about 2^(6 + h - 62) of the previous largest
 *  term (h = bits of the number of blocks). */
#define SAGD_VAE_PSUM_MARGIN 6

/** The coupled ISIR estimator's settings (method coupled). */
typedef struct {
  size_t S;         /**< proposals per ISIR step, the chain's state included (>= 2); 0: the
                         method is not used (no scratch) */
  uint64_t k, m;    /**< the estimator's first and last averaged step (1 <= k <= m) */
  uint64_t L;       /**< lag between the chains (>= 1) */
  uint64_t tau_max; /**< cap on the meeting time (>= m): a pair that has not met by then
                         stops there (its estimate is then biased) and is counted */
} sagd_vae_coupled_options;

/** The amortized-Langevin method's settings (method ald, see ald.h). */
typedef struct {
  size_t features;      /**< d, random Fourier features of x (the map z = Φ g(x)); 0: not used */
  double feature_scale; /**< their frequency scale (sagd_ald_features) */
  double step;       /**< η */
  double decay;      /**< η (1 + s/decay)^(-1/2) after s steps; 0: constant */
  double rms_beta;   /**< RMSProp β in [0, 1); 0: plain Langevin */
  double rms_eps;    /**< RMSProp ε > 0 */
  double init_scale; /**< Φ_0 entries N(0, init_scale²) */
} sagd_vae_ald_options;

typedef struct {
  size_t block;    /**< data points per reduction block (>= 1) */
  size_t batches;  /**< M, minibatches per epoch (1 = full batch; <= block) */
  size_t samples;  /**< S, reparameterised samples per point for the ELBO (>= 1) */
  size_t iwae_k;   /**< k, samples of the IWAE bound (>= 1) */
  size_t chains;   /**< C, chains per data point for hmc and sagd (>= 1) */
  double delta;    /**< step size: Langevin (sagd) and leapfrog (hmc) (> 0) */
  uint64_t K;      /**< chain length per update: Langevin steps / HMC transitions (>= 1) */
  size_t leapfrog; /**< L, leapfrog steps per HMC transition (>= 1) */
  double gamma;    /**< friction of the underdamped sampler (> 0) */
  const sagd_sampler_type *sampler; /**< NULL: underdamped */
  int unfused;     /**< 1: sagd never uses the model's fused ∇_ξV + ∇_θ f op (tests: the
                        result is the same, bit for bit) */
  int exact_sum;   /**< 1: gradients summed exactly (sagd_xsum); 0 (default): pre-rounded
                        (sagd_psum, its grid carried from one update to the next) */
  const sagd_likelihood_type *likelihood; /**< p(x | h_θ(u)); NULL: Gaussian N(h_θ(u), I) */
  sagd_rng_key key;
  sagd_vae_coupled_options coupled;
  sagd_vae_ald_options ald;
} sagd_vae_options;

/** Statistics of one update (global, exact sums over the update's data points). */
typedef struct {
  double objective; /**< mean per point: ELBO (vae), IWAE bound (iwae), log p(x, u; θ) at
                         the final chain states (hmc, sagd) */
  double points;    /**< number of data points in the update */
  double accept;    /**< HMC acceptance rate of the update (NaN for other methods) */
  double reduce_seconds; /**< this rank's time in the reproducible sum (adds + allreduce) */
  double wait_seconds;   /**< with sagd_vae_time_waits: time waiting for the other ranks
                              before the allreduce (not in reduce_seconds) */
  int exact_path;        /**< 1 if the pre-rounded sum took its exact path (or exact sums) */
  size_t reduce_bytes;   /**< bytes this rank sent in the sum's allreduce */
  double meeting;        /**< coupled: mean meeting time τ over the update's points (capped
                              pairs count tau_max); NaN for the other methods */
  double capped;         /**< coupled: pairs of the update stopped at tau_max; 0 otherwise */
} sagd_vae_stats;

typedef struct sagd_vae_s *sagd_vae;

/** **Collective.** Create over this rank's shard [i_begin, i_end) (which must be
 *  sagd_shard_range(n, opt->block) of comm; x_local [nloc × p] is copied). gen (r → p) and
 *  enc (p → 2r) are borrowed; their max_batch must be at least sagd_vae_max_rows(opt, n) and
 *  the number of quadrature nodes if sagd_vae_loglik is used. Dimensions are checked. */
int sagd_vae_create(MPI_Comm comm, sagd_mlp gen, sagd_mlp enc, const double *x_local,
                    size_t n, size_t i_begin, size_t i_end, const sagd_vae_options *opt,
                    sagd_vae *v);
void sagd_vae_destroy(sagd_vae *v);

/** The most rows a network is given at once by a sagd_vae with these options: the largest
 *  minibatch part of a block times max(S, k, C, coupled S + 1). */
size_t sagd_vae_max_rows(const sagd_vae_options *opt, size_t n);

/** The most points of a block's minibatch part: ceil(min(block, n) / M). Not collective. */
size_t sagd_minibatch_max_part(size_t n, size_t block, size_t M);

/** The data points [*i0, *i1) of global block b used by update t (1-based) with M parts per
 *  block (see above). r is scratch; perm holds M size_t. Not collective. */
void sagd_minibatch_part(sagd_rng_gsl r, sagd_rng_key key, size_t n, size_t block, size_t M,
                         uint64_t t, size_t b, size_t *perm, size_t *i0, size_t *i1);

/* ---- fine-tuning methods: an ops table ------------------------------------------------- */

typedef struct sagd_vae_method_type_s {
  const char *name;   /**< first member: the registry's key (registry.h) */
  const char *label;  /**< printed name ("IWAE"): table columns, summaries */
  int trains_encoder; /**< 1: gradient() fills g_phi and the caller updates φ */
  /** Called once when fine-tuning starts from (θ, φ) (sagd: chains from the encoder). Not
   *  collective. */
  int (*start)(sagd_vae v, const double *theta, const double *phi);
  /** **Collective.** Gradient of the method's loss at update t (1-based, global across the
   *  run so the RNG never repeats): g_theta [nparams(gen)], g_phi [nparams(enc)] (written only
   *  when trains_encoder; may be NULL otherwise), stats (may be NULL). */
  int (*gradient)(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                  double *g_theta, double *g_phi, sagd_vae_stats *stats);
  /** The config keys it reads when a run lists it (config.h): iwae's iwae.k, hmc's
   *  hmc.leapfrog. */
  sagd_config_type_keys keys;
} sagd_vae_method_type;

extern const sagd_vae_method_type sagd_vae_method_vae, sagd_vae_method_iwae, sagd_vae_method_hmc,
    sagd_vae_method_sagd, sagd_vae_method_coupled, sagd_vae_method_ald;
/** Find by name ("vae", "iwae", "hmc", "sagd", "coupled", "ald"); NULL if unknown. */
const sagd_vae_method_type *sagd_vae_method_find(const char *name);
/** The registry (registry.h): the methods, NULL-terminated. */
const sagd_vae_method_type *const *sagd_vae_method_list(void);
/** The registry's methods that fine-tune the generator alone (trains_encoder = 0), in its
 *  order, NULL-terminated: what mnist_vae's vae.finetune chooses from. */
const sagd_vae_method_type *const *sagd_vae_generator_method_list(void);
/** At most this many methods are registered (a run lists each at most once). */
#define SAGD_VAE_METHODS_MAX 16

/** **Collective.** The -ELBO gradient (what the vae method and pre-training use). */
int sagd_vae_elbo_grad(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                       double *g_theta, double *g_phi, sagd_vae_stats *stats);
/** **Collective.** The -IWAE gradient with k = opt->iwae_k samples. */
int sagd_vae_iwae_grad(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                       double *g_theta, double *g_phi, sagd_vae_stats *stats);

/** Start the persistent SAGD chains from the encoder: ξ = μ_φ(x) + σ_φ(x) ε, ρ ~ N(0, I).
 *  Not collective. */
int sagd_vae_chains_from_encoder(sagd_vae v, const double *phi);
/** Benchmarks: 1 puts a timed barrier before every allreduce, so reduce_seconds is the
 *  reduction's own cost and wait_seconds the ranks' imbalance. Results do not change. */
void sagd_vae_time_waits(sagd_vae v, int on);
/** Start every reproducible sum afresh (pre-rounded sums forget their grid; the next
 *  update's sums take the exact path). Called when a phase starts. Not collective. */
void sagd_vae_reset_sums(sagd_vae v);
/** The state the pre-rounded sums carry between updates (a checkpoint saves it): the grids
 *  of the sums with and without the encoder's gradient, writable; NULL, 0 with exact sums. */
void sagd_vae_sum_state(sagd_vae v, double **grid_full, size_t *n_full, double **grid_theta,
                        size_t *n_theta);
/** The coupled method: each local point's meeting time at the latest update that used it
 *  (NaN before any), nloc values in global order from i_begin; writable (checkpoint
 *  restore). NULL, 0 when opt.coupled.S < 2. */
void sagd_vae_meeting_times(sagd_vae v, double **tau, size_t *nloc);
/** The ald method's sampler (ald.h: Φ, its preconditioner and step count are the state a
 *  checkpoint saves); NULL when opt.ald.features is 0. */
struct sagd_ald_s *sagd_vae_ald(sagd_vae v);
/** The local persistent chains: nloc*C chains of dimension r, chain-major in global chain id
 *  order from i_begin*C. Writable (checkpoint restore). */
void sagd_vae_chains(sagd_vae v, double **xi, double **rho, size_t *nchains, size_t *r);

/** **Collective.** Σ_i log p(x_i; θ) over all data by Gauss–Hermite quadrature (r = p = 1
 *  only; SAGD_ERR_ARG otherwise), summed per block and combined exactly. */
int sagd_vae_loglik(sagd_vae v, const double *theta, size_t nodes, double *ll);

/** m generated values h_θ(U_j), U_j ~ N(0, I_r) drawn at (SAGD_STREAM_SAMPLE, id = j), into
 *  out [m × w] (w: the generator's output width), evaluated in chunks of its max_batch. u is scratch of
 *  max_batch*r doubles. The same U for every θ. Not collective. */
int sagd_vae_generate(sagd_mlp gen, const double *theta, sagd_rng_key key, size_t m,
                      double *u, double *out);

/** Held-out scoring: for m points x [m × p] with global indices i0 .. i0+m-1, the
 *  importance-sampling estimate ll[q] = log (1/S) Σ_s p(x_q, u_s; θ) / q_φ(u_s | x_q), u_s =
 *  μ_φ(x_q) + σ_φ(x_q) ε_s with ε_s at (SAGD_STREAM_REPARAM, id = global index, t, s) (so a
 *  fixed t gives every generator the same noise: common random numbers). A lower bound on
 *  log p(x_q; θ) in expectation (Jensen), tight as S grows when q_φ is close to the
 *  posterior. One point at a time (the encoder on one row, the generator on chunks of at
 *  most its max_batch samples): per-point values do not depend on m or on the rank.
 *  lik NULL: Gaussian. Not collective. */
int sagd_vae_is_loglik(sagd_mlp gen, sagd_mlp enc, const double *theta, const double *phi,
                       const sagd_likelihood_type *lik, sagd_rng_key key, uint64_t t,
                       const double *x, size_t m, size_t i0, size_t S, double *ll);

#ifdef __cplusplus
}
#endif
#endif
