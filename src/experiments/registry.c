/* The list of experiments, looked up by run.experiment. */
#include "sagd/experiment.h"
#include "sagd/registry.h"

extern const sagd_experiment_type sagd_experiment_em_gamma;
extern const sagd_experiment_type sagd_experiment_deconv_vae;
extern const sagd_experiment_type sagd_experiment_em_plugin;
extern const sagd_experiment_type sagd_experiment_mnist_vae;

/* `sagd table` prints the experiments' tables in this order. */
static const sagd_experiment_type *const experiments_[] = {
    &sagd_experiment_deconv_vae, &sagd_experiment_em_gamma, &sagd_experiment_mnist_vae,
    &sagd_experiment_em_plugin, NULL};

const sagd_experiment_type *const *sagd_experiment_list(void) { return experiments_; }

const sagd_experiment_type *sagd_experiment_find(const char *name) {
  return sagd_registry_find(SAGD_REGISTRY(experiments_), name);
}
