/* Image sets from IDX files (plain or gzip, through zlib) or sagd's HDF5 (see
 * include/sagd/images.h). */
#include "sagd/images.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "sagd/error.h"
#include "sagd/h5.h"

struct sagd_images_s {
  size_t n, rows, cols;
  uint8_t *bytes;  /* n × rows × cols */
  uint8_t *labels; /* n, or NULL */
  const char *format;
};

/* Largest image set accepted: far above the 70,000 of MNIST, and a guard against a header
 * whose sizes would overflow or exhaust memory. */
#define IMAGES_MAX_BYTES ((size_t)1 << 34)
#define IDX_UBYTE 0x08

enum { FMT_IDX, FMT_HDF5 };

static int sniff_(const char *path, int *fmt) {
  FILE *fp = fopen(path, "rb");
  SAGD_CHECK(fp != NULL, SAGD_ERR_DATA, "cannot read image file '%s': %s", path,
             strerror(errno));
  unsigned char head[8] = {0};
  size_t got = fread(head, 1, sizeof head, fp);
  fclose(fp);
  static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  *fmt = (got == 8 && memcmp(head, hdf5_sig, 8) == 0) ? FMT_HDF5 : FMT_IDX;
  return SAGD_OK;
}

/* Read exactly `len` bytes from gz into buf; a short read is a truncated file. For the
 * message, these bytes are part of `whole` bytes of `what` of which `before` were read. */
static int gz_exact_(gzFile gz, const char *path, void *buf, size_t len, const char *what,
                     size_t before, size_t whole) {
  unsigned char *p = buf;
  size_t done = 0;
  while (done < len) {
    size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
    int got = gzread(gz, p + done, (unsigned)chunk);
    if (got < 0) {
      int zerr = 0;
      const char *msg = gzerror(gz, &zerr);
      SAGD_FAIL(SAGD_ERR_DATA, "image file '%s' cannot be decompressed (%s) while reading %s",
                path, msg, what);
    }
    if (got == 0) {
      SAGD_FAIL(SAGD_ERR_DATA,
                "image file '%s' is truncated: %s needs %zu bytes, the file ends after %zu",
                path, what, whole, before + done);
    }
    done += (size_t)got;
  }
  return SAGD_OK;
}

/* One IDX file of unsigned bytes with `want_dims` dimensions: sizes into dims, data malloc'ed.
 * The file must end right after its data. */
static int idx_read_(const char *path, int want_dims, uint32_t *dims, uint8_t **data) {
  *data = NULL;
  FILE *fp = fopen(path, "rb");
  SAGD_CHECK(fp != NULL, SAGD_ERR_DATA, "cannot read IDX file '%s': %s", path, strerror(errno));
  gzFile gz = gzdopen(fileno(fp), "rb");
  if (gz == NULL) {
    fclose(fp);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot open a zlib reader on '%s'", path);
  }
  int rc = SAGD_OK;
  uint8_t *buf = NULL;
  unsigned char magic[4];
  SAGD_TRY(rc, done, gz_exact_(gz, path, magic, 4, "the IDX magic number", 0, 4));
  uint32_t expect = ((uint32_t)IDX_UBYTE << 8) | (uint32_t)want_dims;
  uint32_t got = ((uint32_t)magic[0] << 24) | ((uint32_t)magic[1] << 16) |
                 ((uint32_t)magic[2] << 8) | magic[3];
  if (got != expect) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "'%s' has magic number 0x%08x: expected 0x%08x (an IDX file of unsigned "
                        "bytes with %d dimensions%s, plain or gzip-compressed)",
                        path, (unsigned)got, (unsigned)expect, want_dims,
                        want_dims == 3 ? ": images n x rows x cols" : ": labels");
    goto done;
  }
  size_t total = 1;
  for (int i = 0; i < want_dims; i++) {
    unsigned char b[4];
    SAGD_TRY(rc, done, gz_exact_(gz, path, b, 4, "the IDX header", 4 + 4 * (size_t)i,
                                 4 + 4 * (size_t)want_dims));
    dims[i] = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    if (dims[i] == 0 || total > IMAGES_MAX_BYTES / dims[i]) {
      rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                          "'%s' declares size %u in dimension %d: expected a positive size, "
                          "and at most %zu bytes in all",
                          path, (unsigned)dims[i], i + 1, IMAGES_MAX_BYTES);
      goto done;
    }
    total *= dims[i];
  }
  /* A damaged header may declare far more than the file holds: a plain file's size is
   * checked before anything is allocated, and a compressed file's data are read into a
   * buffer that grows with what actually arrives (so memory follows the file, not the
   * header). */
  struct stat st;
  const size_t head = 4 + 4 * (size_t)want_dims;
  if (gzdirect(gz) && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
      (size_t)st.st_size - head < total) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "image file '%s' is truncated: the data its header declares needs %zu "
                        "bytes, the file ends after %zu",
                        path, total, (size_t)st.st_size - head);
    goto done;
  }
  size_t have = 0, cap = 0;
  while (have < total) {
    if (have == cap) {
      size_t ncap = cap == 0 ? ((size_t)1 << 20) : 2 * cap;
      ncap = ncap < total ? ncap : total;
      uint8_t *nb = realloc(buf, ncap);
      if (nb == NULL) {
        rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                            "cannot allocate %zu bytes for '%s'", ncap, path);
        goto done;
      }
      buf = nb;
      cap = ncap;
    }
    SAGD_TRY(rc, done, gz_exact_(gz, path, buf + have, cap - have,
                                 "the data its header declares", have, total));
    have = cap;
  }
  unsigned char extra;
  int more = gzread(gz, &extra, 1);
  if (more != 0) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        more > 0 ? "'%s' is longer than its header declares (%zu data bytes): "
                                   "not one IDX file"
                                 : "'%s' cannot be decompressed after its %zu data bytes",
                        path, total);
    goto done;
  }
done:
  gzclose(gz); /* closes fp's descriptor too */
  if (rc != SAGD_OK) {
    free(buf);
    return rc;
  }
  *data = buf;
  return SAGD_OK;
}

/* Doubles holding bytes (as HDF5 converts uint8 to double) back to bytes, checking each. */
static int bytes_from_doubles_(const double *v, size_t n, double max, const char *what,
                               const char *path, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    SAGD_CHECK(v[i] >= 0.0 && v[i] <= max && v[i] == floor(v[i]), SAGD_ERR_DATA,
               "'%s': %s element %zu = %g: expected an integer in [0, %g]", path, what, i, v[i],
               max);
    out[i] = (uint8_t)v[i];
  }
  return SAGD_OK;
}

static int hdf5_read_(const char *path, const char *split, sagd_images img) {
  SAGD_CHECK(split != NULL && (strcmp(split, "train") == 0 || strcmp(split, "test") == 0),
             SAGD_ERR_ARG, "HDF5 image file '%s': split = '%s': expected train or test", path,
             split ? split : "(none)");
  sagd_h5 f = NULL;
  int rc = sagd_h5_open(MPI_COMM_SELF, path, 0, &f);
  if (rc != SAGD_OK) {
    return sagd_error_trace(rc == SAGD_ERR_CORRUPT ? SAGD_ERR_DATA : rc, __FILE__, __LINE__,
                            __func__);
  }
  double *pix = NULL, *lab = NULL;
  char ipath[64], lpath[64];
  snprintf(ipath, sizeof ipath, "/%s/images", split);
  snprintf(lpath, sizeof lpath, "/%s/labels", split);
  if (!sagd_h5_exists(f, ipath) || !sagd_h5_exists(f, lpath)) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "'%s' has no %s or %s: expected an image file written by "
                        "jobs/mnist-convert.py (run jobs/setup-debian.sh), or an IDX file",
                        path, ipath, lpath);
    goto done;
  }
  int nd = 0, nl = 0;
  size_t d[3] = {0, 0, 0}, dl[1] = {0};
  /* the declared shape first: a damaged file must not make us allocate terabytes */
  struct stat st;
  const size_t fsize = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
  rc = sagd_h5_shape(f, ipath, 3, &nd, d);
  if (rc != SAGD_OK || nd != 3 || d[1] == 0 || d[2] == 0 || d[0] > fsize / d[1] / d[2]) {
    if (rc == SAGD_OK) { /* the bytes are stored uncompressed: they cannot exceed the file */
      rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                          "'%s': %s has %d dimensions (%zu x %zu x %zu): expected n x rows x "
                          "cols images, at most the file's %zu bytes",
                          path, ipath, nd, d[0], d[1], d[2], fsize);
    }
    goto done;
  }
  SAGD_TRY(rc, done, sagd_h5_shape(f, lpath, 1, &nl, dl));
  if (d[0] == 0 || nl != 1 || dl[0] != d[0]) {
    rc = sagd_error_set(SAGD_ERR_DATA, __FILE__, __LINE__, __func__,
                        "'%s': %s has %d dimensions (%zu x %zu x %zu) and %s %zu entries: "
                        "expected n x rows x cols images and n labels, n >= 1",
                        path, ipath, nd, d[0], d[1], d[2], lpath, nl == 1 ? dl[0] : 0);
    goto done;
  }
  SAGD_TRY(rc, done, sagd_h5_read(f, ipath, 3, &nd, d, &pix));
  SAGD_TRY(rc, done, sagd_h5_read(f, lpath, 1, &nl, dl, &lab));
  img->n = d[0];
  img->rows = d[1];
  img->cols = d[2];
  size_t total = d[0] * d[1] * d[2];
  img->bytes = malloc(total);
  img->labels = malloc(d[0]);
  if (img->bytes == NULL || img->labels == NULL) {
    rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                        "cannot allocate %zu bytes for the images of '%s'", total, path);
    goto done;
  }
  SAGD_TRY(rc, done, bytes_from_doubles_(pix, total, 255.0, ipath, path, img->bytes));
  SAGD_TRY(rc, done, bytes_from_doubles_(lab, d[0], 9.0, lpath, path, img->labels));
  img->format = "HDF5";
done:
  free(pix);
  free(lab);
  int rc2 = sagd_h5_close(&f);
  rc = rc != SAGD_OK ? rc : rc2;
  /* a damaged image file is invalid data, as a damaged IDX file is */
  return rc == SAGD_ERR_CORRUPT ? sagd_error_trace(SAGD_ERR_DATA, __FILE__, __LINE__, __func__)
                                : rc;
}

static int idx_images_read_(const char *path, const char *labels_path, sagd_images img) {
  uint32_t d[3] = {0, 0, 0};
  SAGD_CALL(idx_read_(path, 3, d, &img->bytes));
  img->n = d[0];
  img->rows = d[1];
  img->cols = d[2];
  img->format = "IDX";
  if (labels_path != NULL) {
    uint32_t dl[1] = {0};
    SAGD_CALL(idx_read_(labels_path, 1, dl, &img->labels));
    SAGD_CHECK(dl[0] == d[0], SAGD_ERR_DATA,
               "label file '%s' holds %u labels for the %u images of '%s': expected one per "
               "image",
               labels_path, (unsigned)dl[0], (unsigned)d[0], path);
    for (size_t i = 0; i < img->n; i++) {
      SAGD_CHECK(img->labels[i] <= 9, SAGD_ERR_DATA,
                 "label file '%s': label %zu = %u: expected 0..9", labels_path, i,
                 (unsigned)img->labels[i]);
    }
  }
  return SAGD_OK;
}

int sagd_images_read(const char *path, const char *split, const char *labels_path,
                     size_t max_n, sagd_images *out) {
  SAGD_ASSERT(out != NULL);
  *out = NULL;
  int hdf5 = 0;
  SAGD_CALL(sagd_images_probe(path, &hdf5));
  SAGD_CHECK(!hdf5 || labels_path == NULL, SAGD_ERR_ARG,
             "'%s' is an HDF5 file, which holds its own labels: no label file ('%s') expected",
             path, labels_path);
  SAGD_CHECK(hdf5 || split == NULL, SAGD_ERR_ARG,
             "'%s' is not an HDF5 file, so it has no split '%s': expected the IDX file of one "
             "split",
             path, split);
  struct sagd_images_s *img = calloc(1, sizeof *img);
  SAGD_CHECK(img != NULL, SAGD_ERR_MEM, "cannot allocate an image set");
  const int rc = hdf5 ? hdf5_read_(path, split, img) : idx_images_read_(path, labels_path, img);
  if (rc != SAGD_OK) {
    sagd_images_destroy(&img);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  if (max_n > 0 && max_n < img->n) {
    img->n = max_n; /* the buffers keep their size; only the first max_n are used */
  }
  *out = img;
  return SAGD_OK;
}

int sagd_images_probe(const char *path, int *hdf5) {
  SAGD_CHECK(path != NULL && path[0] != '\0' && hdf5 != NULL, SAGD_ERR_DATA,
             "the image file name is empty: expected an IDX or HDF5 file");
  int fmt = FMT_IDX;
  SAGD_CALL(sniff_(path, &fmt));
  *hdf5 = fmt == FMT_HDF5;
  return SAGD_OK;
}

void sagd_images_destroy(sagd_images *img) {
  if (img == NULL || *img == NULL) {
    return;
  }
  free((*img)->bytes);
  free((*img)->labels);
  free(*img);
  *img = NULL;
}

size_t sagd_images_count(sagd_images img) { return img->n; }
size_t sagd_images_rows(sagd_images img) { return img->rows; }
size_t sagd_images_cols(sagd_images img) { return img->cols; }
const uint8_t *sagd_images_labels(sagd_images img) { return img->labels; }
const uint8_t *sagd_images_bytes(sagd_images img) { return img->bytes; }
const char *sagd_images_format(sagd_images img) { return img->format; }

int sagd_images_get(sagd_images img, size_t first, size_t count, double *out) {
  SAGD_CHECK(first <= img->n && count <= img->n - first, SAGD_ERR_ARG,
             "images %zu..%zu requested from a set of %zu: expected a range inside it", first,
             first + count, img->n);
  size_t px = img->rows * img->cols;
  const uint8_t *src = img->bytes + first * px;
  for (size_t i = 0; i < count * px; i++) {
    out[i] = (double)src[i] / 255.0;
  }
  return SAGD_OK;
}
