/* Helpers for the suites of the small layers (relu, maxpool, softmax, classification,
 * addition): header-only, so that each suite stays one file and CMake needs no change. */
#ifndef MINICNN_LAYERTEST_H
#define MINICNN_LAYERTEST_H

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/layers.h>

#include "testutil.h"

/* Destroys the layer (NULL allowed) and the context, and checks that nothing leaked. */
static inline void lt_teardown(test_alloc *a, mc_ctx *ctx, mc_layer *l)
{
    mc_layer_destroy(l);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a->live, 0);
}

/* Sets the layer up for n_in inputs (failing the test on error); returns the output shape. */
static inline mc_shape lt_setup(mc_layer *l, const mc_shape *in, int n_in)
{
    mc_shape out;
    memset(&out, 0, sizeof out);
    mc_status st = mc_layer_setup(l, in, n_in, &out);
    ck_assert_msg(st == MC_OK, "setup failed: %s", mc_ctx_message(l->ctx));
    return out;
}

/* The call's status must be `want` and the context's message exactly `message` (exact) or
 * contain it. */
static inline void lt_expect(mc_ctx *ctx, mc_status got, mc_status want, const char *message,
                             int exact)
{
    ck_assert_msg(got == want, "expected %s, got %s (%s)", mc_status_name(want),
                  mc_status_name(got), mc_ctx_message(ctx));
    if (exact)
        ck_assert_str_eq(mc_ctx_message(ctx), message);
    else
        ck_assert_msg(strstr(mc_ctx_message(ctx), message) != NULL, "message \"%s\" lacks \"%s\"",
                      mc_ctx_message(ctx), message);
}

/* Setup for the shapes must fail with `status` and exactly `message`. */
static inline void lt_expect_setup_error(mc_layer *l, const mc_shape *in, int n_in,
                                         mc_status status, const char *message)
{
    mc_shape out;
    lt_expect(l->ctx, mc_layer_setup(l, in, n_in, &out), status, message, 1);
}

/* The description must be exactly `want`. */
static inline void lt_expect_describe(mc_layer *l, mc_describe what, const char *want)
{
    char *text = NULL;
    ck_assert_int_eq(mc_layer_describe(l, what, &text), MC_OK);
    ck_assert_str_eq(text, want);
    mc_free(l->ctx, text);
}

static inline void lt_forward(mc_layer *l, mc_tensor *in, int n_in, mc_tensor *out, mc_mode mode)
{
    mc_status st = mc_layer_forward(l, in, n_in, out, mode);
    ck_assert_msg(st == MC_OK, "forward failed: %s", mc_ctx_message(l->ctx));
}

static inline void lt_backward(mc_layer *l, mc_tensor *in, int n_in, mc_tensor *out,
                               mc_tensor *dout, mc_tensor *din)
{
    mc_status st = mc_layer_backward(l, in, n_in, out, dout, din);
    ck_assert_msg(st == MC_OK, "backward failed: %s", mc_ctx_message(l->ctx));
}

/* Normal values kept at least `gap` away from zero (for ReLU's kink). */
static inline void lt_fill_away_from_zero(test_rng *r, float *v, size_t n, double gap)
{
    for (size_t i = 0; i < n; i++) {
        double x = test_rng_normal(r);
        v[i] = (float)(x < 0 ? x - gap : x + gap);
    }
}

/* n distinct values: a random permutation of 0 .. n-1 times `step`, shifted by `offset`, so
 * any two values differ by at least `step` (no ties for max pooling). */
static inline void lt_fill_distinct(test_rng *r, float *v, size_t n, double step, double offset)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((double)i * step + offset);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(test_rng_uniform(r) * (double)i);
        float t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* A create-and-setup step for lt_run_alloc_failures: makes the layer in *out (NULL on
 * failure) and sets it up. */
typedef mc_status (*lt_make_fn)(mc_ctx *ctx, void *user, mc_layer **out);

/* Fails the k-th allocation of make + describe(ALL) for every k until all succeed: each failure
 * is MC_ERR_NOMEM with an "out of memory" message, and nothing leaks. At least `min_allocs`
 * allocations must have been exercised (the successful run made k - 1). */
static inline void lt_run_alloc_failures(lt_make_fn make, void *user, long min_allocs)
{
    long k = 1;
    for (;; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        const long live_ctx = a.live;
        a.fail_at = a.count + k;
        mc_layer *l = NULL;
        mc_status st = make(ctx, user, &l);
        ck_assert_msg((st == MC_OK) == (l != NULL), "k=%ld: status and layer disagree", k);
        char *text = NULL;
        if (st == MC_OK)
            st = mc_layer_describe(l, MC_DESCRIBE_ALL, &text);
        if (st != MC_OK) {
            ck_assert_msg(st == MC_ERR_NOMEM, "k=%ld: %s (%s)", k, mc_status_name(st),
                          mc_ctx_message(ctx));
            ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "out of memory"));
            ck_assert_ptr_null(text);
        }
        mc_free(ctx, text);
        mc_layer_destroy(l);
        ck_assert_msg(a.live == live_ctx, "k=%ld: %ld blocks leaked", k, a.live - live_ctx);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        if (st == MC_OK)
            break;
    }
    ck_assert_msg(k - 1 >= min_allocs, "only %ld allocations were exercised", k - 1);
}

#endif
