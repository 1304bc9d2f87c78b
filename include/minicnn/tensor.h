/* SPDX-License-Identifier: MIT */
/* Shapes and tensors: contiguous float32, dimensions outermost first (NCHW), no strides. */
#ifndef MINICNN_TENSOR_H
#define MINICNN_TENSOR_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/ctx.h>

#define MC_MAX_DIMS 5

/* A shape of 1 to MC_MAX_DIMS dimensions. Activations have 2 to 5:
 *   feature (N, C), sequence (N, C, T), 2-D image (N, C, H, W), 3-D image (N, C, D, H, W). */
typedef struct mc_shape {
    int ndim;
    int dims[MC_MAX_DIMS];
} mc_shape;

/* The kind of activation a shape holds, from its number of dimensions. */
typedef enum mc_data_kind {
    MC_DATA_INVALID = 0,
    MC_DATA_FEATURE,  /* (N, C) */
    MC_DATA_SEQUENCE, /* (N, C, T) */
    MC_DATA_IMAGE2D,  /* (N, C, H, W) */
    MC_DATA_IMAGE3D   /* (N, C, D, H, W) */
} mc_data_kind;

/* Builds a shape from `ndim` dimensions (missing ones are zero). */
mc_shape mc_shape_make(int ndim, const int *dims);

/* Product of the dimensions (1 for ndim 0); 0 if any dimension is not positive. */
size_t mc_shape_numel(const mc_shape *shape);

/* MC_DATA_* for an activation shape with 2 to 5 dimensions, MC_DATA_INVALID otherwise. */
mc_data_kind mc_shape_kind(const mc_shape *shape);

/* Writes "1x1x20" style text (separator `sep`, e.g. "x" or "\xc3\x97") into buf (always
 * NUL-terminated); returns the length it needed, as snprintf. */
int mc_shape_format(const mc_shape *shape, const char *sep, char *buf, size_t cap);

/* A tensor owns its data when made by mc_tensor_create; a view (mc_tensor_view) borrows it. */
typedef struct mc_tensor {
    mc_shape shape;
    float *data;
    int owned; /* 1 when mc_tensor_release must free data */
} mc_tensor;

/* Allocates a zero-filled tensor of `shape` (every dimension positive), its data starting on a
 * 64-byte boundary whatever the context's allocator returns.
 * Returns MC_OK, MC_ERR_INVALID (bad shape, size overflow) or MC_ERR_NOMEM; on failure *t is
 * an empty tensor. */
mc_status mc_tensor_create(mc_ctx *ctx, const mc_shape *shape, mc_tensor *t);

/* A tensor that borrows `data` (not freed by mc_tensor_release). */
mc_tensor mc_tensor_view(float *data, const mc_shape *shape);

/* Frees owned data and empties the tensor; an empty tensor is allowed. */
void mc_tensor_release(mc_ctx *ctx, mc_tensor *t);

/* Number of elements (0 for an empty tensor). */
size_t mc_tensor_numel(const mc_tensor *t);

#ifdef __cplusplus
}
#endif

#endif
