/* SPDX-License-Identifier: MIT */
/* Initializers of learnable parameters. */
#ifndef MINICNN_INIT_H
#define MINICNN_INIT_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/tensor.h>

/* A user initializer, MATLAB's `func(sz)`: fills `values` (n elements, contiguous) for a
 * parameter of MATLAB size `size` (e.g. 1x1x20). Returns MC_OK, or any other status (use
 * mc_ctx_fail on `ctx` to explain) to make the layer's setup fail with it. */
typedef mc_status (*mc_init_fn)(void *user, mc_ctx *ctx, const mc_shape *size, float *values,
                                size_t n);

/* Either a name ("ones", "zeros", "narrow-normal", and for weights "glorot", "he") or a
 * function, not both. All zero means the layer's default initializer. */
typedef struct mc_initializer {
    const char *name; /* borrowed during the create call only */
    mc_init_fn fn;
    void *user; /* passed to fn; must outlive the layer's setup */
} mc_initializer;

#ifdef __cplusplus
}
#endif

#endif
