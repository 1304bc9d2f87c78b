/* SPDX-License-Identifier: MIT */
/* globalAveragePooling2dLayer and globalMaxPooling2dLayer: properties, display, validation,
 * values, ties and NaN, gradients, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

/* The options of both layers: which one, and its name. */
typedef struct options {
    int max;
    const char *name;
} options;

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    const options *o = opts;
    return o->max ? mc_global_maxpool_create(ctx, o->name, out)
                  : mc_global_avgpool_create(ctx, o->name, out);
}

static mc_layer *make(mc_ctx *ctx, int max, const char *name)
{
    const options o = {max, name};
    return lt_make(ctx, create, &o);
}

/* ---- An independent double-precision oracle ------------------------------------------- */

/* x: (NC, S) planes; y: (NC), their means or maxima. */
typedef struct point {
    int max;
    size_t NC, S;
    const double *x, *w;
} point;

static void oracle(const point *p, double *y)
{
    for (size_t nc = 0; nc < p->NC; nc++) {
        double acc = p->max ? -INFINITY : 0.0;
        for (size_t i = 0; i < p->S; i++)
            acc = p->max ? fmax(acc, p->x[nc * p->S + i]) : acc + p->x[nc * p->S + i];
        y[nc] = p->max ? acc : acc / (double)p->S;
    }
}

static double point_loss(const void *user)
{
    const point *p = user;
    double *y = test_doubles(p->NC), L = 0.0;
    oracle(p, y);
    for (size_t i = 0; i < p->NC; i++)
        L += p->w[i] * y[i];
    free(y);
    return L;
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_properties_and_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 0, NULL);
    lt_expect_identity(l, "globalAveragePooling2dLayer", "GlobalAveragePooling2DLayer",
                       "Global Average Pooling", "gapool", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Global average pooling");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  GlobalAveragePooling2DLayer with properties:\n"
                       "\n"
                       "    Name: ''\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make(ctx, 1, "gmp");
    lt_expect_identity(l, "globalMaxPooling2dLayer", "GlobalMaxPooling2DLayer",
                       "Global Max Pooling", "gmpool", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Global max pooling");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  GlobalMaxPooling2DLayer with properties:\n"
                       "\n"
                       "           Name: 'gmp'\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_layer_parse(ctx, "globalAveragePooling2dLayer('Name','gap')", &l), MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "gap");
    ck_assert_str_eq(l->vt->kind, "globalAveragePooling2dLayer");
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "globalMaxPooling2dLayer", &l), MC_OK);
    ck_assert_str_eq(l->vt->kind, "globalMaxPooling2dLayer");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "globalMaxPooling2dLayer(2)", &l), MC_ERR_FORMAT,
              "globalMaxPooling2dLayer takes 0 arguments and then name-value pairs", 0);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_setup_validation)
{
    const char *const what[2] = {"average", "max"};
    for (int max = 0; max < 2; max++) {
        const options o = {max, "g1"};
        const struct {
            mc_shape s;
            const char *dims;
        } bad[] = {{test_shape(2, 3, 4), "3x4"},
                   {test_shape(3, 3, 4, 5), "3x4x5"},
                   {test_shape(5, 1, 2, 3, 4, 5), "1x2x3x4x5"}};
        for (int k = 0; k < 3; k++) {
            char want[200];
            snprintf(want, sizeof want,
                     "Layer 'g1': the input has shape [%s]; global %s pooling needs 2-D images "
                     "(N, C, H, W)",
                     bad[k].dims, what[max]);
            lt_expect_setup_error_for(create, &o, bad[k].s, MC_ERR_SHAPE, want, 1);
        }
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_layer *l = make(ctx, max, NULL);
        /* Planes past 2^32 positions: too many for max pooling's indices, nothing allocated. */
        const mc_shape huge = test_shape(4, 1, 1, 65537, 65537);
        if (max)
            lt_expect_setup_error(l, &huge, 1, MC_ERR_SHAPE,
                                  "globalMaxPooling2dLayer (unnamed): 4295098369 positions per "
                                  "channel; global max pooling takes at most 4294967295");
        else
            lt_setup(l, &huge, 1);
        const mc_shape out = lt_setup_one(l, test_shape(4, 5, 7, 3, 2));
        ck_assert(out.ndim == 4 && out.dims[0] == 5 && out.dims[1] == 7 && out.dims[2] == 1 &&
                  out.dims[3] == 1);
        lt_teardown(&a, ctx, l);
    }
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

/* Ties go to the first maximum, a NaN wins (the first one), and infinities are numbers. */
START_TEST(test_max_ties_and_nan)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 1, NULL);
    const mc_shape s = test_shape(4, 1, 4, 2, 3), os = lt_setup_one(l, s);
    float x[24] = {1,         5,   2,  5,   0,  5,   /* tie: the first 5 */
                   -3,        NAN, 7,  NAN, 9,  1,   /* the first NaN */
                   -INFINITY, -8,  -9, -8,  -8, -10, /* -8 at position 1 */
                   2,         2,   2,  2,   2,  INFINITY};
    float y[4], dy[4] = {1, 2, 3, 4}, dx[24];
    lt_forward_data(l, x, &s, y, &os, MC_MODE_TRAINING);
    ck_assert(y[0] == 5.0f && isnan(y[1]) && y[2] == -8.0f && y[3] == INFINITY);
    lt_backward_data(l, x, &s, y, &os, dy, dx);
    const int at[4] = {1, 1, 1, 5};
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 6; i++)
            ck_assert_msg(dx[c * 6 + i] == (i == at[c] ? dy[c] : 0.0f), "dx[%d]", c * 6 + i);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The mean is summed in double: a plane of 2^20 ones plus one large value keeps every one. */
START_TEST(test_average_in_double)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 0, NULL);
    const mc_shape s = test_shape(4, 1, 1, 1024, 1024), os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n), y;
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    x[0] = 3e7f; /* float sums would lose the ones after it */
    lt_forward_data(l, x, &s, &y, &os, MC_MODE_TRAINING);
    ck_assert_msg(y == (float)((3e7 + (double)(n - 1)) / (double)n), "mean %.9g", y);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Both layers: y against the oracle, dx against central differences of the oracle (max pooling
 * on distinct values) and the generic checker. */
START_TEST(test_gradients)
{
    const int max = _i % 2;
    const mc_shape shapes[] = {test_shape(4, 2, 3, 4, 5), test_shape(4, 3, 2, 1, 7),
                               test_shape(4, 1, 4, 3, 3)};
    const mc_shape s = shapes[_i / 2];
    const size_t n = mc_shape_numel(&s), NC = (size_t)s.dims[0] * s.dims[1], S = n / NC;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {500 + (uint64_t)_i};
    float *x = test_floats(n), *y = test_floats(NC), *w = test_floats(NC), *dx = test_floats(n);
    lt_fill_distinct(&r, x, n, 0.05, -0.02 * (double)n);
    test_fill_normal(&r, w, NC, 0.0, 1.0);
    double *xd = test_to_doubles(x, n), *wd = test_to_doubles(w, NC), *ref = test_doubles(NC);
    mc_layer *l = make(ctx, max, NULL);
    const mc_shape os = lt_setup_one(l, s);
    lt_forward_data(l, x, &s, y, &os, MC_MODE_TRAINING);
    const point pt = {max, NC, S, xd, wd};
    oracle(&pt, ref);
    for (size_t i = 0; i < NC; i++)
        ck_assert_msg(max ? y[i] == (float)ref[i] : fabs(y[i] - ref[i]) <= 1e-6 * fabs(ref[i]),
                      "y[%zu] = %.9g, oracle %.9g", i, y[i], ref[i]);
    lt_backward_data(l, x, &s, y, &os, w, dx);
    tc_expect_oracle_dx(l, x, &s, dx, point_loss, &pt, xd, 1e-6, 1e-7, 1e-6, true);
    free(x);
    free(y);
    free(w);
    free(dx);
    free(xd);
    free(wd);
    free(ref);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* dx written (=), din NULL allowed, a smaller batch; max pooling's backward pairs with the last
 * training forward, and a larger setup after a smaller one works. */
START_TEST(test_write_contract)
{
    for (int max = 0; max < 2; max++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_layer *l = make(ctx, max, NULL);
        lt_setup_one(l, test_shape(4, 1, 2, 2, 2));
        const mc_shape s = test_shape(4, 3, 2, 3, 4), os = lt_setup_one(l, s);
        float x[72], x2[72], y[6], y2[6], dy[6], dx[72], dx2[72];
        test_rng r = {8};
        lt_fill_distinct(&r, x, 72, 0.1, -3.0);
        lt_fill_distinct(&r, x2, 72, 0.1, -3.0);
        test_fill_normal(&r, dy, 6, 0.0, 1.0);
        lt_expect_dx_written(l, x, &s, y, &os, dy, dx, 3e5f);
        lt_forward_data(l, x2, &s, y2, &os, MC_MODE_INFERENCE);
        lt_backward_data(l, x, &s, y, &os, dy, dx2);
        ck_assert_mem_eq(dx, dx2, sizeof dx);
        lt_expect_smaller_batch(l, x, &s, &os, dy, y, dx, 2);
        lt_teardown(&a, ctx, l);
    }
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, _i, NULL);
    const mc_shape s = test_shape(4, 4, 70, 16, 15); /* 280 planes: 5 tasks */
    const mc_shape os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n);
    test_rng r = {9};
    test_fill_normal(&r, x, n, 0.0, 1.0);
    mc_tensor in = mc_tensor_view(x, &s);
    tc_expect_thread_independent(l, &in, 1, &os);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_allocation_failures)
{
    const mc_shape setups[2] = {test_shape(4, 2, 3, 4, 4), test_shape(4, 4, 3, 4, 4)};
    for (int max = 0; max < 2; max++) {
        const options o = {max, "g1"};
        const lt_alloc_case c = {.create = create,
                                 .opts = &o,
                                 .setups = setups,
                                 .n_setups = 2,
                                 .min_allocs = max ? 4 : 2};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *globalpool_suite(void)
{
    Suite *s = suite_create("globalpool");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties_and_display);
    tcase_add_test(tc, test_netfile);
    tcase_add_test(tc, test_setup_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_max_ties_and_nan);
    tcase_add_test(tc, test_average_in_double);
    tcase_add_loop_test(tc, test_gradients, 0, 6);
    tcase_add_test(tc, test_write_contract);
    tcase_add_loop_test(tc, test_threads, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(globalpool_suite());
}
