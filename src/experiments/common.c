/* Shared experiment plumbing (see common.h). */
#include "common.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "sagd/error.h"
#include "sagd/registry.h"

int exp_schedule_from_config(sagd_config cfg, sagd_schedule *s) {
  const char *name = sagd_config_string(cfg, "sagd", "schedule");
  const void *t = NULL;
  size_t n = 0;
  SAGD_CALL(sagd_config_chosen(cfg, "sagd", "schedule", &t, 1, &n));
  s->type = t;
  sagd_schedule_from_config(cfg, s->type, &s->par);
  int rc = sagd_schedule_check(s);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(SAGD_ERR_CONFIG, "sagd.schedule = '%s': %s (config keys: delta = c1, K0 = k0, "
              "c2, c, kpow, alpha = alpha0, apow)", name, msg);
  }
  return SAGD_OK;
}

int exp_sampler_from_config(sagd_config cfg, const sagd_sampler_type **type, double *gamma) {
  const void *t = NULL;
  size_t n = 0;
  SAGD_CALL(sagd_config_chosen(cfg, "sagd", "sampler", &t, 1, &n));
  *type = t;
  *gamma = sagd_config_type_reads((*type)->keys, "sagd", "gamma")
               ? sagd_config_real(cfg, "sagd", "gamma")
               : 0.0;
  return SAGD_OK;
}

int exp_reals_exact(sagd_config cfg, const char *section, const char *key, size_t p,
                    double *out) {
  size_t n = 0;
  SAGD_CALL(sagd_config_reals(cfg, section, key, out, p, p, &n));
  return SAGD_OK;
}

int exp_theta_box(sagd_config cfg, size_t p, double *theta0, double *lo, double *hi) {
  const struct {
    const char *key;
    double *v;
  } lists[] = {{"theta0", theta0}, {"lower", lo}, {"upper", hi}};
  for (size_t l = 0; l < 3; l++) {
    if (sagd_config_reals_len(cfg, "model", lists[l].key) > 0) { /* empty: the default */
      SAGD_CALL(exp_reals_exact(cfg, "model", lists[l].key, p, lists[l].v));
    }
  }
  for (size_t j = 0; j < p; j++) {
    SAGD_CHECK(lo[j] <= hi[j], SAGD_ERR_CONFIG,
               "model.lower[%zu] = %g > model.upper[%zu] = %g: expected lower <= upper", j,
               lo[j], j, hi[j]);
    /* a start outside the box would be clamped silently */
    SAGD_CHECK(theta0[j] >= lo[j] && theta0[j] <= hi[j], SAGD_ERR_CONFIG,
               "model.theta0[%zu] = %g is outside [model.lower[%zu], model.upper[%zu]] = [%g, "
               "%g]: expected a starting point inside the box",
               j, theta0[j], j, j, lo[j], hi[j]);
  }
  return SAGD_OK;
}

int exp_optimizer_type_from_config(sagd_config cfg, const sagd_optimizer_type **type,
                                   sagd_optimizer_options *opt) {
  const void *t = NULL;
  size_t n = 0;
  SAGD_CALL(sagd_config_chosen(cfg, "sagd", "optimizer", &t, 1, &n));
  *type = t;
  *opt = (sagd_optimizer_options){0, 0, 1e-8, NULL, NULL}; /* 0: the optimizer's default */
  const char *betas[2] = {"beta1", "beta2"};
  double *dst[2] = {&opt->beta1, &opt->beta2};
  for (int b = 0; b < 2; b++) {
    if (sagd_config_type_reads((*type)->keys, "sagd", betas[b])) {
      *dst[b] = sagd_config_real(cfg, "sagd", betas[b]);
      SAGD_CHECK(*dst[b] < 1, SAGD_ERR_CONFIG, "sagd.%s = %g: expected a value in (0, 1)", betas[b],
                 *dst[b]);
    }
  }
  return SAGD_OK;
}

int exp_optimizer_from_config(sagd_config cfg, size_t p, const double *lo, const double *hi,
                              sagd_optimizer *o) {
  const sagd_optimizer_type *type = NULL;
  sagd_optimizer_options opt;
  SAGD_CALL(exp_optimizer_type_from_config(cfg, &type, &opt));
  opt.lower = lo;
  opt.upper = hi;
  SAGD_CALL(sagd_optimizer_create(type, p, &opt, o));
  return SAGD_OK;
}

int exp_trace_init(exp_trace *tr, size_t p, size_t cap) {
  memset(tr, 0, sizeof *tr);
  tr->p = p;
  tr->cap = cap > 0 ? cap : 1;
  SAGD_CALLOC(tr->theta, tr->cap * p, "trace theta");
  SAGD_CALLOC(tr->loglik, tr->cap, "trace loglik");
  SAGD_CALLOC(tr->gnorm, tr->cap, "trace |g|");
  SAGD_CALLOC(tr->delta, tr->cap, "trace delta");
  SAGD_CALLOC(tr->K, tr->cap, "trace K");
  SAGD_CALLOC(tr->seconds, tr->cap, "trace seconds");
  return SAGD_OK;
}

int exp_trace_append(exp_trace *tr, const double *theta, double loglik, double gnorm,
                     double delta, double K, double seconds) {
  SAGD_CHECK(tr->len < tr->cap, SAGD_ERR_INTERNAL, "trace capacity %zu exceeded", tr->cap);
  memcpy(tr->theta + tr->len * tr->p, theta, tr->p * sizeof(double));
  tr->loglik[tr->len] = loglik;
  tr->gnorm[tr->len] = gnorm;
  tr->delta[tr->len] = delta;
  tr->K[tr->len] = K;
  tr->seconds[tr->len] = seconds;
  tr->len++;
  return SAGD_OK;
}

void exp_trace_free(exp_trace *tr) {
  free(tr->theta);
  free(tr->loglik);
  free(tr->gnorm);
  free(tr->delta);
  free(tr->K);
  free(tr->seconds);
  memset(tr, 0, sizeof *tr);
}

int exp_trace_write(sagd_h5 f, const char *group, const exp_trace *tr) {
  char path[256];
  size_t dims[2] = {tr->len, tr->p};
  snprintf(path, sizeof path, "%s/theta", group);
  SAGD_CALL(sagd_h5_write(f, path, 2, dims, tr->theta));
  const struct {
    const char *name;
    const double *v;
  } cols[] = {{"loglik", tr->loglik}, {"grad_norm", tr->gnorm}, {"delta", tr->delta},
              {"K", tr->K},           {"seconds", tr->seconds}};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
    snprintf(path, sizeof path, "%s/%s", group, cols[c].name);
    SAGD_CALL(sagd_h5_write(f, path, 1, dims, cols[c].v));
  }
  return SAGD_OK;
}

int exp_trace_register(exp_trace *tr, sagd_state st, const char *prefix) {
  char name[160];
  const struct {
    const char *name;
    double *v;
    size_t len;
  } cols[] = {{"theta", tr->theta, tr->cap * tr->p}, {"loglik", tr->loglik, tr->cap},
              {"grad_norm", tr->gnorm, tr->cap},     {"delta", tr->delta, tr->cap},
              {"K", tr->K, tr->cap},                 {"seconds", tr->seconds, tr->cap}};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
    snprintf(name, sizeof name, "%s/%s", prefix, cols[c].name);
    SAGD_CALL(sagd_state_add(st, name, cols[c].v, cols[c].len));
  }
  snprintf(name, sizeof name, "%s/len", prefix);
  SAGD_CALL(sagd_state_add_size(st, name, &tr->len));
  return SAGD_OK;
}

int exp_checksum_pair(const double *x, size_t n, double out[2]) {
  uint64_t h = sagd_checksum_row(0, x, n);
  out[0] = (double)(h >> 32);
  out[1] = (double)(h & 0xffffffffu);
  return SAGD_OK;
}

int exp_em_boundary(void *vctx, uint64_t iteration, uint64_t mstep, uint64_t t, int end) {
  exp_em_boundary_ctx *c = vctx;
  char phase[160];
  if (end) {
    snprintf(phase, sizeof phase, "%s done", c->method);
  } else if (t == 0 && mstep == 0) {
    snprintf(phase, sizeof phase, "%s M-step 1/%llu start", c->method,
             (unsigned long long)c->M);
  } else if (t == 0) {
    snprintf(phase, sizeof phase, "%s M-step %llu/%llu done", c->method,
             (unsigned long long)mstep, (unsigned long long)c->M);
  } else {
    snprintf(phase, sizeof phase, "%s M-step %llu/%llu update %llu/%llu", c->method,
             (unsigned long long)mstep + 1, (unsigned long long)c->M, (unsigned long long)t,
             (unsigned long long)c->T);
  }
  /* SAGD_STOPPED passes through unchanged: main() turns it into exit status 75 */
  return sagd_checkpointer_tick(c->cp, c->base + iteration, phase, end);
}

double exp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void exp_format_seconds(double s, char *buf, size_t cap) {
  if (!(s >= 0) || !isfinite(s)) {
    snprintf(buf, cap, "?");
  } else if (s < 60) {
    snprintf(buf, cap, "%.1fs", s);
  } else if (s < 3600) {
    snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
  } else {
    snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
  }
}

void exp_progress(const sagd_run_info *info, const char *fmt, ...) {
  if (info->rank != 0 || info->quiet) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}

void exp_report_written(const sagd_run_info *info, sagd_checkpointer cp, int resumed) {
  uint64_t nck = 0;
  double ckbytes = 0, cksec = 0, rdsec = 0;
  sagd_checkpointer_stats(cp, &nck, &ckbytes, &cksec, &rdsec);
  exp_progress(info, "wrote %s/result.h5 (%llu checkpoint(s) written, %.3g MB, %.3gs%s)\n",
               info->out_dir, (unsigned long long)nck, ckbytes / 1e6, cksec,
               resumed ? ", resumed" : "");
}

static void format_bytes_(double b, char *buf, size_t cap) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1000 && u < 6) {
    b /= 1000;
    u++;
  }
  snprintf(buf, cap, "%.3g %s", b, unit[u]);
}

int exp_check_memory(const sagd_run_info *info, const exp_mem_item *items, size_t n) {
  enum { MAXI = 16 };
  SAGD_CHECK(n <= MAXI, SAGD_ERR_INTERNAL, "exp_check_memory: %zu items, at most %d", n, MAXI);
  /* per item: its largest size over the ranks; the ranks of the fullest node; the node with
   * the least memory (all from global reductions: every rank decides alike) */
  double mx[MAXI + 1], total = 0;
  for (size_t i = 0; i < n; i++) {
    mx[i] = items[i].bytes;
  }
  MPI_Comm node;
  SAGD_CHECK_MPI(MPI_Comm_split_type(info->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int on_node = 1;
  SAGD_CHECK_MPI(MPI_Comm_size(node, &on_node));
  SAGD_CHECK_MPI(MPI_Comm_free(&node));
  const char *env = getenv("SAGD_MEMORY_BYTES");
  double phys = env != NULL ? strtod(env, NULL)
                            : (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  mx[n] = (double)on_node;
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, mx, (int)n + 1, MPI_DOUBLE, MPI_MAX, info->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &phys, 1, MPI_DOUBLE, MPI_MIN, info->comm));
  for (size_t i = 0; i < n; i++) {
    total += mx[i];
  }
  const double need = total * mx[n];
  if (!(need > phys) || !(phys > 0)) {
    return SAGD_OK;
  }
  /* the three largest items, largest first */
  char msg[600] = "", a[32], b[32];
  size_t used[3] = {MAXI, MAXI, MAXI}, len = 0;
  for (int k = 0; k < 3; k++) {
    size_t best = MAXI;
    for (size_t i = 0; i < n; i++) {
      if (i != used[0] && i != used[1] && (best == MAXI || mx[i] > mx[best])) {
        best = i;
      }
    }
    if (best == MAXI || mx[best] <= 0) {
      break;
    }
    used[k] = best;
    format_bytes_(mx[best], a, sizeof a);
    len += (size_t)snprintf(msg + len, len < sizeof msg ? sizeof msg - len : 0, "%s%s %s (%s)",
                            k ? ", " : "", items[best].what, a, items[best].keys);
  }
  format_bytes_(need, a, sizeof a);
  format_bytes_(phys, b, sizeof b);
  SAGD_FAIL(SAGD_ERR_CONFIG,
            "this configuration needs about %s of memory on a node (%.0f rank(s) there, each "
            "with %s), but the node has %s: expected sizes that fit (more ranks or nodes "
            "share data and chains)",
            a, mx[n], msg, b);
}

int exp_progress_every(sagd_config cfg, int *every) {
  const int64_t v = sagd_config_int(cfg, "run", "progress_every");
  SAGD_CHECK(v >= 0 && v <= INT32_MAX, SAGD_ERR_CONFIG,
             "run.progress_every = %lld: expected 0 .. %d updates", (long long)v,
             (int)INT32_MAX);
  *every = (int)v;
  return SAGD_OK;
}
