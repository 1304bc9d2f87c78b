/* reluLayer (MATLAB R2020b semantics). */
#include <stddef.h>

#include <minicnn/layers.h>

#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* x, y: (n) of any layout. y = max(0, x); a NaN input stays NaN (as PyTorch's relu does), so a
 * diverging network shows its NaN instead of hiding it behind zeros. x and y may alias. */
static void relu_forward_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/* x, dy, dx: (n). dx = dy where x > 0, else 0 (the subgradient 0 at the kink x = 0). */
static void relu_backward_kernel(const float *x, const float *dy, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
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
    relu_forward_kernel(in[0].data, out->data, mc_tensor_numel(&in[0]));
}

static void relu_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                          const mc_tensor *dout, mc_tensor *din)
{
    (void)self;
    (void)n_in;
    (void)out;
    if (din[0].data != NULL)
        relu_backward_kernel(in[0].data, dout->data, din[0].data, mc_tensor_numel(&in[0]));
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
