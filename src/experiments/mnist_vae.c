/* The MNIST experiment of the SAGD paper (Figure 3), with a held-out log-likelihood: a VAE
 * with a convolutional encoder and generator (model.encoder_layers, model.generator_layers;
 * Bernoulli likelihood on the grey values) is pre-trained on the ELBO; then each method of
 * vae.finetune (sagd by default: persistent chains started from the encoder, sagd.chains per
 * image, sagd.K0 Langevin steps per update; coupled: Ruiz et al.'s unbiased coupled-ISIR
 * gradient; hmc, ald) fine-tunes the generator from the same pre-trained VAE, and after each
 * the encoder is refitted on the ELBO with that generator frozen, so that each generator is
 * scored with a proposal fitted to it. Phases: pretrain, then <method> and <method>_refit per
 * method. Scores: the importance-sampling estimate of the test digits' log-likelihood
 * (metrics.is_samples samples per digit; sagd_vae_is_loglik) of the pre-trained VAE (its own
 * encoder) and of every fine-tuned generator (its refitted encoder; also with the pre-trained
 * encoder, a looser bound), with the standard error over digits; and the pictures of Figure 3:
 * the same latent draws decoded by every generator, test digits and their reconstructions.
 *
 * The run's state lives in flat buffers registered with the checkpoint registry, so every
 * phase resumes bit-identically; minibatches, noise and chains are keyed by global indices
 * (vae.h), so the results are bit-identical on any number of ranks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tables.h"
#include "vae_common.h"
#include "sagd/checkpoint.h"
#include "sagd/error.h"
#include "sagd/images.h"
#include "sagd/nn.h"
#include "sagd/runfile.h"
#include "sagd/stats.h"
#include "sagd/vae.h"

/* pretrain, then a fine-tuning and an encoder refit per method */
#define MV_MAX_PHASES (1 + 2 * SAGD_VAE_METHODS_MAX)
#define MV_PICS 100 /* latent draws decoded for the figure */
#define MV_RECON 10 /* test digits and their reconstructions */
/* The RNG iteration of the held-out scores (training updates count from 1): the same noise
 * for every generator scored. */
#define MV_SCORE_T 0

typedef struct {
  const char *file, *test_file, *gspec, *espec;
  size_t n, n_test, r, p, rows_img, cols_img;
  sagd_precision precision;
  const sagd_vae_method_type *methods[SAGD_VAE_METHODS_MAX]; /* vae.finetune */
  size_t nm, nphase;                                         /* nphase = 1 + 2 nm */
  uint64_t epochs[3], batches; /* pre-training, each fine-tuning, each refit */
  double lr[3];
  char phase_names[MV_MAX_PHASES][64];
  sagd_vae_options vo;
  const sagd_optimizer_type *otype;
  sagd_optimizer_options oopt; /* Adam's betas; no box */
  size_t S;
  uint64_t ll_every;
  int estimate, every;
} mv_config;

/* ---- configuration ------------------------------------------------------------------------ */

static int read_config_(const sagd_run_info *info, mv_config *c) {
  sagd_config cfg = info->cfg;
  c->file = sagd_config_string(cfg, "data", "file");
  SAGD_CHECK(c->file[0] != '\0', SAGD_ERR_CONFIG,
             "data.file is empty: mnist_vae expects data/mnist/mnist.h5 (made by "
             "jobs/setup-debian.sh) or an IDX images file (train-images-idx3-ubyte[.gz])");
  c->test_file = sagd_config_string(cfg, "data", "test_file");
  c->n = (size_t)sagd_config_int(cfg, "data", "n");
  c->n_test = (size_t)sagd_config_int(cfg, "data", "test_n");
  c->gspec = sagd_config_string(cfg, "model", "generator_layers");
  c->espec = sagd_config_string(cfg, "model", "encoder_layers");
  c->r = (size_t)sagd_config_int(cfg, "model", "latent");
  SAGD_CALL(exp_vae_precision(cfg, &c->precision));
  const char *lname = sagd_config_string(cfg, "model", "likelihood");
  c->vo.likelihood = sagd_likelihood_find(lname);
  SAGD_CHECK(c->vo.likelihood == &sagd_likelihood_bernoulli, SAGD_ERR_CONFIG,
             "model.likelihood = '%s': mnist_vae models grey values in [0, 1] with bernoulli "
             "(set model.likelihood = bernoulli)",
             lname);
  const void *methods[SAGD_VAE_METHODS_MAX];
  SAGD_CALL(sagd_config_chosen(cfg, "vae", "finetune", methods, SAGD_VAE_METHODS_MAX, &c->nm));
  c->nphase = 1 + 2 * c->nm;
  snprintf(c->phase_names[0], sizeof c->phase_names[0], "pretrain");
  for (size_t m = 0; m < c->nm; m++) {
    c->methods[m] = methods[m];
    snprintf(c->phase_names[1 + 2 * m], sizeof c->phase_names[0], "%s", c->methods[m]->name);
    snprintf(c->phase_names[2 + 2 * m], sizeof c->phase_names[0], "%s_refit", c->methods[m]->name);
  }
  c->epochs[0] = (uint64_t)sagd_config_int(cfg, "vae", "pretrain_epochs");
  c->epochs[1] = (uint64_t)sagd_config_int(cfg, "vae", "finetune_epochs");
  c->epochs[2] = (uint64_t)sagd_config_int(cfg, "vae", "refit_epochs");
  c->lr[0] = sagd_config_real(cfg, "vae", "pretrain_lr");
  c->lr[1] = sagd_config_real(cfg, "vae", "finetune_lr");
  c->lr[2] = c->lr[0];
  c->estimate = sagd_config_bool(cfg, "vae", "estimate");
  sagd_vae_options *o = &c->vo;
  SAGD_CALL(exp_vae_options(info, o, &c->batches));
  SAGD_CALL(exp_vae_method_options(cfg, c->methods, c->nm, o));
  SAGD_CALL(exp_optimizer_type_from_config(cfg, &c->otype, &c->oopt));
  c->S = (size_t)sagd_config_int(cfg, "metrics", "is_samples");
  c->ll_every = (uint64_t)sagd_config_int(cfg, "metrics", "loglik_every");
  SAGD_CALL(exp_progress_every(cfg, &c->every));
  return SAGD_OK;
}

/* ---- run state ---------------------------------------------------------------------------- */

typedef exp_vae_trace mv_trace;
static const exp_vae_trace_kind mv_trace_kind_ = {"test_loglik", 0, 1};

/* Scores, one per phase: 0 the pre-trained VAE (own encoder); method m's generator 1 + 2m
 * with its refitted encoder, 2 + 2m with the pre-trained one. */
#define MV_SCORE_REFIT(m) (1 + 2 * (m))
#define MV_SCORE_PRE_ENC(m) (2 + 2 * (m))

typedef struct {
  exp_vae_core core; /* counters, parameters, optimizer states */
  double *theta_fin; /* nm × pt: each method's fine-tuned generator */
  double *phi_fin;   /* nm × pp: the encoder refitted to it */
  double score[MV_MAX_PHASES], score_se[MV_MAX_PHASES], secs[MV_MAX_PHASES], data_ck[2];
  double *digits; /* nphase × n_test: every score's per-digit values */
  mv_trace tr[MV_MAX_PHASES];
} mv_state;

typedef struct {
  const sagd_run_info *info;
  mv_config c;
  mv_state s;
  sagd_images train, test;
  double *x, *xt;      /* this rank's training images, its test images [· × p] */
  size_t i0, i1, t0, t1; /* shards of the training and the test set */
  sagd_vae v;
  sagd_mlp gen, enc;
  sagd_optimizer ot, op;
  size_t pt, pp;
  double *gt, *gp, *ll_loc, *ll_all;
  int *counts, *displs;
  sagd_state st;
  sagd_checkpointer cp;
} mv_run;

/* Phase ph: 0 pre-training, 1 + 2m method m's fine-tuning, 2 + 2m its encoder refit. */
static const sagd_vae_method_type *phase_method_(const mv_config *c, uint64_t ph) {
  return ph > 0 && ph % 2 == 1 ? c->methods[(ph - 1) / 2] : NULL;
}

/* 0 pre-training, 1 a fine-tuning, 2 a refit: the index of its epochs and learning rate */
static int phase_kind_(uint64_t ph) {
  return ph == 0 ? 0 : ph % 2 == 1 ? 1 : 2;
}

/* The score a phase ends with (see MV_SCORE_REFIT): a fine-tuning's generator with the
 * pre-trained encoder, a refit's with its refitted encoder, pre-training's own. */
static uint64_t phase_score_(uint64_t ph) {
  const int kind = phase_kind_(ph);
  return kind == 1 ? MV_SCORE_PRE_ENC((ph - 1) / 2) : kind == 2 ? MV_SCORE_REFIT((ph - 2) / 2) : 0;
}

/* Generator k of the results and the figure: 0 the pre-trained one, 1 + m method m's, with the
 * encoder that scores it (its own; the refitted one) and its name ("pretrain", the method's). */
static void generator_(const mv_run *R, size_t k, const double **theta, const double **phi,
                       const char **name) {
  const mv_state *s = &R->s;
  *theta = k == 0 ? s->core.theta_pre : s->theta_fin + (k - 1) * R->pt;
  *phi = k == 0 ? s->core.phi_pre : s->phi_fin + (k - 1) * R->pp;
  *name = k == 0 ? "pretrain" : R->c.methods[k - 1]->name;
}

static uint64_t phase_iters_(const mv_config *c, uint64_t ph) {
  return c->epochs[phase_kind_(ph)] * c->batches;
}

/* The RNG iteration of update `it` (0-based) of phase ph: unique over the run. */
static uint64_t rng_t_(const mv_config *c, uint64_t ph, uint64_t it) {
  uint64_t base = 0;
  for (uint64_t q = 0; q < ph; q++) {
    base += phase_iters_(c, q);
  }
  return base + it + 1;
}

/* ---- held-out score --------------------------------------------------------------------- */

/* **Collective.** The mean and SE over the test digits of the importance-sampling estimate of
 * log p(x; θ) with proposal q_φ; every rank scores its shard, the per-digit values are
 * gathered in index order, and every rank sums them in that order (the same bits). */
static int score_(mv_run *R, const double *theta, const double *phi, double *mean,
                  double *se, double *digits) {
  const mv_config *c = &R->c;
  SAGD_CALL(sagd_vae_is_loglik(R->gen, R->enc, theta, phi, c->vo.likelihood, R->info->key,
                               MV_SCORE_T, R->xt, R->t1 - R->t0, R->t0, c->S, R->ll_loc));
  SAGD_CHECK_MPI(MPI_Allgatherv(R->ll_loc, (int)(R->t1 - R->t0), MPI_DOUBLE, R->ll_all,
                                R->counts, R->displs, MPI_DOUBLE, R->info->comm));
  sagd_stats_mean_se(R->ll_all, c->n_test, mean, se);
  if (digits != NULL) {
    memcpy(digits, R->ll_all, c->n_test * sizeof(double));
  }
  return SAGD_OK;
}

/* ---- phases ------------------------------------------------------------------------------- */

/* Phase ph's parameters at its start: pretrain from Xavier, a fine-tuning from the pre-trained
 * VAE (the method's start: sagd's chains from its encoder), a refit from the pre-trained
 * encoder with that method's generator. */
static int phase_start_(mv_run *R, uint64_t ph) {
  mv_state *s = &R->s;
  const sagd_vae_method_type *m = phase_method_(&R->c, ph);
  if (ph == 0) {
    SAGD_CALL(sagd_mlp_init_xavier(R->gen, R->info->key, 0, s->core.theta));
    SAGD_CALL(sagd_mlp_init_xavier(R->enc, R->info->key, 1, s->core.phi));
  } else {
    const double *th = m != NULL ? s->core.theta_pre : s->theta_fin + (ph - 2) / 2 * R->pt;
    memcpy(s->core.theta, th, R->pt * sizeof(double));
    memcpy(s->core.phi, s->core.phi_pre, R->pp * sizeof(double));
    if (m != NULL) {
      SAGD_CALL(m->start(R->v, s->core.theta, s->core.phi));
    }
  }
  sagd_optimizer_reset(R->ot);
  sagd_optimizer_reset(R->op);
  sagd_vae_reset_sums(R->v);
  s->secs[ph] = 0;
  return SAGD_OK;
}

/* **Collective.** One update's gradient of phase ph: the method's for a fine-tuning (θ only),
 * the ELBO's otherwise. */
static int phase_gradient_(mv_run *R, uint64_t ph, const double *theta, const double *phi,
                           uint64_t t, sagd_vae_stats *st) {
  const sagd_vae_method_type *m = phase_method_(&R->c, ph);
  if (m != NULL) {
    SAGD_CALL(m->gradient(R->v, theta, phi, t, R->gt, NULL, st));
  } else {
    SAGD_CALL(sagd_vae_elbo_grad(R->v, theta, phi, t, R->gt, R->gp, st));
  }
  return SAGD_OK;
}

static int run_phase_(mv_run *R, uint64_t ph) {
  const mv_config *c = &R->c;
  mv_state *s = &R->s;
  const uint64_t T = phase_iters_(c, ph);
  mv_trace *t = &s->tr[ph];
  const int kind = phase_kind_(ph), upd_theta = kind != 2, upd_phi = kind != 1;
  if (s->core.iter == 0) {
    SAGD_CALL(phase_start_(R, ph));
  }
  const exp_vae_phase_clock clock =
      exp_vae_clock(c->phase_names[ph], kind == 1 ? "log p(x, u)" : "ELBO", 3, c->every,
                    s->core.iter, T, &s->secs[ph]);
  while (s->core.iter < T) {
    const uint64_t it = s->core.iter;
    sagd_vae_stats st;
    SAGD_CALL(phase_gradient_(R, ph, s->core.theta, s->core.phi, rng_t_(c, ph, it), &st));
    double gn;
    SAGD_CALL(exp_vae_step(R->ot, upd_theta ? R->gt : NULL, R->pt, s->core.theta, R->op,
                           upd_phi ? R->gp : NULL, R->pp, s->core.phi, c->lr[kind], &gn));
    char extra[64] = "";
    if (c->ll_every > 0 && (it + 1) % c->ll_every == 0 && it + 1 < T) { /* T: the end row */
      const size_t row = (size_t)((it + 1) / c->ll_every);
      SAGD_CALL(score_(R, s->core.theta, s->core.phi, &t->ll[row], &t->ll_se[row], NULL));
      t->ll_iter[row] = (double)(it + 1);
      if (isfinite(t->ll[row])) {
        snprintf(extra, sizeof extra, "  test loglik %.2f (%.2f)", t->ll[row], t->ll_se[row]);
      }
    }
    SAGD_CALL(exp_vae_update_end(R->info, R->cp, &clock, &s->core, t, &st, gn, extra));
  }
  /* end of the phase: its parameters and its score (score ph: see MV_SCORE_REFIT) */
  const double *th = s->core.theta, *phi = s->core.phi;
  if (ph == 0) {
    memcpy(s->core.theta_pre, s->core.theta, R->pt * sizeof(double));
    memcpy(s->core.phi_pre, s->core.phi, R->pp * sizeof(double));
  } else if (kind == 1) { /* the fine-tuned generator, scored with the pre-trained encoder */
    memcpy(s->theta_fin + (ph - 1) / 2 * R->pt, s->core.theta, R->pt * sizeof(double));
    phi = s->core.phi_pre;
  } else { /* the refitted encoder */
    memcpy(s->phi_fin + (ph - 2) / 2 * R->pp, s->core.phi, R->pp * sizeof(double));
  }
  const uint64_t sc = phase_score_(ph);
  SAGD_CALL(score_(R, th, phi, &s->score[sc], &s->score_se[sc], s->digits + sc * c->n_test));
  const size_t last = t->nll - 1; /* the phase-end score, also in the trace */
  t->ll[last] = s->score[sc];
  t->ll_se[last] = s->score_se[sc];
  t->ll_iter[last] = (double)T;
  return SAGD_OK;
}

/* ---- checkpoint registry -------------------------------------------------------------------- */

static int ckpt_register_(mv_run *R) {
  mv_state *s = &R->s;
  sagd_state st = R->st;
  SAGD_CALL(exp_vae_core_register(st, &s->core, R->pt, R->pp));
  const mv_config *c = &R->c;
  SAGD_CALL(sagd_state_add(st, "finetuned/theta", s->theta_fin, c->nm * R->pt));
  SAGD_CALL(sagd_state_add(st, "refitted/phi", s->phi_fin, c->nm * R->pp));
  SAGD_CALL(sagd_state_add(st, "scores", s->score, c->nphase));
  SAGD_CALL(sagd_state_add(st, "scores_se", s->score_se, c->nphase));
  SAGD_CALL(sagd_state_add(st, "seconds", s->secs, c->nphase));
  SAGD_CALL(sagd_state_add(st, "data/checksum", s->data_ck, 2));
  SAGD_CALL(sagd_state_add(st, "scores_digits", s->digits, c->nphase * c->n_test));
  for (uint64_t ph = 0; ph < c->nphase; ph++) {
    SAGD_CALL(exp_vae_trace_register(&s->tr[ph], &mv_trace_kind_, st, c->phase_names[ph]));
  }
  SAGD_CALL(exp_vae_register_state(st, R->v, R->c.n, R->c.vo.chains, R->i0));
  return SAGD_OK;
}

/* ---- result file ---------------------------------------------------------------------------- */

/* Bernoulli means of a generator's outputs for the figure: m latent rows u → out [m × p]. */
static int decode_means_(mv_run *R, const double *theta, size_t m, const double *u,
                         double *out) {
  const size_t p = R->c.p;
  SAGD_CALL(sagd_mlp_prepare(R->gen, theta));
  SAGD_CALL(sagd_mlp_forward(R->gen, theta, m, u, out));
  for (size_t i = 0; i < m; i++) {
    R->c.vo.likelihood->mean(out + i * p, p, out + i * p);
  }
  return SAGD_OK;
}

/* **Collective.** The figure's arrays, the same on every rank (rank 0's test digits are the
 * first MV_RECON of the test set on every rank: each rank holds the whole image set). */
static int write_figure_(mv_run *R, sagd_h5 f) {
  const mv_config *c = &R->c;
  const size_t r = c->r, p = c->p, nrec = c->n_test < MV_RECON ? c->n_test : MV_RECON;
  double *u = NULL, *img = NULL, *eo = NULL, *x = NULL;
  int rc = SAGD_OK;
  SAGD_CALLOC(u, MV_PICS * r, "figure latents");
  SAGD_CALLOC(img, MV_PICS * p, "figure images");
  SAGD_CALLOC(eo, nrec * 2 * r, "figure encodings");
  SAGD_CALLOC(x, nrec * p, "figure test digits");
  sagd_rng_gsl rng = NULL;
  SAGD_TRY(rc, done, sagd_rng_gsl_create(&rng));
  for (size_t j = 0; j < MV_PICS; j++) {
    sagd_rng_normals(rng, R->info->key, SAGD_STREAM_SAMPLE, (uint64_t)j, 0, 0, r, u + j * r);
  }
  size_t du[2] = {MV_PICS, r}, di[3] = {MV_PICS, c->rows_img, c->cols_img};
  SAGD_TRY(rc, done, sagd_h5_write(f, "/figure/latent", 2, du, u));
  /* generator k: 0 the pre-trained one, 1 + m method m's (with its refitted encoder) */
  char path[128];
  for (size_t k = 0; k <= c->nm; k++) {
    const double *th, *ph;
    const char *name;
    generator_(R, k, &th, &ph, &name);
    SAGD_TRY(rc, done, decode_means_(R, th, MV_PICS, u, img));
    snprintf(path, sizeof path, "/figure/%s_means", name);
    SAGD_TRY(rc, done, sagd_h5_write(f, path, 3, di, img));
  }
  /* test digits and their reconstructions through each (encoder, generator) pair: the
   * encoder's mean, decoded */
  SAGD_TRY(rc, done, sagd_images_get(R->test, 0, nrec, x));
  size_t dr[3] = {nrec, c->rows_img, c->cols_img};
  SAGD_TRY(rc, done, sagd_h5_write(f, "/figure/test_digits", 3, dr, x));
  for (size_t k = 0; k <= c->nm; k++) {
    const double *th, *ph;
    const char *name;
    generator_(R, k, &th, &ph, &name);
    SAGD_TRY(rc, done, sagd_mlp_prepare(R->enc, ph));
    for (size_t q = 0; q < nrec; q++) { /* one row at a time: rank-independent shapes */
      SAGD_TRY(rc, done, sagd_mlp_forward(R->enc, ph, 1, x + q * p, eo + q * 2 * r));
    }
    for (size_t q = 0; q < nrec; q++) {
      memcpy(u + q * r, eo + q * 2 * r, r * sizeof(double));
    }
    SAGD_TRY(rc, done, decode_means_(R, th, nrec, u, img));
    snprintf(path, sizeof path, "/figure/%s_reconstructions", name);
    SAGD_TRY(rc, done, sagd_h5_write(f, path, 3, dr, img));
  }
done:
  sagd_rng_gsl_destroy(&rng);
  free(u);
  free(img);
  free(eo);
  free(x);
  return rc;
}

static int write_scalar_(sagd_h5 f, const char *group, const char *name, double v) {
  char path[160];
  snprintf(path, sizeof path, "%s/%s", group, name);
  SAGD_CALL(sagd_h5_write(f, path, 0, NULL, &v));
  return SAGD_OK;
}

/* /results/<method>: its generator, refitted encoder, scores (the refitted encoder's, then
 * the pre-trained encoder's), seconds, per-digit scores and its gain over the pre-trained VAE
 * with the SE over the same digits (common random numbers: the same noise in both scores). */
static int write_method_(mv_run *R, sagd_h5 f, size_t m) {
  const mv_config *c = &R->c;
  const mv_state *s = &R->s;
  const size_t nt = c->n_test, a = MV_SCORE_REFIT(m), b = MV_SCORE_PRE_ENC(m);
  char g[96];
  snprintf(g, sizeof g, "/results/%s", c->methods[m]->name);
  const struct {
    const char *name;
    double v;
  } sc[] = {{"test_loglik", s->score[a]},
            {"test_loglik_se", s->score_se[a]},
            {"test_loglik_pretrain_encoder", s->score[b]},
            {"test_loglik_pretrain_encoder_se", s->score_se[b]},
            {"seconds", s->secs[1 + 2 * m]},
            {"refit_seconds", s->secs[2 + 2 * m]}};
  for (size_t k = 0; k < sizeof sc / sizeof sc[0]; k++) {
    SAGD_CALL(write_scalar_(f, g, sc[k].name, sc[k].v));
  }
  char path[160];
  size_t dt[1] = {R->pt}, dp[1] = {R->pp}, dn[1] = {nt};
  snprintf(path, sizeof path, "%s/theta", g);
  SAGD_CALL(sagd_h5_write(f, path, 1, dt, s->theta_fin + m * R->pt));
  snprintf(path, sizeof path, "%s/phi", g);
  SAGD_CALL(sagd_h5_write(f, path, 1, dp, s->phi_fin + m * R->pp));
  snprintf(path, sizeof path, "%s/test_loglik_digits", g);
  SAGD_CALL(sagd_h5_write(f, path, 1, dn, s->digits + a * nt));
  double *d = NULL, dm = NAN, dse = NAN;
  SAGD_CALLOC(d, nt, "test score differences");
  for (size_t i = 0; i < nt; i++) {
    d[i] = s->digits[a * nt + i] - s->digits[i];
  }
  sagd_stats_mean_se(d, nt, &dm, &dse);
  free(d);
  SAGD_CALL(write_scalar_(f, g, "gain_over_pretrain", dm));
  SAGD_CALL(write_scalar_(f, g, "gain_over_pretrain_se", dse));
  if (c->methods[m] == &sagd_vae_method_sagd) {
    double *xi, *rho;
    size_t nch, r;
    sagd_vae_chains(R->v, &xi, &rho, &nch, &r);
    const size_t C = c->vo.chains;
    SAGD_CALL(sagd_h5_write_rows(f, "/chains/sagd/xi", c->n * C, r, R->i0 * C, nch, xi));
    SAGD_CALL(sagd_h5_write_rows(f, "/chains/sagd/rho", c->n * C, r, R->i0 * C, nch, rho));
  }
  if (c->methods[m] == &sagd_vae_method_coupled) { /* each image's τ at its last update */
    double *tau;
    size_t nloc;
    sagd_vae_meeting_times(R->v, &tau, &nloc);
    SAGD_CALL(sagd_h5_write_rows(f, "/results/coupled/meeting_time", c->n, 1, R->i0, nloc, tau));
  }
  return SAGD_OK;
}

static int write_result_(mv_run *R) {
  const mv_config *c = &R->c;
  const mv_state *s = &R->s;
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(R->info, "result.h5", &f));
  sagd_h5_set_checksums(f, 1);
  int rc = SAGD_OK;
  for (uint64_t ph = 0; ph < c->nphase; ph++) {
    char g[96];
    snprintf(g, sizeof g, "/trace/%s", c->phase_names[ph]);
    const sagd_vae_method_type *m = phase_method_(c, ph);
    SAGD_TRY(rc, done,
             exp_vae_trace_write(f, g, &s->tr[ph], &mv_trace_kind_, m == &sagd_vae_method_hmc,
                                 m == NULL));
  }
  size_t dt[1] = {R->pt}, dp[1] = {R->pp}, dn[1] = {c->n_test};
  SAGD_TRY(rc, done, sagd_h5_write(f, "/results/pretrain/theta", 1, dt, s->core.theta_pre));
  SAGD_TRY(rc, done, sagd_h5_write(f, "/results/pretrain/phi", 1, dp, s->core.phi_pre));
  SAGD_TRY(rc, done, write_scalar_(f, "/results/pretrain", "test_loglik", s->score[0]));
  SAGD_TRY(rc, done, write_scalar_(f, "/results/pretrain", "test_loglik_se", s->score_se[0]));
  SAGD_TRY(rc, done, write_scalar_(f, "/results/pretrain", "seconds", s->secs[0]));
  SAGD_TRY(rc, done, sagd_h5_write(f, "/results/pretrain/test_loglik_digits", 1, dn, s->digits));
  for (size_t m = 0; m < c->nm; m++) {
    SAGD_TRY(rc, done, write_method_(R, f, m));
  }
  SAGD_TRY(rc, done, write_figure_(R, f));
  SAGD_TRY(rc, done, sagd_runfile_commit(R->info, "result.h5", 0, &f));
done:
  if (f != NULL) {
    sagd_h5_close(&f);
  }
  return rc;
}

/* ---- start-up estimate -------------------------------------------------------------------- */

/* **Collective.** One warm-up and one timed update of pre-training (the refits' cost too) and
 * of each fine-tuning, and one digit's score, on scratch parameters (the run state is not
 * touched but for the optimizers and the methods' states, which every phase start or resume
 * sets again); prints the whole run's estimate. */
static int estimate_(mv_run *R) {
  const mv_config *c = &R->c;
  double *th = NULL, *ph = NULL, per[MV_MAX_PHASES], sc = 0;
  SAGD_CALLOC(th, R->pt, "timing theta");
  SAGD_CALLOC(ph, R->pp, "timing phi");
  int rc = SAGD_OK;
  SAGD_TRY(rc, done, sagd_mlp_init_xavier(R->gen, R->info->key, 0, th));
  SAGD_TRY(rc, done, sagd_mlp_init_xavier(R->enc, R->info->key, 1, ph));
  for (uint64_t p = 0; p < c->nphase; p++) {
    const sagd_vae_method_type *m = phase_method_(c, p);
    if (phase_kind_(p) == 2) { /* a refit: ELBO updates, as pre-training's */
      per[p] = per[0];
      continue;
    }
    sagd_vae_stats st;
    sagd_vae_reset_sums(R->v);
    if (m != NULL) {
      SAGD_TRY(rc, done, m->start(R->v, th, ph));
    }
    double t0 = 0;
    for (int k = 0; k < 2; k++) {
      if (k == 1) {
        SAGD_CHECK_MPI(MPI_Barrier(R->info->comm));
        t0 = exp_now();
      }
      SAGD_TRY(rc, done, phase_gradient_(R, p, th, ph, 1 + (uint64_t)k, &st));
    }
    per[p] = exp_now() - t0;
  }
  {
    double t0 = exp_now(), one;
    SAGD_TRY(rc, done, sagd_vae_is_loglik(R->gen, R->enc, th, ph, c->vo.likelihood,
                                          R->info->key, MV_SCORE_T, R->xt, 1, R->t0, c->S,
                                          &one));
    sc = (exp_now() - t0) * (double)((c->n_test + (size_t)R->info->size - 1) /
                                     (size_t)R->info->size);
  }
  SAGD_CHECK_MPI(
      MPI_Allreduce(MPI_IN_PLACE, per, (int)c->nphase, MPI_DOUBLE, MPI_MAX, R->info->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &sc, 1, MPI_DOUBLE, MPI_MAX, R->info->comm));
  {
    double total = 0;
    char buf[1024] = "", tb[32];
    for (uint64_t p = 0; p < c->nphase; p++) {
      const double tp = per[p] * (double)phase_iters_(c, p);
      total += tp;
      exp_format_seconds(tp, tb, sizeof tb);
      size_t len = strlen(buf);
      snprintf(buf + len, sizeof buf - len, "%s%s %s (%.3gs/it)", p ? ", " : "", c->phase_names[p],
               tb, per[p]);
    }
    double nscore = (double)c->nphase; /* the phase-end scores */
    for (uint64_t p = 0; p < c->nphase && c->ll_every > 0; p++) {
      nscore += (double)(phase_iters_(c, p) / c->ll_every);
    }
    total += nscore * sc;
    exp_format_seconds(nscore * sc, tb, sizeof tb);
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof buf - len, ", held-out scores %s (%.3gs each)", tb, sc);
    exp_format_seconds(total, tb, sizeof tb);
    exp_progress(R->info, "estimated wall time of the full run on %d rank(s): %s  [%s]\n",
                 R->info->size, tb, buf);
  }
done:
  free(th);
  free(ph);
  return rc;
}

/* ---- open, run, close ----------------------------------------------------------------------- */

static int check_memory_(const sagd_run_info *info, const mv_config *c, size_t nloc,
                         size_t ntloc) {
  const double p = 784, r = (double)c->r, C = (double)c->vo.chains;
  const double rows = (double)sagd_vae_max_rows(&c->vo, c->n);
  const exp_mem_item items[] = {
      {"images", "data.file, data.n, data.test_n", 70000.0 * p + 8 * (nloc + ntloc) * p},
      {"chains", "data.n, sagd.chains, model.latent", 8 * 2 * (double)nloc * C * r},
      {"per-update buffers", "sagd.block, vae.batches, vae.samples, sagd.chains",
       8 * rows * (4 * r + 2 * p + 1)},
      {"held-out scratch", "metrics.is_samples", 8 * (double)c->S * (2 * r + p + 1)},
  };
  SAGD_CALL(exp_check_memory(info, items, sizeof items / sizeof items[0]));
  return SAGD_OK;
}

static void close_(mv_run *R) {
  mv_state *s = &R->s;
  sagd_checkpointer_destroy(&R->cp);
  sagd_state_destroy(&R->st);
  exp_vae_core_free(&s->core);
  free(s->theta_fin);
  free(s->phi_fin);
  free(s->digits);
  for (size_t ph = 0; ph < MV_MAX_PHASES; ph++) {
    exp_vae_trace_free(&s->tr[ph]);
  }
  sagd_vae_destroy(&R->v);
  sagd_optimizer_destroy(&R->ot);
  sagd_optimizer_destroy(&R->op);
  sagd_mlp_destroy(&R->gen);
  sagd_mlp_destroy(&R->enc);
  sagd_images_destroy(&R->train);
  sagd_images_destroy(&R->test);
  free(R->x);
  free(R->xt);
  free(R->gt);
  free(R->gp);
  free(R->ll_loc);
  free(R->ll_all);
  free(R->counts);
  free(R->displs);
}

/* The images: data.file's training split (HDF5) or the IDX file itself, and the test split
 * (HDF5) or data.test_file (IDX); the first data.n and data.test_n of each. */
static int load_images_(mv_run *R) {
  mv_config *c = &R->c;
  const char *probe = NULL;
  int hdf5 = 0;
  SAGD_CALL(sagd_images_probe(c->file, &hdf5));
  if (hdf5) { /* sagd's file: both splits inside */
    SAGD_CALL(sagd_images_read(c->file, "train", NULL, 0, &R->train));
    SAGD_CHECK(c->test_file[0] == '\0', SAGD_ERR_CONFIG,
               "data.test_file = '%s' with an HDF5 data.file ('%s'), which holds its own test "
               "split: expected data.test_file empty",
               c->test_file, c->file);
    SAGD_CALL(sagd_images_read(c->file, "test", NULL, 0, &R->test));
    probe = "test split of data.file";
  } else {
    SAGD_CHECK(c->test_file[0] != '\0', SAGD_ERR_CONFIG,
               "data.file = '%s' is not an HDF5 file, so an IDX file of training images: "
               "expected data.test_file to name the test images (t10k-images-idx3-ubyte[.gz])",
               c->file);
    SAGD_CALL(sagd_images_read(c->file, NULL, NULL, 0, &R->train));
    SAGD_CALL(sagd_images_read(c->test_file, NULL, NULL, 0, &R->test));
    probe = "data.test_file";
  }
  const size_t ntr = sagd_images_count(R->train), nte = sagd_images_count(R->test);
  SAGD_CHECK(c->n <= ntr, SAGD_ERR_CONFIG,
             "data.n = %zu: expected at most the %zu training images of '%s'", c->n, ntr,
             c->file);
  SAGD_CHECK(c->n_test >= 1 && c->n_test <= nte, SAGD_ERR_CONFIG,
             "data.test_n = %zu: expected 1 .. the %zu images of the %s", c->n_test, nte, probe);
  c->rows_img = sagd_images_rows(R->train);
  c->cols_img = sagd_images_cols(R->train);
  SAGD_CHECK(sagd_images_rows(R->test) == c->rows_img &&
                 sagd_images_cols(R->test) == c->cols_img,
             SAGD_ERR_DATA, "the test images are %zu x %zu, the training images %zu x %zu: "
             "expected one size",
             sagd_images_rows(R->test), sagd_images_cols(R->test), c->rows_img, c->cols_img);
  c->p = c->rows_img * c->cols_img;
  uint64_t h = sagd_checksum_bytes(sagd_images_bytes(R->train), c->n * c->p, 0);
  h = sagd_checksum_bytes(sagd_images_bytes(R->test), c->n_test * c->p, h);
  R->s.data_ck[0] = (double)(h >> 32);
  R->s.data_ck[1] = (double)(h & 0xffffffffu);
  return SAGD_OK;
}

static int open_(const sagd_run_info *info, mv_run *R) {
  R->info = info;
  mv_config *c = &R->c;
  mv_state *s = &R->s;
  SAGD_CALL(read_config_(info, c));
  SAGD_CALL(load_images_(R));
  sagd_shard_range(c->n, c->vo.block, info->rank, info->size, &R->i0, &R->i1);
  sagd_shard_range(c->n_test, 1, info->rank, info->size, &R->t0, &R->t1);
  SAGD_CALL(check_memory_(info, c, R->i1 - R->i0, R->t1 - R->t0));
  const size_t rows = sagd_vae_max_rows(&c->vo, c->n);
  /* the generator's rows: an update's, the figure's draws, a held-out chunk (<= 500 of a
   * digit's samples at a time) */
  size_t gcap = rows > MV_PICS ? rows : MV_PICS;
  const size_t chunk = c->S < 500 ? c->S : 500;
  gcap = gcap > chunk ? gcap : chunk;
  SAGD_CALL(sagd_mlp_create_spec("model.generator_layers", c->gspec, 1, 1, c->r, gcap, &R->gen));
  SAGD_CALL(sagd_mlp_create_spec("model.encoder_layers", c->espec, c->rows_img, c->cols_img, 1,
                                 rows > MV_RECON ? rows : MV_RECON, &R->enc));
  SAGD_CHECK(sagd_mlp_out(R->gen) == c->p, SAGD_ERR_CONFIG,
             "model.generator_layers gives %zu values per latent: expected one per pixel, %zu "
             "(%zu x %zu)",
             sagd_mlp_out(R->gen), c->p, c->rows_img, c->cols_img);
  SAGD_CHECK(sagd_mlp_out(R->enc) == 2 * c->r, SAGD_ERR_CONFIG,
             "model.encoder_layers gives %zu values per image: expected 2 x model.latent = %zu "
             "(mean and log-variance)",
             sagd_mlp_out(R->enc), 2 * c->r);
  SAGD_CALL(exp_vae_optimizers(R->gen, R->enc, c->precision, c->otype, &c->oopt, &R->pt, &R->pp,
                               &R->ot, &R->op));
  const size_t nloc = R->i1 - R->i0, ntl = R->t1 - R->t0;
  SAGD_CALLOC(R->x, (nloc > 0 ? nloc : 1) * c->p, "training images");
  SAGD_CALLOC(R->xt, (ntl > 0 ? ntl : 1) * c->p, "test images");
  SAGD_CALL(sagd_images_get(R->train, R->i0, nloc, R->x));
  SAGD_CALL(sagd_images_get(R->test, R->t0, ntl, R->xt));
  SAGD_CALL(sagd_vae_create(info->comm, R->gen, R->enc, R->x, c->n, R->i0, R->i1, &c->vo, &R->v));
  SAGD_CALL(exp_vae_core_alloc(&s->core, R->pt, R->pp, R->ot, R->op));
  SAGD_CALLOC(s->theta_fin, c->nm * R->pt, "fine-tuned thetas");
  SAGD_CALLOC(s->phi_fin, c->nm * R->pp, "refitted phis");
  SAGD_CALLOC(s->digits, c->nphase * c->n_test, "per-digit test scores");
  for (uint64_t ph = 0; ph < c->nphase; ph++) {
    SAGD_CALL(exp_vae_trace_alloc(&s->tr[ph], (size_t)phase_iters_(c, ph), c->ll_every));
    s->tr[ph].coupled = phase_method_(c, ph) == &sagd_vae_method_coupled;
  }
  for (size_t k = 0; k < c->nphase; k++) {
    s->score[k] = s->score_se[k] = NAN;
  }
  SAGD_CALLOC(R->gt, R->pt, "theta gradient");
  SAGD_CALLOC(R->gp, R->pp, "phi gradient");
  SAGD_CALLOC(R->ll_loc, ntl > 0 ? ntl : 1, "test scores");
  SAGD_CALLOC(R->ll_all, c->n_test, "test scores");
  SAGD_CALLOC(R->counts, (size_t)info->size, "gather counts");
  SAGD_CALLOC(R->displs, (size_t)info->size, "gather offsets");
  for (int q = 0; q < info->size; q++) {
    size_t a, b;
    sagd_shard_range(c->n_test, 1, q, info->size, &a, &b);
    R->counts[q] = (int)(b - a);
    R->displs[q] = (int)a;
  }
  return SAGD_OK;
}

static int body_(const sagd_run_info *info, mv_run *R) {
  SAGD_CALL(open_(info, R));
  const mv_config *c = &R->c;
  mv_state *s = &R->s;
  char gd[1024], ed[1024], ms[256] = "";
  SAGD_CALL(sagd_mlp_describe(R->gen, gd, sizeof gd));
  SAGD_CALL(sagd_mlp_describe(R->enc, ed, sizeof ed));
  for (size_t m = 0; m < c->nm; m++) {
    const size_t len = strlen(ms);
    snprintf(ms + len, sizeof ms - len, "%s%s", m ? ", " : "", c->methods[m]->name);
  }
  exp_progress(info,
               "mnist_vae: %zu training and %zu test images of %zu x %zu from '%s', latent %zu, "
               "%d rank(s), %s precision\n  generator: %s\n  encoder:   %s\n  pre-training "
               "%llu epochs x %llu batch(es); then %s for %llu epochs each (%zu chain(s) per "
               "image, K = %llu, delta = %g), each followed by an encoder refit of %llu epochs; "
               "held-out: %zu samples per digit; seed %llu, replication %llu\n",
               c->n, c->n_test, c->rows_img, c->cols_img, c->file, c->r, info->size,
               c->precision == SAGD_PRECISION_SINGLE ? "single" : "double", gd, ed,
               (unsigned long long)c->epochs[0], (unsigned long long)c->batches, ms,
               (unsigned long long)c->epochs[1], c->vo.chains, (unsigned long long)c->vo.K,
               c->vo.delta, (unsigned long long)c->epochs[2], c->S,
               (unsigned long long)info->key.seed, (unsigned long long)info->key.replication);
  if (c->estimate) {
    SAGD_CALL(estimate_(R));
  }
  SAGD_CALL(sagd_state_create(&R->st));
  SAGD_CALL(ckpt_register_(R));
  const double ck[2] = {s->data_ck[0], s->data_ck[1]};
  SAGD_CALL(sagd_checkpointer_create(info, R->st, &R->cp));
  int resumed = 0;
  char phase[128] = "";
  SAGD_CALL(sagd_checkpointer_resume(R->cp, &resumed, phase, sizeof phase));
  if (resumed) {
    SAGD_CHECK(memcmp(ck, s->data_ck, sizeof ck) == 0, SAGD_ERR_DATA,
               "the images of '%s' differ from those the checkpoint was written with (the "
               "file was replaced?): cannot resume; start over with --resume never --force",
               c->file);
    exp_progress(info, "resumed from the checkpoint at '%s'\n", phase);
  }
  while (s->core.phase < c->nphase) {
    SAGD_CALL(run_phase_(R, s->core.phase));
    const uint64_t ph = s->core.phase;
    const int kind = phase_kind_(ph);
    const uint64_t sc = phase_score_(ph);
    exp_progress(info, "%s done: test loglik%s %.3f (SE %.3f)  (%.1fs)\n", c->phase_names[ph],
                 kind == 1   ? " with the pre-trained encoder"
                 : kind == 2 ? " (refitted encoder)"
                             : "",
                 s->score[sc], s->score_se[sc], s->secs[ph]);
    char label[64];
    snprintf(label, sizeof label, "%s done", c->phase_names[ph]);
    s->core.phase++;
    s->core.iter = 0;
    SAGD_CALL(sagd_checkpointer_tick(R->cp, s->core.total, label, 1));
  }
  SAGD_CALL(write_result_(R));
  if (info->rank == 0) {
    char tb[2][32];
    exp_format_seconds(s->secs[0], tb[0], sizeof tb[0]);
    printf("\n| generator | held-out log-likelihood (SE), %zu test digits, %zu samples | "
           "wall time |\n|---|---|---|\n",
           c->n_test, c->S);
    printf("| VAE (pre-trained) | %.3f (%.3f) | %s |\n", s->score[0], s->score_se[0], tb[0]);
    for (size_t m = 0; m < c->nm; m++) {
      const size_t a = MV_SCORE_REFIT(m), b = MV_SCORE_PRE_ENC(m);
      exp_format_seconds(s->secs[1 + 2 * m], tb[0], sizeof tb[0]);
      exp_format_seconds(s->secs[2 + 2 * m], tb[1], sizeof tb[1]);
      printf("| %s (refitted encoder) | %.3f (%.3f) | %s + %s refit |\n", c->methods[m]->label,
             s->score[a], s->score_se[a], tb[0], tb[1]);
      printf("| %s (pre-trained encoder) | %.3f (%.3f) | |\n", c->methods[m]->label, s->score[b],
             s->score_se[b]);
    }
    fflush(stdout);
  }
  exp_report_written(info, R->cp, resumed);
  return SAGD_OK;
}

static int mnist_vae_run_(const sagd_run_info *info) {
  mv_run R;
  memset(&R, 0, sizeof R);
  int rc = body_(info, &R);
  close_(&R);
  return rc;
}

/* The keys mnist_vae reads (its own and the VAE family's in vae_common.c). */
static const char *const mnist_vae_reads_[] = {SAGD_EXPERIMENT_COMMON_READS,
                                               EXP_VAE_FAMILY_READS,
                                               "data.file",
                                               "data.n",
                                               "data.test_file",
                                               "data.test_n",
                                               "model.generator_layers",
                                               "model.encoder_layers",
                                               "model.latent",
                                               "vae.finetune",
                                               "vae.refit_epochs",
                                               "metrics.is_samples",
                                               NULL};

const sagd_experiment_type sagd_experiment_mnist_vae = {
    .name = "mnist_vae",
    .summary =
        "VAE with convolutional networks on MNIST digits, fine-tuning of the generator "
        "(SAGD, coupled, ...) and held-out log-likelihoods (paper Figure 3)",
    .run = mnist_vae_run_,
    .reads = mnist_vae_reads_,
    .table = &exp_mnist_table,
    .table_read = exp_mnist_table_read};
