/* Independent references for the exact-sum tests.
 *
 * ref_fsum: the correctly rounded sum of doubles by Shewchuk's exact partials followed by
 * the half-way correction of CPython's math.fsum (Modules/mathmodule.c). Exact as long as
 * no partial overflows; the result is the double nearest to the exact sum, ties to even.
 * splitmix64: a small deterministic generator for test data. */
#ifndef SAGD_TEST_XSUM_REF_H
#define SAGD_TEST_XSUM_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A random double ±M·2^e with a full 53-bit mantissa M and e uniform in [emin, emax]. */
static inline double random_wide(uint64_t *s, int emin, int emax) {
  uint64_t r = splitmix64(s);
  uint64_t mant = (r >> 11) | (1ULL << 52);
  int e = emin + (int)(splitmix64(s) % (uint64_t)(emax - emin + 1));
  double x = ldexp((double)mant, e);
  return (r & 1) ? -x : x;
}

/* Correctly rounded sum of x[0..n-1] (x[k*stride]). */
static inline double ref_fsum(const double *x, size_t n, size_t stride) {
  double *p = malloc((n + 1) * sizeof(double));
  size_t np = 0;
  for (size_t k = 0; k < n; k++) {
    double v = x[k * stride];
    size_t i = 0;
    for (size_t j = 0; j < np; j++) {
      double y = p[j];
      if (fabs(v) < fabs(y)) {
        double t = v;
        v = y;
        y = t;
      }
      double hi = v + y;
      double lo = y - (hi - v);
      if (lo != 0.0) {
        p[i++] = lo;
      }
      v = hi;
    }
    np = i;
    p[np++] = v;
  }
  double hi = 0.0, lo = 0.0;
  if (np > 0) {
    hi = p[--np];
    while (np > 0) {
      double v = hi, y = p[--np];
      hi = v + y;
      double yr = hi - v;
      lo = y - yr;
      if (lo != 0.0) {
        break;
      }
    }
    if (np > 0 && ((lo < 0.0 && p[np - 1] < 0.0) || (lo > 0.0 && p[np - 1] > 0.0))) {
      double y = lo * 2.0;
      double v = hi + y;
      double yr = v - hi;
      if (y == yr) {
        hi = v;
      }
    }
  }
  free(p);
  return hi == 0.0 ? 0.0 : hi; /* exact zero as +0, like the accumulator */
}

static inline uint64_t dbits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

#endif
