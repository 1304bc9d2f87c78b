/* SPDX-License-Identifier: MIT */
/* Helpers shared by the layer suites: creating, setting up and running a layer with the test
 * failing on any error, the expected-error checks, finding learnables and buffers by name,
 * initializer callbacks, the normalization oracle's plumbing, the write contract of an input
 * gradient and the allocation-failure loop. Header-only, so that each suite stays one file and
 * CMake needs no change. */
#ifndef MINICNN_LAYERTEST_H
#define MINICNN_LAYERTEST_H

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/layers.h>

#include "testutil.h"

/* ---- Creating and tearing down ------------------------------------------------------- */

/* Each suite's one adapter to its typed constructor: creates the layer from `opts` (the
 * suite's options struct) into *out, which is NULL on failure. */
typedef mc_status (*lt_create_fn)(mc_ctx *ctx, const void *opts, mc_layer **out);

/* Destroys the layer (NULL allowed) and the context, and checks that nothing leaked. */
static inline void lt_teardown(test_alloc *a, mc_ctx *ctx, mc_layer *l)
{
    mc_layer_destroy(l);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a->live, 0);
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

/* Creates the layer, failing the test on error. */
static inline mc_layer *lt_make(mc_ctx *ctx, lt_create_fn create, const void *opts)
{
    mc_layer *l = NULL;
    mc_status st = create(ctx, opts, &l);
    ck_assert_msg(st == MC_OK, "create failed: %s", mc_ctx_message(ctx));
    return l;
}

/* In a context of its own, creation must fail with `status` and exactly `message` (exact) or a
 * message containing it; *out is reset to NULL and nothing leaks. */
static inline void lt_expect_create_error(lt_create_fn create, const void *opts, mc_status status,
                                          const char *message, int exact)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = (mc_layer *)&a; /* must be reset to NULL */
    lt_expect(ctx, create(ctx, opts, &l), status, message, exact);
    ck_assert_ptr_null(l);
    lt_teardown(&a, ctx, NULL);
}

/* The layer's vtable names it `kind` in the registry, `class_name` and `type_label` in
 * displays, `default_name` when unnamed, and gives it `role`. */
static inline void lt_expect_identity(const mc_layer *l, const char *kind, const char *class_name,
                                      const char *type_label, const char *default_name,
                                      mc_layer_role role)
{
    ck_assert_str_eq(l->vt->kind, kind);
    ck_assert_str_eq(l->vt->class_name, class_name);
    ck_assert_str_eq(l->vt->type_label, type_label);
    ck_assert_str_eq(l->vt->default_name, default_name);
    ck_assert_int_eq(l->vt->role, role);
}

/* ---- Setup, forward, backward, display ------------------------------------------------ */

/* Sets the layer up for n_in inputs (failing the test on error); returns the output shape. */
static inline mc_shape lt_setup(mc_layer *l, const mc_shape *in, int n_in)
{
    mc_shape out;
    memset(&out, 0, sizeof out);
    mc_status st = mc_layer_setup(l, in, n_in, &out);
    ck_assert_msg(st == MC_OK, "setup failed: %s", mc_ctx_message(l->ctx));
    return out;
}

/* lt_setup for one input of shape `in`, given by value. */
static inline mc_shape lt_setup_one(mc_layer *l, mc_shape in)
{
    return lt_setup(l, &in, 1);
}

/* Sets the layer up for one input, whose shape the output must have. */
static inline void lt_setup_same(mc_layer *l, const mc_shape *in)
{
    mc_shape out = lt_setup(l, in, 1);
    ck_assert_int_eq(out.ndim, in->ndim);
    for (int d = 0; d < in->ndim; d++)
        ck_assert_int_eq(out.dims[d], in->dims[d]);
}

/* Setup for the shapes must fail with `status` and exactly `message`. */
static inline void lt_expect_setup_error(mc_layer *l, const mc_shape *in, int n_in,
                                         mc_status status, const char *message)
{
    mc_shape out;
    lt_expect(l->ctx, mc_layer_setup(l, in, n_in, &out), status, message, 1);
}

/* In a context of its own, a layer created from `opts` must fail setup for one input of
 * `shape` with `status` and exactly `message` (exact) or a message containing it. */
static inline void lt_expect_setup_error_for(lt_create_fn create, const void *opts, mc_shape shape,
                                             mc_status status, const char *message, int exact)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = lt_make(ctx, create, opts);
    mc_shape out;
    lt_expect(ctx, mc_layer_setup(l, &shape, 1, &out), status, message, exact);
    lt_teardown(&a, ctx, l);
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

/* lt_forward of one input: x of shape xs into y of shape ys. */
static inline void lt_forward_data(mc_layer *l, float *x, const mc_shape *xs, float *y,
                                   const mc_shape *ys, mc_mode mode)
{
    mc_tensor in = mc_tensor_view(x, xs), out = mc_tensor_view(y, ys);
    lt_forward(l, &in, 1, &out, mode);
}

/* lt_backward of one input: dy (shaped as y) into dx (shaped as x); dx NULL skips the input
 * gradient (din NULL). */
static inline void lt_backward_data(mc_layer *l, float *x, const mc_shape *xs, float *y,
                                    const mc_shape *ys, float *dy, float *dx)
{
    mc_tensor in = mc_tensor_view(x, xs), out = mc_tensor_view(y, ys);
    mc_tensor dout = mc_tensor_view(dy, ys), din = mc_tensor_view(dx, xs);
    lt_backward(l, &in, 1, &out, &dout, dx != NULL ? &din : NULL);
}

/* The description (failing the test on error); free with mc_free(l->ctx, text). */
static inline char *lt_describe(mc_layer *l, mc_describe what)
{
    char *text = NULL;
    ck_assert_int_eq(mc_layer_describe(l, what, &text), MC_OK);
    return text;
}

/* The description must be exactly `want`. */
static inline void lt_expect_describe(mc_layer *l, mc_describe what, const char *want)
{
    char *text = lt_describe(l, what);
    ck_assert_str_eq(text, want);
    mc_free(l->ctx, text);
}

/* ---- Learnables, buffers and shapes --------------------------------------------------- */

/* The learnable called `name` (failing the test when there is none). */
static inline mc_param *lt_param(mc_layer *l, const char *name)
{
    for (int i = 0; i < mc_layer_num_params(l); i++)
        if (strcmp(mc_layer_param(l, i)->name, name) == 0)
            return mc_layer_param(l, i);
    ck_abort_msg("no parameter %s", name);
    return NULL;
}

/* Overwrites the value of the learnable called `name` with v (as many values as it holds). */
static inline void lt_set_param(mc_layer *l, const char *name, const float *v)
{
    mc_param *p = lt_param(l, name);
    memcpy(p->value.data, v, mc_tensor_numel(&p->value) * sizeof(float));
}

/* The buffer called `name` (failing the test when there is none). */
static inline mc_tensor *lt_buffer(mc_layer *l, const char *name)
{
    const char *got;
    for (int i = 0; i < mc_layer_num_buffers(l); i++) {
        mc_tensor *t = mc_layer_buffer(l, i, &got);
        if (strcmp(got, name) == 0)
            return t;
    }
    ck_abort_msg("no buffer %s", name);
    return NULL;
}

/* S: the product of the dimensions after (N, C). */
static inline size_t lt_positions(const mc_shape *s)
{
    size_t S = 1;
    for (int d = 2; d < s->ndim; d++)
        S *= (size_t)s->dims[d];
    return S;
}

/* ---- Test data ------------------------------------------------------------------------ */

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

/* ---- Initializer functions ------------------------------------------------------------ */

/* lt_ramp_init's user: counts the calls and fills v[i] = i * step + start. */
typedef struct lt_ramp {
    int calls;
    float start, step;
} lt_ramp;

static inline mc_status lt_ramp_init(void *user, mc_ctx *ctx, const mc_shape *size, float *v,
                                     size_t n)
{
    (void)ctx;
    (void)size;
    lt_ramp *r = user;
    r->calls++;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)i * r->step + r->start;
    return MC_OK;
}

/* lt_record_size's user: counts the calls, keeps the last MATLAB size and fills v[i] = step * i. */
typedef struct lt_size_probe {
    int calls;
    mc_shape seen;
    float step;
} lt_size_probe;

static inline mc_status lt_record_size(void *user, mc_ctx *ctx, const mc_shape *size, float *v,
                                       size_t n)
{
    (void)ctx;
    lt_size_probe *p = user;
    p->calls++;
    p->seen = *size;
    for (size_t i = 0; i < n; i++)
        v[i] = p->step * (float)i;
    return MC_OK;
}

/* Fails with MC_ERR_CALLBACK and "cannot fill <n> values". */
static inline mc_status lt_fail_init(void *user, mc_ctx *ctx, const mc_shape *size, float *v,
                                     size_t n)
{
    (void)user;
    (void)size;
    (void)v;
    return mc_ctx_fail(ctx, MC_ERR_CALLBACK, "cannot fill %zu values", n);
}

/* lt_nonfinite_init's user: fills ones with `value` (NaN or an infinity) at index `at`. */
typedef struct lt_nonfinite {
    size_t at;
    float value;
} lt_nonfinite;

static inline mc_status lt_nonfinite_init(void *user, mc_ctx *ctx, const mc_shape *size, float *v,
                                          size_t n)
{
    (void)ctx;
    (void)size;
    const lt_nonfinite *nf = user;
    for (size_t i = 0; i < n; i++)
        v[i] = i == nf->at ? nf->value : 1.0f;
    return MC_OK;
}

/* ---- The normalization oracle --------------------------------------------------------- */

/* A normalization problem in double: data x (N, C, S), per-channel scale and offset, and the
 * weights w of the loss L = sum(w .* y) for the oracle's y = forward(p). */
typedef struct lt_norm_problem lt_norm_problem;
typedef void (*lt_norm_oracle)(const lt_norm_problem *p, double *y);
struct lt_norm_problem {
    int N, C, G; /* G: the groups of group normalization (unused by others) */
    size_t S;
    double eps;
    double *x, *scale, *offset, *w;
    lt_norm_oracle forward;
};

/* A problem from float data (copied to double); scale NULL means ones, offset NULL zeros. */
static inline lt_norm_problem lt_norm_problem_make(lt_norm_oracle forward, int N, int C, int G,
                                                   size_t S, double eps, const float *x,
                                                   const float *w, const float *scale,
                                                   const float *offset)
{
    const size_t n = (size_t)N * C * S;
    lt_norm_problem p = {N,
                         C,
                         G,
                         S,
                         eps,
                         test_doubles(n),
                         test_doubles((size_t)C),
                         test_doubles((size_t)C),
                         test_doubles(n),
                         forward};
    for (size_t i = 0; i < n; i++) {
        p.x[i] = x[i];
        p.w[i] = w[i];
    }
    for (int c = 0; c < C; c++) {
        p.scale[c] = scale != NULL ? scale[c] : 1.0;
        p.offset[c] = offset != NULL ? offset[c] : 0.0;
    }
    return p;
}

static inline void lt_norm_problem_free(lt_norm_problem *p)
{
    free(p->x);
    free(p->scale);
    free(p->offset);
    free(p->w);
}

/* L = sum(w .* y), a test_loss_fn of a const lt_norm_problem *. */
static inline double lt_norm_loss(const void *user)
{
    const lt_norm_problem *p = user;
    size_t n = (size_t)p->N * p->C * p->S;
    double *y = test_doubles(n);
    p->forward(p, y);
    double L = 0.0;
    for (size_t i = 0; i < n; i++)
        L += p->w[i] * y[i];
    free(y);
    return L;
}

/* dL/dv by central differences of step h, for v one of the problem's values. */
static inline double lt_norm_derivative(const lt_norm_problem *p, double *v, double h)
{
    return test_central_difference(lt_norm_loss, p, v, h);
}

/* ---- The write contract of one input -------------------------------------------------- */

/* After a training forward of x (shape xs) into y (shape ys), backward of dy writes (=) dx:
 * into zeros and into `poison` it gives the same values, and a NULL din is allowed. y and dx
 * receive the results. */
static inline void lt_expect_dx_written(mc_layer *l, float *x, const mc_shape *xs, float *y,
                                        const mc_shape *ys, float *dy, float *dx, float poison)
{
    const size_t n = mc_shape_numel(xs);
    float *dx2 = test_floats(n);
    for (size_t i = 0; i < n; i++) {
        dx[i] = 0.0f;
        dx2[i] = poison;
    }
    lt_forward_data(l, x, xs, y, ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, xs, y, ys, dy, dx);
    lt_backward_data(l, x, xs, y, ys, dy, dx2);
    ck_assert_mem_eq(dx, dx2, n * sizeof(float));
    lt_backward_data(l, x, xs, y, ys, dy, NULL);
    free(dx2);
}

/* The accumulation contract, on a layer whose learnables' gradients are still zero: after a
 * training forward of x (shape xs) into y (shape ys), a second backward of dy writes (=) the
 * same dx over a poisoned array and doubles every parameter gradient, each nonzero after the
 * first pass (within 1e-6 of its size); a backward without dx, after zeroing, gives the first
 * pass's parameter gradients exactly. dx receives the input gradient. */
static inline void lt_expect_grads_accumulate(mc_layer *l, float *x, const mc_shape *xs, float *y,
                                              const mc_shape *ys, float *dy, float *dx)
{
    const int n_params = mc_layer_num_params(l);
    const size_t n = mc_shape_numel(xs);
    float *first[8], *dx2 = test_floats(n);
    ck_assert(n_params <= 8);
    lt_forward_data(l, x, xs, y, ys, MC_MODE_TRAINING);
    lt_backward_data(l, x, xs, y, ys, dy, dx);
    for (int p = 0; p < n_params; p++) {
        const mc_param *prm = mc_layer_param(l, p);
        const size_t count = mc_tensor_numel(&prm->grad);
        first[p] = test_floats(count);
        memcpy(first[p], prm->grad.data, count * sizeof(float));
    }
    for (size_t i = 0; i < n; i++)
        dx2[i] = 1e6f;
    lt_backward_data(l, x, xs, y, ys, dy, dx2);
    ck_assert_mem_eq(dx, dx2, n * sizeof(float));
    for (int p = 0; p < n_params; p++) {
        const mc_param *prm = mc_layer_param(l, p);
        for (size_t i = 0; i < mc_tensor_numel(&prm->grad); i++) {
            ck_assert(first[p][i] != 0.0f);
            ck_assert_float_eq_tol(prm->grad.data[i], 2 * first[p][i], 1e-6f * fabsf(first[p][i]));
        }
        mc_param_zero_grad(mc_layer_param(l, p));
    }
    lt_backward_data(l, x, xs, y, ys, dy, NULL);
    for (int p = 0; p < n_params; p++) {
        const mc_param *prm = mc_layer_param(l, p);
        ck_assert_mem_eq(prm->grad.data, first[p], mc_tensor_numel(&prm->grad) * sizeof(float));
        free(first[p]);
    }
    free(dx2);
}

/* The first `batch` observations of x and dy (shapes xs and ys for the full batch) as a smaller
 * batch than set up give the first values of the full batch's y and dx. */
static inline void lt_expect_smaller_batch(mc_layer *l, float *x, const mc_shape *xs,
                                           const mc_shape *ys, float *dy, const float *y,
                                           const float *dx, int batch)
{
    mc_shape small = *xs, small_out = *ys;
    small.dims[0] = small_out.dims[0] = batch;
    const size_t n = mc_shape_numel(&small), n_out = mc_shape_numel(&small_out);
    float *y2 = test_floats(n_out), *dx2 = test_floats(n);
    lt_forward_data(l, x, &small, y2, &small_out, MC_MODE_TRAINING);
    lt_backward_data(l, x, &small, y2, &small_out, dy, dx2);
    ck_assert_mem_eq(y2, y, n_out * sizeof(float));
    ck_assert_mem_eq(dx2, dx, n * sizeof(float));
    free(y2);
    free(dx2);
}

/* ---- Allocation failure --------------------------------------------------------------- */

/* What lt_run_alloc_failures does for every k: create, the setups, `then`, and a full
 * description. */
typedef struct lt_alloc_case {
    lt_create_fn create;
    const void *opts;
    const mc_shape *setups; /* in order, each for n_inputs inputs of that shape */
    int n_setups;
    int n_inputs; /* 0 means 1 */
    /* Optional steps after the setups (fitting, renaming...), each allocation counted. */
    mc_status (*then)(mc_layer *l, void *user);
    void *user;
    /* Optional: after a failed setup or `then` that left the layer not set up, called with
     * allocation failures off: the layer must still work. */
    void (*recover)(mc_layer *l, void *user);
    long min_allocs; /* at least this many allocations must have been exercised */
} lt_alloc_case;

/* Fails the k-th allocation of the case for every k until all succeed: each failure is
 * MC_ERR_NOMEM with an "out of memory" message, a failed create leaves no layer, and nothing
 * leaks. The successful run made k - 1 allocations, at least c->min_allocs. */
static inline void lt_run_alloc_failures(const lt_alloc_case *c)
{
    const int n_in = c->n_inputs > 0 ? c->n_inputs : 1;
    ck_assert(n_in <= MC_MAX_LAYER_INPUTS);
    long k = 1;
    for (;; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        const long live_ctx = a.live;
        a.fail_at = a.count + k;
        mc_layer *l = NULL;
        mc_status st = c->create(ctx, c->opts, &l);
        ck_assert_msg((st == MC_OK) == (l != NULL), "k=%ld: status and layer disagree", k);
        for (int i = 0; st == MC_OK && i < c->n_setups; i++) {
            mc_shape in[MC_MAX_LAYER_INPUTS], out;
            for (int j = 0; j < n_in; j++)
                in[j] = c->setups[i];
            st = mc_layer_setup(l, in, n_in, &out);
        }
        if (st == MC_OK && c->then != NULL)
            st = c->then(l, c->user);
        char *text = NULL;
        if (st == MC_OK)
            st = mc_layer_describe(l, MC_DESCRIBE_ALL, &text);
        if (st != MC_OK) {
            ck_assert_msg(st == MC_ERR_NOMEM, "k=%ld: %s (%s)", k, mc_status_name(st),
                          mc_ctx_message(ctx));
            ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "out of memory"));
            ck_assert_ptr_null(text);
            if (c->recover != NULL && l != NULL && !l->is_setup) {
                a.fail_at = 0;
                c->recover(l, c->user);
            }
        }
        mc_free(ctx, text);
        mc_layer_destroy(l);
        ck_assert_msg(a.live == live_ctx, "k=%ld: %ld blocks leaked", k, a.live - live_ctx);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        if (st == MC_OK)
            break;
    }
    ck_assert_msg(k - 1 >= c->min_allocs, "only %ld allocations were exercised", k - 1);
}

#endif
