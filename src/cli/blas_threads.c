/* OpenBLAS threads per rank: ranks that share a node must not each start one BLAS thread per
 * core (2 ranks x 2 threads on 2 cores halves the speed). Unless the user set
 * OPENBLAS_NUM_THREADS, give each rank cores / (ranks on this node) threads (at least 1). */
#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "sagd/error.h"

int sagd_cli_blas_threads(MPI_Comm comm, int *threads) {
  const char *env = getenv("OPENBLAS_NUM_THREADS");
  MPI_Comm node;
  int local = 1;
  SAGD_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  SAGD_CHECK_MPI(MPI_Comm_size(node, &local));
  SAGD_CHECK_MPI(MPI_Comm_free(&node));
  if (env != NULL && env[0] != '\0') {
    *threads = openblas_get_num_threads();
    return SAGD_OK;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = cores > local ? (int)(cores / local) : 1;
  openblas_set_num_threads(n);
  *threads = n;
  return SAGD_OK;
}
