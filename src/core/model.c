/* Model instances and shard ranges (see include/sagd/model.h). */
#include "sagd/model.h"

#include <stdlib.h>

#include "sagd/error.h"

int sagd_model_create(const sagd_model_type *type, void *ctx, size_t r, size_t p, size_t n,
                      size_t i_begin, size_t i_end, sagd_model *m) {
  SAGD_CHECK(type != NULL && m != NULL, SAGD_ERR_ARG, "model type and output must be given");
  SAGD_CHECK(r >= 1 && p >= 1, SAGD_ERR_ARG,
             "model '%s': latent dimension r = %zu and parameter length p = %zu must be >= 1",
             type->name, r, p);
  SAGD_CHECK(i_begin <= i_end && i_end <= n, SAGD_ERR_ARG,
             "model '%s': shard [%zu, %zu) is not inside [0, %zu)", type->name, i_begin,
             i_end, n);
  *m = calloc(1, sizeof(**m));
  SAGD_CHECK(*m != NULL, SAGD_ERR_MEM, "cannot allocate model '%s'", type->name);
  (*m)->type = type;
  (*m)->ctx = ctx;
  (*m)->r = r;
  (*m)->p = p;
  (*m)->n = n;
  (*m)->i_begin = i_begin;
  (*m)->i_end = i_end;
  return SAGD_OK;
}

void sagd_model_destroy(sagd_model *m) {
  if (m == NULL || *m == NULL) {
    return;
  }
  if ((*m)->type->destroy != NULL) {
    (*m)->type->destroy((*m)->ctx);
  }
  free(*m);
  *m = NULL;
}

static int check_block_(sagd_model m, size_t i0, size_t nb) {
  SAGD_CHECK(i0 >= m->i_begin && i0 + nb <= m->i_end, SAGD_ERR_ARG,
             "model '%s': block [%zu, %zu) is outside this rank's shard [%zu, %zu)",
             m->type->name, i0, i0 + nb, m->i_begin, m->i_end);
  return SAGD_OK;
}

int sagd_model_potential(sagd_model m, const double *theta, size_t i0, size_t nb, size_t C,
                         const double *xi, double *V, double *grad_xi) {
  SAGD_CALL(check_block_(m, i0, nb));
  SAGD_CALL(m->type->potential(m->ctx, theta, i0, nb, C, xi, V, grad_xi));
  return SAGD_OK;
}

int sagd_model_grad_theta(sagd_model m, const double *theta, size_t i0, size_t nb, size_t C,
                          const double *xi, double *g) {
  SAGD_CALL(check_block_(m, i0, nb));
  SAGD_CALL(m->type->grad_theta(m->ctx, theta, i0, nb, C, xi, g));
  return SAGD_OK;
}

void sagd_shard_range(size_t n, size_t block, int rank, int size, size_t *begin,
                      size_t *end) {
  size_t nblocks = (n + block - 1) / block;
  size_t per = nblocks / (size_t)size, extra = nblocks % (size_t)size;
  size_t r = (size_t)rank;
  size_t b0 = r * per + (r < extra ? r : extra);
  size_t b1 = b0 + per + (r < extra ? 1 : 0);
  *begin = b0 * block < n ? b0 * block : n;
  *end = b1 * block < n ? b1 * block : n;
}
