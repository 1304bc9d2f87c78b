/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "internal.h"

void mc_param_zero_grad(mc_param *p)
{
    size_t n = mc_tensor_numel(&p->grad);
    if (n > 0)
        memset(p->grad.data, 0, n * sizeof(float));
}

void mc__param_init(mc_param *p, const char *name, double lr_factor, double l2_factor)
{
    p->name = name;
    p->lr_factor = lr_factor;
    p->l2_factor = l2_factor;
}

mc_status mc__param_set_values(mc_ctx *ctx, mc_param *p, const float *values, size_t len,
                               const mc_shape *storage, const mc_shape *size)
{
    mc_tensor t;
    mc_status st = mc_tensor_create(ctx, storage, &t);
    if (st != MC_OK)
        return st;
    memcpy(t.data, values, len * sizeof(float));
    mc_tensor_release(ctx, &p->value);
    p->value = t;
    p->size = *size;
    return MC_OK;
}

mc_status mc__param_prepare(mc_ctx *ctx, const char *label, mc_param *p, const mc__init *init,
                            const char *init_option, const mc_shape *storage, const mc_shape *size,
                            double fan_in, double fan_out)
{
    const size_t n = mc_shape_numel(storage);
    if (p->value.data != NULL && mc_tensor_numel(&p->value) != n)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s: %s has %zu elements; %zu are needed", label,
                           p->name, mc_tensor_numel(&p->value), n);
    mc_tensor value, grad;
    memset(&value, 0, sizeof value);
    memset(&grad, 0, sizeof grad);
    mc_status st = MC_OK;
    if (mc_tensor_numel(&p->grad) != n)
        st = mc_tensor_create(ctx, storage, &grad);
    if (st == MC_OK && p->value.data == NULL) {
        st = mc_tensor_create(ctx, storage, &value);
        if (st == MC_OK)
            st = mc__init_fill(ctx, label, init_option, init, size, fan_in, fan_out, value.data, n);
    }
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "initializing learnable parameters");
        mc_tensor_release(ctx, &grad);
        mc_tensor_release(ctx, &value);
        return st;
    }
    if (value.data != NULL)
        p->value = value;
    if (grad.data != NULL) {
        mc_tensor_release(ctx, &p->grad);
        p->grad = grad;
    }
    p->value.shape = *storage;
    p->grad.shape = *storage;
    p->size = *size;
    return MC_OK;
}

void mc__param_release(mc_ctx *ctx, mc_param *p)
{
    mc_tensor_release(ctx, &p->value);
    mc_tensor_release(ctx, &p->grad);
}

mc_status mc__check_initial_values(mc_ctx *ctx, const char *label, const char *what, const float *v,
                                   size_t len, const char *count_option, int count)
{
    if (v == NULL)
        return MC_OK;
    if (len == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the initial %s is given with 0 elements; pass NULL for empty",
                           label, what);
    if (count > 0 && len != (size_t)count)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s: the initial %s has %zu elements but %s is %d",
                           label, what, len, count_option, count);
    for (size_t i = 0; i < len; i++)
        if (!isfinite(v[i]))
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the initial %s has the non-finite value %g at element %zu",
                               label, what, (double)v[i], i + 1);
    return MC_OK;
}

void mc__describe_array(mc_text *t, const mc_tensor *value, const mc_shape *size)
{
    if (value->data == NULL) {
        mc_text_printf(t, "[]");
        return;
    }
    char dims[96];
    mc_shape_format(size, "\xc3\x97", dims, sizeof dims);
    mc_text_printf(t, "[%s single]", dims);
}

void mc__describe_param(mc_text *t, const mc_param *p)
{
    mc__describe_array(t, &p->value, &p->size);
}

void mc__describe_init(mc_text *t, const mc__init *init)
{
    if (init->kind == MC__INIT_FUNCTION)
        mc_text_printf(t, "[function_handle]");
    else
        mc_text_printf(t, "'%s'", mc__init_name(init->kind));
}
