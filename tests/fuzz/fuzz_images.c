/* libFuzzer harness: the image readers (include/sagd/images.h) over arbitrary files. The
 * bytes are written to a file and read as an IDX images file (plain or gzip: zlib detects
 * it), as an IDX label file, and, when they start with the HDF5 signature, as sagd's HDF5
 * image file (both splits). A set that reads is then converted to doubles whole. Any crash
 * or sanitizer report is a bug; invalid-data errors are expected. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sagd/error.h"
#include "sagd/images.h"

static char path_[64], labels_[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  MPI_Init(argc, argv);
  snprintf(path_, sizeof path_, "/tmp/sagd_fuzz_images_%d", (int)getpid());
  snprintf(labels_, sizeof labels_, "/tmp/sagd_fuzz_labels_%d", (int)getpid());
  /* a valid label file of 3 labels, for the images-with-labels path */
  FILE *fp = fopen(labels_, "wb");
  const unsigned char l[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
  if (fp == NULL || fwrite(l, 1, sizeof l, fp) != sizeof l || fclose(fp) != 0) {
    abort();
  }
  return 0;
}

static void use_(sagd_images img) {
  const size_t n = sagd_images_count(img), px = sagd_images_rows(img) * sagd_images_cols(img);
  if (n * px <= ((size_t)1 << 26)) {
    double *v = malloc((n * px > 0 ? n * px : 1) * sizeof(double));
    if (v != NULL && sagd_images_get(img, 0, n, v) != SAGD_OK) {
      abort(); /* a set that read must convert */
    }
    free(v);
  }
  sagd_images_destroy(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *fp = fopen(path_, "wb");
  if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
    abort();
  }
  sagd_images img = NULL;
  int hdf5 = 0;
  if (sagd_images_probe(path_, &hdf5) == SAGD_OK && hdf5) {
    if (sagd_images_read(path_, "train", NULL, 0, &img) == SAGD_OK) {
      use_(img);
    }
    if (sagd_images_read(path_, "test", NULL, 0, &img) == SAGD_OK) {
      use_(img);
    }
  } else {
    if (sagd_images_read(path_, NULL, NULL, 0, &img) == SAGD_OK) {
      use_(img);
    }
    if (sagd_images_read(path_, NULL, labels_, 2, &img) == SAGD_OK) {
      use_(img);
    }
    if (sagd_images_read(labels_, NULL, path_, 0, &img) == SAGD_OK) {
      use_(img);
    }
  }
  sagd_error_clear();
  return 0;
}
