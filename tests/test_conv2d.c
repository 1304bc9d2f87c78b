/* SPDX-License-Identifier: MIT */
/* convolution2dLayer: options, validation, display, values against a direct-convolution oracle,
 * im2col/col2im, gradients, the accumulation contract, allocation. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/conv2d.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* ---- An independent double-precision oracle ------------------------------------------- */

typedef struct geom {
    int N, C, H, W, F, KH, KW, SH, SW, DH, DW;
    int pad[4]; /* top bottom left right */
    int OH, OW;
} geom;

/* The geometry from the definitions: with pad NULL ('same') the output is ceil(L / S) and the
 * padding that takes is split with the odd one at the bottom / right. */
static geom geom_make(int N, int C, int H, int W, int F, int KH, int KW, int SH, int SW, int DH,
                      int DW, const int *pad)
{
    geom g = {N, C, H, W, F, KH, KW, SH, SW, DH, DW, {0, 0, 0, 0}, 0, 0};
    const int eh = (KH - 1) * DH + 1, ew = (KW - 1) * DW + 1;
    if (pad == NULL) {
        g.OH = (H + SH - 1) / SH;
        g.OW = (W + SW - 1) / SW;
        int th = (g.OH - 1) * SH + eh - H, tw = (g.OW - 1) * SW + ew - W;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        g.pad[0] = th / 2;
        g.pad[1] = th - th / 2;
        g.pad[2] = tw / 2;
        g.pad[3] = tw - tw / 2;
    } else {
        memcpy(g.pad, pad, sizeof g.pad);
        g.OH = (H + pad[0] + pad[1] - eh) / SH + 1;
        g.OW = (W + pad[2] + pad[3] - ew) / SW + 1;
    }
    return g;
}

static size_t numel_x(const geom *g)
{
    return (size_t)g->N * g->C * g->H * g->W;
}

static size_t numel_y(const geom *g)
{
    return (size_t)g->N * g->F * g->OH * g->OW;
}

static size_t numel_w(const geom *g)
{
    return (size_t)g->F * g->C * g->KH * g->KW;
}

/* The input value a tap reads, 0 in the padding; *inside says which. */
static size_t tap(const geom *g, int n, int c, int oh, int ow, int kh, int kw, int *inside)
{
    const int ih = oh * g->SH - g->pad[0] + kh * g->DH;
    const int iw = ow * g->SW - g->pad[2] + kw * g->DW;
    *inside = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
    return *inside ? (((size_t)n * g->C + c) * g->H + ih) * g->W + iw : 0;
}

/* Direct convolution: y[n][f][oh][ow] = b[f] + sum_c,kh,kw w[f][c][kh][kw] x[n][c][ih][iw].
 * mag (optional) receives |b| + sum |w x|, the scale of float rounding in each output. */
static void oracle_forward(const geom *g, const double *x, const double *w, const double *b,
                           double *y, double *mag)
{
    for (int n = 0; n < g->N; n++)
        for (int f = 0; f < g->F; f++)
            for (int oh = 0; oh < g->OH; oh++)
                for (int ow = 0; ow < g->OW; ow++) {
                    double s = b[f], m = fabs(b[f]);
                    for (int c = 0; c < g->C; c++)
                        for (int kh = 0; kh < g->KH; kh++)
                            for (int kw = 0; kw < g->KW; kw++) {
                                int in;
                                size_t i = tap(g, n, c, oh, ow, kh, kw, &in);
                                if (!in)
                                    continue;
                                double t =
                                    w[(((size_t)f * g->C + c) * g->KH + kh) * g->KW + kw] * x[i];
                                s += t;
                                m += fabs(t);
                            }
                    size_t o = (((size_t)n * g->F + f) * g->OH + oh) * g->OW + ow;
                    y[o] = s;
                    if (mag != NULL)
                        mag[o] = m;
                }
}

/* The same loops scattering dy back: dx, dw, db (written), with the magnitudes of dx and dw. */
static void oracle_backward(const geom *g, const double *x, const double *w, const double *dy,
                            double *dx, double *dw, double *db, double *mag_dx, double *mag_dw)
{
    memset(dx, 0, numel_x(g) * sizeof *dx);
    memset(mag_dx, 0, numel_x(g) * sizeof *mag_dx);
    memset(dw, 0, numel_w(g) * sizeof *dw);
    memset(mag_dw, 0, numel_w(g) * sizeof *mag_dw);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int n = 0; n < g->N; n++)
        for (int f = 0; f < g->F; f++)
            for (int oh = 0; oh < g->OH; oh++)
                for (int ow = 0; ow < g->OW; ow++) {
                    const double d = dy[(((size_t)n * g->F + f) * g->OH + oh) * g->OW + ow];
                    db[f] += d;
                    for (int c = 0; c < g->C; c++)
                        for (int kh = 0; kh < g->KH; kh++)
                            for (int kw = 0; kw < g->KW; kw++) {
                                int in;
                                size_t i = tap(g, n, c, oh, ow, kh, kw, &in);
                                if (!in)
                                    continue;
                                size_t k = (((size_t)f * g->C + c) * g->KH + kh) * g->KW + kw;
                                dx[i] += w[k] * d;
                                mag_dx[i] += fabs(w[k] * d);
                                dw[k] += x[i] * d;
                                mag_dw[k] += fabs(x[i] * d);
                            }
                }
}

/* A float result agrees with the exact value: see test_within_rounding. */
static int within_rounding(double got, double want, double mag, int terms)
{
    return test_within_rounding(got, want, mag, terms, 1e-30);
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_conv2d_create(ctx, opts, out);
}

static mc_layer *make_layer(mc_ctx *ctx, const mc_conv2d_options *o)
{
    return lt_make(ctx, create, o);
}

static mc_shape shape4(int N, int C, int H, int W)
{
    return test_shape(4, N, C, H, W);
}

/* Options for a geometry; pad NULL in g's making means 'same', passed here as `same`. */
static mc_conv2d_options options_for(const geom *g, int same)
{
    mc_conv2d_options o = mc_conv2d_default(g->KH, g->KW, g->F);
    o.stride[0] = g->SH;
    o.stride[1] = g->SW;
    o.dilation[0] = g->DH;
    o.dilation[1] = g->DW;
    o.padding_same = same != 0;
    if (!same)
        memcpy(o.padding, g->pad, sizeof o.padding);
    return o;
}

/* ---- Values against the oracle, every combination -------------------------------------- */

/* stride 1/2 x padding 0/asymmetric/'same' x dilation 1/2 x (C, F) x filter shape. */
static const int asym_pad[4] = {1, 0, 2, 1};
static const int zero_pad[4] = {0, 0, 0, 0};
static const int channel_cases[3][2] = {{1, 1}, {3, 2}, {2, 5}};
static const int filter_cases[4][2] = {{3, 3}, {2, 3}, {3, 1}, {1, 1}};
#define N_COMBOS (2 * 3 * 2 * 3 * 4)

static geom combo(int i, int *same)
{
    const int stride = 1 + i % 2;
    const int padding = (i / 2) % 3;
    const int dilation = 1 + (i / 6) % 2;
    const int *cf = channel_cases[(i / 12) % 3];
    const int *k = filter_cases[(i / 36) % 4];
    *same = padding == 2;
    return geom_make(2, cf[0], 6, 7, cf[1], k[0], k[1], stride, stride, dilation, dilation,
                     padding == 0   ? zero_pad
                     : padding == 1 ? asym_pad
                                    : NULL);
}

/* The layer's y, dx, dW and dBias for geometry g against the oracle, within float rounding of
 * each value's terms. `tag` names the case in the messages. */
static void expect_oracle(const geom *gp, int same, uint64_t seed, int tag)
{
    const geom g = *gp;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {seed};
    const size_t nx = numel_x(&g), ny = numel_y(&g), nw = numel_w(&g);
    float *x = test_floats(nx), *y = test_floats(ny), *dy = test_floats(ny);
    float *dx = test_floats(nx), *w = test_floats(nw), *b = test_floats((size_t)g.F);
    test_fill_normal(&r, x, nx, 0.3, 1.0);
    test_fill_normal(&r, w, nw, 0.0, 1.0);
    test_fill_normal(&r, b, (size_t)g.F, 0.0, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    mc_conv2d_options o = options_for(&g, same);
    o.name = "conv1";
    o.weights = w;
    o.weights_len = nw;
    o.bias = b;
    o.bias_len = (size_t)g.F;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = shape4(g.N, g.C, g.H, g.W), ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.ndim, 4);
    ck_assert_int_eq(ys.dims[0], g.N);
    ck_assert_int_eq(ys.dims[1], g.F);
    ck_assert_int_eq(ys.dims[2], g.OH);
    ck_assert_int_eq(ys.dims[3], g.OW);
    for (size_t i = 0; i < nx; i++)
        dx[i] = NAN; /* the input gradient is written, never read */
    const long allocs = a.count;
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx);
    ck_assert_int_eq(a.count, allocs); /* no allocation per call */

    double *xd = test_to_doubles(x, nx), *wd = test_to_doubles(w, nw),
           *bd = test_to_doubles(b, (size_t)g.F);
    double *dyd = test_to_doubles(dy, ny), *yd = test_doubles(ny), *mag = test_doubles(ny);
    double *dxd = test_doubles(nx), *mdx = test_doubles(nx), *dwd = test_doubles(nw);
    double *mdw = test_doubles(nw), *dbd = test_doubles((size_t)g.F);
    oracle_forward(&g, xd, wd, bd, yd, mag);
    oracle_backward(&g, xd, wd, dyd, dxd, dwd, dbd, mdx, mdw);
    const int K = g.C * g.KH * g.KW, P = g.OH * g.OW;
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(within_rounding(y[i], yd[i], mag[i], K + 1),
                      "combo %d: y[%zu] = %.9g, oracle %.9g", tag, i, y[i], yd[i]);
    for (size_t i = 0; i < nx; i++)
        ck_assert_msg(within_rounding(dx[i], dxd[i], mdx[i], g.F * g.KH * g.KW),
                      "combo %d: dx[%zu] = %.9g, oracle %.9g", tag, i, dx[i], dxd[i]);
    const float *gw = lt_param(l, "Weights")->grad.data, *gb = lt_param(l, "Bias")->grad.data;
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(within_rounding(gw[i], dwd[i], mdw[i], g.N * P),
                      "combo %d: dW[%zu] = %.9g, oracle %.9g", tag, i, gw[i], dwd[i]);
    for (int f = 0; f < g.F; f++)
        ck_assert_msg(fabs(gb[f] - dbd[f]) <= 1e-6 * (1 + fabs(dbd[f])),
                      "combo %d: dBias[%d] = %.9g, oracle %.9g", tag, f, gb[f], dbd[f]);

    free(x);
    free(y);
    free(dy);
    free(dx);
    free(w);
    free(b);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(yd);
    free(mag);
    free(dxd);
    free(mdx);
    free(dwd);
    free(mdw);
    free(dbd);
    lt_teardown(&a, ctx, l);
}

START_TEST(test_oracle_combinations)
{
    int same;
    const geom g = combo(_i, &same);
    expect_oracle(&g, same, 1000 + (uint64_t)_i, _i);
}
END_TEST

/* The same combinations with more observations than chunks (so that the direct kernels lay
 * several observations out in one sub-batch, the last one shorter), and more channels and
 * filters than their register blocks hold, with remainders. */
START_TEST(test_oracle_combinations_batched)
{
    int same;
    geom g = combo(_i, &same);
    const int C = g.C + 4, F = g.F + 6, N = 37;
    g = geom_make(N, C, g.H, g.W, F, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, same ? NULL : g.pad);
    expect_oracle(&g, same, 2000 + (uint64_t)_i, _i);
}
END_TEST

/* The sizes small CNNs use, each direct-kernel and GEMM path once: kernels 1, 3 and 5, 'same'
 * and explicit padding, dilation, stride 2, 8-40 channels, maps 3x3 to 28x28. */
static const struct {
    int N, C, H, W, F, K, S, D, same, pad[4];
} sized_cases[] = {
    {9, 16, 14, 14, 32, 3, 1, 1, 1, {0}},        {5, 32, 3, 3, 40, 3, 1, 1, 1, {0}},
    {19, 8, 7, 7, 16, 3, 1, 1, 1, {0}},          {3, 1, 28, 28, 16, 3, 1, 1, 1, {0}},
    {4, 12, 11, 9, 8, 5, 1, 1, 0, {2, 1, 0, 4}}, {6, 9, 12, 10, 10, 3, 1, 2, 1, {0}},
    {7, 16, 15, 13, 24, 3, 2, 1, 1, {0}},        {5, 24, 8, 8, 16, 1, 1, 1, 0, {0, 0, 0, 0}},
    {5, 8, 9, 9, 8, 1, 2, 1, 0, {1, 1, 1, 1}},   {3, 2, 28, 28, 20, 5, 1, 1, 0, {0, 0, 0, 0}},
};
#define N_SIZED (int)(sizeof sized_cases / sizeof sized_cases[0])

static geom sized(int i, int *same)
{
    const int k = sized_cases[i].K, s = sized_cases[i].S, d = sized_cases[i].D;
    *same = sized_cases[i].same;
    return geom_make(sized_cases[i].N, sized_cases[i].C, sized_cases[i].H, sized_cases[i].W,
                     sized_cases[i].F, k, k, s, s, d, d, *same ? NULL : sized_cases[i].pad);
}

START_TEST(test_oracle_sizes)
{
    int same;
    const geom g = sized(_i, &same);
    expect_oracle(&g, same, 3000 + (uint64_t)_i, 1000 + _i);
}
END_TEST

/* 1, 2 and 3 threads give the same bytes of y, dx, dW and dBias, the layer set up anew for each
 * thread count (its workspaces are sized for the threads at setup): mini-batches smaller than
 * the chunk count, odd sizes, every path. */
START_TEST(test_thread_independence)
{
    int same;
    geom g = sized(_i, &same);
    /* enough work for several threads (2^16 floats of work each) */
    const int N = _i % 2 ? 3 : 37;
    g = geom_make(N, g.C, g.H, g.W, g.F, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW,
                  same ? NULL : sized_cases[_i].pad);
    test_rng r = {4000 + (uint64_t)_i};
    const size_t nx = numel_x(&g), ny = numel_y(&g), nw = numel_w(&g);
    float *x = test_floats(nx), *dy = test_floats(ny), *w = test_floats(nw);
    float *b = test_floats((size_t)g.F);
    test_fill_normal(&r, x, nx, 0.3, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    test_fill_normal(&r, w, nw, 0.0, 1.0);
    test_fill_normal(&r, b, (size_t)g.F, 0.0, 1.0);
    float *y[3], *dx[3], *gw[3], *gb[3];
    for (int t = 0; t < 3; t++) {
        mc_set_threads(t + 1);
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_conv2d_options o = options_for(&g, same);
        o.weights = w;
        o.weights_len = nw;
        o.bias = b;
        o.bias_len = (size_t)g.F;
        mc_layer *l = make_layer(ctx, &o);
        mc_shape xs = shape4(g.N, g.C, g.H, g.W), ys = lt_setup_one(l, xs);
        y[t] = test_floats(ny);
        dx[t] = test_floats(nx);
        lt_forward_data(l, x, &xs, y[t], &ys, MC_MODE_TRAINING);
        lt_backward_data(l, x, &xs, y[t], &ys, dy, dx[t]);
        gw[t] = test_floats(nw);
        gb[t] = test_floats((size_t)g.F);
        memcpy(gw[t], lt_param(l, "Weights")->grad.data, nw * sizeof(float));
        memcpy(gb[t], lt_param(l, "Bias")->grad.data, (size_t)g.F * sizeof(float));
        lt_teardown(&a, ctx, l);
    }
    mc_set_threads(0);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(y[0], y[t], ny * sizeof(float)) == 0, "case %d: 1 and %d threads: y",
                      _i, t + 1);
        ck_assert_msg(memcmp(dx[0], dx[t], nx * sizeof(float)) == 0,
                      "case %d: 1 and %d threads: dx", _i, t + 1);
        ck_assert_msg(memcmp(gw[0], gw[t], nw * sizeof(float)) == 0,
                      "case %d: 1 and %d threads: dW", _i, t + 1);
        ck_assert_msg(memcmp(gb[0], gb[t], (size_t)g.F * sizeof(float)) == 0,
                      "case %d: 1 and %d threads: dBias", _i, t + 1);
    }
    for (int t = 0; t < 3; t++) {
        free(y[t]);
        free(dx[t]);
        free(gw[t]);
        free(gb[t]);
    }
    free(x);
    free(dy);
    free(w);
    free(b);
}
END_TEST

/* The oracle's geometry agrees with numbers worked out by hand, so both cannot share a slip. */
START_TEST(test_output_sizes)
{
    static const struct {
        int H, K, S, D, pad_a, pad_b, same, O, want_a, want_b;
    } cases[] = {
        {28, 5, 1, 1, 0, 0, 0, 24, 0, 0}, {28, 5, 1, 1, 0, 0, 1, 28, 2, 2},
        {28, 4, 1, 1, 0, 0, 1, 28, 1, 2}, {7, 3, 2, 1, 0, 0, 1, 4, 1, 1},
        {6, 3, 2, 1, 0, 0, 1, 3, 0, 1},   {6, 3, 1, 2, 0, 0, 1, 6, 2, 2},
        {6, 3, 2, 2, 1, 0, 0, 2, 1, 0},   {7, 3, 3, 1, 0, 0, 0, 2, 0, 0},
        {5, 1, 3, 1, 0, 0, 1, 2, 0, 0},   {4, 5, 1, 1, 0, 0, 1, 4, 2, 2},
    };
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* the same along H and along W (with the padding mirrored to left / right) */
        const int pad[4] = {cases[i].pad_a, cases[i].pad_b, cases[i].pad_a, cases[i].pad_b};
        geom g = geom_make(1, 1, cases[i].H, cases[i].H, 1, cases[i].K, cases[i].K, cases[i].S,
                           cases[i].S, cases[i].D, cases[i].D, cases[i].same ? NULL : pad);
        ck_assert_int_eq(g.OH, cases[i].O);
        ck_assert_int_eq(g.pad[0], cases[i].want_a);
        ck_assert_int_eq(g.pad[1], cases[i].want_b);
        mc_conv2d_options o = options_for(&g, cases[i].same);
        mc_layer *l = make_layer(ctx, &o);
        mc_shape ys = lt_setup_one(l, shape4(1, 1, cases[i].H, cases[i].H));
        ck_assert_int_eq(ys.dims[2], cases[i].O);
        ck_assert_int_eq(ys.dims[3], cases[i].O);
        char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
        char want[64];
        snprintf(want, sizeof want, "PaddingSize: [%d %d %d %d]\n", cases[i].want_a,
                 cases[i].want_b, cases[i].want_a, cases[i].want_b);
        ck_assert_msg(strstr(text, want) != NULL, "case %zu: no \"%s\" in\n%s", i, want, text);
        mc_free(ctx, text);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_hand_computed)
{
    /* x = [1 2 3; 4 5 6; 7 8 9], W = [1 0; 0 -1], bias 0.5: y = x(i,j) - x(i+1,j+1) + 0.5. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const float w[4] = {1, 0, 0, -1}, b[1] = {0.5f};
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4], dy[4] = {1, 1, 1, 1}, dx[9];
    mc_conv2d_options o = mc_conv2d_default(2, 2, 1);
    o.weights = w;
    o.weights_len = 4;
    o.bias = b;
    o.bias_len = 1;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = shape4(1, 1, 3, 3), ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.dims[2], 2);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(y[i], -3.5f);
    /* dW(kh, kw) = sum of the 2x2 window at (kh, kw); dBias = 4;
     * dx = +1 where the (0,0) tap reads, -1 where the (1,1) tap reads. */
    lt_backward_data(l, x, &xs, y, &ys, dy, dx);
    const float want_dw[4] = {12, 16, 24, 28}, want_dx[9] = {1, 1, 0, 1, 0, -1, 0, -1, -1};
    ck_assert_mem_eq(lt_param(l, "Weights")->grad.data, want_dw, sizeof want_dw);
    ck_assert_float_eq(lt_param(l, "Bias")->grad.data[0], 4.0f);
    ck_assert_mem_eq(dx, want_dx, sizeof want_dx);
    mc_layer_destroy(l);

    /* Stride 2 and padding 1 on every side: a padded 5x5 input, 2x2 output; the taps at
     * (2 oh - 1 + kh, 2 ow - 1 + kw) give [0 - 1, 0 - 3; 0 - 7, 5 - 9] + 0.5. */
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = o.padding[2] = o.padding[3] = 1;
    l = make_layer(ctx, &o);
    ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.dims[2], 2);
    ck_assert_int_eq(ys.dims[3], 2);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    const float want[4] = {-0.5f, -2.5f, -6.5f, -3.5f};
    ck_assert_mem_eq(y, want, sizeof want);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Set up for N = 3, run with N = 2 and 1; then set up again for a larger image (the workspace
 * grows) and for 'same' padding on another size. */
START_TEST(test_smaller_batch_and_resetup)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {21};
    const int sizes[3][2] = {{5, 5}, {9, 8}, {4, 6}};
    mc_conv2d_options o = mc_conv2d_default(3, 2, 4);
    o.padding[0] = 1;
    o.padding[3] = 2;
    mc_layer *l = make_layer(ctx, &o);
    for (int k = 0; k < 3; k++) {
        const geom g = geom_make(3, 2, sizes[k][0], sizes[k][1], 4, 3, 2, 1, 1, 1, 1,
                                 (const int[]){1, 0, 0, 2});
        mc_shape xs = shape4(3, 2, g.H, g.W), ys = lt_setup_one(l, xs);
        ck_assert_int_eq(ys.dims[2], g.OH);
        ck_assert_int_eq(ys.dims[3], g.OW);
        const size_t nx = numel_x(&g), ny = numel_y(&g);
        float *x = test_floats(nx), *y = test_floats(ny);
        test_fill_normal(&r, x, nx, 0.0, 1.0);
        for (int n = 1; n <= 3; n++) {
            mc_shape xn = shape4(n, 2, g.H, g.W), yn = shape4(n, 4, g.OH, g.OW);
            lt_forward_data(l, x, &xn, y, &yn, MC_MODE_TRAINING);
            geom gn = g;
            gn.N = n;
            double *xd = test_to_doubles(x, nx),
                   *wd = test_to_doubles(lt_param(l, "Weights")->value.data, numel_w(&g));
            double bd[4] = {0}, *yd = test_doubles(ny), *mag = test_doubles(ny);
            oracle_forward(&gn, xd, wd, bd, yd, mag);
            for (size_t i = 0; i < numel_y(&gn); i++)
                ck_assert_msg(within_rounding(y[i], yd[i], mag[i], 13),
                              "size %d, N %d: y[%zu] = %.9g, oracle %.9g", k, n, i, y[i], yd[i]);
            free(xd);
            free(wd);
            free(yd);
            free(mag);
        }
        free(x);
        free(y);
    }
    mc_layer_destroy(l);

    o = mc_conv2d_default(4, 3, 2);
    o.padding_same = true;
    o.stride[0] = 2;
    l = make_layer(ctx, &o);
    const int same_sizes[2][2] = {{7, 5}, {12, 10}};
    for (int k = 0; k < 2; k++) {
        const geom g =
            geom_make(2, 1, same_sizes[k][0], same_sizes[k][1], 2, 4, 3, 2, 1, 1, 1, NULL);
        mc_shape xs = shape4(2, 1, g.H, g.W), ys = lt_setup_one(l, xs);
        ck_assert_int_eq(ys.dims[2], g.OH);
        ck_assert_int_eq(ys.dims[3], g.OW);
        const size_t nx = numel_x(&g), ny = numel_y(&g);
        float *x = test_floats(nx), *y = test_floats(ny);
        test_fill_normal(&r, x, nx, 0.0, 1.0);
        lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
        double *xd = test_to_doubles(x, nx),
               *wd = test_to_doubles(lt_param(l, "Weights")->value.data, numel_w(&g));
        double bd[2] = {0}, *yd = test_doubles(ny), *mag = test_doubles(ny);
        oracle_forward(&g, xd, wd, bd, yd, mag);
        for (size_t i = 0; i < ny; i++)
            ck_assert_msg(within_rounding(y[i], yd[i], mag[i], 13), "same %d: y[%zu]", k, i);
        char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
        char want[64];
        snprintf(want, sizeof want, "PaddingSize: [%d %d %d %d]\n", g.pad[0], g.pad[1], g.pad[2],
                 g.pad[3]);
        ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in\n%s", want, text);
        mc_free(ctx, text);
        free(x);
        free(y);
        free(xd);
        free(wd);
        free(yd);
        free(mag);
    }
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- im2col and col2im ---------------------------------------------------------------- */

/* im2col copies exactly what the definition says, and col2im is its adjoint:
 * <col2im(c), x> == <c, im2col(x)>. col2im adds to what dx holds. */
START_TEST(test_im2col_col2im)
{
    int same;
    const geom g = combo(_i, &same);
    test_rng r = {500 + (uint64_t)_i};
    const int K = g.C * g.KH * g.KW, P = g.OH * g.OW;
    const size_t nx = (size_t)g.C * g.H * g.W, nc = (size_t)K * P;
    float *x = test_floats(nx), *col = test_floats(nc), *c = test_floats(nc);
    float *dx = test_floats(nx);
    test_fill_normal(&r, x, nx, 0.0, 1.0);
    test_fill_normal(&r, c, nc, 0.0, 1.0);
    for (size_t i = 0; i < nc; i++)
        col[i] = NAN; /* every element is written */
    mc_im2col_kernel(x, col, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.pad[0], g.pad[2],
                     g.OH, g.OW);
    double lhs = 0, scale = 0;
    for (int ch = 0; ch < g.C; ch++)
        for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++) {
                        int in;
                        size_t i = tap(&g, 0, ch, oh, ow, kh, kw, &in);
                        size_t k =
                            (((size_t)ch * g.KH + kh) * g.KW + kw) * P + (size_t)oh * g.OW + ow;
                        ck_assert_msg(col[k] == (in ? x[i] : 0.0f),
                                      "combo %d: col[%zu] = %g, want %g", _i, k, col[k],
                                      in ? x[i] : 0.0f);
                        lhs += (double)c[k] * col[k];
                        scale += fabs((double)c[k] * col[k]);
                    }
    for (size_t i = 0; i < nx; i++)
        dx[i] = 1.0f;
    mc_col2im_kernel(c, dx, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.pad[0], g.pad[2],
                     g.OH, g.OW);
    double rhs = 0, sum_abs_x = 0;
    for (size_t i = 0; i < nx; i++) {
        rhs += ((double)dx[i] - 1.0) * x[i];
        sum_abs_x += fabs(x[i]);
    }
    /* Each dx element is a float sum of at most KH*KW terms and the 1 it started from. */
    ck_assert_msg(fabs(lhs - rhs) <= (g.KH * g.KW + 3) * 0x1p-24 * (scale + sum_abs_x),
                  "combo %d: <c, im2col(x)> = %.12g but <col2im(c), x> = %.12g", _i, lhs, rhs);
    ck_assert_msg(scale > 0, "combo %d: nothing was compared", _i);
    free(x);
    free(col);
    free(c);
    free(dx);
}
END_TEST

/* ---- Gradients against central differences ---------------------------------------------- */

static double oracle_loss(const geom *g, const double *x, const double *w, const double *b,
                          const double *dy)
{
    const size_t ny = numel_y(g);
    double *y = test_doubles(ny), L = 0;
    oracle_forward(g, x, w, b, y, NULL);
    for (size_t i = 0; i < ny; i++)
        L += dy[i] * y[i];
    free(y);
    return L;
}

/* A float gradient against a double central difference, whose own rounding (L summed over
 * a few hundred outputs) stays far below 1e-10. */
static int near_numeric(double got, double numeric, double mag, int terms)
{
    return test_within_rounding(got, numeric, mag, terms, 1e-10);
}

/* The point at which the oracle loss is differentiated. */
typedef struct point {
    const geom *g;
    const double *x, *w, *b, *dy;
} point;

static double point_loss(const void *user)
{
    const point *p = user;
    return oracle_loss(p->g, p->x, p->w, p->b, p->dy);
}

/* L is linear in each value: any step is exact. */
static double central(const point *p, double *v)
{
    return test_central_difference(point_loss, p, v, 0.25);
}

/* For a spread of geometries: the analytic gradients against central differences of the
 * double oracle (tight), and against the layer's own float forward (gradcheck_layer). */
START_TEST(test_gradients)
{
    static const int picks[] = {0, 7, 17, 23, 29, 40, 47, 58, 71, 88, 107, 119, 130, 143};
    int same;
    const geom g = combo(picks[_i], &same);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {300 + (uint64_t)_i};
    const size_t nx = numel_x(&g), ny = numel_y(&g), nw = numel_w(&g);
    float *x = test_floats(nx), *y = test_floats(ny), *dy = test_floats(ny);
    float *dx = test_floats(nx), b[5];
    test_fill_normal(&r, x, nx, 0.0, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    test_fill_normal(&r, b, (size_t)g.F, 0.0, 1.0);
    mc_conv2d_options o = options_for(&g, same);
    o.bias = b;
    o.bias_len = (size_t)g.F;
    o.weights_initializer.name = "he";
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = shape4(g.N, g.C, g.H, g.W), ys = lt_setup_one(l, xs);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx);

    double *xd = test_to_doubles(x, nx),
           *wd = test_to_doubles(lt_param(l, "Weights")->value.data, nw);
    double *bd = test_to_doubles(b, (size_t)g.F), *dyd = test_to_doubles(dy, ny);
    double *dxd = test_doubles(nx), *mdx = test_doubles(nx), *dwd = test_doubles(nw);
    double *mdw = test_doubles(nw), dbd[5];
    oracle_backward(&g, xd, wd, dyd, dxd, dwd, dbd, mdx, mdw);
    const point pt = {&g, xd, wd, bd, dyd};
    for (size_t i = 0; i < nx; i++) {
        double num = central(&pt, &xd[i]);
        ck_assert_msg(fabs(num - dxd[i]) <= 1e-10, "oracle dx[%zu]: %.17g vs %.17g", i, num,
                      dxd[i]);
        ck_assert_msg(near_numeric(dx[i], num, mdx[i], g.F * g.KH * g.KW),
                      "pick %d: dx[%zu] = %.9g, numeric %.9g", _i, i, dx[i], num);
    }
    const float *gw = lt_param(l, "Weights")->grad.data, *gb = lt_param(l, "Bias")->grad.data;
    for (size_t i = 0; i < nw; i++) {
        double num = central(&pt, &wd[i]);
        ck_assert_msg(near_numeric(gw[i], num, mdw[i], g.N * g.OH * g.OW),
                      "pick %d: dW[%zu] = %.9g, numeric %.9g", _i, i, gw[i], num);
    }
    for (int f = 0; f < g.F; f++) {
        double num = central(&pt, &bd[f]);
        ck_assert_msg(fabs(gb[f] - num) <= 1e-6 * (1 + fabs(num)),
                      "pick %d: dBias[%d] = %.9g, numeric %.9g", _i, f, gb[f], num);
    }

    mc_tensor in = mc_tensor_view(x, &xs);
    /* The layer is linear in x and W: a large step has no truncation error and keeps the
     * float rounding of the two forward passes small against it. */
    gradcheck_expect(l, &in, 1, 0.25, 1e-3, 1e-3, (int)(nx + nw) + g.F, "pick %d", _i);

    free(x);
    free(y);
    free(dy);
    free(dx);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(dxd);
    free(mdx);
    free(dwd);
    free(mdw);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Parameter gradients accumulate (+=); the input gradient is written (=); skipping it leaves
 * the parameter gradients the same. Both paths: im2col (3x3) and direct (1x1). */
START_TEST(test_accumulation_contract)
{
    const int k = _i == 0 ? 3 : 1;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {13};
    mc_conv2d_options o = mc_conv2d_default(k, k, 3);
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = shape4(2, 2, 5, 5), ys = lt_setup_one(l, xs);
    const size_t nx = 100, ny = mc_shape_numel(&ys), nw = (size_t)3 * 2 * k * k;
    float x[100], dx1[100], dx2[100], y[150], dy[150], gw1[54], gb1[3];
    test_fill_normal(&r, x, nx, 0.0, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx1);
    memcpy(gw1, lt_param(l, "Weights")->grad.data, nw * sizeof(float));
    memcpy(gb1, lt_param(l, "Bias")->grad.data, sizeof gb1);
    for (size_t i = 0; i < nx; i++)
        dx2[i] = 1e6f;
    lt_backward_data(l, x, &xs, y, &ys, dy, dx2);
    ck_assert_mem_eq(dx1, dx2, sizeof dx1);
    /* The second pass adds a float sum of N*OH*OW terms to the first: within that sum's
     * rounding of 2 g1 (magnitudes from the oracle). Overwriting would miss by |g1|. */
    const geom g = geom_make(2, 2, 5, 5, 3, k, k, 1, 1, 1, 1, zero_pad);
    double *xd = test_to_doubles(x, nx), *dyd = test_to_doubles(dy, ny);
    double *wd = test_to_doubles(lt_param(l, "Weights")->value.data, nw);
    double dxd[100], mdx[100], dwd[54], mdw[54], dbd[3];
    oracle_backward(&g, xd, wd, dyd, dxd, dwd, dbd, mdx, mdw);
    const float *gw = lt_param(l, "Weights")->grad.data, *gb = lt_param(l, "Bias")->grad.data;
    int clear = 0;
    for (size_t i = 0; i < nw; i++) {
        const int terms = 2 * g.N * g.OH * g.OW;
        ck_assert_msg(within_rounding(gw[i], 2.0 * gw1[i], 2 * mdw[i], terms),
                      "dW[%zu] = %.9g after two passes, one gave %.9g", i, gw[i], gw1[i]);
        clear += fabs(gw1[i]) > 100 * (terms + 2) * 0x1p-24 * 2 * mdw[i];
    }
    ck_assert_msg(clear > (int)nw / 2, "only %d of %zu gradients stand clear of rounding", clear,
                  nw);
    for (int f = 0; f < 3; f++) {
        ck_assert(fabsf(gb1[f]) > 0.1f);
        ck_assert_float_eq_tol(gb[f], 2 * gb1[f], 1e-6f * fabsf(gb1[f]));
    }
    free(xd);
    free(dyd);
    free(wd);
    mc_param_zero_grad(lt_param(l, "Weights"));
    mc_param_zero_grad(lt_param(l, "Bias"));
    lt_backward_data(l, x, &xs, y, &ys, dy, NULL);
    ck_assert_mem_eq(lt_param(l, "Weights")->grad.data, gw1, nw * sizeof(float));
    ck_assert_mem_eq(lt_param(l, "Bias")->grad.data, gb1, sizeof gb1);
    /* A din whose data is NULL is skipped as well. */
    mc_param_zero_grad(lt_param(l, "Weights"));
    mc_param_zero_grad(lt_param(l, "Bias"));
    mc_tensor in = mc_tensor_view(x, &xs), out = mc_tensor_view(y, &ys);
    mc_tensor dout = mc_tensor_view(dy, &ys), none = mc_tensor_view(NULL, &xs);
    ck_assert_int_eq(mc_layer_backward(l, &in, 1, &out, &dout, &none), MC_OK);
    ck_assert_mem_eq(lt_param(l, "Weights")->grad.data, gw1, nw * sizeof(float));
    /* Training and inference compute the same. */
    float y2[150];
    mc_tensor out2 = mc_tensor_view(y2, &ys);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out2, MC_MODE_INFERENCE), MC_OK);
    ck_assert_mem_eq(y, y2, ny * sizeof(float));
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    mc_conv2d_options o = mc_conv2d_default(5, 3, 20);
    ck_assert_int_eq(o.filter_size[0], 5);
    ck_assert_int_eq(o.filter_size[1], 3);
    ck_assert_int_eq(o.num_filters, 20);
    ck_assert_ptr_null(o.name);
    ck_assert(o.stride[0] == 1 && o.stride[1] == 1);
    ck_assert(o.dilation[0] == 1 && o.dilation[1] == 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(o.padding[i], 0);
    ck_assert(!o.padding_same);
    ck_assert_int_eq(o.num_channels, 0);
    ck_assert_ptr_null(o.weights_initializer.name);
    ck_assert(o.weights_initializer.fn == NULL && o.bias_initializer.fn == NULL);
    ck_assert_ptr_null(o.bias_initializer.name);
    ck_assert_ptr_null(o.weights);
    ck_assert_ptr_null(o.bias);
    ck_assert(o.weight_learn_rate_factor == 1.0 && o.bias_learn_rate_factor == 1.0);
    ck_assert(o.weight_l2_factor == 1.0 && o.bias_l2_factor == 0.0);

    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    o.weight_learn_rate_factor = 2;
    o.bias_learn_rate_factor = 0.5;
    o.weight_l2_factor = 0;
    o.bias_l2_factor = 3;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_identity(l, "convolution2dLayer", "Convolution2DLayer", "Convolution", "conv",
                       MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_int_eq(mc_layer_num_outputs(l), 1);
    ck_assert_int_eq(mc_layer_num_params(l), 2);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    mc_param *w = mc_layer_param(l, 0), *b = mc_layer_param(l, 1);
    ck_assert_str_eq(w->name, "Weights");
    ck_assert_str_eq(b->name, "Bias");
    ck_assert_ptr_null(mc_layer_param(l, 2));
    ck_assert(w->lr_factor == 2 && b->lr_factor == 0.5);
    ck_assert(w->l2_factor == 0 && b->l2_factor == 3);
    ck_assert_ptr_null(w->value.data);
    ck_assert_ptr_null(b->value.data);

    mc_shape ys = lt_setup_one(l, shape4(4, 3, 10, 8));
    ck_assert_int_eq(ys.dims[0], 4);
    ck_assert_int_eq(ys.dims[1], 20);
    ck_assert_int_eq(ys.dims[2], 6);
    ck_assert_int_eq(ys.dims[3], 6);
    /* Stored (F, C, KH, KW); MATLAB's size KH x KW x C x F; Bias (F), MATLAB 1 x 1 x F. */
    const int w_storage[4] = {20, 3, 5, 3}, w_size[4] = {5, 3, 3, 20}, b_size[3] = {1, 1, 20};
    ck_assert_int_eq(w->value.shape.ndim, 4);
    ck_assert_int_eq(w->size.ndim, 4);
    ck_assert_int_eq(w->grad.shape.ndim, 4);
    for (int d = 0; d < 4; d++) {
        ck_assert_int_eq(w->value.shape.dims[d], w_storage[d]);
        ck_assert_int_eq(w->grad.shape.dims[d], w_storage[d]);
        ck_assert_int_eq(w->size.dims[d], w_size[d]);
    }
    ck_assert_int_eq(b->value.shape.ndim, 1);
    ck_assert_int_eq(b->value.shape.dims[0], 20);
    ck_assert_int_eq(b->size.ndim, 3);
    for (int d = 0; d < 3; d++)
        ck_assert_int_eq(b->size.dims[d], b_size[d]);
    for (int f = 0; f < 20; f++)
        ck_assert(b->value.data[f] == 0.0f && b->grad.data[f] == 0.0f);
    for (size_t i = 0; i < 900; i++)
        ck_assert(w->grad.data[i] == 0.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

static const char reference_display[] = "  Convolution2DLayer with properties:\n"
                                        "\n"
                                        "              Name: ''\n"
                                        "\n"
                                        "   Hyperparameters\n"
                                        "        FilterSize: [5 5]\n"
                                        "       NumChannels: 'auto'\n"
                                        "        NumFilters: 20\n"
                                        "            Stride: [1 1]\n"
                                        "    DilationFactor: [1 1]\n"
                                        "       PaddingMode: 'manual'\n"
                                        "       PaddingSize: [0 0 0 0]\n"
                                        "      PaddingValue: 0\n"
                                        "\n"
                                        "   Learnable Parameters\n"
                                        "           Weights: []\n"
                                        "              Bias: []\n"
                                        "\n"
                                        "  Show all properties\n";

START_TEST(test_display_reference_example)
{
    /* convolution2dLayer(5, 20) of the reference example, before and after setup. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_conv2d_options o = mc_conv2d_default(5, 5, 20);
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "20 5x5 convolutions with stride [1  1] and padding [0  0  0  0]");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES, reference_display);
    lt_setup_one(l, shape4(2, 1, 28, 28));
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "20 5x5x1 convolutions with stride [1  1] and padding [0  0  0  0]");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  Convolution2DLayer with properties:\n"
                       "\n"
                       "              Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "        FilterSize: [5 5]\n"
                       "       NumChannels: 1\n"
                       "        NumFilters: 20\n"
                       "            Stride: [1 1]\n"
                       "    DilationFactor: [1 1]\n"
                       "       PaddingMode: 'manual'\n"
                       "       PaddingSize: [0 0 0 0]\n"
                       "      PaddingValue: 0\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "           Weights: [5\xc3\x97"
                       "5\xc3\x97"
                       "1\xc3\x97"
                       "20 single]\n"
                       "              Bias: [1\xc3\x97"
                       "1\xc3\x97"
                       "20 single]\n"
                       "\n"
                       "  Show all properties\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display_padding_and_dilation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_conv2d_options o = mc_conv2d_default(4, 3, 8);
    o.name = "conv_same";
    o.padding_same = true;
    o.padding[0] = 9; /* ignored with 'same' */
    o.stride[0] = 2;
    o.stride[1] = 3;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "8 4x3 convolutions with stride [2  3] and padding 'same'");
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "              Name: 'conv_same'\n"));
    ck_assert_ptr_nonnull(strstr(text, "            Stride: [2 3]\n"
                                       "    DilationFactor: [1 1]\n"
                                       "       PaddingMode: 'same'\n"
                                       "       PaddingSize: [0 0 0 0]\n"));
    mc_free(ctx, text);
    /* 10x10 input: OH = 5 needs (5-1)*2 + 4 - 10 = 2 rows, OW = 4 needs (4-1)*3 + 3 - 10 = 2. */
    lt_setup_one(l, shape4(1, 3, 10, 10));
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "8 4x3x3 convolutions with stride [2  3] and padding 'same'");
    text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "       PaddingSize: [1 1 1 1]\n"));
    ck_assert_ptr_nonnull(strstr(text, "       NumChannels: 3\n"));
    mc_free(ctx, text);
    mc_layer_destroy(l);

    o = mc_conv2d_default(3, 3, 16);
    o.padding[0] = 1;
    o.padding[1] = 0;
    o.padding[2] = 2;
    o.padding[3] = 1;
    o.dilation[0] = 2;
    o.dilation[1] = 3;
    o.num_channels = 4;
    l = make_layer(ctx, &o);
    /* NumChannels given: known before setup. */
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "16 3x3x4 convolutions with stride [1  1], dilation factor [2  3] and "
                       "padding [1  0  2  1]");
    text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "       NumChannels: 4\n"));
    ck_assert_ptr_nonnull(strstr(text, "    DilationFactor: [2 3]\n"
                                       "       PaddingMode: 'manual'\n"
                                       "       PaddingSize: [1 0 2 1]\n"));
    mc_free(ctx, text);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display_all_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_ramp ramp = {0, -1.0f, 0.25f};
    mc_conv2d_options o = mc_conv2d_default(3, 2, 6);
    o.name = "conv1";
    o.weights_initializer.name = "he";
    o.bias_initializer.fn = lt_ramp_init;
    o.bias_initializer.user = &ramp;
    o.weight_learn_rate_factor = 0.5;
    o.bias_learn_rate_factor = 2;
    o.weight_l2_factor = 1e-3;
    mc_layer *l = make_layer(ctx, &o);
    const char *want = "  Convolution2DLayer with properties:\n\n"
                       "                     Name: 'conv1'\n"
                       "                NumInputs: 1\n"
                       "               InputNames: {'in'}\n"
                       "               NumOutputs: 1\n"
                       "              OutputNames: {'out'}\n\n"
                       "   Hyperparameters\n"
                       "               FilterSize: [3 2]\n"
                       "              NumChannels: 'auto'\n"
                       "               NumFilters: 6\n"
                       "                   Stride: [1 1]\n"
                       "           DilationFactor: [1 1]\n"
                       "              PaddingMode: 'manual'\n"
                       "              PaddingSize: [0 0 0 0]\n"
                       "             PaddingValue: 0\n\n"
                       "   Learnable Parameters\n"
                       "                  Weights: []\n"
                       "                     Bias: []\n\n"
                       "   Parameters and Initialization\n"
                       "       WeightsInitializer: 'he'\n"
                       "          BiasInitializer: [function_handle]\n\n"
                       "   Learn Rate and Regularization\n"
                       "    WeightLearnRateFactor: 0.5000\n"
                       "      BiasLearnRateFactor: 2\n"
                       "           WeightL2Factor: 1.0000e-03\n"
                       "             BiasL2Factor: 0\n";
    lt_expect_describe(l, MC_DESCRIBE_ALL, want);
    mc_layer_destroy(l);
    /* The defaults' names. */
    o = mc_conv2d_default(3, 3, 1);
    l = make_layer(ctx, &o);
    char *text = lt_describe(l, MC_DESCRIBE_ALL);
    ck_assert_ptr_nonnull(strstr(text, "       WeightsInitializer: 'glorot'\n"
                                       "          BiasInitializer: 'zeros'\n"));
    ck_assert_ptr_nonnull(strstr(text, "    WeightLearnRateFactor: 1\n"
                                       "      BiasLearnRateFactor: 1\n"
                                       "           WeightL2Factor: 1\n"
                                       "             BiasL2Factor: 0\n"));
    mc_free(ctx, text);
    ck_assert_int_eq(ramp.calls, 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Initialization ------------------------------------------------------------------- */

START_TEST(test_glorot_and_he_statistics)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    /* 5x5 filters, C = 16, F = 32: 12800 weights. Glorot: U(-b, b), b = sqrt(6 / (25*16 +
     * 25*32)) = sqrt(0.005); sd b / sqrt(3). He: N(0, sqrt(2 / (25*16))). */
    const size_t n = 12800;
    mc_conv2d_options o = mc_conv2d_default(5, 5, 32);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_one(l, shape4(1, 16, 5, 5));
    double mean, sd, max_abs;
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    const double bound = sqrt(6.0 / (25 * 16 + 25 * 32));
    ck_assert_msg(max_abs <= bound, "glorot: |w| = %g > %g", max_abs, bound);
    ck_assert_msg(max_abs > 0.999 * bound, "glorot: max |w| = %g, bound %g", max_abs, bound);
    ck_assert_msg(fabs(mean) < 4 * bound / sqrt(3.0 * n), "glorot: mean %g", mean);
    ck_assert_msg(fabs(sd - bound / sqrt(3.0)) < 0.02 * bound / sqrt(3.0), "glorot: sd %g", sd);
    /* Uniform, not normal: a quarter of the values lie beyond b / 2 on each side. */
    size_t beyond = 0;
    for (size_t i = 0; i < n; i++)
        beyond += lt_param(l, "Weights")->value.data[i] > bound / 2;
    ck_assert_msg(fabs((double)beyond / n - 0.25) < 0.02, "glorot: %zu beyond b/2", beyond);
    for (int f = 0; f < 32; f++)
        ck_assert(lt_param(l, "Bias")->value.data[f] == 0.0f);
    mc_layer_destroy(l);

    o.weights_initializer.name = "He"; /* names are case-insensitive */
    o.bias_initializer.name = "narrow-normal";
    l = make_layer(ctx, &o);
    lt_setup_one(l, shape4(1, 16, 5, 5));
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    const double he = sqrt(2.0 / (25 * 16));
    ck_assert_msg(fabs(mean) < 4 * he / sqrt((double)n), "he: mean %g", mean);
    ck_assert_msg(fabs(sd - he) < 0.03 * he, "he: sd %g, want %g", sd, he);
    ck_assert_msg(max_abs > 3 * he, "he: max |w| %g: not normal", max_abs);
    double bmean, bsd, bmax;
    test_moments(lt_param(l, "Bias")->value.data, 32, &bmean, &bsd, &bmax);
    ck_assert_msg(bsd > 0.005 && bsd < 0.02 && bmax < 0.05, "bias narrow-normal: sd %g", bsd);
    mc_layer_destroy(l);

    /* narrow-normal weights N(0, 0.01^2); reproducible from the seed. */
    o.weights_initializer.name = "narrow-normal";
    o.bias_initializer.name = "ones";
    mc_rng_seed(ctx, 99);
    l = make_layer(ctx, &o);
    lt_setup_one(l, shape4(1, 16, 5, 5));
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    ck_assert_msg(fabs(sd - 0.01) < 0.0003 && fabs(mean) < 4 * 0.01 / sqrt((double)n),
                  "narrow-normal: mean %g sd %g", mean, sd);
    for (int f = 0; f < 32; f++)
        ck_assert(lt_param(l, "Bias")->value.data[f] == 1.0f);
    const float first = lt_param(l, "Weights")->value.data[0];
    mc_layer_destroy(l);
    mc_rng_seed(ctx, 99);
    l = make_layer(ctx, &o);
    lt_setup_one(l, shape4(1, 16, 5, 5));
    ck_assert(lt_param(l, "Weights")->value.data[0] == first);
    mc_layer_destroy(l);

    const char *fixed[2] = {"zeros", "ones"};
    for (int k = 0; k < 2; k++) {
        o = mc_conv2d_default(2, 2, 3);
        o.weights_initializer.name = fixed[k];
        l = make_layer(ctx, &o);
        lt_setup_one(l, shape4(1, 2, 3, 3));
        for (size_t i = 0; i < 24; i++)
            ck_assert(lt_param(l, "Weights")->value.data[i] == (float)k);
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_initializer_functions)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_size_probe wp = {.step = 0.5f}, bp = {.step = 0.5f};
    mc_conv2d_options o = mc_conv2d_default(3, 2, 4);
    o.weights_initializer.fn = lt_record_size;
    o.weights_initializer.user = &wp;
    o.bias_initializer.fn = lt_record_size;
    o.bias_initializer.user = &bp;
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_one(l, shape4(2, 5, 6, 6));
    ck_assert_int_eq(wp.calls, 1);
    ck_assert_int_eq(bp.calls, 1);
    const int want_w[4] = {3, 2, 5, 4}, want_b[3] = {1, 1, 4};
    ck_assert_int_eq(wp.seen.ndim, 4);
    for (int d = 0; d < 4; d++)
        ck_assert_int_eq(wp.seen.dims[d], want_w[d]);
    ck_assert_int_eq(bp.seen.ndim, 3);
    for (int d = 0; d < 3; d++)
        ck_assert_int_eq(bp.seen.dims[d], want_b[d]);
    ck_assert(lt_param(l, "Weights")->value.data[119] == 59.5f);
    ck_assert(lt_param(l, "Bias")->value.data[3] == 1.5f);
    /* Setting up again (another image size) keeps the values: no re-initialization. */
    lt_setup_one(l, shape4(1, 5, 9, 4));
    ck_assert_int_eq(wp.calls, 1);
    ck_assert_int_eq(bp.calls, 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_explicit_values_win)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_size_probe probe = {.step = 0.5f};
    float w[2 * 3 * 2 * 2], b[2] = {0.5f, -1.5f};
    for (int i = 0; i < 24; i++)
        w[i] = (float)i - 10.0f;
    mc_conv2d_options o = mc_conv2d_default(2, 2, 2);
    o.weights = w;
    o.weights_len = 24;
    o.bias = b;
    o.bias_len = 2;
    o.weights_initializer.fn = lt_record_size;
    o.weights_initializer.user = &probe;
    o.bias_initializer.fn = lt_record_size;
    o.bias_initializer.user = &probe;
    mc_layer *l = make_layer(ctx, &o);
    w[0] = 99.0f; /* the layer keeps its own copy */
    /* NumChannels follows from the Weights: 24 / (2*2*2) = 3. */
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "       NumChannels: 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "           Weights: [2\xc3\x97"
                                       "2\xc3\x97"
                                       "3\xc3\x97"
                                       "2 single]\n"
                                       "              Bias: [1\xc3\x97"
                                       "1\xc3\x97"
                                       "2 single]\n"));
    mc_free(ctx, text);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY,
                       "2 2x2x3 convolutions with stride [1  1] and padding [0  0  0  0]");
    lt_setup_one(l, shape4(1, 3, 4, 4));
    ck_assert_int_eq(probe.calls, 0);
    const mc_param *pw = lt_param(l, "Weights"), *pb = lt_param(l, "Bias");
    ck_assert(pw->value.data[0] == -10.0f && pw->value.data[23] == 13.0f);
    ck_assert(pb->value.data[1] == -1.5f);
    ck_assert_int_eq(pw->value.shape.ndim, 4);
    ck_assert_int_eq(pw->value.shape.dims[1], 3);
    /* The channel count is fixed: another one fails. */
    mc_shape bad = shape4(1, 2, 4, 4), out;
    ck_assert_int_eq(mc_layer_setup(l, &bad, 1, &out), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "convolution2dLayer (unnamed): NumChannels is 3 but the input has 2 "
                     "channels");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

/* Creation must fail with `status` and exactly `message`. */
static void expect_create_error(const mc_conv2d_options *o, mc_status status, const char *message)
{
    lt_expect_create_error(create, o, status, message, 1);
}

/* Setup for `shape` must fail with `status` and exactly `message`. */
static void expect_setup_error(const mc_conv2d_options *o, mc_shape shape, mc_status status,
                               const char *message)
{
    lt_expect_setup_error_for(create, o, shape, status, message, 1);
}

START_TEST(test_option_validation)
{
    mc_conv2d_options o = mc_conv2d_default(0, 3, 4);
    o.name = "conv1";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': FilterSize must be positive integers, not [0 3]");
    o.filter_size[0] = 3;
    o.filter_size[1] = -2;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': FilterSize must be positive integers, not [3 -2]");
    o = mc_conv2d_default(3, 3, 0);
    expect_create_error(&o, MC_ERR_INVALID,
                        "convolution2dLayer (unnamed): NumFilters must be a positive integer, "
                        "not 0");
    o = mc_conv2d_default(3, 3, 4);
    o.name = "conv1";
    o.stride[1] = 0;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': Stride must be positive integers, not [1 0]");
    o.stride[1] = 1;
    o.dilation[0] = -1;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': DilationFactor must be positive integers, not [-1 1]");
    o.dilation[0] = 1;
    o.padding[2] = -1;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': Padding must be nonnegative integers [top bottom left "
                        "right] or 'same', not [0 0 -1 0]");
    o.padding_same = true; /* the numbers are ignored with 'same' */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer_destroy(make_layer(ctx, &o));
    lt_teardown(&a, ctx, NULL);
    o = mc_conv2d_default(3, 3, 4);
    o.name = "conv1";
    o.num_channels = -1;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': NumChannels must be 'auto' (0) or a positive integer, "
                        "not -1");
    o = mc_conv2d_default(50000, 50000, 1);
    o.name = "conv1";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': 1 50000x50000x1 filters have more than 2147483647 "
                        "weights");
    o = mc_conv2d_default(100, 100, 100);
    o.name = "conv1";
    o.num_channels = 3000;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': 100 100x100x3000 filters have more than 2147483647 "
                        "weights");
}
END_TEST

START_TEST(test_factor_validation)
{
    static const char *names[] = {"WeightLearnRateFactor", "BiasLearnRateFactor", "WeightL2Factor",
                                  "BiasL2Factor"};
    const double bad[] = {-1e-9, -2.0, NAN, INFINITY};
    for (int f = 0; f < 4; f++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            mc_conv2d_options o = mc_conv2d_default(3, 3, 2);
            o.name = "conv1";
            double *field[] = {&o.weight_learn_rate_factor, &o.bias_learn_rate_factor,
                               &o.weight_l2_factor, &o.bias_l2_factor};
            *field[f] = bad[i];
            char want[200];
            snprintf(want, sizeof want,
                     "Layer 'conv1': %s must be a nonnegative finite number, not %g", names[f],
                     bad[i]);
            expect_create_error(&o, MC_ERR_INVALID, want);
        }
}
END_TEST

START_TEST(test_initializer_validation)
{
    mc_conv2d_options o = mc_conv2d_default(3, 3, 2);
    o.name = "conv1";
    o.weights_initializer.name = "glorot-uniform";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': unknown WeightsInitializer 'glorot-uniform'; expected "
                        "'ones', 'zeros', 'narrow-normal', 'glorot', 'he' or a function");
    o.weights_initializer.name = "hee";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': unknown WeightsInitializer 'hee' (did you mean 'he'?); "
                        "expected 'ones', 'zeros', 'narrow-normal', 'glorot', 'he' or a "
                        "function");
    o.weights_initializer.name = NULL;
    o.bias_initializer.name = "glorot"; /* a weights initializer only */
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': unknown BiasInitializer 'glorot'; expected 'ones', "
                        "'zeros', 'narrow-normal' or a function");
    o.bias_initializer.name = "he";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': unknown BiasInitializer 'he'; expected 'ones', "
                        "'zeros', 'narrow-normal' or a function");
    o.bias_initializer.name = "zeros";
    o.bias_initializer.fn = lt_ramp_init;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': BiasInitializer is given both as the name 'zeros' and "
                        "as a function; give one");

    o = mc_conv2d_default(3, 3, 2);
    o.name = "conv1";
    o.weights_initializer.fn = lt_fail_init;
    expect_setup_error(&o, shape4(1, 2, 5, 5), MC_ERR_CALLBACK,
                       "Layer 'conv1': the WeightsInitializer function failed: cannot fill 36 "
                       "values");
    lt_nonfinite inf_at_5 = {4, INFINITY};
    o.weights_initializer.fn = lt_nonfinite_init;
    o.weights_initializer.user = &inf_at_5;
    expect_setup_error(&o, shape4(1, 2, 5, 5), MC_ERR_NUMERIC,
                       "Layer 'conv1': the WeightsInitializer function returned inf at element "
                       "5 of 36; initial values must be finite");
    o.weights_initializer.fn = NULL;
    o.bias_initializer.fn = lt_fail_init;
    expect_setup_error(&o, shape4(1, 2, 5, 5), MC_ERR_CALLBACK,
                       "Layer 'conv1': the BiasInitializer function failed: cannot fill 2 "
                       "values");
}
END_TEST

START_TEST(test_initial_value_validation)
{
    const float v[24] = {0};
    mc_conv2d_options o = mc_conv2d_default(2, 2, 3);
    o.name = "conv1";
    o.weights = v;
    o.weights_len = 0;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': the initial Weights is given with 0 elements; pass NULL "
                        "for empty");
    o.weights_len = 10;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'conv1': the initial Weights has 10 elements, not a multiple of "
                        "2x2x3 = 12 (FilterSize x NumFilters)");
    o.weights_len = 24;
    o.num_channels = 3;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'conv1': the initial Weights has 24 elements but 2x2x3x3 = 36 "
                        "are needed (FilterSize x NumChannels x NumFilters)");
    o.num_channels = 2;
    float bad[24] = {0};
    bad[7] = NAN;
    o.weights = bad;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': the initial Weights has the non-finite value nan at "
                        "element 8");
    /* A length that cannot be right is refused before any value is read. */
    o = mc_conv2d_default(1, 1, 1);
    o.name = "conv1";
    o.weights = v;
    o.weights_len = (size_t)INT_MAX + 1;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'conv1': the initial Weights has 2147483648 elements; at most "
                        "2147483647 are supported");
    o = mc_conv2d_default(2, 2, 3);
    o.name = "conv1";
    o.bias = v;
    o.bias_len = 4;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'conv1': the initial Bias has 4 elements but NumFilters is 3");
    o.bias_len = 0;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': the initial Bias is given with 0 elements; pass NULL "
                        "for empty");
    const float inf_bias[3] = {1, 2, -INFINITY};
    o.bias = inf_bias;
    o.bias_len = 3;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'conv1': the initial Bias has the non-finite value -inf at "
                        "element 3");
}
END_TEST

START_TEST(test_setup_validation)
{
    mc_conv2d_options o = mc_conv2d_default(5, 5, 20);
    o.name = "conv1";
    expect_setup_error(&o, shape4(2, 1, 4, 4), MC_ERR_SHAPE,
                       "Layer 'conv1': the 5x5 filter (dilated 5x5) does not fit the padded "
                       "input 4x4");
    o = mc_conv2d_default(3, 2, 4);
    o.name = "conv1";
    o.dilation[0] = 3;
    o.dilation[1] = 2;
    o.padding[0] = 1;
    o.padding[3] = 1;
    /* 3x2 dilated by [3 2]: 7x3; input 5x2 padded [1 0 0 1]: 6x3 */
    expect_setup_error(&o, shape4(1, 2, 5, 2), MC_ERR_SHAPE,
                       "Layer 'conv1': the 3x2 filter (dilated 7x3) does not fit the padded "
                       "input 6x3");
    /* ...while one more row of input fits exactly, giving a 1x1 output. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, &o);
    mc_shape ys = lt_setup_one(l, shape4(1, 2, 6, 2));
    ck_assert_int_eq(ys.dims[2], 1);
    ck_assert_int_eq(ys.dims[3], 1);
    lt_teardown(&a, ctx, l);

    o = mc_conv2d_default(3, 3, 4);
    o.name = "conv1";
    o.num_channels = 3;
    expect_setup_error(&o, shape4(2, 1, 8, 8), MC_ERR_SHAPE,
                       "Layer 'conv1': NumChannels is 3 but the input has 1 channels");
    o.num_channels = 0;
    expect_setup_error(&o, test_shape(2, 4, 10), MC_ERR_SHAPE,
                       "Layer 'conv1': convolution2dLayer needs 2-D image input (N, C, H, W), "
                       "but the input has shape [4x10] (feature data)");
    expect_setup_error(&o, test_shape(3, 4, 3, 10), MC_ERR_SHAPE,
                       "Layer 'conv1': convolution2dLayer needs 2-D image input (N, C, H, W), "
                       "but the input has shape [4x3x10] (sequence data)");
    expect_setup_error(&o, test_shape(5, 1, 2, 4, 4, 4), MC_ERR_SHAPE,
                       "Layer 'conv1': convolution2dLayer needs 2-D image input (N, C, H, W), "
                       "but the input has shape [1x2x4x4x4] (3-D image data)");
    /* Sizes the BLAS cannot index are refused before anything is allocated. */
    o = mc_conv2d_default(1, 1, 2);
    o.name = "conv1";
    expect_setup_error(&o, shape4(1, 1, 50000, 50000), MC_ERR_SHAPE,
                       "Layer 'conv1': the convolution of a 50000x50000x1 input with 2 1x1 "
                       "filters (output 50000x50000) is too large");
    o = mc_conv2d_default(3, 2, 2);
    o.name = "conv1";
    o.dilation[0] = INT_MAX;
    o.padding_same = true;
    expect_setup_error(&o, shape4(1, 1, 2, 2), MC_ERR_SHAPE,
                       "Layer 'conv1': the 3x2 filter dilated by [2147483647 1] spans "
                       "4294967295x2, more than 2147483647");
    o = mc_conv2d_default(1, 1, 2);
    o.name = "conv1";
    o.padding[1] = INT_MAX;
    expect_setup_error(&o, shape4(1, 1, 2, 2), MC_ERR_SHAPE,
                       "Layer 'conv1': the convolution of a 2x2x1 input with 2 1x1 filters "
                       "(output 2147483649x2) is too large");
}
END_TEST

START_TEST(test_call_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_conv2d_options o = mc_conv2d_default(3, 3, 2);
    o.name = "conv1";
    mc_layer *l = make_layer(ctx, &o);
    float x[2 * 1 * 5 * 5] = {0}, y[2 * 2 * 3 * 3] = {0};
    mc_shape xs = shape4(2, 1, 5, 5), ys = shape4(2, 2, 3, 3);
    mc_tensor in = mc_tensor_view(x, &xs), out = mc_tensor_view(y, &ys);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx), "Layer 'conv1': forward called before setup");
    lt_setup_one(l, xs);
    mc_shape wrong = shape4(2, 2, 5, 5);
    mc_tensor bad_out = mc_tensor_view(y, &wrong);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &bad_out, MC_MODE_TRAINING), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'conv1': output 1 has shape [2x2x5x5]; expected [2x2x3x3]");
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_TRAINING), MC_OK);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

/* Fails the k-th allocation of create + setup + a second, larger setup + describe for every k
 * until all succeed: each failure is MC_ERR_NOMEM with a message, and nothing leaks. */
START_TEST(test_allocation_failures)
{
    const float w[2 * 3 * 3 * 3] = {0}, b[2] = {1, 2};
    const mc_shape setups[2] = {shape4(4, 3, 6, 6), shape4(2, 3, 12, 10)};
    for (int variant = 0; variant < 3; variant++) {
        mc_conv2d_options o = mc_conv2d_default(3, 3, 2);
        o.name = "conv1";
        if (variant == 1) {
            o.weights = w;
            o.weights_len = 54;
            o.bias = b;
            o.bias_len = 2;
        }
        if (variant == 2) {
            o.padding_same = true;
            o.bias_initializer.name = "narrow-normal";
        }
        const lt_alloc_case c = {
            .create = create, .opts = &o, .setups = setups, .n_setups = 2, .min_allocs = 6};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

/* A setup that fails for want of memory leaves a layer that still works at its old size. */
START_TEST(test_failed_resetup_keeps_layer)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {4};
    mc_conv2d_options o = mc_conv2d_default(3, 3, 2);
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = shape4(1, 1, 5, 5), ys = lt_setup_one(l, xs);
    float x[25], y1[18], y2[18];
    test_fill_normal(&r, x, 25, 0.0, 1.0);
    lt_forward_data(l, x, &xs, y1, &ys, MC_MODE_TRAINING);
    a.fail_at = a.count + 1; /* the larger workspace */
    mc_shape big = shape4(1, 1, 30, 30), out;
    ck_assert_int_eq(mc_layer_setup(l, &big, 1, &out), MC_ERR_NOMEM);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "out of memory while sizing the convolution workspace (56448 bytes)");
    ys = lt_setup_one(l, xs);
    lt_forward_data(l, x, &xs, y2, &ys, MC_MODE_TRAINING);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    lt_teardown(&a, ctx, l);
}
END_TEST

static Suite *conv2d_suite(void)
{
    Suite *s = suite_create("conv2d");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display_reference_example);
    tcase_add_test(tc, test_display_padding_and_dilation);
    tcase_add_test(tc, test_display_all_properties);
    tcase_add_test(tc, test_glorot_and_he_statistics);
    tcase_add_test(tc, test_initializer_functions);
    tcase_add_test(tc, test_explicit_values_win);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_option_validation);
    tcase_add_test(tc, test_factor_validation);
    tcase_add_test(tc, test_initializer_validation);
    tcase_add_test(tc, test_initial_value_validation);
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_call_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_output_sizes);
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_oracle_combinations, 0, N_COMBOS);
    tcase_add_loop_test(tc, test_im2col_col2im, 0, N_COMBOS);
    tcase_add_test(tc, test_smaller_batch_and_resetup);
    suite_add_tcase(s, tc);
    /* every path of the layer: direct kernels and GEMMs, on any thread count */
    tc = tcase_create("paths");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_oracle_combinations_batched, 0, N_COMBOS);
    tcase_add_loop_test(tc, test_oracle_sizes, 0, N_SIZED);
    tcase_add_loop_test(tc, test_thread_independence, 0, N_SIZED);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gradients, 0, 14);
    tcase_add_loop_test(tc, test_accumulation_contract, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    tcase_add_test(tc, test_failed_resetup_keeps_layer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(conv2d_suite());
}
