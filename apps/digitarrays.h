/* SPDX-License-Identifier: MIT */
/* The MAT-files of digitTrain4DArrayData and digitTest4DArrayData (apps/digitarrays.c). */
#ifndef MINICNN_APPS_DIGITARRAYS_H
#define MINICNN_APPS_DIGITARRAYS_H

#include <stdbool.h>

#include <minicnn/data.h>

/* The files under MATLABROOT/toolbox/nnet/nndemos/nndatasets that digitTrain4DArrayData and
 * digitTest4DArrayData load. */
#define CLI_DIGITS_TRAIN_FILE "DigitsDataTrain.mat"
#define CLI_DIGITS_TEST_FILE "DigitsDataTest.mat"

/* Writes DIR/DigitsDataTrain.mat (XTrain: 28x28x1x5000 double in [0, 1], YTrain: 5000x1 digits
 * 0..9, anglesTrain: 5000x1 degrees) and DIR/DigitsDataTest.mat (XTest, YTest, anglesTest) from
 * the first 10,000 digits of parts (28x28 gray, values 0..255, in order: the first 5,000 for
 * training), each digit turned clockwise by a whole number of degrees drawn from [-45, 45] with
 * a fixed seed, as in MathWorks' synthetic digits. A file that exists is kept unless force.
 * Each file is written whole or not at all. *written: how many were written. MC_OK,
 * MC_ERR_INVALID (fewer than 10,000 digits), MC_ERR_IO, MC_ERR_NOMEM. */
mc_status cli_write_digit_arrays(mc_ctx *ctx, const char *dir, const mc_dataset *parts, int n_parts,
                                 bool force, int *written);

#endif
