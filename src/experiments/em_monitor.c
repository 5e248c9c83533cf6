/* The automated-EM monitor shared by em_gamma and em_plugin (see em_monitor.h). */
#include "em_monitor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sagd/error.h"

/* The schedule index of the i-th update of the run (1-based, across M-steps). */
static uint64_t sched_index_(const exp_em_monitor *c, uint64_t i) {
  return c->global_clock ? i : (i - 1) % c->T + 1;
}

void exp_theta_text_generic(const double *theta, size_t p, int digits, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "theta = (");
  const size_t shown = p < 6 ? p : 6;
  for (size_t j = 0; j < shown && len < cap; j++) {
    len += (size_t)snprintf(buf + len, cap - len, "%s%+.*f", j ? ", " : "", digits, theta[j]);
  }
  if (len < cap) {
    snprintf(buf + len, cap - len, "%s)", p > shown ? ", ..." : "");
  }
}

int exp_em_monitor_update(void *vctx, uint64_t m, uint64_t t, const double *theta,
                          const double *g) {
  exp_em_monitor *c = vctx;
  double ll = NAN;
  if (c->loglik != NULL) {
    SAGD_CALL(c->loglik(c->loglik_ctx, theta, &ll));
  }
  double wall = sagd_checkpointer_wall(c->cp);
  if (isnan(c->t0)) {
    c->t0 = wall;
  }
  double now = wall - c->t0;
  char th[160];
  if (t == 0) {
    SAGD_CALL(exp_trace_append(&c->msteps, theta, ll, NAN, NAN, NAN, now));
    if (m == 0) {
      SAGD_CALL(exp_trace_append(&c->trace, theta, ll, NAN, NAN, NAN, now));
    } else {
      c->theta_text(theta, c->p, 6, th, sizeof th);
      exp_progress(c->info, "%-5s M-step %llu/%llu done: %s  loglik = %.6f  [%.1fs]\n",
                   c->method, (unsigned long long)m, (unsigned long long)c->M, th, ll, now);
    }
    return SAGD_OK;
  }
  double gn = 0; /* |g| by repeated hypot: for p = 2 exactly hypot(g0, g1) */
  for (size_t j = 0; j < c->p; j++) {
    gn = hypot(gn, g[j]);
  }
  /* the schedule index the estimator used for this update (sagd.clock) */
  const uint64_t idx = c->global_clock ? (m - 1) * c->T + t : t;
  double delta = sagd_schedule_delta(c->sched, idx);
  double K = (double)sagd_schedule_length(c->sched, idx);
  SAGD_CALL(exp_trace_append(&c->trace, theta, ll, gn, delta, K, now));
  if (c->every > 0 && t % (uint64_t)c->every == 0 && c->chains > 0) {
    /* chain-steps done so far, for the rate and the ETA */
    double done = (double)m * (double)c->burnin;
    for (uint64_t i = 1; i <= (m - 1) * c->T + t; i++) {
      done += (double)sagd_schedule_length(c->sched, sched_index_(c, i));
    }
    char eta[32];
    exp_format_seconds(now * (c->total_steps - done) / done, eta, sizeof eta);
    c->theta_text(theta, c->p, 5, th, sizeof th);
    exp_progress(c->info,
                 "%-5s M-step %llu/%llu update %llu/%llu: %s  loglik = %.4f  "
                 "|g| = %.2e  delta = %.4f  K = %.0f  %.3g chain-steps/s  ETA %s\n",
                 c->method, (unsigned long long)m, (unsigned long long)c->M,
                 (unsigned long long)t, (unsigned long long)c->T, th, ll, gn, delta, K,
                 done * c->chains / now, eta);
  }
  return SAGD_OK;
}

int exp_em_monitor_init(exp_em_monitor *c, const sagd_run_info *info,
                        const exp_em_monitor_options *o) {
  memset(c, 0, sizeof *c);
  c->info = info;
  c->method = o->method;
  c->p = o->p;
  c->loglik = o->loglik;
  c->loglik_ctx = o->loglik_ctx;
  c->theta_text = o->theta_text ? o->theta_text : exp_theta_text_generic;
  c->sched = o->sched;
  c->M = o->M;
  c->T = o->T;
  c->burnin = o->burnin;
  c->chains = o->chains;
  SAGD_CALL(exp_progress_every(info->cfg, &c->every));
  c->global_clock = o->global_clock;
  c->total_steps = (double)c->M * (double)c->burnin;
  for (uint64_t i = 1; i <= c->M * c->T; i++) {
    c->total_steps += (double)sagd_schedule_length(c->sched, sched_index_(c, i));
  }
  SAGD_CALL(exp_trace_init(&c->trace, c->p, c->M * c->T + 1));
  SAGD_CALL(exp_trace_init(&c->msteps, c->p, c->M + 1));
  c->t0 = NAN;
  return SAGD_OK;
}

void exp_em_monitor_free(exp_em_monitor *c) {
  exp_trace_free(&c->trace);
  exp_trace_free(&c->msteps);
}

int exp_em_monitor_register(exp_em_monitor *c, sagd_em em, sagd_state st) {
  char name[64];
  SAGD_CALL(sagd_em_register(em, st, c->method));
  snprintf(name, sizeof name, "%s/trace", c->method);
  SAGD_CALL(exp_trace_register(&c->trace, st, name));
  snprintf(name, sizeof name, "%s/msteps", c->method);
  SAGD_CALL(exp_trace_register(&c->msteps, st, name));
  snprintf(name, sizeof name, "%s/clock", c->method);
  SAGD_CALL(sagd_state_add(st, name, &c->t0, 1));
  return SAGD_OK;
}

int exp_em_monitor_write(const exp_em_monitor *c, sagd_h5 f, const char *group) {
  char path[200];
  SAGD_CALL(exp_trace_write(f, group, &c->trace));
  size_t dm[2] = {c->msteps.len, c->p};
  snprintf(path, sizeof path, "%s/mstep_theta", group);
  SAGD_CALL(sagd_h5_write(f, path, 2, dm, c->msteps.theta));
  return SAGD_OK;
}

const double *exp_em_monitor_theta(const exp_em_monitor *c) {
  return c->msteps.theta + c->p * (c->msteps.len - 1);
}

double exp_em_monitor_loglik(const exp_em_monitor *c) {
  return c->msteps.loglik[c->msteps.len - 1];
}
