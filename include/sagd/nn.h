/**
 * @file nn.h
 * @brief Dense neural networks (MLPs) on batches, via CBLAS GEMMs, with flat parameters.
 *
 * An MLP has layer widths w[0] (input) .. w[L] (output); hidden layers use one activation,
 * the output layer another (often identity). Parameters are ONE flat double vector, layer
 * by layer: W_l (w[l+1] × w[l], row-major) then b_l (w[l+1]). Rows of a batch are samples:
 * X is [batch × w[0]], Y is [batch × w[L]]. forward() keeps the pre-activations of the last
 * batch in the network's workspace (allocated at create for max_batch rows), so backward()
 * must follow the forward() of the same batch and parameters. Not thread-safe.
 */
#ifndef SAGD_NN_H
#define SAGD_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sagd/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Elementwise activation as an ops table: a = f(z), and d = f'(z) given z and a. */
typedef struct sagd_activation_type_s {
  const char *name;
  void (*f)(size_t n, const double *z, double *a);
  void (*df)(size_t n, const double *z, const double *a, double *d);
} sagd_activation_type;

extern const sagd_activation_type sagd_act_identity, sagd_act_softplus, sagd_act_relu,
    sagd_act_tanh, sagd_act_sigmoid;
/** Find by name ("identity", "softplus", "relu", "tanh", "sigmoid"); NULL if unknown. */
const sagd_activation_type *sagd_activation_find(const char *name);

typedef struct sagd_mlp_s *sagd_mlp;

/** Create an MLP with nlayers = L >= 1 dense layers and widths[0..L] (all >= 1; a zero width
 *  is SAGD_ERR_ARG naming the layer). Workspace for up to max_batch rows. */
int sagd_mlp_create(size_t nlayers, const size_t *widths, const sagd_activation_type *hidden,
                    const sagd_activation_type *output, size_t max_batch, sagd_mlp *net);
void sagd_mlp_destroy(sagd_mlp *net);

size_t sagd_mlp_nparams(sagd_mlp net);
size_t sagd_mlp_in(sagd_mlp net);
size_t sagd_mlp_out(sagd_mlp net);
size_t sagd_mlp_max_batch(sagd_mlp net);

/** Xavier/Glorot-uniform weights (U(±sqrt(6/(fan_in+fan_out)))), zero biases, drawn from
 *  the counter-based RNG at (key, SAGD_STREAM_NN_INIT, id = net_id, t = layer). */
int sagd_mlp_init_xavier(sagd_mlp net, sagd_rng_key key, uint64_t net_id, double *params);

/** Y = net(X) for `batch` <= max_batch rows. */
int sagd_mlp_forward(sagd_mlp net, const double *params, size_t batch, const double *X,
                     double *Y);

/** Back-propagate dL/dY [batch × out] through the last forward(): grad_params += dL/dθ
 *  (may be NULL), dX = dL/dX (overwritten; may be NULL). */
int sagd_mlp_backward(sagd_mlp net, const double *params, size_t batch, const double *dY,
                      double *grad_params, double *dX);

/** Floating-point operations of one forward (+ backward if with_backward) of `batch` rows,
 *  counting 2 per multiply-add of the GEMMs (for GFLOP/s figures). */
double sagd_mlp_flops(sagd_mlp net, size_t batch, int with_backward);

#ifdef __cplusplus
}
#endif
#endif
