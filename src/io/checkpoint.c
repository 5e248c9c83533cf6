/* Checkpoints: the state registry, atomic collective checkpoint files with checksums,
 * resume with fallback to the previous checkpoint, and the signal flag (see
 * include/sagd/checkpoint.h).
 *
 * Every decision that could differ between ranks (a signal arrived on one rank only, a
 * checksum failed on one rank's rows, rank 0's clock says the time is up) is agreed on
 * with an allreduce before anyone acts on it, so all ranks always take the same branch. */
#include "sagd/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sagd/error.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

#define CK_NAME "checkpoint.h5"
#define CK_NAME_MAX 128
/* Rows per read when verifying: at most this many doubles in memory at once. */
#define CK_CHUNK_DOUBLES ((size_t)1 << 20)

/* ======================================================================== checksums */

static uint64_t fmix64_(uint64_t z) { /* MurmurHash3's finaliser: a bijection */
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdULL;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ULL;
  z ^= z >> 33;
  return z;
}

uint64_t sagd_checksum_bytes(const void *data, size_t len, uint64_t h) {
  const unsigned char *p = data;
  h ^= 0xcbf29ce484222325ULL; /* FNV-1a */
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t sagd_checksum_row(uint64_t row, const double *x, size_t cols) {
  /* h ← (rotl(h, 27) ^ w) · P per 8-byte word w: for fixed words every step is a bijection
   * of h, so changing any one word always changes the result; the rotation carries high
   * bits down so that changes in several words do not cancel trivially. */
  uint64_t h = fmix64_(row ^ 0x9e3779b97f4a7c15ULL);
  for (size_t j = 0; j < cols; j++) {
    uint64_t w;
    memcpy(&w, x + j, sizeof w);
    h = ((h << 27) | (h >> 37)) ^ w;
    h *= 0x9e3779b97f4a7c15ULL;
  }
  return fmix64_(h ^ (uint64_t)cols);
}

uint64_t sagd_checksum_rows(const double *x, size_t row0, size_t nrows, size_t cols) {
  uint64_t s = 0;
  for (size_t i = 0; i < nrows; i++) {
    s += sagd_checksum_row(row0 + i, x + i * cols, cols);
  }
  return s;
}

/* ======================================================================== registry */

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

int sagd_state_create(sagd_state *st) {
  SAGD_CHECK(st != NULL, SAGD_ERR_ARG, "sagd_state_create: NULL output handle");
  *st = calloc(1, sizeof **st);
  SAGD_CHECK(*st != NULL, SAGD_ERR_MEM, "cannot allocate a state registry");
  return SAGD_OK;
}

void sagd_state_destroy(sagd_state *st) {
  if (st == NULL || *st == NULL) {
    return;
  }
  free((*st)->e);
  free(*st);
  *st = NULL;
}

static int name_ok_(const char *s) {
  size_t n = s != NULL ? strlen(s) : 0;
  if (n == 0 || n >= CK_NAME_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//")) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.' || c == '/')) {
      return 0;
    }
  }
  return 1;
}

static int add_entry_(sagd_state st, const char *name, ck_entry **out) {
  SAGD_CHECK(st != NULL, SAGD_ERR_ARG, "state registry is NULL");
  SAGD_CHECK(name_ok_(name), SAGD_ERR_ARG,
             "state name '%s': expected a relative path of letters, digits, '_', '-', '.', "
             "'/' shorter than %d characters", name != NULL ? name : "(null)", CK_NAME_MAX);
  for (size_t i = 0; i < st->n; i++) {
    SAGD_CHECK(strcmp(st->e[i].name, name) != 0, SAGD_ERR_ARG,
               "state name '%s' is registered twice", name);
    /* "a" and "a/b" cannot both be datasets (one would have to be a group) */
    size_t la = strlen(st->e[i].name), lb = strlen(name);
    const char *shorter = la < lb ? st->e[i].name : name, *longer = la < lb ? name : st->e[i].name;
    size_t ls = la < lb ? la : lb;
    SAGD_CHECK(!(strncmp(shorter, longer, ls) == 0 && longer[ls] == '/'), SAGD_ERR_ARG,
               "state names '%s' and '%s' clash: one would be a group of the other",
               shorter, longer);
  }
  if (st->n == st->cap) {
    size_t cap = st->cap ? 2 * st->cap : 32;
    ck_entry *e = realloc(st->e, cap * sizeof *e);
    SAGD_CHECK(e != NULL, SAGD_ERR_MEM, "cannot grow the state registry to %zu entries", cap);
    st->e = e;
    st->cap = cap;
  }
  ck_entry *e = &st->e[st->n++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  *out = e;
  return SAGD_OK;
}

int sagd_state_add(sagd_state st, const char *name, double *buf, size_t len) {
  SAGD_CHECK(len == 0 || buf != NULL, SAGD_ERR_ARG, "state '%s': NULL buffer for %zu doubles",
             name, len);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'R';
  e->buf = buf;
  e->rows = 1;
  e->cols = len;
  e->nrows = 1;
  e->offset = st->rep_total;
  st->rep_total += len;
  return SAGD_OK;
}

/* A counter: one replicated slot, stored through either a uint64_t or a size_t. */
static int add_counter_(sagd_state st, const char *name, uint64_t *u64, size_t *sz) {
  SAGD_CHECK(u64 != NULL || sz != NULL, SAGD_ERR_ARG, "state '%s': NULL counter", name);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'C';
  e->u64 = u64;
  e->sz = sz;
  e->rows = e->cols = e->nrows = 1;
  e->offset = st->rep_total++;
  return SAGD_OK;
}

int sagd_state_add_u64(sagd_state st, const char *name, uint64_t *v) {
  return add_counter_(st, name, v, NULL);
}

int sagd_state_add_size(sagd_state st, const char *name, size_t *v) {
  return add_counter_(st, name, NULL, v);
}

int sagd_state_add_rows(sagd_state st, const char *name, double *buf, size_t global_rows,
                        size_t cols, size_t row0, size_t nrows) {
  SAGD_CHECK(row0 <= global_rows && nrows <= global_rows - row0, SAGD_ERR_ARG,
             "state '%s': rows [%zu, %zu) are outside [0, %zu)", name, row0, row0 + nrows,
             global_rows);
  SAGD_CHECK(nrows == 0 || cols == 0 || buf != NULL, SAGD_ERR_ARG,
             "state '%s': NULL buffer for %zu rows", name, nrows);
  ck_entry *e = NULL;
  SAGD_CALL(add_entry_(st, name, &e));
  e->kind = 'S';
  e->buf = buf;
  e->rows = global_rows;
  e->cols = cols;
  e->row0 = row0;
  e->nrows = nrows;
  return SAGD_OK;
}

size_t sagd_state_count(sagd_state st) { return st != NULL ? st->n : 0; }

size_t sagd_state_local_bytes(sagd_state st) {
  size_t b = 0;
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    b += st->e[i].nrows * st->e[i].cols * sizeof(double);
  }
  return b;
}

/* A counter's value as a double (exact up to 2^53) and back. */
static int counter_get_(const ck_entry *e, double *d) {
  uint64_t v = e->u64 != NULL ? *e->u64 : (uint64_t)*e->sz;
  SAGD_CHECK(v <= ((uint64_t)1 << 53), SAGD_ERR_ARG,
             "state counter '%s' = %" PRIu64 " exceeds 2^53 and cannot be stored exactly",
             e->name, v);
  *d = (double)v;
  return SAGD_OK;
}

static void counter_set_(const ck_entry *e, double d) {
  if (e->u64 != NULL) {
    *e->u64 = (uint64_t)d;
  } else {
    *e->sz = (size_t)d;
  }
}

/* ======================================================================== signals */

static volatile sig_atomic_t ck_signal_ = 0;

static void ck_handler_(int sig) { ck_signal_ = sig; }

int sagd_checkpoint_signal(void) { return (int)ck_signal_; }

void sagd_checkpoint_raise(int sig) { ck_signal_ = sig; }

static const char *signame_(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
}

/* ======================================================================== clocks */

static double now_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ======================================================================== summaries */

void sagd_checkpoint_summary_free(sagd_checkpoint_summary *s) {
  if (s == NULL) {
    return;
  }
  free(s->experiment);
  free(s->phase);
  free(s->created);
  free(s->config);
  free(s->config_hash);
  free(s->sagd_version);
  free(s->entries);
  memset(s, 0, sizeof *s);
}

/* The manifest: one line per entry, "name kind rows cols offset checksum(hex)". */
static char *manifest_text_(const sagd_checkpoint_entry *e, size_t n) {
  size_t cap = 1 + n * (CK_NAME_MAX + 80);
  char *buf = malloc(cap);
  if (buf == NULL) {
    return NULL;
  }
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    len += (size_t)snprintf(buf + len, cap - len, "%s %c %zu %zu %zu %016" PRIx64 "\n",
                            e[i].name, e[i].kind, e[i].rows, e[i].cols, e[i].offset,
                            e[i].checksum);
  }
  return buf;
}

static int manifest_parse_(const char *text, const char *path, sagd_checkpoint_entry **out,
                           size_t *nout) {
  size_t n = 0;
  for (const char *p = text; *p; p++) {
    n += *p == '\n';
  }
  sagd_checkpoint_entry *e = calloc(n > 0 ? n : 1, sizeof *e);
  SAGD_CHECK(e != NULL, SAGD_ERR_MEM, "cannot allocate a manifest of %zu entries", n);
  const char *p = text;
  for (size_t i = 0; i < n; i++) {
    const char *nl = strchr(p, '\n');
    char line[CK_NAME_MAX + 100];
    size_t ll = (size_t)(nl - p);
    char kind = 0;
    unsigned long long rows = 0, cols = 0, off = 0, ck = 0;
    int ok = ll < sizeof line;
    if (ok) {
      memcpy(line, p, ll);
      line[ll] = '\0';
      char name[CK_NAME_MAX];
      ok = sscanf(line, "%127s %c %llu %llu %llu %llx", name, &kind, &rows, &cols, &off,
                  &ck) == 6 &&
           name_ok_(name) && (kind == 'R' || kind == 'C' || kind == 'S') &&
           (kind == 'S' || (rows == 1 && (kind == 'R' || cols == 1)));
      if (ok) {
        snprintf(e[i].name, sizeof e[i].name, "%s", name);
      }
    }
    if (!ok) {
      free(e);
      SAGD_FAIL(SAGD_ERR_CORRUPT, "checkpoint '%s': line %zu of its manifest is not "
                "'name kind rows cols offset checksum'", path, i + 1);
    }
    e[i].kind = kind;
    e[i].rows = (size_t)rows;
    e[i].cols = (size_t)cols;
    e[i].offset = (size_t)off;
    e[i].checksum = (uint64_t)ck;
    p = nl + 1;
  }
  *out = e;
  *nout = n;
  return SAGD_OK;
}

/* Canonical text of every /meta attribute that matters, hashed into /meta/checksum. */
static uint64_t meta_checksum_(const sagd_checkpoint_summary *s, const char *manifest) {
  char head[1024];
  snprintf(head, sizeof head,
           "format_version=%" PRId64 "\nexperiment=%s\nconfig_hash=%s\nn_ranks=%" PRId64
           "\ncreated=%s\nphase=%s\niteration=%" PRIu64 "\nwall_seconds=%.6f\n"
           "sagd_version=%s\n",
           s->format_version, s->experiment, s->config_hash, s->n_ranks, s->created,
           s->phase, s->iteration, s->wall_seconds, s->sagd_version);
  uint64_t h = sagd_checksum_bytes(head, strlen(head), 0);
  h = sagd_checksum_bytes(s->config, strlen(s->config), h);
  h = sagd_checksum_bytes("\n", 1, h);
  h = sagd_checksum_bytes(manifest, strlen(manifest), h);
  return fmix64_(h);
}

/* Read and check /meta of an open checkpoint: fills s, returns the manifest text. */
static int read_meta_(sagd_h5 f, const char *path, sagd_checkpoint_summary *s,
                      char **manifest) {
  *manifest = NULL;
  char *kind = NULL, *wall = NULL, *ck = NULL;
  int64_t iter = 0;
  int rc = SAGD_OK;
#define META_STR(name, dst)                                                    \
  if (rc == SAGD_OK) {                                                         \
    rc = sagd_h5_read_attr_string(f, "/meta", name, dst);                      \
  }
  META_STR("kind", &kind);
  if (rc == SAGD_OK && strcmp(kind, "checkpoint") != 0) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "'%s' is a '%s' file, not a checkpoint", path, kind);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_int(f, "/meta", "format_version", &s->format_version);
  }
  if (rc == SAGD_OK && s->format_version != SAGD_FORMAT_VERSION) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "checkpoint '%s' has format version %" PRId64 "; this sagd reads "
                        "version %d", path, s->format_version, SAGD_FORMAT_VERSION);
  }
  META_STR("experiment", &s->experiment);
  META_STR("config", &s->config);
  META_STR("config_hash", &s->config_hash);
  META_STR("created", &s->created);
  META_STR("phase", &s->phase);
  META_STR("sagd_version", &s->sagd_version);
  META_STR("wall_seconds", &wall);
  META_STR("manifest", manifest);
  META_STR("checksum", &ck);
#undef META_STR
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_int(f, "/meta", "n_ranks", &s->n_ranks);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_attr_int(f, "/meta", "iteration", &iter);
  }
  if (rc == SAGD_OK) {
    s->iteration = (uint64_t)iter;
    s->wall_seconds = strtod(wall, NULL);
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, meta_checksum_(s, *manifest));
    if (strcmp(want, ck) != 0) {
      rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                          "checkpoint '%s': its metadata fails the checksum (stored %s, "
                          "computed %s): the file is damaged", path, ck, want);
    }
  }
  if (rc == SAGD_OK) {
    rc = manifest_parse_(*manifest, path, &s->entries, &s->nentries);
  }
  if (rc == SAGD_OK) {
    s->bytes = 0;
    for (size_t i = 0; i < s->nentries; i++) {
      s->bytes += 8.0 * (double)s->entries[i].rows * (double)s->entries[i].cols;
    }
  }
  free(kind);
  free(wall);
  free(ck);
  if (rc != SAGD_OK) {
    free(*manifest);
    *manifest = NULL;
    /* anything wrong with the metadata of a file that opened is damage */
    return rc == SAGD_ERR_MEM ? rc : SAGD_ERR_CORRUPT;
  }
  return SAGD_OK;
}

/* Open a checkpoint and read its metadata. Failures → SAGD_ERR_CORRUPT with a message
 * that names the file (a missing file too: the caller checked it exists). */
static int open_meta_(MPI_Comm comm, const char *path, sagd_h5 *f, sagd_checkpoint_summary *s,
                      char **manifest) {
  memset(s, 0, sizeof *s);
  *f = NULL;
  int rc = sagd_h5_open(comm, path, 0, f);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(SAGD_ERR_CORRUPT, "checkpoint '%s' cannot be opened (truncated, zeroed or not "
              "HDF5): %s", path, msg);
  }
  rc = read_meta_(*f, path, s, manifest);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    sagd_h5_close(f);
    sagd_checkpoint_summary_free(s);
    if (strstr(msg, path) == NULL) {
      SAGD_FAIL(rc, "checkpoint '%s' is damaged: %s", path, msg);
    }
    SAGD_FAIL(rc, "%s", msg);
  }
  return SAGD_OK;
}

static void dset_path_(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "/state/%s", name);
}

/* Columns of /state/replicated per the manifest; offsets must follow each other. */
static int manifest_replicated_(const sagd_checkpoint_summary *s, const char *path,
                                size_t *total) {
  size_t next = 0;
  for (size_t i = 0; i < s->nentries; i++) {
    const sagd_checkpoint_entry *e = &s->entries[i];
    if (e->kind == 'S') {
      continue;
    }
    SAGD_CHECK(e->offset == next, SAGD_ERR_CORRUPT,
               "checkpoint '%s': manifest entry '%s' starts at column %zu of "
               "/state/replicated, expected %zu", path, e->name, e->offset, next);
    next += e->cols;
  }
  *total = next;
  return SAGD_OK;
}

/* Checksum every dataset of the manifest: /state/replicated on rank 0, and for each sharded
 * dataset each rank a share of the rows, in chunks of bounded size. */
static int verify_data_(MPI_Comm comm, sagd_h5 f, const char *path,
                        const sagd_checkpoint_summary *s) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  size_t n = s->nentries, total = 0;
  SAGD_CALL(manifest_replicated_(s, path, &total));
  uint64_t *sum = calloc(n > 0 ? n : 1, sizeof *sum);
  SAGD_CHECK(sum != NULL, SAGD_ERR_MEM, "cannot allocate %zu checksums", n);
  size_t bufcap = rank == 0 ? total : 0;
  double *buf = malloc((bufcap > 0 ? bufcap : 1) * sizeof *buf);
  int rc = buf != NULL ? SAGD_OK
                       : sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                                        "cannot allocate %zu doubles to verify '%s'", total,
                                        path);
  if (rc == SAGD_OK) {
    rc = sagd_h5_read_rows(f, "/state/replicated", 0, rank == 0 ? 1 : 0, total, buf);
  }
  for (size_t i = 0; i < n && rc == SAGD_OK && rank == 0; i++) {
    const sagd_checkpoint_entry *e = &s->entries[i];
    if (e->kind != 'S') {
      sum[i] = sagd_checksum_row(0, buf + e->offset, e->cols);
    }
  }
  for (size_t i = 0; i < n && rc == SAGD_OK; i++) {
    const sagd_checkpoint_entry *e = &s->entries[i];
    if (e->kind != 'S') {
      continue;
    }
    size_t r0 = e->rows * (size_t)rank / (size_t)size;
    size_t r1 = e->rows * (size_t)(rank + 1) / (size_t)size;
    size_t maxshare = (e->rows + (size_t)size - 1) / (size_t)size;
    if (e->cols == 0) { /* nothing stored: the rows hash to their index alone */
      sum[i] = sagd_checksum_rows(NULL, r0, r1 - r0, 0);
      continue;
    }
    size_t ch = CK_CHUNK_DOUBLES / e->cols;
    ch = ch > 0 ? ch : 1;
    size_t nchunks = (maxshare + ch - 1) / ch;
    size_t need = (ch < maxshare ? ch : maxshare) * e->cols;
    if (need > bufcap) {
      double *nb = realloc(buf, (need > 0 ? need : 1) * sizeof *nb);
      if (nb == NULL) {
        rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                            "cannot allocate %zu doubles to verify '%s'", need, path);
        break;
      }
      buf = nb;
      bufcap = need;
    }
    char dp[CK_NAME_MAX + 16];
    dset_path_(e->name, dp, sizeof dp);
    for (size_t c = 0; c < nchunks && rc == SAGD_OK; c++) { /* same count on every rank */
      size_t a = r0 + c * ch;
      size_t nr = a < r1 ? (r1 - a < ch ? r1 - a : ch) : 0;
      rc = sagd_h5_read_rows(f, dp, nr > 0 ? a : 0, nr, e->cols, buf);
      if (rc == SAGD_OK) {
        sum[i] += sagd_checksum_rows(buf, a, nr, e->cols);
      }
    }
  }
  free(buf);
  if (rc != SAGD_OK) {
    free(sum);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(rc == SAGD_ERR_MEM ? rc : SAGD_ERR_CORRUPT, "checkpoint '%s' is damaged: %s",
              path, msg);
  }
  int mpierr = MPI_Allreduce(MPI_IN_PLACE, sum, (int)n, MPI_UINT64_T, MPI_SUM, comm);
  if (mpierr != MPI_SUCCESS) {
    free(sum);
    return sagd_error_mpi(mpierr, "MPI_Allreduce", __FILE__, __LINE__, __func__);
  }
  for (size_t i = 0; i < n; i++) {
    if (sum[i] != s->entries[i].checksum) {
      uint64_t got = sum[i];
      free(sum);
      SAGD_FAIL(SAGD_ERR_CORRUPT, "checkpoint '%s': %s%s fails its checksum (stored %016"
                PRIx64 ", computed %016" PRIx64 "): the file is damaged", path,
                s->entries[i].kind == 'S' ? "dataset /state/" : "state entry ",
                s->entries[i].name, s->entries[i].checksum, got);
    }
  }
  free(sum);
  return SAGD_OK;
}

int sagd_checkpoint_verify(MPI_Comm comm, const char *path, sagd_checkpoint_summary *out) {
  sagd_checkpoint_summary s;
  sagd_h5 f = NULL;
  char *manifest = NULL;
  if (out != NULL) {
    memset(out, 0, sizeof *out);
  }
  SAGD_CALL(open_meta_(comm, path, &f, &s, &manifest));
  free(manifest);
  int rc = verify_data_(comm, f, path, &s);
  int rc2 = sagd_h5_close(&f);
  if (out != NULL) {
    *out = s;
  } else {
    sagd_checkpoint_summary_free(&s);
  }
  SAGD_CALL(rc);
  SAGD_CALL(rc2);
  return SAGD_OK;
}

/* ======================================================================== configs */

int sagd_checkpoint_same_config(sagd_config cfg, const char *stored, const char *file) {
  if (strcmp(stored, sagd_config_text(cfg)) == 0) {
    return SAGD_OK;
  }
  sagd_config old = NULL;
  SAGD_CALL(sagd_config_create_like(cfg, &old));
  int rc = sagd_config_read_string(old, stored, file);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    sagd_config_destroy(&old);
    SAGD_FAIL(SAGD_ERR_CONFIG, "'%s' was written with a configuration this sagd cannot read "
              "(%s); start over with --resume never --force or use another --out", file, msg);
  }
  char kept[4096] = "";
  const size_t nkept = sagd_config_diff_results(cfg, old, kept, sizeof kept);
  sagd_config_destroy(&old);
  SAGD_CHECK(nkept == 0, SAGD_ERR_CONFIG,
             "'%s' belongs to a run with another configuration: %zu key(s) differ: %s "
             "(use the same configuration to resume, another --out, or --force to start over)",
             file, nkept, kept);
  return SAGD_OK;
}

/* Rank 0 stats the paths; every rank learns which exist. */
static int exists_bcast_(MPI_Comm comm, int n, const char *const *paths, int *ex) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    for (int i = 0; i < n; i++) {
      struct stat stt;
      ex[i] = stat(paths[i], &stt) == 0;
    }
  }
  SAGD_CHECK_MPI(MPI_Bcast(ex, n, MPI_INT, 0, comm));
  return SAGD_OK;
}

int sagd_result_complete(const sagd_run_info *info, int *complete) {
  *complete = 0;
  char path[PATH_MAX], ck[PATH_MAX], ckp[PATH_MAX];
  SAGD_CALL(sagd_runfile_path(info->out_dir, "result.h5", "", path, sizeof path));
  SAGD_CALL(sagd_runfile_path(info->out_dir, "checkpoint.h5", "", ck, sizeof ck));
  SAGD_CALL(sagd_runfile_path(info->out_dir, "checkpoint.h5", ".prev", ckp, sizeof ckp));
  const char *paths[3] = {path, ck, ckp};
  int ex[3] = {0, 0, 0};
  SAGD_CALL(exists_bcast_(info->comm, 3, paths, ex));
  if (!ex[0]) {
    return SAGD_OK;
  }
  /* complete = readable, every checksum verifies, and written by this configuration */
  sagd_h5 f = NULL;
  char *cfgtext = NULL;
  int rc = sagd_h5_open(info->comm, path, 0, &f);
  if (rc == SAGD_OK) {
    rc = sagd_runfile_verify(f, NULL, NULL);
    if (rc == SAGD_OK) {
      rc = sagd_h5_read_attr_string(f, "/meta", "config", &cfgtext);
    }
    sagd_h5_close(&f);
  }
  if (rc != SAGD_OK) {
    char why[768];
    snprintf(why, sizeof why, "%s", sagd_error_message());
    SAGD_CHECK(ex[1] || ex[2], SAGD_ERR_CORRUPT,
               "the finished result is damaged (%s) and there is no checkpoint to recompute "
               "it from: --force runs the configuration again from the start",
               why);
    if (info->rank == 0) {
      fprintf(stderr, "sagd: warning: the finished result is damaged (%s): recomputing it "
              "from the checkpoints\n", why);
    }
    sagd_error_clear();
    return SAGD_OK;
  }
  rc = sagd_checkpoint_same_config(info->cfg, cfgtext, path);
  free(cfgtext);
  SAGD_CALL(rc);
  *complete = 1;
  return SAGD_OK;
}

/* ======================================================================== checkpointer */

struct sagd_checkpointer_s {
  const sagd_run_info *info;
  MPI_Comm comm;
  int rank, size;
  sagd_state st;
  uint64_t every;
  double seconds;
  double t_create, wall_base, t_last;
  uint64_t last_every;
  int have_last_every;
  int delay_ms;
  int newest_damaged; /* resumed from .prev: do not keep the damaged newest as .prev */
  uint64_t *sums;
  sagd_checkpoint_entry *ents;
  double *pack; /* st->rep_total: the replicated row */
  char path[PATH_MAX], prev[PATH_MAX], tmp[PATH_MAX];
  struct sigaction old_term, old_usr1;
  int installed;
  uint64_t nwritten;
  double bytes, wsec, rsec;
};

/* Every rank registered the same names/kinds/shapes; sharded rows tile their arrays. */
static int check_registry_(sagd_checkpointer cp) {
  sagd_state st = cp->st;
  uint64_t h = 0, mine[2], mx[2], mn[2];
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    char line[CK_NAME_MAX + 64];
    snprintf(line, sizeof line, "%s %c %zu %zu\n", e->name, e->kind, e->rows, e->cols);
    h = sagd_checksum_bytes(line, strlen(line), h);
  }
  mine[0] = h;
  mine[1] = st->n;
  SAGD_CHECK_MPI(MPI_Allreduce(mine, mx, 2, MPI_UINT64_T, MPI_MAX, cp->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(mine, mn, 2, MPI_UINT64_T, MPI_MIN, cp->comm));
  SAGD_CHECK(mx[0] == mn[0] && mx[1] == mn[1], SAGD_ERR_ARG,
             "the ranks registered different checkpoint states (%" PRIu64 " entries here; "
             "between %" PRIu64 " and %" PRIu64 " on the ranks): every rank must register the "
             "same names, kinds and shapes", mine[1], mn[1], mx[1]);
  unsigned long long *all = calloc(2 * (size_t)cp->size, sizeof *all);
  SAGD_CHECK(all != NULL, SAGD_ERR_MEM, "cannot allocate %d row ranges", cp->size);
  int rc = SAGD_OK;
  for (size_t i = 0; i < st->n && rc == SAGD_OK; i++) {
    const ck_entry *e = &st->e[i];
    if (e->kind != 'S') {
      continue;
    }
    unsigned long long r[2] = {e->row0, e->nrows};
    int mpierr = MPI_Allgather(r, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG,
                               cp->comm);
    if (mpierr != MPI_SUCCESS) {
      rc = sagd_error_mpi(mpierr, "MPI_Allgather", __FILE__, __LINE__, __func__);
      break;
    }
    /* the ranges, in rank order, must be contiguous from 0 to rows (ranks own ascending
     * shards); empty ranges are allowed anywhere */
    unsigned long long next = 0;
    for (int q = 0; q < cp->size; q++) {
      if (all[2 * q + 1] == 0) {
        continue;
      }
      if (all[2 * q] != next) {
        rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                            "state '%s': rank %d registered rows from %llu, expected %llu "
                            "(the ranks' rows must tile [0, %zu) in rank order)",
                            e->name, q, all[2 * q], next, e->rows);
        break;
      }
      next += all[2 * q + 1];
    }
    if (rc == SAGD_OK && next != e->rows) {
      rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                          "state '%s': the ranks registered %llu of its %zu rows", e->name,
                          next, e->rows);
    }
  }
  free(all);
  return rc;
}

int sagd_checkpointer_create(const sagd_run_info *info, sagd_state st, sagd_checkpointer *out) {
  SAGD_CHECK(info != NULL && st != NULL && out != NULL, SAGD_ERR_ARG,
             "sagd_checkpointer_create: NULL argument");
  *out = NULL;
  int64_t every = sagd_config_int(info->cfg, "checkpoint", "every");
  double seconds = sagd_config_real(info->cfg, "checkpoint", "seconds");
  SAGD_CHECK(every >= 0, SAGD_ERR_CONFIG, "checkpoint.every = %lld: expected >= 0 (0 = off)",
             (long long)every);
  SAGD_CHECK(seconds >= 0, SAGD_ERR_CONFIG, "checkpoint.seconds = %g: expected >= 0 (0 = off)",
             seconds);
  sagd_checkpointer cp = calloc(1, sizeof *cp);
  SAGD_CHECK(cp != NULL, SAGD_ERR_MEM, "cannot allocate a checkpointer");
  cp->info = info;
  cp->comm = info->comm;
  cp->rank = info->rank;
  cp->size = info->size;
  cp->st = st;
  cp->every = (uint64_t)every;
  cp->seconds = seconds;
  cp->t_create = now_();
  cp->t_last = cp->t_create;
  const char *d = getenv("SAGD_CHECKPOINT_DELAY_MS"); /* tests: widen the write window */
  cp->delay_ms = d != NULL ? atoi(d) : 0;
  int rc = sagd_runfile_path(info->out_dir, CK_NAME, "", cp->path, sizeof cp->path);
  if (rc == SAGD_OK) {
    rc = sagd_runfile_path(info->out_dir, CK_NAME, ".prev", cp->prev, sizeof cp->prev);
  }
  if (rc == SAGD_OK) {
    rc = sagd_runfile_path(info->out_dir, CK_NAME, ".tmp", cp->tmp, sizeof cp->tmp);
  }
  if (rc == SAGD_OK) {
    cp->sums = calloc(st->n > 0 ? st->n : 1, sizeof *cp->sums);
    cp->ents = calloc(st->n > 0 ? st->n : 1, sizeof *cp->ents);
    cp->pack = calloc(st->rep_total > 0 ? st->rep_total : 1, sizeof *cp->pack);
    if (cp->sums == NULL || cp->ents == NULL || cp->pack == NULL) {
      rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                          "cannot allocate checksums for %zu state entries", st->n);
    }
  }
  if (rc == SAGD_OK) {
    rc = check_registry_(cp);
  }
  if (rc != SAGD_OK) {
    sagd_checkpointer_destroy(&cp);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ck_handler_;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &cp->old_term);
  sigaction(SIGUSR1, &sa, &cp->old_usr1);
  cp->installed = 1;
  *out = cp;
  return SAGD_OK;
}

void sagd_checkpointer_destroy(sagd_checkpointer *cp) {
  if (cp == NULL || *cp == NULL) {
    return;
  }
  if ((*cp)->installed) {
    sigaction(SIGTERM, &(*cp)->old_term, NULL);
    sigaction(SIGUSR1, &(*cp)->old_usr1, NULL);
  }
  free((*cp)->sums);
  free((*cp)->ents);
  free((*cp)->pack);
  free(*cp);
  *cp = NULL;
}

double sagd_checkpointer_wall(sagd_checkpointer cp) {
  return cp->wall_base + (now_() - cp->t_create);
}

void sagd_checkpointer_stats(sagd_checkpointer cp, uint64_t *written, double *bytes,
                             double *write_seconds, double *read_seconds) {
  if (written != NULL) {
    *written = cp->nwritten;
  }
  if (bytes != NULL) {
    *bytes = cp->bytes;
  }
  if (write_seconds != NULL) {
    *write_seconds = cp->wsec;
  }
  if (read_seconds != NULL) {
    *read_seconds = cp->rsec;
  }
}

/* ---- writing ---- */

/* Partial checksums of this rank's share: sharded rows, and (rank 0) the replicated
 * entries, packed into cp->pack on the way. */
static int local_sums_(sagd_checkpointer cp) {
  sagd_state st = cp->st;
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    uint64_t s = 0;
    if (e->kind == 'S') {
      s = sagd_checksum_rows(e->buf, e->row0, e->nrows, e->cols);
    } else if (cp->rank == 0) {
      double *dst = cp->pack + e->offset;
      if (e->kind == 'C') {
        SAGD_CALL(counter_get_(e, dst));
      } else if (e->cols > 0) {
        memcpy(dst, e->buf, e->cols * sizeof(double));
      }
      s = sagd_checksum_row(0, dst, e->cols);
    }
    cp->sums[i] = s;
  }
  return SAGD_OK;
}

/* Everything up to the closed, fsync'ed DIR/checkpoint.h5.tmp. */
static int write_tmp_(sagd_checkpointer cp, sagd_checkpoint_summary *s, const char *manifest) {
  const sagd_run_info *info = cp->info;
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_runfile_begin(info, CK_NAME, &f));
  int rc = SAGD_OK;
  char ck[32], wall[64];
  snprintf(wall, sizeof wall, "%.6f", s->wall_seconds);
  s->wall_seconds = strtod(wall, NULL); /* exactly what the file will say */
  rc = sagd_h5_read_attr_string(f, "/meta", "created", &s->created);
  if (rc == SAGD_OK) {
    snprintf(ck, sizeof ck, "%016" PRIx64, meta_checksum_(s, manifest));
    rc = sagd_h5_attr_string(f, "/meta", "kind", "checkpoint");
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_attr_string(f, "/meta", "phase", s->phase);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_attr_int(f, "/meta", "iteration", (int64_t)s->iteration);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_attr_string(f, "/meta", "wall_seconds", wall);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_attr_string(f, "/meta", "manifest", manifest);
  }
  if (rc == SAGD_OK) {
    rc = sagd_h5_attr_string(f, "/meta", "checksum", ck);
  }
  sagd_state st = cp->st;
  if (rc == SAGD_OK) { /* rank 0 writes the packed replicated row */
    rc = sagd_h5_write_rows(f, "/state/replicated", 1, st->rep_total, 0, cp->rank == 0 ? 1 : 0,
                            cp->pack);
  }
  for (size_t i = 0; i < st->n && rc == SAGD_OK; i++) {
    const ck_entry *e = &st->e[i];
    if (e->kind == 'S') {
      char dp[CK_NAME_MAX + 16];
      dset_path_(e->name, dp, sizeof dp);
      rc = sagd_h5_write_rows(f, dp, e->rows, e->cols, e->row0, e->nrows, e->buf);
    }
  }
  if (rc == SAGD_OK && cp->delay_ms > 0) {
    usleep((useconds_t)cp->delay_ms * 1000u);
  }
  if (rc != SAGD_OK) {
    sagd_h5_close(&f);
    return rc;
  }
  SAGD_CALL(sagd_runfile_finish(info, CK_NAME, &f));
  return SAGD_OK;
}

/* The reopened file must hold exactly what was meant: same manifest, every checksum. */
static int verify_tmp_(sagd_checkpointer cp, const char *manifest) {
  sagd_checkpoint_summary s;
  SAGD_CALL(sagd_checkpoint_verify(cp->comm, cp->tmp, &s));
  size_t n = s.nentries;
  int same = n == cp->st->n;
  for (size_t i = 0; same && i < n; i++) {
    same = s.entries[i].checksum == cp->ents[i].checksum &&
           strcmp(s.entries[i].name, cp->ents[i].name) == 0;
  }
  sagd_checkpoint_summary_free(&s);
  (void)manifest;
  SAGD_CHECK(same, SAGD_ERR_IO, "checkpoint '%s' read back differs from what was written",
             cp->tmp);
  return SAGD_OK;
}

int sagd_checkpointer_write(sagd_checkpointer cp, uint64_t iteration, const char *phase) {
  double t0 = now_();
  sagd_state st = cp->st;
  SAGD_CALL(local_sums_(cp));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cp->sums, (int)st->n, MPI_UINT64_T, MPI_SUM,
                               cp->comm));
  double bytes = 0;
  for (size_t i = 0; i < st->n; i++) {
    sagd_checkpoint_entry *e = &cp->ents[i];
    snprintf(e->name, sizeof e->name, "%s", st->e[i].name);
    e->kind = st->e[i].kind;
    e->rows = st->e[i].rows;
    e->cols = st->e[i].cols;
    e->offset = st->e[i].kind == 'S' ? 0 : st->e[i].offset;
    e->checksum = cp->sums[i];
    bytes += 8.0 * (double)e->rows * (double)e->cols;
  }
  char *manifest = manifest_text_(cp->ents, st->n);
  SAGD_CHECK(manifest != NULL, SAGD_ERR_MEM, "cannot allocate the checkpoint manifest");

  /* Replicated metadata must be identical on every rank: rank 0's phase and clock. */
  char ph[256];
  snprintf(ph, sizeof ph, "%s", phase != NULL ? phase : "");
  double wall = sagd_checkpointer_wall(cp);
  int rc = SAGD_OK;
  int mpierr = MPI_Bcast(ph, (int)sizeof ph, MPI_CHAR, 0, cp->comm);
  if (mpierr == MPI_SUCCESS) {
    mpierr = MPI_Bcast(&wall, 1, MPI_DOUBLE, 0, cp->comm);
  }
  if (mpierr != MPI_SUCCESS) {
    free(manifest);
    return sagd_error_mpi(mpierr, "MPI_Bcast", __FILE__, __LINE__, __func__);
  }
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sagd_config_hash(cp->info->cfg));
  char sv[64];
#ifdef SAGD_VERSION
  snprintf(sv, sizeof sv, "%s", SAGD_VERSION);
#else
  snprintf(sv, sizeof sv, "unknown");
#endif
  sagd_checkpoint_summary s;
  memset(&s, 0, sizeof s);
  s.format_version = SAGD_FORMAT_VERSION;
  s.experiment = (char *)sagd_config_string(cp->info->cfg, "run", "experiment");
  s.config = (char *)sagd_config_text(cp->info->cfg);
  s.config_hash = hash;
  s.n_ranks = cp->size;
  s.phase = ph;
  s.iteration = iteration;
  s.wall_seconds = wall;
  s.sagd_version = sv;
  rc = write_tmp_(cp, &s, manifest);
  free(s.created);
  if (rc == SAGD_OK) {
    rc = verify_tmp_(cp, manifest);
  }
  free(manifest);
  /* The checkpoint counts only if every rank succeeded. */
  int ok = rc == SAGD_OK, all_ok = 0;
  SAGD_CHECK_MPI(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, cp->comm));
  if (!ok) {
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  SAGD_CHECK(all_ok, SAGD_ERR_IO, "checkpoint '%s' was not completed: another rank failed "
             "(see its message); the previous checkpoint is kept", cp->tmp);
  SAGD_CALL(sagd_runfile_publish(cp->info, CK_NAME, !cp->newest_damaged));
  cp->newest_damaged = 0;
  cp->nwritten++;
  cp->bytes += bytes;
  cp->wsec += now_() - t0;
  if (cp->rank == 0) {
    cp->t_last = now_();
  }
  return SAGD_OK;
}

int sagd_checkpointer_tick(sagd_checkpointer cp, uint64_t iteration, const char *phase,
                           int force) {
  int flags[2] = {(int)ck_signal_, 0};
  if (cp->rank == 0 && cp->seconds > 0 && now_() - cp->t_last >= cp->seconds) {
    flags[1] = 1; /* rank 0's clock decides for everyone */
  }
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, cp->comm));
  int every_due = cp->every > 0 && iteration > 0 && iteration % cp->every == 0 &&
                  !(cp->have_last_every && cp->last_every == iteration);
  if (!(force || flags[0] || flags[1] || every_due)) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_checkpointer_write(cp, iteration, phase));
  if (every_due) {
    cp->last_every = iteration;
    cp->have_last_every = 1;
  }
  if (flags[0] != 0) {
    ck_signal_ = 0;
    SAGD_FAIL(SAGD_STOPPED, "stopped by %s at iteration %" PRIu64 " (%s): checkpoint written "
              "to '%s'; run the same command again to resume (exit status 75)",
              signame_(flags[0]), iteration, phase != NULL ? phase : "", cp->path);
  }
  return SAGD_OK;
}

/* ---- reading ---- */

/* Read the registered entries from an open checkpoint, checking every checksum. */
static int load_data_(sagd_checkpointer cp, sagd_h5 f, const char *path,
                      const sagd_checkpoint_summary *s) {
  sagd_state st = cp->st;
  /* shapes first: an incompatible file is refused before anything is read */
  for (size_t i = 0; i < st->n; i++) {
    const ck_entry *e = &st->e[i];
    const sagd_checkpoint_entry *m = NULL;
    for (size_t j = 0; j < s->nentries && m == NULL; j++) {
      if (strcmp(s->entries[j].name, e->name) == 0) {
        m = &s->entries[j];
      }
    }
    SAGD_CHECK(m != NULL, SAGD_ERR_CORRUPT,
               "checkpoint '%s' has no '%s': it was written by another version of this "
               "experiment", path, e->name);
    SAGD_CHECK(m->kind == e->kind && m->rows == e->rows && m->cols == e->cols &&
                   (e->kind == 'S' || m->offset == e->offset),
               SAGD_ERR_CORRUPT,
               "checkpoint '%s' holds '%s' as %c[%zu x %zu]; this run expects %c[%zu x %zu]",
               path, e->name, m->kind, m->rows, m->cols, e->kind, e->rows, e->cols);
    cp->ents[i] = *m;
  }
  size_t total = 0;
  SAGD_CALL(manifest_replicated_(s, path, &total));
  SAGD_CHECK(total == st->rep_total, SAGD_ERR_CORRUPT,
             "checkpoint '%s' holds %zu replicated values; this run expects %zu", path, total,
             st->rep_total);
  /* every rank reads the replicated row and checks each entry's slice itself */
  int bad_local = 0;
  int rc = sagd_h5_read_rows(f, "/state/replicated", 0, 1, total, cp->pack);
  for (size_t i = 0; i < st->n && rc == SAGD_OK; i++) {
    const ck_entry *e = &st->e[i];
    cp->sums[i] = 0;
    if (e->kind == 'S') {
      char dp[CK_NAME_MAX + 16];
      dset_path_(e->name, dp, sizeof dp);
      rc = sagd_h5_read_rows(f, dp, e->row0, e->nrows, e->cols, e->buf);
      if (rc == SAGD_OK) {
        cp->sums[i] = sagd_checksum_rows(e->buf, e->row0, e->nrows, e->cols);
      }
      continue;
    }
    const double *src = cp->pack + e->offset;
    int bad = sagd_checksum_row(0, src, e->cols) != cp->ents[i].checksum;
    if (e->kind == 'C') {
      double d = src[0];
      bad |= !(d >= 0 && d <= 9007199254740992.0 && d == (double)(uint64_t)d);
      if (!bad) {
        counter_set_(e, d);
      }
    } else if (!bad && e->cols > 0) {
      memcpy(e->buf, src, e->cols * sizeof(double));
    }
    bad_local |= bad;
  }
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(rc == SAGD_ERR_MEM ? rc : SAGD_ERR_CORRUPT, "checkpoint '%s' is damaged: %s",
              path, msg);
  }
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cp->sums, (int)st->n, MPI_UINT64_T, MPI_SUM,
                               cp->comm));
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &bad_local, 1, MPI_INT, MPI_MAX, cp->comm));
  SAGD_CHECK(!bad_local, SAGD_ERR_CORRUPT,
             "checkpoint '%s': a replicated state entry fails its checksum: the file is "
             "damaged",
             path);
  for (size_t i = 0; i < st->n; i++) {
    SAGD_CHECK(st->e[i].kind != 'S' || cp->sums[i] == cp->ents[i].checksum, SAGD_ERR_CORRUPT,
               "checkpoint '%s': dataset /state/%s fails its checksum (stored %016" PRIx64
               ", computed %016" PRIx64 "): the file is damaged",
               path, st->e[i].name, cp->ents[i].checksum, cp->sums[i]);
  }
  return SAGD_OK;
}

/* Try one file: SAGD_OK (loaded), SAGD_ERR_CONFIG (wrong config: no fallback), or another
 * code (damaged or incompatible) with the message recorded. */
static int load_(sagd_checkpointer cp, const char *path, sagd_checkpoint_summary *s) {
  sagd_h5 f = NULL;
  char *manifest = NULL;
  SAGD_CALL(open_meta_(cp->comm, path, &f, s, &manifest));
  free(manifest);
  int rc = sagd_checkpoint_same_config(cp->info->cfg, s->config, path);
  if (rc == SAGD_OK) {
    rc = load_data_(cp, f, path, s);
  }
  int rc2 = sagd_h5_close(&f);
  if (rc != SAGD_OK) {
    sagd_checkpoint_summary_free(s);
    return rc;
  }
  if (rc2 != SAGD_OK) {
    sagd_checkpoint_summary_free(s);
    return rc2;
  }
  return SAGD_OK;
}

static void remove_old_(sagd_checkpointer cp) {
  char result[PATH_MAX];
  if (cp->rank != 0 ||
      sagd_runfile_path(cp->info->out_dir, "result.h5", "", result, sizeof result) != 0) {
    sagd_error_clear();
    return;
  }
  const char *paths[4] = {cp->path, cp->prev, cp->tmp, result};
  for (int i = 0; i < 4; i++) {
    if (unlink(paths[i]) == 0 && !cp->info->quiet) {
      printf("starting over: removed '%s'\n", paths[i]);
    }
  }
  fflush(stdout);
}

int sagd_checkpointer_resume(sagd_checkpointer cp, int *resumed, char *phase, size_t cap) {
  *resumed = 0;
  if (phase != NULL && cap > 0) {
    phase[0] = '\0';
  }
  const char *mode = cp->info->resume != NULL ? cp->info->resume : "auto";
  if (strcmp(mode, "never") == 0) {
    remove_old_(cp);
    SAGD_CHECK_MPI(MPI_Barrier(cp->comm));
    return SAGD_OK;
  }
  double t0 = now_();
  sagd_checkpoint_summary s;
  memset(&s, 0, sizeof s);
  const char *used = NULL;
  int rc;
  if (strcmp(mode, "auto") != 0) { /* a named file: no fallback */
    const char *paths[1] = {mode};
    int ex = 0;
    SAGD_CALL(exists_bcast_(cp->comm, 1, paths, &ex));
    SAGD_CHECK(ex, SAGD_ERR_ARG, "--resume '%s': no such file", mode);
    rc = load_(cp, mode, &s);
    if (rc != SAGD_OK) {
      char msg[2048];
      snprintf(msg, sizeof msg, "%s", sagd_error_message());
      SAGD_FAIL(rc, "cannot resume from '%s': %s", mode, msg);
    }
    used = mode;
  } else {
    const char *paths[3] = {cp->path, cp->prev, cp->tmp};
    int ex[3] = {0, 0, 0};
    SAGD_CALL(exists_bcast_(cp->comm, 3, paths, ex));
    if (ex[2] && cp->rank == 0) {
      fprintf(stderr, "sagd: note: ignoring '%s', left by an interrupted checkpoint write\n",
              cp->tmp);
    }
    if (!ex[0] && !ex[1]) {
      return SAGD_OK; /* nothing to resume: a fresh start */
    }
    char why[2048] = "";
    rc = SAGD_ERR_CORRUPT;
    if (ex[0]) {
      rc = load_(cp, cp->path, &s);
      SAGD_CALL(rc == SAGD_ERR_CONFIG ? rc : SAGD_OK);
      if (rc == SAGD_OK) {
        used = cp->path;
      } else {
        snprintf(why, sizeof why, "%s", sagd_error_message());
        sagd_error_clear();
      }
    } else {
      snprintf(why, sizeof why, "'%s' is missing", cp->path);
    }
    if (used == NULL) {
      SAGD_CHECK(ex[1], SAGD_ERR_CORRUPT,
                 "cannot resume: %s, and there is no '%s' to fall back to; nothing was "
                 "changed (start over with --resume never --force)", why, cp->prev);
      if (cp->rank == 0) {
        fprintf(stderr, "sagd: warning: %s; falling back to the previous checkpoint '%s'\n",
                why, cp->prev);
      }
      rc = load_(cp, cp->prev, &s);
      if (rc == SAGD_ERR_CONFIG) {
        return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
      }
      if (rc != SAGD_OK) {
        char why2[2048];
        snprintf(why2, sizeof why2, "%s", sagd_error_message());
        SAGD_FAIL(SAGD_ERR_CORRUPT, "cannot resume: both checkpoints are damaged: %s; and %s. "
                  "Both files were left untouched (start over with --resume never --force, "
                  "or name a good checkpoint with --resume FILE)", why, why2);
      }
      used = cp->prev;
      cp->newest_damaged = ex[0];
    }
  }
  *resumed = 1;
  cp->wall_base = s.wall_seconds;
  cp->t_create = now_();
  cp->rsec += cp->t_create - t0;
  if (phase != NULL && cap > 0) {
    snprintf(phase, cap, "%s", s.phase);
  }
  if (cp->rank == 0 && !cp->info->quiet) {
    printf("resuming from '%s': %s, iteration %" PRIu64 ", written by %" PRId64
           " rank(s) at %s (%.3g MB read in %.3gs)\n",
           used, s.phase, s.iteration, s.n_ranks, s.created, s.bytes / 1e6,
           cp->rsec);
    fflush(stdout);
  }
  sagd_checkpoint_summary_free(&s);
  return SAGD_OK;
}
