/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

mc_text mc_text_init(mc_ctx *ctx)
{
    mc_text t;
    memset(&t, 0, sizeof t);
    t.ctx = ctx;
    return t;
}

void mc_text_printf(mc_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        t->failed = 1;
        va_end(ap2);
        return;
    }
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + (size_t)need + 1)
            cap *= 2;
        char *data = mc_alloc(t->ctx, cap);
        if (data == NULL) {
            t->failed = 1;
            va_end(ap2);
            return;
        }
        if (t->len > 0)
            memcpy(data, t->data, t->len);
        mc_free(t->ctx, t->data);
        t->data = data;
        t->cap = cap;
    }
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap2);
    va_end(ap2);
    t->len += (size_t)need;
}

mc_status mc_text_take(mc_text *t, char **out)
{
    *out = NULL;
    if (!t->failed && t->data == NULL)
        mc_text_printf(t, "%s", "");
    if (t->failed) {
        mc_text_release(t);
        return mc__nomem(t->ctx, "formatting text");
    }
    *out = t->data;
    t->data = NULL;
    t->len = t->cap = 0;
    return MC_OK;
}

void mc_text_release(mc_text *t)
{
    mc_free(t->ctx, t->data);
    t->data = NULL;
    t->len = t->cap = 0;
    t->failed = 0;
}

const char *mc_format_short(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else if (isinf(v))
        snprintf(buf, cap, v < 0 ? "-Inf" : "Inf");
    else if (v == floor(v) && a < 1e9)
        snprintf(buf, cap, "%.0f", v == 0 ? 0.0 : v);
    else if (a > 0.001 && a < 1000)
        snprintf(buf, cap, "%.4f", v);
    else
        snprintf(buf, cap, "%.4e", v);
    return buf;
}

/* FNV-1a */
static size_t name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h;
}

mc_status mc__name_index_init(mc_ctx *ctx, mc__name_index *ix, size_t capacity, mc__name_fn name_of,
                              const void *owner, const char *what)
{
    size_t n = 16;
    while (n < 2 * capacity)
        n *= 2;
    ix->slots = mc__calloc(ctx, n, sizeof *ix->slots);
    if (ix->slots == NULL)
        return mc__nomem(ctx, what);
    for (size_t i = 0; i < n; i++)
        ix->slots[i] = -1;
    ix->mask = n - 1;
    ix->name_of = name_of;
    ix->owner = owner;
    return MC_OK;
}

int mc__name_index_find(const mc__name_index *ix, const char *name, size_t len)
{
    for (size_t i = name_hash(name, len) & ix->mask;; i = (i + 1) & ix->mask) {
        const int e = ix->slots[i];
        if (e < 0)
            return -1;
        const char *have = ix->name_of(ix->owner, e);
        if (strncmp(have, name, len) == 0 && have[len] == '\0')
            return e;
    }
}

void mc__name_index_add(mc__name_index *ix, int e)
{
    const char *name = ix->name_of(ix->owner, e);
    size_t i = name_hash(name, strlen(name)) & ix->mask;
    while (ix->slots[i] >= 0)
        i = (i + 1) & ix->mask;
    ix->slots[i] = e;
}

void mc__name_index_release(mc_ctx *ctx, mc__name_index *ix)
{
    mc_free(ctx, ix->slots);
    ix->slots = NULL;
}
