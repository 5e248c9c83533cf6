/* The ald method of the VAE family (see include/sagd/vae.h and ald.h): the posterior of
 * every data point from one amortized map z = Φ g(x), g random Fourier features of the data
 * (sagd_ald_features), Φ moved by K preconditioned Langevin steps per update on the update's
 * minibatch and kept from one update to the next. The θ-gradient is the mean of ∇θ f(θ; x_i,
 * Φ_k g(x_i)) over the K maps Φ_1..Φ_K of the update (like sagd's average over its chain
 * states), over the update's points. The encoder is not used: the map starts from its initial
 * draw (ald.init_scale; 0: z = 0, the prior mean) when the phase starts. Everything is keyed
 * by (update, step) and summed exactly, so it is bit-identical on any number of ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "vae_impl.h"

int sagd_vae_ald_alloc_(sagd_vae v) {
  const sagd_vae_ald_options *o = &v->opt.ald;
  const size_t d = o->features;
  double *G = NULL;
  SAGD_CALLOC(G, v->nloc * d, "ALD features of the shard");
  int err = sagd_ald_features(v->opt.key, v->x, v->nloc, v->p, d, o->feature_scale, G);
  const sagd_ald_options ao = {.block = v->opt.block,
                               .batches = v->opt.batches,
                               .step = o->step,
                               .decay = o->decay,
                               .rms_beta = o->rms_beta,
                               .rms_eps = o->rms_eps,
                               .init_scale = o->init_scale,
                               .key = v->opt.key};
  if (err == SAGD_OK) {
    err = sagd_ald_create(v->comm, v->model, d, G, &ao, &v->ald);
  }
  free(G);
  if (err != SAGD_OK) {
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  SAGD_CALLOC(v->ald_phis, (size_t)v->opt.K * sagd_ald_dim(v->ald), "ALD maps of an update");
  SAGD_CALLOC(v->ald_z, v->maxpart * v->r, "ALD latents of a part");
  return SAGD_OK;
}

void sagd_vae_ald_free_(sagd_vae v) {
  sagd_ald_destroy(&v->ald);
  free(v->ald_phis);
  free(v->ald_z);
  v->ald_phis = v->ald_z = NULL;
}

struct sagd_ald_s *sagd_vae_ald(sagd_vae v) {
  return v->ald;
}

/* Σ_k ∇θ f at the K maps of the update over the part [a, e) into blk + X_N; the objective at
 * the last map. */
static int ald_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                     size_t e, double *blk) {
  (void)phi;
  (void)t;
  const size_t m = e - a, rd = sagd_ald_dim(v->ald);
  for (uint64_t k = 0; k < v->opt.K; k++) {
    SAGD_CALL(sagd_ald_latents_at(v->ald, v->ald_phis + k * rd, a, m, v->ald_z));
    SAGD_CALL(sagd_model_grad_theta(v->model, theta, a, m, 1, v->ald_z, blk + X_N));
  }
  SAGD_CALL(sagd_model_potential(v->model, theta, a, m, 1, v->ald_z, v->cV, NULL));
  double obj = 0;
  for (size_t q = 0; q < m; q++) {
    obj -= v->cV[q];
  }
  blk[X_OBJ] += obj;
  blk[X_PTS] += (double)m;
  return SAGD_OK;
}

static int no_ald_(sagd_vae v) {
  return sagd_vae_method_ready_(v->ald != NULL, "ald", "ald.features", v->opt.ald.features, 1);
}

static int grad_ald_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                     double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  (void)g_phi;
  SAGD_CALL(no_ald_(v));
  SAGD_CALL(sagd_mlp_prepare(v->gen, theta)); /* the potentials of the ALD steps */
  const size_t rd = sagd_ald_dim(v->ald);
  double *cur, *rms;
  size_t len;
  uint64_t *steps;
  sagd_ald_state(v->ald, &cur, &rms, &len, &steps);
  for (uint64_t k = 0; k < v->opt.K; k++) {
    SAGD_CALL(sagd_ald_step(v->ald, theta, t, k));
    memcpy(v->ald_phis + k * rd, cur, rd * sizeof(double));
  }
  SAGD_CALL(
      sagd_vae_run_parts_(v, theta, phi, t, 0, ald_part_, g_theta, NULL, stats, (double)v->opt.K));
  return SAGD_OK;
}

static int start_ald_(sagd_vae v, const double *theta, const double *phi) {
  (void)theta;
  (void)phi;
  SAGD_CALL(no_ald_(v));
  sagd_ald_reset(v->ald);
  return SAGD_OK;
}

static const sagd_config_key key_features_ = {
    "ald",
    "features",
    SAGD_CFG_INT,
    "2048",
    SAGD_CFG_AT_LEAST_1,
    "ald: random Fourier features g(x) of the amortized map z = Phi g(x) (a few times "
    "data.n keeps G G^T well conditioned: its eigenvalues lie within (1 +- sqrt(n/d))^2)",
    0};
static const sagd_config_key key_fscale_ = {
    "ald",
    "feature_scale",
    SAGD_CFG_REAL,
    "1000",
    SAGD_CFG_POSITIVE,
    "ald: frequency scale of the features: far above 1 / (the data points' spacing) makes "
    "every point's latent move almost on its own; small values give smooth, slowly mixing maps",
    0};
static const sagd_config_key key_step_ = {
    "ald",
    "step",
    SAGD_CFG_REAL,
    "0.005",
    SAGD_CFG_POSITIVE,
    "ald: Langevin step size of the map's parameters (sagd.K0 steps per update)",
    0};
static const sagd_config_key key_decay_ = {
    "ald",
    "decay",
    SAGD_CFG_REAL,
    "0",
    SAGD_CFG_NONNEGATIVE,
    "ald: step size step (1 + s/decay)^(-1/2) after s steps; 0: constant",
    0};
static const sagd_config_key key_beta_ = {
    "ald",
    "rms_beta",
    SAGD_CFG_REAL,
    "0",
    SAGD_CFG_NONNEGATIVE,
    "ald: RMSProp preconditioning (SGALD), beta in [0, 1); 0: plain Langevin",
    0};
static const sagd_config_key key_eps_ = {
    "ald", "rms_eps", SAGD_CFG_REAL, "1e-3", SAGD_CFG_POSITIVE, "ald: RMSProp epsilon", 0};
static const sagd_config_key key_init_ = {
    "ald",
    "init_scale",
    SAGD_CFG_REAL,
    "0",
    SAGD_CFG_NONNEGATIVE,
    "ald: the initial map's entries N(0, init_scale^2); 0: every latent starts at 0",
    0};
static const sagd_config_key *const ald_keys_[] = {
    &key_features_, &key_fscale_, &key_step_, &key_decay_, &key_beta_, &key_eps_, &key_init_, NULL};

const sagd_vae_method_type sagd_vae_method_ald = {.name = "ald",
                                                  .label = "ALD",
                                                  .trains_encoder = 0,
                                                  .start = start_ald_,
                                                  .gradient = grad_ald_,
                                                  .keys = ald_keys_};
