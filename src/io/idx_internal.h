/* SPDX-License-Identifier: MIT */
/* IDX files read in two steps, so that a data set's two headers are checked against each other
 * (and against a network) before either file's data is inflated. */
#ifndef MINICNN_IDX_INTERNAL_H
#define MINICNN_IDX_INTERNAL_H

#include <stdbool.h>

#include <minicnn/data.h>

typedef struct mc__idx_file mc__idx_file;

/* Opens path and reads its header into *header (values NULL); on failure *out is NULL and the
 * message says why (mc_idx_read's errors for the header). */
mc_status mc__idx_open(mc_ctx *ctx, const char *path, mc__idx_file **out, mc_idx *header);

/* The data after the header into idx->values (owned by the caller), checked to the end of the
 * file; on failure idx->values is NULL. `checked`: the header agrees with another file's, so
 * the buffer is allocated at once rather than grown with the data. */
mc_status mc__idx_read_data(mc__idx_file *f, mc_idx *idx, bool checked);

void mc__idx_close(mc__idx_file *f);

#endif
