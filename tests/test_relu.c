/* SPDX-License-Identifier: MIT */
/* reluLayer: properties, display, values, gradients, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

/* L = sum w .* max(x, 0), in double. */
static double oracle_loss(const double *x, const double *w, size_t n)
{
    double L = 0.0;
    for (size_t i = 0; i < n; i++)
        L += w[i] * (x[i] > 0.0 ? x[i] : 0.0);
    return L;
}

/* x: the point of the oracle loss; w: its weights. */
typedef struct point {
    const double *x, *w;
    size_t n;
} point;

static double point_loss(const void *user)
{
    const point *p = user;
    return oracle_loss(p->x, p->w, p->n);
}

/* The options of a ReLU layer are its name. */
static mc_status create(mc_ctx *ctx, const void *name, mc_layer **out)
{
    return mc_relu_create(ctx, name, out);
}

static mc_layer *make_relu(mc_ctx *ctx, const char *name)
{
    return lt_make(ctx, create, name);
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_relu(ctx, NULL);
    lt_expect_identity(l, "reluLayer", "ReLULayer", "ReLU", "relu", MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_str_eq(mc_layer_output_name(l, 0), "out");
    ck_assert_ptr_null(mc_layer_input_name(l, 1));
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    ck_assert_int_eq(mc_layer_set_name(l, "relu_1"), MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "relu_1");
    mc_layer_destroy(l);
    l = make_relu(ctx, "r");
    ck_assert_str_eq(mc_layer_name(l), "r");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_relu(ctx, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "ReLU");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ReLULayer with properties:\n"
                       "\n"
                       "    Name: ''\n"
                       "\n"
                       "  Show all properties\n");
    ck_assert_int_eq(mc_layer_set_name(l, "relu1"), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  ReLULayer with properties:\n"
                       "\n"
                       "           Name: 'relu1'\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Shapes --------------------------------------------------------------------------- */

START_TEST(test_shapes)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_relu(ctx, "relu1");
    const mc_shape kinds[] = {test_shape(2, 3, 7), test_shape(3, 2, 4, 5),
                              test_shape(4, 2, 3, 4, 5), test_shape(5, 1, 2, 3, 4, 5)};
    for (size_t k = 0; k < 4; k++)
        lt_setup_same(l, &kinds[k]);
    mc_shape bad = test_shape(1, 4);
    lt_expect_setup_error(l, &bad, 1, MC_ERR_SHAPE,
                          "Layer 'relu1': input 1 has shape [4]; expected 2 to 5 positive "
                          "dimensions (N, C), (N, C, T), (N, C, H, W) or (N, C, D, H, W)");
    mc_layer_destroy(l);

    l = make_relu(ctx, NULL);
    float x[6] = {0}, y[6];
    mc_shape s = test_shape(2, 2, 3);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    lt_expect(ctx, mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_ERR_STATE,
              "reluLayer (unnamed): forward called before setup", 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_relu(ctx, NULL);
    mc_shape s = test_shape(2, 1, 9);
    lt_setup(l, &s, 1);
    float x[9] = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f, -0.0f, NAN, -INFINITY, INFINITY};
    float y[9], dy[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, dx[9];
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    mc_tensor dout = mc_tensor_view(dy, &s), din = mc_tensor_view(dx, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    const float want[9] = {0, 0, 0, 0.5f, 3.0f, 0, 0, 0, INFINITY};
    for (int i = 0; i < 9; i++) {
        if (i == 6)
            ck_assert_msg(isnan(y[6]), "a NaN input gives NaN, got %g", y[6]);
        else
            ck_assert_msg(y[i] == want[i], "y[%d] = %g, want %g", i, y[i], want[i]);
    }
    lt_backward(l, &in, 1, &out, &dout, &din);
    const float dwant[9] = {0, 0, 0, 4, 5, 0, 0, 0, 9}; /* 0 at the kink x = 0 */
    for (int i = 0; i < 9; i++)
        ck_assert_msg(dx[i] == dwant[i], "dx[%d] = %g, want %g", i, dx[i], dwant[i]);
    /* Inference computes the same, in place too. */
    float z[9];
    memcpy(z, x, sizeof z);
    mc_tensor inplace = mc_tensor_view(z, &s);
    lt_forward(l, &inplace, 1, &inplace, MC_MODE_INFERENCE);
    for (int i = 0; i < 9; i++)
        ck_assert(i == 6 ? isnan(z[i]) : z[i] == want[i]);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Every input kind: forward equals the oracle exactly; dx equals central differences of the
 * double oracle, and the generic checker agrees on the layer's own float forward. */
START_TEST(test_gradients)
{
    const mc_shape kinds[] = {test_shape(2, 3, 5), test_shape(3, 2, 3, 4),
                              test_shape(4, 2, 2, 3, 3), test_shape(5, 1, 2, 2, 3, 2)};
    const mc_shape s = kinds[_i];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {100 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n), *y = test_floats(n), *w = test_floats(n), *dx = test_floats(n);
    double *xd = test_doubles(n), *wd = test_doubles(n);
    lt_fill_away_from_zero(&r, x, n, 0.05);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    int positive = 0;
    for (size_t i = 0; i < n; i++) {
        xd[i] = x[i];
        wd[i] = w[i];
        positive += x[i] > 0;
    }
    ck_assert(positive > 0 && positive < (int)n); /* both sides of the kink are exercised */
    mc_layer *l = make_relu(ctx, NULL);
    lt_setup(l, &s, 1);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    mc_tensor dout = mc_tensor_view(w, &s), din = mc_tensor_view(dx, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    for (size_t i = 0; i < n; i++)
        ck_assert(y[i] == (float)(xd[i] > 0 ? xd[i] : 0.0));
    lt_backward(l, &in, 1, &out, &dout, &din);
    const point pt = {xd, wd, n};
    for (size_t i = 0; i < n; i++) {
        const double num = test_central_difference(point_loss, &pt, &xd[i], 1e-6);
        ck_assert_msg(fabs(dx[i] - num) <= 1e-8 + 1e-7 * fabs(num), "dx[%zu] = %.9g, oracle %.9g",
                      i, dx[i], num);
    }
    gradcheck_expect(l, &in, 1, 1e-2, 1e-4, 1e-3, (int)n, "kind %d", _i);
    free(x);
    free(y);
    free(w);
    free(dx);
    free(xd);
    free(wd);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The input gradient is written (=), whatever dx held; a smaller batch than set up works;
 * a NULL din is allowed. */
START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {5};
    mc_layer *l = make_relu(ctx, NULL);
    mc_shape s = test_shape(4, 3, 2, 2, 2);
    lt_setup(l, &s, 1);
    float x[24], y[24], dy[24], dx[24];
    lt_fill_away_from_zero(&r, x, 24, 0.1);
    test_fill_normal(&r, dy, 24, 0.0, 1.0);
    lt_expect_dx_written(l, x, &s, y, &s, dy, dx, 1e6f);
    /* The first 16 values as a batch of 2: the same results as in the batch of 3. */
    lt_expect_smaller_batch(l, x, &s, &s, dy, y, dx, 2);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    const mc_shape s = test_shape(4, 2, 3, 4, 4);
    const lt_alloc_case c = {
        .create = create, .opts = "relu1", .setups = &s, .n_setups = 1, .min_allocs = 3};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *relu_suite(void)
{
    Suite *s = suite_create("relu");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_gradients, 0, 4);
    tcase_add_test(tc, test_write_contract);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(relu_suite());
}
