/* SPDX-License-Identifier: MIT */
/* imageInputLayer and featureInputLayer (MATLAB R2020b semantics). */
#ifndef MINICNN_INPUT_H
#define MINICNN_INPUT_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/layer.h>

/* The layer's single input is the network's data; its output is the normalized data:
 *   'zerocenter'        x - Mean
 *   'zscore'            (x - Mean) / StandardDeviation
 *   'rescale-symmetric' -1 + 2 (x - Min) / (Max - Min)
 *   'rescale-zero-one'  (x - Min) / (Max - Min)
 *   'none'              x
 * Statistics are computed from the training data before training (mc_input_fit_*) and are
 * buffers of the layer, saved with the network. NormalizationDimension chooses their shape:
 * 'element' (one per value of an observation: C x H x W, MATLAB's h x w x c mean image),
 * 'channel' (one per channel) or 'all' (one number); 'auto' is 'element'. The buffers are
 * stored (C, H, W), (C) or (1) (features: (F) or (1); 'element' and 'channel' coincide there).
 * A zero standard deviation or Max == Min leaves the values centred but unscaled (divides
 * by 1). */
typedef enum mc_normalization {
    MC_NORM_ZEROCENTER = 0,
    MC_NORM_ZSCORE,
    MC_NORM_RESCALE_SYMMETRIC,
    MC_NORM_RESCALE_ZERO_ONE,
    MC_NORM_NONE
} mc_normalization;

typedef enum mc_norm_dimension {
    MC_NORMDIM_AUTO = 0,
    MC_NORMDIM_ELEMENT,
    MC_NORMDIM_CHANNEL,
    MC_NORMDIM_ALL
} mc_norm_dimension;

/* MATLAB's name of a normalization ("zerocenter", ...) and the reverse, case-insensitive.
 * mc_normalization_parse returns MC_ERR_INVALID with a message listing the names. */
const char *mc_normalization_name(mc_normalization n);
mc_status mc_normalization_parse(mc_ctx *ctx, const char *text, mc_normalization *out);

/* imageInputLayer([H W C]): data (N, C, H, W). */
typedef struct mc_image_input_options {
    int input_size[3];                         /* [H W C], positive (MATLAB's order) */
    const char *name;                          /* copied */
    mc_normalization normalization;            /* default 'zerocenter' */
    mc_norm_dimension normalization_dimension; /* default 'auto' */
} mc_image_input_options;

mc_image_input_options mc_image_input_default(int height, int width, int channels);
mc_status mc_image_input_create(mc_ctx *ctx, const mc_image_input_options *opts, mc_layer **out);

/* featureInputLayer(numFeatures): data (N, numFeatures). MATLAB's default normalization for
 * feature input is 'none'. */
typedef struct mc_feature_input_options {
    int num_features;
    const char *name;
    mc_normalization normalization;            /* default 'none' */
    mc_norm_dimension normalization_dimension; /* default 'auto' */
} mc_feature_input_options;

mc_feature_input_options mc_feature_input_default(int num_features);
mc_status mc_feature_input_create(mc_ctx *ctx, const mc_feature_input_options *opts,
                                  mc_layer **out);

/* The data shape an input layer takes, with batch N: (N, C, H, W) or (N, F). */
mc_shape mc_input_data_shape(const mc_layer *layer, int N);

/* Fitting the statistics, after setup: begin, add every training batch (x shaped as the data,
 * n observations), end. Statistics accumulate in double and do not depend on how the data is
 * split into batches beyond rounding. Until fitted, mc_input_is_fitted is false and a forward
 * pass through a layer whose normalization is not 'none' fails with MC_ERR_STATE naming the
 * layer; statistics marked fitted without fitting are neutral (Mean 0, StandardDeviation 1,
 * Min 0, Max 1). end returns
 * MC_ERR_NUMERIC for non-finite data (message gives the first observation and value) and
 * MC_ERR_STATE when no observation was added. */
mc_status mc_input_fit_begin(mc_layer *layer);
void mc_input_fit_add(mc_layer *layer, const float *x, int n);
mc_status mc_input_fit_end(mc_layer *layer);
bool mc_input_is_fitted(const mc_layer *layer);
/* Marks the statistics as fitted (or not) without fitting: for a loader that has restored the
 * buffers (mc_layer_buffer) from a saved network. */
void mc_input_set_fitted(mc_layer *layer, bool fitted);
bool mc_input_needs_fit(const mc_layer *layer); /* normalization is not 'none' */

#ifdef __cplusplus
}
#endif

#endif
