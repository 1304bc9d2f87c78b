/* SPDX-License-Identifier: MIT */
/* A growing text buffer, used by layers to describe themselves. */
#ifndef MINICNN_TEXT_H
#define MINICNN_TEXT_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/ctx.h>

/* Appends never fail visibly: the first allocation failure sets `failed` and later appends are
 * ignored, so a describe function can append freely and check once at the end. */
typedef struct mc_text {
    mc_ctx *ctx;
    char *data; /* NUL-terminated when len > 0; owned, freed with mc_text_release */
    size_t len;
    size_t cap;
    int failed;
} mc_text;

/* An empty buffer allocating through ctx. */
mc_text mc_text_init(mc_ctx *ctx);

/* Appends printf-formatted text. */
void mc_text_printf(mc_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Hands the text to the caller in *out (free it with mc_free) and empties the buffer.
 * Returns MC_OK, or MC_ERR_NOMEM (with a message, *out NULL) if any append failed. */
mc_status mc_text_take(mc_text *t, char **out);

/* Frees the buffer. */
void mc_text_release(mc_text *t);

/* MATLAB's `format short` display of a real scalar: integers as integers ("3", "-20"), other
 * values with 0.001 < |v| < 1000 as "%.4f" ("0.0100"), the rest as "%.4e" ("1.0000e-05");
 * "Inf", "-Inf", "NaN". Writes into buf (at least 32 bytes) and returns it. */
const char *mc_format_short(double v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
