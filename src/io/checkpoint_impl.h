/* What the pieces of the checkpoint layer share (src/io: checksum.c, state.c,
 * checkpoint_file.c, result_check.c, checkpointer.c; the public side is
 * include/sagd/checkpoint.h). Private to src/io. */
#ifndef SAGD_IO_CHECKPOINT_IMPL_H
#define SAGD_IO_CHECKPOINT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/checkpoint.h"
#include "sagd/h5.h"

#define CK_NAME "checkpoint.h5"
#define CK_NAME_MAX 128
/* Rows per read when verifying: at most this many doubles in memory at once. */
#define CK_CHUNK_DOUBLES ((size_t)1 << 20)

/* ---- the state registry (state.c) ---- */
typedef struct {
  char name[CK_NAME_MAX];
  char kind; /* 'R', 'C', 'S' */
  double *buf;
  uint64_t *u64;
  size_t *sz;
  size_t rows, cols, row0, nrows;
  size_t offset; /* R, C: first column in /state/replicated */
} ck_entry;

struct sagd_state_s {
  ck_entry *e;
  size_t n, cap;
  size_t rep_total; /* columns of /state/replicated */
};


/* A state name: a relative path of letters, digits, '_', '-', '.', '/'. */
int ck_name_ok(const char *s);
/* A counter's value as a double (exact up to 2^53) and back. */
int ck_counter_get(const ck_entry *e, double *d);
void ck_counter_set(const ck_entry *e, double d);

/* ---- checksums (checksum.c) ---- */
/* MurmurHash3's finaliser: a bijection of 64-bit words. */
uint64_t ck_fmix64(uint64_t z);

/* ---- checkpoint files (checkpoint_file.c) ---- */
/* The manifest: one line per entry, "name kind rows cols offset checksum(hex)" (malloc'ed,
 * NULL when out of memory), and its parser. */
char *ck_manifest_text(const sagd_checkpoint_entry *e, size_t n);
int ck_manifest_parse(const char *text, const char *path, sagd_checkpoint_entry **out,
                      size_t *nout);
/* The hash of every /meta attribute that matters (/meta/checksum). */
uint64_t ck_meta_checksum(const sagd_checkpoint_summary *s, const char *manifest);
/* **Collective.** Open a checkpoint and read and check its /meta: fills s, returns the
 * manifest text (malloc'ed). */
int ck_open_meta(MPI_Comm comm, const char *path, sagd_h5 *f, sagd_checkpoint_summary *s,
                 char **manifest);
/* The dataset of a state entry: "/state/NAME". */
void ck_dset_path(const char *name, char *buf, size_t cap);
/* Columns of /state/replicated the manifest declares (checked against the entries). */
int ck_manifest_replicated(const sagd_checkpoint_summary *s, const char *path, size_t *total);
/* **Collective.** Every dataset's checksum against the manifest. */
int ck_verify_data(MPI_Comm comm, sagd_h5 f, const char *path,
                   const sagd_checkpoint_summary *s);

/* ---- shared helpers ---- */
/* **Collective.** Rank 0 stats the paths; every rank learns which exist. */
int ck_exists_bcast(MPI_Comm comm, int n, const char *const *paths, int *ex);
/* Monotonic seconds. */
double ck_now(void);

#endif
