/* The sagd command line: one file per subcommand (run.c, bench.c, bench_phases.c, inspect.c,
 * table.c), each returning an error code (0 = ok), and the helpers they share (run.c's
 * config loading, args.c, blas.c). main.c dispatches to them; nothing calls into main.c. */
#ifndef SAGD_CLI_H
#define SAGD_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <mpi.h>

#include "sagd/config.h"
#include "sagd/experiment.h"

int sagd_cli_run(MPI_Comm comm, int argc, char **argv);
int sagd_cli_bench(MPI_Comm comm, int argc, char **argv);
int sagd_cli_inspect(MPI_Comm comm, int argc, char **argv);
int sagd_cli_table(MPI_Comm comm, int argc, char **argv);

/* One --set (if_read 0) or --set-if-read (if_read 1) assignment "section.key=value". */
typedef struct {
  const char *text;
  int if_read;
} sagd_cli_set;

/* Read CONFIG into cfg (created over sagd_config_keys()), apply the --set assignments in order,
 * find run.experiment (SAGD_ERR_CONFIG naming the known ones), then apply the --set-if-read
 * ones whose keys the experiment reads (a note on stderr for the others). A key given a
 * value that the experiment does not read is bad input (SAGD_ERR_CONFIG naming it and who
 * reads it); from then on cfg's getters are restricted to the experiment's keys. Same on
 * every rank. */
int sagd_cli_load_config(sagd_config cfg, const char *config_path, const sagd_cli_set *sets,
                         size_t nsets, const sagd_experiment_type **exp);

/* **Collective** (rank, size). The run description of cfg on comm: seed and replication from
 * [run], no output directory, no resume mode. */
int sagd_cli_run_info(MPI_Comm comm, sagd_config cfg, int quiet, sagd_run_info *info);

/* Parse an unsigned integer option value; SAGD_ERR_ARG naming the option otherwise. */
int sagd_cli_parse_u64(const char *opt, const char *text, unsigned long long *out);

/* Before MPI_Init: if OpenBLAS fell back to its Prescott kernels on a CPU that runs better
 * ones (an OpenBLAS release older than the CPU) and OPENBLAS_CORETYPE is unset, re-execute
 * this program with OPENBLAS_CORETYPE set to them (argv as given to main). Returns only when
 * nothing is to be done or the exec failed (then with a warning on stderr). */
void sagd_cli_blas_kernels(char **argv);

/* After sagd_cli_blas_kernels re-executed: one line saying which kernels were chosen and
 * why (static storage); NULL otherwise. */
const char *sagd_cli_blas_note(void);

/* OpenBLAS's build and kernel description ("OpenBLAS 0.3.21 ... SkylakeX ..."). */
const char *sagd_cli_blas_config(void);

/* `sagd bench phases` (bench_phases.c). */
int sagd_cli_bench_phases(MPI_Comm comm, int argc, char **argv);

/* **Collective.** Unless OPENBLAS_NUM_THREADS is set, give each rank cores / (ranks on its
 * node) OpenBLAS threads; *threads = the number in force. */
int sagd_cli_blas_threads(MPI_Comm comm, int *threads);

#endif
