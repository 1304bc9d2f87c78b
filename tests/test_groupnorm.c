/* SPDX-License-Identifier: MIT */
/* groupNormalizationLayer: options, validation, display, values, gradients, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

/* x, y: (N, C, S); scale, offset: (C). Textbook form: each element looks up its group. */
static void oracle_forward(const double *x, double *y, const double *scale, const double *offset,
                           int N, int C, size_t S, int G, double eps)
{
    const int per = C / G;
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < G; g++) {
            double sum = 0.0, count = 0.0;
            for (int c = 0; c < C; c++)
                for (size_t s = 0; s < S && c / per == g; s++, count++)
                    sum += x[((size_t)n * C + c) * S + s];
            const double mean = sum / count;
            double var = 0.0;
            for (int c = 0; c < C; c++)
                for (size_t s = 0; s < S && c / per == g; s++) {
                    const double d = x[((size_t)n * C + c) * S + s] - mean;
                    var += d * d / count;
                }
            for (int c = 0; c < C; c++)
                for (size_t s = 0; s < S && c / per == g; s++) {
                    const size_t i = ((size_t)n * C + c) * S + s;
                    y[i] = scale[c] * (x[i] - mean) / sqrt(var + eps) + offset[c];
                }
        }
    }
}

/* The oracle on a problem of group normalization. */
static void problem_forward(const lt_norm_problem *p, double *y)
{
    oracle_forward(p->x, y, p->scale, p->offset, p->N, p->C, p->S, p->G, p->eps);
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_groupnorm_create(ctx, opts, out);
}

static mc_layer *make_layer(mc_ctx *ctx, const mc_groupnorm_options *o)
{
    return lt_make(ctx, create, o);
}

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_groupnorm_options o = mc_groupnorm_default(4);
    ck_assert_int_eq(o.groups_mode, MC_GROUPS_COUNT);
    ck_assert_int_eq(o.num_groups, 4);
    ck_assert(o.epsilon == 1e-5);
    ck_assert_int_eq(o.num_channels, 0);
    ck_assert_ptr_null(o.scale_initializer.name);
    ck_assert(o.scale_initializer.fn == NULL);
    ck_assert(o.scale_learn_rate_factor == 1.0 && o.offset_learn_rate_factor == 1.0);
    ck_assert(o.scale_l2_factor == 1.0 && o.offset_l2_factor == 1.0);
    o.scale_learn_rate_factor = 2.0;
    o.offset_learn_rate_factor = 0.0;
    o.scale_l2_factor = 0.5;
    o.offset_l2_factor = 3.0;
    mc_layer *l = make_layer(ctx, &o);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_str_eq(mc_layer_output_name(l, 0), "out");
    ck_assert_ptr_null(mc_layer_input_name(l, 1));
    ck_assert_int_eq(mc_groupnorm_num_channels(l), 0);
    ck_assert_int_eq(mc_groupnorm_num_groups(l), 4);
    ck_assert_int_eq(mc_layer_num_params(l), 2);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    mc_param *off = mc_layer_param(l, 0), *sc = mc_layer_param(l, 1);
    ck_assert_str_eq(off->name, "Offset");
    ck_assert_str_eq(sc->name, "Scale");
    ck_assert(sc->lr_factor == 2.0 && off->lr_factor == 0.0);
    ck_assert(sc->l2_factor == 0.5 && off->l2_factor == 3.0);
    ck_assert_ptr_null(sc->value.data); /* empty until set up */
    ck_assert_ptr_null(mc_layer_param(l, 2));

    mc_shape s = test_shape(4, 2, 8, 3, 3);
    lt_setup_same(l, &s);
    ck_assert_int_eq(mc_groupnorm_num_channels(l), 8);
    ck_assert_int_eq(sc->size.ndim, 3); /* MATLAB's 1x1xC */
    ck_assert_int_eq(sc->size.dims[2], 8);
    ck_assert_int_eq(sc->value.shape.ndim, 1); /* stored as C values */
    ck_assert_int_eq(sc->value.shape.dims[0], 8);
    for (int c = 0; c < 8; c++) {
        ck_assert(sc->value.data[c] == 1.0f);
        ck_assert(off->value.data[c] == 0.0f);
        ck_assert(sc->grad.data[c] == 0.0f);
    }
    ck_assert_int_eq(mc_layer_set_name(l, "gn9"), MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "gn9");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display_reference_example)
{
    /* layer = groupNormalizationLayer(3,'Name','groupnorm') */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_groupnorm_options o = mc_groupnorm_default(3);
    o.name = "groupnorm";
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  GroupNormalizationLayer with properties:\n"
                       "\n"
                       "           Name: 'groupnorm'\n"
                       "    NumChannels: 'auto'\n"
                       "\n"
                       "   Hyperparameters\n"
                       "      NumGroups: 3\n"
                       "        Epsilon: 1.0000e-05\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "         Offset: []\n"
                       "          Scale: []\n"
                       "\n"
                       "  Show all properties\n");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Group normalization");
    ck_assert_str_eq(l->vt->type_label, "Group Normalization");
    ck_assert_str_eq(l->vt->class_name, "GroupNormalizationLayer");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* After setup the display shows NumChannels and the sizes MATLAB gives Scale and Offset. */
START_TEST(test_display_after_setup)
{
    static const struct {
        int ndim;
        int dims[5];
        const char *size;
    } kinds[] = {
        {2,
         {5, 6},
         "[6\xc3\x97"
         "1 single]"},
        {3,
         {5, 6, 7},
         "[6\xc3\x97"
         "1 single]"},
        {4,
         {5, 6, 7, 7},
         "[1\xc3\x97"
         "1\xc3\x97"
         "6 single]"},
        {5,
         {5, 6, 2, 3, 3},
         "[1\xc3\x97"
         "1\xc3\x97"
         "1\xc3\x97"
         "6 single]"},
    };
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        mc_groupnorm_options o = mc_groupnorm_default(2);
        o.name = "gn1";
        o.epsilon = 0.001;
        mc_layer *l = make_layer(ctx, &o);
        mc_shape s = mc_shape_make(kinds[k].ndim, kinds[k].dims);
        lt_setup_same(l, &s);
        char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
        char want[600];
        snprintf(want, sizeof want,
                 "  GroupNormalizationLayer with properties:\n\n"
                 "           Name: 'gn1'\n"
                 "    NumChannels: 6\n\n"
                 "   Hyperparameters\n"
                 "      NumGroups: 2\n"
                 "        Epsilon: 1.0000e-03\n\n"
                 "   Learnable Parameters\n"
                 "         Offset: %s\n"
                 "          Scale: %s\n\n"
                 "  Show all properties\n",
                 kinds[k].size, kinds[k].size);
        ck_assert_str_eq(text, want);
        mc_free(ctx, text);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_display_all_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_ramp ramp = {0, 0.5f, 1.0f};
    mc_groupnorm_options o = mc_groupnorm_default(0);
    o.groups_mode = MC_GROUPS_ALL_CHANNELS;
    o.name = "ln";
    o.epsilon = 0.25;
    o.scale_initializer.fn = lt_ramp_init;
    o.scale_initializer.user = &ramp;
    o.offset_initializer.name = "narrow-normal";
    o.scale_learn_rate_factor = 2;
    o.offset_learn_rate_factor = 0.5;
    o.scale_l2_factor = 0;
    o.offset_l2_factor = 1e-3;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  GroupNormalizationLayer with properties:\n\n"
                       "                     Name: 'ln'\n"
                       "                NumInputs: 1\n"
                       "               InputNames: {'in'}\n"
                       "               NumOutputs: 1\n"
                       "              OutputNames: {'out'}\n"
                       "              NumChannels: 'auto'\n\n"
                       "   Hyperparameters\n"
                       "                NumGroups: 'all-channels'\n"
                       "                  Epsilon: 0.2500\n\n"
                       "   Learnable Parameters\n"
                       "                   Offset: []\n"
                       "                    Scale: []\n\n"
                       "   Parameters and Initialization\n"
                       "         ScaleInitializer: [function_handle]\n"
                       "        OffsetInitializer: 'narrow-normal'\n\n"
                       "   Learn Rate and Regularization\n"
                       "     ScaleLearnRateFactor: 2\n"
                       "    OffsetLearnRateFactor: 0.5000\n"
                       "            ScaleL2Factor: 0\n"
                       "           OffsetL2Factor: 1.0000e-03\n");
    mc_layer_destroy(l);

    o = mc_groupnorm_default(0);
    o.groups_mode = MC_GROUPS_CHANNEL_WISE;
    l = make_layer(ctx, &o);
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "      NumGroups: 'channel-wise'\n"));
    ck_assert_ptr_nonnull(strstr(text, "           Name: ''\n"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_parse_groups)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_groups_mode mode;
    int g = -1;
    ck_assert_int_eq(mc_groupnorm_parse_groups(ctx, "all-channels", &mode, &g), MC_OK);
    ck_assert_int_eq(mode, MC_GROUPS_ALL_CHANNELS);
    ck_assert_int_eq(g, 1);
    ck_assert_int_eq(mc_groupnorm_parse_groups(ctx, "channel-wise", &mode, &g), MC_OK);
    ck_assert_int_eq(mode, MC_GROUPS_CHANNEL_WISE);
    ck_assert_int_eq(mc_groupnorm_parse_groups(ctx, "32", &mode, &g), MC_OK);
    ck_assert_int_eq(mode, MC_GROUPS_COUNT);
    ck_assert_int_eq(g, 32);
    const char *bad[] = {"0", "-2", "2.5", "", "all_channels", "99999999999", "3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(mc_groupnorm_parse_groups(ctx, bad[i], &mode, &g), MC_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "\"all-channels\" or \"channel-wise\""));
    }
    mc_groupnorm_parse_groups(ctx, "chanel-wise", &mode, &g);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "did you mean \"channel-wise\""));
    mc_ctx_destroy(ctx);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

/* Creation must fail with `status` and a message containing `needle`. */
static void expect_create_error(const mc_groupnorm_options *o, mc_status status, const char *needle)
{
    lt_expect_create_error(create, o, status, needle, 0);
}

/* Setup for `shape` must fail with `status` and exactly `message`, or a message containing
 * `needle` when exact is false. */
static void expect_setup_error(const mc_groupnorm_options *o, mc_shape shape, mc_status status,
                               const char *message, int exact)
{
    lt_expect_setup_error_for(create, o, shape, status, message, exact);
}

START_TEST(test_groups_must_divide_channels)
{
    mc_groupnorm_options o = mc_groupnorm_default(3);
    o.name = "gn1";
    expect_setup_error(&o, test_shape(4, 2, 20, 24, 24), MC_ERR_SHAPE,
                       "Layer 'gn1': the number of groups (3) must divide the number of input "
                       "channels (20)",
                       1);
    o.num_groups = 32;
    expect_setup_error(&o, test_shape(4, 2, 20, 24, 24), MC_ERR_SHAPE,
                       "Layer 'gn1': the number of groups (32) exceeds the number of input "
                       "channels (20)",
                       1);
    o.num_groups = 6;
    o.name = NULL;
    expect_setup_error(&o, test_shape(2, 8, 4), MC_ERR_SHAPE,
                       "groupNormalizationLayer (unnamed): the number of groups (6) exceeds the "
                       "number of input channels (4)",
                       1);
    /* With NumChannels given, the same rules apply at creation. */
    o = mc_groupnorm_default(3);
    o.name = "gn1";
    o.num_channels = 20;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'gn1': the number of groups (3) must divide "
                        "NumChannels (20)");
    o.num_groups = 40;
    expect_create_error(&o, MC_ERR_INVALID, "the number of groups (40) exceeds NumChannels (20)");
}
END_TEST

START_TEST(test_groups_must_be_positive)
{
    int bad[] = {0, -1, -32};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_groupnorm_options o = mc_groupnorm_default(bad[i]);
        o.name = "gn1";
        char want[160];
        snprintf(want, sizeof want,
                 "Layer 'gn1': the number of groups must be a positive integer, "
                 "\"all-channels\" or \"channel-wise\", not %d",
                 bad[i]);
        expect_create_error(&o, MC_ERR_INVALID, want);
    }
    mc_groupnorm_options o = mc_groupnorm_default(1);
    o.groups_mode = (mc_groups_mode)7;
    expect_create_error(&o, MC_ERR_INVALID, "unknown groups mode 7");
}
END_TEST

START_TEST(test_epsilon_validation)
{
    double bad[] = {9.99e-6, 0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_groupnorm_options o = mc_groupnorm_default(2);
        o.name = "gn1";
        o.epsilon = bad[i];
        expect_create_error(&o, MC_ERR_INVALID,
                            "Layer 'gn1': Epsilon must be a finite number of at least 1e-05");
    }
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.epsilon = 1e-5; /* the boundary itself is allowed */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer_destroy(make_layer(ctx, &o));
    mc_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_factor_validation)
{
    static const char *names[] = {"ScaleLearnRateFactor", "OffsetLearnRateFactor", "ScaleL2Factor",
                                  "OffsetL2Factor"};
    double bad[] = {-1e-9, -2.0, NAN, INFINITY};
    for (int f = 0; f < 4; f++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            mc_groupnorm_options o = mc_groupnorm_default(2);
            o.name = "gn1";
            double *field[] = {&o.scale_learn_rate_factor, &o.offset_learn_rate_factor,
                               &o.scale_l2_factor, &o.offset_l2_factor};
            *field[f] = bad[i];
            char want[160];
            snprintf(want, sizeof want, "Layer 'gn1': %s must be a nonnegative finite number",
                     names[f]);
            expect_create_error(&o, MC_ERR_INVALID, want);
        }
    }
}
END_TEST

START_TEST(test_initializer_validation)
{
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.name = "gn1";
    o.scale_initializer.name = "narrow_normal";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'gn1': unknown ScaleInitializer 'narrow_normal' (did you mean "
                        "'narrow-normal'?); expected 'ones', 'zeros', 'narrow-normal' or a "
                        "function");
    o.scale_initializer.name = NULL;
    o.offset_initializer.name = "glorot"; /* a weights initializer, not one for offsets */
    expect_create_error(&o, MC_ERR_INVALID, "unknown OffsetInitializer 'glorot'");
    o.offset_initializer.name = "ones";
    o.offset_initializer.fn = lt_ramp_init;
    expect_create_error(&o, MC_ERR_INVALID,
                        "OffsetInitializer is given both as the name 'ones' and as a function");

    /* A failing or non-finite user function fails setup with its reason. */
    o = mc_groupnorm_default(2);
    o.name = "gn1";
    o.scale_initializer.fn = lt_fail_init;
    expect_setup_error(&o, test_shape(2, 3, 4), MC_ERR_CALLBACK,
                       "Layer 'gn1': the ScaleInitializer function failed: cannot fill 4 values",
                       1);
    o.scale_initializer.fn = NULL;
    lt_nonfinite nan_at_3 = {2, NAN};
    o.offset_initializer.fn = lt_nonfinite_init;
    o.offset_initializer.user = &nan_at_3;
    expect_setup_error(&o, test_shape(2, 3, 4), MC_ERR_NUMERIC,
                       "Layer 'gn1': the OffsetInitializer function returned nan at element 3 of "
                       "4; initial values must be finite",
                       1);
}
END_TEST

START_TEST(test_channel_validation)
{
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.name = "gn1";
    o.num_channels = -3;
    expect_create_error(
        &o, MC_ERR_INVALID,
        "Layer 'gn1': NumChannels must be 'auto' (0) or a positive integer, not -3");
    o.num_channels = 16;
    expect_setup_error(&o, test_shape(4, 2, 20, 5, 5), MC_ERR_SHAPE,
                       "Layer 'gn1': NumChannels is 16 but the input has 20 channels", 1);

    const float v4[4] = {1, 2, 3, 4}, v5[5] = {1, 2, 3, 4, 5};
    o = mc_groupnorm_default(2);
    o.name = "gn1";
    o.scale = v4;
    o.scale_len = 4;
    expect_setup_error(&o, test_shape(4, 2, 6, 5, 5), MC_ERR_SHAPE,
                       "Layer 'gn1': Scale has 4 elements but the input has 6 channels", 1);
    o.scale = NULL;
    o.offset = v4;
    o.offset_len = 4;
    expect_setup_error(&o, test_shape(2, 2, 8), MC_ERR_SHAPE,
                       "Layer 'gn1': Offset has 4 elements but the input has 8 channels", 1);
    o.num_channels = 6;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'gn1': the initial Offset has 4 elements but NumChannels is 6");
    o.num_channels = 0;
    o.scale = v5;
    o.scale_len = 5;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'gn1': the initial Scale has 5 elements but the initial Offset "
                        "has 4");
    const float bad[4] = {1, NAN, 3, 4};
    o.scale = bad;
    o.scale_len = 4;
    expect_create_error(&o, MC_ERR_INVALID,
                        "the initial Scale has the non-finite value nan at "
                        "element 2");
    o.scale_len = 0;
    expect_create_error(&o, MC_ERR_INVALID, "the initial Scale is given with 0 elements");

    /* After 'auto' is resolved, the channel count is fixed. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    o = mc_groupnorm_default(2);
    o.name = "gn1";
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(2, 3, 4), s2 = test_shape(2, 3, 6), out;
    lt_setup_same(l, &s);
    ck_assert_int_eq(mc_layer_setup(l, &s2, 1, &out), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'gn1': NumChannels is 4 but the input has 6 channels");
    /* Other shapes with the same channels are fine, and Scale follows the input kind. */
    mc_shape s3 = test_shape(4, 5, 4, 2, 2);
    lt_setup_same(l, &s3);
    ck_assert_int_eq(lt_param(l, "Scale")->size.ndim, 3);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_input_shape_validation)
{
    mc_groupnorm_options o = mc_groupnorm_default(1);
    o.name = "gn1";
    expect_setup_error(&o, test_shape(1, 4), MC_ERR_SHAPE,
                       "Layer 'gn1': input 1 has shape [4]; expected 2 to 5 positive dimensions",
                       0);
    expect_setup_error(&o, test_shape(4, 2, 0, 3, 3), MC_ERR_SHAPE, "has shape [2x0x3x3]", 0);

    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, &o);
    float x[24] = {0}, y[24] = {0};
    mc_shape s = test_shape(3, 2, 3, 4);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx), "Layer 'gn1': forward called before setup");
    mc_shape small = test_shape(3, 1, 3, 4);
    lt_setup_same(l, &small);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx), "Layer 'gn1': forward with a batch of 2 observations; "
                                          "the layer was set up for 1 to 1");
    lt_setup_same(l, &s);
    mc_shape other = test_shape(3, 2, 4, 3);
    mc_tensor bad = mc_tensor_view(y, &other);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &bad, MC_MODE_TRAINING), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'gn1': output 1 has shape [2x4x3]; expected [2x3x4]");
    ck_assert_int_eq(mc_layer_forward(l, &in, 2, &out, MC_MODE_TRAINING), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "Layer 'gn1': forward got 2 inputs, but the layer has 1");
    /* A smaller batch than set up is fine. */
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_OK);
    mc_tensor in1 = mc_tensor_view(x, &small), out1 = mc_tensor_view(y, &small);
    ck_assert_int_eq(mc_layer_forward(l, &in1, 1, &out1, MC_MODE_TRAINING), MC_OK);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Initialization ------------------------------------------------------------------- */

START_TEST(test_initializers)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 42);
    /* narrow-normal: N(0, 0.01^2) from the context's RNG, reproducible from the seed. */
    mc_groupnorm_options o = mc_groupnorm_default(1);
    o.scale_initializer.name = "narrow-normal";
    o.offset_initializer.name = "ONES"; /* names are case-insensitive, as in MATLAB */
    mc_layer *l = make_layer(ctx, &o);
    const int C = 20000;
    mc_shape s = test_shape(2, 1, C);
    lt_setup_same(l, &s);
    const float *v = lt_param(l, "Scale")->value.data;
    double sum = 0, sq = 0;
    for (int c = 0; c < C; c++) {
        sum += v[c];
        sq += (double)v[c] * v[c];
    }
    double mean = sum / C, sd = sqrt(sq / C - mean * mean);
    ck_assert_msg(fabs(mean) < 4 * 0.01 / sqrt(C), "mean %g", mean);
    ck_assert_msg(fabs(sd - 0.01) < 0.0003, "sd %g", sd);
    for (int c = 0; c < C; c++)
        ck_assert(lt_param(l, "Offset")->value.data[c] == 1.0f);
    float first = v[0];
    mc_layer_destroy(l);
    mc_rng_seed(ctx, 42);
    l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    ck_assert(lt_param(l, "Scale")->value.data[0] == first);
    mc_layer_destroy(l);

    /* zeros, and a function that receives MATLAB's size of the parameter. */
    lt_size_probe probe = {.step = -2.0f};
    o = mc_groupnorm_default(1);
    o.scale_initializer.name = "zeros";
    o.offset_initializer.fn = lt_record_size;
    o.offset_initializer.user = &probe;
    l = make_layer(ctx, &o);
    mc_shape img = test_shape(4, 2, 3, 5, 5);
    lt_setup_same(l, &img);
    ck_assert_int_eq(probe.calls, 1);
    ck_assert_int_eq(probe.seen.ndim, 3);
    ck_assert_int_eq(probe.seen.dims[0], 1);
    ck_assert_int_eq(probe.seen.dims[1], 1);
    ck_assert_int_eq(probe.seen.dims[2], 3);
    ck_assert(lt_param(l, "Offset")->value.data[2] == -4.0f);
    ck_assert(lt_param(l, "Scale")->value.data[1] == 0.0f);
    lt_setup_same(l, &img); /* a second setup keeps the values: no re-initialization */
    ck_assert_int_eq(probe.calls, 1);
    mc_layer_destroy(l);
    l = make_layer(ctx, &o);
    mc_shape feat = test_shape(2, 2, 3);
    lt_setup_same(l, &feat);
    ck_assert_int_eq(probe.seen.ndim, 2);
    ck_assert_int_eq(probe.seen.dims[0], 3);
    ck_assert_int_eq(probe.seen.dims[1], 1);
    mc_layer_destroy(l);
    l = make_layer(ctx, &o);
    mc_shape vol = test_shape(5, 2, 3, 2, 2, 2);
    lt_setup_same(l, &vol);
    ck_assert_int_eq(probe.seen.ndim, 4);
    ck_assert_int_eq(probe.seen.dims[3], 3);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_explicit_values_win)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_size_probe probe = {.step = -2.0f};
    float scale[4] = {0.5f, 1.5f, -2.0f, 3.0f}, offset[4] = {1, 2, 3, 4};
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.scale = scale;
    o.scale_len = 4;
    o.offset = offset;
    o.offset_len = 4;
    o.scale_initializer.fn = lt_record_size;
    o.scale_initializer.user = &probe;
    o.offset_initializer.fn = lt_record_size;
    o.offset_initializer.user = &probe;
    mc_layer *l = make_layer(ctx, &o);
    scale[0] = 99.0f; /* the layer keeps its own copy */
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "          Scale: [1\xc3\x97"
                                       "1\xc3\x97"
                                       "4 single]\n"));
    mc_free(ctx, text);
    mc_shape s = test_shape(2, 3, 4);
    lt_setup_same(l, &s);
    ck_assert_int_eq(probe.calls, 0);
    const mc_param *sc = lt_param(l, "Scale"), *of = lt_param(l, "Offset");
    ck_assert(sc->value.data[0] == 0.5f && sc->value.data[2] == -2.0f);
    ck_assert(of->value.data[3] == 4.0f);
    ck_assert_int_eq(sc->size.ndim, 2); /* C x 1 for feature input */
    ck_assert_int_eq(sc->size.dims[0], 4);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    /* Feature input x = [1 3], one group: mean 2, variance 1, r = 1/sqrt(1 + 1e-5).
     * Scale [2 0.5], offset [1 -1]: y = [1 - 2r, 0.5r - 1].
     * With dy = [1 0]: dOffset = [1 0], dScale = [-r 0], and
     * dx = r * (g - mean(g) - xhat * mean(g .* xhat)) with g = scale .* dy = [2 0]:
     *    = r * [1 - r^2, r^2 - 1] = +-r * 1e-5 / (1 + 1e-5). */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_groupnorm_options o = mc_groupnorm_default(1);
    const float scale[2] = {2.0f, 0.5f}, offset[2] = {1.0f, -1.0f};
    o.scale = scale;
    o.scale_len = 2;
    o.offset = offset;
    o.offset_len = 2;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(2, 1, 2);
    lt_setup_same(l, &s);
    float x[2] = {1.0f, 3.0f}, y[2], dy[2] = {1.0f, 0.0f}, dx[2];
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    const double r = 1.0 / sqrt(1.0 + 1e-5);
    ck_assert_double_eq_tol(y[0], 1.0 - 2.0 * r, 1e-6);
    ck_assert_double_eq_tol(y[1], 0.5 * r - 1.0, 1e-6);
    lt_backward_data(l, x, &s, y, &s, dy, dx);
    ck_assert_double_eq_tol(lt_param(l, "Offset")->grad.data[0], 1.0, 1e-7);
    ck_assert_double_eq_tol(lt_param(l, "Offset")->grad.data[1], 0.0, 1e-7);
    ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[0], -r, 1e-6);
    ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[1], 0.0, 1e-7);
    const double dx0 = r * 1e-5 / (1.0 + 1e-5);
    ck_assert_double_eq_tol(dx[0], dx0, 1e-7);
    ck_assert_double_eq_tol(dx[1], -dx0, 1e-7);
    mc_layer_destroy(l);

    /* 2-D image, 4 channels in 2 groups, 1x2 pixels, scale 1, offset 0:
     * group 1 = [0 2 4 6] (mean 3, var 5), group 2 = [1 1 1 5] (mean 2, var 3). */
    o = mc_groupnorm_default(2);
    l = make_layer(ctx, &o);
    mc_shape img = test_shape(4, 1, 4, 1, 2);
    lt_setup_same(l, &img);
    float xi[8] = {0, 2, 4, 6, 1, 1, 1, 5}, yi[8];
    lt_forward_data(l, xi, &img, yi, &img, MC_MODE_INFERENCE);
    const double r1 = 1.0 / sqrt(5.0 + 1e-5), r2 = 1.0 / sqrt(3.0 + 1e-5);
    const double want[8] = {-3 * r1, -1 * r1, 1 * r1, 3 * r1, -r2, -r2, -r2, 3 * r2};
    for (int i = 0; i < 8; i++)
        ck_assert_double_eq_tol(yi[i], want[i], 1e-6);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Layer normalization (all channels together) and instance normalization (each channel
 * alone), computed here without the notion of groups. */
static void layer_norm_ref(const float *x, double *y, int N, int C, size_t S, double eps)
{
    const size_t m = (size_t)C * S;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * m;
        double mean = 0, var = 0;
        for (size_t i = 0; i < m; i++)
            mean += xn[i];
        mean /= (double)m;
        for (size_t i = 0; i < m; i++)
            var += (xn[i] - mean) * (xn[i] - mean);
        var /= (double)m;
        for (size_t i = 0; i < m; i++)
            y[(size_t)n * m + i] = (xn[i] - mean) / sqrt(var + eps);
    }
}

static void instance_norm_ref(const float *x, double *y, int N, int C, size_t S, double eps)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        layer_norm_ref(x + nc * S, y + nc * S, 1, 1, S, eps);
}

START_TEST(test_layer_and_instance_norm)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {7};
    const int N = 3, C = 6;
    const size_t S = 10;
    mc_shape s = test_shape(3, N, C, (int)S);
    const size_t n = (size_t)N * C * S;
    float *x = test_floats(n), *y = test_floats(n);
    double *ref = test_doubles(n);
    test_fill_normal(&r, x, n, 1.5, 2.0);
    const struct {
        mc_groups_mode mode;
        int groups;
        int instance;
    } cases[] = {
        {MC_GROUPS_ALL_CHANNELS, 0, 0},
        {MC_GROUPS_COUNT, 1, 0},
        {MC_GROUPS_CHANNEL_WISE, 0, 1},
        {MC_GROUPS_COUNT, C, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_groupnorm_options o = mc_groupnorm_default(cases[k].groups);
        o.groups_mode = cases[k].mode;
        mc_layer *l = make_layer(ctx, &o);
        lt_setup_same(l, &s);
        ck_assert_int_eq(mc_groupnorm_num_groups(l), cases[k].instance ? C : 1);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        if (cases[k].instance)
            instance_norm_ref(x, ref, N, C, S, 1e-5);
        else
            layer_norm_ref(x, ref, N, C, S, 1e-5);
        size_t at;
        double err = test_max_abs_diff(y, ref, n, &at);
        ck_assert_msg(err < 2e-6, "case %zu: |y - ref| = %g at %zu", k, err, at);
        mc_layer_destroy(l);
    }
    free(x);
    free(y);
    free(ref);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* Adding a constant to every value of a group leaves that group's output unchanged; scaling
 * them by k > 0 changes it only through Epsilon: xhat becomes xhat * k sqrt(v + eps) /
 * sqrt(k^2 v + eps), with v the group's variance. */
START_TEST(test_shift_and_scale_invariance)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {11};
    const int N = 2, C = 8, G = 4;
    mc_shape s = test_shape(4, N, C, 3, 4);
    const size_t n = mc_shape_numel(&s), per_group = 2 * 12;
    const size_t groups[2] = {1 * per_group, (size_t)C * 12 + 3 * per_group}; /* (0,1), (1,3) */
    float *x = test_floats(n), *x2 = test_floats(n), *y = test_floats(n), *y2 = test_floats(n);
    double *ref = test_doubles(n);
    test_fill_normal(&r, x, n, 0.0, 1.0);
    mc_groupnorm_options o = mc_groupnorm_default(G);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    float scale[8], offset[8];
    test_fill_normal(&r, scale, 8, 1.0, 0.5);
    test_fill_normal(&r, offset, 8, 0.0, 0.5);
    lt_set_param(l, "Scale", scale);
    lt_set_param(l, "Offset", offset);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    const struct {
        double shift, factor, tol;
    } cases[] = {{10.0, 1.0, 5e-6},
                 {-1000.0, 1.0, 2e-4},
                 {0.0, 3.0, 2e-6},
                 {0.0, 1e-2, 2e-5},
                 {5.0, 7.0, 1e-5}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(x2, x, n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            ref[i] = y[i];
        for (int gi = 0; gi < 2; gi++) {
            const size_t b = groups[gi];
            double mean = 0, v = 0;
            for (size_t i = 0; i < per_group; i++)
                mean += x[b + i] / (double)per_group;
            for (size_t i = 0; i < per_group; i++)
                v += (x[b + i] - mean) * (x[b + i] - mean) / (double)per_group;
            const double kf = cases[k].factor, eps = 1e-5;
            const double f = kf * sqrt(v + eps) / sqrt(kf * kf * v + eps);
            for (size_t i = 0; i < per_group; i++) {
                const int c = (int)(((b + i) / 12) % (size_t)C);
                x2[b + i] = (float)(x[b + i] * kf + cases[k].shift);
                ref[b + i] = offset[c] + ((double)y[b + i] - offset[c]) * f;
            }
        }
        lt_forward_data(l, x2, &s, y2, &s, MC_MODE_TRAINING);
        size_t at;
        double err = test_max_abs_diff(y2, ref, n, &at);
        ck_assert_msg(err < cases[k].tol, "shift %g factor %g: |y - expected| = %g at %zu",
                      cases[k].shift, cases[k].factor, err, at);
    }
    /* ...while the transformed groups' inputs did change, so the check can fail. */
    ck_assert(x2[per_group] != x[per_group]);
    free(x);
    free(x2);
    free(y);
    free(y2);
    free(ref);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* 1e4 + 0.01 * noise normalizes to variance var / (var + eps), i.e. unit variance up to
 * Epsilon's share (the one-pass E[x^2] - E[x]^2 form returns variance 0 here). */
START_TEST(test_large_offset)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {3};
    const int N = 2, C = 4, G = 2;
    mc_shape s = test_shape(4, N, C, 8, 8);
    const size_t n = mc_shape_numel(&s), m = n / ((size_t)N * G);
    for (int pass = 0; pass < 2; pass++) {
        const double eps = pass == 0 ? 1e-5 : 1e-8 + 1e-5; /* the default, and just above */
        float *x = test_floats(n), *y = test_floats(n);
        test_fill_normal(&r, x, n, 1e4, 0.01);
        mc_groupnorm_options o = mc_groupnorm_default(G);
        o.epsilon = eps;
        mc_layer *l = make_layer(ctx, &o);
        lt_setup_same(l, &s);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        for (size_t g = 0; g < (size_t)N * G; g++) {
            double mx = 0, vx = 0, my = 0, vy = 0;
            for (size_t i = 0; i < m; i++) {
                mx += x[g * m + i];
                my += y[g * m + i];
            }
            mx /= (double)m;
            my /= (double)m;
            for (size_t i = 0; i < m; i++) {
                vx += (x[g * m + i] - mx) * (x[g * m + i] - mx) / (double)m;
                vy += (y[g * m + i] - my) * (y[g * m + i] - my) / (double)m;
            }
            ck_assert_msg(vx > 5e-5, "the input's spread survived float rounding: %g", vx);
            const double want = vx / (vx + eps);
            ck_assert_msg(fabs(vy - want) < 1e-4 * want, "group %zu: var(y) %.9g, want %.9g", g, vy,
                          want);
            ck_assert_msg(fabs(my) < 1e-5, "group %zu: mean(y) %g", g, my);
        }
        free(x);
        free(y);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* A group whose values are all equal: y = Offset exactly, every gradient finite. */
START_TEST(test_constant_group)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {5};
    mc_shape s = test_shape(4, 1, 4, 3, 3);
    const size_t n = 36;
    float x[36], y[36], dy[36], dx[36];
    test_fill_normal(&r, x, n, 0.0, 1.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    for (size_t i = 0; i < 18; i++)
        x[i] = 1234.5f; /* group 1: channels 1 and 2 */
    const float scale[4] = {2, -3, 0.5f, 1}, offset[4] = {0.25f, -0.75f, 1.5f, 2};
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.scale = scale;
    o.scale_len = 4;
    o.offset = offset;
    o.offset_len = 4;
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    for (size_t i = 0; i < 18; i++)
        ck_assert_msg(y[i] == offset[i / 9], "y[%zu] = %.9g, want %.9g", i, y[i], offset[i / 9]);
    lt_backward_data(l, x, &s, y, &s, dy, dx);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isfinite(dx[i]), "dx[%zu] = %g", i, dx[i]);
    for (int c = 0; c < 4; c++) {
        ck_assert(isfinite(lt_param(l, "Scale")->grad.data[c]));
        ck_assert(isfinite(lt_param(l, "Offset")->grad.data[c]));
    }
    ck_assert(lt_param(l, "Scale")->grad.data[0] == 0.0f); /* xhat is 0 there */
    /* With x constant, dx = r * (g - mean(g)), g = scale .* dy. */
    const double rr = 1.0 / sqrt(1e-5);
    double mean_g = 0;
    for (size_t i = 0; i < 18; i++)
        mean_g += scale[i / 9] * dy[i] / 18.0;
    for (size_t i = 0; i < 18; i++)
        ck_assert_double_eq_tol(dx[i], rr * (scale[i / 9] * dy[i] - mean_g), 1e-3);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Groups of at most 16 elements take a path that computes four groups at a time where the CPU
 * has AVX2 and one at a time for the rest: a group gives the same bits either way. Feature
 * input, 5 groups of 8 channels: group 4 (computed alone) holds group 0's values, and so do
 * the gradients; the large offset makes the float-pair mean matter. */
START_TEST(test_small_groups_paths_agree)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {17};
    enum { N = 3, C = 40, G = 5, CG = 8 };
    mc_shape s = test_shape(2, N, C);
    float x[N * C], y[N * C], dy[N * C], dx[N * C];
    test_fill_normal(&r, x, N * C, 1e3, 2.0);
    test_fill_normal(&r, dy, N * C, 0.0, 1.0);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < CG; k++) {
            x[n * C + 4 * CG + k] = x[n * C + k];
            dy[n * C + 4 * CG + k] = dy[n * C + k];
        }
    mc_groupnorm_options o = mc_groupnorm_default(G);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, dy, dx);
    for (int n = 0; n < N; n++) {
        ck_assert_mem_eq(y + n * C + 4 * CG, y + n * C, CG * sizeof(float));
        ck_assert_mem_eq(dx + n * C + 4 * CG, dx + n * C, CG * sizeof(float));
    }
    const float *ds = lt_param(l, "Scale")->grad.data, *doff = lt_param(l, "Offset")->grad.data;
    ck_assert_mem_eq(ds + 4 * CG, ds, CG * sizeof(float));
    ck_assert_mem_eq(doff + 4 * CG, doff, CG * sizeof(float));
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The kernels exist as AVX-512, AVX2 and portable C (src/simd.c), chosen at run time; all
 * three sum the same lanes in the same order, so each gives the same bits (on a CPU without
 * AVX-512 or AVX2 the comparison is with what it has). Odd sizes exercise the masked tails and
 * unaligned rows; the first two, feature input in groups of 8 channels, the 4-group backward
 * (and a remainder of 2 groups); the next two the fused loops (a task of several groups writes
 * one group's output while summing the next, rows ending inside a vector); the last two shapes,
 * over 16 MB, the non-temporal stores, in the fused loops (which stream only to aligned groups:
 * S a multiple of 16) and in the others. */
static float *aligned_floats(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(test_isa_versions_identical)
{
    static const int shapes[][5] = {
        {20, 48, 1, 1, 6},     {17, 256, 1, 1, 32},  {20, 8, 5, 7, 4}, {17, 6, 3, 11, 2},
        {2, 6, 5, 7, 3},       {3, 4, 1, 1, 2},      {2, 8, 9, 9, 4},  {1, 4, 33, 33, 2},
        {5, 64, 115, 115, 32}, {6, 64, 112, 112, 32}};
    static const char *const isas[] = {"portable", "avx2", "avx512"};
    const char *env = getenv("MINICNN_MAX_ISA");
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {23};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int *d = shapes[k], C = d[1];
        mc_shape s = test_shape(4, d[0], C, d[2], d[3]);
        const size_t n = mc_shape_numel(&s);
        float *x = test_floats(n), *dy = test_floats(n), *scale = test_floats((size_t)C),
              *offset = test_floats((size_t)C), *y[3], *dx[3], *dscale[3], *doffset[3];
        test_fill_normal(&r, x, n, 1e3, 2.0);
        test_fill_normal(&r, dy, n, 0.0, 1.0);
        test_fill_normal(&r, scale, (size_t)C, 1.0, 0.5);
        test_fill_normal(&r, offset, (size_t)C, 0.0, 0.5);
        mc_groupnorm_options o = mc_groupnorm_default(d[4]);
        o.scale = scale;
        o.scale_len = (size_t)C;
        o.offset = offset;
        o.offset_len = (size_t)C;
        for (int v = 0; v < 3; v++) {
            ck_assert_int_eq(mc_set_max_isa(ctx, isas[v]), MC_OK);
            mc_layer *l = make_layer(ctx, &o);
            lt_setup_same(l, &s);
            y[v] = aligned_floats(n);
            dx[v] = aligned_floats(n);
            lt_forward_data(l, x, &s, y[v], &s, MC_MODE_TRAINING);
            lt_backward_data(l, x, &s, y[v], &s, dy, dx[v]);
            dscale[v] = test_floats((size_t)C);
            doffset[v] = test_floats((size_t)C);
            memcpy(dscale[v], lt_param(l, "Scale")->grad.data, (size_t)C * sizeof(float));
            memcpy(doffset[v], lt_param(l, "Offset")->grad.data, (size_t)C * sizeof(float));
            mc_layer_destroy(l);
        }
        for (int v = 1; v < 3; v++) {
            ck_assert_msg(memcmp(y[v], y[0], n * sizeof(float)) == 0, "shape %zu: y %s", k,
                          isas[v]);
            ck_assert_msg(memcmp(dx[v], dx[0], n * sizeof(float)) == 0, "shape %zu: dx %s", k,
                          isas[v]);
            ck_assert_msg(memcmp(dscale[v], dscale[0], (size_t)C * sizeof(float)) == 0,
                          "shape %zu: dScale %s", k, isas[v]);
            ck_assert_msg(memcmp(doffset[v], doffset[0], (size_t)C * sizeof(float)) == 0,
                          "shape %zu: dOffset %s", k, isas[v]);
        }
        for (int v = 0; v < 3; v++) {
            free(y[v]);
            free(dx[v]);
            free(dscale[v]);
            free(doffset[v]);
        }
        free(x);
        free(dy);
        free(scale);
        free(offset);
    }
    /* Back to what the suite runs with. */
    ck_assert_int_eq(mc_set_max_isa(ctx, env != NULL && *env != '\0' ? env : "avx512"), MC_OK);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_modes_agree)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {9};
    mc_shape s = test_shape(4, 3, 4, 2, 5);
    float x[120], y1[120], y2[120];
    test_fill_normal(&r, x, 120, 2.0, 3.0);
    mc_groupnorm_options o = mc_groupnorm_default(2);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y1, &s, MC_MODE_TRAINING);
    lt_forward_data(l, x, &s, y2, &s, MC_MODE_INFERENCE);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Fixtures from PyTorch -------------------------------------------------------------- */

typedef struct torch_case {
    char name[64];
    char groups[32];
    mc_shape shape;
    double eps;
    size_t n, C;
    double *v[8]; /* x scale offset dy y dx dscale doffset */
} torch_case;

static const char *const case_keys[8] = {"x", "scale", "offset", "dy",
                                         "y", "dx",    "dscale", "doffset"};

/* The next line of the text at *p (terminated in place), or NULL at the end. */
static char *next_line(char **p)
{
    char *s = *p;
    if (*s == '\0')
        return NULL;
    char *e = strchr(s, '\n');
    if (e != NULL) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* Parses the next case of the fixture text at *p; returns 0 at the end. */
static int next_case(char **p, torch_case *tc)
{
    memset(tc, 0, sizeof *tc);
    char *line;
    int have = 0;
    while ((line = next_line(p)) != NULL) {
        if (line[0] == '#')
            continue;
        char key[32];
        int used = 0;
        ck_assert_int_eq(sscanf(line, "%31s%n", key, &used), 1);
        char *rest = line + used;
        if (strcmp(key, "case") == 0) {
            ck_assert_int_eq(sscanf(rest, "%63s", tc->name), 1);
            have = 1;
        } else if (strcmp(key, "shape") == 0) {
            int k = 0, nd = (int)strtol(rest, &rest, 10);
            ck_assert(nd >= 2 && nd <= 5);
            int dims[5];
            for (k = 0; k < nd; k++)
                dims[k] = (int)strtol(rest, &rest, 10);
            tc->shape = mc_shape_make(nd, dims);
            tc->n = mc_shape_numel(&tc->shape);
            tc->C = (size_t)dims[1];
        } else if (strcmp(key, "groups") == 0) {
            ck_assert_int_eq(sscanf(rest, "%31s", tc->groups), 1);
        } else if (strcmp(key, "eps") == 0) {
            tc->eps = strtod(rest, NULL);
        } else if (strcmp(key, "end") == 0) {
            ck_assert(have);
            for (int k = 0; k < 8; k++)
                ck_assert_msg(tc->v[k] != NULL, "%s lacks %s", tc->name, case_keys[k]);
            return 1;
        } else {
            int k = 0;
            while (k < 8 && strcmp(key, case_keys[k]) != 0)
                k++;
            ck_assert_msg(k < 8, "unknown key %s", key);
            size_t count = (k == 1 || k == 2 || k >= 6) ? tc->C : tc->n;
            tc->v[k] = test_doubles(count);
            for (size_t i = 0; i < count; i++) {
                char *end;
                tc->v[k][i] = strtod(rest, &end);
                ck_assert_msg(end != rest, "%s: %s has fewer than %zu values", tc->name, key,
                              count);
                rest = end;
            }
        }
    }
    ck_assert(!have);
    return 0;
}

static float *to_floats(const double *v, size_t n)
{
    float *f = test_floats(n);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)v[i];
    return f;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* ||got - want|| / ||want|| in the 2-norm. */
static double normwise(const float *got, const double *want, size_t n)
{
    double e = 0.0, w = 0.0;
    for (size_t i = 0; i < n; i++) {
        e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        w += want[i] * want[i];
    }
    return w > 0.0 ? sqrt(e / w) : sqrt(e);
}

START_TEST(test_torch_fixtures)
{
    char *text = test_read_fixture("groupnorm_torch.txt");
    ck_assert_msg(text != NULL, "tests/fixtures/groupnorm_torch.txt is missing");
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    char *p = text;
    int cases = 0;
    torch_case tc;
    while (next_case(&p, &tc)) {
        mc_groupnorm_options o = mc_groupnorm_default(0);
        ck_assert_int_eq(mc_groupnorm_parse_groups(ctx, tc.groups, &o.groups_mode, &o.num_groups),
                         MC_OK);
        o.epsilon = tc.eps;
        float *scale = to_floats(tc.v[1], tc.C), *offset = to_floats(tc.v[2], tc.C);
        o.scale = scale;
        o.scale_len = tc.C;
        o.offset = offset;
        o.offset_len = tc.C;
        mc_layer *l = make_layer(ctx, &o);
        lt_setup_same(l, &tc.shape);
        float *x = to_floats(tc.v[0], tc.n), *dy = to_floats(tc.v[3], tc.n);
        float *y = test_floats(tc.n), *dx = test_floats(tc.n);
        lt_forward_data(l, x, &tc.shape, y, &tc.shape, MC_MODE_TRAINING);
        lt_backward_data(l, x, &tc.shape, y, &tc.shape, dy, dx);
        const float *got[4] = {y, dx, lt_param(l, "Scale")->grad.data,
                               lt_param(l, "Offset")->grad.data};
        for (int k = 0; k < 4; k++) {
            size_t count = k < 2 ? tc.n : tc.C, at;
            const double *want = tc.v[4 + k];
            /* float32 rounding of values of this magnitude, with room for sums */
            double tol = 2e-6 * fmax(1.0, max_abs(want, count)) * (k >= 2 ? 10.0 : 1.0);
            double err = test_max_abs_diff(got[k], want, count, &at);
            ck_assert_msg(err <= tol, "%s: %s differs from PyTorch by %g at %zu (%.9g vs %.9g)",
                          tc.name, case_keys[4 + k], err, at, (double)got[k][at], want[at]);
            /* and within 1e-5 normwise, also where the values are small (groups of two) */
            const double e = normwise(got[k], want, count);
            ck_assert_msg(e <= 1e-5, "%s: %s differs from PyTorch by %.3g normwise", tc.name,
                          case_keys[4 + k], e);
        }
        free(scale);
        free(offset);
        free(x);
        free(dy);
        free(y);
        free(dx);
        for (int k = 0; k < 8; k++)
            free(tc.v[k]);
        mc_layer_destroy(l);
        cases++;
    }
    ck_assert_int_eq(cases, 10);
    free(text);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Precision at every group size ----------------------------------------------------- */

/* The closed-form backward in double: r = 1/sqrt(var + eps), xh = (x - mean) r,
 * dx = r (g dy - mean(g dy) - xh mean(g dy xh)), dScale = sum dy xh, dOffset = sum dy.
 * x, dy, dx: (N, C, S); scale, dscale, doffset: (C). */
static void oracle_backward(const float *x, const float *dy, const float *scale, int N, int C,
                            size_t S, int G, double eps, double *y, double *dx, double *dscale,
                            double *doffset)
{
    const int per = C / G;
    const double m = (double)per * (double)S;
    for (int c = 0; c < C; c++)
        dscale[c] = doffset[c] = 0.0;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < G; g++) {
            const size_t base = ((size_t)n * C + (size_t)g * per) * S, len = (size_t)per * S;
            double mean = 0.0, var = 0.0, sg = 0.0, sgx = 0.0;
            for (size_t i = 0; i < len; i++)
                mean += x[base + i];
            mean /= m;
            for (size_t i = 0; i < len; i++)
                var += (x[base + i] - mean) * (x[base + i] - mean);
            const double r = 1.0 / sqrt(var / m + eps);
            for (size_t i = 0; i < len; i++) {
                const int c = g * per + (int)(i / S);
                const double xh = (x[base + i] - mean) * r, gd = (double)scale[c] * dy[base + i];
                sg += gd;
                sgx += gd * xh;
                y[base + i] = scale[c] * xh;
                dscale[c] += (double)dy[base + i] * xh;
                doffset[c] += dy[base + i];
            }
            for (size_t i = 0; i < len; i++) {
                const int c = g * per + (int)(i / S);
                const double xh = (x[base + i] - mean) * r;
                dx[base + i] = r * ((double)scale[c] * dy[base + i] - sg / m - xh * sgx / m);
            }
        }
}

/* Groups of very few values lose dx to cancellation in float (with two values per group, the
 * exact dx is only the Epsilon term, a small remainder of the terms it is computed from). Every
 * output stays within 1e-5 of the double-precision closed form, normwise, for every group size:
 * feature input, 1x1 and small maps, groups of 2 to 40 values, offsets small and large. */
START_TEST(test_precision_every_group_size)
{
    static const int shapes[][5] = {
        /* ndim, C, H, W, G */
        {2, 4, 1, 1, 2},   {2, 6, 1, 1, 3},   {2, 16, 1, 1, 8}, {2, 12, 1, 1, 4},
        {2, 40, 1, 1, 5},  {2, 64, 1, 1, 32}, {4, 8, 1, 1, 4},  {4, 6, 1, 1, 2},
        {4, 4, 1, 2, 4},   {4, 3, 1, 3, 3},   {4, 8, 2, 1, 4},  {4, 16, 1, 1, 16},
        {4, 32, 2, 2, 16}, {4, 4, 3, 3, 2},   {4, 64, 1, 1, 8}, {4, 4, 2, 2, 4},
    };
    static const double centres[] = {0.0, 3.0, 1e3};
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {2024};
    double worst = 0.0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (size_t ci = 0; ci < sizeof centres / sizeof centres[0]; ci++) {
            const int *d = shapes[k], N = 7, C = d[1];
            mc_shape s = d[0] == 2 ? test_shape(2, N, C) : test_shape(4, N, C, d[2], d[3]);
            const size_t n = mc_shape_numel(&s), S = lt_positions(&s);
            float *x = test_floats(n), *y = test_floats(n), *dy = test_floats(n),
                  *dx = test_floats(n), *scale = test_floats((size_t)C);
            double *yr = test_doubles(n), *dxr = test_doubles(n), *dsr = test_doubles((size_t)C),
                   *dor = test_doubles((size_t)C);
            test_fill_normal(&r, x, n, centres[ci], 1.0);
            test_fill_normal(&r, dy, n, 0.0, 1.0);
            test_fill_normal(&r, scale, (size_t)C, 1.0, 0.5);
            mc_groupnorm_options o = mc_groupnorm_default(d[4]);
            o.scale = scale;
            o.scale_len = (size_t)C;
            mc_layer *l = make_layer(ctx, &o);
            lt_setup_same(l, &s);
            lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
            lt_backward_data(l, x, &s, y, &s, dy, dx);
            oracle_backward(x, dy, scale, N, C, S, d[4], 1e-5, yr, dxr, dsr, dor);
            const double e[4] = {normwise(y, yr, n), normwise(dx, dxr, n),
                                 normwise(lt_param(l, "Scale")->grad.data, dsr, (size_t)C),
                                 normwise(lt_param(l, "Offset")->grad.data, dor, (size_t)C)};
            static const char *const what[4] = {"y", "dx", "dScale", "dOffset"};
            for (int q = 0; q < 4; q++) {
                worst = e[q] > worst ? e[q] : worst;
                ck_assert_msg(e[q] <= 1e-5,
                              "C %d, %dx%d, %d groups (%zu values each), mean %g: %s off by "
                              "%.3g normwise",
                              C, d[2], d[3], d[4], (size_t)(C / d[4]) * S, centres[ci], what[q],
                              e[q]);
            }
            mc_layer_destroy(l);
            free(x);
            free(y);
            free(dy);
            free(dx);
            free(scale);
            free(yr);
            free(dxr);
            free(dsr);
            free(dor);
        }
    fprintf(stderr, "groupnorm precision: worst normwise error %.3g\n", worst);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Gradients ------------------------------------------------------------------------ */

/* For every input kind and every way of choosing groups: the backward pass against central
 * differences of (1) the double-precision oracle, tightly, and (2) the layer's own float
 * forward pass. Scale and Offset are random, not ones and zeros. */
START_TEST(test_gradients)
{
    static const struct {
        int ndim;
        int dims[5];
    } kinds[] = {{2, {3, 6}}, {3, {2, 6, 4}}, {4, {2, 6, 3, 3}}, {5, {2, 4, 2, 2, 3}}};
    static const mc_groups_mode modes[] = {MC_GROUPS_COUNT, MC_GROUPS_ALL_CHANNELS,
                                           MC_GROUPS_CHANNEL_WISE};
    const int k = _i / 3, mi = _i % 3;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {100 + (uint64_t)_i};
    mc_shape s = mc_shape_make(kinds[k].ndim, kinds[k].dims);
    const int N = s.dims[0], C = s.dims[1];
    const size_t S = lt_positions(&s), n = mc_shape_numel(&s);
    mc_groupnorm_options o = mc_groupnorm_default(2);
    o.groups_mode = modes[mi];
    o.epsilon = 1e-4;
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    const int G = mc_groupnorm_num_groups(l);
    ck_assert_int_eq(G, modes[mi] == MC_GROUPS_COUNT          ? 2
                        : modes[mi] == MC_GROUPS_ALL_CHANNELS ? 1
                                                              : C);
    float *x = test_floats(n), *y = test_floats(n), *w = test_floats(n), *dx = test_floats(n);
    float scale[8], offset[8];
    test_fill_normal(&r, x, n, 0.5, 1.0);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    test_fill_normal(&r, scale, (size_t)C, 1.0, 0.5);
    test_fill_normal(&r, offset, (size_t)C, 0.0, 0.5);
    lt_set_param(l, "Scale", scale);
    lt_set_param(l, "Offset", offset);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);

    lt_norm_problem pr =
        lt_norm_problem_make(problem_forward, N, C, G, S, 1e-4, x, w, scale, offset);
    const double h = 1e-6, atol = 2e-5, rtol = 1e-4;
    for (size_t i = 0; i < n; i++) {
        double num = lt_norm_derivative(&pr, &pr.x[i], h);
        ck_assert_msg(fabs(dx[i] - num) <= atol + rtol * fabs(num),
                      "kind %d mode %d: dx[%zu] = %.9g, oracle %.9g", k, mi, i, dx[i], num);
    }
    for (int c = 0; c < C; c++) {
        double ds = lt_norm_derivative(&pr, &pr.scale[c], h);
        double db = lt_norm_derivative(&pr, &pr.offset[c], h);
        double gs = lt_param(l, "Scale")->grad.data[c], gb = lt_param(l, "Offset")->grad.data[c];
        ck_assert_msg(fabs(gs - ds) <= atol + rtol * fabs(ds), "dScale[%d] = %.9g, oracle %.9g", c,
                      gs, ds);
        ck_assert_msg(fabs(gb - db) <= atol + rtol * fabs(db), "dOffset[%d] = %.9g, oracle %.9g", c,
                      gb, db);
    }

    mc_tensor in = mc_tensor_view(x, &s);
    gradcheck_expect(l, &in, 1, 1e-2, 2e-3, 1e-2, (int)n + 2 * C, "kind %d mode %d", k, mi);

    free(x);
    free(y);
    free(w);
    free(dx);
    lt_norm_problem_free(&pr);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The large-offset case keeps accurate gradients too. */
START_TEST(test_gradients_large_offset)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {77};
    mc_shape s = test_shape(3, 2, 4, 6);
    const size_t n = 48;
    float x[48], y[48], w[48], dx[48];
    test_fill_normal(&r, x, n, 1e4, 0.01);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    mc_groupnorm_options o = mc_groupnorm_default(2);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);
    lt_norm_problem pr = lt_norm_problem_make(problem_forward, 2, 4, 2, 6, 1e-5, x, w, NULL, NULL);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        double num = lt_norm_derivative(&pr, &pr.x[i], 1e-7);
        worst = fmax(worst, fabs(dx[i] - num));
        largest = fmax(largest, fabs(num));
    }
    ck_assert_msg(largest > 10.0, "gradients of order 1/sd expected, got %g", largest);
    ck_assert_msg(worst <= 1e-3 * largest, "dx off by %g (largest %g)", worst, largest);
    for (int c = 0; c < 4; c++) {
        double ds = lt_norm_derivative(&pr, &pr.scale[c], 1e-6);
        ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[c], ds, 1e-4 + 1e-4 * fabs(ds));
    }
    lt_norm_problem_free(&pr);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Parameter gradients accumulate (+=) across backward passes; the input gradient is written
 * (=), whatever the array held before. Skipping dx leaves parameter gradients the same. */
START_TEST(test_accumulation_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {13};
    mc_shape s = test_shape(4, 2, 4, 3, 3);
    const size_t n = 72;
    float x[72], y[72], dy[72], dx[72];
    test_fill_normal(&r, x, n, 0.0, 1.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    mc_groupnorm_options o = mc_groupnorm_default(2);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    ck_assert_int_eq(mc_layer_num_params(l), 2); /* Offset and Scale, 4 values each */
    lt_expect_grads_accumulate(l, x, &s, y, &s, dy, dx);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

/* Fails the k-th allocation of create + setup + describe for every k until all succeed:
 * each failure is MC_ERR_NOMEM with a message, and nothing leaks. */
START_TEST(test_allocation_failures)
{
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const mc_shape s = test_shape(4, 4, 6, 5, 5);
    for (int with_values = 0; with_values < 2; with_values++) {
        mc_groupnorm_options o = mc_groupnorm_default(3);
        o.name = "gn1";
        o.scale_initializer.name = "narrow-normal";
        if (with_values) {
            o.scale = v;
            o.scale_len = 6;
            o.offset = v;
            o.offset_len = 6;
        }
        const lt_alloc_case c = {
            .create = create, .opts = &o, .setups = &s, .n_setups = 1, .min_allocs = 5};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *groupnorm_suite(void)
{
    Suite *s = suite_create("groupnorm");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display_reference_example);
    tcase_add_test(tc, test_display_after_setup);
    tcase_add_test(tc, test_display_all_properties);
    tcase_add_test(tc, test_parse_groups);
    tcase_add_test(tc, test_initializers);
    tcase_add_test(tc, test_explicit_values_win);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_groups_must_divide_channels);
    tcase_add_test(tc, test_groups_must_be_positive);
    tcase_add_test(tc, test_epsilon_validation);
    tcase_add_test(tc, test_factor_validation);
    tcase_add_test(tc, test_initializer_validation);
    tcase_add_test(tc, test_channel_validation);
    tcase_add_test(tc, test_input_shape_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_layer_and_instance_norm);
    tcase_add_test(tc, test_shift_and_scale_invariance);
    tcase_add_test(tc, test_large_offset);
    tcase_add_test(tc, test_constant_group);
    tcase_add_test(tc, test_modes_agree);
    tcase_add_test(tc, test_small_groups_paths_agree);
    tcase_add_test(tc, test_isa_versions_identical);
    tcase_add_test(tc, test_torch_fixtures);
    tcase_add_test(tc, test_precision_every_group_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gradients, 0, 12);
    tcase_add_test(tc, test_gradients_large_offset);
    tcase_add_test(tc, test_accumulation_contract);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(groupnorm_suite());
}
