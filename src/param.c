#include <string.h>

#include "internal.h"

void mc_param_zero_grad(mc_param *p)
{
    size_t n = mc_tensor_numel(&p->grad);
    if (n > 0)
        memset(p->grad.data, 0, n * sizeof(float));
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
                            const char *init_option, const mc_shape *storage,
                            const mc_shape *size, double fan_in, double fan_out)
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
            st = mc__init_fill(ctx, label, init_option, init, size, fan_in, fan_out, value.data,
                               n);
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

void mc__describe_param(mc_text *t, const mc_param *p)
{
    if (p->value.data == NULL) {
        mc_text_printf(t, "[]");
        return;
    }
    char dims[96];
    mc_shape_format(&p->size, "\xc3\x97", dims, sizeof dims);
    mc_text_printf(t, "[%s single]", dims);
}
