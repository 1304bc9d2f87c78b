/* reluLayer (MATLAB R2020b semantics). */
#include <stddef.h>

#include <minicnn/layers.h>

#include "../internal.h"

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

typedef struct relu {
    mc_layer base;
} relu;

static const mc_layer_vtable relu_vtable;

static mc_status relu_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)self;
    (void)n_in;
    *out = in[0]; /* any input kind */
    return MC_OK;
}

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

static mc_param *relu_param(mc_layer *self, int i)
{
    (void)self;
    (void)i;
    return NULL;
}

static mc_tensor *relu_buffer(mc_layer *self, int i, const char **name)
{
    (void)self;
    (void)i;
    (void)name;
    return NULL;
}

static void relu_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "ReLU");
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 15 : 8;
    mc_text_printf(t, "  ReLULayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
    mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
    mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
    mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
}

static void relu_destroy(mc_layer *self)
{
    (void)self; /* nothing of its own */
}

mc_status mc_relu_create(mc_ctx *ctx, const char *name, mc_layer **out)
{
    *out = NULL;
    relu *r = mc__calloc(ctx, 1, sizeof *r);
    if (r == NULL)
        return mc__nomem(ctx, "creating a ReLU layer");
    mc_status st = mc__layer_init(&r->base, ctx, &relu_vtable, name, 1, NULL);
    if (st != MC_OK) {
        mc_free(ctx, r);
        return st;
    }
    *out = &r->base;
    return MC_OK;
}

static const mc_layer_vtable relu_vtable = {
    .kind = "reluLayer",
    .class_name = "ReLULayer",
    .type_label = "ReLU",
    .default_name = "relu",
    .role = MC_ROLE_HIDDEN,
    .setup = relu_setup,
    .forward = relu_forward,
    .backward = relu_backward,
    .param = relu_param,
    .buffer = relu_buffer,
    .describe = relu_describe,
    .destroy = relu_destroy,
};
