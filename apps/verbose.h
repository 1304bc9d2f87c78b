/* SPDX-License-Identifier: MIT */
/* MATLAB's verbose table of minicnn train: the header, a row per displayed iteration, the
 * closing rule; the cells formatted as MATLAB formats them. */
#ifndef MINICNN_VERBOSE_H
#define MINICNN_VERBOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <minicnn/train.h>

typedef enum verbose_cell_kind { VERBOSE_LOSS, VERBOSE_RATE } verbose_cell_kind;

/* A loss or learning-rate cell, right-aligned in `width`: %.4f, and %.4e where MATLAB's
 * reporter switches to it (a learning rate below 1e-4; a loss below 1e-4 or from 1e6 up). The
 * comparison is made in single precision, where MATLAB holds these values: a rate of 1e-4 is
 * 9.99999975e-05 there and shows as 1.0000e-04, as in MATLAB. */
const char *verbose_cell(double value, verbose_cell_kind kind, int width, char *buf, size_t cap);

void verbose_header(FILE *f, bool validation);
void verbose_row(FILE *f, const mc_train_progress *p, bool validation);
void verbose_end(FILE *f, bool validation);

#endif
