/* SPDX-License-Identifier: MIT */
#include "gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static double loss(mc_layer *layer, mc_tensor *in, int n_in, mc_tensor *out, const float *w)
{
    ck_assert_int_eq(mc_layer_forward(layer, in, n_in, out, MC_MODE_TRAINING), MC_OK);
    double L = 0.0;
    size_t n = mc_tensor_numel(out);
    for (size_t i = 0; i < n; i++)
        L += (double)w[i] * (double)out->data[i];
    return L;
}

static void compare(gradcheck_result *res, const char *what, size_t i, double analytic,
                    double numeric, double atol, double rtol)
{
    double err = fabs(analytic - numeric);
    res->checked++;
    if (!(err <= res->worst))
        res->worst = err;
    if (!(err <= atol + rtol * fabs(numeric))) {
        if (res->failed == 0)
            snprintf(res->first, sizeof res->first, "%s[%zu]: analytic %.9g, numeric %.9g", what, i,
                     analytic, numeric);
        res->failed++;
    }
}

/* Central difference of L with respect to *v. */
static double central(mc_layer *layer, mc_tensor *in, int n_in, mc_tensor *out, const float *w,
                      float *v, double h)
{
    const float saved = *v;
    *v = (float)(saved + h);
    const double hp = (double)*v - saved; /* the step actually taken in float */
    double lp = loss(layer, in, n_in, out, w);
    *v = (float)(saved - h);
    const double hm = saved - (double)*v;
    double lm = loss(layer, in, n_in, out, w);
    *v = saved;
    return (lp - lm) / (hp + hm);
}

void gradcheck_layer(mc_layer *layer, mc_tensor *in, int n_in, double h, double atol, double rtol,
                     gradcheck_result *res)
{
    memset(res, 0, sizeof *res);
    mc_shape out_shape = layer->out_shape;
    out_shape.dims[0] = in[0].shape.dims[0];
    size_t n_out = mc_shape_numel(&out_shape);
    float *y = test_floats(n_out), *w = test_floats(n_out);
    mc_tensor out = mc_tensor_view(y, &out_shape), dout = mc_tensor_view(w, &out_shape);
    test_rng r = {12345};
    test_fill_normal(&r, w, n_out, 0.0, 1.0);

    mc_tensor din[MC_MAX_LAYER_INPUTS];
    for (int i = 0; i < n_in; i++)
        din[i] = mc_tensor_view(test_floats(mc_tensor_numel(&in[i])), &in[i].shape);
    int n_params = mc_layer_num_params(layer);
    for (int p = 0; p < n_params; p++)
        mc_param_zero_grad(mc_layer_param(layer, p));
    loss(layer, in, n_in, &out, w);
    ck_assert_int_eq(mc_layer_backward(layer, in, n_in, &out, &dout, din), MC_OK);

    char what[64];
    for (int i = 0; i < n_in; i++) {
        snprintf(what, sizeof what, "dx%d", i + 1);
        for (size_t k = 0; k < mc_tensor_numel(&in[i]); k++)
            compare(res, what, k, din[i].data[k],
                    central(layer, in, n_in, &out, w, &in[i].data[k], h), atol, rtol);
        free(din[i].data);
    }
    for (int p = 0; p < n_params; p++) {
        mc_param *prm = mc_layer_param(layer, p);
        snprintf(what, sizeof what, "d%s", prm->name);
        for (size_t k = 0; k < mc_tensor_numel(&prm->value); k++)
            compare(res, what, k, prm->grad.data[k],
                    central(layer, in, n_in, &out, w, &prm->value.data[k], h), atol, rtol);
    }
    free(y);
    free(w);
}

void gradcheck_expect(mc_layer *layer, mc_tensor *in, int n_in, double h, double atol, double rtol,
                      int checked, const char *where, ...)
{
    char context[128];
    va_list ap;
    va_start(ap, where);
    vsnprintf(context, sizeof context, where, ap);
    va_end(ap);
    gradcheck_result res;
    gradcheck_layer(layer, in, n_in, h, atol, rtol, &res);
    ck_assert_int_eq(res.checked, checked);
    ck_assert_msg(res.failed == 0, "%s: %d of %d wrong; first %s", context, res.failed, res.checked,
                  res.first);
}
