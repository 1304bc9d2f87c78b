/* SPDX-License-Identifier: MIT */
/* Learnable parameters. */
#ifndef MINICNN_PARAM_H
#define MINICNN_PARAM_H

#ifdef __cplusplus
extern "C" {
#endif

#include <minicnn/tensor.h>

/* A learnable: its value, the gradient dL/dvalue (accumulated, +=, by backward passes; cleared
 * by mc_param_zero_grad) and the factors the solver multiplies with the global learning rate
 * and the global L2 regularization. Only a solver changes `value` during training.
 * `value` and `grad` have the storage shape, row-major (convolution weights (F, C, KH, KW), as
 * PyTorch stores them); `size` is MATLAB's size of the same parameter (KH x KW x C x F, or
 * 1x1xC for a normalization scale on 2-D images), used for display and passed to
 * initializer functions. Owned by its layer. */
typedef struct mc_param {
    const char *name; /* "Scale", "Offset", "Weights", "Bias", ... (static) */
    mc_tensor value;
    mc_tensor grad;
    mc_shape size;
    double lr_factor;
    double l2_factor;
} mc_param;

/* Sets the gradient to zero. */
void mc_param_zero_grad(mc_param *p);

#ifdef __cplusplus
}
#endif

#endif
