/* SPDX-License-Identifier: MIT */
/* Dropout, average and global pooling, and concatenation: dropoutLayer, averagePooling2dLayer,
 * globalAveragePooling2dLayer, globalMaxPooling2dLayer, depthConcatenationLayer and
 * concatenationLayer (MATLAB R2020b semantics). */
#ifndef MINICNN_POOLCONCAT_H
#define MINICNN_POOLCONCAT_H
#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/layer.h>

/* dropoutLayer(probability): any input kind. A training forward draws one 64-bit key from the
 * context's RNG and drops element i of the batch when a counter-based hash of (key, i) falls
 * below the probability; kept elements are scaled by 1/(1 - probability), so
 * y = x .* mask, mask = (u >= p) / (1 - p) with u uniform, as MATLAB's rand(size(X)) > p. The
 * mask is the same for any thread count and, for one seed, the same run after run. Backward
 * (after a training forward) gives dx = dy .* mask of that forward. An inference forward is the
 * identity. */
typedef struct mc_dropout_options {
    double probability; /* in [0, 1), default 0.5 */
    const char *name;
} mc_dropout_options;

mc_dropout_options mc_dropout_default(void);
/* Returns MC_OK, MC_ERR_INVALID (probability out of range) or MC_ERR_NOMEM. */
mc_status mc_dropout_create(mc_ctx *ctx, const mc_dropout_options *opts, mc_layer **out);

/* averagePooling2dLayer(poolSize): input (N, C, H, W), output (N, C, OH, OW) with
 * OH = floor((H + top + bottom - PH) / SH) + 1. Padded positions count as zeros: each output
 * is the sum of the window's real values divided by PH * PW, as MATLAB's zero padding. */
typedef struct mc_avgpool_options {
    int pool_size[2]; /* [PH PW], positive */
    const char *name;
    int stride[2];     /* default [1 1] */
    int padding[4];    /* [top bottom left right], default 0, each smaller than the pool size */
    bool padding_same; /* 'same': output ceil(H / SH), extra padding at the bottom and right */
} mc_avgpool_options;

mc_avgpool_options mc_avgpool_default(int pool_h, int pool_w);
/* Returns MC_OK, MC_ERR_INVALID (sizes, stride or padding) or MC_ERR_NOMEM. */
mc_status mc_avgpool_create(mc_ctx *ctx, const mc_avgpool_options *opts, mc_layer **out);

/* globalAveragePooling2dLayer: input (N, C, H, W), output (N, C, 1, 1), the mean of each
 * channel's plane (summed in double); dx = dy / (H * W). */
mc_status mc_global_avgpool_create(mc_ctx *ctx, const char *name, mc_layer **out);

/* globalMaxPooling2dLayer: input (N, C, H, W), output (N, C, 1, 1), the maximum of each
 * channel's plane; the gradient goes to its first maximum in row-major order (a NaN wins). */
mc_status mc_global_maxpool_create(mc_ctx *ctx, const char *name, mc_layer **out);

/* depthConcatenationLayer(numInputs): 2 to MC_MAX_LAYER_INPUTS inputs named in1 .. inN, of
 * one kind and equal in every dimension but the channels; the output stacks their channels in
 * input order, and each dx_i is its slice of dy. */
mc_status mc_depthcat_create(mc_ctx *ctx, int num_inputs, const char *name, mc_layer **out);

/* concatenationLayer(dim, numInputs): as depthConcatenationLayer, along MATLAB's dimension
 * `dim` of the data: for images (H x W x C, or H x W x D x C for 3-D) 1 is the height, 2 the
 * width, ... and the one after the spatial dimensions the channels; for feature and sequence
 * input (C x T) 1 is the channels. The inputs must agree in every other dimension. */
typedef struct mc_concat_options {
    int dim;        /* positive */
    int num_inputs; /* 2 to MC_MAX_LAYER_INPUTS */
    const char *name;
} mc_concat_options;

mc_concat_options mc_concat_default(int dim, int num_inputs);
/* Returns MC_OK, MC_ERR_INVALID (dim or input count) or MC_ERR_NOMEM. */
mc_status mc_concat_create(mc_ctx *ctx, const mc_concat_options *opts, mc_layer **out);

#ifdef __cplusplus
}
#endif

#endif
