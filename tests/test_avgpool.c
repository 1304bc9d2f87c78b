/* SPDX-License-Identifier: MIT */
/* averagePooling2dLayer: options, validation, display, output sizes, zero padding counted in
 * the average, gradients, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

/* One configuration: the input (N, C, H, W) and the layer's options. */
typedef struct cfg {
    int N, C, H, W;
    int ph, pw, sh, sw;
    int pad[4]; /* [top bottom left right] */
    int same;
} cfg;

/* ---- An independent double-precision oracle ------------------------------------------- */

/* The padding in use and the output size: manual padding as given, floor((H + t + b - PH) /
 * SH) + 1; 'same': ceil(H / SH) outputs and (O - 1) S + P - H padding in all, the larger half
 * at the bottom / right. */
static void geometry(const cfg *c, int pad[4], int *OH, int *OW)
{
    if (!c->same) {
        memcpy(pad, c->pad, sizeof c->pad);
    } else {
        const int oh = (c->H + c->sh - 1) / c->sh, ow = (c->W + c->sw - 1) / c->sw;
        const int th = (oh - 1) * c->sh + c->ph - c->H, tw = (ow - 1) * c->sw + c->pw - c->W;
        pad[0] = th > 0 ? th / 2 : 0;
        pad[1] = th > 0 ? th - th / 2 : 0;
        pad[2] = tw > 0 ? tw / 2 : 0;
        pad[3] = tw > 0 ? tw - tw / 2 : 0;
    }
    *OH = (c->H + pad[0] + pad[1] - c->ph) / c->sh + 1;
    *OW = (c->W + pad[2] + pad[3] - c->pw) / c->sw + 1;
}

/* The padded image (zeros around x) is built explicitly and every window averaged over all its
 * PH * PW entries. */
static void oracle(const cfg *c, const double *x, double *y)
{
    int pad[4], OH, OW;
    geometry(c, pad, &OH, &OW);
    const int HP = c->H + pad[0] + pad[1], WP = c->W + pad[2] + pad[3];
    double *xp = test_doubles((size_t)HP * WP);
    for (int nc = 0; nc < c->N * c->C; nc++) {
        for (int i = 0; i < HP * WP; i++)
            xp[i] = 0.0;
        for (int h = 0; h < c->H; h++)
            for (int w = 0; w < c->W; w++)
                xp[(h + pad[0]) * WP + w + pad[2]] = x[((size_t)nc * c->H + h) * c->W + w];
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double s = 0.0;
                for (int i = 0; i < c->ph; i++)
                    for (int j = 0; j < c->pw; j++)
                        s += xp[(oh * c->sh + i) * WP + ow * c->sw + j];
                y[((size_t)nc * OH + oh) * OW + ow] = s / (c->ph * c->pw);
            }
    }
    free(xp);
}

typedef struct point {
    const cfg *c;
    const double *x, *w;
    size_t n_out;
} point;

static double point_loss(const void *user)
{
    const point *p = user;
    double *y = test_doubles(p->n_out), L = 0.0;
    oracle(p->c, p->x, y);
    for (size_t i = 0; i < p->n_out; i++)
        L += p->w[i] * y[i];
    free(y);
    return L;
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_avgpool_create(ctx, opts, out);
}

static mc_avgpool_options options(const cfg *c, const char *name)
{
    mc_avgpool_options o = mc_avgpool_default(c->ph, c->pw);
    o.name = name;
    o.stride[0] = c->sh;
    o.stride[1] = c->sw;
    memcpy(o.padding, c->pad, sizeof o.padding);
    o.padding_same = c->same != 0;
    return o;
}

static mc_layer *make(mc_ctx *ctx, const cfg *c, const char *name)
{
    const mc_avgpool_options o = options(c, name);
    return lt_make(ctx, create, &o);
}

/* ---- Options and display -------------------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    const mc_avgpool_options o = mc_avgpool_default(3, 2);
    ck_assert(o.pool_size[0] == 3 && o.pool_size[1] == 2);
    ck_assert(o.stride[0] == 1 && o.stride[1] == 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(o.padding[i], 0);
    ck_assert(!o.padding_same);
    ck_assert_ptr_null(o.name);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = lt_make(ctx, create, &o);
    lt_expect_identity(l, "averagePooling2dLayer", "AveragePooling2DLayer", "Average Pooling",
                       "avgpool", MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const cfg c1 = {1, 1, 4, 4, 2, 2, 2, 2, {0, 0, 0, 0}, 0};
    mc_layer *l = make(ctx, &c1, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "2x2 average pooling with stride [2  2] and padding [0  0  0  0]");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  AveragePooling2DLayer with properties:\n"
                       "\n"
                       "           Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "       PoolSize: [2 2]\n"
                       "         Stride: [2 2]\n"
                       "    PaddingMode: 'manual'\n"
                       "    PaddingSize: [0 0 0 0]\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    const cfg c2 = {1, 1, 4, 4, 3, 2, 1, 3, {1, 2, 0, 1}, 0};
    l = make(ctx, &c2, "avg1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x2 average pooling with stride [1  3] and padding [1  2  0  1]");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  AveragePooling2DLayer with properties:\n"
                       "\n"
                       "           Name: 'avg1'\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n"
                       "\n"
                       "   Hyperparameters\n"
                       "       PoolSize: [3 2]\n"
                       "         Stride: [1 3]\n"
                       "    PaddingMode: 'manual'\n"
                       "    PaddingSize: [1 2 0 1]\n");
    mc_layer_destroy(l);
    /* 'same': PaddingSize is [0 0 0 0] until setup computes it. */
    const cfg c3 = {1, 1, 5, 6, 3, 3, 2, 2, {0, 0, 0, 0}, 1};
    l = make(ctx, &c3, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x3 average pooling with stride [2  2] and padding 'same'");
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "    PaddingMode: 'same'\n    PaddingSize: [0 0 0 0]\n"));
    mc_free(ctx, text);
    lt_setup_one(l, test_shape(4, 1, 1, 5, 6));
    text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "    PaddingSize: [1 1 0 1]\n"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_layer_parse(ctx,
                                    "averagePooling2dLayer([3 2],'Stride',2,'Padding',[1 0],"
                                    "'Name','ap','PaddingValue',0)",
                                    &l),
                     MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x2 average pooling with stride [2  2] and padding [1  1  0  0]");
    ck_assert_str_eq(mc_layer_name(l), "ap");
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "averagePooling2dLayer(2,'Padding','same')", &l), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "2x2 average pooling with stride [1  1] and padding 'same'");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "averagePooling2dLayer(2,'PaddingValue','mean')", &l),
              MC_ERR_FORMAT,
              "expression:1:40: averagePooling2dLayer: PaddingValue must be 0 (minicnn pads "
              "average pooling with zeros), not 'mean'",
              1);
    lt_expect(ctx, mc_layer_parse(ctx, "averagePooling2dLayer(2,'Padding',[2 0])", &l),
              MC_ERR_INVALID, "must be smaller than the pool size", 0);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

START_TEST(test_option_validation)
{
    static const struct {
        cfg c;
        const char *message;
    } cases[] = {
        {{0, 0, 0, 0, 0, 2, 1, 1, {0, 0, 0, 0}, 0},
         "PoolSize must be two positive integers, not [0 2]"},
        {{0, 0, 0, 0, 2, -3, 1, 1, {0, 0, 0, 0}, 0},
         "PoolSize must be two positive integers, not [2 -3]"},
        {{0, 0, 0, 0, 2, 2, 0, 1, {0, 0, 0, 0}, 0},
         "Stride must be two positive integers, not [0 1]"},
        {{0, 0, 0, 0, 2, 2, 1, -1, {0, 0, 0, 0}, 1},
         "Stride must be two positive integers, not [1 -1]"},
        {{0, 0, 0, 0, 2, 2, 1, 1, {0, 0, 0, -1}, 0},
         "Padding must be four nonnegative integers [top bottom left right] or 'same', not "
         "[0 0 0 -1]"},
        {{0, 0, 0, 0, 2, 3, 1, 1, {0, 2, 0, 0}, 0},
         "the padding [0 2 0 0] must be smaller than the pool size [2 3] (top and bottom below "
         "2, left and right below 3)"},
        {{0, 0, 0, 0, 2, 3, 1, 1, {0, 0, 3, 0}, 0},
         "the padding [0 0 3 0] must be smaller than the pool size [2 3] (top and bottom below "
         "2, left and right below 3)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int named = 0; named < 2; named++) {
            const mc_avgpool_options o = options(&cases[k].c, named ? "avg1" : NULL);
            char want[300];
            snprintf(want, sizeof want, "%s: %s",
                     named ? "Layer 'avg1'" : "averagePooling2dLayer (unnamed)", cases[k].message);
            lt_expect_create_error(create, &o, MC_ERR_INVALID, want, 1);
        }
    }
    /* The largest padding allowed; 'same' ignores the manual padding. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const cfg edge = {0, 0, 0, 0, 2, 3, 1, 1, {1, 1, 2, 2}, 0};
    mc_layer_destroy(make(ctx, &edge, NULL));
    const cfg same = {0, 0, 0, 0, 2, 3, 1, 1, {-4, 7, 0, 0}, 1};
    mc_layer_destroy(make(ctx, &same, NULL));
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_setup_validation)
{
    const cfg c = {0, 0, 0, 0, 3, 3, 1, 1, {0, 0, 0, 0}, 0};
    const mc_avgpool_options o = options(&c, "avg1");
    lt_expect_setup_error_for(create, &o, test_shape(2, 2, 9), MC_ERR_SHAPE,
                              "Layer 'avg1': the input has shape [2x9]; average pooling needs "
                              "2-D images (N, C, H, W)",
                              1);
    lt_expect_setup_error_for(create, &o, test_shape(5, 1, 2, 3, 4, 4), MC_ERR_SHAPE,
                              "Layer 'avg1': the input has shape [1x2x3x4x4]; average pooling "
                              "needs 2-D images (N, C, H, W)",
                              1);
    lt_expect_setup_error_for(create, &o, test_shape(4, 1, 1, 4, 2), MC_ERR_SHAPE,
                              "Layer 'avg1': the 3x3 pooling window does not fit the 4x2 input "
                              "(padding [0 0 0 0])",
                              1);
    /* Padding makes it fit: a 2x2 input padded to 3x4. */
    const cfg padded = {0, 0, 0, 0, 3, 3, 1, 1, {1, 0, 1, 1}, 0};
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, &padded, NULL);
    const mc_shape out = lt_setup_one(l, test_shape(4, 2, 3, 2, 2));
    ck_assert(out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == 1 && out.dims[3] == 2);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Output sizes and the padding in use against the documented formulas, worked by hand. */
START_TEST(test_output_sizes)
{
    static const struct {
        cfg c;
        int OH, OW, pad[4];
    } cases[] = {
        {{2, 3, 28, 28, 2, 2, 2, 2, {0, 0, 0, 0}, 0}, 14, 14, {0, 0, 0, 0}},
        {{1, 1, 7, 7, 3, 3, 2, 2, {0, 0, 0, 0}, 0}, 3, 3, {0, 0, 0, 0}},
        {{1, 1, 7, 7, 3, 3, 2, 2, {0, 0, 0, 0}, 1}, 4, 4, {1, 1, 1, 1}},
        {{1, 1, 6, 5, 2, 2, 1, 1, {0, 0, 0, 0}, 1}, 6, 5, {0, 1, 0, 1}},
        {{1, 2, 5, 9, 2, 4, 3, 2, {1, 1, 3, 0}, 0}, 2, 5, {1, 1, 3, 0}},
        {{1, 1, 3, 3, 2, 2, 5, 5, {0, 0, 0, 0}, 1}, 1, 1, {0, 0, 0, 0}},
    };
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const cfg *c = &cases[k].c;
        int pad[4], OH, OW;
        geometry(c, pad, &OH, &OW);
        ck_assert(OH == cases[k].OH && OW == cases[k].OW);
        ck_assert_mem_eq(pad, cases[k].pad, sizeof pad);
        mc_layer *l = make(ctx, c, NULL);
        const mc_shape out = lt_setup_one(l, test_shape(4, c->N, c->C, c->H, c->W));
        ck_assert_msg(out.dims[2] == OH && out.dims[3] == OW, "case %zu: %dx%d", k, out.dims[2],
                      out.dims[3]);
        char want[64], *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
        snprintf(want, sizeof want, "PaddingSize: [%d %d %d %d]\n", pad[0], pad[1], pad[2], pad[3]);
        ck_assert_msg(strstr(text, want) != NULL, "case %zu: %s", k, text);
        mc_free(ctx, text);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Values and gradients ------------------------------------------------------------- */

/* A 3x3 image, 2x2 windows of stride 2 and 'same' padding (one row and column at the bottom
 * and right): the padded zeros count in the divisor 4. */
START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const cfg c = {1, 1, 3, 3, 2, 2, 2, 2, {0, 0, 0, 0}, 1};
    mc_layer *l = make(ctx, &c, NULL);
    const mc_shape s = test_shape(4, 1, 1, 3, 3), os = lt_setup_one(l, s);
    ck_assert(os.dims[2] == 2 && os.dims[3] == 2);
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4], dy[4] = {4, 8, 12, 16}, dx[9];
    lt_forward_data(l, x, &s, y, &os, MC_MODE_TRAINING);
    const float want[4] = {3.0f, 9.0f / 4, 15.0f / 4, 9.0f / 4};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(y[i] == want[i], "y[%d] = %g, want %g", i, y[i], want[i]);
    lt_backward_data(l, x, &s, y, &os, dy, dx);
    const float dwant[9] = {1, 1, 2, 1, 1, 2, 3, 3, 4};
    for (int i = 0; i < 9; i++)
        ck_assert_msg(dx[i] == dwant[i], "dx[%d] = %g, want %g", i, dx[i], dwant[i]);
    lt_teardown(&a, ctx, l);
}
END_TEST

static const cfg grad_cases[] = {
    {2, 2, 4, 4, 2, 2, 2, 2, {0, 0, 0, 0}, 0}, {1, 3, 5, 5, 3, 3, 1, 1, {1, 1, 1, 1}, 0},
    {2, 1, 5, 6, 3, 2, 2, 1, {0, 0, 0, 0}, 1}, {1, 2, 6, 5, 2, 3, 3, 2, {1, 0, 2, 1}, 0},
    {3, 1, 3, 4, 3, 4, 1, 1, {0, 0, 0, 0}, 0}, {1, 1, 4, 7, 2, 2, 1, 3, {0, 0, 0, 0}, 1},
};

/* y against the oracle within float rounding; dx against central differences of the oracle
 * and the generic checker on the layer's own forward. */
START_TEST(test_gradients)
{
    const cfg *c = &grad_cases[_i];
    int pad[4], OH, OW;
    geometry(c, pad, &OH, &OW);
    const mc_shape s = test_shape(4, c->N, c->C, c->H, c->W);
    const size_t n = mc_shape_numel(&s), n_out = (size_t)c->N * c->C * OH * OW;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {900 + (uint64_t)_i};
    float *x = test_floats(n), *y = test_floats(n_out), *w = test_floats(n_out),
          *dx = test_floats(n);
    test_fill_normal(&r, x, n, 0.5, 2.0);
    test_fill_normal(&r, w, n_out, 0.0, 1.0);
    double *xd = test_to_doubles(x, n), *wd = test_to_doubles(w, n_out), *ref = test_doubles(n_out);
    mc_layer *l = make(ctx, c, NULL);
    const mc_shape os = lt_setup_one(l, s);
    ck_assert(os.dims[2] == OH && os.dims[3] == OW);
    lt_forward_data(l, x, &s, y, &os, MC_MODE_TRAINING);
    oracle(c, xd, ref);
    for (size_t i = 0; i < n_out; i++)
        ck_assert_msg(fabs(y[i] - ref[i]) <= 1e-6 * (1 + fabs(ref[i])),
                      "y[%zu] = %.9g, oracle %.9g", i, y[i], ref[i]);
    lt_backward_data(l, x, &s, y, &os, w, dx);
    const point pt = {c, xd, wd, n_out};
    tc_expect_oracle_dx(l, x, &s, dx, point_loss, &pt, xd, 1e-5, 1e-6, 1e-6, true);
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

START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const cfg c = {3, 2, 5, 5, 3, 3, 2, 2, {1, 1, 1, 1}, 0};
    mc_layer *l = make(ctx, &c, NULL);
    const mc_shape s = test_shape(4, 3, 2, 5, 5), os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s), n_out = mc_shape_numel(&os);
    float *x = test_floats(n), *y = test_floats(n_out), *dy = test_floats(n_out),
          *dx = test_floats(n);
    test_rng r = {4};
    test_fill_normal(&r, x, n, 0.0, 1.0);
    test_fill_normal(&r, dy, n_out, 0.0, 1.0);
    lt_expect_dx_written(l, x, &s, y, &os, dy, dx, -7e5f);
    lt_expect_smaller_batch(l, x, &s, &os, dy, y, dx, 2);
    free(x);
    free(y);
    free(dy);
    free(dx);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const cfg c = {6, 50, 17, 15, 3, 3, 2, 2, {0, 0, 0, 0}, 1}; /* 300 planes: 5 tasks */
    mc_layer *l = make(ctx, &c, NULL);
    const mc_shape s = test_shape(4, c.N, c.C, c.H, c.W), os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n);
    test_rng r = {6};
    test_fill_normal(&r, x, n, 0.0, 1.0);
    mc_tensor in = mc_tensor_view(x, &s);
    tc_expect_thread_independent(l, &in, 1, &os);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_allocation_failures)
{
    const cfg c = {0, 0, 0, 0, 2, 2, 2, 2, {0, 0, 0, 0}, 1};
    const mc_avgpool_options o = options(&c, "avg1");
    const mc_shape s = test_shape(4, 2, 3, 5, 5);
    const lt_alloc_case ac = {
        .create = create, .opts = &o, .setups = &s, .n_setups = 1, .min_allocs = 2};
    lt_run_alloc_failures(&ac);
}
END_TEST

static Suite *avgpool_suite(void)
{
    Suite *s = suite_create("avgpool");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    tcase_add_test(tc, test_option_validation);
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_output_sizes);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_gradients, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
    tcase_add_test(tc, test_write_contract);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(avgpool_suite());
}
