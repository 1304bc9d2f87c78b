/* SPDX-License-Identifier: MIT */
/* Weights and Bias: what convolution2dLayer and fullyConnectedLayer share. */
#include <limits.h>

#include "weighted.h"

mc_status mc__weighted_resolve(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                               mc__init *weights_init, mc__init *bias_init)
{
    mc_status st = mc__check_learn_factors(ctx, label, "Weight", o->weight_learn_rate_factor,
                                           o->weight_l2_factor, "Bias", o->bias_learn_rate_factor,
                                           o->bias_l2_factor);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "WeightsInitializer", o->weights_initializer,
                              MC__INIT_GLOROT | MC__INIT_HE | MC__INIT_NARROW_NORMAL |
                                  MC__INIT_ZEROS | MC__INIT_ONES,
                              MC__INIT_GLOROT, weights_init);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "BiasInitializer", o->bias_initializer,
                              MC__INIT_ZEROS | MC__INIT_ONES | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ZEROS, bias_init);
    return st;
}

mc_status mc__weighted_check_values(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                                    int bias_count, const char *bias_option)
{
    if (o->weights != NULL && o->weights_len > (size_t)INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the initial Weights has %zu elements; at most %d are "
                           "supported",
                           label, o->weights_len, INT_MAX);
    if (o->bias != NULL && o->bias_len > 0 && o->bias_len != (size_t)bias_count)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s: the initial Bias has %zu elements but %s is %d",
                           label, o->bias_len, bias_option, bias_count);
    mc_status st =
        mc__check_initial_values(ctx, label, "Weights", o->weights, o->weights_len, NULL, 0);
    if (st == MC_OK)
        st = mc__check_initial_values(ctx, label, "Bias", o->bias, o->bias_len, NULL, 0);
    return st;
}

mc_status mc__weighted_init_params(mc_ctx *ctx, mc_param *weights, mc_param *bias,
                                   const mc__weighted_options *o, const mc_shape *w_storage,
                                   const mc_shape *w_size, const mc_shape *b_storage,
                                   const mc_shape *b_size)
{
    mc__param_init(weights, "Weights", o->weight_learn_rate_factor, o->weight_l2_factor);
    mc__param_init(bias, "Bias", o->bias_learn_rate_factor, o->bias_l2_factor);
    mc_status st = MC_OK;
    if (o->weights != NULL)
        st = mc__param_set_values(ctx, weights, o->weights, o->weights_len, w_storage, w_size);
    if (st == MC_OK && o->bias != NULL)
        st = mc__param_set_values(ctx, bias, o->bias, o->bias_len, b_storage, b_size);
    if (st == MC_ERR_NOMEM)
        mc__nomem(ctx, "copying the initial Weights and Bias");
    return st;
}
