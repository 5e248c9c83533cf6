/* Parallel HDF5 helpers: replicated arrays, scalars, attributes and a sharded [rows, cols]
 * dataset with uneven shards are written, the file is closed and reopened, and everything
 * is read back and compared bit for bit (rows also with a different split than the write
 * split). Damaged files (not HDF5, truncated) must give SAGD_ERR_CORRUPT.
 *
 * Usage: test_h5 [KEEP.h5] — with a path, the main file is written there and kept (for the
 * h5py/h5dump interoperability script); test_h5 --foreign FILE reads the file that script
 * writes with h5py (variable-length UTF-8 string, int32 attribute, int32 dataset). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sagd/h5.h"
#include "testutil.h"

static int rank_, size_;

/* A value no rank could guess from another's: exact doubles compared with ==. */
static double cell(size_t i, size_t j) { return sin((double)(i * 7 + j)) * 1e3 + (double)i; }

/* Uneven split of n rows: quadratic bounds, so shard sizes differ (1, 3, 6 for 10 rows on
 * 3 ranks). */
static void split_quad(size_t n, int r, int p, size_t *r0, size_t *nr) {
  size_t a = n * (size_t)r * (size_t)r / ((size_t)p * (size_t)p);
  size_t b = n * (size_t)(r + 1) * (size_t)(r + 1) / ((size_t)p * (size_t)p);
  *r0 = a;
  *nr = b - a;
}

/* Even (linear) split, for reading back with a different split. */
static void split_lin(size_t n, int r, int p, size_t *r0, size_t *nr) {
  size_t a = n * (size_t)r / (size_t)p, b = n * (size_t)(r + 1) / (size_t)p;
  *r0 = a;
  *nr = b - a;
}

/* Rank 0 makes a temporary file name and every rank gets it. */
static void shared_tmpname(char *path, size_t cap, const char *stem) {
  if (rank_ == 0) {
    snprintf(path, cap, "/tmp/sagd_test_%s_XXXXXX", stem);
    int fd = mkstemp(path);
    if (fd < 0) {
      perror("mkstemp");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    close(fd);
  }
  MPI_Bcast(path, (int)cap, MPI_CHAR, 0, MPI_COMM_WORLD);
}

/* Every rank must see the same error code; the message must contain `needle`. */
static void expect_error(int rc, int code, const char *needle, int line) {
  if (rc != code) {
    fprintf(stderr, "[rank %d] line %d: expected %s, got %d (%s)\n", rank_, line,
            sagd_strerror(code), rc, sagd_error_message());
    test_failures_++;
  } else if (needle != NULL && strstr(sagd_error_message(), needle) == NULL) {
    fprintf(stderr, "[rank %d] line %d: message '%s' lacks '%s'\n", rank_, line,
            sagd_error_message(), needle);
    test_failures_++;
  }
}
#define EXPECT_ERROR(rc, code, needle) expect_error((rc), (code), (needle), __LINE__)

#define GR 10 /* global rows of the sharded dataset */
#define GC 3  /* its columns */

static void write_file(const char *path) {
  sagd_h5 f = NULL;
  REQUIRE_OK(sagd_h5_create(MPI_COMM_WORLD, path, &f));
  /* attributes, on the root, an existing group and a new nested group */
  REQUIRE_OK(sagd_h5_attr_string(f, "/meta", "config", "[sagd]\ndelta = 0.1\n"));
  REQUIRE_OK(sagd_h5_attr_string(f, "/meta", "config", "[sagd]\ndelta = 0.25\nK0 = 7\n"));
  REQUIRE_OK(sagd_h5_attr_string(f, "/meta", "empty", ""));
  REQUIRE_OK(sagd_h5_attr_string(f, "/meta", "utf8", "\xce\xb8 = (a, b)"));
  REQUIRE_OK(sagd_h5_attr_int(f, "/meta", "seed", INT64_MIN + 1));
  REQUIRE_OK(sagd_h5_attr_int(f, "/meta", "format_version", 3));
  REQUIRE_OK(sagd_h5_attr_real(f, "/meta", "pi", 3.141592653589793));
  REQUIRE_OK(sagd_h5_attr_int(f, "/", "root_attr", 17));
  REQUIRE_OK(sagd_h5_attr_int(f, "/a/b/c", "deep", 5));

  /* replicated data: other ranks pass different values, only rank 0's must land */
  double theta[5];
  for (int i = 0; i < 5; i++) {
    theta[i] = rank_ == 0 ? cell(100, (size_t)i) : -1.0;
  }
  size_t d1[1] = {5};
  REQUIRE_OK(sagd_h5_write(f, "/trace/sagd/theta", 1, d1, theta));
  double m[12];
  for (int i = 0; i < 12; i++) {
    m[i] = cell(200 + (size_t)i / 4, (size_t)i % 4);
  }
  size_t d2[2] = {3, 4};
  REQUIRE_OK(sagd_h5_write(f, "/trace/m", 2, d2, m));
  double s = -123.456;
  REQUIRE_OK(sagd_h5_write(f, "/results/loglik", 0, NULL, &s));
  size_t d0[1] = {0};
  REQUIRE_OK(sagd_h5_write(f, "/results/empty", 1, d0, NULL));
  /* overwrite with the same shape */
  for (int i = 0; i < 12; i++) {
    m[i] = -m[i];
  }
  REQUIRE_OK(sagd_h5_write(f, "/trace/m", 2, d2, m));
  /* a different shape is refused, on every rank */
  size_t d2b[2] = {4, 3};
  EXPECT_ERROR(sagd_h5_write(f, "/trace/m", 2, d2b, m), SAGD_ERR_CORRUPT, "has shape [3, 4]");
  EXPECT_ERROR(sagd_h5_write(f, "relative/path", 1, d1, theta), SAGD_ERR_ARG, "absolute path");
  EXPECT_ERROR(sagd_h5_write(f, "/trace/m/x", 1, d1, theta), SAGD_ERR_CORRUPT,
               "'/trace/m' in '");

  /* sharded rows, uneven shards */
  size_t r0, nr;
  split_quad(GR, rank_, size_, &r0, &nr);
  double *rows = malloc((nr > 0 ? nr : 1) * GC * sizeof *rows);
  for (size_t i = 0; i < nr; i++) {
    for (size_t j = 0; j < GC; j++) {
      rows[i * GC + j] = cell(r0 + i, j);
    }
  }
  REQUIRE_OK(sagd_h5_write_rows(f, "/chains/xi", GR, GC, r0, nr, rows));
  /* all rows on the last rank, none elsewhere */
  int last = rank_ == size_ - 1;
  double *all = malloc(7 * 2 * sizeof *all);
  for (size_t i = 0; i < 14; i++) {
    all[i] = cell(300 + i / 2, i % 2);
  }
  REQUIRE_OK(sagd_h5_write_rows(f, "/chains/rho", 7, 2, 0, last ? 7 : 0, last ? all : NULL));
  /* a bad row range on one rank fails on every rank, without a hang */
  int rc = sagd_h5_write_rows(f, "/chains/xi", GR, GC, last ? GR - 1 : r0, last ? 2 : nr, rows);
  CHECK(rc != SAGD_OK);
  if (last) {
    EXPECT_ERROR(rc, SAGD_ERR_ARG, "rows [9, 11) are outside [0, 10)");
  }
  free(rows);
  free(all);

  CHECK(sagd_h5_exists(f, "/trace/sagd/theta") == 1);
  CHECK(sagd_h5_exists(f, "/trace/sagd") == 1);
  CHECK(sagd_h5_exists(f, "/a/b/c") == 1);
  CHECK(sagd_h5_exists(f, "/") == 1);
  CHECK(sagd_h5_exists(f, "/trace/nope") == 0);
  CHECK(sagd_h5_exists(f, "/nope/deeper/still") == 0);
  CHECK(sagd_h5_exists(f, "/trace/m/below_a_dataset") == 0);
  REQUIRE_OK(sagd_h5_close(&f));
  CHECK(f == NULL);
  REQUIRE_OK(sagd_h5_close(&f)); /* NULL is fine */
}

static void read_file(const char *path) {
  sagd_h5 f = NULL;
  REQUIRE_OK(sagd_h5_open(MPI_COMM_WORLD, path, 0, &f));
  char *str = NULL;
  REQUIRE_OK(sagd_h5_read_attr_string(f, "/meta", "config", &str));
  CHECK(strcmp(str, "[sagd]\ndelta = 0.25\nK0 = 7\n") == 0);
  free(str);
  REQUIRE_OK(sagd_h5_read_attr_string(f, "/meta", "empty", &str));
  CHECK(strcmp(str, "") == 0);
  free(str);
  REQUIRE_OK(sagd_h5_read_attr_string(f, "/meta", "utf8", &str));
  CHECK(strcmp(str, "\xce\xb8 = (a, b)") == 0);
  free(str);
  int64_t iv = 0;
  REQUIRE_OK(sagd_h5_read_attr_int(f, "/meta", "seed", &iv));
  CHECK(iv == INT64_MIN + 1);
  REQUIRE_OK(sagd_h5_read_attr_int(f, "/", "root_attr", &iv));
  CHECK(iv == 17);
  REQUIRE_OK(sagd_h5_read_attr_int(f, "/a/b/c", "deep", &iv));
  CHECK(iv == 5);
  EXPECT_ERROR(sagd_h5_read_attr_int(f, "/meta", "nope", &iv), SAGD_ERR_CORRUPT,
               "has no attribute 'nope' on '/meta'");
  EXPECT_ERROR(sagd_h5_read_attr_int(f, "/nope", "seed", &iv), SAGD_ERR_CORRUPT, "'/nope'");
  EXPECT_ERROR(sagd_h5_read_attr_int(f, "/meta", "config", &iv), SAGD_ERR_CORRUPT,
               "expected a single integer");
  EXPECT_ERROR(sagd_h5_read_attr_string(f, "/meta", "pi", &str), SAGD_ERR_CORRUPT,
               "expected a single string");

  int nd = -1;
  size_t dims[4] = {0};
  double *d = NULL;
  REQUIRE_OK(sagd_h5_read(f, "/trace/sagd/theta", 4, &nd, dims, &d));
  CHECK(nd == 1 && dims[0] == 5);
  for (int i = 0; i < 5; i++) {
    CHECK(d[i] == cell(100, (size_t)i));
  }
  free(d);
  REQUIRE_OK(sagd_h5_read(f, "/trace/m", 2, &nd, dims, &d));
  CHECK(nd == 2 && dims[0] == 3 && dims[1] == 4);
  for (int i = 0; i < 12; i++) {
    CHECK(d[i] == -cell(200 + (size_t)i / 4, (size_t)i % 4));
  }
  free(d);
  REQUIRE_OK(sagd_h5_read(f, "/results/loglik", 0, &nd, NULL, &d));
  CHECK(nd == 0 && d[0] == -123.456);
  free(d);
  REQUIRE_OK(sagd_h5_read(f, "/results/empty", 1, &nd, dims, &d));
  CHECK(nd == 1 && dims[0] == 0 && d != NULL);
  free(d);
  EXPECT_ERROR(sagd_h5_read(f, "/trace/m", 1, &nd, dims, &d), SAGD_ERR_CORRUPT,
               "expected at most 1 dimensions");
  CHECK(d == NULL);
  EXPECT_ERROR(sagd_h5_read(f, "/trace/none", 2, &nd, dims, &d), SAGD_ERR_CORRUPT,
               "has no dataset '/trace/none'");
  EXPECT_ERROR(sagd_h5_read(f, "/trace/sagd", 2, &nd, dims, &d), SAGD_ERR_CORRUPT,
               "is not a dataset");

  /* the whole sharded dataset on every rank */
  REQUIRE_OK(sagd_h5_read(f, "/chains/xi", 2, &nd, dims, &d));
  CHECK(nd == 2 && dims[0] == GR && dims[1] == GC);
  for (size_t i = 0; i < GR; i++) {
    for (size_t j = 0; j < GC; j++) {
      CHECK(d[i * GC + j] == cell(i, j));
    }
  }
  free(d);
  /* rows with another split than the write split */
  size_t r0, nr;
  split_lin(GR, rank_, size_, &r0, &nr);
  double buf[GR * GC];
  REQUIRE_OK(sagd_h5_read_rows(f, "/chains/xi", r0, nr, GC, buf));
  for (size_t i = 0; i < nr; i++) {
    for (size_t j = 0; j < GC; j++) {
      CHECK(buf[i * GC + j] == cell(r0 + i, j));
    }
  }
  /* reversed split: rank r reads the shard of rank p-1-r */
  split_quad(GR, size_ - 1 - rank_, size_, &r0, &nr);
  REQUIRE_OK(sagd_h5_read_rows(f, "/chains/xi", r0, nr, GC, buf));
  for (size_t i = 0; i < nr; i++) {
    for (size_t j = 0; j < GC; j++) {
      CHECK(buf[i * GC + j] == cell(r0 + i, j));
    }
  }
  /* rank 0 reads everything of /chains/rho, the others nothing */
  REQUIRE_OK(sagd_h5_read_rows(f, "/chains/rho", 0, rank_ == 0 ? 7 : 0, 2, buf));
  if (rank_ == 0) {
    for (size_t i = 0; i < 14; i++) {
      CHECK(buf[i] == cell(300 + i / 2, i % 2));
    }
  }
  EXPECT_ERROR(sagd_h5_read_rows(f, "/chains/xi", 0, 1, GC + 1, buf), SAGD_ERR_CORRUPT,
               "has shape [10, 3]: expected [rows, 4]");
  int rc = sagd_h5_read_rows(f, "/chains/xi", rank_ == 0 ? 8 : 0, rank_ == 0 ? 3 : 1, GC, buf);
  CHECK(rc != SAGD_OK);
  if (rank_ == 0) {
    EXPECT_ERROR(rc, SAGD_ERR_ARG, "rows [8, 11) are outside [0, 10)");
  }
  /* read-only: writing fails cleanly */
  size_t d1[1] = {1};
  double one = 1;
  CHECK(sagd_h5_write(f, "/results/new", 1, d1, &one) == SAGD_ERR_HDF5);
  REQUIRE_OK(sagd_h5_close(&f));

  /* read-write: add a dataset, close, see it */
  REQUIRE_OK(sagd_h5_open(MPI_COMM_WORLD, path, 1, &f));
  REQUIRE_OK(sagd_h5_write(f, "/results/new", 1, d1, &one));
  REQUIRE_OK(sagd_h5_attr_int(f, "/meta", "format_version", 4));
  REQUIRE_OK(sagd_h5_close(&f));
  REQUIRE_OK(sagd_h5_open(MPI_COMM_WORLD, path, 0, &f));
  REQUIRE_OK(sagd_h5_read(f, "/results/new", 1, &nd, dims, &d));
  CHECK(nd == 1 && dims[0] == 1 && d[0] == 1.0);
  free(d);
  REQUIRE_OK(sagd_h5_read_attr_int(f, "/meta", "format_version", &iv));
  CHECK(iv == 4);
  REQUIRE_OK(sagd_h5_read(f, "/trace/sagd/theta", 1, &nd, dims, &d)); /* still there */
  CHECK(nd == 1 && dims[0] == 5 && d[4] == cell(100, 4));
  free(d);
  REQUIRE_OK(sagd_h5_close(&f));
}

static void damaged_files(const char *good) {
  sagd_h5 f = NULL;
  /* not an HDF5 file */
  char txt[64];
  shared_tmpname(txt, sizeof txt, "h5txt");
  if (rank_ == 0) {
    FILE *fp = fopen(txt, "w");
    for (int i = 0; i < 200; i++) {
      fprintf(fp, "this is a text file, not HDF5 (line %d)\n", i);
    }
    fclose(fp);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  char want[128];
  snprintf(want, sizeof want, "'%s' is not a readable HDF5 file", txt);
  EXPECT_ERROR(sagd_h5_open(MPI_COMM_WORLD, txt, 0, &f), SAGD_ERR_CORRUPT, want);
  CHECK(f == NULL);
  /* an empty file */
  if (rank_ == 0) {
    CHECK(truncate(txt, 0) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_ERROR(sagd_h5_open(MPI_COMM_WORLD, txt, 0, &f), SAGD_ERR_CORRUPT, want);

  /* a truncated HDF5 file: a copy of the good one, cut in half */
  char cut[64];
  shared_tmpname(cut, sizeof cut, "h5cut");
  if (rank_ == 0) {
    FILE *in = fopen(good, "rb"), *out = fopen(cut, "wb");
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof b, in)) > 0) {
      fwrite(b, 1, n, out);
    }
    fclose(in);
    fclose(out);
    struct stat st;
    stat(cut, &st);
    CHECK(truncate(cut, st.st_size / 2) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  snprintf(want, sizeof want, "'%s' is not a readable HDF5 file", cut);
  EXPECT_ERROR(sagd_h5_open(MPI_COMM_WORLD, cut, 0, &f), SAGD_ERR_CORRUPT, want);
  CHECK(f == NULL);

  /* a missing file is not "corrupt": it says why */
  EXPECT_ERROR(sagd_h5_open(MPI_COMM_WORLD, "/tmp/sagd_no_such_dir/x.h5", 0, &f), SAGD_ERR_ARG,
               "No such file or directory");
  /* a file that cannot be created */
  EXPECT_ERROR(sagd_h5_create(MPI_COMM_WORLD, "/tmp/sagd_no_such_dir/x.h5", &f), SAGD_ERR_OUTPUT,
               "'/tmp/sagd_no_such_dir/x.h5'");
  CHECK(f == NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_ == 0) {
    unlink(txt);
    unlink(cut);
  }
}

/* A file written by h5py (see h5_interop.sh): other string and integer types convert. */
static void read_foreign(const char *path) {
  sagd_h5 f = NULL;
  REQUIRE_OK(sagd_h5_open(MPI_COMM_WORLD, path, 0, &f));
  char *s = NULL;
  REQUIRE_OK(sagd_h5_read_attr_string(f, "/meta", "vlen", &s));
  CHECK(strcmp(s, "variable \xce\xb8 string") == 0);
  free(s);
  REQUIRE_OK(sagd_h5_read_attr_string(f, "/meta", "fixed", &s));
  CHECK(strcmp(s, "fixed") == 0);
  free(s);
  int64_t iv = 0;
  REQUIRE_OK(sagd_h5_read_attr_int(f, "/meta", "i32", &iv));
  CHECK(iv == -7);
  int nd = 0;
  size_t dims[2];
  double *d = NULL;
  REQUIRE_OK(sagd_h5_read(f, "/x", 2, &nd, dims, &d));
  CHECK(nd == 2 && dims[0] == 2 && dims[1] == 3);
  for (int i = 0; i < 6; i++) {
    CHECK(d[i] == (double)i);
  }
  free(d);
  double row[3];
  REQUIRE_OK(sagd_h5_read_rows(f, "/x", rank_ % 2, 1, 3, row));
  CHECK(row[0] == 3.0 * (rank_ % 2) && row[2] == 3.0 * (rank_ % 2) + 2);
  EXPECT_ERROR(sagd_h5_read(f, "/text", 1, &nd, dims, &d), SAGD_ERR_CORRUPT,
               "expected numbers");
  EXPECT_ERROR(sagd_h5_read(f, "/tiny_chunks", 1, &nd, dims, &d), SAGD_ERR_CORRUPT,
               "declares 10000000 chunks of 8 bytes, more than the file's");
  REQUIRE_OK(sagd_h5_close(&f));
}

/* test_h5 --verify FILE N|NEEDLE: sagd_h5_verify walks FILE and finds N datasets, or fails
 * as damaged with a message containing NEEDLE (a non-number). */
static void verify_file(const char *path, const char *want) {
  sagd_h5 f = NULL;
  REQUIRE_OK(sagd_h5_open(MPI_COMM_WORLD, path, 0, &f));
  size_t nd = 0, nck = 0;
  int rc = sagd_h5_verify(f, &nd, &nck);
  char *end = NULL;
  const unsigned long n = strtoul(want, &end, 10);
  if (*end == '\0') {
    CHECK(rc == SAGD_OK && nd == n);
    if (rc != SAGD_OK || nd != n) {
      fprintf(stderr, "verify %s: rc %d (%s), %zu datasets: expected %lu\n", path, rc,
              sagd_error_message(), nd, n);
    }
  } else {
    EXPECT_ERROR(rc, SAGD_ERR_CORRUPT, want);
  }
  sagd_h5_close(&f);
  sagd_error_clear();
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (argc > 3 && strcmp(argv[1], "--verify") == 0) {
    verify_file(argv[2], argv[3]);
    int local = test_failures_, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    test_failures_ = total;
    return TEST_EXIT();
  }
  if (argc > 2 && strcmp(argv[1], "--foreign") == 0) {
    read_foreign(argv[2]);
    int local = test_failures_, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    test_failures_ = total;
    return TEST_EXIT();
  }
  char path[256];
  int keep = argc > 1;
  if (keep) {
    snprintf(path, sizeof path, "%s", argv[1]);
  } else {
    shared_tmpname(path, sizeof path, "h5");
  }
  write_file(path);
  read_file(path);
  damaged_files(path);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_ == 0 && !keep) {
    unlink(path);
  }
  int local = test_failures_, total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  test_failures_ = total;
  return TEST_EXIT();
}
