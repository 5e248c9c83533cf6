/* `sagd bench langevin`: Langevin chain-steps per second on however many ranks mpiexec
 * started.
 *   --model mlp (default): the high-dimensional deconvolution model, generator
 *     R -> H -> H -> P softplus (identity output) in float64, sampling only: K underdamped
 *     steps of V(u) = ½‖x - h(u)‖² + ½‖u‖² on every local chain (one forward + one
 *     backward pass of the generator per block and step, as GEMMs). Prints chain-steps/s,
 *     the achieved GFLOP/s (GEMM flops from sagd_mlp_flops) and, for comparison, the
 *     GFLOP/s of the plain cblas_dgemm calls of the same shapes and blocks timed the same
 *     way on the same ranks, and their ratio.
 *   --model gamma|gauss: the SAGD gradient path (K steps, ∇θ accumulation, exact
 *     allreduce) of the Gamma model (r = 1) or a correlated Gaussian target. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "cli.h"
#include "sagd/deconv.h"
#include "sagd/error.h"
#include "sagd/gamma.h"
#include "sagd/gauss.h"
#include "sagd/nn.h"
#include "sagd/sagd.h"

static void bench_usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd bench phases CONFIG.ini [--set S.K=V ...] [--iters N]\n"
          "                 [--no-efficiency]\n"
          "       (every phase of a configured run: s/it, GFLOP/s, roofline, reduction,\n"
          "       efficiency, whole-run estimate; `sagd bench phases --help` for details)\n"
          "   or: mpiexec -n N sagd bench langevin [--model mlp|gamma|gauss] [--points N]\n"
          "                 [--chains C] [--steps K] [--dim R] [--data-dim P] [--hidden H]\n"
          "                 [--block B] [--repeat M]\n"
          "\n"
          "Times M rounds of K underdamped Langevin steps on N*C chains (split across the\n"
          "ranks, in blocks of B data points) and prints chain-steps per second, in total and\n"
          "per rank.\n"
          "  --model   mlp: the deconvolution model X = h(U) + e with generator\n"
          "            R -> H -> H -> P (softplus, float64), sampling only (potential\n"
          "            gradients); also prints the GEMM GFLOP/s achieved, that of plain\n"
          "            cblas_dgemm calls of the same shapes, and their ratio;\n"
          "            gamma: the Gamma-sigmoid model of em_gamma (r = 1), SAGD gradients;\n"
          "            gauss: a correlated Gaussian target of dimension R, SAGD gradients\n"
          "  defaults: --model mlp --points 10000 --chains 1 --steps 20 --dim 100\n"
          "            --data-dim 100 --hidden 256 --block 500 --repeat 3\n"
          "            (gamma, gauss: --points 20000 --dim 10 --block 64)\n"
          "  Set OPENBLAS_NUM_THREADS=1 when running one rank per core.\n");
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
    SAGD_FAIL(SAGD_ERR_ARG, "--model '%s': expected mlp, gamma or gauss", name);
  }
  return SAGD_OK;
}

typedef struct {
  unsigned long long n, C, K, r, p, hidden, block, repeat;
} mlp_bench_opts;

/* CPU seconds used by this process (all its threads). */
static double cpu_seconds_(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
    return 0.0;
  }
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The plain-GEMM reference: buffers for one block, and one round of it: per local block and
 * step, the forward GEMMs Z = A·Wᵀ and the backward GEMMs dA = dZ·W of the generator's
 * shapes (beta = 0), nothing else. */
typedef struct {
  double *buf[2];
} plain_gemm_ws;

static int plain_gemm_create_(size_t rows, const size_t *w, size_t L, plain_gemm_ws *ws) {
  size_t maxw = 0;
  for (size_t l = 0; l <= L; l++) {
    maxw = w[l] > maxw ? w[l] : maxw;
  }
  SAGD_CALLOC(ws->buf[0], rows * maxw, "plain-GEMM buffer");
  SAGD_CALLOC(ws->buf[1], rows * maxw, "plain-GEMM buffer");
  for (size_t i = 0; i < rows * maxw; i++) {
    ws->buf[0][i] = 0.001 * (double)(i % 1000);
  }
  return SAGD_OK;
}

static void plain_gemm_round_(const plain_gemm_ws *ws, size_t nloc, size_t block, size_t C,
                              unsigned long long K, const size_t *w, size_t L,
                              const double *theta) {
  double *const *buf = ws->buf;
  for (size_t off = 0; off < nloc; off += block) {
    const size_t nb = nloc - off < block ? nloc - off : block;
    const int B = (int)(nb * C);
    for (unsigned long long k = 0; k < K; k++) {
      size_t woff = 0;
      int cur = 0;
      for (size_t l = 0; l < L; l++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, (int)w[l + 1], (int)w[l], 1.0,
                    buf[cur], (int)w[l], theta + woff, (int)w[l], 0.0, buf[1 - cur],
                    (int)w[l + 1]);
        woff += w[l + 1] * (w[l] + 1);
        cur = 1 - cur;
      }
      for (size_t l = L; l-- > 0;) {
        woff -= w[l + 1] * (w[l] + 1);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, (int)w[l], (int)w[l + 1], 1.0,
                    buf[cur], (int)w[l + 1], theta + woff, (int)w[l], 0.0, buf[1 - cur],
                    (int)w[l]);
        cur = 1 - cur;
      }
    }
  }
}

static int bench_mlp_(MPI_Comm comm, const mlp_bench_opts *o) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  const size_t L = 3, w[4] = {(size_t)o->r, (size_t)o->hidden, (size_t)o->hidden,
                              (size_t)o->p};
  size_t i0, i1;
  sagd_shard_range((size_t)o->n, (size_t)o->block, rank, size, &i0, &i1);
  const size_t nloc = i1 - i0;
  SAGD_CHECK(o->block <= ((unsigned long long)1 << 31) / o->C, SAGD_ERR_ARG,
             "--block %llu with --chains %llu: too many rows per block", o->block, o->C);
  sagd_mlp gen = NULL;
  SAGD_CALL(sagd_mlp_create(L, w, &sagd_act_softplus, &sagd_act_identity,
                            (size_t)(o->block * o->C), &gen));
  const size_t np = sagd_mlp_nparams(gen);
  double *theta = calloc(np, sizeof(double));
  double *x = calloc((nloc > 0 ? nloc : 1) * w[L], sizeof(double));
  SAGD_CHECK(theta != NULL && x != NULL, SAGD_ERR_MEM, "cannot allocate the benchmark data");
  sagd_rng_key key = {2024, 0};
  SAGD_CALL(sagd_mlp_init_xavier(gen, key, 0, theta));
  /* Synthetic data: x_i = 2 + N(0, I), a pure function of i. */
  sagd_rng_gsl rng = NULL;
  SAGD_CALL(sagd_rng_gsl_create(&rng));
  for (size_t i = 0; i < nloc; i++) {
    double *xi = x + i * w[L];
    sagd_rng_normals(rng, key, SAGD_STREAM_TEST, i0 + i, 0, 0, w[L], xi);
    for (size_t j = 0; j < w[L]; j++) {
      xi[j] += 2.0;
    }
  }
  sagd_rng_gsl_destroy(&rng);
  sagd_model model = NULL;
  SAGD_CALL(sagd_deconv_model_create(gen, x, (size_t)o->n, i0, i1, &model));
  free(x);
  sagd_solver_options so = {(size_t)o->C, &sagd_sampler_underdamped, 2.0, (size_t)o->block,
                            key};
  sagd_solver solver = NULL;
  SAGD_CALL(sagd_solver_create(comm, model, &so, &solver));
  const double delta = 0.05;

  plain_gemm_ws ws = {{NULL, NULL}};
  SAGD_CALL(plain_gemm_create_((size_t)(o->block * o->C), w, L, &ws));

  /* Warm-up (page faults, caches), then M rounds, each timing K Langevin steps on every
   * local chain and then the plain GEMMs of the same K steps, between barriers: alternating
   * keeps the comparison fair when the machine's load changes. */
  SAGD_CALL(sagd_solver_burnin(solver, theta, 1, delta, 0));
  plain_gemm_round_(&ws, nloc, (size_t)o->block, (size_t)o->C, 1, w, L, theta);
  /* Wall-clock times between barriers (the headline figures), and each rank's own CPU time
   * of its work (not of the barrier), summed over ranks: per-core rates that stay meaningful
   * when other processes share the cores. */
  double secs = 0.0, gsecs = 0.0, cpu[2] = {0.0, 0.0};
  for (unsigned long long it = 0; it < o->repeat; it++) {
    SAGD_CHECK_MPI(MPI_Barrier(comm));
    double t0 = MPI_Wtime(), c0 = cpu_seconds_();
    SAGD_CALL(sagd_solver_burnin(solver, theta, o->K, delta, 1 + it));
    cpu[0] += cpu_seconds_() - c0;
    SAGD_CHECK_MPI(MPI_Barrier(comm));
    secs += MPI_Wtime() - t0;
    t0 = MPI_Wtime();
    c0 = cpu_seconds_();
    plain_gemm_round_(&ws, nloc, (size_t)o->block, (size_t)o->C, o->K, w, L, theta);
    cpu[1] += cpu_seconds_() - c0;
    SAGD_CHECK_MPI(MPI_Barrier(comm));
    gsecs += MPI_Wtime() - t0;
  }
  free(ws.buf[0]);
  free(ws.buf[1]);
  double cpu_sum[2];
  SAGD_CHECK_MPI(MPI_Reduce(cpu, cpu_sum, 2, MPI_DOUBLE, MPI_SUM, 0, comm));

  const double steps = (double)o->n * (double)o->C * (double)o->K * (double)o->repeat;
  const double flops = sagd_mlp_flops(gen, 1, SAGD_MLP_BACKWARD_INPUT) * steps;
  if (rank == 0) {
    const double gf = flops / secs * 1e-9, gg = flops / gsecs * 1e-9;
    const double cf = flops / cpu_sum[0] * 1e-9, cg = flops / cpu_sum[1] * 1e-9;
    printf("bench langevin: model mlp [%zu-%zu-%zu-%zu softplus, float64], %d rank(s), %llu "
           "chains, %llu steps x %llu repeats, block %llu points (%llu rows)\n"
           "  langevin:    %.3f s, %.4g chain-steps/s (%.4g per rank), %.2f GFLOP/s "
           "(%.2f per rank)\n"
           "  plain dgemm: %.3f s, same GEMM shapes and blocks, %.2f GFLOP/s (%.2f per rank)\n"
           "  ratio langevin/dgemm = %.3f\n"
           "  per CPU-second (robust to other load): langevin %.2f GFLOP/s, dgemm %.2f "
           "GFLOP/s, ratio %.3f\n",
           w[0], w[1], w[2], w[3], size, o->n * o->C, o->K, o->repeat, o->block,
           o->block * o->C, secs, steps / secs, steps / secs / size, gf, gf / size, gsecs, gg,
           gg / size, gf / gg, cf, cg, cf / cg);
  }
  free(theta);
  sagd_solver_destroy(&solver);
  sagd_model_destroy(&model);
  sagd_mlp_destroy(&gen);
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
    SAGD_CHECK(argc >= 2, SAGD_ERR_ARG,
               "missing benchmark name: expected 'phases' or 'langevin'");
    return SAGD_OK;
  }
  if (strcmp(argv[1], "phases") == 0) {
    SAGD_CALL(sagd_cli_bench_phases(comm, argc - 1, argv + 1));
    return SAGD_OK;
  }
  SAGD_CHECK(strcmp(argv[1], "langevin") == 0, SAGD_ERR_ARG,
             "unknown benchmark '%s': expected 'phases' or 'langevin'", argv[1]);
  const char *model_name = "mlp";
  unsigned long long n = 0, C = 1, K = 20, r = 0, block = 0, repeat = 3, pdim = 100,
                     hidden = 256;
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
    } else if (strcmp(a, "--data-dim") == 0) {
      dst = &pdim;
    } else if (strcmp(a, "--hidden") == 0) {
      dst = &hidden;
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
  const int is_mlp = strcmp(model_name, "mlp") == 0;
  n = n ? n : (is_mlp ? 10000 : 20000);
  r = r ? r : (is_mlp ? 100 : 10);
  block = block ? block : (is_mlp ? 500 : 64);
  int blas_threads = 1;
  SAGD_CALL(sagd_cli_blas_threads(comm, &blas_threads));
  if (is_mlp) {
    mlp_bench_opts mo = {n, C, K, r, pdim, hidden, block, repeat};
    SAGD_CALL(bench_mlp_(comm, &mo));
    return SAGD_OK;
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
