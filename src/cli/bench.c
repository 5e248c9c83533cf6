/* `sagd bench langevin`: Langevin chain-steps per second through the real SAGD gradient
 * path (K steps on every local chain, ∇θ accumulation, exact allreduce), on however many
 * ranks mpiexec started. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sagd/error.h"
#include "sagd/gamma.h"
#include "sagd/gauss.h"
#include "sagd/sagd.h"

static void bench_usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd bench langevin [--model gamma|gauss] [--points N]\n"
          "                 [--chains C] [--steps K] [--dim R] [--block B] [--repeat M]\n"
          "\n"
          "Times M calls of the SAGD gradient (K underdamped steps on N*C chains, split\n"
          "across the ranks) and prints chain-steps per second, in total and per rank.\n"
          "  --model   gamma: the Gamma-sigmoid model of em_gamma (r = 1);\n"
          "            gauss: a correlated Gaussian target of dimension R, gradients as GEMMs\n"
          "  defaults: --model gauss --points 20000 --chains 1 --steps 20 --dim 10 --block 64\n"
          "            --repeat 3\n");
}

static int make_model_(const char *name, size_t n, size_t r, size_t block, int rank, int size,
                       sagd_model *m) {
  size_t i0, i1;
  sagd_shard_range(n, block, rank, size, &i0, &i1);
  if (strcmp(name, "gamma") == 0) {
    double *x = calloc(n, sizeof(double));
    SAGD_CHECK(x != NULL, SAGD_ERR_MEM, "cannot allocate %zu observations", n);
    sagd_rng_key key = {12345, 0};
    SAGD_CALL(sagd_gamma_generate(key, 2.0, 0.5, 10.0, 0, n, x, NULL));
    SAGD_CALL(sagd_gamma_model_create(x + i0, n, i0, i1, 10.0, m));
    free(x);
  } else if (strcmp(name, "gauss") == 0) {
    double *mu = calloc(r, sizeof(double)), *P = calloc(r * r, sizeof(double));
    SAGD_CHECK(mu != NULL && P != NULL, SAGD_ERR_MEM, "cannot allocate a %zu-dim target", r);
    for (size_t a = 0; a < r; a++) { /* tridiagonal precision, diagonally dominant */
      mu[a] = 1.0;
      P[a * r + a] = 2.0;
      if (a + 1 < r) {
        P[a * r + a + 1] = P[(a + 1) * r + a] = -0.5;
      }
    }
    SAGD_CALL(sagd_gauss_model_create(r, mu, P, n, i0, i1, m));
    free(mu);
    free(P);
  } else {
    SAGD_FAIL(SAGD_ERR_ARG, "--model '%s': expected gamma or gauss", name);
  }
  return SAGD_OK;
}

int sagd_cli_bench(MPI_Comm comm, int argc, char **argv) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (rank == 0) {
      bench_usage_(argc < 2 ? stderr : stdout);
    }
    SAGD_CHECK(argc >= 2, SAGD_ERR_ARG, "missing benchmark name: expected 'langevin'");
    return SAGD_OK;
  }
  SAGD_CHECK(strcmp(argv[1], "langevin") == 0, SAGD_ERR_ARG,
             "unknown benchmark '%s': expected 'langevin'", argv[1]);
  const char *model_name = "gauss";
  unsigned long long n = 20000, C = 1, K = 20, r = 10, block = 64, repeat = 3;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      if (rank == 0) {
        bench_usage_(stdout);
      }
      return SAGD_OK;
    }
    SAGD_CHECK(i + 1 < argc, SAGD_ERR_ARG, "option '%s' needs a value (see sagd bench --help)",
               a);
    const char *v = argv[++i];
    unsigned long long *dst = NULL;
    if (strcmp(a, "--model") == 0) {
      model_name = v;
      continue;
    } else if (strcmp(a, "--points") == 0) {
      dst = &n;
    } else if (strcmp(a, "--chains") == 0) {
      dst = &C;
    } else if (strcmp(a, "--steps") == 0) {
      dst = &K;
    } else if (strcmp(a, "--dim") == 0) {
      dst = &r;
    } else if (strcmp(a, "--block") == 0) {
      dst = &block;
    } else if (strcmp(a, "--repeat") == 0) {
      dst = &repeat;
    } else {
      SAGD_FAIL(SAGD_ERR_ARG, "unknown option '%s' (see sagd bench --help)", a);
    }
    SAGD_CALL(sagd_cli_parse_u64(a, v, dst));
    SAGD_CHECK(*dst >= 1, SAGD_ERR_ARG, "%s %s: expected >= 1", a, v);
  }

  sagd_model model = NULL;
  SAGD_CALL(make_model_(model_name, n, r, block, rank, size, &model));
  sagd_rng_key key = {2024, 0};
  sagd_solver_options so = {C, &sagd_sampler_underdamped, 2.0, block, key};
  sagd_solver solver = NULL;
  SAGD_CALL(sagd_solver_create(comm, model, &so, &solver));
  double *theta = calloc(model->p, sizeof(double)), *g = calloc(model->p, sizeof(double));
  SAGD_CHECK(theta != NULL && g != NULL, SAGD_ERR_MEM, "cannot allocate theta");
  if (strcmp(model_name, "gamma") == 0) {
    theta[0] = 2.0;
    theta[1] = 0.5;
  }
  /* warm-up (page faults, caches), then the timed calls */
  SAGD_CALL(sagd_solver_gradient(solver, theta, theta, 1, 0.05, 1, g));
  SAGD_CHECK_MPI(MPI_Barrier(comm));
  double t0 = MPI_Wtime();
  for (unsigned long long it = 0; it < repeat; it++) {
    SAGD_CALL(sagd_solver_gradient(solver, theta, theta, 2 + it, 0.05, K, g));
  }
  SAGD_CHECK_MPI(MPI_Barrier(comm));
  double secs = MPI_Wtime() - t0;
  double steps = (double)n * (double)C * (double)K * (double)repeat;
  if (rank == 0) {
    printf("bench langevin: model %s (r = %zu), %d rank(s), %llu chains, %llu steps x %llu "
           "repeats: %.3f s, %.4g chain-steps/s (%.4g per rank), %.1f ns per chain-step "
           "per rank\n",
           model_name, model->r, size, n * C, K, repeat, secs, steps / secs,
           steps / secs / size, 1e9 * secs * size / steps);
  }
  free(theta);
  free(g);
  sagd_solver_destroy(&solver);
  sagd_model_destroy(&model);
  return SAGD_OK;
}
