/* SPDX-License-Identifier: MIT */
/* Separate validation data for minicnn train (--validation-data DIR|FILE.csv and
 * --validation-images/--validation-labels): read after the training data, with the classes the
 * network's output layer has by then. */
#ifndef MINICNN_APPS_VALIDATION_H
#define MINICNN_APPS_VALIDATION_H

#include <stdbool.h>

#include <minicnn/minicnn.h>

/* A folder of class folders (no train/ and test/ parts) read whole, at the input layer's size;
 * its class folders must be among the network's classes (apps/datasets.c). `color` is
 * --color-preprocessing (NULL for none); resize false refuses images of another size. Prints
 * one line saying what was read. */
mc_status cli_read_validation_folder(mc_ctx *ctx, const mc_net *net, const char *dir,
                                     const char *color, bool resize, mc_dataset *out);

/* A CSV table read whole with the training table's response column (NULL: the last) and the
 * network's classes; its predictor count must match the featureInputLayer (apps/table.c).
 * `what` ("validation", "test") names it in messages. Prints one line. */
mc_status cli_read_validation_table(mc_ctx *ctx, const mc_net *net, const char *path,
                                    const char *response, bool omit_missing, const char *what,
                                    mc_dataset *out);

#endif
