/* `sagd table DIR...`: aggregate a replication study into the SAGD paper's Table 1.
 *
 * Every DIR is either a run directory (it holds result.h5, checkpoint.h5 or their .tmp/.prev
 * files) or a study directory whose subdirectories are run directories (one per replication,
 * named rep-NNN by jobs/). Rank 0 reads every result.h5 serially with the HDF5 helpers on
 * MPI_COMM_SELF; the other ranks only wait for the verdict.
 *
 * deconv_vae results give, per setting (data.truth, and p for the high-dimensional run) and
 * fine-tuning method, the mean (SE) over replications of the KS distance D and the Wasserstein
 * distance W (for p > 1: over the p dimensions, pooled over replications, as in the paper),
 * printed as Markdown next to the paper's values and written as CSV. em_gamma results give a
 * summary of the final (a, b) of SAGD and of exact-gradient EM against the MLE; mnist_vae
 * results the held-out log-likelihoods of the VAE and of SAGD and their difference.
 *
 * A replication without a readable result.h5 (missing, damaged, only a checkpoint, an
 * unfinished .tmp) makes the command fail with SAGD_ERR_DATA (exit 2) after listing them all,
 * unless --allow-missing: then they are listed as warnings and every cell says how many
 * replications it used. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sagd/checkpoint.h"
#include "sagd/config.h"
#include "sagd/error.h"
#include "sagd/experiment.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"
#include "sagd/stats.h"

#define TB_NMETHODS 4
#define TB_PATH 4096

static const char *const tb_methods_[TB_NMETHODS] = {"vae", "iwae", "hmc", "sagd"};
static const char *const tb_method_labels_[TB_NMETHODS] = {"VAE", "IWAE", "HMC", "SAGD"};

/* The paper's Table 1 (DESIGN.md §6): D then W, methods in tb_methods_ order. */
typedef struct {
  const char *truth;
  int highdim;
  const char *label;
  double d[TB_NMETHODS], w[TB_NMETHODS];
} tb_paper;

static const tb_paper tb_paper_[] = {
    {"exponential", 0, "exponential", {.095, .059, .085, .064}, {.226, .125, .161, .115}},
    {"mixture", 0, "mixture", {.127, .098, .104, .085}, {.320, .165, .276, .197}},
    {"normal", 0, "normal", {.033, .043, .032, .033}, {.052, .066, .050, .052}},
    {"exponential", 1, "high-dim exponential", {.093, .080, .092, .065},
     {.222, .158, .212, .093}},
};
#define TB_NPAPER (sizeof tb_paper_ / sizeof tb_paper_[0])

enum { TB_DECONV = 0, TB_EM = 1, TB_MNIST = 2 };

/* One complete replication. */
typedef struct {
  char *dir;
  int arg; /* index of the command-line directory it was found under */
  int kind; /* TB_DECONV, TB_EM, TB_MNIST */
  char setting[96]; /* grouping key: "exponential", "high-dim exponential (p=100)", ... */
  int paper;        /* index into tb_paper_, or -1 */
  int64_t replication;
  /* deconv_vae: per method, the per-dimension values (len 0: method absent) */
  size_t len[TB_NMETHODS];
  double *ks[TB_NMETHODS], *w1[TB_NMETHODS];
  /* em_gamma */
  double sagd[2], exact[2], mle[2], gap;
  /* mnist_vae: held-out log-likelihood of the VAE and of SAGD, and SAGD's gain */
  double mnist[3];
  int has_exact, has_mle;
} tb_rep;

typedef struct {
  char *dir, *reason;
  int arg;
} tb_bad;

typedef struct {
  tb_rep *rep;
  size_t nrep, caprep;
  tb_bad *bad;
  size_t nbad, capbad;
  int arg; /* the command-line directory being read */
} tb_study;

/* ---- small helpers ----------------------------------------------------------------------- */

static char *tb_strdup_(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}

static int tb_isdir_(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int tb_isfile_(const char *dir, const char *name) {
  char p[TB_PATH];
  struct stat st;
  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) {
    return 0;
  }
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int tb_add_bad_(tb_study *s, const char *dir, const char *reason) {
  if (s->nbad == s->capbad) {
    size_t cap = s->capbad ? 2 * s->capbad : 16;
    tb_bad *b = realloc(s->bad, cap * sizeof *b);
    SAGD_CHECK(b != NULL, SAGD_ERR_MEM, "cannot grow the list of incomplete replications");
    s->bad = b;
    s->capbad = cap;
  }
  s->bad[s->nbad].dir = tb_strdup_(dir);
  s->bad[s->nbad].reason = tb_strdup_(reason);
  s->bad[s->nbad].arg = s->arg;
  SAGD_CHECK(s->bad[s->nbad].dir != NULL && s->bad[s->nbad].reason != NULL, SAGD_ERR_MEM,
             "cannot record incomplete replication '%s'", dir);
  s->nbad++;
  return SAGD_OK;
}

static void tb_rep_free_(tb_rep *r) {
  free(r->dir);
  for (int m = 0; m < TB_NMETHODS; m++) {
    free(r->ks[m]);
    free(r->w1[m]);
  }
  memset(r, 0, sizeof *r);
}

static void tb_study_free_(tb_study *s) {
  for (size_t i = 0; i < s->nrep; i++) {
    tb_rep_free_(&s->rep[i]);
  }
  for (size_t i = 0; i < s->nbad; i++) {
    free(s->bad[i].dir);
    free(s->bad[i].reason);
  }
  free(s->rep);
  free(s->bad);
  memset(s, 0, sizeof *s);
}

/* Read a dataset of at most 1 dimension into a malloc'ed vector. */
static int tb_read_vec_(sagd_h5 f, const char *path, double **v, size_t *len) {
  int nd = 0;
  size_t dims[4] = {0, 0, 0, 0};
  SAGD_CALL(sagd_h5_read(f, path, 4, &nd, dims, v));
  size_t n = 1;
  for (int d = 0; d < nd; d++) {
    n *= dims[d];
  }
  SAGD_CHECK(nd <= 1, SAGD_ERR_CORRUPT, "%s has %d dimensions: expected a scalar or a vector",
             path, nd);
  *len = n;
  return SAGD_OK;
}

static int tb_read_fixed_(sagd_h5 f, const char *path, double *out, size_t want) {
  double *v = NULL;
  size_t n = 0;
  SAGD_CALL(tb_read_vec_(f, path, &v, &n));
  if (n != want) {
    free(v);
    SAGD_FAIL(SAGD_ERR_CORRUPT, "%s has %zu values: expected %zu", path, n, want);
  }
  memcpy(out, v, want * sizeof *out);
  free(v);
  return SAGD_OK;
}

/* ---- reading one run directory ------------------------------------------------------------ */

static int tb_read_deconv_(sagd_h5 f, sagd_config cfg, tb_rep *r) {
  const char *truth = sagd_config_string(cfg, "data", "truth");
  int64_t p = sagd_config_int(cfg, "data", "dim");
  r->paper = -1;
  for (size_t k = 0; k < TB_NPAPER; k++) {
    if (strcmp(tb_paper_[k].truth, truth) == 0 && tb_paper_[k].highdim == (p > 1)) {
      r->paper = (int)k;
    }
  }
  if (p > 1) {
    snprintf(r->setting, sizeof r->setting, "high-dim %s (p=%lld)", truth, (long long)p);
  } else {
    snprintf(r->setting, sizeof r->setting, "%s", truth);
  }
  int any = 0;
  for (int m = 0; m < TB_NMETHODS; m++) {
    char g[64], pk[96], pw[96];
    snprintf(g, sizeof g, "/results/%s", tb_methods_[m]);
    if (!sagd_h5_exists(f, g)) {
      continue;
    }
    /* Per-dimension values: ks_dim/w1_dim when present, else ks/w1 (a scalar for 1-D, or
     * already a [p] vector). */
    snprintf(pk, sizeof pk, "%s/ks_dim", g);
    snprintf(pw, sizeof pw, "%s/w1_dim", g);
    if (!sagd_h5_exists(f, pk) || !sagd_h5_exists(f, pw)) {
      snprintf(pk, sizeof pk, "%s/ks", g);
      snprintf(pw, sizeof pw, "%s/w1", g);
    }
    size_t nk = 0, nw = 0;
    SAGD_CALL(tb_read_vec_(f, pk, &r->ks[m], &nk));
    SAGD_CALL(tb_read_vec_(f, pw, &r->w1[m], &nw));
    SAGD_CHECK(nk == nw && nk >= 1, SAGD_ERR_CORRUPT,
               "%s and %s have %zu and %zu values: expected the same number (p = %lld)", pk,
               pw, nk, nw, (long long)p);
    r->len[m] = nk;
    any = 1;
  }
  SAGD_CHECK(any, SAGD_ERR_CORRUPT,
             "no /results/<method> group for any of vae, iwae, hmc, sagd");
  return SAGD_OK;
}

static int tb_read_em_(sagd_h5 f, tb_rep *r) {
  r->kind = TB_EM;
  r->paper = -1;
  snprintf(r->setting, sizeof r->setting, "em_gamma");
  SAGD_CALL(tb_read_fixed_(f, "/results/sagd_theta", r->sagd, 2));
  r->has_exact = sagd_h5_exists(f, "/results/exact_theta");
  if (r->has_exact) {
    SAGD_CALL(tb_read_fixed_(f, "/results/exact_theta", r->exact, 2));
  }
  r->has_mle = sagd_h5_exists(f, "/results/mle") && sagd_h5_exists(f, "/results/max_loglik") &&
               sagd_h5_exists(f, "/results/sagd_loglik");
  if (r->has_mle) {
    double mx = 0, ls = 0;
    SAGD_CALL(tb_read_fixed_(f, "/results/mle", r->mle, 2));
    SAGD_CALL(tb_read_fixed_(f, "/results/max_loglik", &mx, 1));
    SAGD_CALL(tb_read_fixed_(f, "/results/sagd_loglik", &ls, 1));
    r->gap = mx - ls;
    /* b -> -b is a symmetry of the model: report the MLE on SAGD's side. */
    if (r->mle[1] * r->sagd[1] < 0) {
      r->mle[1] = -r->mle[1];
    }
  }
  return SAGD_OK;
}

static int tb_read_mnist_(sagd_h5 f, tb_rep *r) {
  r->kind = TB_MNIST;
  r->paper = -1;
  snprintf(r->setting, sizeof r->setting, "mnist_vae");
  SAGD_CALL(tb_read_fixed_(f, "/results/pretrain/test_loglik", &r->mnist[0], 1));
  SAGD_CALL(tb_read_fixed_(f, "/results/sagd/test_loglik", &r->mnist[1], 1));
  SAGD_CALL(tb_read_fixed_(f, "/results/sagd/gain_over_pretrain", &r->mnist[2], 1));
  return SAGD_OK;
}

/* Open DIR/result.h5 and read what the table needs. Errors are returned (not fatal). */
static int tb_read_result_(const char *path, tb_rep *r) {
  sagd_h5 f = NULL;
  char *exp = NULL, *cfgtext = NULL;
  sagd_config cfg = NULL;
  int rc = sagd_h5_open(MPI_COMM_SELF, path, 0, &f);
  if (rc == SAGD_OK) { /* every dataset reads back and matches its checksum */
    rc = sagd_runfile_verify(f, NULL, NULL);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_string(f, "/meta", "experiment", &exp);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_int(f, "/meta", "replication", &r->replication);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_string(f, "/meta", "config", &cfgtext);
  }
  if (rc == SAGD_OK) {
    rc = sagd_config_create(sagd_config_keys, &cfg);
  }
  if (rc == SAGD_OK) {
    rc = sagd_config_read_string(cfg, cfgtext, path);
  }
  if (rc == SAGD_OK) {
    if (strcmp(exp, "deconv_vae") == 0) {
      rc = tb_read_deconv_(f, cfg, r);
    } else if (strcmp(exp, "em_gamma") == 0) {
      rc = tb_read_em_(f, r);
    } else if (strcmp(exp, "mnist_vae") == 0) {
      rc = tb_read_mnist_(f, r);
    } else {
      rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                          "experiment '%s' has no table: expected deconv_vae, em_gamma or "
                          "mnist_vae",
                          exp);
    }
  }
  if (f != NULL) {
    int rc2 = sagd_h5_close(&f);
    rc = rc != SAGD_OK ? rc : rc2;
  }
  sagd_config_destroy(&cfg);
  free(exp);
  free(cfgtext);
  return rc;
}

/* Describe why DIR has no usable result (it has no result.h5). */
static void tb_why_missing_(const char *dir, char *buf, size_t cap) {
  if (!tb_isdir_(dir)) {
    snprintf(buf, cap, "no such directory");
    return;
  }
  if (tb_isfile_(dir, "checkpoint.h5") || tb_isfile_(dir, "checkpoint.h5.prev")) {
    char p[TB_PATH];
    const char *name = tb_isfile_(dir, "checkpoint.h5") ? "checkpoint.h5" : "checkpoint.h5.prev";
    snprintf(p, sizeof p, "%s/%s", dir, name);
    sagd_checkpoint_summary s;
    memset(&s, 0, sizeof s);
    if (sagd_checkpoint_verify(MPI_COMM_SELF, p, &s) == SAGD_OK) {
      snprintf(buf, cap, "no result.h5, only a checkpoint (%s: iteration %llu, phase '%s')",
               name, (unsigned long long)s.iteration, s.phase ? s.phase : "?");
    } else {
      snprintf(buf, cap, "no result.h5, only a checkpoint (%s, which does not verify: %s)",
               name, sagd_error_message());
    }
    sagd_checkpoint_summary_free(&s);
    return;
  }
  if (tb_isfile_(dir, "result.h5.tmp")) {
    snprintf(buf, cap, "no result.h5, only an unfinished result.h5.tmp (writer stopped)");
    return;
  }
  snprintf(buf, cap, "no result.h5 (not run yet, or failed before its first checkpoint)");
}

static int tb_add_run_(tb_study *s, const char *dir) {
  char p[TB_PATH], why[1024];
  SAGD_CHECK(snprintf(p, sizeof p, "%s/result.h5", dir) < (int)sizeof p, SAGD_ERR_ARG,
             "path '%s' is too long", dir);
  if (!tb_isfile_(dir, "result.h5")) {
    tb_why_missing_(dir, why, sizeof why);
    return tb_add_bad_(s, dir, why);
  }
  if (s->nrep == s->caprep) {
    size_t cap = s->caprep ? 2 * s->caprep : 32;
    tb_rep *r = realloc(s->rep, cap * sizeof *r);
    SAGD_CHECK(r != NULL, SAGD_ERR_MEM, "cannot grow the list of replications");
    s->rep = r;
    s->caprep = cap;
  }
  tb_rep *r = &s->rep[s->nrep];
  memset(r, 0, sizeof *r);
  int rc = tb_read_result_(p, r);
  if (rc == SAGD_ERR_MEM) {
    tb_rep_free_(r);
    return rc;
  }
  if (rc != SAGD_OK) {
    snprintf(why, sizeof why, "result.h5 cannot be used: %s", sagd_error_message());
    tb_rep_free_(r);
    return tb_add_bad_(s, dir, why);
  }
  r->dir = tb_strdup_(dir);
  r->arg = s->arg;
  SAGD_CHECK(r->dir != NULL, SAGD_ERR_MEM, "cannot record '%s'", dir);
  s->nrep++;
  return SAGD_OK;
}

/* A run directory holds run files; a study directory holds run directories. */
static int tb_is_rundir_(const char *dir) {
  static const char *const names[] = {"result.h5", "result.h5.tmp", "result.h5.prev",
                                      "checkpoint.h5", "checkpoint.h5.tmp",
                                      "checkpoint.h5.prev"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    if (tb_isfile_(dir, names[k])) {
      return 1;
    }
  }
  return 0;
}

static int tb_cmp_str_(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* rep-<digits> → replication number, else -1. */
static long tb_rep_number_(const char *name) {
  if (strncmp(name, "rep-", 4) != 0 || name[4] == '\0') {
    return -1;
  }
  char *end = NULL;
  long v = strtol(name + 4, &end, 10);
  return (*end == '\0' && v >= 0) ? v : -1;
}

static int tb_add_arg_(tb_study *s, const char *arg, long expect) {
  if (!tb_isdir_(arg) || tb_is_rundir_(arg)) {
    return tb_add_run_(s, arg);
  }
  DIR *d = opendir(arg);
  SAGD_CHECK(d != NULL, SAGD_ERR_ARG, "cannot list directory '%s': %s", arg, strerror(errno));
  size_t n = 0, cap = 0;
  char **names = NULL;
  int rc = SAGD_OK;
  struct dirent *e;
  while (rc == SAGD_OK && (e = readdir(d)) != NULL) {
    char p[TB_PATH];
    if (e->d_name[0] == '.' ||
        snprintf(p, sizeof p, "%s/%s", arg, e->d_name) >= (int)sizeof p || !tb_isdir_(p)) {
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (nn == NULL) {
        rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                            "cannot list directory '%s'", arg);
        break;
      }
      names = nn;
    }
    names[n] = tb_strdup_(p);
    if (names[n] == NULL) {
      rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                          "cannot list directory '%s'", arg);
      break;
    }
    n++;
  }
  closedir(d);
  if (rc == SAGD_OK) {
    qsort(names, n, sizeof *names, tb_cmp_str_);
    for (size_t i = 0; i < n && rc == SAGD_OK; i++) {
      rc = tb_add_run_(s, names[i]);
    }
  }
  /* With --replications N, rep-000 .. rep-(N-1) must all be there. */
  if (rc == SAGD_OK && expect > 0) {
    char *seen = calloc((size_t)expect, 1);
    if (seen == NULL) {
      rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__, "out of memory");
    }
    for (size_t i = 0; seen != NULL && i < n; i++) {
      const char *base = strrchr(names[i], '/');
      long k = tb_rep_number_(base ? base + 1 : names[i]);
      if (k >= 0 && k < expect) {
        seen[k] = 1;
      }
    }
    for (long k = 0; seen != NULL && k < expect && rc == SAGD_OK; k++) {
      if (!seen[k]) {
        char p[TB_PATH];
        snprintf(p, sizeof p, "%s/rep-%03ld", arg, k);
        rc = tb_add_bad_(s, p, "no such directory (replication never started)");
      }
    }
    free(seen);
  }
  if (rc == SAGD_OK && n == 0 && expect <= 0) {
    rc = tb_add_bad_(s, arg, "empty directory: no run files and no replication directories");
  }
  for (size_t i = 0; i < n; i++) {
    free(names[i]);
  }
  free(names);
  return rc;
}

/* ---- aggregation and output --------------------------------------------------------------- */

typedef struct {
  double mean, se;
  size_t n;   /* replications used */
  size_t nv;  /* values pooled (n·p) */
} tb_cell;

static void tb_cell_fmt_(const tb_cell *c, size_t expect, int show_n, char *buf, size_t cap) {
  if (c->n == 0) {
    snprintf(buf, cap, "–");
    return;
  }
  int k;
  if (c->nv > 1) {
    k = snprintf(buf, cap, "%.3f (%.3f)", c->mean, c->se);
  } else {
    k = snprintf(buf, cap, "%.3f", c->mean);
  }
  if (k > 0 && (size_t)k < cap && (show_n || c->n != expect)) {
    snprintf(buf + k, cap - (size_t)k, " [n=%zu/%zu]", c->n, expect);
  }
}

static void tb_paper_fmt_(double v, char *buf, size_t cap) {
  /* the paper prints three decimals without the leading zero */
  char t[32];
  snprintf(t, sizeof t, "%.3f", v);
  snprintf(buf, cap, "%s", t[0] == '0' ? t + 1 : t);
}

/* Replications expected for a setting: every run directory (complete or not) under the
 * command-line directories that hold a complete replication of it. */
static size_t tb_expected_(const tb_study *s, const char *setting) {
  size_t n = 0;
  int seen[4096] = {0};
  for (size_t i = 0; i < s->nrep; i++) {
    int a = s->rep[i].arg;
    if (strcmp(s->rep[i].setting, setting) == 0 && a >= 0 && a < 4096 && !seen[a]) {
      seen[a] = 1;
      for (size_t j = 0; j < s->nrep; j++) {
        n += s->rep[j].arg == a;
      }
      for (size_t j = 0; j < s->nbad; j++) {
        n += s->bad[j].arg == a;
      }
    }
  }
  return n;
}

/* Mean (SE) over the per-dimension values of the replications in `idx` for one method. */
static int tb_cell_compute_(const tb_study *s, const size_t *idx, size_t nidx, int m, int w,
                            double *work, tb_cell *c) {
  size_t nv = 0, n = 0;
  for (size_t i = 0; i < nidx; i++) {
    const tb_rep *r = &s->rep[idx[i]];
    if (r->len[m] == 0) {
      continue;
    }
    memcpy(work + nv, w ? r->w1[m] : r->ks[m], r->len[m] * sizeof(double));
    nv += r->len[m];
    n++;
  }
  c->n = n;
  c->nv = nv;
  sagd_stats_mean_se(work, nv, &c->mean, &c->se);
  return SAGD_OK;
}

static void tb_csv_row_(FILE *csv, const char *setting, const char *metric, const char *method,
                        const tb_cell *c, double paper) {
  if (csv == NULL) {
    return;
  }
  fprintf(csv, "\"%s\",%s,%s,%zu,%zu,", setting, metric, method, c->n, c->nv);
  if (c->n > 0) {
    if (c->nv > 1) {
      fprintf(csv, "%.17g,%.17g,", c->mean, c->se);
    } else {
      fprintf(csv, "%.17g,,", c->mean);
    }
  } else {
    fprintf(csv, ",,");
  }
  if (isfinite(paper)) {
    fprintf(csv, "%.3f\n", paper);
  } else {
    fprintf(csv, "\n");
  }
}

/* Settings in the paper's order, then any others in order of appearance. */
static size_t tb_settings_(const tb_study *s, int em, const char **list, size_t cap) {
  size_t ns = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < s->nrep; i++) {
      const tb_rep *r = &s->rep[i];
      if (r->kind != (em ? TB_EM : TB_DECONV) || (pass == 0) != (r->paper >= 0)) {
        continue;
      }
      int have = 0;
      for (size_t k = 0; k < ns; k++) {
        have |= strcmp(list[k], r->setting) == 0;
      }
      if (!have && ns < cap) {
        list[ns++] = r->setting;
      }
    }
    if (pass == 0) { /* sort the paper's settings into the paper's order */
      for (size_t a = 1; a < ns; a++) {
        for (size_t b = a; b > 0; b--) {
          int pa = -1, pb = -1;
          for (size_t i = 0; i < s->nrep; i++) {
            if (strcmp(s->rep[i].setting, list[b]) == 0) {
              pa = s->rep[i].paper;
            }
            if (strcmp(s->rep[i].setting, list[b - 1]) == 0) {
              pb = s->rep[i].paper;
            }
          }
          if (pa < pb) {
            const char *t = list[b];
            list[b] = list[b - 1];
            list[b - 1] = t;
          }
        }
      }
    }
  }
  return ns;
}

static int tb_print_deconv_(const tb_study *s, int show_n, FILE *csv) {
  const char *settings[64];
  size_t ns = tb_settings_(s, 0, settings, 64);
  if (ns == 0) {
    return SAGD_OK;
  }
  size_t maxv = 0;
  for (size_t i = 0; i < s->nrep; i++) {
    for (int m = 0; m < TB_NMETHODS; m++) {
      maxv += s->rep[i].len[m];
    }
  }
  double *work = malloc((maxv ? maxv : 1) * sizeof *work);
  size_t *idx = malloc((s->nrep ? s->nrep : 1) * sizeof *idx);
  if (work == NULL || idx == NULL) {
    free(work);
    free(idx);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu values for the table", maxv);
  }
  printf("## Table 1: debiased VAE, mean (SE) over replications (high-dim: over dimensions)\n\n");
  printf("D = Kolmogorov–Smirnov distance, W = 1-Wasserstein distance of the metrics.samples "
         "generated values h(U) (5000 in the shipped configs) to the true latent law; *paper* = "
         "the SAGD paper's Table 1.%s\n\n",
         show_n ? " [n=used/expected] replications per cell." : "");
  printf("| setting | metric | reps |");
  for (int m = 0; m < TB_NMETHODS; m++) {
    printf(" %s | *paper* |", tb_method_labels_[m]);
  }
  printf("\n|---|---|---:|");
  for (int m = 0; m < TB_NMETHODS; m++) {
    printf("---:|---:|");
  }
  printf("\n");
  for (size_t k = 0; k < ns; k++) {
    size_t nidx = 0;
    int paper = -1;
    for (size_t i = 0; i < s->nrep; i++) {
      if (s->rep[i].kind == TB_DECONV && strcmp(s->rep[i].setting, settings[k]) == 0) {
        idx[nidx++] = i;
        paper = s->rep[i].paper;
      }
    }
    size_t want = tb_expected_(s, settings[k]);
    for (int w = 0; w < 2; w++) {
      printf("| %s | %s | %zu |", w == 0 ? settings[k] : "", w == 0 ? "D" : "W", nidx);
      for (int m = 0; m < TB_NMETHODS; m++) {
        tb_cell c;
        char cell[96], pp[32] = "–";
        tb_cell_compute_(s, idx, nidx, m, w, work, &c);
        /* high-dim: n counts replications, not dimensions */
        tb_cell_fmt_(&c, want, show_n, cell, sizeof cell);
        double pv = NAN;
        if (paper >= 0) {
          pv = w == 0 ? tb_paper_[paper].d[m] : tb_paper_[paper].w[m];
          tb_paper_fmt_(pv, pp, sizeof pp);
        }
        printf(" %s | %s |", cell, pp);
        tb_csv_row_(csv, settings[k], w == 0 ? "D" : "W", tb_methods_[m], &c, pv);
      }
      printf("\n");
    }
  }
  printf("\n");
  free(work);
  free(idx);
  return SAGD_OK;
}

static int tb_print_em_(const tb_study *s, int show_n, FILE *csv) {
  size_t n = 0;
  for (size_t i = 0; i < s->nrep; i++) {
    n += s->rep[i].kind == TB_EM;
  }
  if (n == 0) {
    return SAGD_OK;
  }
  double *v = malloc(n * sizeof *v);
  SAGD_CHECK(v != NULL, SAGD_ERR_MEM, "cannot allocate %zu values", n);
  size_t want = tb_expected_(s, "em_gamma");
  printf("## em_gamma (Figure 1): final (a, b), mean (SE) over %zu replication%s\n\n", n,
         n == 1 ? "" : "s");
  printf("The MLE is the quadrature maximiser of each replication's log-likelihood (b -> -b "
         "is a symmetry: taken on SAGD's side); log-lik gap = max log-lik - log-lik at "
         "SAGD's final (a, b).\n\n");
  printf("| estimate | a | b | log-lik gap |\n|---|---:|---:|---:|\n");
  static const char *const rows[] = {"SAGD", "exact-gradient EM", "MLE", "SAGD - MLE"};
  static const char *const keys[] = {"sagd", "exact", "mle", "sagd-mle"};
  for (int row = 0; row < 4; row++) {
    printf("| %s |", rows[row]);
    for (int j = 0; j < 3; j++) {
      if (j == 2 && row != 0) {
        printf(" |");
        continue;
      }
      size_t k = 0;
      for (size_t i = 0; i < s->nrep; i++) {
        const tb_rep *r = &s->rep[i];
        if (r->kind != TB_EM) {
          continue;
        }
        if (j == 2) {
          if (r->has_mle) {
            v[k++] = r->gap;
          }
        } else if (row == 0) {
          v[k++] = r->sagd[j];
        } else if (row == 1 && r->has_exact) {
          v[k++] = r->exact[j];
        } else if (row == 2 && r->has_mle) {
          v[k++] = r->mle[j];
        } else if (row == 3 && r->has_mle) {
          v[k++] = r->sagd[j] - r->mle[j];
        }
      }
      tb_cell c = {NAN, NAN, k, k};
      sagd_stats_mean_se(v, k, &c.mean, &c.se);
      char cell[96];
      if (k == 0) {
        snprintf(cell, sizeof cell, "–");
      } else if (k > 1) {
        snprintf(cell, sizeof cell, "%.4f (%.4f)", c.mean, c.se);
      } else {
        snprintf(cell, sizeof cell, "%.4f", c.mean);
      }
      if (k > 0 && (show_n || k != want)) {
        size_t l = strlen(cell);
        snprintf(cell + l, sizeof cell - l, " [n=%zu/%zu]", k, want);
      }
      printf(" %s |", cell);
      tb_csv_row_(csv, "em_gamma", j == 0 ? "a" : j == 1 ? "b" : "loglik_gap", keys[row], &c,
                  NAN);
    }
    printf("\n");
  }
  printf("\n");
  free(v);
  return SAGD_OK;
}

static int tb_print_mnist_(const tb_study *s, int show_n, FILE *csv) {
  size_t n = 0;
  for (size_t i = 0; i < s->nrep; i++) {
    n += s->rep[i].kind == TB_MNIST;
  }
  if (n == 0) {
    return SAGD_OK;
  }
  double *v = malloc(n * sizeof *v);
  SAGD_CHECK(v != NULL, SAGD_ERR_MEM, "cannot allocate %zu values", n);
  const size_t want = tb_expected_(s, "mnist_vae");
  printf("## mnist_vae (Figure 3): held-out log-likelihood of the test digits, mean (SE) over "
         "%zu replication%s\n\n", n, n == 1 ? "" : "s");
  printf("Importance sampling with each generator's own encoder (SAGD: refitted to it); one "
         "replication's SE over digits is in its result.h5.\n\n");
  printf("| generator | test log-lik |\n|---|---:|\n");
  static const char *const rows[] = {"VAE (pre-trained)", "SAGD", "SAGD - VAE"};
  static const char *const keys[] = {"vae", "sagd", "gain"};
  for (int row = 0; row < 3; row++) {
    size_t k = 0;
    for (size_t i = 0; i < s->nrep; i++) {
      if (s->rep[i].kind == TB_MNIST) {
        v[k++] = s->rep[i].mnist[row];
      }
    }
    tb_cell c = {NAN, NAN, k, k};
    sagd_stats_mean_se(v, k, &c.mean, &c.se);
    char cell[96];
    if (k > 1) {
      snprintf(cell, sizeof cell, "%.3f (%.3f)", c.mean, c.se);
    } else {
      snprintf(cell, sizeof cell, "%.3f", c.mean);
    }
    if (show_n || k != want) {
      size_t l = strlen(cell);
      snprintf(cell + l, sizeof cell - l, " [n=%zu/%zu]", k, want);
    }
    printf("| %s | %s |\n", rows[row], cell);
    tb_csv_row_(csv, "mnist_vae", "test_loglik", keys[row], &c, NAN);
  }
  printf("\n");
  free(v);
  return SAGD_OK;
}

/* Warn about the same (setting, replication) read twice. */
static void tb_warn_duplicates_(const tb_study *s) {
  for (size_t i = 0; i < s->nrep; i++) {
    for (size_t j = i + 1; j < s->nrep; j++) {
      if (s->rep[i].replication == s->rep[j].replication &&
          strcmp(s->rep[i].setting, s->rep[j].setting) == 0) {
        fprintf(stderr,
                "sagd table: warning: '%s' and '%s' are both replication %lld of %s "
                "(same data set: both are counted)\n",
                s->rep[i].dir, s->rep[j].dir, (long long)s->rep[i].replication,
                s->rep[i].setting);
      }
    }
  }
}

static void table_usage_(FILE *out) {
  fprintf(out,
          "usage: sagd table [--csv FILE] [--allow-missing] [--replications N] DIR...\n"
          "\n"
          "Prints Table 1 of the SAGD paper (mean (SE) of the KS distance D and the\n"
          "Wasserstein distance W per setting and fine-tuning method, next to the paper's\n"
          "values) as Markdown, from the result.h5 of every replication. Each DIR is a run\n"
          "directory (holding result.h5 / checkpoint.h5) or a study directory whose\n"
          "subdirectories are run directories (rep-000, rep-001, ... as written by jobs/).\n"
          "em_gamma results get a summary of the final (a, b) against the MLE.\n"
          "\n"
          "options:\n"
          "  --csv FILE         also write the table as CSV (setting, metric, method,\n"
          "                     replications, values, mean, se, paper)\n"
          "  --allow-missing    use the complete replications only; every cell says how\n"
          "                     many it used ([n=used/expected])\n"
          "  --replications N   every study DIR must hold rep-000 .. rep-(N-1)\n"
          "  --help             this text\n"
          "\n"
          "Replications without a usable result.h5 (missing, damaged, only a checkpoint)\n"
          "are listed by name; without --allow-missing the command then fails (exit 2).\n");
}

static int table_rank0_(int argc, char **argv) {
  const char *csv_path = NULL;
  int allow_missing = 0, ndirs = 0, only_dirs = 0;
  long expect = 0;
  const char **dirs = calloc((size_t)argc, sizeof *dirs);
  SAGD_CHECK(dirs != NULL, SAGD_ERR_MEM, "cannot allocate %d arguments", argc);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int rc0 = SAGD_OK;
    if (only_dirs || a[0] != '-') {
      dirs[ndirs++] = a;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      table_usage_(stdout);
      free(dirs);
      return SAGD_OK;
    } else if (strcmp(a, "--csv") == 0 && i + 1 < argc) {
      csv_path = argv[++i];
    } else if (strcmp(a, "--allow-missing") == 0) {
      allow_missing = 1;
    } else if (strcmp(a, "--replications") == 0 && i + 1 < argc) {
      unsigned long long v = 0;
      rc0 = sagd_cli_parse_u64("--replications", argv[++i], &v);
      if (rc0 == SAGD_OK && (v < 1 || v > 1000000)) {
        rc0 = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                             "--replications %llu: expected 1 .. 1000000", v);
      }
      expect = (long)v;
    } else if (strcmp(a, "--") == 0) {
      only_dirs = 1;
    } else if (strcmp(a, "--csv") == 0 || strcmp(a, "--replications") == 0) {
      rc0 = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                           "%s: expected a value after it", a);
    } else {
      table_usage_(stderr);
      rc0 = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                           "unknown option '%s' (see sagd table --help)", a);
    }
    if (rc0 != SAGD_OK) {
      free(dirs);
      return rc0;
    }
  }
  if (ndirs == 0) {
    free(dirs);
    SAGD_FAIL(SAGD_ERR_ARG,
              "missing directories: expected sagd table [options] DIR... (see --help)");
  }

  tb_study s;
  memset(&s, 0, sizeof s);
  int rc = SAGD_OK;
  for (int i = 0; i < ndirs && rc == SAGD_OK; i++) {
    s.arg = i;
    rc = tb_add_arg_(&s, dirs[i], expect);
  }
  /* Directories without a single complete replication have no row: name them under the
   * tables (with --allow-missing), so nothing drops out silently. */
  char absent[4096] = "";
  for (int i = 0; i < ndirs && rc == SAGD_OK; i++) {
    size_t ok = 0, bad = 0;
    for (size_t j = 0; j < s.nrep; j++) {
      ok += s.rep[j].arg == i;
    }
    for (size_t j = 0; j < s.nbad; j++) {
      bad += s.bad[j].arg == i;
    }
    if (ok == 0 && bad > 0) {
      size_t l = strlen(absent);
      snprintf(absent + l, sizeof absent - l, "%s%s (0 of %zu replication%s complete)",
               l ? "; " : "", dirs[i], bad, bad == 1 ? "" : "s");
    }
  }
  free(dirs);
  if (rc != SAGD_OK) {
    tb_study_free_(&s);
    return rc;
  }
  if (s.nbad > 0) {
    fprintf(stderr, "sagd table: %s%zu incomplete or damaged replication%s:\n",
            allow_missing ? "warning: " : "", s.nbad, s.nbad == 1 ? "" : "s");
    for (size_t i = 0; i < s.nbad; i++) {
      fprintf(stderr, "  %s: %s\n", s.bad[i].dir, s.bad[i].reason);
    }
    if (!allow_missing) {
      size_t nbad = s.nbad, nrep = s.nrep;
      tb_study_free_(&s);
      SAGD_FAIL(SAGD_ERR_DATA,
                "%zu of %zu replications are incomplete or damaged (listed above): rerun "
                "them (jobs/ resumes from their checkpoints) or pass --allow-missing",
                nbad, nbad + nrep);
    }
    fflush(stderr);
  }
  if (s.nrep == 0) {
    tb_study_free_(&s);
    SAGD_FAIL(SAGD_ERR_DATA, "no complete replication found in the %d director%s given",
              ndirs, ndirs == 1 ? "y" : "ies");
  }
  tb_warn_duplicates_(&s);

  FILE *csv = NULL;
  char tmp[TB_PATH];
  if (csv_path != NULL) {
    if (snprintf(tmp, sizeof tmp, "%s.tmp", csv_path) >= (int)sizeof tmp ||
        (csv = fopen(tmp, "w")) == NULL) {
      tb_study_free_(&s);
      SAGD_FAIL(SAGD_ERR_OUTPUT, "cannot write CSV file '%s': %s", csv_path, strerror(errno));
    }
    fprintf(csv, "setting,metric,method,replications,values,mean,se,paper\n");
  }
  int show_n = allow_missing && s.nbad > 0;
  rc = tb_print_deconv_(&s, show_n, csv);
  if (rc == SAGD_OK) {
    rc = tb_print_em_(&s, show_n, csv);
  }
  if (rc == SAGD_OK) {
    rc = tb_print_mnist_(&s, show_n, csv);
  }
  if (rc == SAGD_OK && absent[0] != '\0') {
    printf("\nNot in the tables, no complete replication yet: %s.\n", absent);
  }
  fflush(stdout);
  tb_study_free_(&s);
  if (csv != NULL) {
    int bad = ferror(csv);
    bad |= fclose(csv) != 0;
    if (rc == SAGD_OK && (bad || rename(tmp, csv_path) != 0)) {
      rc = sagd_error_set(SAGD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                          "cannot write CSV file '%s': %s", csv_path, strerror(errno));
    }
    if (rc != SAGD_OK) {
      remove(tmp);
    }
  }
  return rc;
}

int sagd_cli_table(MPI_Comm comm, int argc, char **argv) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  int rc = SAGD_OK;
  if (rank == 0) {
    rc = table_rank0_(argc, argv);
  }
  SAGD_CHECK_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
  if (rank != 0 && rc != SAGD_OK) {
    return sagd_error_set(rc, __FILE__, __LINE__, __func__, "sagd table failed on rank 0");
  }
  return rc;
}
