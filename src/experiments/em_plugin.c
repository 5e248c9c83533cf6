/* Automated EM (the target frozen per M-step) or direct MLE (the target following θ) by
 * SAGD on a user's model loaded from model.plugin (include/sagd/plugin.h). Writes
 * DIR/result.h5: the data (when the plug-in shows them), the per-update and per-M-step
 * traces, θ_M, its log-likelihood (when the plug-in knows it) and the chains. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "em_monitor.h"
#include "sagd/checkpoint.h"
#include "sagd/error.h"
#include "sagd/plugin.h"
#include "sagd/reduce.h"
#include "sagd/runfile.h"
#include "sagd/sagd.h"

/* The exact log-likelihood Σ_i log p(x_i; θ), bit-identical on any number of ranks: the
 * plug-in sums each block of sagd.block points, the blocks' sums are added exactly. */
typedef struct {
  sagd_plugin_handle h;
  MPI_Comm comm;
  size_t i0, i1, block;
  sagd_xsum acc;
} loglik_ctx;

static int loglik_(void *vc, const double *theta, double *ll) {
  loglik_ctx *c = vc;
  sagd_xsum_zero(c->acc);
  for (size_t b = c->i0; b < c->i1; b += c->block) {
    double v = 0;
    const size_t e = b + c->block < c->i1 ? b + c->block : c->i1;
    SAGD_CALL(sagd_plugin_loglik(c->h, theta, b, e, &v));
    SAGD_CALL(sagd_xsum_add_at(c->acc, 0, v));
  }
  SAGD_CALL(sagd_xsum_allreduce(c->acc, c->comm, ll));
  return SAGD_OK;
}

/* The bytes of a file, hashed: a resumed run must load the same plug-in. */
static int file_hash_(const char *path, double out[2]) {
  FILE *f = fopen(path, "rb");
  SAGD_CHECK(f != NULL, SAGD_ERR_CONFIG, "model.plugin = '%s': cannot read it", path);
  uint64_t h = 0;
  unsigned char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
    h = sagd_checksum_bytes(buf, got, h);
  }
  fclose(f);
  out[0] = (double)(h >> 32); /* two exact doubles */
  out[1] = (double)(h & 0xffffffffULL);
  return SAGD_OK;
}

static int open_plugin_(const sagd_run_info *info, sagd_plugin_handle *h) {
  sagd_config cfg = info->cfg;
  const size_t np = sagd_config_reals_len(cfg, "plugin", "params");
  double *params = NULL;
  SAGD_CALLOC(params, np, "plugin.params");
  SAGD_CALL(sagd_config_reals(cfg, "plugin", "params", params, np, np, NULL));
  sagd_plugin_args a = {info->key, sagd_config_string(cfg, "data", "file"),
                        (size_t)sagd_config_int(cfg, "data", "n"), params, np};
  int rc = sagd_plugin_load(info->comm, sagd_config_string(cfg, "model", "plugin"), &a, h);
  free(params);
  SAGD_CALL(rc);
  return SAGD_OK;
}

typedef struct {
  size_t n, r, p, C, i0, i1, d;
  const double *x; /* n × d from the plug-in's data op, or NULL */
} plugin_dims;

static int write_result_(const sagd_run_info *info, sagd_plugin_handle h, const plugin_dims *D,
                         sagd_solver solver, const exp_em_monitor *ms, const double *ck) {
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(info, "result.h5", &f));
  sagd_h5_set_checksums(f, 1);
  const sagd_plugin *pl = sagd_plugin_table(h);
  SAGD_CALL(sagd_h5_attr_string(f, "/meta", "plugin_name", pl->name));
  SAGD_CALL(sagd_h5_attr_string(f, "/meta", "plugin_path", sagd_plugin_path(h)));
  char hex[24];
  snprintf(hex, sizeof hex, "%08llx%08llx", (unsigned long long)ck[0], (unsigned long long)ck[1]);
  SAGD_CALL(sagd_h5_attr_string(f, "/meta", "plugin_hash", hex));
  if (D->x != NULL) {
    size_t dx[2] = {D->n, D->d};
    SAGD_CALL(sagd_h5_write(f, "/data/x", 2, dx, D->x));
  }
  SAGD_CALL(exp_em_monitor_write(ms, f, "/trace/sagd"));
  size_t dp[1] = {D->p};
  SAGD_CALL(sagd_h5_write(f, "/results/sagd_theta", 1, dp, exp_em_monitor_theta(ms)));
  double ll = exp_em_monitor_loglik(ms);
  SAGD_CALL(sagd_h5_write(f, "/results/sagd_loglik", 0, NULL, &ll));
  double *xi, *rho;
  size_t nch, r;
  sagd_solver_chains(solver, &xi, &rho, &nch, &r);
  SAGD_CALL(sagd_h5_write_rows(f, "/chains/xi", D->n * D->C, r, D->i0 * D->C, nch, xi));
  SAGD_CALL(sagd_h5_write_rows(f, "/chains/rho", D->n * D->C, r, D->i0 * D->C, nch, rho));
  SAGD_CALL(sagd_runfile_commit(info, "result.h5", 0, &f));
  return SAGD_OK;
}

/* Everything a run holds, released in one place however the run ends. The model owns the
 * plug-in's context once made, so it goes before the handle. */
typedef struct {
  sagd_plugin_handle h;
  double *theta0, *lo, *hi;
  sagd_optimizer opt;
  sagd_model model;
  sagd_solver solver;
  loglik_ctx lc;
  exp_em_monitor ms;
  sagd_state st;
  sagd_em em;
  sagd_checkpointer cp;
} em_plugin_res;

static void em_plugin_res_free_(em_plugin_res *R) {
  sagd_checkpointer_destroy(&R->cp);
  sagd_em_destroy(&R->em);
  sagd_state_destroy(&R->st);
  exp_em_monitor_free(&R->ms);
  sagd_xsum_destroy(&R->lc.acc);
  sagd_solver_destroy(&R->solver);
  sagd_model_destroy(&R->model);
  sagd_optimizer_destroy(&R->opt);
  sagd_plugin_unload(&R->h);
  free(R->theta0);
  free(R->lo);
  free(R->hi);
}

static int em_plugin_body_(const sagd_run_info *info, em_plugin_res *R) {
  sagd_config cfg = info->cfg;
  /* 1. the plug-in and everything that can be wrong with the input, before any output */
  SAGD_CALL(open_plugin_(info, &R->h));
  sagd_plugin_handle h = R->h;
  const sagd_plugin *pl = sagd_plugin_table(h);
  plugin_dims D = {0};
  sagd_plugin_dims(h, &D.n, &D.r, &D.p);
  SAGD_CALLOC(R->theta0, D.p, "theta0");
  SAGD_CALLOC(R->lo, D.p, "lower bounds");
  SAGD_CALLOC(R->hi, D.p, "upper bounds");
  double *theta0 = R->theta0, *lo = R->lo, *hi = R->hi;
  SAGD_CALL(sagd_plugin_defaults(h, theta0, lo, hi));
  SAGD_CALL(exp_theta_box(cfg, D.p, theta0, lo, hi));
  double data_ck[2] = {0, 0}, data_ck_saved[2], plugin_ck[2], plugin_ck_saved[2];
  if (pl->data != NULL) {
    SAGD_CALL(sagd_plugin_data(h, &D.x, &D.d));
    SAGD_CALL(exp_checksum_pair(D.x, D.n * D.d, data_ck));
  }
  SAGD_CALL(file_hash_(sagd_plugin_path(h), plugin_ck));
  sagd_schedule sched;
  SAGD_CALL(exp_schedule_from_config(cfg, &sched));
  const sagd_sampler_type *stype = NULL;
  double gamma = 0;
  SAGD_CALL(exp_sampler_from_config(cfg, &stype, &gamma));
  SAGD_CALL(exp_optimizer_from_config(cfg, D.p, lo, hi, &R->opt));
  sagd_optimizer opt = R->opt;
  const char *result = sagd_config_string(cfg, "em", "result");
  SAGD_CHECK(strcmp(result, "last") == 0 || strcmp(result, "average") == 0, SAGD_ERR_CONFIG,
             "em.result = '%s': expected 'last' or 'average'", result);
  const char *target = sagd_config_string(cfg, "em", "target");
  SAGD_CHECK(strcmp(target, "frozen") == 0 || strcmp(target, "follow") == 0, SAGD_ERR_CONFIG,
             "em.target = '%s': expected 'frozen' (automated EM) or 'follow' (direct MLE)",
             target);
  const char *clock = sagd_config_string(cfg, "sagd", "clock");
  SAGD_CHECK(strcmp(clock, "mstep") == 0 || strcmp(clock, "run") == 0, SAGD_ERR_CONFIG,
             "sagd.clock = '%s': expected 'mstep' or 'run'", clock);
  const int global_clock = strcmp(clock, "run") == 0, follow = strcmp(target, "follow") == 0;
  D.C = (size_t)sagd_config_int(cfg, "sagd", "chains");
  const size_t block = (size_t)sagd_config_int(cfg, "sagd", "block");
  sagd_em_options emo = {(uint64_t)sagd_config_int(cfg, "em", "msteps"),
                         (uint64_t)sagd_config_int(cfg, "em", "updates"),
                         strcmp(result, "average") == 0};
  const uint64_t burnin = (uint64_t)sagd_config_int(cfg, "sagd", "burnin");

  /* 2. model on this rank's shard, solver (the chains and traces must fit first) */
  sagd_shard_range(D.n, block, info->rank, info->size, &D.i0, &D.i1);
  const double nstates = (double)(D.i1 - D.i0) * (double)D.C * (double)D.r;
  const exp_mem_item items[] = {
      {"chains", "sagd.chains and the plug-in's n, r", 8 * 2 * nstates},
      {"traces", "em.msteps, em.updates",
       8 * ((double)emo.msteps * (double)emo.updates + 1) * ((double)D.p + 5)},
  };
  SAGD_CALL(exp_check_memory(info, items, sizeof items / sizeof items[0]));
  SAGD_CALL(sagd_plugin_model(h, D.i0, D.i1, &R->model));
  sagd_model model = R->model;
  sagd_solver_options so = {D.C, stype, gamma, block, info->key};
  SAGD_CALL(sagd_solver_create(info->comm, model, &so, &R->solver));
  sagd_solver solver = R->solver;
  loglik_ctx *lc = &R->lc;
  *lc = (loglik_ctx){h, info->comm, D.i0, D.i1, block, NULL};
  SAGD_CALL(sagd_xsum_create(1, &lc->acc));
  exp_progress(info,
               "em_plugin: plug-in '%s' (%s): %s; n = %zu, r = %zu, p = %zu, %d rank(s), %zu "
               "chain(s) per point, %llu M-step(s) x %llu updates, target %s, schedule %s, "
               "sampler %s, seed %llu, replication %llu\n",
               pl->name, sagd_plugin_path(h), pl->summary ? pl->summary : "", D.n, D.r, D.p,
               info->size, D.C, (unsigned long long)emo.msteps, (unsigned long long)emo.updates,
               follow ? "following theta (direct MLE)" : "frozen per M-step (EM)",
               sched.type->name, stype->name, (unsigned long long)info->key.seed,
               (unsigned long long)info->key.replication);

  /* 3. the resumable state: the EM loop, its traces and clock, the chains, and checksums
   * of the data and of the plug-in (a resumed run must see the same of both) */
  exp_em_monitor *ms = &R->ms;
  exp_em_monitor_options mo = {"sagd",  D.p,        pl->loglik ? loglik_ : NULL,
                               lc,      NULL,       &sched,
                               emo.msteps, emo.updates, burnin,
                               (double)(D.n * D.C), global_clock};
  SAGD_CALL(exp_em_monitor_init(ms, info, &mo));
  sagd_estimator_sagd_ctx sctx = {solver, &sched, burnin, NULL, global_clock, follow};
  SAGD_CALL(sagd_state_create(&R->st));
  sagd_state st = R->st;
  SAGD_CALL(sagd_em_create(&sagd_estimator_sagd, &sctx, opt, &sched, &emo, D.p, theta0, &R->em));
  sagd_em em = R->em;
  SAGD_CALL(exp_em_monitor_register(ms, em, st));
  double *xi, *rho;
  size_t nch, r;
  sagd_solver_chains(solver, &xi, &rho, &nch, &r);
  SAGD_CALL(sagd_state_add_rows(st, "chains/xi", xi, D.n * D.C, r, D.i0 * D.C, nch));
  SAGD_CALL(sagd_state_add_rows(st, "chains/rho", rho, D.n * D.C, r, D.i0 * D.C, nch));
  memcpy(data_ck_saved, data_ck, sizeof data_ck);
  memcpy(plugin_ck_saved, plugin_ck, sizeof plugin_ck);
  SAGD_CALL(sagd_state_add(st, "data/checksum", data_ck_saved, 2));
  SAGD_CALL(sagd_state_add(st, "plugin/checksum", plugin_ck_saved, 2));
  SAGD_CALL(sagd_checkpointer_create(info, st, &R->cp));
  sagd_checkpointer cp = R->cp;
  ms->cp = cp;
  int resumed = 0;
  SAGD_CALL(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
  SAGD_CHECK(!resumed || memcmp(plugin_ck, plugin_ck_saved, sizeof plugin_ck) == 0,
             SAGD_ERR_DATA,
             "model.plugin = '%s' is not the shared object the checkpoint was written with "
             "(rebuilt or replaced?): cannot resume; start over with --resume never --force",
             sagd_plugin_path(h));
  SAGD_CHECK(!resumed || memcmp(data_ck, data_ck_saved, sizeof data_ck) == 0, SAGD_ERR_DATA,
             "the plug-in's data differ from those the checkpoint was written with (data.file "
             "changed?): cannot resume; start over with --resume never --force");

  /* 4. the SAGD path */
  exp_em_boundary_ctx bs = {cp, "sagd", 0, emo.msteps, emo.updates};
  SAGD_CALL(sagd_em_continue(em, exp_em_monitor_update, ms, exp_em_boundary, &bs));

  /* 5. result file, summary */
  SAGD_CALL(write_result_(info, h, &D, solver, ms, plugin_ck));
  char th[160];
  exp_theta_text_generic(exp_em_monitor_theta(ms), D.p, 6, th, sizeof th);
  exp_progress(info, "em_plugin summary: %s; loglik = %.6f\n", th, exp_em_monitor_loglik(ms));
  exp_report_written(info, cp, resumed);
  return SAGD_OK;
}

static int em_plugin_run_(const sagd_run_info *info) {
  em_plugin_res R;
  memset(&R, 0, sizeof R);
  int rc = em_plugin_body_(info, &R);
  em_plugin_res_free_(&R);
  return rc;
}

/* The keys em_plugin reads (its own, the schedule, sampler, optimizer and box in common.c). */
static const char *const em_plugin_reads_[] = {
    SAGD_EXPERIMENT_COMMON_READS, "data.n", "data.file", "model.plugin", "plugin.params",
    "model.theta0", "model.lower", "model.upper", "em.msteps", "em.updates", "em.result",
    "em.target", "sagd.sampler", "sagd.chains", "sagd.schedule", "sagd.clock",
    "sagd.burnin", "sagd.optimizer", "sagd.block", NULL};

const sagd_experiment_type sagd_experiment_em_plugin = {
    .name = "em_plugin",
    .summary = "automated EM or direct MLE by SAGD on a user's model (model.plugin)",
    .run = em_plugin_run_,
    .reads = em_plugin_reads_};
