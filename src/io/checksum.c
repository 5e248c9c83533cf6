/* Checksums of checkpoint rows and bytes (see include/sagd/checkpoint.h). */
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

uint64_t ck_fmix64(uint64_t z) { /* MurmurHash3's finaliser: a bijection */
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
  uint64_t h = ck_fmix64(row ^ 0x9e3779b97f4a7c15ULL);
  for (size_t j = 0; j < cols; j++) {
    uint64_t w;
    memcpy(&w, x + j, sizeof w);
    h = ((h << 27) | (h >> 37)) ^ w;
    h *= 0x9e3779b97f4a7c15ULL;
  }
  return ck_fmix64(h ^ (uint64_t)cols);
}

uint64_t sagd_checksum_rows(const double *x, size_t row0, size_t nrows, size_t cols) {
  uint64_t s = 0;
  for (size_t i = 0; i < nrows; i++) {
    s += sagd_checksum_row(row0 + i, x + i * cols, cols);
  }
  return s;
}
