/* Single-precision passes of an MLP (see include/sagd/nn.h, sagd_mlp_set_precision): the
 * same layer structure as mlp.c with every GEMM a cblas_sgemm on float copies of the
 * parameters (made by sagd_mlp_prepare from the double master copy), float activations and
 * derivatives; the caller's input and output stay double (converted at the boundary, O(rows ×
 * width) against the GEMMs' O(rows × width²)), and parameter gradients are added into the
 * caller's double vector (biases summed over the rows in double, in row order).
 *
 * Float subnormals are flushed to zero during these passes (x86 MXCSR FTZ and DAZ, restored
 * on return): IWAE's normalised weights and the gradients they scale reach 1e-40 and below,
 * and subnormal operands made the float GEMMs 12x slower than the double ones. The rule is
 * the same on every rank, so results stay rank-invariant. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/nn_impl.h"
#include "sagd/error.h"
#include "sagd/gemmlog.h"


static int sgemm_(sagd_mlp net, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  if (net->log != NULL) {
    SAGD_CALL(sagd_gemm_log_add(net->log, SAGD_GEMM_SINGLE, ta == CblasTrans, tb == CblasTrans,
                                (size_t)M, (size_t)N, (size_t)K, 0));
  }
  return SAGD_OK;
}

static const sagd_activation_type *act_(sagd_mlp net, size_t l) {
  return net->acts[l];
}

static int check_prepared_(sagd_mlp net, const double *params) {
  SAGD_CHECK(net->prepared != NULL && net->prepared == params, SAGD_ERR_ARG,
             "MLP in single precision: these parameters were not prepared (call "
             "sagd_mlp_prepare(net, params) after every change of the parameters)");
  return SAGD_OK;
}

static int forward_(sagd_mlp net, const double *params, size_t batch, const double *X,
                    double *Y) {
  SAGD_CALL(check_prepared_(net, params));
  const int B = (int)batch;
  const size_t n0 = batch * net->w[0];
  for (size_t i = 0; i < n0; i++) {
    net->Xf[i] = (float)X[i];
  }
  const float *in = net->Xf;
  for (size_t l = 0; l < net->L; l++) {
    const size_t nin = net->w[l], nout = net->w[l + 1];
    float *Z = l + 1 == net->L ? net->Yf : net->Af[l];
    if (net->conv[l] != NULL) {
      sagd_conv_fwd_f_(net->conv[l], net->pf + net->woff[l], batch, in, Z);
      in = Z;
      continue;
    }
    const float *W = net->pf + net->woff[l], *b = net->pf + net->boff[l];
    SAGD_CALL(sgemm_(net, CblasNoTrans, CblasTrans, B, (int)nout, (int)nin, in, (int)nin, W,
                     (int)nin, Z, (int)nout));
    sagd_nn_bias_fdf_float_(act_(net, l), batch, nout, b, Z, net->Df[l]);
    in = Z;
  }
  const size_t nL = batch * net->w[net->L];
  for (size_t i = 0; i < nL; i++) {
    Y[i] = (double)net->Yf[i];
  }
  net->X = X;
  net->last_batch = batch;
  return SAGD_OK;
}

/* One pass over a layer's delta, rows × n: S ⊙= D (D NULL: identity) and, when gb is given,
 * the bias gradient gb[j] += Σ_q S[q][j] in double, row after row. The vector clones give
 * the bits of the scalar loop: the products are elementwise and each column's sum keeps its
 * order (one pass instead of two over a delta that may be larger than the caches). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void deriv_bias_(
    float *restrict S, const float *restrict D, size_t rows, size_t n, double *restrict gb) {
  for (size_t q = 0; q < rows; q++) {
    float *restrict z = S + q * n;
    if (D != NULL) {
      const float *restrict d = D + q * n;
      for (size_t j = 0; j < n; j++) {
        z[j] *= d[j];
      }
    }
    if (gb != NULL) {
      for (size_t j = 0; j < n; j++) {
        gb[j] += (double)z[j];
      }
    }
  }
}

/* The top layer's delta in float, dZ = dY ⊙ D (D NULL: identity), with its bias gradient as
 * deriv_bias_ makes it. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void top_delta_(
    float *restrict dZ, const double *restrict dY, const float *restrict D, size_t rows, size_t n,
    double *restrict gb) {
  for (size_t q = 0; q < rows; q++) {
    float *restrict z = dZ + q * n;
    const double *restrict y = dY + q * n;
    if (D != NULL) {
      const float *restrict d = D + q * n;
      for (size_t j = 0; j < n; j++) {
        z[j] = (float)y[j] * d[j];
      }
    } else {
      for (size_t j = 0; j < n; j++) {
        z[j] = (float)y[j];
      }
    }
    if (gb != NULL) {
      for (size_t j = 0; j < n; j++) {
        gb[j] += (double)z[j];
      }
    }
  }
}

/* Where dense layer l's bias gradient goes (the sum's scratch, or the caller's vector, set to
 * zero unless accumulating); NULL when no parameter gradient is wanted or l is convolutional
 * (a convolution makes its own). */
static double *bias_grad_(sagd_mlp net, size_t l, double *grad_params, int accumulate,
                          const sagd_nn_sink_ *sink) {
  if ((sink == NULL && grad_params == NULL) || net->conv[l] != NULL) {
    return NULL;
  }
  double *gb = sink != NULL ? net->gd : grad_params + net->boff[l];
  if (sink != NULL || !accumulate) {
    memset(gb, 0, net->w[l + 1] * sizeof(double));
  }
  return gb;
}

static int backward_(sagd_mlp net, const double *params, size_t batch, const double *dY,
                     double *grad_params, double *dX, int accumulate, const sagd_nn_sink_ *sink) {
  SAGD_CALL(check_prepared_(net, params));
  const int B = (int)batch;
  const size_t L = net->L;
  /* dZ of the last layer: dY ⊙ D (or dY itself for an identity output), in float */
  int cur = 0;
  float *dZ = net->Sf[cur];
  /* gb: the bias gradient of the layer whose delta dZ is, made in the pass that made dZ */
  double *gb = bias_grad_(net, L - 1, grad_params, accumulate, sink);
  top_delta_(dZ, dY, net->Df[L - 1], batch, net->w[L], gb);
  for (size_t l = L; l-- > 0;) {
    const size_t nin = net->w[l], nout = net->w[l + 1];
    const float *W = net->pf + net->woff[l];
    const float *Ain = l == 0 ? net->Xf : net->Af[l - 1];
    if (net->conv[l] != NULL) {
      /* dZ is this layer's dL/dY (its activation derivative is the layer's own) */
      sagd_conv c = net->conv[l];
      const size_t nw = sagd_conv_nweights_(c), np = sagd_conv_nparams(c);
      const int want = sink != NULL || grad_params != NULL;
      float *gW = want ? net->gf + net->woff[l] : NULL;
      double *cgb =
          sink != NULL ? net->gd : (grad_params != NULL ? grad_params + net->boff[l] : NULL);
      const int acc = sink == NULL && accumulate;
      const int nxt = 1 - cur;
      float *dIn = (l > 0 || dX != NULL) ? net->Sf[nxt] : NULL;
      sagd_conv_bwd_f_(c, W, batch, dZ, Ain, gW, cgb, acc, dIn);
      if (sink != NULL) {
        SAGD_CALL(sagd_psum_add_range_float(sink->sum, sink->offset + net->woff[l], nw, gW));
        SAGD_CALL(sagd_psum_add_range(sink->sum, sink->offset + net->boff[l], np - nw, cgb));
      } else if (grad_params != NULL) {
        double *g = grad_params + net->woff[l];
        for (size_t i = 0; i < nw; i++) {
          g[i] = accumulate ? g[i] + (double)gW[i] : (double)gW[i];
        }
      }
      if (l == 0) {
        if (dX != NULL) {
          for (size_t i = 0; i < batch * nin; i++) {
            dX[i] = (double)dIn[i];
          }
        }
        break;
      }
      gb = bias_grad_(net, l - 1, grad_params, accumulate, sink);
      deriv_bias_(dIn, net->Df[l - 1], batch, nin, gb);
      dZ = dIn;
      cur = nxt;
      continue;
    }
    if (sink != NULL || grad_params != NULL) {
      float *gW = net->gf + net->woff[l];
      SAGD_CALL(sgemm_(net, CblasTrans, CblasNoTrans, (int)nout, (int)nin, B, dZ, (int)nout, Ain,
                       (int)nin, gW, (int)nin));
      const size_t nw = nout * nin;
      /* the biases' gradient gb (column sums of dZ in double, in row order) came with dZ */
      if (sink != NULL) { /* into the sum while in cache (float, widened exactly) */
        SAGD_CALL(sagd_psum_add_range_float(sink->sum, sink->offset + net->woff[l], nw, gW));
        SAGD_CALL(sagd_psum_add_range(sink->sum, sink->offset + net->boff[l], nout, gb));
      } else {
        double *g = grad_params + net->woff[l];
        for (size_t i = 0; i < nw; i++) {
          g[i] = accumulate ? g[i] + (double)gW[i] : (double)gW[i];
        }
      }
    }
    if (l == 0) {
      if (dX != NULL) {
        float *S = net->Sf[1 - cur];
        SAGD_CALL(sgemm_(net, CblasNoTrans, CblasNoTrans, B, (int)nin, (int)nout, dZ, (int)nout,
                         W, (int)nin, S, (int)nin));
        const size_t n = batch * nin;
        for (size_t i = 0; i < n; i++) {
          dX[i] = (double)S[i];
        }
      }
      break;
    }
    /* the layer below's delta (dZ W) ⊙ D, with its bias gradient */
    const int nxt = 1 - cur;
    SAGD_CALL(sgemm_(net, CblasNoTrans, CblasNoTrans, B, (int)nin, (int)nout, dZ, (int)nout, W,
                     (int)nin, net->Sf[nxt], (int)nin));
    gb = bias_grad_(net, l - 1, grad_params, accumulate, sink);
    deriv_bias_(net->Sf[nxt], net->Df[l - 1], batch, nin, gb);
    dZ = net->Sf[nxt];
    cur = nxt;
  }
  return SAGD_OK;
}

int sagd_mlp_forward_single_(sagd_mlp net, const double *params, size_t batch,
                             const double *X, double *Y) {
  const unsigned csr = sagd_nn_ftz_on_();
  const int err = forward_(net, params, batch, X, Y);
  sagd_nn_ftz_off_(csr);
  return err;
}

int sagd_mlp_backward_single_(sagd_mlp net, const double *params, size_t batch,
                              const double *dY, double *grad_params, double *dX,
                              int accumulate, const sagd_nn_sink_ *sink) {
  const unsigned csr = sagd_nn_ftz_on_();
  const int err = backward_(net, params, batch, dY, grad_params, dX, accumulate, sink);
  sagd_nn_ftz_off_(csr);
  return err;
}

void sagd_mlp_free_single_(sagd_mlp net) {
  SAGD_NN_FREE_LAYERS(net->Af, net->L);
  SAGD_NN_FREE_LAYERS(net->Df, net->L);
  free(net->Sf[0]);
  free(net->Sf[1]);
  free(net->Xf);
  free(net->Yf);
  free(net->pf);
  free(net->gf);
  net->Af = net->Df = NULL;
  net->Sf[0] = net->Sf[1] = net->Xf = net->Yf = net->pf = net->gf = NULL;
  net->single = 0;
  net->prepared = NULL;
}

int sagd_mlp_set_precision(sagd_mlp net, sagd_precision prec) {
  SAGD_CHECK(net != NULL, SAGD_ERR_ARG, "sagd_mlp_set_precision: no network given");
  SAGD_CHECK(prec == SAGD_PRECISION_DOUBLE || prec == SAGD_PRECISION_SINGLE, SAGD_ERR_ARG,
             "MLP precision %d: expected double (%d) or single (%d)", (int)prec,
             (int)SAGD_PRECISION_DOUBLE, (int)SAGD_PRECISION_SINGLE);
  if (prec == SAGD_PRECISION_DOUBLE) {
    sagd_mlp_free_single_(net);
    return SAGD_OK;
  }
  if (net->single) {
    return SAGD_OK;
  }
  const size_t Bm = net->max_batch, L = net->L;
  int ok = (net->Af = calloc(L, sizeof(float *))) != NULL &&
           (net->Df = calloc(L, sizeof(float *))) != NULL;
  for (size_t l = 0; ok && l < L; l++) {
    const size_t n = Bm * net->w[l + 1];
    if (l + 1 < L) {
      ok = ok && (net->Af[l] = calloc(n, sizeof(float))) != NULL;
    }
    if (net->conv[l] != NULL) {
      ok = ok && sagd_conv_float_workspace_(net->conv[l]) == SAGD_OK;
    } else if (act_(net, l) != &sagd_act_identity) {
      ok = ok && (net->Df[l] = calloc(n, sizeof(float))) != NULL;
    }
  }
  ok = ok && (net->Sf[0] = calloc(Bm * net->maxw, sizeof(float))) != NULL &&
       (net->Sf[1] = calloc(Bm * net->maxw, sizeof(float))) != NULL &&
       (net->Xf = calloc(Bm * net->w[0], sizeof(float))) != NULL &&
       (net->Yf = calloc(Bm * net->w[L], sizeof(float))) != NULL &&
       (net->pf = calloc(net->nparams, sizeof(float))) != NULL &&
       (net->gf = calloc(net->nparams, sizeof(float))) != NULL;
  if (!ok) {
    sagd_mlp_free_single_(net);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the single-precision workspace of an MLP (%zu rows)",
              Bm);
  }
  net->single = 1;
  net->prepared = NULL;
  return SAGD_OK;
}

sagd_precision sagd_mlp_precision(sagd_mlp net) {
  return net->single ? SAGD_PRECISION_SINGLE : SAGD_PRECISION_DOUBLE;
}

int sagd_mlp_prepare(sagd_mlp net, const double *params) {
  SAGD_CHECK(net != NULL && params != NULL, SAGD_ERR_ARG,
             "sagd_mlp_prepare: a network and parameters must be given");
  if (!net->single) {
    return SAGD_OK;
  }
  for (size_t i = 0; i < net->nparams; i++) {
    net->pf[i] = (float)params[i];
  }
  net->prepared = params;
  return SAGD_OK;
}
