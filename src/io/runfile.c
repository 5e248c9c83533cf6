/* Run directories and atomically written run files (see include/sagd/runfile.h). */
#include "sagd/runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "sagd/error.h"

#ifndef SAGD_VERSION
#define SAGD_VERSION "unknown"
#endif
#ifndef SAGD_GIT_DESCRIBE
#define SAGD_GIT_DESCRIBE "unknown"
#endif

/* Rank-0 check of `dir`: 0 if fine, else errno-like code and a reason in why. */
static int check_dir_local_(const char *dir, char *why, size_t cap) {
  char path[PATH_MAX];
  if (dir == NULL || dir[0] == '\0') {
    snprintf(why, cap, "the output directory name is empty");
    return -1;
  }
  if (strlen(dir) >= sizeof path) {
    snprintf(why, cap, "the path is too long");
    return -1;
  }
  snprintf(path, sizeof path, "%s", dir);
  struct stat st;
  if (stat(path, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      snprintf(why, cap, "it exists and is not a directory");
      return -1;
    }
    if (access(path, W_OK | X_OK) != 0) {
      snprintf(why, cap, "the directory is not writable (%s)", strerror(errno));
      return -1;
    }
    return 0;
  }
  /* Walk up to the nearest existing ancestor: it must be a writable directory. */
  while (1) {
    char *slash = strrchr(path, '/');
    if (slash == NULL) {
      snprintf(path, sizeof path, ".");
    } else if (slash == path) {
      path[1] = '\0';
    } else {
      *slash = '\0';
    }
    if (stat(path, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "'%s' is not a directory", path);
        return -1;
      }
      if (access(path, W_OK | X_OK) != 0) {
        snprintf(why, cap, "'%s' is not writable (%s)", path, strerror(errno));
        return -1;
      }
      return 0;
    }
    if (errno != ENOENT) {
      snprintf(why, cap, "cannot examine '%s' (%s)", path, strerror(errno));
      return -1;
    }
    if (strcmp(path, ".") == 0 || strcmp(path, "/") == 0) {
      snprintf(why, cap, "no existing parent directory");
      return -1;
    }
  }
}

int sagd_runfile_check_output(MPI_Comm comm, const char *dir) {
  int rank;
  char why[512] = "";
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  int bad = 0;
  if (rank == 0) {
    bad = check_dir_local_(dir, why, sizeof why) != 0;
  }
  SAGD_CHECK_MPI(MPI_Bcast(&bad, 1, MPI_INT, 0, comm));
  SAGD_CHECK_MPI(MPI_Bcast(why, (int)sizeof why, MPI_CHAR, 0, comm));
  SAGD_CHECK(!bad, SAGD_ERR_OUTPUT, "output directory '%s' cannot be written: %s", dir, why);
  const char *sync = getenv("SAGD_FSYNC");
  SAGD_CHECK(sync == NULL || strcmp(sync, "0") == 0 || strcmp(sync, "1") == 0, SAGD_ERR_CONFIG,
             "environment variable SAGD_FSYNC = '%s': expected 1 (fsync every run file, the "
             "default) or 0 (skip fsync)",
             sync);
  return SAGD_OK;
}

static int mkdir_p_(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        return -1;
      }
      *p = '/';
    }
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    return -1;
  }
  return 0;
}

int sagd_runfile_begin(const sagd_run_info *info, const char *name, sagd_h5 *f) {
  int err = 0;
  char reason[256] = "";
  if (info->rank == 0 && mkdir_p_(info->out_dir) != 0) {
    err = 1;
    snprintf(reason, sizeof reason, "%s", strerror(errno));
  }
  SAGD_CHECK_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, info->comm));
  SAGD_CHECK_MPI(MPI_Bcast(reason, (int)sizeof reason, MPI_CHAR, 0, info->comm));
  SAGD_CHECK(!err, SAGD_ERR_OUTPUT, "cannot create output directory '%s': %s", info->out_dir,
             reason);
  SAGD_CHECK(strlen(info->out_dir) + strlen(name) + 8 < PATH_MAX, SAGD_ERR_OUTPUT,
             "output path '%s/%s' is too long (limit %d bytes)", info->out_dir, name, PATH_MAX);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s.tmp", info->out_dir, name);
  SAGD_CALL(sagd_h5_create(info->comm, path, f));

  /* "created": rank 0's clock, so every rank writes the same attribute value. */
  char created[64] = "";
  if (info->rank == 0) {
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  }
  SAGD_CHECK_MPI(MPI_Bcast(created, (int)sizeof created, MPI_CHAR, 0, info->comm));
  /* "blas": the OpenBLAS build and kernels (they decide the bits of every GEMM), rank 0's */
  char blas[256] = "";
  if (info->rank == 0) {
    const char *cfg = openblas_get_config();
    snprintf(blas, sizeof blas, "%s", cfg != NULL ? cfg : "unknown");
  }
  SAGD_CHECK_MPI(MPI_Bcast(blas, (int)sizeof blas, MPI_CHAR, 0, info->comm));
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sagd_config_hash(info->cfg));
  SAGD_CALL(sagd_h5_attr_int(*f, "/meta", "format_version", SAGD_FORMAT_VERSION));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "sagd_version", SAGD_VERSION));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "git_describe", SAGD_GIT_DESCRIBE));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "experiment",
                                sagd_config_string(info->cfg, "run", "experiment")));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "config", sagd_config_text(info->cfg)));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "config_hash", hash));
  SAGD_CALL(sagd_h5_attr_int(*f, "/meta", "seed", (int64_t)info->key.seed));
  SAGD_CALL(sagd_h5_attr_int(*f, "/meta", "replication", (int64_t)info->key.replication));
  SAGD_CALL(sagd_h5_attr_int(*f, "/meta", "n_ranks", info->size));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "created", created));
  SAGD_CALL(sagd_h5_attr_string(*f, "/meta", "blas", blas));
  return SAGD_OK;
}

static int fsync_path_(const char *path, int directory) {
  if (!sagd_h5_fsync_wanted()) { /* SAGD_FSYNC=0 (other values: check_output) */
    return 0;
  }
  int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) {
    return -1;
  }
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

static double now_(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds after which closing and syncing one file is reported as slow (once per process). */
#define SLOW_SYNC_S 30.0

int sagd_runfile_path(const char *dir, const char *name, const char *suffix, char *buf,
                      size_t cap) {
  int len = snprintf(buf, cap, "%s/%s%s", dir, name, suffix);
  SAGD_CHECK(len >= 0 && (size_t)len < cap, SAGD_ERR_OUTPUT,
             "output path '%s/%s%s' is too long (limit %zu bytes)", dir, name, suffix, cap);
  return SAGD_OK;
}

int sagd_runfile_finish(const sagd_run_info *info, const char *name, sagd_h5 *f) {
  const double t0 = now_();
  SAGD_CALL(sagd_h5_close(f)); /* every rank syncs its part */
  char tmp[PATH_MAX];
  SAGD_CALL(sagd_runfile_path(info->out_dir, name, ".tmp", tmp, sizeof tmp));
  int err = 0;
  char reason[PATH_MAX + 128] = "";
  if (info->rank == 0 && fsync_path_(tmp, 0) != 0) {
    err = 1;
    snprintf(reason, sizeof reason, "fsync of '%s' failed: %s", tmp, strerror(errno));
  }
  static int told = 0;
  const double s = now_() - t0;
  if (info->rank == 0 && !err && s > SLOW_SYNC_S && sagd_h5_fsync_wanted() && !told) {
    told = 1;
    fprintf(stderr,
            "sagd: note: closing and syncing '%s' took %.0f s: the file system is slow or "
            "overloaded; SAGD_FSYNC=0 skips the syncs, at the price of the newest file on a "
            "power failure or a node crash\n",
            tmp, s);
  }
  SAGD_CHECK_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, info->comm));
  SAGD_CHECK_MPI(MPI_Bcast(reason, (int)sizeof reason, MPI_CHAR, 0, info->comm));
  SAGD_CHECK(!err, SAGD_ERR_IO, "%s", reason);
  return SAGD_OK;
}

/* Rank 0: DIR/NAME → DIR/NAME.prev (hard link, else rename), then DIR/NAME.tmp → DIR/NAME. */
static int publish_local_(const char *tmp, const char *dst, const char *prev, int keep_prev,
                          char *reason, size_t cap) {
  if (keep_prev && access(dst, F_OK) == 0) {
    if (unlink(prev) != 0 && errno != ENOENT) {
      snprintf(reason, cap, "cannot remove the old '%s': %s", prev, strerror(errno));
      return -1;
    }
    if (link(dst, prev) != 0) {
      int e = errno;
      if (e != EPERM && e != EXDEV && e != ENOTSUP && e != EOPNOTSUPP && e != EMLINK) {
        snprintf(reason, cap, "cannot keep '%s' as '%s': %s", dst, prev, strerror(e));
        return -1;
      }
      if (rename(dst, prev) != 0) { /* no hard links here: a plain rename */
        snprintf(reason, cap, "cannot keep '%s' as '%s': %s", dst, prev, strerror(errno));
        return -1;
      }
    }
  }
  if (rename(tmp, dst) != 0) {
    snprintf(reason, cap, "cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
    return -1;
  }
  return 0;
}

int sagd_runfile_publish(const sagd_run_info *info, const char *name, int keep_prev) {
  char tmp[PATH_MAX], dst[PATH_MAX], prev[PATH_MAX];
  SAGD_CALL(sagd_runfile_path(info->out_dir, name, ".tmp", tmp, sizeof tmp));
  SAGD_CALL(sagd_runfile_path(info->out_dir, name, "", dst, sizeof dst));
  SAGD_CALL(sagd_runfile_path(info->out_dir, name, ".prev", prev, sizeof prev));
  int err = 0;
  char reason[3 * PATH_MAX] = "";
  if (info->rank == 0) {
    err = publish_local_(tmp, dst, prev, keep_prev, reason, sizeof reason) != 0;
    if (!err) {
      fsync_path_(info->out_dir, 1);
    }
  }
  SAGD_CHECK_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, info->comm));
  if (err) { /* only then is the (long) reason needed on every rank */
    SAGD_CHECK_MPI(MPI_Bcast(reason, (int)sizeof reason, MPI_CHAR, 0, info->comm));
  }
  SAGD_CHECK(!err, SAGD_ERR_IO, "%s", reason);
  return SAGD_OK;
}

int sagd_runfile_commit(const sagd_run_info *info, const char *name, int keep_prev,
                        sagd_h5 *f) {
  SAGD_CALL(sagd_runfile_finish(info, name, f));
  SAGD_CALL(sagd_runfile_publish(info, name, keep_prev));
  return SAGD_OK;
}

int sagd_read_text_data(const char *path, double **x, size_t *n) {
  FILE *fp = fopen(path, "r");
  SAGD_CHECK(fp != NULL, SAGD_ERR_DATA, "cannot read data file '%s': %s", path,
             strerror(errno));
  size_t cap = 1024, len = 0, lineno = 0;
  double *v = malloc(cap * sizeof(double));
  char line[4096];
  int rc = SAGD_OK;
  while (rc == SAGD_OK && fgets(line, sizeof line, fp) != NULL) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash != NULL) {
      *hash = '\0';
    }
    for (char *tok = strtok(line, " \t\r\n,"); tok != NULL; tok = strtok(NULL, " \t\r\n,")) {
      char *end = NULL;
      errno = 0;
      double val = strtod(tok, &end);
      if (end == tok || *end != '\0' || errno == ERANGE) {
        rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                            "data file '%s' line %zu: '%s' is not a number", path, lineno,
                            tok);
        break;
      }
      if (len == cap) {
        cap *= 2;
        double *nv = realloc(v, cap * sizeof(double));
        if (nv == NULL) {
          rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                              "cannot grow the data buffer to %zu values", cap);
          break;
        }
        v = nv;
      }
      v[len++] = val;
    }
  }
  fclose(fp);
  if (rc == SAGD_OK && len == 0) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "data file '%s' holds no observations: expected at least 1", path);
  }
  if (rc != SAGD_OK) {
    free(v);
    return rc;
  }
  *x = v;
  *n = len;
  return SAGD_OK;
}

int sagd_runfile_verify(sagd_h5 f, size_t *ndatasets, size_t *nchecksummed) {
  SAGD_CALL(sagd_h5_verify(f, ndatasets, nchecksummed));
  char *text = NULL, *hash = NULL;
  int rc = SAGD_OK;
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "config", &text));
  SAGD_TRY(rc, done, sagd_h5_read_attr_string(f, "/meta", "config_hash", &hash));
  char want[24];
  snprintf(want, sizeof want, "%016llx", (unsigned long long)sagd_config_text_hash(text));
  if (strcmp(want, hash) != 0) {
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "attribute /meta/config is damaged (its hash %s does not match "
                        "config_hash %s)", want, hash);
  }
done:
  free(text);
  free(hash);
  return rc;
}
