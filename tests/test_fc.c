/* SPDX-License-Identifier: MIT */
/* fullyConnectedLayer: options, validation, display, values against a double oracle for every
 * input kind, gradients, the accumulation contract, allocation. */
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

/* A problem: N observations of D values (of C values at each of T time steps for sequences,
 * T = 1 otherwise) mapped to K outputs. */
typedef struct problem {
    int N, D, T, K;
} problem;

static size_t at_x(const problem *p, int n, int d, int t)
{
    return ((size_t)n * p->D + d) * p->T + t;
}

static size_t at_y(const problem *p, int n, int k, int t)
{
    return ((size_t)n * p->K + k) * p->T + t;
}

/* y[n][k][t] = b[k] + sum_d w[k][d] x[n][d][t]; mag receives |b| + sum |w x|. */
static void oracle_forward(const problem *p, const double *x, const double *w, const double *b,
                           double *y, double *mag)
{
    for (int n = 0; n < p->N; n++)
        for (int k = 0; k < p->K; k++)
            for (int t = 0; t < p->T; t++) {
                double s = b[k], m = fabs(b[k]);
                for (int d = 0; d < p->D; d++) {
                    const double term = w[(size_t)k * p->D + d] * x[at_x(p, n, d, t)];
                    s += term;
                    m += fabs(term);
                }
                y[at_y(p, n, k, t)] = s;
                if (mag != NULL)
                    mag[at_y(p, n, k, t)] = m;
            }
}

static double oracle_loss(const problem *p, const double *x, const double *w, const double *b,
                          const double *dy)
{
    const size_t ny = (size_t)p->N * p->K * p->T;
    double *y = test_doubles(ny), L = 0;
    oracle_forward(p, x, w, b, y, NULL);
    for (size_t i = 0; i < ny; i++)
        L += dy[i] * y[i];
    free(y);
    return L;
}

/* The point at which the oracle loss is differentiated. */
typedef struct point {
    const problem *p;
    const double *x, *w, *b, *dy;
} point;

static double point_loss(const void *user)
{
    const point *pt = user;
    return oracle_loss(pt->p, pt->x, pt->w, pt->b, pt->dy);
}

/* L is linear in every value, so a central difference of any step is exact up to rounding. */
static double central(const point *pt, double *v)
{
    return test_central_difference(point_loss, pt, v, 0.25);
}

/* ---- Helpers -------------------------------------------------------------------------- */

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_fc_create(ctx, opts, out);
}

static mc_layer *make_layer(mc_ctx *ctx, const mc_fc_options *o)
{
    return lt_make(ctx, create, o);
}

/* The input kinds: feature, sequence, 2-D image, 3-D image, and the output each gives. */
static const struct {
    int ndim;
    int dims[5];
    int out_ndim;
    int out_dims[5]; /* with K = 4 */
    int D, T;
} kinds[] = {
    {2, {3, 5}, 2, {3, 4}, 5, 1},
    {3, {2, 3, 6}, 3, {2, 4, 6}, 3, 6},
    {4, {3, 2, 3, 2}, 4, {3, 4, 1, 1}, 12, 1},
    {5, {2, 2, 2, 1, 3}, 5, {2, 4, 1, 1, 1}, 12, 1},
};

/* ---- Values and gradients, every input kind --------------------------------------------- */

START_TEST(test_oracle_and_gradients)
{
    const int K = 4;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {40 + (uint64_t)_i};
    mc_shape xs = mc_shape_make(kinds[_i].ndim, kinds[_i].dims);
    const problem p = {xs.dims[0], kinds[_i].D, kinds[_i].T, K};
    const size_t nx = mc_shape_numel(&xs), ny = (size_t)p.N * K * p.T, nw = (size_t)K * p.D;
    float *x = test_floats(nx), *dx = test_floats(nx), *y = test_floats(ny);
    float *dy = test_floats(ny), b[4];
    test_fill_normal(&r, x, nx, 0.2, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    test_fill_normal(&r, b, 4, 0.0, 1.0);
    mc_fc_options o = mc_fc_default(K);
    o.name = "fc1";
    o.bias = b;
    o.bias_len = 4;
    o.weights_initializer.name = "narrow-normal";
    mc_layer *l = make_layer(ctx, &o);
    /* weights of order 1, so that every term matters */
    mc_shape ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.ndim, kinds[_i].out_ndim);
    for (int d = 0; d < ys.ndim; d++)
        ck_assert_int_eq(ys.dims[d], kinds[_i].out_dims[d]);
    float *w = lt_param(l, "Weights")->value.data;
    test_fill_normal(&r, w, nw, 0.0, 1.0);
    for (size_t i = 0; i < nx; i++)
        dx[i] = NAN; /* written, never read */
    const long allocs = a.count;
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx);
    ck_assert_int_eq(a.count, allocs); /* no allocation per call */

    double *xd = test_to_doubles(x, nx), *wd = test_to_doubles(w, nw), *bd = test_to_doubles(b, 4);
    double *dyd = test_to_doubles(dy, ny), *yd = test_doubles(ny), *mag = test_doubles(ny);
    oracle_forward(&p, xd, wd, bd, yd, mag);
    const point pt = {&p, xd, wd, bd, dyd};
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(test_within_rounding(y[i], yd[i], mag[i], p.D + 1, 0),
                      "kind %d: y[%zu] = %.9g, oracle %.9g", _i, i, y[i], yd[i]);
    /* Gradients against central differences of the oracle; the magnitudes of their terms
     * bound the float rounding: dx sums K terms, dW sums N*T. */
    for (int n = 0; n < p.N; n++)
        for (int d = 0; d < p.D; d++)
            for (int t = 0; t < p.T; t++) {
                const size_t i = at_x(&p, n, d, t);
                double m = 0;
                for (int k = 0; k < K; k++)
                    m += fabs(wd[(size_t)k * p.D + d] * dyd[at_y(&p, n, k, t)]);
                const double num = central(&pt, &xd[i]);
                ck_assert_msg(test_within_rounding(dx[i], num, m, K, 1e-10),
                              "kind %d: dx[%zu] = %.9g, numeric %.9g", _i, i, dx[i], num);
            }
    const float *gw = lt_param(l, "Weights")->grad.data, *gb = lt_param(l, "Bias")->grad.data;
    for (int k = 0; k < K; k++) {
        for (int d = 0; d < p.D; d++) {
            double m = 0;
            for (int n = 0; n < p.N; n++)
                for (int t = 0; t < p.T; t++)
                    m += fabs(xd[at_x(&p, n, d, t)] * dyd[at_y(&p, n, k, t)]);
            const size_t i = (size_t)k * p.D + d;
            const double num = central(&pt, &wd[i]);
            ck_assert_msg(test_within_rounding(gw[i], num, m, p.N * p.T, 1e-10),
                          "kind %d: dW[%zu] = %.9g, numeric %.9g", _i, i, gw[i], num);
        }
        const double num = central(&pt, &bd[k]);
        ck_assert_msg(fabs(gb[k] - num) <= 1e-6 * (1 + fabs(num)),
                      "kind %d: dBias[%d] = %.9g, numeric %.9g", _i, k, gb[k], num);
    }

    mc_tensor in = mc_tensor_view(x, &xs);
    gradcheck_expect(l, &in, 1, 0.25, 1e-3, 1e-3, (int)(nx + nw) + K, "kind %d", _i);

    free(x);
    free(dx);
    free(y);
    free(dy);
    free(xd);
    free(wd);
    free(bd);
    free(dyd);
    free(yd);
    free(mag);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_hand_computed)
{
    /* W = [1 2 3; -1 0 1], b = [0.5 -2], x = [1 1 2; 0 -1 4]:
     * y = [1+2+6+0.5, -1+0+2-2; 0-2+12+0.5, 0+0+4-2] = [9.5 -1; 10.5 2].
     * dy = [1 0; 0 1]: dW = dy^T x = [1 1 2; 0 -1 4], dBias = [1 1], dx = dy W = W. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const float w[6] = {1, 2, 3, -1, 0, 1}, b[2] = {0.5f, -2};
    float x[6] = {1, 1, 2, 0, -1, 4}, y[4], dy[4] = {1, 0, 0, 1}, dx[6];
    mc_fc_options o = mc_fc_default(2);
    o.weights = w;
    o.weights_len = 6;
    o.bias = b;
    o.bias_len = 2;
    mc_layer *l = make_layer(ctx, &o);
    mc_shape xs = test_shape(2, 2, 3), ys = lt_setup_one(l, xs);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    const float want_y[4] = {9.5f, -1, 10.5f, 2};
    ck_assert_mem_eq(y, want_y, sizeof want_y);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx);
    const float want_dw[6] = {1, 1, 2, 0, -1, 4}, want_db[2] = {1, 1};
    ck_assert_mem_eq(lt_param(l, "Weights")->grad.data, want_dw, sizeof want_dw);
    ck_assert_mem_eq(lt_param(l, "Bias")->grad.data, want_db, sizeof want_db);
    ck_assert_mem_eq(dx, w, sizeof w);
    mc_layer_destroy(l);

    /* The same weights on a 1x3x1 image per observation (flattened in storage order) and on
     * a sequence of 3 channels and 2 time steps (the two rows of x as time steps). */
    l = make_layer(ctx, &o);
    xs = test_shape(4, 2, 3, 1, 1);
    ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.ndim, 4);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    ck_assert_mem_eq(y, want_y, sizeof want_y);
    mc_layer_destroy(l);
    l = make_layer(ctx, &o);
    float xt[6] = {1, 0, 1, -1, 2, 4}; /* (1, C = 3, T = 2): column t is observation t above */
    xs = test_shape(3, 1, 3, 2);
    ys = lt_setup_one(l, xs);
    ck_assert_int_eq(ys.ndim, 3);
    ck_assert_int_eq(ys.dims[1], 2);
    ck_assert_int_eq(ys.dims[2], 2);
    lt_forward_data(l, xt, &xs, y, &ys, MC_MODE_TRAINING);
    const float want_yt[4] = {9.5f, 10.5f, -1, 2}; /* (1, K = 2, T = 2) */
    ck_assert_mem_eq(y, want_yt, sizeof want_yt);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Parameter gradients accumulate (+=); the input gradient is written (=); skipping it leaves
 * the parameter gradients the same. Flat and sequence input. */
START_TEST(test_accumulation_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {8};
    mc_shape xs = _i == 0 ? test_shape(4, 3, 2, 2, 2) : test_shape(3, 3, 8, 4);
    mc_fc_options o = mc_fc_default(5);
    mc_layer *l = make_layer(ctx, &o);
    mc_shape ys = lt_setup_one(l, xs);
    const size_t nx = mc_shape_numel(&xs), ny = mc_shape_numel(&ys), nw = 40;
    float x[96], dx1[96], dx2[96], y[60], dy[60], gw1[40], gb1[5];
    test_fill_normal(&r, x, nx, 0.0, 1.0);
    test_fill_normal(&r, dy, ny, 0.0, 1.0);
    lt_forward_data(l, x, &xs, y, &ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, &xs, y, &ys, dy, dx1);
    memcpy(gw1, lt_param(l, "Weights")->grad.data, sizeof gw1);
    memcpy(gb1, lt_param(l, "Bias")->grad.data, sizeof gb1);
    for (size_t i = 0; i < nx; i++)
        dx2[i] = 1e6f;
    /* A second pass on top of gradients preset to 2.5: the sums add to what is there, an
     * overwrite would miss by 2.5, far beyond the rounding of N*T terms of order 1. */
    for (size_t i = 0; i < nw; i++)
        lt_param(l, "Weights")->grad.data[i] = 2.5f;
    for (int k = 0; k < 5; k++)
        lt_param(l, "Bias")->grad.data[k] = 2.5f;
    lt_backward_data(l, x, &xs, y, &ys, dy, dx2);
    ck_assert_mem_eq(dx1, dx2, nx * sizeof(float));
    const float *gw = lt_param(l, "Weights")->grad.data, *gb = lt_param(l, "Bias")->grad.data;
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(fabs(gw[i] - (2.5 + gw1[i])) < 1e-4, "dW[%zu] = %.9g, first pass %.9g", i,
                      gw[i], gw1[i]);
    for (int k = 0; k < 5; k++)
        ck_assert_msg(fabs(gb[k] - (2.5 + gb1[k])) < 1e-5, "dBias[%d]", k);
    mc_param_zero_grad(lt_param(l, "Weights"));
    mc_param_zero_grad(lt_param(l, "Bias"));
    lt_backward_data(l, x, &xs, y, &ys, dy, NULL);
    ck_assert_mem_eq(lt_param(l, "Weights")->grad.data, gw1, sizeof gw1);
    ck_assert_mem_eq(lt_param(l, "Bias")->grad.data, gb1, sizeof gb1);
    /* A smaller batch than set up, and inference, compute the same per observation. */
    mc_shape xs1 = xs, ys1 = ys;
    xs1.dims[0] = ys1.dims[0] = 1;
    float y1[60];
    mc_tensor in = mc_tensor_view(x, &xs1), out = mc_tensor_view(y1, &ys1);
    ck_assert_int_eq(mc_layer_forward(l, &in, 1, &out, MC_MODE_INFERENCE), MC_OK);
    /* (another batch size may take another BLAS path: equal up to the rounding of D terms) */
    const problem p = {1, 8, _i == 0 ? 1 : 4, 5};
    double *xd = test_to_doubles(x, nx),
           *wd = test_to_doubles(lt_param(l, "Weights")->value.data, nw);
    double bd[5] = {0}, yd[20], mag[20];
    oracle_forward(&p, xd, wd, bd, yd, mag);
    for (int i = 0; i < 5 * p.T; i++) {
        ck_assert_msg(test_within_rounding(y1[i], y[i], 2 * mag[i], p.D + 1, 0),
                      "y[%d]: %.9g with N = 1, %.9g with N = 3", i, y1[i], y[i]);
        ck_assert_msg(test_within_rounding(y1[i], yd[i], mag[i], p.D + 1, 0), "y[%d]", i);
    }
    free(xd);
    free(wd);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Options, properties and display --------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    mc_fc_options o = mc_fc_default(10);
    ck_assert_int_eq(o.output_size, 10);
    ck_assert_int_eq(o.input_size, 0);
    ck_assert_ptr_null(o.name);
    ck_assert_ptr_null(o.weights_initializer.name);
    ck_assert_ptr_null(o.bias_initializer.name);
    ck_assert(o.weights_initializer.fn == NULL && o.bias_initializer.fn == NULL);
    ck_assert_ptr_null(o.weights);
    ck_assert_ptr_null(o.bias);
    ck_assert(o.weight_learn_rate_factor == 1.0 && o.bias_learn_rate_factor == 1.0);
    ck_assert(o.weight_l2_factor == 1.0 && o.bias_l2_factor == 0.0);

    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    o.weight_learn_rate_factor = 3;
    o.bias_l2_factor = 0.25;
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_identity(l, "fullyConnectedLayer", "FullyConnectedLayer", "Fully Connected", "fc",
                       MC_ROLE_HIDDEN);
    ck_assert_int_eq(mc_layer_num_params(l), 2);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    mc_param *w = mc_layer_param(l, 0), *b = mc_layer_param(l, 1);
    ck_assert_str_eq(w->name, "Weights");
    ck_assert_str_eq(b->name, "Bias");
    ck_assert(w->lr_factor == 3 && b->lr_factor == 1);
    ck_assert(w->l2_factor == 1 && b->l2_factor == 0.25);
    ck_assert_ptr_null(w->value.data);
    lt_setup_one(l, test_shape(4, 2, 3, 4, 5));
    /* Stored (K, D) and (K); MATLAB's sizes K x D and K x 1. */
    ck_assert_int_eq(w->value.shape.ndim, 2);
    ck_assert_int_eq(w->value.shape.dims[0], 10);
    ck_assert_int_eq(w->value.shape.dims[1], 60);
    ck_assert_int_eq(w->grad.shape.dims[1], 60);
    ck_assert_int_eq(w->size.ndim, 2);
    ck_assert_int_eq(w->size.dims[0], 10);
    ck_assert_int_eq(w->size.dims[1], 60);
    ck_assert_int_eq(b->value.shape.ndim, 1);
    ck_assert_int_eq(b->value.shape.dims[0], 10);
    ck_assert_int_eq(b->size.ndim, 2);
    ck_assert_int_eq(b->size.dims[0], 10);
    ck_assert_int_eq(b->size.dims[1], 1);
    for (int k = 0; k < 10; k++)
        ck_assert(b->value.data[k] == 0.0f && b->grad.data[k] == 0.0f);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    /* fullyConnectedLayer(10) of the reference example, before and after setup. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_fc_options o = mc_fc_default(10);
    mc_layer *l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "10 fully connected layer");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  FullyConnectedLayer with properties:\n"
                       "\n"
                       "          Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "     InputSize: 'auto'\n"
                       "    OutputSize: 10\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "       Weights: []\n"
                       "          Bias: []\n"
                       "\n"
                       "  Show all properties\n");
    lt_setup_one(l, test_shape(4, 8, 20, 4, 4));
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "10 fully connected layer");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  FullyConnectedLayer with properties:\n"
                       "\n"
                       "          Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "     InputSize: 320\n"
                       "    OutputSize: 10\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "       Weights: [10\xc3\x97"
                       "320 single]\n"
                       "          Bias: [10\xc3\x97"
                       "1 single]\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);

    o = mc_fc_default(3);
    o.name = "fc_out";
    o.input_size = 7;
    o.weights_initializer.name = "zeros";
    o.bias_initializer.name = "narrow-normal";
    o.weight_learn_rate_factor = 0.1;
    o.bias_learn_rate_factor = 20;
    o.weight_l2_factor = 0;
    o.bias_l2_factor = 1;
    l = make_layer(ctx, &o);
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  FullyConnectedLayer with properties:\n\n"
                       "                     Name: 'fc_out'\n"
                       "                NumInputs: 1\n"
                       "               InputNames: {'in'}\n"
                       "               NumOutputs: 1\n"
                       "              OutputNames: {'out'}\n\n"
                       "   Hyperparameters\n"
                       "                InputSize: 7\n"
                       "               OutputSize: 3\n\n"
                       "   Learnable Parameters\n"
                       "                  Weights: []\n"
                       "                     Bias: []\n\n"
                       "   Parameters and Initialization\n"
                       "       WeightsInitializer: 'zeros'\n"
                       "          BiasInitializer: 'narrow-normal'\n\n"
                       "   Learn Rate and Regularization\n"
                       "    WeightLearnRateFactor: 0.1000\n"
                       "      BiasLearnRateFactor: 20\n"
                       "           WeightL2Factor: 0\n"
                       "             BiasL2Factor: 1\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Initialization ------------------------------------------------------------------- */

START_TEST(test_initializers)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    /* D = 400 (a 4x10x10 image), K = 40: glorot b = sqrt(6 / 440), he sd sqrt(2 / 400). */
    const size_t n = 16000;
    mc_fc_options o = mc_fc_default(40);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(4, 1, 4, 10, 10));
    double mean, sd, max_abs;
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    const double bound = sqrt(6.0 / 440.0);
    ck_assert_msg(max_abs <= bound && max_abs > 0.999 * bound, "glorot: max |w| %g, b %g", max_abs,
                  bound);
    ck_assert_msg(fabs(mean) < 4 * bound / sqrt(3.0 * n), "glorot: mean %g", mean);
    ck_assert_msg(fabs(sd - bound / sqrt(3.0)) < 0.02 * bound / sqrt(3.0), "glorot: sd %g", sd);
    mc_layer_destroy(l);

    o.weights_initializer.name = "he";
    o.bias_initializer.name = "ones";
    l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(4, 1, 4, 10, 10));
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    const double he = sqrt(2.0 / 400.0);
    ck_assert_msg(fabs(sd - he) < 0.03 * he && fabs(mean) < 4 * he / sqrt((double)n),
                  "he: mean %g sd %g, want sd %g", mean, sd, he);
    ck_assert_msg(max_abs > 3 * he, "he: max |w| %g: not normal", max_abs);
    for (int k = 0; k < 40; k++)
        ck_assert(lt_param(l, "Bias")->value.data[k] == 1.0f);
    mc_layer_destroy(l);

    o.weights_initializer.name = "narrow-normal";
    o.bias_initializer.name = "zeros";
    l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(2, 1, 400));
    test_moments(lt_param(l, "Weights")->value.data, n, &mean, &sd, &max_abs);
    ck_assert_msg(fabs(sd - 0.01) < 0.0003, "narrow-normal: sd %g", sd);
    mc_layer_destroy(l);

    o.weights_initializer.name = "ones";
    l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(3, 1, 2, 5)); /* sequence: D = C = 2 */
    ck_assert_int_eq(lt_param(l, "Weights")->value.shape.dims[1], 2);
    for (int i = 0; i < 80; i++)
        ck_assert(lt_param(l, "Weights")->value.data[i] == 1.0f);
    mc_layer_destroy(l);

    /* Functions receive MATLAB's sizes: K x D and K x 1. */
    lt_size_probe wp = {.step = 1.0f}, bp = {.step = 1.0f};
    o = mc_fc_default(6);
    o.weights_initializer.fn = lt_record_size;
    o.weights_initializer.user = &wp;
    o.bias_initializer.fn = lt_record_size;
    o.bias_initializer.user = &bp;
    l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(4, 2, 3, 2, 2));
    ck_assert_int_eq(wp.calls, 1);
    ck_assert_int_eq(wp.seen.ndim, 2);
    ck_assert_int_eq(wp.seen.dims[0], 6);
    ck_assert_int_eq(wp.seen.dims[1], 12);
    ck_assert_int_eq(bp.seen.ndim, 2);
    ck_assert_int_eq(bp.seen.dims[0], 6);
    ck_assert_int_eq(bp.seen.dims[1], 1);
    ck_assert(lt_param(l, "Weights")->value.data[71] == 71.0f);
    lt_setup_one(l, test_shape(4, 1, 3, 2, 2)); /* again: no re-initialization */
    ck_assert_int_eq(wp.calls, 1);
    ck_assert_int_eq(bp.calls, 1);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_explicit_values_win)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    lt_size_probe probe = {.step = 1.0f};
    float w[12], b[3] = {1, 2, 3};
    for (int i = 0; i < 12; i++)
        w[i] = (float)i;
    mc_fc_options o = mc_fc_default(3);
    o.name = "fc1";
    o.weights = w;
    o.weights_len = 12;
    o.bias = b;
    o.bias_len = 3;
    o.weights_initializer.fn = lt_record_size;
    o.weights_initializer.user = &probe;
    mc_layer *l = make_layer(ctx, &o);
    w[0] = 50.0f; /* copied */
    char *text = lt_describe(l, MC_DESCRIBE_PROPERTIES);
    ck_assert_ptr_nonnull(strstr(text, "     InputSize: 4\n"));
    ck_assert_ptr_nonnull(strstr(text, "       Weights: [3\xc3\x97"
                                       "4 single]\n"
                                       "          Bias: [3\xc3\x97"
                                       "1 single]\n"));
    mc_free(ctx, text);
    lt_setup_one(l, test_shape(4, 2, 1, 2, 2));
    ck_assert_int_eq(probe.calls, 0);
    ck_assert(lt_param(l, "Weights")->value.data[0] == 0.0f);
    ck_assert(lt_param(l, "Weights")->value.data[11] == 11.0f);
    mc_shape bad = test_shape(2, 2, 5), out;
    ck_assert_int_eq(mc_layer_setup(l, &bad, 1, &out), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "Layer 'fc1': InputSize is 4 but the input has 5 values per observation");
    /* Another input kind with the same D is fine. */
    lt_setup_one(l, test_shape(2, 7, 4));
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Validation ----------------------------------------------------------------------- */

/* Creation must fail with `status` and exactly `message`. */
static void expect_create_error(const mc_fc_options *o, mc_status status, const char *message)
{
    lt_expect_create_error(create, o, status, message, 1);
}

/* Setup for `shape` must fail with `status` and exactly `message`. */
static void expect_setup_error(const mc_fc_options *o, mc_shape shape, mc_status status,
                               const char *message)
{
    lt_expect_setup_error_for(create, o, shape, status, message, 1);
}

START_TEST(test_option_validation)
{
    mc_fc_options o = mc_fc_default(0);
    expect_create_error(&o, MC_ERR_INVALID,
                        "fullyConnectedLayer (unnamed): OutputSize must be a positive integer, "
                        "not 0");
    o = mc_fc_default(10);
    o.name = "fc1";
    o.input_size = -5;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': InputSize must be 'auto' (0) or a positive integer, not "
                        "-5");
    o.input_size = 300000000;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': InputSize 300000000 and OutputSize 10 make more than "
                        "2147483647 weights");
    static const char *names[] = {"WeightLearnRateFactor", "BiasLearnRateFactor", "WeightL2Factor",
                                  "BiasL2Factor"};
    for (int f = 0; f < 4; f++) {
        o = mc_fc_default(10);
        o.name = "fc1";
        double *field[] = {&o.weight_learn_rate_factor, &o.bias_learn_rate_factor,
                           &o.weight_l2_factor, &o.bias_l2_factor};
        *field[f] = f % 2 ? NAN : -1.0;
        char want[160];
        snprintf(want, sizeof want, "Layer 'fc1': %s must be a nonnegative finite number, not %g",
                 names[f], *field[f]);
        expect_create_error(&o, MC_ERR_INVALID, want);
    }
    o = mc_fc_default(10);
    o.name = "fc1";
    o.weights_initializer.name = "xavier";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': unknown WeightsInitializer 'xavier'; expected 'ones', "
                        "'zeros', 'narrow-normal', 'glorot', 'he' or a function");
    o.weights_initializer.name = NULL;
    o.bias_initializer.name = "he";
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': unknown BiasInitializer 'he'; expected 'ones', 'zeros', "
                        "'narrow-normal' or a function");
    o.bias_initializer.name = "ones";
    o.bias_initializer.fn = lt_record_size;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': BiasInitializer is given both as the name 'ones' and as "
                        "a function; give one");
}
END_TEST

START_TEST(test_initial_value_validation)
{
    const float v[12] = {0};
    mc_fc_options o = mc_fc_default(4);
    o.name = "fc1";
    o.weights = v;
    o.weights_len = 0;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': the initial Weights is given with 0 elements; pass NULL "
                        "for empty");
    o.weights_len = 10;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'fc1': the initial Weights has 10 elements, not a multiple of "
                        "OutputSize 4");
    o.weights_len = 12;
    o.input_size = 2;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'fc1': the initial Weights has 12 elements but 4x2 = 8 are "
                        "needed (OutputSize x InputSize)");
    o.input_size = 3;
    float bad[12] = {0};
    bad[11] = INFINITY;
    o.weights = bad;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': the initial Weights has the non-finite value inf at "
                        "element 12");
    o = mc_fc_default(1);
    o.name = "fc1";
    o.weights = v;
    o.weights_len = (size_t)INT_MAX + 1; /* refused before any value is read */
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'fc1': the initial Weights has 2147483648 elements; at most "
                        "2147483647 are supported");
    o = mc_fc_default(4);
    o.name = "fc1";
    o.bias = v;
    o.bias_len = 3;
    expect_create_error(&o, MC_ERR_SHAPE,
                        "Layer 'fc1': the initial Bias has 3 elements but OutputSize is 4");
    const float nan_bias[4] = {0, NAN, 0, 0};
    o.bias = nan_bias;
    o.bias_len = 4;
    expect_create_error(&o, MC_ERR_INVALID,
                        "Layer 'fc1': the initial Bias has the non-finite value nan at element "
                        "2");
}
END_TEST

static mc_status fail_init(void *user, mc_ctx *ctx, const mc_shape *size, float *v, size_t n)
{
    (void)user;
    (void)size;
    (void)v;
    return mc_ctx_fail(ctx, MC_ERR_CALLBACK, "no values for %zu", n);
}

START_TEST(test_setup_validation)
{
    mc_fc_options o = mc_fc_default(10);
    o.name = "fc1";
    o.input_size = 784;
    expect_setup_error(&o, test_shape(4, 2, 3, 28, 28), MC_ERR_SHAPE,
                       "Layer 'fc1': InputSize is 784 but the input has 3x28x28 = 2352 values "
                       "per observation");
    expect_setup_error(&o, test_shape(5, 2, 1, 2, 28, 28), MC_ERR_SHAPE,
                       "Layer 'fc1': InputSize is 784 but the input has 1x2x28x28 = 1568 "
                       "values per observation");
    expect_setup_error(&o, test_shape(3, 2, 3, 784), MC_ERR_SHAPE,
                       "Layer 'fc1': InputSize is 784 but the input has 3 values per time "
                       "step");
    /* A (N, 784, T) sequence and a 784-value image both fit. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_layer(ctx, &o);
    lt_setup_one(l, test_shape(3, 2, 784, 3));
    lt_setup_one(l, test_shape(4, 2, 1, 28, 28));
    lt_teardown(&a, ctx, l);
    o.input_size = 0;
    expect_setup_error(&o, test_shape(4, 1, 1, 50000, 50000), MC_ERR_SHAPE,
                       "Layer 'fc1': 1x50000x50000 = 2500000000 input values per observation "
                       "and OutputSize 10 are too large");
    o.weights_initializer.fn = fail_init;
    expect_setup_error(&o, test_shape(2, 2, 3), MC_ERR_CALLBACK,
                       "Layer 'fc1': the WeightsInitializer function failed: no values for 30");
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

/* Fails the k-th allocation of create + setup + a second setup + describe for every k until
 * all succeed: each failure is MC_ERR_NOMEM with a message, and nothing leaks. */
START_TEST(test_allocation_failures)
{
    const float w[24] = {0}, b[4] = {1, 2, 3, 4};
    const mc_shape setups[2] = {test_shape(4, 3, 6, 1, 1), test_shape(3, 2, 6, 5)};
    for (int with_values = 0; with_values < 2; with_values++) {
        mc_fc_options o = mc_fc_default(4);
        o.name = "fc1";
        if (with_values) {
            o.weights = w;
            o.weights_len = 24;
            o.bias = b;
            o.bias_len = 4;
        }
        const lt_alloc_case c = {
            .create = create, .opts = &o, .setups = setups, .n_setups = 2, .min_allocs = 5};
        lt_run_alloc_failures(&c);
    }
}
END_TEST

static Suite *fc_suite(void)
{
    Suite *s = suite_create("fc");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_initializers);
    tcase_add_test(tc, test_explicit_values_win);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_option_validation);
    tcase_add_test(tc, test_initial_value_validation);
    tcase_add_test(tc, test_setup_validation);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_oracle_and_gradients, 0, 4);
    tcase_add_loop_test(tc, test_accumulation_contract, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(fc_suite());
}
