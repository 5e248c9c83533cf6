/**
 * @file sagd.h
 * @brief The SAGD driver (Algorithm 1) and the automated-EM outer loop.
 *
 * A sagd_solver owns the persistent chains of this rank's shard (C per data point, state
 * ξ, ρ ∈ R^r each) and computes, collectively, the SAGD gradient estimate
 *   g̃ = (1/(n C K)) Σ_i Σ_c Σ_{k<K} ∇_θ f(θ; x_i, ξ_{i,c,k})
 * while running K Langevin steps targeting π = p(ξ | x; θ_target). Sums are taken over
 * fixed blocks of data points and combined exactly (reduce.h), so the result is
 * bit-identical for any number of ranks.
 *
 * The EM loop is written against a gradient *estimator* ops table, so the SAGD estimate
 * and an exact (quadrature) one run through the very same loop.
 */
#ifndef SAGD_SAGD_H
#define SAGD_SAGD_H

#include <mpi.h>
#include <stdint.h>

#include "sagd/checkpoint.h"
#include "sagd/model.h"
#include "sagd/optimizer.h"
#include "sagd/rng.h"
#include "sagd/sampler.h"
#include "sagd/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t chains;                     /**< C, chains per data point (>= 1) */
  const sagd_sampler_type *sampler;  /**< underdamped (default) or overdamped */
  double gamma;                      /**< friction (> 0), default 2 */
  size_t block;                      /**< data points per reduction block (default 16) */
  sagd_rng_key key;
} sagd_solver_options;

typedef struct sagd_solver_s *sagd_solver;

/** **Collective.** Create over `model` (whose shard must be sagd_shard_range(n, block, ...)
 *  of comm). Chains start at ξ ~ N(0, I), ρ ~ N(0, I) (stream SAGD_STREAM_CHAIN_INIT). */
int sagd_solver_create(MPI_Comm comm, sagd_model model, const sagd_solver_options *opt,
                       sagd_solver *s);
void sagd_solver_destroy(sagd_solver *s);

/** Run nsteps Langevin steps of size delta on every local chain targeting θ_target,
 *  without gradient (burn-in). `tag` distinguishes burn-in phases in the RNG. Not
 *  collective (no communication). */
int sagd_solver_burnin(sagd_solver s, const double *theta_target, uint64_t nsteps,
                       double delta, uint64_t tag);

/** **Collective.** Run K steps (RNG iteration t) and return the exact global mean gradient
 *  g[0..p). */
int sagd_solver_gradient(sagd_solver s, const double *theta_target, const double *theta,
                         uint64_t t, double delta, uint64_t K, double *g);

/** The local chain states: *xi and *rho point at (i_end-i_begin)*C*r doubles, chain-major
 *  in global chain id order starting at i_begin*C. Writable (for checkpoint restore). */
void sagd_solver_chains(sagd_solver s, double **xi, double **rho, size_t *nchains,
                        size_t *r);

/* ---- gradient estimators and the EM loop ------------------------------------------- */

typedef struct sagd_estimator_type_s {
  const char *name;
  /** The target moves to θ_target (start of M-step `mstep`, whose first update has global
   *  counter t_next): e.g. SAGD burns in. */
  int (*set_target)(void *ctx, const double *theta_target, uint64_t mstep, uint64_t t_next);
  /** **Collective.** Estimate ∇_θ of -Q(θ; θ_target)/n at update t (1-based within the
   *  M-step) with global update counter t_global (unique across the run). */
  int (*gradient)(void *ctx, const double *theta, uint64_t t, uint64_t t_global, double *g);
  /** Optional: the target after a resume inside an M-step is θ_target, without set_target's
   *  side effects (e.g. no burn-in: it is in the restored chains). NULL: nothing is called. */
  int (*restore_target)(void *ctx, const double *theta_target);
} sagd_estimator_type;

/** The SAGD estimator over a solver: set_target burns in `burnin` steps at δ of the next
 *  update, gradient runs K_t steps at δ_t from `schedule`. The schedule's clock t is the
 *  update index within the M-step (global_clock = 0: δ, K restart every M-step, as in the
 *  paper's Figure 1) or the global update counter (global_clock = 1: δ_t → 0 and K_t → ∞
 *  over the whole run, the regime of Theorem 3, which removes the O(δ) bias). α_t always
 *  uses the M-step clock. */
extern const sagd_estimator_type sagd_estimator_sagd;
typedef struct {
  sagd_solver solver;
  const sagd_schedule *schedule;
  uint64_t burnin;
  const double *theta_target; /* managed by the estimator */
  int global_clock;
  int follow; /**< 1: the chains target θ itself at every update (direct MLE: the gradient
               *   of log p(x; θ)); 0: the M-step's frozen θ_k (automated EM) */
} sagd_estimator_sagd_ctx;

typedef struct {
  uint64_t msteps;   /**< number of M-steps (EM iterations) */
  uint64_t updates;  /**< T, SAGD updates per M-step */
  int use_average;   /**< 1: θ_{k+1} = θ̂ (Algorithm 1's average); 0: the last iterate */
} sagd_em_options;

/** Called with (k, 0, θ_k) for k = 0..M (θ_0 at the start, then each M-step's result) and
 *  with (k, t, θ_t, g̃_t) after update t >= 1 of M-step k >= 1. */
typedef int (*sagd_em_monitor)(void *ctx, uint64_t mstep, uint64_t t, const double *theta,
                               const double *grad);

/** **Collective.** Automated EM: for each M-step k, freeze the target at θ_k, run T
 *  updates θ ← P_Θ(θ - α_t g̃_t) with the optimizer, and set θ_{k+1} to the average or
 *  last iterate. theta: in θ_0, out θ_M. The optimizer is reset at each M-step. */
int sagd_em_run(const sagd_estimator_type *est, void *est_ctx, sagd_optimizer opt,
                const sagd_schedule *schedule, const sagd_em_options *o, size_t p,
                double *theta, sagd_em_monitor monitor, void *monitor_ctx);

/* ---- the resumable EM loop (sagd_em_run is create + continue + destroy) ---------------- */

/** The EM loop as an object whose whole state can be checkpointed: θ, the frozen target
 *  θ_k, the optimizer's flat state, the running average (sum, count) and the counters
 *  (M-steps done, updates done in the current M-step, whether θ_0 was reported, whether
 *  the current M-step's target is set, i.e. its burn-in done). With the estimator's chains
 *  registered too, a run restored at any boundary continues bit-identically: the RNG is
 *  counter-based (keyed by the global update counter), so it has no state.
 *  On resume inside an M-step the estimator is told the target by its restore_target op
 *  (if it has one), without set_target's side effects (the burn-in is in the restored
 *  chains). */
typedef struct sagd_em_s *sagd_em;

/** Called at every boundary of the loop, when the state is consistent and could be saved:
 *  after θ_0 is reported, after each M-step's target is set (burn-in), after each update,
 *  and after each M-step's result. `iteration` = updates completed by this loop
 *  (mstep·T + t); mstep = M-steps completed, t = updates completed in the current one;
 *  `end` = 1 at the last boundary (all M-steps done). A non-zero return (SAGD_STOPPED)
 *  stops the loop and is returned as is; the state stays consistent. */
typedef int (*sagd_em_boundary)(void *ctx, uint64_t iteration, uint64_t mstep, uint64_t t,
                                int end);

/** Create over an estimator and an optimizer (neither owned; the optimizer's state is used
 *  in place). θ_0 is copied. */
int sagd_em_create(const sagd_estimator_type *est, void *est_ctx, sagd_optimizer opt,
                   const sagd_schedule *schedule, const sagd_em_options *o, size_t p,
                   const double *theta0, sagd_em *em);
void sagd_em_destroy(sagd_em *em);
/** Register the loop's state under prefix ("sagd" → "sagd/theta", "sagd/counters", ...). */
int sagd_em_register(sagd_em em, sagd_state st, const char *prefix);
/** **Collective.** Run from where the state says (the start, or a restored boundary) to the
 *  end, calling monitor (as sagd_em_run does) and boundary (may be NULL). Returns at once if
 *  the loop is already done. */
int sagd_em_continue(sagd_em em, sagd_em_monitor monitor, void *monitor_ctx,
                     sagd_em_boundary boundary, void *boundary_ctx);
/** θ now (θ_M once done): p doubles owned by em. */
const double *sagd_em_theta(sagd_em em);
/** 1 when all M-steps are done. */
int sagd_em_done(sagd_em em);

#ifdef __cplusplus
}
#endif
#endif
