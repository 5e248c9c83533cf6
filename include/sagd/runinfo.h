/**
 * @file runinfo.h
 * @brief What the CLI resolved for one run and hands to an experiment, its run files and
 *        its checkpoints: communicator, validated configuration, run directory, RNG key.
 */
#ifndef SAGD_RUNINFO_H
#define SAGD_RUNINFO_H

#include <mpi.h>

#include "sagd/config.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the CLI resolved for one run (same on every rank). */
typedef struct {
  MPI_Comm comm;
  int rank, size;
  sagd_config cfg;       /**< validated effective configuration */
  const char *out_dir;   /**< run directory (created by sagd_runfile_begin if missing) */
  sagd_rng_key key;      /**< (run.seed, run.replication) */
  int quiet;             /**< 1: no progress lines */
  const char *resume;    /**< how to start (checkpoint.h): NULL/"auto", "never", or a file */
} sagd_run_info;

#ifdef __cplusplus
}
#endif
#endif
