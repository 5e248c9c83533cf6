/* Exact allreduce across ranks: a fixed global list of term vectors, split over the ranks
 * in a way that depends on the number of ranks (uneven, interleaved, one rank possibly
 * empty, odd ranks adding in reverse order), must give bit-for-bit the value that one
 * accumulator gives over all terms locally, and that value must be the correctly rounded
 * sum (fsum reference). Registered with NP = 1, 2, 3, 4. */
#include <inttypes.h>
#include <mpi.h>
#include <string.h>

#include "sagd/reduce.h"
#include "testutil.h"
#include "xsum_ref.h"

#define NT 4000
#define PC 5

/* Term vector k is a pure function of k (every rank can generate any of them). */
static void term_(size_t k, double *v) {
  uint64_t s = 0x5eedULL * 1000003ULL + k;
  uint64_t s2 = 0xfeedULL * 1000003ULL + k / 4; /* shared by the pair (4m, 4m+1) */
  v[0] = random_wide(&s, -253, 95);                /* widest range */
  v[1] = random_wide(&s, -60, -50);                /* ordinary numbers */
  /* pairs of huge terms that cancel exactly (k % 4 = 0, 1) among tiny ones (k % 4 = 2, 3):
   * the exact sum is about 2^-137 while partial sums reach 2^133 */
  const double big = random_wide(&s2, 30, 80);
  v[2] = (k % 4 == 0) ? big : ((k % 4 == 1) ? -big : random_wide(&s, -200, -195));
  v[3] = random_wide(&s, -253, -240);              /* bottom of the range */
  v[4] = (k % 3 == 0) ? 1e16 : ((k % 3 == 1) ? 1.0 : -1e16); /* 1e16 + 1333 */
}

/* Which rank adds term k: depends on the number of ranks; with >= 3 ranks rank 1 has none. */
static int owner_(size_t k, int size) {
  uint64_t s = k * 7919 + (uint64_t)size;
  int r = (int)(splitmix64(&s) % (uint64_t)size);
  if (size >= 3 && r == 1) {
    r = 0;
  }
  return r;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  static double all[NT * PC];
  for (size_t k = 0; k < NT; k++) {
    term_(k, all + k * PC);
  }

  /* Reference 1: the same accumulator over all terms, locally, in natural order. */
  sagd_xsum loc = NULL;
  REQUIRE_OK(sagd_xsum_create(PC, &loc));
  for (size_t k = 0; k < NT; k++) {
    REQUIRE_OK(sagd_xsum_add(loc, all + k * PC));
  }
  double local_all[PC];
  sagd_xsum_get(loc, local_all);
  sagd_xsum_destroy(&loc);

  /* This rank's share, in reverse order on odd ranks. */
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(PC, &x));
  size_t mine = 0;
  for (size_t i = 0; i < NT; i++) {
    size_t k = (rank % 2 == 1) ? NT - 1 - i : i;
    if (owner_(k, size) == rank) {
      REQUIRE_OK(sagd_xsum_add(x, all + k * PC));
      mine++;
    }
  }
  double partial_before[PC], partial_after[PC], global[PC], again[PC];
  sagd_xsum_get(x, partial_before);
  REQUIRE_OK(sagd_xsum_allreduce(x, MPI_COMM_WORLD, global));
  sagd_xsum_get(x, partial_after);
  /* The local accumulators are left unchanged by the collective. */
  CHECK(memcmp(partial_before, partial_after, sizeof partial_before) == 0);
  /* A second allreduce gives the same bits. */
  REQUIRE_OK(sagd_xsum_allreduce(x, MPI_COMM_WORLD, again));
  CHECK(memcmp(global, again, sizeof global) == 0);

  for (int j = 0; j < PC; j++) {
    double ref = ref_fsum(all + j, NT, PC);
    if (dbits(global[j]) != dbits(local_all[j]) || dbits(global[j]) != dbits(ref)) {
      fprintf(stderr,
              "rank %d/%d: component %d: allreduce %a (0x%016" PRIx64 "), local over all %a "
              "(0x%016" PRIx64 "), fsum %a\n",
              rank, size, j, global[j], dbits(global[j]), local_all[j], dbits(local_all[j]),
              ref);
      test_failures_++;
    }
  }
  /* Every rank holds the same bits (compare rank 0's with everyone's). */
  uint64_t bits[PC], bits0[PC];
  for (int j = 0; j < PC; j++) {
    bits[j] = bits0[j] = dbits(global[j]);
  }
  MPI_Bcast(bits0, PC, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  CHECK(memcmp(bits, bits0, sizeof bits) == 0);
  /* Component 4: 1334 terms 1e16, 1333 terms -1e16 and 1333 ones; the exact sum
   * 1e16 + 1333 rounded once, as this expression does. */
  CHECK(global[4] == (double)((NT + 1) / 3) + 1e16 * (double)((NT + 2) / 3 - NT / 3));

  if (rank == 0) {
    printf("np=%d terms on rank 0: %zu\n", size, mine);
    for (int j = 0; j < PC; j++) {
      printf("component %d: %a  0x%016" PRIx64 "\n", j, global[j], dbits(global[j]));
    }
  }
  sagd_xsum_destroy(&x);
  return test_exit_mpi();
}
