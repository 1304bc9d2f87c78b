/* SPDX-License-Identifier: MIT */
/* depthConcatenationLayer and concatenationLayer: input counts, Dim, names, displays, shape
 * checks, values against an index-by-index oracle, gradients, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

/* Options of both layers: dim 0 makes a depth concatenation layer. */
typedef struct options {
    int dim, k;
    const char *name;
} options;

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    const options *o = opts;
    if (o->dim == 0)
        return mc_depthcat_create(ctx, o->k, o->name, out);
    mc_concat_options c = mc_concat_default(o->dim, o->k);
    c.name = o->name;
    return mc_concat_create(ctx, &c, out);
}

static mc_layer *make(mc_ctx *ctx, int dim, int k, const char *name)
{
    const options o = {dim, k, name};
    return lt_make(ctx, create, &o);
}

/* ---- An independent oracle ------------------------------------------------------------ */

/* For each element of the output (shape ys) by its multi-index: along `axis`, the input whose
 * range holds the index, at the index less the sizes before it. */
static void oracle(const mc_shape *in, int k, const float *const *x, int axis, const mc_shape *ys,
                   double *y)
{
    const size_t n = mc_shape_numel(ys);
    for (size_t e = 0; e < n; e++) {
        int idx[MC_MAX_DIMS] = {0};
        size_t rest = e;
        for (int d = ys->ndim - 1; d >= 0; d--) {
            idx[d] = (int)(rest % (size_t)ys->dims[d]);
            rest /= (size_t)ys->dims[d];
        }
        int i = 0;
        while (i < k - 1 && idx[axis] >= in[i].dims[axis])
            idx[axis] -= in[i++].dims[axis];
        size_t at = 0;
        for (int d = 0; d < ys->ndim; d++)
            at = at * (size_t)in[i].dims[d] + (size_t)idx[d];
        y[e] = x[i][at];
    }
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 0, 3, NULL);
    lt_expect_identity(l, "depthConcatenationLayer", "DepthConcatenationLayer",
                       "Depth concatenation", "depthcat", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_inputs(l), 3);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in1");
    ck_assert_str_eq(mc_layer_input_name(l, 2), "in3");
    ck_assert_ptr_null(mc_layer_input_name(l, 3));
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    mc_layer_destroy(l);
    l = make(ctx, 4, MC_MAX_LAYER_INPUTS, "c");
    lt_expect_identity(l, "concatenationLayer", "ConcatenationLayer", "Concatenation", "concat",
                       MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_input_name(l, MC_MAX_LAYER_INPUTS - 1), "in32");
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_create_validation)
{
    const int bad_k[] = {1, 0, -2, MC_MAX_LAYER_INPUTS + 1};
    for (size_t i = 0; i < sizeof bad_k / sizeof bad_k[0]; i++)
        for (int depth = 0; depth < 2; depth++) {
            const options o = {depth ? 0 : 3, bad_k[i], depth ? NULL : "cat1"};
            char want[200];
            snprintf(want, sizeof want,
                     "%s: the number of inputs must be an integer from 2 to 32, not %d",
                     depth ? "depthConcatenationLayer (unnamed)" : "Layer 'cat1'", bad_k[i]);
            lt_expect_create_error(create, &o, MC_ERR_INVALID, want, 1);
        }
    const options neg = {-1, 2, NULL};
    lt_expect_create_error(create, &neg, MC_ERR_INVALID,
                           "concatenationLayer (unnamed): Dim must be a positive integer, not -1",
                           1);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 0, 2, "concat_1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Depth concatenation of 2 inputs");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  DepthConcatenationLayer with properties:\n"
                       "\n"
                       "          Name: 'concat_1'\n"
                       "     NumInputs: 2\n"
                       "    InputNames: {'in1'  'in2'}\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make(ctx, 4, 3, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Concatenation of 3 inputs along dimension 4");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  ConcatenationLayer with properties:\n"
                       "\n"
                       "           Name: ''\n"
                       "            Dim: 4\n"
                       "      NumInputs: 3\n"
                       "     InputNames: {'in1'  'in2'  'in3'}\n"
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
    ck_assert_int_eq(mc_layer_parse(ctx, "depthConcatenationLayer(3,'Name','dc')", &l), MC_OK);
    ck_assert_int_eq(mc_layer_num_inputs(l), 3);
    ck_assert_str_eq(mc_layer_name(l), "dc");
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "concatenationLayer(1,2,'Name','c')", &l), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Concatenation of 2 inputs along dimension 1");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "concatenationLayer(3)", &l), MC_ERR_FORMAT,
              "concatenationLayer needs 2 arguments before its options, got 1", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "concatenationLayer(0,2)", &l), MC_ERR_FORMAT,
              "concatenationLayer: dim must be a positive integer, not 0", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "depthConcatenationLayer(1)", &l), MC_ERR_INVALID,
              "the number of inputs must be an integer from 2 to 32, not 1", 0);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Shapes --------------------------------------------------------------------------- */

START_TEST(test_shape_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, 0, 3, "dc");
    mc_shape ok[3] = {test_shape(4, 2, 3, 4, 5), test_shape(4, 2, 1, 4, 5),
                      test_shape(4, 2, 6, 4, 5)};
    mc_shape out = lt_setup(l, ok, 3);
    ck_assert(out.ndim == 4 && out.dims[0] == 2 && out.dims[1] == 10 && out.dims[2] == 4 &&
              out.dims[3] == 5);
    mc_shape hw[3] = {ok[0], ok[1], test_shape(4, 2, 6, 5, 5)};
    lt_expect_setup_error(l, hw, 3, MC_ERR_SHAPE,
                          "Layer 'dc': input 3 (in3) has shape [2x6x5x5] but input 1 (in1) has "
                          "shape [2x3x4x5]; the inputs must agree in every dimension but the "
                          "channels, along which they are concatenated");
    mc_shape batch[3] = {ok[0], test_shape(4, 3, 1, 4, 5), ok[2]};
    lt_expect_setup_error(l, batch, 3, MC_ERR_SHAPE,
                          "Layer 'dc': input 2 (in2) has shape [3x1x4x5] but input 1 (in1) has "
                          "shape [2x3x4x5]; the inputs must agree in every dimension but the "
                          "channels, along which they are concatenated");
    mc_shape kinds[3] = {ok[0], test_shape(2, 2, 20), ok[2]};
    lt_expect_setup_error(l, kinds, 3, MC_ERR_SHAPE,
                          "Layer 'dc': input 2 (in2) has shape [2x20] but input 1 (in1) has "
                          "shape [2x3x4x5]; the inputs must agree in every dimension but the "
                          "channels, along which they are concatenated");
    /* Feature input stacks its features. */
    mc_shape feat[3] = {test_shape(2, 4, 3), test_shape(2, 4, 2), test_shape(2, 4, 1)};
    out = lt_setup(l, feat, 3);
    ck_assert(out.ndim == 2 && out.dims[1] == 6);
    mc_layer_destroy(l);

    /* concatenationLayer: Dim within the data's spatial dimensions and channels. */
    static const struct {
        int dim;
        mc_shape s;
        const char *message;
    } bad[] = {
        {4,
         {4, {2, 3, 4, 5}},
         "Dim is 4 but the input has shape [2x3x4x5]; Dim must be from 1 "
         "to 3 for 2-D images (1 the height, 2 the width, 3 the channels)"},
        {5,
         {5, {2, 3, 4, 5, 6}},
         "Dim is 5 but the input has shape [2x3x4x5x6]; Dim must be "
         "from 1 to 4 for 3-D images (1 the height, 2 the width, 3 the "
         "depth, 4 the channels)"},
        {2,
         {2, {2, 3}},
         "Dim is 2 but the input has shape [2x3]; Dim must be 1 (the channels) "
         "for feature input"},
        {3,
         {3, {2, 3, 7}},
         "Dim is 3 but the input has shape [2x3x7]; Dim must be 1 (the "
         "channels) for sequence input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = make(ctx, bad[i].dim, 2, "c");
        mc_shape two[2] = {bad[i].s, bad[i].s};
        char want[300];
        snprintf(want, sizeof want, "Layer 'c': %s", bad[i].message);
        lt_expect_setup_error(l, two, 2, MC_ERR_SHAPE, want);
        mc_layer_destroy(l);
    }
    /* Along the width (Dim 2), the heights must agree. */
    l = make(ctx, 2, 2, "c");
    mc_shape wide[2] = {test_shape(4, 1, 2, 3, 4), test_shape(4, 1, 2, 3, 1)};
    out = lt_setup(l, wide, 2);
    ck_assert(out.dims[2] == 3 && out.dims[3] == 5);
    mc_shape tall[2] = {wide[0], test_shape(4, 1, 2, 4, 4)};
    lt_expect_setup_error(l, tall, 2, MC_ERR_SHAPE,
                          "Layer 'c': input 2 (in2) has shape [1x2x4x4] but input 1 (in1) has "
                          "shape [1x2x3x4]; the inputs must agree in every dimension but the "
                          "width, along which they are concatenated");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Values and gradients ------------------------------------------------------------- */

typedef struct value_case {
    int dim; /* 0: depth concatenation */
    int axis;
    int k;
    mc_shape base; /* every input's shape but for dims[axis], which is 1 + i % 3 */
} value_case;

static const value_case value_cases[] = {
    {0, 1, 2, {4, {2, 1, 3, 4}}},    {0, 1, 3, {2, {3, 1}}},
    {0, 1, 2, {3, {2, 1, 5}}},       {0, 1, 4, {5, {1, 1, 2, 2, 3}}},
    {1, 2, 2, {4, {2, 3, 1, 4}}},    {2, 3, 3, {4, {2, 2, 3, 1}}},
    {3, 1, 2, {4, {1, 1, 2, 3}}},    {1, 3, 2, {5, {1, 2, 2, 1, 3}}},
    {2, 4, 3, {5, {2, 1, 2, 2, 1}}}, {3, 2, 2, {5, {1, 2, 1, 2, 2}}},
    {4, 1, 3, {5, {2, 1, 2, 2, 2}}}, {1, 1, 2, {2, {4, 1}}},
    {1, 1, 3, {3, {2, 1, 4}}},
};

/* y equals the oracle exactly; each dx_i is its slice of dy exactly (one input skipped with a
 * NULL din); the generic checker agrees for every element of every input. */
START_TEST(test_values_and_gradients)
{
    const value_case *vc = &value_cases[_i];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {600 + (uint64_t)_i};
    mc_shape shapes[4];
    mc_tensor in[4], din[4];
    const float *xs[4];
    for (int i = 0; i < vc->k; i++) {
        shapes[i] = vc->base;
        shapes[i].dims[vc->axis] = 1 + i % 3;
        const size_t n = mc_shape_numel(&shapes[i]);
        in[i] = mc_tensor_view(test_floats(n), &shapes[i]);
        din[i] = mc_tensor_view(test_floats(n), &shapes[i]);
        test_fill_normal(&r, in[i].data, n, 0.0, 1.0);
        for (size_t e = 0; e < n; e++)
            din[i].data[e] = NAN;
        xs[i] = in[i].data;
    }
    mc_layer *l = make(ctx, vc->dim, vc->k, NULL);
    const mc_shape os = lt_setup(l, shapes, vc->k);
    int total = 0;
    for (int i = 0; i < vc->k; i++)
        total += shapes[i].dims[vc->axis];
    ck_assert_int_eq(os.dims[vc->axis], total);
    const size_t n_out = mc_shape_numel(&os);
    float *y = test_floats(n_out), *dy = test_floats(n_out);
    double *ref = test_doubles(n_out), *dref = test_doubles(n_out);
    test_fill_normal(&r, dy, n_out, 0.0, 1.0);
    mc_tensor out = mc_tensor_view(y, &os), dout = mc_tensor_view(dy, &os);
    lt_forward(l, in, vc->k, &out, MC_MODE_TRAINING);
    oracle(shapes, vc->k, xs, vc->axis, &os, ref);
    for (size_t e = 0; e < n_out; e++)
        ck_assert_msg(y[e] == (float)ref[e], "y[%zu] = %g, oracle %g", e, y[e], ref[e]);
    /* dx_i: the elements of dy the oracle maps to input i's elements, found by concatenating
     * the dx's back. */
    float *skipped = din[1].data;
    din[1].data = NULL;
    lt_backward(l, in, vc->k, &out, &dout, din);
    for (size_t e = 0; e < mc_tensor_numel(&in[1]); e++)
        ck_assert(isnan(skipped[e]));
    din[1].data = skipped;
    lt_backward(l, in, vc->k, &out, &dout, din);
    const float *dxs[4] = {din[0].data, din[1].data, din[2].data, din[3].data};
    oracle(shapes, vc->k, dxs, vc->axis, &os, dref);
    for (size_t e = 0; e < n_out; e++)
        ck_assert_msg(dref[e] == dy[e], "dy[%zu] = %g came back as %g", e, dy[e], dref[e]);
    int count = 0;
    for (int i = 0; i < vc->k; i++)
        count += (int)mc_tensor_numel(&in[i]);
    gradcheck_expect(l, in, vc->k, 1e-2, 1e-4, 1e-4, count, "case %d", _i);
    for (int i = 0; i < vc->k; i++) {
        free(in[i].data);
        free(din[i].data);
    }
    free(y);
    free(dy);
    free(ref);
    free(dref);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, _i == 0 ? 0 : 2, 3, NULL);
    const int axis = _i == 0 ? 1 : 3;
    mc_shape shapes[3];
    mc_tensor in[3];
    test_rng r = {31};
    for (int i = 0; i < 3; i++) {
        shapes[i] = test_shape(4, 40, 9, 21, 23);
        shapes[i].dims[axis] += 2 * i;
        const size_t n = mc_shape_numel(&shapes[i]);
        in[i] = mc_tensor_view(test_floats(n), &shapes[i]);
        test_fill_normal(&r, in[i].data, n, 0.0, 1.0);
    }
    const mc_shape os = lt_setup(l, shapes, 3);
    tc_expect_thread_independent(l, in, 3, &os);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_allocation_failures)
{
    const mc_shape s = test_shape(4, 2, 3, 4, 4);
    for (int dim = 0; dim < 2; dim++) {
        const options o = {dim * 3, 4, "cat1"};
        const lt_alloc_case c = {.create = create,
                                 .opts = &o,
                                 .setups = &s,
                                 .n_setups = 1,
                                 .n_inputs = 4,
                                 .min_allocs = 2};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *concat_suite(void)
{
    Suite *s = suite_create("concat");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_create_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    tcase_add_test(tc, test_shape_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_loop_test(tc, test_values_and_gradients, 0,
                        (int)(sizeof value_cases / sizeof value_cases[0]));
    tcase_add_loop_test(tc, test_threads, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(concat_suite());
}
