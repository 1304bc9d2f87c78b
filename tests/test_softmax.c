/* SPDX-License-Identifier: MIT */
/* softmaxLayer: properties, display, values, stability, gradients, allocation. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

/* x, y: (N, C, S); the textbook form exp(x) / sum exp(x), without the max shift (the test
 * data is moderate). */
static void oracle_softmax(const double *x, double *y, int N, int C, size_t S)
{
    for (int n = 0; n < N; n++)
        for (size_t s = 0; s < S; s++) {
            double sum = 0.0;
            for (int c = 0; c < C; c++)
                sum += exp(x[((size_t)n * C + c) * S + s]);
            for (int c = 0; c < C; c++) {
                const size_t i = ((size_t)n * C + c) * S + s;
                y[i] = exp(x[i]) / sum;
            }
        }
}

static double oracle_loss(const double *x, const double *w, int N, int C, size_t S)
{
    const size_t n = (size_t)N * C * S;
    double *y = test_doubles(n);
    oracle_softmax(x, y, N, C, S);
    double L = 0.0;
    for (size_t i = 0; i < n; i++)
        L += w[i] * y[i];
    free(y);
    return L;
}

/* x: the point of the oracle loss; w: its weights. */
typedef struct point {
    const double *x, *w;
    int N, C;
    size_t S;
} point;

static double point_loss(const void *user)
{
    const point *p = user;
    return oracle_loss(p->x, p->w, p->N, p->C, p->S);
}

/* The options of a softmax layer are its name. */
static mc_status create(mc_ctx *ctx, const void *name, mc_layer **out)
{
    return mc_softmax_create(ctx, name, out);
}

static mc_layer *make_softmax(mc_ctx *ctx, const char *name)
{
    return lt_make(ctx, create, name);
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_properties_and_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_softmax(ctx, NULL);
    lt_expect_identity(l, "softmaxLayer", "SoftmaxLayer", "Softmax", "softmax", MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_str_eq(mc_layer_output_name(l, 0), "out");
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "softmax");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  SoftmaxLayer with properties:\n"
                       "\n"
                       "    Name: ''\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make_softmax(ctx, "sm");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  SoftmaxLayer with properties:\n"
                       "\n"
                       "           Name: 'sm'\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_shapes)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_softmax(ctx, "sm");
    const mc_shape kinds[] = {test_shape(2, 3, 7), test_shape(3, 2, 4, 5),
                              test_shape(4, 2, 3, 4, 5), test_shape(5, 1, 2, 3, 4, 5)};
    for (size_t k = 0; k < 4; k++)
        lt_setup_same(l, &kinds[k]);
    mc_shape two[2] = {test_shape(2, 3, 7), test_shape(2, 3, 7)};
    lt_expect_setup_error(l, two, 2, MC_ERR_INVALID,
                          "Layer 'sm': setup got 2 inputs, but the layer has 1");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_softmax(ctx, NULL);
    /* Feature input: x = [0 ln2 ln5] gives [1 2 5] / 8. */
    mc_shape s = test_shape(2, 1, 3);
    lt_setup(l, &s, 1);
    float x[3] = {0.0f, (float)log(2.0), (float)log(5.0)}, y[3];
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    ck_assert_double_eq_tol(y[0], 1.0 / 8, 1e-7);
    ck_assert_double_eq_tol(y[1], 2.0 / 8, 1e-7);
    ck_assert_double_eq_tol(y[2], 5.0 / 8, 1e-7);
    /* dy = [1 0 0]: dx = y .* (dy - y1) = [y1 (1 - y1), -y2 y1, -y3 y1]. */
    float dy[3] = {1, 0, 0}, dx[3];
    mc_tensor dout = mc_tensor_view(dy, &s), din = mc_tensor_view(dx, &s);
    lt_backward(l, &in, 1, &out, &dout, &din);
    ck_assert_double_eq_tol(dx[0], 7.0 / 64, 1e-7);
    ck_assert_double_eq_tol(dx[1], -2.0 / 64, 1e-7);
    ck_assert_double_eq_tol(dx[2], -5.0 / 64, 1e-7);
    mc_layer_destroy(l);

    /* Sequence input (1, 2, 2), over C at each time step separately: stored (c, t) as
     * c0 = [0 ln3], c1 = [0 0] gives t0: [1/2 1/2], t1: [3/4 1/4]. */
    l = make_softmax(ctx, NULL);
    mc_shape q = test_shape(3, 1, 2, 2);
    lt_setup(l, &q, 1);
    float xq[4] = {0.0f, (float)log(3.0), 0.0f, 0.0f}, yq[4];
    mc_tensor inq = mc_tensor_view(xq, &q), outq = mc_tensor_view(yq, &q);
    lt_forward(l, &inq, 1, &outq, MC_MODE_INFERENCE);
    const double want[4] = {0.5, 0.75, 0.5, 0.25};
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(yq[i], want[i], 1e-7);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Large logits stay finite (the maximum is subtracted) and shifting every logit of a position
 * by a constant changes nothing. */
START_TEST(test_stability)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_softmax(ctx, NULL);
    mc_shape s = test_shape(2, 4, 3);
    lt_setup(l, &s, 1);
    float x[12] = {1e4f,     1e4f,
                   -1e4f, /* [1/2 1/2 0] */
                   1e30f,    0.0f,
                   -1e30f, /* [1 0 0] */
                   -FLT_MAX, FLT_MAX,
                   0.0f, /* [0 1 0] */
                   -1e4f,    -1e4f - (float)log(3.0),
                   -1e4f}; /* ~[3 1 3] / 7 */
    float y[12];
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    const double want[12] = {0.5, 0.5, 0, 1, 0, 0, 0, 1, 0, 3.0 / 7, 1.0 / 7, 3.0 / 7};
    for (int i = 0; i < 12; i++) {
        ck_assert_msg(isfinite(y[i]), "y[%d] = %g", i, y[i]);
        /* -1e4 - ln3 rounds in float: the spacing near 1e4 is 2^-10. */
        ck_assert_msg(fabs(y[i] - want[i]) < (i >= 9 ? 2e-4 : 1e-7), "y[%d] = %.9g, want %.9g", i,
                      y[i], want[i]);
    }
    /* The gradient is finite too. */
    float dy[12], dx[12];
    for (int i = 0; i < 12; i++)
        dy[i] = (float)(i % 3) - 1.0f;
    mc_tensor dout = mc_tensor_view(dy, &s), din = mc_tensor_view(dx, &s);
    lt_backward(l, &in, 1, &out, &dout, &din);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(isfinite(dx[i]), "dx[%d] = %g", i, dx[i]);

    test_rng r = {9};
    float base[12], shifted[12], y1[12], y2[12];
    test_fill_normal(&r, base, 12, 0.0, 2.0);
    for (int i = 0; i < 12; i++) {
        base[i] = roundf(base[i] * 1024.0f) / 1024.0f; /* so that the shift is exact */
        shifted[i] = base[i] + 64.0f;
        ck_assert(shifted[i] - 64.0f == base[i]);
    }
    mc_tensor in1 = mc_tensor_view(base, &s), out1 = mc_tensor_view(y1, &s);
    mc_tensor in2 = mc_tensor_view(shifted, &s), out2 = mc_tensor_view(y2, &s);
    lt_forward(l, &in1, 1, &out1, MC_MODE_TRAINING);
    lt_forward(l, &in2, 1, &out2, MC_MODE_TRAINING);
    /* The shifted differences x - max are the same numbers: the results are identical. */
    ck_assert_mem_eq(y1, y2, sizeof y1);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Every input kind: forward against the double oracle, dx against central differences of the
 * oracle, the generic checker on the layer's own forward, and sums of one. */
START_TEST(test_gradients)
{
    const mc_shape kinds[] = {test_shape(2, 3, 5), test_shape(3, 2, 4, 3),
                              test_shape(4, 2, 3, 2, 2), test_shape(5, 2, 3, 2, 1, 2)};
    const mc_shape s = kinds[_i];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {200 + (uint64_t)_i};
    const int N = s.dims[0], C = s.dims[1];
    const size_t S = lt_positions(&s), n = mc_shape_numel(&s);
    float *x = test_floats(n), *y = test_floats(n), *w = test_floats(n), *dx = test_floats(n);
    double *xd = test_doubles(n), *wd = test_doubles(n), *ref = test_doubles(n);
    test_fill_normal(&r, x, n, 0.5, 2.0);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    for (size_t i = 0; i < n; i++) {
        xd[i] = x[i];
        wd[i] = w[i];
    }
    mc_layer *l = make_softmax(ctx, NULL);
    lt_setup(l, &s, 1);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &s);
    mc_tensor dout = mc_tensor_view(w, &s), din = mc_tensor_view(dx, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    oracle_softmax(xd, ref, N, C, S);
    size_t at;
    double err = test_max_abs_diff(y, ref, n, &at);
    ck_assert_msg(err < 1e-7, "|y - oracle| = %g at %zu", err, at);
    for (int b = 0; b < N; b++)
        for (size_t p = 0; p < S; p++) {
            double sum = 0;
            for (int c = 0; c < C; c++)
                sum += y[((size_t)b * C + c) * S + p];
            ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        }
    lt_backward(l, &in, 1, &out, &dout, &din);
    const point pt = {xd, wd, N, C, S};
    for (size_t i = 0; i < n; i++) {
        const double num = test_central_difference(point_loss, &pt, &xd[i], 1e-6);
        ck_assert_msg(fabs(dx[i] - num) <= 1e-7 + 1e-5 * fabs(num), "dx[%zu] = %.9g, oracle %.9g",
                      i, dx[i], num);
    }
    gradcheck_expect(l, &in, 1, 1e-2, 1e-3, 1e-2, (int)n, "kind %d", _i);
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

/* The input gradient is written (=); a smaller batch than set up works; din may be NULL. */
START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {21};
    mc_layer *l = make_softmax(ctx, NULL);
    mc_shape s = test_shape(3, 3, 4, 2);
    lt_setup(l, &s, 1);
    float x[24], y[24], dy[24], dx[24];
    test_fill_normal(&r, x, 24, 0.0, 1.0);
    test_fill_normal(&r, dy, 24, 0.0, 1.0);
    lt_expect_dx_written(l, x, &s, y, &s, dy, dx, -7e5f);
    lt_expect_smaller_batch(l, x, &s, &s, dy, y, dx, 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    const mc_shape s = test_shape(2, 8, 10);
    const lt_alloc_case c = {
        .create = create, .opts = "softmax", .setups = &s, .n_setups = 1, .min_allocs = 3};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *softmax_suite(void)
{
    Suite *s = suite_create("softmax");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties_and_display);
    tcase_add_test(tc, test_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_stability);
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
    return test_run_suite(softmax_suite());
}
