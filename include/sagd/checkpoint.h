/**
 * @file checkpoint.h
 * @brief Resumable run state and checkpoints (DESIGN.md §5).
 *
 * An experiment registers, once, every buffer that a resumed run needs (a *state*):
 * replicated arrays (identical on all ranks: θ, θ̂ sums, optimizer moments, traces),
 * counters (iteration, M-step, phase index), and sharded rows indexed by a global id
 * (chain states ξ, ρ). A *checkpointer* writes the whole state atomically and collectively
 * (DIR/checkpoint.h5.tmp → close → fsync → reopen and verify every checksum → rename,
 * previous kept as checkpoint.h5.prev; each rank its own hyperslab, no gather) and reads it
 * back on any number of ranks.
 *
 * At every iteration boundary the experiment calls sagd_checkpointer_tick(): it writes when
 * due (every N iterations, every S seconds of rank 0's clock, at the end of a phase, or
 * when SIGTERM/SIGUSR1 arrived — all ranks agree with one small allreduce) and, after a
 * signal, returns SAGD_STOPPED (exit status 75: "checkpointed, run me again").
 *
 * File layout: /meta attributes (those of sagd_runfile_begin plus kind = "checkpoint",
 * phase, iteration, wall_seconds, manifest, checksum); every replicated array and counter
 * (a counter is stored as a double, exact up to 2^53) packed one after the other into one
 * row, /state/replicated [1, total], written by rank 0; and one dataset /state/<name>
 * [global_rows, cols] per sharded entry, each rank writing its own rows. (Few datasets:
 * every HDF5 dataset costs collective metadata operations.) The manifest lists
 * "name kind rows cols offset checksum" per entry (offset: its first column in
 * /state/replicated); /meta/checksum covers the manifest and every other /meta attribute,
 * so a flipped bit anywhere that matters is detected.
 *
 * Checksum of a dataset: Σ_i sagd_checksum_row(i, row_i) mod 2^64 over its rows. Partial
 * sums of disjoint row ranges add up to the same value whatever the split, so every rank
 * checksums only its own rows and one allreduce gives the total on any number of ranks.
 */
#ifndef SAGD_CHECKPOINT_H
#define SAGD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/runinfo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- checksums ------------------------------------------------------------------------ */

/** 64-bit hash of `len` bytes, continuing from `h` (start with 0). Not collective. */
uint64_t sagd_checksum_bytes(const void *data, size_t len, uint64_t h);
/** Hash of row `row` of a dataset (its global index and its `cols` doubles). A change of
 *  any single 8-byte word always changes it. */
uint64_t sagd_checksum_row(uint64_t row, const double *x, size_t cols);
/** Σ_{i<nrows} sagd_checksum_row(row0 + i, x + i*cols) mod 2^64: the partial checksum of
 *  rows [row0, row0+nrows). */
uint64_t sagd_checksum_rows(const double *x, size_t row0, size_t nrows, size_t cols);

/* ---- the state registry ----------------------------------------------------------------- */

typedef struct sagd_state_s *sagd_state;

/** Create an empty state registry. */
int sagd_state_create(sagd_state *st);
void sagd_state_destroy(sagd_state *st);
/** Register `len` replicated doubles under `name` (buffer owned by the caller). Names are
 *  relative HDF5 paths ("sagd/theta": letters, digits, '_', '-', '.', '/'), unique. Rank 0's
 *  copy is the one written. len 0 is allowed. */
int sagd_state_add(sagd_state st, const char *name, double *buf, size_t len);
/** Register a replicated counter (values up to 2^53). */
int sagd_state_add_u64(sagd_state st, const char *name, uint64_t *v);
/** Register a replicated size_t counter (a trace length, ...). */
int sagd_state_add_size(sagd_state st, const char *name, size_t *v);
/** Register this rank's rows [row0, row0+nrows) of a [global_rows × cols] array. The rows of
 *  all ranks must tile [0, global_rows) (checked, collectively, by the checkpointer). */
int sagd_state_add_rows(sagd_state st, const char *name, double *buf, size_t global_rows,
                        size_t cols, size_t row0, size_t nrows);
/** Number of registered entries and the bytes this rank contributes to a checkpoint. */
size_t sagd_state_count(sagd_state st);
size_t sagd_state_local_bytes(sagd_state st);

/* ---- the checkpointer ------------------------------------------------------------------- */

typedef struct sagd_checkpointer_s *sagd_checkpointer;

/** Create for a run (policy from the [checkpoint] config keys: every, seconds; `info` and
 *  `st` must outlive the checkpointer, which reads info->resume when resuming) and install
 *  the SIGTERM / SIGUSR1 handlers (the previous ones are restored by destroy). Checks that
 *  every rank registered the same entries and that sharded rows tile their arrays.
 *  The state must not change its registrations afterwards. **Collective.** */
int sagd_checkpointer_create(const sagd_run_info *info, sagd_state st, sagd_checkpointer *cp);
void sagd_checkpointer_destroy(sagd_checkpointer *cp);

/** **Collective.** How to start, from info->resume:
 *  - NULL or "auto": if DIR/checkpoint.h5 is valid for this config, read it into the
 *    registered buffers and set *resumed = 1. A damaged newest checkpoint (truncated,
 *    zeroed, bit-flipped, unreadable) makes it fall back to checkpoint.h5.prev with a
 *    message on rank 0; a leftover checkpoint.h5.tmp (killed writer) is ignored. Both
 *    damaged: SAGD_ERR_CORRUPT (exit 2), files untouched. Neither present: *resumed = 0.
 *  - "never": start over (*resumed = 0); DIR's old checkpoints and result.h5 are removed.
 *  - any other text: the checkpoint file to read (no fallback).
 *  A checkpoint of another config is refused with SAGD_ERR_CONFIG naming the differing keys
 *  (keys that cannot change results — the [checkpoint] section and run.progress_every —
 *  may differ). The phase label stored in the file is copied to `phase` (may be NULL). */
int sagd_checkpointer_resume(sagd_checkpointer cp, int *resumed, char *phase, size_t cap);

/** **Collective.** Iteration boundary: `iteration` counts completed iterations of the whole
 *  run, `phase` labels where the run is ("sagd M-step 2/3 update 15/100"). Writes a
 *  checkpoint if due (policy), if `force` (end of a phase), or if a signal arrived on any
 *  rank; after a signal returns SAGD_STOPPED (its message names the checkpoint). */
int sagd_checkpointer_tick(sagd_checkpointer cp, uint64_t iteration, const char *phase,
                           int force);

/** **Collective.** Write a checkpoint now (what tick does when due). Counts only when every
 *  rank succeeded: the file is renamed into place after an allreduce of the status.
 *  (Tests: the environment variable SAGD_CHECKPOINT_DELAY_MS holds each write open that many
 *  milliseconds before checkpoint.h5.tmp is closed, to kill a writer in the act.) */
int sagd_checkpointer_write(sagd_checkpointer cp, uint64_t iteration, const char *phase);

/** Wall-clock seconds the run has used so far, across restarts (this rank's clock, plus the
 *  time recorded in the checkpoint it resumed from). */
double sagd_checkpointer_wall(sagd_checkpointer cp);

/** Totals since create: checkpoints written, bytes (whole files' state), seconds spent
 *  writing (including verification) and seconds spent reading (resume). Any may be NULL. */
void sagd_checkpointer_stats(sagd_checkpointer cp, uint64_t *written, double *bytes,
                             double *write_seconds, double *read_seconds);

/** The signal received (SIGTERM or SIGUSR1) and not yet acted on, or 0. Async-signal-safe
 *  flag, process-wide. sagd_checkpoint_raise(sig) sets it as the handler would (tests). */
int sagd_checkpoint_signal(void);
void sagd_checkpoint_raise(int sig);

/** Catch SIGTERM/SIGUSR1 into that flag from now until the process ends (idempotent).
 *  `sagd run` calls it first, so a signal during start-up (reading data, MPI set-up) is not
 *  fatal: the first checkpointer tick acts on it (checkpoint, exit 75). Without it, a
 *  checkpointer catches the two signals only between its create and destroy. */
void sagd_checkpoint_catch_signals(void);

/* ---- files ---------------------------------------------------------------------------- */

/** One dataset of a checkpoint, as listed by its manifest. */
typedef struct {
  char name[128];
  char kind;          /**< 'R' replicated array, 'C' counter, 'S' sharded rows */
  size_t rows, cols;  /**< R, C: 1 × len, stored in /state/replicated from `offset` */
  size_t offset;
  uint64_t checksum;
} sagd_checkpoint_entry;

/** What a checkpoint file holds (sagd_checkpoint_verify). Strings are malloc'ed. */
typedef struct {
  char *experiment, *phase, *created, *config, *config_hash, *sagd_version;
  int64_t format_version, n_ranks;
  uint64_t iteration;
  double wall_seconds;
  size_t nentries;
  sagd_checkpoint_entry *entries;
  double bytes; /**< state bytes (Σ rows·cols·8) */
} sagd_checkpoint_summary;

/** **Collective.** Open `path`, check its metadata checksum and every dataset's checksum
 *  (each rank reads a share of the rows, in bounded chunks). SAGD_ERR_CORRUPT naming the
 *  file and what is wrong if it is damaged or not a checkpoint. `s` (may be NULL) receives
 *  the summary, also when only the data is damaged (s->nentries set, metadata valid). */
int sagd_checkpoint_verify(MPI_Comm comm, const char *path, sagd_checkpoint_summary *s);
void sagd_checkpoint_summary_free(sagd_checkpoint_summary *s);

/** SAGD_ERR_CONFIG naming the differing keys if the configuration text `stored` (read from
 *  `file`) differs from `cfg` in a key that can change results. Not collective (the same
 *  answer on every rank). cfg must be over sagd_config_keys. */
int sagd_checkpoint_same_config(sagd_config cfg, const char *stored, const char *file);

/** **Collective.** Whether DIR/result.h5 is the complete result of this run's config:
 *  *complete = 1 if it is readable, every checksum verifies (sagd_runfile_verify) and its
 *  config is this one; 0 if there is none, or if it is damaged and a checkpoint exists (a
 *  warning names it; the run resumes from the checkpoints and rewrites it, bit-identically);
 *  SAGD_ERR_CORRUPT if it is damaged and there is no checkpoint (the way out: --force);
 *  SAGD_ERR_CONFIG naming the keys if it is the result of another config. */
int sagd_result_complete(const sagd_run_info *info, int *complete);

#ifdef __cplusplus
}
#endif
#endif
