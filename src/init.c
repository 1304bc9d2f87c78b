/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
    mc__init_kind kind;
    const char *name;
} init_names[] = {
    {MC__INIT_ONES, "ones"},
    {MC__INIT_ZEROS, "zeros"},
    {MC__INIT_NARROW_NORMAL, "narrow-normal"},
    {MC__INIT_GLOROT, "glorot"},
    {MC__INIT_HE, "he"},
};
#define N_INIT_NAMES (sizeof init_names / sizeof init_names[0])

const char *mc__init_name(mc__init_kind kind)
{
    for (size_t i = 0; i < N_INIT_NAMES; i++)
        if (init_names[i].kind == kind)
            return init_names[i].name;
    return "function";
}

mc_status mc__init_resolve(mc_ctx *ctx, const char *label, const char *option,
                           const mc_initializer *init, unsigned allowed, mc__init_kind fallback,
                           mc__init *out)
{
    memset(out, 0, sizeof *out);
    if (init->name != NULL && init->fn != NULL)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: %s is given both as the name '%s' and as a function; give one",
                           label, option, init->name);
    if (init->fn != NULL) {
        out->kind = MC__INIT_FUNCTION;
        out->fn = init->fn;
        out->user = init->user;
        return MC_OK;
    }
    if (init->name == NULL) {
        out->kind = fallback;
        return MC_OK;
    }
    const char *accepted[N_INIT_NAMES + 1];
    size_t n_accepted = 0;
    for (size_t i = 0; i < N_INIT_NAMES; i++) {
        if (!(allowed & (unsigned)init_names[i].kind))
            continue;
        if (strcasecmp(init->name, init_names[i].name) == 0) {
            out->kind = init_names[i].kind;
            return MC_OK;
        }
        accepted[n_accepted++] = init_names[i].name;
    }
    accepted[n_accepted] = NULL;
    char list[160] = "";
    for (size_t i = 0; i < n_accepted; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "", accepted[i]);
    }
    const char *hint = mc__closest(init->name, accepted);
    char suggestion[96] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean '%s'?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: unknown %s '%s'%s; expected %s or a function",
                       label, option, init->name, suggestion, list);
}

mc_status mc__init_fill(mc_ctx *ctx, const char *label, const char *option, const mc__init *init,
                        const mc_shape *size, double fan_in, double fan_out, float *values,
                        size_t n)
{
    switch (init->kind) {
    case MC__INIT_ONES:
    case MC__INIT_ZEROS:
        for (size_t i = 0; i < n; i++)
            values[i] = init->kind == MC__INIT_ONES ? 1.0f : 0.0f;
        return MC_OK;
    case MC__INIT_NARROW_NORMAL:
        for (size_t i = 0; i < n; i++)
            values[i] = (float)(0.01 * mc_rng_normal(ctx));
        return MC_OK;
    case MC__INIT_GLOROT: {
        double bound = sqrt(6.0 / (fan_in + fan_out));
        for (size_t i = 0; i < n; i++)
            values[i] = (float)(bound * (2.0 * mc_rng_uniform(ctx) - 1.0));
        return MC_OK;
    }
    case MC__INIT_HE: {
        double sd = sqrt(2.0 / fan_in);
        for (size_t i = 0; i < n; i++)
            values[i] = (float)(sd * mc_rng_normal(ctx));
        return MC_OK;
    }
    case MC__INIT_FUNCTION:
        break;
    }
    mc_ctx_clear_message(ctx);
    mc_status st = init->fn(init->user, ctx, size, values, n);
    if (st != MC_OK) {
        const char *why = mc_ctx_message(ctx);
        char reason[512];
        snprintf(reason, sizeof reason, "%s", why[0] != '\0' ? why : mc_status_text(st));
        return mc_ctx_fail(ctx, st, "%s: the %s function failed: %s", label, option, reason);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return mc_ctx_fail(ctx, MC_ERR_NUMERIC,
                               "%s: the %s function returned %g at element %zu of %zu; "
                               "initial values must be finite",
                               label, option, (double)values[i], i + 1, n);
    return MC_OK;
}
