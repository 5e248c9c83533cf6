/**
 * @file psum.h
 * @brief Cheap reproducible sums of double vectors across MPI ranks: every term pre-rounded
 *        onto a per-component grid, the grid points summed as exact int64 integers.
 *
 * Component j has a grid exponent G_j carried from one sum to the next (the state a
 * checkpoint keeps: sagd_psum_grid). A term x with |x| < 2^G_j is rounded to the nearest
 * multiple of u_j = 2^(G_j + h - 62) (ties to even), h = ceil(log2(max_terms)), and the
 * multiples are summed as int64: at most max_terms such terms can never overflow, and integer
 * sums do not depend on their order or on how the terms are split across ranks. A term too
 * large for the grid (or any nonzero term before a grid exists) goes to an exact
 * superaccumulator (sagd_xsum) instead, and that sum is then combined exactly with the grid
 * sum. After every allreduce, G_j becomes the global max exponent of this sum's terms plus
 * `margin` bits (unchanged where every term was zero), so the next sum's terms fit unless a
 * component grows by more than 2^margin.
 *
 * Guarantee. The result is a function of the multiset of terms and of the grid, and the grid
 * is a function of the previous sums' terms: bit-identical for any number of ranks and any
 * order of additions, and a resumed run continues identically once its grid is restored.
 * Error, per component, of a sum that needed no exact path: at most N·u_j/2 for N terms, plus
 * the final rounding to double (half an ulp); with G_j = e + margin (e the previous sum's
 * largest binary exponent, |x| < 2^e) that is N·2^(e + margin + h - 63), i.e. about
 * 2^(margin + h - 62) relative to the previous sum's largest term. A sum that had terms off
 * the grid is exact for those terms. Grid exponents are kept in [-960, 1000]: terms below
 * u_j/2 of a clamped grid round to zero.
 *
 * Cost: one fused pass per added vector (round, add, max exponent) and one allreduce of
 * p int64 plus one of p uint16 (10 bytes per component, 1.25 plain double allreduces). When
 * some rank had terms off the grid, the ranks' lists of those components are gathered and
 * only their union is reduced exactly (the whole exact accumulator when the lists hold more
 * than p entries in all, as in a sum without a grid on several ranks).
 */
#ifndef SAGD_PSUM_H
#define SAGD_PSUM_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_psum_s *sagd_psum;

/** The grid exponent of a component that has none yet (its next nonzero terms are exact). */
#define SAGD_PSUM_NO_GRID (-2000.0)

/** Create p accumulators, all zero, with no grid yet. max_terms >= 1: the most additions of
 *  one component, over all ranks, between a zero and the allreduce that ends the sum (the
 *  number of global blocks, say); margin: 0..16 bits of room above the previous max. */
int sagd_psum_create(size_t p, uint64_t max_terms, int margin, sagd_psum *s);
void sagd_psum_destroy(sagd_psum *s);
/** Start a new sum (the grid is kept). */
void sagd_psum_zero(sagd_psum s);
/** Add v[0..p) to the sum. Fails naming the component on a non-finite term or when more than
 *  max_terms vectors were added since the zero (the accumulators are then unspecified). */
int sagd_psum_add(sagd_psum s, const double *v);
/** A term in pieces (for a producer that has it a slice at a time, e.g. layer by layer, so
 *  each slice is rounded while it is in cache): begin the term, then add each component at
 *  most once, in any order. sagd_psum_add(s, v) is begin_term + add_range(s, 0, p, v). A
 *  float piece adds exactly the bits of its values widened to double. */
int sagd_psum_begin_term(sagd_psum s);
int sagd_psum_add_range(sagd_psum s, size_t j0, size_t n, const double *v);
int sagd_psum_add_range_float(sagd_psum s, size_t j0, size_t n, const float *v);
/** **Collective**: out[j] = the global sum over comm (see the guarantee above), and the
 *  grid moves to this sum's max exponents + margin. Every rank gets the same bits. */
int sagd_psum_allreduce(sagd_psum s, MPI_Comm comm, double *out);

/** The grid exponents G[0..p) as doubles (SAGD_PSUM_NO_GRID where none): writable, so a
 *  checkpoint can save and restore them. */
double *sagd_psum_grid(sagd_psum s, size_t *p);
/** Forget the grid (the next sum takes the exact path for every nonzero term). */
void sagd_psum_reset_grid(sagd_psum s);

/** Since create: allreduces, and how many of them took the exact path. Bytes this rank sent
 *  in the last allreduce (the payload of its MPI_Allreduce calls). */
void sagd_psum_counts(sagd_psum s, uint64_t *sums, uint64_t *exact_sums, size_t *bytes);
/** This rank's wall time in zero, adds and allreduces since create (for benchmarks). */
double sagd_psum_seconds(sagd_psum s);

#ifdef __cplusplus
}
#endif
#endif
