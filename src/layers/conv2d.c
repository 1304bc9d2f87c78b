/* convolution2dLayer (MATLAB R2020b semantics): im2col per observation, then one sgemm. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/conv2d.h>

#include "../blas.h"
#include "weighted.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* ceil(a / b) for b > 0 and any sign of a (in long long: a + b - 1 may pass INT_MAX). */
static long long ceil_div(long long a, long long b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* The output positions o in [lo, hi) of [0, O) that read inside the input: with `offset` the
 * kernel tap's displacement k * D - pad, 0 <= o * S + offset < L. hi <= lo when none does. */
static void inside_range(int L, int O, int S, int offset, int *lo, int *hi)
{
    const long long a = offset >= 0 ? 0 : ceil_div(-(long long)offset, S);
    const long long b = ceil_div((long long)L - offset, S);
    *lo = (int)(a < O ? a : O);
    *hi = (int)(b < 0 ? 0 : b < O ? b : O);
}

/* x: (C, H, W); col: (C*KH*KW, OH*OW), row (c*KH + kh)*KW + kw, column oh*OW + ow, holding
 * x[c][oh*SH - pad_top + kh*DH][ow*SW - pad_left + kw*DW], 0 in the padding. */
void mc_im2col_kernel(const float *x, float *col, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    const size_t P = (size_t)OH * (size_t)OW;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * (size_t)H * (size_t)W;
        for (int kh = 0; kh < KH; kh++) {
            const int off_h = kh * DH - pad_top;
            int oh_lo, oh_hi;
            inside_range(H, OH, SH, off_h, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                const int off_w = kw * DW - pad_left;
                int ow_lo, ow_hi;
                inside_range(W, OW, SW, off_w, &ow_lo, &ow_hi);
                float *row =
                    col + (((size_t)c * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * P;
                if (oh_lo >= oh_hi || ow_lo >= ow_hi) {
                    memset(row, 0, P * sizeof(float));
                    continue;
                }
                memset(row, 0, (size_t)oh_lo * (size_t)OW * sizeof(float));
                const int n_in = ow_hi - ow_lo;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *r = row + (size_t)oh * (size_t)OW;
                    const float *xr =
                        xc + (size_t)(oh * SH + off_h) * (size_t)W + (size_t)(ow_lo * SW + off_w);
                    for (int ow = 0; ow < ow_lo; ow++)
                        r[ow] = 0.0f;
                    if (SW == 1)
                        memcpy(r + ow_lo, xr, (size_t)n_in * sizeof(float));
                    else
                        for (int j = 0; j < n_in; j++)
                            r[ow_lo + j] = xr[(size_t)j * (size_t)SW];
                    for (int ow = ow_hi; ow < OW; ow++)
                        r[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * (size_t)OW, 0,
                       (size_t)(OH - oh_hi) * (size_t)OW * sizeof(float));
            }
        }
    }
}

/* col: (C*KH*KW, OH*OW) as mc_im2col_kernel writes it; dx: (C, H, W), added to (+=). */
void mc_col2im_kernel(const float *col, float *dx, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    const size_t P = (size_t)OH * (size_t)OW;
    for (int c = 0; c < C; c++) {
        float *dxc = dx + (size_t)c * (size_t)H * (size_t)W;
        for (int kh = 0; kh < KH; kh++) {
            const int off_h = kh * DH - pad_top;
            int oh_lo, oh_hi;
            inside_range(H, OH, SH, off_h, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                const int off_w = kw * DW - pad_left;
                int ow_lo, ow_hi;
                inside_range(W, OW, SW, off_w, &ow_lo, &ow_hi);
                if (oh_lo >= oh_hi || ow_lo >= ow_hi)
                    continue;
                const float *row =
                    col + (((size_t)c * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * P;
                const int n_in = ow_hi - ow_lo;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *r = row + (size_t)oh * (size_t)OW + ow_lo;
                    float *xr =
                        dxc + (size_t)(oh * SH + off_h) * (size_t)W + (size_t)(ow_lo * SW + off_w);
                    if (SW == 1)
                        for (int j = 0; j < n_in; j++)
                            xr[j] += r[j];
                    else
                        for (int j = 0; j < n_in; j++)
                            xr[(size_t)j * (size_t)SW] += r[j];
                }
            }
        }
    }
}

/* The sizes of one convolution, fixed at setup. */
typedef struct conv_geom {
    int C, H, W;           /* input channels and size */
    int F, KH, KW;         /* filters */
    int SH, SW, DH, DW;    /* stride, dilation */
    int pad_top, pad_left; /* (bottom and right only shape OH and OW) */
    int OH, OW;
    bool direct; /* 1x1 filter, stride 1, no padding: col is x itself, no im2col */
} conv_geom;

/* x: (N, C, H, W); weights: (F, C*KH*KW); bias: (F); y: (N, F, OH, OW);
 * col: (C*KH*KW, OH*OW) workspace (unused when g->direct). */
static void conv_forward_kernel(const conv_geom *g, const float *x, const float *weights,
                                const float *bias, float *y, float *col, int N)
{
    const int K = g->C * g->KH * g->KW, P = g->OH * g->OW;
    const size_t x_step = (size_t)g->C * (size_t)g->H * (size_t)g->W;
    const size_t y_step = (size_t)g->F * (size_t)P;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * x_step;
        float *yn = y + (size_t)n * y_step;
        const float *cn = xn;
        if (!g->direct) {
            mc_im2col_kernel(xn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                             g->pad_top, g->pad_left, g->OH, g->OW);
            cn = col;
        }
        for (int f = 0; f < g->F; f++) {
            float *yf = yn + (size_t)f * (size_t)P;
            const float b = bias[f];
            for (int p = 0; p < P; p++)
                yf[p] = b;
        }
        /* Y_n (F, P) += W (F, K) x col (K, P) */
        mc__sgemm(false, false, g->F, P, K, 1.0f, weights, K, cn, P, 1.0f, yn, P);
    }
}

/* x, dx: (N, C, H, W), dx written (=) unless NULL; weights, dweights: (F, C*KH*KW);
 * dbias: (F); dy: (N, F, OH, OW); dweights and dbias accumulate (+=);
 * col: (C*KH*KW, OH*OW) workspace (unused when g->direct). */
static void conv_backward_kernel(const conv_geom *g, const float *x, const float *weights,
                                 const float *dy, float *dx, float *dweights, float *dbias,
                                 float *col, int N)
{
    const int K = g->C * g->KH * g->KW, P = g->OH * g->OW;
    const size_t x_step = (size_t)g->C * (size_t)g->H * (size_t)g->W;
    const size_t y_step = (size_t)g->F * (size_t)P;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * x_step;
        const float *dyn = dy + (size_t)n * y_step;
        const float *cn = xn;
        if (!g->direct) {
            mc_im2col_kernel(xn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                             g->pad_top, g->pad_left, g->OH, g->OW);
            cn = col;
        }
        /* dW (F, K) += dY_n (F, P) x col^T (P, K) */
        mc__sgemm(false, true, g->F, K, P, 1.0f, dyn, P, cn, P, 1.0f, dweights, K);
        if (dx == NULL)
            continue;
        float *dxn = dx + (size_t)n * x_step;
        if (g->direct) {
            /* dX_n (C, P) = W^T (C, F) x dY_n (F, P) */
            mc__sgemm(true, false, K, P, g->F, 1.0f, weights, K, dyn, P, 0.0f, dxn, P);
            continue;
        }
        /* dcol (K, P) = W^T (K, F) x dY_n (F, P), into the workspace col no longer needs */
        mc__sgemm(true, false, K, P, g->F, 1.0f, weights, K, dyn, P, 0.0f, col, P);
        memset(dxn, 0, x_step * sizeof(float));
        mc_col2im_kernel(col, dxn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                         g->pad_top, g->pad_left, g->OH, g->OW);
    }
    for (int f = 0; f < g->F; f++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++) {
            const float *d = dy + (size_t)n * y_step + (size_t)f * (size_t)P;
            for (int p = 0; p < P; p++)
                sum += d[p];
        }
        dbias[f] += (float)sum;
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct conv2d {
    mc_layer base;
    int filter[2]; /* [KH KW] */
    int num_filters;
    int stride[2];
    int dilation[2];
    int padding[4]; /* as given; with 'same', computed at setup ([0 0 0 0] until then) */
    bool same;
    int num_channels; /* 0 while 'auto' */
    mc__init weights_init;
    mc__init bias_init;
    mc_param weights; /* (F, C, KH, KW); empty until given or initialized */
    mc_param bias;    /* (F) */
    conv_geom geom;   /* valid after setup */
    float *col;       /* (C*KH*KW, OH*OW) workspace */
    size_t col_cap;
} conv2d;

static const mc_layer_vtable conv2d_vtable;

mc_conv2d_options mc_conv2d_default(int filter_h, int filter_w, int num_filters)
{
    mc_conv2d_options o;
    memset(&o, 0, sizeof o);
    o.filter_size[0] = filter_h;
    o.filter_size[1] = filter_w;
    o.num_filters = num_filters;
    o.stride[0] = o.stride[1] = 1;
    o.dilation[0] = o.dilation[1] = 1;
    o.weight_learn_rate_factor = 1.0;
    o.bias_learn_rate_factor = 1.0;
    o.weight_l2_factor = 1.0;
    o.bias_l2_factor = 0.0;
    return o;
}

static mc_status check_pair(mc_ctx *ctx, const char *label, const char *option, const int v[2])
{
    if (v[0] >= 1 && v[1] >= 1)
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be positive integers, not [%d %d]", label,
                       option, v[0], v[1]);
}

/* Checks every option; on success *num_channels is NumChannels (0 for 'auto'), taken from
 * the initial Weights when they are given and NumChannels is 'auto'. */
static mc_status validate(mc_ctx *ctx, const mc_conv2d_options *o, const mc__weighted_options *wo,
                          const char *label, int *num_channels)
{
    mc_status st = check_pair(ctx, label, "FilterSize", o->filter_size);
    if (st == MC_OK && o->num_filters < 1)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: NumFilters must be a positive integer, not %d",
                         label, o->num_filters);
    if (st == MC_OK)
        st = check_pair(ctx, label, "Stride", o->stride);
    if (st == MC_OK)
        st = check_pair(ctx, label, "DilationFactor", o->dilation);
    if (st == MC_OK && !o->padding_same &&
        (o->padding[0] < 0 || o->padding[1] < 0 || o->padding[2] < 0 || o->padding[3] < 0))
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "%s: Padding must be nonnegative integers [top bottom left right] or "
                         "'same', not [%d %d %d %d]",
                         label, o->padding[0], o->padding[1], o->padding[2], o->padding[3]);
    if (st == MC_OK && o->num_channels < 0)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "%s: NumChannels must be 'auto' (0) or a positive integer, not %d", label,
                         o->num_channels);
    if (st != MC_OK)
        return st;
    /* Weights are (F, C, KH, KW) with C*KH*KW and F*C*KH*KW counted in int (BLAS sizes). */
    const double per_channel = (double)o->filter_size[0] * o->filter_size[1] * o->num_filters;
    if (per_channel * (o->num_channels > 0 ? o->num_channels : 1) > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %d %dx%dx%d filters have more than %d weights",
                           label, o->num_filters, o->filter_size[0], o->filter_size[1],
                           o->num_channels > 0 ? o->num_channels : 1, INT_MAX);
    /* Sizes first, so that no value is read past a length that cannot be right. */
    const size_t per = (size_t)per_channel;
    if (o->weights != NULL && o->weights_len > 0) {
        if (o->num_channels > 0 && o->weights_len != per * (size_t)o->num_channels)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements but %dx%dx%dx%d = "
                               "%zu are needed (FilterSize x NumChannels x NumFilters)",
                               label, o->weights_len, o->filter_size[0], o->filter_size[1],
                               o->num_channels, o->num_filters, per * (size_t)o->num_channels);
        if (o->weights_len % per != 0)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements, not a multiple of "
                               "%dx%dx%d = %zu (FilterSize x NumFilters)",
                               label, o->weights_len, o->filter_size[0], o->filter_size[1],
                               o->num_filters, per);
    }
    st = mc__weighted_check_values(ctx, label, wo, o->num_filters, "NumFilters");
    if (st != MC_OK)
        return st;
    *num_channels =
        o->weights != NULL && o->weights_len > 0 ? (int)(o->weights_len / per) : o->num_channels;
    return MC_OK;
}

/* MATLAB's size of Weights, KH x KW x C x F, and of Bias, 1 x 1 x F. */
static mc_shape weights_size(const conv2d *cv, int C)
{
    return mc_shape_make(4, (const int[]){cv->filter[0], cv->filter[1], C, cv->num_filters});
}

static mc_shape weights_storage(const conv2d *cv, int C)
{
    return mc_shape_make(4, (const int[]){cv->num_filters, C, cv->filter[0], cv->filter[1]});
}

static mc_shape bias_size(const conv2d *cv)
{
    return mc_shape_make(3, (const int[]){1, 1, cv->num_filters});
}

static void conv2d_destroy(mc_layer *self)
{
    conv2d *cv = (conv2d *)self;
    mc__param_release(self->ctx, &cv->weights);
    mc__param_release(self->ctx, &cv->bias);
    mc_free(self->ctx, cv->col);
}

mc_status mc_conv2d_create(mc_ctx *ctx, const mc_conv2d_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, conv2d_vtable.kind);
    int num_channels = 0;
    const mc__weighted_options wo = MC__WEIGHTED_OPTIONS(opts);
    mc_status st = validate(ctx, opts, &wo, label, &num_channels);
    mc__init weights_init, bias_init;
    if (st == MC_OK)
        st = mc__weighted_resolve(ctx, label, &wo, &weights_init, &bias_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(conv2d), &conv2d_vtable, opts->name, 1, NULL,
                           "creating a convolution layer", &base);
    if (st != MC_OK)
        return st;
    conv2d *cv = (conv2d *)base;
    cv->filter[0] = opts->filter_size[0];
    cv->filter[1] = opts->filter_size[1];
    cv->num_filters = opts->num_filters;
    memcpy(cv->stride, opts->stride, sizeof cv->stride);
    memcpy(cv->dilation, opts->dilation, sizeof cv->dilation);
    cv->same = opts->padding_same;
    if (!cv->same)
        memcpy(cv->padding, opts->padding, sizeof cv->padding);
    cv->num_channels = num_channels;
    cv->weights_init = weights_init;
    cv->bias_init = bias_init;
    const mc_shape w_storage = weights_storage(cv, num_channels);
    const mc_shape w_size = weights_size(cv, num_channels);
    const mc_shape b_storage = mc_shape_make(1, &cv->num_filters), b_size = bias_size(cv);
    st = mc__weighted_init_params(ctx, &cv->weights, &cv->bias, &wo, &w_storage, &w_size,
                                  &b_storage, &b_size);
    if (st != MC_OK) {
        mc_layer_destroy(&cv->base);
        return st;
    }
    *out = &cv->base;
    return MC_OK;
}

static const char *kind_name(mc_data_kind kind)
{
    switch (kind) {
    case MC_DATA_FEATURE:
        return "feature";
    case MC_DATA_SEQUENCE:
        return "sequence";
    case MC_DATA_IMAGE3D:
        return "3-D image";
    default:
        return "2-D image";
    }
}

static mc_status conv2d_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    conv2d *cv = (conv2d *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP], dims[96];
    mc__layer_label(self, label, sizeof label);
    const mc_data_kind kind = mc_shape_kind(&in[0]);
    if (kind != MC_DATA_IMAGE2D) {
        mc_shape_format(&in[0], "x", dims, sizeof dims);
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: convolution2dLayer needs 2-D image input (N, C, H, W), but the "
                           "input has shape [%s] (%s data)",
                           label, dims, kind_name(kind));
    }
    const int N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
    mc_status st = mc__check_num_channels(ctx, label, cv->num_channels, C);
    if (st != MC_OK)
        return st;
    const int KH = cv->filter[0], KW = cv->filter[1];
    const long long eh = (long long)(KH - 1) * cv->dilation[0] + 1;
    const long long ew = (long long)(KW - 1) * cv->dilation[1] + 1;
    if (eh > INT_MAX || ew > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %dx%d filter dilated by [%d %d] spans %lldx%lld, more than "
                           "%d",
                           label, KH, KW, cv->dilation[0], cv->dilation[1], eh, ew, INT_MAX);
    int pad[4];
    if (cv->same) {
        mc__same_padding(H, cv->stride[0], eh, &pad[0], &pad[1]);
        mc__same_padding(W, cv->stride[1], ew, &pad[2], &pad[3]);
    } else {
        memcpy(pad, cv->padding, sizeof pad);
    }
    const long long ph = (long long)H + pad[0] + pad[1], pw = (long long)W + pad[2] + pad[3];
    if (eh > ph || ew > pw)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %dx%d filter (dilated %lldx%lld) does not fit the padded "
                           "input %lldx%lld",
                           label, KH, KW, eh, ew, ph, pw);
    const long long OH = (ph - eh) / cv->stride[0] + 1, OW = (pw - ew) / cv->stride[1] + 1;
    /* Every index the kernels form stays below the padded extent; BLAS sizes are int. */
    const double K = (double)C * KH * KW, P = (double)OH * (double)OW;
    if (ph > INT_MAX || pw > INT_MAX || K > INT_MAX || P > INT_MAX ||
        K * cv->num_filters > INT_MAX || P * cv->num_filters > INT_MAX ||
        K * P > (double)(SIZE_MAX / sizeof(float)))
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the convolution of a %dx%dx%d input with %d %dx%d filters "
                           "(output %lldx%lld) is too large",
                           label, H, W, C, cv->num_filters, KH, KW, OH, OW);
    const mc_shape w_storage = weights_storage(cv, C), w_size = weights_size(cv, C);
    st = mc__param_prepare(ctx, label, &cv->weights, &cv->weights_init, "WeightsInitializer",
                           &w_storage, &w_size, K, (double)KH * KW * cv->num_filters);
    const mc_shape b_storage = mc_shape_make(1, &cv->num_filters), b_size = bias_size(cv);
    if (st != MC_OK)
        return st;
    /* The channel count is fixed from here on, even if the rest of setup fails: Weights
     * now has its size. */
    cv->num_channels = C;
    st = mc__param_prepare(ctx, label, &cv->bias, &cv->bias_init, "BiasInitializer", &b_storage,
                           &b_size, 0.0, 0.0);
    if (st != MC_OK)
        return st;

    conv_geom g;
    g.C = C;
    g.H = H;
    g.W = W;
    g.F = cv->num_filters;
    g.KH = KH;
    g.KW = KW;
    g.SH = cv->stride[0];
    g.SW = cv->stride[1];
    g.DH = cv->dilation[0];
    g.DW = cv->dilation[1];
    g.pad_top = pad[0];
    g.pad_left = pad[2];
    g.OH = (int)OH;
    g.OW = (int)OW;
    g.direct = KH == 1 && KW == 1 && g.SH == 1 && g.SW == 1 && pad[0] == 0 && pad[2] == 0 &&
               g.OH == H && g.OW == W;
    const size_t need = g.direct ? 0 : (size_t)K * (size_t)P;
    if (need > cv->col_cap) {
        float *col = mc__calloc(ctx, need, sizeof(float));
        if (col == NULL)
            return mc__nomem(ctx, "sizing the convolution workspace");
        mc_free(ctx, cv->col);
        cv->col = col;
        cv->col_cap = need;
    }
    cv->geom = g;
    if (cv->same)
        memcpy(cv->padding, pad, sizeof pad);
    *out = mc_shape_make(4, (const int[]){N, cv->num_filters, (int)OH, (int)OW});
    return MC_OK;
}

static void conv2d_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                           mc_mode mode)
{
    (void)n_in;
    (void)mode; /* training and inference compute the same */
    conv2d *cv = (conv2d *)self;
    conv_forward_kernel(&cv->geom, in[0].data, cv->weights.value.data, cv->bias.value.data,
                        out->data, cv->col, in[0].shape.dims[0]);
}

static void conv2d_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                            const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    conv2d *cv = (conv2d *)self;
    conv_backward_kernel(&cv->geom, in[0].data, cv->weights.value.data, dout->data, din[0].data,
                         cv->weights.grad.data, cv->bias.grad.data, cv->col, in[0].shape.dims[0]);
}

static mc_param *conv2d_param(mc_layer *self, int i)
{
    conv2d *cv = (conv2d *)self;
    return i == 0 ? &cv->weights : i == 1 ? &cv->bias : NULL;
}

static void conv2d_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const conv2d *cv = (const conv2d *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        /* MATLAB's Layer array display: vectors with two spaces between the elements. */
        mc_text_printf(t, "%d %dx%d", cv->num_filters, cv->filter[0], cv->filter[1]);
        if (cv->num_channels > 0)
            mc_text_printf(t, "x%d", cv->num_channels);
        mc_text_printf(t, " convolutions with stride [%d  %d]", cv->stride[0], cv->stride[1]);
        /* Only a dilated convolution names its dilation, so the common line stays MATLAB's. */
        if (cv->dilation[0] != 1 || cv->dilation[1] != 1)
            mc_text_printf(t, ", dilation factor [%d  %d]", cv->dilation[0], cv->dilation[1]);
        if (cv->same)
            mc_text_printf(t, " and padding 'same'");
        else
            mc_text_printf(t, " and padding [%d  %d  %d  %d]", cv->padding[0], cv->padding[1],
                           cv->padding[2], cv->padding[3]);
        return;
    }
    /* Property names right-aligned in one column: the longest name plus 4, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 18;
    mc_text_printf(t, "  Convolution2DLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc_text_printf(t, "\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: [%d %d]\n", w, "FilterSize", cv->filter[0], cv->filter[1]);
    mc__describe_count(t, w, "NumChannels", cv->num_channels);
    mc_text_printf(t, "%*s: %d\n", w, "NumFilters", cv->num_filters);
    mc_text_printf(t, "%*s: [%d %d]\n", w, "Stride", cv->stride[0], cv->stride[1]);
    mc_text_printf(t, "%*s: [%d %d]\n", w, "DilationFactor", cv->dilation[0], cv->dilation[1]);
    mc_text_printf(t, "%*s: '%s'\n", w, "PaddingMode", cv->same ? "same" : "manual");
    mc_text_printf(t, "%*s: [%d %d %d %d]\n", w, "PaddingSize", cv->padding[0], cv->padding[1],
                   cv->padding[2], cv->padding[3]);
    mc_text_printf(t, "%*s: 0\n", w, "PaddingValue");
    mc__describe_learnables(t, w, &cv->weights, &cv->bias);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, &cv->weights, "Weight", &cv->weights_init, &cv->bias, "Bias",
                          &cv->bias_init);
}

static const mc_layer_vtable conv2d_vtable = {
    .kind = "convolution2dLayer",
    .class_name = "Convolution2DLayer",
    .type_label = "Convolution",
    .default_name = "conv",
    .role = MC_ROLE_HIDDEN,
    .setup = conv2d_setup,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .param = conv2d_param,
    .buffer = mc__no_buffer,
    .describe = conv2d_describe,
    .destroy = conv2d_destroy,
};
