/* `sagd bench phases CONFIG.ini [--set S.K=V ...] [--iters N] [--no-efficiency]`: time a few
 * iterations of every phase of a configured run on the current ranks (the experiment's bench
 * op) and print s/it, GFLOP/s, the fraction of the same-shape GEMM roofline, the reduction's
 * share, the 1 -> P ranks efficiency and the whole-run estimate. Writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sagd/error.h"

static void phases_usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd bench phases CONFIG.ini [--set S.K=V ...] [--iters N]\n"
          "                                      [--no-efficiency]\n"
          "\n"
          "Times N iterations (default 3, after one warm-up) of every phase of the run that\n"
          "CONFIG.ini describes, on the current ranks, and prints per phase: s/it, GEMM\n"
          "GFLOP per iteration (from the layer shapes), GFLOP/s per rank, the time of the\n"
          "same GEMM calls replayed alone as plain CBLAS (the roofline) and its share of the\n"
          "phase's time, the share of the reproducible reduction, the time on rank 0 alone\n"
          "over the whole data set and the parallel efficiency 1 -> N ranks, and the\n"
          "whole-run estimate (the start-up estimate of `sagd run` times the same\n"
          "iterations). --no-efficiency skips the 1-rank timing. Nothing is written.\n"
          "Set OPENBLAS_NUM_THREADS=1 when running one rank per core.\n");
}

/* argv into the options, the config path and the --set strings (sets: argc entries);
 * *help = 1 for --help. Allocates nothing. */
static int parse_(int argc, char **argv, sagd_bench_options *bo, const char **config_path,
                  sagd_cli_set *sets, size_t *nsets, int *help) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = 1;
      return SAGD_OK;
    } else if (strcmp(a, "--no-efficiency") == 0) {
      bo->efficiency = 0;
    } else if (strcmp(a, "--set") == 0 || strcmp(a, "--set-if-read") == 0 ||
               strcmp(a, "--iters") == 0) {
      SAGD_CHECK(i + 1 < argc, SAGD_ERR_ARG,
                 "option %s needs a value (see sagd bench phases --help)", a);
      const char *v = argv[++i];
      if (strcmp(a, "--iters") != 0) {
        sets[*nsets].text = v;
        sets[(*nsets)++].if_read = strcmp(a, "--set-if-read") == 0;
      } else {
        unsigned long long u = 0;
        SAGD_CALL(sagd_cli_parse_u64(a, v, &u));
        SAGD_CHECK(u >= 1 && u <= 1000000, SAGD_ERR_ARG,
                   "--iters %s: expected 1 .. 1000000 timed iterations", v);
        bo->iters = (int)u;
      }
    } else {
      SAGD_CHECK(!(a[0] == '-' && a[1] != '\0'), SAGD_ERR_ARG,
                 "unknown option '%s' (see sagd bench phases --help)", a);
      SAGD_CHECK(*config_path == NULL, SAGD_ERR_ARG,
                 "unexpected argument '%s': the config is already '%s'", a, *config_path);
      *config_path = a;
    }
  }
  SAGD_CHECK(*config_path != NULL, SAGD_ERR_ARG,
             "missing CONFIG.ini: usage: sagd bench phases CONFIG.ini [options]");
  return SAGD_OK;
}

/* The configured experiment's bench op on comm; cfg and exp as sagd_cli_load_config gave. */
static int bench_(MPI_Comm comm, sagd_config cfg, const sagd_experiment_type *exp,
                  const char *config_path, const sagd_bench_options *bo) {
  SAGD_CHECK(exp->bench != NULL, SAGD_ERR_ARG,
             "experiment '%s' (run.experiment in %s) has no phases to time: "
             "`sagd bench phases` times the phases of deconv_vae",
             exp->name, config_path);
  int rank, threads = 1;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CALL(sagd_cli_blas_threads(comm, &threads));
  if (rank == 0) {
    printf("bench phases: %s (%s), BLAS: %s, %d thread(s) per rank\n", config_path, exp->name,
           sagd_cli_blas_config(), threads);
  }
  sagd_run_info info;
  SAGD_CALL(sagd_cli_run_info(comm, cfg, 1, &info));
  SAGD_CALL(exp->bench(&info, bo));
  return SAGD_OK;
}

int sagd_cli_bench_phases(MPI_Comm comm, int argc, char **argv) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  sagd_bench_options bo = {3, 1};
  const char *config_path = NULL;
  size_t nsets = 0;
  int help = 0;
  sagd_config cfg = NULL;
  const sagd_experiment_type *exp = NULL;
  sagd_cli_set *sets = calloc((size_t)argc + 1, sizeof *sets);
  SAGD_CHECK(sets != NULL, SAGD_ERR_MEM, "cannot allocate option list");
  int err = parse_(argc, argv, &bo, &config_path, sets, &nsets, &help);
  if (err != SAGD_OK || help) {
    if (help && rank == 0) {
      phases_usage_(stdout);
    }
    goto done;
  }
  if ((err = sagd_config_create(sagd_config_keys(), &cfg)) != SAGD_OK ||
      (err = sagd_cli_load_config(cfg, config_path, sets, nsets, &exp)) != SAGD_OK) {
    goto done;
  }
  err = bench_(comm, cfg, exp, config_path, &bo);
done:
  free(sets);
  sagd_config_destroy(&cfg);
  return err == SAGD_OK ? SAGD_OK : sagd_error_trace(err, __FILE__, __LINE__, __func__);
}
