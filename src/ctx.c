/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MESSAGE_CAP 1024

struct mc_ctx {
    mc_allocator allocator;
    uint64_t rng[4];
    size_t failed_bytes; /* the size of the last allocation that failed, for the message */
    int blas_reserved;   /* OpenBLAS buffers known to fit (src/blas_guard.c) */
    char message[MESSAGE_CAP];
};

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_release(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

mc_status mc_ctx_create(const mc_allocator *allocator, uint64_t seed, mc_ctx **out)
{
    mc_allocator a = {default_alloc, default_release, NULL};
    if (allocator != NULL && allocator->alloc != NULL && allocator->release != NULL)
        a = *allocator;
    *out = NULL;
    mc_ctx *ctx = a.alloc(a.user, sizeof *ctx);
    if (ctx == NULL)
        return MC_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->allocator = a;
    mc_rng_seed(ctx, seed);
    *out = ctx;
    return MC_OK;
}

void mc_ctx_destroy(mc_ctx *ctx)
{
    if (ctx == NULL)
        return;
    mc_allocator a = ctx->allocator;
    a.release(a.user, ctx);
}

const char *mc_ctx_message(const mc_ctx *ctx)
{
    return ctx->message;
}

void mc_ctx_clear_message(mc_ctx *ctx)
{
    ctx->message[0] = '\0';
}

/* True when the message says nothing after its location prefix: "" or "t.net:1:10: ". */
static bool says_nothing(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        n--;
    return n == 0 || msg[n - 1] == ':';
}

mc_status mc_ctx_fail(mc_ctx *ctx, mc_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    /* Every failure carries its text: a debug build stops at the caller that forgot it (or
     * that reports a failure with MC_OK); a release build falls back to the status table. */
    assert(status != MC_OK && !says_nothing(ctx->message));
    if (says_nothing(ctx->message)) {
        size_t used = strlen(ctx->message);
        snprintf(ctx->message + used, sizeof ctx->message - used, "%s%s",
                 used > 0 && ctx->message[used - 1] != ' ' ? " " : "", mc_status_text(status));
    }
    return status;
}

mc_status mc__nomem(mc_ctx *ctx, const char *what)
{
    const size_t bytes = ctx->failed_bytes;
    ctx->failed_bytes = 0;
    if (bytes == 0)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while %s", what);
    if (bytes == SIZE_MAX)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM,
                           "out of memory while %s (more bytes than "
                           "memory has)",
                           what);
    return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while %s (%zu bytes)", what, bytes);
}

void *mc_alloc(mc_ctx *ctx, size_t size)
{
    void *p = ctx->allocator.alloc(ctx->allocator.user, size == 0 ? 1 : size);
    if (p == NULL) {
        /* what every caller's failure says at least, until it says what it was doing */
        ctx->failed_bytes = size;
        mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while allocating %zu bytes", size);
    }
    return p;
}

void mc_free(mc_ctx *ctx, void *ptr)
{
    if (ptr != NULL)
        ctx->allocator.release(ctx->allocator.user, ptr);
}

void *mc__calloc(mc_ctx *ctx, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        ctx->failed_bytes = SIZE_MAX;
        mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while allocating %zu x %zu bytes", n, size);
        return NULL;
    }
    void *p = mc_alloc(ctx, n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

char *mc__strdup(mc_ctx *ctx, const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s) + 1;
    char *p = mc_alloc(ctx, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64 so that any seed, 0 included,
 * gives a good state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void mc_rng_seed(mc_ctx *ctx, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        ctx->rng[i] = splitmix64(&x);
}

mc_rng_state mc_rng_get_state(const mc_ctx *ctx)
{
    mc_rng_state st;
    memcpy(st.s, ctx->rng, sizeof st.s);
    return st;
}

void mc_rng_set_state(mc_ctx *ctx, mc_rng_state state)
{
    memcpy(ctx->rng, state.s, sizeof state.s);
}

uint64_t mc_rng_next(mc_ctx *ctx)
{
    uint64_t *s = ctx->rng;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mc_rng_uniform(mc_ctx *ctx)
{
    return (double)(mc_rng_next(ctx) >> 11) * 0x1.0p-53;
}

double mc_rng_normal(mc_ctx *ctx)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - mc_rng_uniform(ctx);
    double u2 = mc_rng_uniform(ctx);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

int mc__ctx_blas_reserved(const mc_ctx *ctx)
{
    return ctx->blas_reserved;
}

void mc__ctx_set_blas_reserved(mc_ctx *ctx, int n)
{
    ctx->blas_reserved = n;
}
