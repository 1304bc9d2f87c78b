/* SPDX-License-Identifier: MIT */
/* Helpers every layer file may use: see common.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

mc_status mc__layer_new(mc_ctx *ctx, size_t size, const mc_layer_vtable *vt, const char *name,
                        int num_inputs, const char *const *input_names, const char *what,
                        mc_layer **out)
{
    mc_layer *layer = mc__calloc(ctx, 1, size);
    if (layer == NULL)
        return mc__nomem(ctx, what);
    mc_status st = mc__layer_init(layer, ctx, vt, name, num_inputs, input_names);
    if (st != MC_OK) {
        mc_free(ctx, layer);
        return st;
    }
    *out = layer;
    return MC_OK;
}

const char *const mc__input_names[MC_MAX_LAYER_INPUTS] = {
    "in1",  "in2",  "in3",  "in4",  "in5",  "in6",  "in7",  "in8",  "in9",  "in10", "in11",
    "in12", "in13", "in14", "in15", "in16", "in17", "in18", "in19", "in20", "in21", "in22",
    "in23", "in24", "in25", "in26", "in27", "in28", "in29", "in30", "in31", "in32"};

mc_param *mc__no_param(mc_layer *self, int i)
{
    (void)self;
    (void)i;
    return NULL;
}

mc_tensor *mc__no_buffer(mc_layer *self, int i, const char **name)
{
    (void)self;
    (void)i;
    (void)name;
    return NULL;
}

void mc__no_destroy(mc_layer *self)
{
    (void)self; /* nothing of its own */
}

mc_status mc__setup_same_shape(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)self;
    (void)n_in;
    *out = in[0];
    return MC_OK;
}

size_t mc__positions(const mc_shape *s)
{
    size_t S = 1;
    for (int d = 2; d < s->ndim; d++)
        S *= (size_t)s->dims[d];
    return S;
}

void mc__same_padding(int L, int S, long long extent, int *before, int *after)
{
    const long long O = ((long long)L + S - 1) / S;
    long long total = (O - 1) * S + extent - L;
    if (total < 0)
        total = 0;
    *before = (int)(total / 2);
    *after = (int)(total - total / 2);
}

mc_status mc__check_image2d(mc_ctx *ctx, const char *label, const mc_shape *in, const char *what)
{
    if (mc_shape_kind(in) == MC_DATA_IMAGE2D)
        return MC_OK;
    char dims[96];
    mc_shape_format(in, "x", dims, sizeof dims);
    return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                       "%s: the input has shape [%s]; %s needs 2-D images "
                       "(N, C, H, W)",
                       label, dims, what);
}

mc_status mc__check_pool2d(mc_ctx *ctx, const char *label, const int pool[2], const int stride[2],
                           const int padding[4], bool same)
{
    const int *p = padding;
    if (pool[0] < 1 || pool[1] < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: PoolSize must be two positive integers, not [%d %d]", label,
                           pool[0], pool[1]);
    if (stride[0] < 1 || stride[1] < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Stride must be two positive integers, not [%d %d]", label,
                           stride[0], stride[1]);
    if (same)
        return MC_OK; /* `padding` is ignored */
    if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Padding must be four nonnegative integers [top bottom left "
                           "right] or 'same', not [%d %d %d %d]",
                           label, p[0], p[1], p[2], p[3]);
    if (p[0] >= pool[0] || p[1] >= pool[0] || p[2] >= pool[1] || p[3] >= pool[1])
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the padding [%d %d %d %d] must be smaller than the pool size "
                           "[%d %d] (top and bottom below %d, left and right below %d)",
                           label, p[0], p[1], p[2], p[3], pool[0], pool[1], pool[0], pool[1]);
    return MC_OK;
}

mc_status mc__pool2d_geometry(mc_ctx *ctx, const char *label, int H, int W, const int pool[2],
                              const int stride[2], bool same, const int manual[4], int pad[4],
                              int *OH, int *OW)
{
    if (same) {
        mc__same_padding(H, stride[0], pool[0], &pad[0], &pad[1]);
        mc__same_padding(W, stride[1], pool[1], &pad[2], &pad[3]);
    } else {
        memcpy(pad, manual, 4 * sizeof *pad);
    }
    const long long ph = (long long)H + pad[0] + pad[1], pw = (long long)W + pad[2] + pad[3];
    /* Positions within a channel's plane are int32 indices (max pooling's winners). */
    if (ph * pw > INT32_MAX)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the padded %lldx%lld input has more than %ld positions per "
                           "channel",
                           label, ph, pw, (long)INT32_MAX);
    if (ph < pool[0] || pw < pool[1])
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %dx%d pooling window does not fit the %dx%d input (padding "
                           "[%d %d %d %d])",
                           label, pool[0], pool[1], H, W, pad[0], pad[1], pad[2], pad[3]);
    *OH = (int)((ph - pool[0]) / stride[0] + 1);
    *OW = (int)((pw - pool[1]) / stride[1] + 1);
    return MC_OK;
}

void mc__describe_pool2d_summary(mc_text *t, const char *what, const int pool[2],
                                 const int stride[2], const int pad[4], bool same)
{
    mc_text_printf(t, "%dx%d %s pooling with stride [%d  %d] and padding ", pool[0], pool[1], what,
                   stride[0], stride[1]);
    if (same)
        mc_text_printf(t, "'same'");
    else
        mc_text_printf(t, "[%d  %d  %d  %d]", pad[0], pad[1], pad[2], pad[3]);
}

void mc__describe_pool2d_hyper(mc_text *t, int w, const int pool[2], const int stride[2],
                               const int pad[4], bool same)
{
    mc_text_printf(t, "\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: [%d %d]\n", w, "PoolSize", pool[0], pool[1]);
    mc_text_printf(t, "%*s: [%d %d]\n", w, "Stride", stride[0], stride[1]);
    mc_text_printf(t, "%*s: '%s'\n", w, "PaddingMode", same ? "same" : "manual");
    /* For 'same', [0 0 0 0] until setup computes it, as MATLAB shows before training. */
    mc_text_printf(t, "%*s: [%d %d %d %d]\n", w, "PaddingSize", pad[0], pad[1], pad[2], pad[3]);
}

mc_status mc__check_num_channels(mc_ctx *ctx, const char *label, int num_channels, int C)
{
    if (num_channels > 0 && num_channels != C)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s: NumChannels is %d but the input has %d channels",
                           label, num_channels, C);
    return MC_OK;
}

/* The four factor names in their order: <a>LearnRateFactor, <b>LearnRateFactor, <a>L2Factor,
 * <b>L2Factor. */
static void factor_names(const char *a, const char *b, char names[4][48])
{
    snprintf(names[0], sizeof names[0], "%sLearnRateFactor", a);
    snprintf(names[1], sizeof names[1], "%sLearnRateFactor", b);
    snprintf(names[2], sizeof names[2], "%sL2Factor", a);
    snprintf(names[3], sizeof names[3], "%sL2Factor", b);
}

mc_status mc__check_learn_factors(mc_ctx *ctx, const char *label, const char *a, double a_lr,
                                  double a_l2, const char *b, double b_lr, double b_l2)
{
    char names[4][48];
    factor_names(a, b, names);
    const double values[4] = {a_lr, b_lr, a_l2, b_l2};
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < 4; i++)
        st = mc__check_factor(ctx, label, names[i], values[i]);
    return st;
}

void mc__describe_io(mc_text *t, int w)
{
    mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
    mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
    mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
    mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
}

void mc__describe_count(mc_text *t, int w, const char *name, int value)
{
    if (value > 0)
        mc_text_printf(t, "%*s: %d\n", w, name, value);
    else
        mc_text_printf(t, "%*s: 'auto'\n", w, name);
}

void mc__describe_learnables(mc_text *t, int w, const mc_param *a, const mc_param *b)
{
    mc_text_printf(t, "\n   Learnable Parameters\n%*s: ", w, a->name);
    mc__describe_param(t, a);
    mc_text_printf(t, "\n%*s: ", w, b->name);
    mc__describe_param(t, b);
    mc_text_printf(t, "\n");
}

void mc__describe_learning(mc_text *t, int w, const mc_param *a, const char *a_factor,
                           const mc__init *a_init, const mc_param *b, const char *b_factor,
                           const mc__init *b_init)
{
    char option[48], names[4][48], num[40];
    snprintf(option, sizeof option, "%sInitializer", a->name);
    mc_text_printf(t, "\n   Parameters and Initialization\n%*s: ", w, option);
    mc__describe_init(t, a_init);
    snprintf(option, sizeof option, "%sInitializer", b->name);
    mc_text_printf(t, "\n%*s: ", w, option);
    mc__describe_init(t, b_init);
    mc_text_printf(t, "\n\n   Learn Rate and Regularization\n");
    factor_names(a_factor, b_factor, names);
    const double values[4] = {a->lr_factor, b->lr_factor, a->l2_factor, b->l2_factor};
    for (int i = 0; i < 4; i++)
        mc_text_printf(t, "%*s: %s\n", w, names[i], mc_format_short(values[i], num, sizeof num));
}

void mc__describe_plain(const mc_layer *self, mc_text *t, mc_describe what, const char *summary)
{
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "%s", summary);
        return;
    }
    const int w = what == MC_DESCRIBE_ALL ? 15 : 8;
    mc_text_printf(t, "  %s with properties:\n\n", self->vt->class_name);
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_io(t, w);
}

void mc__describe_multi_input(const mc_layer *self, mc_text *t, mc_describe what, int dim)
{
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 15 : 14;
    mc_text_printf(t, "  %s with properties:\n\n", self->vt->class_name);
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (dim > 0)
        mc_text_printf(t, "%*s: %d\n", w, "Dim", dim);
    mc_text_printf(t, "%*s: %d\n", w, "NumInputs", self->num_inputs);
    /* The row of names as MATLAB shows it, {'in1'  'in2'}; all are shown, where MATLAB would
     * abbreviate a row too wide for the window as {1x32 cell}. */
    mc_text_printf(t, "%*s: {", w, "InputNames");
    for (int i = 0; i < self->num_inputs; i++)
        mc_text_printf(t, "%s'%s'", i > 0 ? "  " : "", self->input_names[i]);
    mc_text_printf(t, "}\n");
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
    mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
}

mc_status mc__grow_floats(mc_ctx *ctx, float **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return MC_OK;
    float *p = mc__calloc(ctx, need, sizeof(float));
    if (p == NULL)
        return MC_ERR_NOMEM;
    mc_free(ctx, *buf);
    *buf = p;
    *cap = need;
    return MC_OK;
}
