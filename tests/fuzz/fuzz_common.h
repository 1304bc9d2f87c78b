/* SPDX-License-Identifier: MIT */
/* Shared by the libFuzzer harnesses: a context whose allocator has a byte budget, so that an
 * input asking for huge tensors meets a clean MC_ERR_NOMEM instead of exhausting the machine,
 * and a scratch file for the parsers that read paths. */
#ifndef MINICNN_FUZZ_COMMON_H
#define MINICNN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <minicnn/minicnn.h>

#define FUZZ_BUDGET ((size_t)256 << 20)

typedef struct fuzz_budget {
    size_t used;
} fuzz_budget;

/* Each block carries its size in front, so release can give the budget back. */
static inline void *fuzz_alloc(void *user, size_t size)
{
    fuzz_budget *b = user;
    if (size > FUZZ_BUDGET - b->used)
        return NULL;
    size_t *p = malloc(size + sizeof(size_t) * 2);
    if (p == NULL)
        return NULL;
    p[0] = size;
    b->used += size;
    return p + 2;
}

static inline void fuzz_release(void *user, void *ptr)
{
    if (ptr == NULL)
        return;
    fuzz_budget *b = user;
    size_t *p = (size_t *)ptr - 2;
    b->used -= p[0];
    free(p);
}

static inline mc_ctx *fuzz_ctx(fuzz_budget *b)
{
    b->used = 0;
    mc_allocator a = {fuzz_alloc, fuzz_release, b};
    mc_ctx *ctx = NULL;
    if (mc_ctx_create(&a, 1, &ctx) != MC_OK)
        abort();
    return ctx;
}

/* Writes the input to a per-process scratch file and returns its path. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[128];
    snprintf(path, sizeof path, "/tmp/minicnn-fuzz-%ld%s", (long)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    return path;
}

/* A failed call must have said why. */
static inline void fuzz_check(mc_ctx *ctx, mc_status st)
{
    if (st != MC_OK && mc_ctx_message(ctx)[0] == '\0')
        abort();
}

#endif
