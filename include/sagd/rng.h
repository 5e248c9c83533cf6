/**
 * @file rng.h
 * @brief Counter-based random numbers (Random123 Philox4x64 through GSL).
 *
 * There is no RNG state: every draw is a pure function of
 * (seed, replication, stream, id, t, k) and the index of the draw within that call. `id` is
 * usually a global chain id (i*C + c) or a global data index, `t` an iteration and `k` a
 * step, so a chain's noise never depends on which MPI rank runs it, and a resumed run draws
 * exactly what an uninterrupted one would.
 */
#ifndef SAGD_RNG_H
#define SAGD_RNG_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Replications are numbered below this (the key word packs 48 bits of it with the stream). */
#define SAGD_RNG_MAX_REPLICATION ((uint64_t)1 << 48)

/** The run-wide key: the user's seed and the replication number (replication < 2^48: it
 *  shares one 64-bit Philox key word with the stream number, which must be < 2^16). */
typedef struct {
  uint64_t seed;
  uint64_t replication;
} sagd_rng_key;

/** Independent streams: one per purpose, so adding a purpose never shifts another's draws. */
typedef enum {
  SAGD_STREAM_DATA = 1,   /**< synthetic data sets, id = data index */
  SAGD_STREAM_CHAIN_INIT, /**< initial chain states, id = global chain id */
  SAGD_STREAM_LANGEVIN,   /**< Langevin noise, id = global chain id, t, k = step */
  SAGD_STREAM_BURNIN,     /**< burn-in noise, id = chain, t = phase counter, k = step */
  SAGD_STREAM_MINIBATCH,  /**< minibatch selection, id = 0, t = iteration */
  SAGD_STREAM_NN_INIT,    /**< network initialisation, id = layer */
  SAGD_STREAM_SAMPLE,     /**< generated samples for metrics */
  SAGD_STREAM_ACCEPT,     /**< Metropolis accept/reject uniforms */
  SAGD_STREAM_REPARAM,    /**< VAE/IWAE reparameterisation noise, id = data index,
                               t = iteration, k = sample */
  SAGD_STREAM_MOMENTUM,   /**< HMC momentum refreshes, id = chain, t = iteration,
                               k = transition */
  SAGD_STREAM_COUPLED,    /**< coupled ISIR chains, id = data index, t = iteration,
                               k = 0/1 initial states, 2s proposals and 2s+1 resampling
                               uniforms of step s */
  SAGD_STREAM_ALD,        /**< amortized Langevin: id = 0 noise of step t, 1 initial map,
                               2 feature network */
  SAGD_STREAM_TEST = 100  /**< reserved for tests and benchmarks */
} sagd_rng_stream;

/** A reusable GSL generator handle whose draws are set by sagd_rng_gsl_reset(). */
typedef struct sagd_rng_gsl_s *sagd_rng_gsl;

/** Allocate a GSL-compatible counter-based generator (not a hot-loop call). */
int sagd_rng_gsl_create(sagd_rng_gsl *r);
/** Free it; accepts NULL and sets *r to NULL. */
void sagd_rng_gsl_destroy(sagd_rng_gsl *r);
/** The start of every per-point data generator: points [i_begin, i_end) must be a range and
 *  x (their values) given when it is not empty (SAGD_ERR_ARG naming `who` otherwise); then a
 *  generator, which the caller resets per point (key, SAGD_STREAM_DATA, i) and destroys. */
int sagd_rng_gsl_for_points(const char *who, size_t i_begin, size_t i_end, const void *x,
                            sagd_rng_gsl *r);
/** Position the generator at (key, stream, id, t, k): its next draws are a pure function of
 *  these. Cheap (no allocation); call it once per chain per step. Philox4x64 key =
 *  {seed, replication << 16 | stream}, counter = {id, t, k, draw count << 32}; a
 *  replication >= 2^48 or stream >= 2^16 is an internal error (SAGD_ASSERT). */
void sagd_rng_gsl_reset(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                        uint64_t t, uint64_t k);
/** The underlying gsl_rng, for GSL's samplers (gsl_ran_gamma, gsl_ran_gaussian_ziggurat...).
 *  At most 2^32 draws between resets. */
gsl_rng *sagd_rng_gsl_get(sagd_rng_gsl r);

/** Fill out[0..n) with independent N(0,1) draws for (key, stream, id, t, k).
 *  Uses @p r as scratch (no allocation). */
void sagd_rng_normals(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                      uint64_t t, uint64_t k, size_t n, double *out);

/** Fill out[0..n) with independent U(0,1) draws (open interval) for (key, stream, id, t, k). */
void sagd_rng_uniforms(sagd_rng_gsl r, sagd_rng_key key, uint32_t stream, uint64_t id,
                       uint64_t t, uint64_t k, size_t n, double *out);

#ifdef __cplusplus
}
#endif
#endif
