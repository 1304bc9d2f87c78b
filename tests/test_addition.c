/* SPDX-License-Identifier: MIT */
/* additionLayer: input count, names, display, shape checks, values, gradients, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* The options of an addition layer: its input count and name. */
typedef struct options {
    int k;
    const char *name;
} options;

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    const options *o = opts;
    return mc_addition_create(ctx, o->k, o->name, out);
}

static mc_layer *make_addition(mc_ctx *ctx, int k, const char *name)
{
    const options o = {k, name};
    return lt_make(ctx, create, &o);
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_addition(ctx, 2, NULL);
    lt_expect_identity(l, "additionLayer", "AdditionLayer", "Addition", "addition", MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 2);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in1");
    ck_assert_str_eq(mc_layer_input_name(l, 1), "in2");
    ck_assert_ptr_null(mc_layer_input_name(l, 2));
    ck_assert_str_eq(mc_layer_output_name(l, 0), "out");
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    mc_layer_destroy(l);

    l = make_addition(ctx, MC_MAX_LAYER_INPUTS, "add32");
    ck_assert_int_eq(mc_layer_num_inputs(l), MC_MAX_LAYER_INPUTS);
    for (int i = 0; i < MC_MAX_LAYER_INPUTS; i++) {
        char want[8];
        snprintf(want, sizeof want, "in%d", i + 1);
        ck_assert_str_eq(mc_layer_input_name(l, i), want);
    }
    ck_assert_ptr_null(mc_layer_input_name(l, MC_MAX_LAYER_INPUTS));
    ck_assert_ptr_null(mc_layer_input_name(l, -1));
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_input_count_validation)
{
    const int bad[] = {1, 0, -1, MC_MAX_LAYER_INPUTS + 1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const options o = {bad[i], NULL};
        char want[160];
        snprintf(want, sizeof want,
                 "additionLayer (unnamed): the number of inputs must be an integer from 2 to "
                 "32, not %d",
                 bad[i]);
        lt_expect_create_error(create, &o, MC_ERR_INVALID, want, 1);
    }
    const options named = {1, "add1"};
    lt_expect_create_error(create, &named, MC_ERR_INVALID,
                           "Layer 'add1': the number of inputs must be an integer from 2 to 32, "
                           "not 1",
                           1);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_addition(ctx, 2, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Element-wise addition of 2 inputs");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  AdditionLayer with properties:\n"
                       "\n"
                       "          Name: ''\n"
                       "     NumInputs: 2\n"
                       "    InputNames: {'in1'  'in2'}\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make_addition(ctx, 3, "add_1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Element-wise addition of 3 inputs");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  AdditionLayer with properties:\n"
                       "\n"
                       "           Name: 'add_1'\n"
                       "      NumInputs: 3\n"
                       "     InputNames: {'in1'  'in2'  'in3'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Shapes --------------------------------------------------------------------------- */

START_TEST(test_shape_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_addition(ctx, 3, "add1");
    mc_shape ok[3] = {test_shape(4, 2, 3, 4, 4), test_shape(4, 2, 3, 4, 4),
                      test_shape(4, 2, 3, 4, 4)};
    mc_shape out = lt_setup(l, ok, 3);
    ck_assert_int_eq(out.ndim, 4);
    ck_assert_int_eq(out.dims[3], 4);

    mc_shape spatial[3] = {ok[0], ok[1], test_shape(4, 2, 3, 5, 5)};
    lt_expect_setup_error(l, spatial, 3, MC_ERR_SHAPE,
                          "Layer 'add1': input 3 has shape [2x3x5x5] but input 1 has shape "
                          "[2x3x4x4]; all inputs must have the same shape");
    mc_shape channels[3] = {ok[0], test_shape(4, 2, 5, 4, 4), ok[2]};
    lt_expect_setup_error(l, channels, 3, MC_ERR_SHAPE,
                          "Layer 'add1': input 2 has shape [2x5x4x4] but input 1 has shape "
                          "[2x3x4x4]; all inputs must have the same shape");
    mc_shape kinds[3] = {ok[0], ok[1], test_shape(2, 2, 48)};
    lt_expect_setup_error(l, kinds, 3, MC_ERR_SHAPE,
                          "Layer 'add1': input 3 has shape [2x48] but input 1 has shape "
                          "[2x3x4x4]; all inputs must have the same shape");
    mc_shape batch[3] = {ok[0], test_shape(4, 3, 3, 4, 4), ok[2]};
    lt_expect_setup_error(l, batch, 3, MC_ERR_SHAPE,
                          "Layer 'add1': input 2 has shape [3x3x4x4] but input 1 has shape "
                          "[2x3x4x4]; all inputs must have the same shape");
    lt_expect_setup_error(l, ok, 2, MC_ERR_INVALID,
                          "Layer 'add1': setup got 2 inputs, but the layer has 3");
    /* Every input kind is fine. */
    const mc_shape each[4] = {test_shape(2, 3, 7), test_shape(3, 2, 4, 5),
                              test_shape(4, 2, 3, 4, 5), test_shape(5, 1, 2, 3, 4, 5)};
    for (int k = 0; k < 4; k++) {
        mc_shape three[3] = {each[k], each[k], each[k]};
        out = lt_setup(l, three, 3);
        ck_assert_int_eq(out.ndim, each[k].ndim);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values and gradients ------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_addition(ctx, 3, NULL);
    mc_shape s = test_shape(2, 1, 2), sh[3] = {s, s, s};
    lt_setup(l, sh, 3);
    float x1[2] = {1, 2}, x2[2] = {10, 20}, x3[2] = {100, -200}, y[2];
    mc_tensor in[3] = {mc_tensor_view(x1, &s), mc_tensor_view(x2, &s), mc_tensor_view(x3, &s)};
    mc_tensor out = mc_tensor_view(y, &s);
    lt_forward(l, in, 3, &out, MC_MODE_TRAINING);
    ck_assert(y[0] == 111.0f && y[1] == -178.0f);
    float dy[2] = {0.5f, -3.0f}, d1[2] = {9, 9}, d3[2] = {9, 9};
    mc_tensor dout = mc_tensor_view(dy, &s);
    /* din[1] has no data: skipped. */
    mc_tensor din[3] = {mc_tensor_view(d1, &s), {s, NULL, 0}, mc_tensor_view(d3, &s)};
    lt_backward(l, in, 3, &out, &dout, din);
    ck_assert(d1[0] == 0.5f && d1[1] == -3.0f);
    ck_assert(d3[0] == 0.5f && d3[1] == -3.0f);
    lt_backward(l, in, 3, &out, &dout, NULL);
    /* In place: the output may be one of the inputs. */
    mc_tensor inplace = mc_tensor_view(x2, &s);
    lt_forward(l, in, 3, &inplace, MC_MODE_INFERENCE);
    ck_assert(x2[0] == 111.0f && x2[1] == -178.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* k inputs of every kind: the sum against a double oracle, dx_i = dy exactly, the generic
 * checker for every element of every input, and the write (=) contract. */
START_TEST(test_values_and_gradients)
{
    const mc_shape kinds[] = {test_shape(2, 3, 5), test_shape(3, 2, 4, 3),
                              test_shape(4, 2, 3, 2, 2), test_shape(5, 2, 1, 2, 3, 2)};
    const int k = 2 + _i % 3;
    const mc_shape s = kinds[_i % 4];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {300 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    mc_shape shapes[4];
    mc_tensor in[4], din[4];
    for (int j = 0; j < k; j++) {
        shapes[j] = s;
        in[j] = mc_tensor_view(test_floats(n), &s);
        din[j] = mc_tensor_view(test_floats(n), &s);
        test_fill_normal(&r, in[j].data, n, 0.0, 3.0);
        for (size_t i = 0; i < n; i++)
            din[j].data[i] = NAN; /* must be overwritten */
    }
    float *y = test_floats(n), *dy = test_floats(n);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    mc_layer *l = make_addition(ctx, k, NULL);
    lt_setup(l, shapes, k);
    mc_tensor out = mc_tensor_view(y, &s), dout = mc_tensor_view(dy, &s);
    lt_forward(l, in, k, &out, MC_MODE_TRAINING);
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (int j = 0; j < k; j++)
            sum += in[j].data[i];
        ck_assert_msg(fabs(y[i] - sum) <= 1e-6 * (1 + fabs(sum)), "y[%zu] = %.9g, oracle %.9g", i,
                      y[i], sum);
    }
    lt_backward(l, in, k, &out, &dout, din);
    for (int j = 0; j < k; j++)
        ck_assert_mem_eq(din[j].data, dy, n * sizeof(float));
    gradcheck_expect(l, in, k, 1e-2, 1e-3, 1e-3, k * (int)n, "case %d", _i);
    for (int j = 0; j < k; j++) {
        free(in[j].data);
        free(din[j].data);
    }
    free(y);
    free(dy);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_smaller_batch)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_addition(ctx, 2, NULL);
    mc_shape s = test_shape(2, 4, 3), small = test_shape(2, 2, 3), sh[2] = {s, s};
    lt_setup(l, sh, 2);
    float x1[6] = {1, 2, 3, 4, 5, 6}, x2[6] = {6, 5, 4, 3, 2, 1}, y[6];
    mc_tensor in[2] = {mc_tensor_view(x1, &small), mc_tensor_view(x2, &small)};
    mc_tensor out = mc_tensor_view(y, &small);
    lt_forward(l, in, 2, &out, MC_MODE_TRAINING);
    for (int i = 0; i < 6; i++)
        ck_assert(y[i] == 7.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    const options o = {4, "add1"};
    const mc_shape s = test_shape(4, 2, 3, 4, 4);
    const lt_alloc_case c = {
        .create = create, .opts = &o, .setups = &s, .n_setups = 1, .n_inputs = 4, .min_allocs = 3};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *addition_suite(void)
{
    Suite *s = suite_create("addition");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_input_count_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_shape_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_values_and_gradients, 0, 12);
    tcase_add_test(tc, test_smaller_batch);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(addition_suite());
}
