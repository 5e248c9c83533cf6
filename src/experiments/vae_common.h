/* What the VAE-family experiments (deconv_vae, mnist_vae) read alike from a configuration.
 * Private to src/experiments. */
#ifndef SAGD_EXPERIMENTS_VAE_COMMON_H
#define SAGD_EXPERIMENTS_VAE_COMMON_H

#include <stdint.h>

#include "sagd/experiment.h"
#include "sagd/nn.h"
#include "sagd/optimizer.h"
#include "sagd/vae.h"

/* The VAE options from [sagd] block, chains, delta, K0 (the chain length, >= 1), gamma
 * (gamma * delta < 2), sampler, reduction and [vae] batches (<= block), samples; the key
 * from the run. Also returns vae.batches. iwae_k, leapfrog and the likelihood are the
 * caller's. Messages name the keys. */
int exp_vae_options(const sagd_run_info *info, sagd_vae_options *o, uint64_t *batches);
/* [sagd] optimizer, beta1, beta2 (each in (0, 1)). */
int exp_vae_optimizer(sagd_config cfg, const sagd_optimizer_type **type, double *beta1,
                      double *beta2);
/* [model] precision: double or single. */
int exp_vae_precision(sagd_config cfg, sagd_precision *prec);
/* Σ g_j² */
double exp_norm2(const double *g, size_t n);

#endif
