/* What the VAE-family experiments (deconv_vae, mnist_vae) read alike from a configuration.
 * Private to src/experiments. */
#ifndef SAGD_EXPERIMENTS_VAE_COMMON_H
#define SAGD_EXPERIMENTS_VAE_COMMON_H

#include <stdint.h>

#include "sagd/checkpoint.h"
#include "sagd/experiment.h"
#include "sagd/h5.h"
#include "sagd/nn.h"
#include "sagd/optimizer.h"
#include "sagd/vae.h"

/* The keys every VAE-family experiment reads through the functions below and its phases:
 * part of each one's `reads` (experiment.h). */
#define EXP_VAE_FAMILY_READS                                                                       \
  "model.likelihood", "model.precision", "vae.pretrain_epochs", "vae.pretrain_lr",                 \
      "vae.finetune_epochs", "vae.finetune_lr", "vae.batches", "vae.samples", "vae.estimate",      \
      "metrics.loglik_every", "sagd.sampler", "sagd.chains", "sagd.delta", "sagd.K0",              \
      "sagd.optimizer", "sagd.reduction", "sagd.block"

/* The VAE options from [sagd] block, chains, delta, K0 (the chain length, >= 1), gamma
 * (gamma * delta < 2), sampler, reduction and [vae] batches (<= block), samples; the key
 * from the run. Also returns vae.batches. iwae_k, leapfrog and the likelihood are the
 * caller's. Messages name the keys. */
int exp_vae_options(const sagd_run_info *info, sagd_vae_options *o, uint64_t *batches);
/* The options the listed methods read from their own sections (iwae.k, hmc.leapfrog,
 * coupled.*, ald.*); what no listed method reads keeps a neutral value (k = L = 1,
 * coupled.S = 0, ald.features = 0).
 * Messages name the keys. */
int exp_vae_method_options(sagd_config cfg, const sagd_vae_method_type *const *methods, size_t nm,
                           sagd_vae_options *o);
/* [model] precision: double or single. */
int exp_vae_precision(sagd_config cfg, sagd_precision *prec);
/* What every VAE-family run keeps and checkpoints alike. */
typedef struct {
  uint64_t phase, iter, total;               /* phase, iteration in it, iterations in all */
  double *theta, *phi, *theta_pre, *phi_pre; /* (θ, φ) and the pre-trained (θ, φ) */
  double *opt_t, *opt_p;                     /* the optimizers' states (point into them) */
  size_t lopt_t, lopt_p;
} exp_vae_core;
/* Allocate (θ, φ) and the pre-trained copies (pt, pp values) and point at the optimizers'
 * states; exp_vae_core_free releases what this allocated (also after a failure). */
int exp_vae_core_alloc(exp_vae_core *s, size_t pt, size_t pp, sagd_optimizer ot, sagd_optimizer op);
void exp_vae_core_free(exp_vae_core *s);
/* Register it in a checkpoint state under the names every VAE-family run uses. */
int exp_vae_core_register(sagd_state st, exp_vae_core *s, size_t pt, size_t pp);
/* The two networks' precision and the optimizers of θ (pt = nparams(gen)) and φ. */
int exp_vae_optimizers(sagd_mlp gen, sagd_mlp enc, sagd_precision prec,
                       const sagd_optimizer_type *type, const sagd_optimizer_options *opt,
                       size_t *pt, size_t *pp, sagd_optimizer *ot, sagd_optimizer *op);

/* One phase's trace: per update the objective, |g|, the HMC acceptance and the wall time;
 * and a log-likelihood traced every `every` updates plus once at the phase end (nll rows;
 * NaN where not computed), with its SE where the experiment has one. */
typedef struct {
  size_t T, nll;
  int coupled;                            /* the phase of the coupled method: meeting times */
  double *obj, *gnorm, *accept, *seconds; /* [T] */
  double *meeting, *capped;               /* [T], coupled: mean τ and capped pairs */
  double *ll, *ll_se, *ll_iter;           /* [nll] */
} exp_vae_trace;

int exp_vae_trace_alloc(exp_vae_trace *t, size_t T, uint64_t every);
void exp_vae_trace_free(exp_vae_trace *t);
/* What a trace keeps and how its log-likelihood is named ("loglik", "test_loglik"). */
typedef struct {
  const char *ll_name;
  int accept; /* the acceptance column */
  int se;     /* the log-likelihood's SE */
} exp_vae_trace_kind;
/* Register the trace in a checkpoint state as "trace/<phase>/<column>" (the coupled
 * columns only when t->coupled). */
int exp_vae_trace_register(exp_vae_trace *t, const exp_vae_trace_kind *k, sagd_state st,
                           const char *phase);
/* **Collective.** Write group/{elbo|objective, grad_norm, seconds[, accept][, meeting_time,
 * capped]} and the
 * log-likelihood rows that were computed: group/<ll_name>[, _se], <ll_name>_iter. */
int exp_vae_trace_write(sagd_h5 f, const char *group, const exp_vae_trace *t,
                        const exp_vae_trace_kind *k, int accept, int elbo);

/* Optimizer steps at rate lr of θ (pt values, gradient gt) and of φ (pp, gp); a NULL
 * gradient leaves its parameters alone. *gnorm = |(g_θ, g_φ)| over what was stepped. */
int exp_vae_step(sagd_optimizer ot, const double *gt, size_t pt, double *theta, sagd_optimizer op,
                 const double *gp, size_t pp, double *phi, double lr, double *gnorm);

/* How a phase reports its updates: its name, the objective's label and printed digits, the
 * progress cadence (every `every` updates and the last; <= 0: never) and its clock: the
 * session started at update it0 of T, at wall time t0, after `base` seconds of earlier
 * sessions; *secs is the phase's time so far. */
typedef struct {
  const char *name, *what;
  int digits, every;
  uint64_t it0, T;
  double t0, base;
  double *secs;
} exp_vae_phase_clock;

/* The clock of a phase that starts (or resumes) now at update it0 of T, its time so far in
 * *secs. */
exp_vae_phase_clock exp_vae_clock(const char *name, const char *what, int digits, int every,
                                  uint64_t it0, uint64_t T, double *secs);

/* The end of update `it` of phase c (s->iter == it): trace row it (objective, |g|, HMC
 * acceptance, meeting time, wall time), the counters past it, a progress line when due
 * (`extra` appended, then the acceptance or meeting time where finite) and the
 * checkpointer's tick. */
int exp_vae_update_end(const sagd_run_info *info, sagd_checkpointer cp,
                       const exp_vae_phase_clock *c, exp_vae_core *s, exp_vae_trace *t,
                       const sagd_vae_stats *st, double gn, const char *extra);

/* Register a sagd_vae's carried state: the pre-rounded sums' grids (none with exact sums),
 * the persistent chains (n data points × C chains, this rank's rows from i0·C), with the
 * coupled method each point's latest meeting time, with ald its map and preconditioner. */
int exp_vae_register_state(sagd_state st, sagd_vae v, size_t n, size_t C, size_t i0);

/* Σ g_j² */
double exp_norm2(const double *g, size_t n);

#endif
