/**
 * @file deconv.h
 * @brief The deconvolution model of the debiased-VAE experiment (paper Table 1):
 *   X = h_θ(U) + e,  U ~ N(0, I_r),  e ~ N(0, I_p),  h_θ an MLP generator R^r → R^p.
 * Per data point and latent u:
 *   f(θ; x, u) = -log p(x, u; θ) = ½‖x - h_θ(u)‖² + ½‖u‖² + (p + r)/2 · log 2π
 *   ∇_u f = -J_h(u)ᵀ (x - h_θ(u)) + u,   ∇_θ f = -J_θ(u)ᵀ (x - h_θ(u))
 * The latent truths Z (the data are X = Z + e, coordinatewise independent) are ops tables
 * with sampler, CDF and density.
 */
#ifndef SAGD_DECONV_H
#define SAGD_DECONV_H

#include <gsl/gsl_rng.h>

#include "sagd/likelihood.h"
#include "sagd/model.h"
#include "sagd/nn.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_truth_type_s {
  const char *name;
  double (*sample)(gsl_rng *r);
  double (*cdf)(double z, const void *ctx); /* ctx unused (NULL): matches sagd_cdf_fn */
  double (*pdf)(double z);
} sagd_truth_type;

/** N(1, 0.5²); exponential with mean 2; 0.4·N(0, 0.5²) + 0.6·N(3, 0.5²). */
extern const sagd_truth_type sagd_truth_normal, sagd_truth_exponential, sagd_truth_mixture;
/** Find by name ("normal", "exponential", "mixture"); NULL if unknown. */
const sagd_truth_type *sagd_truth_find(const char *name);
/** The registry (registry.h): the truths, NULL-terminated. */
const sagd_truth_type *const *sagd_truth_list(void);

/** Data points i in [i_begin, i_end), each p coordinates: z ~ truth, x = z + N(0,1), a pure
 *  function of (key, i) (stream SAGD_STREAM_DATA, id = i, t = k = 0: first the p draws of z,
 *  then the p normal noises), so any shard split gives the same bits. x, z are
 *  [(i_end-i_begin) × p]; z may be NULL. */
int sagd_deconv_generate(sagd_rng_key key, const sagd_truth_type *truth, size_t p,
                         size_t i_begin, size_t i_end, double *x, double *z);

/** The batched decoder model x | u ~ lik(h_θ(u)), u ~ N(0, I_r) over this rank's shard
 *  (x_local copied, [nloc × p], checked by lik->check_data); θ = the generator's flat
 *  parameters (p = nparams), latent r = generator input width. `gen` is borrowed (must
 *  outlive the model) and its max_batch bounds nb*C of any block. */
int sagd_decoder_model_create(sagd_mlp gen, const sagd_likelihood_type *lik,
                              const double *x_local, size_t n, size_t i_begin, size_t i_end,
                              sagd_model *m);
/** The deconvolution model X = h_θ(U) + N(0, I): the decoder model with the Gaussian
 *  likelihood. */
int sagd_deconv_model_create(sagd_mlp gen, const double *x_local, size_t n, size_t i_begin,
                             size_t i_end, sagd_model *m);

/** True log-likelihood Σ_i log ∫ N(x_i; h_θ(u), 1) φ(u) du for r = p = 1, by Gauss–Hermite
 *  quadrature with `nodes` >= 20 nodes (GSL gsl_integration_fixed), evaluating h on all
 *  nodes as one batch (the generator's max_batch must be >= nodes), then a log-sum-exp per
 *  point. Local (not collective): pass this rank's points and sum across ranks. Errors:
 *  SAGD_ERR_ARG (shape, nodes, max_batch), SAGD_ERR_DATA (non-finite x), SAGD_ERR_NUMERIC
 *  (non-finite h). Allocates 4·nodes doubles per call. */
int sagd_deconv_loglik_quad(sagd_mlp gen, const double *params, const double *x, size_t n,
                            size_t nodes, double *ll);
/** The same for the decoder model with any likelihood: Σ_i log ∫ p(x_i | h_θ(u)) φ(u) du. */
int sagd_decoder_loglik_quad(sagd_mlp gen, const sagd_likelihood_type *lik,
                             const double *params, const double *x, size_t n, size_t nodes,
                             double *ll);

#ifdef __cplusplus
}
#endif
#endif
