/* SPDX-License-Identifier: MIT */
/* batchNormalizationLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/batchnorm.h>

#include "../parallel.h"
#include "../simd.h"
#include "bnstats.h"
#include "norm.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* Statistics are two-pass in double: x - mean is formed in double from the exact float x, so
 * 1e4 + 0.01 * noise keeps its spread (the one-pass E[x^2] - E[x]^2 form loses it). */

/* The kernels run on minicnn's threads in blocks of channels, fixed by C alone: a channel's
 * statistics and gradients are computed by one task, with the same arithmetic whatever the
 * thread count. */
typedef struct bn_job {
    const float *x, *dy, *scale, *offset, *trained_mean, *trained_var;
    float *y, *dx, *dscale, *doffset;
    double *mean, *var, *rstd;
    const double *cmean, *crstd;
    int N, C, blocks;
    size_t S;
    double eps;
} bn_job;

static int bn_blocks(int C)
{
    return C < 64 ? C : 64;
}

/* The channel sums below keep 8 partial sums in double (position s of each plane in sum s % 8),
 * added at the end in one fixed order: the same arithmetic for any thread count, and 8
 * independent chains of adds where one chain held the loops to some 4 cycles per value. */
static double bn_total(const double *p)
{
    return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
}

/* Channel c of x (N, C, S): sum of x - shift, and of (x - shift)^2 when sq is set. */
MC__CLONES static double bn_channel_sum(const float *x, int N, int C, size_t c, size_t S,
                                        double shift, int sq)
{
    double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t S8 = S / 8 * 8;
    for (int n = 0; n < N; n++) {
        const float *xc = x + ((size_t)n * (size_t)C + c) * S;
        if (sq) {
            for (size_t s = 0; s < S8; s += 8)
                for (int k = 0; k < 8; k++) {
                    const double d = (double)xc[s + (size_t)k] - shift;
                    p[k] += d * d;
                }
            for (size_t s = S8; s < S; s++) {
                const double d = (double)xc[s] - shift;
                p[s - S8] += d * d;
            }
        } else {
            for (size_t s = 0; s < S8; s += 8)
                for (int k = 0; k < 8; k++)
                    p[k] += (double)xc[s + (size_t)k];
            for (size_t s = S8; s < S; s++)
                p[s - S8] += (double)xc[s];
        }
    }
    return bn_total(p);
}

/* Channel c of x, dy (N, C, S): *a = sum dy * (x - mu), *b = sum dy. */
MC__CLONES static void bn_channel_grad_sums(const float *x, const float *dy, int N, int C, size_t c,
                                            size_t S, double mu, double *a, double *b)
{
    double pa[8] = {0, 0, 0, 0, 0, 0, 0, 0}, pb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t S8 = S / 8 * 8;
    for (int n = 0; n < N; n++) {
        const size_t base = ((size_t)n * (size_t)C + c) * S;
        const float *xc = x + base, *dc = dy + base;
        for (size_t s = 0; s < S8; s += 8)
            for (int k = 0; k < 8; k++) {
                const double d = dc[s + (size_t)k];
                pa[k] += d * ((double)xc[s + (size_t)k] - mu);
                pb[k] += d;
            }
        for (size_t s = S8; s < S; s++) {
            const double d = dc[s];
            pa[s - S8] += d * ((double)xc[s] - mu);
            pb[s - S8] += d;
        }
    }
    *a = bn_total(pa);
    *b = bn_total(pb);
}

/* Channel c of x, dy, dx (N, C, S): dx = g * (dy - k1 - (x - mu) * k2). */
MC__CLONES static void bn_channel_dx(const float *restrict x, const float *restrict dy,
                                     float *restrict dx, int N, int C, size_t c, size_t S,
                                     double mu, double g, double k1, double k2)
{
    for (int n = 0; n < N; n++) {
        const size_t base = ((size_t)n * (size_t)C + c) * S;
        for (size_t s = 0; s < S; s++)
            dx[base + s] =
                (float)(g * ((double)dy[base + s] - k1 - ((double)x[base + s] - mu) * k2));
    }
}

/* Channel c of x, y (N, C, S): y = (x - mu) * a + b. */
MC__CLONES static void bn_channel_apply(const float *restrict x, float *restrict y, int N, int C,
                                        size_t c, size_t S, double mu, double a, double b)
{
    for (int n = 0; n < N; n++) {
        const size_t base = ((size_t)n * (size_t)C + c) * S;
        for (size_t s = 0; s < S; s++)
            y[base + s] = (float)(((double)x[base + s] - mu) * a + b);
    }
}

static void bn_forward_train_task(void *arg, int task, int thread)
{
    (void)thread;
    const bn_job *j = arg;
    const int N = j->N, C = j->C;
    const size_t S = j->S;
    const double m = (double)N * (double)S;
    size_t c0, c1;
    mc__chunk_range((size_t)C, (size_t)j->blocks, (size_t)task, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        const double mu = bn_channel_sum(j->x, N, C, c, S, 0.0, 0) / m;
        const double v = bn_channel_sum(j->x, N, C, c, S, mu, 1) / m;
        const double r = 1.0 / sqrt(v + j->eps);
        j->mean[c] = mu;
        j->var[c] = v;
        j->rstd[c] = r;
        bn_channel_apply(j->x, j->y, N, C, c, S, mu, (double)j->scale[c] * r, j->offset[c]);
    }
}

/* x, y: (N, C, S); scale, offset: (C); mean, var, rstd: (C) */
void mc_batchnorm_forward_train_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, double *mean, double *var, double *rstd,
                                       int N, int C, size_t S, double eps)
{
    bn_job j = {.x = x,
                .y = y,
                .scale = scale,
                .offset = offset,
                .mean = mean,
                .var = var,
                .rstd = rstd,
                .N = N,
                .C = C,
                .S = S,
                .eps = eps,
                .blocks = bn_blocks(C)};
    mc__parallel_for(j.blocks, 0, 3 * (size_t)N * (size_t)C * S, bn_forward_train_task, &j);
}

static void bn_forward_infer_task(void *arg, int task, int thread)
{
    (void)thread;
    const bn_job *j = arg;
    const int N = j->N, C = j->C;
    const size_t S = j->S;
    size_t c0, c1;
    mc__chunk_range((size_t)C, (size_t)j->blocks, (size_t)task, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        const double mu = j->trained_mean[c];
        const double a = (double)j->scale[c] / sqrt((double)j->trained_var[c] + j->eps);
        const double b = j->offset[c];
        for (int n = 0; n < N; n++) {
            const size_t base = ((size_t)n * (size_t)C + c) * S;
            for (size_t s = 0; s < S; s++)
                j->y[base + s] = (float)(((double)j->x[base + s] - mu) * a + b);
        }
    }
}

/* x, y: (N, C, S); scale, offset, trained_mean, trained_var: (C) */
void mc_batchnorm_forward_infer_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, const float *trained_mean,
                                       const float *trained_var, int N, int C, size_t S, double eps)
{
    bn_job j = {.x = x,
                .y = y,
                .scale = scale,
                .offset = offset,
                .trained_mean = trained_mean,
                .trained_var = trained_var,
                .N = N,
                .C = C,
                .S = S,
                .eps = eps,
                .blocks = bn_blocks(C)};
    mc__parallel_for(j.blocks, 0, 2 * (size_t)N * (size_t)C * S, bn_forward_infer_task, &j);
}

static void bn_backward_task(void *arg, int task, int thread)
{
    (void)thread;
    const bn_job *j = arg;
    const int N = j->N, C = j->C;
    const size_t S = j->S;
    const double m = (double)N * (double)S;
    size_t c0, c1;
    mc__chunk_range((size_t)C, (size_t)j->blocks, (size_t)task, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        const double mu = j->cmean[c], r = j->crstd[c];
        /* a = sum dy * (x - mean), b = sum dy over the channel's N * S values. */
        double a, b;
        bn_channel_grad_sums(j->x, j->dy, N, C, c, S, mu, &a, &b);
        j->dscale[c] += (float)(a * r);
        j->doffset[c] += (float)b;
        if (j->dx == NULL)
            continue;
        /* dx = scale * r * (dy - mean(dy) - xhat * mean(dy .* xhat)), xhat = (x - mean) r */
        const double g = (double)j->scale[c] * r, k1 = b / m, k2 = a * r * r / m;
        bn_channel_dx(j->x, j->dy, j->dx, N, C, c, S, mu, g, k1, k2);
    }
}

/* x, dy, dx: (N, C, S); scale, dscale, doffset, mean, rstd: (C) */
void mc_batchnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx, float *dscale,
                                  float *doffset, int N, int C, size_t S)
{
    bn_job j = {.x = x,
                .dy = dy,
                .scale = scale,
                .cmean = mean,
                .crstd = rstd,
                .dx = dx,
                .dscale = dscale,
                .doffset = doffset,
                .N = N,
                .C = C,
                .S = S,
                .blocks = bn_blocks(C)};
    mc__parallel_for(j.blocks, 0, 3 * (size_t)N * (size_t)C * S, bn_backward_task, &j);
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct batchnorm {
    mc_layer base;
    double epsilon;
    double mean_decay;
    double variance_decay;
    int num_channels; /* 0 while 'auto' */
    mc__init scale_init;
    mc__init offset_init;
    mc_param offset; /* value empty until given or initialized */
    mc_param scale;
    mc_tensor trained_mean; /* buffers, stored (C); empty until given or set up */
    mc_tensor trained_var;
    mc_shape trained_size; /* MATLAB's size of both buffers */
    double *mean;          /* (C): the last training forward's batch statistics */
    double *var;
    double *rstd;
    size_t stats_cap;
} batchnorm;

static const mc_layer_vtable batchnorm_vtable;

mc_batchnorm_options mc_batchnorm_default(void)
{
    mc_batchnorm_options o;
    memset(&o, 0, sizeof o);
    o.epsilon = 1e-5;
    o.mean_decay = 0.1;
    o.variance_decay = 0.1;
    o.scale_learn_rate_factor = 1.0;
    o.offset_learn_rate_factor = 1.0;
    o.scale_l2_factor = 1.0;
    o.offset_l2_factor = 1.0;
    return o;
}

/* An explicit initial value array: each option as given, in the order they are checked. */
typedef struct initial_values {
    const char *what;
    const float *v;
    size_t len;
} initial_values;

/* As mc__check_initial_values, with a count that must fit an int checked first (a length of
 * 0 is never too many). */
static mc_status check_initial_values(mc_ctx *ctx, const char *label, const initial_values *iv,
                                      int num_channels)
{
    if (iv->v != NULL && iv->len > (size_t)0x7fffffff)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: the initial %s has too many elements (%zu)",
                           label, iv->what, iv->len);
    return mc__check_initial_values(ctx, label, iv->what, iv->v, iv->len, "NumChannels",
                                    num_channels);
}

static mc_status check_decay(mc_ctx *ctx, const char *label, const char *option, double value)
{
    if (value >= 0.0 && value <= 1.0) /* false for NaN */
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be a number from 0 to 1, not %g", label,
                       option, value);
}

static mc_status validate(mc_ctx *ctx, const mc_batchnorm_options *o, const mc__norm_options *no,
                          const char *label)
{
    mc_status st = mc__norm_check_epsilon_channels(ctx, label, no);
    if (st == MC_OK)
        st = check_decay(ctx, label, "MeanDecay", o->mean_decay);
    if (st == MC_OK)
        st = check_decay(ctx, label, "VarianceDecay", o->variance_decay);
    if (st == MC_OK)
        st = mc__norm_check_factors(ctx, label, no);
    const initial_values iv[4] = {
        {"Scale", o->scale, o->scale_len},
        {"Offset", o->offset, o->offset_len},
        {"TrainedMean", o->trained_mean, o->trained_mean_len},
        {"TrainedVariance", o->trained_variance, o->trained_variance_len},
    };
    const initial_values *first = NULL; /* the first one given: the others must agree */
    for (int i = 0; st == MC_OK && i < 4; i++) {
        st = check_initial_values(ctx, label, &iv[i], o->num_channels);
        if (st != MC_OK || iv[i].v == NULL)
            continue;
        if (first == NULL)
            first = &iv[i];
        else if (iv[i].len != first->len)
            st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                             "%s: the initial %s has %zu elements but the initial %s has %zu",
                             label, first->what, first->len, iv[i].what, iv[i].len);
    }
    for (size_t i = 0; st == MC_OK && o->trained_variance != NULL && i < o->trained_variance_len;
         i++)
        if (!(o->trained_variance[i] > 0.0f))
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "%s: the initial TrainedVariance must be positive, but element %zu "
                             "is %g",
                             label, i + 1, (double)o->trained_variance[i]);
    return st;
}

/* Copies explicit initial values into a new tensor stored (len). */
static mc_status copy_values(mc_ctx *ctx, mc_tensor *t, const float *v, size_t len)
{
    if (v == NULL)
        return MC_OK;
    const mc_shape storage = mc_shape_make(1, (const int[]){(int)len});
    mc_status st = mc_tensor_create(ctx, &storage, t);
    if (st == MC_OK)
        memcpy(t->data, v, len * sizeof(float));
    return st;
}

static void batchnorm_destroy(mc_layer *self)
{
    batchnorm *bn = (batchnorm *)self;
    mc_ctx *ctx = self->ctx;
    mc__param_release(ctx, &bn->scale);
    mc__param_release(ctx, &bn->offset);
    mc_tensor_release(ctx, &bn->trained_mean);
    mc_tensor_release(ctx, &bn->trained_var);
    mc_free(ctx, bn->mean);
    mc_free(ctx, bn->var);
    mc_free(ctx, bn->rstd);
}

mc_status mc_batchnorm_create(mc_ctx *ctx, const mc_batchnorm_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, batchnorm_vtable.kind);
    const mc__norm_options no = MC__NORM_OPTIONS(opts);
    mc_status st = validate(ctx, opts, &no, label);
    mc__init scale_init, offset_init;
    if (st == MC_OK)
        st = mc__norm_resolve(ctx, label, &no, &scale_init, &offset_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(batchnorm), &batchnorm_vtable, opts->name, 1, NULL,
                           "creating a batch normalization layer", &base);
    if (st != MC_OK)
        return st;
    batchnorm *bn = (batchnorm *)base;
    bn->epsilon = opts->epsilon;
    bn->mean_decay = opts->mean_decay;
    bn->variance_decay = opts->variance_decay;
    bn->num_channels = opts->num_channels;
    bn->scale_init = scale_init;
    bn->offset_init = offset_init;
    st = mc__norm_init_params(ctx, &bn->scale, &bn->offset, &no);
    if (st == MC_OK)
        st = copy_values(ctx, &bn->trained_mean, opts->trained_mean, opts->trained_mean_len);
    if (st == MC_OK)
        st = copy_values(ctx, &bn->trained_var, opts->trained_variance, opts->trained_variance_len);
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "copying the initial Scale, Offset, TrainedMean and TrainedVariance");
        mc_layer_destroy(&bn->base);
        return st;
    }
    if (opts->trained_mean != NULL || opts->trained_variance != NULL) {
        const size_t len =
            opts->trained_mean != NULL ? opts->trained_mean_len : opts->trained_variance_len;
        bn->trained_size = mc__norm_size(MC_DATA_IMAGE2D, (int)len);
    }
    *out = &bn->base;
    return MC_OK;
}

/* A new (C) tensor filled with `value`, unless `t` already holds values (the caller checked
 * their count). */
static mc_status prepare_buffer(mc_ctx *ctx, mc_tensor *t, mc_tensor *fresh, float value, int C)
{
    memset(fresh, 0, sizeof *fresh);
    if (t->data != NULL)
        return MC_OK;
    const mc_shape storage = mc_shape_make(1, &C);
    mc_status st = mc_tensor_create(ctx, &storage, fresh);
    for (int c = 0; st == MC_OK && c < C; c++)
        fresh->data[c] = value;
    return st;
}

static mc_status batchnorm_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    batchnorm *bn = (batchnorm *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    const int C = in[0].dims[1];
    mc_status st = mc__check_num_channels(ctx, label, bn->num_channels, C);
    if (st != MC_OK)
        return st;
    const struct {
        const char *name;
        const mc_tensor *t;
    } given[] = {
        {"Scale", &bn->scale.value},
        {"Offset", &bn->offset.value},
        {"TrainedMean", &bn->trained_mean},
        {"TrainedVariance", &bn->trained_var},
    };
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
        if (given[i].t->data != NULL && mc_tensor_numel(given[i].t) != (size_t)C)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: %s has %zu elements but the input has %d channels", label,
                               given[i].name, mc_tensor_numel(given[i].t), C);
    const mc_data_kind kind = mc_shape_kind(&in[0]);
    st = mc__norm_prepare(ctx, label, &bn->scale, &bn->scale_init, &bn->offset, &bn->offset_init,
                          kind, C);
    if (st != MC_OK)
        return st;

    /* Everything new is made first and committed together, so a failure changes nothing. */
    mc_tensor tm, tv;
    double *mean = NULL, *var = NULL, *rstd = NULL;
    st = prepare_buffer(ctx, &bn->trained_mean, &tm, 0.0f, C);
    if (st == MC_OK)
        st = prepare_buffer(ctx, &bn->trained_var, &tv, 1.0f, C);
    else
        memset(&tv, 0, sizeof tv);
    if (st == MC_OK && (size_t)C > bn->stats_cap) {
        mean = mc__calloc(ctx, (size_t)C, sizeof(double));
        var = mc__calloc(ctx, (size_t)C, sizeof(double));
        rstd = mc__calloc(ctx, (size_t)C, sizeof(double));
        if (mean == NULL || var == NULL || rstd == NULL)
            st = MC_ERR_NOMEM;
    }
    if (st != MC_OK) {
        mc_tensor_release(ctx, &tm);
        mc_tensor_release(ctx, &tv);
        mc_free(ctx, mean);
        mc_free(ctx, var);
        mc_free(ctx, rstd);
        return mc__nomem(ctx, "sizing the batch normalization statistics");
    }
    if (tm.data != NULL)
        bn->trained_mean = tm;
    if (tv.data != NULL)
        bn->trained_var = tv;
    if (mean != NULL) {
        mc_free(ctx, bn->mean);
        mc_free(ctx, bn->var);
        mc_free(ctx, bn->rstd);
        bn->mean = mean;
        bn->var = var;
        bn->rstd = rstd;
        bn->stats_cap = (size_t)C;
    }
    bn->trained_size = mc__norm_size(kind, C);
    bn->num_channels = C;
    *out = in[0];
    return MC_OK;
}

static void batchnorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    (void)n_in;
    batchnorm *bn = (batchnorm *)self;
    const mc_shape *s = &in[0].shape;
    const int N = s->dims[0], C = s->dims[1];
    const size_t S = mc__positions(s);
    if (mode != MC_MODE_TRAINING) {
        mc_batchnorm_forward_infer_kernel(in[0].data, out->data, bn->scale.value.data,
                                          bn->offset.value.data, bn->trained_mean.data,
                                          bn->trained_var.data, N, C, S, bn->epsilon);
        return;
    }
    mc_batchnorm_forward_train_kernel(in[0].data, out->data, bn->scale.value.data,
                                      bn->offset.value.data, bn->mean, bn->var, bn->rstd, N, C, S,
                                      bn->epsilon);
    /* Running statistics: the variance enters unbiased, var * m / (m - 1) (var when m = 1). */
    const double m = (double)N * (double)S;
    const double unbias = m > 1.0 ? m / (m - 1.0) : 1.0;
    const double md = bn->mean_decay, vd = bn->variance_decay;
    float *tm = bn->trained_mean.data, *tv = bn->trained_var.data;
    for (int c = 0; c < C; c++) {
        tm[c] = (float)((1.0 - md) * (double)tm[c] + md * bn->mean[c]);
        tv[c] = (float)((1.0 - vd) * (double)tv[c] + vd * bn->var[c] * unbias);
    }
}

static void batchnorm_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    batchnorm *bn = (batchnorm *)self;
    const mc_shape *s = &in[0].shape;
    mc_batchnorm_backward_kernel(in[0].data, dout->data, bn->scale.value.data, bn->mean, bn->rstd,
                                 din[0].data, bn->scale.grad.data, bn->offset.grad.data, s->dims[0],
                                 s->dims[1], mc__positions(s));
}

static mc_param *batchnorm_param(mc_layer *self, int i)
{
    batchnorm *bn = (batchnorm *)self;
    return i == 0 ? &bn->offset : i == 1 ? &bn->scale : NULL;
}

static mc_tensor *batchnorm_buffer(mc_layer *self, int i, const char **name)
{
    batchnorm *bn = (batchnorm *)self;
    switch (i) {
    case 0:
        *name = "TrainedMean";
        return &bn->trained_mean;
    case 1:
        *name = "TrainedVariance";
        return &bn->trained_var;
    default:
        return NULL;
    }
}

static void batchnorm_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const batchnorm *bn = (const batchnorm *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        if (bn->num_channels > 0)
            mc_text_printf(t, "Batch normalization with %d channels", bn->num_channels);
        else
            mc_text_printf(t, "Batch normalization");
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 19;
    char num[40];
    mc_text_printf(t, "  BatchNormalizationLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc__describe_count(t, w, "NumChannels", bn->num_channels);
    mc_text_printf(t, "%*s: ", w, "TrainedMean");
    mc__describe_array(t, &bn->trained_mean, &bn->trained_size);
    mc_text_printf(t, "\n%*s: ", w, "TrainedVariance");
    mc__describe_array(t, &bn->trained_var, &bn->trained_size);
    mc_text_printf(t, "\n\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: %s\n", w, "MeanDecay",
                   mc_format_short(bn->mean_decay, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "VarianceDecay",
                   mc_format_short(bn->variance_decay, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "Epsilon", mc_format_short(bn->epsilon, num, sizeof num));
    mc__describe_learnables(t, w, &bn->offset, &bn->scale);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, &bn->scale, "Scale", &bn->scale_init, &bn->offset, "Offset",
                          &bn->offset_init);
}

static const mc_layer_vtable batchnorm_vtable = {
    .kind = "batchNormalizationLayer",
    .class_name = "BatchNormalizationLayer",
    .type_label = "Batch Normalization",
    .default_name = "batchnorm",
    .role = MC_ROLE_HIDDEN,
    .setup = batchnorm_setup,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .param = batchnorm_param,
    .buffer = batchnorm_buffer,
    .describe = batchnorm_describe,
    .destroy = batchnorm_destroy,
};

/* ---- Statistics over the whole training set (src/layers/bnstats.h) ---------------------- */

bool mc__batchnorm_is(const mc_layer *layer)
{
    return layer != NULL && layer->vt == &batchnorm_vtable;
}

int mc__batchnorm_channels(const mc_layer *layer)
{
    return ((const batchnorm *)layer)->num_channels;
}

/* acc: (3, C): count, mean, sum of squared deviations */
void mc__batchnorm_population_add(const mc_layer *layer, int n, double *acc)
{
    const batchnorm *bn = (const batchnorm *)layer;
    const int C = bn->num_channels;
    const double m = (double)n * (double)mc__positions(&layer->in_shape[0]);
    double *count = acc, *mean = acc + C, *m2 = acc + 2 * (size_t)C;
    for (int c = 0; c < C; c++) {
        const double total = count[c] + m;
        const double delta = bn->mean[c] - mean[c];
        mean[c] += delta * (m / total);
        m2[c] += bn->var[c] * m + delta * delta * (count[c] * m / total);
        count[c] = total;
    }
}

void mc__batchnorm_population_store(mc_layer *layer, const double *acc)
{
    batchnorm *bn = (batchnorm *)layer;
    const int C = bn->num_channels;
    for (int c = 0; c < C; c++)
        if (acc[c] > 0) {
            bn->trained_mean.data[c] = (float)acc[C + c];
            bn->trained_var.data[c] = (float)(acc[2 * (size_t)C + c] / acc[c]);
        }
}
