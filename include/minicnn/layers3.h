/* SPDX-License-Identifier: MIT */
/* Activations and normalizations beyond the reference network: leakyReluLayer,
 * clippedReluLayer, eluLayer, tanhLayer (MATLAB R2020b), crossChannelNormalizationLayer
 * (R2020b) and the R2021a layerNormalizationLayer and instanceNormalizationLayer. */
#ifndef MINICNN_LAYERS3_H
#define MINICNN_LAYERS3_H
#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/init.h>
#include <minicnn/layer.h>

/* ---- Element-wise activations: any input kind, output shaped as the input -------------- */

/* leakyReluLayer(scale): y = x for x >= 0, scale * x below; dx = dy where x > 0, scale * dy
 * elsewhere. */
typedef struct mc_leaky_relu_options {
    double scale; /* finite; default 0.01 */
    const char *name;
} mc_leaky_relu_options;

mc_leaky_relu_options mc_leaky_relu_default(void);
/* Returns MC_OK, MC_ERR_INVALID (a non-finite Scale) or MC_ERR_NOMEM; *out NULL on failure. */
mc_status mc_leaky_relu_create(mc_ctx *ctx, const mc_leaky_relu_options *opts, mc_layer **out);

/* clippedReluLayer(ceiling): y = min(max(x, 0), ceiling); dx = dy where 0 < x < ceiling, else
 * 0. */
typedef struct mc_clipped_relu_options {
    double ceiling; /* positive and finite; no default (MATLAB requires it) */
    const char *name;
} mc_clipped_relu_options;

mc_clipped_relu_options mc_clipped_relu_default(double ceiling);
/* Returns MC_OK, MC_ERR_INVALID (Ceiling not positive and finite) or MC_ERR_NOMEM. */
mc_status mc_clipped_relu_create(mc_ctx *ctx, const mc_clipped_relu_options *opts, mc_layer **out);

/* eluLayer(alpha): y = x for x >= 0, alpha * (exp(x) - 1) below; dx = dy where x > 0,
 * alpha * exp(x) * dy elsewhere. */
typedef struct mc_elu_options {
    double alpha; /* finite; default 1 */
    const char *name;
} mc_elu_options;

mc_elu_options mc_elu_default(void);
/* Returns MC_OK, MC_ERR_INVALID (a non-finite Alpha) or MC_ERR_NOMEM. */
mc_status mc_elu_create(mc_ctx *ctx, const mc_elu_options *opts, mc_layer **out);

/* tanhLayer: y = tanh(x); dx = (1 - y^2) dy. Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_tanh_create(mc_ctx *ctx, const char *name, mc_layer **out);

/* The Scale, Ceiling or Alpha of a leaky ReLU, clipped ReLU or ELU layer; NaN for any other
 * layer. */
double mc_activation_param(const mc_layer *layer);

/* The kernels, usable alone: x, y, dy, dx: (n) in any layout; y may alias x in forward.
 * Single-threaded (the layers run them on fixed blocks of elements). */
void mc_leaky_relu_forward_kernel(const float *x, float *y, size_t n, float scale);
void mc_leaky_relu_backward_kernel(const float *x, const float *dy, float *dx, size_t n,
                                   float scale);
void mc_clipped_relu_forward_kernel(const float *x, float *y, size_t n, float ceiling);
void mc_clipped_relu_backward_kernel(const float *x, const float *dy, float *dx, size_t n,
                                     float ceiling);
void mc_elu_forward_kernel(const float *x, float *y, size_t n, float alpha);
void mc_elu_backward_kernel(const float *x, const float *dy, float *dx, size_t n, float alpha);
void mc_tanh_forward_kernel(const float *x, float *y, size_t n);
/* y: the forward's output. */
void mc_tanh_backward_kernel(const float *y, const float *dy, float *dx, size_t n);

/* ---- crossChannelNormalizationLayer ----------------------------------------------------- */

/* crossChannelNormalizationLayer(windowChannelSize): local response normalization across
 * channels, as MATLAB's crosschannelnorm documents it. For each observation, position and
 * channel c, with w = WindowChannelSize,
 *     ss = sum of x_j^2 over the channels j from c - floor((w-1)/2) to c + floor(w/2) that
 *          exist (the window is cut at the first and last channel, never wrapped),
 *     y  = x / (K + Alpha * ss / w)^Beta
 * (Alpha is divided by the window size, as in Caffe's LRN). Any input kind; the output has the
 * input's shape. */
typedef struct mc_crossnorm_options {
    int window_channel_size; /* positive */
    const char *name;
    double alpha; /* finite; default 1e-4 */
    double beta;  /* finite, >= 0.01; default 0.75 */
    double k;     /* finite, >= 1e-5; default 2 */
} mc_crossnorm_options;

mc_crossnorm_options mc_crossnorm_default(int window_channel_size);
/* Returns MC_OK, MC_ERR_INVALID (a message names the option and the value) or MC_ERR_NOMEM. */
mc_status mc_crossnorm_create(mc_ctx *ctx, const mc_crossnorm_options *opts, mc_layer **out);

/* The kernels: x, y, dy, dx: (N, C, S), S the product of the dimensions after C. Forward as
 * above. Backward writes dx (=):
 *     dx_j = dy_j d_j^-Beta - (2 Alpha Beta / w) x_j sum_i dy_i x_i d_i^(-Beta-1),
 * d = K + Alpha ss / w, the sum over the channels i whose window holds j. `work` holds
 * 2 * C * MC_CROSSNORM_BLOCK floats. Single-threaded; the layer runs the same arithmetic per
 * block of positions on minicnn's threads. */
#define MC_CROSSNORM_BLOCK 64
void mc_crossnorm_forward_kernel(const float *x, float *y, int N, int C, size_t S, int w,
                                 double alpha, double beta, double k);
void mc_crossnorm_backward_kernel(const float *x, const float *dy, float *dx, int N, int C,
                                  size_t S, int w, double alpha, double beta, double k,
                                  float *work);

/* ---- layerNormalizationLayer and instanceNormalizationLayer (R2021a) -------------------- */

/* Both normalize each observation independently and then scale and shift each channel c:
 *     y = Scale_c * (x - mean) / sqrt(var + Epsilon) + Offset_c
 * with the mean and biased variance taken over
 *   - layerNormalizationLayer: all channels and all spatial or time positions of the
 *     observation (for feature input: its C features). This is exactly
 *     groupNormalizationLayer('all-channels'): one group.
 *   - instanceNormalizationLayer: each channel's spatial or time positions. This is exactly
 *     groupNormalizationLayer('channel-wise'): one group per channel. Feature input is refused
 *     (each channel would be one value, normalized to 0).
 * Scale and Offset are per channel (1x1xC for 2-D images, 1x1x1xC for 3-D, Cx1 for feature and
 * sequence input), as for group normalization; training and inference compute the same thing.
 * The layers run on group normalization's kernels (mc_groupnorm_forward_kernel and its
 * layer's threaded backward), so their outputs and gradients are those of the corresponding
 * group normalization bit for bit. */
typedef struct mc_layernorm_options {
    const char *name;
    double epsilon;                    /* finite, >= 1e-5; default 1e-5 */
    int num_channels;                  /* 0 for 'auto', else positive */
    mc_initializer scale_initializer;  /* 'ones' (default), 'zeros', 'narrow-normal', a function */
    mc_initializer offset_initializer; /* 'zeros' (default), 'ones', 'narrow-normal', a function */
    /* Initial Scale / Offset (copied), NULL for empty; their length must equal NumChannels. */
    const float *scale;
    size_t scale_len;
    const float *offset;
    size_t offset_len;
    double scale_learn_rate_factor;  /* >= 0, default 1 */
    double offset_learn_rate_factor; /* >= 0, default 1 */
    double scale_l2_factor;          /* >= 0, default 1 */
    double offset_l2_factor;         /* >= 0, default 1 */
} mc_layernorm_options;

typedef mc_layernorm_options mc_instancenorm_options;

/* MATLAB's defaults: Epsilon 1e-5, NumChannels 'auto', 'ones' / 'zeros', factors 1. */
mc_layernorm_options mc_layernorm_default(void);
mc_instancenorm_options mc_instancenorm_default(void);

/* Return MC_OK, MC_ERR_INVALID or MC_ERR_SHAPE (a message names the layer, the option and the
 * value) or MC_ERR_NOMEM; *out is NULL on failure. */
mc_status mc_layernorm_create(mc_ctx *ctx, const mc_layernorm_options *opts, mc_layer **out);
mc_status mc_instancenorm_create(mc_ctx *ctx, const mc_instancenorm_options *opts, mc_layer **out);

/* NumChannels (0 while 'auto') of a layer or instance normalization layer; -1 for another. */
int mc_layernorm_num_channels(const mc_layer *layer);

#ifdef __cplusplus
}
#endif

#endif
