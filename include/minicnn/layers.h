/* SPDX-License-Identifier: MIT */
/* The small layers: reluLayer, maxPooling2dLayer, softmaxLayer, classificationLayer,
 * additionLayer (MATLAB R2020b semantics). */
#ifndef MINICNN_LAYERS_H
#define MINICNN_LAYERS_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/layer.h>

/* reluLayer: y = max(0, x); dx = dy where x > 0, else 0. Any input kind. */
mc_status mc_relu_create(mc_ctx *ctx, const char *name, mc_layer **out);

/* maxPooling2dLayer(poolSize): input (N, C, H, W), output (N, C, OH, OW),
 * OH = floor((H + top + bottom - PH) / SH) + 1. Padded positions never win. The gradient goes to
 * the first maximum of each window in row-major scan order (ties are broken that way). */
typedef struct mc_maxpool_options {
    int pool_size[2]; /* [PH PW], positive */
    const char *name;
    int stride[2];     /* default [1 1] */
    int padding[4];    /* [top bottom left right], default 0, each smaller than the pool size */
    bool padding_same; /* 'same': output ceil(H / SH), extra padding at the bottom and right */
} mc_maxpool_options;

mc_maxpool_options mc_maxpool_default(int pool_h, int pool_w);
mc_status mc_maxpool_create(mc_ctx *ctx, const mc_maxpool_options *opts, mc_layer **out);

/* softmaxLayer: over the channels C, for each observation and each spatial or time position:
 * y = exp(x - max) / sum exp(x - max); dx = y .* (dy - sum(dy .* y)). Any input kind. */
mc_status mc_softmax_create(mc_ctx *ctx, const char *name, mc_layer **out);

/* classificationLayer: the output layer. Its input is the probabilities (N, K) or (N, K, 1, 1)
 * (a 1x1 image); forward copies them to its output. The loss for integer labels (0 .. K-1) is
 * the cross-entropy -(1/N) sum_n ln y_(n, label_n), and backward writes dL/dy = -1/(N y) at the
 * labels' positions and 0 elsewhere (probabilities below FLT_MIN are taken as FLT_MIN).
 * A network whose classification layer follows a softmax layer uses the fused kernel below
 * instead, which stays exact for any logits. */
typedef struct mc_classification_options {
    const char *name;
    const char *const *classes; /* class names (copied), NULL for 'auto' */
    int num_classes;            /* entries of `classes` */
} mc_classification_options;

mc_classification_options mc_classification_default(void);
mc_status mc_classification_create(mc_ctx *ctx, const mc_classification_options *opts,
                                   mc_layer **out);

/* Labels for the next forward/backward: n integers in 0 .. K-1 (borrowed until the next call).
 * Returns MC_ERR_INVALID for a label out of range (message gives the index and value) or
 * MC_ERR_STATE before setup. */
mc_status mc_classification_set_labels(mc_layer *layer, const int *labels, int n);
/* The loss of the last training or inference forward with labels set; NaN without labels. */
double mc_classification_loss(const mc_layer *layer);
/* Class names (NULL while 'auto') and count (0 while 'auto'). Borrowed. */
int mc_classification_num_classes(const mc_layer *layer);
const char *mc_classification_class_name(const mc_layer *layer, int k);
/* Replaces the class names (copied), as training does when Classes is 'auto'. */
mc_status mc_classification_set_classes(mc_layer *layer, const char *const *classes, int n);

/* Cross-entropy of probabilities probs (N, K) with labels (N): mean of -ln(max(p, FLT_MIN)). */
double mc_crossentropy_kernel(const float *probs, const int *labels, int N, int K);
/* Fused softmax + cross-entropy from logits (N, K): writes probs (N, K) when not NULL and
 * dlogits = (softmax - onehot) / N when not NULL; returns the mean loss computed as
 * logsumexp(z) - z_label, finite for any finite logits. */
double mc_softmax_crossentropy_kernel(const float *logits, const int *labels, float *probs,
                                      float *dlogits, int N, int K);

/* additionLayer(numInputs): numInputs >= 2 inputs named in1 .. inN, all of one shape;
 * y = sum of the inputs; each dx_i = dy. */
mc_status mc_addition_create(mc_ctx *ctx, int num_inputs, const char *name, mc_layer **out);

#ifdef __cplusplus
}
#endif

#endif
