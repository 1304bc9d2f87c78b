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

static mc_status get_string(const nf_call *c, const nf_value *v, const char *what,
                            const char **out)
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
        return bad(c, v, what, "the name of an initializer ('glorot', 'he', 'narrow-normal', "
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

/* Which of `names` option i is (case-insensitive, as MATLAB); an unknown name is an error with
 * a suggestion. */
static mc_status option_index(const nf_call *c, int i, const char *const *names, int *k)
{
    const nf_option *o = &c->opts[i];
    for (int j = 0; names[j] != NULL; j++)
        if (strcasecmp(o->name, names[j]) == 0) {
            *k = j;
            return MC_OK;
        }
    const char *hint = mc__closest(o->name, names);
    char list[512] = "";
    for (int j = 0; names[j] != NULL && strlen(list) < 400; j++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "", names[j]);
    }
    if (hint != NULL)
        return nf_fail_at(c, o->line, o->col, "%s has no option '%s' (did you mean '%s'?)",
                          c->fn, o->name, hint);
    return nf_fail_at(c, o->line, o->col, "%s has no option '%s'; its options are %s", c->fn,
                      o->name, list);
}

/* The values of a learnable or an input statistic given in the file. */
typedef struct owned_floats {
    float *v[4];
} owned_floats;

static void free_floats(mc_ctx *ctx, owned_floats *f)
{
    for (int i = 0; i < 4; i++)
        mc_free(ctx, f->v[i]);
}

/* ---- Builders --------------------------------------------------------------------------- */

static mc_status build_groupnorm(nf_call *c, mc_layer **out)
{
    static const char *const names[] = {
        "Name", "Epsilon", "NumChannels", "ScaleInitializer", "OffsetInitializer", "Scale",
        "Offset", "ScaleLearnRateFactor", "OffsetLearnRateFactor", "ScaleL2Factor",
        "OffsetL2Factor", NULL};
    mc_groupnorm_options o = mc_groupnorm_default(0);
    const nf_value *g = &c->pos[0];
    mc_status st;
    if (g->kind == NF_STRING) {
        st = mc_groupnorm_parse_groups(c->ctx, g->str, &o.groups_mode, &o.num_groups);
        if (st != MC_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mc_ctx_message(c->ctx));
            return nf_fail_at(c, g->line, g->col, "%s: %s", c->fn, msg);
        }
    } else {
        /* zero and negative counts reach the constructor, which words the error */
        if (g->kind != NF_NUMBERS || g->count != 1 || !is_int(g->nums[0], -2147483647.0))
            return bad(c, g, "numGroups", "a positive integer, \"all-channels\" or "
                                          "\"channel-wise\"");
        o.num_groups = (int)g->nums[0];
    }
    owned_floats f = {{NULL}};
    st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        switch (k) {
        case 0: st = get_string(c, v, "Name", &o.name); break;
        case 1: st = get_double(c, v, "Epsilon", &o.epsilon); break;
        case 2: st = get_auto_int(c, v, "NumChannels", &o.num_channels); break;
        case 3: st = get_initializer(c, v, "ScaleInitializer", &o.scale_initializer); break;
        case 4: st = get_initializer(c, v, "OffsetInitializer", &o.offset_initializer); break;
        case 5: st = get_floats(c, v, "Scale", &f.v[0], &o.scale_len); break;
        case 6: st = get_floats(c, v, "Offset", &f.v[1], &o.offset_len); break;
        case 7: st = get_double(c, v, "ScaleLearnRateFactor", &o.scale_learn_rate_factor); break;
        case 8: st = get_double(c, v, "OffsetLearnRateFactor", &o.offset_learn_rate_factor); break;
        case 9: st = get_double(c, v, "ScaleL2Factor", &o.scale_l2_factor); break;
        default: st = get_double(c, v, "OffsetL2Factor", &o.offset_l2_factor); break;
        }
    }
    o.scale = f.v[0];
    o.offset = f.v[1];
    if (st == MC_OK)
        st = mc_groupnorm_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_batchnorm(nf_call *c, mc_layer **out)
{
    static const char *const names[] = {
        "Name", "Epsilon", "NumChannels", "MeanDecay", "VarianceDecay", "ScaleInitializer",
        "OffsetInitializer", "Scale", "Offset", "TrainedMean", "TrainedVariance",
        "ScaleLearnRateFactor", "OffsetLearnRateFactor", "ScaleL2Factor", "OffsetL2Factor",
        NULL};
    mc_batchnorm_options o = mc_batchnorm_default();
    owned_floats f = {{NULL}};
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        switch (k) {
        case 0: st = get_string(c, v, "Name", &o.name); break;
        case 1: st = get_double(c, v, "Epsilon", &o.epsilon); break;
        case 2: st = get_auto_int(c, v, "NumChannels", &o.num_channels); break;
        case 3: st = get_double(c, v, "MeanDecay", &o.mean_decay); break;
        case 4: st = get_double(c, v, "VarianceDecay", &o.variance_decay); break;
        case 5: st = get_initializer(c, v, "ScaleInitializer", &o.scale_initializer); break;
        case 6: st = get_initializer(c, v, "OffsetInitializer", &o.offset_initializer); break;
        case 7: st = get_floats(c, v, "Scale", &f.v[0], &o.scale_len); break;
        case 8: st = get_floats(c, v, "Offset", &f.v[1], &o.offset_len); break;
        case 9: st = get_floats(c, v, "TrainedMean", &f.v[2], &o.trained_mean_len); break;
        case 10:
            st = get_floats(c, v, "TrainedVariance", &f.v[3], &o.trained_variance_len);
            break;
        case 11: st = get_double(c, v, "ScaleLearnRateFactor", &o.scale_learn_rate_factor); break;
        case 12: st = get_double(c, v, "OffsetLearnRateFactor", &o.offset_learn_rate_factor); break;
        case 13: st = get_double(c, v, "ScaleL2Factor", &o.scale_l2_factor); break;
        default: st = get_double(c, v, "OffsetL2Factor", &o.offset_l2_factor); break;
        }
    }
    o.scale = f.v[0];
    o.offset = f.v[1];
    o.trained_mean = f.v[2];
    o.trained_variance = f.v[3];
    if (st == MC_OK)
        st = mc_batchnorm_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

/* The options convolution and fully connected layers share: initializers, values, factors. */
typedef struct weights_options {
    const char **name;
    mc_initializer *weights_init, *bias_init;
    size_t *weights_len, *bias_len;
    double *weight_lr, *bias_lr, *weight_l2, *bias_l2;
} weights_options;

static const char *const weights_names[] = {"Name",
                                            "WeightsInitializer",
                                            "BiasInitializer",
                                            "Weights",
                                            "Bias",
                                            "WeightLearnRateFactor",
                                            "BiasLearnRateFactor",
                                            "WeightL2Factor",
                                            "BiasL2Factor"};
#define N_WEIGHTS_NAMES 9

static mc_status weights_option(nf_call *c, int k, const nf_value *v, const weights_options *w,
                                owned_floats *f)
{
    switch (k) {
    case 0: return get_string(c, v, "Name", w->name);
    case 1: return get_initializer(c, v, "WeightsInitializer", w->weights_init);
    case 2: return get_initializer(c, v, "BiasInitializer", w->bias_init);
    case 3: return get_floats(c, v, "Weights", &f->v[0], w->weights_len);
    case 4: return get_floats(c, v, "Bias", &f->v[1], w->bias_len);
    case 5: return get_double(c, v, "WeightLearnRateFactor", w->weight_lr);
    case 6: return get_double(c, v, "BiasLearnRateFactor", w->bias_lr);
    case 7: return get_double(c, v, "WeightL2Factor", w->weight_l2);
    default: return get_double(c, v, "BiasL2Factor", w->bias_l2);
    }
}

static mc_status build_conv2d(nf_call *c, mc_layer **out)
{
    const char *names[N_WEIGHTS_NAMES + 6];
    memcpy(names, weights_names, sizeof weights_names);
    const char *const extra[] = {"Stride", "Padding", "DilationFactor", "NumChannels",
                                 "PaddingValue", NULL};
    memcpy(names + N_WEIGHTS_NAMES, extra, sizeof extra);
    int fs[2] = {0, 0}, nf = 0;
    mc_status st = get_ints(c, &c->pos[0], "filterSize", 1, 2, fs);
    if (st == MC_OK)
        st = get_int(c, &c->pos[1], "numFilters", 1, &nf);
    if (st != MC_OK)
        return st;
    mc_conv2d_options o = mc_conv2d_default(fs[0], fs[1], nf);
    const weights_options w = {&o.name, &o.weights_initializer, &o.bias_initializer,
                               &o.weights_len, &o.bias_len, &o.weight_learn_rate_factor,
                               &o.bias_learn_rate_factor, &o.weight_l2_factor, &o.bias_l2_factor};
    owned_floats f = {{NULL}};
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        if (k < N_WEIGHTS_NAMES) {
            st = weights_option(c, k, v, &w, &f);
            continue;
        }
        switch (k - N_WEIGHTS_NAMES) {
        case 0: st = get_ints(c, v, "Stride", 1, 2, o.stride); break;
        case 1: st = get_padding(c, v, o.padding, &o.padding_same); break;
        case 2: st = get_ints(c, v, "DilationFactor", 1, 2, o.dilation); break;
        case 3: st = get_auto_int(c, v, "NumChannels", &o.num_channels); break;
        default:
            if (v->kind != NF_NUMBERS || v->count != 1 || v->nums[0] != 0)
                st = bad(c, v, "PaddingValue", "0 (minicnn pads convolutions with zeros)");
            break;
        }
    }
    o.weights = f.v[0];
    o.bias = f.v[1];
    if (st == MC_OK)
        st = mc_conv2d_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

static mc_status build_fc(nf_call *c, mc_layer **out)
{
    const char *names[N_WEIGHTS_NAMES + 2];
    memcpy(names, weights_names, sizeof weights_names);
    names[N_WEIGHTS_NAMES] = "InputSize";
    names[N_WEIGHTS_NAMES + 1] = NULL;
    int k_out = 0;
    mc_status st = get_int(c, &c->pos[0], "outputSize", 1, &k_out);
    if (st != MC_OK)
        return st;
    mc_fc_options o = mc_fc_default(k_out);
    const weights_options w = {&o.name, &o.weights_initializer, &o.bias_initializer,
                               &o.weights_len, &o.bias_len, &o.weight_learn_rate_factor,
                               &o.bias_learn_rate_factor, &o.weight_l2_factor, &o.bias_l2_factor};
    owned_floats f = {{NULL}};
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        if (k < N_WEIGHTS_NAMES)
            st = weights_option(c, k, c->opts[i].value, &w, &f);
        else
            st = get_auto_int(c, c->opts[i].value, "InputSize", &o.input_size);
    }
    o.weights = f.v[0];
    o.bias = f.v[1];
    if (st == MC_OK)
        st = mc_fc_create(c->ctx, &o, out);
    free_floats(c->ctx, &f);
    return st;
}

/* Normalization and NormalizationDimension, shared by both input layers. */
static mc_status input_option(nf_call *c, int k, const nf_value *v, mc_normalization *norm,
                              mc_norm_dimension *dim)
{
    const char *s = NULL;
    mc_status st = get_string(c, v, k == 0 ? "Normalization" : "NormalizationDimension", &s);
    if (st != MC_OK)
        return st;
    if (k == 0) {
        st = mc_normalization_parse(c->ctx, s, norm);
        if (st != MC_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mc_ctx_message(c->ctx));
            return nf_fail_at(c, v->line, v->col, "%s: %s", c->fn, msg);
        }
        return MC_OK;
    }
    static const char *const dims[] = {"auto", "element", "channel", "all", NULL};
    for (int i = 0; dims[i] != NULL; i++)
        if (strcasecmp(s, dims[i]) == 0) {
            *dim = (mc_norm_dimension)i;
            return MC_OK;
        }
    return bad(c, v, "NormalizationDimension", "'auto', 'element', 'channel' or 'all'");
}

static mc_status build_image_input(nf_call *c, mc_layer **out)
{
    static const char *const names[] = {"Normalization", "NormalizationDimension", "Name",
                                        "DataAugmentation", NULL};
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
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        if (k < 2)
            st = input_option(c, k, v, &o.normalization, &o.normalization_dimension);
        else if (k == 2)
            st = get_string(c, v, "Name", &o.name);
        else if (v->kind != NF_STRING || strcasecmp(v->str, "none") != 0)
            st = bad(c, v, "DataAugmentation", "'none' (augmentation is not supported)");
    }
    return st == MC_OK ? mc_image_input_create(c->ctx, &o, out) : st;
}

static mc_status build_feature_input(nf_call *c, mc_layer **out)
{
    static const char *const names[] = {"Normalization", "NormalizationDimension", "Name",
                                        NULL};
    int nfeat = 0;
    mc_status st = get_int(c, &c->pos[0], "numFeatures", 1, &nfeat);
    if (st != MC_OK)
        return st;
    mc_feature_input_options o = mc_feature_input_default(nfeat);
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        if (k < 2)
            st = input_option(c, k, v, &o.normalization, &o.normalization_dimension);
        else
            st = get_string(c, v, "Name", &o.name);
    }
    return st == MC_OK ? mc_feature_input_create(c->ctx, &o, out) : st;
}

static mc_status build_maxpool(nf_call *c, mc_layer **out)
{
    static const char *const names[] = {"Stride", "Padding", "Name", "HasUnpoolingOutputs",
                                        NULL};
    int ps[2] = {0, 0};
    mc_status st = get_ints(c, &c->pos[0], "poolSize", 1, 2, ps);
    if (st != MC_OK)
        return st;
    mc_maxpool_options o = mc_maxpool_default(ps[0], ps[1]);
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        switch (k) {
        case 0: st = get_ints(c, v, "Stride", 1, 2, o.stride); break;
        case 1: st = get_padding(c, v, o.padding, &o.padding_same); break;
        case 2: st = get_string(c, v, "Name", &o.name); break;
        default:
            if (v->kind != NF_NUMBERS || v->count != 1 || v->nums[0] != 0)
                st = bad(c, v, "HasUnpoolingOutputs", "false (unpooling is not supported)");
            break;
        }
    }
    return st == MC_OK ? mc_maxpool_create(c->ctx, &o, out) : st;
}

/* Layers whose only option is Name. */
static mc_status only_name(nf_call *c, const char **name)
{
    static const char *const names[] = {"Name", NULL};
    *name = NULL;
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        st = option_index(c, i, names, &k);
        if (st == MC_OK)
            st = get_string(c, c->opts[i].value, "Name", name);
    }
    return st;
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
    static const char *const names[] = {"Name", "Classes", "ClassWeights", NULL};
    mc_classification_options o = mc_classification_default();
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < c->n_opts; i++) {
        int k = -1;
        const nf_value *v = c->opts[i].value;
        st = option_index(c, i, names, &k);
        if (st != MC_OK)
            break;
        if (k == 0) {
            st = get_string(c, v, "Name", &o.name);
        } else if (k == 1) {
            if (v->kind == NF_STRING && strcasecmp(v->str, "auto") == 0) {
                o.classes = NULL;
                o.num_classes = 0;
            } else if (v->kind == NF_CELL && v->count > 0) {
                o.classes = (const char *const *)v->cells;
                o.num_classes = v->count;
            } else {
                st = bad(c, v, "Classes", "'auto' or a cell array of class names");
            }
        } else if (v->kind != NF_STRING || strcasecmp(v->str, "none") != 0) {
            st = bad(c, v, "ClassWeights", "'none' (class weights are not supported)");
        }
    }
    return st == MC_OK ? mc_classification_create(c->ctx, &o, out) : st;
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
