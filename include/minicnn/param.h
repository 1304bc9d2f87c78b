/* Learnable parameters. */
#ifndef MINICNN_PARAM_H
#define MINICNN_PARAM_H

#include <minicnn/tensor.h>

/* A learnable: its value, the gradient dL/dvalue (accumulated, +=, by backward passes; cleared
 * by mc_param_zero_grad) and the factors the solver multiplies with the global learning rate
 * and the global L2 regularization. Only a solver changes `value` during training.
 * The shape of `value` is MATLAB's (for example 1x1xC for a group normalization scale on 2-D
 * images); the data is contiguous either way. Owned by its layer. */
typedef struct mc_param {
    const char *name; /* "Scale", "Offset", "Weights", "Bias", ... (static) */
    mc_tensor value;
    mc_tensor grad;
    double lr_factor;
    double l2_factor;
} mc_param;

/* Sets the gradient to zero. */
void mc_param_zero_grad(mc_param *p);

#endif
