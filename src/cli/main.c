/* sagd: entry point. Initialises MPI, dispatches the subcommand, prints errors and maps
 * them to exit statuses (0 ok, 2 bad input — nothing written, 1 run failure, 75 stopped by a
 * signal after checkpointing: run again). Only this
 * file calls MPI_Abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <mpi.h>

#include "cli.h"
#include "sagd/error.h"

#ifndef SAGD_VERSION
#define SAGD_VERSION "unknown"
#endif

static void usage_(FILE *out) {
  fprintf(out,
          "usage: mpiexec -n N sagd COMMAND [options]\n"
          "\n"
          "sagd fits latent-variable models by stochastic approximate gradient descent\n"
          "(SGD with Langevin-estimated gradients), in parallel with MPI.\n"
          "\n"
          "commands:\n"
          "  run CONFIG.ini [options]   run an experiment; writes DIR/result.h5\n"
          "  bench phases CONFIG.ini    time every phase of a run: s/it, GFLOP/s, roofline\n"
          "  bench langevin [options]   print Langevin chain-steps per second\n"
          "  inspect FILE|DIR           what a result or checkpoint file holds; exit 2 if damaged\n"
          "  table DIR... [options]     Table 1 (mean (SE) of KS, W1) from replication runs\n"
          "  help | --help              this text\n"
          "  version | --version        print the version\n"
          "\n"
          "`sagd run --help` lists the run options and every configuration key;\n"
          "`sagd bench --help` the benchmark options.\n"
          "\n"
          "exit status: 0 success; 1 run failure; 2 bad input (nothing was written);\n"
          "             75 stopped by SIGTERM/SIGUSR1 after a checkpoint (run again to resume).\n");
}

int main(int argc, char **argv) {
  sagd_cli_blas_kernels(argv); /* may re-execute this program, before MPI starts */
  MPI_Init(&argc, &argv);
  /* MPI failures come back as codes (SAGD_CHECK_MPI adds the call and its context); main
   * prints them and calls MPI_Abort below. Communicators duplicated or split from these
   * inherit the handler. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const char *blas_note = sagd_cli_blas_note();
  if (rank == 0 && blas_note != NULL && getenv("SAGD_BLAS_QUIET") == NULL) {
    fprintf(stderr, "sagd: note: %s\n", blas_note);
  }

  int rc = SAGD_OK;
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    if (rank == 0) {
      usage_(stderr);
    }
    MPI_Finalize();
    return 2;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    if (rank == 0) {
      usage_(stdout);
    }
  } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    if (rank == 0) {
      const char *blas = openblas_get_config();
      printf("sagd %s\n%s\n", SAGD_VERSION, blas != NULL ? blas : "BLAS: unknown");
    }
  } else if (strcmp(cmd, "run") == 0) {
    rc = sagd_cli_run(comm, argc - 1, argv + 1);
  } else if (strcmp(cmd, "bench") == 0) {
    rc = sagd_cli_bench(comm, argc - 1, argv + 1);
  } else if (strcmp(cmd, "inspect") == 0) {
    rc = sagd_cli_inspect(comm, argc - 1, argv + 1);
  } else if (strcmp(cmd, "table") == 0) {
    rc = sagd_cli_table(comm, argc - 1, argv + 1);
  } else {
    rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                        "unknown command '%s': expected run, bench, inspect, table, help or version "
                        "(see sagd --help)", cmd);
  }

  int status = sagd_error_exit_status(rc);
  int nranks = 1;
  MPI_Comm_size(comm, &nranks);
  if (rc != SAGD_OK) {
    if (rc == SAGD_STOPPED) {
      /* Every rank agreed on the signal and the checkpoint is on disk: say it once. */
      if (rank == 0) {
        fprintf(stderr, "sagd: %s\n", sagd_error_message());
      }
    } else if (status == 2 && (rc != SAGD_ERR_MODEL || nranks == 1)) {
      /* Bad input is detected identically on every rank: say it once. */
      if (rank == 0) {
        fprintf(stderr, "sagd: error: %s\n", sagd_error_message());
        if (getenv("SAGD_TRACEBACK") != NULL) {
          fprintf(stderr, "%s\n", sagd_error_message_full());
        }
      }
    } else {
      /* found on this rank only (a plug-in's op on its shard, an I/O or MPI failure): the
       * other ranks may wait in a collective call, so stop them all */
      fprintf(stderr, "[rank %d] sagd: error (%s): %s\n", rank, sagd_strerror(rc),
              rc == SAGD_ERR_MODEL && getenv("SAGD_TRACEBACK") == NULL
                  ? sagd_error_message()
                  : sagd_error_message_full());
      fflush(stderr);
      MPI_Abort(comm, status);
    }
  }
  MPI_Finalize();
  return status;
}
