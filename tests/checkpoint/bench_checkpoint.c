/* Benchmark: checkpoint write and read time and MB/s for a state of 10000 x 10 chains of
 * dimension 100 (position ξ and momentum ρ: 2 x 80 MB), sharded over the ranks, plus a
 * small replicated θ. "write" is the whole protocol of sagd_checkpointer_write: checksums,
 * parallel HDF5 write (each rank its rows), close + fsync, reopen and verify every checksum,
 * rename; "read" is sagd_checkpointer_resume: each rank reads its rows, checksums, one
 * allreduce. The directory is ${TMPDIR:-/tmp}; reads come from a warm page cache (the file
 * was just written). Checks that the resumed state is bit-identical to what was written.
 * Usage: bench_checkpoint [POINTS [CHAINS [DIM [REPEAT]]]] (defaults 10000 10 100 3). */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sagd/checkpoint.h"
#include "sagd/experiment.h"
#include "testutil.h"

static double value_(size_t row, size_t j, int which) {
  return (double)(row % 9973) * 0.001 + (double)j * 1e-6 + (which ? -0.5 : 0.5);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t points = argc > 1 ? (size_t)atol(argv[1]) : 10000;
  size_t C = argc > 2 ? (size_t)atol(argv[2]) : 10;
  size_t r = argc > 3 ? (size_t)atol(argv[3]) : 100;
  int repeat = argc > 4 ? atoi(argv[4]) : 3;
  size_t rows = points * C;
  /* shards by data point, as the solver does: rows = chains of points [i0, i1) */
  size_t i0 = points * (size_t)rank / (size_t)size, i1 = points * (size_t)(rank + 1) / (size_t)size;
  size_t row0 = i0 * C, nrows = (i1 - i0) * C;
  double *xi = malloc(nrows * r * sizeof(double)), *rho = malloc(nrows * r * sizeof(double));
  if (xi == NULL || rho == NULL) {
    fprintf(stderr, "cannot allocate %zu rows\n", nrows);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (size_t i = 0; i < nrows; i++) {
    for (size_t j = 0; j < r; j++) {
      xi[i * r + j] = value_(row0 + i, j, 0);
      rho[i * r + j] = value_(row0 + i, j, 1);
    }
  }
  double theta[2] = {2.0, 0.5};
  uint64_t iter = 0;

  char dir[512];
  if (rank == 0) {
    snprintf(dir, sizeof dir, "%s/sagd_bench_ck_XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
      perror("mkdtemp");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  sagd_config cfg = NULL;
  REQUIRE_OK(sagd_config_create(sagd_config_keys(), &cfg));
  REQUIRE_OK(sagd_config_set(cfg, "checkpoint.every=0"));
  REQUIRE_OK(sagd_config_set(cfg, "checkpoint.seconds=0"));
  sagd_run_info info;
  memset(&info, 0, sizeof info);
  info.comm = MPI_COMM_WORLD;
  info.rank = rank;
  info.size = size;
  info.cfg = cfg;
  info.out_dir = dir;
  info.quiet = 1;
  info.resume = "auto";

  sagd_state st = NULL;
  REQUIRE_OK(sagd_state_create(&st));
  REQUIRE_OK(sagd_state_add(st, "theta", theta, 2));
  REQUIRE_OK(sagd_state_add_u64(st, "iteration", &iter));
  REQUIRE_OK(sagd_state_add_rows(st, "chains/xi", xi, rows, r, row0, nrows));
  REQUIRE_OK(sagd_state_add_rows(st, "chains/rho", rho, rows, r, row0, nrows));
  sagd_checkpointer cp = NULL;
  REQUIRE_OK(sagd_checkpointer_create(&info, st, &cp));
  double mb = 2.0 * (double)rows * (double)r * 8.0 / 1e6;

  double best_w = 1e300, best_r = 1e300, sum_w = 0, sum_r = 0;
  for (int k = 0; k < repeat; k++) {
    iter = (uint64_t)k + 1;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    REQUIRE_OK(sagd_checkpointer_write(cp, iter, "bench"));
    MPI_Barrier(MPI_COMM_WORLD);
    double tw = MPI_Wtime() - t0;
    /* scramble the buffers, then read them back */
    memset(xi, 0, nrows * r * sizeof(double));
    memset(rho, 0, nrows * r * sizeof(double));
    theta[0] = 0;
    iter = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    int resumed = 0;
    REQUIRE_OK(sagd_checkpointer_resume(cp, &resumed, NULL, 0));
    MPI_Barrier(MPI_COMM_WORLD);
    double tr = MPI_Wtime() - t0;
    CHECK(resumed == 1 && iter == (uint64_t)k + 1 && theta[0] == 2.0);
    int ok = 1;
    for (size_t i = 0; i < nrows && ok; i++) {
      for (size_t j = 0; j < r && ok; j++) {
        ok = xi[i * r + j] == value_(row0 + i, j, 0) && rho[i * r + j] == value_(row0 + i, j, 1);
      }
    }
    CHECK(ok);
    best_w = tw < best_w ? tw : best_w;
    best_r = tr < best_r ? tr : best_r;
    sum_w += tw;
    sum_r += tr;
    if (rank == 0) {
      printf("  run %d: write %.3f s (%.1f MB/s), read %.3f s (%.1f MB/s)\n", k + 1, tw,
             mb / tw, tr, mb / tr);
    }
  }
  if (rank == 0) {
    printf("checkpoint benchmark: %d rank(s), %zu x %zu chains of dimension %zu (xi and rho): "
           "%.1f MB in %s\n",
           size, points, C, r, mb, dir);
    printf("write (checksums + parallel HDF5 + fsync + verify + rename): best %.3f s = %.1f "
           "MB/s, mean %.3f s\n",
           best_w, mb / best_w, sum_w / repeat);
    printf("read  (resume: own rows + checksums):                        best %.3f s = %.1f "
           "MB/s, mean %.3f s\n",
           best_r, mb / best_r, sum_r / repeat);
  }
  sagd_checkpointer_destroy(&cp);
  sagd_state_destroy(&st);
  sagd_config_destroy(&cfg);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    char p[600];
    const char *names[] = {"checkpoint.h5", "checkpoint.h5.prev", "checkpoint.h5.tmp", NULL};
    for (int i = 0; names[i] != NULL; i++) {
      snprintf(p, sizeof p, "%s/%s", dir, names[i]);
      unlink(p);
    }
    rmdir(dir);
  }
  free(xi);
  free(rho);
  return test_exit_mpi();
}
