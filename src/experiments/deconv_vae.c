/* The debiased-VAE experiment of the SAGD paper (Table 1 and the high-dimensional run):
 * X = h_θ(U) + e with an MLP generator and a Gaussian MLP encoder; a VAE is pre-trained, then
 * fine-tuned from the SAME pre-trained (θ, φ) by each configured method (vae, iwae, hmc,
 * sagd, coupled, ald). After each phase, m generated values h_θ(U) (the same U for every method)
 * are compared with the latent truth by the Kolmogorov–Smirnov distance and W1 (per dimension), and
 * for the 1-D model the true log-likelihood is computed by quadrature (also traced during
 * fine-tuning). Writes DIR/result.h5 and prints a Markdown table.
 *
 * Every piece of run state lives in flat buffers registered with the checkpoint registry
 * (θ, φ, the pre-trained snapshot, optimizer moments, chains, traces, per-phase results,
 * counters), so any phase resumes bit-identically from a checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tables.h"
#include "vae_common.h"
#include "sagd/checkpoint.h"
#include "sagd/deconv.h"
#include "sagd/error.h"
#include "sagd/model.h"
#include "sagd/nn.h"
#include "sagd/registry.h"
#include "sagd/runfile.h"
#include "sagd/stats.h"
#include "sagd/vae.h"

#define MAX_LAYERS 16
#define NPHASE (SAGD_VAE_METHODS_MAX + 1)
/* The per-phase arrays of the checkpoint hold max(5, phases): 5 (pre-training and the four
 * original methods) keeps checkpoints of earlier versions resumable, bit for bit. */
#define DV_STATE_PHASES(c) ((c)->nm + 1 > 5 ? (size_t)(c)->nm + 1 : (size_t)5)

/* ---- configuration ---------------------------------------------------------------------- */

/* What a fine-tuning reports (vae.result): its last iterate, the mean of its iterates, or the
 * mean of their second half. */
typedef enum { DV_LAST, DV_AVERAGE, DV_TAIL } dv_result;

typedef struct {
  const sagd_truth_type *truth;
  size_t n, p, r;
  size_t gw[MAX_LAYERS + 1], ngw; /* generator widths (ngw entries) */
  size_t ew[MAX_LAYERS + 1], new_; /* encoder widths */
  const sagd_activation_type *act;
  sagd_precision precision;
  uint64_t pre_epochs, ft_epochs, batches;
  double pre_lr, ft_lr;
  const sagd_vae_method_type *methods[SAGD_VAE_METHODS_MAX];
  size_t nm;
  sagd_vae_options vo;
  const sagd_optimizer_type *otype;
  sagd_optimizer_options oopt; /* Adam's betas; no box */
  size_t msamples, nodes;
  uint64_t ll_every;
  int loglik; /* 1-D model: true log-likelihood by quadrature */
  dv_result result; /* vae.result */
  int estimate;
  int every;
} dv_config;

/* A list of layer widths: integers >= 1, at least 2 entries. */
static int widths_(sagd_config cfg, const char *key, size_t *w, size_t *nw) {
  double v[MAX_LAYERS + 1];
  size_t n = 0;
  SAGD_CALL(sagd_config_reals(cfg, "model", key, v, 2, MAX_LAYERS + 1, &n));
  for (size_t i = 0; i < n; i++) {
    SAGD_CHECK(v[i] == floor(v[i]), SAGD_ERR_CONFIG,
               "model.%s[%zu] = %g: expected an integer layer width", key, i, v[i]);
    SAGD_CHECK(v[i] >= 1 && v[i] <= 1e6, SAGD_ERR_CONFIG,
               "model.%s[%zu] = %g: expected a layer width between 1 and 1000000", key, i,
               v[i]);
    w[i] = (size_t)v[i];
  }
  *nw = n;
  return SAGD_OK;
}

static int read_config_(const sagd_run_info *info, dv_config *c) {
  sagd_config cfg = info->cfg;
  memset(c, 0, sizeof *c);
  const char *tn = sagd_config_string(cfg, "data", "truth");
  c->truth = sagd_truth_find(tn);
  char known[256];
  SAGD_CHECK(c->truth != NULL, SAGD_ERR_CONFIG, "data.truth = '%s': expected one of %s", tn,
             sagd_registry_names(SAGD_REGISTRY(sagd_truth_list()), known, sizeof known));
  c->n = (size_t)sagd_config_int(cfg, "data", "n");
  c->p = (size_t)sagd_config_int(cfg, "data", "dim");
  SAGD_CALL(widths_(cfg, "generator", c->gw, &c->ngw));
  SAGD_CALL(widths_(cfg, "encoder", c->ew, &c->new_));
  c->r = c->gw[0];
  SAGD_CHECK(c->ew[0] == c->p, SAGD_ERR_CONFIG,
             "model.encoder: input width %zu differs from the data dimension data.dim = %zu",
             c->ew[0], c->p);
  SAGD_CHECK(c->ew[c->new_ - 1] == 2 * c->r, SAGD_ERR_CONFIG,
             "model.encoder: output width %zu, expected 2 x the latent dimension "
             "model.generator[0] = %zu, i.e. %zu (mean and log-variance)",
             c->ew[c->new_ - 1], c->r, 2 * c->r);
  const char *an = sagd_config_string(cfg, "model", "activation");
  c->act = sagd_activation_find(an);
  SAGD_CHECK(c->act != NULL, SAGD_ERR_CONFIG, "model.activation = '%s': expected one of %s", an,
             sagd_registry_names(SAGD_REGISTRY(sagd_activation_list()), known, sizeof known));
  SAGD_CALL(exp_vae_precision(cfg, &c->precision));
  const char *lname = sagd_config_string(cfg, "model", "likelihood");
  c->vo.likelihood = sagd_likelihood_find(lname);
  SAGD_CHECK(c->vo.likelihood != NULL, SAGD_ERR_CONFIG,
             "model.likelihood = '%s': expected one of %s", lname,
             sagd_registry_names(SAGD_REGISTRY(sagd_likelihood_list()), known, sizeof known));
  const size_t k = c->vo.likelihood->outputs;
  SAGD_CHECK(c->gw[c->ngw - 1] == k * c->p, SAGD_ERR_CONFIG,
             "model.generator: output width %zu, expected %s data.dim = %zu%s", c->gw[c->ngw - 1],
             k == 1 ? "the data dimension" : "2 x the data dimension", c->p,
             k == 1 ? "" : " (model.likelihood = gaussian_var: means, then log-variances)");
  c->pre_epochs = (uint64_t)sagd_config_int(cfg, "vae", "pretrain_epochs");
  c->ft_epochs = (uint64_t)sagd_config_int(cfg, "vae", "finetune_epochs");
  c->pre_lr = sagd_config_real(cfg, "vae", "pretrain_lr");
  c->ft_lr = sagd_config_real(cfg, "vae", "finetune_lr");
  const void *methods[SAGD_VAE_METHODS_MAX];
  SAGD_CALL(sagd_config_chosen(cfg, "vae", "methods", methods, SAGD_VAE_METHODS_MAX, &c->nm));
  for (size_t m = 0; m < c->nm; m++) {
    c->methods[m] = methods[m];
  }
  c->estimate = sagd_config_bool(cfg, "vae", "estimate");
  const char *res = sagd_config_string(cfg, "vae", "result");
  SAGD_CHECK(strcmp(res, "last") == 0 || strcmp(res, "average") == 0 || strcmp(res, "tail") == 0,
             SAGD_ERR_CONFIG, "vae.result = '%s': expected last, average or tail", res);
  c->result = strcmp(res, "average") == 0 ? DV_AVERAGE
              : strcmp(res, "tail") == 0  ? DV_TAIL
                                          : DV_LAST;

  sagd_vae_options *o = &c->vo;
  SAGD_CALL(exp_vae_options(info, o, &c->batches));
  SAGD_CALL(exp_vae_method_options(cfg, c->methods, c->nm, o));
  SAGD_CALL(exp_optimizer_type_from_config(cfg, &c->otype, &c->oopt));
  c->msamples = (size_t)sagd_config_int(cfg, "metrics", "samples");
  c->nodes = (size_t)sagd_config_int(cfg, "metrics", "nodes");
  c->ll_every = (uint64_t)sagd_config_int(cfg, "metrics", "loglik_every");
  c->loglik = c->p == 1 && c->r == 1;
  if (c->loglik) {
    SAGD_CHECK(c->nodes >= 20, SAGD_ERR_CONFIG,
               "metrics.nodes = %zu: expected at least 20 Gauss-Hermite nodes", c->nodes);
  }
  SAGD_CALL(exp_progress_every(cfg, &c->every));
  return SAGD_OK;
}

/* ---- run state: every buffer a resumed run needs --------------------------------------- */

typedef exp_vae_trace dv_trace;
static const exp_vae_trace_kind dv_trace_kind_ = {"loglik", 1, 0};

typedef struct {
  exp_vae_core core; /* counters, parameters, optimizer states */
  /* per phase: final parameters and scalar results */
  double *theta_fin; /* NPHASE × pt */
  double *theta_sum; /* vae.result = average or tail: Σ θ over the averaged updates so far */
  double loglik_fin[NPHASE], accept_fin[NPHASE], secs[NPHASE];
  dv_trace tr[NPHASE];
} dv_state;

static const char *phase_name_(const dv_config *c, uint64_t ph) {
  return ph == 0 ? "pretrain" : c->methods[ph - 1]->name;
}

/* ---- one phase's parts -------------------------------------------------------------------- */

typedef struct {
  const sagd_run_info *info;
  const dv_config *c;
  dv_state *s;
  sagd_vae v;
  sagd_mlp gen, enc;
  sagd_optimizer ot, op;
  size_t pt, pp, i0, i1;
  double *gt, *gp;     /* gradients */
  double *gen_u, *gen_out, *col; /* metric scratch */
  sagd_checkpointer cp;
} dv_run;

/* KS and W1 of the generated values of θ against the truth, per dimension (ks, w1: [p]). */
static int metrics_(dv_run *R, const double *theta, double *ks, double *w1) {
  const dv_config *c = R->c;
  size_t m = c->msamples, p = c->p;
  SAGD_CALL(sagd_vae_generate(R->gen, theta, R->info->key, m, R->gen_u, R->gen_out));
  /* h(U): the decoder's location outputs (gaussian_var: the means) */
  sagd_likelihood_locations(m, c->vo.likelihood->outputs * p, p, R->gen_out);
  for (size_t d = 0; d < p; d++) {
    for (size_t j = 0; j < m; j++) {
      R->col[j] = R->gen_out[j * p + d];
    }
    ks[d] = sagd_stats_ks(R->col, m, c->truth->cdf, NULL);
    SAGD_CALL(sagd_stats_w1(R->col, m, c->truth->cdf, NULL, &w1[d]));
  }
  return SAGD_OK;
}

static int loglik_(dv_run *R, const double *theta, double *ll) {
  *ll = NAN;
  if (R->c->loglik) {
    SAGD_CALL(sagd_vae_loglik(R->v, theta, R->c->nodes, ll));
  }
  return SAGD_OK;
}

static uint64_t phase_iters_(const dv_config *c, uint64_t ph) {
  return (ph == 0 ? c->pre_epochs : c->ft_epochs) * c->batches;
}

/* The RNG iteration of update `it` (0-based) of phase ph: unique over the run's VAE phases
 * and starting a new epoch at every phase. */
static uint64_t rng_t_(const dv_config *c, uint64_t ph, uint64_t it) {
  return (ph == 0 ? 0 : phase_iters_(c, 0)) + it + 1;
}

static int phase_start_(dv_run *R, uint64_t ph) {
  const dv_config *c = R->c;
  dv_state *s = R->s;
  if (ph == 0) {
    SAGD_CALL(sagd_mlp_init_xavier(R->gen, R->info->key, 0, s->core.theta));
    SAGD_CALL(sagd_mlp_init_xavier(R->enc, R->info->key, 1, s->core.phi));
  } else {
    memcpy(s->core.theta, s->core.theta_pre, R->pt * sizeof(double));
    memcpy(s->core.phi, s->core.phi_pre, R->pp * sizeof(double));
    SAGD_CALL(c->methods[ph - 1]->start(R->v, s->core.theta, s->core.phi));
  }
  sagd_optimizer_reset(R->ot);
  sagd_optimizer_reset(R->op);
  sagd_vae_reset_sums(R->v);
  s->secs[ph] = 0;
  if (s->theta_sum != NULL) {
    memset(s->theta_sum, 0, R->pt * sizeof(double));
  }
  dv_trace *t = &s->tr[ph];
  if (c->loglik && c->ll_every > 0) {
    SAGD_CALL(loglik_(R, s->core.theta, &t->ll[0]));
    t->ll_iter[0] = 0;
  }
  return SAGD_OK;
}

/* The first update (0-based) a fine-tuning of T updates averages: 0 (average), T/2 (tail:
 * the last ceil(T/2) iterates). */
static uint64_t avg_first_(const dv_config *c, uint64_t T) {
  return c->result == DV_TAIL ? T / 2 : 0;
}

static int run_phase_(dv_run *R, uint64_t ph) {
  const dv_config *c = R->c;
  dv_state *s = R->s;
  const sagd_vae_method_type *m = ph == 0 ? &sagd_vae_method_vae : c->methods[ph - 1];
  const char *pn = phase_name_(c, ph);
  uint64_t T = phase_iters_(c, ph);
  double lr = ph == 0 ? c->pre_lr : c->ft_lr;
  dv_trace *t = &s->tr[ph];
  if (s->core.iter == 0) {
    SAGD_CALL(phase_start_(R, ph));
  }
  const exp_vae_phase_clock clock =
      exp_vae_clock(pn, "objective", 5, c->every, s->core.iter, T, &s->secs[ph]);
  while (s->core.iter < T) {
    const uint64_t it = s->core.iter;
    sagd_vae_stats st;
    SAGD_CALL(m->gradient(R->v, s->core.theta, s->core.phi, rng_t_(c, ph, it), R->gt,
                          m->trains_encoder ? R->gp : NULL, &st));
    double gn;
    SAGD_CALL(exp_vae_step(R->ot, R->gt, R->pt, s->core.theta, R->op,
                           m->trains_encoder ? R->gp : NULL, R->pp, s->core.phi, lr, &gn));
    /* Algorithm 1's θ̂: the mean of θ_1..θ_T, or of its second half θ_{T0+1}..θ_T */
    if (ph > 0 && s->theta_sum != NULL && it >= avg_first_(c, T)) {
      for (size_t j = 0; j < R->pt; j++) {
        s->theta_sum[j] += s->core.theta[j];
      }
    }
    char extra[48] = "";
    if (c->loglik && c->ll_every > 0 && ((it + 1) % c->ll_every == 0 || it + 1 == T)) {
      const size_t row = (size_t)((it + c->ll_every) / c->ll_every);
      SAGD_CALL(loglik_(R, s->core.theta, &t->ll[row]));
      t->ll_iter[row] = (double)(it + 1);
      if (isfinite(t->ll[row])) {
        snprintf(extra, sizeof extra, "  loglik %.4f", t->ll[row]);
      }
    }
    SAGD_CALL(exp_vae_update_end(R->info, R->cp, &clock, &s->core, t, &st, gn, extra));
  }
  /* end of the phase: results, at the θ the phase reports (the last iterate, or the mean) */
  double *fin = s->theta_fin + ph * R->pt;
  if (ph > 0 && s->theta_sum != NULL && T > 0) {
    const double count = (double)(T - avg_first_(c, T));
    for (size_t j = 0; j < R->pt; j++) {
      fin[j] = s->theta_sum[j] / count;
    }
  } else {
    memcpy(fin, s->core.theta, R->pt * sizeof(double));
  }
  SAGD_CALL(loglik_(R, fin, &s->loglik_fin[ph]));
  double acc = 0, nacc = 0;
  for (uint64_t it = 0; it < T; it++) {
    if (isfinite(t->accept[it])) {
      acc += t->accept[it];
      nacc++;
    }
  }
  s->accept_fin[ph] = nacc > 0 ? acc / nacc : NAN;
  if (ph == 0) {
    memcpy(s->core.theta_pre, s->core.theta, R->pt * sizeof(double));
    memcpy(s->core.phi_pre, s->core.phi, R->pp * sizeof(double));
  }
  return SAGD_OK;
}

/* ---- checkpoint adapter: the only code that talks to checkpoint.h ----------------------- */

static int ckpt_register_(dv_run *R, sagd_state st) {
  const dv_config *c = R->c;
  dv_state *s = R->s;
  SAGD_CALL(exp_vae_core_register(st, &s->core, R->pt, R->pp));
  SAGD_CALL(sagd_state_add(st, "theta_final", s->theta_fin, DV_STATE_PHASES(c) * R->pt));
  if (s->theta_sum != NULL) {
    SAGD_CALL(sagd_state_add(st, "theta_sum", s->theta_sum, R->pt));
  }
  SAGD_CALL(sagd_state_add(st, "loglik_final", s->loglik_fin, DV_STATE_PHASES(c)));
  SAGD_CALL(sagd_state_add(st, "accept_final", s->accept_fin, DV_STATE_PHASES(c)));
  SAGD_CALL(sagd_state_add(st, "seconds", s->secs, DV_STATE_PHASES(c)));
  for (uint64_t ph = 0; ph <= c->nm; ph++) {
    SAGD_CALL(exp_vae_trace_register(&s->tr[ph], &dv_trace_kind_, st, phase_name_(c, ph)));
  }
  SAGD_CALL(exp_vae_register_state(st, R->v, c->n, c->vo.chains, R->i0));
  return SAGD_OK;
}

static int ckpt_open_(dv_run *R, sagd_state st, int *resumed) {
  SAGD_CALL(sagd_checkpointer_create(R->info, st, &R->cp));
  char phase[128] = "";
  SAGD_CALL(sagd_checkpointer_resume(R->cp, resumed, phase, sizeof phase));
  if (*resumed) {
    exp_progress(R->info, "resumed from the checkpoint at '%s'\n", phase);
  }
  return SAGD_OK;
}

/* ---- timing of the phases: the start-up estimate and `sagd bench phases` ---------------- */

typedef struct {
  double sec;    /* s per iteration (gradient + optimizer steps), slowest rank */
  double reduce; /* s per iteration in the reproducible sum, slowest rank */
  double wait;   /* s per iteration waiting for the other ranks (with_gemm only), slowest */
  double flops;  /* GEMM floating-point operations per iteration, all ranks */
  double gemm;   /* s per iteration of the same GEMMs replayed alone, slowest rank */
  double bytes;  /* bytes a rank sends in the reduction per iteration, largest */
  int exact;     /* timed iterations whose pre-rounded sum took its exact path */
} dv_timing;

/* **Collective.** Time every phase on scratch parameters: one warm-up iteration, then nrep
 * timed ones (nrep <= 0: 2, or 1 when the warm-up took over 0.5 s). With with_gemm, the
 * timed iterations' GEMMs are recorded and replayed alone (best of 3). The run state is not
 * touched except the optimizers and the persistent chains, which every phase start (or a
 * resume) sets again. */
static int time_phases_(dv_run *R, int nrep, int with_gemm, dv_timing *tm) {
  const dv_config *c = R->c;
  MPI_Comm comm = R->info->comm;
  double *th = NULL, *ph = NULL;
  sagd_gemm_log log = NULL;
  SAGD_CALLOC(th, R->pt, "timing theta");
  SAGD_CALLOC(ph, R->pp, "timing phi");
  if (with_gemm) {
    SAGD_CALL(sagd_gemm_log_create(&log));
  }
  sagd_vae_time_waits(R->v, with_gemm);
  /* per phase: s/it, reduction, GEMM-only, bytes, wait, exact paths (max over ranks), flops
   * (summed) */
  double mine[6 * NPHASE], mx[6 * NPHASE], flopsum[NPHASE];
  for (uint64_t p = 0; p <= c->nm; p++) {
    const sagd_vae_method_type *m = p == 0 ? &sagd_vae_method_vae : c->methods[p - 1];
    SAGD_CALL(sagd_mlp_init_xavier(R->gen, R->info->key, 0, th));
    SAGD_CALL(sagd_mlp_init_xavier(R->enc, R->info->key, 1, ph));
    sagd_optimizer_reset(R->ot);
    sagd_optimizer_reset(R->op);
    sagd_vae_reset_sums(R->v); /* the warm-up sets the grid the timed iterations use */
    SAGD_CALL(m->start(R->v, th, ph));
    sagd_vae_stats st;
    double lr = p == 0 ? c->pre_lr : c->ft_lr;
    double t0 = exp_now();
    SAGD_CALL(m->gradient(R->v, th, ph, 1, R->gt, R->gp, &st)); /* warm-up */
    double warm = exp_now() - t0;
    /* all ranks agree on the number of timed calls */
    SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &warm, 1, MPI_DOUBLE, MPI_MAX, comm));
    int n = nrep > 0 ? nrep : (warm > 0.5 ? 1 : 2);
    if (log != NULL) {
      sagd_gemm_log_clear(log);
      sagd_mlp_set_log(R->gen, log);
      sagd_mlp_set_log(R->enc, log);
    }
    double red = 0, bytes = 0, exact = 0, wait = 0;
    SAGD_CHECK_MPI(MPI_Barrier(comm));
    t0 = exp_now();
    for (int k = 0; k < n; k++) {
      SAGD_CALL(m->gradient(R->v, th, ph, 2 + (uint64_t)k, R->gt,
                            m->trains_encoder ? R->gp : NULL, &st));
      SAGD_CALL(sagd_optimizer_step(R->ot, lr, R->gt, th));
      if (m->trains_encoder) {
        SAGD_CALL(sagd_optimizer_step(R->op, lr, R->gp, ph));
      }
      red += st.reduce_seconds;
      wait += st.wait_seconds; /* 0 unless with_gemm (sagd_vae_time_waits) */
      bytes = (double)st.reduce_bytes;
      exact += st.exact_path;
    }
    double secs = exp_now() - t0;
    double flops = 0, gemm = 0;
    if (log != NULL) {
      sagd_mlp_set_log(R->gen, NULL);
      sagd_mlp_set_log(R->enc, NULL);
      flops = sagd_gemm_log_flops(log) / n;
      SAGD_CALL(sagd_gemm_log_replay(log, 3, &gemm));
      gemm /= n;
    }
    double *row = mine + 6 * p;
    row[0] = secs / n;
    row[1] = red / n;
    row[2] = gemm;
    row[3] = bytes;
    row[4] = wait / n;
    row[5] = exact; /* the same on every rank (a global property of each sum) */
    flopsum[p] = flops;
  }
  size_t np = c->nm + 1;
  sagd_vae_time_waits(R->v, 0);
  SAGD_CHECK_MPI(MPI_Allreduce(mine, mx, (int)(6 * np), MPI_DOUBLE, MPI_MAX, comm));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, flopsum, (int)np, MPI_DOUBLE, MPI_SUM, comm));
  for (size_t p = 0; p < np; p++) {
    const double *row = mx + 6 * p;
    tm[p] = (dv_timing){.sec = row[0], .reduce = row[1], .gemm = row[2], .bytes = row[3],
                        .wait = row[4], .exact = (int)row[5], .flops = flopsum[p]};
  }
  sagd_gemm_log_destroy(&log);
  free(th);
  free(ph);
  return SAGD_OK;
}

/* **Collective.** Seconds of one quadrature log-likelihood evaluation (0 if none is traced). */
static int time_loglik_(dv_run *R, double *secs) {
  const dv_config *c = R->c;
  *secs = 0;
  if (c->loglik && c->ll_every > 0) {
    double *th = NULL, ll;
    SAGD_CALLOC(th, R->pt, "timing theta");
    SAGD_CALL(sagd_mlp_init_xavier(R->gen, R->info->key, 0, th));
    double t0 = exp_now();
    SAGD_CALL(sagd_vae_loglik(R->v, th, c->nodes, &ll));
    *secs = exp_now() - t0;
    free(th);
  }
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, secs, 1, MPI_DOUBLE, MPI_MAX, R->info->comm));
  return SAGD_OK;
}

/* Wall time of phase p from its s/it (and the traced log-likelihood evaluations). */
static double phase_time_(const dv_config *c, uint64_t p, double per, double ll_time) {
  uint64_t T = phase_iters_(c, p);
  double nll = (c->loglik && c->ll_every > 0 && p > 0) ? (double)(T / c->ll_every + 2) : 0;
  return per * (double)T + nll * ll_time;
}

static int estimate_(dv_run *R) {
  const dv_config *c = R->c;
  dv_timing tm[NPHASE];
  double ll_time = 0;
  SAGD_CALL(time_phases_(R, 0, 0, tm));
  SAGD_CALL(time_loglik_(R, &ll_time));
  double total = 0;
  char buf[1024] = "", tb[32];
  for (uint64_t p = 0; p <= c->nm; p++) {
    double ph_t = phase_time_(c, p, tm[p].sec, ll_time);
    total += ph_t;
    exp_format_seconds(ph_t, tb, sizeof tb);
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof buf - len, "%s%s %s (%.3gs/it)", p ? ", " : "",
             phase_name_(c, p), tb, tm[p].sec);
  }
  exp_format_seconds(total, tb, sizeof tb);
  exp_progress(R->info, "estimated wall time of the full run on %d rank(s): %s  [%s]\n",
               R->info->size, tb, buf);
  return SAGD_OK;
}

/* ---- result file and summary table ---------------------------------------------------------- */

typedef struct {
  double ks, ks_se, w1, w1_se;
} dv_metric;

static int write_result_(dv_run *R, const double *x, const double *z, dv_metric *met) {
  const dv_config *c = R->c;
  dv_state *s = R->s;
  size_t p = c->p, m = c->msamples, nloc = R->i1 - R->i0;
  double *ks = NULL, *w1 = NULL;
  SAGD_CALLOC(ks, p, "KS per dimension");
  SAGD_CALLOC(w1, p, "W1 per dimension");
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(R->info, "result.h5", &f));
  sagd_h5_set_checksums(f, 1); /* every result dataset carries a Fletcher32 checksum */
  SAGD_CALL(sagd_h5_write_rows(f, "/data/x", c->n, p, R->i0, nloc, x));
  SAGD_CALL(sagd_h5_write_rows(f, "/data/z", c->n, p, R->i0, nloc, z));
  for (uint64_t ph = 0; ph <= c->nm; ph++) {
    const char *pn = phase_name_(c, ph);
    char g[96], path[160];
    snprintf(g, sizeof g, "/trace/%s", pn);
    int is_hmc = ph > 0 && c->methods[ph - 1] == &sagd_vae_method_hmc;
    SAGD_CALL(exp_vae_trace_write(f, g, &s->tr[ph], &dv_trace_kind_, is_hmc, ph == 0));
    snprintf(g, sizeof g, "/results/%s", pn);
    const double *th = s->theta_fin + ph * R->pt;
    SAGD_CALL(metrics_(R, th, ks, w1));
    dv_metric *mt = &met[ph];
    sagd_stats_mean_se(ks, p, &mt->ks, &mt->ks_se);
    sagd_stats_mean_se(w1, p, &mt->w1, &mt->w1_se);
    const struct {
      const char *name;
      double v;
    } sc[] = {{"ks", mt->ks}, {"w1", mt->w1}, {"ks_se", mt->ks_se}, {"w1_se", mt->w1_se},
              {"seconds", s->secs[ph]}};
    for (size_t j = 0; j < sizeof sc / sizeof sc[0]; j++) {
      snprintf(path, sizeof path, "%s/%s", g, sc[j].name);
      SAGD_CALL(sagd_h5_write(f, path, 0, NULL, &sc[j].v));
    }
    size_t dp[1] = {p}, dt[1] = {R->pt}, ds[2] = {m, p};
    snprintf(path, sizeof path, "%s/ks_dim", g);
    SAGD_CALL(sagd_h5_write(f, path, 1, dp, ks));
    snprintf(path, sizeof path, "%s/w1_dim", g);
    SAGD_CALL(sagd_h5_write(f, path, 1, dp, w1));
    snprintf(path, sizeof path, "%s/samples", g);
    SAGD_CALL(sagd_h5_write(f, path, p == 1 ? 1 : 2, ds, R->gen_out));
    snprintf(path, sizeof path, "%s/theta", g);
    SAGD_CALL(sagd_h5_write(f, path, 1, dt, th));
    if (c->loglik) {
      snprintf(path, sizeof path, "%s/loglik", g);
      SAGD_CALL(sagd_h5_write(f, path, 0, NULL, &s->loglik_fin[ph]));
    }
    if (is_hmc) {
      snprintf(path, sizeof path, "%s/accept_rate", g);
      SAGD_CALL(sagd_h5_write(f, path, 0, NULL, &s->accept_fin[ph]));
    }
    if (ph > 0 && c->methods[ph - 1] == &sagd_vae_method_sagd) {
      double *xi, *rho;
      size_t nch, r;
      sagd_vae_chains(R->v, &xi, &rho, &nch, &r);
      size_t C = c->vo.chains;
      SAGD_CALL(sagd_h5_write_rows(f, "/chains/sagd/xi", c->n * C, r, R->i0 * C, nch, xi));
      SAGD_CALL(sagd_h5_write_rows(f, "/chains/sagd/rho", c->n * C, r, R->i0 * C, nch, rho));
    }
    if (s->tr[ph].coupled) { /* each point's meeting time at its last update */
      double *tau;
      size_t nt;
      sagd_vae_meeting_times(R->v, &tau, &nt);
      SAGD_CALL(sagd_h5_write_rows(f, "/results/coupled/meeting_time", c->n, 1, R->i0, nt, tau));
    }
  }
  SAGD_CALL(sagd_runfile_commit(R->info, "result.h5", 0, &f));
  free(ks);
  free(w1);
  return SAGD_OK;
}

static void print_table_(dv_run *R, const dv_metric *met) {
  const dv_config *c = R->c;
  const dv_state *s = R->s;
  if (R->info->rank != 0) {
    return;
  }
  int se = c->p > 1;
  printf("\n| method | KS | W1 | true loglik | wall time |\n|---|---|---|---|---|\n");
  for (uint64_t ph = 0; ph <= c->nm; ph++) {
    char ks[48], w1[48], ll[32], tb[32];
    if (se) {
      snprintf(ks, sizeof ks, "%.4f (%.4f)", met[ph].ks, met[ph].ks_se);
      snprintf(w1, sizeof w1, "%.4f (%.4f)", met[ph].w1, met[ph].w1_se);
    } else {
      snprintf(ks, sizeof ks, "%.4f", met[ph].ks);
      snprintf(w1, sizeof w1, "%.4f", met[ph].w1);
    }
    if (c->loglik) {
      snprintf(ll, sizeof ll, "%.3f", s->loglik_fin[ph]);
    } else {
      snprintf(ll, sizeof ll, "-");
    }
    exp_format_seconds(s->secs[ph], tb, sizeof tb);
    char name[48];
    if (ph == 0) {
      snprintf(name, sizeof name, "pretrain (VAE)");
    } else if (c->methods[ph - 1] == &sagd_vae_method_hmc) {
      snprintf(name, sizeof name, "hmc (accept %.2f)", s->accept_fin[ph]);
    } else {
      snprintf(name, sizeof name, "%s", c->methods[ph - 1]->name);
    }
    printf("| %s | %s | %s | %s | %s |\n", name, ks, w1, ll, tb);
  }
  fflush(stdout);
}

/* ---- the experiment ---------------------------------------------------------------------- */

static int state_alloc_(dv_run *R) {
  const dv_config *c = R->c;
  dv_state *s = R->s;
  SAGD_CALL(exp_vae_core_alloc(&s->core, R->pt, R->pp, R->ot, R->op));
  SAGD_CALLOC(s->theta_fin, DV_STATE_PHASES(c) * R->pt, "final thetas");
  if (c->result != DV_LAST) {
    SAGD_CALLOC(s->theta_sum, R->pt, "sum of the fine-tuning's thetas");
  }
  for (uint64_t ph = 0; ph <= c->nm; ph++) {
    SAGD_CALL(exp_vae_trace_alloc(&s->tr[ph], (size_t)phase_iters_(c, ph), c->ll_every));
    s->tr[ph].coupled = ph > 0 && c->methods[ph - 1] == &sagd_vae_method_coupled;
  }
  for (size_t ph = 0; ph < NPHASE; ph++) {
    s->loglik_fin[ph] = NAN;
    s->accept_fin[ph] = NAN;
  }
  SAGD_CALLOC(R->gt, R->pt, "theta gradient");
  SAGD_CALLOC(R->gp, R->pp, "phi gradient");
  SAGD_CALLOC(R->gen_u, sagd_mlp_max_batch(R->gen) * c->r, "generator input");
  SAGD_CALLOC(R->gen_out, c->msamples * c->p * c->vo.likelihood->outputs, "generated values");
  SAGD_CALLOC(R->col, c->msamples, "one dimension of the generated values");
  return SAGD_OK;
}

static void state_free_(dv_run *R) {
  dv_state *s = R->s;
  exp_vae_core_free(&s->core);
  free(s->theta_fin);
  free(s->theta_sum);
  for (size_t ph = 0; ph < NPHASE; ph++) {
    exp_vae_trace_free(&s->tr[ph]);
  }
  free(R->gt);
  free(R->gp);
  free(R->gen_u);
  free(R->gen_out);
  free(R->col);
}

/* Of a network with layer widths w[0..nw): *acts += Σ widths, *maxw = max(*maxw, widths),
 * *params += weights and biases (doubles: the config's sizes may overflow size_t). */
static void net_sizes_(const size_t *w, size_t nw, double *acts, double *maxw, double *params) {
  for (size_t l = 0; l < nw; l++) {
    *acts += (double)w[l];
    *maxw = fmax(*maxw, (double)w[l]);
    if (l + 1 < nw) {
      *params += (double)w[l] * (double)w[l + 1] + (double)w[l + 1];
    }
  }
}

/* What a rank will hold, from the config alone (before anything is allocated). */
static int check_memory_(const sagd_run_info *info, const dv_config *c, size_t nloc) {
  const double nl = (double)nloc, p = (double)c->p, r = (double)c->r;
  const double C = (double)c->vo.chains, S = (double)c->vo.samples, k = (double)c->vo.iwae_k;
  const double cS = c->vo.coupled.S >= 2 ? (double)c->vo.coupled.S + 1 : 0;
  const double widest = fmax(fmax(S, cS), fmax(k, C));
  const double part = ceil((double)c->vo.block / (double)c->vo.batches);
  const double rows = part * widest, gmax = fmax(fmax(rows, (double)c->nodes), 1024);
  double acts_g = 0, acts_e = 0, params = 0, maxw = 0;
  net_sizes_(c->gw, c->ngw, &acts_g, &maxw, &params);
  net_sizes_(c->ew, c->new_, &acts_e, &maxw, &params);
  const double prec = c->precision == SAGD_PRECISION_SINGLE ? 1.5 : 1.0; /* float copies */
  const exp_mem_item items[] = {
      {"data", "data.n, data.dim", 8 * 3 * nl * p},
      {"chains", "data.n, sagd.chains, model.generator", 8 * 2 * nl * C * r},
      {"per-update buffers", "sagd.block, vae.batches, vae.samples, iwae.k, sagd.chains, coupled.S",
       8 * (rows * (3 * r + 2 * p + 3) + part * C * (2 * r + 1) + part * 10 * r)},
      {"network activations", "model.generator, model.encoder, iwae.k, sagd.chains, coupled.S",
       prec * 8 * (2 * gmax * (acts_g + maxw) + 2 * rows * (acts_e + maxw))},
      {"parameters and optimizer state", "model.generator, model.encoder", 8 * 16 * params},
      {"ALD features and maps", "ald.features, data.n, sagd.K0",
       8 * (double)c->vo.ald.features * (nl + r * (3.0 + (double)c->vo.K))},
      {"generated samples", "metrics.samples",
       8 * ((1.0 + (double)c->vo.likelihood->outputs) * (double)c->msamples * p + gmax * r)},
      {"traces", "vae.pretrain_epochs, vae.finetune_epochs, vae.batches",
       8 * 6 * (double)c->batches * ((double)c->pre_epochs + 4 * (double)c->ft_epochs)},
  };
  SAGD_CALL(exp_check_memory(info, items, sizeof items / sizeof items[0]));
  return SAGD_OK;
}

static void dv_close_(dv_run *R, double *x, double *z) {
  state_free_(R);
  sagd_vae_destroy(&R->v);
  sagd_optimizer_destroy(&R->ot);
  sagd_optimizer_destroy(&R->op);
  sagd_mlp_destroy(&R->gen);
  sagd_mlp_destroy(&R->enc);
  free(x);
  free(z);
}

/* Everything a run or a bench needs before its state: the checked configuration, this
 * rank's shard of the data (x, z), the networks, optimizers, the VAE and the state buffers. */
static int dv_open_body_(const sagd_run_info *info, dv_config *c, dv_run *R, double **xp,
                         double **zp) {
  SAGD_CALL(read_config_(info, c));
  sagd_shard_range(c->n, c->vo.block, info->rank, info->size, &R->i0, &R->i1);
  size_t nloc = R->i1 - R->i0;
  SAGD_CALL(check_memory_(info, c, nloc));
  size_t rows = sagd_vae_max_rows(&c->vo, c->n);
  size_t gmax = rows > c->nodes ? rows : c->nodes;
  gmax = gmax > 1024 ? gmax : 1024;
  SAGD_CALL(sagd_mlp_create(c->ngw - 1, c->gw, c->act, &sagd_act_identity, gmax, &R->gen));
  SAGD_CALL(sagd_mlp_create(c->new_ - 1, c->ew, c->act, &sagd_act_identity, rows, &R->enc));
  SAGD_CALL(exp_vae_optimizers(R->gen, R->enc, c->precision, c->otype, &c->oopt, &R->pt, &R->pp,
                               &R->ot, &R->op));
  double *x = NULL, *z = NULL;
  SAGD_CALLOC(x, nloc * c->p, "data x");
  SAGD_CALLOC(z, nloc * c->p, "data z");
  *xp = x;
  *zp = z;
  SAGD_CALL(sagd_deconv_generate(info->key, c->truth, c->p, R->i0, R->i1, x, z));
  SAGD_CALL(sagd_vae_create(info->comm, R->gen, R->enc, x, c->n, R->i0, R->i1, &c->vo, &R->v));
  SAGD_CALL(state_alloc_(R));
  return SAGD_OK;
}

/* dv_open_body_ with one cleanup: on any failure everything it made is released. */
static int dv_open_(const sagd_run_info *info, dv_config *c, dv_state *s, dv_run *R,
                    double **xp, double **zp) {
  memset(c, 0, sizeof *c);
  memset(s, 0, sizeof *s);
  memset(R, 0, sizeof *R);
  R->info = info;
  R->c = c;
  R->s = s;
  *xp = *zp = NULL;
  int rc = dv_open_body_(info, c, R, xp, zp);
  if (rc != SAGD_OK) {
    dv_close_(R, *xp, *zp);
    *xp = *zp = NULL;
  }
  return rc;
}


static int deconv_vae_run_(const sagd_run_info *info) {
  /* 1. everything that can be wrong with the input, before anything is written */
  dv_config c;
  dv_state s;
  dv_run R;
  double *x = NULL, *z = NULL;
  SAGD_CALL(dv_open_(info, &c, &s, &R, &x, &z));
  int rc = SAGD_OK, resumed = 0;
  sagd_state st = NULL;

  char methods[64] = "";
  for (size_t i = 0; i < c.nm; i++) {
    size_t len = strlen(methods);
    snprintf(methods + len, sizeof methods - len, "%s%s", i ? ", " : "", c.methods[i]->name);
  }
  exp_progress(info,
               "deconv_vae: truth %s, n = %zu, p = %zu, r = %zu, %zu generator / %zu encoder "
               "parameters, %d rank(s); pre-training %llu epochs x %llu batch(es), then %s "
               "for %llu epochs each; delta = %g, K = %llu, gamma = %g, L = %zu, k = %zu; seed "
               "%llu, replication %llu\n",
               c.truth->name, c.n, c.p, c.r, R.pt, R.pp, info->size,
               (unsigned long long)c.pre_epochs, (unsigned long long)c.batches, methods,
               (unsigned long long)c.ft_epochs, c.vo.delta, (unsigned long long)c.vo.K,
               c.vo.gamma, c.vo.leapfrog, c.vo.iwae_k, (unsigned long long)info->key.seed,
               (unsigned long long)info->key.replication);
  if (c.estimate) {
    SAGD_TRY(rc, done, estimate_(&R));
  }

  /* 2. the run state, resumed from a checkpoint if there is one */
  SAGD_TRY(rc, done, sagd_state_create(&st));
  SAGD_TRY(rc, done, ckpt_register_(&R, st));
  SAGD_TRY(rc, done, ckpt_open_(&R, st, &resumed));

  /* 3. pre-training and the fine-tunings */
  while (s.core.phase <= c.nm) {
    SAGD_TRY(rc, done, run_phase_(&R, s.core.phase));
    if (info->rank == 0 && !info->quiet) {
      double ks = NAN, w1 = NAN;
      if (c.p == 1) {
        SAGD_TRY(rc, done, metrics_(&R, s.theta_fin + s.core.phase * R.pt, &ks, &w1));
        exp_progress(info, "%s done: KS %.4f  W1 %.4f  loglik %.4f  (%.1fs)\n",
                     phase_name_(&c, s.core.phase), ks, w1, s.loglik_fin[s.core.phase],
                     s.secs[s.core.phase]);
      } else {
        exp_progress(info, "%s done (%.1fs)\n", phase_name_(&c, s.core.phase),
                     s.secs[s.core.phase]);
      }
    }
    char label[64];
    snprintf(label, sizeof label, "%s done", phase_name_(&c, s.core.phase));
    s.core.phase++;
    s.core.iter = 0;
    SAGD_TRY(rc, done, sagd_checkpointer_tick(R.cp, s.core.total, label, 1));
  }

  /* 4. result file and summary */
  dv_metric met[NPHASE];
  SAGD_TRY(rc, done, write_result_(&R, x, z, met));
  print_table_(&R, met);
  exp_progress(info, "wrote %s/result.h5\n", info->out_dir);

done: /* however the run ends: done, stopped by a signal, failed */
  sagd_checkpointer_destroy(&R.cp);
  sagd_state_destroy(&st);
  dv_close_(&R, x, z);
  return rc;
}

/* **Collective.** `sagd bench phases`: every phase timed on the current ranks, and with
 * opt->efficiency on rank 0 alone over the whole data set (the other ranks wait). */
static int deconv_vae_bench_(const sagd_run_info *info, const sagd_bench_options *opt) {
  dv_config c;
  dv_state s;
  dv_run R;
  double *x = NULL, *z = NULL;
  SAGD_CALL(dv_open_(info, &c, &s, &R, &x, &z));
  dv_timing tm[NPHASE], t1[NPHASE];
  double ll_time = 0;
  SAGD_CALL(time_phases_(&R, opt->iters, 1, tm));
  SAGD_CALL(time_loglik_(&R, &ll_time));
  dv_close_(&R, x, z);
  int have1 = opt->efficiency && info->size > 1;
  if (have1) {
    if (info->rank == 0) {
      sagd_run_info one = *info;
      one.comm = MPI_COMM_SELF;
      one.rank = 0;
      one.size = 1;
      SAGD_CALL(dv_open_(&one, &c, &s, &R, &x, &z));
      SAGD_CALL(time_phases_(&R, opt->iters, 0, t1));
      dv_close_(&R, x, z);
    }
    SAGD_CHECK_MPI(MPI_Barrier(info->comm));
  } else if (opt->efficiency) {
    memcpy(t1, tm, sizeof tm);
    have1 = 1;
  }
  if (info->rank != 0) {
    return SAGD_OK;
  }
  const int P = info->size;
  printf("bench phases: deconv_vae, %d rank(s), %d timed iteration(s) per phase after one "
         "warm-up\n", P, opt->iters);
  printf("networks: %s precision; reduction: %s sums\n",
         c.precision == SAGD_PRECISION_SINGLE ? "single" : "double",
         c.vo.exact_sum ? "exact (superaccumulator)" : "pre-rounded");
  printf("| phase | s/it | GFLOP/it | GFLOP/s per rank | GEMM-only s/it | roofline | reduction |"
         " wait | MB sent per rank | 1-rank s/it | efficiency 1->%d | iterations | phase time |\n",
         P);
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  double total = 0;
  char tb[32];
  for (uint64_t p = 0; p <= c.nm; p++) {
    double ph_t = phase_time_(&c, p, tm[p].sec, ll_time);
    total += ph_t;
    exp_format_seconds(ph_t, tb, sizeof tb);
    char one[32] = "-", eff[32] = "-";
    if (have1) {
      snprintf(one, sizeof one, "%.4g", t1[p].sec);
      snprintf(eff, sizeof eff, "%.0f%%", 100.0 * t1[p].sec / (P * tm[p].sec));
    }
    char star[16] = "";
    if (tm[p].exact > 0 && !c.vo.exact_sum) {
      snprintf(star, sizeof star, " *%d", tm[p].exact);
    }
    printf("| %s | %.4g | %.3g | %.1f | %.4g | %.0f%% | %.0f%%%s | %.0f%% | %.2f | %s | %s | %llu "
           "| %s |\n",
           phase_name_(&c, p), tm[p].sec, tm[p].flops * 1e-9,
           tm[p].flops * 1e-9 / tm[p].sec / P, tm[p].gemm, 100.0 * tm[p].gemm / tm[p].sec,
           100.0 * tm[p].reduce / tm[p].sec, star, 100.0 * tm[p].wait / tm[p].sec,
           tm[p].bytes * 1e-6, one, eff, (unsigned long long)phase_iters_(&c, p), tb);
  }
  exp_format_seconds(total, tb, sizeof tb);
  printf("whole run on %d rank(s): %s\n", P, tb);
  printf("(roofline: the same GEMM calls replayed alone as plain CBLAS, best of 3, over the "
         "phase's time, slowest rank; reduction: its adds and allreduce, slowest rank; *k: k "
         "timed iterations' pre-rounded sums had terms off the grid; wait: at a timed barrier "
         "before each allreduce, the ranks' imbalance)\n");
  fflush(stdout);
  return SAGD_OK;
}

/* The keys deconv_vae reads (its own, the VAE family's in vae_common.c, the table's). */
static const char *const deconv_vae_reads_[] = {
    SAGD_EXPERIMENT_COMMON_READS, EXP_VAE_FAMILY_READS, "data.n", "data.dim", "data.truth",
    "model.generator", "model.encoder", "model.activation", "vae.methods", "vae.result",
    "metrics.samples", "metrics.nodes", NULL};

const sagd_experiment_type sagd_experiment_deconv_vae = {
    .name = "deconv_vae",
    .summary =
        "debiased VAE on the deconvolution model: VAE pre-training, then VAE / IWAE / "
        "HMC / SAGD / coupled / ALD fine-tuning (paper Table 1)",
    .run = deconv_vae_run_,
    .reads = deconv_vae_reads_,
    .bench = deconv_vae_bench_,
    .table = &exp_deconv_table,
    .table_read = exp_deconv_table_read};
