/* SPDX-License-Identifier: MIT */
/* Scale and Offset: what batchNormalizationLayer and groupNormalizationLayer share. */
#include <math.h>
#include <string.h>

#include "norm.h"

mc_status mc__norm_check_epsilon_channels(mc_ctx *ctx, const char *label, const mc__norm_options *o)
{
    if (!isfinite(o->epsilon) || o->epsilon < 1e-5)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Epsilon must be a finite number of at least 1e-05, not %g", label,
                           o->epsilon);
    if (o->num_channels < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: NumChannels must be 'auto' (0) or a positive integer, not %d",
                           label, o->num_channels);
    return MC_OK;
}

mc_status mc__norm_check_initial(mc_ctx *ctx, const char *label, const mc__norm_options *o)
{
    mc_status st = mc__check_initial_values(ctx, label, "Scale", o->scale, o->scale_len,
                                            "NumChannels", o->num_channels);
    if (st == MC_OK)
        st = mc__check_initial_values(ctx, label, "Offset", o->offset, o->offset_len, "NumChannels",
                                      o->num_channels);
    if (st == MC_OK && o->scale != NULL && o->offset != NULL && o->scale_len != o->offset_len)
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                         "%s: the initial Scale has %zu elements but the initial Offset has %zu",
                         label, o->scale_len, o->offset_len);
    return st;
}

mc_status mc__norm_check_factors(mc_ctx *ctx, const char *label, const mc__norm_options *o)
{
    return mc__check_learn_factors(ctx, label, "Scale", o->scale_learn_rate_factor,
                                   o->scale_l2_factor, "Offset", o->offset_learn_rate_factor,
                                   o->offset_l2_factor);
}

mc_status mc__norm_resolve(mc_ctx *ctx, const char *label, const mc__norm_options *o,
                           mc__init *scale_init, mc__init *offset_init)
{
    mc_status st = mc__init_resolve(ctx, label, "ScaleInitializer", o->scale_initializer,
                                    MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                                    MC__INIT_ONES, scale_init);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "OffsetInitializer", o->offset_initializer,
                              MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ZEROS, offset_init);
    return st;
}

mc_shape mc__norm_size(mc_data_kind kind, int C)
{
    mc_shape s;
    memset(&s, 0, sizeof s);
    switch (kind) {
    case MC_DATA_IMAGE3D:
        s.ndim = 4;
        s.dims[0] = s.dims[1] = s.dims[2] = 1;
        s.dims[3] = C;
        break;
    case MC_DATA_FEATURE:
    case MC_DATA_SEQUENCE:
        s.ndim = 2;
        s.dims[0] = C;
        s.dims[1] = 1;
        break;
    default:
        s.ndim = 3;
        s.dims[0] = s.dims[1] = 1;
        s.dims[2] = C;
        break;
    }
    return s;
}

/* Copies explicit initial values (sized 1x1xlen until the input kind is known). */
static mc_status set_initial(mc_ctx *ctx, mc_param *p, const float *v, size_t len)
{
    if (v == NULL)
        return MC_OK;
    if (len > (size_t)0x7fffffff)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "an initial value has too many elements");
    const mc_shape storage = mc_shape_make(1, (const int[]){(int)len});
    const mc_shape size = mc__norm_size(MC_DATA_IMAGE2D, (int)len);
    return mc__param_set_values(ctx, p, v, len, &storage, &size);
}

mc_status mc__norm_init_params(mc_ctx *ctx, mc_param *scale, mc_param *offset,
                               const mc__norm_options *o)
{
    mc__param_init(scale, "Scale", o->scale_learn_rate_factor, o->scale_l2_factor);
    mc__param_init(offset, "Offset", o->offset_learn_rate_factor, o->offset_l2_factor);
    mc_status st = set_initial(ctx, scale, o->scale, o->scale_len);
    if (st == MC_OK)
        st = set_initial(ctx, offset, o->offset, o->offset_len);
    return st;
}

/* Readies Scale or Offset for C channels, wording the mismatch of explicit values. */
static mc_status prepare_param(mc_ctx *ctx, const char *label, mc_param *p, const mc__init *init,
                               const char *option, mc_data_kind kind, int C)
{
    if (p->value.data != NULL && mc_tensor_numel(&p->value) != (size_t)C)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: %s has %zu elements but the input has %d channels", label, p->name,
                           mc_tensor_numel(&p->value), C);
    const mc_shape storage = mc_shape_make(1, &C), size = mc__norm_size(kind, C);
    return mc__param_prepare(ctx, label, p, init, option, &storage, &size, 0.0, 0.0);
}

mc_status mc__norm_prepare(mc_ctx *ctx, const char *label, mc_param *scale,
                           const mc__init *scale_init, mc_param *offset,
                           const mc__init *offset_init, mc_data_kind kind, int C)
{
    mc_status st = prepare_param(ctx, label, offset, offset_init, "OffsetInitializer", kind, C);
    if (st == MC_OK)
        st = prepare_param(ctx, label, scale, scale_init, "ScaleInitializer", kind, C);
    return st;
}
