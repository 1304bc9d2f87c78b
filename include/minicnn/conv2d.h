/* SPDX-License-Identifier: MIT */
/* convolution2dLayer and fullyConnectedLayer (MATLAB R2020b semantics). */
#ifndef MINICNN_CONV2D_H
#define MINICNN_CONV2D_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/init.h>
#include <minicnn/layer.h>

/* ---- convolution2dLayer(filterSize, numFilters) ----
 * Input (N, C, H, W), output (N, F, OH, OW) with
 *   OH = floor((H + top + bottom - ((KH - 1) * DH + 1)) / SH) + 1 (likewise OW);
 * setup fails with MC_ERR_SHAPE when OH or OW would be below 1.
 * Weights are stored (F, C, KH, KW) row-major (as PyTorch); MATLAB's size is KH x KW x C x F.
 * Bias is stored (F); MATLAB's size is 1 x 1 x F. */
typedef struct mc_conv2d_options {
    int filter_size[2]; /* [KH KW], positive */
    int num_filters;    /* F, positive */
    const char *name;   /* NULL or "" for unnamed; copied */
    int stride[2];      /* [SH SW], positive; default [1 1] */
    int dilation[2];    /* DilationFactor [DH DW], positive; default [1 1] */
    int padding[4];     /* [top bottom left right], nonnegative; default 0 */
    bool padding_same;  /* 'same': output size ceil(H / SH); extra odd padding goes to the
                         * bottom and right, as MATLAB does. `padding` is then ignored. */
    int num_channels;   /* 0 for 'auto', else C */
    mc_initializer weights_initializer; /* default "glorot"; also "he", "narrow-normal",
                                         * "zeros", "ones" or a function */
    mc_initializer bias_initializer;    /* default "zeros"; also "ones", "narrow-normal" or a
                                         * function */
    const float *weights; /* initial Weights in storage order, NULL for empty; copied */
    size_t weights_len;
    const float *bias; /* initial Bias (F), NULL for empty; copied */
    size_t bias_len;
    double weight_learn_rate_factor; /* >= 0, default 1 */
    double bias_learn_rate_factor;   /* >= 0, default 1 */
    double weight_l2_factor;         /* >= 0, default 1 */
    double bias_l2_factor;           /* >= 0, default 0 */
} mc_conv2d_options;

/* MATLAB's defaults for convolution2dLayer([KH KW], F). */
mc_conv2d_options mc_conv2d_default(int filter_h, int filter_w, int num_filters);

/* Validates every option (a message names the layer, the option and the value) and creates the
 * layer. Returns MC_OK, MC_ERR_INVALID, MC_ERR_SHAPE (initial values that disagree) or
 * MC_ERR_NOMEM; *out is NULL on failure. */
mc_status mc_conv2d_create(mc_ctx *ctx, const mc_conv2d_options *opts, mc_layer **out);

/* ---- fullyConnectedLayer(outputSize) ----
 * Each observation's input is flattened in storage order (C, H, W) to D = C*H*W values.
 * Input (N, C) gives (N, K); (N, C, H, W) gives (N, K, 1, 1); (N, C, D, H, W) gives
 * (N, K, 1, 1, 1); sequence input (N, C, T) is handled per time step and gives (N, K, T).
 * Weights are stored (K, D) row-major; MATLAB's size is K x D. Bias (K); MATLAB's K x 1. */
typedef struct mc_fc_options {
    int output_size;                    /* K, positive */
    const char *name;                   /* copied */
    int input_size;                     /* 0 for 'auto', else D */
    mc_initializer weights_initializer; /* default "glorot" (fan_in D, fan_out K) */
    mc_initializer bias_initializer;    /* default "zeros" */
    const float *weights; /* initial Weights (K * D) in storage order, NULL for empty */
    size_t weights_len;
    const float *bias; /* initial Bias (K), NULL for empty */
    size_t bias_len;
    double weight_learn_rate_factor; /* default 1 */
    double bias_learn_rate_factor;   /* default 1 */
    double weight_l2_factor;         /* default 1 */
    double bias_l2_factor;           /* default 0 */
} mc_fc_options;

mc_fc_options mc_fc_default(int output_size);
mc_status mc_fc_create(mc_ctx *ctx, const mc_fc_options *opts, mc_layer **out);

/* Kernels, usable alone (no allocation; `col` is caller-provided workspace).
 * x: (C, H, W) of one observation; col: (C*KH*KW, OH*OW). */
void mc_im2col_kernel(const float *x, float *col, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW);
/* Adds col back into dx (C, H, W), the adjoint of mc_im2col_kernel; dx must be zeroed first. */
void mc_col2im_kernel(const float *col, float *dx, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW);

#ifdef __cplusplus
}
#endif

#endif
