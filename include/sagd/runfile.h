/**
 * @file runfile.h
 * @brief The run directory and its HDF5 files (DESIGN.md §5): output checks, atomic
 *        creation (NAME.tmp → fsync → rename) and the /meta group. SAGD_FSYNC=0 skips the
 *        fsyncs (sagd_h5_fsync_wanted()).
 */
#ifndef SAGD_RUNFILE_H
#define SAGD_RUNFILE_H

#include "sagd/runinfo.h"
#include "sagd/h5.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SAGD_FORMAT_VERSION 1

/** **Collective.** Check that `dir` is, or can be created as, a writable directory, without
 *  creating anything. SAGD_ERR_OUTPUT naming the path and the reason otherwise; SAGD_ERR_CONFIG
 *  if SAGD_FSYNC is set to something other than 0 or 1. */
int sagd_runfile_check_output(MPI_Comm comm, const char *dir);

/** **Collective.** Create the run directory if needed and open DIR/NAME.tmp for writing, with
 *  /meta filled in (format_version, sagd_version, git_describe, experiment, config, config_hash,
 *  seed, replication, n_ranks, created). */
int sagd_runfile_begin(const sagd_run_info *info, const char *name, sagd_h5 *f);

/** **Collective.** Close the file, fsync it, and atomically rename DIR/NAME.tmp to DIR/NAME
 *  (the previous DIR/NAME, if any, is kept as DIR/NAME.prev when keep_prev is set).
 *  Same as sagd_runfile_finish() then sagd_runfile_publish(). */
int sagd_runfile_commit(const sagd_run_info *info, const char *name, int keep_prev, sagd_h5 *f);

/** **Collective.** Close DIR/NAME.tmp and fsync it (rank 0), without renaming: the caller
 *  may reopen and verify it before sagd_runfile_publish(). */
int sagd_runfile_finish(const sagd_run_info *info, const char *name, sagd_h5 *f);

/** **Collective.** Rank 0 atomically renames DIR/NAME.tmp to DIR/NAME and fsyncs DIR. With
 *  keep_prev, the previous DIR/NAME becomes DIR/NAME.prev first, as a hard link (rename where
 *  the file system has none), so that DIR/NAME exists at every moment. */
int sagd_runfile_publish(const sagd_run_info *info, const char *name, int keep_prev);

/** **Collective.** Verify a run file: every dataset reads back and matches its checksum
 *  (sagd_h5_verify; ndatasets, nchecksummed as there) and the config text in /meta matches
 *  its config_hash (an attribute of several KiB may be stored where HDF5 keeps no
 *  checksum). SAGD_ERR_CORRUPT naming what is damaged. */
int sagd_runfile_verify(sagd_h5 f, size_t *ndatasets, size_t *nchecksummed);

/** Rank-0 helper for DIR/NAME paths: snprintf "%s/%s%s" (dir, name, suffix) into buf;
 *  SAGD_ERR_OUTPUT naming the path if it does not fit. Not collective. */
int sagd_runfile_path(const char *dir, const char *name, const char *suffix, char *buf,
                      size_t cap);

/** Read a text data file: numbers separated by white space or commas, '#' comments.
 *  *x malloc'ed, *n set. Errors name the file, line and token. Not collective. */
int sagd_read_text_data(const char *path, double **x, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
