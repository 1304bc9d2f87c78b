/* SPDX-License-Identifier: MIT */
/* additionLayer (MATLAB R2020b semantics). */
#include <string.h>

#include <minicnn/layers.h>

#include "../parallel.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x[0 .. k-1], y: (n) each. y = x[0] + ... + x[k-1], added in input order. y may alias any
 * input: each element is read from every input before it is written. */
static void addition_forward_kernel(const float *const *x, int k, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = x[0][i];
        for (int j = 1; j < k; j++)
            s += x[j][i];
        y[i] = s;
    }
}

/* Fixed blocks of elements on minicnn's threads. */
#define ADD_BLOCK ((size_t)1 << 15)

typedef struct addition_job {
    const float *x[MC_MAX_LAYER_INPUTS];
    float *y[MC_MAX_LAYER_INPUTS]; /* forward: y[0]; backward: each input gradient or NULL */
    int k;
    size_t n;
} addition_job;

static void addition_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const addition_job *j = arg;
    const size_t lo = (size_t)task * ADD_BLOCK, hi = lo + ADD_BLOCK < j->n ? lo + ADD_BLOCK : j->n;
    const float *x[MC_MAX_LAYER_INPUTS];
    for (int i = 0; i < j->k; i++)
        x[i] = j->x[i] + lo;
    addition_forward_kernel(x, j->k, j->y[0] + lo, hi - lo);
}

/* Each input gradient (that is not dy itself) = dy. */
static void addition_backward_task(void *arg, int task, int thread)
{
    (void)thread;
    const addition_job *j = arg;
    const size_t lo = (size_t)task * ADD_BLOCK, hi = lo + ADD_BLOCK < j->n ? lo + ADD_BLOCK : j->n;
    for (int i = 0; i < j->k; i++)
        if (j->y[i] != NULL && j->y[i] != j->x[0])
            memcpy(j->y[i] + lo, j->x[0] + lo, (hi - lo) * sizeof(float));
}

static int addition_blocks(size_t n)
{
    return (int)((n + ADD_BLOCK - 1) / ADD_BLOCK);
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct addition {
    mc_layer base;
} addition;

static const mc_layer_vtable addition_vtable;

static mc_status addition_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    for (int i = 1; i < n_in; i++) {
        bool same = in[i].ndim == in[0].ndim;
        for (int d = 0; same && d < in[0].ndim; d++)
            same = in[i].dims[d] == in[0].dims[d];
        if (!same) {
            char label[MC__LABEL_CAP], a[96], b[96];
            mc_shape_format(&in[0], "x", a, sizeof a);
            mc_shape_format(&in[i], "x", b, sizeof b);
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: input %d has shape [%s] but input 1 has shape [%s]; all "
                               "inputs must have the same shape",
                               mc__layer_label(self, label, sizeof label), i + 1, b, a);
        }
    }
    *out = in[0];
    return MC_OK;
}

static void addition_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                             mc_mode mode)
{
    (void)self;
    (void)mode;
    addition_job j = {.k = n_in, .n = mc_tensor_numel(out)};
    for (int i = 0; i < n_in; i++)
        j.x[i] = in[i].data;
    j.y[0] = out->data;
    mc__parallel_for(addition_blocks(j.n), 0, (size_t)(n_in + 1) * j.n, addition_forward_task, &j);
}

static void addition_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                              const mc_tensor *dout, mc_tensor *din)
{
    (void)self;
    (void)in;
    (void)out;
    addition_job j = {.k = n_in, .n = mc_tensor_numel(dout)};
    j.x[0] = dout->data;
    int copies = 0;
    for (int i = 0; i < n_in; i++) {
        j.y[i] = din[i].data;
        copies += din[i].data != NULL && din[i].data != dout->data;
    }
    if (copies > 0)
        mc__parallel_for(addition_blocks(j.n), 0, (size_t)(copies + 1) * j.n,
                         addition_backward_task, &j);
}

static void addition_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    if (what == MC_DESCRIBE_SUMMARY)
        mc_text_printf(t, "Element-wise addition of %d inputs", self->num_inputs);
    else
        mc__describe_multi_input(self, t, what, 0);
}

mc_status mc_addition_create(mc_ctx *ctx, int num_inputs, const char *name, mc_layer **out)
{
    *out = NULL;
    if (num_inputs < 2 || num_inputs > MC_MAX_LAYER_INPUTS) {
        char label[MC__LABEL_CAP];
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the number of inputs must be an integer from 2 to %d, not %d",
                           mc__label(label, sizeof label, name, addition_vtable.kind),
                           MC_MAX_LAYER_INPUTS, num_inputs);
    }
    return mc__layer_new(ctx, sizeof(addition), &addition_vtable, name, num_inputs, mc__input_names,
                         "creating an addition layer", out);
}

static const mc_layer_vtable addition_vtable = {
    .kind = "additionLayer",
    .class_name = "AdditionLayer",
    .type_label = "Addition",
    .default_name = "addition",
    .role = MC_ROLE_HIDDEN,
    .setup = addition_setup,
    .forward = addition_forward,
    .backward = addition_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = addition_describe,
    .destroy = mc__no_destroy,
};
