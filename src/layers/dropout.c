/* SPDX-License-Identifier: MIT */
/* dropoutLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <minicnn/poolconcat.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* A bijective 32-bit mixer (two multiply-xorshift rounds, the constants of Chris Wellons'
 * "lowbias32"): consecutive inputs give outputs that pass as independent uniform bits. */
static inline uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* The two 32-bit keys of observation n under the forward pass's 64-bit key: splitmix64's
 * finalizer of key + (n + 1) * golden ratio, so that each observation has a stream of its own. */
static void observation_keys(uint64_t key, uint64_t n, uint32_t *k0, uint32_t *k1)
{
    uint64_t z = key + (n + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    *k0 = (uint32_t)z;
    *k1 = (uint32_t)(z >> 32);
}

/* x, y: (count) values of one observation from its element i0 on. y = x * m with m = scale
 * where the element's uniform bits h = mix32(mix32(i + k0) ^ k1) reach `threshold`, else 0
 * (so h < threshold drops it with probability threshold / 2^32). A dropped NaN stays NaN
 * (NaN * 0), as MATLAB's X .* mask. The same kernel applies the mask to dy in backward. x and
 * y may alias. */
MC__CLONES static void dropout_kernel(const float *x, float *y, size_t count, uint32_t i0,
                                      uint32_t k0, uint32_t k1, uint32_t threshold, float scale)
{
    for (size_t j = 0; j < count; j++) {
        const uint32_t h = mix32(mix32(i0 + (uint32_t)j + k0) ^ k1);
        y[j] = x[j] * (h >= threshold ? scale : 0.0f);
    }
}

/* Fixed blocks of the batch's elements on minicnn's threads: each element's mask depends only
 * on the key, its observation and its position there, so any split gives the same bits. */
#define DROPOUT_BLOCK ((size_t)1 << 15)

typedef struct dropout_job {
    const float *x;
    float *y;
    size_t numel, per_obs;
    uint64_t key;
    uint32_t threshold;
    float scale;
} dropout_job;

static void dropout_task(void *arg, int task, int thread)
{
    (void)thread;
    const dropout_job *j = arg;
    size_t at = (size_t)task * DROPOUT_BLOCK;
    const size_t end = at + DROPOUT_BLOCK < j->numel ? at + DROPOUT_BLOCK : j->numel;
    while (at < end) {
        const size_t n = at / j->per_obs, i = at % j->per_obs;
        const size_t count = j->per_obs - i < end - at ? j->per_obs - i : end - at;
        uint32_t k0, k1;
        observation_keys(j->key, n, &k0, &k1);
        dropout_kernel(j->x + at, j->y + at, count, (uint32_t)i, k0, k1, j->threshold, j->scale);
        at += count;
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct dropout {
    mc_layer base;
    double probability;
    uint32_t threshold; /* round(probability * 2^32): the dropped share of the 32-bit values */
    float scale;        /* 1 / (1 - probability), in single precision as MATLAB's mask */
    uint64_t key;       /* of the last training forward */
} dropout;

static const mc_layer_vtable dropout_vtable;

mc_dropout_options mc_dropout_default(void)
{
    mc_dropout_options o;
    memset(&o, 0, sizeof o);
    o.probability = 0.5;
    return o;
}

mc_status mc_dropout_create(mc_ctx *ctx, const mc_dropout_options *opts, mc_layer **out)
{
    *out = NULL;
    const double p = opts->probability;
    if (!(p >= 0.0 && p < 1.0)) {
        char label[MC__LABEL_CAP];
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Probability must be a nonnegative number less than 1, not %g",
                           mc__label(label, sizeof label, opts->name, dropout_vtable.kind), p);
    }
    mc_layer *base = NULL;
    mc_status st = mc__layer_new(ctx, sizeof(dropout), &dropout_vtable, opts->name, 1, NULL,
                                 "creating a dropout layer", &base);
    if (st != MC_OK)
        return st;
    dropout *d = (dropout *)base;
    d->probability = p;
    const double t = nearbyint(p * 4294967296.0);
    d->threshold = t > 4294967295.0 ? UINT32_MAX : (uint32_t)t;
    d->scale = (float)(1.0 / (1.0 - p));
    *out = base;
    return MC_OK;
}

static mc_status dropout_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    const size_t per_obs = mc_shape_numel(&in[0]) / (size_t)in[0].dims[0];
    if (per_obs > UINT32_MAX) {
        char label[MC__LABEL_CAP];
        return mc_ctx_fail(
            self->ctx, MC_ERR_SHAPE, "%s: %zu values per observation; dropout takes at most %lu",
            mc__layer_label(self, label, sizeof label), per_obs, (unsigned long)UINT32_MAX);
    }
    *out = in[0];
    return MC_OK;
}

/* y = x .* mask for the key of the last training forward. */
static void apply_mask(const dropout *d, const float *x, float *y, const mc_shape *s)
{
    const size_t numel = mc_shape_numel(s);
    dropout_job j = {.x = x,
                     .y = y,
                     .numel = numel,
                     .per_obs = numel / (size_t)s->dims[0],
                     .key = d->key,
                     .threshold = d->threshold,
                     .scale = d->scale};
    mc__parallel_for((int)((numel + DROPOUT_BLOCK - 1) / DROPOUT_BLOCK), 0, 4 * numel, dropout_task,
                     &j);
}

static void dropout_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                            mc_mode mode)
{
    (void)n_in;
    dropout *d = (dropout *)self;
    if (mode == MC_MODE_INFERENCE) {
        if (out->data != in[0].data)
            memcpy(out->data, in[0].data, mc_tensor_numel(&in[0]) * sizeof(float));
        return;
    }
    d->key = mc_rng_next(self->ctx);
    apply_mask(d, in[0].data, out->data, &in[0].shape);
}

static void dropout_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                             const mc_tensor *dout, mc_tensor *din)
{
    (void)in;
    (void)n_in;
    (void)out;
    if (din[0].data != NULL)
        apply_mask((const dropout *)self, dout->data, din[0].data, &dout->shape);
}

static void dropout_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const dropout *d = (const dropout *)self;
    char num[40];
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "%g%% dropout", 100.0 * d->probability);
        return;
    }
    /* Property names right-aligned to the longest, Probability (and OutputNames). */
    const int w = 15;
    mc_text_printf(t, "  DropoutLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    mc_text_printf(t, "%*s: %s\n", w, "Probability",
                   mc_format_short(d->probability, num, sizeof num));
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
    else
        mc__describe_io(t, w);
}

static const mc_layer_vtable dropout_vtable = {
    .kind = "dropoutLayer",
    .class_name = "DropoutLayer",
    .type_label = "Dropout",
    .default_name = "dropout",
    .role = MC_ROLE_HIDDEN,
    .setup = dropout_setup,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer, /* the key is scratch for backward, not state to save */
    .describe = dropout_describe,
    .destroy = mc__no_destroy,
};
