/* SPDX-License-Identifier: MIT */
/* batchNormalizationLayer (MATLAB R2020b semantics). */
#ifndef MINICNN_BATCHNORM_H
#define MINICNN_BATCHNORM_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/init.h>
#include <minicnn/layer.h>

/* Per channel c, over the N observations and every spatial or time position (m values):
 *   training:  mean and biased variance of the mini-batch;
 *              y = Scale_c * (x - mean) / sqrt(var + Epsilon) + Offset_c;
 *              then TrainedMean = (1 - MeanDecay) * TrainedMean + MeanDecay * mean and
 *              TrainedVariance = (1 - VarianceDecay) * TrainedVariance
 *                                + VarianceDecay * var * m / (m - 1)  (unbiased; var when m = 1)
 *   inference: the same with TrainedMean and TrainedVariance in place of the batch's.
 * TrainedMean starts at 0 and TrainedVariance at 1 unless given. Scale and Offset are learnables
 * (stored (C); MATLAB's size 1x1xC for 2-D images, 1x1x1xC for 3-D, Cx1 for feature and
 * sequence input); TrainedMean and TrainedVariance are buffers of the same sizes.
 * Works on all four input kinds. */
typedef struct mc_batchnorm_options {
    const char *name;                  /* copied */
    double epsilon;                    /* >= 1e-5, finite; default 1e-5 */
    int num_channels;                  /* 0 for 'auto' */
    double mean_decay;                 /* in [0, 1]; default 0.1 */
    double variance_decay;             /* in [0, 1]; default 0.1 */
    mc_initializer scale_initializer;  /* default "ones"; "zeros", "narrow-normal", function */
    mc_initializer offset_initializer; /* default "zeros" */
    const float *scale;                /* initial values (C), NULL for empty; copied */
    size_t scale_len;
    const float *offset;
    size_t offset_len;
    const float *trained_mean; /* initial TrainedMean (C), NULL for zeros */
    size_t trained_mean_len;
    const float *trained_variance; /* initial TrainedVariance (C, each > 0), NULL for ones */
    size_t trained_variance_len;
    double scale_learn_rate_factor;  /* default 1 */
    double offset_learn_rate_factor; /* default 1 */
    double scale_l2_factor;          /* default 1 */
    double offset_l2_factor;         /* default 1 */
} mc_batchnorm_options;

mc_batchnorm_options mc_batchnorm_default(void);
mc_status mc_batchnorm_create(mc_ctx *ctx, const mc_batchnorm_options *opts, mc_layer **out);

/* Kernels. x, y, dy, dx: (N, C, S); scale, offset, dscale, doffset, mean, rstd: (C). They run
 * on minicnn's threads (mc_set_threads), a block of channels a task; results do not depend on
 * the thread count. */
void mc_batchnorm_forward_train_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, double *mean, double *var, double *rstd,
                                       int N, int C, size_t S, double eps);
void mc_batchnorm_forward_infer_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, const float *trained_mean,
                                       const float *trained_var, int N, int C, size_t S,
                                       double eps);
/* Accumulates dscale and doffset (+=); writes dx (=) when not NULL. */
void mc_batchnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx, float *dscale,
                                  float *doffset, int N, int C, size_t S);

#ifdef __cplusplus
}
#endif

#endif
