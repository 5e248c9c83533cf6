/* The per-update monitor of an automated-EM run (em_gamma, em_plugin): the trace of every
 * update and of every M-step's result, the log-likelihood when the model knows it, progress
 * lines with the rate and the ETA, and the method's clock. Private to src/experiments. */
#ifndef SAGD_EXPERIMENTS_EM_MONITOR_H
#define SAGD_EXPERIMENTS_EM_MONITOR_H

#include "common.h"
#include "sagd/sagd.h"

/* The exact marginal log-likelihood at θ (collective if it reduces), or NULL: NaN. */
typedef int (*exp_loglik_fn)(void *ctx, const double *theta, double *ll);
/* θ as text for a progress line with `digits` decimals ("a = +2.000000  b = ..."). */
typedef void (*exp_theta_text_fn)(const double *theta, size_t p, int digits, char *buf,
                                  size_t cap);

typedef struct {
  const sagd_run_info *info;
  const char *method;
  size_t p;
  exp_loglik_fn loglik;
  void *loglik_ctx;
  exp_theta_text_fn theta_text;
  const sagd_schedule *sched;
  exp_trace trace;      /* per update, row 0 = θ_0 */
  exp_trace msteps;     /* θ_k, k = 0..M */
  uint64_t M, T, burnin;
  double chains;        /* n * C (0: not a chain method, no rate line) */
  int global_clock;     /* sagd.clock = run: update t of M-step m is schedule index (m-1)T + t */
  double total_steps;   /* chain-steps of the whole method (burn-ins included) */
  double t0;            /* run wall time when this method started (NaN: not yet; saved) */
  sagd_checkpointer cp; /* its clock runs across restarts */
  int every;
} exp_em_monitor;

typedef struct {
  const char *method;
  size_t p;
  exp_loglik_fn loglik; /* may be NULL */
  void *loglik_ctx;
  exp_theta_text_fn theta_text;
  const sagd_schedule *sched;
  uint64_t M, T, burnin;
  double chains;
  int global_clock;
} exp_em_monitor_options;

int exp_em_monitor_init(exp_em_monitor *c, const sagd_run_info *info,
                        const exp_em_monitor_options *o);
void exp_em_monitor_free(exp_em_monitor *c);
/* The sagd_em_monitor callback (ctx = exp_em_monitor *). */
int exp_em_monitor_update(void *ctx, uint64_t m, uint64_t t, const double *theta,
                          const double *g);
/* Everything a resumed run needs from one method: its EM loop, traces and clock. */
int exp_em_monitor_register(exp_em_monitor *c, sagd_em em, sagd_state st);
/* **Collective.** Write group (its per-update trace) and group/mstep_theta. */
int exp_em_monitor_write(const exp_em_monitor *c, sagd_h5 f, const char *group);
/* θ_M and its log-likelihood (the last M-step row). */
const double *exp_em_monitor_theta(const exp_em_monitor *c);
double exp_em_monitor_loglik(const exp_em_monitor *c);
/* "theta = (+1.00000, -2.00000, ...)" (the first 6 coordinates). */
void exp_theta_text_generic(const double *theta, size_t p, int digits, char *buf, size_t cap);

#endif
