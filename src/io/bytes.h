/* SPDX-License-Identifier: MIT */
/* Little-endian byte buffers for the binary file formats (model files and checkpoints). */
#ifndef MINICNN_BYTES_H
#define MINICNN_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <minicnn/ctx.h>

/* A growing buffer; the first failed allocation sets `failed` and later puts do nothing. */
typedef struct mc__bytes {
    mc_ctx *ctx;
    unsigned char *data;
    size_t len, cap;
    bool failed;
} mc__bytes;

void mc__put(mc__bytes *b, const void *p, size_t n);
void mc__put_u(mc__bytes *b, uint64_t v, int size); /* size 1, 2, 4 or 8 bytes */
void mc__put_f64(mc__bytes *b, double v);
void mc__put_floats(mc__bytes *b, const float *v, size_t n);
uint64_t mc__get_le(const unsigned char *p, int size);

/* Bounds-checked reading of a payload; every failure is MC_ERR_FORMAT naming `path`, what was
 * being read and the offset. */
typedef struct mc__reader {
    mc_ctx *ctx;
    const char *path;
    const unsigned char *p;
    size_t len, at;
} mc__reader;

mc_status mc__corrupt(mc__reader *r, const char *what);
mc_status mc__take(mc__reader *r, size_t n, const unsigned char **out, const char *what);
mc_status mc__take_u(mc__reader *r, int size, uint64_t *v, const char *what);
mc_status mc__take_f64(mc__reader *r, double *v, const char *what);
mc_status mc__take_floats(mc__reader *r, float *v, size_t n, const char *what);

#endif
