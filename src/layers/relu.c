/* SPDX-License-Identifier: MIT */
/* reluLayer (MATLAB R2020b semantics). */
#include <stddef.h>

#include <minicnn/layers.h>

#include "../parallel.h"
#include "../simd.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x, y: (n) of any layout. y = max(0, x); a NaN input stays NaN (as PyTorch's relu does), so a
 * diverging network shows its NaN instead of hiding it behind zeros. x and y may alias. */
MC__CLONES static void relu_forward_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* x, dy, dx: (n). dx = dy where x > 0, else 0 (the subgradient 0 at the kink x = 0). */
MC__CLONES static void relu_backward_kernel(const float *x, const float *dy, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float d = dy[i]; /* read unconditionally, so that the loop vectorizes */
        dx[i] = x[i] > 0.0f ? d : 0.0f;
    }
}

/* Fixed blocks of elements on minicnn's threads. */
#define RELU_BLOCK ((size_t)1 << 16)

typedef struct relu_job {
    const float *x, *dy;
    float *y;
    size_t n;
} relu_job;

static void relu_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const relu_job *j = arg;
    const size_t lo = (size_t)task * RELU_BLOCK,
                 hi = lo + RELU_BLOCK < j->n ? lo + RELU_BLOCK : j->n;
    relu_forward_kernel(j->x + lo, j->y + lo, hi - lo);
}

static void relu_backward_task(void *arg, int task, int thread)
{
    (void)thread;
    const relu_job *j = arg;
    const size_t lo = (size_t)task * RELU_BLOCK,
                 hi = lo + RELU_BLOCK < j->n ? lo + RELU_BLOCK : j->n;
    relu_backward_kernel(j->x + lo, j->dy + lo, j->y + lo, hi - lo);
}

static int relu_blocks(size_t n)
{
    return (int)((n + RELU_BLOCK - 1) / RELU_BLOCK);
}

/* ---- Layer ------------------------------------------------------------------------------ */

/* No state of its own; any input kind is set up as it comes (mc__setup_same_shape). */
typedef struct relu {
    mc_layer base;
} relu;

static const mc_layer_vtable relu_vtable;

static void relu_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                         mc_mode mode)
{
    (void)self;
    (void)n_in;
    (void)mode;
    relu_job j = {.x = in[0].data, .y = out->data, .n = mc_tensor_numel(&in[0])};
    mc__parallel_for(relu_blocks(j.n), 0, 2 * j.n, relu_forward_task, &j);
}

static void relu_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                          const mc_tensor *dout, mc_tensor *din)
{
    (void)self;
    (void)n_in;
    (void)out;
    if (din[0].data == NULL)
        return;
    relu_job j = {
        .x = in[0].data, .dy = dout->data, .y = din[0].data, .n = mc_tensor_numel(&in[0])};
    mc__parallel_for(relu_blocks(j.n), 0, 3 * j.n, relu_backward_task, &j);
}

static void relu_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    mc__describe_plain(self, t, what, "ReLU");
}

mc_status mc_relu_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    *out = NULL;
    return mc__layer_new(ctx, sizeof(relu), &relu_vtable, name, 1, NULL, "creating a ReLU layer",
                         out);
}

static const mc_layer_vtable relu_vtable = {
    .kind = "reluLayer",
    .class_name = "ReLULayer",
    .type_label = "ReLU",
    .default_name = "relu",
    .role = MC_ROLE_HIDDEN,
    .setup = mc__setup_same_shape,
    .forward = relu_forward,
    .backward = relu_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = relu_describe,
    .destroy = mc__no_destroy,
};
