/**
 * @file likelihood.h
 * @brief Observation models p(x | η) of the VAE family as types. The decoder (generator)
 *        maps a latent u to η ∈ R^p; the likelihood gives -log p(x | η) and its gradient in
 *        η. Registered in one list and found by type->name (`model.likelihood`).
 *
 *   gaussian  : x | η ~ N(η, I),          -log p = Σ_j (η_j - x_j)²/2 + (p/2) log 2π
 *   gaussian_var: x | (μ, ℓ) ~ N(μ, diag e^ℓ) (learned variance: the decoder gives 2p
 *               outputs, μ then ℓ = log σ²), -log p = Σ_j [(x_j - μ_j)² e^-ℓ_j + ℓ_j]/2
 *               + (p/2) log 2π
 *   bernoulli : x | η ~ Bernoulli(σ(η)),  -log p = Σ_j softplus(η_j) - x_j η_j
 *               (η are logits; x_j ∈ [0, 1]: binary data are the exact model, grey values
 *               the usual treatment of MNIST's intensities as probabilities)
 */
#ifndef SAGD_LIKELIHOOD_H
#define SAGD_LIKELIHOOD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_likelihood_type_s {
  const char *name;
  const char *summary;
  /** Decoder outputs per data coordinate: the decoder of p-dimensional data gives
   *  η ∈ R^(outputs·p) (1: η_j; 2: the p locations, then p log-variances). */
  size_t outputs;
  /** One row (η: outputs·p values): *acc += the terms of -log p(x | η) that depend on η,
   *  coordinate after coordinate (j = 0..p-1, so sums have a fixed order), and, when deta
   *  is not NULL, deta[k] = scale · ∂(-log p)/∂η_k for all outputs·p k. deta may be eta (in
   *  place). */
  void (*nll_row)(const double *eta, const double *x, size_t p, double scale, double *acc,
                  double *deta);
  /** The rest of -log p(x | η), independent of η, for data of dimension p. */
  double (*constant)(size_t p);
  /** Check n rows of p values (the global index of row 0 is i0): SAGD_ERR_DATA naming the
   *  first value outside the support. */
  int (*check_data)(const double *x, size_t n, size_t p, size_t i0);
  /** E[x | η] (the picture of a decoded latent), p values; out may be eta. */
  void (*mean)(const double *eta, size_t p, double *out);
} sagd_likelihood_type;

extern const sagd_likelihood_type sagd_likelihood_gaussian;
extern const sagd_likelihood_type sagd_likelihood_bernoulli;
extern const sagd_likelihood_type sagd_likelihood_gaussian_var;

/** Keep the first p of every row of m rows of w values (the decoder's location outputs:
 *  η for one output per coordinate, μ for gaussian_var), packed into rows of p, in place. */
void sagd_likelihood_locations(size_t m, size_t w, size_t p, double *rows);

/** Look up by name; NULL if unknown. */
const sagd_likelihood_type *sagd_likelihood_find(const char *name);
/** The registry (registry.h): the types, NULL-terminated. */
const sagd_likelihood_type *const *sagd_likelihood_list(void);

/** The constant of -log N(u; 0, I_r) (the latent prior of the VAE family): (r/2) log 2π. */
double sagd_prior_constant(size_t r);

#ifdef __cplusplus
}
#endif
#endif
