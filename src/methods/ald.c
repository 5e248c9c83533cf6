/* Amortized Langevin dynamics on the parameters of an inference map (see include/sagd/ald.h).
 * Per step: per block, the part's latents z = G_part Φᵀ and ∇V (one GEMM and one model call),
 * the block's gradient ∇Vᵀ G_part (one GEMM) plus [points, Σ V], summed exactly over all
 * blocks and ranks; then the replicated preconditioned Langevin move of Φ. */
#include "sagd/ald.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's cblas.h */
#include <cblas.h>

#include "sagd/error.h"
#include "sagd/reduce.h"
#include "sagd/vae.h"

struct sagd_ald_s {
  MPI_Comm comm;
  sagd_model model; /* borrowed */
  sagd_ald_options opt;
  size_t r, d, n, i_begin, i_end, nloc, maxpart;
  double *G;          /* nloc × d */
  double *phi, *v;    /* r × d each */
  uint64_t steps;     /* steps taken since create or the last reset (the step-size decay) */
  double *z, *gz;     /* maxpart × r each */
  double *blk;        /* 1 + r·d: [points | block gradient] */
  double *sum;        /* 1 + r·d: the reduced sums */
  double *noise;      /* r × d */
  size_t *perm;       /* M */
  sagd_xsum acc;
  sagd_rng_gsl rng;
};

int sagd_ald_create(MPI_Comm comm, sagd_model model, size_t d, const double *G_local,
                    const sagd_ald_options *o, sagd_ald *out) {
  SAGD_CHECK(out != NULL && model != NULL && o != NULL, SAGD_ERR_ARG,
             "sagd_ald_create: model, options and output handle must be given");
  *out = NULL;
  SAGD_CHECK(d >= 1, SAGD_ERR_ARG, "ald: %zu features, expected >= 1", d);
  SAGD_CHECK(o->block >= 1, SAGD_ERR_ARG, "ald: block = %zu, expected >= 1", o->block);
  SAGD_CHECK(o->batches >= 1 && o->batches <= o->block, SAGD_ERR_ARG,
             "ald: %zu minibatches per epoch, expected between 1 and the block size %zu",
             o->batches, o->block);
  SAGD_CHECK(isfinite(o->step) && o->step > 0, SAGD_ERR_ARG,
             "ald: step = %g, expected a finite value > 0", o->step);
  SAGD_CHECK(isfinite(o->decay) && o->decay >= 0, SAGD_ERR_ARG,
             "ald: decay = %g, expected a finite value >= 0", o->decay);
  SAGD_CHECK(o->rms_beta >= 0 && o->rms_beta < 1, SAGD_ERR_ARG,
             "ald: RMSProp beta = %g, expected a value in [0, 1)", o->rms_beta);
  SAGD_CHECK(isfinite(o->rms_eps) && o->rms_eps > 0, SAGD_ERR_ARG,
             "ald: RMSProp epsilon = %g, expected a finite value > 0", o->rms_eps);
  SAGD_CHECK(isfinite(o->init_scale) && o->init_scale >= 0, SAGD_ERR_ARG,
             "ald: init_scale = %g, expected a finite value >= 0", o->init_scale);
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  size_t b0, b1;
  sagd_shard_range(model->n, o->block, rank, size, &b0, &b1);
  SAGD_CHECK(model->i_begin == b0 && model->i_end == b1, SAGD_ERR_ARG,
             "ald: the model's shard [%zu, %zu) on rank %d is not the block-aligned shard "
             "[%zu, %zu)",
             model->i_begin, model->i_end, rank, b0, b1);
  int err = SAGD_OK;
  struct sagd_ald_s *a = calloc(1, sizeof *a);
  SAGD_CHECK(a != NULL, SAGD_ERR_MEM, "cannot allocate the ALD sampler");
  a->comm = comm;
  a->model = model;
  a->opt = *o;
  a->r = model->r;
  a->d = d;
  a->n = model->n;
  a->i_begin = b0;
  a->i_end = b1;
  a->nloc = b1 - b0;
  a->maxpart = sagd_minibatch_max_part(a->n, o->block, o->batches);
  const size_t rd = a->r * d;
  SAGD_CALLOC_GOTO(err, fail, a->G, a->nloc * d, "ALD features");
  if (a->nloc > 0) {
    memcpy(a->G, G_local, a->nloc * d * sizeof(double));
  }
  SAGD_CALLOC_GOTO(err, fail, a->phi, rd, "ALD map");
  SAGD_CALLOC_GOTO(err, fail, a->v, rd, "ALD preconditioner");
  SAGD_CALLOC_GOTO(err, fail, a->z, a->maxpart * a->r, "ALD latents");
  SAGD_CALLOC_GOTO(err, fail, a->gz, a->maxpart * a->r, "ALD latent gradients");
  SAGD_CALLOC_GOTO(err, fail, a->blk, 1 + rd, "ALD block sums");
  SAGD_CALLOC_GOTO(err, fail, a->sum, 1 + rd, "ALD sums");
  SAGD_CALLOC_GOTO(err, fail, a->noise, rd, "ALD noise");
  SAGD_CALLOC_GOTO(err, fail, a->perm, o->batches, "minibatch permutation");
  if ((err = sagd_xsum_create(1 + rd, &a->acc)) != SAGD_OK ||
      (err = sagd_rng_gsl_create(&a->rng)) != SAGD_OK) {
    goto fail;
  }
  sagd_ald_reset(a);
  *out = a;
  return SAGD_OK;
fail:
  sagd_ald_destroy(&a);
  return sagd_error_trace(err, __FILE__, __LINE__, __func__);
}

void sagd_ald_reset(sagd_ald a) {
  const size_t rd = a->r * a->d;
  sagd_rng_normals(a->rng, a->opt.key, SAGD_STREAM_ALD, 1, 0, 0, rd, a->phi);
  for (size_t j = 0; j < rd; j++) {
    a->phi[j] *= a->opt.init_scale;
    a->v[j] = 0;
  }
  a->steps = 0;
}

void sagd_ald_destroy(sagd_ald *pa) {
  if (pa == NULL || *pa == NULL) {
    return;
  }
  sagd_ald a = *pa;
  sagd_xsum_destroy(&a->acc);
  sagd_rng_gsl_destroy(&a->rng);
  free(a->G);
  free(a->phi);
  free(a->v);
  free(a->z);
  free(a->gz);
  free(a->blk);
  free(a->sum);
  free(a->noise);
  free(a->perm);
  free(a);
  *pa = NULL;
}

int sagd_ald_latents(sagd_ald a, size_t i0, size_t m, double *z) {
  return sagd_ald_latents_at(a, a->phi, i0, m, z);
}

int sagd_ald_latents_at(sagd_ald a, const double *phi, size_t i0, size_t m, double *z) {
  SAGD_CHECK(i0 >= a->i_begin && i0 + m <= a->i_end, SAGD_ERR_ARG,
             "ald: points [%zu, %zu) outside the shard [%zu, %zu)", i0, i0 + m, a->i_begin,
             a->i_end);
  if (m > 0) { /* z = G Φᵀ: [m × d] · [d × r] */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)a->r, (int)a->d, 1.0,
                a->G + (i0 - a->i_begin) * a->d, (int)a->d, phi, (int)a->d, 0.0, z, (int)a->r);
  }
  return SAGD_OK;
}

int sagd_ald_step(sagd_ald a, const double *theta, uint64_t t, uint64_t k) {
  SAGD_CHECK(t >= 1, SAGD_ERR_ARG, "ald: step t = 0, expected t >= 1");
  const size_t r = a->r, d = a->d, rd = r * d, block = a->opt.block;
  sagd_xsum_zero(a->acc);
  for (size_t b = a->i_begin / block; b * block < a->i_end; b++) {
    size_t i0, i1;
    sagd_minibatch_part(a->rng, a->opt.key, a->n, block, a->opt.batches, t, b, a->perm, &i0, &i1);
    const size_t m = i1 - i0;
    if (m == 0) {
      continue;
    }
    SAGD_CALL(sagd_ald_latents(a, i0, m, a->z));
    SAGD_CALL(sagd_model_potential(a->model, theta, i0, m, 1, a->z, NULL, a->gz));
    a->blk[0] = (double)m;
    /* the block's ∂U/∂Φ = ∇Vᵀ G_part: [r × m] · [m × d] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)d, (int)m, 1.0, a->gz, (int)r,
                a->G + (i0 - a->i_begin) * d, (int)d, 0.0, a->blk + 1, (int)d);
    double big = 0;
    for (size_t j = 0; j < rd; j++) {
      big = fmax(big, fabs(a->blk[1 + j]));
    }
    SAGD_CHECK(big < 1e30, SAGD_ERR_NUMERIC,
               "ald: update %llu, step %llu: the potentials' gradients reached %g at points "
               "[%zu, %zu): the map diverged; expected a smaller step size (now %g) or RMSProp "
               "preconditioning",
               (unsigned long long)t, (unsigned long long)k, big, i0, i1, a->opt.step);
    SAGD_CALL(sagd_xsum_add(a->acc, a->blk));
  }
  SAGD_CALL(sagd_xsum_allreduce(a->acc, a->comm, a->sum));
  const double pts = a->sum[0];
  SAGD_CHECK(pts > 0, SAGD_ERR_INTERNAL, "ald: step %llu has no data points",
             (unsigned long long)t);
  const double scale = (double)a->n / pts, beta = a->opt.rms_beta;
  const double eta =
      a->opt.decay > 0 ? a->opt.step / sqrt(1.0 + (double)a->steps / a->opt.decay) : a->opt.step;
  a->steps++;
  sagd_rng_normals(a->rng, a->opt.key, SAGD_STREAM_ALD, 0, t, k, rd, a->noise);
  for (size_t j = 0; j < rd; j++) {
    const double g = scale * a->sum[1 + j];
    double P = 1.0;
    if (beta > 0) {
      a->v[j] = beta * a->v[j] + (1.0 - beta) * g * g;
      P = 1.0 / (a->opt.rms_eps + sqrt(a->v[j]));
    }
    a->phi[j] += -eta * P * g + sqrt(2.0 * eta * P) * a->noise[j];
  }
  return SAGD_OK;
}

void sagd_ald_state(sagd_ald a, double **phi, double **v, size_t *len, uint64_t **steps) {
  *phi = a->phi;
  *v = a->v;
  *len = a->r * a->d;
  *steps = &a->steps;
}

size_t sagd_ald_dim(sagd_ald a) {
  return a->r * a->d;
}

int sagd_ald_features(sagd_rng_key key, const double *x, size_t m, size_t p, size_t d, double scale,
                      double *G) {
  SAGD_CHECK(p >= 1 && d >= 1, SAGD_ERR_ARG,
             "ald: features of %zu inputs into %zu outputs, expected both >= 1", p, d);
  SAGD_CHECK(isfinite(scale) && scale > 0, SAGD_ERR_ARG,
             "ald: feature scale = %g, expected a finite value > 0", scale);
  sagd_rng_gsl rng = NULL;
  double *w = NULL;
  SAGD_CALLOC(w, p, "ALD feature frequencies");
  int err = sagd_rng_gsl_create(&rng);
  if (err != SAGD_OK) {
    free(w);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  const double sw = scale / sqrt((double)p), amp = sqrt(2.0 / (double)d);
  for (size_t k = 0; k < d; k++) { /* feature k: ω_k (p normals) and its phase b_k */
    double u;
    sagd_rng_normals(rng, key, SAGD_STREAM_ALD, 2, k, 0, p, w);
    sagd_rng_uniforms(rng, key, SAGD_STREAM_ALD, 2, k, 1, 1, &u);
    const double b = 2.0 * M_PI * u;
    for (size_t q = 0; q < m; q++) {
      double s = b;
      for (size_t j = 0; j < p; j++) {
        s += sw * w[j] * x[q * p + j];
      }
      G[q * d + k] = amp * cos(s);
    }
  }
  free(w);
  sagd_rng_gsl_destroy(&rng);
  return SAGD_OK;
}
