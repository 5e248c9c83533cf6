/**
 * @file h5.h
 * @brief Parallel HDF5 (MPI-IO) helpers for run files: every call here is **collective**
 * over the file's communicator unless said otherwise.
 *
 * Datasets are addressed by absolute paths ("/trace/sagd/theta"); missing parent groups are
 * created. Two write patterns: *replicated* data (identical on every rank, e.g. θ traces)
 * is written once, by rank 0, with the other ranks taking part with an empty selection;
 * *sharded* data (rows indexed by a global id, e.g. chain states or data points) is written
 * by every rank into its own hyperslab of rows, no gather.
 */
#ifndef SAGD_H5_H
#define SAGD_H5_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_h5_s *sagd_h5;

/** Create (truncate) a file. Collective. */
int sagd_h5_create(MPI_Comm comm, const char *path, sagd_h5 *f);
/** Open an existing file, read-only or read-write. Collective. Fails with SAGD_ERR_CORRUPT
 *  if the file is not a readable HDF5 file. */
int sagd_h5_open(MPI_Comm comm, const char *path, int writable, sagd_h5 *f);
/** Flush (MPI_File_sync on every rank, so the data is on disk) and close. Collective. Accepts
 *  NULL. With sagd_h5_fsync_wanted() false the flush is left to the close (no sync). */
int sagd_h5_close(sagd_h5 *f);
/** 0 if the environment variable SAGD_FSYNC is "0": files are then closed and published
 *  without fsync (scratch or test file systems; a power failure may lose the newest file, a
 *  killed process still cannot damage one); 1 otherwise. */
int sagd_h5_fsync_wanted(void);

/** Attributes on a group (created if missing). Collective; value identical on all ranks. */
int sagd_h5_attr_string(sagd_h5 f, const char *group, const char *name, const char *value);
int sagd_h5_attr_int(sagd_h5 f, const char *group, const char *name, int64_t value);
int sagd_h5_attr_real(sagd_h5 f, const char *group, const char *name, double value);
/** Read attributes (*value malloc'ed for strings; caller frees). */
int sagd_h5_read_attr_string(sagd_h5 f, const char *group, const char *name, char **value);
int sagd_h5_read_attr_int(sagd_h5 f, const char *group, const char *name, int64_t *value);

/** Write a replicated double array of shape dims[0..ndims) (ndims 0 = scalar). */
int sagd_h5_write(sagd_h5 f, const char *path, int ndims, const size_t *dims,
                  const double *data);
/** Write rows [row0, row0+nrows) of a [global_rows, cols] double dataset; every rank passes
 *  its own rows (nrows may be 0). */
int sagd_h5_write_rows(sagd_h5 f, const char *path, size_t global_rows, size_t cols,
                       size_t row0, size_t nrows, const double *data);
/** Read a whole dataset on every rank: shape returned in dims (cap ndims_cap), data malloc'ed. */
int sagd_h5_read(sagd_h5 f, const char *path, int ndims_cap, int *ndims, size_t *dims,
                 double **data);
/** The shape of a dataset, without reading it (at most ndims_cap dimensions). */
int sagd_h5_shape(sagd_h5 f, const char *path, int ndims_cap, int *ndims, size_t *dims);
/** Read rows [row0, row0+nrows) of a 2-D dataset into data (caller's buffer). */
int sagd_h5_read_rows(sagd_h5 f, const char *path, size_t row0, size_t nrows, size_t cols,
                      double *data);
/** Datasets created from now on (on, identical on all ranks) carry HDF5's Fletcher32
 *  checksum filter, in chunks of whole rows (~1 MiB); scalars are stored compact, inside
 *  their object header, which the file format checksums. Every read then verifies them.
 *  Not collective. Result files use it; checkpoints keep their own per-row checksums. */
void sagd_h5_set_checksums(sagd_h5 f, int on);
/** Read every dataset of the file, so HDF5 checks every stored checksum. Returns how many
 *  datasets there are and how many carry a checksum (either may be NULL). Fails with
 *  SAGD_ERR_CORRUPT naming the first dataset that does not read back. */
int sagd_h5_verify(sagd_h5 f, size_t *ndatasets, size_t *nchecksummed);
/** The paths of every dataset of the file ("/a/b"), in name order, depth first; each group
 *  is entered once, however many links lead to it. *names and its strings are malloc'ed
 *  (the caller frees them). Collective. SAGD_ERR_CORRUPT naming what is damaged. */
int sagd_h5_datasets(sagd_h5 f, char ***names, size_t *n);
/** 1 if a link exists at path, else 0. */
int sagd_h5_exists(sagd_h5 f, const char *path);

#ifdef __cplusplus
}
#endif
#endif
