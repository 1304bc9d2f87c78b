/* SPDX-License-Identifier: MIT */
/* fullyConnectedLayer (MATLAB R2020b semantics): one sgemm per batch (per observation for
 * sequences). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/conv2d.h>

#include "../blas.h"
#include "../parallel.h"
#include "../simd.h"
#include "weighted.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The GEMMs in fixed blocks on minicnn's threads: rows of 32 observations, or columns of 512
 * inputs for the weight gradient; each block is one sgemm call whatever the thread count. */
#define FC_ROWS 32
#define FC_COLS 512

typedef struct fc_job {
    const float *x, *weights, *bias, *dy;
    float *y, *dx, *dweights;
    int N, D, K;
} fc_job;

static void fc_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const fc_job *j = arg;
    const int n0 = task * FC_ROWS, rows = j->N - n0 < FC_ROWS ? j->N - n0 : FC_ROWS;
    float *y = j->y + (size_t)n0 * (size_t)j->K;
    for (int n = 0; n < rows; n++)
        memcpy(y + (size_t)n * (size_t)j->K, j->bias, (size_t)j->K * sizeof(float));
    /* Y (rows, K) += X (rows, D) x W^T (D, K) */
    mc__sgemm(false, true, rows, j->K, j->D, 1.0f, j->x + (size_t)n0 * (size_t)j->D, j->D,
              j->weights, j->D, 1.0f, y, j->K);
}

static void fc_dweights_task(void *arg, int task, int thread)
{
    (void)thread;
    const fc_job *j = arg;
    const int d0 = task * FC_COLS, cols = j->D - d0 < FC_COLS ? j->D - d0 : FC_COLS;
    /* dW (K, cols) += dY^T (K, N) x X (N, cols) */
    mc__sgemm(true, false, j->K, cols, j->N, 1.0f, j->dy, j->K, j->x + d0, j->D, 1.0f,
              j->dweights + d0, j->D);
}

static void fc_dx_task(void *arg, int task, int thread)
{
    (void)thread;
    const fc_job *j = arg;
    const int n0 = task * FC_ROWS, rows = j->N - n0 < FC_ROWS ? j->N - n0 : FC_ROWS;
    /* dX (rows, D) = dY (rows, K) x W (K, D) */
    mc__sgemm(false, false, rows, j->D, j->K, 1.0f, j->dy + (size_t)n0 * (size_t)j->K, j->K,
              j->weights, j->D, 0.0f, j->dx + (size_t)n0 * (size_t)j->D, j->D);
}

/* Mini-batches of at most FC_SMALL observations skip BLAS: with so few rows its packing costs
 * more than the products (a mini-batch-2 step spent 15% of its time there). Plain loops, the
 * dot products over 16 fixed float lanes, compiled for AVX2 and for any x86-64 (no FMA: the
 * same bits). Which path runs depends on N only. */
#define FC_SMALL 8

/* a, b: (n). sum a * b over 16 lanes (element i in lane i % 16), added in a fixed order. */
MC__CLONES static float dot16(const float *a, const float *b, size_t n)
{
    float l[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            l[j] += a[i + j] * b[i + j];
    for (int j = 0; i + (size_t)j < n; j++)
        l[j] += a[i + (size_t)j] * b[i + (size_t)j];
    float t[8];
    for (int j = 0; j < 8; j++)
        t[j] = l[j] + l[j + 8];
    return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

/* y (n) += alpha[r * astep] * x[r * xstep .. + n) for r = 0, 1, .., rows - 1 in that order:
 * what as many calls of y += alpha * x would compute, bit for bit, in one pass over y. */
MC__CLONES static void axpy_rows(const float *alpha, size_t astep, const float *x, size_t xstep,
                                 int rows, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float acc[16];
        for (int j = 0; j < 16; j++)
            acc[j] = y[i + (size_t)j];
        for (int r = 0; r < rows; r++) {
            const float a = alpha[(size_t)r * astep], *xr = x + (size_t)r * xstep + i;
            for (int j = 0; j < 16; j++)
                acc[j] += a * xr[j];
        }
        for (int j = 0; j < 16; j++)
            y[i + (size_t)j] = acc[j];
    }
    for (; i < n; i++) {
        float acc = y[i];
        for (int r = 0; r < rows; r++)
            acc += alpha[(size_t)r * astep] * x[(size_t)r * xstep + i];
        y[i] = acc;
    }
}

/* As fc_forward_kernel and fc_backward_kernel (without dbias) for N <= FC_SMALL. */
static void fc_small_forward(const float *x, const float *weights, const float *bias, float *y,
                             int N, int D, int K)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            y[(size_t)n * (size_t)K + (size_t)k] =
                bias[k] +
                dot16(x + (size_t)n * (size_t)D, weights + (size_t)k * (size_t)D, (size_t)D);
}

static void fc_small_backward(const float *x, const float *weights, const float *dy, float *dx,
                              float *dweights, int N, int D, int K)
{
    for (int k = 0; k < K; k++) /* dW[k] += dy[n][k] * x[n], n = 0, 1, .. */
        axpy_rows(dy + k, (size_t)K, x, (size_t)D, N, dweights + (size_t)k * (size_t)D, (size_t)D);
    if (dx == NULL)
        return;
    memset(dx, 0, (size_t)N * (size_t)D * sizeof(float));
    for (int n = 0; n < N; n++) /* dx[n] = sum over k of dy[n][k] * W[k], k = 0, 1, .. */
        axpy_rows(dy + (size_t)n * (size_t)K, 1, weights, (size_t)D, K, dx + (size_t)n * (size_t)D,
                  (size_t)D);
}

/* x: (N, D); weights: (K, D); bias: (K); y: (N, K) */
static void fc_forward_kernel(const float *x, const float *weights, const float *bias, float *y,
                              int N, int D, int K)
{
    if (N <= FC_SMALL) {
        fc_small_forward(x, weights, bias, y, N, D, K);
        return;
    }
    fc_job j = {.x = x, .weights = weights, .bias = bias, .y = y, .N = N, .D = D, .K = K};
    const size_t work = (size_t)N * (size_t)D * (size_t)K / 2;
    mc__parallel_for((N + FC_ROWS - 1) / FC_ROWS, 0, work, fc_forward_task, &j);
}

/* x, dx: (N, D), dx written (=) unless NULL; weights, dweights: (K, D); dy: (N, K);
 * dbias: (K); dweights and dbias accumulate (+=). */
static void fc_backward_kernel(const float *x, const float *weights, const float *dy, float *dx,
                               float *dweights, float *dbias, int N, int D, int K)
{
    fc_job j = {.x = x,
                .weights = weights,
                .dy = dy,
                .dx = dx,
                .dweights = dweights,
                .N = N,
                .D = D,
                .K = K};
    const size_t work = (size_t)N * (size_t)D * (size_t)K / 2;
    if (N <= FC_SMALL) {
        fc_small_backward(x, weights, dy, dx, dweights, N, D, K);
    } else {
        mc__parallel_for((D + FC_COLS - 1) / FC_COLS, 0, work, fc_dweights_task, &j);
        if (dx != NULL)
            mc__parallel_for((N + FC_ROWS - 1) / FC_ROWS, 0, work, fc_dx_task, &j);
    }
    for (int k = 0; k < K; k++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++)
            sum += dy[(size_t)n * (size_t)K + (size_t)k];
        dbias[k] += (float)sum;
    }
}

/* Sequences, the same map at every time step.
 * x: (N, C, T); weights: (K, C); bias: (K); y: (N, K, T) */
static void fc_sequence_forward_kernel(const float *x, const float *weights, const float *bias,
                                       float *y, int N, int C, int T, int K)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * (size_t)C * (size_t)T;
        float *yn = y + (size_t)n * (size_t)K * (size_t)T;
        for (int k = 0; k < K; k++) {
            float *yk = yn + (size_t)k * (size_t)T;
            const float b = bias[k];
            for (int t = 0; t < T; t++)
                yk[t] = b;
        }
        /* Y_n (K, T) += W (K, C) x X_n (C, T) */
        mc__sgemm(false, false, K, T, C, 1.0f, weights, C, xn, T, 1.0f, yn, T);
    }
}

/* x, dx: (N, C, T), dx written (=) unless NULL; weights, dweights: (K, C); dy: (N, K, T);
 * dbias: (K); dweights and dbias accumulate (+=). */
static void fc_sequence_backward_kernel(const float *x, const float *weights, const float *dy,
                                        float *dx, float *dweights, float *dbias, int N, int C,
                                        int T, int K)
{
    const size_t x_step = (size_t)C * (size_t)T, y_step = (size_t)K * (size_t)T;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * x_step;
        const float *dyn = dy + (size_t)n * y_step;
        /* dW (K, C) += dY_n (K, T) x X_n^T (T, C) */
        mc__sgemm(false, true, K, C, T, 1.0f, dyn, T, xn, T, 1.0f, dweights, C);
        /* dX_n (C, T) = W^T (C, K) x dY_n (K, T) */
        if (dx != NULL)
            mc__sgemm(true, false, C, T, K, 1.0f, weights, C, dyn, T, 0.0f, dx + (size_t)n * x_step,
                      T);
    }
    for (int k = 0; k < K; k++) {
        double sum = 0.0;
        for (int n = 0; n < N; n++) {
            const float *d = dy + (size_t)n * y_step + (size_t)k * (size_t)T;
            for (int t = 0; t < T; t++)
                sum += d[t];
        }
        dbias[k] += (float)sum;
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct fc {
    mc_layer base;
    int output_size; /* K */
    int input_size;  /* D, 0 while 'auto' */
    mc__init weights_init;
    mc__init bias_init;
    mc_param weights; /* (K, D); empty until given or initialized */
    mc_param bias;    /* (K) */
    bool sequence;    /* set up for (N, C, T) input */
} fc;

static const mc_layer_vtable fc_vtable;

mc_fc_options mc_fc_default(int output_size)
{
    mc_fc_options o;
    memset(&o, 0, sizeof o);
    o.output_size = output_size;
    o.weight_learn_rate_factor = 1.0;
    o.bias_learn_rate_factor = 1.0;
    o.weight_l2_factor = 1.0;
    o.bias_l2_factor = 0.0;
    return o;
}

/* Checks every option; on success *input_size is InputSize (0 for 'auto'), taken from the
 * initial Weights when they are given and InputSize is 'auto'. */
static mc_status validate(mc_ctx *ctx, const mc_fc_options *o, const mc__weighted_options *wo,
                          const char *label, int *input_size)
{
    if (o->output_size < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: OutputSize must be a positive integer, not %d",
                           label, o->output_size);
    if (o->input_size < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: InputSize must be 'auto' (0) or a positive integer, not %d", label,
                           o->input_size);
    /* Weights (K, D) are counted in int (BLAS sizes). */
    if (o->input_size > 0 && (double)o->input_size * o->output_size > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: InputSize %d and OutputSize %d make more than %d weights", label,
                           o->input_size, o->output_size, INT_MAX);
    /* Sizes first, so that no value is read past a length that cannot be right. */
    const size_t K = (size_t)o->output_size;
    if (o->weights != NULL && o->weights_len > 0) {
        if (o->input_size > 0 && o->weights_len != K * (size_t)o->input_size)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements but %dx%d = %zu are "
                               "needed (OutputSize x InputSize)",
                               label, o->weights_len, o->output_size, o->input_size,
                               K * (size_t)o->input_size);
        if (o->weights_len % K != 0)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements, not a multiple of "
                               "OutputSize %d",
                               label, o->weights_len, o->output_size);
    }
    mc_status st = mc__weighted_check_values(ctx, label, wo, o->output_size, "OutputSize");
    if (st != MC_OK)
        return st;
    *input_size =
        o->weights != NULL && o->weights_len > 0 ? (int)(o->weights_len / K) : o->input_size;
    return MC_OK;
}

/* MATLAB's sizes: Weights K x D, Bias K x 1; stored (K, D) and (K). */
static mc_shape weights_size(const fc *l, int D)
{
    return mc_shape_make(2, (const int[]){l->output_size, D});
}

static mc_shape bias_size(const fc *l)
{
    return mc_shape_make(2, (const int[]){l->output_size, 1});
}

static void fc_destroy(mc_layer *self)
{
    fc *l = (fc *)self;
    mc__param_release(self->ctx, &l->weights);
    mc__param_release(self->ctx, &l->bias);
}

mc_status mc_fc_create(mc_ctx *ctx, const mc_fc_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, fc_vtable.kind);
    int input_size = 0;
    const mc__weighted_options wo = MC__WEIGHTED_OPTIONS(opts);
    mc_status st = validate(ctx, opts, &wo, label, &input_size);
    mc__init weights_init, bias_init;
    if (st == MC_OK)
        st = mc__weighted_resolve(ctx, label, &wo, &weights_init, &bias_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(fc), &fc_vtable, opts->name, 1, NULL,
                           "creating a fully connected layer", &base);
    if (st != MC_OK)
        return st;
    fc *l = (fc *)base;
    l->output_size = opts->output_size;
    l->input_size = input_size;
    l->weights_init = weights_init;
    l->bias_init = bias_init;
    const mc_shape w_size = weights_size(l, input_size);
    const mc_shape b_storage = mc_shape_make(1, &l->output_size), b_size = bias_size(l);
    st = mc__weighted_init_params(ctx, &l->weights, &l->bias, &wo, &w_size, &w_size, &b_storage,
                                  &b_size);
    if (st != MC_OK) {
        mc_layer_destroy(&l->base);
        return st;
    }
    *out = &l->base;
    return MC_OK;
}

static mc_status fc_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    fc *l = (fc *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP], dims[96];
    mc__layer_label(self, label, sizeof label);
    const mc_shape *s = &in[0];
    const mc_data_kind kind = mc_shape_kind(s);
    const int N = s->dims[0], K = l->output_size;
    /* D: the values one observation (one time step of a sequence) maps from. */
    const bool sequence = kind == MC_DATA_SEQUENCE;
    const int per_ndim = sequence ? 1 : s->ndim - 1;
    double D = 1.0;
    for (int d = 1; d <= per_ndim; d++)
        D *= s->dims[d];
    char per[128] = "";
    if (per_ndim > 1) {
        const mc_shape per_shape = mc_shape_make(per_ndim, s->dims + 1);
        mc_shape_format(&per_shape, "x", dims, sizeof dims);
        snprintf(per, sizeof per, "%s = ", dims);
    }
    if (l->input_size > 0 && D != l->input_size)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: InputSize is %d but the input has %s%.0f values per %s", label,
                           l->input_size, per, D, sequence ? "time step" : "observation");
    if (D > INT_MAX || D * K > INT_MAX || (double)N * K > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: %s%.0f input values per observation and OutputSize %d are "
                           "too large",
                           label, per, D, K);
    const mc_shape storage = mc_shape_make(2, (const int[]){K, (int)D});
    const mc_shape w_size = weights_size(l, (int)D);
    mc_status st = mc__param_prepare(ctx, label, &l->weights, &l->weights_init,
                                     "WeightsInitializer", &storage, &w_size, D, K);
    if (st != MC_OK)
        return st;
    /* InputSize is fixed from here on: Weights now has its size. */
    l->input_size = (int)D;
    const mc_shape b_storage = mc_shape_make(1, &K), b_size = bias_size(l);
    st = mc__param_prepare(ctx, label, &l->bias, &l->bias_init, "BiasInitializer", &b_storage,
                           &b_size, 0.0, 0.0);
    if (st != MC_OK)
        return st;
    l->sequence = sequence;
    /* (N, K), (N, K, T), (N, K, 1, 1) or (N, K, 1, 1, 1) */
    mc_shape o = *s;
    o.dims[1] = K;
    for (int d = 2; d < o.ndim && !sequence; d++)
        o.dims[d] = 1;
    *out = o;
    return MC_OK;
}

static void fc_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out, mc_mode mode)
{
    (void)n_in;
    (void)mode; /* training and inference compute the same */
    fc *l = (fc *)self;
    const mc_shape *s = &in[0].shape;
    if (l->sequence)
        fc_sequence_forward_kernel(in[0].data, l->weights.value.data, l->bias.value.data, out->data,
                                   s->dims[0], s->dims[1], s->dims[2], l->output_size);
    else
        fc_forward_kernel(in[0].data, l->weights.value.data, l->bias.value.data, out->data,
                          s->dims[0], l->input_size, l->output_size);
}

static void fc_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                        const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    fc *l = (fc *)self;
    const mc_shape *s = &in[0].shape;
    if (l->sequence)
        fc_sequence_backward_kernel(in[0].data, l->weights.value.data, dout->data, din[0].data,
                                    l->weights.grad.data, l->bias.grad.data, s->dims[0], s->dims[1],
                                    s->dims[2], l->output_size);
    else
        fc_backward_kernel(in[0].data, l->weights.value.data, dout->data, din[0].data,
                           l->weights.grad.data, l->bias.grad.data, s->dims[0], l->input_size,
                           l->output_size);
}

static mc_param *fc_param(mc_layer *self, int i)
{
    fc *l = (fc *)self;
    return i == 0 ? &l->weights : i == 1 ? &l->bias : NULL;
}

static void fc_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const fc *l = (const fc *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "%d fully connected layer", l->output_size);
        return;
    }
    /* Property names right-aligned in one column: the longest name plus 4, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 14;
    mc_text_printf(t, "  FullyConnectedLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc_text_printf(t, "\n   Hyperparameters\n");
    mc__describe_count(t, w, "InputSize", l->input_size);
    mc_text_printf(t, "%*s: %d\n", w, "OutputSize", l->output_size);
    mc__describe_learnables(t, w, &l->weights, &l->bias);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, &l->weights, "Weight", &l->weights_init, &l->bias, "Bias",
                          &l->bias_init);
}

static const mc_layer_vtable fc_vtable = {
    .kind = "fullyConnectedLayer",
    .class_name = "FullyConnectedLayer",
    .type_label = "Fully Connected",
    .default_name = "fc",
    .role = MC_ROLE_HIDDEN,
    .setup = fc_setup,
    .forward = fc_forward,
    .backward = fc_backward,
    .param = fc_param,
    .buffer = mc__no_buffer,
    .describe = fc_describe,
    .destroy = fc_destroy,
};
