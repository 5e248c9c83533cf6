/* Private helpers shared by the files of src/nn. */
#ifndef SAGD_NN_IMPL_H
#define SAGD_NN_IMPL_H

#include <stddef.h>

#include "sagd/nn.h"

/* For a rows × n row-major block z: z ← act(z + b) (b broadcast over the rows) and
 * d ← act'(z + b), in one pass, bit-identical to adding b and then calling act->fdf.
 * Returns 1 if done, 0 if `act` has no such kernel (then nothing was touched). */
int sagd_nn_bias_fdf_(const sagd_activation_type *act, size_t rows, size_t n, const double *b,
                      double *z, double *d);

#endif
