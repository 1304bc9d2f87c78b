/* SPDX-License-Identifier: MIT */
/* classificationLayer and the cross-entropy kernels: classes, display, validation, labels,
 * values, extreme logits, gradients, allocation. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layertest.h"
#include "testutil.h"

static const char *const ten[] = {"cat",  "dog",   "bird", "fish", "frog",
                                  "deer", "horse", "ship", "car",  "truck"};

/* ---- Independent references ----------------------------------------------------------- */

/* Mean cross-entropy -(1/N) sum ln p[n, label_n] of probabilities in double. */
static double oracle_crossentropy(const double *p, const int *labels, int N, int K)
{
    double L = 0.0;
    for (int n = 0; n < N; n++)
        L -= log(p[n * K + labels[n]]);
    return L / N;
}

/* Softmax cross-entropy from logits, in double: mean of logsumexp(z) - z_label. */
static double oracle_logits_loss(const double *z, const int *labels, int N, int K)
{
    double L = 0.0;
    for (int n = 0; n < N; n++) {
        const double *zn = z + (size_t)n * K;
        double m = zn[0];
        for (int k = 1; k < K; k++)
            m = fmax(m, zn[k]);
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += exp(zn[k] - m);
        L += m + log(s) - zn[labels[n]];
    }
    return L / N;
}

/* The same in long double, with probabilities. */
static long double reference_ld(const float *z, const int *labels, int N, int K, long double *probs)
{
    long double L = 0.0L;
    for (int n = 0; n < N; n++) {
        const float *zn = z + (size_t)n * K;
        long double m = zn[0];
        for (int k = 1; k < K; k++)
            if (zn[k] > m)
                m = zn[k];
        long double s = 0.0L;
        for (int k = 0; k < K; k++)
            s += expl((long double)zn[k] - m);
        L += (m - (long double)zn[labels[n]]) + logl(s);
        for (int k = 0; k < K; k++)
            probs[(size_t)n * K + k] = expl((long double)zn[k] - m) / s;
    }
    return L / N;
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_classification_create(ctx, opts, out);
}

static mc_classification_options options(const char *name, const char *const *classes, int k)
{
    mc_classification_options o = mc_classification_default();
    o.name = name;
    o.classes = classes;
    o.num_classes = k;
    return o;
}

static mc_layer *make_layer(mc_ctx *ctx, const char *name, const char *const *classes, int k)
{
    const mc_classification_options o = options(name, classes, k);
    return lt_make(ctx, create, &o);
}

static void expect_create_error(const char *name, const char *const *classes, int k,
                                const char *message)
{
    const mc_classification_options o = options(name, classes, k);
    lt_expect_create_error(create, &o, MC_ERR_INVALID, message, 1);
}

/* Forward of probabilities p (N, K) in `mode`; returns the loss. */
static double forward_probs(mc_layer *l, float *p, float *y, int N, int K, mc_mode mode)
{
    mc_shape s = test_shape(2, N, K);
    lt_forward_data(l, p, &s, y, &s, mode);
    return mc_classification_loss(l);
}

static void backward_probs(mc_layer *l, float *p, float *y, float *dy, float *dx, int N, int K)
{
    mc_shape s = test_shape(2, N, K);
    lt_backward_data(l, p, &s, y, &s, dy, dx);
}

/* ---- Properties, classes and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    mc_classification_options o = mc_classification_default();
    ck_assert_ptr_null(o.name);
    ck_assert_ptr_null(o.classes);
    ck_assert_int_eq(o.num_classes, 0);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, NULL, NULL, 0);
    lt_expect_identity(l, "classificationLayer", "ClassificationOutputLayer",
                       "Classification Output", "classoutput", MC_ROLE_OUTPUT);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    ck_assert_int_eq(mc_classification_num_classes(l), 0);
    ck_assert_ptr_null(mc_classification_class_name(l, 0));
    ck_assert(isnan(mc_classification_loss(l)));

    /* The accessors on another kind of layer. */
    mc_layer *r = NULL;
    ck_assert_int_eq(mc_relu_create(ctx, "r", &r), MC_OK);
    ck_assert_int_eq(mc_classification_num_classes(r), 0);
    ck_assert_ptr_null(mc_classification_class_name(r, 0));
    ck_assert(isnan(mc_classification_loss(r)));
    int labels[1] = {0};
    lt_expect(ctx, mc_classification_set_labels(r, labels, 1), MC_ERR_INVALID,
              "Layer 'r': setting labels needs a classificationLayer, not a reluLayer", 1);
    lt_expect(ctx, mc_classification_set_classes(r, ten, 2), MC_ERR_INVALID,
              "Layer 'r': setting classes needs a classificationLayer, not a reluLayer", 1);
    mc_layer_destroy(r);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    /* classificationLayer('Name','output'), from MATLAB's documentation. */
    mc_layer *l = make_layer(ctx, "output", NULL, 0);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "crossentropyex");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ClassificationOutputLayer with properties:\n"
                       "\n"
                       "            Name: 'output'\n"
                       "         Classes: 'auto'\n"
                       "    ClassWeights: 'none'\n"
                       "      OutputSize: 'auto'\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    LossFunction: 'crossentropyex'\n"
                       "\n"
                       "  Show all properties\n");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  ClassificationOutputLayer with properties:\n"
                       "\n"
                       "            Name: 'output'\n"
                       "       NumInputs: 1\n"
                       "      InputNames: {'in'}\n"
                       "         Classes: 'auto'\n"
                       "    ClassWeights: 'none'\n"
                       "      OutputSize: 'auto'\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    LossFunction: 'crossentropyex'\n");
    /* Once the classes are known (as training sets them). */
    ck_assert_int_eq(mc_classification_set_classes(l, ten, 10), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "crossentropyex with 'cat' and 9 other classes");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ClassificationOutputLayer with properties:\n"
                       "\n"
                       "            Name: 'output'\n"
                       "         Classes: [10\xc3\x97"
                       "1 categorical]\n"
                       "    ClassWeights: 'none'\n"
                       "      OutputSize: 10\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    LossFunction: 'crossentropyex'\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);

    const char *const two[] = {"cat", "dog"}, *const three[] = {"0", "1", "2"};
    l = make_layer(ctx, NULL, two, 2);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "crossentropyex with classes 'cat' and 'dog'");
    mc_layer_destroy(l);
    l = make_layer(ctx, NULL, three, 3);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "crossentropyex with '0' and 2 other classes");
    mc_layer_destroy(l);
    l = make_layer(ctx, NULL, two, 1);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "crossentropyex with class 'cat'");
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "         Classes: [1\xc3\x97"
                                       "1 categorical]\n"
                                       "    ClassWeights: 'none'\n"
                                       "      OutputSize: 1\n"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_classes)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    char first[8] = "cat";
    const char *names[3] = {first, "dog", "emu"};
    mc_layer *l = make_layer(ctx, "output", names, 3);
    first[0] = 'b'; /* the layer keeps its own copy */
    ck_assert_int_eq(mc_classification_num_classes(l), 3);
    ck_assert_str_eq(mc_classification_class_name(l, 0), "cat");
    ck_assert_str_eq(mc_classification_class_name(l, 2), "emu");
    ck_assert_ptr_null(mc_classification_class_name(l, 3));
    ck_assert_ptr_null(mc_classification_class_name(l, -1));

    /* Replacing them, then the errors, which leave the classes as they were. */
    ck_assert_int_eq(mc_classification_set_classes(l, ten + 5, 4), MC_OK);
    ck_assert_int_eq(mc_classification_num_classes(l), 4);
    ck_assert_str_eq(mc_classification_class_name(l, 3), "car");
    lt_expect(ctx, mc_classification_set_classes(l, ten, 0), MC_ERR_INVALID,
              "Layer 'output': at least 1 class name is needed; got 0 names", 1);
    lt_expect(ctx, mc_classification_set_classes(l, NULL, 2), MC_ERR_INVALID,
              "Layer 'output': at least 1 class name is needed; got 2 names and no array", 1);
    const char *dup[] = {"cat", "dog", "cat"};
    lt_expect(ctx, mc_classification_set_classes(l, dup, 3), MC_ERR_INVALID,
              "Layer 'output': the class name 'cat' appears twice (classes 1 and 3); class "
              "names must be unique",
              1);
    const char *empty[] = {"cat", "", "dog"}, *null_name[] = {"cat", "dog", NULL};
    lt_expect(ctx, mc_classification_set_classes(l, empty, 3), MC_ERR_INVALID,
              "Layer 'output': class 2 of 3 has an empty name", 1);
    lt_expect(ctx, mc_classification_set_classes(l, null_name, 3), MC_ERR_INVALID,
              "Layer 'output': class 3 of 3 has an empty name", 1);
    ck_assert_int_eq(mc_classification_num_classes(l), 4);
    ck_assert_str_eq(mc_classification_class_name(l, 0), "deer");

    /* After setup the count must match the input's channels. */
    mc_shape s = test_shape(2, 2, 4);
    lt_setup(l, &s, 1);
    lt_expect(ctx, mc_classification_set_classes(l, ten, 3), MC_ERR_SHAPE,
              "Layer 'output': 3 class names given but the input has 4 channels", 1);
    ck_assert_int_eq(mc_classification_set_classes(l, ten, 4), MC_OK);
    ck_assert_str_eq(mc_classification_class_name(l, 0), "cat");
    lt_teardown(&a, ctx, l);

    expect_create_error(NULL, NULL, 3,
                        "classificationLayer (unnamed): Classes must be 'auto' (no names) or at "
                        "least 1 class name; got 3 names and no array");
    expect_create_error("out", ten, 0,
                        "Layer 'out': Classes must be 'auto' (no names) or at least 1 class "
                        "name; got 0 names");
    expect_create_error("out", ten, -2,
                        "Layer 'out': Classes must be 'auto' (no names) or at least 1 class "
                        "name; got -2 names");
    expect_create_error("out", dup, 3,
                        "Layer 'out': the class name 'cat' appears twice (classes 1 and 3); "
                        "class names must be unique");
    expect_create_error("out", empty, 3, "Layer 'out': class 2 of 3 has an empty name");
}
END_TEST

/* ---- Setup and labels ----------------------------------------------------------------- */

START_TEST(test_setup_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, "output", NULL, 0);
    const mc_shape good[] = {test_shape(2, 4, 10), test_shape(4, 4, 10, 1, 1)};
    for (int k = 0; k < 2; k++) {
        mc_shape out = lt_setup(l, &good[k], 1);
        ck_assert_int_eq(out.ndim, good[k].ndim);
        ck_assert_int_eq(out.dims[1], 10);
    }
    const struct {
        mc_shape s;
        const char *dims;
    } bad[] = {{test_shape(4, 4, 10, 2, 2), "4x10x2x2"},
               {test_shape(4, 4, 10, 1, 2), "4x10x1x2"},
               {test_shape(3, 4, 10, 1), "4x10x1"},
               {test_shape(5, 4, 10, 1, 1, 1), "4x10x1x1x1"}};
    for (int k = 0; k < 4; k++) {
        char want[200];
        snprintf(want, sizeof want,
                 "Layer 'output': the input has shape [%s]; expected class probabilities "
                 "(N, K) or (N, K, 1, 1)",
                 bad[k].dims);
        lt_expect_setup_error(l, &bad[k].s, 1, MC_ERR_SHAPE, want);
    }
    mc_layer_destroy(l);
    const char *const three[] = {"a", "b", "c"};
    l = make_layer(ctx, NULL, three, 3);
    lt_expect_setup_error(l, &good[1], 1, MC_ERR_SHAPE,
                          "classificationLayer (unnamed): the input has 10 channels but there "
                          "are 3 classes");
    mc_shape fits = test_shape(2, 7, 3);
    lt_setup(l, &fits, 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_labels)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, "output", NULL, 0);
    int labels[5] = {0, 9, 3, 1, 2};
    lt_expect(ctx, mc_classification_set_labels(l, labels, 4), MC_ERR_STATE,
              "Layer 'output': labels set before setup", 1);
    mc_shape s = test_shape(2, 4, 10);
    lt_setup(l, &s, 1);
    ck_assert_int_eq(mc_classification_set_labels(l, labels, 4), MC_OK);
    lt_expect(ctx, mc_classification_set_labels(l, labels, 5), MC_ERR_INVALID,
              "Layer 'output': 5 labels given; the layer was set up for 1 to 4 observations", 1);
    lt_expect(ctx, mc_classification_set_labels(l, labels, 0), MC_ERR_INVALID,
              "Layer 'output': 0 labels given; the layer was set up for 1 to 4 observations", 1);
    lt_expect(ctx, mc_classification_set_labels(l, NULL, 2), MC_ERR_INVALID,
              "Layer 'output': 2 labels (no array) given; the layer was set up for 1 to 4 "
              "observations",
              1);
    labels[2] = 10;
    lt_expect(ctx, mc_classification_set_labels(l, labels, 4), MC_ERR_INVALID,
              "Layer 'output': labels[2] is 10; labels must be 0 to 9 for 10 classes", 1);
    labels[2] = 3;
    labels[0] = -1;
    lt_expect(ctx, mc_classification_set_labels(l, labels, 4), MC_ERR_INVALID,
              "Layer 'output': labels[0] is -1; labels must be 0 to 9 for 10 classes", 1);
    labels[0] = 0;

    /* A failed call leaves no labels behind: the loss is NaN. */
    float p[40], y[40];
    for (int i = 0; i < 40; i++)
        p[i] = 0.1f;
    ck_assert(isnan(forward_probs(l, p, y, 4, 10, MC_MODE_TRAINING)));
    ck_assert_int_eq(mc_classification_set_labels(l, labels, 4), MC_OK);
    ck_assert_double_eq_tol(forward_probs(l, p, y, 4, 10, MC_MODE_TRAINING), -log(0.1f), 1e-12);
    /* Setup forgets the labels. */
    lt_setup(l, &s, 1);
    ck_assert(isnan(forward_probs(l, p, y, 4, 10, MC_MODE_TRAINING)));
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values and gradients of the layer ------------------------------------------------ */

START_TEST(test_hand_computed)
{
    /* p = [0.7 0.2 0.1; 0.25 0.25 0.5], labels [0 2]: loss -(ln 0.7 + ln 0.5) / 2 and
     * dL/dp = [-1/1.4 0 0; 0 0 -1]. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, NULL, NULL, 0);
    mc_shape s = test_shape(4, 2, 3, 1, 1);
    lt_setup(l, &s, 1);
    float p[6] = {0.7f, 0.2f, 0.1f, 0.25f, 0.25f, 0.5f}, y[6];
    const int labels[2] = {0, 2};
    ck_assert_int_eq(mc_classification_set_labels(l, labels, 2), MC_OK);
    mc_tensor in = mc_tensor_view(p, &s), out = mc_tensor_view(y, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    ck_assert_mem_eq(y, p, sizeof p); /* the output is the input */
    ck_assert_double_eq_tol(mc_classification_loss(l), -(log(0.7f) + log(0.5)) / 2, 1e-12);
    float dy[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, dx[6] = {9, 9, 9, 9, 9, 9};
    mc_tensor dout = mc_tensor_view(dy, &s), din = mc_tensor_view(dx, &s);
    lt_backward(l, &in, 1, &out, &dout, &din); /* dout is not used */
    const float want[6] = {(float)(-1.0 / (2.0 * 0.7f)), 0, 0, 0, 0, -1.0f};
    ck_assert_mem_eq(dx, want, sizeof want);
    /* Inference computes the loss as well. */
    p[0] = 0.5f;
    lt_forward(l, &in, 1, &out, MC_MODE_INFERENCE);
    ck_assert_double_eq_tol(mc_classification_loss(l), -(log(0.5) + log(0.5)) / 2, 1e-12);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* A zero probability is taken as FLT_MIN: finite loss and gradient. */
START_TEST(test_zero_probability)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, NULL, NULL, 0);
    mc_shape s = test_shape(2, 2, 2);
    lt_setup(l, &s, 1);
    float p[4] = {1.0f, 0.0f, 0.0f, 1.0f}, y[4], dx[4], dy[4] = {0};
    const int labels[2] = {1, 1};
    ck_assert_int_eq(mc_classification_set_labels(l, labels, 2), MC_OK);
    const double loss = forward_probs(l, p, y, 2, 2, MC_MODE_TRAINING);
    ck_assert_double_eq_tol(loss, -log((double)FLT_MIN) / 2, 1e-12);
    backward_probs(l, p, y, dy, dx, 2, 2);
    ck_assert(isfinite(dx[1]));
    ck_assert(dx[1] == (float)(-1.0 / (2.0 * FLT_MIN)));
    ck_assert(dx[3] == -0.5f && dx[0] == 0.0f && dx[2] == 0.0f);
    /* Subnormal probabilities are clamped as well. */
    p[1] = FLT_MIN / 4;
    ck_assert_double_eq_tol(forward_probs(l, p, y, 2, 2, MC_MODE_TRAINING),
                            -log((double)FLT_MIN) / 2, 1e-12);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Without labels for the batch: NaN loss and a NaN gradient (not silent zeros). */
START_TEST(test_missing_labels)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, NULL, NULL, 0);
    mc_shape s = test_shape(2, 3, 2);
    lt_setup(l, &s, 1);
    float p[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, y[6], dy[6] = {0}, dx[6];
    ck_assert(isnan(forward_probs(l, p, y, 3, 2, MC_MODE_TRAINING)));
    backward_probs(l, p, y, dy, dx, 3, 2);
    for (int i = 0; i < 6; i++)
        ck_assert(isnan(dx[i]));
    /* Labels for 2 observations, a batch of 3: no loss; a batch of 2: the loss. */
    const int labels[2] = {0, 1};
    ck_assert_int_eq(mc_classification_set_labels(l, labels, 2), MC_OK);
    ck_assert(isnan(forward_probs(l, p, y, 3, 2, MC_MODE_TRAINING)));
    backward_probs(l, p, y, dy, dx, 3, 2);
    ck_assert(isnan(dx[0]));
    ck_assert_double_eq_tol(forward_probs(l, p, y, 2, 2, MC_MODE_TRAINING), log(2.0), 1e-12);
    backward_probs(l, p, y, dy, dx, 2, 2);
    ck_assert(dx[0] == -1.0f && dx[1] == 0.0f && dx[2] == 0.0f && dx[3] == -1.0f);
    backward_probs(l, p, y, dy, NULL, 2, 2); /* no din: nothing to write */
    lt_teardown(&a, ctx, l);
}
END_TEST

/* dL/dp from backward against central differences of the double oracle, for every element. */
START_TEST(test_gradient_oracle)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {31};
    enum { N = 4, K = 5 };
    mc_layer *l = make_layer(ctx, NULL, NULL, 0);
    mc_shape s = test_shape(2, N, K);
    lt_setup(l, &s, 1);
    float p[N * K], y[N * K], dy[N * K] = {0}, dx[N * K];
    double pd[N * K];
    for (int n = 0; n < N; n++) { /* rows of positive values, away from 0 */
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += pd[n * K + k] = 0.2 + test_rng_uniform(&r);
        for (int k = 0; k < K; k++) {
            p[n * K + k] = (float)(pd[n * K + k] / sum);
            pd[n * K + k] = p[n * K + k];
        }
    }
    const int labels[N] = {3, 0, 4, 3};
    ck_assert_int_eq(mc_classification_set_labels(l, labels, N), MC_OK);
    const double loss = forward_probs(l, p, y, N, K, MC_MODE_TRAINING);
    ck_assert_double_eq_tol(loss, oracle_crossentropy(pd, labels, N, K), 1e-12);
    backward_probs(l, p, y, dy, dx, N, K);
    for (int i = 0; i < N * K; i++) {
        const double saved = pd[i], h = 1e-6 * saved;
        pd[i] = saved + h;
        const double lp = oracle_crossentropy(pd, labels, N, K);
        pd[i] = saved - h;
        const double lm = oracle_crossentropy(pd, labels, N, K);
        pd[i] = saved;
        const double num = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(dx[i] - num) <= 1e-9 + 1e-6 * fabs(num), "dp[%d] = %.9g, oracle %.9g", i,
                      dx[i], num);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- The kernels ---------------------------------------------------------------------- */

START_TEST(test_crossentropy_kernel)
{
    const float p[6] = {0.5f, 0.25f, 0.25f, 0.125f, 0.75f, 0.125f};
    const int labels[2] = {1, 0};
    ck_assert_double_eq_tol(mc_crossentropy_kernel(p, labels, 2, 3), (log(4.0) + log(8.0)) / 2,
                            1e-14);
    const float q[2] = {NAN, 0.5f};
    const int zero[1] = {0};
    ck_assert(isnan(mc_crossentropy_kernel(q, zero, 1, 2)));
}
END_TEST

START_TEST(test_fused_hand_computed)
{
    /* Logits [0 0] and [ln3 0], labels [0 1]: losses ln 2 and ln 4; probabilities
     * [1/2 1/2], [3/4 1/4]; dlogits (p - onehot) / 2. */
    const float z[4] = {0.0f, 0.0f, (float)log(3.0), 0.0f};
    const int labels[2] = {0, 1};
    float probs[4], d[4];
    const double loss = mc_softmax_crossentropy_kernel(z, labels, probs, d, 2, 2);
    ck_assert_double_eq_tol(loss, (log(2.0) + log(4.0)) / 2, 1e-7);
    const double pw[4] = {0.5, 0.5, 0.75, 0.25}, dw[4] = {-0.25, 0.25, 0.375, -0.375};
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq_tol(probs[i], pw[i], 1e-7);
        ck_assert_double_eq_tol(d[i], dw[i], 1e-7);
    }
    /* NULL outputs are allowed and give the same loss. */
    ck_assert(mc_softmax_crossentropy_kernel(z, labels, NULL, NULL, 2, 2) == loss);
    ck_assert(mc_softmax_crossentropy_kernel(z, labels, probs, NULL, 2, 2) == loss);
    ck_assert(mc_softmax_crossentropy_kernel(z, labels, NULL, d, 2, 2) == loss);
    /* In place: dlogits over the logits. */
    float zz[4];
    memcpy(zz, z, sizeof zz);
    ck_assert(mc_softmax_crossentropy_kernel(zz, labels, NULL, zz, 2, 2) == loss);
    ck_assert_mem_eq(zz, d, sizeof d);
}
END_TEST

/* Extreme logits, where softmax underflows to exactly 0: the loss and the gradient are finite
 * and equal to their analytic values. */
START_TEST(test_fused_extreme_logits)
{
    const float big = 1e30f;
    const struct {
        float z[3];
        int label;
        double loss; /* analytic */
        float d[3];  /* p - onehot, for N = 1 */
    } cases[] = {
        {{1e4f, -1e4f, 0.0f}, 0, 0.0, {0, 0, 0}}, /* ln(1 + e^-1e4 + e^-2e4) rounds to 0 */
        {{1e4f, -1e4f, 0.0f}, 1, 2e4, {1, -1, 0}},
        {{1e4f, -1e4f, 0.0f}, 2, 1e4, {1, 0, -1}},
        {{big, 0.0f, -big}, 2, 2.0 * (double)big, {1, 0, -1}},
        {{-big, big, 0.0f}, 1, 0.0, {0, 0, 0}},
        {{big, big, -big}, 0, log(2.0), {-0.5f, 0.5f, 0}},
        {{-big, -big, -big}, 1, log(3.0), {1.0f / 3, -2.0f / 3, 1.0f / 3}},
        {{FLT_MAX, -FLT_MAX, 0.0f}, 1, 2.0 * (double)FLT_MAX, {1, -1, 0}},
    };
    const int C = sizeof cases / sizeof cases[0];
    for (int k = 0; k < C; k++) {
        float probs[3], d[3];
        const double loss =
            mc_softmax_crossentropy_kernel(cases[k].z, &cases[k].label, probs, d, 1, 3);
        ck_assert_msg(isfinite(loss), "case %d: loss %g", k, loss);
        ck_assert_msg(fabs(loss - cases[k].loss) <= 1e-15 * fabs(cases[k].loss) + 1e-15,
                      "case %d: loss %.17g, want %.17g", k, loss, cases[k].loss);
        long double pl[3];
        const long double ref = reference_ld(cases[k].z, &cases[k].label, 1, 3, pl);
        ck_assert_msg(fabsl(loss - ref) <= 1e-15L * fabsl(ref) + 1e-15L,
                      "case %d: loss %.17g, long double %.17Lg", k, loss, ref);
        for (int i = 0; i < 3; i++) {
            ck_assert_msg(isfinite(d[i]) && isfinite(probs[i]), "case %d: non-finite", k);
            ck_assert_msg(fabsf(d[i] - cases[k].d[i]) <= 1e-7f, "case %d: d[%d] = %.9g, want %.9g",
                          k, i, d[i], cases[k].d[i]);
            ck_assert_msg(fabsl(probs[i] - pl[i]) <= 1e-7L, "case %d: p[%d] = %.9g", k, i,
                          probs[i]);
        }
    }

    /* All cases in one batch: the mean loss and gradients scaled by 1/N. */
    float z[3 * 8], d[3 * 8];
    int labels[8];
    double mean = 0;
    for (int k = 0; k < C; k++) {
        memcpy(z + 3 * k, cases[k].z, sizeof cases[k].z);
        labels[k] = cases[k].label;
        mean += cases[k].loss / C;
    }
    const double loss = mc_softmax_crossentropy_kernel(z, labels, NULL, d, C, 3);
    ck_assert_msg(fabs(loss - mean) <= 1e-15 * mean, "batch loss %.17g, want %.17g", loss, mean);
    for (int k = 0; k < C; k++)
        for (int i = 0; i < 3; i++)
            ck_assert_float_eq_tol(d[3 * k + i], cases[k].d[i] / C, 1e-8f);

    /* Why the fused kernel exists: softmax then cross-entropy sees p = 0 there and reports
     * -ln(FLT_MIN) = 87.3 instead of 2e4. */
    float p[3];
    mc_softmax_crossentropy_kernel(cases[1].z, &cases[1].label, p, NULL, 1, 3);
    ck_assert(p[1] == 0.0f);
    ck_assert_double_eq_tol(mc_crossentropy_kernel(p, &cases[1].label, 1, 3), -log((double)FLT_MIN),
                            1e-9);
}
END_TEST

/* Random logits of several scales against the long-double reference. */
START_TEST(test_fused_random)
{
    test_rng r = {41 + (uint64_t)_i};
    const double scale[] = {1.0, 10.0, 100.0, 1e4};
    enum { N = 6, K = 7 };
    float z[N * K], probs[N * K], d[N * K];
    int labels[N];
    test_fill_normal(&r, z, N * K, 0.0, scale[_i]);
    for (int n = 0; n < N; n++)
        labels[n] = (int)(test_rng_uniform(&r) * K);
    long double pl[N * K];
    const long double ref = reference_ld(z, labels, N, K, pl);
    const double loss = mc_softmax_crossentropy_kernel(z, labels, probs, d, N, K);
    ck_assert_msg(fabsl(loss - ref) <= 1e-14L * fabsl(ref) + 1e-15L, "loss %.17g, ref %.17Lg", loss,
                  ref);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            const int i = n * K + k;
            ck_assert_msg(fabsl(probs[i] - pl[i]) <= 1e-7L * pl[i] + 1e-30L,
                          "p[%d] = %.9g, ref %.9Lg", i, probs[i], pl[i]);
            const long double dref = (pl[i] - (k == labels[n])) / N;
            /* p - 1 is taken in double: an absolute error near 1e-16 remains. */
            ck_assert_msg(fabsl(d[i] - dref) <= 1e-7L * fabsl(dref) + 1e-15L,
                          "d[%d] = %.9g, ref %.9Lg", i, d[i], dref);
        }
}
END_TEST

/* dlogits against central differences of the double oracle, for every element. */
START_TEST(test_fused_gradient)
{
    test_rng r = {51 + (uint64_t)_i};
    const double scale[] = {1.0, 5.0, 30.0};
    enum { N = 3, K = 5 };
    float z[N * K], d[N * K];
    double zd[N * K];
    int labels[N] = {4, 0, 2};
    test_fill_normal(&r, z, N * K, 0.5, scale[_i]);
    for (int i = 0; i < N * K; i++)
        zd[i] = z[i];
    const double loss = mc_softmax_crossentropy_kernel(z, labels, NULL, d, N, K);
    ck_assert_double_eq_tol(loss, oracle_logits_loss(zd, labels, N, K), 1e-12 * (1 + loss));
    const double h = 1e-5;
    for (int i = 0; i < N * K; i++) {
        const double saved = zd[i];
        zd[i] = saved + h;
        const double lp = oracle_logits_loss(zd, labels, N, K);
        zd[i] = saved - h;
        const double lm = oracle_logits_loss(zd, labels, N, K);
        zd[i] = saved;
        const double num = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(d[i] - num) <= 1e-8 + 1e-6 * fabs(num), "d[%d] = %.9g, oracle %.9g", i,
                      d[i], num);
    }
}
END_TEST

/* For moderate logits the fused kernel equals softmaxLayer followed by classificationLayer:
 * the same probabilities, loss, and chained gradient. */
START_TEST(test_fused_matches_layers)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {61};
    enum { N = 5, K = 4 };
    mc_layer *sm = NULL;
    ck_assert_int_eq(mc_softmax_create(ctx, NULL, &sm), MC_OK);
    mc_layer *cl = make_layer(ctx, NULL, NULL, 0);
    mc_shape s = test_shape(2, N, K);
    lt_setup(sm, &s, 1);
    lt_setup(cl, &s, 1);
    float z[N * K], p[N * K], y[N * K], dy[N * K] = {0}, dp[N * K], dz[N * K];
    float probs[N * K], d[N * K];
    test_fill_normal(&r, z, N * K, 0.0, 2.0);
    const int labels[N] = {0, 3, 1, 1, 2};
    ck_assert_int_eq(mc_classification_set_labels(cl, labels, N), MC_OK);
    mc_tensor tz = mc_tensor_view(z, &s), tp = mc_tensor_view(p, &s), ty = mc_tensor_view(y, &s);
    mc_tensor tdy = mc_tensor_view(dy, &s), tdp = mc_tensor_view(dp, &s),
              tdz = mc_tensor_view(dz, &s);
    lt_forward(sm, &tz, 1, &tp, MC_MODE_TRAINING);
    lt_forward(cl, &tp, 1, &ty, MC_MODE_TRAINING);
    lt_backward(cl, &tp, 1, &ty, &tdy, &tdp);
    lt_backward(sm, &tz, 1, &tp, &tdp, &tdz);
    const double loss = mc_softmax_crossentropy_kernel(z, labels, probs, d, N, K);
    ck_assert_double_eq_tol(mc_classification_loss(cl), loss, 1e-6);
    for (int i = 0; i < N * K; i++) {
        ck_assert_float_eq_tol(probs[i], p[i], 1e-7f);
        ck_assert_float_eq_tol(d[i], dz[i], 1e-6f);
    }
    mc_layer_destroy(sm);
    lt_teardown(&a, ctx, cl);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

static mc_status set_classes(mc_layer *l, void *user)
{
    (void)user;
    mc_status st = mc_classification_set_classes(l, ten, 10);
    if (st == MC_OK) {
        /* A failed replacement keeps the old names. */
        ck_assert_str_eq(mc_classification_class_name(l, 9), "truck");
    }
    return st;
}

START_TEST(test_allocation_failures)
{
    const mc_shape s = test_shape(2, 8, 10);
    for (int with_classes = 0; with_classes < 2; with_classes++) {
        const mc_classification_options o =
            options("output", with_classes ? ten : NULL, with_classes ? 10 : 0);
        const lt_alloc_case c = {.create = create,
                                 .opts = &o,
                                 .setups = &s,
                                 .n_setups = 1,
                                 .then = set_classes,
                                 .min_allocs = with_classes ? 4 : 3};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *classification_suite(void)
{
    Suite *s = suite_create("classification");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_classes);
    suite_add_tcase(s, tc);
    tc = tcase_create("layer");
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_zero_probability);
    tcase_add_test(tc, test_missing_labels);
    tcase_add_test(tc, test_gradient_oracle);
    suite_add_tcase(s, tc);
    tc = tcase_create("kernels");
    tcase_add_test(tc, test_crossentropy_kernel);
    tcase_add_test(tc, test_fused_hand_computed);
    tcase_add_test(tc, test_fused_extreme_logits);
    tcase_add_loop_test(tc, test_fused_random, 0, 4);
    tcase_add_loop_test(tc, test_fused_gradient, 0, 3);
    tcase_add_test(tc, test_fused_matches_layers);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(classification_suite());
}
