/* SPDX-License-Identifier: MIT */
/* layerNormalizationLayer and instanceNormalizationLayer (MATLAB R2021a semantics): group
 * normalization with one group ('all-channels') and with one group per channel
 * ('channel-wise'). Each layer holds a groupNormalizationLayer that does the computing (its
 * kernels, threading, learnables and workspaces), so the two share every bit of it; this file
 * adds their own names, checks, messages and displays. */
#include <string.h>

#include <minicnn/groupnorm.h>
#include <minicnn/layers3.h>

#include "norm.h"

/* ---- Kernels: those of group normalization (mc_groupnorm_forward_kernel and its layer's
 * threaded backward), reached through the inner layer. ---------------------------------- */

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct layernorm {
    mc_layer base;
    mc_layer *gn;        /* the group normalization that computes; owned */
    mc__init scale_init; /* as resolved, for the display */
    mc__init offset_init;
    int fixed_channels; /* NumChannels as given (0 for 'auto') */
    double epsilon;
} layernorm;

static const mc_layer_vtable layernorm_vtable, instancenorm_vtable;

mc_layernorm_options mc_layernorm_default(void)
{
    const mc_groupnorm_options g = mc_groupnorm_default(1);
    mc_layernorm_options o;
    memset(&o, 0, sizeof o);
    o.epsilon = g.epsilon;
    o.scale_learn_rate_factor = g.scale_learn_rate_factor;
    o.offset_learn_rate_factor = g.offset_learn_rate_factor;
    o.scale_l2_factor = g.scale_l2_factor;
    o.offset_l2_factor = g.offset_l2_factor;
    return o;
}

mc_instancenorm_options mc_instancenorm_default(void)
{
    return mc_layernorm_default();
}

/* What group normalization would check at create, worded for this layer. */
static mc_status validate(mc_ctx *ctx, const char *label, const mc__norm_options *no)
{
    mc_status st = mc__norm_check_epsilon_channels(ctx, label, no);
    if (st == MC_OK)
        st = mc__norm_check_factors(ctx, label, no);
    return st == MC_OK ? mc__norm_check_initial(ctx, label, no) : st;
}

static mc_status create(mc_ctx *ctx, const mc_layer_vtable *vt, mc_groups_mode mode,
                        const mc_layernorm_options *opts, const char *what, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, vt->kind);
    const mc__norm_options no = MC__NORM_OPTIONS(opts);
    mc__init scale_init, offset_init;
    mc_status st = validate(ctx, label, &no);
    if (st == MC_OK)
        st = mc__norm_resolve(ctx, label, &no, &scale_init, &offset_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(layernorm), vt, opts->name, 1, NULL, what, &base);
    if (st != MC_OK)
        return st;
    layernorm *ln = (layernorm *)base;
    ln->scale_init = scale_init;
    ln->offset_init = offset_init;
    ln->fixed_channels = opts->num_channels;
    ln->epsilon = opts->epsilon;
    mc_groupnorm_options g = mc_groupnorm_default(0);
    g.groups_mode = mode;
    g.name = opts->name;
    g.epsilon = opts->epsilon;
    g.num_channels = opts->num_channels;
    g.scale_initializer = opts->scale_initializer;
    g.offset_initializer = opts->offset_initializer;
    g.scale = opts->scale;
    g.scale_len = opts->scale_len;
    g.offset = opts->offset;
    g.offset_len = opts->offset_len;
    g.scale_learn_rate_factor = opts->scale_learn_rate_factor;
    g.offset_learn_rate_factor = opts->offset_learn_rate_factor;
    g.scale_l2_factor = opts->scale_l2_factor;
    g.offset_l2_factor = opts->offset_l2_factor;
    /* everything it checks was checked above: only memory can fail here */
    st = mc_groupnorm_create(ctx, &g, &ln->gn);
    if (st != MC_OK) {
        mc_layer_destroy(base);
        return st;
    }
    *out = base;
    return MC_OK;
}

mc_status mc_layernorm_create(mc_ctx *ctx, const mc_layernorm_options *opts, mc_layer **out)
{
    return create(ctx, &layernorm_vtable, MC_GROUPS_ALL_CHANNELS, opts,
                  "creating a layer normalization layer", out);
}

mc_status mc_instancenorm_create(mc_ctx *ctx, const mc_instancenorm_options *opts, mc_layer **out)
{
    return create(ctx, &instancenorm_vtable, MC_GROUPS_CHANNEL_WISE, opts,
                  "creating an instance normalization layer", out);
}

/* Checks what group normalization's setup would refuse, worded for this layer, then sets the
 * inner layer up. */
static mc_status layernorm_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    layernorm *ln = (layernorm *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    const int C = in[0].dims[1];
    if (self->vt == &instancenorm_vtable && mc_shape_kind(&in[0]) == MC_DATA_FEATURE)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: instance normalization needs spatial or time dimensions, but "
                           "the input is %d features (each channel one value); use "
                           "layerNormalizationLayer to normalize across the features",
                           label, C);
    mc_status st = mc__check_num_channels(ctx, label, ln->fixed_channels, C);
    /* Scale and Offset readied here, so that their counts and initializers are reported with
     * this layer's name; the inner setup then keeps them. */
    if (st == MC_OK)
        st =
            mc__norm_prepare(ctx, label, mc_layer_param(ln->gn, 1), &ln->scale_init,
                             mc_layer_param(ln->gn, 0), &ln->offset_init, mc_shape_kind(&in[0]), C);
    return st == MC_OK ? mc_layer_setup(ln->gn, in, n_in, out) : st;
}

static void layernorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    mc_layer *gn = ((layernorm *)self)->gn;
    gn->vt->forward(gn, in, n_in, out, mode);
}

static void layernorm_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din)
{
    mc_layer *gn = ((layernorm *)self)->gn;
    gn->vt->backward(gn, in, n_in, out, dout, din);
}

/* Offset, then Scale: group normalization's learnables. */
static mc_param *layernorm_param(mc_layer *self, int i)
{
    return mc_layer_param(((layernorm *)self)->gn, i);
}

static void layernorm_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const layernorm *ln = (const layernorm *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "%s normalization", self->vt == &layernorm_vtable ? "Layer" : "Instance");
        return;
    }
    /* Property names right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 15;
    char num[40];
    mc_param *offset = mc_layer_param(ln->gn, 0), *scale = mc_layer_param(ln->gn, 1);
    mc_text_printf(t, "  %s with properties:\n\n", self->vt->class_name);
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc__describe_count(t, w, "NumChannels", mc_groupnorm_num_channels(ln->gn));
    mc_text_printf(t, "\n   Hyperparameters\n%*s: %s\n", w, "Epsilon",
                   mc_format_short(ln->epsilon, num, sizeof num));
    mc__describe_learnables(t, w, offset, scale);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, scale, "Scale", &ln->scale_init, offset, "Offset",
                          &ln->offset_init);
}

static void layernorm_destroy(mc_layer *self)
{
    mc_layer_destroy(((layernorm *)self)->gn);
}

int mc_layernorm_num_channels(const mc_layer *layer)
{
    if (layer->vt != &layernorm_vtable && layer->vt != &instancenorm_vtable)
        return -1;
    return mc_groupnorm_num_channels(((const layernorm *)layer)->gn);
}

#define NORM_VTABLE(var, kind_, class_, label_, default_)                                          \
    static const mc_layer_vtable var = {                                                           \
        .kind = kind_,                                                                             \
        .class_name = class_,                                                                      \
        .type_label = label_,                                                                      \
        .default_name = default_,                                                                  \
        .role = MC_ROLE_HIDDEN,                                                                    \
        .setup = layernorm_setup,                                                                  \
        .forward = layernorm_forward,                                                              \
        .backward = layernorm_backward,                                                            \
        .param = layernorm_param,                                                                  \
        .buffer = mc__no_buffer,                                                                   \
        .describe = layernorm_describe,                                                            \
        .destroy = layernorm_destroy,                                                              \
    }

NORM_VTABLE(layernorm_vtable, "layerNormalizationLayer", "LayerNormalizationLayer",
            "Layer Normalization", "layernorm");
NORM_VTABLE(instancenorm_vtable, "instanceNormalizationLayer", "InstanceNormalizationLayer",
            "Instance Normalization", "instancenorm");
