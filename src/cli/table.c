/* `sagd table DIR...`: aggregate a replication study into the SAGD paper's tables.
 *
 * Every DIR is either a run directory (it holds result.h5, checkpoint.h5 or their .tmp/.prev
 * files) or a study directory whose subdirectories are run directories (one per replication,
 * named rep-NNN by jobs/). Rank 0 reads every result.h5 serially with the HDF5 helpers on
 * MPI_COMM_SELF; the other ranks only wait for the verdict.
 *
 * Each result's experiment type turns it into cells (its table op, experiment.h and
 * table.h): deconv_vae results give, per setting and fine-tuning method, the KS distance D
 * and the Wasserstein distance W (per dimension for p > 1); em_gamma results the final
 * (a, b) of SAGD, of exact-gradient EM and of the MLE; mnist_vae results the held-out
 * log-likelihoods. Here the cells of every replication are pooled by (setting, metric,
 * method) into mean (SE), printed as Markdown in the experiment's layout next to the
 * paper's values, and written as CSV.
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

#define TB_PATH 4096

/* One complete replication: its experiment and the cells its result gave. */
typedef struct {
  char *dir;
  int arg;                        /* index of the command-line directory it was found under */
  const sagd_experiment_type *exp;
  sagd_table_cells cells;
  char setting[96];               /* its first cell's setting (counts, duplicate warnings) */
  int64_t replication;
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

/* Room for one more element in the array *a of *cap elements of `size` bytes, n in use. */
static int tb_reserve_(void **a, size_t *cap, size_t n, size_t size, const char *what) {
  if (n < *cap) {
    return SAGD_OK;
  }
  const size_t c = *cap ? 2 * *cap : 16;
  void *b = realloc(*a, c * size);
  SAGD_CHECK(b != NULL, SAGD_ERR_MEM, "cannot grow the list of %s", what);
  *a = b;
  *cap = c;
  return SAGD_OK;
}

static int tb_add_bad_(tb_study *s, const char *dir, const char *reason) {
  SAGD_CALL(tb_reserve_((void **)&s->bad, &s->capbad, s->nbad, sizeof *s->bad,
                        "incomplete replications"));
  s->bad[s->nbad].dir = strdup(dir);
  s->bad[s->nbad].reason = strdup(reason);
  s->bad[s->nbad].arg = s->arg;
  SAGD_CHECK(s->bad[s->nbad].dir != NULL && s->bad[s->nbad].reason != NULL, SAGD_ERR_MEM,
             "cannot record incomplete replication '%s'", dir);
  s->nbad++;
  return SAGD_OK;
}

static void tb_rep_free_(tb_rep *r) {
  free(r->dir);
  sagd_table_cells_destroy(&r->cells);
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

/* ---- reading one run directory ------------------------------------------------------------ */

/* Open DIR/result.h5, verify it, and let its experiment type turn it into cells. Errors are
 * returned (not fatal). */
static int tb_read_result_(const char *path, tb_rep *r) {
  sagd_h5 f = NULL;
  char *exp = NULL, *cfgtext = NULL;
  sagd_config cfg = NULL;
  int rc = SAGD_OK;
  SAGD_TRY(rc, done, sagd_h5_open(MPI_COMM_SELF, path, 0, &f));
  /* every dataset reads back and matches its checksum */
  SAGD_TRY(rc, done, sagd_runfile_verify(f, NULL, NULL));
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "experiment", &exp));
  SAGD_TRY(rc, done, sagd_h5_read_attr_int(f, "/meta", "replication", &r->replication));
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "config", &cfgtext));
  SAGD_TRY(rc, done, sagd_config_create(sagd_config_keys(), &cfg));
  SAGD_TRY(rc, done, sagd_config_read_string(cfg, cfgtext, path));
  r->exp = sagd_experiment_find(exp);
  if (r->exp == NULL || r->exp->table_read == NULL) {
    char known[256] = "";
    for (const sagd_experiment_type *const *e = sagd_experiment_list(); *e != NULL; e++) {
      if ((*e)->table_read != NULL) {
        const size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s", l ? ", " : "", (*e)->name);
      }
    }
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "experiment '%s' has no table: expected one of %s", exp, known);
    goto done;
  }
  SAGD_TRY(rc, done, sagd_table_cells_create(&r->cells));
  SAGD_TRY(rc, done, r->exp->table_read(f, cfg, r->cells));
  if (sagd_table_cells_count(r->cells) == 0) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "its %s results give no table cell", r->exp->name);
    goto done;
  }
  snprintf(r->setting, sizeof r->setting, "%s", sagd_table_cells_get(r->cells, 0)->setting);
done:
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
  SAGD_CALL(tb_reserve_((void **)&s->rep, &s->caprep, s->nrep, sizeof *s->rep,
                        "replications"));
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
  r->dir = strdup(dir);
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
    names[n] = strdup(p);
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
  double mean, se, paper;
  size_t n;   /* replications used */
  size_t nv;  /* values pooled (n·p) */
} tb_cell;

static void tb_cell_fmt_(const tb_cell *c, int decimals, size_t expect, int show_n, char *buf,
                         size_t cap) {
  if (c->n == 0) {
    snprintf(buf, cap, "–");
    return;
  }
  int k;
  if (c->nv > 1) {
    k = snprintf(buf, cap, "%.*f (%.*f)", decimals, c->mean, decimals, c->se);
  } else {
    k = snprintf(buf, cap, "%.*f", decimals, c->mean);
  }
  if (k > 0 && (size_t)k < cap && (show_n || c->n != expect)) {
    snprintf(buf + k, cap - (size_t)k, " [n=%zu/%zu]", c->n, expect);
  }
}

static void tb_paper_fmt_(double v, char *buf, size_t cap) {
  if (!isfinite(v)) {
    snprintf(buf, cap, "–");
    return;
  }
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

static void tb_csv_row_(FILE *csv, const char *setting, const char *metric, const char *method,
                        const tb_cell *c) {
  if (csv == NULL || c->n == 0) {
    return;
  }
  fprintf(csv, "\"%s\",%s,%s,%zu,%zu,", setting, metric, method, c->n, c->nv);
  if (c->nv > 1) {
    fprintf(csv, "%.17g,%.17g,", c->mean, c->se);
  } else {
    fprintf(csv, "%.17g,,", c->mean);
  }
  if (isfinite(c->paper)) {
    fprintf(csv, "%.3f\n", c->paper);
  } else {
    fprintf(csv, "\n");
  }
}

/* The distinct names of one field of an experiment's cells, in order of appearance. */
typedef struct {
  const sagd_table_cell **first; /* the first cell with each name */
  size_t n;
} tb_names;

static int tb_same_(const sagd_table_cell *a, const sagd_table_cell *b, int field) {
  return field == 0   ? strcmp(a->setting, b->setting) == 0
         : field == 1 ? strcmp(a->metric, b->metric) == 0
                      : strcmp(a->method, b->method) == 0;
}

static void tb_names_add_(tb_names *l, const sagd_table_cell *c, int field) {
  for (size_t k = 0; k < l->n; k++) {
    if (tb_same_(l->first[k], c, field)) {
      return;
    }
  }
  l->first[l->n++] = c;
}

/* Pool the values of cell (setting, metric, method) over the experiment's replications. */
static void tb_pool_(const tb_study *s, const sagd_experiment_type *e, const sagd_table_cell *st,
                     const sagd_table_cell *me, const sagd_table_cell *mt, double *work,
                     tb_cell *c) {
  size_t nv = 0, n = 0;
  c->paper = NAN;
  for (size_t i = 0; i < s->nrep; i++) {
    const tb_rep *r = &s->rep[i];
    if (r->exp != e) {
      continue;
    }
    int used = 0;
    for (size_t k = 0; k < sagd_table_cells_count(r->cells); k++) {
      const sagd_table_cell *x = sagd_table_cells_get(r->cells, k);
      if (tb_same_(x, st, 0) && tb_same_(x, me, 1) && tb_same_(x, mt, 2)) {
        memcpy(work + nv, x->values, x->n * sizeof(double));
        nv += x->n;
        used = 1;
        if (!isfinite(c->paper)) {
          c->paper = x->paper;
        }
      }
    }
    n += used;
  }
  c->n = n;
  c->nv = nv;
  sagd_stats_mean_se(work, nv, &c->mean, &c->se);
}

/* One experiment's table, in its layout (table.h). */
/* 1 if some cell of experiment e in column `col` (its method, or its metric when methods are
 * rows) has a paper value. */
static int tb_column_has_paper_(const tb_study *s, const sagd_experiment_type *e,
                                int methods_as_rows, const sagd_table_cell *col) {
  const char *key = methods_as_rows ? col->metric : col->method;
  for (size_t i = 0; i < s->nrep; i++) {
    for (size_t k = 0; s->rep[i].exp == e && k < sagd_table_cells_count(s->rep[i].cells); k++) {
      const sagd_table_cell *c = sagd_table_cells_get(s->rep[i].cells, k);
      if (isfinite(c->paper) && strcmp(key, methods_as_rows ? c->metric : c->method) == 0) {
        return 1;
      }
    }
  }
  return 0;
}

static int tb_print_experiment_(const tb_study *s, const sagd_experiment_type *e, int show_n,
                                FILE *csv) {
  const sagd_table_layout *L = e->table;
  size_t ncells = 0, nvals = 0, nreps = 0;
  for (size_t i = 0; i < s->nrep; i++) {
    if (s->rep[i].exp != e) {
      continue;
    }
    nreps++;
    for (size_t k = 0; k < sagd_table_cells_count(s->rep[i].cells); k++) {
      ncells++;
      nvals += sagd_table_cells_get(s->rep[i].cells, k)->n;
    }
  }
  if (nreps == 0) {
    return SAGD_OK;
  }
  tb_names names[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}}; /* settings, metrics, methods */
  double *work = malloc(nvals * sizeof *work);
  int ok = work != NULL;
  for (int f = 0; f < 3; f++) {
    names[f].first = malloc(ncells * sizeof *names[f].first);
    ok &= names[f].first != NULL;
  }
  if (!ok) {
    free(work);
    for (int f = 0; f < 3; f++) {
      free(names[f].first);
    }
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu values for the %s table", nvals, e->name);
  }
  for (size_t i = 0; i < s->nrep; i++) {
    for (size_t k = 0; s->rep[i].exp == e && k < sagd_table_cells_count(s->rep[i].cells); k++) {
      const sagd_table_cell *c = sagd_table_cells_get(s->rep[i].cells, k);
      for (int f = 0; f < 3; f++) {
        tb_names_add_(&names[f], c, f);
      }
    }
  }
  /* settings with an order (the paper's) first, ascending; the others as they came */
  const sagd_table_cell **set = names[0].first;
  for (size_t a = 1; a < names[0].n; a++) {
    for (size_t b = a; b > 0; b--) {
      const int ob = set[b]->setting_order, oa = set[b - 1]->setting_order;
      if (ob >= 0 && (oa < 0 || ob < oa)) {
        const sagd_table_cell *t = set[b];
        set[b] = set[b - 1];
        set[b - 1] = t;
      }
    }
  }
  printf("## %s\n\n%s%s\n\n", L->title, L->intro,
         show_n ? " [n=used/expected] replications per cell." : "");
  const tb_names *cols = L->methods_as_rows ? &names[1] : &names[2];
  /* a *paper* column only next to the columns of which the paper reports something */
  unsigned char *colp = calloc(cols->n + 1, 1);
  if (colp == NULL) {
    free(work);
    for (int f = 0; f < 3; f++) {
      free(names[f].first);
    }
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the %s table's columns", e->name);
  }
  for (size_t m = 0; m < cols->n; m++) {
    colp[m] = tb_column_has_paper_(s, e, L->methods_as_rows, cols->first[m]);
  }
  if (L->methods_as_rows) {
    printf("| %s |", L->row_header ? L->row_header : "method");
  } else {
    printf("| setting | metric | reps |");
  }
  for (size_t m = 0; m < cols->n; m++) {
    const sagd_table_cell *c = cols->first[m];
    printf(" %s |%s", L->methods_as_rows ? c->metric_label : c->method_label,
           colp[m] ? " *paper* |" : "");
  }
  printf("\n|---|%s", L->methods_as_rows ? "" : "---|---:|");
  for (size_t m = 0; m < cols->n; m++) {
    printf("---:|%s", colp[m] ? "---:|" : "");
  }
  printf("\n");
  const tb_names *rows = L->methods_as_rows ? &names[2] : &names[1];
  for (size_t k = 0; k < names[0].n; k++) {
    const sagd_table_cell *st = set[k];
    size_t nin = 0;
    for (size_t i = 0; i < s->nrep; i++) {
      nin += s->rep[i].exp == e && strcmp(s->rep[i].setting, st->setting) == 0;
    }
    const size_t want = tb_expected_(s, st->setting);
    for (size_t row = 0; row < rows->n; row++) {
      const sagd_table_cell *rw = rows->first[row];
      if (L->methods_as_rows) {
        printf("| %s |", rw->method_label);
      } else {
        printf("| %s | %s | %zu |", row == 0 ? st->setting : "", rw->metric_label, nin);
      }
      for (size_t m = 0; m < cols->n; m++) {
        const sagd_table_cell *me = L->methods_as_rows ? cols->first[m] : rw;
        const sagd_table_cell *mt = L->methods_as_rows ? rw : cols->first[m];
        tb_cell c;
        char cell[96], pp[32];
        tb_pool_(s, e, st, me, mt, work, &c);
        tb_cell_fmt_(&c, L->decimals, want, show_n, cell, sizeof cell);
        tb_paper_fmt_(c.paper, pp, sizeof pp);
        printf(" %s |", cell);
        if (colp[m]) {
          printf(" %s |", pp);
        }
        tb_csv_row_(csv, st->setting, me->metric, mt->method, &c);
      }
      printf("\n");
    }
  }
  printf("\n");
  free(colp);
  free(work);
  for (int f = 0; f < 3; f++) {
    free(names[f].first);
  }
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
          "em_gamma results get a summary of the final (a, b) against the MLE, mnist_vae\n"
          "results their held-out log-likelihoods; one table per experiment.\n"
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
  for (const sagd_experiment_type *const *e = sagd_experiment_list();
       *e != NULL && rc == SAGD_OK; e++) {
    if ((*e)->table != NULL) {
      rc = tb_print_experiment_(&s, *e, show_n, csv);
    }
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
