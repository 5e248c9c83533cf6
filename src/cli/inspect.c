/* `sagd inspect FILE|DIR`: what a result or checkpoint file holds (experiment, phase, iteration,
 * θ summary, chains, ranks that wrote it, when, config hash; for a checkpoint whether every
 * checksum verifies). Exit status 2 (SAGD_ERR_CORRUPT) on a damaged file. Meant for one
 * rank; on several, every rank takes part in the collective reads and rank 0 prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#include "cli.h"
#include "sagd/checkpoint.h"
#include "sagd/error.h"
#include "sagd/h5.h"
#include "sagd/runfile.h"

static void inspect_usage_(FILE *out) {
  fprintf(out,
          "usage: sagd inspect FILE|DIR\n"
          "\n"
          "Prints what a result file (DIR/result.h5) or a checkpoint (DIR/checkpoint.h5,\n"
          "checkpoint.h5.prev) holds: experiment, phase, iteration, a summary of theta, the\n"
          "number of chains, how many ranks wrote it and when, the config hash, and for a\n"
          "checkpoint whether its checksums verify. Exit status 0 if the file is sound, 2 if\n"
          "it is damaged (truncated, zeroed, bit-flipped) or not a sagd file. Given a run\n"
          "directory, inspects each of its result.h5, checkpoint.h5 and checkpoint.h5.prev.\n");
}

/* "[a, b, c]" for short vectors; first values, min, max and 2-norm for long ones. */
static void vec_summary_(const double *v, size_t n, char *buf, size_t cap) {
  size_t len = 0;
  size_t show = n <= 8 ? n : 4;
  len += (size_t)snprintf(buf + len, cap - len, "[");
  for (size_t i = 0; i < show && len < cap; i++) {
    len += (size_t)snprintf(buf + len, cap - len, "%s%.10g", i ? ", " : "", v[i]);
  }
  if (n > show && len < cap) {
    double mn = v[0], mx = v[0], ss = 0;
    for (size_t i = 0; i < n; i++) {
      mn = v[i] < mn ? v[i] : mn;
      mx = v[i] > mx ? v[i] : mx;
      ss += v[i] * v[i];
    }
    snprintf(buf + len, cap - len, ", ...] (%zu values; min %.6g, max %.6g, norm %.6g)", n, mn,
             mx, sqrt(ss));
  } else if (len < cap) {
    snprintf(buf + len, cap - len, "]");
  }
}

/* ---- checkpoints ---- */

static int is_theta_(const char *name) {
  const char *slash = strchr(name, '/');
  return strcmp(name, "theta") == 0 ||
         (slash != NULL && strchr(slash + 1, '/') == NULL && strcmp(slash + 1, "theta") == 0);
}

static int inspect_checkpoint_(MPI_Comm comm, int rank, const char *path) {
  sagd_checkpoint_summary s;
  int rc = sagd_checkpoint_verify(comm, path, &s);
  char why[2048] = "";
  if (rc != SAGD_OK) {
    snprintf(why, sizeof why, "%s", sagd_error_message());
  }
  if (s.experiment == NULL) { /* the metadata itself is damaged: nothing to show */
    SAGD_FAIL(SAGD_ERR_CORRUPT, "%s", why);
  }
  /* the replicated values, for θ (only if the checksums held: else they mean nothing) */
  double *rep = NULL;
  if (rc == SAGD_OK) {
    sagd_h5 f = NULL;
    int ndims = 0;
    size_t dims[2];
    int r2 = sagd_h5_open(comm, path, 0, &f);
    if (r2 == SAGD_OK) {
      r2 = sagd_h5_read(f, "/state/replicated", 2, &ndims, dims, &rep);
      sagd_h5_close(&f);
    }
    if (r2 != SAGD_OK) {
      rep = NULL;
      sagd_error_clear();
    }
  }
  if (rank == 0) {
    printf("file:         %s\n", path);
    printf("kind:         checkpoint (format %lld)\n", (long long)s.format_version);
    printf("experiment:   %s\n", s.experiment);
    printf("phase:        %s\n", s.phase);
    printf("iteration:    %llu\n", (unsigned long long)s.iteration);
    printf("wall time:    %.3fs used by the run so far\n", s.wall_seconds);
    printf("written:      %s by %lld rank(s), sagd %s\n", s.created, (long long)s.n_ranks,
           s.sagd_version);
    printf("config hash:  %s\n", s.config_hash);
    int first = 1;
    for (size_t i = 0; i < s.nentries && rep != NULL; i++) {
      const sagd_checkpoint_entry *e = &s.entries[i];
      if (e->kind == 'R' && is_theta_(e->name)) {
        char v[512];
        vec_summary_(rep + e->offset, e->cols, v, sizeof v);
        printf("%s%s = %s\n", first ? "theta:        " : "              ", e->name, v);
        first = 0;
      }
    }
    first = 1;
    for (size_t i = 0; i < s.nentries; i++) {
      const sagd_checkpoint_entry *e = &s.entries[i];
      if (e->kind == 'S') {
        if (first) {
          printf("chains:       %zu", e->rows);
        }
        printf("%s%s [%zu x %zu]", first ? " (" : ", ", e->name, e->rows, e->cols);
        first = 0;
      }
    }
    if (!first) {
      printf(")\n");
    }
    printf("state:        %zu entries, %.3f MB\n", s.nentries, s.bytes / 1e6);
    if (rc == SAGD_OK) {
      printf("checksums:    all %zu verify\n", s.nentries);
    } else {
      printf("checksums:    FAILED: %s\n", why);
    }
    fflush(stdout);
  }
  free(rep);
  sagd_checkpoint_summary_free(&s);
  SAGD_CHECK(rc == SAGD_OK, SAGD_ERR_CORRUPT, "%s", why);
  return SAGD_OK;
}

/* ---- result files (rank 0 lists them with plain serial HDF5) ---- */

static void free_names_(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(names[i]);
  }
  free(names);
}

/* What `sagd inspect` shows of a result file. */
typedef struct {
  char *experiment, *created, *hash, *version;
  int64_t nranks, format;
  size_t nds, nck;     /* datasets, and how many carry a checksum */
  double *tv[4];       /* the θ datasets found (result_thetas_) */
  size_t tn[4];
  char **dnames;       /* every dataset, with its shape */
  char (*dshape)[96];
  size_t ndn;
} result_info_;

/* θ: every dataset under /results whose name ends in "theta" or is "mle" */
static const char *const result_thetas_[] = {"/results/sagd_theta", "/results/exact_theta",
                                             "/results/mle", "/results/theta", NULL};

static void result_info_free_(result_info_ *r) {
  free(r->experiment);
  free(r->created);
  free(r->hash);
  free(r->version);
  for (int i = 0; i < 4; i++) {
    free(r->tv[i]);
  }
  free_names_(r->dnames, r->ndn);
  free(r->dshape);
}

/* **Collective.** Verify f and read what is shown into r (freed by the caller either way). */
static int result_info_read_(sagd_h5 f, result_info_ *r) {
  SAGD_CALL(sagd_runfile_verify(f, &r->nds, &r->nck));
  SAGD_CALL(sagd_h5_read_attr_string(f, "/meta", "experiment", &r->experiment));
  SAGD_CALL(sagd_h5_read_attr_string(f, "/meta", "created", &r->created));
  SAGD_CALL(sagd_h5_read_attr_string(f, "/meta", "config_hash", &r->hash));
  SAGD_CALL(sagd_h5_read_attr_string(f, "/meta", "sagd_version", &r->version));
  SAGD_CALL(sagd_h5_read_attr_int(f, "/meta", "n_ranks", &r->nranks));
  SAGD_CALL(sagd_h5_read_attr_int(f, "/meta", "format_version", &r->format));
  for (int i = 0; result_thetas_[i] != NULL; i++) {
    if (sagd_h5_exists(f, result_thetas_[i])) {
      int nd = 0;
      size_t d[4] = {1, 1, 1, 1};
      SAGD_CALL(sagd_h5_read(f, result_thetas_[i], 4, &nd, d, &r->tv[i]));
      r->tn[i] = nd > 0 ? d[0] : 1;
    }
  }
  /* every dataset with its shape (traces: iterations = rows; chains; results), walked as
   * the verification walked it: each group once, whatever its links */
  SAGD_CALL(sagd_h5_datasets(f, &r->dnames, &r->ndn));
  SAGD_CALLOC(r->dshape, r->ndn, "dataset shapes");
  for (size_t i = 0; i < r->ndn; i++) {
    int nd = 0;
    size_t d[8];
    SAGD_CALL(sagd_h5_shape(f, r->dnames[i], 8, &nd, d));
    char *sh = r->dshape[i];
    const size_t cap = sizeof r->dshape[i];
    sh[0] = '\0';
    if (nd == 0) {
      sagd_text_append(sh, cap, "scalar");
    }
    for (int k = 0; k < nd; k++) {
      sagd_text_append(sh, cap, "%s%zu%s", k ? " x " : "[", d[k], k + 1 == nd ? "]" : "");
    }
  }
  return SAGD_OK;
}

static void result_info_print_(const result_info_ *r, const char *path) {
  printf("file:         %s\n", path);
  printf("kind:         result (format %lld): written only when the run completed\n",
         (long long)r->format);
  printf("experiment:   %s\n", r->experiment);
  printf("phase:        complete\n");
  printf("written:      %s by %lld rank(s), sagd %s\n", r->created, (long long)r->nranks,
         r->version);
  printf("config hash:  %s\n", r->hash);
  if (r->nck == 0) {
    printf("checksums:    none stored (written by an older sagd); all %zu datasets read "
           "back\n", r->nds);
  } else if (r->nck == r->nds) {
    printf("checksums:    all %zu datasets verify (arrays: HDF5 Fletcher32; scalars: their "
           "checksummed object headers)\n", r->nds);
  } else {
    printf("checksums:    %zu of %zu datasets carry one and verify; all read back\n", r->nck,
           r->nds);
  }
  int first = 1;
  for (int i = 0; result_thetas_[i] != NULL; i++) {
    if (r->tv[i] != NULL) {
      char v[512];
      vec_summary_(r->tv[i], r->tn[i], v, sizeof v);
      printf("%s%s = %s\n", first ? "theta:        " : "              ",
             result_thetas_[i] + 9, v);
      first = 0;
    }
  }
  for (size_t i = 0; i < r->ndn; i++) {
    printf("%s%-35s %s\n", i == 0 ? "datasets:     " : "              ", r->dnames[i],
           r->dshape[i]);
  }
  fflush(stdout);
}

static int inspect_result_(MPI_Comm comm, int rank, const char *path) {
  sagd_h5 f = NULL;
  SAGD_CALL(sagd_h5_open(comm, path, 0, &f));
  result_info_ r;
  memset(&r, 0, sizeof r);
  int rc = result_info_read_(f, &r);
  const int rc2 = sagd_h5_close(&f);
  if (rc == SAGD_OK) {
    rc = rc2;
  }
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    result_info_free_(&r);
    SAGD_FAIL(SAGD_ERR_CORRUPT, "'%s' is not a readable sagd result file: %s", path, msg);
  }
  if (rank == 0) {
    result_info_print_(&r, path);
  }
  result_info_free_(&r);
  return SAGD_OK;
}

static int inspect_file_(MPI_Comm comm, int rank, const char *path) {
  /* Which kind? A checkpoint says so in /meta/kind; anything that does not open is damaged. */
  sagd_h5 f = NULL;
  int rc = sagd_h5_open(comm, path, 0, &f);
  if (rc != SAGD_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(SAGD_ERR_CORRUPT, "'%s' is damaged (truncated, zeroed or not HDF5): %s", path,
              msg);
  }
  /* result files have no /meta/kind; a checkpoint whose kind was damaged still has /state */
  char *kind = NULL;
  int is_ck = sagd_h5_read_attr_string(f, "/meta", "kind", &kind) == SAGD_OK ||
              sagd_h5_exists(f, "/state");
  free(kind);
  sagd_error_clear();
  SAGD_CALL(sagd_h5_close(&f));
  if (is_ck) {
    SAGD_CALL(inspect_checkpoint_(comm, rank, path));
  } else {
    SAGD_CALL(inspect_result_(comm, rank, path));
  }
  return SAGD_OK;
}

int sagd_cli_inspect(MPI_Comm comm, int argc, char **argv) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      if (rank == 0) {
        inspect_usage_(stdout);
      }
      return SAGD_OK;
    }
    SAGD_CHECK(argv[i][0] != '-', SAGD_ERR_ARG, "unknown option '%s' (see sagd inspect --help)",
               argv[i]);
    SAGD_CHECK(path == NULL, SAGD_ERR_ARG, "unexpected argument '%s': the file is already '%s'",
               argv[i], path);
    path = argv[i];
  }
  SAGD_CHECK(path != NULL, SAGD_ERR_ARG, "missing FILE: usage: sagd inspect FILE|DIR");
  int kind = 0; /* 0 none, 1 file, 2 directory */
  if (rank == 0) {
    struct stat st;
    kind = stat(path, &st) != 0 ? 0 : S_ISDIR(st.st_mode) ? 2 : 1;
  }
  SAGD_CHECK_MPI(MPI_Bcast(&kind, 1, MPI_INT, 0, comm));
  SAGD_CHECK(kind != 0, SAGD_ERR_ARG, "cannot inspect '%s': no such file or directory", path);
  if (kind == 1) {
    return inspect_file_(comm, rank, path);
  }
  /* A run directory: every run file it holds, the result first; fails if any is damaged. */
  static const char *const files[] = {"result.h5", "checkpoint.h5", "checkpoint.h5.prev"};
  int found = 0, worst = SAGD_OK;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char file[4096];
    SAGD_CHECK(snprintf(file, sizeof file, "%s/%s", path, files[i]) < (int)sizeof file,
               SAGD_ERR_ARG, "path '%s' is too long", path);
    int there = 0;
    if (rank == 0) {
      struct stat st;
      there = stat(file, &st) == 0 && S_ISREG(st.st_mode);
    }
    SAGD_CHECK_MPI(MPI_Bcast(&there, 1, MPI_INT, 0, comm));
    if (!there) {
      continue;
    }
    if (found++ && rank == 0) {
      printf("\n");
    }
    int rc = inspect_file_(comm, rank, file);
    if (rc != SAGD_OK) {
      if (rank == 0) {
        fprintf(stderr, "sagd: error: %s\n", sagd_error_message());
      }
      sagd_error_clear();
      worst = rc;
    }
  }
  SAGD_CHECK(found > 0, SAGD_ERR_ARG,
             "'%s' holds no run file (result.h5, checkpoint.h5 or checkpoint.h5.prev)", path);
  SAGD_CHECK(worst == SAGD_OK, worst, "a run file in '%s' is damaged (see above)", path);
  return SAGD_OK;
}
