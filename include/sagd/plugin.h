/**
 * @file plugin.h
 * @brief Users' own models as shared objects: the one entry point a plug-in exports, the
 *        table it returns, and the loader `sagd run` uses for `model.plugin = PATH`.
 *
 * A plug-in is one C file built as a shared object (see README, "Write your own model"):
 *
 *   #include <sagd/plugin.h>
 *   static const sagd_plugin my_plugin = {SAGD_PLUGIN_ABI_VERSION, "mymodel", "...", ...};
 *   const sagd_plugin *sagd_plugin_entry(void) { return &my_plugin; }
 *
 * The experiment `em_plugin` loads it with dlopen on every rank, calls `open` (every rank,
 * the same arguments: it must give every rank the same data), builds a sagd_model over the
 * rank's shard from `ops`, and runs automated EM (the target frozen per M-step) or direct
 * MLE (`em.target = follow`: the target follows θ) with checkpoints and resume, writing
 * result.h5 like the built-in models. A plug-in may call the library's public functions
 * (errors: SAGD_CHECK / SAGD_FAIL of error.h, random draws: rng.h); they resolve to the
 * sagd program's own copy when it loads the plug-in, so build it against SAGD::plugin
 * (headers only), not SAGD::sagd.
 *
 * Every op returns SAGD_OK (0) or an error code; with SAGD_FAIL the message it records is
 * shown to the user, prefixed by the plug-in's name and path.
 */
#ifndef SAGD_PLUGIN_H
#define SAGD_PLUGIN_H

#include <mpi.h>
#include <stddef.h>

#include "sagd/error.h"
#include "sagd/model.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the table below. The loader refuses a plug-in built with another one
 *  (rebuild it against the installed headers). */
#define SAGD_PLUGIN_ABI_VERSION 1
/** The symbol every plug-in exports: `const sagd_plugin *sagd_plugin_entry(void)`. */
#define SAGD_PLUGIN_ENTRY "sagd_plugin_entry"

/** What `open` is given (from the configuration; the same on every rank). */
typedef struct {
  sagd_rng_key key;        /**< (run.seed, run.replication): key synthetic data with it */
  const char *data_file;   /**< data.file, "" when not set (then generate data.n points) */
  size_t n;                /**< data.n */
  const double *params;    /**< plugin.params: the model's own numbers (may be empty) */
  size_t nparams;
} sagd_plugin_args;

typedef struct sagd_plugin_s {
  /** SAGD_PLUGIN_ABI_VERSION of the headers the plug-in was built with: checked first. */
  int abi_version;
  const char *name;    /**< short name, printed in messages and stored in result.h5 */
  const char *summary; /**< one line: the model */
  /** The batched model ops (model.h): potential and ∇ξ V, ∇θ f, the optional fused op and
   *  destroy (frees what `open` allocated; may be NULL). `potential` and `grad_theta` are
   *  required. Blocks use global data indices. */
  sagd_model_type ops;
  /** Required. Read data->data_file or generate data->n points (a pure function of the
   *  arguments), allocate the context; set n (data points), r (latent dimension per point)
   *  and p (length of θ). Bad data or parameters: SAGD_ERR_DATA / SAGD_ERR_CONFIG naming
   *  the value. */
  int (*open)(const sagd_plugin_args *args, void **ctx, size_t *n, size_t *r, size_t *p);
  /** Required. The default start θ0 and box [lower, upper] (p values each, ±HUGE_VAL
   *  allowed), used where model.theta0 / model.lower / model.upper are empty. */
  int (*defaults)(void *ctx, double *theta0, double *lower, double *upper);
  /** Optional (NULL: none). The observed data as n rows of d doubles (owned by ctx), written
   *  to result.h5 as /data/x and checksummed so a resumed run sees the same data. */
  int (*data)(void *ctx, const double **x, size_t *d);
  /** Optional (NULL: the trace's loglik column is NaN). Σ_{i in [i0, i1)} log p(x_i; θ),
   *  the marginal log-likelihood of a range of points, exactly (closed form, quadrature). */
  int (*loglik)(void *ctx, const double *theta, size_t i0, size_t i1, double *ll);
} sagd_plugin;

/** The signature of the entry point. */
typedef const sagd_plugin *(*sagd_plugin_entry_fn)(void);

/* ---- the loader (used by the em_plugin experiment; a program may use it too) ---------- */

/** A loaded plug-in: the dlopen handle, its table, and the context `open` made. */
typedef struct sagd_plugin_handle_s *sagd_plugin_handle;

/** **Collective.** Load PATH on every rank of comm, check the entry point, the ABI version
 *  and the required ops, then call `open`. A failure is bad input (exit 2) with a message
 *  naming the plug-in's path (a missing file, a missing symbol, an ABI mismatch, a missing
 *  op) or its name (an error `open` returned): its own code when every rank failed,
 *  SAGD_ERR_MODEL on every rank when only some did. Errors of the ops later on are
 *  SAGD_ERR_MODEL with the plug-in's name (main() then stops every rank). */
int sagd_plugin_load(MPI_Comm comm, const char *path, const sagd_plugin_args *args,
                     sagd_plugin_handle *h);
/** Close (destroys the model context if no model took it; accepts NULL). */
void sagd_plugin_unload(sagd_plugin_handle *h);
/** The table, the dimensions `open` set, and the path it was loaded from. */
const sagd_plugin *sagd_plugin_table(sagd_plugin_handle h);
void sagd_plugin_dims(sagd_plugin_handle h, size_t *n, size_t *r, size_t *p);
const char *sagd_plugin_path(sagd_plugin_handle h);
/** A model over the shard [i_begin, i_end) from the plug-in's ops; the model owns the
 *  context from then on (at most one model per handle). Errors the ops return are
 *  reported with the plug-in's name. */
int sagd_plugin_model(sagd_plugin_handle h, size_t i_begin, size_t i_end, sagd_model *m);
/** Call an optional op, with the plug-in's name in any error (SAGD_ERR_INTERNAL if the op
 *  is absent: check the table first). */
int sagd_plugin_defaults(sagd_plugin_handle h, double *theta0, double *lower, double *upper);
int sagd_plugin_data(sagd_plugin_handle h, const double **x, size_t *d);
int sagd_plugin_loglik(sagd_plugin_handle h, const double *theta, size_t i0, size_t i1,
                       double *ll);

#ifdef __cplusplus
}
#endif
#endif
