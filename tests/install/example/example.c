/* Uses the installed sagd library from outside its tree: a reproducible sum across the ranks
 * (the exact path, then the grid), an exact sum, and a tiny network through OpenBLAS.
 * Prints one line per result on rank 0; the test checks them against closed forms. */
#include <mpi.h>
#include <stdio.h>

#include <sagd/error.h>
#include <sagd/nn.h>
#include <sagd/psum.h>
#include <sagd/reduce.h>

#define TRY(expr)                                                                     \
  do {                                                                                \
    if ((expr) != SAGD_OK) {                                                          \
      fprintf(stderr, "example: %s failed: %s\n", #expr, sagd_error_message_full()); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                   \
    }                                                                                 \
  } while (0)

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  /* every rank adds (r + 1, 0.5, 1e-3 (r + 1)) */
  const double v[3] = {rank + 1.0, 0.5, 1e-3 * (rank + 1)};
  sagd_psum ps = NULL;
  sagd_xsum xs = NULL;
  TRY(sagd_psum_create(3, (uint64_t)size, 6, &ps));
  TRY(sagd_xsum_create(3, &xs));
  double out[3];
  for (int round = 1; round <= 2; round++) { /* round 1: no grid yet; round 2: on it */
    sagd_psum_zero(ps);
    TRY(sagd_psum_add(ps, v));
    TRY(sagd_psum_allreduce(ps, MPI_COMM_WORLD, out));
    if (rank == 0) {
      printf("psum%d %.17g %.17g %.17g\n", round, out[0], out[1], out[2]);
    }
  }
  TRY(sagd_xsum_add(xs, v));
  TRY(sagd_xsum_allreduce(xs, MPI_COMM_WORLD, out));
  if (rank == 0) {
    printf("xsum %.17g %.17g %.17g\n", out[0], out[1], out[2]);
  }
  /* y = 2 x + 1 by a one-layer network (W = 2, b = 1), x = 0, 1, 2 */
  const size_t w[2] = {1, 1};
  sagd_mlp net = NULL;
  TRY(sagd_mlp_create(1, w, NULL, NULL, 3, &net));
  const double theta[2] = {2.0, 1.0}, x[3] = {0, 1, 2};
  double y[3];
  TRY(sagd_mlp_forward(net, theta, 3, x, y));
  if (rank == 0) {
    printf("mlp %.17g %.17g %.17g\n", y[0], y[1], y[2]);
  }
  sagd_mlp_destroy(&net);
  sagd_psum_destroy(&ps);
  sagd_xsum_destroy(&xs);
  MPI_Finalize();
  return 0;
}
