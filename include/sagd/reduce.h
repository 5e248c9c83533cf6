/**
 * @file reduce.h
 * @brief Exact, order-independent sums of double vectors across MPI ranks.
 *
 * Each component is accumulated in a fixed-point superaccumulator (int64 limbs holding 32-bit
 * digits) covering 2^-SAGD_XSUM_EMIN .. 2^SAGD_XSUM_EMAX, so additions are exact and
 * associative; the limbs are combined with MPI_SUM on MPI_INT64_T (exact for integers) and
 * rounded once to double. The result is therefore bit-identical for any number of ranks
 * and any order of additions. Magnitudes below 2^-SAGD_XSUM_EMIN are truncated toward zero
 * (deterministically, per term); non-finite terms or magnitudes above 2^SAGD_XSUM_EMAX are
 * an error.
 */
#ifndef SAGD_REDUCE_H
#define SAGD_REDUCE_H

#include <mpi.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAGD_XSUM_EMIN 256 /* smallest bit kept: 2^-256 */
#define SAGD_XSUM_EMAX 160 /* terms and sums must stay below 2^160 */

typedef struct sagd_xsum_s *sagd_xsum;

/** Create a vector of p exact accumulators, all zero. */
int sagd_xsum_create(size_t p, sagd_xsum *x);
void sagd_xsum_destroy(sagd_xsum *x);
void sagd_xsum_zero(sagd_xsum x);
/** acc[j] += v[j] exactly for j < p. Fails on non-finite or too large terms, naming j. */
int sagd_xsum_add(sagd_xsum x, const double *v);
/** acc[i] += v exactly (one component; same rules as sagd_xsum_add). */
int sagd_xsum_add_at(sagd_xsum x, size_t i, double v);
/** Local value (rounded) without communication. */
void sagd_xsum_get(sagd_xsum x, double *out);
/** **Collective**: out[j] = the exact global sum over all ranks of comm, rounded to double.
 *  Uses one MPI_Allreduce. The local accumulators are left unchanged. */
int sagd_xsum_allreduce(sagd_xsum x, MPI_Comm comm, double *out);

/** Zero components idx[0..m) and declare the rest zero already (the caller knows every
 *  nonzero component is listed): cheaper than sagd_xsum_zero for a sparse accumulator. */
void sagd_xsum_zero_subset(sagd_xsum x, const size_t *idx, size_t m);
/** **Collective**: out[k] = the exact global sum of component idx[k], k < m, rounded (every
 *  rank passes the same list). One allreduce of the subset's limbs only. */
int sagd_xsum_allreduce_subset(sagd_xsum x, MPI_Comm comm, const size_t *idx, size_t m,
                               double *out);
/** Bytes this rank sent in the last sagd_xsum_allreduce (the payload of its MPI calls). */
size_t sagd_xsum_bytes(sagd_xsum x);

#ifdef __cplusplus
}
#endif
#endif
