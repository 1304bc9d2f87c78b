/* SPDX-License-Identifier: MIT */
/* dropoutLayer: options, validation, display, the mask (share, scale, seeding, independence of
 * observations, batch size and thread count), inference, gradients, allocation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layercheck.h"
#include "layertest.h"
#include "testutil.h"

static mc_status create(mc_ctx *ctx, const void *opts, mc_layer **out)
{
    return mc_dropout_create(ctx, opts, out);
}

static mc_layer *make_dropout(mc_ctx *ctx, double p, const char *name)
{
    mc_dropout_options o = mc_dropout_default();
    o.probability = p;
    o.name = name;
    return lt_make(ctx, create, &o);
}

/* Values kept away from zero, so that y / x recovers the mask. */
static float *nonzero_data(size_t n, uint64_t seed)
{
    float *x = test_floats(n);
    test_rng r = {seed};
    lt_fill_away_from_zero(&r, x, n, 0.25);
    return x;
}

/* ---- Properties and display ----------------------------------------------------------- */

START_TEST(test_defaults_and_properties)
{
    const mc_dropout_options o = mc_dropout_default();
    ck_assert(o.probability == 0.5);
    ck_assert_ptr_null(o.name);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = lt_make(ctx, create, &o);
    lt_expect_identity(l, "dropoutLayer", "DropoutLayer", "Dropout", "dropout", MC_ROLE_HIDDEN);
    ck_assert_str_eq(mc_layer_name(l), "");
    ck_assert_int_eq(mc_layer_num_inputs(l), 1);
    ck_assert_str_eq(mc_layer_input_name(l, 0), "in");
    ck_assert_int_eq(mc_layer_num_params(l), 0);
    ck_assert_int_eq(mc_layer_num_buffers(l), 0);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_validation)
{
    const double bad[] = {-0.1, 1.0, 1.5, -INFINITY, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_dropout_options o = mc_dropout_default();
        o.probability = bad[i];
        char want[160];
        snprintf(want, sizeof want,
                 "dropoutLayer (unnamed): Probability must be a nonnegative number less than 1, "
                 "not %g",
                 bad[i]);
        lt_expect_create_error(create, &o, MC_ERR_INVALID, want, 1);
    }
    mc_dropout_options o = mc_dropout_default();
    o.probability = NAN;
    o.name = "drop1";
    lt_expect_create_error(create, &o, MC_ERR_INVALID,
                           "Layer 'drop1': Probability must be a nonnegative number less than 1, "
                           "not nan",
                           1);
}
END_TEST

/* More values per observation than the 32-bit positions of the mask stream. */
START_TEST(test_setup_validation)
{
    const mc_dropout_options o = mc_dropout_default();
    lt_expect_setup_error_for(create, &o, test_shape(3, 1, 65537, 65537), MC_ERR_SHAPE,
                              "dropoutLayer (unnamed): 4295098369 values per observation; "
                              "dropout takes at most 4294967295",
                              1);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    const mc_shape edge = test_shape(3, 2, 65535, 65537); /* 2^32 - 1 per observation */
    lt_setup_same(l, &edge);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "50% dropout");
    lt_expect_describe(l, MC_DESCRIBE_PROPERTIES,
                       "  DropoutLayer with properties:\n"
                       "\n"
                       "           Name: ''\n"
                       "    Probability: 0.5000\n"
                       "\n"
                       "  Show all properties\n");
    mc_layer_destroy(l);
    l = make_dropout(ctx, 0.25, "drop1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "25% dropout");
    lt_expect_describe(l, MC_DESCRIBE_ALL,
                       "  DropoutLayer with properties:\n"
                       "\n"
                       "           Name: 'drop1'\n"
                       "    Probability: 0.2500\n"
                       "      NumInputs: 1\n"
                       "     InputNames: {'in'}\n"
                       "     NumOutputs: 1\n"
                       "    OutputNames: {'out'}\n");
    mc_layer_destroy(l);
    l = make_dropout(ctx, 0.125, NULL);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "12.5% dropout");
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The network-file syntax: the probability is optional and positional. */
START_TEST(test_netfile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(mc_layer_parse(ctx, "dropoutLayer(0.4,'Name','drop1')", &l), MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "drop1");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "40% dropout");
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "dropoutLayer('Name','d')", &l), MC_OK);
    ck_assert_str_eq(mc_layer_name(l), "d");
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "50% dropout");
    mc_layer_destroy(l);
    ck_assert_int_eq(mc_layer_parse(ctx, "dropoutLayer", &l), MC_OK);
    lt_expect_describe(l, MC_DESCRIBE_SUMMARY, "50% dropout");
    mc_layer_destroy(l);
    lt_expect(ctx, mc_layer_parse(ctx, "dropoutLayer(1)", &l), MC_ERR_INVALID,
              "expression:1:1: dropoutLayer (unnamed): Probability must be a nonnegative number "
              "less than 1, not 1",
              1);
    lt_expect(ctx, mc_layer_parse(ctx, "dropoutLayer('x')", &l), MC_ERR_FORMAT,
              "option 'x' has no value", 0);
    lt_expect(ctx, mc_layer_parse(ctx, "dropoutLayer(0.2,'Probability',0.3)", &l), MC_ERR_FORMAT,
              "dropoutLayer has no option 'Probability'", 0);
    lt_teardown(&a, ctx, NULL);
}
END_TEST

/* ---- The mask ------------------------------------------------------------------------- */

/* Every output is 0 or x * (float)(1 / (1 - p)) exactly, the dropped share is within five
 * standard deviations of p, and backward applies the same mask to dy. */
START_TEST(test_mask_share_and_scale)
{
    const double ps[] = {0.1, 0.5, 0.9, 0.3};
    const double p = ps[_i];
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 40 + (uint64_t)_i);
    mc_layer *l = make_dropout(ctx, p, NULL);
    const mc_shape s = test_shape(4, 8, 5, 9, 11);
    const size_t n = mc_shape_numel(&s);
    lt_setup_same(l, &s);
    float *x = nonzero_data(n, 3), *y = test_floats(n), *dy = nonzero_data(n, 4),
          *dx = test_floats(n);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, dy, dx);
    const float scale = (float)(1.0 / (1.0 - p));
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const int kept = y[i] != 0.0f;
        ck_assert_msg(y[i] == (kept ? x[i] * scale : 0.0f), "y[%zu] = %.9g for x %.9g", i, y[i],
                      x[i]);
        ck_assert_msg(dx[i] == (kept ? dy[i] * scale : 0.0f), "dx[%zu] = %.9g for dy %.9g", i,
                      dx[i], dy[i]);
        dropped += !kept;
    }
    const double sd = sqrt((double)n * p * (1 - p));
    ck_assert_msg(fabs((double)dropped - p * (double)n) < 5 * sd, "%zu of %zu dropped for p %g",
                  dropped, n, p);
    free(x);
    free(y);
    free(dy);
    free(dx);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* y = x .* mask as in MATLAB: a dropped NaN stays NaN and a dropped infinity becomes NaN
 * (Inf * 0), so a diverging network shows it; kept infinities stay infinite. */
START_TEST(test_nonfinite_as_matlab)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 2);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    const mc_shape s = test_shape(2, 4, 100);
    lt_setup_same(l, &s);
    float x[400], y[400];
    for (int i = 0; i < 400; i++)
        x[i] = i % 2 ? NAN : INFINITY;
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    int kept = 0;
    for (int i = 0; i < 400; i++) {
        ck_assert_msg(i % 2 ? isnan(y[i]) : isnan(y[i]) || y[i] == INFINITY, "y[%d] = %g", i, y[i]);
        kept += y[i] == INFINITY;
    }
    ck_assert(kept > 50 && kept < 150); /* both kept and dropped infinities */
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Probability 0 keeps everything at scale 1: a training forward is the identity too. */
START_TEST(test_probability_zero)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_dropout(ctx, 0.0, NULL);
    const mc_shape s = test_shape(2, 6, 50);
    lt_setup_same(l, &s);
    float *x = nonzero_data(300, 5), *y = test_floats(300);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    ck_assert_mem_eq(x, y, 300 * sizeof(float));
    free(x);
    free(y);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Inference is the identity, also in place, and draws nothing from the RNG. */
START_TEST(test_inference_identity)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = make_dropout(ctx, 0.7, NULL);
    const mc_shape s = test_shape(3, 4, 5, 6);
    lt_setup_same(l, &s);
    float *x = nonzero_data(120, 6), *y = test_floats(120);
    x[7] = NAN;
    const mc_rng_state before = mc_rng_get_state(ctx);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_INFERENCE);
    ck_assert_mem_eq(x, y, 120 * sizeof(float));
    lt_forward_data(l, y, &s, y, &s, MC_MODE_INFERENCE);
    ck_assert_mem_eq(x, y, 120 * sizeof(float));
    const mc_rng_state after = mc_rng_get_state(ctx);
    ck_assert_mem_eq(&before, &after, sizeof before);
    free(x);
    free(y);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* The mask of one training forward, as 0/1 per element (x must be nonzero). */
static unsigned char *mask_of(mc_layer *l, const float *x, const mc_shape *s)
{
    const size_t n = mc_shape_numel(s);
    float *y = test_floats(n);
    lt_forward_data(l, (float *)x, s, y, s, MC_MODE_TRAINING);
    unsigned char *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++)
        m[i] = y[i] != 0.0f;
    free(y);
    return m;
}

/* One seed gives one sequence of masks; another seed, and the next forward, give other masks;
 * observations with equal data get masks of their own; the first observations' masks do not
 * depend on the batch size. */
START_TEST(test_seeding)
{
    const mc_shape s = test_shape(4, 4, 3, 8, 8), small = test_shape(4, 2, 3, 8, 8);
    const size_t n = mc_shape_numel(&s), per_obs = n / 4;
    float *x = test_floats(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + (float)(i % per_obs); /* every observation the same */
    unsigned char *m[2][2];
    for (int seed = 0; seed < 2; seed++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1000 + (uint64_t)seed);
        mc_layer *l = make_dropout(ctx, 0.5, NULL);
        lt_setup_same(l, &s);
        const mc_rng_state start = mc_rng_get_state(ctx);
        m[seed][0] = mask_of(l, x, &s);
        m[seed][1] = mask_of(l, x, &s);
        mc_rng_set_state(ctx, start);
        unsigned char *first = mask_of(l, x, &small);
        ck_assert_mem_eq(first, m[seed][0], 2 * per_obs);
        free(first);
        lt_teardown(&a, ctx, l);
    }
    /* The same seed again: the same masks. */
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1000);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    lt_setup_same(l, &s);
    unsigned char *again = mask_of(l, x, &s);
    ck_assert_mem_eq(again, m[0][0], n);
    free(again);
    lt_teardown(&a, ctx, l);
    ck_assert(memcmp(m[0][0], m[1][0], n) != 0);
    ck_assert(memcmp(m[0][0], m[0][1], n) != 0);
    for (size_t k = 1; k < 4; k++)
        ck_assert_msg(memcmp(m[0][0], m[0][0] + k * per_obs, per_obs) != 0,
                      "observation %zu has the mask of observation 0", k);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            free(m[i][j]);
    free(x);
}
END_TEST

/* Neighbouring elements are not correlated: of the pairs (i, i + 1), (i, i + W) and
 * (i, i + H W), both kept occurs near p_keep^2 of the time. */
START_TEST(test_mask_independence)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 9);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    const mc_shape s = test_shape(4, 16, 4, 32, 32);
    const size_t n = mc_shape_numel(&s);
    lt_setup_same(l, &s);
    float *x = nonzero_data(n, 8);
    unsigned char *m = mask_of(l, x, &s);
    const size_t steps[] = {1, 32, 1024};
    for (int k = 0; k < 3; k++) {
        size_t both = 0, pairs = 0;
        for (size_t i = 0; i + steps[k] < n; i++, pairs++)
            both += m[i] && m[i + steps[k]];
        const double sd = sqrt((double)pairs * 0.25 * 0.75);
        ck_assert_msg(fabs((double)both - 0.25 * (double)pairs) < 6 * sd,
                      "step %zu: %zu of %zu pairs both kept", steps[k], both, pairs);
    }
    free(m);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* ---- Gradients ------------------------------------------------------------------------ */

/* L = sum w .* x .* m for the mask m of the forward, in double. */
typedef struct masked {
    const double *x, *w, *m;
    size_t n;
} masked;

static double masked_loss(const void *user)
{
    const masked *p = user;
    double L = 0.0;
    for (size_t i = 0; i < p->n; i++)
        L += p->w[i] * p->x[i] * p->m[i];
    return L;
}

/* The layer's own forward with the same mask (the RNG restored each time). */
typedef struct own {
    mc_layer *l;
    mc_rng_state start;
    float *x, *y;
    const float *w;
    const mc_shape *s;
} own;

static double own_loss_at(own *o, size_t i, float v)
{
    const float keep = o->x[i];
    o->x[i] = v;
    mc_rng_set_state(o->l->ctx, o->start);
    lt_forward_data(o->l, o->x, o->s, o->y, o->s, MC_MODE_TRAINING);
    o->x[i] = keep;
    double L = 0.0;
    for (size_t k = 0; k < mc_shape_numel(o->s); k++)
        L += (double)o->w[k] * (double)o->y[k];
    return L;
}

/* Every input kind: dx against central differences of the double oracle with the forward's
 * mask, and against central differences of the layer's own forward with that mask. */
START_TEST(test_gradients)
{
    const mc_shape kinds[] = {test_shape(2, 3, 7), test_shape(3, 2, 3, 5),
                              test_shape(4, 2, 2, 3, 3), test_shape(5, 2, 2, 2, 3, 2)};
    const mc_shape s = kinds[_i];
    const size_t n = mc_shape_numel(&s);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 70 + (uint64_t)_i);
    mc_layer *l = make_dropout(ctx, 0.4, NULL);
    lt_setup_same(l, &s);
    float *x = nonzero_data(n, 11), *y = test_floats(n), *w = test_floats(n), *dx = test_floats(n);
    test_rng r = {12};
    test_fill_normal(&r, w, n, 0.0, 1.0);
    const mc_rng_state start = mc_rng_get_state(ctx);
    lt_forward_data(l, x, &s, y, &s, MC_MODE_TRAINING);
    lt_backward_data(l, x, &s, y, &s, w, dx);
    double *xd = test_to_doubles(x, n), *wd = test_to_doubles(w, n), *md = test_doubles(n);
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        md[i] = (double)y[i] / (double)x[i];
        kept += y[i] != 0.0f;
    }
    ck_assert(kept > 0 && kept < (int)n);
    const masked pt = {xd, wd, md, n};
    own o = {l, start, x, test_floats(n), w, &s};
    tc_expect_oracle_dx(l, x, &s, dx, masked_loss, &pt, xd, 1e-4, 1e-6, 1e-6, false);
    for (size_t i = 0; i < n; i++) {
        const double h = 1e-2;
        const double own_num =
            (own_loss_at(&o, i, x[i] + (float)h) - own_loss_at(&o, i, x[i] - (float)h)) / (2 * h);
        ck_assert_msg(fabs(dx[i] - own_num) <= 1e-4 + 1e-3 * fabs(own_num),
                      "dx[%zu] = %.9g, own forward %.9g", i, dx[i], own_num);
    }
    free(o.y);
    free(x);
    free(y);
    free(w);
    free(dx);
    free(xd);
    free(wd);
    free(md);
    lt_teardown(&a, ctx, l);
}
END_TEST

/* Backward writes (=) dx whatever it held, and a NULL din is allowed; backward pairs with the
 * last training forward, not with an inference forward after it. */
START_TEST(test_write_contract)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_layer *l = make_dropout(ctx, 0.5, NULL);
    const mc_shape s = test_shape(4, 3, 2, 4, 4);
    lt_setup_same(l, &s);
    float *x = nonzero_data(96, 1), *y = test_floats(96), *dy = nonzero_data(96, 2),
          *dx = test_floats(96), *dx2 = test_floats(96), *z = test_floats(96);
    lt_expect_dx_written(l, x, &s, y, &s, dy, dx, 1e6f);
    lt_forward_data(l, x, &s, z, &s, MC_MODE_INFERENCE);
    lt_backward_data(l, x, &s, y, &s, dy, dx2);
    ck_assert_mem_eq(dx, dx2, 96 * sizeof(float));
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(dx2);
    free(z);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_threads)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 21);
    mc_layer *l = make_dropout(ctx, 0.3, NULL);
    const mc_shape s = test_shape(4, 5, 8, 61, 67); /* 163480 values: 5 blocks */
    lt_setup_same(l, &s);
    const size_t n = mc_shape_numel(&s);
    float *x = nonzero_data(n, 5);
    mc_tensor in = mc_tensor_view(x, &s);
    tc_expect_thread_independent(l, &in, 1, &s);
    free(x);
    lt_teardown(&a, ctx, l);
}
END_TEST

START_TEST(test_allocation_failures)
{
    mc_dropout_options o = mc_dropout_default();
    o.name = "drop1";
    const mc_shape s = test_shape(4, 2, 3, 4, 4);
    const lt_alloc_case c = {
        .create = create, .opts = &o, .setups = &s, .n_setups = 1, .min_allocs = 2};
    lt_run_alloc_failures(&c);
}
END_TEST

static Suite *dropout_suite(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("properties");
    tcase_add_test(tc, test_defaults_and_properties);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_setup_validation);
    tcase_add_test(tc, test_display);
    tcase_add_test(tc, test_netfile);
    suite_add_tcase(s, tc);
    tc = tcase_create("mask");
    tcase_add_loop_test(tc, test_mask_share_and_scale, 0, 4);
    tcase_add_test(tc, test_nonfinite_as_matlab);
    tcase_add_test(tc, test_probability_zero);
    tcase_add_test(tc, test_inference_identity);
    tcase_add_test(tc, test_seeding);
    tcase_add_test(tc, test_mask_independence);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_add_loop_test(tc, test_gradients, 0, 4);
    tcase_add_test(tc, test_write_contract);
    tcase_add_test(tc, test_threads);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(dropout_suite());
}
