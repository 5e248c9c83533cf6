/* Pieces every experiment needs: config → schedule/sampler/optimizer, traces that grow per
 * update and are written to the run file, and rank-0 progress lines. Private to
 * src/experiments. */
#ifndef SAGD_EXPERIMENTS_COMMON_H
#define SAGD_EXPERIMENTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/checkpoint.h"
#include "sagd/config.h"
#include "sagd/experiment.h"
#include "sagd/h5.h"
#include "sagd/optimizer.h"
#include "sagd/sampler.h"
#include "sagd/schedule.h"

/* [sagd] schedule and the keys of its parameters (schedule.h) → a checked schedule. */
int exp_schedule_from_config(sagd_config cfg, sagd_schedule *s);
/* [sagd] sampler → a sampler type (error lists the known ones) and its friction gamma (0 for a
 * scheme without momentum, which does not read sagd.gamma). */
int exp_sampler_from_config(sagd_config cfg, const sagd_sampler_type **type, double *gamma);
/* [sagd] optimizer → its type and options: beta1, beta2 (each in (0, 1)) where it reads them
 * (adam), no box. */
int exp_optimizer_type_from_config(sagd_config cfg, const sagd_optimizer_type **type,
                                   sagd_optimizer_options *opt);
/* The same, created over the box [lo, hi] (p values each). */
int exp_optimizer_from_config(sagd_config cfg, size_t p, const double *lo, const double *hi,
                              sagd_optimizer *o);
/* θ0 and the box [lo, hi] (p values each): in, the model's defaults; out, model.theta0,
 * model.lower, model.upper where those are not empty (exactly p values each). Checks
 * lo <= hi and θ0 inside the box, naming the coordinate. */
int exp_theta_box(sagd_config cfg, size_t p, double *theta0, double *lo, double *hi);
/* A list of exactly p reals from section.key (message names the key and p). */
int exp_reals_exact(sagd_config cfg, const char *section, const char *key, size_t p,
                    double *out);

/* A per-update trace of one method: θ rows of length p plus scalar columns. */
typedef struct {
  size_t p, len, cap;
  double *theta;   /* len × p */
  double *loglik;  /* objective per row (loglik or ELBO) */
  double *gnorm;   /* |g| (NaN where none) */
  double *delta;   /* δ_t (NaN where none) */
  double *K;       /* K_t (NaN where none) */
  double *seconds; /* wall time since the method started */
} exp_trace;

int exp_trace_init(exp_trace *tr, size_t p, size_t cap);
int exp_trace_append(exp_trace *tr, const double *theta, double loglik, double gnorm,
                     double delta, double K, double seconds);
void exp_trace_free(exp_trace *tr);
/* **Collective.** Write group/{theta,loglik,grad_norm,delta,K,seconds}. */
int exp_trace_write(sagd_h5 f, const char *group, const exp_trace *tr);

/* Register a trace's buffers (full capacity) and its length in a checkpoint state under
 * prefix ("sagd/trace" → "sagd/trace/theta", ..., "sagd/trace/len"). */
int exp_trace_register(exp_trace *tr, sagd_state st, const char *prefix);

/* Checksum of n doubles as two exact doubles (high and low 32 bits), for a state entry. */
int exp_checksum_pair(const double *x, size_t n, double out[2]);

/* Boundary callback for sagd_em_continue: ticks the checkpointer with the run-wide
 * iteration base + iteration and a phase label "METHOD M-step k/M update t/T" (forced at
 * the end of the loop: "METHOD done"). */
typedef struct {
  sagd_checkpointer cp;
  const char *method;
  uint64_t base, M, T;
} exp_em_boundary_ctx;
int exp_em_boundary(void *ctx, uint64_t iteration, uint64_t mstep, uint64_t t, int end);

/* What one piece of a run needs in memory on a rank, and the keys that drive its size. */
typedef struct {
  const char *what;  /* "data" */
  const char *keys;  /* "data.n, data.dim" */
  double bytes;      /* on this rank (a double: sizes from the config may overflow size_t) */
} exp_mem_item;

/* **Collective.** Before allocating: the items' total on the busiest rank times the ranks on
 * the busiest node, against the smallest node's physical memory (SAGD_MEMORY_BYTES
 * overrides it, for tests). More than that is bad input (SAGD_ERR_CONFIG, the same message
 * on every rank) naming the bytes needed and the largest items with their keys. */
int exp_check_memory(const sagd_run_info *info, const exp_mem_item *items, size_t n);

/* Rank 0: "wrote DIR/result.h5 (N checkpoint(s) written, X MB, Ys[, resumed])". */
void exp_report_written(const sagd_run_info *info, sagd_checkpointer cp, int resumed);

/* run.progress_every as an int (values above INT_MAX are bad input, not wrapped). */
int exp_progress_every(sagd_config cfg, int *every);
/* Wall-clock seconds (monotonic). */
double exp_now(void);
/* Rank-0 progress line helper: "ETA" from the fraction of work done. */
void exp_progress(const sagd_run_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Format seconds as "1h02m", "3m20s", "12.3s". */
void exp_format_seconds(double s, char *buf, size_t cap);

#endif
