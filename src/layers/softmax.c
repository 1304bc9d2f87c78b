/* SPDX-License-Identifier: MIT */
/* softmaxLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stddef.h>

#include <minicnn/layers.h>

#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x, y: (N, C, S), softmax over C for each (n, s). The maximum is subtracted first, so any
 * finite logits give finite probabilities (exp of a value <= 0); exponentials and the sum are
 * taken in double. */
static void softmax_forward_kernel(const float *x, float *y, int N, int C, size_t S)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * (size_t)C * S;
        float *yn = y + (size_t)n * (size_t)C * S;
        for (size_t s = 0; s < S; s++) {
            float m = xn[s];
            for (int c = 1; c < C; c++)
                if (xn[(size_t)c * S + s] > m)
                    m = xn[(size_t)c * S + s];
            double sum = 0.0;
            for (int c = 0; c < C; c++)
                sum += exp((double)xn[(size_t)c * S + s] - (double)m);
            const double inv = 1.0 / sum;
            for (int c = 0; c < C; c++)
                yn[(size_t)c * S + s] =
                    (float)(exp((double)xn[(size_t)c * S + s] - (double)m) * inv);
        }
    }
}

/* y, dy, dx: (N, C, S). dx = y .* (dy - sum_c(dy .* y)) for each (n, s). dx may alias dy. */
static void softmax_backward_kernel(const float *y, const float *dy, float *dx, int N, int C,
                                    size_t S)
{
    for (int n = 0; n < N; n++) {
        const size_t base = (size_t)n * (size_t)C * S;
        for (size_t s = 0; s < S; s++) {
            double dot = 0.0;
            for (int c = 0; c < C; c++) {
                const size_t i = base + (size_t)c * S + s;
                dot += (double)dy[i] * (double)y[i];
            }
            for (int c = 0; c < C; c++) {
                const size_t i = base + (size_t)c * S + s;
                dx[i] = (float)((double)y[i] * ((double)dy[i] - dot));
            }
        }
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

/* No state of its own; any input kind is set up as it comes (mc__setup_same_shape): softmax
 * over C at every position. */
typedef struct softmax {
    mc_layer base;
} softmax;

static const mc_layer_vtable softmax_vtable;

static void softmax_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                            mc_mode mode)
{
    (void)self;
    (void)n_in;
    (void)mode;
    const mc_shape *s = &in[0].shape;
    softmax_forward_kernel(in[0].data, out->data, s->dims[0], s->dims[1], mc__positions(s));
}

static void softmax_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                             const mc_tensor *dout, mc_tensor *din)
{
    (void)self;
    (void)n_in;
    if (din[0].data == NULL)
        return;
    const mc_shape *s = &in[0].shape;
    softmax_backward_kernel(out->data, dout->data, din[0].data, s->dims[0], s->dims[1],
                            mc__positions(s));
}

static void softmax_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    mc__describe_plain(self, t, what, "softmax");
}

mc_status mc_softmax_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    *out = NULL;
    return mc__layer_new(ctx, sizeof(softmax), &softmax_vtable, name, 1, NULL,
                         "creating a softmax layer", out);
}

static const mc_layer_vtable softmax_vtable = {
    .kind = "softmaxLayer",
    .class_name = "SoftmaxLayer",
    .type_label = "Softmax",
    .default_name = "softmax",
    .role = MC_ROLE_HIDDEN,
    .setup = mc__setup_same_shape,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = softmax_describe,
    .destroy = mc__no_destroy,
};
