/* Benchmark: the exact reduction as the minibatch solvers use it. Each rank adds ADDS gradient
 * vectors of length P (one per data block it holds) into a sagd_xsum and then calls
 * sagd_xsum_allreduce; the figures are per round (zero + ADDS adds + allreduce), against the
 * non-reproducible baseline of the same work in plain doubles (ADDS vector additions and one
 * MPI_Allreduce of P doubles). The terms look like gradients: a normal draw times 10^u, u
 * uniform in [-6, 2]. Checks that every rank got the same bits and that they equal the
 * correctly rounded sum (ref_fsum) for a sample of components. The pre-rounded sum (sagd_psum,
 * the VAE's default) is timed in the same run on the same terms, after one untimed round that
 * sets its grid; its bits must agree on every rank and stay within its stated bound of the
 * exact sum. Bytes sent per rank per round are printed for both.
 * Usage: bench_reduce [P [ADDS [REPEAT]]] (defaults 260396 10 5: the high-dimensional VAE's
 * decoder + encoder parameter count + 100, 10 blocks per rank per minibatch). */
#include <mpi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/psum.h"
#include "sagd/reduce.h"
#include "testutil.h"
#include "xsum_ref.h"

static double term_(uint64_t *s) {
  double u1 = ((double)(splitmix64(s) >> 11) + 0.5) * 0x1p-53;
  double u2 = ((double)(splitmix64(s) >> 11) + 0.5) * 0x1p-53;
  double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
  double u = -6 + 8 * ((double)(splitmix64(s) >> 11) * 0x1p-53);
  return z * pow(10, u);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t p = argc > 1 ? (size_t)atol(argv[1]) : 260396;
  int adds = argc > 2 ? atoi(argv[2]) : 10;
  int repeat = argc > 3 ? atoi(argv[3]) : 5;
  double *terms = malloc((size_t)adds * p * sizeof(double));
  double *out = malloc(p * sizeof(double)), *plain = malloc(p * sizeof(double));
  if (terms == NULL || out == NULL || plain == NULL) {
    fprintf(stderr, "bench_reduce: out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  uint64_t seed = 12345 + 1000003 * (uint64_t)rank;
  for (size_t k = 0; k < (size_t)adds * p; k++) {
    terms[k] = term_(&seed);
  }
  sagd_xsum x = NULL;
  REQUIRE_OK(sagd_xsum_create(p, &x));

  double best_x = 1e30, best_add = 1e30, best_red = 1e30, best_plain = 1e30;
  for (int r = 0; r < repeat; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    sagd_xsum_zero(x);
    for (int a = 0; a < adds; a++) {
      REQUIRE_OK(sagd_xsum_add(x, terms + (size_t)a * p));
    }
    double t1 = MPI_Wtime();
    REQUIRE_OK(sagd_xsum_allreduce(x, MPI_COMM_WORLD, out));
    double t2 = MPI_Wtime();
    MPI_Barrier(MPI_COMM_WORLD);
    double t3 = MPI_Wtime();
    memcpy(plain, terms, p * sizeof(double));
    for (int a = 1; a < adds; a++) {
      const double *v = terms + (size_t)a * p;
      for (size_t i = 0; i < p; i++) {
        plain[i] += v[i];
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, plain, (int)p, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double t4 = MPI_Wtime();
    double tt[4] = {t2 - t0, t1 - t0, t2 - t1, t4 - t3}, mx[4];
    MPI_Allreduce(tt, mx, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    best_x = fmin(best_x, mx[0]);
    best_add = fmin(best_add, mx[1]);
    best_red = fmin(best_red, mx[2]);
    best_plain = fmin(best_plain, mx[3]);
  }

  const size_t xbytes = sagd_xsum_bytes(x);
  /* The pre-rounded sum on the same terms: one round to set the grid, then the timed ones. */
  sagd_psum ps = NULL;
  REQUIRE_OK(sagd_psum_create(p, (uint64_t)adds * (uint64_t)size, 6, &ps));
  double *pout = malloc(p * sizeof(double)), *grid = malloc(p * sizeof(double));
  if (pout == NULL || grid == NULL) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  double best_p = 1e30, best_padd = 1e30, best_pred = 1e30;
  for (int r = -1; r < repeat; r++) {
    if (r == 0) {
      memcpy(grid, sagd_psum_grid(ps, NULL), p * sizeof(double));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    sagd_psum_zero(ps);
    for (int a = 0; a < adds; a++) {
      REQUIRE_OK(sagd_psum_add(ps, terms + (size_t)a * p));
    }
    double t1 = MPI_Wtime();
    REQUIRE_OK(sagd_psum_allreduce(ps, MPI_COMM_WORLD, pout));
    double t2 = MPI_Wtime();
    double tt[3] = {t2 - t0, t1 - t0, t2 - t1}, mx[3];
    MPI_Allreduce(tt, mx, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (r >= 0) {
      best_p = fmin(best_p, mx[0]);
      best_padd = fmin(best_padd, mx[1]);
      best_pred = fmin(best_pred, mx[2]);
    }
  }
  uint64_t psums = 0, pexact = 0;
  size_t pbytes = 0;
  sagd_psum_counts(ps, &psums, &pexact, &pbytes);
  CHECK(pexact == 1); /* only the round without a grid */
  {
    uint64_t hp = 1469598103934665603ULL, hp0;
    int bad = 0;
    double worst = 0;
    int nb = 0;
    while (((uint64_t)1 << nb) < (uint64_t)adds * (uint64_t)size) {
      nb++;
    }
    for (size_t i = 0; i < p; i++) {
      hp = (hp ^ dbits(pout[i])) * 1099511628211ULL;
      const double u = ldexp(1.0, (int)grid[i] + nb - 62);
      const double bound = (double)adds * size * u / 2 + fabs(out[i]) * 0x1p-52;
      bad += !(fabs(pout[i] - out[i]) <= bound);
      const double rel = out[i] != 0 ? fabs(pout[i] - out[i]) / fabs(out[i]) : 0;
      worst = rel > worst ? rel : worst;
    }
    hp0 = hp;
    MPI_Bcast(&hp0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    CHECK(hp == hp0);
    CHECK(bad == 0);
    if (rank == 0) {
      printf("  pre-rounded sum vs exact: %d component(s) outside the bound, worst relative "
             "difference %.2e\n", bad, worst);
    }
  }

  /* Same bits on every rank; a sample of components against the correctly rounded sum. */
  uint64_t h = 1469598103934665603ULL, h0;
  for (size_t i = 0; i < p; i++) {
    h = (h ^ dbits(out[i])) * 1099511628211ULL;
  }
  h0 = h;
  MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  CHECK(h == h0); /* every rank has rank 0's bits */
  size_t ns = p < 200 ? p : 200, nt = (size_t)adds * (size_t)size;
  double *all = malloc(ns * nt * sizeof(double)), *mine = malloc(ns * (size_t)adds * sizeof(double));
  if (all == NULL || mine == NULL) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (size_t s = 0; s < ns; s++) {
    for (int a = 0; a < adds; a++) {
      mine[s * (size_t)adds + (size_t)a] = terms[(size_t)a * p + s * (p / ns)];
    }
  }
  MPI_Allgather(mine, (int)(ns * (size_t)adds), MPI_DOUBLE, all, (int)(ns * (size_t)adds),
                MPI_DOUBLE, MPI_COMM_WORLD);
  int bad = 0;
  for (size_t s = 0; s < ns; s++) {
    double col[4096];
    size_t n = 0;
    for (int q = 0; q < size; q++) {
      for (int a = 0; a < adds && n < 4096; a++) {
        col[n++] = all[(size_t)q * ns * (size_t)adds + s * (size_t)adds + (size_t)a];
      }
    }
    bad += dbits(ref_fsum(col, n, 1)) != dbits(out[s * (p / ns)]);
  }
  if (bad != 0) {
    fprintf(stderr, "%d of %zu sampled components differ from the correctly rounded sum\n", bad, ns);
  }
  CHECK(bad == 0);

  if (rank == 0) {
    printf("bench_reduce: %d rank(s), P = %zu, %d adds per rank per round, best of %d\n", size, p,
           adds, repeat);
    printf("  exact (sagd_xsum): %8.2f ms per round  [zero + adds %.2f ms (%.0f M terms/s per "
           "rank), allreduce + rounding %.2f ms]\n",
           1e3 * best_x, 1e3 * best_add, (double)adds * (double)p / best_add / 1e6,
           1e3 * best_red);
    printf("  plain doubles:     %8.2f ms per round  (adds + MPI_Allreduce of P doubles)\n",
           1e3 * best_plain);
    printf("  pre-rounded (sagd_psum): %8.2f ms per round  [zero + adds %.2f ms (%.0f M terms/s "
           "per rank), allreduce %.2f ms]\n",
           1e3 * best_p, 1e3 * best_padd, (double)adds * (double)p / best_padd / 1e6,
           1e3 * best_pred);
    printf("  ratio exact / plain: %.2f   pre-rounded / plain: %.2f   exact / pre-rounded: "
           "%.2f\n", best_x / best_plain, best_p / best_plain, best_x / best_p);
    printf("  bytes sent per rank per round: plain doubles %zu, pre-rounded %zu (%.3f x), "
           "exact %zu (%.3f x)\n",
           p * sizeof(double), pbytes, (double)pbytes / (double)(p * sizeof(double)),
           xbytes, (double)xbytes / (double)(p * sizeof(double)));
  }
  free(all);
  free(mine);
  sagd_xsum_destroy(&x);
  sagd_psum_destroy(&ps);
  free(pout);
  free(grid);
  free(terms);
  free(out);
  free(plain);
  return test_exit_mpi();
}
