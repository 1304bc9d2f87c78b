/* SPDX-License-Identifier: MIT */
#include "bytes.h"

#include <string.h>

void mc__put(mc__bytes *b, const void *p, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *d = mc_alloc(b->ctx, cap);
        if (d == NULL) {
            b->failed = true;
            return;
        }
        if (b->len > 0)
            memcpy(d, b->data, b->len);
        mc_free(b->ctx, b->data);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mc__put_u(mc__bytes *b, uint64_t v, int size)
{
    unsigned char le[8];
    for (int i = 0; i < size; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    mc__put(b, le, (size_t)size);
}

void mc__put_f64(mc__bytes *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    mc__put_u(b, u, 8);
}

void mc__put_floats(mc__bytes *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        mc__put_u(b, u, 4);
    }
}

uint64_t mc__get_le(const unsigned char *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

mc_status mc__corrupt(mc__reader *r, const char *what)
{
    return mc_ctx_fail(r->ctx, MC_ERR_FORMAT, "%s: corrupt file: %s at byte %zu of the payload",
                       r->path, what, r->at);
}

mc_status mc__take(mc__reader *r, size_t n, const unsigned char **out, const char *what)
{
    if (n > r->len - r->at)
        return mc__corrupt(r, what);
    *out = r->p + r->at;
    r->at += n;
    return MC_OK;
}

mc_status mc__take_u(mc__reader *r, int size, uint64_t *v, const char *what)
{
    const unsigned char *p = NULL;
    mc_status st = mc__take(r, (size_t)size, &p, what);
    if (st == MC_OK)
        *v = mc__get_le(p, size);
    return st;
}

mc_status mc__take_f64(mc__reader *r, double *v, const char *what)
{
    uint64_t u = 0;
    mc_status st = mc__take_u(r, 8, &u, what);
    if (st == MC_OK)
        memcpy(v, &u, 8);
    return st;
}

mc_status mc__take_floats(mc__reader *r, float *v, size_t n, const char *what)
{
    const unsigned char *p = NULL;
    if (n > (r->len - r->at) / 4)
        return mc__corrupt(r, what);
    mc_status st = mc__take(r, 4 * n, &p, what);
    for (size_t i = 0; st == MC_OK && i < n; i++) {
        uint32_t u = (uint32_t)mc__get_le(p + 4 * i, 4);
        memcpy(&v[i], &u, 4);
    }
    return st;
}
