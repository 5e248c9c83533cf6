/**
 * @file stats.h
 * @brief Distances between a sample and a distribution: Kolmogorov–Smirnov and
 *        1-Wasserstein (∫|F̂ − F|), and mean/standard error.
 */
#ifndef SAGD_STATS_H
#define SAGD_STATS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A distribution given by its CDF (and, where useful, its density and a sampler). */
typedef double (*sagd_cdf_fn)(double z, const void *ctx);

/** KS distance sup_z |F̂_n(z) - F(z)|. `sample` is sorted in place. */
double sagd_stats_ks(double *sample, size_t n, sagd_cdf_fn cdf, const void *ctx);

/** W1 = ∫ |F̂_n(z) - F(z)| dz over the real line, by GSL adaptive quadrature between the
 *  sorted sample points and on the two tails. `sample` is sorted in place. Returns 0 and sets
 *  *w1, or an error code if the quadrature fails. */
int sagd_stats_w1(double *sample, size_t n, sagd_cdf_fn cdf, const void *ctx, double *w1);

/** Mean and standard error (sd/√n; se = 0 for n = 1). */
void sagd_stats_mean_se(const double *v, size_t n, double *mean, double *se);

#ifdef __cplusplus
}
#endif
#endif
