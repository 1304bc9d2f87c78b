/* SPDX-License-Identifier: MIT */
/* classificationLayer (MATLAB R2020b semantics): cross-entropy for mutually exclusive classes. */
#include <float.h>
#include <math.h>
#include <string.h>

#include <minicnn/layers.h>

#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* probs: (N, K); labels: (N), each in 0 .. K-1. Mean of -ln(max(p_label, FLT_MIN)) in double;
 * a NaN probability gives a NaN loss. */
double mc_crossentropy_kernel(const float *probs, const int *labels, int N, int K)
{
    double sum = 0.0;
    for (int n = 0; n < N; n++) {
        float p = probs[(size_t)n * (size_t)K + (size_t)labels[n]];
        if (p < FLT_MIN)
            p = FLT_MIN;
        sum -= log((double)p);
    }
    return sum / (double)N;
}

/* logits, probs, dlogits: (N, K); labels: (N), each in 0 .. K-1. Per observation with
 * m = max z: loss = (m - z_label) + ln(sum exp(z - m)), every exponent <= 0 and the sum in
 * [1, K], so the loss is finite and exact to rounding for any finite logits (where softmax
 * followed by -ln(p) would see p underflow to 0). probs and dlogits may be NULL, and may
 * alias logits. */
double mc_softmax_crossentropy_kernel(const float *logits, const int *labels, float *probs,
                                      float *dlogits, int N, int K)
{
    double total = 0.0;
    const double inv_n = 1.0 / (double)N;
    for (int n = 0; n < N; n++) {
        const size_t base = (size_t)n * (size_t)K;
        const float *z = logits + base;
        const int label = labels[n];
        double m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - m);
        total += (m - (double)z[label]) + log(sum);
        if (probs == NULL && dlogits == NULL)
            continue;
        for (int k = 0; k < K; k++) {
            const double p = exp((double)z[k] - m) / sum;
            /* Both outputs are computed before either is written: they may alias z. */
            const float d = (float)((p - (k == label ? 1.0 : 0.0)) * inv_n);
            if (probs != NULL)
                probs[base + (size_t)k] = (float)p;
            if (dlogits != NULL)
                dlogits[base + (size_t)k] = d;
        }
    }
    return total * inv_n;
}

/* probs, dprobs: (N, K); labels: (N). The derivative of mc_crossentropy_kernel's loss:
 * -1 / (N max(p, FLT_MIN)) at the labels, 0 elsewhere. */
static void crossentropy_backward_kernel(const float *probs, const int *labels, float *dprobs,
                                         int N, int K)
{
    memset(dprobs, 0, (size_t)N * (size_t)K * sizeof(float));
    for (int n = 0; n < N; n++) {
        const size_t i = (size_t)n * (size_t)K + (size_t)labels[n];
        float p = probs[i];
        if (p < FLT_MIN)
            p = FLT_MIN;
        dprobs[i] = (float)(-1.0 / ((double)N * (double)p));
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct classification {
    mc_layer base;
    char **classes;    /* NULL while 'auto'; one block holding the pointers and the names */
    int num_classes;   /* 0 while 'auto' */
    const int *labels; /* borrowed from mc_classification_set_labels; NULL when unset */
    int num_labels;
    double loss; /* of the last forward; NaN without labels */
} classification;

static const mc_layer_vtable classification_vtable;

mc_classification_options mc_classification_default(void)
{
    mc_classification_options o;
    memset(&o, 0, sizeof o);
    return o;
}

/* Checks a list of class names: at least one, each non-empty, no duplicates. */
static mc_status check_classes(mc_ctx *ctx, const char *label, const char *const *classes, int n)
{
    if (classes == NULL && n == 0)
        return MC_OK;
    if (classes == NULL || n < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Classes must be 'auto' (no names) or at least 1 class name; "
                           "got %d names%s",
                           label, n, classes == NULL ? " and no array" : "");
    for (int k = 0; k < n; k++) {
        if (classes[k] == NULL || classes[k][0] == '\0')
            return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: class %d of %d has an empty name", label,
                               k + 1, n);
        for (int j = 0; j < k; j++)
            if (strcmp(classes[j], classes[k]) == 0)
                return mc_ctx_fail(ctx, MC_ERR_INVALID,
                                   "%s: the class name '%s' appears twice (classes %d and %d); "
                                   "class names must be unique",
                                   label, classes[k], j + 1, k + 1);
    }
    return MC_OK;
}

/* A copy of n names in one block: n pointers followed by the strings. NULL on failure. */
static char **copy_classes(mc_ctx *ctx, const char *const *classes, int n)
{
    size_t bytes = (size_t)n * sizeof(char *);
    for (int k = 0; k < n; k++)
        bytes += strlen(classes[k]) + 1;
    char **copy = mc_alloc(ctx, bytes);
    if (copy == NULL)
        return NULL;
    char *text = (char *)(copy + n);
    for (int k = 0; k < n; k++) {
        const size_t len = strlen(classes[k]) + 1;
        memcpy(text, classes[k], len);
        copy[k] = text;
        text += len;
    }
    return copy;
}

static void classification_destroy(mc_layer *self)
{
    classification *cl = (classification *)self;
    mc_free(self->ctx, cl->classes);
}

mc_status mc_classification_create(mc_ctx *ctx, const mc_classification_options *opts,
                                   mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, classification_vtable.kind);
    mc_status st = check_classes(ctx, label, opts->classes, opts->num_classes);
    if (st != MC_OK)
        return st;
    mc_layer *base = NULL;
    st = mc__layer_new(ctx, sizeof(classification), &classification_vtable, opts->name, 1, NULL,
                       "creating a classification layer", &base);
    if (st != MC_OK)
        return st;
    classification *cl = (classification *)base;
    cl->loss = NAN;
    if (opts->classes != NULL) {
        cl->classes = copy_classes(ctx, opts->classes, opts->num_classes);
        if (cl->classes == NULL) {
            mc_layer_destroy(&cl->base);
            return mc__nomem(ctx, "copying the class names");
        }
        cl->num_classes = opts->num_classes;
    }
    *out = &cl->base;
    return MC_OK;
}

/* Setup accepts probabilities (N, K) or (N, K, 1, 1) and forgets any labels. */
static mc_status classification_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    classification *cl = (classification *)self;
    char label[MC__LABEL_CAP], dims[96];
    mc__layer_label(self, label, sizeof label);
    const mc_shape *s = &in[0];
    if (!(s->ndim == 2 || (s->ndim == 4 && s->dims[2] == 1 && s->dims[3] == 1))) {
        mc_shape_format(s, "x", dims, sizeof dims);
        return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                           "%s: the input has shape [%s]; expected class probabilities "
                           "(N, K) or (N, K, 1, 1)",
                           label, dims);
    }
    if (cl->num_classes > 0 && s->dims[1] != cl->num_classes)
        return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                           "%s: the input has %d channels but there are %d classes", label,
                           s->dims[1], cl->num_classes);
    cl->labels = NULL;
    cl->num_labels = 0;
    cl->loss = NAN;
    *out = *s;
    return MC_OK;
}

/* Copies the probabilities; with labels for this batch, computes the loss. */
static void classification_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                                   mc_mode mode)
{
    (void)n_in;
    (void)mode;
    classification *cl = (classification *)self;
    const int N = in[0].shape.dims[0], K = in[0].shape.dims[1];
    if (out->data != in[0].data)
        memcpy(out->data, in[0].data, (size_t)N * (size_t)K * sizeof(float));
    cl->loss = cl->labels != NULL && cl->num_labels == N
                   ? mc_crossentropy_kernel(in[0].data, cl->labels, N, K)
                   : NAN;
}

/* Writes dL/dy of the cross-entropy (dout is not used: the loss is the end of the chain).
 * Without labels for this batch the gradient is undefined and written as NaN, so that the
 * mistake shows instead of training silently on zeros. */
static void classification_backward(mc_layer *self, const mc_tensor *in, int n_in,
                                    const mc_tensor *out, const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    (void)dout;
    classification *cl = (classification *)self;
    if (din[0].data == NULL)
        return;
    const int N = in[0].shape.dims[0], K = in[0].shape.dims[1];
    if (cl->labels != NULL && cl->num_labels == N) {
        crossentropy_backward_kernel(in[0].data, cl->labels, din[0].data, N, K);
    } else {
        for (size_t i = 0; i < (size_t)N * (size_t)K; i++)
            din[0].data[i] = NAN;
    }
}

static void classification_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const classification *cl = (const classification *)self;
    const int K = cl->num_classes;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "crossentropyex");
        if (K == 1)
            mc_text_printf(t, " with class '%s'", cl->classes[0]);
        else if (K == 2)
            mc_text_printf(t, " with classes '%s' and '%s'", cl->classes[0], cl->classes[1]);
        else if (K > 2)
            mc_text_printf(t, " with '%s' and %d other classes", cl->classes[0], K - 1);
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = 16;
    mc_text_printf(t, "  ClassificationOutputLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL) {
        /* An output layer has an input but, for MATLAB, no outputs to list. */
        mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
        mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
    }
    if (K > 0)
        mc_text_printf(t, "%*s: [%d\xc3\x97%d categorical]\n", w, "Classes", K, 1);
    else
        mc_text_printf(t, "%*s: 'auto'\n", w, "Classes");
    mc_text_printf(t, "%*s: 'none'\n", w, "ClassWeights");
    if (K > 0)
        mc_text_printf(t, "%*s: %d\n", w, "OutputSize", K);
    else
        mc_text_printf(t, "%*s: 'auto'\n", w, "OutputSize");
    mc_text_printf(t, "\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: 'crossentropyex'\n", w, "LossFunction");
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
}

/* The layer as a classification layer, or NULL (with a message) for another kind. */
static classification *as_classification(mc_layer *layer, const char *what)
{
    if (layer->vt == &classification_vtable)
        return (classification *)layer;
    char label[MC__LABEL_CAP];
    mc_ctx_fail(layer->ctx, MC_ERR_INVALID, "%s: %s needs a classificationLayer, not a %s",
                mc__layer_label(layer, label, sizeof label), what, layer->vt->kind);
    return NULL;
}

mc_status mc_classification_set_labels(mc_layer *layer, const int *labels, int n)
{
    classification *cl = as_classification(layer, "setting labels");
    if (cl == NULL)
        return MC_ERR_INVALID;
    char label[MC__LABEL_CAP];
    mc__layer_label(layer, label, sizeof label);
    /* Stale labels are never kept: a failure leaves the layer without labels. */
    cl->labels = NULL;
    cl->num_labels = 0;
    if (!layer->is_setup)
        return mc_ctx_fail(layer->ctx, MC_ERR_STATE, "%s: labels set before setup", label);
    const int max_n = layer->in_shape[0].dims[0], K = layer->in_shape[0].dims[1];
    if (labels == NULL || n < 1 || n > max_n)
        return mc_ctx_fail(layer->ctx, MC_ERR_INVALID,
                           "%s: %d labels%s given; the layer was set up for 1 to %d "
                           "observations",
                           label, n, labels == NULL ? " (no array)" : "", max_n);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return mc_ctx_fail(layer->ctx, MC_ERR_INVALID,
                               "%s: labels[%d] is %d; labels must be 0 to %d for %d classes", label,
                               i, labels[i], K - 1, K);
    cl->labels = labels;
    cl->num_labels = n;
    return MC_OK;
}

double mc_classification_loss(const mc_layer *layer)
{
    return layer->vt == &classification_vtable ? ((const classification *)layer)->loss : NAN;
}

int mc_classification_num_classes(const mc_layer *layer)
{
    return layer->vt == &classification_vtable ? ((const classification *)layer)->num_classes : 0;
}

const char *mc_classification_class_name(const mc_layer *layer, int k)
{
    if (layer->vt != &classification_vtable)
        return NULL;
    const classification *cl = (const classification *)layer;
    return k >= 0 && k < cl->num_classes ? cl->classes[k] : NULL;
}

mc_status mc_classification_set_classes(mc_layer *layer, const char *const *classes, int n)
{
    classification *cl = as_classification(layer, "setting classes");
    if (cl == NULL)
        return MC_ERR_INVALID;
    char label[MC__LABEL_CAP];
    mc__layer_label(layer, label, sizeof label);
    if (classes == NULL || n < 1)
        return mc_ctx_fail(layer->ctx, MC_ERR_INVALID,
                           "%s: at least 1 class name is needed; got %d names%s", label, n,
                           classes == NULL ? " and no array" : "");
    mc_status st = check_classes(layer->ctx, label, classes, n);
    if (st != MC_OK)
        return st;
    if (layer->is_setup && layer->in_shape[0].dims[1] != n)
        return mc_ctx_fail(layer->ctx, MC_ERR_SHAPE,
                           "%s: %d class names given but the input has %d channels", label, n,
                           layer->in_shape[0].dims[1]);
    char **copy = copy_classes(layer->ctx, classes, n);
    if (copy == NULL)
        return mc__nomem(layer->ctx, "copying the class names");
    mc_free(layer->ctx, cl->classes);
    cl->classes = copy;
    cl->num_classes = n;
    return MC_OK;
}

static const mc_layer_vtable classification_vtable = {
    .kind = "classificationLayer",
    .class_name = "ClassificationOutputLayer",
    .type_label = "Classification Output",
    .default_name = "classoutput",
    .role = MC_ROLE_OUTPUT,
    .setup = classification_setup,
    .forward = classification_forward,
    .backward = classification_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = classification_describe,
    .destroy = classification_destroy,
};
