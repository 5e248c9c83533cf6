/* The sagd command line: one file per subcommand. Each returns an error code (0 = ok). */
#ifndef SAGD_CLI_H
#define SAGD_CLI_H

#include <mpi.h>

int sagd_cli_run(MPI_Comm comm, int argc, char **argv);
int sagd_cli_bench(MPI_Comm comm, int argc, char **argv);
int sagd_cli_inspect(MPI_Comm comm, int argc, char **argv);
int sagd_cli_table(MPI_Comm comm, int argc, char **argv);
void sagd_cli_usage(FILE *out);

/* Parse an unsigned integer option value; SAGD_ERR_ARG naming the option otherwise. */
int sagd_cli_parse_u64(const char *opt, const char *text, unsigned long long *out);

/* **Collective.** Unless OPENBLAS_NUM_THREADS is set, give each rank cores / (ranks on its
 * node) OpenBLAS threads; *threads = the number in force. */
int sagd_cli_blas_threads(MPI_Comm comm, int *threads);

#endif
