/* SPDX-License-Identifier: MIT */
/* Trained-network files ("model files").
 *
 * Layout, all integers little-endian:
 *   0   8 bytes  magic "MINICNN\0"
 *   8   u32      format version (1)
 *   12  u32      kind: 1 = trained network, 2 = checkpoint (the network, then the training
 *                state of train.h: options, position, data order and fingerprint, RNG, solver)
 *   16  u64      length of the compressed payload
 *   24  u64      length of the payload
 *   32  u32      CRC-32 of the payload
 *   36  u32      CRC-32 of bytes 0..35
 *   40  the payload, zlib-compressed (RFC 1950)
 * The payload:
 *   u32 n, n bytes      the network file's text (architecture, as written)
 *   u32 count, then per array:
 *       u16 n, n bytes  "layer/Name" (e.g. "conv/Weights", "imageinput/Mean")
 *       u8 ndim, ndim x u32 dims (storage shape), then the float32 values
 *   u32 count, then per class: u16 n, n bytes (class names, in label order)
 *   u8                  1 when the input layer's statistics are fitted
 * Every learnable and buffer of every layer is stored, nothing else. Files are written through
 * the atomic writer (atomic.h): a temporary in the same folder, synced, read back and loaded,
 * then renamed, so a crash leaves the old file or the new one; links are followed, FIFOs and
 * devices refused. */
#ifndef MINICNN_MODEL_H
#define MINICNN_MODEL_H

#ifdef __cplusplus
extern "C" {
#endif

#include <minicnn/net.h>

#define MC_MODEL_VERSION 1

/* Saves an assembled network that was read from a network file (it keeps the file's text).
 * Returns MC_OK, MC_ERR_STATE (not assembled, no network text), MC_ERR_INVALID (a length that
 * does not fit its field, e.g. a class name over 65,535 bytes, named in the message; nothing is
 * written), MC_ERR_IO (naming the path and the reason; the previous file, if any, is
 * untouched), MC_ERR_FORMAT (the file written did not load back; the previous file is kept) or
 * MC_ERR_NOMEM. */
mc_status mc_model_save(const mc_net *net, const char *path);

/* Loads a model file and assembles it for batches of up to max_batch. Every field is checked:
 * a wrong magic, a newer version, a CRC mismatch, a truncated or corrupt payload, arrays that do
 * not match the architecture are MC_ERR_FORMAT with the path and what is wrong; MC_ERR_IO when
 * the file cannot be read. */
mc_status mc_model_load(mc_ctx *ctx, const char *path, int max_batch, mc_net **out);

#ifdef __cplusplus
}
#endif

#endif
