/* SPDX-License-Identifier: MIT */
/* layerNormalizationLayer and instanceNormalizationLayer: properties, defaults, validation,
 * displays, network files, the identity with groupNormalizationLayer('all-channels') and
 * ('channel-wise') bit for bit, a double oracle with central differences of every input and
 * parameter element, accumulation, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

/* Which layer, and its options. */
typedef struct options {
    int instance;
    mc_layernorm_options o;
} options;

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    const options *o = opts;
    return o->instance ? mc_instancenorm_create(ctx, &o->o, out)
                       : mc_layernorm_create(ctx, &o->o, out);
}

static options defaults(int instance, const char *name)
{
    options o = {instance, instance ? mc_instancenorm_default() : mc_layernorm_default()};
    o.o.name = name;
    return o;
}

static mc_layer *make(mc_ctx *ctx, const options *o)
{
    return lt_make(ctx, create, o);
}

/* The group normalization each one is. */
static mc_layer *make_gn(mc_ctx *ctx, int instance, const mc_layernorm_options *o)
{
    mc_groupnorm_options g = mc_groupnorm_default(0);
    g.groups_mode = instance ? MC_GROUPS_CHANNEL_WISE : MC_GROUPS_ALL_CHANNELS;
    g.epsilon = o->epsilon;
    g.scale = o->scale;
    g.scale_len = o->scale_len;
    g.offset = o->offset;
    g.offset_len = o->offset_len;
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_groupnorm_create(ctx, &g, &l), MC_OK);
    return l;
}

/* ---- An independent double-precision oracle ------------------------------------------- */

/* Layer normalization: the statistics over all C * S values of an observation; instance
 * normalization: over the S values of each channel. Biased variance, two passes. */
typedef struct point {
    int instance, N, C;
    size_t S;
    double eps;
    double *x, *scale, *offset, *w;
} point;

static void oracle(const point *p, double *y)
{
    const size_t m = p->instance ? p->S : (size_t)p->C * p->S;
    const size_t groups = (size_t)p->N * (p->instance ? (size_t)p->C : 1);
    for (size_t g = 0; g < groups; g++) {
        const double *x = p->x + g * m;
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < m; i++)
            mean += x[i];
        mean /= (double)m;
        for (size_t i = 0; i < m; i++)
            var += (x[i] - mean) * (x[i] - mean);
        var /= (double)m;
        for (size_t i = 0; i < m; i++) {
            const size_t at = g * m + i;
            const int c = (int)((at / p->S) % (size_t)p->C);
            y[at] = p->scale[c] * (x[i] - mean) / sqrt(var + p->eps) + p->offset[c];
        }
    }
}

static double point_loss(const void *user)
{
    const point *p = user;
    const size_t n = (size_t)p->N * p->C * p->S;
    double *y = test_doubles(n), L = 0.0;
    oracle(p, y);
    for (size_t i = 0; i < n; i++)
        L += p->w[i] * y[i];
    free(y);
    return L;
}

/* ---- Properties, validation and displays ------------------------------------------------ */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const mc_layernorm_options d = mc_layernorm_default();
    ck_assert(d.epsilon == 1e-5 && d.num_channels == 0);
    ck_assert(d.scale_learn_rate_factor == 1 && d.offset_learn_rate_factor == 1);
    ck_assert(d.scale_l2_factor == 1 && d.offset_l2_factor == 1);
    ck_assert_ptr_null(d.scale_initializer.name);
    ck_assert_ptr_null(d.name);
    const mc_instancenorm_options di = mc_instancenorm_default();
    ck_assert(memcmp(&d, &di, sizeof d) == 0);
    options o = defaults(0, NULL);
    mc_layer *l = make(ctx, &o);
    lt_expect_identity(l, "layerNormalizationLayer", "LayerNormalizationLayer",
                       "Layer Normalization", "layernorm", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_params(l), 2);
    ck_assert_str_eq(mc_layer_param(l, 0)->name, "Offset");
    ck_assert_str_eq(mc_layer_param(l, 1)->name, "Scale");
    ck_assert_ptr_null(mc_layer_param(l, 2));
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    ck_assert_int_eq(mc_layernorm_num_channels(l), 0);
    /* Scale and Offset per channel, sized as MATLAB: ones and zeros by default */
    lt_setup_same(l, &(mc_shape){.ndim = 4, .dims = {2, 3, 4, 5}});
    ck_assert_int_eq(mc_layernorm_num_channels(l), 3);
    const mc_param *scale = lt_param(l, "Scale"), *offset = lt_param(l, "Offset");
    ck_assert_int_eq(scale->size.ndim, 3);
    ck_assert_int_eq(scale->size.dims[2], 3);
    for (int c = 0; c < 3; c++)
        ck_assert(scale->value.data[c] == 1.0f && offset->value.data[c] == 0.0f);
    lt_setup_same(l, &(mc_shape){.ndim = 2, .dims = {2, 3}}); /* feature input: 3x1 */
    ck_assert_int_eq(lt_param(l, "Scale")->size.ndim, 2);
    ck_assert_int_eq(lt_param(l, "Scale")->size.dims[0], 3);
    mc_layer_destroy(l);
    o = defaults(1, "in1");
    l = make(ctx, &o);
    lt_expect_identity(l, "instanceNormalizationLayer", "InstanceNormalizationLayer",
                       "Instance Normalization", "instancenorm", MC_ROLE_HIDDEN);
    lt_setup_same(l, &(mc_shape){.ndim = 3, .dims = {2, 3, 4}});
    ck_assert_int_eq(mc_layernorm_num_channels(l), 3);
    mc_layer *relu = NULL;
    ck_assert_int_eq(mc_relu_create(ctx, NULL, &relu), MC_OK);
    ck_assert_int_eq(mc_layernorm_num_channels(relu), -1);
    mc_layer_destroy(relu);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_validation)
{
    const float three[3] = {1, 2, 3}, two[2] = {1, 2}, bad[2] = {1, NAN};
    options o[10];
    for (int i = 0; i < 10; i++)
        o[i] = defaults(i % 2, i == 1 ? "in1" : NULL);
    o[0].o.epsilon = 1e-6;
    o[1].o.epsilon = NAN;
    o[2].o.num_channels = -1;
    o[3].o.scale_learn_rate_factor = -1;
    o[4].o.offset_l2_factor = INFINITY;
    o[5].o.num_channels = 2;
    o[5].o.scale = three;
    o[5].o.scale_len = 3;
    o[6].o.scale = three;
    o[6].o.scale_len = 3;
    o[6].o.offset = two;
    o[6].o.offset_len = 2;
    o[7].o.offset = bad;
    o[7].o.offset_len = 2;
    o[8].o.scale_initializer.name = "glorot";
    o[9].o.offset_initializer.name = "zero";
    const struct {
        mc_status st;
        const char *msg;
    } want[] = {
        {MC_ERR_INVALID, "layerNormalizationLayer (unnamed): Epsilon must be a finite number of "
                         "at least 1e-05, not 1e-06"},
        {MC_ERR_INVALID, "Layer 'in1': Epsilon must be a finite number of at least 1e-05, not "
                         "nan"},
        {MC_ERR_INVALID, "layerNormalizationLayer (unnamed): NumChannels must be 'auto' (0) or a "
                         "positive integer, not -1"},
        {MC_ERR_INVALID, "instanceNormalizationLayer (unnamed): ScaleLearnRateFactor must be a "
                         "nonnegative finite number, not -1"},
        {MC_ERR_INVALID, "layerNormalizationLayer (unnamed): OffsetL2Factor must be a "
                         "nonnegative finite number, not inf"},
        {MC_ERR_SHAPE, "instanceNormalizationLayer (unnamed): the initial Scale has 3 elements but "
                       "NumChannels is 2"},
        {MC_ERR_SHAPE, "layerNormalizationLayer (unnamed): the initial Scale has 3 elements but "
                       "the initial Offset has 2"},
        {MC_ERR_INVALID, "instanceNormalizationLayer (unnamed): the initial Offset has the "
                         "non-finite value nan at element 2"},
        {MC_ERR_INVALID, "layerNormalizationLayer (unnamed): unknown ScaleInitializer 'glorot'; "
                         "expected 'ones', 'zeros', 'narrow-normal' or a function"},
        {MC_ERR_INVALID, "instanceNormalizationLayer (unnamed): unknown OffsetInitializer 'zero'"},
    };
    for (int i = 0; i < 10; i++)
        lt_expect_create_error(create, &o[i], want[i].st, want[i].msg, i < 9);
}
END_TEST

START_TEST(test_setup_validation)
{
    const float three[3] = {1, 2, 3};
    options o = defaults(0, "ln1");
    o.o.num_channels = 3;
    lt_expect_setup_error_for(create, &o, test_shape(4, 2, 4, 5, 5), MC_ERR_SHAPE,
                              "Layer 'ln1': NumChannels is 3 but the input has 4 channels", 1);
    o = defaults(1, NULL);
    o.o.scale = three;
    o.o.scale_len = 3;
    lt_expect_setup_error_for(create, &o, test_shape(3, 2, 4, 5), MC_ERR_SHAPE,
                              "instanceNormalizationLayer (unnamed): Scale has 3 elements but "
                              "the input has 4 channels",
                              1);
    o = defaults(0, NULL);
    o.o.offset = three;
    o.o.offset_len = 3;
    lt_expect_setup_error_for(create, &o, test_shape(2, 2, 4), MC_ERR_SHAPE,
                              "layerNormalizationLayer (unnamed): Offset has 3 elements but the "
                              "input has 4 channels",
                              1);
    /* an initializer's failure names this layer, not the group normalization inside */
    o = defaults(0, NULL);
    o.o.scale_initializer.fn = lt_fail_init;
    lt_expect_setup_error_for(create, &o, test_shape(2, 2, 4), MC_ERR_CALLBACK,
                              "layerNormalizationLayer (unnamed)", 0);
    o = defaults(1, NULL);
    lt_nonfinite nf = {1, NAN};
    o.o.offset_initializer.fn = lt_nonfinite_init;
    o.o.offset_initializer.user = &nf;
    lt_expect_setup_error_for(create, &o, test_shape(3, 2, 4, 3), MC_ERR_NUMERIC,
                              "instanceNormalizationLayer (unnamed): the OffsetInitializer "
                              "function returned nan at element 2 of 4; initial values must be "
                              "finite",
                              1);
    o = defaults(1, "in1");
    lt_expect_setup_error_for(create, &o, test_shape(2, 8, 6), MC_ERR_SHAPE,
                              "Layer 'in1': instance normalization needs spatial or time "
                              "dimensions, but the input is 6 features (each channel one value); "
                              "use layerNormalizationLayer to normalize across the features",
                              1);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    options o = defaults(0, NULL);
    mc_layer *l = make(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Layer normalization");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  LayerNormalizationLayer with properties:\n"
                       "\n"
                       "           Name: ''\n"
                       "    NumChannels: 'auto'\n"
                       "\n"
                       "   Hyperparameters\n"
                       "        Epsilon: 1.0000e-05\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "         Offset: []\n"
                       "          Scale: []\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    lt_ramp ramp = {0, 0.5f, 1.0f};
    o = defaults(1, "in1");
    o.o.epsilon = 0.25;
    o.o.scale_initializer.fn = lt_ramp_init;
    o.o.scale_initializer.user = &ramp;
    o.o.offset_initializer.name = "narrow-normal";
    o.o.scale_learn_rate_factor = 2;
    o.o.offset_learn_rate_factor = 0.5;
    o.o.scale_l2_factor = 0;
    o.o.offset_l2_factor = 1e-3;
    l = make(ctx, &o);
    lt_setup_same(l, &(mc_shape){.ndim = 4, .dims = {2, 6, 3, 3}});
    ck_assert_int_eq(ramp.calls, 1);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Instance normalization");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  InstanceNormalizationLayer with properties:\n\n"
                       "                     Name: 'in1'\n"
                       "                NumInputs: 1\n"
                       "               InputNames: {'in'}\n"
                       "               NumOutputs: 1\n"
                       "              OutputNames: {'out'}\n"
                       "              NumChannels: 6\n\n"
                       "   Hyperparameters\n"
                       "                  Epsilon: 0.2500\n\n"
                       "   Learnable Parameters\n"
                       "                   Offset: [1\xc3\x97"
                       "1\xc3\x97"
                       "6 single]\n"
                       "                    Scale: [1\xc3\x97"
                       "1\xc3\x97"
                       "6 single]\n\n"
                       "   Parameters and Initialization\n"
                       "         ScaleInitializer: [function_handle]\n"
                       "        OffsetInitializer: 'narrow-normal'\n\n"
                       "   Learn Rate and Regularization\n"
                       "     ScaleLearnRateFactor: 2\n"
                       "    OffsetLearnRateFactor: 0.5000\n"
                       "            ScaleL2Factor: 0\n"
                       "           OffsetL2Factor: 1.0000e-03\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_layer_parse(ctx,
                                    "layerNormalizationLayer('Name','ln','Epsilon',1e-3,"
                                    "'ScaleInitializer','zeros','OffsetL2Factor',0,'Scale',"
                                    "[1 2 3],'NumChannels',3)",
                                    &l),
                     MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "ln");
    ck_assert_str_eq(l->vt->kind, "layerNormalizationLayer");
    ck_assert(lt_param(l, "Offset")->l2_factor == 0.0);
    char *text = lt_describe(l, MC_DESCRIBE_ALL);
    ck_assert_ptr_nonnull(strstr(text, "                  Epsilon: 1.0000e-03\n"));
    ck_assert_ptr_nonnull(strstr(text, "         ScaleInitializer: 'zeros'\n"));
    ck_assert_ptr_nonnull(strstr(text, "              NumChannels: 3\n"));
    mc_free(ctx, text);
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "instanceNormalizationLayer", &l), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Instance normalization");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "layerNormalizationLayer(2)", &l), MC_ERR_FORMAT,
              "layerNormalizationLayer takes 0 arguments and then name-value pairs", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "instanceNormalizationLayer('NumGroups',2)", &l),
              MC_ERR_FORMAT, "instanceNormalizationLayer has no option 'NumGroups'", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "layerNormalizationLayer('Epsilon',0)", &l), MC_ERR_INVALID,
              "Epsilon must be a finite number of at least 1e-05, not 0", 0);
    ck_assert_ptr_null(l);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- The relation to group normalization ---------------------------------------------- */

static const mc_shape shapes[] = {
    {.ndim = 2, .dims = {3, 8}},          /* feature input (layer normalization only) */
    {.ndim = 3, .dims = {3, 4, 7}},       /* sequence */
    {.ndim = 4, .dims = {3, 4, 5, 3}},    /* 2-D image */
    {.ndim = 5, .dims = {2, 3, 2, 3, 2}}, /* 3-D image */
};

/* Random Scale and Offset for C channels, given as initial values. */
static void random_affine(test_rng *r, float *scale, float *offset, int C, options *o)
{
    test_fill_normal(r, scale, (size_t)C, 1.0, 0.5);
    test_fill_normal(r, offset, (size_t)C, 0.0, 0.5);
    o->o.scale = scale;
    o->o.scale_len = (size_t)C;
    o->o.offset = offset;
    o->o.offset_len = (size_t)C;
}

/* Layer normalization is groupNormalizationLayer('all-channels') and instance normalization
 * groupNormalizationLayer('channel-wise'): the same y, dx, dScale and dOffset, bit for bit, on
 * every input kind, with several threads (the tasks and sums of group normalization). */
START_TEST(test_same_as_groupnorm)
{
    const int instance = _i / 4;
    const mc_shape s = shapes[_i % 4];
    if (instance && s.ndim == 2)
        return; /* refused: see test_setup_validation */
    mc_set_threads(2);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {40 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    const int C = s.dims[1];
    float *x = test_floats(n), *dy = test_floats(n), *y1 = test_floats(n), *y2 = test_floats(n);
    float *dx1 = test_floats(n), *dx2 = test_floats(n), scale[8], offset[8];
    test_fill_normal(&r, x, n, 3.0, 2.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    options o = defaults(instance, NULL);
    o.o.epsilon = 1e-3;
    random_affine(&r, scale, offset, C, &o);
    mc_layer *l = make(ctx, &o), *gn = make_gn(ctx, instance, &o.o);
    lt_setup_same(l, &s);
    lt_setup_same(gn, &s);
    lt_forward_data(l, x, &s, y1, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y1, &s, dy, dx1);
    lt_forward_data(gn, x, &s, y2, &s, MC_MODE_TRAINING);
    lt_backward_data(gn, x, &s, y2, &s, dy, dx2);
    ck_assert_mem_eq(y1, y2, n * sizeof(float));
    ck_assert_mem_eq(dx1, dx2, n * sizeof(float));
    for (int p = 0; p < 2; p++) {
        const mc_param *a1 = mc_layer_param(l, p), *a2 = mc_layer_param(gn, p);
        ck_assert_str_eq(a1->name, a2->name);
        ck_assert_mem_eq(a1->value.data, a2->value.data, (size_t)C * sizeof(float));
        ck_assert_mem_eq(a1->grad.data, a2->grad.data, (size_t)C * sizeof(float));
        ck_assert_int_eq(a1->size.ndim, a2->size.ndim);
    }
    mc_layer_destroy(gn);
    free(x);
    free(dy);
    free(y1);
    free(y2);
    free(dx1);
    free(dx2);
    lt_teardown(&a, ctx, l);
    mc_set_threads(0);
}
END_TEST

/* ---- Values and gradients ------------------------------------------------------------- */

/* y against the double oracle; dx, dScale and dOffset against its central differences for
 * every element; then the generic checker on the layer's own forward; then the accumulation
 * contract. */
START_TEST(test_gradients)
{
    const int instance = _i / 4;
    const mc_shape s = shapes[_i % 4];
    if (instance && s.ndim == 2)
        return;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {60 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    const int C = s.dims[1];
    float *x = test_floats(n), *w = test_floats(n), *y = test_floats(n), *dx = test_floats(n);
    float scale[8], offset[8];
    test_fill_normal(&r, x, n, -2.0, 1.5);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    options o = defaults(instance, NULL);
    o.o.epsilon = 1e-2;
    random_affine(&r, scale, offset, C, &o);
    mc_layer *l = make(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);
    point p = {instance,
               s.dims[0],
               C,
               lt_positions(&s),
               o.o.epsilon,
               test_to_doubles(x, n),
               test_to_doubles(scale, (size_t)C),
               test_to_doubles(offset, (size_t)C),
               test_to_doubles(w, n)};
    double *yd = test_doubles(n);
    oracle(&p, yd);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(y[i] - yd[i]) <= 2e-6 * (fabs(yd[i]) + 1.0), "y[%zu] = %.9g, want %.9g",
                      i, y[i], yd[i]);
    tc_expect_oracle_dx(l, x, &s, dx, point_loss, &p, p.x, 1e-6, 1e-5, 1e-4, false);
    const mc_param *ps = lt_param(l, "Scale"), *po = lt_param(l, "Offset");
    for (int c = 0; c < C; c++) {
        const double ns = test_central_difference(point_loss, &p, &p.scale[c], 1e-6);
        const double no = test_central_difference(point_loss, &p, &p.offset[c], 1e-6);
        ck_assert_msg(fabs(ps->grad.data[c] - ns) <= 1e-5 + 1e-4 * fabs(ns),
                      "dScale[%d] = %.9g, oracle %.9g", c, ps->grad.data[c], ns);
        ck_assert_msg(fabs(po->grad.data[c] - no) <= 1e-5 + 1e-4 * fabs(no),
                      "dOffset[%d] = %.9g, oracle %.9g", c, po->grad.data[c], no);
    }
    /* the generic checker compares every input and parameter element */
    mc_param_zero_grad(mc_layer_param(l, 0));
    mc_param_zero_grad(mc_layer_param(l, 1));
    mc_tensor in = mc_tensor_view(x, &s);
    gradcheck_expect(l, &in, 1, 1e-2, 1e-3, 1e-2, (int)n + 2 * C, "shape %d", _i);
    mc_param_zero_grad(mc_layer_param(l, 0));
    mc_param_zero_grad(mc_layer_param(l, 1));
    lt_expect_grads_accumulate(l, x, &s, y, &s, w, dx);
    free(p.x);
    free(p.scale);
    free(p.offset);
    free(p.w);
    free(yd);
    free(x);
    free(w);
    free(y);
    free(dx);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* 1, 2 and 3 threads: the same y, dx and parameter gradients, bit for bit. */
START_TEST(test_threads)
{
    const int instance = _i;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    options o = defaults(instance, NULL);
    mc_layer *l = make(ctx, &o);
    const mc_shape s = test_shape(4, 24, 6, 20, 20); /* 57,600 values */
    const size_t n = mc_shape_numel(&s);
    lt_setup_same(l, &s);
    float *x = test_floats(n), *dy = test_floats(n), *y[3], *dx[3], *grads[3][2];
    test_rng r = {11};
    test_fill_normal(&r, x, n, 1.0, 3.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    for (int t = 0; t < 3; t++) {
        mc_set_threads(t + 1);
        y[t] = test_floats(n);
        dx[t] = test_floats(n);
        mc_param_zero_grad(mc_layer_param(l, 0));
        mc_param_zero_grad(mc_layer_param(l, 1));
        lt_forward_data(l, x, &s, y[t], &s, MC_MODE_TRAINING);
        lt_backward_data(l, x, &s, y[t], &s, dy, dx[t]);
        for (int p = 0; p < 2; p++) {
            grads[t][p] = test_floats(6);
            memcpy(grads[t][p], mc_layer_param(l, p)->grad.data, 6 * sizeof(float));
        }
    }
    mc_set_threads(0);
    for (int t = 1; t < 3; t++) {
        ck_assert_mem_eq(y[0], y[t], n * sizeof(float));
        ck_assert_mem_eq(dx[0], dx[t], n * sizeof(float));
        for (int p = 0; p < 2; p++)
            ck_assert_mem_eq(grads[0][p], grads[t][p], 6 * sizeof(float));
    }
    for (int t = 0; t < 3; t++) {
        free(y[t]);
        free(dx[t]);
        free(grads[t][0]);
        free(grads[t][1]);
    }
    free(x);
    free(dy);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    const float init[3] = {1, 2, 3};
    const mc_shape setups[2] = {test_shape(4, 2, 3, 4, 4), test_shape(4, 40, 3, 6, 6)};
    options o = defaults(_i, "norm1");
    o.o.scale = init;
    o.o.scale_len = 3;
    const lt_alloc_case c = {
        .create = create, .opts = &o, .setups = setups, .n_setups = 2, .min_allocs = 10};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *layernorm_suite(void)
{
    Suite *s = suite_create("layernorm");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_loop_test(tc, test_same_as_groupnorm, 0, 8);
    tcase_add_loop_test(tc, test_gradients, 0, 8);
    tcase_add_loop_test(tc, test_threads, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_loop_test(tc, test_allocation_failures, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(layernorm_suite());
}
