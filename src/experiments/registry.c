/* The list of experiments, looked up by run.experiment. */
#include <string.h>

#include "sagd/experiment.h"

extern const sagd_experiment_type sagd_experiment_em_gamma;
extern const sagd_experiment_type sagd_experiment_deconv_vae;
extern const sagd_experiment_type sagd_experiment_em_plugin;
extern const sagd_experiment_type sagd_experiment_mnist_vae;

static const sagd_experiment_type *const experiments_[] = {
    &sagd_experiment_em_gamma, &sagd_experiment_deconv_vae, &sagd_experiment_em_plugin,
    &sagd_experiment_mnist_vae, NULL};

const sagd_experiment_type *const *sagd_experiment_list(void) { return experiments_; }

const sagd_experiment_type *sagd_experiment_find(const char *name) {
  for (size_t i = 0; experiments_[i] != NULL; i++) {
    if (strcmp(experiments_[i]->name, name) == 0) {
      return experiments_[i];
    }
  }
  return NULL;
}
