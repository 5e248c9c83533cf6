/* VAE pre-training and the VAE / IWAE / HMC / SAGD fine-tuning gradients of the debiased-VAE
 * experiment (see include/sagd/vae.h). */
#include "sagd/registry.h"
#include "sagd/vae.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/deconv.h"
#include "sagd/error.h"
#include "sagd/hmc.h"
#include "sagd/model.h"
#include "sagd/psum.h"
#include "sagd/reduce.h"
#include "vae_impl.h"

static size_t max3_(size_t a, size_t b, size_t c) {
  size_t m = a > b ? a : b;
  return m > c ? m : c;
}

size_t sagd_minibatch_max_part(size_t n, size_t block, size_t M) {
  const size_t bs = block < n ? block : n;
  M = M >= 1 ? M : 1;
  return (bs + M - 1) / M;
}

static size_t max_part_(const sagd_vae_options *opt, size_t n) {
  return sagd_minibatch_max_part(n, opt->block, opt->batches);
}

size_t sagd_vae_max_rows(const sagd_vae_options *opt, size_t n) {
  size_t per = max3_(opt->samples, opt->iwae_k, opt->chains);
  if (opt->coupled.S >= 2 && opt->coupled.S + 1 > per) {
    per = opt->coupled.S + 1;
  }
  return max_part_(opt, n) * per;
}

void sagd_minibatch_part(sagd_rng_gsl r, sagd_rng_key key, size_t n, size_t block, size_t M,
                         uint64_t t, size_t b, size_t *perm, size_t *i0, size_t *i1) {
  size_t start = b * block;
  size_t bs = start < n ? (n - start < block ? n - start : block) : 0;
  if (M <= 1 || bs == 0) {
    *i0 = start;
    *i1 = start + bs;
    return;
  }
  uint64_t e = (t - 1) / M, m = (t - 1) % M;
  for (size_t j = 0; j < M; j++) {
    perm[j] = j;
  }
  sagd_rng_gsl_reset(r, key, SAGD_STREAM_MINIBATCH, (uint64_t)b, e, 0);
  gsl_ran_shuffle(sagd_rng_gsl_get(r), perm, M, sizeof(size_t));
  size_t j = perm[m];
  *i0 = start + j * bs / M;
  *i1 = start + (j + 1) * bs / M;
}

int sagd_vae_create(MPI_Comm comm, sagd_mlp gen, sagd_mlp enc, const double *x_local,
                    size_t n, size_t i_begin, size_t i_end, const sagd_vae_options *opt,
                    sagd_vae *out) {
  SAGD_CHECK(out != NULL && opt != NULL && gen != NULL && enc != NULL, SAGD_ERR_ARG,
             "sagd_vae_create: generator, encoder, options and output handle must be given");
  *out = NULL;
  SAGD_CHECK(opt->block >= 1, SAGD_ERR_ARG, "vae: block = %zu, expected >= 1", opt->block);
  SAGD_CHECK(opt->batches >= 1 && opt->batches <= opt->block, SAGD_ERR_ARG,
             "vae: %zu minibatches per epoch, expected between 1 and the block size %zu",
             opt->batches, opt->block);
  SAGD_CHECK(opt->samples >= 1, SAGD_ERR_ARG, "vae: ELBO samples = %zu, expected >= 1",
             opt->samples);
  SAGD_CHECK(opt->iwae_k >= 1, SAGD_ERR_ARG, "vae: IWAE k = %zu, expected >= 1", opt->iwae_k);
  SAGD_CHECK(opt->chains >= 1, SAGD_ERR_ARG, "vae: chains per point = %zu, expected >= 1",
             opt->chains);
  SAGD_CHECK(opt->leapfrog >= 1, SAGD_ERR_ARG, "vae: leapfrog steps L = %zu, expected >= 1",
             opt->leapfrog);
  SAGD_CHECK(opt->K >= 1, SAGD_ERR_ARG, "vae: chain length K = %llu, expected >= 1",
             (unsigned long long)opt->K);
  SAGD_CHECK(isfinite(opt->delta) && opt->delta > 0, SAGD_ERR_ARG,
             "vae: step size delta = %g, expected a finite value > 0", opt->delta);
  const sagd_vae_coupled_options *co = &opt->coupled;
  if (co->S != 0) {
    SAGD_CHECK(co->S >= 2, SAGD_ERR_ARG, "coupled: S = %zu proposals, expected >= 2", co->S);
    SAGD_CHECK(co->k >= 1 && co->k <= co->m, SAGD_ERR_ARG,
               "coupled: k = %llu, m = %llu, expected 1 <= k <= m", (unsigned long long)co->k,
               (unsigned long long)co->m);
    SAGD_CHECK(co->L >= 1, SAGD_ERR_ARG, "coupled: lag L = %llu, expected >= 1",
               (unsigned long long)co->L);
    SAGD_CHECK(co->tau_max >= co->m, SAGD_ERR_ARG,
               "coupled: tau_max = %llu, expected at least m = %llu",
               (unsigned long long)co->tau_max, (unsigned long long)co->m);
  }
  const sagd_likelihood_type *lik0 =
      opt->likelihood != NULL ? opt->likelihood : &sagd_likelihood_gaussian;
  const size_t r = sagd_mlp_in(gen), w = sagd_mlp_out(gen), p = w / lik0->outputs;
  SAGD_CHECK(w % lik0->outputs == 0, SAGD_ERR_ARG,
             "vae: generator output width %zu is not a multiple of the %zu outputs per data "
             "coordinate of likelihood %s",
             w, lik0->outputs, lik0->name);
  SAGD_CHECK(sagd_mlp_in(enc) == p, SAGD_ERR_ARG,
             "vae: encoder input width %zu differs from the data width %zu (generator output "
             "%zu / %zu outputs per coordinate of likelihood %s)",
             sagd_mlp_in(enc), p, w, lik0->outputs, lik0->name);
  SAGD_CHECK(sagd_mlp_out(enc) == 2 * r, SAGD_ERR_ARG,
             "vae: encoder output width %zu, expected 2 x latent dimension = %zu",
             sagd_mlp_out(enc), 2 * r);
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  size_t b0, b1;
  sagd_shard_range(n, opt->block, rank, size, &b0, &b1);
  SAGD_CHECK(i_begin == b0 && i_end == b1, SAGD_ERR_ARG,
             "vae: shard [%zu, %zu) on rank %d is not the block-aligned shard [%zu, %zu)",
             i_begin, i_end, rank, b0, b1);
  size_t maxpart = max_part_(opt, n);
  size_t rows = sagd_vae_max_rows(opt, n);
  SAGD_CHECK(sagd_mlp_max_batch(gen) >= rows, SAGD_ERR_ARG,
             "vae: generator max_batch %zu < %zu rows needed", sagd_mlp_max_batch(gen), rows);
  SAGD_CHECK(sagd_mlp_max_batch(enc) >= maxpart, SAGD_ERR_ARG,
             "vae: encoder max_batch %zu < %zu rows needed", sagd_mlp_max_batch(enc), maxpart);

  int err = SAGD_OK;
  struct sagd_vae_s *v = calloc(1, sizeof *v);
  SAGD_CHECK(v != NULL, SAGD_ERR_MEM, "cannot allocate the VAE");
  v->comm = comm;
  v->gen = gen;
  v->enc = enc;
  v->opt = *opt;
  if (v->opt.sampler == NULL) {
    v->opt.sampler = &sagd_sampler_underdamped;
  }
  if (v->opt.likelihood == NULL) {
    v->opt.likelihood = &sagd_likelihood_gaussian;
  }
  v->r = r;
  v->p = p;
  v->w = w;
  v->pt = sagd_mlp_nparams(gen);
  v->pp = sagd_mlp_nparams(enc);
  v->n = n;
  v->i_begin = i_begin;
  v->i_end = i_end;
  v->nloc = i_end - i_begin;
  v->maxpart = maxpart;
  size_t C = opt->chains;
  SAGD_CALLOC_GOTO(err, fail, v->x, v->nloc * p, "VAE data shard");
  if (v->nloc > 0) {
    memcpy(v->x, x_local, v->nloc * p * sizeof(double));
  }
  SAGD_CALLOC_GOTO(err, fail, v->xi, v->nloc * C * r, "SAGD chain positions");
  SAGD_CALLOC_GOTO(err, fail, v->rho, v->nloc * C * r, "SAGD chain momenta");
  SAGD_CALLOC_GOTO(err, fail, v->blk, X_N + v->pt + v->pp, "block sums");
  SAGD_CALLOC_GOTO(err, fail, v->red, X_N + v->pt + v->pp, "reduced sums");
  SAGD_CALLOC_GOTO(err, fail, v->perm, opt->batches, "minibatch permutation");
  SAGD_CALLOC_GOTO(err, fail, v->eo, maxpart * 2 * r, "encoder outputs");
  SAGD_CALLOC_GOTO(err, fail, v->deo, maxpart * 2 * r, "encoder output gradients");
  SAGD_CALLOC_GOTO(err, fail, v->u, rows * r, "latent samples");
  SAGD_CALLOC_GOTO(err, fail, v->eps, rows * r, "reparameterisation noise");
  SAGD_CALLOC_GOTO(err, fail, v->du, rows * r, "latent gradients");
  SAGD_CALLOC_GOTO(err, fail, v->h, rows * w, "generator outputs");
  SAGD_CALLOC_GOTO(err, fail, v->dh, rows * w, "generator output gradients");
  SAGD_CALLOC_GOTO(err, fail, v->lw, rows, "importance log-weights");
  SAGD_CALLOC_GOTO(err, fail, v->sig, maxpart * r, "encoder standard deviations");
  SAGD_CALLOC_GOTO(err, fail, v->elv, maxpart * r, "encoder variances");
  SAGD_CALLOC_GOTO(err, fail, v->cV, maxpart * C, "HMC potentials");
  SAGD_CALLOC_GOTO(err, fail, v->cgrad, maxpart * C * r, "HMC gradients");
  SAGD_CALLOC_GOTO(err, fail, v->cxi, maxpart * C * r, "HMC chain states");
  if (opt->coupled.S >= 2 && (err = sagd_vae_coupled_alloc_(v)) != SAGD_OK) {
    goto fail;
  }
  /* one term per global block and update */
  const uint64_t nblocks = (uint64_t)((n + opt->block - 1) / opt->block);
  if ((!opt->exact_sum && ((err = sagd_psum_create(X_N + v->pt + v->pp, nblocks,
                                                   SAGD_VAE_PSUM_MARGIN, &v->ps_full)) != SAGD_OK ||
                           (err = sagd_psum_create(X_N + v->pt, nblocks, SAGD_VAE_PSUM_MARGIN,
                                                   &v->ps_theta)) != SAGD_OK)) ||
      (opt->exact_sum && ((err = sagd_xsum_create(X_N + v->pt + v->pp, &v->acc_full)) != SAGD_OK ||
                          (err = sagd_xsum_create(X_N + v->pt, &v->acc_theta)) != SAGD_OK)) ||
      (err = sagd_xsum_create(1, &v->acc_one)) != SAGD_OK ||
      (err = sagd_rng_gsl_create(&v->rng)) != SAGD_OK ||
      (err = sagd_decoder_model_create(gen, v->opt.likelihood, v->x, n, i_begin, i_end,
                                       &v->model)) != SAGD_OK ||
      (err = sagd_sampler_create(v->opt.sampler, v->model, C, maxpart, opt->gamma, opt->key,
                                 &v->sampler)) != SAGD_OK ||
      (err = sagd_hmc_create(v->model, C, maxpart, opt->key, &v->hmc)) != SAGD_OK ||
      (opt->ald.features >= 1 && (err = sagd_vae_ald_alloc_(v)) != SAGD_OK)) {
    goto fail;
  }
  *out = v;
  return SAGD_OK;
fail:
  sagd_vae_destroy(&v);
  return sagd_error_trace(err, __FILE__, __LINE__, __func__);
}

void sagd_vae_destroy(sagd_vae *pv) {
  if (pv == NULL || *pv == NULL) {
    return;
  }
  sagd_vae v = *pv;
  sagd_hmc_destroy(&v->hmc);
  sagd_sampler_destroy(&v->sampler);
  sagd_model_destroy(&v->model);
  sagd_rng_gsl_destroy(&v->rng);
  sagd_xsum_destroy(&v->acc_full);
  sagd_xsum_destroy(&v->acc_theta);
  sagd_psum_destroy(&v->ps_full);
  sagd_psum_destroy(&v->ps_theta);
  sagd_xsum_destroy(&v->acc_one);
  free(v->x);
  free(v->xi);
  free(v->rho);
  free(v->blk);
  free(v->red);
  free(v->perm);
  free(v->eo);
  free(v->deo);
  free(v->u);
  free(v->eps);
  free(v->du);
  free(v->h);
  free(v->dh);
  free(v->lw);
  free(v->sig);
  free(v->elv);
  free(v->cV);
  free(v->cgrad);
  free(v->cxi);
  sagd_vae_coupled_free_(v);
  sagd_vae_ald_free_(v);
  free(v);
  *pv = NULL;
}

void sagd_vae_time_waits(sagd_vae v, int on) { v->time_waits = on; }

void sagd_vae_reset_sums(sagd_vae v) {
  if (v->ps_full != NULL) {
    sagd_psum_reset_grid(v->ps_full);
    sagd_psum_reset_grid(v->ps_theta);
  }
}

void sagd_vae_sum_state(sagd_vae v, double **grid_full, size_t *n_full, double **grid_theta,
                        size_t *n_theta) {
  *grid_full = *grid_theta = NULL;
  *n_full = *n_theta = 0;
  if (v->ps_full != NULL) {
    *grid_full = sagd_psum_grid(v->ps_full, n_full);
    *grid_theta = sagd_psum_grid(v->ps_theta, n_theta);
  }
}

void sagd_vae_meeting_times(sagd_vae v, double **tau, size_t *nloc) {
  *tau = v->cp.meeting;
  *nloc = v->cp.meeting != NULL ? v->nloc : 0;
}

void sagd_vae_chains(sagd_vae v, double **xi, double **rho, size_t *nchains, size_t *r) {
  *xi = v->xi;
  *rho = v->rho;
  *nchains = v->nloc * v->opt.chains;
  *r = v->r;
}

/* ---- the block loop: per-block sums, exact reduction, means ------------------------------ */

/* Single-precision networks: round the parameters of this update to their float copies
 * (no-op in double precision). phi may be NULL (not used). */
static int prepare_(sagd_vae v, const double *theta, const double *phi) {
  SAGD_CALL(sagd_mlp_prepare(v->gen, theta));
  if (phi != NULL) {
    SAGD_CALL(sagd_mlp_prepare(v->enc, phi));
  }
  return SAGD_OK;
}

int sagd_vae_run_parts_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                        int with_phi, sagd_vae_part_fn_ fn, double *g_theta, double *g_phi,
                        sagd_vae_stats *stats, double grad_scale) {
  SAGD_CHECK(t >= 1, SAGD_ERR_ARG, "vae: update t = 0, expected t >= 1");
  SAGD_CALL(prepare_(v, theta, phi));
  size_t len = X_N + v->pt + (with_phi ? v->pp : 0);
  sagd_xsum acc = with_phi ? v->acc_full : v->acc_theta;
  sagd_psum ps = with_phi ? v->ps_full : v->ps_theta;
  /* time in the sum: the pre-rounded sum keeps its own clock (it also counts the pieces
   * added inside the backward passes); the exact one is timed here */
  const double ps0 = ps != NULL ? sagd_psum_seconds(ps) : 0;
  double txs = 0, t0 = MPI_Wtime();
  if (ps != NULL) {
    sagd_psum_zero(ps);
  } else {
    sagd_xsum_zero(acc);
    txs += MPI_Wtime() - t0;
  }
  size_t block = v->opt.block;
  for (size_t b = v->i_begin / block; b * block < v->i_end; b++) {
    size_t a, e;
    sagd_minibatch_part(v->rng, v->opt.key, v->n, block, v->opt.batches, t, b, v->perm, &a,
                        &e);
    if (a == e) {
      continue;
    }
    memset(v->blk, 0, (with_phi ? X_N : len) * sizeof(double));
    /* ELBO/IWAE with pre-rounded sums: the parameter gradients go into the sum from inside
     * the backward passes (the same bits as adding blk whole, unless opt.unfused) */
    v->sink = ps != NULL && with_phi && !v->opt.unfused ? ps : NULL;
    if (v->sink != NULL) {
      SAGD_CALL(sagd_psum_begin_term(ps));
    }
    SAGD_CALL(fn(v, theta, phi, t, a, e, v->blk));
    if (v->sink != NULL) {
      SAGD_CALL(sagd_psum_add_range(ps, 0, X_N, v->blk));
    } else if (ps != NULL) {
      SAGD_CALL(sagd_psum_add(ps, v->blk));
    } else {
      t0 = MPI_Wtime();
      SAGD_CALL(sagd_xsum_add(acc, v->blk));
      txs += MPI_Wtime() - t0;
    }
    v->sink = NULL;
  }
  double wait = 0;
  if (v->time_waits) {
    wait = MPI_Wtime();
    SAGD_CHECK_MPI(MPI_Barrier(v->comm));
    wait = MPI_Wtime() - wait;
  }
  uint64_t ex0 = 0, ex1 = 0;
  size_t bytes = 0;
  if (ps != NULL) {
    sagd_psum_counts(ps, NULL, &ex0, NULL);
    SAGD_CALL(sagd_psum_allreduce(ps, v->comm, v->red));
    sagd_psum_counts(ps, NULL, &ex1, &bytes);
  } else {
    t0 = MPI_Wtime();
    SAGD_CALL(sagd_xsum_allreduce(acc, v->comm, v->red));
    txs += MPI_Wtime() - t0;
    bytes = sagd_xsum_bytes(acc);
  }
  const double tred = ps != NULL ? sagd_psum_seconds(ps) - ps0 : txs;
  double pts = v->red[X_PTS];
  SAGD_CHECK(pts > 0, SAGD_ERR_INTERNAL, "vae: update %llu has no data points",
             (unsigned long long)t);
  double s = 1.0 / (pts * grad_scale);
  for (size_t j = 0; j < v->pt; j++) {
    g_theta[j] = v->red[X_N + j] * s;
  }
  if (with_phi) {
    for (size_t j = 0; j < v->pp; j++) {
      g_phi[j] = v->red[X_N + v->pt + j] * s;
    }
  }
  if (stats != NULL) {
    stats->objective = v->red[X_OBJ] / pts;
    stats->points = pts;
    stats->accept = v->red[X_PROP] > 0 ? v->red[X_ACC] / v->red[X_PROP] : NAN;
    stats->reduce_seconds = tred;
    stats->wait_seconds = wait;
    stats->exact_path = ps == NULL || ex1 > ex0;
    stats->reduce_bytes = bytes;
    stats->meeting = NAN;
    stats->capped = 0;
  }
  return SAGD_OK;
}

/* The parameter gradients of an ELBO/IWAE part: into blk, or into the pre-rounded sum
 * directly (v->sink). The generator's also gives du. */
static int backward_gen_(sagd_vae v, const double *theta, size_t rows, double *blk) {
  if (v->sink != NULL) {
    SAGD_CALL(sagd_mlp_backward_psum(v->gen, theta, rows, v->dh, v->sink, X_N, v->du));
  } else {
    SAGD_CALL(sagd_mlp_backward_set(v->gen, theta, rows, v->dh, blk + X_N, v->du));
  }
  return SAGD_OK;
}

static int backward_enc_(sagd_vae v, const double *phi, size_t m, double *blk) {
  if (v->sink != NULL) {
    SAGD_CALL(sagd_mlp_backward_psum(v->enc, phi, m, v->deo, v->sink, X_N + v->pt, NULL));
  } else {
    SAGD_CALL(sagd_mlp_backward_set(v->enc, phi, m, v->deo, blk + X_N + v->pt, NULL));
  }
  return SAGD_OK;
}

int sagd_vae_encode_(sagd_vae v, const double *phi, size_t a, size_t m) {
  SAGD_CALL(sagd_mlp_forward(v->enc, phi, m, v->x + (a - v->i_begin) * v->p, v->eo));
  return SAGD_OK;
}

/* u rows q*S + s = μ_q + σ_q ε, ε at (REPARAM, a+q, t, s); σ_q = exp(lv/2) once per point,
 * kept in v->sig for the backward pass. */
void sagd_vae_part_sigma_(sagd_vae v, size_t m) {
  const size_t r = v->r;
  for (size_t q = 0; q < m; q++) {
    const double *lv = v->eo + q * 2 * r + r;
    for (size_t j = 0; j < r; j++) {
      v->sig[q * r + j] = exp(0.5 * lv[j]);
    }
  }
}

double sagd_vae_sum_logvar_(sagd_vae v, size_t q) {
  const double *lv = v->eo + q * 2 * v->r + v->r;
  double slv = 0;
  for (size_t j = 0; j < v->r; j++) {
    slv += lv[j];
  }
  return slv;
}

int sagd_vae_method_ready_(int ready, const char *method, const char *key, size_t value,
                           size_t min) {
  SAGD_CHECK(ready, SAGD_ERR_ARG,
             "%s: the method's settings are not set (options.%s = %zu, expected >= %zu)", method,
             key, value, min);
  return SAGD_OK;
}

double sagd_vae_log_weight_(sagd_vae v, size_t row, const double *x, double slv, double *joint) {
  const size_t r = v->r;
  double rec = 0, uu = 0, ee = 0; /* rec: -log p(x | h(u)) without the constant */
  v->opt.likelihood->nll_row(v->h + row * v->w, x, v->p, 1.0, &rec, v->dh + row * v->w);
  for (size_t j = 0; j < r; j++) {
    uu += v->u[row * r + j] * v->u[row * r + j];
    ee += v->eps[row * r + j] * v->eps[row * r + j];
  }
  const double lj = -rec - v->opt.likelihood->constant(v->p) - 0.5 * uu;
  if (joint != NULL) {
    *joint = lj - sagd_prior_constant(r);
  }
  return lj + 0.5 * slv + 0.5 * ee;
}

static void reparam_(sagd_vae v, size_t a, size_t m, size_t S, uint64_t t) {
  const size_t r = v->r;
  sagd_vae_part_sigma_(v, m);
  for (size_t q = 0; q < m; q++) {
    const double *mu = v->eo + q * 2 * r, *sig = v->sig + q * r;
    for (size_t s = 0; s < S; s++) {
      size_t row = q * S + s;
      double *eps = v->eps + row * r, *u = v->u + row * r;
      sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_REPARAM, (uint64_t)(a + q), t, s, r, eps);
      for (size_t j = 0; j < r; j++) {
        u[j] = mu[j] + sig[j] * eps[j];
      }
    }
  }
}

/* -ELBO on [a, e): S samples, closed-form KL. */
static int elbo_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                      size_t e, double *blk) {
  const size_t m = e - a, S = v->opt.samples, r = v->r, p = v->p, rows = m * S;
  SAGD_CALL(sagd_vae_encode_(v, phi, a, m));
  reparam_(v, a, m, S, t);
  SAGD_CALL(sagd_mlp_forward(v->gen, theta, rows, v->u, v->h));
  const double invS = 1.0 / (double)S;
  const sagd_likelihood_type *lik = v->opt.likelihood;
  double obj = 0;
  for (size_t q = 0; q < m; q++) {
    const double *x = v->x + (a - v->i_begin + q) * p;
    const double *mu = v->eo + q * 2 * r, *lv = mu + r;
    double rec = 0; /* Σ_s -log p(x | h(u_s)) without the constant */
    for (size_t s = 0; s < S; s++) {
      size_t row = q * S + s;
      lik->nll_row(v->h + row * v->w, x, p, invS, &rec, v->dh + row * v->w);
    }
    double kl = 0, *elv = v->elv + q * r;
    for (size_t j = 0; j < r; j++) {
      elv[j] = exp(lv[j]);
      kl += 0.5 * (mu[j] * mu[j] + elv[j] - 1.0 - lv[j]);
    }
    obj += -rec * invS - lik->constant(p) - kl;
  }
  SAGD_CALL(backward_gen_(v, theta, rows, blk));
  for (size_t q = 0; q < m; q++) {
    const double *mu = v->eo + q * 2 * r;
    double *dmu = v->deo + q * 2 * r, *dlv = dmu + r;
    const double *sg = v->sig + q * r, *elv = v->elv + q * r;
    for (size_t j = 0; j < r; j++) {
      double sig = sg[j];
      double gm = 0, gl = 0;
      for (size_t s = 0; s < S; s++) {
        size_t row = q * S + s;
        gm += v->du[row * r + j];
        gl += v->du[row * r + j] * v->eps[row * r + j];
      }
      dmu[j] = gm + mu[j];
      dlv[j] = 0.5 * sig * gl + 0.5 * (elv[j] - 1.0);
    }
  }
  SAGD_CALL(backward_enc_(v, phi, m, blk));
  blk[X_OBJ] += obj;
  blk[X_PTS] += (double)m;
  return SAGD_OK;
}

/* -IWAE bound on [a, e) with k samples (reparameterised gradient, normalised weights). */
static int iwae_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                      size_t e, double *blk) {
  const size_t m = e - a, k = v->opt.iwae_k, r = v->r, p = v->p, rows = m * k;
  SAGD_CALL(sagd_vae_encode_(v, phi, a, m));
  reparam_(v, a, m, k, t);
  SAGD_CALL(sagd_mlp_forward(v->gen, theta, rows, v->u, v->h));
  double obj = 0;
  const double logk = log((double)k);
  for (size_t q = 0; q < m; q++) {
    const double *x = v->x + (a - v->i_begin + q) * p;
    const double slv = sagd_vae_sum_logvar_(v, q);
    double mx = -INFINITY;
    for (size_t s = 0; s < k; s++) {
      size_t row = q * k + s;
      /* dh keeps the likelihood's gradient until the weights are known */
      const double lw = sagd_vae_log_weight_(v, row, x, slv, NULL);
      v->lw[row] = lw;
      mx = lw > mx ? lw : mx;
    }
    SAGD_CHECK(isfinite(mx), SAGD_ERR_NUMERIC,
               "iwae: non-finite importance weights for data point %zu", a + q);
    double sw = 0;
    for (size_t s = 0; s < k; s++) {
      v->lw[q * k + s] = exp(v->lw[q * k + s] - mx); /* now the unnormalised weight */
      sw += v->lw[q * k + s];
    }
    obj += mx + log(sw) - logk;
    for (size_t s = 0; s < k; s++) {
      size_t row = q * k + s;
      double w = v->lw[row] / sw;
      v->lw[row] = w; /* now the normalised weight */
      for (size_t j = 0; j < v->w; j++) {
        v->dh[row * v->w + j] *= w;
      }
    }
  }
  SAGD_CALL(backward_gen_(v, theta, rows, blk));
  for (size_t q = 0; q < m; q++) {
    double *dmu = v->deo + q * 2 * r, *dlv = dmu + r;
    const double *sg = v->sig + q * r;
    for (size_t j = 0; j < r; j++) {
      double sig = sg[j];
      double gm = 0, gl = 0;
      for (size_t s = 0; s < k; s++) {
        size_t row = q * k + s;
        double G = v->du[row * r + j] + v->lw[row] * v->u[row * r + j];
        gm += G;
        gl += G * v->eps[row * r + j];
      }
      dmu[j] = gm;
      dlv[j] = 0.5 * sig * gl - 0.5;
    }
  }
  SAGD_CALL(backward_enc_(v, phi, m, blk));
  blk[X_OBJ] += obj;
  blk[X_PTS] += (double)m;
  return SAGD_OK;
}

/* Chains of the part's points drawn from the encoder: ξ = μ + σ ε at (CHAIN_INIT, g, t, kk). */
static void chains_from_eo_(sagd_vae v, size_t a, size_t m, uint64_t t, uint64_t kk,
                            double *xi) {
  const size_t r = v->r, C = v->opt.chains;
  for (size_t q = 0; q < m; q++) {
    const double *mu = v->eo + q * 2 * r, *lv = mu + r;
    for (size_t c = 0; c < C; c++) {
      size_t qc = q * C + c;
      double *x = xi + qc * r;
      sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_CHAIN_INIT, (uint64_t)((a + q) * C + c),
                       t, kk, r, x);
      for (size_t j = 0; j < r; j++) {
        x[j] = mu[j] + exp(0.5 * lv[j]) * x[j];
      }
    }
  }
}

/* HMC gradient on [a, e): chains from the encoder, K transitions, ∇θ f after each. */
static int hmc_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                     size_t e, double *blk) {
  const size_t m = e - a, nc = m * v->opt.chains;
  SAGD_CALL(sagd_vae_encode_(v, phi, a, m));
  chains_from_eo_(v, a, m, t, 0, v->cxi);
  SAGD_CALL(sagd_hmc_prepare(v->hmc, theta, a, m, v->cxi, v->cV, v->cgrad));
  size_t acc = 0;
  for (uint64_t k = 0; k < v->opt.K; k++) {
    SAGD_CALL(sagd_hmc_step(v->hmc, theta, a, m, v->opt.delta, v->opt.leapfrog, t, k, v->cxi,
                            v->cV, v->cgrad, &acc));
    SAGD_CALL(sagd_model_grad_theta(v->model, theta, a, m, v->opt.chains, v->cxi, blk + X_N));
  }
  double obj = 0;
  for (size_t q = 0; q < nc; q++) {
    obj -= v->cV[q];
  }
  blk[X_OBJ] += obj / (double)v->opt.chains;
  blk[X_PTS] += (double)m;
  blk[X_ACC] += (double)acc;
  blk[X_PROP] += (double)(nc * v->opt.K);
  return SAGD_OK;
}

/* SAGD gradient on [a, e): K underdamped steps of the persistent chains, ∇θ f at each state
 * before a step. With the model's fused op (one forward + one backward for ∇_ξ V and ∇θ f)
 * and the sampler's step from that gradient when the sampler has that form; otherwise
 * grad_theta then the sampler's own step — the same numbers, bit for bit. */
static int sagd_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                      size_t e, double *blk) {
  (void)phi;
  const size_t m = e - a, C = v->opt.chains, nc = m * C;
  size_t off = (a - v->i_begin) * C * v->r;
  double *xi = v->xi + off, *rho = v->rho + off;
  sagd_model md = v->model;
  if (!v->opt.unfused && md->type->potential_grad_theta != NULL &&
      sagd_sampler_has_grad_step(v->sampler)) {
    for (uint64_t k = 0; k < v->opt.K; k++) {
      SAGD_CALL(md->type->potential_grad_theta(md->ctx, theta, a, m, C, xi, v->cgrad,
                                               blk + X_N));
      SAGD_CALL(sagd_sampler_step_with_grad(v->sampler, v->cgrad, a, m, v->opt.delta,
                                            SAGD_STREAM_LANGEVIN, t, k, xi, rho));
    }
  } else {
    for (uint64_t k = 0; k < v->opt.K; k++) {
      SAGD_CALL(sagd_model_grad_theta(md, theta, a, m, C, xi, blk + X_N));
      SAGD_CALL(sagd_sampler_step(v->sampler, theta, a, m, v->opt.delta, SAGD_STREAM_LANGEVIN, t,
                                  k, xi, rho));
    }
  }
  SAGD_CALL(sagd_model_potential(md, theta, a, m, C, xi, v->cV, NULL));
  double obj = 0;
  for (size_t q = 0; q < nc; q++) {
    obj -= v->cV[q];
  }
  blk[X_OBJ] += obj / (double)C;
  blk[X_PTS] += (double)m;
  return SAGD_OK;
}

int sagd_vae_elbo_grad(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                       double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  SAGD_CALL(sagd_vae_run_parts_(v, theta, phi, t, 1, elbo_part_, g_theta, g_phi, stats, 1.0));
  return SAGD_OK;
}

int sagd_vae_iwae_grad(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                       double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  SAGD_CALL(sagd_vae_run_parts_(v, theta, phi, t, 1, iwae_part_, g_theta, g_phi, stats, 1.0));
  return SAGD_OK;
}

int sagd_vae_chains_from_encoder(sagd_vae v, const double *phi) {
  const size_t C = v->opt.chains, r = v->r;
  SAGD_CALL(sagd_mlp_prepare(v->enc, phi));
  /* chunks of maxpart points from each block's start: the same network calls on any number
   * of ranks */
  for (size_t b0 = v->i_begin; b0 < v->i_end; b0 += v->opt.block) {
    size_t b1 = v->i_end - b0 < v->opt.block ? v->i_end : b0 + v->opt.block;
    for (size_t a = b0; a < b1; a += v->maxpart) {
      size_t m = b1 - a < v->maxpart ? b1 - a : v->maxpart;
      SAGD_CALL(sagd_vae_encode_(v, phi, a, m));
      size_t off = (a - v->i_begin) * C * r;
      chains_from_eo_(v, a, m, 0, 0, v->xi + off);
      for (size_t qc = 0; qc < m * C; qc++) {
        sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_CHAIN_INIT, (uint64_t)(a * C + qc), 0,
                         1, r, v->rho + off + qc * r);
      }
    }
  }
  return SAGD_OK;
}

/* ---- the methods as an ops table ------------------------------------------------------- */

static int start_none_(sagd_vae v, const double *theta, const double *phi) {
  (void)v;
  (void)theta;
  (void)phi;
  return SAGD_OK;
}

static int start_sagd_(sagd_vae v, const double *theta, const double *phi) {
  (void)theta;
  SAGD_CALL(sagd_vae_chains_from_encoder(v, phi));
  return SAGD_OK;
}

static int grad_hmc_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                     double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  (void)g_phi;
  SAGD_CALL(sagd_vae_run_parts_(v, theta, phi, t, 0, hmc_part_, g_theta, NULL, stats,
                                (double)v->opt.K * (double)v->opt.chains));
  return SAGD_OK;
}

static int grad_sagd_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                      double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  (void)g_phi;
  SAGD_CALL(sagd_vae_run_parts_(v, theta, phi, t, 0, sagd_part_, g_theta, NULL, stats,
                                (double)v->opt.K * (double)v->opt.chains));
  return SAGD_OK;
}

static const sagd_config_key key_iwae_k_ = {"iwae", "k", SAGD_CFG_INT, "50", SAGD_CFG_AT_LEAST_1,
                                            "importance samples of the IWAE bound", 0};
static const sagd_config_key *const iwae_keys_[] = {&key_iwae_k_, NULL};
static const sagd_config_key key_leapfrog_ = {
    "hmc", "leapfrog", SAGD_CFG_INT, "5", SAGD_CFG_AT_LEAST_1,
    "leapfrog steps L per HMC transition (step size sagd.delta, sagd.K0 transitions per "
    "update)", 0};
static const sagd_config_key *const hmc_keys_[] = {&key_leapfrog_, NULL};

const sagd_vae_method_type sagd_vae_method_vae = {.name = "vae",
                                                  .label = "VAE",
                                                  .trains_encoder = 1,
                                                  .start = start_none_,
                                                  .gradient = sagd_vae_elbo_grad,
                                                  .keys = NULL};
const sagd_vae_method_type sagd_vae_method_iwae = {.name = "iwae",
                                                   .label = "IWAE",
                                                   .trains_encoder = 1,
                                                   .start = start_none_,
                                                   .gradient = sagd_vae_iwae_grad,
                                                   .keys = iwae_keys_};
const sagd_vae_method_type sagd_vae_method_hmc = {.name = "hmc",
                                                  .label = "HMC",
                                                  .trains_encoder = 0,
                                                  .start = start_none_,
                                                  .gradient = grad_hmc_,
                                                  .keys = hmc_keys_};
const sagd_vae_method_type sagd_vae_method_sagd = {.name = "sagd",
                                                   .label = "SAGD",
                                                   .trains_encoder = 0,
                                                   .start = start_sagd_,
                                                   .gradient = grad_sagd_,
                                                   .keys = NULL};

static const sagd_vae_method_type *const methods_[] = {&sagd_vae_method_vae,
                                                       &sagd_vae_method_iwae,
                                                       &sagd_vae_method_hmc,
                                                       &sagd_vae_method_sagd,
                                                       &sagd_vae_method_coupled,
                                                       &sagd_vae_method_ald,
                                                       NULL};

_Static_assert(sizeof methods_ / sizeof methods_[0] <= SAGD_VAE_METHODS_MAX + 1,
               "raise SAGD_VAE_METHODS_MAX");

const sagd_vae_method_type *const *sagd_vae_method_list(void) { return methods_; }

const sagd_vae_method_type *const *sagd_vae_generator_method_list(void) {
  /* the registry's methods with trains_encoder = 0, in its order (filled once: constant data) */
  static const sagd_vae_method_type *list[sizeof methods_ / sizeof methods_[0]];
  if (list[0] == NULL) {
    size_t n = 0;
    for (const sagd_vae_method_type *const *m = methods_; *m != NULL; m++) {
      if (!(*m)->trains_encoder) {
        list[n++] = *m;
      }
    }
  }
  return list;
}

const sagd_vae_method_type *sagd_vae_method_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(methods_), name);
}

/* ---- metrics ------------------------------------------------------------------------- */

int sagd_vae_loglik(sagd_vae v, const double *theta, size_t nodes, double *ll) {
  SAGD_CHECK(v->r == 1 && v->p == 1, SAGD_ERR_ARG,
             "vae: the quadrature log-likelihood needs latent and data dimension 1 (have r = "
             "%zu, p = %zu)",
             v->r, v->p);
  SAGD_CALL(sagd_mlp_prepare(v->gen, theta));
  sagd_xsum_zero(v->acc_one);
  size_t block = v->opt.block;
  for (size_t a = v->i_begin; a < v->i_end; a += block) {
    size_t nb = v->i_end - a < block ? v->i_end - a : block;
    double lb = 0;
    SAGD_CALL(sagd_decoder_loglik_quad(v->gen, v->opt.likelihood, theta,
                                       v->x + (a - v->i_begin), nb, nodes, &lb));
    SAGD_CALL(sagd_xsum_add(v->acc_one, &lb));
  }
  SAGD_CALL(sagd_xsum_allreduce(v->acc_one, v->comm, ll));
  return SAGD_OK;
}

int sagd_vae_generate(sagd_mlp gen, const double *theta, sagd_rng_key key, size_t m, double *u,
                      double *out) {
  size_t r = sagd_mlp_in(gen), w = sagd_mlp_out(gen), cap = sagd_mlp_max_batch(gen);
  SAGD_CALL(sagd_mlp_prepare(gen, theta));
  sagd_rng_gsl rng = NULL;
  SAGD_CALL(sagd_rng_gsl_create(&rng));
  for (size_t j0 = 0; j0 < m; j0 += cap) {
    size_t nb = m - j0 < cap ? m - j0 : cap;
    for (size_t q = 0; q < nb; q++) {
      sagd_rng_normals(rng, key, SAGD_STREAM_SAMPLE, (uint64_t)(j0 + q), 0, 0, r, u + q * r);
    }
    int err = sagd_mlp_forward(gen, theta, nb, u, out + j0 * w);
    if (err != SAGD_OK) {
      sagd_rng_gsl_destroy(&rng);
      return sagd_error_trace(err, __FILE__, __LINE__, __func__);
    }
  }
  sagd_rng_gsl_destroy(&rng);
  return SAGD_OK;
}
