/* SPDX-License-Identifier: MIT */
/* The layer registry of network files: each MATLAB layer function, its positional arguments,
 * its options and how they map onto the C options struct. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "netfile_internal.h"

/* ---- Reading argument values ------------------------------------------------------------ */

static const char *shown(const nf_value *v, char *buf, size_t cap)
{
    if (v->kind == NF_STRING)
        snprintf(buf, cap, "'%s'", v->str);
    else if (v->kind == NF_NUMBERS && v->count == 1)
        snprintf(buf, cap, "%g", v->nums[0]);
    else if (v->kind == NF_NUMBERS)
        snprintf(buf, cap, "a vector of %d numbers", v->count);
    else
        snprintf(buf, cap, "%s", v->kind == NF_CELL ? "a cell array" : "layers");
    return buf;
}

static mc_status bad(const nf_call *c, const nf_value *v, const char *what, const char *expected)
{
    char buf[96];
    return nf_fail_at(c, v->line, v->col, "%s: %s must be %s, not %s", c->fn, what, expected,
                      shown(v, buf, sizeof buf));
}

static bool is_int(double x, double lo)
{
    return isfinite(x) && x == floor(x) && x >= lo && x <= 2147483647.0;
}

static mc_status get_double(const nf_call *c, const nf_value *v, const char *what, double *out)
{
    if (v->kind != NF_NUMBERS || v->count != 1)
        return bad(c, v, what, "a number");
    *out = v->nums[0];
    return MC_OK;
}

/* An integer >= lo. */
static mc_status get_int(const nf_call *c, const nf_value *v, const char *what, int lo, int *out)
{
    if (v->kind != NF_NUMBERS || v->count != 1 || !is_int(v->nums[0], lo))
        return bad(c, v, what, lo > 0 ? "a positive integer" : "a nonnegative integer");
    *out = (int)v->nums[0];
    return MC_OK;
}

/* n integers >= lo, given as one number (used for all) or as n numbers. */
static mc_status get_ints(const nf_call *c, const nf_value *v, const char *what, int lo, int n,
                          int *out)
{
    char expected[96];
    snprintf(expected, sizeof expected, "a %s integer or a vector of %d of them",
             lo > 0 ? "positive" : "nonnegative", n);
    if (v->kind != NF_NUMBERS || (v->count != 1 && v->count != n))
        return bad(c, v, what, expected);
    for (int i = 0; i < v->count; i++)
        if (!is_int(v->nums[i], lo))
            return bad(c, v, what, expected);
    for (int i = 0; i < n; i++)
        out[i] = (int)v->nums[v->count == 1 ? 0 : i];
    return MC_OK;
}

static mc_status get_string(const nf_call *c, const nf_value *v, const char *what, const char **out)
{
    if (v->kind != NF_STRING)
        return bad(c, v, what, "a string");
    *out = v->str;
    return MC_OK;
}

/* Padding: 'same', p (all sides), [a b] (top/bottom a, left/right b) or [t b l r]. */
static mc_status get_padding(const nf_call *c, const nf_value *v, int pad[4], bool *same)
{
    const char *expected = "'same', a nonnegative integer, [a b] or [t b l r]";
    if (v->kind == NF_STRING) {
        if (strcasecmp(v->str, "same") != 0)
            return bad(c, v, "Padding", expected);
        *same = true;
        return MC_OK;
    }
    if (v->kind != NF_NUMBERS || (v->count != 1 && v->count != 2 && v->count != 4))
        return bad(c, v, "Padding", expected);
    for (int i = 0; i < v->count; i++)
        if (!is_int(v->nums[i], 0))
            return bad(c, v, "Padding", expected);
    const double *p = v->nums;
    int all[4] = {(int)p[0], (int)p[0], (int)p[0], (int)p[0]};
    if (v->count == 2) {
        all[2] = all[3] = (int)p[1];
    } else if (v->count == 4) {
        for (int i = 0; i < 4; i++)
            all[i] = (int)p[i];
    }
    memcpy(pad, all, sizeof all);
    *same = false;
    return MC_OK;
}

static mc_status get_initializer(const nf_call *c, const nf_value *v, const char *what,
                                 mc_initializer *out)
{
    if (v->kind != NF_STRING)
        return bad(c, v, what,
                   "the name of an initializer ('glorot', 'he', 'narrow-normal', "
                   "'zeros', 'ones')");
    out->name = v->str;
    out->fn = NULL;
    return MC_OK;
}

/* Initial values: a numeric array copied into floats (the caller frees *out). */
static mc_status get_floats(const nf_call *c, const nf_value *v, const char *what, float **out,
                            size_t *len)
{
    if (v->kind != NF_NUMBERS || v->count == 0)
        return bad(c, v, what, "a numeric array");
    float *f = mc__calloc(c->ctx, (size_t)v->count, sizeof *f);
    if (f == NULL)
        return mc__nomem(c->ctx, "reading initial values");
    for (int i = 0; i < v->count; i++)
        f[i] = (float)v->nums[i];
    mc_free(c->ctx, *out);
    *out = f;
    *len = (size_t)v->count;
    return MC_OK;
}

/* 'auto' (0) or a positive integer. */
static mc_status get_auto_int(const nf_call *c, const nf_value *v, const char *what, int *out)
{
    if (v->kind == NF_STRING && strcasecmp(v->str, "auto") == 0) {
        *out = 0;
        return MC_OK;
    }
    if (v->kind == NF_NUMBERS && v->count == 1 && is_int(v->nums[0], 1)) {
        *out = (int)v->nums[0];
        return MC_OK;
    }
    return bad(c, v, what, "'auto' or a positive integer");
}

/* ---- Options: each layer's table binds MATLAB's option names to its options struct ------- */

typedef enum bind_kind {
    B_STRING,        /* const char ** */
    B_DOUBLE,        /* double * */
    B_AUTO_INT,      /* int *: 'auto' (0) or a positive integer */
    B_PAIR,          /* int[2]: one positive integer for both, or two */
    B_PADDING,       /* int[4], with `extra` the bool * of 'same' */
    B_INIT,          /* mc_initializer * */
    B_FLOATS,        /* const float **, with `extra` the size_t * of its length */
    B_NORMALIZATION, /* mc_normalization * */
    B_NORMDIM,       /* mc_norm_dimension * */
    B_CLASSES,       /* const char *const **, with `extra` the int * of the count */
    B_ONLY_ZERO,     /* accepted only as 0 / false; `extra` is the reason */
    B_ONLY_NONE      /* accepted only as 'none'; `extra` is the reason */
} bind_kind;

typedef struct binding {
    const char *name;
    bind_kind kind;
    void *field;
    void *extra;
} binding;

/* Arrays read for B_FLOATS, freed after the layer is made. */
typedef struct owned_floats {
    float *v[8];
    int n;
} owned_floats;

static void free_floats(mc_ctx *ctx, owned_floats *f)
{
    for (int i = 0; i < f->n; i++)
        mc_free(ctx, f->v[i]);
}

/* The binding option i names (case-insensitive, as MATLAB), or an error with a suggestion. */
static mc_status find_binding(const nf_call *c, int i, const binding *table, int n,
                              const binding **out)
{
    const nf_option *o = &c->opts[i];
    const char *names[64];
    for (int j = 0; j < n; j++) {
        if (strcasecmp(o->name, table[j].name) == 0) {
            *out = &table[j];
            return MC_OK;
        }
        names[j] = table[j].name;
    }
    names[n] = NULL;
    const char *hint = mc__closest(o->name, names);
    char list[512] = "";
    for (int j = 0; j < n && strlen(list) < 400; j++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "", names[j]);
    }
    if (hint != NULL)
        return nf_fail_at(c, o->line, o->col, "%s has no option '%s' (did you mean '%s'?)", c->fn,
                          o->name, hint);
    return nf_fail_at(c, o->line, o->col, "%s has no option '%s'; its options are %s", c->fn,
                      o->name, list);
}

/* A library parser's failure, located at the value. */
static mc_status located_value(const nf_call *c, const nf_value *v)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mc_ctx_message(c->ctx));
    return nf_fail_at(c, v->line, v->col, "%s: %s", c->fn, msg);
}

static mc_status bind_one(nf_call *c, const binding *b, const nf_value *v, owned_floats *f)
{
    const char *s = NULL;
    switch (b->kind) {
    case B_STRING:
        return get_string(c, v, b->name, b->field);
    case B_DOUBLE:
        return get_double(c, v, b->name, b->field);
    case B_AUTO_INT:
        return get_auto_int(c, v, b->name, b->field);
    case B_PAIR:
        return get_ints(c, v, b->name, 1, 2, b->field);
    case B_PADDING:
        return get_padding(c, v, b->field, b->extra);
    case B_INIT:
        return get_initializer(c, v, b->name, b->field);
    case B_FLOATS: {
        float *values = NULL;
        mc_status st = get_floats(c, v, b->name, &values, b->extra);
        if (st == MC_OK) {
            f->v[f->n++] = values;
            *(const float **)b->field = values;
        }
        return st;
    }
    case B_NORMALIZATION: {
        mc_status st = get_string(c, v, b->name, &s);
        if (st == MC_OK && mc_normalization_parse(c->ctx, s, b->field) != MC_OK)
            st = located_value(c, v);
        return st;
    }
    case B_NORMDIM: {
        static const char *const dims[] = {"auto", "element", "channel", "all", NULL};
        mc_status st = get_string(c, v, b->name, &s);
        for (int i = 0; st == MC_OK && dims[i] != NULL; i++)
            if (strcasecmp(s, dims[i]) == 0) {
                *(mc_norm_dimension *)b->field = (mc_norm_dimension)i;
                return MC_OK;
            }
        return st == MC_OK ? bad(c, v, b->name, "'auto', 'element', 'channel' or 'all'") : st;
    }
    case B_CLASSES:
        if (v->kind == NF_STRING && strcasecmp(v->str, "auto") == 0) {
            *(const char *const **)b->field = NULL;
            *(int *)b->extra = 0;
            return MC_OK;
        }
        if (v->kind != NF_CELL || v->count == 0)
            return bad(c, v, b->name, "'auto' or a cell array of class names");
        *(const char *const **)b->field = (const char *const *)v->cells;
        *(int *)b->extra = v->count;
        return MC_OK;
    case B_ONLY_ZERO:
        return v->kind == NF_NUMBERS && v->count == 1 && v->nums[0] == 0
                   ? MC_OK
                   : bad(c, v, b->name, b->extra);
    case B_ONLY_NONE:
        return v->kind == NF_STRING && strcasecmp(v->str, "none") == 0
                   ? MC_OK
                   : bad(c, v, b->name, b->extra);
    }
    return MC_OK;
}

/* Applies every name-value pair of the call through the table. */
static mc_status bind_options(nf_call *c, const binding *table, int n, owned_floats *f)
{
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        const binding *b = NULL;
        st = find_binding(c, i, table, n, &b);
        if (st == MC_OK)
            st = bind_one(c, b, c->opts[i].value, f);
    }
    return st;
}

#define N_BINDINGS(t) ((int)(sizeof(t) / sizeof((t)[0])))

/* ---- Builders --------------------------------------------------------------------------- */

/* The options both normalization layers have. */
#define NORM_BINDINGS(o)                                                                           \
    {"Name", B_STRING, &(o).name, NULL}, {"Epsilon", B_DOUBLE, &(o).epsilon, NULL},                \
        {"NumChannels", B_AUTO_INT, &(o).num_channels, NULL},                                      \
        {"ScaleInitializer", B_INIT, &(o).scale_initializer, NULL},                                \
        {"OffsetInitializer", B_INIT, &(o).offset_initializer, NULL},                              \
        {"Scale", B_FLOATS, &(o).scale, &(o).scale_len},                                           \
        {"Offset", B_FLOATS, &(o).offset, &(o).offset_len},                                        \
        {"ScaleLearnRateFactor", B_DOUBLE, &(o).scale_learn_rate_factor, NULL},                    \
        {"OffsetLearnRateFactor", B_DOUBLE, &(o).offset_learn_rate_factor, NULL},                  \
        {"ScaleL2Factor", B_DOUBLE, &(o).scale_l2_factor, NULL},                                   \
    {                                                                                              \
        "OffsetL2Factor", B_DOUBLE, &(o).offset_l2_factor, NULL                                    \
    }

static mc_status build_groupnorm(nf_call *c, mc_layer **out)
{
    mc_groupnorm_options o = mc_groupnorm_default(0);
    const nf_value *g = &c->pos[0];
    if (g->kind == NF_STRING) {
        if (mc_groupnorm_parse_groups(c->ctx, g->str, &o.groups_mode, &o.num_groups) != MC_OK)
            return located_value(c, g);
    } else {
        /* zero and negative counts reach the constructor, which words the error */
        if (g->kind != NF_NUMBERS || g->count != 1 || !is_int(g->nums[0], -2147483647.0))
            return bad(c, g, "numGroups",
                       "a positive integer, \"all-channels\" or "
                       "\"channel-wise\"");
        o.num_groups = (int)g->nums[0];
    }
    const binding table[] = {NORM_BINDINGS(o)};
    owned_floats f = {{NULL}, 0};
    mc_status st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK)
        st = mc_groupnorm_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_batchnorm(nf_call *c, mc_layer **out)
{
    mc_batchnorm_options o = mc_batchnorm_default();
    const binding table[] = {
        NORM_BINDINGS(o),
        {"MeanDecay", B_DOUBLE, &o.mean_decay, NULL},
        {"VarianceDecay", B_DOUBLE, &o.variance_decay, NULL},
        {"TrainedMean", B_FLOATS, &o.trained_mean, &o.trained_mean_len},
        {"TrainedVariance", B_FLOATS, &o.trained_variance, &o.trained_variance_len},
    };
    owned_floats f = {{NULL}, 0};
    mc_status st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK)
        st = mc_batchnorm_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

/* The options convolution and fully connected layers share (first in both tables). */
#define WEIGHTS_BINDINGS(o)                                                                        \
    {"Name", B_STRING, &(o).name, NULL},                                                           \
        {"WeightsInitializer", B_INIT, &(o).weights_initializer, NULL},                            \
        {"BiasInitializer", B_INIT, &(o).bias_initializer, NULL},                                  \
        {"Weights", B_FLOATS, &(o).weights, &(o).weights_len},                                     \
        {"Bias", B_FLOATS, &(o).bias, &(o).bias_len},                                              \
        {"WeightLearnRateFactor", B_DOUBLE, &(o).weight_learn_rate_factor, NULL},                  \
        {"BiasLearnRateFactor", B_DOUBLE, &(o).bias_learn_rate_factor, NULL},                      \
        {"WeightL2Factor", B_DOUBLE, &(o).weight_l2_factor, NULL},                                 \
    {                                                                                              \
        "BiasL2Factor", B_DOUBLE, &(o).bias_l2_factor, NULL                                        \
    }

static mc_status build_conv2d(nf_call *c, mc_layer **out)
{
    int fs[2] = {0, 0}, nf = 0;
    mc_status st = get_ints(c, &c->pos[0], "filterSize", 1, 2, fs);
    if (st == MC_OK)
        st = get_int(c, &c->pos[1], "numFilters", 1, &nf);
    if (st != MC_OK)
        return st;
    mc_conv2d_options o = mc_conv2d_default(fs[0], fs[1], nf);
    const binding table[] = {
        WEIGHTS_BINDINGS(o),
        {"Stride", B_PAIR, o.stride, NULL},
        {"Padding", B_PADDING, o.padding, &o.padding_same},
        {"DilationFactor", B_PAIR, o.dilation, NULL},
        {"NumChannels", B_AUTO_INT, &o.num_channels, NULL},
        {"PaddingValue", B_ONLY_ZERO, NULL, "0 (minicnn pads convolutions with zeros)"},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK)
        st = mc_conv2d_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_fc(nf_call *c, mc_layer **out)
{
    int k_out = 0;
    mc_status st = get_int(c, &c->pos[0], "outputSize", 1, &k_out);
    if (st != MC_OK)
        return st;
    mc_fc_options o = mc_fc_default(k_out);
    const binding table[] = {
        WEIGHTS_BINDINGS(o),
        {"InputSize", B_AUTO_INT, &o.input_size, NULL},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK)
        st = mc_fc_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_image_input(nf_call *c, mc_layer **out)
{
    const nf_value *sz = &c->pos[0];
    int hwc[3] = {0, 0, 1};
    if (sz->kind != NF_NUMBERS || (sz->count != 2 && sz->count != 3))
        return bad(c, sz, "inputSize", "[height width] or [height width channels]");
    for (int i = 0; i < sz->count; i++) {
        if (!is_int(sz->nums[i], 1))
            return bad(c, sz, "inputSize", "positive integers [height width channels]");
        hwc[i] = (int)sz->nums[i];
    }
    mc_image_input_options o = mc_image_input_default(hwc[0], hwc[1], hwc[2]);
    const binding table[] = {
        {"Normalization", B_NORMALIZATION, &o.normalization, NULL},
        {"NormalizationDimension", B_NORMDIM, &o.normalization_dimension, NULL},
        {"Name", B_STRING, &o.name, NULL},
        {"DataAugmentation", B_ONLY_NONE, NULL, "'none' (augmentation is not supported)"},
    };
    owned_floats f = {{NULL}, 0};
    mc_status st = bind_options(c, table, N_BINDINGS(table), &f);
    return st == MC_OK ? mc_image_input_create(c->ctx, &o, out) : st;
}

static mc_status build_feature_input(nf_call *c, mc_layer **out)
{
    int nfeat = 0;
    mc_status st = get_int(c, &c->pos[0], "numFeatures", 1, &nfeat);
    if (st != MC_OK)
        return st;
    mc_feature_input_options o = mc_feature_input_default(nfeat);
    const binding table[] = {
        {"Normalization", B_NORMALIZATION, &o.normalization, NULL},
        {"NormalizationDimension", B_NORMDIM, &o.normalization_dimension, NULL},
        {"Name", B_STRING, &o.name, NULL},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    return st == MC_OK ? mc_feature_input_create(c->ctx, &o, out) : st;
}

static mc_status build_maxpool(nf_call *c, mc_layer **out)
{
    int ps[2] = {0, 0};
    mc_status st = get_ints(c, &c->pos[0], "poolSize", 1, 2, ps);
    if (st != MC_OK)
        return st;
    mc_maxpool_options o = mc_maxpool_default(ps[0], ps[1]);
    const binding table[] = {
        {"Stride", B_PAIR, o.stride, NULL},
        {"Padding", B_PADDING, o.padding, &o.padding_same},
        {"Name", B_STRING, &o.name, NULL},
        {"HasUnpoolingOutputs", B_ONLY_ZERO, NULL, "false (unpooling is not supported)"},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    return st == MC_OK ? mc_maxpool_create(c->ctx, &o, out) : st;
}

/* Layers whose only option is Name. */
static mc_status only_name(nf_call *c, const char **name)
{
    *name = NULL;
    const binding table[] = {{"Name", B_STRING, name, NULL}};
    owned_floats f = {{NULL}, 0};
    return bind_options(c, table, N_BINDINGS(table), &f);
}

static mc_status build_relu(nf_call *c, mc_layer **out)
{
    const char *name;
    mc_status st = only_name(c, &name);
    return st == MC_OK ? mc_relu_create(c->ctx, name, out) : st;
}

static mc_status build_softmax(nf_call *c, mc_layer **out)
{
    const char *name;
    mc_status st = only_name(c, &name);
    return st == MC_OK ? mc_softmax_create(c->ctx, name, out) : st;
}

static mc_status build_addition(nf_call *c, mc_layer **out)
{
    int n = 0;
    const char *name = NULL;
    mc_status st = get_int(c, &c->pos[0], "numInputs", 1, &n);
    if (st == MC_OK)
        st = only_name(c, &name);
    return st == MC_OK ? mc_addition_create(c->ctx, n, name, out) : st;
}

static mc_status build_classification(nf_call *c, mc_layer **out)
{
    mc_classification_options o = mc_classification_default();
    const binding table[] = {
        {"Name", B_STRING, &o.name, NULL},
        {"Classes", B_CLASSES, &o.classes, &o.num_classes},
        {"ClassWeights", B_ONLY_NONE, NULL, "'none' (class weights are not supported)"},
    };
    owned_floats f = {{NULL}, 0};
    mc_status st = bind_options(c, table, N_BINDINGS(table), &f);
    return st == MC_OK ? mc_classification_create(c->ctx, &o, out) : st;
}

/* dropoutLayer, averagePooling2dLayer, the global poolings and the concatenations. */

static mc_status build_dropout(nf_call *c, mc_layer **out)
{
    mc_dropout_options o = mc_dropout_default();
    mc_status st = c->n_pos > 0 ? get_double(c, &c->pos[0], "probability", &o.probability) : MC_OK;
    if (st == MC_OK)
        st = only_name(c, &o.name);
    return st == MC_OK ? mc_dropout_create(c->ctx, &o, out) : st;
}

static mc_status build_avgpool(nf_call *c, mc_layer **out)
{
    int ps[2] = {0, 0};
    mc_status st = get_ints(c, &c->pos[0], "poolSize", 1, 2, ps);
    if (st != MC_OK)
        return st;
    mc_avgpool_options o = mc_avgpool_default(ps[0], ps[1]);
    const binding table[] = {
        {"Stride", B_PAIR, o.stride, NULL},
        {"Padding", B_PADDING, o.padding, &o.padding_same},
        {"Name", B_STRING, &o.name, NULL},
        {"PaddingValue", B_ONLY_ZERO, NULL, "0 (minicnn pads average pooling with zeros)"},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    return st == MC_OK ? mc_avgpool_create(c->ctx, &o, out) : st;
}

/* A layer whose only option is Name, made by `create`. */
static mc_status build_named(nf_call *c, mc_layer **out,
                             mc_status (*create)(mc_ctx *, const char *, mc_layer **))
{
    const char *name;
    mc_status st = only_name(c, &name);
    return st == MC_OK ? create(c->ctx, name, out) : st;
}

static mc_status build_global_avgpool(nf_call *c, mc_layer **out)
{
    return build_named(c, out, mc_global_avgpool_create);
}

static mc_status build_global_maxpool(nf_call *c, mc_layer **out)
{
    return build_named(c, out, mc_global_maxpool_create);
}

static mc_status build_depthcat(nf_call *c, mc_layer **out)
{
    mc_concat_options o = mc_concat_default(0, 0);
    mc_status st = get_int(c, &c->pos[0], "numInputs", 1, &o.num_inputs);
    if (st == MC_OK)
        st = only_name(c, &o.name);
    return st == MC_OK ? mc_depthcat_create(c->ctx, o.num_inputs, o.name, out) : st;
}

static mc_status build_concat(nf_call *c, mc_layer **out)
{
    mc_concat_options o = mc_concat_default(0, 0);
    mc_status st = get_int(c, &c->pos[0], "dim", 1, &o.dim);
    if (st == MC_OK)
        st = get_int(c, &c->pos[1], "numInputs", 1, &o.num_inputs);
    if (st == MC_OK)
        st = only_name(c, &o.name);
    return st == MC_OK ? mc_concat_create(c->ctx, &o, out) : st;
}

/* ---- leakyReluLayer .. instanceNormalizationLayer (minicnn/layers3.h) ---- */

/* An optional positional hyperparameter (the parser keeps a leading string for the options),
 * which MATLAB also takes as the name-value option `option`; then Name. */
static mc_status build_activation(nf_call *c, const char *option, double *value, const char **name)
{
    mc_status st = c->n_pos > 0 ? get_double(c, &c->pos[0], option, value) : MC_OK;
    const binding table[] = {{"Name", B_STRING, name, NULL}, {option, B_DOUBLE, value, NULL}};
    owned_floats f = {{NULL}, 0};
    return st == MC_OK ? bind_options(c, table, N_BINDINGS(table), &f) : st;
}

static mc_status build_leaky_relu(nf_call *c, mc_layer **out)
{
    mc_leaky_relu_options o = mc_leaky_relu_default();
    mc_status st = build_activation(c, "Scale", &o.scale, &o.name);
    return st == MC_OK ? mc_leaky_relu_create(c->ctx, &o, out) : st;
}

static mc_status build_elu(nf_call *c, mc_layer **out)
{
    mc_elu_options o = mc_elu_default();
    mc_status st = build_activation(c, "Alpha", &o.alpha, &o.name);
    return st == MC_OK ? mc_elu_create(c->ctx, &o, out) : st;
}

static mc_status build_clipped_relu(nf_call *c, mc_layer **out)
{
    mc_clipped_relu_options o = mc_clipped_relu_default(0.0);
    mc_status st = get_double(c, &c->pos[0], "ceiling", &o.ceiling);
    if (st == MC_OK)
        st = only_name(c, &o.name);
    return st == MC_OK ? mc_clipped_relu_create(c->ctx, &o, out) : st;
}

static mc_status build_tanh(nf_call *c, mc_layer **out)
{
    return build_named(c, out, mc_tanh_create);
}

static mc_status build_crossnorm(nf_call *c, mc_layer **out)
{
    int window = 0;
    mc_status st = get_int(c, &c->pos[0], "windowChannelSize", 1, &window);
    if (st != MC_OK)
        return st;
    mc_crossnorm_options o = mc_crossnorm_default(window);
    double size = window; /* also an option, which wins */
    const binding table[] = {
        {"WindowChannelSize", B_DOUBLE, &size, NULL},
        {"Alpha", B_DOUBLE, &o.alpha, NULL},
        {"Beta", B_DOUBLE, &o.beta, NULL},
        {"K", B_DOUBLE, &o.k, NULL},
        {"Name", B_STRING, &o.name, NULL},
    };
    owned_floats f = {{NULL}, 0};
    st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK && !is_int(size, 1))
        return nf_fail_at(c, c->line, c->col,
                          "%s: WindowChannelSize must be a positive integer, "
                          "not %g",
                          c->fn, size);
    o.window_channel_size = (int)size;
    return st == MC_OK ? mc_crossnorm_create(c->ctx, &o, out) : st;
}

/* layerNormalizationLayer and instanceNormalizationLayer: group normalization's options
 * without numGroups. */
static mc_status build_layernorm_like(nf_call *c, mc_layer **out,
                                      mc_status (*create)(mc_ctx *, const mc_layernorm_options *,
                                                          mc_layer **))
{
    mc_layernorm_options o = mc_layernorm_default();
    const binding table[] = {NORM_BINDINGS(o)};
    owned_floats f = {{NULL}, 0};
    mc_status st = bind_options(c, table, N_BINDINGS(table), &f);
    if (st == MC_OK)
        st = create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_layernorm(nf_call *c, mc_layer **out)
{
    return build_layernorm_like(c, out, mc_layernorm_create);
}

static mc_status build_instancenorm(nf_call *c, mc_layer **out)
{
    return build_layernorm_like(c, out, mc_instancenorm_create);
}

static const nf_layer_fn registry[] = {
    {"imageInputLayer", 1, 1, build_image_input},
    {"featureInputLayer", 1, 1, build_feature_input},
    {"convolution2dLayer", 2, 2, build_conv2d},
    {"groupNormalizationLayer", 1, 1, build_groupnorm},
    {"batchNormalizationLayer", 0, 0, build_batchnorm},
    {"reluLayer", 0, 0, build_relu},
    {"maxPooling2dLayer", 1, 1, build_maxpool},
    {"fullyConnectedLayer", 1, 1, build_fc},
    {"softmaxLayer", 0, 0, build_softmax},
    {"classificationLayer", 0, 0, build_classification},
    {"additionLayer", 1, 1, build_addition},
    {"dropoutLayer", 0, 1, build_dropout},
    {"averagePooling2dLayer", 1, 1, build_avgpool},
    {"globalAveragePooling2dLayer", 0, 0, build_global_avgpool},
    {"globalMaxPooling2dLayer", 0, 0, build_global_maxpool},
    {"depthConcatenationLayer", 1, 1, build_depthcat},
    {"concatenationLayer", 2, 2, build_concat},
    {"leakyReluLayer", 0, 1, build_leaky_relu},
    {"clippedReluLayer", 1, 1, build_clipped_relu},
    {"eluLayer", 0, 1, build_elu},
    {"tanhLayer", 0, 0, build_tanh},
    {"crossChannelNormalizationLayer", 1, 1, build_crossnorm},
    {"layerNormalizationLayer", 0, 0, build_layernorm},
    {"instanceNormalizationLayer", 0, 0, build_instancenorm},
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

const nf_layer_fn *nf_find_layer_fn(const char *name)
{
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (strcmp(registry[i].name, name) == 0)
            return &registry[i];
    return NULL;
}

const char *mc_netfile_layer_function(int i)
{
    return i >= 0 && (size_t)i < N_REGISTRY ? registry[i].name : NULL;
}
