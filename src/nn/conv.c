/* Convolution and transposed convolution layers (see include/sagd/conv.h).
 *
 * Both are written with one window geometry: an "image" side (H × W × C) and a grid of
 * window positions (PH × PW), windows k × k at stride s with padding p. im2col copies every
 * window into a row; col2im is its adjoint (adds every row back into the image).
 *  conv  (image = input, positions = output, C = Cin, K = k²·Cin):
 *    forward   col = im2col(X);  Z = col · Wᵀ           (W [Cout × K])
 *    backward  dW (+)= dZᵀ · col;  dX = col2im(dZ · W)
 *  convt (image = output, positions = input, C = Cout, K = k²·Cout):
 *    forward   col = X · W;  Z = col2im(col)            (W [Cin × K])
 *    backward  dcol = im2col(dZ);  dW (+)= Xᵀ · dcol;  dX = dcol · Wᵀ
 * then Y = act(Z + b) with the bias per channel (a column of the NHWC matrix), and
 * dZ = dY ⊙ act'. One GEMM per product for the whole batch. The passes are conv_pass.h,
 * included once per precision. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/nn_impl.h"
#include "sagd/conv.h"
#include "sagd/error.h"

typedef struct {
  size_t H, W, C;  /* the image side */
  size_t PH, PW;   /* window positions */
  size_t k, s, p;
} win_geom_;

struct sagd_conv_s {
  sagd_conv_geom geom;
  win_geom_ win;
  size_t out_rows, out_cols, out_pos; /* out_pos = out_rows · out_cols */
  size_t K, in_size, out_size, nweights, nparams, max_batch, col_size;
  const sagd_activation_type *act;
  double *col, *dcol, *D, *dz; /* col, dcol: max_batch · PH·PW · K */
  const double *X;             /* the last forward's input (borrowed) */
  size_t last_batch;
  /* single precision */
  int single;
  const double *prepared;
  float *pf, *gf, *Xf, *Yf, *colf, *dcolf, *Df, *dzf, *dXf;
};

#define REAL double
#define SUF _d
#define GEMM cblas_dgemm
#define BIAS_ACT sagd_nn_bias_act_
#include "nn/conv_pass.h"
#undef REAL
#undef SUF
#undef GEMM
#undef BIAS_ACT

#define REAL float
#define SUF _f
#define GEMM cblas_sgemm
#define BIAS_ACT sagd_nn_bias_fdf_float_
#include "nn/conv_pass.h"
#undef REAL
#undef SUF
#undef GEMM
#undef BIAS_ACT

/* ---- the passes on the caller's buffers (nn_impl.h): the networks of mlp.c call these */

size_t sagd_conv_nweights_(sagd_conv c) { return c->nweights; }

void sagd_conv_fwd_d_(sagd_conv c, const double *p, size_t batch, const double *in,
                      double *out) {
  forward__d(c, p, p + c->nweights, batch, in, out, c->col, c->D);
}

void sagd_conv_bwd_d_(sagd_conv c, const double *p, size_t batch, const double *dY,
                      const double *in, double *gW, double beta, double *gb, int accumulate,
                      double *dX) {
  backward__d(c, p, batch, dY, c->D, in, c->col, c->dz, c->dcol, gW, beta, gb, accumulate, dX);
}

void sagd_conv_fwd_f_(sagd_conv c, const float *p, size_t batch, const float *in, float *out) {
  forward__f(c, p, p + c->nweights, batch, in, out, c->colf, c->Df);
}

void sagd_conv_bwd_f_(sagd_conv c, const float *p, size_t batch, const float *dY,
                      const float *in, float *gW, double *gb, int accumulate, float *dX) {
  backward__f(c, p, batch, dY, c->Df, in, c->colf, c->dzf, c->dcolf, gW, 0.0f, gb, accumulate,
              dX);
}

static void free_single_(sagd_conv c) {
  free(c->pf);
  free(c->gf);
  free(c->Xf);
  free(c->Yf);
  free(c->colf);
  free(c->dcolf);
  free(c->Df);
  free(c->dzf);
  free(c->dXf);
  c->pf = c->gf = c->Xf = c->Yf = c->colf = c->dcolf = c->Df = c->dzf = c->dXf = NULL;
  c->single = 0;
  c->prepared = NULL;
}

void sagd_conv_destroy(sagd_conv *c) {
  if (c == NULL || *c == NULL) {
    return;
  }
  free_single_(*c);
  free((*c)->col);
  free((*c)->dcol);
  free((*c)->D);
  free((*c)->dz);
  free(*c);
  *c = NULL;
}

/* a · b · ... without overflow past `cap`; 0 when it would. */
static size_t mul_cap_(size_t a, size_t b, size_t cap) {
  return (a != 0 && b > cap / a) ? 0 : a * b;
}

int sagd_conv_create(const sagd_conv_geom *g, const sagd_activation_type *act, size_t max_batch,
                     sagd_conv *out) {
  SAGD_CHECK(out != NULL && g != NULL, SAGD_ERR_ARG,
             "sagd_conv_create: a geometry and an output pointer must be given");
  *out = NULL;
  const int tr = g->kind == SAGD_CONV_TRANSPOSED;
  SAGD_CHECK(g->kind == SAGD_CONV_FORWARD || tr, SAGD_ERR_ARG,
             "convolution kind = %d: expected conv or transposed", (int)g->kind);
  SAGD_CHECK(g->in_rows >= 1 && g->in_cols >= 1 && g->in_channels >= 1 && g->out_channels >= 1,
             SAGD_ERR_ARG,
             "convolution input %zu x %zu x %zu -> %zu channels: expected every size >= 1",
             g->in_rows, g->in_cols, g->in_channels, g->out_channels);
  SAGD_CHECK(g->kernel >= 1 && g->stride >= 1, SAGD_ERR_ARG,
             "convolution kernel = %zu, stride = %zu: expected both >= 1", g->kernel, g->stride);
  SAGD_CHECK(g->pad < g->kernel, SAGD_ERR_ARG,
             "convolution pad = %zu with kernel %zu: expected pad < kernel", g->pad, g->kernel);
  SAGD_CHECK(tr ? g->out_pad < g->stride : g->out_pad == 0, SAGD_ERR_ARG,
             "convolution out_pad = %zu: expected %s", g->out_pad,
             tr ? "out_pad < stride" : "0 (out_pad is for transposed layers)");
  SAGD_CHECK(max_batch >= 1, SAGD_ERR_ARG, "convolution max_batch = %zu: expected >= 1",
             max_batch);
  size_t orows, ocols;
  if (!tr) {
    SAGD_CHECK(g->in_rows + 2 * g->pad >= g->kernel && g->in_cols + 2 * g->pad >= g->kernel,
               SAGD_ERR_ARG,
               "convolution kernel %zu is larger than the padded input %zu x %zu (pad %zu)",
               g->kernel, g->in_rows, g->in_cols, g->pad);
    orows = (g->in_rows + 2 * g->pad - g->kernel) / g->stride + 1;
    ocols = (g->in_cols + 2 * g->pad - g->kernel) / g->stride + 1;
  } else {
    const size_t r = (g->in_rows - 1) * g->stride + g->kernel + g->out_pad;
    const size_t q = (g->in_cols - 1) * g->stride + g->kernel + g->out_pad;
    SAGD_CHECK(r > 2 * g->pad && q > 2 * g->pad, SAGD_ERR_ARG,
               "transposed convolution of %zu x %zu with kernel %zu, stride %zu, pad %zu gives "
               "no output: expected a smaller pad",
               g->in_rows, g->in_cols, g->kernel, g->stride, g->pad);
    orows = r - 2 * g->pad;
    ocols = q - 2 * g->pad;
  }
  struct sagd_conv_s *c = calloc(1, sizeof *c);
  SAGD_CHECK(c != NULL, SAGD_ERR_MEM, "cannot allocate a convolution layer");
  c->geom = *g;
  c->act = act != NULL ? act : &sagd_act_identity;
  c->out_rows = orows;
  c->out_cols = ocols;
  c->out_pos = orows * ocols;
  c->max_batch = max_batch;
  c->in_size = g->in_rows * g->in_cols * g->in_channels;
  c->out_size = c->out_pos * g->out_channels;
  win_geom_ *w = &c->win;
  w->k = g->kernel;
  w->s = g->stride;
  w->p = g->pad;
  if (!tr) {
    *w = (win_geom_){g->in_rows, g->in_cols, g->in_channels, orows, ocols, w->k, w->s, w->p};
  } else {
    *w = (win_geom_){orows, ocols, g->out_channels, g->in_rows, g->in_cols, w->k, w->s, w->p};
  }
  c->K = w->k * w->k * w->C;
  c->nweights = (tr ? g->in_channels : g->out_channels) * c->K;
  c->nparams = c->nweights + g->out_channels;
  /* every GEMM dimension is a BLAS int; the buffers fit in memory */
  const size_t lim = (size_t)INT32_MAX;
  const size_t rows = mul_cap_(max_batch, w->PH * w->PW, lim);
  c->col_size = mul_cap_(rows, c->K, SIZE_MAX / sizeof(double));
  const size_t osz = mul_cap_(max_batch, c->out_size, SIZE_MAX / sizeof(double));
  const size_t isz = mul_cap_(max_batch, c->in_size, SIZE_MAX / sizeof(double));
  int rc = SAGD_OK;
  if (rows == 0 || c->col_size == 0 || osz == 0 || isz == 0 || c->K > lim ||
      mul_cap_(max_batch, c->out_pos, lim) == 0) {
    rc = sagd_error_set(SAGD_ERR_ARG, __FILE__, __LINE__, __func__,
                        "convolution of %zu x %zu x %zu with max_batch = %zu is too large: "
                        "expected every GEMM dimension <= %d",
                        g->in_rows, g->in_cols, g->in_channels, max_batch, (int)INT32_MAX);
  } else {
    c->col = malloc(c->col_size * sizeof(double));
    c->dcol = malloc(c->col_size * sizeof(double));
    c->dz = malloc(osz * sizeof(double));
    if (c->act != &sagd_act_identity) {
      c->D = malloc(osz * sizeof(double));
    }
    if (c->col == NULL || c->dcol == NULL || c->dz == NULL ||
        (c->act != &sagd_act_identity && c->D == NULL)) {
      rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                          "cannot allocate %zu doubles of convolution workspace",
                          2 * c->col_size + 2 * osz);
    }
  }
  if (rc != SAGD_OK) {
    sagd_conv_destroy(&c);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = c;
  return SAGD_OK;
}

size_t sagd_conv_nparams(sagd_conv c) { return c->nparams; }
size_t sagd_conv_out_rows(sagd_conv c) { return c->out_rows; }
size_t sagd_conv_out_cols(sagd_conv c) { return c->out_cols; }
size_t sagd_conv_in_size(sagd_conv c) { return c->in_size; }
size_t sagd_conv_out_size(sagd_conv c) { return c->out_size; }
const sagd_conv_geom *sagd_conv_geometry(sagd_conv c) { return &c->geom; }

int sagd_conv_init_xavier(sagd_conv c, sagd_rng_key key, uint64_t net_id, uint64_t layer,
                          double *params) {
  SAGD_CHECK(c != NULL && params != NULL, SAGD_ERR_ARG,
             "sagd_conv_init_xavier: a layer and a parameter vector must be given");
  const double k2 = (double)(c->geom.kernel * c->geom.kernel);
  const double fin = (double)c->geom.in_channels * k2, fout = (double)c->geom.out_channels * k2;
  SAGD_CALL(sagd_nn_xavier_(key, net_id, layer, c->nweights, fin, fout, params));
  memset(params + c->nweights, 0, c->geom.out_channels * sizeof(double));
  return SAGD_OK;
}

static int check_pass_(sagd_conv c, const double *params, size_t batch, const char *what) {
  SAGD_CHECK(c != NULL && params != NULL, SAGD_ERR_ARG,
             "convolution %s: a layer and its parameters must be given", what);
  SAGD_CHECK(batch >= 1 && batch <= c->max_batch, SAGD_ERR_ARG,
             "convolution %s: batch = %zu images, expected 1 .. max_batch = %zu", what, batch,
             c->max_batch);
  SAGD_CHECK(!c->single || (c->prepared != NULL && c->prepared == params), SAGD_ERR_ARG,
             "convolution in single precision: these parameters were not prepared (call "
             "sagd_conv_prepare(layer, params) after every change of the parameters)");
  return SAGD_OK;
}

int sagd_conv_forward(sagd_conv c, const double *params, size_t batch, const double *X,
                      double *Y) {
  SAGD_CALL(check_pass_(c, params, batch, "forward"));
  SAGD_CHECK(X != NULL && Y != NULL && X != Y, SAGD_ERR_ARG,
             "sagd_conv_forward: X and Y must be given and distinct");
  if (!c->single) {
    sagd_conv_fwd_d_(c, params, batch, X, Y);
  } else {
    const unsigned csr = sagd_nn_ftz_on_();
    const size_t ni = batch * c->in_size, no = batch * c->out_size;
    for (size_t i = 0; i < ni; i++) {
      c->Xf[i] = (float)X[i];
    }
    sagd_conv_fwd_f_(c, c->pf, batch, c->Xf, c->Yf);
    for (size_t i = 0; i < no; i++) {
      Y[i] = (double)c->Yf[i];
    }
    sagd_nn_ftz_off_(csr);
  }
  c->X = X;
  c->last_batch = batch;
  return SAGD_OK;
}

int sagd_conv_backward(sagd_conv c, const double *params, size_t batch, const double *dY,
                       double *grad_params, double *dX) {
  SAGD_CALL(check_pass_(c, params, batch, "backward"));
  SAGD_CHECK(c->last_batch == batch, SAGD_ERR_ARG,
             "convolution backward: batch = %zu images but the last forward had %zu (backward "
             "must follow the forward of the same batch)",
             batch, c->last_batch);
  SAGD_CHECK(dY != NULL, SAGD_ERR_ARG, "sagd_conv_backward: dY must be given");
  if (grad_params == NULL && dX == NULL) {
    return SAGD_OK;
  }
  double *gb = grad_params != NULL ? grad_params + c->nweights : NULL;
  if (!c->single) {
    sagd_conv_bwd_d_(c, params, batch, dY, c->X, grad_params, 1.0, gb, 1, dX);
    return SAGD_OK;
  }
  const unsigned csr = sagd_nn_ftz_on_();
  const size_t no = batch * c->out_size, ni = batch * c->in_size;
  float *dYf = c->Yf; /* the output's float copy is not needed by backward */
  for (size_t i = 0; i < no; i++) {
    dYf[i] = (float)dY[i];
  }
  sagd_conv_bwd_f_(c, c->pf, batch, dYf, c->Xf, grad_params != NULL ? c->gf : NULL, gb, 1,
                   dX != NULL ? c->dXf : NULL);
  if (grad_params != NULL) {
    for (size_t i = 0; i < c->nweights; i++) {
      grad_params[i] += (double)c->gf[i];
    }
  }
  if (dX != NULL) {
    for (size_t i = 0; i < ni; i++) {
      dX[i] = (double)c->dXf[i];
    }
  }
  sagd_nn_ftz_off_(csr);
  return SAGD_OK;
}

int sagd_conv_float_workspace_(sagd_conv c) {
  if (c->colf != NULL) {
    return SAGD_OK;
  }
  const size_t osz = c->max_batch * c->out_size;
  c->colf = malloc(c->col_size * sizeof(float));
  c->dcolf = malloc(c->col_size * sizeof(float));
  c->dzf = malloc(osz * sizeof(float));
  if (c->act != &sagd_act_identity) {
    c->Df = malloc(osz * sizeof(float));
  }
  if (c->colf == NULL || c->dcolf == NULL || c->dzf == NULL ||
      (c->act != &sagd_act_identity && c->Df == NULL)) {
    free_single_(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate %zu floats of single-precision convolution "
              "workspace", 2 * c->col_size + 2 * osz);
  }
  return SAGD_OK;
}

int sagd_conv_set_precision(sagd_conv c, sagd_precision prec) {
  SAGD_CHECK(c != NULL, SAGD_ERR_ARG, "sagd_conv_set_precision: no layer given");
  SAGD_CHECK(prec == SAGD_PRECISION_DOUBLE || prec == SAGD_PRECISION_SINGLE, SAGD_ERR_ARG,
             "precision = %d: expected double or single", (int)prec);
  free_single_(c);
  if (prec == SAGD_PRECISION_DOUBLE) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_conv_float_workspace_(c));
  const size_t B = c->max_batch;
  c->pf = malloc(c->nparams * sizeof(float));
  c->gf = malloc(c->nweights * sizeof(float));
  c->Xf = malloc(B * c->in_size * sizeof(float));
  c->dXf = malloc(B * c->in_size * sizeof(float));
  c->Yf = malloc(B * c->out_size * sizeof(float));
  if (c->pf == NULL || c->gf == NULL || c->Xf == NULL || c->dXf == NULL || c->Yf == NULL) {
    free_single_(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the single-precision workspace of a convolution");
  }
  c->single = 1;
  return SAGD_OK;
}

int sagd_conv_prepare(sagd_conv c, const double *params) {
  SAGD_CHECK(c != NULL && params != NULL, SAGD_ERR_ARG,
             "sagd_conv_prepare: a layer and its parameters must be given");
  if (!c->single) {
    return SAGD_OK;
  }
  for (size_t i = 0; i < c->nparams; i++) {
    c->pf[i] = (float)params[i];
  }
  c->prepared = params;
  return SAGD_OK;
}

double sagd_conv_flops(sagd_conv c, size_t batch, int with_backward) {
  const double rows = (double)batch * (double)(c->win.PH * c->win.PW);
  const double other = (double)(c->geom.kind == SAGD_CONV_FORWARD ? c->geom.out_channels
                                                                  : c->geom.in_channels);
  const double one = 2.0 * rows * (double)c->K * other; /* every GEMM has this size */
  double total = one;
  if (with_backward & SAGD_MLP_BACKWARD_PARAMS) {
    total += one;
  }
  if (with_backward & SAGD_MLP_BACKWARD_INPUT) {
    total += one;
  }
  return total;
}
