/* Langevin samplers on blocks of chains (see include/sagd/sampler.h). */
#include "sagd/registry.h"
#include "sagd/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sampler_impl.h"
#include "sagd/error.h"

/* ∇V for the whole block in one batched model call, into s->grad. */
static int block_grad_(sagd_sampler s, const double *theta, size_t i0, size_t nb,
                       const double *xi) {
  SAGD_CALL(sagd_model_potential(s->model, theta, i0, nb, s->C, xi, NULL, s->grad));
  return SAGD_OK;
}

/* The updates given ∇V of the block's chains in `grad` (nb*C*r doubles). The step ops
 * below and sagd_sampler_step_with_grad both run these, so a precomputed gradient gives the
 * same bits as one evaluated here. */

/* Both momentum schemes: the kick ρ' = (1 - γδ)ρ - δ∇V(ξ) + sqrt(2γδ)η, and the drift
 * ξ' = ξ + δρ with the old momentum (underdamped, DESIGN.md §1) or ξ' = ξ + δρ' with the new
 * one (symplectic Euler: on Gaussian targets the stationary law of ξ is off by O(δ²) instead
 * of O(δ), tests/sampler/test_langevin.c). Same gradient, same noise, same cost. */
static inline void update_momentum_(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                                    double delta, uint32_t stream, uint64_t t, uint64_t k,
                                    double *xi, double *rho, int drift_after_kick) {
  const size_t r = s->model->r, nc = nb * s->C;
  const double damp = 1.0 - s->gamma * delta;
  const double scale = sqrt(2.0 * s->gamma * delta);
  for (size_t q = 0; q < nc; q++) {
    const uint64_t g = (uint64_t)(i0 * s->C + q);
    sagd_rng_normals(s->rng, s->key, stream, g, t, k, r, s->noise);
    double *x = xi + q * r, *p = rho + q * r;
    const double *gr = grad + q * r;
    for (size_t j = 0; j < r; j++) {
      const double p_old = p[j];
      p[j] = damp * p_old - delta * gr[j] + scale * s->noise[j];
      x[j] += delta * (drift_after_kick ? p[j] : p_old);
    }
  }
}

static void update_underdamped_(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                                double delta, uint32_t stream, uint64_t t, uint64_t k,
                                double *xi, double *rho) {
  update_momentum_(s, grad, i0, nb, delta, stream, t, k, xi, rho, 0);
}

static void update_symplectic_(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                               double delta, uint32_t stream, uint64_t t, uint64_t k,
                               double *xi, double *rho) {
  update_momentum_(s, grad, i0, nb, delta, stream, t, k, xi, rho, 1);
}

/* ξ' = ξ - δ∇V(ξ) + sqrt(2δ)η  (ρ unused). */
static void update_overdamped_(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                               double delta, uint32_t stream, uint64_t t, uint64_t k,
                               double *xi, double *rho) {
  (void)rho;
  const size_t r = s->model->r, nc = nb * s->C;
  const double scale = sqrt(2.0 * delta);
  for (size_t q = 0; q < nc; q++) {
    const uint64_t g = (uint64_t)(i0 * s->C + q);
    sagd_rng_normals(s->rng, s->key, stream, g, t, k, r, s->noise);
    double *x = xi + q * r;
    const double *gr = grad + q * r;
    for (size_t j = 0; j < r; j++) {
      x[j] = x[j] - delta * gr[j] + scale * s->noise[j];
    }
  }
}

static const sagd_config_key key_gamma_ = {
    "sagd", "gamma", SAGD_CFG_REAL, "2", SAGD_CFG_POSITIVE,
    "friction of the momentum schemes (gamma * sagd.delta < 2)", 0};
static const sagd_config_key *const momentum_keys_[] = {&key_gamma_, NULL};

const sagd_sampler_type sagd_sampler_underdamped = {
    .name = "underdamped", .momentum = 1, .update = update_underdamped_, .keys = momentum_keys_};
const sagd_sampler_type sagd_sampler_symplectic = {
    .name = "symplectic", .momentum = 1, .update = update_symplectic_, .keys = momentum_keys_};
const sagd_sampler_type sagd_sampler_overdamped = {
    .name = "overdamped", .momentum = 0, .update = update_overdamped_, .keys = NULL};

static const sagd_sampler_type *const sampler_types_[] = {
    &sagd_sampler_underdamped, &sagd_sampler_symplectic, &sagd_sampler_overdamped, NULL};

const sagd_sampler_type *const *sagd_sampler_type_list(void) { return sampler_types_; }

const sagd_sampler_type *sagd_sampler_type_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(sampler_types_), name);
}

int sagd_sampler_create(const sagd_sampler_type *type, sagd_model model, size_t C,
                        size_t max_block, double gamma, sagd_rng_key key, sagd_sampler *s) {
  SAGD_CHECK(s != NULL, SAGD_ERR_ARG, "sagd_sampler_create: output pointer must be given");
  *s = NULL;
  SAGD_CHECK(type != NULL && type->update != NULL, SAGD_ERR_ARG,
             "sagd_sampler_create: a sampler type must be given");
  SAGD_CHECK(model != NULL, SAGD_ERR_ARG, "sampler '%s': a model must be given", type->name);
  SAGD_CHECK(C >= 1, SAGD_ERR_ARG, "sampler '%s': chains per data point C = %zu, expected >= 1",
             type->name, C);
  SAGD_CHECK(max_block >= 1, SAGD_ERR_ARG,
             "sampler '%s': max_block = %zu data points, expected >= 1", type->name, max_block);
  if (type->momentum) {
    SAGD_CHECK(isfinite(gamma) && gamma > 0.0, SAGD_ERR_ARG,
               "sampler '%s': friction gamma = %g, expected a finite value > 0", type->name,
               gamma);
  }
  SAGD_CHECK(key.replication < ((uint64_t)1 << 48), SAGD_ERR_ARG,
             "sampler '%s': replication = %llu, expected < 2^48", type->name,
             (unsigned long long)key.replication);
  const size_t r = model->r;
  SAGD_CHECK(max_block <= SIZE_MAX / C / r / sizeof(double), SAGD_ERR_ARG,
             "sampler '%s': max_block = %zu with C = %zu and r = %zu is too large", type->name,
             max_block, C, r);
  struct sagd_sampler_s *x = calloc(1, sizeof(*x));
  SAGD_CHECK(x != NULL, SAGD_ERR_MEM, "cannot allocate sampler '%s'", type->name);
  *x = (struct sagd_sampler_s){
      .type = type, .model = model, .C = C, .max_block = max_block, .gamma = gamma, .key = key};
  x->grad = malloc(max_block * C * r * sizeof(double));
  x->noise = malloc(r * sizeof(double));
  int err = SAGD_OK;
  if (x->grad == NULL || x->noise == NULL) {
    err = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                         "cannot allocate sampler scratch for %zu chains of dimension %zu",
                         max_block * C, r);
  } else {
    err = sagd_rng_gsl_create(&x->rng);
  }
  if (err != SAGD_OK) {
    sagd_sampler_destroy(&x);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *s = x;
  return SAGD_OK;
}

void sagd_sampler_destroy(sagd_sampler *s) {
  if (s == NULL || *s == NULL) {
    return;
  }
  sagd_rng_gsl_destroy(&(*s)->rng);
  free((*s)->grad);
  free((*s)->noise);
  free(*s);
  *s = NULL;
}

/* The checks shared by both step forms. */
static int check_step_(sagd_sampler s, size_t nb, double delta, uint32_t stream,
                       const double *xi, const double *rho) {
  SAGD_CHECK(s != NULL, SAGD_ERR_ARG, "sagd_sampler_step: no sampler given");
  const char *name = s->type->name;
  SAGD_CHECK(isfinite(delta) && delta > 0.0, SAGD_ERR_ARG,
             "sampler '%s': step size delta = %g, expected a finite value > 0", name, delta);
  SAGD_CHECK(nb <= s->max_block, SAGD_ERR_ARG,
             "sampler '%s': block of %zu data points exceeds max_block = %zu", name, nb,
             s->max_block);
  SAGD_CHECK(stream < (1u << 16), SAGD_ERR_ARG, "sampler '%s': stream = %u, expected < 2^16",
             name, (unsigned)stream);
  SAGD_CHECK(xi != NULL, SAGD_ERR_ARG, "sampler '%s': chain states xi must be given", name);
  SAGD_CHECK(rho != NULL || !s->type->momentum, SAGD_ERR_ARG,
             "sampler '%s': momenta rho must be given", name);
  return SAGD_OK;
}

int sagd_sampler_step(sagd_sampler s, const double *theta, size_t i0, size_t nb, double delta,
                      uint32_t stream, uint64_t t, uint64_t k, double *xi, double *rho) {
  SAGD_CALL(check_step_(s, nb, delta, stream, xi, rho));
  if (nb == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(block_grad_(s, theta, i0, nb, xi));
  s->type->update(s, s->grad, i0, nb, delta, stream, t, k, xi, rho);
  return SAGD_OK;
}

int sagd_sampler_has_grad_step(sagd_sampler s) {
  return s != NULL && s->type->update != NULL;
}

int sagd_sampler_step_with_grad(sagd_sampler s, const double *grad, size_t i0, size_t nb,
                                double delta, uint32_t stream, uint64_t t, uint64_t k,
                                double *xi, double *rho) {
  SAGD_CALL(check_step_(s, nb, delta, stream, xi, rho));
  SAGD_CHECK(sagd_sampler_has_grad_step(s), SAGD_ERR_ARG,
             "sampler '%s' cannot step from a precomputed gradient", s->type->name);
  SAGD_CHECK(grad != NULL || nb == 0, SAGD_ERR_ARG,
             "sampler '%s': the block's gradient must be given", s->type->name);
  if (nb == 0) {
    return SAGD_OK;
  }
  SAGD_CHECK(i0 >= s->model->i_begin && i0 + nb <= s->model->i_end, SAGD_ERR_ARG,
             "sampler '%s': block [%zu, %zu) is outside this rank's shard [%zu, %zu)",
             s->type->name, i0, i0 + nb, s->model->i_begin, s->model->i_end);
  s->type->update(s, grad, i0, nb, delta, stream, t, k, xi, rho);
  return SAGD_OK;
}
