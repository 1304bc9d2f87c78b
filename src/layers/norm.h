/* SPDX-License-Identifier: MIT */
/* What batchNormalizationLayer and groupNormalizationLayer share: Epsilon, NumChannels and a
 * per-channel Scale and Offset learnable with their initializers and four factors. Private to
 * src/layers. */
#ifndef MINICNN_LAYERS_NORM_H
#define MINICNN_LAYERS_NORM_H

#include <stddef.h>

#include "common.h"

/* The shared options as both layers' option structs spell them. */
typedef struct mc__norm_options {
    double epsilon;
    int num_channels;
    const mc_initializer *scale_initializer;
    const mc_initializer *offset_initializer;
    const float *scale;
    size_t scale_len;
    const float *offset;
    size_t offset_len;
    double scale_learn_rate_factor;
    double offset_learn_rate_factor;
    double scale_l2_factor;
    double offset_l2_factor;
} mc__norm_options;

/* The shared options of a pointer to mc_batchnorm_options or mc_groupnorm_options. */
#define MC__NORM_OPTIONS(o)                                                                        \
    ((mc__norm_options){                                                                           \
        .epsilon = (o)->epsilon,                                                                   \
        .num_channels = (o)->num_channels,                                                         \
        .scale_initializer = &(o)->scale_initializer,                                              \
        .offset_initializer = &(o)->offset_initializer,                                            \
        .scale = (o)->scale,                                                                       \
        .scale_len = (o)->scale_len,                                                               \
        .offset = (o)->offset,                                                                     \
        .offset_len = (o)->offset_len,                                                             \
        .scale_learn_rate_factor = (o)->scale_learn_rate_factor,                                   \
        .offset_learn_rate_factor = (o)->offset_learn_rate_factor,                                 \
        .scale_l2_factor = (o)->scale_l2_factor,                                                   \
        .offset_l2_factor = (o)->offset_l2_factor,                                                 \
    })

/* Epsilon (finite, at least 1e-5), then NumChannels ('auto' (0) or positive): MC_ERR_INVALID
 * naming the option and the value. */
mc_status mc__norm_check_epsilon_channels(mc_ctx *ctx, const char *label,
                                          const mc__norm_options *o);

/* The initial Scale, then Offset, as mc__check_initial_values checks them against
 * NumChannels, then their lengths equal (MC_ERR_SHAPE). */
mc_status mc__norm_check_initial(mc_ctx *ctx, const char *label, const mc__norm_options *o);

/* ScaleLearnRateFactor, OffsetLearnRateFactor, ScaleL2Factor, OffsetL2Factor, in that order. */
mc_status mc__norm_check_factors(mc_ctx *ctx, const char *label, const mc__norm_options *o);

/* Resolves ScaleInitializer (default ones) and OffsetInitializer (default zeros), each among
 * ones, zeros, narrow-normal or a function. Returns MC_OK or MC_ERR_INVALID. */
mc_status mc__norm_resolve(mc_ctx *ctx, const char *label, const mc__norm_options *o,
                           mc__init *scale_init, mc__init *offset_init);

/* Names Scale and Offset, sets their factors and copies explicit initial values (sized 1x1xlen
 * until the input kind is known). Returns MC_OK, MC_ERR_INVALID for more values than an int
 * counts, or MC_ERR_NOMEM without a message (the caller words it). */
mc_status mc__norm_init_params(mc_ctx *ctx, mc_param *scale, mc_param *offset,
                               const mc__norm_options *o);

/* MATLAB's size of a per-channel array for input of the given kind: 1x1xC for 2-D images,
 * 1x1x1xC for 3-D images, Cx1 for feature and sequence input. */
mc_shape mc__norm_size(mc_data_kind kind, int C);

/* Readies Offset, then Scale, for C channels at setup (see mc__param_prepare); explicit values
 * of another count are MC_ERR_SHAPE: "<label>: Scale has 3 elements but the input has 4
 * channels". */
mc_status mc__norm_prepare(mc_ctx *ctx, const char *label, mc_param *scale,
                           const mc__init *scale_init, mc_param *offset,
                           const mc__init *offset_init, mc_data_kind kind, int C);

#endif
