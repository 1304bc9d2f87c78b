/* SPDX-License-Identifier: MIT */
/* crossChannelNormalizationLayer (MATLAB R2020b semantics): local response normalization
 * across channels, y = x / (K + Alpha * ss / w)^Beta (see minicnn/layers3.h). */
#include <math.h>
#include <string.h>

#include <minicnn/layers3.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The channels [c - before, c + after] of a window of w channels: before = floor((w-1)/2)
 * earlier ones and after = floor(w/2) later ones, as MATLAB documents an even window. */
static void window(int w, int *before, int *after)
{
    *before = (w - 1) / 2;
    *after = w / 2;
}

/* acc (B) = the sum over the rows i in [lo, hi] that exist (0 <= i < C) of row i, or of its
 * squares: row i is rows + i * stride. */
static inline void window_sum(const float *rows, size_t stride, int lo, int hi, int C, size_t B,
                              int square, float *acc)
{
    for (size_t s = 0; s < B; s++)
        acc[s] = 0.0f;
    for (int i = lo < 0 ? 0 : lo; i <= hi && i < C; i++) {
        const float *r = rows + (size_t)i * stride;
        if (square)
            for (size_t s = 0; s < B; s++)
                acc[s] += r[s] * r[s];
        else
            for (size_t s = 0; s < B; s++)
                acc[s] += r[s];
    }
}

/* One block of B <= MC_CROSSNORM_BLOCK positions of one observation: x, y, dy, dx point at the
 * observation's first channel at the block's first position, consecutive channels S apart.
 * Forward (dy NULL) writes y. Backward writes dx, with p (C, B) = d^-Beta and t (C, B) =
 * dy x d^(-Beta-1) as workspace. Every value is computed the same way whatever the block's
 * neighbours, so blocks can go to any thread. */
MC__CLONES static void crossnorm_block(const float *x, const float *dy, float *out, int C, size_t S,
                                       size_t B, int w, float a, float beta, float k, float *p,
                                       float *t)
{
    int before, after;
    window(w, &before, &after);
    const float aw = a / (float)w;
    float ss[MC_CROSSNORM_BLOCK];
    for (int c = 0; c < C; c++) {
        window_sum(x, S, c - before, c + after, C, B, 1, ss);
        const float *xc = x + (size_t)c * S;
        if (dy == NULL) {
            float *yc = out + (size_t)c * S;
            for (size_t s = 0; s < B; s++)
                yc[s] = xc[s] * powf(k + aw * ss[s], -beta);
            continue;
        }
        const float *gc = dy + (size_t)c * S;
        float *pc = p + (size_t)c * B, *tc = t + (size_t)c * B;
        for (size_t s = 0; s < B; s++) {
            const float d = k + aw * ss[s];
            pc[s] = powf(d, -beta);
            tc[s] = gc[s] * xc[s] * (pc[s] / d);
        }
    }
    if (dy == NULL)
        return;
    /* Channel j is in the window of the channels i from j - after to j + before. */
    const float coef = 2.0f * aw * beta;
    for (int j = 0; j < C; j++) {
        window_sum(t, B, j - after, j + before, C, B, 0, ss);
        const float *xj = x + (size_t)j * S, *gj = dy + (size_t)j * S, *pj = p + (size_t)j * B;
        float *dxj = out + (size_t)j * S;
        for (size_t s = 0; s < B; s++)
            dxj[s] = gj[s] * pj[s] - coef * xj[s] * ss[s];
    }
}

/* The blocks of positions of one observation. */
static size_t blocks_per_obs(size_t S)
{
    return (S + MC_CROSSNORM_BLOCK - 1) / MC_CROSSNORM_BLOCK;
}

typedef struct crossnorm_job {
    const float *x, *dy;
    float *out;
    float *work; /* backward: 2 * C * MC_CROSSNORM_BLOCK floats per thread */
    int C, w;
    size_t S;
    float a, beta, k;
} crossnorm_job;

/* Task `task`: block task % blocks of observation task / blocks. */
static void crossnorm_task(void *arg, int task, int thread)
{
    const crossnorm_job *j = arg;
    const size_t nb = blocks_per_obs(j->S), n = (size_t)task / nb, b = (size_t)task % nb;
    const size_t s0 = b * MC_CROSSNORM_BLOCK;
    const size_t B = j->S - s0 < MC_CROSSNORM_BLOCK ? j->S - s0 : MC_CROSSNORM_BLOCK;
    const size_t at = n * (size_t)j->C * j->S + s0;
    float *p = NULL, *t = NULL;
    if (j->dy != NULL) {
        p = j->work + (size_t)thread * 2 * (size_t)j->C * MC_CROSSNORM_BLOCK;
        t = p + (size_t)j->C * MC_CROSSNORM_BLOCK;
    }
    crossnorm_block(j->x + at, j->dy != NULL ? j->dy + at : NULL, j->out + at, j->C, j->S, B, j->w,
                    j->a, j->beta, j->k, p, t);
}

static void run_tasks(crossnorm_job *j, int N, int max_threads, int parallel)
{
    const size_t tasks = (size_t)N * blocks_per_obs(j->S);
    if (!parallel) {
        for (size_t i = 0; i < tasks; i++)
            crossnorm_task(j, (int)i, 0);
        return;
    }
    /* some 4 * w + 40 flops an element (the powf) */
    const size_t work = (size_t)N * (size_t)j->C * j->S * (size_t)(j->w + 10);
    mc__parallel_for((int)tasks, max_threads, work, crossnorm_task, j);
}

static crossnorm_job make_job(const float *x, const float *dy, float *out, int C, size_t S, int w,
                              double alpha, double beta, double k, float *work)
{
    return (crossnorm_job){.x = x,
                           .dy = dy,
                           .out = out,
                           .work = work,
                           .C = C,
                           .w = w,
                           .S = S,
                           .a = (float)alpha,
                           .beta = (float)beta,
                           .k = (float)k};
}

/* x, y: (N, C, S) */
void mc_crossnorm_forward_kernel(const float *x, float *y, int N, int C, size_t S, int w,
                                 double alpha, double beta, double k)
{
    crossnorm_job j = make_job(x, NULL, y, C, S, w, alpha, beta, k, NULL);
    run_tasks(&j, N, 0, 0);
}

/* x, dy, dx: (N, C, S); work: 2 * C * MC_CROSSNORM_BLOCK floats */
void mc_crossnorm_backward_kernel(const float *x, const float *dy, float *dx, int N, int C,
                                  size_t S, int w, double alpha, double beta, double k, float *work)
{
    crossnorm_job j = make_job(x, dy, dx, C, S, w, alpha, beta, k, work);
    run_tasks(&j, N, 1, 0);
}

/* ---- Layer ------------------------------------------------------------------------------ */

/* The most threads backward gives a workspace to (more tasks run on fewer threads). */
#define CROSSNORM_THREADS MC__MAX_CHUNKS

typedef struct crossnorm {
    mc_layer base;
    int window;
    double alpha, beta, k;
    float *work; /* CROSSNORM_THREADS workspaces of 2 * C * MC_CROSSNORM_BLOCK floats */
    size_t work_cap;
} crossnorm;

static const mc_layer_vtable crossnorm_vtable;

mc_crossnorm_options mc_crossnorm_default(int window_channel_size)
{
    mc_crossnorm_options o;
    memset(&o, 0, sizeof o);
    o.window_channel_size = window_channel_size;
    o.alpha = 1e-4;
    o.beta = 0.75;
    o.k = 2.0;
    return o;
}

static mc_status validate(mc_ctx *ctx, const char *label, const mc_crossnorm_options *o)
{
    if (o->window_channel_size < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: WindowChannelSize must be a positive integer, not %d", label,
                           o->window_channel_size);
    if (!isfinite(o->alpha))
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: Alpha must be a finite number, not %g", label,
                           o->alpha);
    if (!isfinite(o->beta) || o->beta < 0.01)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Beta must be a finite number of at least 0.01, not %g", label,
                           o->beta);
    if (!isfinite(o->k) || o->k < 1e-5)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: K must be a finite number of at least 1e-05, not %g", label, o->k);
    return MC_OK;
}

mc_status mc_crossnorm_create(mc_ctx *ctx, const mc_crossnorm_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, crossnorm_vtable.kind);
    mc_status st = validate(ctx, label, opts);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(crossnorm), &crossnorm_vtable, opts->name, 1, NULL,
                           "creating a cross-channel normalization layer", &base);
    if (st != MC_OK)
        return st;
    crossnorm *cn = (crossnorm *)base;
    cn->window = opts->window_channel_size;
    cn->alpha = opts->alpha;
    cn->beta = opts->beta;
    cn->k = opts->k;
    *out = base;
    return MC_OK;
}

static mc_status crossnorm_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    crossnorm *cn = (crossnorm *)self;
    const size_t need = (size_t)CROSSNORM_THREADS * 2 * (size_t)in[0].dims[1] * MC_CROSSNORM_BLOCK;
    if (mc__grow_floats(self->ctx, &cn->work, &cn->work_cap, need) != MC_OK)
        return mc__nomem(self->ctx, "sizing the cross-channel normalization workspace");
    *out = in[0];
    return MC_OK;
}

static void crossnorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    (void)n_in;
    (void)mode;
    const crossnorm *cn = (const crossnorm *)self;
    const mc_shape *s = &in[0].shape;
    crossnorm_job j = make_job(in[0].data, NULL, out->data, s->dims[1], mc__positions(s),
                               cn->window, cn->alpha, cn->beta, cn->k, NULL);
    run_tasks(&j, s->dims[0], 0, 1);
}

static void crossnorm_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    if (din[0].data == NULL)
        return;
    const crossnorm *cn = (const crossnorm *)self;
    const mc_shape *s = &in[0].shape;
    crossnorm_job j = make_job(in[0].data, dout->data, din[0].data, s->dims[1], mc__positions(s),
                               cn->window, cn->alpha, cn->beta, cn->k, cn->work);
    run_tasks(&j, s->dims[0], CROSSNORM_THREADS, 1);
}

static void crossnorm_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const crossnorm *cn = (const crossnorm *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "cross channel normalization with %d channels per element", cn->window);
        return;
    }
    /* Names right-aligned to the longest, WindowChannelSize. */
    const int w = 21;
    char num[40];
    mc_text_printf(t, "  CrossChannelNormalizationLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc_text_printf(t, "\n   Hyperparameters\n%*s: %d\n", w, "WindowChannelSize", cn->window);
    mc_text_printf(t, "%*s: %s\n", w, "Alpha", mc_format_short(cn->alpha, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "Beta", mc_format_short(cn->beta, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "K", mc_format_short(cn->k, num, sizeof num));
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
}

static void crossnorm_destroy(mc_layer *self)
{
    mc_free(self->ctx, ((crossnorm *)self)->work);
}

static const mc_layer_vtable crossnorm_vtable = {
    .kind = "crossChannelNormalizationLayer",
    .class_name = "CrossChannelNormalizationLayer",
    .type_label = "Cross Channel Normalization",
    .default_name = "crossnorm",
    .role = MC_ROLE_HIDDEN,
    .setup = crossnorm_setup,
    .forward = crossnorm_forward,
    .backward = crossnorm_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = crossnorm_describe,
    .destroy = crossnorm_destroy,
};
