/* SPDX-License-Identifier: MIT */
/* maxPooling2dLayer: options, validation, display, output sizes, values, ties, gradients,
 * allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

typedef struct pool_cfg {
    int N, C, H, W;
    int pool[2], stride[2], pad[4];
    int same;
} pool_cfg;

/* The output size and the padding in use, from the documented formulas: manual padding gives
 * floor((H + top + bottom - PH) / SH) + 1; 'same' gives ceil(H / SH) with the total padding
 * (OH - 1) SH + PH - H split evenly, the odd one at the bottom / right. */
static void oracle_geometry(const pool_cfg *c, int *OH, int *OW, int pad[4])
{
    if (c->same) {
        *OH = (c->H + c->stride[0] - 1) / c->stride[0];
        *OW = (c->W + c->stride[1] - 1) / c->stride[1];
        int th = (*OH - 1) * c->stride[0] + c->pool[0] - c->H;
        int tw = (*OW - 1) * c->stride[1] + c->pool[1] - c->W;
        th = th > 0 ? th : 0;
        tw = tw > 0 ? tw : 0;
        pad[0] = th / 2;
        pad[1] = th - th / 2;
        pad[2] = tw / 2;
        pad[3] = tw - tw / 2;
    } else {
        memcpy(pad, c->pad, 4 * sizeof(int));
        *OH = (c->H + pad[0] + pad[1] - c->pool[0]) / c->stride[0] + 1;
        *OW = (c->W + pad[2] + pad[3] - c->pool[1]) / c->stride[1] + 1;
    }
}

/* x: (N, C, H, W); y: (N, C, OH, OW). Each window is scanned in padded coordinates and
 * positions outside the image are skipped. */
static void oracle_maxpool(const pool_cfg *c, const double *x, double *y)
{
    int OH, OW, pad[4];
    oracle_geometry(c, &OH, &OW, pad);
    for (int nc = 0; nc < c->N * c->C; nc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double best = -INFINITY;
                for (int i = 0; i < c->pool[0]; i++)
                    for (int j = 0; j < c->pool[1]; j++) {
                        const int h = oh * c->stride[0] + i - pad[0];
                        const int w = ow * c->stride[1] + j - pad[2];
                        if (h < 0 || h >= c->H || w < 0 || w >= c->W)
                            continue;
                        best = fmax(best, x[((size_t)nc * c->H + h) * c->W + w]);
                    }
                y[((size_t)nc * OH + oh) * OW + ow] = best;
            }
}

static double oracle_loss(const pool_cfg *c, const double *x, const double *w, size_t n_out)
{
    double *y = test_doubles(n_out);
    oracle_maxpool(c, x, y);
    double L = 0.0;
    for (size_t i = 0; i < n_out; i++)
        L += w[i] * y[i];
    free(y);
    return L;
}

/* x: the point of the oracle loss; w: its weights. */
typedef struct point {
    const pool_cfg *c;
    const double *x, *w;
    size_t n_out;
} point;

static double point_loss(const void *user)
{
    const point *p = user;
    return oracle_loss(p->c, p->x, p->w, p->n_out);
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_maxpool_options options_of(const pool_cfg *c, const char *name)
{
    mc_maxpool_options o = mc_maxpool_default(c->pool[0], c->pool[1]);
    o.name = name;
    o.stride[0] = c->stride[0];
    o.stride[1] = c->stride[1];
    memcpy(o.padding, c->pad, sizeof o.padding);
    o.padding_same = c->same != 0;
    return o;
}

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_maxpool_create(ctx, opts, out);
}

static mc_layer *make_pool(mc_ctx *ctx, const mc_maxpool_options *o)
{
    return lt_make(ctx, create, o);
}

/* Creation must fail with `status` and exactly `message`; *out is reset to NULL. */
static void expect_create_error(const mc_maxpool_options *o, mc_status status, const char *message)
{
    lt_expect_create_error(create, o, status, message, 1);
}

/* One forward (training) and one backward of a (1, 1, H, W) input with pool options `o`;
 * writes y (OH * OW) and dx (H * W). */
static void run_single(const mc_maxpool_options *o, int H, int W, const float *x, const float *dy,
                       float *y, float *dx, int OH, int OW)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_pool(ctx, o);
    mc_shape s = test_shape(4, 1, 1, H, W);
    mc_shape out_shape = lt_setup(l, &s, 1);
    ck_assert_int_eq(out_shape.dims[2], OH);
    ck_assert_int_eq(out_shape.dims[3], OW);
    for (int i = 0; i < H * W; i++)
        dx[i] = 123.0f; /* written, not accumulated */
    lt_forward_data(l, (float *)x, &s, y, &out_shape, MC_MODE_TRAINING);
    lt_backward_data(l, (float *)x, &s, y, &out_shape, (float *)dy, dx);
    lt_teardown(&a, ctx, l);
}

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    mc_maxpool_options o = mc_maxpool_default(2, 3);
    ck_assert_int_eq(o.pool_size[0], 2);
    ck_assert_int_eq(o.pool_size[1], 3);
    ck_assert_int_eq(o.stride[0], 1); /* MATLAB's default stride is [1 1] */
    ck_assert_int_eq(o.stride[1], 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(o.padding[i], 0);
    ck_assert(!o.padding_same);
    ck_assert_ptr_null(o.name);

    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_pool(ctx, &o);
    lt_expect_identity(l, "maxPooling2dLayer", "MaxPooling2DLayer", "Max Pooling", "maxpool",
                       MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_str_eq(mc_layer_output_name(l, 0), "out");
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    /* maxPooling2dLayer(2, 'Stride', 2), as in the reference example. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    o.stride[0] = o.stride[1] = 2;
    mc_layer *l = make_pool(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "2x2 max pooling with stride [2  2] and padding [0  0  0  0]");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  MaxPooling2DLayer with properties:\n"
                       "\n"
                       "                   Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "               PoolSize: [2 2]\n"
                       "                 Stride: [2 2]\n"
                       "            PaddingMode: 'manual'\n"
                       "            PaddingSize: [0 0 0 0]\n"
                       "    HasUnpoolingOutputs: 0\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);

    o = mc_maxpool_default(3, 2);
    o.name = "pool1";
    o.stride[1] = 4;
    o.padding[0] = 1;
    o.padding[1] = 2;
    o.padding[3] = 1;
    l = make_pool(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x2 max pooling with stride [1  4] and padding [1  2  0  1]");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  MaxPooling2DLayer with properties:\n"
                       "\n"
                       "                   Name: 'pool1'\n"
                       "              NumInputs: 1\n"
                       "             InputNames: {'in'}\n"
                       "             NumOutputs: 1\n"
                       "            OutputNames: {'out'}\n"
                       "\n"
                       "   Hyperparameters\n"
                       "               PoolSize: [3 2]\n"
                       "                 Stride: [1 4]\n"
                       "            PaddingMode: 'manual'\n"
                       "            PaddingSize: [1 2 0 1]\n"
                       "    HasUnpoolingOutputs: 0\n");
    mc_layer_destroy(l);

    /* 'same': the summary says so; PaddingSize is [0 0 0 0] until setup computes it. */
    o = mc_maxpool_default(3, 3);
    o.stride[0] = o.stride[1] = 2;
    o.padding_same = true;
    l = make_pool(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x3 max pooling with stride [2  2] and padding 'same'");
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "            PaddingMode: 'same'\n"
                                       "            PaddingSize: [0 0 0 0]\n"));
    mc_free(ctx, text);
    mc_shape s = test_shape(4, 1, 1, 5, 6);
    lt_setup(l, &s, 1);
    text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "            PaddingSize: [1 1 0 1]\n"));
    mc_free(ctx, text);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "3x3 max pooling with stride [2  2] and padding 'same'");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

START_TEST(test_option_validation)
{
    mc_maxpool_options o = mc_maxpool_default(0, 2);
    o.name = "pool1";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'pool1': PoolSize must be two positive integers, not [0 2]");
    o = mc_maxpool_default(2, -1);
    expect_create_error(&o, MC_ERR_INVALID,
                        "maxPooling2dLayer (unnamed): PoolSize must be two "
                        "positive integers, not [2 -1]");
    o = mc_maxpool_default(2, 2);
    o.name = "pool1";
    o.stride[1] = 0;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'pool1': Stride must be two positive integers, not [1 0]");
    o.stride[1] = 1;
    o.stride[0] = -2;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'pool1': Stride must be two positive integers, not [-2 1]");
    o = mc_maxpool_default(2, 3);
    o.name = "pool1";
    o.padding[2] = -1;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'pool1': Padding must be four nonnegative integers [top bottom "
                        "left right] or 'same', not [0 0 -1 0]");
    /* Padding must be smaller than the pool size along its dimension. */
    const int bad[][4] = {{2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 5}};
    for (int k = 0; k < 4; k++) {
        o = mc_maxpool_default(2, 3);
        o.name = "pool1";
        memcpy(o.padding, bad[k], sizeof o.padding);
        char want[200];
        snprintf(want, sizeof want,
                 "Layer 'pool1': the padding [%d %d %d %d] must be smaller than the pool size "
                 "[2 3] (top and bottom below 2, left and right below 3)",
                 bad[k][0], bad[k][1], bad[k][2], bad[k][3]);
        expect_create_error(&o, MC_ERR_INVALID, want);
    }
    /* The largest allowed padding, and 'same' (which ignores `padding`), are fine. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    o = mc_maxpool_default(2, 3);
    const int edge[4] = {1, 1, 2, 2};
    memcpy(o.padding, edge, sizeof o.padding);
    mc_layer_destroy(make_pool(ctx, &o));
    o.padding[0] = -5;
    o.padding[2] = 9;
    o.padding_same = true;
    mc_layer_destroy(make_pool(ctx, &o));
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_setup_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_maxpool_options o = mc_maxpool_default(3, 3);
    o.name = "pool1";
    mc_layer *l = make_pool(ctx, &o);
    const struct {
        mc_shape shape;
        const char *dims;
    } kinds[] = {{test_shape(2, 2, 9), "2x9"},
                 {test_shape(3, 2, 3, 9), "2x3x9"},
                 {test_shape(5, 2, 3, 4, 4, 4), "2x3x4x4x4"}};
    for (int k = 0; k < 3; k++) {
        char want[200];
        snprintf(want, sizeof want,
                 "Layer 'pool1': the input has shape [%s]; max pooling needs 2-D images "
                 "(N, C, H, W)",
                 kinds[k].dims);
        lt_expect_setup_error(l, &kinds[k].shape, 1, MC_ERR_SHAPE, want);
    }
    mc_shape tiny = test_shape(4, 1, 1, 2, 2);
    lt_expect_setup_error(l, &tiny, 1, MC_ERR_SHAPE,
                          "Layer 'pool1': the 3x3 pooling window does not fit the 2x2 input "
                          "(padding [0 0 0 0])");
    mc_shape narrow = test_shape(4, 1, 1, 5, 2);
    lt_expect_setup_error(l, &narrow, 1, MC_ERR_SHAPE,
                          "Layer 'pool1': the 3x3 pooling window does not fit the 5x2 input "
                          "(padding [0 0 0 0])");
    mc_layer_destroy(l);

    /* Padding counts: [1 0 1 0] makes a 2x2 input 3x3, which fits; [0 0 2 0] widens a 2x1
     * input to 2x3, which is still too short. */
    o.padding[0] = 1;
    o.padding[2] = 1;
    l = make_pool(ctx, &o);
    mc_shape out = lt_setup(l, &tiny, 1);
    ck_assert_int_eq(out.dims[2], 1);
    ck_assert_int_eq(out.dims[3], 1);
    mc_layer_destroy(l);
    o = mc_maxpool_default(3, 3);
    o.padding[2] = 2;
    l = make_pool(ctx, &o);
    mc_shape col = test_shape(4, 1, 1, 2, 1);
    lt_expect_setup_error(l, &col, 1, MC_ERR_SHAPE,
                          "maxPooling2dLayer (unnamed): the 3x3 pooling window does not fit the "
                          "2x1 input (padding [0 0 2 0])");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Output sizes --------------------------------------------------------------------- */

START_TEST(test_output_sizes)
{
    static const struct {
        pool_cfg c;
        int OH, OW;
        int pad[4]; /* in use, as PaddingSize shows after setup */
    } cases[] = {
        {{2, 3, 28, 28, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0}, 14, 14, {0, 0, 0, 0}},
        {{1, 1, 5, 5, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0}, 2, 2, {0, 0, 0, 0}},
        {{1, 1, 5, 5, {2, 2}, {2, 2}, {0, 0, 0, 0}, 1}, 3, 3, {0, 1, 0, 1}},
        {{1, 2, 6, 6, {3, 3}, {1, 1}, {0, 0, 0, 0}, 1}, 6, 6, {1, 1, 1, 1}},
        {{1, 1, 7, 6, {3, 2}, {2, 3}, {1, 1, 0, 1}, 0}, 4, 2, {1, 1, 0, 1}},
        {{3, 1, 4, 4, {4, 4}, {1, 1}, {0, 0, 0, 0}, 0}, 1, 1, {0, 0, 0, 0}},
        {{1, 1, 5, 6, {3, 3}, {2, 2}, {0, 0, 0, 0}, 1}, 3, 3, {1, 1, 0, 1}},
        {{1, 1, 3, 3, {2, 2}, {4, 4}, {0, 0, 0, 0}, 1}, 1, 1, {0, 0, 0, 0}},
        {{1, 1, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 0}, 1, 1, {0, 0, 0, 0}},
        {{2, 4, 9, 8, {3, 2}, {3, 1}, {0, 0, 0, 0}, 0}, 3, 7, {0, 0, 0, 0}},
    };
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pool_cfg *c = &cases[k].c;
        int OH, OW, pad[4];
        oracle_geometry(c, &OH, &OW, pad); /* the test's formulas agree with the table */
        ck_assert_int_eq(OH, cases[k].OH);
        ck_assert_int_eq(OW, cases[k].OW);
        ck_assert_mem_eq(pad, cases[k].pad, sizeof pad);
        mc_maxpool_options o = options_of(c, NULL);
        mc_layer *l = make_pool(ctx, &o);
        mc_shape s = test_shape(4, c->N, c->C, c->H, c->W);
        mc_shape out = lt_setup(l, &s, 1);
        ck_assert_int_eq(out.ndim, 4);
        ck_assert_int_eq(out.dims[0], c->N);
        ck_assert_int_eq(out.dims[1], c->C);
        ck_assert_msg(out.dims[2] == cases[k].OH && out.dims[3] == cases[k].OW,
                      "case %zu: %dx%d, want %dx%d", k, out.dims[2], out.dims[3], cases[k].OH,
                      cases[k].OW);
        char *text = NULL, want[80];
        ck_assert_int_eq(mc_layer_describe(l, MC_DESCRIBE_PROPERTIES, &text), MC_OK);
        snprintf(want, sizeof want, "PaddingSize: [%d %d %d %d]\n", cases[k].pad[0],
                 cases[k].pad[1], cases[k].pad[2], cases[k].pad[3]);
        ck_assert_msg(strstr(text, want) != NULL, "case %zu: %s lacks %s", k, text, want);
        mc_free(ctx, text);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Values and ties ------------------------------------------------------------------ */

START_TEST(test_hand_computed)
{
    /* 2x2 windows, stride 2, over
     *    1  5  2  0
     *    3  4  8  7
     *    9 -1  6 10
     *   11 12 13 14   -> [5 8; 12 14], the gradient at those four positions. */
    const float x[16] = {1, 5, 2, 0, 3, 4, 8, 7, 9, -1, 6, 10, 11, 12, 13, 14};
    const float dy[4] = {1, 2, 3, 4};
    float y[4], dx[16];
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    o.stride[0] = o.stride[1] = 2;
    run_single(&o, 4, 4, x, dy, y, dx, 2, 2);
    const float want[4] = {5, 8, 12, 14};
    const float dwant[16] = {0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 4};
    ck_assert_mem_eq(y, want, sizeof want);
    ck_assert_mem_eq(dx, dwant, sizeof dwant);
}
END_TEST

/* Ties go to the first maximum in row-major order; a value that wins several overlapping
 * windows collects all their gradients. */
START_TEST(test_ties)
{
    float y[4], dx[6];
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    /* All equal: the top-left wins. */
    const float same[4] = {2, 2, 2, 2}, dy1[1] = {7};
    run_single(&o, 2, 2, same, dy1, y, dx, 1, 1);
    ck_assert(y[0] == 2.0f);
    ck_assert(dx[0] == 7.0f && dx[1] == 0.0f && dx[2] == 0.0f && dx[3] == 0.0f);
    /* [1 5; 5 2]: the 5 of the first row. */
    const float anti[4] = {1, 5, 5, 2};
    run_single(&o, 2, 2, anti, dy1, y, dx, 1, 1);
    ck_assert(y[0] == 5.0f);
    ck_assert(dx[0] == 0.0f && dx[1] == 7.0f && dx[2] == 0.0f && dx[3] == 0.0f);
    /* [0 9 0; 0 0 0] with stride 1: both windows pick the 9, which gets dy1 + dy2. */
    const float peak[6] = {0, 9, 0, 0, 0, 0}, dy2[2] = {0.25f, 2.0f};
    run_single(&o, 2, 3, peak, dy2, y, dx, 1, 2);
    ck_assert(y[0] == 9.0f && y[1] == 9.0f);
    const float dpeak[6] = {0, 2.25f, 0, 0, 0, 0};
    ck_assert_mem_eq(dx, dpeak, sizeof dpeak);
    /* [3 3 3] with 1x2 windows, stride 1: each window's first 3. */
    o = mc_maxpool_default(1, 2);
    const float flat[3] = {3, 3, 3};
    run_single(&o, 1, 3, flat, dy2, y, dx, 1, 2);
    ck_assert(dx[0] == 0.25f && dx[1] == 2.0f && dx[2] == 0.0f);
    /* A tie with a NaN elsewhere: the NaN wins (the first NaN) and gets the gradient. */
    o = mc_maxpool_default(2, 2);
    const float with_nan[4] = {1, NAN, 3, NAN};
    run_single(&o, 2, 2, with_nan, dy1, y, dx, 1, 1);
    ck_assert(isnan(y[0]));
    ck_assert(dx[0] == 0.0f && dx[1] == 7.0f && dx[2] == 0.0f && dx[3] == 0.0f);
    const float nan_first[4] = {NAN, 5, 2, 1};
    run_single(&o, 2, 2, nan_first, dy1, y, dx, 1, 1);
    ck_assert(isnan(y[0]) && dx[0] == 7.0f && dx[1] == 0.0f);
}
END_TEST

/* The vector path of 2x2 windows with stride 2 (8 outputs at a time, rows of 16 or more
 * outputs) picks the same winners as the rule: the first maximum in row-major order, a NaN over
 * numbers. Values from {0, 1, 2} and some NaNs make ties and NaNs frequent; odd W leaves a
 * column out. */
START_TEST(test_wide_rows_winners)
{
    enum { H = 4, W = 41, OH = 2, OW = 20 };
    float x[H * W], y[OH * OW], dy[OH * OW], dx[H * W], want_dx[H * W];
    test_rng r = {21};
    for (int i = 0; i < H * W; i++) {
        const double u = test_rng_uniform(&r);
        x[i] = u < 0.1 ? NAN : (float)(int)(u * 3);
    }
    memset(want_dx, 0, sizeof want_dx);
    float want_y[OH * OW];
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            const int o = oh * OW + ow;
            dy[o] = (float)(o + 1);
            int at = 2 * oh * W + 2 * ow;
            for (int k = 1; k < 4; k++) {
                const int i = (2 * oh + k / 2) * W + 2 * ow + k % 2;
                if (x[i] > x[at] || (isnan(x[i]) && !isnan(x[at])))
                    at = i;
            }
            want_y[o] = x[at];
            want_dx[at] += dy[o];
        }
    mc_maxpool_options opt = mc_maxpool_default(2, 2);
    opt.stride[0] = opt.stride[1] = 2;
    run_single(&opt, H, W, x, dy, y, dx, OH, OW);
    for (int o = 0; o < OH * OW; o++)
        ck_assert_msg(isnan(want_y[o]) ? isnan(y[o]) : y[o] == want_y[o], "y[%d] = %g, want %g", o,
                      y[o], want_y[o]);
    ck_assert_mem_eq(dx, want_dx, sizeof dx);
}
END_TEST

/* The vector path of 3x3 windows with stride 2 (16 windows inside the plane at a time; the
 * windows at the borders by the scalar loop) picks the same winners as the rule, with padding
 * 1, 0, asymmetric and 'same', on rows of 33 to 38 outputs (two blocks, the second masked).
 * Values from {0, 1, 2} and some NaNs make ties and NaNs frequent. */
START_TEST(test_3x3_stride2_winners)
{
    enum { H = 9, W = 75 };
    static const struct {
        int pad[4], same;
    } cases[] = {{{1, 1, 1, 1}, 0}, {{0, 0, 0, 0}, 0}, {{2, 0, 1, 2}, 0}, {{0, 0, 0, 0}, 1}};
    float x[H * W], y[8 * 40], dy[8 * 40], dx[H * W], want_dx[H * W], want_y[8 * 40];
    test_rng r = {23};
    for (int i = 0; i < H * W; i++) {
        const double u = test_rng_uniform(&r);
        x[i] = u < 0.08 ? NAN : (float)(int)(u * 3);
    }
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pool_cfg c = {1,
                            1,
                            H,
                            W,
                            {3, 3},
                            {2, 2},
                            {cases[k].pad[0], cases[k].pad[1], cases[k].pad[2], cases[k].pad[3]},
                            cases[k].same};
        int OH, OW, pad[4];
        oracle_geometry(&c, &OH, &OW, pad);
        ck_assert(OH * OW <= 8 * 40);
        memset(want_dx, 0, sizeof want_dx);
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const int o = oh * OW + ow;
                dy[o] = (float)(o + 1);
                int at = -1;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        const int h = 2 * oh + i - pad[0], w = 2 * ow + j - pad[2];
                        if (h < 0 || h >= H || w < 0 || w >= W)
                            continue;
                        const int q = h * W + w;
                        if (at < 0 || x[q] > x[at] || (isnan(x[q]) && !isnan(x[at])))
                            at = q;
                    }
                want_y[o] = x[at];
                want_dx[at] += dy[o];
            }
        mc_maxpool_options opt = mc_maxpool_default(3, 3);
        opt.stride[0] = opt.stride[1] = 2;
        memcpy(opt.padding, cases[k].pad, sizeof opt.padding);
        opt.padding_same = cases[k].same;
        run_single(&opt, H, W, x, dy, y, dx, OH, OW);
        for (int o = 0; o < OH * OW; o++)
            ck_assert_msg(isnan(want_y[o]) ? isnan(y[o]) : y[o] == want_y[o],
                          "case %zu: y[%d] = %g, want %g", k, o, y[o], want_y[o]);
        ck_assert_msg(memcmp(dx, want_dx, sizeof dx) == 0, "case %zu: other winners", k);
    }
}
END_TEST

/* Padded positions never win, even over negative values. */
START_TEST(test_padding_never_wins)
{
    const float x[4] = {-1, -2, -3, -4}, dy[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[9], dx[4];
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    for (int i = 0; i < 4; i++)
        o.padding[i] = 1;
    run_single(&o, 2, 2, x, dy, y, dx, 3, 3);
    const float want[9] = {-1, -1, -2, -1, -1, -2, -3, -3, -4};
    ck_assert_mem_eq(y, want, sizeof want);
    /* -1 wins windows 1, 2, 4, 5; -2 wins 3, 6; -3 wins 7, 8; -4 wins 9. */
    const float dwant[4] = {1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9};
    ck_assert_mem_eq(dx, dwant, sizeof dwant);
    /* 'same' padding too: 3x3 windows, stride 1, on an all-negative 2x3 input. */
    o = mc_maxpool_default(3, 3);
    o.padding_same = true;
    const float xs[6] = {-6, -5, -4, -3, -2, -1}, dys[6] = {0};
    float ys[6], dxs[6];
    run_single(&o, 2, 3, xs, dys, ys, dxs, 2, 3);
    const float wants[6] = {-2, -1, -1, -2, -1, -1};
    ck_assert_mem_eq(ys, wants, sizeof wants);
}
END_TEST

/* ---- Oracle and gradients ------------------------------------------------------------- */

static const pool_cfg grad_cases[] = {
    {2, 2, 4, 4, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0}, /* non-overlapping */
    {1, 2, 5, 6, {3, 3}, {1, 1}, {0, 0, 0, 0}, 0}, /* overlapping */
    {2, 1, 5, 5, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0}, /* padded */
    {1, 2, 5, 7, {2, 3}, {2, 2}, {0, 0, 0, 0}, 1}, /* 'same', odd padding */
    {1, 1, 7, 6, {3, 2}, {2, 3}, {1, 1, 0, 1}, 0}, /* asymmetric everything */
    {2, 1, 6, 6, {2, 2}, {3, 3}, {0, 0, 0, 0}, 0}, /* gaps: some values in no window */
    {1, 1, 5, 4, {3, 3}, {1, 1}, {0, 0, 0, 0}, 1}, /* 'same', stride 1 */
};

/* Distinct values (at least 0.05 apart) keep every window away from ties: forward equals the
 * oracle exactly, dx equals central differences of the double oracle, and the generic checker
 * (step 0.01) agrees on the layer's own float forward. */
START_TEST(test_gradients)
{
    const pool_cfg *c = &grad_cases[_i];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {400 + (uint64_t)_i};
    int OH, OW, pad[4];
    oracle_geometry(c, &OH, &OW, pad);
    mc_shape s = test_shape(4, c->N, c->C, c->H, c->W);
    const size_t n = mc_shape_numel(&s), n_out = (size_t)c->N * c->C * OH * OW;
    float *x = test_floats(n), *y = test_floats(n_out), *w = test_floats(n_out);
    float *dx = test_floats(n);
    double *xd = test_doubles(n), *wd = test_doubles(n_out), *ref = test_doubles(n_out);
    lt_fill_distinct(&r, x, n, 0.05, -0.025 * (double)n);
    test_fill_normal(&r, w, n_out, 0.0, 1.0);
    for (size_t i = 0; i < n; i++)
        xd[i] = x[i];
    for (size_t i = 0; i < n_out; i++)
        wd[i] = w[i];
    mc_maxpool_options o = options_of(c, NULL);
    mc_layer *l = make_pool(ctx, &o);
    mc_shape out_shape = lt_setup(l, &s, 1);
    ck_assert_int_eq(out_shape.dims[2], OH);
    ck_assert_int_eq(out_shape.dims[3], OW);
    mc_tensor in = mc_tensor_view(x, &s), out = mc_tensor_view(y, &out_shape);
    mc_tensor dout = mc_tensor_view(w, &out_shape), din = mc_tensor_view(dx, &s);
    lt_forward(l, &in, 1, &out, MC_MODE_TRAINING);
    oracle_maxpool(c, xd, ref);
    for (size_t i = 0; i < n_out; i++)
        ck_assert_msg(y[i] == (float)ref[i], "y[%zu] = %g, oracle %g", i, y[i], ref[i]);
    lt_backward(l, &in, 1, &out, &dout, &din);
    const point pt = {c, xd, wd, n_out};
    int zero = 0;
    for (size_t i = 0; i < n; i++) {
        const double num = test_central_difference(point_loss, &pt, &xd[i], 1e-6);
        zero += num == 0.0;
        ck_assert_msg(fabs(dx[i] - num) <= 1e-7 + 1e-6 * fabs(num), "dx[%zu] = %.9g, oracle %.9g",
                      i, dx[i], num);
    }
    ck_assert(zero > 0 && zero < (int)n); /* winners and losers both exercised */
    gradcheck_expect(l, &in, 1, 1e-2, 1e-4, 1e-4, (int)n, "case %d", _i);
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

/* dx is written (=) whatever it held; an inference forward between a training forward and
 * its backward does not disturb the saved winners; a smaller batch works; din may be NULL. */
START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {17};
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    o.stride[0] = o.stride[1] = 1;
    mc_layer *l = make_pool(ctx, &o);
    mc_shape s = test_shape(4, 3, 2, 3, 3);
    mc_shape os = lt_setup(l, &s, 1);
    float x[54], x2[54], y[24], y2[24], dy[24], dx[54], dx2[54];
    lt_fill_distinct(&r, x, 54, 0.1, -2.0);
    lt_fill_distinct(&r, x2, 54, 0.1, -2.0);
    test_fill_normal(&r, dy, 24, 0.0, 1.0);
    lt_expect_dx_written(l, x, &s, y, &os, dy, dx, 5e5f);

    for (int i = 0; i < 54; i++)
        dx2[i] = 5e5f;
    lt_forward_data(l, x2, &s, y2, &os, MC_MODE_INFERENCE);
    ck_assert(memcmp(y, y2, sizeof y) != 0);
    lt_backward_data(l, x, &s, y, &os, dy, dx2);
    ck_assert_mem_eq(dx, dx2, sizeof dx);

    /* The first two observations as a batch of 2: the same results. */
    lt_expect_smaller_batch(l, x, &s, &os, dy, y, dx, 2);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Setting up again for a larger input grows the index buffer; for a smaller one it is reused. */
START_TEST(test_setup_again)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {23};
    mc_maxpool_options o = mc_maxpool_default(2, 2);
    mc_layer *l = make_pool(ctx, &o);
    const mc_shape shapes[] = {test_shape(4, 1, 1, 3, 3), test_shape(4, 2, 3, 6, 5),
                               test_shape(4, 1, 2, 2, 4)};
    for (int k = 0; k < 3; k++) {
        const pool_cfg c = {shapes[k].dims[0],
                            shapes[k].dims[1],
                            shapes[k].dims[2],
                            shapes[k].dims[3],
                            {2, 2},
                            {1, 1},
                            {0, 0, 0, 0},
                            0};
        mc_shape os = lt_setup(l, &shapes[k], 1);
        const size_t n = mc_shape_numel(&shapes[k]), n_out = mc_shape_numel(&os);
        float *x = test_floats(n), *y = test_floats(n_out), *dy = test_floats(n_out);
        float *dx = test_floats(n);
        double *xd = test_doubles(n), *ref = test_doubles(n_out);
        lt_fill_distinct(&r, x, n, 1.0, 0.0);
        for (size_t i = 0; i < n; i++)
            xd[i] = x[i];
        for (size_t i = 0; i < n_out; i++)
            dy[i] = 1.0f;
        lt_forward_data(l, x, &shapes[k], y, &os, MC_MODE_TRAINING);
        oracle_maxpool(&c, xd, ref);
        size_t at;
        ck_assert(test_max_abs_diff(y, ref, n_out, &at) == 0.0);
        lt_backward_data(l, x, &shapes[k], y, &os, dy, dx);
        double total = 0;
        for (size_t i = 0; i < n; i++)
            total += dx[i];
        ck_assert(total == (double)n_out); /* each window's 1 lands somewhere in dx */
        free(x);
        free(y);
        free(dy);
        free(dx);
        free(xd);
        free(ref);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    /* The second, larger setup grows the index buffer. */
    const mc_shape setups[2] = {test_shape(4, 4, 3, 9, 8), test_shape(4, 8, 3, 9, 8)};
    for (int same = 0; same < 2; same++) {
        mc_maxpool_options o = mc_maxpool_default(3, 2);
        o.name = "pool1";
        o.stride[0] = 2;
        o.padding_same = same != 0;
        const lt_alloc_case c = {
            .create = create, .opts = &o, .setups = setups, .n_setups = 2, .min_allocs = 5};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *maxpool_suite(void)
{
    Suite *s = suite_create("maxpool");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_option_validation);
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_output_sizes);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_ties);
    tcase_add_test(tc, test_wide_rows_winners);
    tcase_add_test(tc, test_3x3_stride2_winners);
    tcase_add_test(tc, test_padding_never_wins);
    tcase_add_loop_test(tc, test_gradients, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
    tcase_add_test(tc, test_write_contract);
    tcase_add_test(tc, test_setup_again);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(maxpool_suite());
}
