/* The deconvolution data set generated shard by shard on every rank (contiguous shards of
 * uneven sizes) is bit-identical to the whole set generated on one rank. */
#include <string.h>

#include "sagd/deconv.h"
#include "testutil.h"

int main(void) {
  MPI_Init(NULL, NULL);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const size_t n = 1001, p = 3;
  const sagd_rng_key key = {5, 3};
  const sagd_truth_type *truths[3] = {&sagd_truth_normal, &sagd_truth_exponential,
                                      &sagd_truth_mixture};
  /* uneven contiguous shards: rank r gets [n r² / size², n (r+1)² / size²) */
  size_t b = n * (size_t)rank * (size_t)rank / ((size_t)size * (size_t)size);
  size_t e = n * (size_t)(rank + 1) * (size_t)(rank + 1) / ((size_t)size * (size_t)size);
  int *counts = malloc((size_t)size * sizeof(int)), *displs = malloc((size_t)size * sizeof(int));
  for (int r = 0; r < size; r++) {
    size_t rb = n * (size_t)r * (size_t)r / ((size_t)size * (size_t)size);
    size_t re = n * (size_t)(r + 1) * (size_t)(r + 1) / ((size_t)size * (size_t)size);
    counts[r] = (int)((re - rb) * p);
    displs[r] = (int)(rb * p);
  }
  double *xl = malloc((e - b) * p * sizeof(double) + 1);
  double *zl = malloc((e - b) * p * sizeof(double) + 1);
  double *xg = malloc(n * p * sizeof(double)), *zg = malloc(n * p * sizeof(double));
  double *xs = malloc(n * p * sizeof(double)), *zs = malloc(n * p * sizeof(double));
  for (int t = 0; t < 3; t++) {
    REQUIRE_OK(sagd_deconv_generate(key, truths[t], p, b, e, xl, zl));
    MPI_Gatherv(xl, counts[rank], MPI_DOUBLE, xg, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Gatherv(zl, counts[rank], MPI_DOUBLE, zg, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      REQUIRE_OK(sagd_deconv_generate(key, truths[t], p, 0, n, xs, zs));
      CHECK(memcmp(xg, xs, n * p * sizeof(double)) == 0);
      CHECK(memcmp(zg, zs, n * p * sizeof(double)) == 0);
      printf("%s: %d ranks, shards gathered == one-rank data set: %s\n", truths[t]->name, size,
             memcmp(xg, xs, n * p * sizeof(double)) == 0 ? "yes" : "NO");
    }
  }
  free(xl);
  free(zl);
  free(xg);
  free(zg);
  free(xs);
  free(zs);
  free(counts);
  free(displs);
  return test_exit_mpi();
}
