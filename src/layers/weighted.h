/* SPDX-License-Identifier: MIT */
/* What convolution2dLayer and fullyConnectedLayer share: a Weights and a Bias learnable with
 * their initializers, explicit initial values and four factors. Private to src/layers. */
#ifndef MINICNN_LAYERS_WEIGHTED_H
#define MINICNN_LAYERS_WEIGHTED_H

#include <stddef.h>

#include "common.h"

/* The options of Weights and Bias as both layers' option structs spell them. */
typedef struct mc__weighted_options {
    const mc_initializer *weights_initializer;
    const mc_initializer *bias_initializer;
    const float *weights;
    size_t weights_len;
    const float *bias;
    size_t bias_len;
    double weight_learn_rate_factor;
    double bias_learn_rate_factor;
    double weight_l2_factor;
    double bias_l2_factor;
} mc__weighted_options;

/* The Weights and Bias options of a pointer to mc_conv2d_options or mc_fc_options. */
#define MC__WEIGHTED_OPTIONS(o)                                                                    \
    ((mc__weighted_options){                                                                       \
        .weights_initializer = &(o)->weights_initializer,                                          \
        .bias_initializer = &(o)->bias_initializer,                                                \
        .weights = (o)->weights,                                                                   \
        .weights_len = (o)->weights_len,                                                           \
        .bias = (o)->bias,                                                                         \
        .bias_len = (o)->bias_len,                                                                 \
        .weight_learn_rate_factor = (o)->weight_learn_rate_factor,                                 \
        .bias_learn_rate_factor = (o)->bias_learn_rate_factor,                                     \
        .weight_l2_factor = (o)->weight_l2_factor,                                                 \
        .bias_l2_factor = (o)->bias_l2_factor,                                                     \
    })

/* Checks the four factors (a message names the option and the value) and resolves the
 * initializers: Weights among glorot, he, narrow-normal, zeros, ones or a function (default
 * glorot), Bias among zeros, ones, narrow-normal or a function (default zeros).
 * Returns MC_OK or MC_ERR_INVALID. */
mc_status mc__weighted_resolve(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                               mc__init *weights_init, mc__init *bias_init);

/* The checks of explicit initial values both layers make after their own checks of the count of
 * Weights: at most INT_MAX Weights (MC_ERR_SHAPE), a count of Bias other than bias_count
 * (MC_ERR_SHAPE: "... but <bias_option> is 4"), then zero lengths and non-finite values of
 * Weights and then Bias (MC_ERR_INVALID, see mc__check_initial_values). */
mc_status mc__weighted_check_values(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                                    int bias_count, const char *bias_option);

/* Names the learnables, sets their factors and copies explicit initial values into Weights of
 * storage shape w_storage and MATLAB size w_size and Bias of b_storage and b_size. Returns MC_OK
 * or MC_ERR_NOMEM ("out of memory while copying the initial Weights and Bias"). */
mc_status mc__weighted_init_params(mc_ctx *ctx, mc_param *weights, mc_param *bias,
                                   const mc__weighted_options *o, const mc_shape *w_storage,
                                   const mc_shape *w_size, const mc_shape *b_storage,
                                   const mc_shape *b_size);

#endif
