/* Private helpers shared by the files of src/nn. */
#ifndef SAGD_NN_IMPL_H
#define SAGD_NN_IMPL_H

#include <stddef.h>
#include <stdlib.h>

#include "sagd/gemmlog.h"
#include "sagd/conv.h"
#include "sagd/nn.h"
#include "sagd/psum.h"
#include "sagd/rng.h"

/* Where sagd_mlp_backward_psum sends a parameter gradient: components offset + [0, nparams)
 * of the current term of a pre-rounded sum. */
typedef struct {
  sagd_psum sum;
  size_t offset;
} sagd_nn_sink_;

/* A network (see include/sagd/nn.h). The float members exist only in single precision. */
struct sagd_mlp_s {
  size_t L;            /* layers */
  size_t *w;           /* widths w[0..L] */
  size_t *woff, *boff; /* offsets of W_l and b_l in the flat parameters */
  size_t nparams, maxw, max_batch;
  const sagd_activation_type *hidden, *output;
  const sagd_activation_type **acts; /* acts[l]: layer l's activation */
  sagd_conv *conv;   /* conv[l]: layer l's convolution (NULL: a dense layer), owned */
  double **A;        /* A[l], l < L-1: hidden activations, max_batch × w[l+1] */
  double **D;        /* D[l]: activation derivatives (NULL for identity layers) */
  double *S[2];      /* backward scratch, max_batch × maxw each */
  double *gd;        /* the largest layer's w[l] × w[l+1]: one layer's gradient */
  const double *X;   /* the last forward's input (borrowed) */
  size_t last_batch; /* rows of the last forward (0: none yet) */
  sagd_gemm_log log; /* borrowed; NULL: GEMMs not recorded */
  /* single precision */
  int single;
  const double *prepared; /* the params the float copy was made from (NULL: none) */
  float *pf;              /* nparams: the parameters rounded to float */
  float *gf;              /* nparams: a parameter gradient in float */
  float **Af, **Df;       /* as A, D, in float */
  float *Sf[2];           /* backward scratch */
  float *Xf, *Yf;         /* input (max_batch × w[0]) and output (max_batch × w[L]) */
};

/* The passes of a convolution layer on the caller's buffers (conv.c), as a network's layer:
 * p its parameters (W then b), in/out/dY/dX [batch × size]; forward keeps what backward needs
 * in the layer. Backward: gW (beta 0 sets, 1 adds; NULL: not wanted), gb (+)= the bias
 * gradient in double (NULL: not wanted), dX (NULL: not wanted). The float passes need
 * sagd_conv_float_workspace_ first. */
size_t sagd_conv_nweights_(sagd_conv c);
void sagd_conv_fwd_d_(sagd_conv c, const double *p, size_t batch, const double *in,
                      double *out);
void sagd_conv_bwd_d_(sagd_conv c, const double *p, size_t batch, const double *dY,
                      const double *in, double *gW, double beta, double *gb, int accumulate,
                      double *dX);
void sagd_conv_fwd_f_(sagd_conv c, const float *p, size_t batch, const float *in, float *out);
void sagd_conv_bwd_f_(sagd_conv c, const float *p, size_t batch, const float *dY,
                      const float *in, float *gW, double *gb, int accumulate, float *dX);
int sagd_conv_float_workspace_(sagd_conv c);

/* A network of nlayers layers between widths[0..L]: layer l has activation acts[l] (NULL:
 * identity) and is dense, or the convolution geoms[l] when geoms and geoms[l] are not NULL
 * (its input and output sizes must be widths[l] and widths[l+1]). sagd_mlp_create and
 * sagd_mlp_create_spec build on it. */
int sagd_nn_create_(size_t nlayers, const size_t *widths, const sagd_activation_type *const *acts,
                    const sagd_conv_geom *const *geoms, size_t max_batch, sagd_mlp *net);

/* Free an array of L per-layer buffers (entries may be NULL) and the array itself. */
#define SAGD_NN_FREE_LAYERS(arr, L)                 \
  do {                                              \
    if ((arr) != NULL) {                            \
      for (size_t l_ = 0; l_ < (L); l_++) {         \
        free((arr)[l_]);                            \
      }                                             \
    }                                               \
    free(arr);                                      \
  } while (0)

/* The single-precision passes (mlp_single.c), called by sagd_mlp_forward/backward. */
int sagd_mlp_forward_single_(sagd_mlp net, const double *params, size_t batch,
                             const double *X, double *Y);
int sagd_mlp_backward_single_(sagd_mlp net, const double *params, size_t batch,
                              const double *dY, double *grad_params, double *dX,
                              int accumulate, const sagd_nn_sink_ *sink);
void sagd_mlp_free_single_(sagd_mlp net);

/* For a rows × n row-major float block z: z ← act(z + b) and d ← act'(z + b) (d may be NULL
 * for identity), every element by the same routine whatever its position. */
void sagd_nn_bias_fdf_float_(const sagd_activation_type *act, size_t rows, size_t n,
                             const float *b, float *z, float *d);

/* For a rows × n row-major block z: z ← act(z + b) (b broadcast over the rows) and
 * d ← act'(z + b), in one pass, bit-identical to adding b and then calling act->fdf.
 * Returns 1 if done, 0 if `act` has no such kernel (then nothing was touched). */
int sagd_nn_bias_fdf_(const sagd_activation_type *act, size_t rows, size_t n, const double *b,
                      double *z, double *d);

/* For a rows × n row-major block z: z ← act(z + b) and d ← act'(z + b) (b broadcast over the
 * rows; d NULL for identity: only the bias), through the fused kernel where `act` has one,
 * else the bias then act->fdf (or f then df). The double twin of sagd_nn_bias_fdf_float_. */
void sagd_nn_bias_act_(const sagd_activation_type *act, size_t rows, size_t n, const double *b,
                       double *z, double *d);

/* Xavier/Glorot-uniform weights: count uniforms at (key, SAGD_STREAM_NN_INIT, net_id, t = layer,
 * k = 0), mapped to (2u - 1)·sqrt(6/(fan_in + fan_out)). */
int sagd_nn_xavier_(sagd_rng_key key, uint64_t net_id, uint64_t layer, size_t count,
                    double fan_in, double fan_out, double *w);

/* Float subnormals flushed to zero (x86 MXCSR FTZ and DAZ) during the single-precision passes
 * (see mlp_single.c for why); ftz_on returns the state ftz_off restores. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static inline unsigned sagd_nn_ftz_on_(void) {
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040u); /* bit 15 flush-to-zero, bit 6 denormals-are-zero */
  return csr;
}
static inline void sagd_nn_ftz_off_(unsigned csr) { _mm_setcsr(csr); }
#else
static inline unsigned sagd_nn_ftz_on_(void) { return 0; }
static inline void sagd_nn_ftz_off_(unsigned csr) { (void)csr; }
#endif

#endif
