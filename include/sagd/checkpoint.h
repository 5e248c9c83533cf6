/**
 * @file checkpoint.h
 * @brief Resumable run state and checkpoints (DESIGN.md §5).
 *
 * An experiment registers, once, every buffer that a resumed run needs (a *state*):
 * replicated arrays (identical on all ranks: θ, θ̂ sums, optimizer moments, traces),
 * counters (iteration, M-step, phase index), and sharded rows indexed by a global id
 * (chain states ξ, ρ). A *checkpointer* writes the whole state atomically and collectively
 * (DIR/checkpoint.h5.tmp → fsync → verify → rename, previous kept as checkpoint.h5.prev;
 * each rank its own hyperslab, no gather) and reads it back on any number of ranks.
 *
 * At every iteration boundary the experiment calls sagd_checkpointer_tick(): it writes when
 * due (every N iterations, every S seconds, or when SIGTERM/SIGUSR1 arrived — all ranks
 * agree on the flag with one small allreduce) and, after a signal, returns SAGD_STOPPED
 * (exit status 75: "checkpointed, run me again").
 */
#ifndef SAGD_CHECKPOINT_H
#define SAGD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/experiment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_state_s *sagd_state;

/** Create an empty state registry. */
int sagd_state_create(sagd_state *st);
void sagd_state_destroy(sagd_state *st);
/** Register `len` replicated doubles under `name` (buffer owned by the caller). */
int sagd_state_add(sagd_state st, const char *name, double *buf, size_t len);
/** Register a replicated counter. */
int sagd_state_add_u64(sagd_state st, const char *name, uint64_t *v);
/** Register this rank's rows [row0, row0+nrows) of a [global_rows × cols] array. */
int sagd_state_add_rows(sagd_state st, const char *name, double *buf, size_t global_rows,
                        size_t cols, size_t row0, size_t nrows);

typedef struct sagd_checkpointer_s *sagd_checkpointer;

/** Create for a run (policy from the [checkpoint] config keys) and install the SIGTERM /
 *  SIGUSR1 handlers. **Collective.** */
int sagd_checkpointer_create(const sagd_run_info *info, sagd_state st, sagd_checkpointer *cp);
void sagd_checkpointer_destroy(sagd_checkpointer *cp);

/** **Collective.** If the run directory holds a valid checkpoint for this config (or the
 *  file named by --resume), read it into the registered buffers and set *resumed = 1
 *  (phase label in the file is returned in phase, may be NULL). Falls back to .prev with a
 *  message when the newest is damaged; refuses (SAGD_ERR_CORRUPT, exit 2, files untouched)
 *  when both are damaged, and SAGD_ERR_CONFIG naming the differing keys when the config
 *  differs. */
int sagd_checkpointer_resume(sagd_checkpointer cp, int *resumed, char *phase, size_t cap);

/** **Collective.** Iteration boundary: `iteration` counts completed iterations of the whole
 *  run, `phase` labels where the run is ("sagd M-step 2"). Writes a checkpoint if due or if
 *  `force` (end of a phase); returns SAGD_STOPPED after writing when a signal arrived. */
int sagd_checkpointer_tick(sagd_checkpointer cp, uint64_t iteration, const char *phase,
                           int force);

#ifdef __cplusplus
}
#endif
#endif
