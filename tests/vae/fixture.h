/* A small deconvolution VAE for the tests: data, networks and a sagd_vae over a
 * communicator's block-aligned shard. */
#ifndef SAGD_TEST_VAE_FIXTURE_H
#define SAGD_TEST_VAE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "sagd/deconv.h"
#include "sagd/model.h"
#include "sagd/vae.h"
#include "testutil.h"

typedef struct {
  sagd_mlp gen, enc;
  sagd_vae v;
  double *x;
  double *theta, *phi;
  size_t n, pt, pp, i0, i1;
} vae_fixture;

/* Generator 1 -> hidden -> 1 (-> 2 with gaussian_var) and encoder 1 -> hidden -> 2
 * (softplus), exponential truth,
 * networks initialised by Xavier then shifted a little so no bias is zero. With the
 * Bernoulli likelihood in the options, the data are made binary (1 where x > 2). */
/* The networks' precision (tests may switch it before making a fixture). */
static sagd_precision vae_fixture_precision = SAGD_PRECISION_DOUBLE;

static void vae_fixture_make(vae_fixture *f, MPI_Comm comm, size_t n, size_t hidden,
                             const sagd_vae_options *o) {
  memset(f, 0, sizeof *f);
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  f->n = n;
  sagd_shard_range(n, o->block, rank, size, &f->i0, &f->i1);
  /* one output per data value, two (mean, log-variance) with gaussian_var */
  size_t gw[3] = {1, hidden, o->likelihood != NULL ? o->likelihood->outputs : 1},
         ew[3] = {1, hidden, 2};
  size_t rows = sagd_vae_max_rows(o, n);
  size_t gmax = rows > 128 ? rows : 128;
  REQUIRE_OK(sagd_mlp_create(2, gw, &sagd_act_softplus, &sagd_act_identity, gmax, &f->gen));
  REQUIRE_OK(sagd_mlp_create(2, ew, &sagd_act_softplus, &sagd_act_identity, rows, &f->enc));
  REQUIRE_OK(sagd_mlp_set_precision(f->gen, vae_fixture_precision));
  REQUIRE_OK(sagd_mlp_set_precision(f->enc, vae_fixture_precision));
  f->pt = sagd_mlp_nparams(f->gen);
  f->pp = sagd_mlp_nparams(f->enc);
  f->theta = calloc(f->pt, sizeof(double));
  f->phi = calloc(f->pp, sizeof(double));
  f->x = calloc((f->i1 - f->i0) + 1, sizeof(double));
  REQUIRE_OK(sagd_mlp_init_xavier(f->gen, o->key, 0, f->theta));
  REQUIRE_OK(sagd_mlp_init_xavier(f->enc, o->key, 1, f->phi));
  for (size_t j = 0; j < f->pt; j++) {
    f->theta[j] += 0.05 * (double)((j % 5) + 1);
  }
  for (size_t j = 0; j < f->pp; j++) {
    f->phi[j] += 0.03 * (double)((j % 3)) - 0.02;
  }
  REQUIRE_OK(sagd_deconv_generate(o->key, &sagd_truth_exponential, 1, f->i0, f->i1, f->x, NULL));
  if (o->likelihood == &sagd_likelihood_bernoulli) { /* binary data: x > 2 */
    for (size_t i = 0; i < f->i1 - f->i0; i++) {
      f->x[i] = f->x[i] > 2.0 ? 1.0 : 0.0;
    }
  }
  REQUIRE_OK(sagd_vae_create(comm, f->gen, f->enc, f->x, n, f->i0, f->i1, o, &f->v));
}

static void vae_fixture_free(vae_fixture *f) {
  sagd_vae_destroy(&f->v);
  sagd_mlp_destroy(&f->gen);
  sagd_mlp_destroy(&f->enc);
  free(f->x);
  free(f->theta);
  free(f->phi);
}

static sagd_vae_options vae_test_options(void) {
  sagd_vae_options o;
  memset(&o, 0, sizeof o);
  o.block = 20;
  o.batches = 1;
  o.samples = 1;
  o.iwae_k = 5;
  o.chains = 1;
  o.delta = 0.1;
  o.K = 5;
  o.leapfrog = 5;
  o.gamma = 2;
  o.sampler = NULL;
  o.key.seed = 7;
  o.key.replication = 0;
  return o;
}

#endif
