/* Configuration pieces shared by the VAE-family experiments (see vae_common.h). */
#include "vae_common.h"

#include <string.h>

#include "common.h"
#include "sagd/error.h"

int exp_vae_options(const sagd_run_info *info, sagd_vae_options *o, uint64_t *batches) {
  sagd_config cfg = info->cfg;
  *batches = (uint64_t)sagd_config_int(cfg, "vae", "batches");
  o->block = (size_t)sagd_config_int(cfg, "sagd", "block");
  o->batches = (size_t)*batches;
  SAGD_CHECK(*batches <= o->block, SAGD_ERR_CONFIG,
             "vae.batches = %llu: expected at most sagd.block = %zu (every block is cut into "
             "vae.batches parts)",
             (unsigned long long)*batches, o->block);
  o->samples = (size_t)sagd_config_int(cfg, "vae", "samples");
  o->chains = (size_t)sagd_config_int(cfg, "sagd", "chains");
  o->delta = sagd_config_real(cfg, "sagd", "delta");
  int64_t K = sagd_config_int(cfg, "sagd", "K0");
  const char *exp = sagd_config_string(cfg, "run", "experiment");
  SAGD_CHECK(K >= 1, SAGD_ERR_CONFIG,
             "sagd.K0 = %lld: expected a chain length >= 1 (%s: K0 is the number of %s per "
             "update)",
             (long long)K, exp,
             strcmp(exp, "deconv_vae") == 0
                 ? "Langevin steps (sagd) and HMC transitions (hmc)"
                 : "Langevin steps");
  o->K = (uint64_t)K;
  o->gamma = sagd_config_real(cfg, "sagd", "gamma");
  SAGD_CALL(exp_sampler_from_config(cfg, &o->sampler));
  o->key = info->key;
  const char *red = sagd_config_string(cfg, "sagd", "reduction");
  SAGD_CHECK(strcmp(red, "prerounded") == 0 || strcmp(red, "exact") == 0, SAGD_ERR_CONFIG,
             "sagd.reduction = '%s': expected prerounded or exact", red);
  o->exact_sum = strcmp(red, "exact") == 0;
  SAGD_CHECK(o->gamma * o->delta < 2, SAGD_ERR_CONFIG,
             "sagd.gamma * sagd.delta = %g: expected < 2 (the underdamped momentum decay "
             "1 - gamma*delta must stay above -1)",
             o->gamma * o->delta);
  return SAGD_OK;
}

int exp_vae_optimizer(sagd_config cfg, const sagd_optimizer_type **type, double *beta1,
                      double *beta2) {
  const char *on = sagd_config_string(cfg, "sagd", "optimizer");
  *type = sagd_optimizer_type_find(on);
  SAGD_CHECK(*type != NULL, SAGD_ERR_CONFIG, "sagd.optimizer = '%s': expected sgd or adam", on);
  *beta1 = sagd_config_real(cfg, "sagd", "beta1");
  *beta2 = sagd_config_real(cfg, "sagd", "beta2");
  SAGD_CHECK(*beta1 < 1 && *beta2 < 1, SAGD_ERR_CONFIG,
             "sagd.beta1 = %g, sagd.beta2 = %g: expected values in (0, 1)", *beta1, *beta2);
  return SAGD_OK;
}

int exp_vae_precision(sagd_config cfg, sagd_precision *prec) {
  const char *p = sagd_config_string(cfg, "model", "precision");
  SAGD_CHECK(strcmp(p, "double") == 0 || strcmp(p, "single") == 0, SAGD_ERR_CONFIG,
             "model.precision = '%s': expected double or single", p);
  *prec = strcmp(p, "single") == 0 ? SAGD_PRECISION_SINGLE : SAGD_PRECISION_DOUBLE;
  return SAGD_OK;
}

double exp_norm2(const double *g, size_t n) {
  double s = 0;
  for (size_t j = 0; j < n; j++) {
    s += g[j] * g[j];
  }
  return s;
}
