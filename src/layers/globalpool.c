/* SPDX-License-Identifier: MIT */
/* globalAveragePooling2dLayer and globalMaxPooling2dLayer (MATLAB R2020b semantics): one
 * value per channel of each image, output (N, C, 1, 1). */
#include <stdint.h>
#include <string.h>

#include <minicnn/poolconcat.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x: (NC, S); y: (NC). y = the mean of each plane, summed in double: 8 partial sums (position
 * i in sum i % 8, which the compiler can keep in vector registers; one chain of dependent adds
 * ran at some 2 GB/s), added pairwise in a fixed order, then the last S % 8 positions. */
MC__CLONES static void global_avg_forward_kernel(const float *x, float *y, size_t NC, size_t S)
{
    const size_t S8 = S / 8 * 8;
    for (size_t nc = 0; nc < NC; nc++) {
        const float *xp = x + nc * S;
        double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i < S8; i += 8)
            for (int k = 0; k < 8; k++)
                p[k] += (double)xp[i + (size_t)k];
        double s = ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
        for (size_t i = S8; i < S; i++)
            s += xp[i];
        y[nc] = (float)(s / (double)S);
    }
}

/* dy: (NC); dx: (NC, S), written: dy / S at every position. */
static void global_avg_backward_kernel(const float *dy, float *dx, size_t NC, size_t S)
{
    for (size_t nc = 0; nc < NC; nc++) {
        const float d = (float)((double)dy[nc] / (double)S);
        float *dxp = dx + nc * S;
        for (size_t i = 0; i < S; i++)
            dxp[i] = d;
    }
}

/* x: (NC, S); y, argmax: (NC). y = the maximum of each plane; the first maximum wins a tie and
 * a NaN wins over numbers (the first NaN), so a NaN in the input shows in the output. argmax
 * (NULL to skip) receives the winner's position in its plane. */
static void global_max_forward_kernel(const float *x, float *y, uint32_t *argmax, size_t NC,
                                      size_t S)
{
    for (size_t nc = 0; nc < NC; nc++) {
        const float *xp = x + nc * S;
        size_t at = 0;
        float best = xp[0];
        for (size_t i = 1; i < S; i++) {
            const float v = xp[i];
            if (v > best || (v != v && best == best)) {
                best = v;
                at = i;
            }
        }
        y[nc] = best;
        if (argmax != NULL)
            argmax[nc] = (uint32_t)at;
    }
}

/* dy, argmax: (NC); dx: (NC, S), written: dy at each plane's winner, 0 elsewhere. */
static void global_max_backward_kernel(const float *dy, const uint32_t *argmax, float *dx,
                                       size_t NC, size_t S)
{
    memset(dx, 0, NC * S * sizeof(float));
    for (size_t nc = 0; nc < NC; nc++)
        dx[nc * S + argmax[nc]] = dy[nc];
}

/* Planes in fixed blocks on minicnn's threads. */
#define GLOBAL_PLANES_PER_TASK 64

typedef struct global_job {
    const float *src; /* x forward, dy backward */
    float *dst;       /* y forward, dx backward */
    uint32_t *argmax; /* max pooling: the winners (NULL: an inference forward) */
    size_t NC, S;
    bool max, forward;
} global_job;

static void global_task(void *arg, int task, int thread)
{
    (void)thread;
    const global_job *j = arg;
    size_t lo, hi;
    mc__chunk_range(j->NC, (j->NC + GLOBAL_PLANES_PER_TASK - 1) / GLOBAL_PLANES_PER_TASK,
                    (size_t)task, &lo, &hi);
    const size_t n = hi - lo;
    uint32_t *am = j->argmax != NULL ? j->argmax + lo : NULL;
    if (j->forward && j->max)
        global_max_forward_kernel(j->src + lo * j->S, j->dst + lo, am, n, j->S);
    else if (j->forward)
        global_avg_forward_kernel(j->src + lo * j->S, j->dst + lo, n, j->S);
    else if (j->max)
        global_max_backward_kernel(j->src + lo, am, j->dst + lo * j->S, n, j->S);
    else
        global_avg_backward_kernel(j->src + lo, j->dst + lo * j->S, n, j->S);
}

/* ---- Layers ----------------------------------------------------------------------------- */

typedef struct globalpool {
    mc_layer base;
    uint32_t *argmax; /* max pooling: (N, C) of the set-up shape, the last training winners */
    size_t argmax_cap;
} globalpool;

static const mc_layer_vtable global_avg_vtable, global_max_vtable;

static bool is_max(const mc_layer *self)
{
    return self->vt == &global_max_vtable;
}

static mc_status globalpool_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    globalpool *gp = (globalpool *)self;
    char label[MC__LABEL_CAP];
    mc_status st =
        mc__check_image2d(self->ctx, mc__layer_label(self, label, sizeof label), &in[0],
                          is_max(self) ? "global max pooling" : "global average pooling");
    if (st != MC_OK)
        return st;
    const size_t NC = (size_t)in[0].dims[0] * (size_t)in[0].dims[1], S = mc__positions(&in[0]);
    /* The winners are uint32 positions within a channel's plane. */
    if (is_max(self) && S > UINT32_MAX)
        return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                           "%s: %zu positions per channel; global max pooling takes at most %lu",
                           label, S, (unsigned long)UINT32_MAX);
    if (is_max(self) && NC > gp->argmax_cap) {
        uint32_t *argmax = mc__calloc(self->ctx, NC, sizeof *argmax);
        if (argmax == NULL)
            return mc__nomem(self->ctx, "sizing the global max pooling indices");
        mc_free(self->ctx, gp->argmax);
        gp->argmax = argmax;
        gp->argmax_cap = NC;
    } else if (is_max(self)) {
        /* Indices of an earlier, larger plane could point outside this one's planes. */
        memset(gp->argmax, 0, NC * sizeof *gp->argmax);
    }
    *out = mc_shape_make(4, (const int[]){in[0].dims[0], in[0].dims[1], 1, 1});
    return MC_OK;
}

static void run(globalpool *gp, const mc_shape *x, const float *src, float *dst, bool forward,
                bool record)
{
    const size_t NC = (size_t)x->dims[0] * (size_t)x->dims[1];
    global_job j = {.src = src,
                    .dst = dst,
                    .argmax = record ? gp->argmax : NULL,
                    .NC = NC,
                    .S = mc__positions(x),
                    .max = is_max(&gp->base),
                    .forward = forward};
    mc__parallel_for((int)((NC + GLOBAL_PLANES_PER_TASK - 1) / GLOBAL_PLANES_PER_TASK), 0,
                     NC * j.S * 2, global_task, &j);
}

static void globalpool_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                               mc_mode mode)
{
    (void)n_in;
    /* Only a training forward records winners: backward pairs with the last one of those. */
    run((globalpool *)self, &in[0].shape, in[0].data, out->data, true,
        is_max(self) && mode == MC_MODE_TRAINING);
}

static void globalpool_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                                const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    if (din[0].data != NULL)
        run((globalpool *)self, &in[0].shape, dout->data, din[0].data, false, is_max(self));
}

static void globalpool_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    mc__describe_plain(self, t, what,
                       is_max(self) ? "Global max pooling" : "Global average pooling");
}

static void globalpool_destroy(mc_layer *self)
{
    mc_free(self->ctx, ((globalpool *)self)->argmax);
}

static mc_status create(mc_ctx *ctx, const mc_layer_vtable *vt, const char *name, const char *what,
                        mc_layer **out)
{
    *out = NULL;
    return mc__layer_new(ctx, sizeof(globalpool), vt, name, 1, NULL, what, out);
}

mc_status mc_global_avgpool_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    return create(ctx, &global_avg_vtable, name, "creating a global average pooling layer", out);
}

mc_status mc_global_maxpool_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    return create(ctx, &global_max_vtable, name, "creating a global max pooling layer", out);
}

static const mc_layer_vtable global_avg_vtable = {
    .kind = "globalAveragePooling2dLayer",
    .class_name = "GlobalAveragePooling2DLayer",
    .type_label = "Global Average Pooling",
    .default_name = "gapool",
    .role = MC_ROLE_HIDDEN,
    .setup = globalpool_setup,
    .forward = globalpool_forward,
    .backward = globalpool_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = globalpool_describe,
    .destroy = globalpool_destroy,
};

static const mc_layer_vtable global_max_vtable = {
    .kind = "globalMaxPooling2dLayer",
    .class_name = "GlobalMaxPooling2DLayer",
    .type_label = "Global Max Pooling",
    .default_name = "gmpool",
    .role = MC_ROLE_HIDDEN,
    .setup = globalpool_setup,
    .forward = globalpool_forward,
    .backward = globalpool_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer, /* the indices are scratch for backward, not state to save */
    .describe = globalpool_describe,
    .destroy = globalpool_destroy,
};
