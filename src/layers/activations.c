/* SPDX-License-Identifier: MIT */
/* leakyReluLayer, clippedReluLayer, eluLayer and tanhLayer (MATLAB R2020b semantics): the
 * element-wise activations with one hyperparameter (or none). One state struct and one job for
 * the four; each has its own vtable, constructor and display. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <minicnn/layers3.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x, y: (n) of any layout; x and y may alias. y = x for x >= 0, scale * x below; a NaN stays
 * NaN. */
MC__CLONES void mc_leaky_relu_forward_kernel(const float *x, float *y, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? scale * x[i] : x[i];
}

/* x, dy, dx: (n). dx = dy where x > 0, scale * dy elsewhere (the left slope at the kink). */
MC__CLONES void mc_leaky_relu_backward_kernel(const float *x, const float *dy, float *dx, size_t n,
                                              float scale)
{
    for (size_t i = 0; i < n; i++) {
        const float d = dy[i];
        dx[i] = x[i] > 0.0f ? d : scale * d;
    }
}

/* x, y: (n). y = min(max(x, 0), ceiling); a NaN stays NaN. */
MC__CLONES void mc_clipped_relu_forward_kernel(const float *x, float *y, size_t n, float ceiling)
{
    for (size_t i = 0; i < n; i++) {
        const float v = x[i] < 0.0f ? 0.0f : x[i];
        y[i] = v > ceiling ? ceiling : v;
    }
}

/* x, dy, dx: (n). dx = dy where 0 < x < ceiling, else 0 (0 at both kinks). */
MC__CLONES void mc_clipped_relu_backward_kernel(const float *x, const float *dy, float *dx,
                                                size_t n, float ceiling)
{
    for (size_t i = 0; i < n; i++) {
        const float d = dy[i];
        dx[i] = x[i] > 0.0f && x[i] < ceiling ? d : 0.0f;
    }
}

/* x, y: (n). y = x for x >= 0, alpha * (exp(x) - 1) below (expm1f: exact near 0). */
void mc_elu_forward_kernel(const float *x, float *y, size_t n, float alpha)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? alpha * expm1f(x[i]) : x[i];
}

/* x, dy, dx: (n). dx = dy where x > 0, alpha * exp(x) * dy elsewhere (computed from x, not from
 * y + alpha, which would cancel for very negative x). */
void mc_elu_backward_kernel(const float *x, const float *dy, float *dx, size_t n, float alpha)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : alpha * expf(x[i]) * dy[i];
}

/* x, y: (n). y = tanh(x). */
void mc_tanh_forward_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

/* y, dy, dx: (n), y the forward's output. dx = (1 - y^2) dy. */
MC__CLONES void mc_tanh_backward_kernel(const float *y, const float *dy, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = (1.0f - y[i] * y[i]) * dy[i];
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef enum act_kind { ACT_LEAKY, ACT_CLIPPED, ACT_ELU, ACT_TANH } act_kind;

/* The hyperparameter (Scale, Ceiling or Alpha; unused by tanh). */
typedef struct activation {
    mc_layer base;
    act_kind kind;
    double param;
} activation;

/* Fixed blocks of elements on minicnn's threads: the same blocks for any thread count, and each
 * element's value depends on nothing else. */
#define ACT_BLOCK ((size_t)1 << 16)

typedef struct act_job {
    const activation *a;
    const float *x, *y, *dy;
    float *out; /* y in forward, dx in backward */
    size_t n;
    int backward;
} act_job;

static void act_task(void *arg, int task, int thread)
{
    (void)thread;
    const act_job *j = arg;
    const size_t lo = (size_t)task * ACT_BLOCK, hi = lo + ACT_BLOCK < j->n ? lo + ACT_BLOCK : j->n;
    const size_t n = hi - lo;
    const float p = (float)j->a->param;
    const float *x = j->x + lo, *dy = j->dy + lo;
    float *out = j->out + lo;
    switch (j->a->kind) {
    case ACT_LEAKY:
        if (j->backward)
            mc_leaky_relu_backward_kernel(x, dy, out, n, p);
        else
            mc_leaky_relu_forward_kernel(x, out, n, p);
        break;
    case ACT_CLIPPED:
        if (j->backward)
            mc_clipped_relu_backward_kernel(x, dy, out, n, p);
        else
            mc_clipped_relu_forward_kernel(x, out, n, p);
        break;
    case ACT_ELU:
        if (j->backward)
            mc_elu_backward_kernel(x, dy, out, n, p);
        else
            mc_elu_forward_kernel(x, out, n, p);
        break;
    case ACT_TANH:
        if (j->backward)
            mc_tanh_backward_kernel(j->y + lo, dy, out, n);
        else
            mc_tanh_forward_kernel(x, out, n);
        break;
    }
}

static void act_run(act_job *j)
{
    const int blocks = (int)((j->n + ACT_BLOCK - 1) / ACT_BLOCK);
    /* exp and tanh cost some 10 flops an element: weigh them so */
    const size_t per = j->a->kind == ACT_ELU || j->a->kind == ACT_TANH ? 12 : 3;
    mc__parallel_for(blocks, 0, per * j->n, act_task, j);
}

static void act_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out, mc_mode mode)
{
    (void)n_in;
    (void)mode;
    act_job j = {.a = (const activation *)self,
                 .x = in[0].data,
                 .out = out->data,
                 .n = mc_tensor_numel(&in[0])};
    act_run(&j);
}

static void act_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                         const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    if (din[0].data == NULL)
        return;
    act_job j = {.a = (const activation *)self,
                 .x = in[0].data,
                 .y = out->data,
                 .dy = dout->data,
                 .out = din[0].data,
                 .n = mc_tensor_numel(&in[0]),
                 .backward = 1};
    act_run(&j);
}

/* The MATLAB name of the hyperparameter, for displays and messages. */
static const char *param_name(act_kind kind)
{
    return kind == ACT_LEAKY ? "Scale" : kind == ACT_CLIPPED ? "Ceiling" : "Alpha";
}

static void act_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const activation *a = (const activation *)self;
    char num[40];
    const char *pname = param_name(a->kind);
    if (what == MC_DESCRIBE_SUMMARY) {
        /* num2str's five significant digits */
        switch (a->kind) {
        case ACT_LEAKY:
            mc_text_printf(t, "Leaky ReLU with scale %.5g", a->param);
            break;
        case ACT_CLIPPED:
            mc_text_printf(t, "Clipped ReLU with ceiling %.5g", a->param);
            break;
        case ACT_ELU:
            mc_text_printf(t, "ELU with Alpha %.5g", a->param);
            break;
        case ACT_TANH:
            mc_text_printf(t, "Hyperbolic tangent");
            break;
        }
        return;
    }
    if (a->kind == ACT_TANH) {
        mc__describe_plain(self, t, what, "");
        return;
    }
    /* Names right-aligned to the longest: the hyperparameter's, or OutputNames in full. */
    const int w = what == MC_DESCRIBE_ALL ? 15 : 4 + (int)strlen(pname);
    mc_text_printf(t, "  %s with properties:\n\n%*s: '%s'\n", self->vt->class_name, w, "Name",
                   self->name);
    mc_format_short(a->param, num, sizeof num);
    if (a->kind == ACT_ELU) {
        /* ELULayer displays as MATLAB's custom layers do: its property, then the empty
         * learnables */
        mc_text_printf(t, "%*s: %s\n", w, pname, num);
        if (what == MC_DESCRIBE_ALL)
            mc__describe_io(t, w);
        mc_text_printf(t, "\n   Learnable Parameters\n    No properties.\n");
    } else {
        if (what == MC_DESCRIBE_ALL)
            mc__describe_io(t, w);
        mc_text_printf(t, "\n   Hyperparameters\n%*s: %s\n", w, pname, num);
    }
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
}

static const mc_layer_vtable leaky_vtable, clipped_vtable, elu_vtable, tanh_vtable;

/* Makes the layer after checking its hyperparameter: finite (and positive for Ceiling). */
static mc_status act_create(mc_ctx *ctx, const mc_layer_vtable *vt, act_kind kind, double param,
                            const char *name, const char *what, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, name, vt->kind);
    if (kind == ACT_CLIPPED && !(isfinite(param) && param > 0.0))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Ceiling must be a positive finite number, not %g", label, param);
    if (kind != ACT_TANH && !isfinite(param))
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be a finite number, not %g", label,
                           param_name(kind), param);
    mc_layer *base = NULL;
    mc_status st = mc__layer_new(ctx, sizeof(activation), vt, name, 1, NULL, what, &base);
    if (st != MC_OK)
        return st;
    activation *a = (activation *)base;
    a->kind = kind;
    a->param = param;
    *out = base;
    return MC_OK;
}

mc_leaky_relu_options mc_leaky_relu_default(void)
{
    return (mc_leaky_relu_options){.scale = 0.01, .name = NULL};
}

mc_status mc_leaky_relu_create(mc_ctx *ctx, const mc_leaky_relu_options *opts, mc_layer **out)
{
    return act_create(ctx, &leaky_vtable, ACT_LEAKY, opts->scale, opts->name,
                      "creating a leaky ReLU layer", out);
}

mc_clipped_relu_options mc_clipped_relu_default(double ceiling)
{
    return (mc_clipped_relu_options){.ceiling = ceiling, .name = NULL};
}

mc_status mc_clipped_relu_create(mc_ctx *ctx, const mc_clipped_relu_options *opts, mc_layer **out)
{
    return act_create(ctx, &clipped_vtable, ACT_CLIPPED, opts->ceiling, opts->name,
                      "creating a clipped ReLU layer", out);
}

mc_elu_options mc_elu_default(void)
{
    return (mc_elu_options){.alpha = 1.0, .name = NULL};
}

mc_status mc_elu_create(mc_ctx *ctx, const mc_elu_options *opts, mc_layer **out)
{
    return act_create(ctx, &elu_vtable, ACT_ELU, opts->alpha, opts->name, "creating an ELU layer",
                      out);
}

mc_status mc_tanh_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    return act_create(ctx, &tanh_vtable, ACT_TANH, 0.0, name, "creating a tanh layer", out);
}

double mc_activation_param(const mc_layer *layer)
{
    const mc_layer_vtable *vt = layer->vt;
    if (vt != &leaky_vtable && vt != &clipped_vtable && vt != &elu_vtable)
        return NAN;
    return ((const activation *)layer)->param;
}

#define ACT_VTABLE(var, kind_, class_, label_, default_)                                           \
    static const mc_layer_vtable var = {                                                           \
        .kind = kind_,                                                                             \
        .class_name = class_,                                                                      \
        .type_label = label_,                                                                      \
        .default_name = default_,                                                                  \
        .role = MC_ROLE_HIDDEN,                                                                    \
        .setup = mc__setup_same_shape,                                                             \
        .forward = act_forward,                                                                    \
        .backward = act_backward,                                                                  \
        .param = mc__no_param,                                                                     \
        .buffer = mc__no_buffer,                                                                   \
        .describe = act_describe,                                                                  \
        .destroy = mc__no_destroy,                                                                 \
    }

ACT_VTABLE(leaky_vtable, "leakyReluLayer", "LeakyReLULayer", "Leaky ReLU", "leakyrelu");
ACT_VTABLE(clipped_vtable, "clippedReluLayer", "ClippedReLULayer", "Clipped ReLU", "clippedrelu");
ACT_VTABLE(elu_vtable, "eluLayer", "ELULayer", "ELU", "elu");
ACT_VTABLE(tanh_vtable, "tanhLayer", "TanhLayer", "Tanh", "tanh");
