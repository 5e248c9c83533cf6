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

int sagd_cli_bench_phases(MPI_Comm comm, int argc, char **argv) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  const char *config_path = NULL;
  sagd_bench_options bo = {3, 1};
  const char **sets = calloc((size_t)argc + 1, sizeof(char *));
  SAGD_CHECK(sets != NULL, SAGD_ERR_MEM, "cannot allocate option list");
  size_t nsets = 0;
  int err = SAGD_OK;
  for (int i = 1; i < argc && err == SAGD_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      if (rank == 0) {
        phases_usage_(stdout);
      }
      free(sets);
      return SAGD_OK;
    } else if (strcmp(a, "--no-efficiency") == 0) {
      bo.efficiency = 0;
    } else if (strcmp(a, "--set") == 0 || strcmp(a, "--iters") == 0) {
      if (i + 1 >= argc) {
        err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                             "option %s needs a value (see sagd bench phases --help)", a);
        break;
      }
      const char *v = argv[++i];
      if (strcmp(a, "--set") == 0) {
        sets[nsets++] = v;
      } else {
        unsigned long long u = 0;
        err = sagd_cli_parse_u64(a, v, &u);
        if (err == SAGD_OK && (u < 1 || u > 1000000)) {
          err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                               "--iters %s: expected 1 .. 1000000 timed iterations", v);
        }
        bo.iters = (int)u;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                           "unknown option '%s' (see sagd bench phases --help)", a);
    } else if (config_path != NULL) {
      err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                           "unexpected argument '%s': the config is already '%s'", a,
                           config_path);
    } else {
      config_path = a;
    }
  }
  if (err == SAGD_OK && config_path == NULL) {
    err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                         "missing CONFIG.ini: usage: sagd bench phases CONFIG.ini [options]");
  }
  sagd_config cfg = NULL;
  const sagd_experiment_type *exp = NULL;
  if (err == SAGD_OK) {
    err = sagd_config_create(sagd_config_keys, &cfg);
  }
  if (err == SAGD_OK) {
    err = sagd_cli_load_config(cfg, config_path, sets, nsets, &exp);
  }
  free(sets);
  if (err == SAGD_OK && exp->bench == NULL) {
    err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                         "experiment '%s' (run.experiment in %s) has no phases to time: "
                         "`sagd bench phases` times the phases of deconv_vae",
                         exp->name, config_path);
  }
  if (err == SAGD_OK) {
    int threads = 1;
    err = sagd_cli_blas_threads(comm, &threads);
    if (err == SAGD_OK && rank == 0) {
      printf("bench phases: %s (%s), BLAS: %s, %d thread(s) per rank\n", config_path,
             exp->name, sagd_cli_blas_config(), threads);
    }
  }
  if (err == SAGD_OK) {
    sagd_run_info info;
    err = sagd_cli_run_info(comm, cfg, 1, &info);
    if (err == SAGD_OK) {
      err = exp->bench(&info, &bo);
    }
  }
  sagd_config_destroy(&cfg);
  return err == SAGD_OK ? SAGD_OK : sagd_error_trace(err, __FILE__, __LINE__, __func__);
}
