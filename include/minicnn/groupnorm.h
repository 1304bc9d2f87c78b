/* SPDX-License-Identifier: MIT */
/* groupNormalizationLayer: MATLAB's group normalization layer (R2020b), with every property of
 * its documentation. Per observation n and group g of C/G consecutive channels it computes the
 * mean and biased variance over the group's channels and all spatial or time positions, then
 * y = Scale_c * (x - mean) / sqrt(var + Epsilon) + Offset_c. Training and inference compute the
 * same thing (no running statistics). */
#ifndef MINICNN_GROUPNORM_H
#define MINICNN_GROUPNORM_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/init.h>
#include <minicnn/layer.h>

/* How numGroups was given. */
typedef enum mc_groups_mode {
    MC_GROUPS_COUNT = 0,    /* a positive integer, num_groups */
    MC_GROUPS_ALL_CHANNELS, /* "all-channels": one group (layer normalization) */
    MC_GROUPS_CHANNEL_WISE  /* "channel-wise": one group per channel (instance normalization) */
} mc_groups_mode;

typedef struct mc_groupnorm_options {
    mc_groups_mode groups_mode;
    int num_groups;                   /* with MC_GROUPS_COUNT: positive, must divide the channels */
    const char *name;                 /* NULL or "" for unnamed; copied */
    double epsilon;                   /* >= 1e-5, finite; default 1e-5 */
    int num_channels;                 /* 0 for 'auto' (inferred at setup), else positive */
    mc_initializer scale_initializer; /* default "ones" */
    mc_initializer offset_initializer; /* default "zeros" */
    /* Initial Scale / Offset values (copied), NULL for empty. When given they are used as the
     * initial values and the initializer is not called; their length must equal NumChannels. */
    const float *scale;
    size_t scale_len;
    const float *offset;
    size_t offset_len;
    double scale_learn_rate_factor;  /* >= 0, default 1 */
    double offset_learn_rate_factor; /* >= 0, default 1 */
    double scale_l2_factor;          /* >= 0, default 1 */
    double offset_l2_factor;         /* >= 0, default 1 */
} mc_groupnorm_options;

/* MATLAB's defaults for groupNormalizationLayer(num_groups): Epsilon 1e-5, NumChannels 'auto',
 * "ones" / "zeros" initializers, all four factors 1, no name. */
mc_groupnorm_options mc_groupnorm_default(int num_groups);

/* Parses MATLAB's numGroups text: "all-channels", "channel-wise" or a positive integer.
 * Returns MC_OK or MC_ERR_INVALID (message says what was given). */
mc_status mc_groupnorm_parse_groups(mc_ctx *ctx, const char *text, mc_groups_mode *mode,
                                    int *num_groups);

/* Creates the layer in *out after validating every option (a message names the layer, the
 * option and the value). Returns MC_OK, MC_ERR_INVALID or MC_ERR_NOMEM; *out is NULL on
 * failure. The layer borrows ctx. */
mc_status mc_groupnorm_create(mc_ctx *ctx, const mc_groupnorm_options *opts, mc_layer **out);

/* NumChannels (0 while 'auto') and the number of groups in use (0 until known for
 * "channel-wise" with NumChannels 'auto'); -1 when `layer` is not a group normalization layer. */
int mc_groupnorm_num_channels(const mc_layer *layer);
int mc_groupnorm_num_groups(const mc_layer *layer);

/* Group normalization kernels, usable alone. x, y, dy, dx: (N, C, S) with S the product of the
 * spatial or time dimensions (1 for feature input); scale, offset, dscale, doffset: (C);
 * mean, rstd: (N, G). G divides C. */

/* y = scale * (x - mean) * rstd + offset; writes mean and rstd = 1/sqrt(var + eps). Two passes:
 * the mean summed in double, then the squared deviations from it (held as a float pair), so
 * large offsets do not cancel. Runs on minicnn's threads (mc_set_threads); the results do not
 * depend on their number. */
void mc_groupnorm_forward_kernel(const float *x, float *y, const float *scale, const float *offset,
                                 double *mean, double *rstd, int N, int C, size_t S, int G,
                                 double eps);

/* Accumulates dscale (+=) and doffset (+=) and, if dx is not NULL, writes dx (=), from the
 * mean and rstd of the forward pass. Single-threaded, with the same sums in the same order as
 * the layer's threaded backward. */
void mc_groupnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx, float *dscale,
                                  float *doffset, int N, int C, size_t S, int G);

#ifdef __cplusplus
}
#endif

#endif
