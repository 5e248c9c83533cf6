/**
 * @file nn.h
 * @brief Feed-forward networks on batches, via CBLAS GEMMs, with flat parameters: dense
 *        layers (MLPs) and, from a text description, convolution layers (conv.h).
 *
 * An MLP has layer widths w[0] (input) .. w[L] (output); hidden layers use one activation,
 * the output layer another (often identity). Parameters are ONE flat double vector, layer
 * by layer: W_l (w[l+1] × w[l], row-major) then b_l (w[l+1]). Rows of a batch are samples:
 * X is [batch × w[0]], Y is [batch × w[L]]. Layer l computes Z = A·W_lᵀ + b_l with one GEMM
 * (cblas_dgemm) for the whole batch, then A' = act(Z). forward() keeps what backward() needs
 * (each hidden layer's activations and every layer's activation derivatives) in the
 * network's workspace, allocated at create for max_batch rows; nothing is allocated in
 * forward/backward. So backward() must follow the forward() of the same batch, parameters
 * and input X (X is not copied: it must still hold the same values); backward() may be
 * called several times after one forward(). Not thread-safe.
 *
 * Every element of a batch is computed by the same arithmetic whatever the batch size or
 * the row's position in it, except that the GEMMs' own blocking is OpenBLAS's: results are
 * deterministic for fixed shapes (and a fixed OpenBLAS build and thread count).
 */
#ifndef SAGD_NN_H
#define SAGD_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/gemmlog.h"
#include "sagd/psum.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Elementwise activation as an ops table: a = f(z), and d = f'(z) given z and a = f(z).
 *  fdf (optional, may be NULL) computes both in one pass, bit-identical to f then df;
 *  a may alias z in f and fdf. softplus is log1p(exp(-|z|)) + max(z, 0) (no overflow);
 *  sigmoid 1/(1+exp(-z)) in its stable two-sided form; relu'(0) = 0. softplus and sigmoid
 *  evaluate exp/log1p with glibc's vector math (libmvec, AVX-512 or AVX2) where the CPU
 *  allows, and every element by the same routine, so a value never depends on n or its
 *  position. The environment variable SAGD_SIMD=avx2|none caps that choice (the variants
 *  agree to a few ulp, not bit for bit). */
typedef struct sagd_activation_type_s {
  const char *name;
  void (*f)(size_t n, const double *z, double *a);
  void (*df)(size_t n, const double *z, const double *a, double *d);
  void (*fdf)(size_t n, const double *z, double *a, double *d);
  /** Optional (may be NULL): the single-precision pass on a rows × n block, z ← f(z + b) and
   *  d ← f'(z + b) (b broadcast over the rows; d NULL for identity layers). Without it the
   *  float networks go through f/df in double. */
  void (*bias_fdf_f)(size_t rows, size_t n, const float *b, float *z, float *d);
} sagd_activation_type;

extern const sagd_activation_type sagd_act_identity, sagd_act_softplus, sagd_act_relu,
    sagd_act_tanh, sagd_act_sigmoid;
/** Find by name ("identity", "softplus", "relu", "tanh", "sigmoid"); NULL if unknown. */
const sagd_activation_type *sagd_activation_find(const char *name);
/** The registry (registry.h): the activations, NULL-terminated. */
const sagd_activation_type *const *sagd_activation_list(void);

typedef struct sagd_mlp_s *sagd_mlp;

/** Create an MLP with nlayers = L >= 1 dense layers and widths[0..L] (all >= 1; a zero width
 *  is SAGD_ERR_ARG naming the layer, e.g. "layer 2 width = 0: expected >= 1"). Workspace for
 *  up to max_batch >= 1 rows. hidden/output NULL mean identity. */
int sagd_mlp_create(size_t nlayers, const size_t *widths, const sagd_activation_type *hidden,
                    const sagd_activation_type *output, size_t max_batch, sagd_mlp *net);
void sagd_mlp_destroy(sagd_mlp *net);

size_t sagd_mlp_nparams(sagd_mlp net);
size_t sagd_mlp_in(sagd_mlp net);
size_t sagd_mlp_out(sagd_mlp net);
size_t sagd_mlp_max_batch(sagd_mlp net);

/** Xavier/Glorot-uniform weights (U(±sqrt(6/(fan_in+fan_out)))), zero biases, drawn from
 *  the counter-based RNG at (key, SAGD_STREAM_NN_INIT, id = net_id, t = layer, k = 0): W_l's
 *  entries in row-major order are the uniforms u_j mapped to (2u_j - 1)·limit. A pure
 *  function of (key, net_id) and the widths. params: nparams doubles (out). */
int sagd_mlp_init_xavier(sagd_mlp net, sagd_rng_key key, uint64_t net_id, double *params);

/** Y = net(X) for 1 <= `batch` <= max_batch rows (a larger batch is SAGD_ERR_ARG). X must not
 *  alias Y; X must stay unchanged until the backward() calls that follow are done. */
int sagd_mlp_forward(sagd_mlp net, const double *params, size_t batch, const double *X,
                     double *Y);

/** Back-propagate dL/dY [batch × out] through the last forward() (same batch and params):
 *  grad_params += dL/dθ (may be NULL; W_l's part by one GEMM dZᵀ·A summing the rows in a
 *  fixed order, b_l's by column sums in row order), dX = dL/dX (overwritten; may be NULL).
 *  Neither output may alias dY or X. */
int sagd_mlp_backward(sagd_mlp net, const double *params, size_t batch, const double *dY,
                      double *grad_params, double *dX);

/** A network from a text description `spec` (what names it in messages, e.g. the config key):
 *  layers separated by ';', each one of
 *    dense N [act]                         a dense layer of width N
 *    conv C kK [sS] [pP] [act]             convolution to C channels (conv.h; s1 p0 default)
 *    convt C kK [sS] [pP] [oO] [act]       transposed convolution (out_pad O, default 0)
 *    reshape RxCxCH                        view the values as R × C × CH (NHWC) for a conv
 *  (act: an activation name, default identity). The input is in_rows × in_cols × in_channels
 *  (1 × 1 × n for a vector); a dense layer's output is a vector, so a conv after it needs a
 *  reshape. E.g. the MNIST generator "dense 1024 relu; dense 3136 relu; reshape 7x7x64;
 *  convt 32 k4 s2 p1 relu; convt 1 k4 s2 p1". A network with conv layers is used exactly like
 *  an MLP (every function of this header; the GEMM log records its dense layers only). A bad
 *  description is SAGD_ERR_CONFIG naming the item and what was expected. */
int sagd_mlp_create_spec(const char *what, const char *spec, size_t in_rows, size_t in_cols,
                         size_t in_channels, size_t max_batch, sagd_mlp *net);
/** One line: the layers with their shapes, the parameter count and the multiply-adds per row. */
int sagd_mlp_describe(sagd_mlp net, char *buf, size_t cap);

/** Precision of a network's forward and backward passes. */
typedef enum { SAGD_PRECISION_DOUBLE = 0, SAGD_PRECISION_SINGLE = 1 } sagd_precision;

/** Run the passes in `prec`. Single: every GEMM is cblas_sgemm on a float copy of the
 *  parameters made by sagd_mlp_prepare (θ stays the caller's double master copy), the
 *  activations and their derivatives are float; inputs, outputs, input gradients stay double
 *  (converted at the boundary) and parameter gradients are added into the caller's double
 *  vector. Allocates the float workspace (call at set-up, not per step). Double: frees it. */
int sagd_mlp_set_precision(sagd_mlp net, sagd_precision prec);
sagd_precision sagd_mlp_precision(sagd_mlp net);
/** Single precision: round params to the float copy the passes use, and remember params;
 *  call after every change of params (forward/backward with other params, or before any
 *  prepare, is SAGD_ERR_ARG). Double precision: does nothing. */
int sagd_mlp_prepare(sagd_mlp net, const double *params);

/** Record every GEMM of this network in `log` (borrowed; NULL stops recording). */
void sagd_mlp_set_log(sagd_mlp net, sagd_gemm_log log);

/** As sagd_mlp_backward, but grad_params is overwritten with dL/dθ (same bits as adding to
 *  zeros; the caller need not clear it). */
int sagd_mlp_backward_set(sagd_mlp net, const double *params, size_t batch, const double *dY,
                          double *grad_params, double *dX);

/** As sagd_mlp_backward_set, but the parameter gradient goes layer by layer, right after each
 *  layer's GEMM (while it is in cache), into components offset + [0, nparams) of the current
 *  term of `sum` (sagd_psum_begin_term first): the same bits as backward_set into a vector
 *  that is then added whole, without writing and re-reading that vector. */
int sagd_mlp_backward_psum(sagd_mlp net, const double *params, size_t batch, const double *dY,
                           sagd_psum sum, size_t offset, double *dX);

/** Bits of sagd_mlp_flops' with_backward: the input gradient dX, the parameter gradient. */
#define SAGD_MLP_BACKWARD_INPUT 1
#define SAGD_MLP_BACKWARD_PARAMS 2

/** Floating-point operations of one forward of `batch` rows, plus the backward GEMMs selected
 *  by with_backward (0, or SAGD_MLP_BACKWARD_INPUT | SAGD_MLP_BACKWARD_PARAMS), counting 2 per
 *  multiply-add of the GEMMs (for GFLOP/s figures; elementwise work is not counted). */
double sagd_mlp_flops(sagd_mlp net, size_t batch, int with_backward);

#ifdef __cplusplus
}
#endif
#endif
