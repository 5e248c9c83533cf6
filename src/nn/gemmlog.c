/* A record of GEMM shapes and their replay as plain CBLAS calls (see include/sagd/gemmlog.h).
 * Distinct shapes are few (a network's layers times forward/backward), so the log is a short
 * array searched linearly. */
#include "sagd/gemmlog.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "sagd/error.h"

typedef struct {
  int prec, ta, tb, beta1;
  size_t M, N, K;
  size_t count;
} gemm_shape;

struct sagd_gemm_log_s {
  gemm_shape *s;
  size_t n, cap;
};

int sagd_gemm_log_create(sagd_gemm_log *log) {
  SAGD_CHECK(log != NULL, SAGD_ERR_ARG, "sagd_gemm_log_create: output pointer must be given");
  *log = calloc(1, sizeof **log);
  SAGD_CHECK(*log != NULL, SAGD_ERR_MEM, "cannot allocate a GEMM log");
  return SAGD_OK;
}

void sagd_gemm_log_destroy(sagd_gemm_log *log) {
  if (log == NULL || *log == NULL) {
    return;
  }
  free((*log)->s);
  free(*log);
  *log = NULL;
}

void sagd_gemm_log_clear(sagd_gemm_log log) { log->n = 0; }

int sagd_gemm_log_add(sagd_gemm_log log, int precision, int trans_a, int trans_b, size_t M,
                      size_t N, size_t K, int beta1) {
  if (log == NULL) {
    return SAGD_OK;
  }
  for (size_t i = 0; i < log->n; i++) {
    gemm_shape *g = &log->s[i];
    if (g->prec == precision && g->ta == trans_a && g->tb == trans_b && g->beta1 == beta1 &&
        g->M == M && g->N == N && g->K == K) {
      g->count++;
      return SAGD_OK;
    }
  }
  if (log->n == log->cap) {
    size_t cap = log->cap ? 2 * log->cap : 16;
    gemm_shape *s = realloc(log->s, cap * sizeof *s);
    SAGD_CHECK(s != NULL, SAGD_ERR_MEM, "cannot grow a GEMM log to %zu shapes", cap);
    log->s = s;
    log->cap = cap;
  }
  log->s[log->n++] = (gemm_shape){precision, trans_a, trans_b, beta1, M, N, K, 1};
  return SAGD_OK;
}

size_t sagd_gemm_log_calls(sagd_gemm_log log) {
  size_t c = 0;
  for (size_t i = 0; i < log->n; i++) {
    c += log->s[i].count;
  }
  return c;
}

double sagd_gemm_log_flops(sagd_gemm_log log) {
  double f = 0;
  for (size_t i = 0; i < log->n; i++) {
    const gemm_shape *g = &log->s[i];
    f += 2.0 * (double)g->M * (double)g->N * (double)g->K * (double)g->count;
  }
  return f;
}

static double now_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int sagd_gemm_log_replay(sagd_gemm_log log, int repeats, double *seconds) {
  SAGD_CHECK(log != NULL && seconds != NULL && repeats >= 1, SAGD_ERR_ARG,
             "sagd_gemm_log_replay: a log, an output and repeats >= 1 must be given");
  size_t na = 1, nb = 1, nc = 1;
  for (size_t i = 0; i < log->n; i++) {
    const gemm_shape *g = &log->s[i];
    na = g->M * g->K > na ? g->M * g->K : na;
    nb = g->K * g->N > nb ? g->K * g->N : nb;
    nc = g->M * g->N > nc ? g->M * g->N : nc;
  }
  double *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
  int err = SAGD_OK;
  if (A == NULL || B == NULL || C == NULL || a == NULL || b == NULL || c == NULL) {
    err = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                         "cannot allocate GEMM replay matrices (%zu, %zu, %zu elements)", na, nb,
                         nc);
    goto done;
  }
  /* values of the size activations and gradients have, no denormals */
  for (size_t j = 0; j < na; j++) {
    A[j] = a[j] = (float)(0.25 + (double)(j % 97) / 97.0);
  }
  for (size_t j = 0; j < nb; j++) {
    B[j] = b[j] = (float)(0.5 - (double)(j % 89) / 89.0);
  }
  for (size_t j = 0; j < nc; j++) {
    C[j] = c[j] = 0.0f;
  }
  double best = 0;
  for (int rep = 0; rep < repeats; rep++) {
    double t0 = now_();
    for (size_t i = 0; i < log->n; i++) {
      const gemm_shape *g = &log->s[i];
      const int M = (int)g->M, N = (int)g->N, K = (int)g->K;
      const enum CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans;
      const enum CBLAS_TRANSPOSE tb = g->tb ? CblasTrans : CblasNoTrans;
      const int lda = g->ta ? M : K, ldb = g->tb ? K : N;
      for (size_t k = 0; k < g->count; k++) {
        if (g->prec == SAGD_GEMM_SINGLE) {
          cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, lda, b, ldb,
                      g->beta1 ? 1.0f : 0.0f, c, N);
        } else {
          cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, A, lda, B, ldb, g->beta1 ? 1.0 : 0.0,
                      C, N);
        }
      }
    }
    double t = now_() - t0;
    best = rep == 0 || t < best ? t : best;
  }
  *seconds = best;
done:
  free(A);
  free(B);
  free(C);
  free(a);
  free(b);
  free(c);
  return err == SAGD_OK ? SAGD_OK : sagd_error_trace(err, __FILE__, __LINE__, __func__);
}
