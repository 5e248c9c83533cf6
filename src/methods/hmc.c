/* Hamiltonian Monte Carlo on blocks of chains of a batched model (see include/sagd/hmc.h). */
#include "sagd/hmc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"

struct sagd_hmc_s {
  sagd_model model; /* borrowed */
  size_t C, max_block, r;
  sagd_rng_key key;
  sagd_rng_gsl rng;
  double *rho;   /* max_block*C*r: momenta */
  double *xi1;   /* proposal positions */
  double *V1;    /* proposal potentials (max_block*C) */
  double *grad1; /* proposal gradients */
  double *h0;    /* initial energies */
};

int sagd_hmc_create(sagd_model model, size_t C, size_t max_block, sagd_rng_key key,
                    sagd_hmc *out) {
  SAGD_CHECK(out != NULL, SAGD_ERR_ARG, "sagd_hmc_create: output pointer must be given");
  *out = NULL;
  SAGD_CHECK(model != NULL, SAGD_ERR_ARG, "sagd_hmc_create: a model must be given");
  SAGD_CHECK(C >= 1, SAGD_ERR_ARG, "hmc: chains per data point C = %zu, expected >= 1", C);
  SAGD_CHECK(max_block >= 1, SAGD_ERR_ARG, "hmc: max_block = %zu, expected >= 1", max_block);
  SAGD_CHECK(model->r >= 1, SAGD_ERR_ARG, "hmc: latent dimension r = %zu, expected >= 1",
             model->r);
  struct sagd_hmc_s *h = calloc(1, sizeof *h);
  SAGD_CHECK(h != NULL, SAGD_ERR_MEM, "cannot allocate the HMC kernel");
  h->model = model;
  h->C = C;
  h->max_block = max_block;
  h->r = model->r;
  h->key = key;
  size_t nc = max_block * C;
  h->rho = malloc(nc * h->r * sizeof(double));
  h->xi1 = malloc(nc * h->r * sizeof(double));
  h->grad1 = malloc(nc * h->r * sizeof(double));
  h->V1 = malloc(nc * sizeof(double));
  h->h0 = malloc(nc * sizeof(double));
  int err = SAGD_OK;
  if (h->rho == NULL || h->xi1 == NULL || h->grad1 == NULL || h->V1 == NULL || h->h0 == NULL) {
    err = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                         "cannot allocate HMC scratch for %zu chains of dimension %zu", nc,
                         h->r);
  } else {
    err = sagd_rng_gsl_create(&h->rng);
  }
  if (err != SAGD_OK) {
    sagd_hmc_destroy(&h);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *out = h;
  return SAGD_OK;
}

void sagd_hmc_destroy(sagd_hmc *h) {
  if (h == NULL || *h == NULL) {
    return;
  }
  sagd_rng_gsl_destroy(&(*h)->rng);
  free((*h)->rho);
  free((*h)->xi1);
  free((*h)->grad1);
  free((*h)->V1);
  free((*h)->h0);
  free(*h);
  *h = NULL;
}

int sagd_hmc_prepare(sagd_hmc h, const double *theta, size_t i0, size_t nb, const double *xi,
                     double *V, double *grad) {
  SAGD_CHECK(h != NULL, SAGD_ERR_ARG, "sagd_hmc_prepare: no kernel given");
  SAGD_CHECK(nb <= h->max_block, SAGD_ERR_ARG,
             "hmc: block of %zu data points exceeds max_block = %zu", nb, h->max_block);
  if (nb == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_model_potential(h->model, theta, i0, nb, h->C, xi, V, grad));
  return SAGD_OK;
}

int sagd_hmc_step(sagd_hmc h, const double *theta, size_t i0, size_t nb, double delta,
                  size_t L, uint64_t t, uint64_t k, double *xi, double *V, double *grad,
                  size_t *accepted) {
  SAGD_CHECK(h != NULL, SAGD_ERR_ARG, "sagd_hmc_step: no kernel given");
  SAGD_CHECK(isfinite(delta) && delta > 0, SAGD_ERR_ARG,
             "hmc: step size delta = %g, expected a finite value > 0", delta);
  SAGD_CHECK(L >= 1, SAGD_ERR_ARG, "hmc: leapfrog steps L = %zu, expected >= 1", L);
  SAGD_CHECK(nb <= h->max_block, SAGD_ERR_ARG,
             "hmc: block of %zu data points exceeds max_block = %zu", nb, h->max_block);
  if (nb == 0) {
    return SAGD_OK;
  }
  const size_t r = h->r, nc = nb * h->C, nr = nc * r;
  const double half = 0.5 * delta;
  /* fresh momenta and the initial energies */
  for (size_t q = 0; q < nc; q++) {
    uint64_t g = (uint64_t)(i0 * h->C + q);
    double *p = h->rho + q * r;
    sagd_rng_normals(h->rng, h->key, SAGD_STREAM_MOMENTUM, g, t, k, r, p);
    double kin = 0;
    for (size_t j = 0; j < r; j++) {
      kin += p[j] * p[j];
    }
    h->h0[q] = V[q] + 0.5 * kin;
  }
  memcpy(h->xi1, xi, nr * sizeof(double));
  memcpy(h->grad1, grad, nr * sizeof(double));
  for (size_t l = 0; l < L; l++) {
    for (size_t j = 0; j < nr; j++) {
      h->rho[j] -= half * h->grad1[j];
      h->xi1[j] += delta * h->rho[j];
    }
    SAGD_CALL(sagd_model_potential(h->model, theta, i0, nb, h->C, h->xi1, h->V1, h->grad1));
    for (size_t j = 0; j < nr; j++) {
      h->rho[j] -= half * h->grad1[j];
    }
  }
  size_t acc = 0;
  for (size_t q = 0; q < nc; q++) {
    uint64_t g = (uint64_t)(i0 * h->C + q);
    const double *p = h->rho + q * r;
    double kin = 0;
    for (size_t j = 0; j < r; j++) {
      kin += p[j] * p[j];
    }
    double h1 = h->V1[q] + 0.5 * kin;
    double u;
    sagd_rng_uniforms(h->rng, h->key, SAGD_STREAM_ACCEPT, g, t, k, 1, &u);
    if (isfinite(h1) && log(u) < h->h0[q] - h1) {
      memcpy(xi + q * r, h->xi1 + q * r, r * sizeof(double));
      memcpy(grad + q * r, h->grad1 + q * r, r * sizeof(double));
      V[q] = h->V1[q];
      acc++;
    }
  }
  if (accepted != NULL) {
    *accepted += acc;
  }
  return SAGD_OK;
}
