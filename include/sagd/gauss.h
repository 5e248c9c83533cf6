/**
 * @file gauss.h
 * @brief Gaussian toy target, batched: V(ξ) = ½ (ξ-μ)ᵀ P (ξ-μ) for every chain (P the
 *        precision matrix, r×r, ∇V computed for a block as one GEMM), and
 *        f(θ; ξ) = ½‖θ - ξ‖², so ∇_θ f = θ - ξ and argmin_θ E_π f = μ (a convex SAGD
 *        problem with a closed-form answer). p = r. Data points carry no data: n only sets
 *        the number of chains (n·C).
 */
#ifndef SAGD_GAUSS_H
#define SAGD_GAUSS_H

#include "sagd/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** mean (length r) and precision (r×r row-major, symmetric positive definite) are copied;
 *  the precision is checked with a Cholesky factorisation. */
int sagd_gauss_model_create(size_t r, const double *mean, const double *precision, size_t n,
                            size_t i_begin, size_t i_end, sagd_model *m);

#ifdef __cplusplus
}
#endif
#endif
