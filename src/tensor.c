/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

mc_shape mc_shape_make(int ndim, const int *dims)
{
    mc_shape s;
    memset(&s, 0, sizeof s);
    if (ndim < 0 || ndim > MC_MAX_DIMS)
        return s;
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        s.dims[i] = dims[i];
    return s;
}

size_t mc_shape_numel(const mc_shape *shape)
{
    size_t n = 1;
    for (int i = 0; i < shape->ndim; i++) {
        if (shape->dims[i] <= 0)
            return 0;
        if (n > SIZE_MAX / (size_t)shape->dims[i])
            return 0;
        n *= (size_t)shape->dims[i];
    }
    return n;
}

mc_data_kind mc_shape_kind(const mc_shape *shape)
{
    switch (shape->ndim) {
    case 2:
        return MC_DATA_FEATURE;
    case 3:
        return MC_DATA_SEQUENCE;
    case 4:
        return MC_DATA_IMAGE2D;
    case 5:
        return MC_DATA_IMAGE3D;
    default:
        return MC_DATA_INVALID;
    }
}

int mc_shape_format(const mc_shape *shape, const char *sep, char *buf, size_t cap)
{
    int need = 0;
    if (cap > 0)
        buf[0] = '\0';
    for (int i = 0; i < shape->ndim; i++) {
        size_t used = (size_t)need < cap ? (size_t)need : cap;
        int k = snprintf(buf + used, cap - used, "%s%d", i ? sep : "", shape->dims[i]);
        if (k < 0)
            return k;
        need += k;
    }
    return need;
}

/* Tensor data starts on a 64-byte boundary (a cache line, an AVX-512 vector) whatever the
 * allocator's alignment, so that vector loops neither split loads across cache lines nor give
 * up non-temporal stores: the block is allocated DATA_ALIGN + sizeof(void *) bytes larger, and
 * its start is kept just before the data. */
#define DATA_ALIGN 64

/* n zeroed floats at a DATA_ALIGN boundary, or NULL (no memory, or a size that overflows). */
static float *aligned_floats(mc_ctx *ctx, size_t n)
{
    const size_t extra = DATA_ALIGN + sizeof(void *);
    if (n > (SIZE_MAX - extra) / sizeof(float))
        return NULL;
    char *block = mc_alloc(ctx, n * sizeof(float) + extra);
    if (block == NULL)
        return NULL;
    const size_t at = (uintptr_t)block + sizeof(void *);
    char *data = block + sizeof(void *) + (DATA_ALIGN - at % DATA_ALIGN) % DATA_ALIGN;
    memcpy(data - sizeof(void *), &block, sizeof block);
    memset(data, 0, n * sizeof(float));
    return (float *)(void *)data;
}

/* The block of data from aligned_floats. */
static void *block_of(float *data)
{
    void *block;
    memcpy(&block, (char *)data - sizeof(void *), sizeof block);
    return block;
}

mc_status mc_tensor_create(mc_ctx *ctx, const mc_shape *shape, mc_tensor *t)
{
    memset(t, 0, sizeof *t);
    size_t n = mc_shape_numel(shape);
    if (shape->ndim < 1 || shape->ndim > MC_MAX_DIMS || n == 0) {
        char dims[128];
        mc_shape_format(shape, "x", dims, sizeof dims);
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "cannot create a tensor of shape [%s] (%d dimensions): every "
                           "dimension must be positive, 1 to %d of them, and the size must fit "
                           "in memory",
                           dims, shape->ndim, MC_MAX_DIMS);
    }
    float *data = aligned_floats(ctx, n);
    if (data == NULL)
        return mc__nomem(ctx, "creating a tensor");
    t->shape = *shape;
    t->data = data;
    t->owned = 1;
    return MC_OK;
}

mc_tensor mc_tensor_view(float *data, const mc_shape *shape)
{
    mc_tensor t;
    t.shape = *shape;
    t.data = data;
    t.owned = 0;
    return t;
}

void mc_tensor_release(mc_ctx *ctx, mc_tensor *t)
{
    if (t->owned && t->data != NULL)
        mc_free(ctx, block_of(t->data));
    memset(t, 0, sizeof *t);
}

size_t mc_tensor_numel(const mc_tensor *t)
{
    return t->data == NULL ? 0 : mc_shape_numel(&t->shape);
}
