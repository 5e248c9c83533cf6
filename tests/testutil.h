/* Minimal assertion helpers shared by the C tests: a failed check prints file:line and the
 * values involved, and the test exits non-zero at the end (or at once with REQUIRE). */
#ifndef SAGD_TESTUTIL_H
#define SAGD_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sagd/error.h"

static int test_failures_ = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      test_failures_++;                                                        \
    }                                                                          \
  } while (0)

/* |a - b| <= tol, printing both values on failure. */
#define CHECK_CLOSE(a, b, tol)                                                 \
  do {                                                                         \
    double ca_ = (a), cb_ = (b), ct_ = (tol);                                  \
    if (!(fabs(ca_ - cb_) <= ct_)) {                                           \
      fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s = %.17g, %s = %.17g, |diff| = %.3g > %.3g\n", \
              __FILE__, __LINE__, #a, ca_, #b, cb_, fabs(ca_ - cb_), ct_);     \
      test_failures_++;                                                        \
    }                                                                          \
  } while (0)

/* A sagd call that must succeed; aborts the test with the library's message otherwise. */
#define REQUIRE_OK(expr)                                                       \
  do {                                                                         \
    int rq_ = (expr);                                                          \
    if (rq_ != 0) {                                                            \
      fprintf(stderr, "%s:%d: %s failed (%s): %s\n", __FILE__, __LINE__, #expr, \
              sagd_strerror(rq_), sagd_error_message_full());                  \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* A deterministic spread of values in [-s, s) (an LCG; no statistics needed). */
static inline void test_fill_spread(double *x, size_t n, unsigned seed, double s) {
  unsigned long st = seed * 2654435761UL + 1;
  for (size_t i = 0; i < n; i++) {
    st = st * 6364136223846793005UL + 1442695040888963407UL;
    x[i] = ((double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0) * s;
  }
}

/* Largest |a_i|, largest |a_i - b_i|, and Σ a_i b_i over n values. */
static inline double test_max_abs(const double *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    m = fmax(m, fabs(a[i]));
  }
  return m;
}
static inline double test_max_diff(const double *a, const double *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    m = fmax(m, fabs(a[i] - b[i]));
  }
  return m;
}
static inline double test_dot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    s += a[i] * b[i];
  }
  return s;
}

/* Central differences of loss(ctx) in each of v[0..n) (step h) against the gradient g:
 * the largest |difference quotient - g_i| over the largest |g_i| (v is restored). */
static inline double test_fd_rel_error(double (*loss)(void *ctx), void *ctx, double *v,
                                       size_t n, const double *g, double h) {
  double e = 0;
  for (size_t i = 0; i < n; i++) {
    const double t = v[i];
    v[i] = t + h;
    const double lp = loss(ctx);
    v[i] = t - h;
    const double lm = loss(ctx);
    v[i] = t;
    e = fmax(e, fabs((lp - lm) / (2 * h) - g[i]));
  }
  const double gm = test_max_abs(g, n);
  return gm > 0 ? e / gm : e;
}

#define TEST_EXIT()                                                            \
  (test_failures_ ? (fprintf(stderr, "%d check(s) failed\n", test_failures_), 1) : 0)

#ifdef MPI_VERSION
/* End of an MPI test: sums the failed checks of every rank (collective), finalises MPI and
 * gives the exit status (non-zero on every rank if any rank failed). */
static inline int test_exit_mpi(void) {
  int total = 0;
  MPI_Allreduce(&test_failures_, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  test_failures_ = total;
  return TEST_EXIT();
}
#endif

#endif
