/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const single_input_names[] = {"in"};
static const char *const single_output_names[] = {"out"};

mc_status mc__layer_init(mc_layer *layer, mc_ctx *ctx, const mc_layer_vtable *vt, const char *name,
                         int num_inputs, const char *const *input_names)
{
    layer->vt = vt;
    layer->ctx = ctx;
    layer->num_inputs = num_inputs;
    layer->num_outputs = 1;
    layer->input_names = input_names != NULL ? input_names : single_input_names;
    layer->output_names = single_output_names;
    layer->is_setup = false;
    layer->name = mc__strdup(ctx, name);
    if (layer->name == NULL)
        return mc__nomem(ctx, "copying a layer name");
    return MC_OK;
}

void mc_layer_destroy(mc_layer *layer)
{
    if (layer == NULL)
        return;
    mc_ctx *ctx = layer->ctx;
    layer->vt->destroy(layer);
    mc_free(ctx, layer->name);
    mc_free(ctx, layer);
}

const char *mc__label(char *buf, size_t cap, const char *name, const char *kind)
{
    if (name != NULL && name[0] != '\0')
        snprintf(buf, cap, "Layer '%s'", name);
    else
        snprintf(buf, cap, "%s (unnamed)", kind);
    return buf;
}

const char *mc__layer_label(const mc_layer *layer, char *buf, size_t cap)
{
    return mc__label(buf, cap, layer->name, layer->vt->kind);
}

const char *mc_layer_name(const mc_layer *layer)
{
    return layer->name;
}

mc_status mc_layer_set_name(mc_layer *layer, const char *name)
{
    char *copy = mc__strdup(layer->ctx, name);
    if (copy == NULL)
        return mc__nomem(layer->ctx, "copying a layer name");
    mc_free(layer->ctx, layer->name);
    layer->name = copy;
    return MC_OK;
}

int mc_layer_num_inputs(const mc_layer *layer)
{
    return layer->num_inputs;
}

int mc_layer_num_outputs(const mc_layer *layer)
{
    return layer->num_outputs;
}

const char *mc_layer_input_name(const mc_layer *layer, int i)
{
    return i >= 0 && i < layer->num_inputs ? layer->input_names[i] : NULL;
}

const char *mc_layer_output_name(const mc_layer *layer, int i)
{
    return i >= 0 && i < layer->num_outputs ? layer->output_names[i] : NULL;
}

static mc_status check_input_count(const mc_layer *layer, int n_in, const char *what)
{
    if (n_in == layer->num_inputs)
        return MC_OK;
    char label[MC__LABEL_CAP];
    return mc_ctx_fail(layer->ctx, MC_ERR_INVALID, "%s: %s got %d inputs, but the layer has %d",
                       mc__layer_label(layer, label, sizeof label), what, n_in, layer->num_inputs);
}

mc_status mc_layer_setup(mc_layer *layer, const mc_shape *in, int n_in, mc_shape *out)
{
    char label[MC__LABEL_CAP];
    mc_status st = check_input_count(layer, n_in, "setup");
    if (st != MC_OK)
        return st;
    for (int i = 0; i < n_in; i++) {
        if (mc_shape_kind(&in[i]) == MC_DATA_INVALID || mc_shape_numel(&in[i]) == 0) {
            char dims[96];
            mc_shape_format(&in[i], "x", dims, sizeof dims);
            return mc_ctx_fail(layer->ctx, MC_ERR_SHAPE,
                               "%s: input %d has shape [%s]; expected 2 to 5 positive dimensions "
                               "(N, C), (N, C, T), (N, C, H, W) or (N, C, D, H, W)",
                               mc__layer_label(layer, label, sizeof label), i + 1, dims);
        }
    }
    layer->is_setup = false;
    mc_shape o;
    memset(&o, 0, sizeof o);
    st = layer->vt->setup(layer, in, n_in, &o);
    if (st != MC_OK)
        return st;
    for (int i = 0; i < n_in; i++)
        layer->in_shape[i] = in[i];
    layer->out_shape = o;
    layer->is_setup = true;
    *out = o;
    return MC_OK;
}

/* The tensor must have the set-up shape, except for a batch no larger than the set-up one. */
static mc_status check_tensor(const mc_layer *layer, const mc_tensor *t, const mc_shape *want,
                              const char *what, int index, int batch)
{
    bool ok = t->data != NULL && t->shape.ndim == want->ndim && t->shape.dims[0] == batch;
    for (int d = 1; ok && d < want->ndim; d++)
        ok = t->shape.dims[d] == want->dims[d];
    if (ok)
        return MC_OK;
    char label[MC__LABEL_CAP], got[96], exp[96];
    mc_shape_format(&t->shape, "x", got, sizeof got);
    mc_shape exp_shape = *want;
    exp_shape.dims[0] = batch;
    mc_shape_format(&exp_shape, "x", exp, sizeof exp);
    return mc_ctx_fail(layer->ctx, MC_ERR_SHAPE, "%s: %s %d has shape [%s]%s; expected [%s]",
                       mc__layer_label(layer, label, sizeof label), what, index, got,
                       t->data == NULL ? " and no data" : "", exp);
}

/* Checks the state, the input count and every input; writes the batch size. */
static mc_status check_inputs(const mc_layer *layer, const mc_tensor *in, int n_in,
                              const char *what, int *batch)
{
    char label[MC__LABEL_CAP];
    if (!layer->is_setup)
        return mc_ctx_fail(layer->ctx, MC_ERR_STATE, "%s: %s called before setup",
                           mc__layer_label(layer, label, sizeof label), what);
    mc_status st = check_input_count(layer, n_in, what);
    if (st != MC_OK)
        return st;
    int n = in[0].shape.ndim > 0 ? in[0].shape.dims[0] : 0;
    if (n < 1 || n > layer->in_shape[0].dims[0])
        return mc_ctx_fail(layer->ctx, MC_ERR_SHAPE,
                           "%s: %s with a batch of %d observations; the layer was set up for 1 "
                           "to %d",
                           mc__layer_label(layer, label, sizeof label), what, n,
                           layer->in_shape[0].dims[0]);
    for (int i = 0; i < n_in; i++) {
        st = check_tensor(layer, &in[i], &layer->in_shape[i], "input", i + 1, n);
        if (st != MC_OK)
            return st;
    }
    *batch = n;
    return MC_OK;
}

mc_status mc_layer_forward(mc_layer *layer, const mc_tensor *in, int n_in, mc_tensor *out,
                           mc_mode mode)
{
    int n = 0;
    mc_status st = check_inputs(layer, in, n_in, "forward", &n);
    if (st == MC_OK)
        st = check_tensor(layer, out, &layer->out_shape, "output", 1, n);
    if (st == MC_OK)
        st = mc__input_check_fitted(layer);
    if (st != MC_OK)
        return st;
    layer->vt->forward(layer, in, n_in, out, mode);
    return MC_OK;
}

mc_status mc_layer_backward(mc_layer *layer, const mc_tensor *in, int n_in, const mc_tensor *out,
                            const mc_tensor *dout, mc_tensor *din)
{
    int n = 0;
    mc_status st = check_inputs(layer, in, n_in, "backward", &n);
    if (st == MC_OK)
        st = check_tensor(layer, out, &layer->out_shape, "output", 1, n);
    if (st == MC_OK)
        st = check_tensor(layer, dout, &layer->out_shape, "output gradient", 1, n);
    for (int i = 0; st == MC_OK && din != NULL && i < n_in; i++)
        if (din[i].data != NULL)
            st = check_tensor(layer, &din[i], &layer->in_shape[i], "input gradient", i + 1, n);
    if (st != MC_OK)
        return st;
    mc_tensor none[MC_MAX_LAYER_INPUTS];
    if (din == NULL) {
        memset(none, 0, sizeof none);
        din = none;
    }
    layer->vt->backward(layer, in, n_in, out, dout, din);
    return MC_OK;
}

int mc_layer_num_params(mc_layer *layer)
{
    int n = 0;
    while (layer->vt->param(layer, n) != NULL)
        n++;
    return n;
}

mc_param *mc_layer_param(mc_layer *layer, int i)
{
    return i < 0 ? NULL : layer->vt->param(layer, i);
}

int mc_layer_num_buffers(mc_layer *layer)
{
    int n = 0;
    const char *name;
    while (layer->vt->buffer(layer, n, &name) != NULL)
        n++;
    return n;
}

mc_tensor *mc_layer_buffer(mc_layer *layer, int i, const char **name)
{
    const char *ignored;
    return i < 0 ? NULL : layer->vt->buffer(layer, i, name != NULL ? name : &ignored);
}

mc_status mc_layer_describe(const mc_layer *layer, mc_describe what, char **text)
{
    mc_text t = mc_text_init(layer->ctx);
    layer->vt->describe(layer, &t, what);
    return mc_text_take(&t, text);
}

mc_status mc__check_factor(mc_ctx *ctx, const char *label, const char *option, double value)
{
    if (isfinite(value) && value >= 0)
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be a nonnegative finite number, not %g",
                       label, option, value);
}

/* Levenshtein distance, capped: strings longer than 63 characters are never "close". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return (size_t)-1;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *mc__closest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(word) / 3 + 1;
    for (size_t i = 0; candidates[i] != NULL; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}
