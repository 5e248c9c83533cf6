/* Parallel HDF5 (MPI-IO) helpers for run files (see include/sagd/h5.h).
 *
 * Every file is opened with the MPI-IO driver on a duplicate of the caller's communicator,
 * collective metadata reads and writes, and a collective data-transfer property list.
 * Replicated data is written by rank 0 with every other rank taking part in the collective
 * H5Dwrite with an empty selection; sharded rows are written as one hyperslab per rank.
 *
 * HDF5's automatic error printing is switched off: every failure is turned into a sagd
 * error naming the operation, the object and the file, with the innermost message of
 * HDF5's error stack appended. Checks that could fail on some ranks only (row ranges) are
 * agreed on with an allreduce before any collective HDF5 call, so no rank is left waiting. */
#include "sagd/h5.h"

#include "h5_layout.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "sagd/error.h"

struct sagd_h5_s {
  hid_t file;
  hid_t dxpl; /* collective data transfers */
  hid_t lcpl; /* link creation: missing parent groups are created */
  MPI_Comm comm;
  int rank;
  int writable;
  int checksums; /* datasets created from now on carry the Fletcher32 filter */
  int broken;    /* libhdf5 was left mid-call (SIGFPE, see open_guarded_): close quietly */
  char *path;
};

/* ---------------------------------------------------------------- errors */

/* The innermost (most specific) message on HDF5's error stack. */
static herr_t detail_cb(unsigned n, const H5E_error2_t *err, void *data) {
  char *buf = data;
  if (n == 0 && err != NULL && err->desc != NULL) {
    snprintf(buf, 256, "%s", err->desc);
  }
  return 0;
}

static void h5_detail(char *buf) {
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, detail_cb, buf);
}

/* Record a failed HDF5 call: "HDF5 cannot <what> '<obj>' in '<file>': <detail>" (obj NULL:
 * "HDF5 cannot <what> '<file>': <detail>"). Must be
 * called right after the failing call (the next HDF5 call clears the error stack). */
static int h5_fail(int code, const char *what, const char *obj, const char *file, int line,
                   const char *func) {
  char detail[256];
  h5_detail(detail);
  if (obj == NULL) {
    return sagd_error_set(code, __FILE__, line, func, "HDF5 cannot %s '%s'%s%s", what, file,
                          detail[0] != '\0' ? ": " : "", detail);
  }
  return sagd_error_set(code, __FILE__, line, func, "HDF5 cannot %s '%s' in '%s'%s%s", what,
                        obj, file, detail[0] != '\0' ? ": " : "", detail);
}

/* Inside a function with `int rc` and a `done:` cleanup label. */
/* The status of an HDF5 call that returned `ret` (< 0: failed): SAGD_OK, or the error
 * naming what was done to which object of f, with libhdf5's own reason. Used as
 * SAGD_TRY(rc, done, H5_OK(id = H5Dopen2(...), "open dataset", path)). */
static int h5_status_(sagd_h5 f, int failed, const char *what, const char *obj, int line,
                      const char *func) {
  return failed ? h5_fail(SAGD_ERR_HDF5, what, obj, f->path, line, func) : SAGD_OK;
}
#define H5_OK(expr, what, obj) h5_status_(f, (expr) < 0, (what), (obj), __LINE__, __func__)

/* libhdf5 1.10.8 divides by zero (SIGFPE in H5D__chunk_set_info) when it opens a dataset
 * whose chunked layout has a dimensionality of 0 (found by fuzz_images; h5py and h5dump crash
 * the same way on that file), and writes past its layout on others (SIGSEGV in
 * H5D__chunk_set_sizes). No API looks at a layout without decoding it, so every open of an
 * object of an existing file goes through open_guarded_, which first reads the layout from
 * the raw object header (layout_refused_, h5_layout.c) and refuses such a layout. Behind that
 * check, as a last resort: a SIGFPE inside the open jumps back out of libhdf5 and the open
 * fails, reported as a damaged file (libhdf5 is left in the middle of that call and what it
 * holds leaks; the caller only closes the file and fails); a SIGSEGV or SIGBUS, after which
 * the heap cannot be trusted, prints a message naming the file and ends the process with exit
 * status 2 (bad input), instead of going on. */
static sigjmp_buf fpe_jump_;
static volatile sig_atomic_t fpe_armed_ = 0;
static char crash_msg_[1024]; /* written by the SIGSEGV/SIGBUS handler: prepared beforehand */
static size_t crash_len_ = 0;

static void crash_handler_(int sig) {
  if (fpe_armed_) {
    ssize_t w = write(2, crash_msg_, crash_len_);
    (void)w;
    _exit(2);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void fpe_handler_(int sig) {
  if (fpe_armed_) {
    fpe_armed_ = 0;
    siglongjmp(fpe_jump_, 1);
  }
  signal(sig, SIG_DFL); /* not ours: the default action */
  raise(sig);
}

/* 1 (with the error set) if object `name` under loc is a dataset whose layout libhdf5 would
 * fail to open (h5_layout.h); 0 otherwise.
 * SAGD_H5_LAYOUT_CHECK=0 skips the check (a test hook: it exercises the guards below). */
static int layout_refused_(sagd_h5 f, hid_t loc, const char *name) {
  const char *env = getenv("SAGD_H5_LAYOUT_CHECK");
  if (env != NULL && strcmp(env, "0") == 0) {
    return 0;
  }
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    /* a header libhdf5 cannot load (e.g. its checksum fails): the open fails the same way,
     * before any layout is decoded, and reports libhdf5's reason */
    H5Eclear2(H5E_DEFAULT);
    return 0;
  }
  if (info.type != H5O_TYPE_DATASET) {
    return 0;
  }
  size_t sa = 0, ss = 0;
  hsize_t base = 0;
  const hid_t fcpl = H5Fget_create_plist(f->file);
  const int sizes = fcpl >= 0 && H5Pget_sizes(fcpl, &sa, &ss) >= 0 &&
                    H5Pget_userblock(fcpl, &base) >= 0;
  if (fcpl >= 0) {
    H5Pclose(fcpl);
  }
  char why[256];
  if (!sizes || sagd_h5_layout_check(f->path, sa, ss, (uint64_t)base, (uint64_t)info.addr, why,
                                     sizeof why) != 1) {
    return 0; /* nothing known against it (an unreadable file fails in libhdf5 anyway) */
  }
  sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                 "dataset '%s' in '%s' has %s: the file is damaged (libhdf5 1.10.8 fails "
                 "opening such a layout)",
                 name, f->path, why);
  return 1;
}

/* H5Oopen (dataset 0) or H5Dopen2 (dataset 1) of object `name` of the existing file f; on
 * SIGFPE inside libhdf5 a negative id and *fpe = 1; on SIGSEGV or SIGBUS a message and exit
 * status 2 (see above). */
static hid_t open_guarded_(sagd_h5 f, hid_t loc, const char *name, int dataset, int *fpe) {
  *fpe = 0;
  if (layout_refused_(f, loc, name)) {
    *fpe = 2; /* refused before the open: the error is set */
    return H5I_INVALID_HID;
  }
  struct sigaction sa, ca, old, old_segv, old_bus;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fpe_handler_;
  sigemptyset(&sa.sa_mask);
  memset(&ca, 0, sizeof ca);
  ca.sa_handler = crash_handler_;
  sigemptyset(&ca.sa_mask);
  const int k = snprintf(crash_msg_, sizeof crash_msg_,
                         "sagd: error: libhdf5 crashed (invalid memory access) opening '%s' "
                         "in '%s': the file is damaged (libhdf5 1.10.8 decodes such a layout "
                         "out of bounds); stopping, since the process memory can no longer "
                         "be trusted\n",
                         name, f->path);
  crash_len_ = k < 0 ? 0 : (size_t)k < sizeof crash_msg_ ? (size_t)k : sizeof crash_msg_ - 1;
  if (sigaction(SIGFPE, &sa, &old) != 0) {
    return dataset ? H5Dopen2(loc, name, H5P_DEFAULT) : H5Oopen(loc, name, H5P_DEFAULT);
  }
  const int segv = sigaction(SIGSEGV, &ca, &old_segv) == 0;
  const int bus = sigaction(SIGBUS, &ca, &old_bus) == 0;
  volatile hid_t id = H5I_INVALID_HID;
  if (sigsetjmp(fpe_jump_, 1) == 0) {
    fpe_armed_ = 1;
    id = dataset ? H5Dopen2(loc, name, H5P_DEFAULT) : H5Oopen(loc, name, H5P_DEFAULT);
  } else {
    *fpe = 1;
  }
  fpe_armed_ = 0;
  sigaction(SIGFPE, &old, NULL);
  if (segv) {
    sigaction(SIGSEGV, &old_segv, NULL);
  }
  if (bus) {
    sigaction(SIGBUS, &old_bus, NULL);
  }
  return id;
}

/* The error of a failed open_guarded_: damaged (SIGFPE) or `code`. */
static int open_fail_(sagd_h5 f, int fpe, int code, const char *what, const char *obj,
                      int line, const char *func) {
  const char *file = f->path;
  if (fpe == 2) { /* refused before the open (layout_refused_): its message stands */
    return sagd_error_trace(SAGD_ERR_CORRUPT, __FILE__, line, func);
  }
  if (fpe) {
    f->broken = 1;
    return sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, line, func,
                          "libhdf5 divided by zero (SIGFPE) opening '%s' in '%s': a damaged "
                          "layout (libhdf5 1.10.8 does so on a chunk dimension of 0)",
                          obj, file);
  }
  return h5_fail(code, what, obj, file, line, func);
}

/* Close an id if it is one. */
static void close_id_(hid_t id, herr_t (*close)(hid_t)) {
  if (id >= 0) {
    close(id);
  }
}

/* The end of a function that opens a dataset for its caller: *out on success, else closed. */
static int dset_out_(int rc, hid_t dset, hid_t *out) {
  if (rc != SAGD_OK) {
    close_id_(dset, H5Dclose);
    return rc;
  }
  *out = dset;
  return SAGD_OK;
}

/* All ranks learn whether any rank failed a local check: returns the local code, or an
 * error naming the operation if only another rank failed. */
static int h5_agree(sagd_h5 f, int local, const char *what, const char *obj) {
  int worst = 0;
  SAGD_CHECK_MPI(MPI_Allreduce(&local, &worst, 1, MPI_INT, MPI_MAX, f->comm));
  if (local != 0) {
    return local;
  }
  if (worst != 0) {
    return sagd_error_set(worst, __FILE__, __LINE__, __func__,
                          "HDF5 cannot %s '%s' in '%s': another rank failed (see its message)",
                          what, obj, f->path);
  }
  return 0;
}

/* Absolute HDF5 path without empty components ("/a/b"; "/" only where allowed). */
static int path_ok(const char *path, int allow_root) {
  if (path == NULL || path[0] != '/') {
    return 0;
  }
  if (path[1] == '\0') {
    return allow_root;
  }
  size_t n = strlen(path);
  return path[n - 1] != '/' && strstr(path, "//") == NULL;
}

#define CHECK_PATH(h, p, allow_root)                                           \
  SAGD_CHECK(path_ok((p), (allow_root)), SAGD_ERR_ARG,                         \
             "HDF5 path '%s' in '%s': expected an absolute path like /group/name", \
             (p) != NULL ? (p) : "(null)", (h)->path)

/* *exists = 1 if every component of path exists, 0 if one is missing (H5Lexists is never
 * asked about a child of a missing group). A component before the last that exists but is
 * not a group is an error (SAGD_ERR_CORRUPT), as is an HDF5 failure (SAGD_ERR_HDF5). */
static int lookup(sagd_h5 f, const char *path, int *exists) {
  *exists = 0;
  if (strcmp(path, "/") == 0) {
    *exists = 1;
    return SAGD_OK;
  }
  size_t n = strlen(path);
  char *buf = malloc(n + 1);
  SAGD_CHECK(buf != NULL, SAGD_ERR_MEM, "cannot allocate an HDF5 path");
  memcpy(buf, path, n + 1);
  int rc = SAGD_OK, ex = 1;
  for (size_t i = 1; i <= n && ex; i++) {
    if (buf[i] != '/' && buf[i] != '\0') {
      continue;
    }
    char saved = buf[i];
    buf[i] = '\0';
    htri_t e = H5Lexists(f->file, buf, H5P_DEFAULT);
    if (e < 0) {
      rc = h5_fail(SAGD_ERR_HDF5, "look up", buf, f->path, __LINE__, __func__);
      break;
    }
    if (e == 0) {
      ex = 0;
    } else if (saved == '/') {
      int fpe = 0;
      hid_t obj = open_guarded_(f, f->file, buf, 0, &fpe);
      if (obj < 0) {
        rc = open_fail_(f, fpe, SAGD_ERR_HDF5, "open", buf, __LINE__, __func__);
        break;
      }
      H5I_type_t t = H5Iget_type(obj);
      H5Oclose(obj);
      if (t != H5I_GROUP) {
        rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                            "'%s' in '%s' is not a group, so it cannot hold '%s'", buf, f->path,
                            path);
        break;
      }
    }
    buf[i] = saved;
  }
  free(buf);
  if (rc == SAGD_OK) {
    *exists = ex;
  }
  return rc;
}

/* ---------------------------------------------------------------- files */

static void h5_free(struct sagd_h5_s *h) {
  if (h == NULL) {
    return;
  }
  if (h->dxpl >= 0) {
    H5Pclose(h->dxpl);
  }
  if (h->lcpl >= 0) {
    H5Pclose(h->lcpl);
  }
  if (h->comm != MPI_COMM_NULL) {
    MPI_Comm_free(&h->comm);
  }
  free(h->path);
  free(h);
}

/* Allocate the handle and its property lists; *fapl gets an MPI-IO file access list. */
static int h5_new(MPI_Comm comm, const char *path, struct sagd_h5_s **out, hid_t *fapl) {
  *out = NULL;
  *fapl = H5I_INVALID_HID;
  /* Our messages replace HDF5's automatic error stack printing. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  struct sagd_h5_s *h = calloc(1, sizeof *h);
  SAGD_CHECK(h != NULL, SAGD_ERR_MEM, "cannot allocate an HDF5 handle for '%s'", path);
  h->file = H5I_INVALID_HID;
  h->dxpl = H5I_INVALID_HID;
  h->lcpl = H5I_INVALID_HID;
  h->comm = MPI_COMM_NULL;
  size_t n = strlen(path) + 1;
  h->path = malloc(n);
  if (h->path == NULL) {
    free(h);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate an HDF5 handle for '%s'", path);
  }
  memcpy(h->path, path, n);
  int mpierr = MPI_Comm_dup(comm, &h->comm);
  if (mpierr == MPI_SUCCESS) {
    mpierr = MPI_Comm_rank(h->comm, &h->rank);
  }
  if (mpierr != MPI_SUCCESS) {
    h5_free(h);
    return sagd_error_mpi(mpierr, "MPI_Comm_dup/MPI_Comm_rank", __FILE__, __LINE__, __func__);
  }
  struct sagd_h5_s *f = h; /* for H5_OK */
  int rc = SAGD_OK;
  SAGD_TRY(
      rc, done,
      H5_OK(h->dxpl = H5Pcreate(H5P_DATASET_XFER), "create a transfer property list for", path));
  SAGD_TRY(
      rc, done,
      H5_OK(H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_COLLECTIVE), "set collective transfers for", path));
  SAGD_TRY(rc, done,
           H5_OK(h->lcpl = H5Pcreate(H5P_LINK_CREATE), "create a link property list for", path));
  SAGD_TRY(
      rc, done,
      H5_OK(H5Pset_create_intermediate_group(h->lcpl, 1), "set intermediate groups for", path));
  SAGD_TRY(
      rc, done,
      H5_OK(*fapl = H5Pcreate(H5P_FILE_ACCESS), "create a file access property list for", path));
  SAGD_TRY(
      rc, done,
      H5_OK(H5Pset_fapl_mpio(*fapl, h->comm, MPI_INFO_NULL), "set the MPI-IO driver for", path));
  SAGD_TRY(
      rc, done,
      H5_OK(H5Pset_all_coll_metadata_ops(*fapl, 1), "set collective metadata reads for", path));
  SAGD_TRY(rc, done,
           H5_OK(H5Pset_coll_metadata_write(*fapl, 1), "set collective metadata writes for", path));
done:
  if (rc != SAGD_OK) {
    if (*fapl >= 0) {
      H5Pclose(*fapl);
      *fapl = H5I_INVALID_HID;
    }
    h5_free(h);
    return rc;
  }
  *out = h;
  return SAGD_OK;
}

int sagd_h5_create(MPI_Comm comm, const char *path, sagd_h5 *f) {
  SAGD_CHECK(path != NULL && f != NULL, SAGD_ERR_ARG, "sagd_h5_create: NULL argument");
  *f = NULL;
  struct sagd_h5_s *h = NULL;
  hid_t fapl = H5I_INVALID_HID;
  SAGD_CALL(h5_new(comm, path, &h, &fapl));
  /* The HDF5 1.8 file format: superblock, object headers (attributes included) and indexes
   * carry checksums that HDF5 verifies on every read; any HDF5 >= 1.8 reads it. */
  int rc = SAGD_OK;
  if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
    rc = h5_fail(SAGD_ERR_HDF5, "set the file format (1.8) of", NULL, path, __LINE__,
                 __func__);
    H5Pclose(fapl);
    h5_free(h);
    return rc;
  }
  h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (h->file < 0) {
    rc = h5_fail(SAGD_ERR_OUTPUT, "create file", NULL, path, __LINE__, __func__);
  }
  H5Pclose(fapl);
  if (rc != SAGD_OK) {
    h5_free(h);
    return rc;
  }
  h->writable = 1;
  *f = h;
  return SAGD_OK;
}

int sagd_h5_open(MPI_Comm comm, const char *path, int writable, sagd_h5 *f) {
  SAGD_CHECK(path != NULL && f != NULL, SAGD_ERR_ARG, "sagd_h5_open: NULL argument");
  *f = NULL;
  struct sagd_h5_s *h = NULL;
  hid_t fapl = H5I_INVALID_HID;
  SAGD_CALL(h5_new(comm, path, &h, &fapl));
  /* A file that cannot be opened at all is not "corrupt": say why (rank 0 looks). */
  int err = 0;
  if (h->rank == 0) {
    FILE *fp = fopen(path, writable ? "r+b" : "rb");
    if (fp == NULL) {
      err = errno != 0 ? errno : EIO;
    } else {
      fclose(fp);
    }
  }
  int mpierr = MPI_Bcast(&err, 1, MPI_INT, 0, h->comm);
  if (mpierr != MPI_SUCCESS) {
    H5Pclose(fapl);
    h5_free(h);
    return sagd_error_mpi(mpierr, "MPI_Bcast", __FILE__, __LINE__, __func__);
  }
  if (err != 0) {
    H5Pclose(fapl);
    h5_free(h);
    SAGD_FAIL(SAGD_ERR_ARG, "cannot open HDF5 file '%s'%s: %s", path,
              writable ? " for writing" : "", strerror(err));
  }
  h->file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  int rc = SAGD_OK;
  if (h->file < 0) {
    char detail[256];
    h5_detail(detail);
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "'%s' is not a readable HDF5 file%s%s%s", path,
                        detail[0] != '\0' ? " (" : "", detail, detail[0] != '\0' ? ")" : "");
  }
  H5Pclose(fapl);
  if (rc != SAGD_OK) {
    h5_free(h);
    return rc;
  }
  h->writable = writable != 0;
  *f = h;
  return SAGD_OK;
}

int sagd_h5_fsync_wanted(void) {
  const char *env = getenv("SAGD_FSYNC");
  return env == NULL || strcmp(env, "0") != 0;
}

int sagd_h5_close(sagd_h5 *fp) {
  if (fp == NULL || *fp == NULL) {
    return SAGD_OK;
  }
  struct sagd_h5_s *f = *fp;
  *fp = NULL;
  int rc = SAGD_OK;
  if (f->file >= 0) {
    if (f->writable && sagd_h5_fsync_wanted() && H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0) {
      rc = h5_fail(SAGD_ERR_HDF5, "flush file", NULL, f->path, __LINE__, __func__);
    }
    /* a broken file keeps the half-opened object libhdf5 was left with: its close fails,
     * and the error that broke it is the one to report */
    if (H5Fclose(f->file) < 0 && rc == SAGD_OK && !f->broken) {
      rc = h5_fail(SAGD_ERR_HDF5, "close file", NULL, f->path, __LINE__, __func__);
    }
  }
  h5_free(f);
  return rc;
}

void sagd_h5_set_checksums(sagd_h5 f, int on) {
  SAGD_ASSERT(f != NULL);
  f->checksums = on != 0;
}

/* ---------------------------------------------------------------- verification */

/* The walk over every dataset of a file, in name order, depth first: the order H5Lvisit
 * gives. It is sagd's own, not H5Lvisit: H5Lvisit only remembers groups that have more than
 * one link, so a damaged file whose group links back to an ancestor made it recurse without
 * end (libhdf5 1.10.8, found by fuzz_runfile). Here every group is entered once, and a
 * nesting deeper than DSET_WALK_DEPTH is a damaged file. */
#define DSET_WALK_DEPTH 64

typedef struct {
  char **names;
  size_t n, cap;
  int oom;
  int fpe;    /* libhdf5 raised SIGFPE opening an object (see open_guarded_) */
  int deep;   /* groups nested deeper than DSET_WALK_DEPTH */
  haddr_t *seen; /* the groups entered */
  size_t nseen, capseen;
  char path[4096]; /* the group being walked ("" for the root) */
  int depth;
  sagd_h5 f;       /* the file (messages) */
  int rc;          /* an object that failed to open: its error, recorded where it happened */
} dset_list;

static int list_push_(dset_list *l, const char *name) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    char **nn = realloc(l->names, cap * sizeof *nn);
    if (nn == NULL) {
      return 0;
    }
    l->names = nn;
    l->cap = cap;
  }
  const size_t len = strlen(l->path) + strlen(name) + 2;
  if ((l->names[l->n] = malloc(len)) == NULL) {
    return 0;
  }
  snprintf(l->names[l->n++], len, "%s/%s", l->path, name);
  return 1;
}

/* 1 if the group at addr was entered before; else remembers it (0), -1 out of memory. */
static int list_seen_(dset_list *l, haddr_t addr) {
  for (size_t k = 0; k < l->nseen; k++) {
    if (l->seen[k] == addr) {
      return 1;
    }
  }
  if (l->nseen == l->capseen) {
    size_t cap = l->capseen ? 2 * l->capseen : 16;
    haddr_t *ns = realloc(l->seen, cap * sizeof *ns);
    if (ns == NULL) {
      return -1;
    }
    l->seen = ns;
    l->capseen = cap;
  }
  l->seen[l->nseen++] = addr;
  return 0;
}

static herr_t list_dsets_cb(hid_t g, const char *name, const H5L_info_t *info, void *data);

/* Walk the group `g` (already marked seen) whose path is l->path. */
static herr_t list_group_(hid_t g, dset_list *l) {
  hsize_t idx = 0;
  return H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, list_dsets_cb, l);
}

static herr_t list_dsets_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  dset_list *l = data;
  if (info->type != H5L_TYPE_HARD) {
    return 0;
  }
  int fpe = 0;
  hid_t obj = open_guarded_(l->f, g, name, 0, &fpe);
  if (obj < 0) { /* a damaged object: the walk fails and says why, naming it */
    char full[4200];
    snprintf(full, sizeof full, "%s/%s", l->path, name);
    l->fpe |= fpe;
    l->rc = open_fail_(l->f, fpe, SAGD_ERR_CORRUPT, "open object", full, __LINE__, __func__);
    return -1;
  }
  herr_t ret = 0;
  const H5I_type_t t = H5Iget_type(obj);
  if (t == H5I_DATASET) {
    if (!list_push_(l, name)) {
      l->oom = 1;
      ret = 1;
    }
  } else if (t == H5I_GROUP) {
    H5O_info_t oi;
    const size_t len = strlen(l->path);
    int seen = 0;
    if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC) < 0) {
      ret = -1;
    } else if ((seen = list_seen_(l, oi.addr)) < 0) {
      l->oom = 1;
      ret = 1;
    } else if (!seen) { /* a group met again (a second link, or a cycle) is walked once */
      if (l->depth >= DSET_WALK_DEPTH || len + strlen(name) + 2 > sizeof l->path) {
        l->deep = 1;
        ret = -1;
      } else {
        snprintf(l->path + len, sizeof l->path - len, "/%s", name);
        l->depth++;
        ret = list_group_(obj, l);
        l->depth--;
        l->path[len] = '\0';
      }
    }
  }
  H5Oclose(obj);
  return ret;
}

/* Walk f's datasets into l (l->f set, the rest zero); the error naming what failed. */
static int list_walk_(sagd_h5 f, dset_list *l) {
  int rc = SAGD_OK;
  /* every rank walks the same file in the same (name) order */
  H5O_info_t root;
  herr_t walked = H5Oget_info2(f->file, &root, H5O_INFO_BASIC);
  if (walked >= 0 && list_seen_(l, root.addr) < 0) {
    l->oom = 1;
  } else if (walked >= 0) {
    walked = list_group_(f->file, l);
  }
  if (l->deep) {
    SAGD_FAIL_GOTO(
        rc, done, SAGD_ERR_CORRUPT,
        "'%s' nests groups deeper than %d at '%s': damaged (a group linked into itself?)", f->path,
        DSET_WALK_DEPTH, l->path);
  }
  if (walked < 0) {
    rc = l->rc != SAGD_OK ? l->rc
                          : open_fail_(f, l->fpe, SAGD_ERR_CORRUPT,
                                       "walk the groups and datasets of", "/", __LINE__,
                                       __func__);
    goto done;
  }
  if (l->oom) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_MEM, "cannot list the datasets of '%s'", f->path);
  }
done:
  return rc;
}

static void list_free_(dset_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->names[i]);
  }
  free(l->names);
  free(l->seen);
  memset(l, 0, sizeof *l);
}

int sagd_h5_datasets(sagd_h5 f, char ***names, size_t *n) {
  SAGD_ASSERT(f != NULL && names != NULL && n != NULL);
  *names = NULL;
  *n = 0;
  dset_list l;
  memset(&l, 0, sizeof l);
  l.f = f;
  int rc = list_walk_(f, &l);
  free(l.seen);
  l.seen = NULL;
  if (rc != SAGD_OK) {
    list_free_(&l);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *names = l.names;
  *n = l.n;
  return SAGD_OK;
}

int sagd_h5_verify(sagd_h5 f, size_t *ndatasets, size_t *nchecksummed) {
  SAGD_ASSERT(f != NULL);
  dset_list l;
  memset(&l, 0, sizeof l);
  l.f = f;
  int rc = SAGD_OK;
  size_t nck = 0;
  SAGD_TRY(rc, done, list_walk_(f, &l));
  for (size_t i = 0; i < l.n; i++) {
    int fpe = 0;
    hid_t dset = open_guarded_(f, f->file, l.names[i], 1, &fpe);
    if (dset < 0) {
      rc = open_fail_(f, fpe, SAGD_ERR_CORRUPT, "open dataset", l.names[i], __LINE__,
                      __func__);
      goto done;
    }
    hid_t dcpl = H5Dget_create_plist(dset);
    unsigned flags = 0, cd[8];
    size_t ncd = 8;
    char fname[64];
    unsigned fcfg = 0;
    /* checksummed: Fletcher32 on the data, or compact (data inside the object header,
     * which the 1.8 format checksums; sagd stores only checksummed scalars compact) */
    if (dcpl >= 0 && (H5Pget_layout(dcpl) == H5D_COMPACT ||
                      H5Pget_filter_by_id2(dcpl, H5Z_FILTER_FLETCHER32, &flags, &ncd, cd,
                                           sizeof fname, fname, &fcfg) >= 0)) {
      nck++;
    }
    H5Eclear2(H5E_DEFAULT); /* "filter not found" is an answer, not an error */
    close_id_(dcpl, H5Pclose);
    H5Dclose(dset);
    /* reading the whole dataset makes HDF5 check every chunk's checksum */
    int nd = 0;
    size_t dims[H5S_MAX_RANK];
    double *data = NULL;
    int r = sagd_h5_read(f, l.names[i], H5S_MAX_RANK, &nd, dims, &data);
    free(data);
    if (r != SAGD_OK) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", sagd_error_message());
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "'%s': dataset '%s' is damaged (%s)", f->path,
                     l.names[i],
                     strstr(msg, "Fletcher32") != NULL || strstr(msg, "filter") != NULL
                         ? "its Fletcher32 checksum does not match"
                         : msg);
    }
  }
done:
  if (ndatasets != NULL) {
    *ndatasets = rc == SAGD_OK ? l.n : 0;
  }
  list_free_(&l);
  SAGD_CALL(rc);
  if (nchecksummed != NULL) {
    *nchecksummed = nck;
  }
  return SAGD_OK;
}

int sagd_h5_exists(sagd_h5 f, const char *path) {
  SAGD_ASSERT(f != NULL);
  if (!path_ok(path, 1)) {
    return 0;
  }
  int ex = 0;
  return lookup(f, path, &ex) == SAGD_OK && ex;
}

/* ---------------------------------------------------------------- attributes */

/* Write a scalar attribute, replacing an existing one; the object is created as a group
 * if missing. */
static int attr_write(sagd_h5 f, const char *group, const char *name, hid_t ftype,
                      hid_t mtype, const void *buf) {
  CHECK_PATH(f, group, 1);
  SAGD_CHECK(name != NULL && name[0] != '\0', SAGD_ERR_ARG,
             "HDF5 attribute on '%s' in '%s': expected a non-empty name", group, f->path);
  int rc = SAGD_OK;
  hid_t obj = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  int ex = 0;
  SAGD_CALL(lookup(f, group, &ex));
  if (ex == 0) {
    SAGD_TRY(rc, done,
             H5_OK(obj = H5Gcreate2(f->file, group, f->lcpl, H5P_DEFAULT, H5P_DEFAULT),
                   "create group", group));
  } else {
    SAGD_TRY(rc, done, H5_OK(obj = H5Oopen(f->file, group, H5P_DEFAULT), "open object", group));
  }
  htri_t aex = H5Aexists(obj, name);
  SAGD_TRY(rc, done, H5_OK(aex, "look up attribute", name));
  if (aex > 0) {
    SAGD_TRY(rc, done, H5_OK(H5Adelete(obj, name), "replace attribute", name));
  }
  SAGD_TRY(rc, done,
           H5_OK(space = H5Screate(H5S_SCALAR), "create a dataspace for attribute", name));
  SAGD_TRY(rc, done,
           H5_OK(attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT),
                 "create attribute", name));
  SAGD_TRY(rc, done, H5_OK(H5Awrite(attr, mtype, buf), "write attribute", name));
done:
  close_id_(attr, H5Aclose);
  close_id_(space, H5Sclose);
  close_id_(obj, H5Oclose);
  return rc;
}

int sagd_h5_attr_string(sagd_h5 f, const char *group, const char *name, const char *value) {
  SAGD_ASSERT(f != NULL);
  SAGD_CHECK(value != NULL, SAGD_ERR_ARG, "HDF5 attribute '%s': NULL string", name);
  int rc = SAGD_OK;
  hid_t type = H5I_INVALID_HID;
  /* Fixed-size, NUL-terminated C string (h5py and h5dump read it as text). */
  SAGD_TRY(rc, done, H5_OK(type = H5Tcopy(H5T_C_S1), "create a string type for attribute", name));
  SAGD_TRY(rc, done,
           H5_OK(H5Tset_size(type, strlen(value) + 1), "size the string type of attribute", name));
  SAGD_TRY(rc, done,
           H5_OK(H5Tset_strpad(type, H5T_STR_NULLTERM), "set the padding of attribute", name));
  SAGD_TRY(rc, done,
           H5_OK(H5Tset_cset(type, H5T_CSET_UTF8), "set the character set of attribute", name));
  rc = attr_write(f, group, name, type, type, value);
done:
  close_id_(type, H5Tclose);
  SAGD_CALL(rc);
  return SAGD_OK;
}

int sagd_h5_attr_int(sagd_h5 f, const char *group, const char *name, int64_t value) {
  SAGD_ASSERT(f != NULL);
  SAGD_CALL(attr_write(f, group, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value));
  return SAGD_OK;
}

int sagd_h5_attr_real(sagd_h5 f, const char *group, const char *name, double value) {
  SAGD_ASSERT(f != NULL);
  SAGD_CALL(attr_write(f, group, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value));
  return SAGD_OK;
}

/* Open a scalar attribute that must exist; its type class must be `cls`. */
static int attr_open(sagd_h5 f, const char *group, const char *name, H5T_class_t cls,
                     const char *expected, hid_t *attr_out, hid_t *type_out) {
  CHECK_PATH(f, group, 1);
  SAGD_CHECK(name != NULL, SAGD_ERR_ARG, "HDF5 attribute on '%s': NULL name", group);
  int rc = SAGD_OK;
  hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
  int ex = 0;
  SAGD_CALL(lookup(f, group, &ex));
  if (ex) {
    htri_t aex = H5Aexists_by_name(f->file, group, name, H5P_DEFAULT);
    SAGD_TRY(rc, done, H5_OK(aex, "look up attribute", name));
    ex = aex > 0;
  }
  if (!ex) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "'%s' has no attribute '%s' on '%s'", f->path, name,
                   group);
  }
  SAGD_TRY(rc, done,
           H5_OK(attr = H5Aopen_by_name(f->file, group, name, H5P_DEFAULT, H5P_DEFAULT),
                 "open attribute", name));
  SAGD_TRY(rc, done, H5_OK(type = H5Aget_type(attr), "get the type of attribute", name));
  SAGD_TRY(rc, done, H5_OK(space = H5Aget_space(attr), "get the dataspace of attribute", name));
  hssize_t np = H5Sget_simple_extent_npoints(space);
  if (H5Tget_class(type) != cls || np != 1) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT,
                   "attribute '%s' on '%s' in '%s': expected a single %s", name, group, f->path,
                   expected);
  }
done:
  close_id_(space, H5Sclose);
  if (rc != SAGD_OK) {
    close_id_(type, H5Tclose);
    close_id_(attr, H5Aclose);
    return rc;
  }
  *attr_out = attr;
  *type_out = type;
  return SAGD_OK;
}

int sagd_h5_read_attr_string(sagd_h5 f, const char *group, const char *name, char **value) {
  SAGD_ASSERT(f != NULL && value != NULL);
  *value = NULL;
  hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  SAGD_CALL(attr_open(f, group, name, H5T_STRING, "string", &attr, &type));
  int rc = SAGD_OK;
  char *out = NULL;
  htri_t var = H5Tis_variable_str(type);
  SAGD_TRY(rc, done, H5_OK(var, "get the type of attribute", name));
  if (var > 0) {
    char *s = NULL;
    SAGD_TRY(rc, done,
             H5_OK(mtype = H5Tcopy(H5T_C_S1), "create a string type for attribute", name));
    SAGD_TRY(rc, done,
             H5_OK(H5Tset_size(mtype, H5T_VARIABLE), "size the string type of attribute", name));
    SAGD_TRY(
        rc, done,
        H5_OK(H5Tset_cset(mtype, H5Tget_cset(type)), "set the character set of attribute", name));
    SAGD_TRY(rc, done, H5_OK(H5Aread(attr, mtype, &s), "read attribute", name));
    size_t n = s != NULL ? strlen(s) : 0;
    out = malloc(n + 1);
    if (out != NULL) {
      memcpy(out, s != NULL ? s : "", n + 1);
    }
    H5free_memory(s);
  } else {
    size_t n = H5Tget_size(type);
    out = calloc(n + 1, 1);
    if (out != NULL) {
      SAGD_TRY(rc, done, H5_OK(H5Aread(attr, type, out), "read attribute", name));
    }
  }
  if (out == NULL) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_MEM, "cannot allocate attribute '%s' of '%s'", name, f->path);
  }
done:
  close_id_(mtype, H5Tclose);
  H5Tclose(type);
  H5Aclose(attr);
  if (rc != SAGD_OK) {
    free(out);
    return rc;
  }
  *value = out;
  return SAGD_OK;
}

int sagd_h5_read_attr_int(sagd_h5 f, const char *group, const char *name, int64_t *value) {
  SAGD_ASSERT(f != NULL && value != NULL);
  hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID;
  SAGD_CALL(attr_open(f, group, name, H5T_INTEGER, "integer", &attr, &type));
  int rc = SAGD_OK;
  SAGD_TRY(rc, done, H5_OK(H5Aread(attr, H5T_NATIVE_INT64, value), "read attribute", name));
done:
  H5Tclose(type);
  H5Aclose(attr);
  SAGD_CALL(rc);
  return SAGD_OK;
}

/* ---------------------------------------------------------------- datasets */

static void shape_text(int nd, const hsize_t *d, char *buf, size_t cap) {
  snprintf(buf, cap, "[");
  for (int i = 0; i < nd; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%llu", i > 0 ? ", " : "", (unsigned long long)d[i]);
  }
  size_t len = strlen(buf);
  snprintf(buf + len, cap - len, "]");
}

/* Open the dataset at path with exactly this shape, or create it (with parent groups). */
static int dset_open_or_create(sagd_h5 f, const char *path, int nd, const hsize_t *dims,
                               hid_t *out) {
  int rc = SAGD_OK;
  hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  int ex = 0;
  SAGD_CALL(lookup(f, path, &ex));
  if (ex) {
    SAGD_TRY(rc, done, H5_OK(dset = H5Dopen2(f->file, path, H5P_DEFAULT), "open dataset", path));
    SAGD_TRY(rc, done, H5_OK(space = H5Dget_space(dset), "get the dataspace of dataset", path));
    hsize_t have[H5S_MAX_RANK];
    int hn = H5Sget_simple_extent_ndims(space);
    SAGD_TRY(rc, done, H5_OK(hn, "get the shape of dataset", path));
    SAGD_TRY(rc, done,
             H5_OK(H5Sget_simple_extent_dims(space, have, NULL), "get the shape of dataset", path));
    int same = hn == nd;
    for (int i = 0; same && i < nd; i++) {
      same = have[i] == dims[i];
    }
    if (!same) {
      char a[128], b[128];
      shape_text(hn, have, a, sizeof a);
      shape_text(nd, dims, b, sizeof b);
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT,
                     "dataset '%s' in '%s' has shape %s; cannot overwrite it with %s", path,
                     f->path, a, b);
    }
  } else {
    if (nd > 0) {
      SAGD_TRY(rc, done,
               H5_OK(space = H5Screate_simple(nd, dims, NULL), "create a dataspace for", path));
    } else {
      SAGD_TRY(rc, done, H5_OK(space = H5Screate(H5S_SCALAR), "create a dataspace for", path));
    }
    /* Checksummed datasets are chunked (the filter works per chunk): whole rows, about
     * 1 MiB per chunk. Scalars and empty datasets cannot be chunked and stay contiguous. */
    size_t total = 1;
    for (int i = 0; i < nd; i++) {
      total *= (size_t)dims[i];
    }
    if (f->checksums && nd > 0 && total > 0) {
      hsize_t chunk[H5S_MAX_RANK];
      size_t row = sizeof(double);
      for (int i = 1; i < nd; i++) {
        chunk[i] = dims[i];
        row *= (size_t)dims[i];
      }
      size_t rows = ((size_t)1 << 20) / row;
      rows = rows < 1 ? 1 : rows;
      chunk[0] = dims[0] < rows ? dims[0] : (hsize_t)rows;
      SAGD_TRY(
          rc, done,
          H5_OK(dcpl = H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list for", path));
      SAGD_TRY(rc, done, H5_OK(H5Pset_chunk(dcpl, nd, chunk), "set the chunks of", path));
      SAGD_TRY(rc, done, H5_OK(H5Pset_fletcher32(dcpl), "set the Fletcher32 checksum of", path));
    } else if (f->checksums && nd == 0) {
      /* a scalar cannot be chunked: stored compact, inside its object header, which the
       * 1.8 file format checksums */
      SAGD_TRY(
          rc, done,
          H5_OK(dcpl = H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list for", path));
      SAGD_TRY(rc, done,
               H5_OK(H5Pset_layout(dcpl, H5D_COMPACT), "set the compact layout of", path));
    }
    SAGD_TRY(rc, done,
             H5_OK(dset = H5Dcreate2(f->file, path, H5T_IEEE_F64LE, space, f->lcpl,
                                     dcpl >= 0 ? dcpl : H5P_DEFAULT, H5P_DEFAULT),
                   "create dataset", path));
  }
done:
  close_id_(dcpl, H5Pclose);
  close_id_(space, H5Sclose);
  return dset_out_(rc, dset, out);
}

/* Open an existing numeric dataset; its shape goes to nd/dims (H5S_MAX_RANK entries). */
static int dset_open_read(sagd_h5 f, const char *path, hid_t *out, int *nd, hsize_t *dims) {
  int rc = SAGD_OK;
  hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
  int ex = 0;
  SAGD_CALL(lookup(f, path, &ex));
  if (!ex) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "'%s' has no dataset '%s'", f->path, path);
  }
  H5I_type_t it = H5I_BADID;
  int fpe = 0;
  hid_t obj = open_guarded_(f, f->file, path, 0, &fpe);
  if (obj < 0) {
    rc = open_fail_(f, fpe, SAGD_ERR_HDF5, "open object", path, __LINE__, __func__);
    goto done;
  }
  it = H5Iget_type(obj);
  H5Oclose(obj);
  if (it != H5I_DATASET) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "'%s' in '%s' is not a dataset", path, f->path);
  }
  dset = open_guarded_(f, f->file, path, 1, &fpe);
  if (dset < 0) {
    rc = open_fail_(f, fpe, SAGD_ERR_HDF5, "open dataset", path, __LINE__, __func__);
    goto done;
  }
  SAGD_TRY(rc, done, H5_OK(type = H5Dget_type(dset), "get the type of dataset", path));
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "dataset '%s' in '%s': expected numbers", path,
                   f->path);
  }
  SAGD_TRY(rc, done, H5_OK(space = H5Dget_space(dset), "get the dataspace of dataset", path));
  H5S_class_t sc = H5Sget_simple_extent_type(space);
  if (sc != H5S_SCALAR && sc != H5S_SIMPLE) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT, "dataset '%s' in '%s' has no data (null dataspace)",
                   path, f->path);
  }
  *nd = H5Sget_simple_extent_ndims(space);
  SAGD_TRY(rc, done, H5_OK(*nd, "get the shape of dataset", path));
  SAGD_TRY(rc, done,
           H5_OK(H5Sget_simple_extent_dims(space, dims, NULL), "get the shape of dataset", path));
done:
  close_id_(type, H5Tclose);
  close_id_(space, H5Sclose);
  return dset_out_(rc, dset, out);
}

/* dset_open_read, then the shape the caller expects: [rows, cols] (`rows`), or at most cap
 * dimensions; when the shape is not that, the dataset is closed and the error names both. */
static int dset_open_shaped_(sagd_h5 f, const char *path, int cap, int rows, size_t cols,
                             hid_t *dset, int *nd, hsize_t *hd) {
  SAGD_CALL(dset_open_read(f, path, dset, nd, hd));
  if (rows ? *nd == 2 && hd[1] == (hsize_t)cols : *nd <= cap) {
    return SAGD_OK;
  }
  H5Dclose(*dset);
  *dset = H5I_INVALID_HID;
  char a[128], e[64];
  shape_text(*nd, hd, a, sizeof a);
  if (rows) {
    snprintf(e, sizeof e, "[rows, %zu]", cols);
  } else {
    snprintf(e, sizeof e, "at most %d dimensions", cap);
  }
  SAGD_FAIL(SAGD_ERR_CORRUPT, "dataset '%s' in '%s' has shape %s: expected %s", path, f->path, a,
            e);
}

/* Close the ids of a transfer; keep rc. */
static void xfer_close(hid_t dset, hid_t fspace, hid_t mspace) {
  close_id_(mspace, H5Sclose);
  close_id_(fspace, H5Sclose);
  close_id_(dset, H5Dclose);
}

int sagd_h5_write(sagd_h5 f, const char *path, int ndims, const size_t *dims,
                  const double *data) {
  SAGD_ASSERT(f != NULL);
  CHECK_PATH(f, path, 0);
  SAGD_CHECK(ndims >= 0 && ndims <= H5S_MAX_RANK && (ndims == 0 || dims != NULL), SAGD_ERR_ARG,
             "dataset '%s' in '%s': %d dimensions; expected 0 to %d with their sizes", path,
             f->path, ndims, H5S_MAX_RANK);
  hsize_t hd[H5S_MAX_RANK];
  size_t total = 1;
  for (int i = 0; i < ndims; i++) {
    hd[i] = (hsize_t)dims[i];
    total *= dims[i];
  }
  SAGD_CHECK(total == 0 || data != NULL, SAGD_ERR_ARG, "dataset '%s' in '%s': NULL data", path,
             f->path);
  static const double none = 0;
  int rc = SAGD_OK;
  hid_t dset = H5I_INVALID_HID, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  hid_t dcpl = H5I_INVALID_HID;
  SAGD_CALL(dset_open_or_create(f, path, ndims, hd, &dset));
  SAGD_TRY(rc, done, H5_OK(fspace = H5Dget_space(dset), "get the dataspace of dataset", path));
  if (ndims > 0) {
    SAGD_TRY(
        rc, done,
        H5_OK(mspace = H5Screate_simple(ndims, hd, NULL), "create a memory dataspace for", path));
  } else {
    SAGD_TRY(rc, done,
             H5_OK(mspace = H5Screate(H5S_SCALAR), "create a memory dataspace for", path));
  }
  /* Replicated data: rank 0 writes, the others take part with nothing; except a compact
   * dataset (a checksummed scalar), which lives in the object header that every rank
   * writes, so every rank writes the same value. */
  SAGD_TRY(rc, done,
           H5_OK(dcpl = H5Dget_create_plist(dset), "get the properties of dataset", path));
  const int compact = H5Pget_layout(dcpl) == H5D_COMPACT;
  if (f->rank != 0 && !compact) {
    SAGD_TRY(rc, done, H5_OK(H5Sselect_none(fspace), "select nothing in dataset", path));
    SAGD_TRY(rc, done, H5_OK(H5Sselect_none(mspace), "select nothing in dataset", path));
  }
  if (total > 0) { /* an empty dataset has no storage to write to (same on all ranks) */
    SAGD_TRY(rc, done,
             H5_OK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl,
                            data != NULL ? data : &none),
                   "write dataset", path));
  }
done:
  close_id_(dcpl, H5Pclose);
  xfer_close(dset, fspace, mspace);
  SAGD_CALL(rc);
  return SAGD_OK;
}

/* This rank's part of a row-distributed write or read: rows [row0, row0 + nrows) of a
 * [global_rows x cols] dataset, with data for them (this rank's verdict, to be agreed). */
static int rows_check_(sagd_h5 f, const char *path, size_t global_rows, size_t row0,
                       size_t nrows, size_t cols, const void *data) {
  if (row0 > global_rows || nrows > global_rows - row0) {
    return sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                          "dataset '%s' in '%s': rows [%zu, %zu) are outside [0, %zu)", path,
                          f->path, row0, row0 + nrows, global_rows);
  }
  if (nrows > 0 && cols > 0 && data == NULL) {
    return sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                          "dataset '%s' in '%s': NULL data for %zu rows", path, f->path, nrows);
  }
  return SAGD_OK;
}

/* Write src (or, src NULL, read into dst) those rows of dataset dset, which this closes;
 * nothing is selected where this rank has no rows. An empty dataset has no storage and no
 * transfer (the same on all ranks). */
static int rows_io_(sagd_h5 f, hid_t dset, const char *path, size_t global_rows, size_t row0,
                    size_t nrows, size_t cols, const double *src, double *dst) {
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
  double none = 0;
  int rc = SAGD_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  SAGD_TRY(rc, done, H5_OK(fspace = H5Dget_space(dset), "get the dataspace of dataset", path));
  SAGD_TRY(rc, done,
           H5_OK(mspace = H5Screate_simple(2, count, NULL), "create a memory dataspace for", path));
  if (nrows > 0 && cols > 0) {
    SAGD_TRY(rc, done,
             H5_OK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL),
                   "select rows of dataset", path));
  } else {
    SAGD_TRY(rc, done, H5_OK(H5Sselect_none(fspace), "select nothing in dataset", path));
    SAGD_TRY(rc, done, H5_OK(H5Sselect_none(mspace), "select nothing in dataset", path));
  }
  if (global_rows > 0 && cols > 0 && src != NULL) {
    SAGD_TRY(rc, done,
             H5_OK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl, src),
                   "write rows of dataset", path));
  } else if (global_rows > 0 && cols > 0) {
    SAGD_TRY(rc, done,
             H5_OK(H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl,
                           dst != NULL ? dst : &none),
                   "read rows of dataset", path));
  }
done:
  xfer_close(dset, fspace, mspace);
  SAGD_CALL(rc);
  return SAGD_OK;
}

int sagd_h5_write_rows(sagd_h5 f, const char *path, size_t global_rows, size_t cols,
                       size_t row0, size_t nrows, const double *data) {
  SAGD_ASSERT(f != NULL);
  CHECK_PATH(f, path, 0);
  const int local = rows_check_(f, path, global_rows, row0, nrows, cols, data);
  SAGD_CALL(h5_agree(f, local, "write dataset", path));
  hsize_t hd[2] = {(hsize_t)global_rows, (hsize_t)cols};
  hid_t dset = H5I_INVALID_HID;
  SAGD_CALL(dset_open_or_create(f, path, 2, hd, &dset));
  static const double none = 0; /* a rank without rows still takes part */
  SAGD_CALL(rows_io_(f, dset, path, global_rows, row0, nrows, cols, data != NULL ? data : &none,
                     NULL));
  return SAGD_OK;
}

/* Before reading a whole dataset of `n` elements: a plausible layout. Chunks no larger than
 * the dataset; compact or contiguous storage able to hold the elements. (The chunks' own
 * contents are checked by their Fletcher32 checksums while reading.) */
static int storage_plausible_(sagd_h5 f, hid_t dset, const char *path, size_t n) {
  int rc = SAGD_OK;
  hid_t dcpl = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
  SAGD_TRY(rc, done,
           H5_OK(dcpl = H5Dget_create_plist(dset), "get the creation properties of dataset", path));
  H5D_layout_t lay = H5Pget_layout(dcpl);
  if (lay == H5D_CHUNKED) {
    /* sagd's writers (and jobs/mnist-convert.py) never make a chunk larger than its
     * dataset; a damaged chunk shape makes libhdf5 1.10.8 read outside its chunk buffer in
     * H5D__scatgath_read (heap-buffer-overflow, found by fuzz_images) */
    hsize_t cd[H5S_MAX_RANK], dd[H5S_MAX_RANK];
    SAGD_TRY(rc, done, H5_OK(space = H5Dget_space(dset), "get the dataspace of dataset", path));
    const int dr = H5Sget_simple_extent_dims(space, dd, NULL);
    const int cr = H5Pget_chunk(dcpl, H5S_MAX_RANK, cd);
    int bad = dr < 0 || cr != dr;
    for (int i = 0; !bad && i < cr; i++) {
      bad = cd[i] == 0 || cd[i] > (dd[i] > 0 ? dd[i] : 1);
    }
    if (bad) {
      SAGD_FAIL_GOTO(
          rc, done, SAGD_ERR_CORRUPT,
          "dataset '%s' in '%s' has chunks of rank %d that do not fit its %d-dimensional "
          "shape: damaged",
          path, f->path, cr, dr);
    }
    /* every stored chunk inside the file and no larger than a chunk (plus its checksum): a
     * damaged chunk record otherwise makes libhdf5 allocate and read what it declares (4 GiB
     * seen by fuzz_images) */
    SAGD_TRY(rc, done, H5_OK(type = H5Dget_type(dset), "get the type of dataset", path));
    double cbytes = (double)H5Tget_size(type);
    for (int i = 0; i < cr; i++) {
      cbytes *= (double)cd[i];
    }
    /* The filters: sagd's files (and jobs/mnist-convert.py's) use Fletcher32 alone; deflate
     * and shuffle are let through for image files made otherwise. Any other filter, or one
     * with the wrong number of parameters, is damage: an nbit filter without its parameters
     * made libhdf5 1.10.8 read through a NULL pointer in H5Z_pipeline (SEGV, fuzz_images). */
    const int nf = H5Pget_nfilters(dcpl);
    int fletcher = 0, deflate = 0;
    for (int i = 0; i < nf && rc == SAGD_OK; i++) {
      unsigned flags = 0, fcfg = 0, cdv[8];
      size_t nel = sizeof cdv / sizeof cdv[0];
      char fname[64] = "";
      const H5Z_filter_t id =
          H5Pget_filter2(dcpl, (unsigned)i, &flags, &nel, cdv, sizeof fname, fname, &fcfg);
      const int known = (id == H5Z_FILTER_FLETCHER32 && nel == 0) ||
                        (id == H5Z_FILTER_DEFLATE && nel == 1 && cdv[0] <= 9) ||
                        (id == H5Z_FILTER_SHUFFLE && nel == 1);
      if (!known) {
        SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT,
                       "dataset '%s' in '%s': HDF5 filter %d ('%s') with %zu parameters: "
                       "expected Fletcher32, deflate or shuffle with their parameters (damaged, "
                       "or not a file sagd can read)",
                       path, f->path, (int)id, fname, nel);
      }
      fletcher += id == H5Z_FILTER_FLETCHER32;
      deflate += id == H5Z_FILTER_DEFLATE;
    }
    /* uncompressed, a chunk is stored as its bytes, plus 4 with the Fletcher32 filter; a
     * stored size off that made the filter read outside the chunk (SEGV in
     * H5_checksum_fletcher32, found by fuzz_runfile); compressed, at most zlib's bound */
    const double want = deflate ? -1 : cbytes + (fletcher ? 4 : 0);
    const double most = cbytes + cbytes / 1000 + 64;
    hsize_t nchunks = 0, fsize = 0;
    SAGD_TRY(rc, done,
             H5_OK(H5Fget_filesize(f->file, &fsize), "get the file size for dataset", path));
    /* sagd's files store every chunk of a dataset (parallel HDF5 allocates them early), so
     * the chunks of the whole extent fit in the file; tiny chunks over a huge declared shape
     * otherwise make H5Dread build one selection per chunk (libhdf5 1.10.8 grew past 6 GB
     * through H5S_copy on a 16 kB image file found by fuzz_images) */
    double extent_chunks = 1.0;
    for (int i = 0; i < cr; i++) {
      extent_chunks *= (double)(dd[i] / cd[i] + (dd[i] % cd[i] != 0));
    }
    if (extent_chunks * cbytes > (double)fsize) {
      SAGD_FAIL_GOTO(
          rc, done, SAGD_ERR_CORRUPT,
          "dataset '%s' in '%s' declares %.0f chunks of %.0f bytes, more than the file's "
          "%llu bytes hold: damaged",
          path, f->path, extent_chunks, cbytes, (unsigned long long)fsize);
    }
    SAGD_TRY(rc, done,
             H5_OK(H5Dget_num_chunks(dset, space, &nchunks), "count the chunks of dataset", path));
    for (hsize_t k = 0; k < nchunks; k++) {
      hsize_t off[H5S_MAX_RANK];
      unsigned mask = 0;
      haddr_t addr = 0;
      hsize_t size = 0;
      SAGD_TRY(rc, done,
               H5_OK(H5Dget_chunk_info(dset, space, k, off, &mask, &addr, &size),
                     "read the chunk index of dataset", path));
      if ((want >= 0 ? (double)size != want : ((double)size > most || size < 4)) ||
          addr == HADDR_UNDEF || addr > fsize || size > fsize - addr) {
        SAGD_FAIL_GOTO(
            rc, done, SAGD_ERR_CORRUPT,
            "dataset '%s' in '%s': chunk %llu of %llu stores %llu bytes at %llu (a chunk "
            "holds %.0f, the file %llu bytes): damaged",
            path, f->path, (unsigned long long)k, (unsigned long long)nchunks,
            (unsigned long long)size, (unsigned long long)addr, cbytes, (unsigned long long)fsize);
      }
    }
  } else if (lay == H5D_COMPACT || lay == H5D_CONTIGUOUS) {
    SAGD_TRY(rc, done, H5_OK(type = H5Dget_type(dset), "get the type of dataset", path));
    const size_t tsz = H5Tget_size(type);
    const hsize_t have = H5Dget_storage_size(dset);
    if (tsz == 0 || (double)have < (double)n * (double)tsz) {
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT,
                     "dataset '%s' in '%s' stores %llu bytes for %zu elements of %zu bytes: "
                     "damaged",
                     path, f->path, (unsigned long long)have, n, tsz);
    }
  }
done:
  close_id_(space, H5Sclose);
  close_id_(type, H5Tclose);
  close_id_(dcpl, H5Pclose);
  return rc;
}

int sagd_h5_shape(sagd_h5 f, const char *path, int ndims_cap, int *ndims, size_t *dims) {
  SAGD_ASSERT(f != NULL && ndims != NULL && dims != NULL);
  CHECK_PATH(f, path, 0);
  hsize_t hd[H5S_MAX_RANK];
  int nd = 0;
  hid_t dset = H5I_INVALID_HID;
  SAGD_CALL(dset_open_shaped_(f, path, ndims_cap, 0, 0, &dset, &nd, hd));
  H5Dclose(dset);
  *ndims = nd;
  for (int i = 0; i < nd; i++) {
    dims[i] = (size_t)hd[i];
  }
  return SAGD_OK;
}

int sagd_h5_read(sagd_h5 f, const char *path, int ndims_cap, int *ndims, size_t *dims,
                 double **data) {
  SAGD_ASSERT(f != NULL && ndims != NULL && data != NULL);
  CHECK_PATH(f, path, 0);
  *data = NULL;
  *ndims = 0;
  hsize_t hd[H5S_MAX_RANK];
  int nd = 0;
  hid_t dset = H5I_INVALID_HID;
  SAGD_CALL(dset_open_shaped_(f, path, dims == NULL ? 0 : ndims_cap, 0, 0, &dset, &nd, hd));
  int rc = SAGD_OK;
  double *buf = NULL;
  size_t total = 1;
  for (int i = 0; i < nd; i++) {
    /* a damaged dataspace may declare more elements than a size_t counts */
    if (hd[i] != 0 && total > SIZE_MAX / sizeof *buf / (size_t)hd[i]) {
      char a[128];
      shape_text(nd, hd, a, sizeof a);
      SAGD_FAIL_GOTO(rc, done, SAGD_ERR_CORRUPT,
                     "dataset '%s' in '%s' declares shape %s: more elements than "
                     "memory can address (a damaged file?)",
                     path, f->path, a);
    }
    total *= (size_t)hd[i];
  }
  buf = malloc((total > 0 ? total : 1) * sizeof *buf);
  if (buf == NULL) {
    SAGD_FAIL_GOTO(rc, done, SAGD_ERR_MEM, "cannot allocate %zu doubles for dataset '%s' of '%s'",
                   total, path, f->path);
  }
  if (total > 0) {
    SAGD_TRY(rc, done, storage_plausible_(f, dset, path, total));
    SAGD_TRY(rc, done,
             H5_OK(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, f->dxpl, buf), "read dataset",
                   path));
  }
done:
  H5Dclose(dset);
  if (rc != SAGD_OK) {
    free(buf);
    return rc;
  }
  *ndims = nd;
  for (int i = 0; i < nd; i++) {
    dims[i] = (size_t)hd[i];
  }
  *data = buf;
  return SAGD_OK;
}

int sagd_h5_read_rows(sagd_h5 f, const char *path, size_t row0, size_t nrows, size_t cols,
                      double *data) {
  SAGD_ASSERT(f != NULL);
  CHECK_PATH(f, path, 0);
  hsize_t hd[H5S_MAX_RANK];
  int nd = 0;
  hid_t dset = H5I_INVALID_HID;
  SAGD_CALL(dset_open_shaped_(f, path, 0, 1, cols, &dset, &nd, hd));
  int rc = SAGD_OK;
  const size_t grows = (size_t)hd[0];
  SAGD_TRY(rc, done,
           h5_agree(f, rows_check_(f, path, grows, row0, nrows, cols, data), "read dataset",
                    path));
  if (grows > 0 && cols > 0) {
    SAGD_TRY(rc, done, storage_plausible_(f, dset, path, grows * cols));
  }
  SAGD_CALL(rows_io_(f, dset, path, grows, row0, nrows, cols, NULL, data)); /* closes dset */
  return SAGD_OK;
done:
  close_id_(dset, H5Dclose);
  SAGD_CALL(rc);
  return SAGD_OK;
}
