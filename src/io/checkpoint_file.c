/* Checkpoint files: summaries, the manifest, /meta and its checksum, and the
 * verification of every dataset (see include/sagd/checkpoint.h). */
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

#include "checkpoint_impl.h"
#include "sagd/error.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

double ck_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
char *ck_manifest_text(const sagd_checkpoint_entry *e, size_t n) {
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

int ck_manifest_parse(const char *text, const char *path, sagd_checkpoint_entry **out,
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
           ck_name_ok(name) && (kind == 'R' || kind == 'C' || kind == 'S') &&
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
uint64_t ck_meta_checksum(const sagd_checkpoint_summary *s, const char *manifest) {
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
  return ck_fmix64(h);
}

/* Read and check /meta of an open checkpoint: fills s, returns the manifest text. */
static int ck_read_meta(sagd_h5 f, const char *path, sagd_checkpoint_summary *s,
                      char **manifest) {
  *manifest = NULL;
  char *kind = NULL, *wall = NULL, *ck = NULL;
  int64_t iter = 0;
  int rc = SAGD_OK;
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "kind", &kind));
  if (strcmp(kind, "checkpoint") != 0) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "'%s' is a '%s' file, not a checkpoint", path, kind);
    goto done;
  }
  SAGD_TRY(rc, done, sagd_h5_read_attr_int(f, "/meta", "format_version", &s->format_version));
  if (s->format_version != SAGD_FORMAT_VERSION) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "checkpoint '%s' has format version %" PRId64 "; this sagd reads "
                        "version %d", path, s->format_version, SAGD_FORMAT_VERSION);
    goto done;
  }
  const struct {
    const char *name;
    char **dst;
  } strs[] = {{"experiment", &s->experiment}, {"config", &s->config},
              {"config_hash", &s->config_hash}, {"created", &s->created},
              {"phase", &s->phase},           {"sagd_version", &s->sagd_version},
              {"wall_seconds", &wall},        {"manifest", manifest},
              {"checksum", &ck}};
  for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
    SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", strs[k].name, strs[k].dst));
  }
  SAGD_TRY(rc, done, sagd_h5_read_attr_int(f, "/meta", "n_ranks", &s->n_ranks));
  SAGD_TRY(rc, done, sagd_h5_read_attr_int(f, "/meta", "iteration", &iter));
  s->iteration = (uint64_t)iter;
  s->wall_seconds = strtod(wall, NULL);
  char want[32];
  snprintf(want, sizeof want, "%016" PRIx64, ck_meta_checksum(s, *manifest));
  if (strcmp(want, ck) != 0) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "checkpoint '%s': its metadata fails the checksum (stored %s, "
                        "computed %s): the file is damaged", path, ck, want);
    goto done;
  }
  SAGD_TRY(rc, done, ck_manifest_parse(*manifest, path, &s->entries, &s->nentries));
  s->bytes = 0;
  for (size_t i = 0; i < s->nentries; i++) {
    s->bytes += 8.0 * (double)s->entries[i].rows * (double)s->entries[i].cols;
  }
done:
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
int ck_open_meta(MPI_Comm comm, const char *path, sagd_h5 *f, sagd_checkpoint_summary *s,
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
  rc = ck_read_meta(*f, path, s, manifest);
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

void ck_dset_path(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "/state/%s", name);
}

/* Columns of /state/replicated per the manifest; offsets must follow each other. */
int ck_manifest_replicated(const sagd_checkpoint_summary *s, const char *path,
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
int ck_verify_data(MPI_Comm comm, sagd_h5 f, const char *path,
                        const sagd_checkpoint_summary *s) {
  int rank, size;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  size_t n = s->nentries, total = 0;
  SAGD_CALL(ck_manifest_replicated(s, path, &total));
  uint64_t *sum = calloc(n > 0 ? n : 1, sizeof *sum);
  SAGD_CHECK(sum != NULL, SAGD_ERR_MEM, "cannot allocate %zu checksums", n);
  /* one buffer for every read below, allocated before the first collective read and its
   * success agreed on: a rank that cannot allocate must not leave the others in a read */
  size_t bufcap = rank == 0 ? total : 0;
  for (size_t i = 0; i < n; i++) {
    const sagd_checkpoint_entry *e = &s->entries[i];
    if (e->kind == 'S' && e->cols > 0) {
      const size_t maxshare = (e->rows + (size_t)size - 1) / (size_t)size;
      size_t ch = CK_CHUNK_DOUBLES / e->cols;
      ch = ch > 0 ? ch : 1;
      const size_t need = (ch < maxshare ? ch : maxshare) * e->cols;
      bufcap = need > bufcap ? need : bufcap;
    }
  }
  double *buf = malloc((bufcap > 0 ? bufcap : 1) * sizeof *buf);
  int have = buf != NULL, all = 0;
  int mpierr0 = MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, comm);
  if (mpierr0 != MPI_SUCCESS || !all) {
    free(buf);
    free(sum);
    if (mpierr0 != MPI_SUCCESS) {
      return sagd_error_mpi(mpierr0, "MPI_Allreduce", __FILE__, __LINE__, __func__);
    }
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu doubles to verify '%s'%s", bufcap, path,
              have ? " on another rank" : "");
  }
  int rc = sagd_h5_read_rows(f, "/state/replicated", 0, rank == 0 ? 1 : 0, total, buf);
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
    size_t nchunks = (maxshare + ch - 1) / ch; /* buf holds min(ch, maxshare) rows */
    char dp[CK_NAME_MAX + 16];
    ck_dset_path(e->name, dp, sizeof dp);
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
  SAGD_CALL(ck_open_meta(comm, path, &f, &s, &manifest));
  free(manifest);
  int rc = ck_verify_data(comm, f, path, &s);
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
