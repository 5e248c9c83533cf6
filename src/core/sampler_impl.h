/* Private layout of a Langevin sampler (see include/sagd/sampler.h). */
#ifndef SAGD_SAMPLER_IMPL_H
#define SAGD_SAMPLER_IMPL_H

#include "sagd/sampler.h"

struct sagd_sampler_s {
  const sagd_sampler_type *type;
  sagd_model model;    /**< borrowed, not owned */
  size_t C;            /**< chains per data point */
  size_t max_block;    /**< largest block (data points) a step may be given */
  double gamma;        /**< friction (underdamped) */
  sagd_rng_key key;    /**< run-wide seed and replication */
  sagd_rng_gsl rng;    /**< counter-based generator, repositioned per chain per step */
  double *grad;        /**< scratch: ∇V for max_block*C chains, max_block*C*r doubles */
  double *noise;       /**< scratch: one chain's normals, r doubles */
};

#endif
