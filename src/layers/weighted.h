/* What convolution2dLayer and fullyConnectedLayer share: a Weights and a Bias learnable with
 * their initializers and four factors. Private to src/layers. */
#ifndef MINICNN_LAYERS_WEIGHTED_H
#define MINICNN_LAYERS_WEIGHTED_H

#include <stddef.h>

#include "../internal.h"

/* The options of Weights and Bias as both layers' option structs spell them. */
typedef struct mc__weighted_options {
    const mc_initializer *weights_initializer;
    const mc_initializer *bias_initializer;
    double weight_learn_rate_factor;
    double bias_learn_rate_factor;
    double weight_l2_factor;
    double bias_l2_factor;
} mc__weighted_options;

/* Checks the four factors (a message names the option and the value) and resolves the
 * initializers: Weights among glorot, he, narrow-normal, zeros, ones or a function (default
 * glorot), Bias among zeros, ones, narrow-normal or a function (default zeros).
 * Returns MC_OK or MC_ERR_INVALID. */
mc_status mc__weighted_resolve(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                               mc__init *weights_init, mc__init *bias_init);

/* Explicit initial values: NULL is fine (empty); a zero length or a non-finite value is
 * MC_ERR_INVALID naming `what` ("Weights") and the element. */
mc_status mc__weighted_check_values(mc_ctx *ctx, const char *label, const char *what,
                                    const float *v, size_t len);

/* Names the learnables and sets their factors. */
void mc__weighted_params(mc_param *weights, mc_param *bias, const mc__weighted_options *o);

/* Appends the "Parameters and Initialization" and "Learn Rate and Regularization" sections
 * of MATLAB's full display, property names right-aligned to width w. */
void mc__weighted_describe(mc_text *t, int w, const mc__init *weights_init,
                           const mc__init *bias_init, const mc_param *weights,
                           const mc_param *bias);

/* Appends NumInputs, InputNames, NumOutputs and OutputNames of a one-input layer (full
 * display), right-aligned to width w. */
void mc__weighted_describe_io(mc_text *t, int w);

#endif
