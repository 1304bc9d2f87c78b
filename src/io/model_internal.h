/* SPDX-License-Identifier: MIT */
/* Model files shared with the training loop's checkpoints. Not installed. */
#ifndef MINICNN_MODEL_INTERNAL_H
#define MINICNN_MODEL_INTERNAL_H

#include <stdbool.h>

#include <minicnn/net.h>

#include "bytes.h"

#define MC__KIND_NETWORK 1
#define MC__KIND_CHECKPOINT 2

/* Saves the network followed by `extra` (the training state of a checkpoint) as a file of
 * `kind`, atomically (include/minicnn/atomic.h), after checking that every length fits its
 * field and that the file written reads back and loads. `exclusive`: never replace a file;
 * when path exists, path with __2, __3, ... before its extension is created instead. */
mc_status mc__model_write(const mc_net *net, const char *path, int kind, const unsigned char *extra,
                          size_t extra_len, bool exclusive);

/* Reads a model file or checkpoint: the network, assembled for max_batch, and in *rest a
 * reader positioned after the network part, over the payload in *payload (free with mc_free).
 * *kind tells which file it was. */
mc_status mc__model_read(mc_ctx *ctx, const char *path, int max_batch, mc_net **net, int *kind,
                         unsigned char **payload, mc__reader *rest);

#endif
