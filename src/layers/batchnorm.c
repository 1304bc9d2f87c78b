/* batchNormalizationLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/batchnorm.h>

#include "../internal.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* Statistics are two-pass in double: x - mean is formed in double from the exact float x, so
 * 1e4 + 0.01 * noise keeps its spread (the one-pass E[x^2] - E[x]^2 form loses it). */

/* x, y: (N, C, S); scale, offset: (C); mean, var, rstd: (C) */
void mc_batchnorm_forward_train_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, double *mean, double *var,
                                       double *rstd, int N, int C, size_t S, double eps)
{
    const double m = (double)N * (double)S;
    for (int c = 0; c < C; c++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++)
                sum += xc[s];
        }
        const double mu = sum / m;
        double ss = 0.0;
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++) {
                const double d = (double)xc[s] - mu;
                ss += d * d;
            }
        }
        const double v = ss / m;
        const double r = 1.0 / sqrt(v + eps);
        mean[c] = mu;
        var[c] = v;
        rstd[c] = r;
        const double a = (double)scale[c] * r, b = offset[c];
        for (int n = 0; n < N; n++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++)
                y[base + s] = (float)(((double)x[base + s] - mu) * a + b);
        }
    }
}

/* x, y: (N, C, S); scale, offset, trained_mean, trained_var: (C) */
void mc_batchnorm_forward_infer_kernel(const float *x, float *y, const float *scale,
                                       const float *offset, const float *trained_mean,
                                       const float *trained_var, int N, int C, size_t S,
                                       double eps)
{
    for (int c = 0; c < C; c++) {
        const double mu = trained_mean[c];
        const double a = (double)scale[c] / sqrt((double)trained_var[c] + eps);
        const double b = offset[c];
        for (int n = 0; n < N; n++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++)
                y[base + s] = (float)(((double)x[base + s] - mu) * a + b);
        }
    }
}

/* x, dy, dx: (N, C, S); scale, dscale, doffset, mean, rstd: (C) */
void mc_batchnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx,
                                  float *dscale, float *doffset, int N, int C, size_t S)
{
    const double m = (double)N * (double)S;
    for (int c = 0; c < C; c++) {
        const double mu = mean[c], r = rstd[c];
        /* a = sum dy * (x - mean), b = sum dy over the channel's N * S values. */
        double a = 0.0, b = 0.0;
        for (int n = 0; n < N; n++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++) {
                a += (double)dy[base + s] * ((double)x[base + s] - mu);
                b += dy[base + s];
            }
        }
        dscale[c] += (float)(a * r);
        doffset[c] += (float)b;
        if (dx == NULL)
            continue;
        /* dx = scale * r * (dy - mean(dy) - xhat * mean(dy .* xhat)), xhat = (x - mean) r */
        const double g = (double)scale[c] * r, k1 = b / m, k2 = a * r * r / m;
        for (int n = 0; n < N; n++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)c) * S;
            for (size_t s = 0; s < S; s++)
                dx[base + s] =
                    (float)(g * ((double)dy[base + s] - k1 - ((double)x[base + s] - mu) * k2));
        }
    }
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

/* MATLAB's size of Scale, Offset, TrainedMean and TrainedVariance for input of the given
 * kind. */
static mc_shape param_size(mc_data_kind kind, int C)
{
    mc_shape s;
    memset(&s, 0, sizeof s);
    switch (kind) {
    case MC_DATA_IMAGE3D:
        s.ndim = 4;
        s.dims[0] = s.dims[1] = s.dims[2] = 1;
        s.dims[3] = C;
        break;
    case MC_DATA_FEATURE:
    case MC_DATA_SEQUENCE:
        s.ndim = 2;
        s.dims[0] = C;
        s.dims[1] = 1;
        break;
    default:
        s.ndim = 3;
        s.dims[0] = s.dims[1] = 1;
        s.dims[2] = C;
        break;
    }
    return s;
}

/* An explicit initial value array: each option as given, in the order they are checked. */
typedef struct initial_values {
    const char *what;
    const float *v;
    size_t len;
} initial_values;

static mc_status check_initial_values(mc_ctx *ctx, const char *label, const initial_values *iv,
                                      int num_channels)
{
    if (iv->v == NULL)
        return MC_OK;
    if (iv->len == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the initial %s is given with 0 elements; pass NULL for empty",
                           label, iv->what);
    if (iv->len > (size_t)0x7fffffff)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: the initial %s has too many elements (%zu)",
                           label, iv->what, iv->len);
    if (num_channels > 0 && iv->len != (size_t)num_channels)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the initial %s has %zu elements but NumChannels is %d", label,
                           iv->what, iv->len, num_channels);
    for (size_t i = 0; i < iv->len; i++)
        if (!isfinite(iv->v[i]))
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the initial %s has the non-finite value %g at element %zu",
                               label, iv->what, (double)iv->v[i], i + 1);
    return MC_OK;
}

static mc_status check_decay(mc_ctx *ctx, const char *label, const char *option, double value)
{
    if (value >= 0.0 && value <= 1.0) /* false for NaN */
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be a number from 0 to 1, not %g", label,
                       option, value);
}

static mc_status validate(mc_ctx *ctx, const mc_batchnorm_options *o, const char *label)
{
    if (!isfinite(o->epsilon) || o->epsilon < 1e-5)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Epsilon must be a finite number of at least 1e-05, not %g",
                           label, o->epsilon);
    if (o->num_channels < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: NumChannels must be 'auto' (0) or a positive integer, not %d",
                           label, o->num_channels);
    mc_status st = check_decay(ctx, label, "MeanDecay", o->mean_decay);
    if (st == MC_OK)
        st = check_decay(ctx, label, "VarianceDecay", o->variance_decay);
    const struct {
        const char *option;
        double value;
    } factors[] = {
        {"ScaleLearnRateFactor", o->scale_learn_rate_factor},
        {"OffsetLearnRateFactor", o->offset_learn_rate_factor},
        {"ScaleL2Factor", o->scale_l2_factor},
        {"OffsetL2Factor", o->offset_l2_factor},
    };
    for (size_t i = 0; st == MC_OK && i < sizeof factors / sizeof factors[0]; i++)
        st = mc__check_factor(ctx, label, factors[i].option, factors[i].value);
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

/* Copies explicit Scale or Offset (sized 1x1xlen until the input kind is known). */
static mc_status set_initial(mc_ctx *ctx, mc_param *p, const float *v, size_t len)
{
    if (v == NULL)
        return MC_OK;
    const mc_shape storage = mc_shape_make(1, (const int[]){(int)len});
    const mc_shape size = param_size(MC_DATA_IMAGE2D, (int)len);
    return mc__param_set_values(ctx, p, v, len, &storage, &size);
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
    mc_status st = validate(ctx, opts, label);
    mc__init scale_init, offset_init;
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "ScaleInitializer", &opts->scale_initializer,
                              MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ONES, &scale_init);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "OffsetInitializer", &opts->offset_initializer,
                              MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ZEROS, &offset_init);
    if (st != MC_OK)
        return st;

    batchnorm *bn = mc__calloc(ctx, 1, sizeof *bn);
    if (bn == NULL)
        return mc__nomem(ctx, "creating a batch normalization layer");
    st = mc__layer_init(&bn->base, ctx, &batchnorm_vtable, opts->name, 1, NULL);
    if (st != MC_OK) {
        mc_free(ctx, bn);
        return st;
    }
    bn->epsilon = opts->epsilon;
    bn->mean_decay = opts->mean_decay;
    bn->variance_decay = opts->variance_decay;
    bn->num_channels = opts->num_channels;
    bn->scale_init = scale_init;
    bn->offset_init = offset_init;
    bn->scale.name = "Scale";
    bn->scale.lr_factor = opts->scale_learn_rate_factor;
    bn->scale.l2_factor = opts->scale_l2_factor;
    bn->offset.name = "Offset";
    bn->offset.lr_factor = opts->offset_learn_rate_factor;
    bn->offset.l2_factor = opts->offset_l2_factor;
    st = set_initial(ctx, &bn->scale, opts->scale, opts->scale_len);
    if (st == MC_OK)
        st = set_initial(ctx, &bn->offset, opts->offset, opts->offset_len);
    if (st == MC_OK)
        st = copy_values(ctx, &bn->trained_mean, opts->trained_mean, opts->trained_mean_len);
    if (st == MC_OK)
        st = copy_values(ctx, &bn->trained_var, opts->trained_variance,
                         opts->trained_variance_len);
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "copying the initial Scale, Offset, TrainedMean and TrainedVariance");
        mc_layer_destroy(&bn->base);
        return st;
    }
    if (opts->trained_mean != NULL || opts->trained_variance != NULL) {
        const size_t len = opts->trained_mean != NULL ? opts->trained_mean_len
                                                      : opts->trained_variance_len;
        bn->trained_size = param_size(MC_DATA_IMAGE2D, (int)len);
    }
    *out = &bn->base;
    return MC_OK;
}

/* Readies Scale or Offset for C channels, wording the mismatch of explicit values. */
static mc_status prepare_param(mc_ctx *ctx, const char *label, mc_param *p, const mc__init *init,
                               const char *option, mc_data_kind kind, int C)
{
    const mc_shape storage = mc_shape_make(1, &C), size = param_size(kind, C);
    return mc__param_prepare(ctx, label, p, init, option, &storage, &size, 0.0, 0.0);
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
    if (bn->num_channels > 0 && bn->num_channels != C)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: NumChannels is %d but the input has %d channels", label,
                           bn->num_channels, C);
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
    mc_status st =
        prepare_param(ctx, label, &bn->offset, &bn->offset_init, "OffsetInitializer", kind, C);
    if (st == MC_OK)
        st = prepare_param(ctx, label, &bn->scale, &bn->scale_init, "ScaleInitializer", kind, C);
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
    bn->trained_size = param_size(kind, C);
    bn->num_channels = C;
    *out = in[0];
    return MC_OK;
}

/* S: the product of the dimensions after (N, C). */
static size_t positions(const mc_shape *s)
{
    size_t S = 1;
    for (int d = 2; d < s->ndim; d++)
        S *= (size_t)s->dims[d];
    return S;
}

static void batchnorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    (void)n_in;
    batchnorm *bn = (batchnorm *)self;
    const mc_shape *s = &in[0].shape;
    const int N = s->dims[0], C = s->dims[1];
    const size_t S = positions(s);
    if (mode != MC_MODE_TRAINING) {
        mc_batchnorm_forward_infer_kernel(in[0].data, out->data, bn->scale.value.data,
                                          bn->offset.value.data, bn->trained_mean.data,
                                          bn->trained_var.data, N, C, S, bn->epsilon);
        return;
    }
    mc_batchnorm_forward_train_kernel(in[0].data, out->data, bn->scale.value.data,
                                      bn->offset.value.data, bn->mean, bn->var, bn->rstd, N, C,
                                      S, bn->epsilon);
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

static void batchnorm_backward(mc_layer *self, const mc_tensor *in, int n_in,
                               const mc_tensor *out, const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    batchnorm *bn = (batchnorm *)self;
    const mc_shape *s = &in[0].shape;
    mc_batchnorm_backward_kernel(in[0].data, dout->data, bn->scale.value.data, bn->mean,
                                 bn->rstd, din[0].data, bn->scale.grad.data,
                                 bn->offset.grad.data, s->dims[0], s->dims[1], positions(s));
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

static void describe_initializer(mc_text *t, const mc__init *init)
{
    if (init->kind == MC__INIT_FUNCTION)
        mc_text_printf(t, "[function_handle]");
    else
        mc_text_printf(t, "'%s'", mc__init_name(init->kind));
}

/* "[]" or "[1×1×20 single]", as mc__describe_param does for learnables. */
static void describe_buffer(mc_text *t, const mc_tensor *b, const mc_shape *size)
{
    if (b->data == NULL) {
        mc_text_printf(t, "[]");
        return;
    }
    char dims[96];
    mc_shape_format(size, "\xc3\x97", dims, sizeof dims);
    mc_text_printf(t, "[%s single]", dims);
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
    if (what == MC_DESCRIBE_ALL) {
        mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
        mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
        mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
        mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
    }
    if (bn->num_channels > 0)
        mc_text_printf(t, "%*s: %d\n", w, "NumChannels", bn->num_channels);
    else
        mc_text_printf(t, "%*s: 'auto'\n", w, "NumChannels");
    mc_text_printf(t, "%*s: ", w, "TrainedMean");
    describe_buffer(t, &bn->trained_mean, &bn->trained_size);
    mc_text_printf(t, "\n%*s: ", w, "TrainedVariance");
    describe_buffer(t, &bn->trained_var, &bn->trained_size);
    mc_text_printf(t, "\n\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: %s\n", w, "MeanDecay",
                   mc_format_short(bn->mean_decay, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "VarianceDecay",
                   mc_format_short(bn->variance_decay, num, sizeof num));
    mc_text_printf(t, "%*s: %s\n", w, "Epsilon", mc_format_short(bn->epsilon, num, sizeof num));
    mc_text_printf(t, "\n   Learnable Parameters\n%*s: ", w, "Offset");
    mc__describe_param(t, &bn->offset);
    mc_text_printf(t, "\n%*s: ", w, "Scale");
    mc__describe_param(t, &bn->scale);
    mc_text_printf(t, "\n");
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc_text_printf(t, "\n   Parameters and Initialization\n%*s: ", w, "ScaleInitializer");
    describe_initializer(t, &bn->scale_init);
    mc_text_printf(t, "\n%*s: ", w, "OffsetInitializer");
    describe_initializer(t, &bn->offset_init);
    mc_text_printf(t, "\n\n   Learn Rate and Regularization\n");
    const struct {
        const char *name;
        double value;
    } factors[] = {
        {"ScaleLearnRateFactor", bn->scale.lr_factor},
        {"OffsetLearnRateFactor", bn->offset.lr_factor},
        {"ScaleL2Factor", bn->scale.l2_factor},
        {"OffsetL2Factor", bn->offset.l2_factor},
    };
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        mc_text_printf(t, "%*s: %s\n", w, factors[i].name,
                       mc_format_short(factors[i].value, num, sizeof num));
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
