/* The automated-EM experiment of the SAGD paper (Figure 1): the Gamma-sigmoid model fitted
 * by EM whose M-steps run SAGD, next to the same EM loop with exact (quadrature) gradients,
 * and the quadrature MLE. Writes DIR/result.h5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tables.h"
#include "em_monitor.h"
#include "sagd/checkpoint.h"
#include "sagd/error.h"
#include "sagd/gamma.h"
#include "sagd/runfile.h"
#include "sagd/sagd.h"

/* ---- the exact estimator: posterior expectations by Gauss–Hermite quadrature -------- */

typedef struct {
  sagd_gamma_quad q;
  const double *target;
} exact_ctx;

static int exact_restore_target_(void *c, const double *theta_target) {
  ((exact_ctx *)c)->target = theta_target;
  return SAGD_OK;
}

static int exact_set_target_(void *c, const double *theta_target, uint64_t mstep,
                             uint64_t t_next) {
  (void)mstep;
  (void)t_next;
  return exact_restore_target_(c, theta_target);
}

static int exact_gradient_(void *c, const double *theta, uint64_t t, uint64_t t_global,
                           double *g) {
  (void)t;
  (void)t_global;
  exact_ctx *e = c;
  SAGD_CALL(sagd_gamma_quad_qgrad(e->q, e->target, theta, g));
  return SAGD_OK;
}

static const sagd_estimator_type exact_estimator_ = {"exact", exact_set_target_,
                                                     exact_gradient_, exact_restore_target_};

/* ---- the monitor's view of this model: the quadrature log-likelihood, θ as (a, b) ---- */

static int quad_loglik_(void *q, const double *theta, double *ll) {
  SAGD_CALL(sagd_gamma_quad_loglik(q, theta, ll, NULL));
  return SAGD_OK;
}

static void ab_text_(const double *theta, size_t p, int digits, char *buf, size_t cap) {
  (void)p;
  snprintf(buf, cap, "a = %+.*f  b = %+.*f", digits, theta[0], digits, theta[1]);
}

/* ---- data: synthetic (every rank generates the same full set) or from a file ---------- */

static int load_data_(const sagd_run_info *info, double **x, double **z, size_t *n) {
  sagd_config cfg = info->cfg;
  const char *file = sagd_config_string(cfg, "data", "file");
  *z = NULL;
  if (file[0] != '\0') {
    SAGD_CALL(sagd_read_text_data(file, x, n));
  } else {
    *n = (size_t)sagd_config_int(cfg, "data", "n");
    SAGD_CALLOC(*x, *n, "data x");
    SAGD_CALLOC(*z, *n, "data z");
    SAGD_CALL(sagd_gamma_generate(info->key, sagd_config_real(cfg, "data", "a"),
                                  sagd_config_real(cfg, "data", "b"),
                                  sagd_config_real(cfg, "data", "shape_scale"), 0, *n, *x,
                                  *z));
  }
  int rc = sagd_gamma_check_data(*x, *n, 0);
  if (rc != SAGD_OK) {
    free(*x);
    free(*z);
    *x = *z = NULL;
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  return SAGD_OK;
}

/* Distance to the MLE up to the symmetry b <-> -b, max over (a, b): the figure the issue's
 * tolerance is stated in. */
static double mle_dist_(const double *theta, const double *mle) {
  double d1 = fmax(fabs(theta[0] - mle[0]), fabs(theta[1] - mle[1]));
  double d2 = fmax(fabs(theta[0] - mle[0]), fabs(theta[1] + mle[1]));
  return fmin(d1, d2);
}

/* The rate of exact EM near the MLE: the spectral radius λ of the Jacobian of the M-step
 * map θ_k → θ_{k+1} (this run's M-step: T updates of the exact gradient with the configured
 * optimizer and schedule), by central differences at the MLE. For a fully maximised M-step λ
 * is the largest fraction of missing information (Dempster, Laird & Rubin 1977). */
static int em_rate_(const sagd_em_options *emo, sagd_optimizer opt, const sagd_schedule *sched,
                    sagd_gamma_quad q, const double *mle, double *lambda) {
  sagd_em_options one = *emo;
  one.msteps = 1;
  exact_ctx ectx = {q, NULL};
  const double h = 1e-4;
  double J[2][2];
  for (int j = 0; j < 2; j++) {
    double tp[2] = {mle[0], mle[1]}, tm[2] = {mle[0], mle[1]};
    tp[j] += h;
    tm[j] -= h;
    SAGD_CALL(sagd_em_run(&exact_estimator_, &ectx, opt, sched, &one, 2, tp, NULL, NULL));
    SAGD_CALL(sagd_em_run(&exact_estimator_, &ectx, opt, sched, &one, 2, tm, NULL, NULL));
    J[0][j] = (tp[0] - tm[0]) / (2 * h);
    J[1][j] = (tp[1] - tm[1]) / (2 * h);
  }
  /* eigenvalues of a 2×2 matrix: tr/2 ± sqrt(tr²/4 - det) (complex pair: |λ| = sqrt(det)) */
  const double tr = J[0][0] + J[1][1], det = J[0][0] * J[1][1] - J[0][1] * J[1][0];
  const double disc = tr * tr / 4 - det;
  *lambda = disc >= 0 ? fabs(tr / 2) + sqrt(disc) : sqrt(det);
  return SAGD_OK;
}

/* Rank 0: how far both paths ended from the MLE, how fast exact EM converges near it and,
 * when the exact path is still more than 1e-2 away, how many more M-steps that rate needs:
 * on some data sets even exact EM needs many more than 30 (README, "Figure 1"). */
static void report_convergence_(const sagd_run_info *info, double lambda,
                                const double *theta_s, const double *theta_e,
                                const double *mle) {
  const double ds = mle_dist_(theta_s, mle), de = mle_dist_(theta_e, mle);
  char more[120] = "";
  if (de > 1e-2 && lambda > 0 && lambda < 1) {
    snprintf(more, sizeof more, "; about %.0f more M-steps to reach 1e-2",
             ceil(log(1e-2 / de) / log(lambda)));
  }
  exp_progress(info,
               "em_gamma convergence: max |theta - MLE| over (a,b): SAGD %.3e, exact %.3e; "
               "exact EM contracts by %.3f per M-step near the MLE%s\n",
               ds, de, lambda, more);
}

static int write_result_(const sagd_run_info *info, const double *x, const double *z,
                         size_t n, sagd_solver solver, sagd_model model, size_t C,
                         const exp_em_monitor *ms, const exp_em_monitor *me, int exact,
                         const double *mle, double llmax, double em_rate) {
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(info, "result.h5", &f));
  sagd_h5_set_checksums(f, 1); /* every result dataset carries a Fletcher32 checksum */
  size_t dn[1] = {n}, d2[1] = {2};
  SAGD_CALL(sagd_h5_write(f, "/data/x", 1, dn, x));
  if (z != NULL) {
    SAGD_CALL(sagd_h5_write(f, "/data/z", 1, dn, z));
  }
  SAGD_CALL(exp_em_monitor_write(ms, f, "/trace/sagd"));
  SAGD_CALL(sagd_h5_write(f, "/results/sagd_theta", 1, d2, exp_em_monitor_theta(ms)));
  double ll = exp_em_monitor_loglik(ms);
  SAGD_CALL(sagd_h5_write(f, "/results/sagd_loglik", 0, NULL, &ll));
  if (exact) {
    SAGD_CALL(exp_em_monitor_write(me, f, "/trace/exact"));
    SAGD_CALL(sagd_h5_write(f, "/results/exact_theta", 1, d2, exp_em_monitor_theta(me)));
    ll = exp_em_monitor_loglik(me);
    SAGD_CALL(sagd_h5_write(f, "/results/exact_loglik", 0, NULL, &ll));
    SAGD_CALL(sagd_h5_write(f, "/results/mle", 1, d2, mle));
    SAGD_CALL(sagd_h5_write(f, "/results/max_loglik", 0, NULL, &llmax));
    SAGD_CALL(sagd_h5_write(f, "/results/em_rate", 0, NULL, &em_rate));
  }
  /* final chain states, rows indexed by global chain id */
  double *xi, *rho;
  size_t nch, r;
  sagd_solver_chains(solver, &xi, &rho, &nch, &r);
  SAGD_CALL(sagd_h5_write_rows(f, "/chains/xi", n * C, r, model->i_begin * C, nch, xi));
  SAGD_CALL(sagd_h5_write_rows(f, "/chains/rho", n * C, r, model->i_begin * C, nch, rho));
  SAGD_CALL(sagd_runfile_commit(info, "result.h5", 0, &f));
  return SAGD_OK;
}

/* What the run will hold per rank, from the config alone (before anything is allocated):
 * the data set on every rank (x, z, the quadrature's x and log x), the shard's model copy,
 * the chains, and both paths' traces. */
static int check_memory_(const sagd_run_info *info) {
  sagd_config cfg = info->cfg;
  const double n = (double)sagd_config_int(cfg, "data", "n");
  const double C = (double)sagd_config_int(cfg, "sagd", "chains");
  const double blk = (double)sagd_config_int(cfg, "sagd", "block");
  const double nloc = (ceil(ceil(n / blk) / info->size)) * blk;
  const double rows = (double)sagd_config_int(cfg, "em", "msteps") *
                          (double)sagd_config_int(cfg, "em", "updates") + 1;
  const exp_mem_item items[] = {
      {"data", "data.n", 8 * (4 * n + 2 * fmin(nloc, n))},
      {"chains", "data.n, sagd.chains", 8 * 2 * fmin(nloc, n) * C + 8 * 2 * blk * C},
      {"traces", "em.msteps, em.updates", 2 * 8 * 7 * rows},
  };
  SAGD_CALL(exp_check_memory(info, items, sizeof items / sizeof items[0]));
  return SAGD_OK;
}

/* Everything a run holds, released in one place however the run ends (done, bad input,
 * stopped by a signal, failed). */
typedef struct {
  double *x, *z;
  sagd_optimizer opt_s, opt_e;
  sagd_model model;
  sagd_solver solver;
  sagd_gamma_quad q;
  exp_em_monitor ms, me;
  sagd_state st;
  sagd_em em_s, em_e;
  sagd_checkpointer cp;
} em_gamma_res;

static void em_gamma_res_free_(em_gamma_res *R) {
  sagd_checkpointer_destroy(&R->cp);
  sagd_em_destroy(&R->em_s);
  sagd_em_destroy(&R->em_e);
  sagd_state_destroy(&R->st);
  exp_em_monitor_free(&R->ms);
  exp_em_monitor_free(&R->me);
  sagd_gamma_quad_destroy(&R->q);
  sagd_solver_destroy(&R->solver);
  sagd_model_destroy(&R->model);
  sagd_optimizer_destroy(&R->opt_s);
  sagd_optimizer_destroy(&R->opt_e);
  free(R->x);
  free(R->z);
}

static int em_gamma_body_(const sagd_run_info *info, em_gamma_res *R) {
  sagd_config cfg = info->cfg;
  /* 1. everything that can be wrong with the input, before anything is written */
  /* (a, b) from (0, 1) in [-20, 20]^2 unless model.theta0/lower/upper say otherwise */
  double theta0[2] = {0, 1}, lo[2] = {-20, -20}, hi[2] = {20, 20};
  SAGD_CALL(exp_theta_box(cfg, 2, theta0, lo, hi));
  sagd_schedule sched;
  SAGD_CALL(exp_schedule_from_config(cfg, &sched));
  const sagd_sampler_type *stype = NULL;
  double gamma = 0;
  SAGD_CALL(exp_sampler_from_config(cfg, &stype, &gamma));
  const char *result = sagd_config_string(cfg, "em", "result");
  SAGD_CHECK(strcmp(result, "last") == 0 || strcmp(result, "average") == 0, SAGD_ERR_CONFIG,
             "em.result = '%s': expected 'last' or 'average'", result);
  int64_t nodes = sagd_config_int(cfg, "exact", "nodes");
  SAGD_CHECK(nodes >= 64, SAGD_ERR_CONFIG,
             "exact.nodes = %lld: expected at least 64 Gauss-Hermite nodes", (long long)nodes);
  const char *clock = sagd_config_string(cfg, "sagd", "clock");
  SAGD_CHECK(strcmp(clock, "mstep") == 0 || strcmp(clock, "run") == 0, SAGD_ERR_CONFIG,
             "sagd.clock = '%s': expected 'mstep' or 'run'", clock);
  if (sagd_config_string(cfg, "data", "file")[0] == '\0') {
    SAGD_CALL(check_memory_(info));
  }
  /* the config checked, the data (which free themselves if they are bad) */
  size_t n = 0;
  SAGD_CALL(load_data_(info, &R->x, &R->z, &n));
  double *x = R->x, *z = R->z;
  SAGD_CALL(exp_optimizer_from_config(cfg, 2, lo, hi, &R->opt_s));
  SAGD_CALL(exp_optimizer_from_config(cfg, 2, lo, hi, &R->opt_e));
  sagd_optimizer opt_s = R->opt_s, opt_e = R->opt_e;
  double S = sagd_config_real(cfg, "data", "shape_scale");
  size_t C = (size_t)sagd_config_int(cfg, "sagd", "chains");
  size_t block = (size_t)sagd_config_int(cfg, "sagd", "block");
  sagd_em_options emo = {(uint64_t)sagd_config_int(cfg, "em", "msteps"),
                         (uint64_t)sagd_config_int(cfg, "em", "updates"),
                         strcmp(result, "average") == 0};
  uint64_t burnin = (uint64_t)sagd_config_int(cfg, "sagd", "burnin");
  int exact = sagd_config_bool(cfg, "exact", "enabled");

  /* 2. model on this rank's shard, solver, quadrature reference */
  size_t i0, i1;
  sagd_shard_range(n, block, info->rank, info->size, &i0, &i1);
  SAGD_CALL(sagd_gamma_model_create(x + i0, n, i0, i1, S, &R->model));
  sagd_model model = R->model;
  sagd_solver_options so = {C, stype, gamma, block, info->key};
  SAGD_CALL(sagd_solver_create(info->comm, model, &so, &R->solver));
  sagd_solver solver = R->solver;
  SAGD_CALL(sagd_gamma_quad_create(x, n, (size_t)nodes, S, &R->q));
  sagd_gamma_quad q = R->q;

  exp_progress(info,
               "em_gamma: n = %zu, %d rank(s), %zu chain(s) per point, %llu M-steps x %llu "
               "updates, schedule %s, sampler %s, seed %llu, replication %llu\n",
               n, info->size, C, (unsigned long long)emo.msteps,
               (unsigned long long)emo.updates, sched.type->name, stype->name,
               (unsigned long long)info->key.seed, (unsigned long long)info->key.replication);

  /* 3. SAGD path */
  exp_em_monitor *ms = &R->ms, *me = &R->me;
  const int global_clock = strcmp(clock, "run") == 0;
  exp_em_monitor_options mo = {"sagd",      2,           quad_loglik_,   q,
                               ab_text_,    &sched,      emo.msteps,     emo.updates,
                               burnin,      (double)(n * C), global_clock};
  SAGD_CALL(exp_em_monitor_init(ms, info, &mo));
  sagd_estimator_sagd_ctx sctx = {solver, &sched, burnin, NULL, global_clock, 0};
  mo.method = "exact";
  mo.burnin = 0;
  mo.chains = 0;
  mo.global_clock = 0;
  SAGD_CALL(exp_em_monitor_init(me, info, &mo));
  exact_ctx ectx = {q, NULL};

  /* 3a. the resumable state: both EM loops with their traces and clocks, the chains (rows by
   * global chain id), and a checksum of the data (a resumed run must see the same data) */
  SAGD_CALL(sagd_state_create(&R->st));
  sagd_state st = R->st;
  SAGD_CALL(sagd_em_create(&sagd_estimator_sagd, &sctx, opt_s, &sched, &emo, 2, theta0,
                           &R->em_s));
  sagd_em em_s = R->em_s, em_e = NULL;
  SAGD_CALL(exp_em_monitor_register(ms, em_s, st));
  if (exact) {
    SAGD_CALL(sagd_em_create(&exact_estimator_, &ectx, opt_e, &sched, &emo, 2, theta0,
                             &R->em_e));
    em_e = R->em_e;
    SAGD_CALL(exp_em_monitor_register(me, em_e, st));
  }
  double *xi, *rho;
  size_t nch, r;
  sagd_solver_chains(solver, &xi, &rho, &nch, &r);
  SAGD_CALL(sagd_state_add_rows(st, "chains/xi", xi, n * C, r, i0 * C, nch));
  SAGD_CALL(sagd_state_add_rows(st, "chains/rho", rho, n * C, r, i0 * C, nch));
  double data_ck[2], data_ck_saved[2];
  SAGD_CALL(exp_checksum_pair(x, n, data_ck));
  memcpy(data_ck_saved, data_ck, sizeof data_ck);
  SAGD_CALL(sagd_state_add(st, "data/checksum", data_ck_saved, 2));
  SAGD_CALL(sagd_checkpointer_create(info, st, &R->cp));
  sagd_checkpointer cp = R->cp;
  ms->cp = me->cp = cp;
  int resumed = 0;
  SAGD_CALL(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
  SAGD_CHECK(!resumed || memcmp(data_ck, data_ck_saved, sizeof data_ck) == 0, SAGD_ERR_DATA,
             "the data differ from those the checkpoint was written with (data.file changed?): "
             "cannot resume; start over with --resume never --force");

  /* 3b. SAGD path (checkpoint iterations 0..M*T), then the exact path (M*T..2*M*T) */
  exp_em_boundary_ctx bs = {cp, "sagd", 0, emo.msteps, emo.updates};
  SAGD_CALL(sagd_em_continue(em_s, exp_em_monitor_update, ms, exp_em_boundary, &bs));
  double theta_s[2] = {sagd_em_theta(em_s)[0], sagd_em_theta(em_s)[1]};

  /* 4. exact path and MLE */
  double theta_e[2] = {theta0[0], theta0[1]}, mle[2] = {NAN, NAN}, llmax = NAN, lambda = NAN;
  if (exact) {
    exp_em_boundary_ctx be = {cp, "exact", emo.msteps * emo.updates, emo.msteps, emo.updates};
    SAGD_CALL(sagd_em_continue(em_e, exp_em_monitor_update, me, exp_em_boundary, &be));
    memcpy(theta_e, sagd_em_theta(em_e), sizeof theta_e);
    SAGD_CALL(sagd_gamma_quad_mle(q, theta_e, mle, &llmax));
    if (mle[1] * theta_e[1] < 0) { /* p(x; a, b) = p(x; a, -b): report the path's sign */
      mle[1] = -mle[1];
    }
    SAGD_CALL(em_rate_(&emo, opt_e, &sched, q, mle, &lambda));
  }

  /* 5. result file, summary */
  SAGD_CALL(write_result_(info, x, z, n, solver, model, C, ms, me, exact, mle, llmax, lambda));
  double ll_s = exp_em_monitor_loglik(ms);
  if (exact) {
    exp_progress(info,
                 "em_gamma summary: SAGD (a,b) = (%.6f, %.6f); exact (a,b) = (%.6f, %.6f); "
                 "MLE (a,b) = (%.6f, %.6f); loglik gap (max - SAGD) = %.3e; |SAGD - exact| = "
                 "%.3e\n",
                 theta_s[0], theta_s[1], theta_e[0], theta_e[1], mle[0], mle[1], llmax - ll_s,
                 hypot(theta_s[0] - theta_e[0], theta_s[1] - theta_e[1]));
    report_convergence_(info, lambda, theta_s, theta_e, mle);
  } else {
    exp_progress(info, "em_gamma summary: SAGD (a,b) = (%.6f, %.6f); loglik = %.6f\n",
                 theta_s[0], theta_s[1], ll_s);
  }
  exp_report_written(info, cp, resumed);
  return SAGD_OK;
}

static int em_gamma_run_(const sagd_run_info *info) {
  em_gamma_res R;
  memset(&R, 0, sizeof R);
  int rc = em_gamma_body_(info, &R);
  em_gamma_res_free_(&R);
  return rc;
}

/* The keys em_gamma reads (its own, the schedule, sampler, optimizer and box in common.c). */
static const char *const em_gamma_reads_[] = {
    SAGD_EXPERIMENT_COMMON_READS, "data.n", "data.a", "data.b", "data.shape_scale", "data.file",
    "model.theta0", "model.lower", "model.upper", "em.msteps", "em.updates", "em.result",
    "exact.enabled", "exact.nodes", "sagd.sampler", "sagd.chains",
    "sagd.schedule", "sagd.clock", "sagd.burnin", "sagd.optimizer", "sagd.block", NULL};

const sagd_experiment_type sagd_experiment_em_gamma = {
    .name = "em_gamma",
    .summary = "automated EM on the Gamma-sigmoid model (paper Figure 1)",
    .run = em_gamma_run_,
    .reads = em_gamma_reads_,
    .table = &exp_em_gamma_table,
    .table_read = exp_em_gamma_table_read};
