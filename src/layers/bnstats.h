/* SPDX-License-Identifier: MIT */
/* Batch normalization statistics over a whole training set (trainingOptions'
 * BatchNormalizationStatistics 'population'), for the trainer. Private to minicnn: the
 * functions live at the end of src/layers/batchnorm.c. */
#ifndef MINICNN_LAYERS_BNSTATS_H
#define MINICNN_LAYERS_BNSTATS_H

#include <stdbool.h>

#include <minicnn/layer.h>

/* Whether `layer` is a batchNormalizationLayer. */
bool mc__batchnorm_is(const mc_layer *layer);

/* The number of channels C of a set-up batch normalization layer. */
int mc__batchnorm_channels(const mc_layer *layer);

/* acc: (3, C) doubles, zeroed by the caller before the first chunk: the count of values, the
 * mean and the sum of squared deviations per channel. Merges in the batch statistics of the
 * layer's last training-mode forward, on `n` observations (n * S values per channel), by
 * Chan's pairwise formula. Chunks merged in the same order give the same bits however many
 * threads (or processes) computed them. */
void mc__batchnorm_population_add(const mc_layer *layer, int n, double *acc);

/* Stores the mean and the (biased) variance of acc as TrainedMean and TrainedVariance. */
void mc__batchnorm_population_store(mc_layer *layer, const double *acc);

#endif
