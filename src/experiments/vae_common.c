/* Configuration pieces shared by the VAE-family experiments (see vae_common.h). */
#include "vae_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sagd/ald.h"
#include "sagd/error.h"

int exp_vae_options(const sagd_run_info *info, sagd_vae_options *o, uint64_t *batches) {
  sagd_config cfg = info->cfg;
  *batches = (uint64_t)sagd_config_int(cfg, "vae", "batches");
  o->block = (size_t)sagd_config_int(cfg, "sagd", "block");
  o->batches = (size_t)*batches;
  SAGD_CHECK(*batches <= o->block, SAGD_ERR_CONFIG,
             "vae.batches = %llu: expected at most sagd.block = %zu (every block is cut into "
             "vae.batches parts)",
             (unsigned long long)*batches, o->block);
  o->samples = (size_t)sagd_config_int(cfg, "vae", "samples");
  o->chains = (size_t)sagd_config_int(cfg, "sagd", "chains");
  o->delta = sagd_config_real(cfg, "sagd", "delta");
  int64_t K = sagd_config_int(cfg, "sagd", "K0");
  const char *exp = sagd_config_string(cfg, "run", "experiment");
  SAGD_CHECK(K >= 1, SAGD_ERR_CONFIG,
             "sagd.K0 = %lld: expected a chain length >= 1 (%s: K0 is the number of %s per "
             "update)",
             (long long)K, exp,
             strcmp(exp, "deconv_vae") == 0
                 ? "Langevin steps (sagd) and HMC transitions (hmc)"
                 : "Langevin steps");
  o->K = (uint64_t)K;
  SAGD_CALL(exp_sampler_from_config(cfg, &o->sampler, &o->gamma));
  o->key = info->key;
  const char *red = sagd_config_string(cfg, "sagd", "reduction");
  SAGD_CHECK(strcmp(red, "prerounded") == 0 || strcmp(red, "exact") == 0, SAGD_ERR_CONFIG,
             "sagd.reduction = '%s': expected prerounded or exact", red);
  o->exact_sum = strcmp(red, "exact") == 0;
  SAGD_CHECK(o->gamma * o->delta < 2, SAGD_ERR_CONFIG,
             "sagd.gamma * sagd.delta = %g: expected < 2 (the underdamped momentum decay "
             "1 - gamma*delta must stay above -1)",
             o->gamma * o->delta);
  return SAGD_OK;
}

int exp_vae_precision(sagd_config cfg, sagd_precision *prec) {
  const char *p = sagd_config_string(cfg, "model", "precision");
  SAGD_CHECK(strcmp(p, "double") == 0 || strcmp(p, "single") == 0, SAGD_ERR_CONFIG,
             "model.precision = '%s': expected double or single", p);
  *prec = strcmp(p, "single") == 0 ? SAGD_PRECISION_SINGLE : SAGD_PRECISION_DOUBLE;
  return SAGD_OK;
}

int exp_vae_method_options(sagd_config cfg, const sagd_vae_method_type *const *methods, size_t nm,
                           sagd_vae_options *o) {
  o->iwae_k = 1;
  o->leapfrog = 1;
  memset(&o->coupled, 0, sizeof o->coupled);
  memset(&o->ald, 0, sizeof o->ald);
  for (size_t m = 0; m < nm; m++) {
    sagd_config_type_keys keys = methods[m]->keys;
    if (sagd_config_type_reads(keys, "iwae", "k")) {
      o->iwae_k = (size_t)sagd_config_int(cfg, "iwae", "k");
    }
    if (sagd_config_type_reads(keys, "hmc", "leapfrog")) {
      o->leapfrog = (size_t)sagd_config_int(cfg, "hmc", "leapfrog");
    }
    if (sagd_config_type_reads(keys, "coupled", "S")) {
      sagd_vae_coupled_options *c = &o->coupled;
      c->S = (size_t)sagd_config_int(cfg, "coupled", "S");
      c->k = (uint64_t)sagd_config_int(cfg, "coupled", "k");
      c->m = (uint64_t)sagd_config_int(cfg, "coupled", "m");
      c->L = (uint64_t)sagd_config_int(cfg, "coupled", "L");
      c->tau_max = (uint64_t)sagd_config_int(cfg, "coupled", "tau_max");
      SAGD_CHECK(c->S >= 2, SAGD_ERR_CONFIG,
                 "coupled.S = %zu: expected at least 2 proposals (the state and one more)", c->S);
      SAGD_CHECK(c->k <= c->m, SAGD_ERR_CONFIG,
                 "coupled.k = %llu, coupled.m = %llu: expected k <= m", (unsigned long long)c->k,
                 (unsigned long long)c->m);
      SAGD_CHECK(c->tau_max >= c->m, SAGD_ERR_CONFIG,
                 "coupled.tau_max = %llu: expected at least coupled.m = %llu",
                 (unsigned long long)c->tau_max, (unsigned long long)c->m);
    }
    if (sagd_config_type_reads(keys, "ald", "features")) {
      sagd_vae_ald_options *a = &o->ald;
      a->features = (size_t)sagd_config_int(cfg, "ald", "features");
      a->feature_scale = sagd_config_real(cfg, "ald", "feature_scale");
      a->step = sagd_config_real(cfg, "ald", "step");
      a->decay = sagd_config_real(cfg, "ald", "decay");
      a->rms_beta = sagd_config_real(cfg, "ald", "rms_beta");
      a->rms_eps = sagd_config_real(cfg, "ald", "rms_eps");
      a->init_scale = sagd_config_real(cfg, "ald", "init_scale");
      SAGD_CHECK(a->rms_beta < 1, SAGD_ERR_CONFIG,
                 "ald.rms_beta = %g: expected a value in [0, 1) (0: no preconditioning)",
                 a->rms_beta);
    }
  }
  return SAGD_OK;
}

double exp_norm2(const double *g, size_t n) {
  double s = 0;
  for (size_t j = 0; j < n; j++) {
    s += g[j] * g[j];
  }
  return s;
}

int exp_vae_trace_alloc(exp_vae_trace *t, size_t T, uint64_t every) {
  t->T = T;
  t->nll = (every > 0 ? T / every : 0) + 2;
  SAGD_CALLOC(t->obj, T, "trace objective");
  SAGD_CALLOC(t->gnorm, T, "trace |g|");
  SAGD_CALLOC(t->accept, T, "trace acceptance");
  SAGD_CALLOC(t->seconds, T, "trace seconds");
  SAGD_CALLOC(t->meeting, T, "trace meeting times");
  SAGD_CALLOC(t->capped, T, "trace capped pairs");
  SAGD_CALLOC(t->ll, t->nll, "trace log-likelihood");
  SAGD_CALLOC(t->ll_se, t->nll, "trace log-likelihood SE");
  SAGD_CALLOC(t->ll_iter, t->nll, "trace log-likelihood iterations");
  for (size_t i = 0; i < t->nll; i++) {
    t->ll[i] = t->ll_se[i] = t->ll_iter[i] = NAN;
  }
  return SAGD_OK;
}

void exp_vae_trace_free(exp_vae_trace *t) {
  free(t->obj);
  free(t->gnorm);
  free(t->accept);
  free(t->seconds);
  free(t->meeting);
  free(t->capped);
  free(t->ll);
  free(t->ll_se);
  free(t->ll_iter);
  memset(t, 0, sizeof *t);
}

int exp_vae_trace_register(exp_vae_trace *t, const exp_vae_trace_kind *k, sagd_state st,
                           const char *phase) {
  char se[64], it[64];
  snprintf(se, sizeof se, "%s_se", k->ll_name);
  snprintf(it, sizeof it, "%s_iter", k->ll_name);
  const struct {
    const char *what;
    double *buf;
    size_t len;
    int on;
  } cols[] = {{"objective", t->obj, t->T, 1},
              {"grad_norm", t->gnorm, t->T, 1},
              {"accept", t->accept, t->T, k->accept},
              {"seconds", t->seconds, t->T, 1},
              {k->ll_name, t->ll, t->nll, 1},
              {se, t->ll_se, t->nll, k->se},
              {it, t->ll_iter, t->nll, 1},
              {"meeting_time", t->meeting, t->T, t->coupled},
              {"capped", t->capped, t->T, t->coupled}};
  for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++) {
    if (!cols[j].on) {
      continue;
    }
    char name[96];
    snprintf(name, sizeof name, "trace/%s/%s", phase, cols[j].what);
    SAGD_CALL(sagd_state_add(st, name, cols[j].buf, cols[j].len));
  }
  return SAGD_OK;
}

int exp_vae_trace_write(sagd_h5 f, const char *group, const exp_vae_trace *t,
                        const exp_vae_trace_kind *k, int accept, int elbo) {
  char path[160];
  size_t d[1] = {t->T};
  snprintf(path, sizeof path, "%s/%s", group, elbo ? "elbo" : "objective");
  SAGD_CALL(sagd_h5_write(f, path, 1, d, t->obj));
  snprintf(path, sizeof path, "%s/grad_norm", group);
  SAGD_CALL(sagd_h5_write(f, path, 1, d, t->gnorm));
  snprintf(path, sizeof path, "%s/seconds", group);
  SAGD_CALL(sagd_h5_write(f, path, 1, d, t->seconds));
  if (accept) {
    snprintf(path, sizeof path, "%s/accept", group);
    SAGD_CALL(sagd_h5_write(f, path, 1, d, t->accept));
  }
  if (t->coupled) {
    snprintf(path, sizeof path, "%s/meeting_time", group);
    SAGD_CALL(sagd_h5_write(f, path, 1, d, t->meeting));
    snprintf(path, sizeof path, "%s/capped", group);
    SAGD_CALL(sagd_h5_write(f, path, 1, d, t->capped));
  }
  /* the log-likelihood rows that were computed, with their iterations */
  double *buf = NULL;
  SAGD_CALLOC(buf, 3 * t->nll, "log-likelihood trace");
  size_t n = 0;
  for (size_t i = 0; i < t->nll; i++) {
    if (isfinite(t->ll_iter[i])) {
      buf[n] = t->ll[i];
      buf[t->nll + n] = t->ll_se[i];
      buf[2 * t->nll + n] = t->ll_iter[i];
      n++;
    }
  }
  int rc = SAGD_OK;
  if (n > 0) {
    size_t dn[1] = {n};
    const char *suffix[3] = {"", "_se", "_iter"};
    for (int j = 0; j < 3 && rc == SAGD_OK; j++) {
      if (j == 1 && !k->se) {
        continue;
      }
      snprintf(path, sizeof path, "%s/%s%s", group, k->ll_name, suffix[j]);
      rc = sagd_h5_write(f, path, 1, dn, buf + (size_t)j * t->nll);
    }
  }
  free(buf);
  return rc == SAGD_OK ? SAGD_OK : sagd_error_trace(rc, __FILE__, __LINE__, __func__);
}

int exp_vae_register_state(sagd_state st, sagd_vae v, size_t n, size_t C, size_t i0) {
  double *gf, *gt;
  size_t nf, nt;
  sagd_vae_sum_state(v, &gf, &nf, &gt, &nt);
  if (gf != NULL) { /* the pre-rounded sums' grids: the next update's rounding */
    SAGD_CALL(sagd_state_add(st, "reduce/grid_full", gf, nf));
    SAGD_CALL(sagd_state_add(st, "reduce/grid_theta", gt, nt));
  }
  double *xi, *rho;
  size_t nch, r;
  sagd_vae_chains(v, &xi, &rho, &nch, &r);
  SAGD_CALL(sagd_state_add_rows(st, "chains/xi", xi, n * C, r, i0 * C, nch));
  SAGD_CALL(sagd_state_add_rows(st, "chains/rho", rho, n * C, r, i0 * C, nch));
  double *tau;
  size_t nloc;
  sagd_vae_meeting_times(v, &tau, &nloc);
  if (tau != NULL) {
    SAGD_CALL(sagd_state_add_rows(st, "coupled/meeting_time", tau, n, 1, i0, nloc));
  }
  sagd_ald ald = sagd_vae_ald(v);
  if (ald != NULL) { /* the amortized map, its preconditioner and step count */
    double *phi, *rms;
    size_t len;
    uint64_t *steps;
    sagd_ald_state(ald, &phi, &rms, &len, &steps);
    SAGD_CALL(sagd_state_add(st, "ald/phi", phi, len));
    SAGD_CALL(sagd_state_add(st, "ald/rms", rms, len));
    SAGD_CALL(sagd_state_add_u64(st, "ald/steps", steps));
  }
  return SAGD_OK;
}

int exp_vae_core_alloc(exp_vae_core *s, size_t pt, size_t pp, sagd_optimizer ot,
                       sagd_optimizer op) {
  SAGD_CALLOC(s->theta, pt, "theta");
  SAGD_CALLOC(s->phi, pp, "phi");
  SAGD_CALLOC(s->theta_pre, pt, "pre-trained theta");
  SAGD_CALLOC(s->phi_pre, pp, "pre-trained phi");
  sagd_optimizer_state(ot, &s->opt_t, &s->lopt_t);
  sagd_optimizer_state(op, &s->opt_p, &s->lopt_p);
  return SAGD_OK;
}

void exp_vae_core_free(exp_vae_core *s) {
  free(s->theta);
  free(s->phi);
  free(s->theta_pre);
  free(s->phi_pre);
  s->theta = s->phi = s->theta_pre = s->phi_pre = NULL;
}

int exp_vae_core_register(sagd_state st, exp_vae_core *s, size_t pt, size_t pp) {
  SAGD_CALL(sagd_state_add_u64(st, "phase", &s->phase));
  SAGD_CALL(sagd_state_add_u64(st, "iter", &s->iter));
  SAGD_CALL(sagd_state_add_u64(st, "total", &s->total));
  SAGD_CALL(sagd_state_add(st, "theta", s->theta, pt));
  SAGD_CALL(sagd_state_add(st, "phi", s->phi, pp));
  SAGD_CALL(sagd_state_add(st, "theta_pre", s->theta_pre, pt));
  SAGD_CALL(sagd_state_add(st, "phi_pre", s->phi_pre, pp));
  SAGD_CALL(sagd_state_add(st, "optimizer_theta", s->opt_t, s->lopt_t));
  SAGD_CALL(sagd_state_add(st, "optimizer_phi", s->opt_p, s->lopt_p));
  return SAGD_OK;
}

int exp_vae_optimizers(sagd_mlp gen, sagd_mlp enc, sagd_precision prec,
                       const sagd_optimizer_type *type, const sagd_optimizer_options *opt,
                       size_t *pt, size_t *pp, sagd_optimizer *ot, sagd_optimizer *op) {
  SAGD_CALL(sagd_mlp_set_precision(gen, prec));
  SAGD_CALL(sagd_mlp_set_precision(enc, prec));
  *pt = sagd_mlp_nparams(gen);
  *pp = sagd_mlp_nparams(enc);
  SAGD_CALL(sagd_optimizer_create(type, *pt, opt, ot));
  SAGD_CALL(sagd_optimizer_create(type, *pp, opt, op));
  return SAGD_OK;
}

int exp_vae_step(sagd_optimizer ot, const double *gt, size_t pt, double *theta, sagd_optimizer op,
                 const double *gp, size_t pp, double *phi, double lr, double *gnorm) {
  double g2 = 0;
  if (gt != NULL) {
    g2 += exp_norm2(gt, pt);
    SAGD_CALL(sagd_optimizer_step(ot, lr, gt, theta));
  }
  if (gp != NULL) {
    g2 += exp_norm2(gp, pp);
    SAGD_CALL(sagd_optimizer_step(op, lr, gp, phi));
  }
  *gnorm = sqrt(g2);
  return SAGD_OK;
}

exp_vae_phase_clock exp_vae_clock(const char *name, const char *what, int digits, int every,
                                  uint64_t it0, uint64_t T, double *secs) {
  const exp_vae_phase_clock c = {.name = name,
                                 .what = what,
                                 .digits = digits,
                                 .every = every,
                                 .it0 = it0,
                                 .T = T,
                                 .t0 = exp_now(),
                                 .base = *secs,
                                 .secs = secs};
  return c;
}

int exp_vae_update_end(const sagd_run_info *info, sagd_checkpointer cp,
                       const exp_vae_phase_clock *c, exp_vae_core *s, exp_vae_trace *t,
                       const sagd_vae_stats *st, double gn, const char *extra) {
  const uint64_t it = s->iter;
  t->obj[it] = st->objective;
  t->gnorm[it] = gn;
  t->accept[it] = st->accept;
  t->meeting[it] = st->meeting;
  t->capped[it] = st->capped;
  s->iter = it + 1;
  s->total++;
  const double now = exp_now() - c->t0;
  *c->secs = c->base + now;
  t->seconds[it] = *c->secs;
  if (c->every > 0 && (s->iter % (uint64_t)c->every == 0 || s->iter == c->T)) {
    char eta[32], acc[32] = "";
    exp_format_seconds(now / (double)(s->iter - c->it0) * (double)(c->T - s->iter), eta,
                       sizeof eta);
    if (isfinite(st->accept)) {
      snprintf(acc, sizeof acc, "  accept %.3f", st->accept);
    } else if (isfinite(st->meeting)) {
      snprintf(acc, sizeof acc, "  tau %.2f capped %.0f", st->meeting, st->capped);
    }
    exp_progress(info, "%-8s %llu/%llu: %s %.*f  |g| %.3e%s%s  ETA %s\n", c->name,
                 (unsigned long long)s->iter, (unsigned long long)c->T, c->what, c->digits,
                 st->objective, gn, extra, acc, eta);
  }
  char label[96];
  snprintf(label, sizeof label, "%s %llu/%llu", c->name, (unsigned long long)s->iter,
           (unsigned long long)c->T);
  return sagd_checkpointer_tick(cp, s->total, label, 0);
}
