/* Dense MLPs on row-major batches via OpenBLAS GEMMs (see include/sagd/nn.h).
 *
 * Layer l (0-based, l < L) maps A_{l-1} [B × w_l] (A_{-1} = X) to
 *   Z_l = A_{l-1} · W_lᵀ + b_l   (one GEMM; the bias is added in the activation pass)
 *   A_l = act(Z_l),  D_l = act'(Z_l)
 * computed in place: the GEMM writes into A_l's buffer (Y for the last layer), the
 * activation pass overwrites it with A_l and stores D_l (not for identity layers).
 * Backward, with dZ_l = dA_l ⊙ D_l:
 *   dW_l += dZ_lᵀ · A_{l-1}   (GEMM, beta = 1),   db_l += column sums of dZ_l (row order)
 *   dA_{l-1} = dZ_l · W_l     (GEMM; the first layer's goes to dX, and only if wanted)
 * dZ goes through two ping-pong scratch buffers, so forward's workspace is left intact. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/nn_impl.h"
#include "sagd/error.h"
#include "sagd/gemmlog.h"
#include "sagd/nn.h"

/* C = A·op(B) (or op(A)·B) with OpenBLAS, recorded in the attached log. */
static int dgemm_(sagd_mlp net, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, const double *A, int lda, const double *B, int ldb, double beta,
                  double *C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
  if (net->log != NULL) {
    SAGD_CALL(sagd_gemm_log_add(net->log, SAGD_GEMM_DOUBLE, ta == CblasTrans, tb == CblasTrans,
                                (size_t)M, (size_t)N, (size_t)K, beta != 0.0));
  }
  return SAGD_OK;
}

void sagd_mlp_set_log(sagd_mlp net, sagd_gemm_log log) { net->log = log; }

static const sagd_activation_type *layer_act_(sagd_mlp net, size_t l) { return net->acts[l]; }

void sagd_mlp_destroy(sagd_mlp *net) {
  if (net == NULL || *net == NULL) {
    return;
  }
  sagd_mlp m = *net;
  SAGD_NN_FREE_LAYERS(m->A, m->L);
  SAGD_NN_FREE_LAYERS(m->D, m->L);
  free(m->S[0]);
  free(m->S[1]);
  free(m->gd);
  sagd_mlp_free_single_(m);
  if (m->conv != NULL) {
    for (size_t l = 0; l < m->L; l++) {
      sagd_conv_destroy(&m->conv[l]);
    }
  }
  free(m->conv);
  free(m->acts);
  free(m->w);
  free(m->woff);
  free(m->boff);
  free(m);
  *net = NULL;
}

/* Allocate every buffer of a net whose sizes are set; 0 or SAGD_ERR_MEM. */
static int mlp_alloc_(sagd_mlp m) {
  const size_t L = m->L, B = m->max_batch;
  SAGD_CALLOC(m->A, L, "MLP activation buffers");
  SAGD_CALLOC(m->D, L, "MLP derivative buffers");
  for (size_t l = 0; l < L; l++) {
    const size_t n = B * m->w[l + 1];
    if (l + 1 < L) {
      SAGD_CALLOC(m->A[l], n, "MLP hidden activations");
    }
    if (m->conv[l] == NULL && layer_act_(m, l) != &sagd_act_identity) {
      SAGD_CALLOC(m->D[l], n, "MLP activation derivatives");
    }
  }
  SAGD_CALLOC(m->S[0], B * m->maxw, "MLP backward scratch");
  SAGD_CALLOC(m->S[1], B * m->maxw, "MLP backward scratch");
  size_t mw = 1;
  for (size_t l = 0; l < L; l++) {
    const size_t nl = m->conv[l] != NULL ? sagd_conv_nparams(m->conv[l]) : m->w[l] * m->w[l + 1];
    mw = nl > mw ? nl : mw;
  }
  SAGD_CALLOC(m->gd, mw, "MLP layer gradient scratch");
  return SAGD_OK;
}

int sagd_nn_create_(size_t nlayers, const size_t *widths, const sagd_activation_type *const *acts,
                    const sagd_conv_geom *const *geoms, size_t max_batch, sagd_mlp *net) {
  SAGD_CHECK(net != NULL, SAGD_ERR_ARG, "sagd_mlp_create: output pointer must be given");
  *net = NULL;
  SAGD_CHECK(nlayers >= 1, SAGD_ERR_ARG, "MLP with %zu layers: expected >= 1", nlayers);
  SAGD_CHECK(widths != NULL, SAGD_ERR_ARG, "MLP: layer widths must be given");
  for (size_t l = 0; l <= nlayers; l++) {
    SAGD_CHECK(widths[l] >= 1, SAGD_ERR_ARG, "layer %zu width = %zu: expected >= 1", l,
               widths[l]);
    SAGD_CHECK(widths[l] <= INT32_MAX, SAGD_ERR_ARG,
               "layer %zu width = %zu: expected <= %d (a BLAS int)", l, widths[l],
               (int)INT32_MAX);
  }
  SAGD_CHECK(max_batch >= 1, SAGD_ERR_ARG, "MLP max_batch = %zu: expected >= 1", max_batch);
  SAGD_CHECK(max_batch <= INT32_MAX, SAGD_ERR_ARG,
             "MLP max_batch = %zu: expected <= %d (a BLAS int)", max_batch, (int)INT32_MAX);
  size_t maxw = 0;
  for (size_t l = 0; l <= nlayers; l++) {
    maxw = widths[l] > maxw ? widths[l] : maxw;
  }
  SAGD_CHECK(max_batch <= SIZE_MAX / sizeof(double) / maxw, SAGD_ERR_ARG,
             "MLP max_batch = %zu rows of width %zu is too large", max_batch, maxw);

  sagd_mlp m = calloc(1, sizeof(*m));
  SAGD_CHECK(m != NULL, SAGD_ERR_MEM, "cannot allocate an MLP");
  m->L = nlayers;
  m->maxw = maxw;
  m->max_batch = max_batch;
  m->hidden = acts[0] != NULL ? acts[0] : &sagd_act_identity;
  m->output = acts[nlayers - 1] != NULL ? acts[nlayers - 1] : &sagd_act_identity;
  m->w = calloc(nlayers + 1, sizeof(size_t));
  m->woff = calloc(nlayers, sizeof(size_t));
  m->boff = calloc(nlayers, sizeof(size_t));
  m->acts = calloc(nlayers, sizeof(*m->acts));
  m->conv = calloc(nlayers, sizeof(*m->conv));
  int err = SAGD_OK;
  if (m->w == NULL || m->woff == NULL || m->boff == NULL || m->acts == NULL || m->conv == NULL) {
    err = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                         "cannot allocate an MLP of %zu layers", nlayers);
    goto done;
  }
  memcpy(m->w, widths, (nlayers + 1) * sizeof(size_t));
  size_t off = 0;
  for (size_t l = 0; l < nlayers; l++) {
    m->acts[l] = acts[l] != NULL ? acts[l] : &sagd_act_identity;
    m->woff[l] = off;
    size_t nl;
    if (geoms != NULL && geoms[l] != NULL) {
      SAGD_TRY(err, done, sagd_conv_create(geoms[l], m->acts[l], max_batch, &m->conv[l]));
      if (sagd_conv_in_size(m->conv[l]) != widths[l] ||
          sagd_conv_out_size(m->conv[l]) != widths[l + 1]) {
        err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                             "layer %zu: a convolution from %zu to %zu values between widths "
                             "%zu and %zu: expected equal sizes",
                             l, sagd_conv_in_size(m->conv[l]), sagd_conv_out_size(m->conv[l]),
                             widths[l], widths[l + 1]);
        goto done;
      }
      nl = sagd_conv_nparams(m->conv[l]);
      m->boff[l] = off + sagd_conv_nweights_(m->conv[l]);
    } else {
      if (widths[l + 1] > (SIZE_MAX / sizeof(double) - off) / (widths[l] + 1)) {
        err = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                             "MLP: too many parameters at layer %zu", l);
        goto done;
      }
      nl = widths[l + 1] * (widths[l] + 1);
      m->boff[l] = off + widths[l + 1] * widths[l];
    }
    off += nl;
  }
  m->nparams = off;
  err = mlp_alloc_(m);
done:
  if (err != SAGD_OK) {
    sagd_mlp_destroy(&m);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *net = m;
  return SAGD_OK;
}

int sagd_mlp_create(size_t nlayers, const size_t *widths, const sagd_activation_type *hidden,
                    const sagd_activation_type *output, size_t max_batch, sagd_mlp *net) {
  SAGD_CHECK(net != NULL, SAGD_ERR_ARG, "sagd_mlp_create: output pointer must be given");
  *net = NULL;
  SAGD_CHECK(nlayers >= 1 && nlayers <= 1024, SAGD_ERR_ARG,
             "MLP with %zu layers: expected 1 .. 1024", nlayers);
  const sagd_activation_type *acts[1024];
  for (size_t l = 0; l < nlayers; l++) {
    acts[l] = l + 1 == nlayers ? output : hidden;
  }
  SAGD_CALL(sagd_nn_create_(nlayers, widths, acts, NULL, max_batch, net));
  return SAGD_OK;
}

size_t sagd_mlp_nparams(sagd_mlp net) { return net->nparams; }
size_t sagd_mlp_in(sagd_mlp net) { return net->w[0]; }
size_t sagd_mlp_out(sagd_mlp net) { return net->w[net->L]; }
size_t sagd_mlp_max_batch(sagd_mlp net) { return net->max_batch; }

int sagd_mlp_init_xavier(sagd_mlp net, sagd_rng_key key, uint64_t net_id, double *params) {
  SAGD_CHECK(net != NULL && params != NULL, SAGD_ERR_ARG,
             "sagd_mlp_init_xavier: a network and a parameter vector must be given");
  SAGD_CHECK(key.replication < ((uint64_t)1 << 48), SAGD_ERR_ARG,
             "sagd_mlp_init_xavier: replication = %llu, expected < 2^48",
             (unsigned long long)key.replication);
  for (size_t l = 0; l < net->L; l++) {
    if (net->conv[l] != NULL) {
      SAGD_CALL(sagd_conv_init_xavier(net->conv[l], key, net_id, (uint64_t)l,
                                      params + net->woff[l]));
      continue;
    }
    const size_t fin = net->w[l], fout = net->w[l + 1];
    SAGD_CALL(sagd_nn_xavier_(key, net_id, (uint64_t)l, fin * fout, (double)fin, (double)fout,
                              params + net->woff[l]));
    memset(params + net->boff[l], 0, fout * sizeof(double));
  }
  return SAGD_OK;
}

static int check_batch_(sagd_mlp net, size_t batch, const char *what) {
  SAGD_CHECK(batch >= 1 && batch <= net->max_batch, SAGD_ERR_ARG,
             "MLP %s: batch = %zu rows, expected 1 .. max_batch = %zu", what, batch,
             net->max_batch);
  return SAGD_OK;
}

int sagd_mlp_forward(sagd_mlp net, const double *params, size_t batch, const double *X,
                     double *Y) {
  SAGD_CHECK(net != NULL, SAGD_ERR_ARG, "sagd_mlp_forward: no network given");
  SAGD_CALL(check_batch_(net, batch, "forward"));
  SAGD_CHECK(params != NULL && X != NULL && Y != NULL, SAGD_ERR_ARG,
             "sagd_mlp_forward: params, X and Y must be given");
  if (net->single) {
    SAGD_CALL(sagd_mlp_forward_single_(net, params, batch, X, Y));
    return SAGD_OK;
  }
  const int B = (int)batch;
  const double *in = X;
  for (size_t l = 0; l < net->L; l++) {
    const size_t nin = net->w[l], nout = net->w[l + 1];
    double *Z = l + 1 == net->L ? Y : net->A[l];
    if (net->conv[l] != NULL) {
      sagd_conv_fwd_d_(net->conv[l], params + net->woff[l], batch, in, Z);
      in = Z;
      continue;
    }
    const double *W = params + net->woff[l], *b = params + net->boff[l];
    SAGD_CALL(dgemm_(net, CblasNoTrans, CblasTrans, B, (int)nout, (int)nin, in, (int)nin, W,
                     (int)nin, 0.0, Z, (int)nout));
    sagd_nn_bias_act_(layer_act_(net, l), batch, nout, b, Z, net->D[l]);
    in = Z;
  }
  net->X = X;
  net->last_batch = batch;
  return SAGD_OK;
}

static int backward_(sagd_mlp net, const double *params, size_t batch, const double *dY,
                     double *grad_params, double *dX, int accumulate, const sagd_nn_sink_ *sink);

int sagd_mlp_backward(sagd_mlp net, const double *params, size_t batch, const double *dY,
                      double *grad_params, double *dX) {
  SAGD_CALL(backward_(net, params, batch, dY, grad_params, dX, 1, NULL));
  return SAGD_OK;
}

int sagd_mlp_backward_set(sagd_mlp net, const double *params, size_t batch, const double *dY,
                          double *grad_params, double *dX) {
  SAGD_CALL(backward_(net, params, batch, dY, grad_params, dX, 0, NULL));
  return SAGD_OK;
}

int sagd_mlp_backward_psum(sagd_mlp net, const double *params, size_t batch, const double *dY,
                           sagd_psum sum, size_t offset, double *dX) {
  SAGD_CHECK(sum != NULL, SAGD_ERR_ARG, "sagd_mlp_backward_psum: no sum given");
  const sagd_nn_sink_ sink = {sum, offset};
  SAGD_CALL(backward_(net, params, batch, dY, NULL, dX, 0, &sink));
  return SAGD_OK;
}

/* The bias gradient of a layer: column sums of dZ [batch × nout] in row order, into gb
 * (accumulate: added to it; else overwritten). */
static void bias_grad_(const double *dZ, size_t batch, size_t nout, double *gb, int accumulate) {
  if (!accumulate) {
    memset(gb, 0, nout * sizeof(double));
  }
  for (size_t q = 0; q < batch; q++) {
    const double *dz = dZ + q * nout;
    for (size_t j = 0; j < nout; j++) {
      gb[j] += dz[j];
    }
  }
}

/* dA *= D in place (D: the activation derivative of the layer below; NULL: identity) */
static void times_deriv_(double *dA, const double *D, size_t n) {
  if (D != NULL) {
    for (size_t i = 0; i < n; i++) {
      dA[i] *= D[i];
    }
  }
}

/* The layer below's dZ = (dZ W) ⊙ D into S (batch × nin) */
static int delta_down_(sagd_mlp net, int B, size_t nin, size_t nout, const double *dZ,
                       const double *W, const double *D, double *S) {
  SAGD_CALL(dgemm_(net, CblasNoTrans, CblasNoTrans, B, (int)nin, (int)nout, dZ, (int)nout, W,
                   (int)nin, 0.0, S, (int)nin));
  times_deriv_(S, D, (size_t)B * nin);
  return SAGD_OK;
}

static int backward_(sagd_mlp net, const double *params, size_t batch, const double *dY,
                     double *grad_params, double *dX, int accumulate, const sagd_nn_sink_ *sink) {
  SAGD_CHECK(net != NULL, SAGD_ERR_ARG, "sagd_mlp_backward: no network given");
  SAGD_CALL(check_batch_(net, batch, "backward"));
  SAGD_CHECK(net->last_batch == batch, SAGD_ERR_ARG,
             "MLP backward: batch = %zu rows but the last forward had %zu (backward must "
             "follow the forward of the same batch)",
             batch, net->last_batch);
  SAGD_CHECK(params != NULL && dY != NULL, SAGD_ERR_ARG,
             "sagd_mlp_backward: params and dY must be given");
  if (grad_params == NULL && dX == NULL && sink == NULL) {
    return SAGD_OK;
  }
  if (net->single) {
    SAGD_CALL(
        sagd_mlp_backward_single_(net, params, batch, dY, grad_params, dX, accumulate, sink));
    return SAGD_OK;
  }
  const int B = (int)batch;
  const size_t L = net->L;
  /* dZ of the last layer: dY ⊙ D (or dY itself for an identity output). */
  const double *dZ = dY;
  int cur = 0;
  if (net->D[L - 1] != NULL) {
    const size_t n = batch * net->w[L];
    const double *D = net->D[L - 1];
    double *S = net->S[cur];
    for (size_t i = 0; i < n; i++) {
      S[i] = dY[i] * D[i];
    }
    dZ = S;
  }
  for (size_t l = L; l-- > 0;) {
    const size_t nin = net->w[l], nout = net->w[l + 1];
    const double *W = params + net->woff[l];
    const double *Ain = l == 0 ? net->X : net->A[l - 1];
    if (net->conv[l] != NULL) {
      /* dZ is this layer's dL/dY (its activation derivative is the layer's own) */
      sagd_conv c = net->conv[l];
      const int nxt = dZ == net->S[cur] ? 1 - cur : cur;
      double *dIn = l == 0 ? dX : net->S[nxt];
      const size_t nw = sagd_conv_nweights_(c);
      if (sink != NULL) {
        sagd_conv_bwd_d_(c, W, batch, dZ, Ain, net->gd, 0.0, net->gd + nw, 0, dIn);
        SAGD_CALL(sagd_psum_add_range(sink->sum, sink->offset + net->woff[l],
                                      sagd_conv_nparams(c), net->gd));
      } else if (grad_params != NULL) {
        double *g = grad_params + net->woff[l];
        sagd_conv_bwd_d_(c, W, batch, dZ, Ain, g, accumulate ? 1.0 : 0.0, g + nw, accumulate,
                         dIn);
      } else {
        sagd_conv_bwd_d_(c, W, batch, dZ, Ain, NULL, 0.0, NULL, 0, dIn);
      }
      if (l == 0) {
        break;
      }
      times_deriv_(dIn, net->D[l - 1], batch * nin);
      dZ = dIn;
      cur = nxt;
      continue;
    }
    if (sink != NULL) {
      /* the layer's gradient into the scratch, then into the sum while it is in cache */
      SAGD_CALL(dgemm_(net, CblasTrans, CblasNoTrans, (int)nout, (int)nin, B, dZ, (int)nout,
                       Ain, (int)nin, 0.0, net->gd, (int)nin));
      SAGD_CALL(sagd_psum_add_range(sink->sum, sink->offset + net->woff[l], nout * nin, net->gd));
      bias_grad_(dZ, batch, nout, net->gd, 0);
      SAGD_CALL(sagd_psum_add_range(sink->sum, sink->offset + net->boff[l], nout, net->gd));
    } else if (grad_params != NULL) {
      SAGD_CALL(dgemm_(net, CblasTrans, CblasNoTrans, (int)nout, (int)nin, B, dZ, (int)nout,
                       Ain, (int)nin, accumulate ? 1.0 : 0.0, grad_params + net->woff[l],
                       (int)nin));
      bias_grad_(dZ, batch, nout, grad_params + net->boff[l], accumulate);
    }
    if (l == 0) {
      if (dX != NULL) {
        SAGD_CALL(dgemm_(net, CblasNoTrans, CblasNoTrans, B, (int)nin, (int)nout, dZ,
                         (int)nout, W, (int)nin, 0.0, dX, (int)nin));
      }
      break;
    }
    /* dZ_{l-1} into the scratch buffer not holding dZ */
    const int nxt = dZ == net->S[cur] ? 1 - cur : cur;
    SAGD_CALL(delta_down_(net, B, nin, nout, dZ, W, net->D[l - 1], net->S[nxt]));
    dZ = net->S[nxt];
    cur = nxt;
  }
  return SAGD_OK;
}

double sagd_mlp_flops(sagd_mlp net, size_t batch, int with_backward) {
  double per_row = 0.0, first = 0.0;
  for (size_t l = 0; l < net->L; l++) {
    const double f = net->conv[l] != NULL ? sagd_conv_flops(net->conv[l], 1, 0)
                                          : 2.0 * (double)net->w[l] * (double)net->w[l + 1];
    per_row += f;
    if (l == 0) {
      first = f;
    }
  }
  double total = per_row; /* forward */
  if (with_backward & SAGD_MLP_BACKWARD_PARAMS) {
    total += per_row; /* dW GEMMs */
  }
  if (with_backward & SAGD_MLP_BACKWARD_INPUT) {
    total += per_row; /* dA GEMMs down to dX */
  } else if (with_backward & SAGD_MLP_BACKWARD_PARAMS) {
    total += per_row - first; /* dA GEMMs for the layers above the first */
  }
  return total * (double)batch;
}
