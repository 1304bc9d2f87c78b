/* SPDX-License-Identifier: MIT */
/* imageInputLayer and featureInputLayer: options, validation, display, normalization values,
 * fitting the statistics, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/input.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision reference ---------------------------------------- */

/* The statistics of data (N, C, S) computed naively: group_of() says which statistic each
 * value of an observation belongs to; each statistic scans all data for its members. */
typedef struct ref_stats {
    int G;
    double mean[64], sd[64], lo[64], hi[64];
} ref_stats;

static int group_of(mc_norm_dimension d, int C, int S, int p)
{
    (void)C;
    switch (d) {
    case MC_NORMDIM_CHANNEL:
        return p / S;
    case MC_NORMDIM_ALL:
        return 0;
    default:
        return p;
    }
}

static void ref_fit(const float *x, int N, int C, int S, mc_norm_dimension d, ref_stats *r)
{
    const int P = C * S;
    r->G = d == MC_NORMDIM_ALL ? 1 : d == MC_NORMDIM_CHANNEL ? C : P;
    ck_assert(r->G <= 64);
    for (int g = 0; g < r->G; g++) {
        double sum = 0, count = 0, lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < N * P; i++)
            if (group_of(d, C, S, i % P) == g) {
                sum += x[i];
                count++;
                lo = fmin(lo, x[i]);
                hi = fmax(hi, x[i]);
            }
        const double mean = sum / count;
        double var = 0;
        for (int i = 0; i < N * P; i++)
            if (group_of(d, C, S, i % P) == g)
                var += (x[i] - mean) * (x[i] - mean) / count;
        r->mean[g] = mean;
        r->sd[g] = sqrt(var);
        r->lo[g] = lo;
        r->hi[g] = hi;
    }
}

/* The documented formula for one value of statistic group g. */
static double ref_normalize(mc_normalization norm, const ref_stats *r, int g, double x)
{
    switch (norm) {
    case MC_NORM_ZEROCENTER:
        return x - r->mean[g];
    case MC_NORM_ZSCORE:
        return (x - r->mean[g]) / (r->sd[g] != 0 ? r->sd[g] : 1);
    case MC_NORM_RESCALE_SYMMETRIC:
        return -1 + 2 * (x - r->lo[g]) / (r->hi[g] != r->lo[g] ? r->hi[g] - r->lo[g] : 1);
    case MC_NORM_RESCALE_ZERO_ONE:
        return (x - r->lo[g]) / (r->hi[g] != r->lo[g] ? r->hi[g] - r->lo[g] : 1);
    case MC_NORM_NONE:
        break;
    }
    return x;
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create_image(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_image_input_create(ctx, opts, out);
}

static mc_status create_feature(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_feature_input_create(ctx, opts, out);
}

static mc_layer *make_image(mc_ctx *ctx, const mc_image_input_options *o)
{
    return lt_make(ctx, create_image, o);
}

static mc_layer *make_feature(mc_ctx *ctx, const mc_feature_input_options *o)
{
    return lt_make(ctx, create_feature, o);
}

/* Fits the layer's statistics on (N, ...) data in one batch. */
static void fit_ok(mc_layer *l, const float *x, int N)
{
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    mc_input_fit_add(l, x, N);
    mc_status st = mc_input_fit_end(l);
    ck_assert_msg(st == MC_OK, "fit failed: %s", mc_ctx_message(l->ctx));
    ck_assert(mc_input_is_fitted(l));
}

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_image_input_options io = mc_image_input_default(28, 27, 3);
    ck_assert_int_eq(io.input_size[0], 28);
    ck_assert_int_eq(io.input_size[1], 27);
    ck_assert_int_eq(io.input_size[2], 3);
    ck_assert_ptr_null(io.name);
    ck_assert_int_eq(io.normalization, MC_NORM_ZEROCENTER);
    ck_assert_int_eq(io.normalization_dimension, MC_NORMDIM_AUTO);
    mc_feature_input_options fo = mc_feature_input_default(10);
    ck_assert_int_eq(fo.num_features, 10);
    ck_assert_ptr_null(fo.name);
    ck_assert_int_eq(fo.normalization, MC_NORM_NONE);
    ck_assert_int_eq(fo.normalization_dimension, MC_NORMDIM_AUTO);

    mc_layer *img = make_image(ctx, &io), *feat = make_feature(ctx, &fo);
    lt_expect_identity(img, "imageInputLayer", "ImageInputLayer", "Image Input", "imageinput",
                       MC_ROLE_INPUT);
    lt_expect_identity(feat, "featureInputLayer", "FeatureInputLayer", "Feature Input",
                       "featureinput", MC_ROLE_INPUT);
    for (int k = 0; k < 2; k++) {
        mc_layer *l = k == 0 ? img : feat;
        ck_assert_str_eq(mc_layer_name(l), "");
        ck_assert_int_eq(mc_layer_num_inputs(l), 1); /* the data */
        ck_assert_int_eq(mc_layer_num_outputs(l), 1);
        ck_assert_int_eq(mc_layer_num_params(l), 0);
        ck_assert(!mc_input_is_fitted(l));
    }
    ck_assert(mc_input_needs_fit(img));
    ck_assert(!mc_input_needs_fit(feat));
    /* zerocenter keeps one buffer, the mean image, stored (C, H, W) and zero until fitted. */
    ck_assert_int_eq(mc_layer_num_buffers(img), 1);
    const char *name = NULL;
    mc_tensor *mean = mc_layer_buffer(img, 0, &name);
    ck_assert_str_eq(name, "Mean");
    ck_assert_int_eq(mean->shape.ndim, 3);
    ck_assert_int_eq(mean->shape.dims[0], 3);
    ck_assert_int_eq(mean->shape.dims[1], 28);
    ck_assert_int_eq(mean->shape.dims[2], 27);
    for (size_t i = 0; i < mc_tensor_numel(mean); i++)
        ck_assert(mean->data[i] == 0.0f);
    ck_assert_int_eq(mc_layer_num_buffers(feat), 0); /* 'none' needs no statistics */

    mc_shape ds = mc_input_data_shape(img, 5);
    ck_assert_int_eq(ds.ndim, 4);
    ck_assert(ds.dims[0] == 5 && ds.dims[1] == 3 && ds.dims[2] == 28 && ds.dims[3] == 27);
    ds = mc_input_data_shape(feat, 7);
    ck_assert_int_eq(ds.ndim, 2);
    ck_assert(ds.dims[0] == 7 && ds.dims[1] == 10);
    mc_layer *gn = NULL;
    mc_groupnorm_options go = mc_groupnorm_default(1);
    ck_assert_int_eq(mc_groupnorm_create(ctx, &go, &gn), MC_OK);
    ck_assert_int_eq(mc_input_data_shape(gn, 5).ndim, 0);
    ck_assert(!mc_input_needs_fit(gn) && !mc_input_is_fitted(gn));
    ck_assert_int_eq(mc_input_fit_begin(gn), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "groupNormalizationLayer (unnamed): mc_input_fit_begin "
                                          "needs an image or feature input layer, not a "
                                          "groupNormalizationLayer");
    ck_assert_int_eq(mc_input_fit_end(gn), MC_ERR_INVALID);
    mc_input_fit_add(gn, mean->data, 1); /* ignored */
    mc_layer_destroy(gn);
    mc_layer_destroy(feat);
    lt_teardown(&a, ctx, img);
}
END_TEST

/* Which buffers each normalization keeps, in order, with their neutral values. */
START_TEST(test_buffers_per_normalization)
{
    static const struct {
        mc_normalization norm;
        int count;
        const char *names[2];
        float neutral[2];
    } cases[] = {
        {MC_NORM_ZEROCENTER, 1, {"Mean"}, {0}},
        {MC_NORM_ZSCORE, 2, {"Mean", "StandardDeviation"}, {0, 1}},
        {MC_NORM_RESCALE_SYMMETRIC, 2, {"Min", "Max"}, {0, 1}},
        {MC_NORM_RESCALE_ZERO_ONE, 2, {"Min", "Max"}, {0, 1}},
        {MC_NORM_NONE, 0, {NULL}, {0}},
    };
    static const struct {
        mc_norm_dimension dim;
        int ndim;
        int dims[3];
    } image_dims[] = {{MC_NORMDIM_AUTO, 3, {2, 4, 5}},
                      {MC_NORMDIM_ELEMENT, 3, {2, 4, 5}},
                      {MC_NORMDIM_CHANNEL, 1, {2}},
                      {MC_NORMDIM_ALL, 1, {1}}};
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t d = 0; d < 4; d++) {
            mc_image_input_options io = mc_image_input_default(4, 5, 2);
            io.normalization = cases[k].norm;
            io.normalization_dimension = image_dims[d].dim;
            mc_feature_input_options fo = mc_feature_input_default(6);
            fo.normalization = cases[k].norm;
            fo.normalization_dimension = image_dims[d].dim;
            mc_layer *layers[2] = {make_image(ctx, &io), make_feature(ctx, &fo)};
            for (int li = 0; li < 2; li++) {
                mc_layer *l = layers[li];
                ck_assert_int_eq(mc_layer_num_buffers(l), cases[k].count);
                ck_assert(mc_input_needs_fit(l) == (cases[k].norm != MC_NORM_NONE));
                for (int b = 0; b < cases[k].count; b++) {
                    const char *name = NULL;
                    mc_tensor *t = mc_layer_buffer(l, b, &name);
                    ck_assert_str_eq(name, cases[k].names[b]);
                    if (li == 0) {
                        ck_assert_int_eq(t->shape.ndim, image_dims[d].ndim);
                        for (int j = 0; j < t->shape.ndim; j++)
                            ck_assert_int_eq(t->shape.dims[j], image_dims[d].dims[j]);
                    } else {
                        ck_assert_int_eq(t->shape.ndim, 1);
                        ck_assert_int_eq(t->shape.dims[0],
                                         image_dims[d].dim == MC_NORMDIM_ALL ? 1 : 6);
                    }
                    for (size_t i = 0; i < mc_tensor_numel(t); i++)
                        ck_assert(t->data[i] == cases[k].neutral[b]);
                }
                ck_assert_ptr_null(mc_layer_buffer(l, cases[k].count, NULL));
                mc_layer_destroy(l);
            }
        }
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_normalization_names)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    static const char *const names[] = {"zerocenter", "zscore", "rescale-symmetric",
                                        "rescale-zero-one", "none"};
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(mc_normalization_name((mc_normalization)i), names[i]);
        mc_normalization n = (mc_normalization)99;
        ck_assert_int_eq(mc_normalization_parse(ctx, names[i], &n), MC_OK);
        ck_assert_int_eq(n, i);
    }
    ck_assert_str_eq(mc_normalization_name((mc_normalization)5), "unknown");
    mc_normalization n = MC_NORM_NONE;
    ck_assert_int_eq(mc_normalization_parse(ctx, "ZScore", &n), MC_OK);
    ck_assert_int_eq(n, MC_NORM_ZSCORE);
    ck_assert_int_eq(mc_normalization_parse(ctx, "rescale_zero_one", &n), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "unknown normalization 'rescale_zero_one' (did you mean "
                                          "'rescale-zero-one'?); expected 'zerocenter', 'zscore', "
                                          "'rescale-symmetric', 'rescale-zero-one' or 'none'");
    ck_assert_int_eq(n, MC_NORM_ZSCORE); /* unchanged on failure */
    ck_assert_int_eq(mc_normalization_parse(ctx, "minmax", &n), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "unknown normalization 'minmax'; expected 'zerocenter', 'zscore', "
                     "'rescale-symmetric', 'rescale-zero-one' or 'none'");
    ck_assert_int_eq(mc_normalization_parse(ctx, NULL, &n), MC_ERR_INVALID);
    ck_assert_int_eq(mc_normalization_parse(ctx, "", &n), MC_ERR_INVALID);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_display_image)
{
    /* layer = imageInputLayer([28 28 3]) */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_image_input_options o = mc_image_input_default(28, 28, 3);
    mc_layer *l = make_image(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ImageInputLayer with properties:\n"
                       "\n"
                       "                      Name: ''\n"
                       "                 InputSize: [28 28 3]\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          DataAugmentation: 'none'\n"
                       "             Normalization: 'zerocenter'\n"
                       "    NormalizationDimension: 'auto'\n"
                       "                      Mean: []\n");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "28x28x3 images with 'zerocenter' normalization");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  ImageInputLayer with properties:\n"
                       "\n"
                       "                      Name: ''\n"
                       "                 NumInputs: 0\n"
                       "                InputNames: {}\n"
                       "                NumOutputs: 1\n"
                       "               OutputNames: {'out'}\n"
                       "                 InputSize: [28 28 3]\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          DataAugmentation: 'none'\n"
                       "             Normalization: 'zerocenter'\n"
                       "    NormalizationDimension: 'auto'\n"
                       "                      Mean: []\n");
    /* Once fitted, MATLAB's h x w x c size. */
    float *x = test_floats(2 * 28 * 28 * 3);
    fit_ok(l, x, 2);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ImageInputLayer with properties:\n"
                       "\n"
                       "                      Name: ''\n"
                       "                 InputSize: [28 28 3]\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          DataAugmentation: 'none'\n"
                       "             Normalization: 'zerocenter'\n"
                       "    NormalizationDimension: 'auto'\n"
                       "                      Mean: [28\xc3\x97"
                       "28\xc3\x97"
                       "3 single]\n");
    free(x);
    mc_layer_destroy(l);

    /* zscore per channel, named, 'none' */
    o = mc_image_input_default(4, 6, 2);
    o.name = "input";
    o.normalization = MC_NORM_ZSCORE;
    o.normalization_dimension = MC_NORMDIM_CHANNEL;
    l = make_image(ctx, &o);
    const char *head = "  ImageInputLayer with properties:\n"
                       "\n"
                       "                      Name: 'input'\n"
                       "                 InputSize: [4 6 2]\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          DataAugmentation: 'none'\n"
                       "             Normalization: 'zscore'\n"
                       "    NormalizationDimension: 'channel'\n";
    char want[1200];
    snprintf(want, sizeof want,
             "%s                      Mean: []\n"
             "         StandardDeviation: []\n",
             head);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES, want);
    x = test_floats(48);
    for (int i = 0; i < 48; i++)
        x[i] = (float)i;
    fit_ok(l, x, 1);
    snprintf(want, sizeof want,
             "%s                      Mean: [1\xc3\x97"
             "1\xc3\x97"
             "2 single]\n"
             "         StandardDeviation: [1\xc3\x97"
             "1\xc3\x97"
             "2 single]\n",
             head);
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES, want);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "4x6x2 images with 'zscore' normalization");
    mc_layer_destroy(l);

    /* rescale over all values: a scalar Min and Max show their values, as MATLAB does. */
    o.normalization = MC_NORM_RESCALE_ZERO_ONE;
    o.normalization_dimension = MC_NORMDIM_ALL;
    l = make_image(ctx, &o);
    fit_ok(l, x, 1);
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "             Normalization: 'rescale-zero-one'\n"
                                       "    NormalizationDimension: 'all'\n"
                                       "                       Max: 47\n"
                                       "                       Min: 0\n"));
    ck_assert_ptr_null(strstr(text, "Mean"));
    mc_free(ctx, text);
    mc_layer_destroy(l);

    o.normalization = MC_NORM_NONE;
    o.normalization_dimension = MC_NORMDIM_ELEMENT;
    l = make_image(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "4x6x2 images");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ImageInputLayer with properties:\n"
                       "\n"
                       "                      Name: 'input'\n"
                       "                 InputSize: [4 6 2]\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          DataAugmentation: 'none'\n"
                       "             Normalization: 'none'\n"
                       "    NormalizationDimension: 'element'\n");
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display_feature)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_feature_input_options o = mc_feature_input_default(10);
    mc_layer *l = make_feature(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "10 features");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  FeatureInputLayer with properties:\n"
                       "\n"
                       "                      Name: ''\n"
                       "               NumFeatures: 10\n"
                       "\n"
                       "   Hyperparameters\n"
                       "             Normalization: 'none'\n"
                       "    NormalizationDimension: 'auto'\n");
    mc_layer_destroy(l);
    o.name = "in";
    o.normalization = MC_NORM_ZSCORE;
    l = make_feature(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "10 features with 'zscore' normalization");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  FeatureInputLayer with properties:\n"
                       "\n"
                       "                      Name: 'in'\n"
                       "                 NumInputs: 0\n"
                       "                InputNames: {}\n"
                       "                NumOutputs: 1\n"
                       "               OutputNames: {'out'}\n"
                       "               NumFeatures: 10\n"
                       "\n"
                       "   Hyperparameters\n"
                       "             Normalization: 'zscore'\n"
                       "    NormalizationDimension: 'auto'\n"
                       "                      Mean: []\n"
                       "         StandardDeviation: []\n");
    float x[20];
    for (int i = 0; i < 20; i++)
        x[i] = (float)(i * i);
    fit_ok(l, x, 2);
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "                      Mean: [10\xc3\x97"
                                       "1 single]\n"
                                       "         StandardDeviation: [10\xc3\x97"
                                       "1 single]\n"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

START_TEST(test_create_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = (mc_layer *)&a;
    const int bad_sizes[][3] = {{0, 28, 3}, {28, -1, 3}, {28, 28, 0}};
    for (int i = 0; i < 3; i++) {
        mc_image_input_options o =
            mc_image_input_default(bad_sizes[i][0], bad_sizes[i][1], bad_sizes[i][2]);
        ck_assert_int_eq(mc_image_input_create(ctx, &o, &l), MC_ERR_INVALID);
        ck_assert_ptr_null(l);
        char want[160];
        snprintf(want, sizeof want,
                 "imageInputLayer (unnamed): InputSize must be [H W C] with positive integers, "
                 "not [%d %d %d]",
                 bad_sizes[i][0], bad_sizes[i][1], bad_sizes[i][2]);
        ck_assert_str_eq(mc_ctx_message(ctx), want);
    }
    mc_image_input_options o = mc_image_input_default(100000, 100000, 1);
    o.name = "big";
    ck_assert_int_eq(mc_image_input_create(ctx, &o, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'big': InputSize [100000 100000 1] has more than 2147483647 values "
                     "per image");
    o = mc_image_input_default(2, 2, 1);
    o.normalization = (mc_normalization)9;
    ck_assert_int_eq(mc_image_input_create(ctx, &o, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "imageInputLayer (unnamed): unknown normalization 9");
    o.normalization = MC_NORM_ZSCORE;
    o.normalization_dimension = (mc_norm_dimension)7;
    ck_assert_int_eq(mc_image_input_create(ctx, &o, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "imageInputLayer (unnamed): unknown normalization dimension 7");

    mc_feature_input_options fo = mc_feature_input_default(0);
    ck_assert_int_eq(mc_feature_input_create(ctx, &fo, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "featureInputLayer (unnamed): the number of features "
                                          "must be a positive integer, not 0");
    fo = mc_feature_input_default(-4);
    fo.name = "f";
    ck_assert_int_eq(mc_feature_input_create(ctx, &fo, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'f': the number of features must be a positive integer, not -4");
    fo = mc_feature_input_default(3);
    fo.normalization = (mc_normalization)-1;
    ck_assert_int_eq(mc_feature_input_create(ctx, &fo, &l), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "featureInputLayer (unnamed): unknown normalization -1");
    ck_assert_ptr_null(l);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

static void expect_shape_error(mc_layer *l, mc_shape s, const char *want)
{
    lt_expect_setup_error(l, &s, 1, MC_ERR_SHAPE, want);
}

START_TEST(test_shape_mismatch)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_image_input_options o = mc_image_input_default(28, 28, 3);
    o.name = "input";
    mc_layer *l = make_image(ctx, &o);
    expect_shape_error(l, test_shape(4, 4, 1, 28, 28),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is 28x28x1");
    expect_shape_error(l, test_shape(4, 4, 3, 32, 28),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is 32x28x3");
    expect_shape_error(l, test_shape(4, 4, 3, 28, 27),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is 28x27x3");
    expect_shape_error(l, test_shape(2, 4, 2352),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is feature data (N x F = 4x2352)");
    expect_shape_error(l, test_shape(3, 4, 3, 784),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is sequence data (N x C x T = 4x3x784)");
    expect_shape_error(l, test_shape(5, 2, 3, 4, 28, 28),
                       "Layer 'input': the layer takes 28x28x3 images (H x W x C) but the data "
                       "is 3-D image data (N x C x D x H x W = 2x3x4x28x28)");
    mc_shape good = test_shape(4, 16, 3, 28, 28);
    lt_setup_same(l, &good);
    mc_layer_destroy(l);
    o.name = NULL;
    l = make_image(ctx, &o);
    expect_shape_error(l, test_shape(4, 4, 1, 28, 28),
                       "imageInputLayer (unnamed): the layer takes 28x28x3 images (H x W x C) "
                       "but the data is 28x28x1");
    mc_layer_destroy(l);

    mc_feature_input_options fo = mc_feature_input_default(10);
    fo.name = "in";
    l = make_feature(ctx, &fo);
    expect_shape_error(l, test_shape(2, 8, 12),
                       "Layer 'in': the layer takes 10 features but the "
                       "data has 12");
    expect_shape_error(l, test_shape(4, 8, 10, 1, 1),
                       "Layer 'in': the layer takes 10 features but the data is image data "
                       "(N x C x H x W = 8x10x1x1)");
    expect_shape_error(l, test_shape(3, 8, 10, 5),
                       "Layer 'in': the layer takes 10 features but the data is sequence data "
                       "(N x C x T = 8x10x5)");
    good = test_shape(2, 8, 10);
    lt_setup_same(l, &good);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

/* Three observations of two features, [1 10; 3 30; 5 20], by hand. */
START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float x[6] = {1, 10, 3, 30, 5, 20}, y[6];
    mc_shape s = test_shape(2, 3, 2);
    const double sd0 = sqrt(8.0 / 3.0), sd1 = sqrt(200.0 / 3.0);
    const struct {
        mc_normalization norm;
        mc_norm_dimension dim;
        double want[6];
    } cases[] = {
        /* per feature: mean [3 20], sd [sqrt(8/3) sqrt(200/3)], min [1 10], max [5 30] */
        {MC_NORM_ZEROCENTER, MC_NORMDIM_AUTO, {-2, -10, 0, 10, 2, 0}},
        {MC_NORM_ZSCORE, MC_NORMDIM_CHANNEL, {-2 / sd0, -10 / sd1, 0, 10 / sd1, 2 / sd0, 0}},
        {MC_NORM_RESCALE_ZERO_ONE, MC_NORMDIM_ELEMENT, {0, 0, 0.5, 1, 1, 0.5}},
        {MC_NORM_RESCALE_SYMMETRIC, MC_NORMDIM_AUTO, {-1, -1, 0, 1, 1, 0}},
        /* over all six values: mean 11.5, min 1, max 30 */
        {MC_NORM_ZEROCENTER, MC_NORMDIM_ALL, {-10.5, -1.5, -8.5, 18.5, -6.5, 8.5}},
        {MC_NORM_RESCALE_SYMMETRIC,
         MC_NORMDIM_ALL,
         {-1, -1 + 18.0 / 29, -1 + 4.0 / 29, 1, -1 + 8.0 / 29, -1 + 38.0 / 29}},
        {MC_NORM_NONE, MC_NORMDIM_AUTO, {1, 10, 3, 30, 5, 20}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_feature_input_options o = mc_feature_input_default(2);
        o.normalization = cases[k].norm;
        o.normalization_dimension = cases[k].dim;
        mc_layer *l = make_feature(ctx, &o);
        lt_setup_same(l, &s);
        fit_ok(l, x, 3);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        for (int i = 0; i < 6; i++)
            ck_assert_msg(fabs(y[i] - cases[k].want[i]) < 1e-6, "case %zu: y[%d] = %.9g, want %.9g",
                          k, i, y[i], cases[k].want[i]);
        mc_layer_destroy(l);
    }
    /* The fitted statistics themselves. */
    mc_feature_input_options o = mc_feature_input_default(2);
    o.normalization = MC_NORM_ZSCORE;
    mc_layer *l = make_feature(ctx, &o);
    fit_ok(l, x, 3);
    const float *mean = lt_buffer(l, "Mean")->data, *sd = lt_buffer(l, "StandardDeviation")->data;
    ck_assert(mean[0] == 3.0f && mean[1] == 20.0f);
    ck_assert(sd[0] == (float)sd0 && sd[1] == (float)sd1); /* population: divides by 3 */
    mc_layer_destroy(l);
    o.normalization = MC_NORM_RESCALE_ZERO_ONE;
    o.normalization_dimension = MC_NORMDIM_ALL;
    l = make_feature(ctx, &o);
    fit_ok(l, x, 3);
    ck_assert(lt_buffer(l, "Min")->data[0] == 1.0f && lt_buffer(l, "Max")->data[0] == 30.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Every normalization x every dimension, image and feature input: the fitted buffers and the
 * output against the naive reference. */
START_TEST(test_reference_all_modes)
{
    static const mc_normalization norms[] = {MC_NORM_ZEROCENTER, MC_NORM_ZSCORE,
                                             MC_NORM_RESCALE_SYMMETRIC, MC_NORM_RESCALE_ZERO_ONE,
                                             MC_NORM_NONE};
    static const mc_norm_dimension dims[] = {MC_NORMDIM_ELEMENT, MC_NORMDIM_CHANNEL,
                                             MC_NORMDIM_ALL};
    const mc_normalization norm = norms[_i / 3];
    const mc_norm_dimension dim = dims[_i % 3];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {300 + (uint64_t)_i};
    for (int image = 0; image < 2; image++) {
        const int N = 5, C = image ? 2 : 3, H = image ? 2 : 1, W = image ? 3 : 1, S = H * W;
        const int P = C * S;
        mc_layer *l;
        mc_shape s;
        if (image) {
            mc_image_input_options o = mc_image_input_default(H, W, C);
            o.normalization = norm;
            o.normalization_dimension = dim;
            l = make_image(ctx, &o);
            s = test_shape(4, N, C, H, W);
        } else {
            mc_feature_input_options o = mc_feature_input_default(C);
            o.normalization = norm;
            o.normalization_dimension = dim;
            l = make_feature(ctx, &o);
            s = test_shape(2, N, C);
        }
        lt_setup_same(l, &s);
        float x[60], y[60], x2[60], y2[60];
        for (int i = 0; i < N * P; i++)
            x[i] = (float)(2.0 * (i % P) - 3.0 + (1.0 + (i % P)) * test_rng_normal(&r));
        test_fill_normal(&r, x2, (size_t)(N * P), 1.0, 5.0); /* unseen data */
        fit_ok(l, x, N);
        ref_stats ref;
        ref_fit(x, N, C, S, dim, &ref);
        if (norm != MC_NORM_NONE) {
            const char *names[2] = {"Mean", norm == MC_NORM_ZSCORE ? "StandardDeviation" : NULL};
            if (norm == MC_NORM_RESCALE_SYMMETRIC || norm == MC_NORM_RESCALE_ZERO_ONE) {
                names[0] = "Min";
                names[1] = "Max";
            }
            for (int b = 0; b < 2 && names[b] != NULL; b++) {
                const mc_tensor *t = lt_buffer(l, names[b]);
                ck_assert_int_eq((int)mc_tensor_numel(t), ref.G);
                for (int g = 0; g < ref.G; g++) {
                    const double want = strcmp(names[b], "Mean") == 0  ? ref.mean[g]
                                        : strcmp(names[b], "Min") == 0 ? ref.lo[g]
                                        : strcmp(names[b], "Max") == 0 ? ref.hi[g]
                                                                       : ref.sd[g];
                    ck_assert_msg(fabs(t->data[g] - want) <= 1e-6 * (1 + fabs(want)),
                                  "%s %s[%d] = %.9g, want %.9g", image ? "image" : "feature",
                                  names[b], g, t->data[g], want);
                }
            }
        } else {
            ck_assert_int_eq(mc_layer_num_buffers(l), 0);
        }
        for (int pass = 0; pass < 2; pass++) {
            const float *in = pass == 0 ? x : x2;
            float *out = pass == 0 ? y : y2;
            lt_forward_data(l, (float *)in, &s, out, &s,
                            pass == 0 ? MC_MODE_TRAINING : MC_MODE_INFERENCE);
            for (int i = 0; i < N * P; i++) {
                const double want = ref_normalize(norm, &ref, group_of(dim, C, S, i % P), in[i]);
                ck_assert_msg(fabs(out[i] - want) <= 2e-6 * (1 + fabs(want)),
                              "%s, pass %d: y[%d] = %.9g, want %.9g", image ? "image" : "feature",
                              pass, i, out[i], want);
            }
        }
        if (norm == MC_NORM_RESCALE_ZERO_ONE) { /* the training data lands in [0, 1] */
            for (int i = 0; i < N * P; i++)
                ck_assert(y[i] >= 0.0f && y[i] <= 1.0f);
        }
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* Before fitting, a normalization that needs statistics refuses to run, naming the layer
 * (rather than silently normalizing with made-up ones). The statistics a loader marks as fitted
 * without setting them are neutral: zerocenter and zscore leave the data as is,
 * rescale-symmetric gives -1 + 2x. */
START_TEST(test_neutral_before_fit)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float x[4] = {-1.5f, 0.25f, 3.0f, 8.0f}, y[4];
    mc_shape s = test_shape(2, 2, 2);
    const mc_normalization norms[4] = {MC_NORM_ZEROCENTER, MC_NORM_ZSCORE, MC_NORM_RESCALE_ZERO_ONE,
                                       MC_NORM_RESCALE_SYMMETRIC};
    for (int k = 0; k < 4; k++) {
        mc_feature_input_options o = mc_feature_input_default(2);
        o.normalization = norms[k];
        o.name = "features";
        mc_layer *l = make_feature(ctx, &o);
        lt_setup_same(l, &s);
        mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
        ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_INFERENCE), MC_ERR_STATE);
        char want[200];
        snprintf(want, sizeof want, "Layer 'features': the '%s' normalization has no statistics",
                 mc_normalization_name(norms[k]));
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), want));
        mc_input_set_fitted(l, true);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_INFERENCE);
        for (int i = 0; i < 4; i++)
            ck_assert(y[i] == (k == 3 ? -1.0f + 2.0f * x[i] : x[i]));
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* The fitted statistics do not depend on how the data is split into batches (up to one
 * rounding of the float result). */
START_TEST(test_batch_split_independence)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {55};
    const int N = 40, C = 3, H = 2, W = 2, P = C * H * W;
    float *x = test_floats((size_t)N * P);
    for (int i = 0; i < N * P; i++)
        x[i] = (float)(100.0 + (i % P) + 3.0 * test_rng_normal(&r));
    const int splits[][6] = {{40}, {1, 39}, {1, 3, 7, 13, 16}, {20, 20}, {13, 1, 1, 25}};
    const mc_norm_dimension dims[3] = {MC_NORMDIM_ELEMENT, MC_NORMDIM_CHANNEL, MC_NORMDIM_ALL};
    for (int d = 0; d < 3; d++) {
        ref_stats ref;
        ref_fit(x, N, C, H * W, dims[d], &ref);
        for (int norm = 0; norm < 2; norm++) {
            float first[2][12];
            for (size_t sp = 0; sp < sizeof splits / sizeof splits[0]; sp++) {
                mc_image_input_options o = mc_image_input_default(H, W, C);
                o.normalization = norm == 0 ? MC_NORM_ZSCORE : MC_NORM_RESCALE_SYMMETRIC;
                o.normalization_dimension = dims[d];
                mc_layer *l = make_image(ctx, &o);
                ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
                int done = 0;
                for (int b = 0; b < 6 && splits[sp][b] > 0; b++) {
                    mc_input_fit_add(l, x + (size_t)done * P, splits[sp][b]);
                    done += splits[sp][b];
                }
                ck_assert_int_eq(done, N);
                ck_assert_int_eq(mc_input_fit_end(l), MC_OK);
                for (int b = 0; b < 2; b++) {
                    const char *name = norm == 0 ? (b == 0 ? "Mean" : "StandardDeviation")
                                                 : (b == 0 ? "Min" : "Max");
                    const float *v = lt_buffer(l, name)->data;
                    for (int g = 0; g < ref.G; g++) {
                        const double want = norm == 0 ? (b == 0 ? ref.mean[g] : ref.sd[g])
                                                      : (b == 0 ? ref.lo[g] : ref.hi[g]);
                        ck_assert_msg(fabs(v[g] - want) <= 1.2e-7 * fabs(want),
                                      "split %zu dim %d: %s[%d] = %.9g, reference %.9g", sp, d,
                                      name, g, v[g], want);
                        if (sp == 0)
                            first[b][g] = v[g];
                        else if (norm == 1) /* min and max are exact */
                            ck_assert(v[g] == first[b][g]);
                        else
                            ck_assert_msg(fabsf(v[g] - first[b][g]) <= 1.2e-7f * fabsf(v[g]),
                                          "split %zu dim %d: %s[%d] = %.9g vs %.9g in one batch",
                                          sp, d, name, g, v[g], first[b][g]);
                    }
                }
                mc_layer_destroy(l);
            }
        }
    }
    free(x);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* A feature (or channel) that never changes: StandardDeviation 0 and Max == Min are kept as
 * they are, and the output is centred but not scaled. */
START_TEST(test_constant_data)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float x[8] = {7, 1, 7, 2, 7, 4, 7, 5}, y[8];
    mc_shape s = test_shape(2, 4, 2);
    const mc_normalization norms[3] = {MC_NORM_ZSCORE, MC_NORM_RESCALE_ZERO_ONE,
                                       MC_NORM_RESCALE_SYMMETRIC};
    for (int k = 0; k < 3; k++) {
        mc_feature_input_options o = mc_feature_input_default(2);
        o.normalization = norms[k];
        mc_layer *l = make_feature(ctx, &o);
        lt_setup_same(l, &s);
        ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
        mc_input_fit_add(l, x, 1); /* in two batches, so merging meets the constant too */
        mc_input_fit_add(l, x + 2, 3);
        ck_assert_int_eq(mc_input_fit_end(l), MC_OK);
        if (k == 0) {
            ck_assert(lt_buffer(l, "StandardDeviation")->data[0] == 0.0f);
            ck_assert(lt_buffer(l, "Mean")->data[0] == 7.0f);
        } else {
            ck_assert(lt_buffer(l, "Min")->data[0] == 7.0f);
            ck_assert(lt_buffer(l, "Max")->data[0] == 7.0f);
        }
        float probe[8] = {7, 3, 9, 3, 4.5f, 3, 7, 3};
        lt_forward_data(l, probe, &s, y, &s, MC_MODE_INFERENCE);
        for (int i = 0; i < 8; i += 2) {
            const float want = k == 2 ? -1.0f + 2.0f * (probe[i] - 7.0f) : probe[i] - 7.0f;
            ck_assert_msg(y[i] == want, "norm %d: y[%d] = %g, want %g", k, i, y[i], want);
            ck_assert(isfinite(y[i + 1]));
        }
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_non_finite_data)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_image_input_options o = mc_image_input_default(2, 2, 2);
    o.name = "in";
    o.normalization = MC_NORM_ZSCORE;
    mc_layer *l = make_image(ctx, &o);
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    float bad[24];
    memcpy(bad, x, sizeof bad);
    bad[8 + 5] = NAN;       /* observation 2 of the batch: channel 2, row 1, column 2 */
    bad[16 + 0] = INFINITY; /* later: not the one reported */
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    mc_input_fit_add(l, x, 3);
    mc_input_fit_add(l, bad, 3);
    mc_input_fit_add(l, x, 3);
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_NUMERIC);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'in': observation 5 of the training data has the non-finite value nan "
                     "(channel 2, row 1, column 2); the 'zscore' normalization needs finite data");
    /* Nothing changed: still neutral and not fitted. */
    ck_assert(!mc_input_is_fitted(l));
    for (int i = 0; i < 8; i++) {
        ck_assert(lt_buffer(l, "Mean")->data[i] == 0.0f);
        ck_assert(lt_buffer(l, "StandardDeviation")->data[i] == 1.0f);
    }
    /* A new fit on good data works. */
    fit_ok(l, x, 3);
    ck_assert(lt_buffer(l, "Mean")->data[3] == 11.0f);
    mc_layer_destroy(l);

    mc_feature_input_options fo = mc_feature_input_default(4);
    fo.normalization = MC_NORM_RESCALE_SYMMETRIC;
    l = make_feature(ctx, &fo);
    float f[8] = {1, 2, 3, 4, 5, 6, -INFINITY, 8};
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    mc_input_fit_add(l, f, 2);
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_NUMERIC);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "featureInputLayer (unnamed): observation 2 of the training data has the "
                     "non-finite value -inf (feature 3); the 'rescale-symmetric' normalization "
                     "needs finite data");
    ck_assert(!mc_input_is_fitted(l));
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_fit_state_errors)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_feature_input_options o = mc_feature_input_default(3);
    o.name = "in";
    o.normalization = MC_NORM_ZEROCENTER;
    mc_layer *l = make_feature(ctx, &o);
    float x[3] = {1, 2, 3};
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'in': mc_input_fit_end called without mc_input_fit_begin");
    mc_input_fit_add(l, x, 1); /* without begin: ignored */
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    mc_input_fit_add(l, NULL, 1);
    mc_input_fit_add(l, x, 0);
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'in': no observations were added to fit the 'zerocenter' "
                     "normalization");
    ck_assert(!mc_input_is_fitted(l));
    /* The fit is over after end, successful or not. */
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_STATE);
    /* Beginning again discards what was added before. */
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    mc_input_fit_add(l, x, 1);
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    float x2[3] = {5, 5, 5};
    mc_input_fit_add(l, x2, 1);
    ck_assert_int_eq(mc_input_fit_end(l), MC_OK);
    ck_assert(lt_buffer(l, "Mean")->data[0] == 5.0f);
    /* A loader that restored the buffers marks the layer fitted. */
    mc_input_set_fitted(l, false);
    ck_assert(!mc_input_is_fitted(l));
    mc_input_set_fitted(l, true);
    ck_assert(mc_input_is_fitted(l));
    mc_layer_destroy(l);

    /* 'none' fits nothing but still counts observations. */
    o.normalization = MC_NORM_NONE;
    l = make_feature(ctx, &o);
    ck_assert_int_eq(mc_input_fit_begin(l), MC_OK);
    ck_assert_int_eq(mc_input_fit_end(l), MC_ERR_STATE);
    fit_ok(l, x, 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Backward is callable without an input gradient (what networks do); asked for one, it gives
 * the exact derivative, checked by finite differences. */
START_TEST(test_backward)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {61};
    const mc_normalization norms[3] = {MC_NORM_ZSCORE, MC_NORM_RESCALE_SYMMETRIC, MC_NORM_NONE};
    for (int k = 0; k < 3; k++) {
        mc_image_input_options o = mc_image_input_default(2, 3, 2);
        o.normalization = norms[k];
        o.normalization_dimension = MC_NORMDIM_CHANNEL;
        mc_layer *l = make_image(ctx, &o);
        mc_shape s = test_shape(4, 3, 2, 2, 3);
        lt_setup_same(l, &s);
        float x[36], y[36], dy[36];
        test_fill_normal(&r, x, 36, 2.0, 3.0);
        test_fill_normal(&r, dy, 36, 0.0, 1.0);
        fit_ok(l, x, 3);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
        mc_tensor dout = mc_tensor_view(dy, &s);
        ck_assert_int_eq(mc_layer_backward(l, &in, 1, &out, &dout, NULL), MC_OK);
        gradcheck_expect(l, &in, 1, 1e-2, 1e-3, 1e-3, 36, "norm %d", k);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

/* Fits on the first two observations of the data `user`; a successful fit leaves the layer
 * fitted. */
static mc_status fit_two(mc_layer *l, void *user)
{
    mc_status st = mc_input_fit_begin(l);
    if (st == MC_OK) {
        mc_input_fit_add(l, user, 2);
        st = mc_input_fit_end(l);
    }
    if (st == MC_OK)
        ck_assert(mc_input_is_fitted(l));
    return st;
}

/* Fails the k-th allocation of create + setup + fit + describe for every k until all succeed:
 * each failure is MC_ERR_NOMEM with a message, and nothing leaks. */
START_TEST(test_allocation_failures)
{
    float x[2 * 3 * 4 * 5];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)i;
    for (int config = 0; config < 3; config++) {
        mc_image_input_options image = mc_image_input_default(4, 5, 3);
        image.name = "input";
        image.normalization = config == 0 ? MC_NORM_ZSCORE : MC_NORM_RESCALE_SYMMETRIC;
        image.normalization_dimension = config == 0 ? MC_NORMDIM_AUTO : MC_NORMDIM_CHANNEL;
        mc_feature_input_options feature = mc_feature_input_default(60);
        feature.name = "input";
        feature.normalization = MC_NORM_ZEROCENTER;
        const mc_shape s = config < 2 ? test_shape(4, 2, 3, 4, 5) : test_shape(2, 2, 60);
        const lt_alloc_case c = {.create = config < 2 ? create_image : create_feature,
                                 .opts = config < 2 ? (const void *)&image : &feature,
                                 .setups = &s,
                                 .n_setups = 1,
                                 .then = fit_two,
                                 .user = x,
                                 .min_allocs = config == 0   ? 10
                                               : config == 1 ? 8
                                                             : 7};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *input_suite(void)
{
    Suite *s = suite_create("input");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_buffers_per_normalization);
    tcase_add_test(tc, test_normalization_names);
    tcase_add_test(tc, test_display_image);
    tcase_add_test(tc, test_display_feature);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_create_validation);
    tcase_add_test(tc, test_shape_mismatch);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_reference_all_modes, 0, 15);
    tcase_add_test(tc, test_neutral_before_fit);
    tcase_add_test(tc, test_batch_split_independence);
    tcase_add_test(tc, test_constant_data);
    tcase_add_test(tc, test_backward);
    suite_add_tcase(s, tc);
    tc = tcase_create("fitting");
    tcase_add_test(tc, test_non_finite_data);
    tcase_add_test(tc, test_fit_state_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(input_suite());
}
