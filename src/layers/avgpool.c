/* SPDX-License-Identifier: MIT */
/* averagePooling2dLayer (MATLAB R2020b semantics). */
#include <string.h>

#include <minicnn/poolconcat.h>

#include "../parallel.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The window geometry of one pooling pass. */
typedef struct avg_geom {
    int H, W, PH, PW, SH, SW, pad_top, pad_left, OH, OW;
} avg_geom;

/* Rows [*lo, *hi) of the input that window row o covers along a dimension of length L, for
 * windows of `size` with `stride` after `pad` positions of padding: padded rows are left out. */
static void window_span(int o, int size, int stride, int pad, int L, int *lo, int *hi)
{
    const int start = o * stride - pad;
    *lo = start < 0 ? 0 : start;
    *hi = start + size < L ? start + size : L;
}

/* Forward: x (NC, H, W) to y (NC, OH, OW), each output the sum of its window's real values,
 * row by row in float, divided by PH * PW, so that padded positions count as zeros. */
static void avgpool_forward_kernel(const float *restrict x, float *restrict y, size_t NC,
                                   const avg_geom *g)
{
    const size_t plane = (size_t)g->H * (size_t)g->W, out_plane = (size_t)g->OH * (size_t)g->OW;
    const float area = (float)g->PH * (float)g->PW;
    const int OH = g->OH, OW = g->OW, W = g->W;
    for (size_t nc = 0; nc < NC; nc++) {
        const float *xp = x + nc * plane;
        float *yp = y + nc * out_plane;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window_span(oh, g->PH, g->SH, g->pad_top, g->H, &h0, &h1);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window_span(ow, g->PW, g->SW, g->pad_left, W, &w0, &w1);
                float s = 0.0f;
                for (int h = h0; h < h1; h++) {
                    const float *row = xp + (size_t)h * (size_t)W;
                    for (int w = w0; w < w1; w++)
                        s += row[w];
                }
                yp[(size_t)oh * (size_t)OW + (size_t)ow] = s / area;
            }
        }
    }
}

/* Backward: dy (NC, OH, OW) to dx (NC, H, W), written: each real position receives
 * dy / (PH * PW) of every window that covers it, window by window in row-major order. */
static void avgpool_backward_kernel(const float *restrict dy, float *restrict dx, size_t NC,
                                    const avg_geom *g)
{
    const size_t plane = (size_t)g->H * (size_t)g->W, out_plane = (size_t)g->OH * (size_t)g->OW;
    const float area = (float)g->PH * (float)g->PW;
    const int OH = g->OH, OW = g->OW, W = g->W;
    memset(dx, 0, NC * plane * sizeof(float));
    for (size_t nc = 0; nc < NC; nc++) {
        const float *dyp = dy + nc * out_plane;
        float *dxp = dx + nc * plane;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window_span(oh, g->PH, g->SH, g->pad_top, g->H, &h0, &h1);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window_span(ow, g->PW, g->SW, g->pad_left, W, &w0, &w1);
                const float d = dyp[(size_t)oh * (size_t)OW + (size_t)ow] / area;
                for (int h = h0; h < h1; h++) {
                    float *row = dxp + (size_t)h * (size_t)W;
                    for (int w = w0; w < w1; w++)
                        row[w] += d;
                }
            }
        }
    }
}

/* Planes in fixed blocks on minicnn's threads. */
#define AVG_PLANES_PER_TASK 64

typedef struct avg_job {
    const float *src; /* x forward, dy backward */
    float *dst;       /* y forward, dx backward */
    size_t NC;
    int blocks;
    bool forward;
    avg_geom g;
} avg_job;

static void avg_task(void *arg, int task, int thread)
{
    (void)thread;
    const avg_job *j = arg;
    size_t lo, hi;
    mc__chunk_range(j->NC, (size_t)j->blocks, (size_t)task, &lo, &hi);
    const size_t plane = (size_t)j->g.H * (size_t)j->g.W,
                 out_plane = (size_t)j->g.OH * (size_t)j->g.OW;
    if (j->forward)
        avgpool_forward_kernel(j->src + lo * plane, j->dst + lo * out_plane, hi - lo, &j->g);
    else
        avgpool_backward_kernel(j->src + lo * out_plane, j->dst + lo * plane, hi - lo, &j->g);
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct avgpool {
    mc_layer base;
    int pool[2];   /* [PH PW] */
    int stride[2]; /* [SH SW] */
    int pad[4];    /* [top bottom left right] in use: as given, or for 'same' as set up */
    bool same;
} avgpool;

static const mc_layer_vtable avgpool_vtable;

mc_avgpool_options mc_avgpool_default(int pool_h, int pool_w)
{
    mc_avgpool_options o;
    memset(&o, 0, sizeof o);
    o.pool_size[0] = pool_h;
    o.pool_size[1] = pool_w;
    o.stride[0] = o.stride[1] = 1;
    return o;
}

mc_status mc_avgpool_create(mc_ctx *ctx, const mc_avgpool_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, avgpool_vtable.kind);
    mc_status st = mc__check_pool2d(ctx, label, opts->pool_size, opts->stride, opts->padding,
                                    opts->padding_same);
    if (st != MC_OK)
        return st;
    mc_layer *base = NULL;
    st = mc__layer_new(ctx, sizeof(avgpool), &avgpool_vtable, opts->name, 1, NULL,
                       "creating an average pooling layer", &base);
    if (st != MC_OK)
        return st;
    avgpool *ap = (avgpool *)base;
    memcpy(ap->pool, opts->pool_size, sizeof ap->pool);
    memcpy(ap->stride, opts->stride, sizeof ap->stride);
    ap->same = opts->padding_same;
    if (!ap->same)
        memcpy(ap->pad, opts->padding, sizeof ap->pad);
    *out = base;
    return MC_OK;
}

static mc_status avgpool_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    avgpool *ap = (avgpool *)self;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    mc_status st = mc__check_image2d(self->ctx, label, &in[0], "average pooling");
    if (st != MC_OK)
        return st;
    int pad[4], OH, OW;
    st = mc__pool2d_geometry(self->ctx, label, in[0].dims[2], in[0].dims[3], ap->pool, ap->stride,
                             ap->same, ap->pad, pad, &OH, &OW);
    if (st != MC_OK)
        return st;
    memcpy(ap->pad, pad, sizeof pad);
    *out = mc_shape_make(4, (const int[]){in[0].dims[0], in[0].dims[1], OH, OW});
    return MC_OK;
}

/* One pass over the planes: forward (x to y) or backward (dy to dx). */
static void run(const avgpool *ap, const mc_shape *x, const mc_shape *y, const float *src,
                float *dst, bool forward)
{
    const size_t NC = (size_t)x->dims[0] * (size_t)x->dims[1];
    avg_job j = {.src = src,
                 .dst = dst,
                 .NC = NC,
                 .blocks = (int)((NC + AVG_PLANES_PER_TASK - 1) / AVG_PLANES_PER_TASK),
                 .forward = forward,
                 .g = {x->dims[2], x->dims[3], ap->pool[0], ap->pool[1], ap->stride[0],
                       ap->stride[1], ap->pad[0], ap->pad[2], y->dims[2], y->dims[3]}};
    mc__parallel_for(j.blocks, 0, NC * (size_t)x->dims[2] * (size_t)x->dims[3] * 2, avg_task, &j);
}

static void avgpool_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                            mc_mode mode)
{
    (void)n_in;
    (void)mode;
    run((const avgpool *)self, &in[0].shape, &out->shape, in[0].data, out->data, true);
}

static void avgpool_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                             const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    if (din[0].data != NULL)
        run((const avgpool *)self, &in[0].shape, &out->shape, dout->data, din[0].data, false);
}

static void avgpool_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const avgpool *ap = (const avgpool *)self;
    const int *p = ap->pad;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc__describe_pool2d_summary(t, "average", ap->pool, ap->stride, p, ap->same);
        return;
    }
    /* Property names right-aligned to the longest, PaddingMode (and OutputNames). */
    const int w = 15;
    mc_text_printf(t, "  AveragePooling2DLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc__describe_pool2d_hyper(t, w, ap->pool, ap->stride, p, ap->same);
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
}

static const mc_layer_vtable avgpool_vtable = {
    .kind = "averagePooling2dLayer",
    .class_name = "AveragePooling2DLayer",
    .type_label = "Average Pooling",
    .default_name = "avgpool",
    .role = MC_ROLE_HIDDEN,
    .setup = avgpool_setup,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = avgpool_describe,
    .destroy = mc__no_destroy,
};
