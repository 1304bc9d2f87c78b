/* SPDX-License-Identifier: MIT */
/* batchNormalizationLayer: options, validation, display, values, running statistics,
 * gradients, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/batchnorm.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

/* x, y: (N, C, S); scale, offset: (C). Textbook form: every element looks up its channel;
 * training mode uses the batch's mean and biased variance. */
static void oracle_forward(const double *x, double *y, const double *scale, const double *offset,
                           int N, int C, size_t S, double eps)
{
    const size_t n = (size_t)N * (size_t)C * S;
    for (int c = 0; c < C; c++) {
        double sum = 0.0, count = 0.0;
        for (size_t i = 0; i < n; i++)
            if ((int)(i / S % (size_t)C) == c) {
                sum += x[i];
                count += 1.0;
            }
        const double mean = sum / count;
        double var = 0.0;
        for (size_t i = 0; i < n; i++)
            if ((int)(i / S % (size_t)C) == c)
                var += (x[i] - mean) * (x[i] - mean) / count;
        for (size_t i = 0; i < n; i++)
            if ((int)(i / S % (size_t)C) == c)
                y[i] = scale[c] * (x[i] - mean) / sqrt(var + eps) + offset[c];
    }
}

/* The oracle on a problem of batch normalization (training mode). */
static void problem_forward(const lt_norm_problem *p, double *y)
{
    oracle_forward(p->x, y, p->scale, p->offset, p->N, p->C, p->S, p->eps);
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_batchnorm_create(ctx, opts, out);
}

static mc_layer *make_layer(mc_ctx *ctx, const mc_batchnorm_options *o)
{
    return lt_make(ctx, create, o);
}

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_batchnorm_options o = mc_batchnorm_default();
    ck_assert(o.epsilon == 1e-5);
    ck_assert(o.mean_decay == 0.1 && o.variance_decay == 0.1);
    ck_assert_int_eq(o.num_channels, 0);
    ck_assert_ptr_null(o.name);
    ck_assert_ptr_null(o.scale_initializer.name);
    ck_assert(o.offset_initializer.fn == NULL);
    ck_assert_ptr_null(o.scale);
    ck_assert_ptr_null(o.trained_mean);
    ck_assert_ptr_null(o.trained_variance);
    ck_assert(o.scale_learn_rate_factor == 1.0 && o.offset_learn_rate_factor == 1.0);
    ck_assert(o.scale_l2_factor == 1.0 && o.offset_l2_factor == 1.0);
    o.scale_learn_rate_factor = 2.0;
    o.offset_learn_rate_factor = 0.0;
    o.scale_l2_factor = 0.5;
    o.offset_l2_factor = 3.0;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_identity(l, "batchNormalizationLayer", "BatchNormalizationLayer",
                       "Batch Normalization", "batchnorm", MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_int_eq(mc_layer_num_params(l), 2);
    mc_param *off = mc_layer_param(l, 0), *sc = mc_layer_param(l, 1);
    ck_assert_str_eq(off->name, "Offset");
    ck_assert_str_eq(sc->name, "Scale");
    ck_assert(sc->lr_factor == 2.0 && off->lr_factor == 0.0);
    ck_assert(sc->l2_factor == 0.5 && off->l2_factor == 3.0);
    ck_assert_ptr_null(sc->value.data);
    ck_assert_int_eq(mc_layer_num_buffers(l), 2);
    const char *name = NULL;
    mc_tensor *tm = mc_layer_buffer(l, 0, &name);
    ck_assert_str_eq(name, "TrainedMean");
    mc_tensor *tv = mc_layer_buffer(l, 1, &name);
    ck_assert_str_eq(name, "TrainedVariance");
    ck_assert_ptr_null(mc_layer_buffer(l, 2, &name));
    ck_assert_ptr_null(tm->data); /* empty until set up */
    ck_assert_ptr_null(tv->data);

    mc_shape s = test_shape(4, 2, 5, 3, 3);
    lt_setup_same(l, &s);
    ck_assert_int_eq(sc->size.ndim, 3);
    ck_assert_int_eq(sc->size.dims[2], 5);
    ck_assert_int_eq(sc->value.shape.ndim, 1);
    ck_assert_int_eq(tm->shape.ndim, 1); /* buffers are stored (C) as the learnables */
    ck_assert_int_eq(tm->shape.dims[0], 5);
    ck_assert_int_eq(tv->shape.dims[0], 5);
    for (int c = 0; c < 5; c++) {
        ck_assert(sc->value.data[c] == 1.0f && off->value.data[c] == 0.0f);
        ck_assert(sc->grad.data[c] == 0.0f && off->grad.data[c] == 0.0f);
        ck_assert(tm->data[c] == 0.0f && tv->data[c] == 1.0f);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display_default)
{
    /* layer = batchNormalizationLayer */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  BatchNormalizationLayer with properties:\n"
                       "\n"
                       "               Name: ''\n"
                       "        NumChannels: 'auto'\n"
                       "        TrainedMean: []\n"
                       "    TrainedVariance: []\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          MeanDecay: 0.1000\n"
                       "      VarianceDecay: 0.1000\n"
                       "            Epsilon: 1.0000e-05\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "             Offset: []\n"
                       "              Scale: []\n"
                       "\n"
                       "  Show all properties\n");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Batch normalization");
    mc_shape s = test_shape(4, 2, 20, 4, 4);
    lt_setup_same(l, &s);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Batch normalization with 20 channels");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* After setup the display shows NumChannels and MATLAB's sizes of the arrays. */
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
        mc_batchnorm_options o = mc_batchnorm_default();
        o.name = "bn1";
        o.epsilon = 0.001;
        o.mean_decay = 0.25;
        o.variance_decay = 1;
        mc_layer *l = make_layer(ctx, &o);
        mc_shape s = mc_shape_make(kinds[k].ndim, kinds[k].dims);
        lt_setup_same(l, &s);
        char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
        char want[800];
        snprintf(want, sizeof want,
                 "  BatchNormalizationLayer with properties:\n\n"
                 "               Name: 'bn1'\n"
                 "        NumChannels: 6\n"
                 "        TrainedMean: %s\n"
                 "    TrainedVariance: %s\n\n"
                 "   Hyperparameters\n"
                 "          MeanDecay: 0.2500\n"
                 "      VarianceDecay: 1\n"
                 "            Epsilon: 1.0000e-03\n\n"
                 "   Learnable Parameters\n"
                 "             Offset: %s\n"
                 "              Scale: %s\n\n"
                 "  Show all properties\n",
                 kinds[k].size, kinds[k].size, kinds[k].size, kinds[k].size);
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
    const float mean[3] = {1, 2, 3};
    mc_batchnorm_options o = mc_batchnorm_default();
    o.name = "bn";
    o.epsilon = 0.25;
    o.num_channels = 3;
    o.trained_mean = mean;
    o.trained_mean_len = 3;
    lt_ramp ramp = {0, 0.5f, 1.0f};
    o.scale_initializer.fn = lt_ramp_init;
    o.scale_initializer.user = &ramp;
    o.offset_initializer.name = "narrow-normal";
    o.scale_learn_rate_factor = 2;
    o.offset_learn_rate_factor = 0.5;
    o.scale_l2_factor = 0;
    o.offset_l2_factor = 1e-3;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  BatchNormalizationLayer with properties:\n\n"
                       "                     Name: 'bn'\n"
                       "                NumInputs: 1\n"
                       "               InputNames: {'in'}\n"
                       "               NumOutputs: 1\n"
                       "              OutputNames: {'out'}\n"
                       "              NumChannels: 3\n"
                       "              TrainedMean: [1\xc3\x97"
                       "1\xc3\x97"
                       "3 single]\n"
                       "          TrainedVariance: []\n\n"
                       "   Hyperparameters\n"
                       "                MeanDecay: 0.1000\n"
                       "            VarianceDecay: 0.1000\n"
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
    /* NumChannels given: the summary knows the channels before setup. */
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Batch normalization with 3 channels");
    mc_shape s = test_shape(2, 4, 3);
    lt_setup_same(l, &s);
    char *text = lt_describe(l, MC_DESCRIBE_ALL);
    ck_assert_ptr_nonnull(strstr(text, "              TrainedMean: [3\xc3\x97"
                                       "1 single]\n"
                                       "          TrainedVariance: [3\xc3\x97"
                                       "1 single]\n"));
    ck_assert_ptr_nonnull(strstr(text, "         ScaleInitializer: [function_handle]\n"
                                       "        OffsetInitializer: 'narrow-normal'\n"));
    mc_free(ctx, text);
    ck_assert(lt_param(l, "Scale")->value.data[2] == 2.5f);
    ck_assert(lt_buffer(l, "TrainedMean")->data[2] == 3.0f);
    ck_assert(lt_buffer(l, "TrainedVariance")->data[2] == 1.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

/* Creation must fail with `status` and a message containing `needle`. */
static void expect_create_error(const mc_batchnorm_options *o, mc_status status, const char *needle)
{
    lt_expect_create_error(create, o, status, needle, 0);
}

/* Setup for `shape` must fail with `status` and exactly `message`. */
static void expect_setup_error(const mc_batchnorm_options *o, mc_shape shape, mc_status status,
                               const char *message)
{
    lt_expect_setup_error_for(create, o, shape, status, message, 1);
}

START_TEST(test_epsilon_validation)
{
    double bad[] = {9.99e-6, 0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_batchnorm_options o = mc_batchnorm_default();
        o.name = "bn1";
        o.epsilon = bad[i];
        expect_create_error(&o, MC_ERR_INVALID,
                            "Layer 'bn1': Epsilon must be a finite number of at least 1e-05");
    }
    mc_batchnorm_options o = mc_batchnorm_default();
    o.epsilon = 1e-5; /* the boundary itself is allowed */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer_destroy(make_layer(ctx, &o));
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_decay_validation)
{
    double bad[] = {-1e-9, 1.0000001, -1.0, 2.0, NAN, INFINITY, -INFINITY};
    for (int which = 0; which < 2; which++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            mc_batchnorm_options o = mc_batchnorm_default();
            double *field = which == 0 ? &o.mean_decay : &o.variance_decay;
            *field = bad[i];
            char want[160];
            snprintf(want, sizeof want,
                     "batchNormalizationLayer (unnamed): %s must be a number from 0 to 1, not %g",
                     which == 0 ? "MeanDecay" : "VarianceDecay", bad[i]);
            expect_create_error(&o, MC_ERR_INVALID, want);
        }
    }
    /* Both ends are allowed. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_batchnorm_options o = mc_batchnorm_default();
    o.mean_decay = 0.0;
    o.variance_decay = 1.0;
    mc_layer_destroy(make_layer(ctx, &o));
    o.mean_decay = 1.0;
    o.variance_decay = 0.0;
    mc_layer_destroy(make_layer(ctx, &o));
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_factor_validation)
{
    static const char *names[] = {"ScaleLearnRateFactor", "OffsetLearnRateFactor", "ScaleL2Factor",
                                  "OffsetL2Factor"};
    double bad[] = {-1e-9, -2.0, NAN, INFINITY};
    for (int f = 0; f < 4; f++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            mc_batchnorm_options o = mc_batchnorm_default();
            o.name = "bn1";
            double *field[] = {&o.scale_learn_rate_factor, &o.offset_learn_rate_factor,
                               &o.scale_l2_factor, &o.offset_l2_factor};
            *field[f] = bad[i];
            char want[160];
            snprintf(want, sizeof want, "Layer 'bn1': %s must be a nonnegative finite number",
                     names[f]);
            expect_create_error(&o, MC_ERR_INVALID, want);
        }
    }
}
END_TEST

START_TEST(test_initializer_validation)
{
    mc_batchnorm_options o = mc_batchnorm_default();
    o.name = "bn1";
    o.scale_initializer.name = "narrow_normal";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'bn1': unknown ScaleInitializer 'narrow_normal' (did you mean "
                        "'narrow-normal'?); expected 'ones', 'zeros', 'narrow-normal' or a "
                        "function");
    o.scale_initializer.name = NULL;
    o.offset_initializer.name = "he";
    expect_create_error(&o, MC_ERR_INVALID, "Layer 'bn1': unknown OffsetInitializer 'he'");
    o.offset_initializer.name = "zeros";
    o.offset_initializer.fn = lt_ramp_init;
    expect_create_error(&o, MC_ERR_INVALID,
                        "OffsetInitializer is given both as the name 'zeros' and as a function");
    o = mc_batchnorm_default();
    o.name = "bn1";
    o.offset_initializer.fn = lt_fail_init;
    expect_setup_error(&o, test_shape(2, 3, 4), MC_ERR_CALLBACK,
                       "Layer 'bn1': the OffsetInitializer function failed: cannot fill 4 values");
}
END_TEST

START_TEST(test_channel_validation)
{
    mc_batchnorm_options o = mc_batchnorm_default();
    o.name = "bn1";
    o.num_channels = -3;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'bn1': NumChannels must be 'auto' (0) or a positive integer, "
                        "not -3");
    o.num_channels = 16;
    expect_setup_error(&o, test_shape(4, 2, 20, 5, 5), MC_ERR_SHAPE,
                       "Layer 'bn1': NumChannels is 16 but the input has 20 channels");

    /* Each explicit array against NumChannels, against the input, and against each other. */
    static const char *const names[4] = {"Scale", "Offset", "TrainedMean", "TrainedVariance"};
    const float v4[4] = {1, 2, 3, 4}, v5[5] = {1, 2, 3, 4, 5};
    for (int k = 0; k < 4; k++) {
        o = mc_batchnorm_default();
        o.name = "bn1";
        const float **field[4] = {&o.scale, &o.offset, &o.trained_mean, &o.trained_variance};
        size_t *len[4] = {&o.scale_len, &o.offset_len, &o.trained_mean_len,
                          &o.trained_variance_len};
        *field[k] = v4;
        *len[k] = 4;
        char want[200];
        snprintf(want, sizeof want, "Layer 'bn1': %s has 4 elements but the input has 6 channels",
                 names[k]);
        expect_setup_error(&o, test_shape(4, 2, 6, 5, 5), MC_ERR_SHAPE, want);
        o.num_channels = 6;
        snprintf(want, sizeof want,
                 "Layer 'bn1': the initial %s has 4 elements but NumChannels is 6", names[k]);
        expect_create_error(&o, MC_ERR_SHAPE, want);
        o.num_channels = 0;
        const int other = (k + 1) % 4;
        *field[other] = v5;
        *len[other] = 5;
        snprintf(want, sizeof want,
                 "Layer 'bn1': the initial %s has %d elements but the initial %s has %d",
                 names[k < other ? k : other], k < other ? 4 : 5, names[k < other ? other : k],
                 k < other ? 5 : 4);
        expect_create_error(&o, MC_ERR_SHAPE, want);
        *field[other] = NULL;
        const float bad[4] = {1, 2, INFINITY, 4};
        *field[k] = bad;
        snprintf(want, sizeof want,
                 "Layer 'bn1': the initial %s has the non-finite value inf at element 3", names[k]);
        expect_create_error(&o, MC_ERR_INVALID, want);
        *len[k] = 0;
        snprintf(want, sizeof want, "Layer 'bn1': the initial %s is given with 0 elements",
                 names[k]);
        expect_create_error(&o, MC_ERR_INVALID, want);
    }

    /* TrainedVariance must be positive. */
    const float zero[3] = {1, 0, 2}, neg[3] = {1, 2, -0.5f};
    o = mc_batchnorm_default();
    o.name = "bn1";
    o.trained_variance = zero;
    o.trained_variance_len = 3;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'bn1': the initial TrainedVariance must be positive, but element 2 "
                        "is 0");
    o.trained_variance = neg;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'bn1': the initial TrainedVariance must be positive, but element 3 "
                        "is -0.5");

    /* After 'auto' is resolved, the channel count is fixed. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    o = mc_batchnorm_default();
    o.name = "bn1";
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(2, 3, 4), s2 = test_shape(2, 3, 6), out;
    lt_setup_same(l, &s);
    ck_assert_int_eq(mc_layer_setup(l, &s2, 1, &out), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'bn1': NumChannels is 4 but the input has 6 channels");
    /* Another input kind with the same channels: buffers keep their values, sizes follow. */
    lt_buffer(l, "TrainedMean")->data[1] = 7.0f;
    mc_shape s3 = test_shape(4, 5, 4, 2, 2);
    lt_setup_same(l, &s3);
    ck_assert(lt_buffer(l, "TrainedMean")->data[1] == 7.0f);
    ck_assert_int_eq(lt_param(l, "Scale")->size.ndim, 3);
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "TrainedMean: [1\xc3\x97"
                                       "1\xc3\x97"
                                       "4 single]"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_state_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    float x[24] = {0}, y[24] = {0};
    mc_shape s = test_shape(3, 2, 3, 4);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "batchNormalizationLayer (unnamed): forward called before setup");
    mc_shape bad = test_shape(1, 4);
    ck_assert_int_eq(mc_layer_setup(l, &bad, 1, &s), MC_ERR_SHAPE);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    /* Feature input, N = 2, C = 2: channel 0 holds [1 3] (mean 2, variance 1), channel 1
     * holds [10 30] (mean 20, variance 100). Scale [2 0.5], Offset [1 -1]:
     *   y(:, 0) = 1 + 2 [-1 1] r0,  r0 = 1/sqrt(1 + 1e-5)
     *   y(:, 1) = -1 + 0.5 [-1 1] r1,  r1 = 1/sqrt(100 + 1e-5).
     * With dy(:, 0) = [1 0] and dy(:, 1) = [2 2]: dOffset = [1 4], dScale = [-r0 0];
     * channel 0: dx = 2 r0 (dy - mean(dy) - xhat mean(dy xhat)) = +-r0 (1 - r0^2), channel
     * 1: dy is constant, so dx = 0. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_batchnorm_options o = mc_batchnorm_default();
    const float scale[2] = {2.0f, 0.5f}, offset[2] = {1.0f, -1.0f};
    o.scale = scale;
    o.scale_len = 2;
    o.offset = offset;
    o.offset_len = 2;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(2, 2, 2);
    lt_setup_same(l, &s);
    float x[4] = {1, 10, 3, 30}, y[4], dy[4] = {1, 2, 0, 2}, dx[4];
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    const double r0 = 1.0 / sqrt(1.0 + 1e-5), r1 = 1.0 / sqrt(100.0 + 1e-5);
    const double want[4] = {1 - 2 * r0, -1 - 0.5 * 10 * r1, 1 + 2 * r0, -1 + 0.5 * 10 * r1};
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(y[i], want[i], 1e-6);
    lt_backward_data(l, x, &s, y, &s, dy, dx);
    ck_assert_double_eq_tol(lt_param(l, "Offset")->grad.data[0], 1.0, 1e-7);
    ck_assert_double_eq_tol(lt_param(l, "Offset")->grad.data[1], 4.0, 1e-7);
    ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[0], -r0, 1e-6);
    ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[1], 0.0, 1e-6);
    const double d0 = r0 * (1.0 - r0 * r0);
    ck_assert_double_eq_tol(dx[0], d0, 1e-9);
    ck_assert_double_eq_tol(dx[2], -d0, 1e-9);
    ck_assert_double_eq_tol(dx[1], 0.0, 1e-7);
    ck_assert_double_eq_tol(dx[3], 0.0, 1e-7);
    /* The running statistics after one step from 0 and 1 (m = 2, unbiased factor 2). */
    const float *tm = lt_buffer(l, "TrainedMean")->data;
    const float *tv = lt_buffer(l, "TrainedVariance")->data;
    ck_assert_double_eq_tol(tm[0], 0.1 * 2, 1e-7);
    ck_assert_double_eq_tol(tm[1], 0.1 * 20, 1e-6);
    ck_assert_double_eq_tol(tv[0], 0.9 + 0.1 * 2, 1e-7);
    ck_assert_double_eq_tol(tv[1], 0.9 + 0.1 * 200, 1e-5);
    mc_layer_destroy(l);

    /* The kernel alone, on a 2-D image: channel 0 = [0 2 4 6] over N = 2 and 1x2 pixels
     * (mean 3, var 5), channel 1 = [1 1 1 5] (mean 2, var 3). */
    const float xi[8] = {0, 2, 1, 1, 4, 6, 1, 5}, ones[2] = {1, 1}, zeros[2] = {0, 0};
    float yi[8];
    double mean[2], var[2], rstd[2];
    mc_batchnorm_forward_train_kernel(xi, yi, ones, zeros, mean, var, rstd, 2, 2, 2, 1e-5);
    ck_assert(mean[0] == 3.0 && mean[1] == 2.0 && var[0] == 5.0 && var[1] == 3.0);
    ck_assert_double_eq_tol(rstd[0], 1.0 / sqrt(5.0 + 1e-5), 1e-15);
    const double q0 = 1.0 / sqrt(5.0 + 1e-5), q1 = 1.0 / sqrt(3.0 + 1e-5);
    const double wi[8] = {-3 * q0, -1 * q0, -q1, -q1, 1 * q0, 3 * q0, -q1, 3 * q1};
    for (int i = 0; i < 8; i++)
        ck_assert_double_eq_tol(yi[i], wi[i], 1e-6);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* Training forward against the oracle for every input kind, with random Scale and Offset. */
START_TEST(test_oracle_forward)
{
    static const struct {
        int ndim;
        int dims[5];
    } kinds[] = {{2, {7, 5}}, {3, {3, 4, 6}}, {4, {3, 5, 4, 3}}, {5, {2, 3, 2, 3, 4}}};
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {21};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        mc_shape s = mc_shape_make(kinds[k].ndim, kinds[k].dims);
        const int N = s.dims[0], C = s.dims[1];
        const size_t S = lt_positions(&s), n = mc_shape_numel(&s);
        float *x = test_floats(n), *y = test_floats(n), scale[8], offset[8];
        double *xd = test_doubles(n), *ref = test_doubles(n), sd[8], od[8];
        test_fill_normal(&r, x, n, -3.0, 4.0);
        test_fill_normal(&r, scale, (size_t)C, 1.0, 0.5);
        test_fill_normal(&r, offset, (size_t)C, 0.0, 2.0);
        for (size_t i = 0; i < n; i++)
            xd[i] = x[i];
        for (int c = 0; c < C; c++) {
            sd[c] = scale[c];
            od[c] = offset[c];
        }
        mc_batchnorm_options o = mc_batchnorm_default();
        o.epsilon = 1e-3;
        mc_layer *l = make_layer(ctx, &o);
        lt_setup_same(l, &s);
        lt_set_param(l, "Scale", scale);
        lt_set_param(l, "Offset", offset);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        oracle_forward(xd, ref, sd, od, N, C, S, 1e-3);
        size_t at;
        double err = test_max_abs_diff(y, ref, n, &at);
        ck_assert_msg(err < 4e-6, "kind %zu: |y - oracle| = %g at %zu", k, err, at);
        mc_layer_destroy(l);
        free(x);
        free(y);
        free(xd);
        free(ref);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* The running statistics over several steps (with a smaller batch in between) against the
 * update rule computed here, and both decays at their ends. */
START_TEST(test_running_statistics)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {31};
    const int C = 3, Nmax = 4;
    const size_t S = 6;
    const double md = 0.3, vd = 0.2;
    mc_batchnorm_options o = mc_batchnorm_default();
    o.mean_decay = md;
    o.variance_decay = vd;
    const float tm0[3] = {0.5f, -1.0f, 2.0f}, tv0[3] = {2.0f, 0.25f, 1.0f};
    o.trained_mean = tm0;
    o.trained_mean_len = 3;
    o.trained_variance = tv0;
    o.trained_variance_len = 3;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(4, Nmax, C, 2, 3);
    lt_setup_same(l, &s);
    double em[3], ev[3];
    for (int c = 0; c < C; c++) {
        em[c] = tm0[c];
        ev[c] = tv0[c];
    }
    const int batches[4] = {4, 2, 1, 4};
    float x[72], y[72];
    for (int step = 0; step < 4; step++) {
        const int N = batches[step];
        mc_shape sb = test_shape(4, N, C, 2, 3);
        const size_t n = (size_t)N * C * S;
        test_fill_normal(&r, x, n, 1.0 + step, 2.0);
        lt_forward_data(l, x, &sb, y, &sb, MC_MODE_TRAINING);
        for (int c = 0; c < C; c++) {
            double mean = 0, ss = 0, m = (double)N * S;
            for (int i = 0; i < N; i++)
                for (size_t p = 0; p < S; p++)
                    mean += x[((size_t)i * C + c) * S + p] / m;
            for (int i = 0; i < N; i++)
                for (size_t p = 0; p < S; p++) {
                    double d = x[((size_t)i * C + c) * S + p] - mean;
                    ss += d * d;
                }
            em[c] = (1 - md) * em[c] + md * mean;
            ev[c] = (1 - vd) * ev[c] + vd * ss / (m - 1);
        }
        const float *tm = lt_buffer(l, "TrainedMean")->data;
        const float *tv = lt_buffer(l, "TrainedVariance")->data;
        for (int c = 0; c < C; c++) {
            ck_assert_msg(fabs(tm[c] - em[c]) <= 1e-6 * (1 + fabs(em[c])),
                          "step %d: TrainedMean[%d] = %.9g, want %.9g", step, c, tm[c], em[c]);
            ck_assert_msg(fabs(tv[c] - ev[c]) <= 1e-6 * ev[c],
                          "step %d: TrainedVariance[%d] = %.9g, want %.9g", step, c, tv[c], ev[c]);
        }
        /* An inference forward changes nothing. */
        float keep_m[3], keep_v[3];
        memcpy(keep_m, tm, sizeof keep_m);
        memcpy(keep_v, tv, sizeof keep_v);
        lt_forward_data(l, x, &sb, y, &sb, MC_MODE_INFERENCE);
        ck_assert_mem_eq(tm, keep_m, sizeof keep_m);
        ck_assert_mem_eq(tv, keep_v, sizeof keep_v);
    }
    mc_layer_destroy(l);

    /* Decay 0 keeps the statistics; decay 1 replaces them by the batch's (unbiased). */
    for (int end = 0; end < 2; end++) {
        o.mean_decay = o.variance_decay = end;
        l = make_layer(ctx, &o);
        lt_setup_same(l, &s);
        const size_t n = (size_t)Nmax * C * S;
        test_fill_normal(&r, x, n, 5.0, 3.0);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        const float *tm = lt_buffer(l, "TrainedMean")->data;
        const float *tv = lt_buffer(l, "TrainedVariance")->data;
        for (int c = 0; c < C; c++) {
            if (end == 0) {
                ck_assert(tm[c] == tm0[c] && tv[c] == tv0[c]);
                continue;
            }
            double mean = 0, ss = 0, m = (double)Nmax * S;
            for (int i = 0; i < Nmax; i++)
                for (size_t p = 0; p < S; p++)
                    mean += x[((size_t)i * C + c) * S + p] / m;
            for (int i = 0; i < Nmax; i++)
                for (size_t p = 0; p < S; p++) {
                    double d = x[((size_t)i * C + c) * S + p] - mean;
                    ss += d * d;
                }
            ck_assert_double_eq_tol(tm[c], mean, 1e-6 * (1 + fabs(mean)));
            ck_assert_double_eq_tol(tv[c], ss / (m - 1), 1e-6 * ss / (m - 1));
        }
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* Inference normalizes with TrainedMean and TrainedVariance, not with the batch. */
START_TEST(test_inference_uses_trained_statistics)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {41};
    const float tm[2] = {3.0f, -2.0f}, tv[2] = {4.0f, 0.5f};
    const float scale[2] = {1.5f, -0.5f}, offset[2] = {0.25f, 2.0f};
    mc_batchnorm_options o = mc_batchnorm_default();
    o.epsilon = 0.01;
    o.trained_mean = tm;
    o.trained_mean_len = 2;
    o.trained_variance = tv;
    o.trained_variance_len = 2;
    o.scale = scale;
    o.scale_len = 2;
    o.offset = offset;
    o.offset_len = 2;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape s = test_shape(4, 3, 2, 2, 2);
    lt_setup_same(l, &s);
    float x[24], y[24], y2[24];
    test_fill_normal(&r, x, 24, 0.0, 3.0);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_INFERENCE);
    for (size_t i = 0; i < 24; i++) {
        const int c = (int)(i / 4 % 2);
        const double want = scale[c] * (x[i] - tm[c]) / sqrt(tv[c] + 0.01) + offset[c];
        ck_assert_msg(fabs(y[i] - want) < 1e-6 * (1 + fabs(want)), "y[%zu] = %.9g, want %.9g", i,
                      y[i], want);
    }
    /* The same through the kernel, and one observation gives the same as in a batch. */
    mc_batchnorm_forward_infer_kernel(x, y2, scale, offset, tm, tv, 3, 2, 4, 0.01);
    ck_assert_mem_eq(y, y2, sizeof y);
    mc_shape one = test_shape(4, 1, 2, 2, 2);
    lt_forward_data(l, x + 8, &one, y2, &one, MC_MODE_INFERENCE);
    ck_assert_mem_eq(y + 8, y2, 8 * sizeof(float));
    /* Training mode normalizes with the batch instead: the outputs differ. */
    lt_forward_data(l, x, &s, y2, &s, MC_MODE_TRAINING);
    ck_assert(memcmp(y, y2, sizeof y) != 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* A batch of one 1x1 image (m = 1): the variance is 0, so the output is Offset exactly, and
 * the input gradient is 0. The running variance takes the (zero) batch variance as is. */
START_TEST(test_single_value)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const float scale[3] = {2, -3, 0.5f}, offset[3] = {0.25f, -0.75f, 1.5f};
    const mc_shape shapes[2] = {test_shape(4, 1, 3, 1, 1), test_shape(2, 1, 3)};
    for (int k = 0; k < 2; k++) {
        mc_batchnorm_options o = mc_batchnorm_default();
        o.scale = scale;
        o.scale_len = 3;
        o.offset = offset;
        o.offset_len = 3;
        mc_layer *l = make_layer(ctx, &o);
        lt_setup_same(l, &shapes[k]);
        float x[3] = {123.0f, -4.5f, 1e4f}, y[3], dy[3] = {1.0f, -2.0f, 0.5f}, dx[3];
        lt_forward_data(l, x, &shapes[k], y, &shapes[k], MC_MODE_TRAINING);
        for (int c = 0; c < 3; c++)
            ck_assert_msg(y[c] == offset[c], "y[%d] = %.9g", c, y[c]);
        lt_backward_data(l, x, &shapes[k], y, &shapes[k], dy, dx);
        for (int c = 0; c < 3; c++) {
            ck_assert(dx[c] == 0.0f);
            ck_assert(lt_param(l, "Offset")->grad.data[c] == dy[c]);
            ck_assert(lt_param(l, "Scale")->grad.data[c] == 0.0f);
            ck_assert_double_eq_tol(lt_buffer(l, "TrainedMean")->data[c], 0.1 * x[c],
                                    1e-6 * fabs(x[c]));
            ck_assert_double_eq_tol(lt_buffer(l, "TrainedVariance")->data[c], 0.9, 1e-7);
        }
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* 1e4 + 0.01 * noise normalizes to variance var / (var + eps) per channel. */
START_TEST(test_large_offset)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {3};
    const int N = 4, C = 3;
    mc_shape s = test_shape(4, N, C, 6, 6);
    const size_t n = mc_shape_numel(&s), S = 36, m = (size_t)N * S;
    float *x = test_floats(n), *y = test_floats(n);
    test_fill_normal(&r, x, n, 1e4, 0.01);
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    for (int c = 0; c < C; c++) {
        double mx = 0, vx = 0, my = 0, vy = 0;
        for (int i = 0; i < N; i++)
            for (size_t p = 0; p < S; p++) {
                mx += x[((size_t)i * C + c) * S + p] / (double)m;
                my += y[((size_t)i * C + c) * S + p] / (double)m;
            }
        for (int i = 0; i < N; i++)
            for (size_t p = 0; p < S; p++) {
                const size_t j = ((size_t)i * C + c) * S + p;
                vx += (x[j] - mx) * (x[j] - mx) / (double)m;
                vy += (y[j] - my) * (y[j] - my) / (double)m;
            }
        ck_assert_msg(vx > 5e-5, "the input's spread survived float rounding: %g", vx);
        const double want = vx / (vx + 1e-5);
        ck_assert_msg(fabs(vy - want) < 1e-4 * want, "channel %d: var(y) %.9g, want %.9g", c, vy,
                      want);
        ck_assert_msg(fabs(my) < 1e-5, "channel %d: mean(y) %g", c, my);
        /* The running variance got the spread too (unbiased), not 0. */
        const double tv = lt_buffer(l, "TrainedVariance")->data[c];
        const double want_tv = 0.9 + 0.1 * vx * (double)m / (double)(m - 1);
        ck_assert_double_eq_tol(tv, want_tv, 1e-7);
    }
    free(x);
    free(y);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Gradients ------------------------------------------------------------------------ */

/* For every input kind: the backward pass against central differences of the double oracle
 * (tight) and of the layer's own float forward pass (gradcheck_layer). */
START_TEST(test_gradients)
{
    static const struct {
        int ndim;
        int dims[5];
    } kinds[] = {{2, {4, 3}}, {3, {2, 3, 4}}, {4, {2, 3, 3, 3}}, {5, {2, 2, 2, 2, 3}}};
    const int k = _i;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {200 + (uint64_t)_i};
    mc_shape s = mc_shape_make(kinds[k].ndim, kinds[k].dims);
    const int N = s.dims[0], C = s.dims[1];
    const size_t S = lt_positions(&s), n = mc_shape_numel(&s);
    mc_batchnorm_options o = mc_batchnorm_default();
    o.epsilon = 1e-4;
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
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
        lt_norm_problem_make(problem_forward, N, C, 0, S, 1e-4, x, w, scale, offset);
    const double h = 1e-6, atol = 2e-5, rtol = 1e-4;
    for (size_t i = 0; i < n; i++) {
        double num = lt_norm_derivative(&pr, &pr.x[i], h);
        ck_assert_msg(fabs(dx[i] - num) <= atol + rtol * fabs(num),
                      "kind %d: dx[%zu] = %.9g, oracle %.9g", k, i, dx[i], num);
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
    gradcheck_expect(l, &in, 1, 1e-2, 2e-3, 1e-2, (int)n + 2 * C, "kind %d", k);

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
    mc_shape s = test_shape(3, 4, 2, 6);
    const size_t n = 48;
    float x[48], y[48], w[48], dx[48];
    test_fill_normal(&r, x, n, 1e4, 0.01);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);
    lt_norm_problem pr = lt_norm_problem_make(problem_forward, 4, 2, 0, 6, 1e-5, x, w, NULL, NULL);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        double num = lt_norm_derivative(&pr, &pr.x[i], 1e-7);
        worst = fmax(worst, fabs(dx[i] - num));
        largest = fmax(largest, fabs(num));
    }
    ck_assert_msg(largest > 10.0, "gradients of order 1/sd expected, got %g", largest);
    ck_assert_msg(worst <= 1e-3 * largest, "dx off by %g (largest %g)", worst, largest);
    for (int c = 0; c < 2; c++) {
        double ds = lt_norm_derivative(&pr, &pr.scale[c], 1e-6);
        ck_assert_double_eq_tol(lt_param(l, "Scale")->grad.data[c], ds, 1e-4 + 1e-4 * fabs(ds));
    }
    lt_norm_problem_free(&pr);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Backward with a smaller batch than set up, after a training forward of that batch. */
START_TEST(test_smaller_batch_gradients)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {88};
    mc_shape big = test_shape(4, 5, 2, 2, 2), s = test_shape(4, 2, 2, 2, 2);
    const size_t n = 16;
    float x[16], y[16], w[16], dx[16];
    test_fill_normal(&r, x, n, -1.0, 2.0);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &big);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);
    lt_norm_problem pr = lt_norm_problem_make(problem_forward, 2, 2, 0, 4, 1e-5, x, w, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        double num = lt_norm_derivative(&pr, &pr.x[i], 1e-6);
        ck_assert_msg(fabs(dx[i] - num) <= 2e-5 + 1e-4 * fabs(num), "dx[%zu] = %.9g, oracle %.9g",
                      i, dx[i], num);
    }
    lt_norm_problem_free(&pr);
    lt_teardown(&a, ctx, l);
}
END_TEST

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
    mc_batchnorm_options o = mc_batchnorm_default();
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_same(l, &s);
    ck_assert_int_eq(mc_layer_num_params(l), 2); /* Offset and Scale, 4 values each */
    lt_expect_grads_accumulate(l, x, &s, y, &s, dy, dx);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

static const mc_shape alloc_shape = {4, {4, 6, 5, 5}};

/* A failed setup leaves the layer usable: the same setup succeeds after. user: the expected
 * TrainedVariance[5]. */
static void setup_again(mc_layer *l, void *user)
{
    const float *want = user;
    lt_setup(l, &alloc_shape, 1);
    ck_assert_ptr_nonnull(lt_buffer(l, "TrainedVariance")->data);
    ck_assert(lt_buffer(l, "TrainedVariance")->data[5] == *want);
}

START_TEST(test_allocation_failures)
{
    const float v[6] = {1, 2, 3, 4, 5, 6};
    for (int with_values = 0; with_values < 2; with_values++) {
        mc_batchnorm_options o = mc_batchnorm_default();
        o.name = "bn1";
        o.scale_initializer.name = "narrow-normal";
        if (with_values) {
            o.scale = v;
            o.scale_len = 6;
            o.offset = v;
            o.offset_len = 6;
            o.trained_mean = v;
            o.trained_mean_len = 6;
            o.trained_variance = v;
            o.trained_variance_len = 6;
        }
        float variance = with_values ? 6.0f : 1.0f;
        const lt_alloc_case c = {.create = create,
                                 .opts = &o,
                                 .setups = &alloc_shape,
                                 .n_setups = 1,
                                 .recover = setup_again,
                                 .user = &variance,
                                 .min_allocs = 12};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display_default);
    tcase_add_test(tc, test_display_after_setup);
    tcase_add_test(tc, test_display_all_properties);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_epsilon_validation);
    tcase_add_test(tc, test_decay_validation);
    tcase_add_test(tc, test_factor_validation);
    tcase_add_test(tc, test_initializer_validation);
    tcase_add_test(tc, test_channel_validation);
    tcase_add_test(tc, test_state_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_oracle_forward);
    tcase_add_test(tc, test_running_statistics);
    tcase_add_test(tc, test_inference_uses_trained_statistics);
    tcase_add_test(tc, test_single_value);
    tcase_add_test(tc, test_large_offset);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gradients, 0, 4);
    tcase_add_test(tc, test_gradients_large_offset);
    tcase_add_test(tc, test_smaller_batch_gradients);
    tcase_add_test(tc, test_accumulation_contract);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(batchnorm_suite());
}
