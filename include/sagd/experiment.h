/**
 * @file experiment.h
 * @brief Experiments (a name → a run function) and the table of every configuration key.
 *        The run description the CLI hands to an experiment is in runinfo.h.
 */
#ifndef SAGD_EXPERIMENT_H
#define SAGD_EXPERIMENT_H

#include <mpi.h>

#include "sagd/config.h"
#include "sagd/rng.h"
#include "sagd/runinfo.h"
#include "sagd/table.h"

#ifdef __cplusplus
extern "C" {
#endif


/** What `sagd bench phases` asks of an experiment. */
typedef struct {
  int iters;      /**< timed iterations per phase (after one untimed warm-up), >= 1 */
  int efficiency; /**< 1: also time every phase on rank 0 alone (the 1 -> P ranks speed-up) */
} sagd_bench_options;

typedef struct sagd_experiment_type_s {
  const char *name;
  const char *summary;
  /** **Collective.** Validate, run, and write out_dir/result.h5. Everything checkable
   *  (config values, data) is checked before anything is written. */
  int (*run)(const sagd_run_info *info);
  /** **Collective**, optional (NULL: the experiment has no phases to time). Time every phase
   *  of the configured run on the current ranks and print, on rank 0, per phase: s/it,
   *  GFLOP/s, the share of the same-shape GEMMs' time (roofline), of the reproducible
   *  reduction, the parallel efficiency, and the whole-run estimate. Writes nothing. */
  int (*bench)(const sagd_run_info *info, const sagd_bench_options *opt);
  /** The configuration keys it reads, NULL-terminated ("section.key", or "section.*"; the
   *  [run] and [checkpoint] keys every run reads are in SAGD_EXPERIMENT_COMMON_READS). A key
   *  given a value that is not among them is bad input, and reading one not among them is a
   *  bug (config.h, sagd_config_check_reads). */
  const char *const *reads;
  /** How `sagd table` prints this experiment's table (NULL: it has none). */
  const sagd_table_layout *table;
  /** Optional (with `table`). Read what the table needs from a finished, verified result
   *  file `f` (opened on MPI_COMM_SELF) whose configuration is `cfg`, and add its cells to
   *  `out`. SAGD_ERR_CORRUPT naming the dataset when something is missing or malformed. */
  int (*table_read)(sagd_h5 f, sagd_config cfg, sagd_table_cells out);
} sagd_experiment_type;

/** The keys every run reads: its identity, progress, watchdog and checkpoints. */
#define SAGD_EXPERIMENT_COMMON_READS "run.*", "checkpoint.*"

/** Every configuration key the program accepts (terminated by a {NULL} row): the
 *  experiments' own, then after each key that chooses a type (sagd.sampler, sagd.schedule,
 *  sagd.optimizer, vae.methods) the keys its types declare (their `keys`), each once. Built
 *  on the first call; not thread-safe before it. */
const sagd_config_key *sagd_config_keys(void);

/** The types a key that chooses types names in cfg (sagd.sampler, sagd.schedule,
 *  sagd.optimizer: one; vae.methods: a list separated by commas or blanks), found in their
 *  registry, into types[0..*n) (at most cap). An unknown name, a name listed twice or an
 *  empty list is SAGD_ERR_CONFIG naming the key, the value and the registered choices. */
int sagd_config_chosen(sagd_config cfg, const char *section, const char *key,
                       const void **types, size_t cap, size_t *n);
/** Enough room for the types any key chooses. */
#define SAGD_CONFIG_CHOSEN_MAX 32

/** The keys a run of `e` with configuration cfg reads: e->reads, plus the keys of every type
 *  cfg chooses through a key e reads (sagd.sampler = underdamped adds sagd.gamma; overdamped
 *  adds none). NULL-terminated patterns for sagd_config_check_reads; one block, free() it. */
int sagd_experiment_reads(const sagd_experiment_type *e, sagd_config cfg, const char ***reads);

/** Who reads section.key, for messages: "read by deconv_vae, mnist_vae; by em_gamma with
 *  sagd.schedule = constant, em or power" into buf (empty if nothing does). Returns buf. */
const char *sagd_config_readers(const char *section, const char *key, char *buf, size_t cap);

/** Look up an experiment by name; NULL if unknown. */
const sagd_experiment_type *sagd_experiment_find(const char *name);
/** The registry (registry.h): the experiments, NULL-terminated. */
const sagd_experiment_type *const *sagd_experiment_list(void);

#ifdef __cplusplus
}
#endif
#endif
