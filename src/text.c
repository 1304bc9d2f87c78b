#include <math.h>
#include <stdarg.h>
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
