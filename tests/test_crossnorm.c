/* SPDX-License-Identifier: MIT */
/* crossChannelNormalizationLayer: properties, defaults, validation, display, network files,
 * MATLAB's documented example, an odd and an even window against a double oracle, gradients,
 * the kernels alone, the write contract, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_crossnorm_create(ctx, opts, out);
}

static mc_layer *make(mc_ctx *ctx, const mc_crossnorm_options *o)
{
    return lt_make(ctx, create, o);
}

/* ---- An independent double-precision oracle ------------------------------------------- */

typedef struct point {
    int N, C, w;
    size_t S;
    double alpha, beta, k;
    const double *x, *wt;
} point;

/* y = x / (K + alpha * ss / w)^beta, ss over channels c - floor((w-1)/2) .. c + floor(w/2). */
static void oracle(const point *p, double *y)
{
    for (int n = 0; n < p->N; n++)
        for (int c = 0; c < p->C; c++)
            for (size_t s = 0; s < p->S; s++) {
                double ss = 0.0;
                for (int j = c - (p->w - 1) / 2; j <= c + p->w / 2; j++)
                    if (j >= 0 && j < p->C) {
                        const double v = p->x[((size_t)n * p->C + j) * p->S + s];
                        ss += v * v;
                    }
                const size_t at = ((size_t)n * p->C + c) * p->S + s;
                y[at] = p->x[at] / pow(p->k + p->alpha * ss / p->w, p->beta);
            }
}

static double point_loss(const void *user)
{
    const point *p = user;
    const size_t n = (size_t)p->N * p->C * p->S;
    double *y = test_doubles(n), L = 0.0;
    oracle(p, y);
    for (size_t i = 0; i < n; i++)
        L += p->wt[i] * y[i];
    free(y);
    return L;
}

/* ---- Properties, validation, display -------------------------------------------------- */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const mc_crossnorm_options d = mc_crossnorm_default(5);
    ck_assert_int_eq(d.window_channel_size, 5);
    ck_assert(d.alpha == 1e-4 && d.beta == 0.75 && d.k == 2.0);
    ck_assert_ptr_null(d.name);
    mc_layer *l = make(ctx, &d);
    lt_expect_identity(l, "crossChannelNormalizationLayer", "CrossChannelNormalizationLayer",
                       "Cross Channel Normalization", "crossnorm", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_setup_same(l, &(mc_shape){.ndim = 4, .dims = {2, 3, 4, 5}});
    lt_setup_same(l, &(mc_shape){.ndim = 2, .dims = {2, 7}}); /* any input kind */
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_validation)
{
    mc_crossnorm_options o[6];
    for (int i = 0; i < 6; i++)
        o[i] = mc_crossnorm_default(3);
    o[0].window_channel_size = 0;
    o[1].alpha = INFINITY;
    o[1].name = "lrn1";
    o[2].beta = 0.009;
    o[3].beta = NAN;
    o[4].k = 1e-6;
    o[5].k = INFINITY;
    const char *const want[] = {
        "crossChannelNormalizationLayer (unnamed): WindowChannelSize must be a positive "
        "integer, not 0",
        "Layer 'lrn1': Alpha must be a finite number, not inf",
        "crossChannelNormalizationLayer (unnamed): Beta must be a finite number of at least "
        "0.01, not 0.009",
        "crossChannelNormalizationLayer (unnamed): Beta must be a finite number of at least "
        "0.01, not nan",
        "crossChannelNormalizationLayer (unnamed): K must be a finite number of at least 1e-05, "
        "not 1e-06",
        "crossChannelNormalizationLayer (unnamed): K must be a finite number of at least 1e-05, "
        "not inf",
    };
    for (int i = 0; i < 6; i++)
        lt_expect_create_error(create, &o[i], MC_ERR_INVALID, want[i], 1);
    /* the limits themselves are allowed */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_crossnorm_options ok = mc_crossnorm_default(1);
    ok.beta = 0.01;
    ok.k = 1e-5;
    ok.alpha = -1.0;
    lt_teardown(&a, ctx, make(ctx, &ok));
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_crossnorm_options o = mc_crossnorm_default(5);
    mc_layer *l = make(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "cross channel normalization with 5 channels per element");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  CrossChannelNormalizationLayer with properties:\n"
                       "\n"
                       "                 Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    WindowChannelSize: 5\n"
                       "                Alpha: 1.0000e-04\n"
                       "                 Beta: 0.7500\n"
                       "                    K: 2\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    o = mc_crossnorm_default(3);
    o.name = "norm1";
    o.alpha = 0.0002;
    o.beta = 0.8;
    o.k = 2.5;
    l = make(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  CrossChannelNormalizationLayer with properties:\n"
                       "\n"
                       "                 Name: 'norm1'\n"
                       "            NumInputs: 1\n"
                       "           InputNames: {'in'}\n"
                       "           NumOutputs: 1\n"
                       "          OutputNames: {'out'}\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    WindowChannelSize: 3\n"
                       "                Alpha: 2.0000e-04\n"
                       "                 Beta: 0.8000\n"
                       "                    K: 2.5000\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_layer_parse(ctx,
                                    "crossChannelNormalizationLayer(5,'K',1,'Alpha',0.0002,"
                                    "'Beta',0.8,'Name','norm1')",
                                    &l),
                     MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "norm1");
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "    WindowChannelSize: 5\n"
                                       "                Alpha: 2.0000e-04\n"
                                       "                 Beta: 0.8000\n"
                                       "                    K: 1\n"));
    mc_free(ctx, text);
    mc_layer_destroy(l);
    ck_assert_int_eq(
        mc_layer_parse(ctx, "crossChannelNormalizationLayer(5,'WindowChannelSize',3)", &l), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "cross channel normalization with 3 channels per element");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "crossChannelNormalizationLayer", &l), MC_ERR_FORMAT,
              "crossChannelNormalizationLayer needs 1 argument before its options, got 0", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "crossChannelNormalizationLayer(2.5)", &l), MC_ERR_FORMAT,
              "crossChannelNormalizationLayer: windowChannelSize must be a positive integer, not "
              "2.5",
              0);
    lt_expect(ctx,
              mc_layer_parse(ctx, "crossChannelNormalizationLayer(3,'WindowChannelSize',0)", &l),
              MC_ERR_FORMAT,
              "expression:1:1: crossChannelNormalizationLayer: WindowChannelSize must be a "
              "positive integer, not 0",
              1);
    lt_expect(ctx, mc_layer_parse(ctx, "crossChannelNormalizationLayer(3,'Beta',0)", &l),
              MC_ERR_INVALID, "Beta must be a finite number of at least 0.01, not 0", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "crossChannelNormalizationLayer(3,'Bta',1)", &l),
              MC_ERR_FORMAT, "has no option 'Bta' (did you mean 'Beta'?)", 0);
    ck_assert_ptr_null(l);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

/* MATLAB's crosschannelnorm example: ones(2,2,3), window 3, Alpha 1, Beta 1, K 1e-5. The
 * first and last channels sum two squares, the middle one three. */
START_TEST(test_matlab_example)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_crossnorm_options o = mc_crossnorm_default(3);
    o.alpha = 1.0;
    o.beta = 1.0;
    o.k = 1e-5;
    mc_layer *l = make(ctx, &o);
    mc_shape s = test_shape(4, 1, 3, 2, 2);
    lt_setup(l, &s, 1);
    float x[12], y[12];
    for (int i = 0; i < 12; i++)
        x[i] = 1.0f;
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    const double edge = 1.0 / (1e-5 + 2.0 / 3.0), mid = 1.0 / (1e-5 + 1.0);
    for (int i = 0; i < 12; i++) {
        const double want = i / 4 == 1 ? mid : edge;
        ck_assert_msg(fabs(y[i] - want) <= 2e-7 * want, "y[%d] = %.9g, want %.9g", i, y[i], want);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Windows 1 to 6 (odd and even, wider than the channels too) on every input kind: y against
 * the oracle, dx against its central differences, and the layer's own forward. */
START_TEST(test_gradients)
{
    const int w = 1 + _i / 4;
    const mc_shape kinds[] = {test_shape(2, 2, 5), test_shape(3, 2, 4, 3),
                              test_shape(4, 2, 5, 2, 3), test_shape(5, 1, 4, 2, 2, 2)};
    const mc_shape s = kinds[_i % 4];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {500 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n), *y = test_floats(n), *wt = test_floats(n), *dx = test_floats(n);
    double *xd = test_doubles(n), *wd = test_doubles(n), *yd = test_doubles(n);
    test_fill_normal(&r, x, n, 0.0, 2.0);
    test_fill_normal(&r, wt, n, 0.0, 1.0);
    for (size_t i = 0; i < n; i++) {
        xd[i] = x[i];
        wd[i] = wt[i];
    }
    mc_crossnorm_options o = mc_crossnorm_default(w);
    o.alpha = 0.5; /* large enough for the normalization to matter */
    o.beta = 0.75;
    o.k = 1.5;
    mc_layer *l = make(ctx, &o);
    lt_setup(l, &s, 1);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    const point pt = {s.dims[0], s.dims[1], w, lt_positions(&s), o.alpha, o.beta, o.k, xd, wd};
    oracle(&pt, yd);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(y[i] - yd[i]) <= 1e-6 * (fabs(yd[i]) + 1e-3),
                      "w %d: y[%zu] = %.9g, want %.9g", w, i, y[i], yd[i]);
    lt_backward_data(l, x, &s, y, &s, wt, dx);
    tc_expect_oracle_dx(l, x, &s, dx, point_loss, &pt, xd, 1e-6, 1e-5, 1e-5, true);
    free(x);
    free(y);
    free(wt);
    free(dx);
    free(xd);
    free(wd);
    free(yd);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The layer gives what the kernels give alone; dx is written (=); a smaller batch works. */
START_TEST(test_kernels_and_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const mc_shape s = test_shape(4, 3, 7, 9, 11); /* 99 positions: a full and a partial block */
    const size_t n = mc_shape_numel(&s), S = lt_positions(&s);
    float *x = test_floats(n), *dy = test_floats(n), *y = test_floats(n), *dx = test_floats(n);
    float *y2 = test_floats(n), *dx2 = test_floats(n);
    float *work = test_floats(2 * 7 * MC_CROSSNORM_BLOCK);
    test_rng r = {21};
    test_fill_normal(&r, x, n, 0.0, 3.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    mc_crossnorm_options o = mc_crossnorm_default(4);
    mc_layer *l = make(ctx, &o);
    lt_setup(l, &s, 1);
    lt_expect_dx_written(l, x, &s, y, &s, dy, dx, 1e6f);
    mc_crossnorm_forward_kernel(x, y2, 3, 7, S, 4, o.alpha, o.beta, o.k);
    mc_crossnorm_backward_kernel(x, dy, dx2, 3, 7, S, 4, o.alpha, o.beta, o.k, work);
    ck_assert_mem_eq(y, y2, n * sizeof(float));
    ck_assert_mem_eq(dx, dx2, n * sizeof(float));
    lt_expect_smaller_batch(l, x, &s, &s, dy, y, dx, 2);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(y2);
    free(dx2);
    free(work);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_crossnorm_options o = mc_crossnorm_default(5);
    mc_layer *l = make(ctx, &o);
    const mc_shape s = test_shape(4, 3, 16, 30, 30); /* 43,200 values, 45 tasks */
    const mc_shape os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n);
    test_rng r = {9};
    test_fill_normal(&r, x, n, 0.0, 10.0);
    mc_tensor in = mc_tensor_view(x, &s);
    tc_expect_thread_independent(l, &in, 1, &os);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_allocation_failures)
{
    const mc_shape setups[2] = {test_shape(4, 2, 3, 4, 4), test_shape(4, 4, 5, 4, 4)};
    mc_crossnorm_options o = mc_crossnorm_default(3);
    o.name = "lrn";
    const lt_alloc_case c = {
        .create = create, .opts = &o, .setups = setups, .n_setups = 2, .min_allocs = 5};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *crossnorm_suite(void)
{
    Suite *s = suite_create("crossnorm");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_matlab_example);
    tcase_add_loop_test(tc, test_gradients, 0, 24);
    tcase_add_test(tc, test_kernels_and_contract);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(crossnorm_suite());
}
