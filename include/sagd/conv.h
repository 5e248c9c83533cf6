/**
 * @file conv.h
 * @brief 2-D convolution and transposed convolution layers on batches, through im2col/col2im
 *        and one GEMM per pass for the whole batch, in double or single precision.
 *
 * Layout: images are channels-last (NHWC), batch-major: image q of a batch is rows × cols ×
 * channels, row-major, at offset q · (rows · cols · channels). So a batch of B images at P
 * positions is one [B·P × channels] matrix, a convolution one GEMM, and the channel bias one
 * broadcast over the rows (the dense layers of nn.h see the same flattened vectors).
 *
 * Square kernels k × k, stride s, zero padding p on every side.
 *  - conv:  in (H × W × Cin) → out (OH × OW × Cout), OH = (H + 2p − k)/s + 1 (exact division
 *    not required: the last rows that do not fit a window are dropped, as in PyTorch).
 *    Parameters: W [Cout × k × k × Cin] (row-major) then b [Cout]; out = act(conv(in) + b).
 *  - convt (transposed, the adjoint of conv): in (H × W × Cin) → out (OH × OW × Cout),
 *    OH = (H − 1)s − 2p + k + out_pad with 0 <= out_pad < s (PyTorch's output_padding).
 *    Parameters: W [Cin × k × k × Cout] then b [Cout]. Its forward is conv's backward-data.
 * Parameters are one flat double vector (the caller's master copy); in single precision the
 * passes run on a float copy made by sagd_conv_prepare, as sagd_mlp's do (nn.h).
 *
 * forward() keeps the im2col matrix (conv) and the activation derivative for backward(),
 * which must follow the forward of the same batch, parameters and input; it may be called
 * several times. Each image is computed by the same arithmetic whatever its place in the
 * batch (the GEMM's blocking aside: deterministic for fixed shapes, as nn.h). Not thread-safe.
 */
#ifndef SAGD_CONV_H
#define SAGD_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/nn.h"
#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SAGD_CONV_FORWARD = 0, SAGD_CONV_TRANSPOSED = 1 } sagd_conv_kind;

/** A layer's geometry. out_pad is for transposed layers only (0 otherwise). */
typedef struct {
  sagd_conv_kind kind;
  size_t in_rows, in_cols, in_channels;
  size_t out_channels;
  size_t kernel, stride, pad, out_pad;
} sagd_conv_geom;

typedef struct sagd_conv_s *sagd_conv;

/** Create a layer (act NULL = identity) with workspace for max_batch images. A geometry that
 *  gives no output, a kernel larger than the padded input, pad >= kernel or out_pad >= stride
 *  is SAGD_ERR_ARG naming the value. */
int sagd_conv_create(const sagd_conv_geom *g, const sagd_activation_type *act, size_t max_batch,
                     sagd_conv *c);
void sagd_conv_destroy(sagd_conv *c);

size_t sagd_conv_nparams(sagd_conv c);
size_t sagd_conv_out_rows(sagd_conv c);
size_t sagd_conv_out_cols(sagd_conv c);
/** Values per image of the input (in_rows · in_cols · in_channels) and of the output. */
size_t sagd_conv_in_size(sagd_conv c);
size_t sagd_conv_out_size(sagd_conv c);
const sagd_conv_geom *sagd_conv_geometry(sagd_conv c);

/** Xavier/Glorot-uniform weights with fan_in = Cin·k², fan_out = Cout·k², zero biases,
 *  uniforms from the counter-based RNG at (key, SAGD_STREAM_NN_INIT, net_id, t = layer, 0). */
int sagd_conv_init_xavier(sagd_conv c, sagd_rng_key key, uint64_t net_id, uint64_t layer,
                          double *params);

/** Y [batch × out_size] = layer(X [batch × in_size]); 1 <= batch <= max_batch. */
int sagd_conv_forward(sagd_conv c, const double *params, size_t batch, const double *X,
                      double *Y);
/** Back-propagate dL/dY through the last forward: grad_params += dL/dθ (may be NULL), dX =
 *  dL/dX (overwritten; may be NULL). */
int sagd_conv_backward(sagd_conv c, const double *params, size_t batch, const double *dY,
                       double *grad_params, double *dX);

/** As sagd_mlp_set_precision / sagd_mlp_prepare (nn.h). */
int sagd_conv_set_precision(sagd_conv c, sagd_precision prec);
int sagd_conv_prepare(sagd_conv c, const double *params);

/** Floating-point operations (2 per multiply-add of the GEMMs) of one forward of `batch`
 *  images plus the backward GEMMs selected by with_backward (SAGD_MLP_BACKWARD_* bits). */
double sagd_conv_flops(sagd_conv c, size_t batch, int with_backward);

#ifdef __cplusplus
}
#endif
#endif
