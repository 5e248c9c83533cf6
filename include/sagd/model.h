/**
 * @file model.h
 * @brief The batched model interface: an ops table evaluated on a block of chains.
 *
 * A model defines, for data point i (global index) and latent ξ ∈ R^r:
 *   f(θ; x_i, ξ) = -log p(x_i, ξ; θ)            (the SAGD objective's integrand)
 *   V_i(ξ; θ)    = f(θ; x_i, ξ) + const          (the potential of π = p(ξ | x_i; θ))
 * Every op works on a *block*: the C chains of each of the data points i0 .. i0+nb-1, so
 * nb*C chains, stored chain-major (chain q = (i - i0)*C + c has xi[q*r .. q*r + r)).
 * Neural models evaluate a block as GEMMs. θ is a flat vector of length p.
 * A model's context holds the data of the calling rank's shard [i_begin, i_end); blocks
 * always lie inside it.
 */
#ifndef SAGD_MODEL_H
#define SAGD_MODEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_model_type_s {
  const char *name;
  /** V (may be NULL: not wanted) and ∇_ξ V (may be NULL) for the block's nb*C chains. */
  int (*potential)(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                   const double *xi, double *V, double *grad_xi);
  /** g[0..p) += Σ over the block's chains, in chain order, of ∇_θ f(θ; x_i, ξ). */
  int (*grad_theta)(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                    const double *xi, double *g);
  /** Free the context (may be NULL). */
  void (*destroy)(void *ctx);
  /** Optional (may be NULL): ∇_ξ V into grad_xi (as `potential` would give, bit for bit) AND
   *  g[0..p) += Σ ∇_θ f (as `grad_theta` would add, bit for bit) at the same (θ, ξ), in one
   *  evaluation (e.g. one forward + one backward pass of a network). SAGD uses it when its
   *  target follows θ (θ_target == θ). */
  int (*potential_grad_theta)(void *ctx, const double *theta, size_t i0, size_t nb, size_t C,
                              const double *xi, double *grad_xi, double *g);
} sagd_model_type;

/** A model instance: type + context + dimensions. Public fields, read-only after create. */
typedef struct sagd_model_s {
  const sagd_model_type *type;
  void *ctx;
  size_t r;       /**< latent dimension per chain */
  size_t p;       /**< length of θ */
  size_t n;       /**< global number of data points */
  size_t i_begin; /**< this rank's shard is [i_begin, i_end) */
  size_t i_end;
} *sagd_model;

/** Wrap a context (ownership of ctx passes to the model; type->destroy frees it). */
int sagd_model_create(const sagd_model_type *type, void *ctx, size_t r, size_t p, size_t n,
                      size_t i_begin, size_t i_end, sagd_model *m);
/** Destroy (accepts NULL; sets *m to NULL). */
void sagd_model_destroy(sagd_model *m);

/** Checked dispatch to the ops (block must lie in the shard). */
int sagd_model_potential(sagd_model m, const double *theta, size_t i0, size_t nb, size_t C,
                         const double *xi, double *V, double *grad_xi);
int sagd_model_grad_theta(sagd_model m, const double *theta, size_t i0, size_t nb, size_t C,
                          const double *xi, double *g);

/** The contiguous shard [*begin, *end) of n points owned by `rank` of `size`, made of whole
 *  blocks of `block` points (so block sums never straddle ranks). */
void sagd_shard_range(size_t n, size_t block, int rank, int size, size_t *begin,
                      size_t *end);

#ifdef __cplusplus
}
#endif
#endif
