/* The SAGD gradient estimator over persistent chains (see include/sagd/sagd.h). */
#include "sagd/sagd.h"

#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/reduce.h"

struct sagd_solver_s {
  MPI_Comm comm;
  sagd_model model;
  sagd_sampler sampler;
  sagd_rng_key key;
  size_t C, r, p, block;
  size_t nloc;  /* local data points */
  double *xi;   /* nloc*C*r */
  double *rho;  /* nloc*C*r */
  double *gblk; /* p: one block's gradient sum */
  double *gxi;  /* block*C*r: ∇V of a block from the fused model op (NULL if unused) */
  sagd_xsum acc;
};

int sagd_solver_create(MPI_Comm comm, sagd_model model, const sagd_solver_options *opt,
                       sagd_solver *out) {
  SAGD_CHECK(model != NULL && opt != NULL && out != NULL, SAGD_ERR_ARG,
             "solver needs a model, options and an output handle");
  SAGD_CHECK(opt->chains >= 1, SAGD_ERR_ARG, "chains per data point = %zu: expected >= 1",
             opt->chains);
  SAGD_CHECK(opt->block >= 1, SAGD_ERR_ARG, "block = %zu: expected >= 1", opt->block);
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  size_t b0, b1;
  sagd_shard_range(model->n, opt->block, rank, size, &b0, &b1);
  SAGD_CHECK(model->i_begin == b0 && model->i_end == b1, SAGD_ERR_ARG,
             "model shard [%zu, %zu) on rank %d is not the block-aligned shard [%zu, %zu)",
             model->i_begin, model->i_end, rank, b0, b1);

  sagd_solver s = calloc(1, sizeof(*s));
  SAGD_CHECK(s != NULL, SAGD_ERR_MEM, "cannot allocate the solver");
  s->comm = comm;
  s->model = model;
  s->key = opt->key;
  s->C = opt->chains;
  s->r = model->r;
  s->p = model->p;
  s->block = opt->block;
  s->nloc = model->i_end - model->i_begin;
  size_t nstate = s->nloc * s->C * s->r;
  SAGD_CALLOC(s->xi, nstate, "chain positions");
  SAGD_CALLOC(s->rho, nstate, "chain momenta");
  SAGD_CALLOC(s->gblk, s->p, "block gradient");
  if (model->type->potential_grad_theta != NULL) {
    SAGD_CALLOC(s->gxi, s->block * s->C * s->r, "block potential gradient");
  }
  SAGD_CALL(sagd_xsum_create(s->p, &s->acc));
  const sagd_sampler_type *st = opt->sampler ? opt->sampler : &sagd_sampler_underdamped;
  SAGD_CALL(sagd_sampler_create(st, model, s->C, s->block, opt->gamma, s->key, &s->sampler));

  /* Initial states: ξ ~ N(0, I) (k = 0) and ρ ~ N(0, I) (k = 1), keyed by global chain id. */
  sagd_rng_gsl rng = NULL;
  SAGD_CALL(sagd_rng_gsl_create(&rng));
  size_t g0 = model->i_begin * s->C;
  for (size_t q = 0; q < s->nloc * s->C; q++) {
    sagd_rng_normals(rng, s->key, SAGD_STREAM_CHAIN_INIT, g0 + q, 0, 0, s->r, s->xi + q * s->r);
    sagd_rng_normals(rng, s->key, SAGD_STREAM_CHAIN_INIT, g0 + q, 0, 1, s->r, s->rho + q * s->r);
  }
  sagd_rng_gsl_destroy(&rng);
  *out = s;
  return SAGD_OK;
}

void sagd_solver_destroy(sagd_solver *s) {
  if (s == NULL || *s == NULL) {
    return;
  }
  sagd_sampler_destroy(&(*s)->sampler);
  sagd_xsum_destroy(&(*s)->acc);
  free((*s)->xi);
  free((*s)->rho);
  free((*s)->gblk);
  free((*s)->gxi);
  free(*s);
  *s = NULL;
}

void sagd_solver_chains(sagd_solver s, double **xi, double **rho, size_t *nchains, size_t *r) {
  *xi = s->xi;
  *rho = s->rho;
  *nchains = s->nloc * s->C;
  *r = s->r;
}

int sagd_solver_burnin(sagd_solver s, const double *theta_target, uint64_t nsteps,
                       double delta, uint64_t tag) {
  size_t stride = s->C * s->r;
  for (size_t off = 0; off < s->nloc; off += s->block) {
    size_t nb = s->nloc - off < s->block ? s->nloc - off : s->block;
    size_t i0 = s->model->i_begin + off;
    for (uint64_t k = 0; k < nsteps; k++) {
      SAGD_CALL(sagd_sampler_step(s->sampler, theta_target, i0, nb, delta, SAGD_STREAM_BURNIN,
                                  tag, k, s->xi + off * stride, s->rho + off * stride));
    }
  }
  return SAGD_OK;
}

int sagd_solver_gradient(sagd_solver s, const double *theta_target, const double *theta,
                         uint64_t t, double delta, uint64_t K, double *g) {
  SAGD_CHECK(K >= 1, SAGD_ERR_ARG, "chain length K = %llu: expected >= 1",
             (unsigned long long)K);
  size_t stride = s->C * s->r;
  /* When the target follows θ (same values), ∇_ξ V and ∇_θ f are taken at the same (θ, ξ):
   * a model with the fused op gives both from one evaluation, and the sampler steps from
   * that gradient. Same arithmetic as the two separate calls, so the same bits. */
  const int fused = s->gxi != NULL && sagd_sampler_has_grad_step(s->sampler) &&
                    (theta_target == theta ||
                     memcmp(theta_target, theta, s->p * sizeof(double)) == 0);
  sagd_xsum_zero(s->acc);
  /* Blocks outer, steps inner: a block's chains stay in cache for all K steps. Each block's
   * sum is formed in a fixed order, then added exactly, so the total is rank-invariant. */
  for (size_t off = 0; off < s->nloc; off += s->block) {
    size_t nb = s->nloc - off < s->block ? s->nloc - off : s->block;
    size_t i0 = s->model->i_begin + off;
    double *xi = s->xi + off * stride, *rho = s->rho + off * stride;
    memset(s->gblk, 0, s->p * sizeof(double));
    for (uint64_t k = 0; k < K; k++) {
      if (fused) {
        SAGD_CALL(s->model->type->potential_grad_theta(s->model->ctx, theta, i0, nb, s->C, xi,
                                                       s->gxi, s->gblk));
        SAGD_CALL(sagd_sampler_step_with_grad(s->sampler, s->gxi, i0, nb, delta,
                                              SAGD_STREAM_LANGEVIN, t, k, xi, rho));
        continue;
      }
      SAGD_CALL(sagd_model_grad_theta(s->model, theta, i0, nb, s->C, xi, s->gblk));
      SAGD_CALL(sagd_sampler_step(s->sampler, theta_target, i0, nb, delta,
                                  SAGD_STREAM_LANGEVIN, t, k, xi, rho));
    }
    SAGD_CALL(sagd_xsum_add(s->acc, s->gblk));
  }
  SAGD_CALL(sagd_xsum_allreduce(s->acc, s->comm, g));
  double scale = 1.0 / ((double)s->model->n * (double)s->C * (double)K);
  for (size_t j = 0; j < s->p; j++) {
    g[j] *= scale;
  }
  return SAGD_OK;
}

/* ---- the SAGD estimator for the EM loop ------------------------------------------- */

static int sagd_set_target_(void *vctx, const double *theta_target, uint64_t mstep,
                            uint64_t t_next) {
  sagd_estimator_sagd_ctx *c = vctx;
  c->theta_target = theta_target;
  if (c->burnin > 0) {
    uint64_t clock = c->global_clock ? t_next : 1;
    SAGD_CALL(sagd_solver_burnin(c->solver, theta_target, c->burnin,
                                 sagd_schedule_delta(c->schedule, clock), mstep));
  }
  return SAGD_OK;
}

static int sagd_gradient_(void *vctx, const double *theta, uint64_t t, uint64_t t_global,
                          double *g) {
  sagd_estimator_sagd_ctx *c = vctx;
  uint64_t clock = c->global_clock ? t_global : t;
  SAGD_CALL(sagd_solver_gradient(c->solver, c->follow ? theta : c->theta_target, theta,
                                 t_global,
                                 sagd_schedule_delta(c->schedule, clock),
                                 sagd_schedule_length(c->schedule, clock), g));
  return SAGD_OK;
}

/* After a resume: the burn-in at this target is already in the restored chains. */
static int sagd_restore_target_(void *vctx, const double *theta_target) {
  ((sagd_estimator_sagd_ctx *)vctx)->theta_target = theta_target;
  return SAGD_OK;
}

const sagd_estimator_type sagd_estimator_sagd = {"sagd", sagd_set_target_, sagd_gradient_,
                                                 sagd_restore_target_};
