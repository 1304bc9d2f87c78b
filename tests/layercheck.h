/* SPDX-License-Identifier: MIT */
/* Checks shared by the suites of dropout, average and global pooling and concatenation: the
 * input gradient against central differences of a double oracle, and thread-count
 * independence. Header-only, like layertest.h. */
#ifndef MINICNN_LAYERCHECK_H
#define MINICNN_LAYERCHECK_H

#include <math.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layertest.h"
#include "testutil.h"

/* dx (n values, the layer's input gradient for L = sum w .* y at x of shape s) against central
 * differences of step h of the oracle's `loss` at each xd[i] (the double copy of x it reads):
 * within atol + rtol |numeric|. With `own`, the generic checker then compares the layer's own
 * float forward for every element of x. */
static inline void tc_expect_oracle_dx(mc_layer *l, float *x, const mc_shape *s, const float *dx,
                                       test_loss_fn loss, const void *user, double *xd, double h,
                                       double atol, double rtol, bool own)
{
    const size_t n = mc_shape_numel(s);
    for (size_t i = 0; i < n; i++) {
        const double num = test_central_difference(loss, user, &xd[i], h);
        ck_assert_msg(fabs(dx[i] - num) <= atol + rtol * fabs(num), "dx[%zu] = %.9g, oracle %.9g",
                      i, dx[i], num);
    }
    if (own) {
        mc_tensor in = mc_tensor_view(x, s);
        gradcheck_expect(l, &in, 1, 1e-2, 1e-4, 1e-3, (int)n, "the layer's own forward");
    }
}

/* The layer is set up for the shapes of `in` (n_in inputs) with output shape ys. Each run
 * starts from the same RNG state of the layer's context (dropout draws its mask from it) and
 * backpropagates the same random dy; the thread count is reset to every core at the end. The
 * shapes should be large enough for several tasks (over 2^16 floats of work). */
static inline void tc_expect_thread_independent(mc_layer *l, mc_tensor *in, int n_in,
                                                const mc_shape *ys)
{
    const size_t n_out = mc_shape_numel(ys);
    const mc_rng_state start = mc_rng_get_state(l->ctx);
    float *dy = test_floats(n_out), *y[3], *dx[3][MC_MAX_LAYER_INPUTS];
    test_rng r = {777};
    test_fill_normal(&r, dy, n_out, 0.0, 1.0);
    mc_shape out_shape = *ys;
    for (int t = 0; t < 3; t++) {
        mc_set_threads(t + 1);
        mc_rng_set_state(l->ctx, start);
        y[t] = test_floats(n_out);
        mc_tensor out = mc_tensor_view(y[t], &out_shape), dout = mc_tensor_view(dy, &out_shape);
        mc_tensor din[MC_MAX_LAYER_INPUTS];
        for (int i = 0; i < n_in; i++) {
            dx[t][i] = test_floats(mc_tensor_numel(&in[i]));
            din[i] = mc_tensor_view(dx[t][i], &in[i].shape);
        }
        lt_forward(l, in, n_in, &out, MC_MODE_TRAINING);
        lt_backward(l, in, n_in, &out, &dout, din);
    }
    mc_set_threads(0);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(y[0], y[t], n_out * sizeof(float)) == 0,
                      "1 and %d threads: other outputs", t + 1);
        for (int i = 0; i < n_in; i++)
            ck_assert_msg(memcmp(dx[0][i], dx[t][i], mc_tensor_numel(&in[i]) * sizeof(float)) == 0,
                          "1 and %d threads: other gradients of input %d", t + 1, i + 1);
    }
    for (int t = 0; t < 3; t++) {
        free(y[t]);
        for (int i = 0; i < n_in; i++)
            free(dx[t][i]);
    }
    free(dy);
}

#endif
