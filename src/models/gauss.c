/* Gaussian toy target, batched (see include/sagd/gauss.h):
 *   V(ξ) = ½ (ξ-μ)ᵀ P (ξ-μ),  ∇V = P (ξ-μ),  f(θ; ξ) = ½‖θ - ξ‖²,  ∇_θ f = θ - ξ.
 * A block is processed in chunks of GAUSS_CHUNK chains with scratch allocated at create:
 * D = ξ - μ (chunk × r), G = D·P by one row-major GEMM per chunk (P is symmetric), and
 * V = ½ rowwise dot(D, G). */
#include "sagd/gauss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's cblas.h first; then keep GSL's own gsl_cblas.h (which gsl_linalg.h pulls in
 * through gsl_blas.h) out, since both declare the same CBLAS enums. GSL's blas types only
 * need the enum tags, which cblas.h defines. */
#include <cblas.h>
#define __GSL_CBLAS_H__
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "sagd/error.h"

#define GAUSS_CHUNK 256

typedef struct {
  size_t r;
  double *mean;      /* r */
  double *prec;      /* r × r, row-major, exactly symmetric */
  double *D;         /* GAUSS_CHUNK × r scratch */
  double *G;         /* GAUSS_CHUNK × r scratch (used when grad_xi is not wanted) */
} gauss_ctx;

static void gauss_destroy(void *vctx) {
  gauss_ctx *c = vctx;
  if (c == NULL) {
    return;
  }
  free(c->mean);
  free(c->prec);
  free(c->D);
  free(c->G);
  free(c);
}

static int gauss_potential(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                           const double *xi, double *V, double *grad_xi) {
  (void)theta;
  (void)i0;
  const gauss_ctx *c = vctx;
  const size_t r = c->r, nc = nb * C;
  if (V == NULL && grad_xi == NULL) {
    return SAGD_OK;
  }
  for (size_t q0 = 0; q0 < nc; q0 += GAUSS_CHUNK) {
    const size_t m = nc - q0 < GAUSS_CHUNK ? nc - q0 : GAUSS_CHUNK;
    const double *x = xi + q0 * r;
    for (size_t q = 0; q < m; q++) {
      for (size_t j = 0; j < r; j++) {
        c->D[q * r + j] = x[q * r + j] - c->mean[j];
      }
    }
    double *G = grad_xi != NULL ? grad_xi + q0 * r : c->G;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)r, (int)r, 1.0, c->D,
                (int)r, c->prec, (int)r, 0.0, G, (int)r);
    if (V != NULL) {
      for (size_t q = 0; q < m; q++) {
        double s = 0.0;
        for (size_t j = 0; j < r; j++) {
          s += c->D[q * r + j] * G[q * r + j];
        }
        V[q0 + q] = 0.5 * s;
      }
    }
  }
  return SAGD_OK;
}

static int gauss_grad_theta(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                            const double *xi, double *g) {
  (void)i0;
  const gauss_ctx *c = vctx;
  const size_t r = c->r, nc = nb * C;
  for (size_t q = 0; q < nc; q++) {
    for (size_t j = 0; j < r; j++) {
      g[j] += theta[j] - xi[q * r + j];
    }
  }
  return SAGD_OK;
}

static const sagd_model_type gauss_type_ = {.name = "gauss",
                                            .potential = gauss_potential,
                                            .grad_theta = gauss_grad_theta,
                                            .destroy = gauss_destroy};

/* Cholesky of a copy: 0 if SPD. */
static int check_spd_(size_t r, const double *prec) {
  gsl_matrix *L = gsl_matrix_alloc(r, r);
  SAGD_CHECK(L != NULL, SAGD_ERR_MEM, "cannot allocate a %zux%zu matrix", r, r);
  memcpy(L->data, prec, r * r * sizeof(double));
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int status = gsl_linalg_cholesky_decomp1(L);
  gsl_set_error_handler(old);
  gsl_matrix_free(L);
  SAGD_CHECK(status == GSL_SUCCESS, SAGD_ERR_ARG,
             "gauss model: the %zux%zu precision matrix is not positive definite "
             "(Cholesky factorisation failed: %s)",
             r, r, gsl_strerror(status));
  return SAGD_OK;
}

int sagd_gauss_model_create(size_t r, const double *mean, const double *precision, size_t n,
                            size_t i_begin, size_t i_end, sagd_model *m) {
  SAGD_CHECK(m != NULL, SAGD_ERR_ARG, "gauss model: output pointer must be given");
  *m = NULL;
  SAGD_CHECK(r >= 1, SAGD_ERR_ARG, "gauss model: dimension r = %zu, expected >= 1", r);
  SAGD_CHECK(r <= 46340, SAGD_ERR_ARG, "gauss model: dimension r = %zu is too large", r);
  SAGD_CHECK(mean != NULL && precision != NULL, SAGD_ERR_ARG,
             "gauss model: mean and precision must be given");
  for (size_t j = 0; j < r; j++) {
    SAGD_CHECK(isfinite(mean[j]), SAGD_ERR_ARG, "gauss model: mean[%zu] = %g, expected finite",
               j, mean[j]);
  }
  for (size_t i = 0; i < r; i++) {
    for (size_t j = 0; j < r; j++) {
      const double a = precision[i * r + j], b = precision[j * r + i];
      SAGD_CHECK(isfinite(a), SAGD_ERR_ARG,
                 "gauss model: precision[%zu][%zu] = %g, expected finite", i, j, a);
      SAGD_CHECK(fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b)), SAGD_ERR_ARG,
                 "gauss model: precision is not symmetric: P[%zu][%zu] = %.17g but "
                 "P[%zu][%zu] = %.17g",
                 i, j, a, j, i, b);
    }
  }
  SAGD_CALL(check_spd_(r, precision));

  gauss_ctx *c = calloc(1, sizeof(*c));
  SAGD_CHECK(c != NULL, SAGD_ERR_MEM, "cannot allocate the gauss model");
  c->r = r;
  c->mean = malloc(r * sizeof(double));
  c->prec = malloc(r * r * sizeof(double));
  c->D = malloc(GAUSS_CHUNK * r * sizeof(double));
  c->G = malloc(GAUSS_CHUNK * r * sizeof(double));
  if (c->mean == NULL || c->prec == NULL || c->D == NULL || c->G == NULL) {
    gauss_destroy(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the gauss model of dimension %zu", r);
  }
  memcpy(c->mean, mean, r * sizeof(double));
  /* Store the exactly symmetric part, so ∇V is the gradient of V to the last bit. */
  for (size_t i = 0; i < r; i++) {
    for (size_t j = 0; j < r; j++) {
      c->prec[i * r + j] = 0.5 * (precision[i * r + j] + precision[j * r + i]);
    }
  }
  int err = sagd_model_create(&gauss_type_, c, r, r, n, i_begin, i_end, m);
  if (err != SAGD_OK) {
    gauss_destroy(c);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SAGD_OK;
}
