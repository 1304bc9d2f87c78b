/* Weights and Bias: what convolution2dLayer and fullyConnectedLayer share. */
#include <math.h>

#include "weighted.h"

mc_status mc__weighted_resolve(mc_ctx *ctx, const char *label, const mc__weighted_options *o,
                               mc__init *weights_init, mc__init *bias_init)
{
    const struct {
        const char *option;
        double value;
    } factors[] = {
        {"WeightLearnRateFactor", o->weight_learn_rate_factor},
        {"BiasLearnRateFactor", o->bias_learn_rate_factor},
        {"WeightL2Factor", o->weight_l2_factor},
        {"BiasL2Factor", o->bias_l2_factor},
    };
    mc_status st = MC_OK;
    for (size_t i = 0; st == MC_OK && i < sizeof factors / sizeof factors[0]; i++)
        st = mc__check_factor(ctx, label, factors[i].option, factors[i].value);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "WeightsInitializer", o->weights_initializer,
                              MC__INIT_GLOROT | MC__INIT_HE | MC__INIT_NARROW_NORMAL |
                                  MC__INIT_ZEROS | MC__INIT_ONES,
                              MC__INIT_GLOROT, weights_init);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "BiasInitializer", o->bias_initializer,
                              MC__INIT_ZEROS | MC__INIT_ONES | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ZEROS, bias_init);
    return st;
}

mc_status mc__weighted_check_values(mc_ctx *ctx, const char *label, const char *what,
                                    const float *v, size_t len)
{
    if (v == NULL)
        return MC_OK;
    if (len == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the initial %s is given with 0 elements; pass NULL for empty",
                           label, what);
    for (size_t i = 0; i < len; i++)
        if (!isfinite(v[i]))
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the initial %s has the non-finite value %g at element %zu",
                               label, what, (double)v[i], i + 1);
    return MC_OK;
}

void mc__weighted_params(mc_param *weights, mc_param *bias, const mc__weighted_options *o)
{
    weights->name = "Weights";
    weights->lr_factor = o->weight_learn_rate_factor;
    weights->l2_factor = o->weight_l2_factor;
    bias->name = "Bias";
    bias->lr_factor = o->bias_learn_rate_factor;
    bias->l2_factor = o->bias_l2_factor;
}

static void describe_initializer(mc_text *t, const mc__init *init)
{
    if (init->kind == MC__INIT_FUNCTION)
        mc_text_printf(t, "[function_handle]");
    else
        mc_text_printf(t, "'%s'", mc__init_name(init->kind));
}

void mc__weighted_describe(mc_text *t, int w, const mc__init *weights_init,
                           const mc__init *bias_init, const mc_param *weights, const mc_param *bias)
{
    char num[40];
    mc_text_printf(t, "\n   Parameters and Initialization\n%*s: ", w, "WeightsInitializer");
    describe_initializer(t, weights_init);
    mc_text_printf(t, "\n%*s: ", w, "BiasInitializer");
    describe_initializer(t, bias_init);
    mc_text_printf(t, "\n\n   Learn Rate and Regularization\n");
    const struct {
        const char *name;
        double value;
    } factors[] = {
        {"WeightLearnRateFactor", weights->lr_factor},
        {"BiasLearnRateFactor", bias->lr_factor},
        {"WeightL2Factor", weights->l2_factor},
        {"BiasL2Factor", bias->l2_factor},
    };
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        mc_text_printf(t, "%*s: %s\n", w, factors[i].name,
                       mc_format_short(factors[i].value, num, sizeof num));
}

void mc__weighted_describe_io(mc_text *t, int w)
{
    mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
    mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
    mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
    mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
}
