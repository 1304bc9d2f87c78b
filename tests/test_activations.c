/* SPDX-License-Identifier: MIT */
/* leakyReluLayer, clippedReluLayer, eluLayer and tanhLayer: properties, defaults, validation,
 * displays, network files, values (NaN and infinities), gradients against a double oracle,
 * the write contract, threads, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

enum { LEAKY, CLIPPED, ELU, TANH, N_KINDS };

/* The options of the four layers: which one, its hyperparameter and its name. */
typedef struct options {
    int kind;
    double param;
    const char *name;
} options;

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    const options *o = opts;
    switch (o->kind) {
    case LEAKY: {
        mc_leaky_relu_options lo = mc_leaky_relu_default();
        lo.scale = o->param;
        lo.name = o->name;
        return mc_leaky_relu_create(ctx, &lo, out);
    }
    case CLIPPED: {
        mc_clipped_relu_options co = mc_clipped_relu_default(o->param);
        co.name = o->name;
        return mc_clipped_relu_create(ctx, &co, out);
    }
    case ELU: {
        mc_elu_options eo = mc_elu_default();
        eo.alpha = o->param;
        eo.name = o->name;
        return mc_elu_create(ctx, &eo, out);
    }
    default:
        return mc_tanh_create(ctx, o->name, out);
    }
}

static mc_layer *make(mc_ctx *ctx, int kind, double param, const char *name)
{
    const options o = {kind, param, name};
    return lt_make(ctx, create, &o);
}

/* A typical hyperparameter of each kind (tanh has none). */
static const double typical[N_KINDS] = {0.2, 1.5, 0.7, 0.0};

/* ---- An independent double-precision oracle ------------------------------------------- */

static double oracle_one(int kind, double p, double x)
{
    switch (kind) {
    case LEAKY:
        return x >= 0 ? x : p * x;
    case CLIPPED:
        return x < 0 ? 0 : x > p ? p : x;
    case ELU:
        return x >= 0 ? x : p * (exp(x) - 1.0);
    default:
        return tanh(x);
    }
}

typedef struct point {
    int kind;
    double p;
    const double *x, *w;
    size_t n;
} point;

static double point_loss(const void *user)
{
    const point *pt = user;
    double L = 0.0;
    for (size_t i = 0; i < pt->n; i++)
        L += pt->w[i] * oracle_one(pt->kind, pt->p, pt->x[i]);
    return L;
}

/* ---- Properties, defaults and validation ------------------------------------------------ */

START_TEST(test_properties)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    static const char *const ids[N_KINDS][4] = {
        {"leakyReluLayer", "LeakyReLULayer", "Leaky ReLU", "leakyrelu"},
        {"clippedReluLayer", "ClippedReLULayer", "Clipped ReLU", "clippedrelu"},
        {"eluLayer", "ELULayer", "ELU", "elu"},
        {"tanhLayer", "TanhLayer", "Tanh", "tanh"}};
    for (int k = 0; k < N_KINDS; k++) {
        mc_layer *l = make(ctx, k, typical[k], NULL);
        lt_expect_identity(l, ids[k][0], ids[k][1], ids[k][2], ids[k][3], MC_ROLE_HIDDEN);
        ck_assert_str_eq(mc_layer_name(l), "");
        ck_assert_int_eq(mc_layer_num_inputs(l), 1);
        ck_assert_int_eq(mc_layer_num_outputs(l), 1);
        ck_assert_int_eq(mc_layer_num_params(l), 0);
        ck_assert_int_eq(mc_layer_num_buffers(l), 0);
        if (k == TANH)
            ck_assert(isnan(mc_activation_param(l)));
        else
            ck_assert(mc_activation_param(l) == typical[k]);
        mc_layer_destroy(l);
    }
    /* MATLAB's defaults */
    ck_assert(mc_leaky_relu_default().scale == 0.01);
    ck_assert(mc_elu_default().alpha == 1.0);
    ck_assert(mc_clipped_relu_default(6).ceiling == 6.0);
    ck_assert_ptr_null(mc_leaky_relu_default().name);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_relu_create(ctx, NULL, &l), MC_OK);
    ck_assert(isnan(mc_activation_param(l))); /* not one of these layers */
    mc_layer_destroy(l);
    l = make(ctx, LEAKY, 0.0, "r"); /* a scale of 0 is ReLU, and allowed */
    ck_assert_str_eq(mc_layer_name(l), "r");
    mc_layer_destroy(l);
    l = make(ctx, ELU, -0.5, NULL); /* any finite alpha */
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_validation)
{
    const options cases[] = {
        {LEAKY, INFINITY, NULL}, {LEAKY, NAN, "l1"},        {CLIPPED, 0.0, NULL},
        {CLIPPED, -2.0, "c1"},   {CLIPPED, INFINITY, NULL}, {CLIPPED, NAN, NULL},
        {ELU, -INFINITY, NULL},  {ELU, NAN, "e1"},
    };
    const char *const want[] = {
        "leakyReluLayer (unnamed): Scale must be a finite number, not inf",
        "Layer 'l1': Scale must be a finite number, not nan",
        "clippedReluLayer (unnamed): Ceiling must be a positive finite number, not 0",
        "Layer 'c1': Ceiling must be a positive finite number, not -2",
        "clippedReluLayer (unnamed): Ceiling must be a positive finite number, not inf",
        "clippedReluLayer (unnamed): Ceiling must be a positive finite number, not nan",
        "eluLayer (unnamed): Alpha must be a finite number, not -inf",
        "Layer 'e1': Alpha must be a finite number, not nan",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        lt_expect_create_error(create, &cases[i], MC_ERR_INVALID, want[i], 1);
}
END_TEST

/* ---- Displays ------------------------------------------------------------------------- */

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, LEAKY, 0.01, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Leaky ReLU with scale 0.01");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  LeakyReLULayer with properties:\n"
                       "\n"
                       "     Name: ''\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    Scale: 0.0100\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make(ctx, LEAKY, 0.1, "leaky1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Leaky ReLU with scale 0.1");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  LeakyReLULayer with properties:\n"
                       "\n"
                       "           Name: 'leaky1'\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n"
                       "\n"
                       "   Hyperparameters\n"
                       "          Scale: 0.1000\n");
    mc_layer_destroy(l);
    l = make(ctx, CLIPPED, 10, "clip1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Clipped ReLU with ceiling 10");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ClippedReLULayer with properties:\n"
                       "\n"
                       "       Name: 'clip1'\n"
                       "\n"
                       "   Hyperparameters\n"
                       "    Ceiling: 10\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make(ctx, CLIPPED, 1.0 / 3.0, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Clipped ReLU with ceiling 0.33333");
    mc_layer_destroy(l);
    l = make(ctx, ELU, 1.0, "elu1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "ELU with Alpha 1");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  ELULayer with properties:\n"
                       "\n"
                       "     Name: 'elu1'\n"
                       "    Alpha: 1\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "    No properties.\n"
                       "\n"
                       "  Show all properties\n");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  ELULayer with properties:\n"
                       "\n"
                       "           Name: 'elu1'\n"
                       "          Alpha: 1\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n"
                       "\n"
                       "   Learnable Parameters\n"
                       "    No properties.\n");
    mc_layer_destroy(l);
    l = make(ctx, TANH, 0.0, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "Hyperbolic tangent");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  TanhLayer with properties:\n"
                       "\n"
                       "    Name: ''\n"
                       "\n"
                       "  Show all properties\n");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Network files -------------------------------------------------------------------- */

/* `text` parses into a layer whose summary is `summary` and whose name is `name`. */
static void expect_parsed(mc_ctx *ctx, const char *text, const char *summary, const char *name)
{
    mc_layer *l = NULL;
    mc_status st = mc_layer_parse(ctx, text, &l);
    ck_assert_msg(st == MC_OK, "%s: %s", text, mc_ctx_message(ctx));
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, summary);
    ck_assert_str_eq(mc_layer_name(l), name);
    mc_layer_destroy(l);
}

START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    expect_parsed(ctx, "leakyReluLayer", "Leaky ReLU with scale 0.01", "");
    expect_parsed(ctx, "leakyReluLayer(0.1,'Name','leaky1')", "Leaky ReLU with scale 0.1",
                  "leaky1");
    expect_parsed(ctx, "leakyReluLayer('Name','linear_25','Scale',0)", "Leaky ReLU with scale 0",
                  "linear_25");
    expect_parsed(ctx, "clippedReluLayer(10,'Name','clip1')", "Clipped ReLU with ceiling 10",
                  "clip1");
    expect_parsed(ctx, "eluLayer", "ELU with Alpha 1", "");
    expect_parsed(ctx, "eluLayer(0.5,'Name','e')", "ELU with Alpha 0.5", "e");
    expect_parsed(ctx, "eluLayer('Alpha',2)", "ELU with Alpha 2", "");
    expect_parsed(ctx, "tanhLayer('Name','tanh1')", "Hyperbolic tangent", "tanh1");
    mc_layer *l = NULL;
    lt_expect(ctx, mc_layer_parse(ctx, "clippedReluLayer", &l), MC_ERR_FORMAT,
              "clippedReluLayer needs 1 argument before its options, got 0", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "clippedReluLayer(0)", &l), MC_ERR_INVALID,
              "expression:1:1: clippedReluLayer (unnamed): Ceiling must be a positive finite "
              "number, not 0",
              1);
    lt_expect(ctx, mc_layer_parse(ctx, "leakyReluLayer([1 2])", &l), MC_ERR_FORMAT,
              "leakyReluLayer: Scale must be a number, not a vector of 2 numbers", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "tanhLayer('Scale',2)", &l), MC_ERR_FORMAT,
              "tanhLayer has no option 'Scale'", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "clippedReluLayer(5,'Ceiling',2)", &l), MC_ERR_FORMAT,
              "clippedReluLayer has no option 'Ceiling'", 0);
    ck_assert_ptr_null(l);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- Values --------------------------------------------------------------------------- */

START_TEST(test_hand_computed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const float x[8] = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f, NAN, -INFINITY, INFINITY};
    const float dy[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float e2 = expm1f(-2.0f), eh = expm1f(-0.5f);
    /* y and dx for leaky 0.2, clipped 1.5, elu 0.7, tanh */
    const float want[N_KINDS][8] = {
        {-0.4f, -0.1f, 0.0f, 0.5f, 3.0f, NAN, -INFINITY, INFINITY},
        {0.0f, 0.0f, 0.0f, 0.5f, 1.5f, NAN, 0.0f, 1.5f},
        {0.7f * e2, 0.7f * eh, 0.0f, 0.5f, 3.0f, NAN, -0.7f, INFINITY},
        {tanhf(-2.0f), tanhf(-0.5f), 0.0f, tanhf(0.5f), tanhf(3.0f), NAN, -1.0f, 1.0f}};
    const float dwant[N_KINDS][8] = {
        {0.2f, 0.2f * 2, 0.2f * 3, 4, 5, 0.2f * 6, 0.2f * 7, 8},
        {0, 0, 0, 4, 0, 0, 0, 0},
        {0.7f * expf(-2.0f) * 1, 0.7f * expf(-0.5f) * 2, 0.7f * 3, 4, 5, NAN, 0, 8},
        {0, 0, 0, 0, 0, NAN, 0, 0}};
    for (int k = 0; k < N_KINDS; k++) {
        mc_layer *l = make(ctx, k, typical[k], NULL);
        mc_shape s = test_shape(2, 1, 8);
        lt_setup(l, &s, 1);
        float y[8], dx[8], xin[8];
        memcpy(xin, x, sizeof xin);
        lt_forward_data(l, xin, &s, y, &s, MC_MODE_TRAINING);
        for (int i = 0; i < 8; i++) {
            if (isnan(want[k][i]))
                ck_assert_msg(isnan(y[i]), "kind %d: a NaN input gives NaN, got %g", k, y[i]);
            else
                ck_assert_msg(y[i] == want[k][i], "kind %d: y[%d] = %.9g, want %.9g", k, i, y[i],
                              want[k][i]);
        }
        float g[8];
        memcpy(g, dy, sizeof g);
        lt_backward_data(l, xin, &s, y, &s, g, dx);
        for (int i = 0; i < 8; i++) {
            float dw = dwant[k][i];
            if (k == TANH && i < 5)
                dw = (1.0f - want[k][i] * want[k][i]) * dy[i];
            if (isnan(dw))
                ck_assert_msg(isnan(dx[i]), "kind %d: dx[%d] = %g, want NaN", k, i, dx[i]);
            else
                ck_assert_msg(dx[i] == dw, "kind %d: dx[%d] = %.9g, want %.9g", k, i, dx[i], dw);
        }
        mc_layer_destroy(l);
    }
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* Every kind on every input kind: y within float rounding of the oracle, dx against central
 * differences of the double oracle, and the generic checker on the layer's own forward. */
START_TEST(test_gradients)
{
    const int k = _i / 4;
    const mc_shape kinds[] = {test_shape(2, 3, 5), test_shape(3, 2, 3, 4),
                              test_shape(4, 2, 2, 3, 3), test_shape(5, 1, 2, 2, 3, 2)};
    const mc_shape s = kinds[_i % 4];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {300 + (uint64_t)_i};
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n), *y = test_floats(n), *w = test_floats(n), *dx = test_floats(n);
    double *xd = test_doubles(n), *wd = test_doubles(n);
    lt_fill_away_from_zero(&r, x, n, 0.05);
    test_fill_normal(&r, w, n, 0.0, 1.0);
    int below = 0, above = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] *= 2.0f; /* wide enough to pass the ceiling */
        if (k == CLIPPED && fabsf(x[i] - (float)typical[k]) < 0.05f)
            x[i] += 0.1f; /* away from the ceiling's kink too */
        xd[i] = x[i];
        wd[i] = w[i];
        below += x[i] < 0;
        above += x[i] > (float)typical[CLIPPED];
    }
    ck_assert(below > 0 && below < (int)n && above > 0); /* every piece is exercised */
    mc_layer *l = make(ctx, k, typical[k], NULL);
    lt_setup(l, &s, 1);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    for (size_t i = 0; i < n; i++) {
        const double want = oracle_one(k, typical[k], xd[i]);
        ck_assert_msg(fabs(y[i] - want) <= 4e-7 * (fabs(want) + 1e-3), "y[%zu] = %.9g, want %.9g",
                      i, y[i], want);
    }
    lt_backward_data(l, x, &s, y, &s, w, dx);
    const point pt = {k, typical[k], xd, wd, n};
    tc_expect_oracle_dx(l, x, &s, dx, point_loss, &pt, xd, 1e-6, 1e-6, 1e-5, true);
    free(x);
    free(y);
    free(w);
    free(dx);
    free(xd);
    free(wd);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The input gradient is written (=); a smaller batch than set up gives the same values. */
START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    test_rng r = {5};
    mc_layer *l = make(ctx, _i, typical[_i], NULL);
    mc_shape s = test_shape(4, 3, 2, 2, 2);
    lt_setup(l, &s, 1);
    float x[24], y[24], dy[24], dx[24];
    lt_fill_away_from_zero(&r, x, 24, 0.1);
    test_fill_normal(&r, dy, 24, 0.0, 1.0);
    lt_expect_dx_written(l, x, &s, y, &s, dy, dx, 1e6f);
    lt_expect_smaller_batch(l, x, &s, &s, dy, y, dx, 2);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The layers' outputs are those of the kernels called alone on the whole array. */
START_TEST(test_kernels_alone)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const mc_shape s = test_shape(4, 3, 5, 7, 9);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n), *dy = test_floats(n), *y = test_floats(n), *dx = test_floats(n);
    float *y2 = test_floats(n), *dx2 = test_floats(n);
    test_rng r = {17};
    test_fill_normal(&r, x, n, 0.0, 2.0);
    test_fill_normal(&r, dy, n, 0.0, 1.0);
    for (int k = 0; k < N_KINDS; k++) {
        mc_layer *l = make(ctx, k, typical[k], NULL);
        lt_setup(l, &s, 1);
        lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
        lt_backward_data(l, x, &s, y, &s, dy, dx);
        const float p = (float)typical[k];
        switch (k) {
        case LEAKY:
            mc_leaky_relu_forward_kernel(x, y2, n, p);
            mc_leaky_relu_backward_kernel(x, dy, dx2, n, p);
            break;
        case CLIPPED:
            mc_clipped_relu_forward_kernel(x, y2, n, p);
            mc_clipped_relu_backward_kernel(x, dy, dx2, n, p);
            break;
        case ELU:
            mc_elu_forward_kernel(x, y2, n, p);
            mc_elu_backward_kernel(x, dy, dx2, n, p);
            break;
        default:
            mc_tanh_forward_kernel(x, y2, n);
            mc_tanh_backward_kernel(y2, dy, dx2, n);
            break;
        }
        ck_assert_mem_eq(y, y2, n * sizeof(float));
        ck_assert_mem_eq(dx, dx2, n * sizeof(float));
        mc_layer_destroy(l);
    }
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(y2);
    free(dx2);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make(ctx, _i, typical[_i], NULL);
    const mc_shape s = test_shape(4, 5, 13, 41, 43); /* 114,595 elements: 2 blocks */
    const mc_shape os = lt_setup_one(l, s);
    const size_t n = mc_shape_numel(&s);
    float *x = test_floats(n);
    test_rng r = {9};
    test_fill_normal(&r, x, n, 0.0, 2.0);
    mc_tensor in = mc_tensor_view(x, &s);
    tc_expect_thread_independent(l, &in, 1, &os);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Allocation failure --------------------------------------------------------------- */

START_TEST(test_allocation_failures)
{
    const mc_shape s = test_shape(4, 2, 3, 4, 4);
    const options o = {_i, typical[_i], "act1"};
    const lt_alloc_case c = {
        .create = create, .opts = &o, .setups = &s, .n_setups = 1, .min_allocs = 3};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *activations_suite(void)
{
    Suite *s = suite_create("activations");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, test_hand_computed);
    tcase_add_loop_test(tc, test_gradients, 0, 4 * N_KINDS);
    tcase_add_loop_test(tc, test_write_contract, 0, N_KINDS);
    tcase_add_test(tc, test_kernels_alone);
    tcase_add_loop_test(tc, test_threads, 0, N_KINDS);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_loop_test(tc, test_allocation_failures, 0, N_KINDS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(activations_suite());
}
