/* SPDX-License-Identifier: MIT */
/* imageInputLayer and featureInputLayer (MATLAB R2020b semantics): one file, as they share the
 * normalization and the fitting of its statistics. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <minicnn/input.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* The statistics, in the order of their buffers. */
enum { STAT_MEAN, STAT_SD, STAT_MIN, STAT_MAX, N_STATS };
static const char *const stat_names[N_STATS] = {"Mean", "StandardDeviation", "Min", "Max"};

static const char *const norm_names[] = {"zerocenter",       "zscore", "rescale-symmetric",
                                         "rescale-zero-one", "none",   NULL};
#define N_NORMS 5

/* Whether `norm` uses statistic k. */
static bool uses(mc_normalization norm, int k)
{
    switch (norm) {
    case MC_NORM_ZEROCENTER:
        return k == STAT_MEAN;
    case MC_NORM_ZSCORE:
        return k == STAT_MEAN || k == STAT_SD;
    case MC_NORM_RESCALE_SYMMETRIC:
    case MC_NORM_RESCALE_ZERO_ONE:
        return k == STAT_MIN || k == STAT_MAX;
    case MC_NORM_NONE:
        break;
    }
    return false;
}

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The normalizations of groups [g0, g0 + n) as y = (x - center) * mul + add: center, mul,
 * add: (n). A zero standard deviation or range counts as 1. stat[k] is (G), NULL for
 * statistics `norm` does not use. One loop per normalization, over the groups. */
static void group_affines(mc_normalization norm, const float *const *stat, size_t g0, size_t n,
                          double *center, double *mul, double *add)
{
    for (size_t g = 0; g < n; g++) {
        center[g] = 0.0;
        mul[g] = 1.0;
        add[g] = 0.0;
    }
    switch (norm) {
    case MC_NORM_ZEROCENTER:
        for (size_t g = 0; g < n; g++)
            center[g] = stat[STAT_MEAN][g0 + g];
        break;
    case MC_NORM_ZSCORE:
        for (size_t g = 0; g < n; g++) {
            const double sd = stat[STAT_SD][g0 + g];
            center[g] = stat[STAT_MEAN][g0 + g];
            mul[g] = 1.0 / (sd != 0.0 ? sd : 1.0);
        }
        break;
    case MC_NORM_RESCALE_SYMMETRIC:
    case MC_NORM_RESCALE_ZERO_ONE:
        for (size_t g = 0; g < n; g++) {
            const double range = (double)stat[STAT_MAX][g0 + g] - (double)stat[STAT_MIN][g0 + g];
            const double width = range != 0.0 ? range : 1.0;
            center[g] = stat[STAT_MIN][g0 + g];
            if (norm == MC_NORM_RESCALE_SYMMETRIC) {
                mul[g] = 2.0 / width;
                add[g] = -1.0;
            } else {
                mul[g] = 1.0 / width;
            }
        }
        break;
    case MC_NORM_NONE:
        break;
    }
}

/* The groups' affines a block at a time, so that the loops over elements (one per group, in
 * image input: statistics per pixel) run over whole rows. */
#define AFFINE_BLOCK 64

/* y = (x - center) * mul + add for groups [g0, g0 + ng) of the N observations: x, y: (N, G, L)
 * from group g0; center, mul, add: (ng). */
MC__CLONES static void normalize_block(const float *x, float *y, const double *center,
                                       const double *mul, const double *add, int N, size_t G,
                                       size_t L, size_t ng)
{
    for (int n = 0; n < N; n++) {
        const size_t base = (size_t)n * G * L;
        if (L == 1) {
            for (size_t g = 0; g < ng; g++)
                y[base + g] = (float)(((double)x[base + g] - center[g]) * mul[g] + add[g]);
            continue;
        }
        for (size_t g = 0; g < ng; g++)
            for (size_t l = 0; l < L; l++) {
                const size_t i = base + g * L + l;
                y[i] = (float)(((double)x[i] - center[g]) * mul[g] + add[g]);
            }
    }
}

/* x, y: (N, G, L); stat[k]: (G) */
static void normalize_kernel(const float *x, float *y, mc_normalization norm,
                             const float *const *stat, int N, size_t G, size_t L)
{
    for (size_t g0 = 0; g0 < G; g0 += AFFINE_BLOCK) {
        const size_t ng = G - g0 < AFFINE_BLOCK ? G - g0 : AFFINE_BLOCK;
        double center[AFFINE_BLOCK], mul[AFFINE_BLOCK], add[AFFINE_BLOCK];
        group_affines(norm, stat, g0, ng, center, mul, add);
        normalize_block(x + g0 * L, y + g0 * L, center, mul, add, N, G, L, ng);
    }
}

/* dy, dx: (N, G, L); stat[k]: (G). dx = dy * dy/dx. */
static void normalize_backward_kernel(const float *dy, float *dx, mc_normalization norm,
                                      const float *const *stat, int N, size_t G, size_t L)
{
    for (int n = 0; n < N; n++) {
        for (size_t g = 0; g < G; g++) {
            double center, mul, add;
            group_affines(norm, stat, g, 1, &center, &mul, &add);
            const size_t base = ((size_t)n * G + g) * L;
            for (size_t l = 0; l < L; l++)
                dx[base + l] = (float)((double)dy[base + l] * mul);
        }
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

/* Accumulators of a fit in progress, (G) each; only those the normalization needs. */
typedef struct fit_state {
    bool active;
    long long count; /* observations added */
    double *mean;    /* merged over the batches so far (Chan, Golub and LeVeque) */
    double *m2;      /* sum of squared deviations from `mean` */
    double *bmean;   /* scratch: one batch's mean and squared deviations */
    double *bm2;
    float *lo;
    float *hi;
    bool bad;          /* a non-finite value was seen: */
    long long bad_obs; /* its observation (1-based over the whole fit) */
    size_t bad_elem;   /* its index within the observation */
    float bad_value;
} fit_state;

typedef struct input_layer {
    mc_layer base;
    bool image;
    int height, width, channels; /* feature input: 1, 1, F */
    mc_normalization norm;
    mc_norm_dimension dim_option; /* as given, for display */
    size_t groups;           /* G statistics per buffer, each over L values of an observation */
    size_t group_len;        /* L */
    mc_tensor stat[N_STATS]; /* the buffers `norm` uses (others empty), stored (G) */
    mc_shape stat_size;      /* MATLAB's size of each buffer */
    bool fitted;
    fit_state fit;
} input_layer;

static const mc_layer_vtable image_input_vtable;
static const mc_layer_vtable feature_input_vtable;

static input_layer *as_input(const mc_layer *layer)
{
    if (layer->vt == &image_input_vtable || layer->vt == &feature_input_vtable)
        return (input_layer *)layer;
    return NULL;
}

const char *mc_normalization_name(mc_normalization n)
{
    return (unsigned)n < N_NORMS ? norm_names[n] : "unknown";
}

mc_status mc_normalization_parse(mc_ctx *ctx, const char *text, mc_normalization *out)
{
    if (text == NULL)
        text = "";
    for (int i = 0; i < N_NORMS; i++) {
        if (strcasecmp(text, norm_names[i]) == 0) {
            *out = (mc_normalization)i;
            return MC_OK;
        }
    }
    const char *hint = mc__closest(text, norm_names);
    char suggestion[64] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean '%s'?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "unknown normalization '%s'%s; expected 'zerocenter', 'zscore', "
                       "'rescale-symmetric', 'rescale-zero-one' or 'none'",
                       text, suggestion);
}

mc_image_input_options mc_image_input_default(int height, int width, int channels)
{
    mc_image_input_options o;
    memset(&o, 0, sizeof o);
    o.input_size[0] = height;
    o.input_size[1] = width;
    o.input_size[2] = channels;
    o.normalization = MC_NORM_ZEROCENTER;
    o.normalization_dimension = MC_NORMDIM_AUTO;
    return o;
}

mc_feature_input_options mc_feature_input_default(int num_features)
{
    mc_feature_input_options o;
    memset(&o, 0, sizeof o);
    o.num_features = num_features;
    o.normalization = MC_NORM_NONE;
    o.normalization_dimension = MC_NORMDIM_AUTO;
    return o;
}

static mc_status check_normalization(mc_ctx *ctx, const char *label, mc_normalization norm,
                                     mc_norm_dimension dim)
{
    if ((unsigned)norm >= N_NORMS)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: unknown normalization %d", label, (int)norm);
    if ((unsigned)dim > MC_NORMDIM_ALL)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: unknown normalization dimension %d", label,
                           (int)dim);
    return MC_OK;
}

static void fit_release(input_layer *il)
{
    mc_ctx *ctx = il->base.ctx;
    fit_state *f = &il->fit;
    mc_free(ctx, f->mean);
    mc_free(ctx, f->m2);
    mc_free(ctx, f->bmean);
    mc_free(ctx, f->bm2);
    mc_free(ctx, f->lo);
    mc_free(ctx, f->hi);
    memset(f, 0, sizeof *f);
}

static void input_destroy(mc_layer *self)
{
    input_layer *il = (input_layer *)self;
    for (int k = 0; k < N_STATS; k++)
        mc_tensor_release(self->ctx, &il->stat[k]);
    fit_release(il);
}

/* Creates either kind once the options are checked: H x W x C images or 1 x 1 x F features. */
static mc_status create_input(mc_ctx *ctx, const mc_layer_vtable *vt, const char *name, int height,
                              int width, int channels, mc_normalization norm, mc_norm_dimension dim,
                              mc_layer **out)
{
    mc_layer *base = NULL;
    mc_status st = mc__layer_new(ctx, sizeof(input_layer), vt, name, 1, NULL,
                                 "creating an input layer", &base);
    if (st != MC_OK)
        return st;
    input_layer *il = (input_layer *)base;
    il->image = vt == &image_input_vtable;
    il->height = height;
    il->width = width;
    il->channels = channels;
    il->norm = norm;
    il->dim_option = dim;
    const size_t S = (size_t)height * (size_t)width;
    mc_shape storage;
    switch (dim) {
    case MC_NORMDIM_ALL:
        il->groups = 1;
        il->group_len = (size_t)channels * S;
        storage = mc_shape_make(1, (const int[]){1});
        il->stat_size = mc_shape_make(2, (const int[]){1, 1});
        break;
    case MC_NORMDIM_CHANNEL:
        il->groups = (size_t)channels;
        il->group_len = S;
        storage = mc_shape_make(1, &channels);
        il->stat_size = il->image ? mc_shape_make(3, (const int[]){1, 1, channels})
                                  : mc_shape_make(2, (const int[]){channels, 1});
        break;
    default: /* 'auto' and 'element' */
        il->groups = (size_t)channels * S;
        il->group_len = 1;
        storage = il->image ? mc_shape_make(3, (const int[]){channels, height, width})
                            : mc_shape_make(1, &channels);
        il->stat_size = il->image ? mc_shape_make(3, (const int[]){height, width, channels})
                                  : mc_shape_make(2, (const int[]){channels, 1});
        break;
    }
    /* Neutral statistics until fitted: Mean 0, StandardDeviation 1, Min 0, Max 1. */
    for (int k = 0; st == MC_OK && k < N_STATS; k++) {
        if (!uses(norm, k))
            continue;
        st = mc_tensor_create(ctx, &storage, &il->stat[k]);
        for (size_t g = 0; st == MC_OK && g < il->groups && (k == STAT_SD || k == STAT_MAX); g++)
            il->stat[k].data[g] = 1.0f;
    }
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "creating the input normalization statistics");
        mc_layer_destroy(&il->base);
        return st;
    }
    *out = &il->base;
    return MC_OK;
}

mc_status mc_image_input_create(mc_ctx *ctx, const mc_image_input_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, image_input_vtable.kind);
    const int H = opts->input_size[0], W = opts->input_size[1], C = opts->input_size[2];
    if (H < 1 || W < 1 || C < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: InputSize must be [H W C] with positive integers, not [%d %d %d]",
                           label, H, W, C);
    if ((double)H * (double)W * (double)C > (double)INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: InputSize [%d %d %d] has more than %d values per image", label, H,
                           W, C, INT_MAX);
    mc_status st =
        check_normalization(ctx, label, opts->normalization, opts->normalization_dimension);
    if (st != MC_OK)
        return st;
    return create_input(ctx, &image_input_vtable, opts->name, H, W, C, opts->normalization,
                        opts->normalization_dimension, out);
}

mc_status mc_feature_input_create(mc_ctx *ctx, const mc_feature_input_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, feature_input_vtable.kind);
    if (opts->num_features < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the number of features must be a positive integer, not %d", label,
                           opts->num_features);
    mc_status st =
        check_normalization(ctx, label, opts->normalization, opts->normalization_dimension);
    if (st != MC_OK)
        return st;
    return create_input(ctx, &feature_input_vtable, opts->name, 1, 1, opts->num_features,
                        opts->normalization, opts->normalization_dimension, out);
}

/* "feature data (N x F = 4x784)" and the like, for messages. */
static void describe_data(const mc_shape *s, char *buf, size_t cap)
{
    static const char *const what[] = {"data", "feature data", "sequence data", "image data",
                                       "3-D image data"};
    static const char *const axes[] = {"", "N x F", "N x C x T", "N x C x H x W",
                                       "N x C x D x H x W"};
    const mc_data_kind kind = mc_shape_kind(s);
    char dims[96];
    mc_shape_format(s, "x", dims, sizeof dims);
    snprintf(buf, cap, "%s (%s = %s)", what[kind], axes[kind], dims);
}

static mc_status input_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    input_layer *il = (input_layer *)self;
    char label[MC__LABEL_CAP], data[160];
    mc__layer_label(self, label, sizeof label);
    const mc_shape *s = &in[0];
    if (il->image) {
        if (s->ndim == 4 &&
            (s->dims[1] != il->channels || s->dims[2] != il->height || s->dims[3] != il->width))
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: the layer takes %dx%dx%d images (H x W x C) but the data is "
                               "%dx%dx%d",
                               label, il->height, il->width, il->channels, s->dims[2], s->dims[3],
                               s->dims[1]);
        if (s->ndim != 4) {
            describe_data(s, data, sizeof data);
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: the layer takes %dx%dx%d images (H x W x C) but the data is "
                               "%s",
                               label, il->height, il->width, il->channels, data);
        }
    } else {
        if (s->ndim == 2 && s->dims[1] != il->channels)
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: the layer takes %d features but the data has %d", label,
                               il->channels, s->dims[1]);
        if (s->ndim != 2) {
            describe_data(s, data, sizeof data);
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: the layer takes %d features but the data is %s", label,
                               il->channels, data);
        }
    }
    *out = *s;
    return MC_OK;
}

static void stat_pointers(const input_layer *il, const float *stat[N_STATS])
{
    for (int k = 0; k < N_STATS; k++)
        stat[k] = il->stat[k].data;
}

/* Observations in fixed chunks on minicnn's threads. */
typedef struct input_job {
    const float *x;
    float *y;
    mc_normalization norm;
    const float *const *stat;
    int N;
    size_t G, L;
} input_job;

static void input_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const input_job *j = arg;
    size_t lo, hi;
    mc__chunk_range((size_t)j->N, (size_t)mc__chunks(j->N), (size_t)task, &lo, &hi);
    const size_t per = j->G * j->L;
    normalize_kernel(j->x + lo * per, j->y + lo * per, j->norm, j->stat, (int)(hi - lo), j->G,
                     j->L);
}

static void input_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                          mc_mode mode)
{
    (void)n_in;
    (void)mode; /* the same in training and inference */
    const input_layer *il = (const input_layer *)self;
    const float *stat[N_STATS];
    stat_pointers(il, stat);
    input_job j = {.x = in[0].data,
                   .y = out->data,
                   .norm = il->norm,
                   .stat = stat,
                   .N = in[0].shape.dims[0],
                   .G = il->groups,
                   .L = il->group_len};
    mc__parallel_for(mc__chunks(j.N), 0, 2 * (size_t)j.N * j.G * j.L, input_forward_task, &j);
}

/* No parameters, and the network's data needs no gradient; a caller that asks for it anyway
 * gets the exact derivative, as from any other layer. */
static void input_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                           const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    if (din[0].data == NULL)
        return;
    const input_layer *il = (const input_layer *)self;
    const float *stat[N_STATS];
    stat_pointers(il, stat);
    normalize_backward_kernel(dout->data, din[0].data, il->norm, stat, in[0].shape.dims[0],
                              il->groups, il->group_len);
}

static mc_tensor *input_buffer(mc_layer *self, int i, const char **name)
{
    input_layer *il = (input_layer *)self;
    for (int k = 0; k < N_STATS; k++) {
        if (!uses(il->norm, k))
            continue;
        if (i-- == 0) {
            *name = stat_names[k];
            return &il->stat[k];
        }
    }
    return NULL;
}

static const char *dimension_name(mc_norm_dimension d)
{
    switch (d) {
    case MC_NORMDIM_ELEMENT:
        return "element";
    case MC_NORMDIM_CHANNEL:
        return "channel";
    case MC_NORMDIM_ALL:
        return "all";
    case MC_NORMDIM_AUTO:
        break;
    }
    return "auto";
}

static void input_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const input_layer *il = (const input_layer *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        if (il->image)
            mc_text_printf(t, "%dx%dx%d images", il->height, il->width, il->channels);
        else
            mc_text_printf(t, "%d features", il->channels);
        if (il->norm != MC_NORM_NONE)
            mc_text_printf(t, " with '%s' normalization", mc_normalization_name(il->norm));
        return;
    }
    /* Property names right-aligned in one column as wide as 'NormalizationDimension' plus
     * MATLAB's indent. Input layers have no hidden properties, so no "Show all properties". */
    const int w = 26;
    mc_text_printf(t, "  %s with properties:\n\n", self->vt->class_name);
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL) {
        mc_text_printf(t, "%*s: 0\n", w, "NumInputs");
        mc_text_printf(t, "%*s: {}\n", w, "InputNames");
        mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
        mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
    }
    if (il->image)
        mc_text_printf(t, "%*s: [%d %d %d]\n", w, "InputSize", il->height, il->width, il->channels);
    else
        mc_text_printf(t, "%*s: %d\n", w, "NumFeatures", il->channels);
    mc_text_printf(t, "\n   Hyperparameters\n");
    if (il->image)
        mc_text_printf(t, "%*s: 'none'\n", w, "DataAugmentation");
    mc_text_printf(t, "%*s: '%s'\n", w, "Normalization", mc_normalization_name(il->norm));
    mc_text_printf(t, "%*s: '%s'\n", w, "NormalizationDimension", dimension_name(il->dim_option));
    static const int shown[N_STATS] = {STAT_MEAN, STAT_SD, STAT_MAX, STAT_MIN}; /* MATLAB's */
    for (int j = 0; j < N_STATS; j++) {
        const int k = shown[j];
        if (!uses(il->norm, k))
            continue;
        mc_text_printf(t, "%*s: ", w, stat_names[k]);
        if (!il->fitted) {
            mc_text_printf(t, "[]\n");
        } else if (il->groups == 1) { /* MATLAB shows a scalar's value */
            char num[40];
            mc_text_printf(t, "%s\n", mc_format_short(il->stat[k].data[0], num, sizeof num));
        } else {
            char dims[96];
            mc_shape_format(&il->stat_size, "\xc3\x97", dims, sizeof dims);
            mc_text_printf(t, "[%s single]\n", dims);
        }
    }
}

mc_shape mc_input_data_shape(const mc_layer *layer, int N)
{
    const input_layer *il = as_input(layer);
    if (il == NULL)
        return mc_shape_make(0, NULL);
    if (il->image)
        return mc_shape_make(4, (const int[]){N, il->channels, il->height, il->width});
    return mc_shape_make(2, (const int[]){N, il->channels});
}

/* ---- Fitting the statistics ------------------------------------------------------------- */

static mc_status not_input(const mc_layer *layer, const char *function)
{
    char label[MC__LABEL_CAP];
    return mc_ctx_fail(layer->ctx, MC_ERR_INVALID,
                       "%s: %s needs an image or feature input layer, not a %s",
                       mc__layer_label(layer, label, sizeof label), function, layer->vt->kind);
}

mc_status mc_input_fit_begin(mc_layer *layer)
{
    input_layer *il = as_input(layer);
    if (il == NULL)
        return not_input(layer, "mc_input_fit_begin");
    fit_release(il);
    mc_ctx *ctx = layer->ctx;
    fit_state *f = &il->fit;
    const size_t G = il->groups;
    bool ok = true;
    if (uses(il->norm, STAT_MEAN)) {
        f->mean = mc__calloc(ctx, G, sizeof(double));
        f->bmean = mc__calloc(ctx, G, sizeof(double));
        ok = f->mean != NULL && f->bmean != NULL;
    }
    if (ok && uses(il->norm, STAT_SD)) {
        f->m2 = mc__calloc(ctx, G, sizeof(double));
        f->bm2 = mc__calloc(ctx, G, sizeof(double));
        ok = f->m2 != NULL && f->bm2 != NULL;
    }
    if (ok && uses(il->norm, STAT_MIN)) {
        f->lo = mc__calloc(ctx, G, sizeof(float));
        f->hi = mc__calloc(ctx, G, sizeof(float));
        ok = f->lo != NULL && f->hi != NULL;
    }
    if (!ok) {
        fit_release(il);
        return mc__nomem(ctx, "preparing to fit the input normalization statistics");
    }
    f->active = true;
    return MC_OK;
}

/* Merges a batch of n finite observations into the accumulators. Each batch is reduced on
 * its own (two passes) and merged with Chan's formula, so the result does not depend on how
 * the data is split beyond rounding. */
static void accumulate(input_layer *il, const float *x, int n)
{
    fit_state *f = &il->fit;
    const size_t G = il->groups, L = il->group_len, P = G * L;
    const double nb = (double)n * (double)L, na = (double)f->count * (double)L;
    if (f->mean != NULL) {
        memset(f->bmean, 0, G * sizeof(double));
        for (int i = 0; i < n; i++)
            for (size_t g = 0; g < G; g++)
                for (size_t l = 0; l < L; l++)
                    f->bmean[g] += x[(size_t)i * P + g * L + l];
        for (size_t g = 0; g < G; g++)
            f->bmean[g] /= nb;
        if (f->m2 != NULL) {
            memset(f->bm2, 0, G * sizeof(double));
            for (int i = 0; i < n; i++)
                for (size_t g = 0; g < G; g++)
                    for (size_t l = 0; l < L; l++) {
                        const double d = (double)x[(size_t)i * P + g * L + l] - f->bmean[g];
                        f->bm2[g] += d * d;
                    }
        }
        for (size_t g = 0; g < G; g++) {
            const double delta = f->bmean[g] - f->mean[g];
            f->mean[g] += delta * (nb / (na + nb));
            if (f->m2 != NULL)
                f->m2[g] += f->bm2[g] + delta * delta * (na * nb / (na + nb));
        }
    }
    if (f->lo != NULL) {
        if (f->count == 0)
            for (size_t g = 0; g < G; g++)
                f->lo[g] = f->hi[g] = x[g * L];
        for (int i = 0; i < n; i++)
            for (size_t g = 0; g < G; g++)
                for (size_t l = 0; l < L; l++) {
                    const float v = x[(size_t)i * P + g * L + l];
                    f->lo[g] = v < f->lo[g] ? v : f->lo[g];
                    f->hi[g] = v > f->hi[g] ? v : f->hi[g];
                }
    }
}

void mc_input_fit_add(mc_layer *layer, const float *x, int n)
{
    input_layer *il = as_input(layer);
    if (il == NULL || !il->fit.active || x == NULL || n < 1)
        return;
    fit_state *f = &il->fit;
    const size_t P = il->groups * il->group_len;
    for (int i = 0; !f->bad && i < n; i++) {
        for (size_t p = 0; p < P; p++) {
            const float v = x[(size_t)i * P + p];
            if (!isfinite(v)) {
                f->bad = true;
                f->bad_obs = f->count + i + 1;
                f->bad_elem = p;
                f->bad_value = v;
                break;
            }
        }
    }
    if (!f->bad) /* after a bad value the fit fails anyway */
        accumulate(il, x, n);
    f->count += n;
}

/* "channel 2, row 3, column 4" or "feature 5" for an index within an observation. */
static void describe_position(const input_layer *il, size_t p, char *buf, size_t cap)
{
    if (!il->image) {
        snprintf(buf, cap, "feature %zu", p + 1);
        return;
    }
    const size_t S = (size_t)il->height * (size_t)il->width;
    snprintf(buf, cap, "channel %zu, row %zu, column %zu", p / S + 1, p % S / (size_t)il->width + 1,
             p % (size_t)il->width + 1);
}

mc_status mc_input_fit_end(mc_layer *layer)
{
    input_layer *il = as_input(layer);
    if (il == NULL)
        return not_input(layer, "mc_input_fit_end");
    mc_ctx *ctx = layer->ctx;
    fit_state *f = &il->fit;
    char label[MC__LABEL_CAP], where[96];
    mc__layer_label(layer, label, sizeof label);
    mc_status st = MC_OK;
    if (!f->active) {
        st = mc_ctx_fail(ctx, MC_ERR_STATE,
                         "%s: mc_input_fit_end called without "
                         "mc_input_fit_begin",
                         label);
    } else if (f->count == 0) {
        st = mc_ctx_fail(ctx, MC_ERR_STATE,
                         "%s: no observations were added to fit the '%s' normalization", label,
                         mc_normalization_name(il->norm));
    } else if (f->bad) {
        describe_position(il, f->bad_elem, where, sizeof where);
        st = mc_ctx_fail(ctx, MC_ERR_NUMERIC,
                         "%s: observation %lld of the training data has the non-finite value %g "
                         "(%s); the '%s' normalization needs finite data",
                         label, f->bad_obs, (double)f->bad_value, where,
                         mc_normalization_name(il->norm));
    } else {
        const double m = (double)f->count * (double)il->group_len;
        for (size_t g = 0; g < il->groups; g++) {
            if (f->mean != NULL)
                il->stat[STAT_MEAN].data[g] = (float)f->mean[g];
            if (f->m2 != NULL) /* the population standard deviation */
                il->stat[STAT_SD].data[g] = (float)sqrt(f->m2[g] / m);
            if (f->lo != NULL) {
                il->stat[STAT_MIN].data[g] = f->lo[g];
                il->stat[STAT_MAX].data[g] = f->hi[g];
            }
        }
        il->fitted = true;
    }
    fit_release(il);
    return st;
}

bool mc_input_is_fitted(const mc_layer *layer)
{
    const input_layer *il = as_input(layer);
    return il != NULL && il->fitted;
}

void mc_input_set_fitted(mc_layer *layer, bool fitted)
{
    input_layer *il = as_input(layer);
    if (il != NULL)
        il->fitted = fitted;
}

bool mc_input_needs_fit(const mc_layer *layer)
{
    const input_layer *il = as_input(layer);
    return il != NULL && il->norm != MC_NORM_NONE;
}

mc_status mc__input_check_fitted(const mc_layer *layer)
{
    const input_layer *il = as_input(layer);
    if (il == NULL || il->norm == MC_NORM_NONE || il->fitted)
        return MC_OK;
    char label[MC__LABEL_CAP];
    return mc_ctx_fail(layer->ctx, MC_ERR_STATE,
                       "%s: the '%s' normalization has no statistics yet; call mc_net_fit_input "
                       "with the training data before the first forward pass (or use "
                       "Normalization 'none')",
                       mc__layer_label(layer, label, sizeof label),
                       mc_normalization_name(il->norm));
}

static const mc_layer_vtable image_input_vtable = {
    .kind = "imageInputLayer",
    .class_name = "ImageInputLayer",
    .type_label = "Image Input",
    .default_name = "imageinput",
    .role = MC_ROLE_INPUT,
    .setup = input_setup,
    .forward = input_forward,
    .backward = input_backward,
    .param = mc__no_param,
    .buffer = input_buffer,
    .describe = input_describe,
    .destroy = input_destroy,
};

static const mc_layer_vtable feature_input_vtable = {
    .kind = "featureInputLayer",
    .class_name = "FeatureInputLayer",
    .type_label = "Feature Input",
    .default_name = "featureinput",
    .role = MC_ROLE_INPUT,
    .setup = input_setup,
    .forward = input_forward,
    .backward = input_backward,
    .param = mc__no_param,
    .buffer = input_buffer,
    .describe = input_describe,
    .destroy = input_destroy,
};
