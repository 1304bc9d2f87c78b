/* SPDX-License-Identifier: MIT */
/* depthConcatenationLayer and concatenationLayer (MATLAB R2020b semantics). */
#include <limits.h>
#include <string.h>

#include <minicnn/poolconcat.h>

#include "../parallel.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* Every input i seen as (outer, inner[i]) and y as (outer, row), row = the sum of inner:
 * row o of y is row o of each input in turn. forward copies rows [lo, hi) of the inputs into y;
 * backward copies them from dy back into each x[i] whose pointer is not NULL. */
static void concat_rows_kernel(float *const *x, const size_t *inner, int k, float *y, size_t row,
                               size_t lo, size_t hi, bool forward)
{
    for (size_t o = lo; o < hi; o++) {
        float *yr = y + o * row;
        for (int i = 0; i < k; i++) {
            if (forward)
                memcpy(yr, x[i] + o * inner[i], inner[i] * sizeof(float));
            else if (x[i] != NULL)
                memcpy(x[i] + o * inner[i], yr, inner[i] * sizeof(float));
            yr += inner[i];
        }
    }
}

/* Rows in fixed blocks of about 2^16 floats on minicnn's threads. */
#define CONCAT_TASK_FLOATS ((size_t)1 << 16)

typedef struct concat_job {
    float *x[MC_MAX_LAYER_INPUTS];
    size_t inner[MC_MAX_LAYER_INPUTS];
    int k;
    float *y;
    size_t outer, row, rows_per_task;
    bool forward;
} concat_job;

static void concat_task(void *arg, int task, int thread)
{
    (void)thread;
    const concat_job *j = arg;
    const size_t lo = (size_t)task * j->rows_per_task;
    const size_t hi = lo + j->rows_per_task < j->outer ? lo + j->rows_per_task : j->outer;
    concat_rows_kernel(j->x, j->inner, j->k, j->y, j->row, lo, hi, j->forward);
}

/* ---- Layers ----------------------------------------------------------------------------- */

typedef struct concat {
    mc_layer base;
    int dim;  /* MATLAB's Dim; 0 for depth concatenation (the channels) */
    int axis; /* the concatenated dimension of the set-up shapes, minicnn's order (1: C) */
} concat;

static const mc_layer_vtable depthcat_vtable, concat_vtable;

mc_concat_options mc_concat_default(int dim, int num_inputs)
{
    mc_concat_options o;
    memset(&o, 0, sizeof o);
    o.dim = dim;
    o.num_inputs = num_inputs;
    return o;
}

static mc_status create(mc_ctx *ctx, const mc_layer_vtable *vt, int dim, int num_inputs,
                        const char *name, const char *what, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, name, vt->kind);
    if (vt == &concat_vtable && dim < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: Dim must be a positive integer, not %d", label,
                           dim);
    if (num_inputs < 2 || num_inputs > MC_MAX_LAYER_INPUTS)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the number of inputs must be an integer from 2 to %d, not %d",
                           label, MC_MAX_LAYER_INPUTS, num_inputs);
    mc_layer *base = NULL;
    mc_status st =
        mc__layer_new(ctx, sizeof(concat), vt, name, num_inputs, mc__input_names, what, &base);
    if (st != MC_OK)
        return st;
    ((concat *)base)->dim = dim;
    ((concat *)base)->axis = 1;
    *out = base;
    return MC_OK;
}

mc_status mc_depthcat_create(mc_ctx *ctx, int num_inputs, const char *name, mc_layer **out)
{
    return create(ctx, &depthcat_vtable, 0, num_inputs, name,
                  "creating a depth concatenation layer", out);
}

mc_status mc_concat_create(mc_ctx *ctx, const mc_concat_options *opts, mc_layer **out)
{
    return create(ctx, &concat_vtable, opts->dim, opts->num_inputs, opts->name,
                  "creating a concatenation layer", out);
}

/* MATLAB's dimension `dim` of data of shape s as an index of minicnn's (N, C, ...) order, with
 * its name; -1 when the layer cannot concatenate along it (observations, time, or past the
 * last). MATLAB orders images H x W (x D) x C, feature and sequence data C (x T). */
static int matlab_axis(const mc_shape *s, int dim, const char **what)
{
    static const char *const names2d[] = {"the height", "the width", "the channels"};
    static const char *const names3d[] = {"the height", "the width", "the depth", "the channels"};
    static const int axes2d[] = {2, 3, 1}, axes3d[] = {3, 4, 2, 1};
    const mc_data_kind kind = mc_shape_kind(s);
    if (kind == MC_DATA_IMAGE2D && dim <= 3) {
        *what = names2d[dim - 1];
        return axes2d[dim - 1];
    }
    if (kind == MC_DATA_IMAGE3D && dim <= 4) {
        *what = names3d[dim - 1];
        return axes3d[dim - 1];
    }
    if ((kind == MC_DATA_FEATURE || kind == MC_DATA_SEQUENCE) && dim == 1) {
        *what = "the channels";
        return 1;
    }
    return -1;
}

static mc_status concat_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    concat *cl = (concat *)self;
    char label[MC__LABEL_CAP], a[96], b[96];
    mc__layer_label(self, label, sizeof label);
    const char *along = "the channels";
    int axis = 1;
    if (self->vt == &concat_vtable) {
        axis = matlab_axis(&in[0], cl->dim, &along);
        if (axis < 0) {
            static const char *const ranges[] = {
                "", "1 (the channels) for feature input", "1 (the channels) for sequence input",
                "from 1 to 3 for 2-D images (1 the height, 2 the width, 3 the channels)",
                ("from 1 to 4 for 3-D images (1 the height, 2 the width, 3 the depth, 4 the "
                 "channels)")};
            mc_shape_format(&in[0], "x", a, sizeof a);
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: Dim is %d but the input has shape [%s]; Dim must be %s", label,
                               cl->dim, a, ranges[mc_shape_kind(&in[0])]);
        }
    }
    long long total = 0;
    for (int i = 0; i < n_in; i++) {
        bool same = in[i].ndim == in[0].ndim;
        for (int d = 0; same && d < in[0].ndim; d++)
            same = d == axis || in[i].dims[d] == in[0].dims[d];
        if (!same) {
            mc_shape_format(&in[0], "x", a, sizeof a);
            mc_shape_format(&in[i], "x", b, sizeof b);
            return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                               "%s: input %d (%s) has shape [%s] but input 1 (in1) has shape "
                               "[%s]; the inputs must agree in every dimension but %s, along "
                               "which they are concatenated",
                               label, i + 1, self->input_names[i], b, a, along);
        }
        total += in[i].dims[axis];
    }
    if (total > INT_MAX)
        return mc_ctx_fail(self->ctx, MC_ERR_SHAPE,
                           "%s: the concatenation along %s would have %lld entries, more than %d",
                           label, along, total, INT_MAX);
    cl->axis = axis;
    *out = in[0];
    out->dims[axis] = (int)total;
    return MC_OK;
}

/* The job for inputs `x` (k of them, shaped as `in`) and the output `y` shaped as `ys`. */
static concat_job make_job(const concat *cl, const mc_tensor *in, int k, float *const *x, float *y,
                           const mc_shape *ys, bool forward)
{
    concat_job j;
    memset(&j, 0, sizeof j);
    j.k = k;
    j.y = y;
    j.forward = forward;
    j.outer = 1;
    for (int d = 0; d < cl->axis; d++)
        j.outer *= (size_t)ys->dims[d];
    j.row = mc_shape_numel(ys) / j.outer;
    for (int i = 0; i < k; i++) {
        j.x[i] = x[i];
        j.inner[i] = mc_shape_numel(&in[i].shape) / j.outer;
    }
    j.rows_per_task = j.row >= CONCAT_TASK_FLOATS ? 1 : CONCAT_TASK_FLOATS / j.row;
    return j;
}

/* forward: the inputs' data into out; backward: dout back into each din with data. */
static void pass(const concat *cl, const mc_tensor *in, int n_in, const mc_tensor *inputs,
                 const mc_tensor *joined, bool forward)
{
    float *x[MC_MAX_LAYER_INPUTS];
    for (int i = 0; i < n_in; i++)
        x[i] = inputs[i].data;
    concat_job j = make_job(cl, in, n_in, x, joined->data, &joined->shape, forward);
    mc__parallel_for((int)((j.outer + j.rows_per_task - 1) / j.rows_per_task), 0,
                     2 * j.outer * j.row, concat_task, &j);
}

static void concat_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                           mc_mode mode)
{
    (void)mode;
    pass((const concat *)self, in, n_in, in, out, true);
}

static void concat_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                            const mc_tensor *dout, mc_tensor *din)
{
    (void)out;
    pass((const concat *)self, in, n_in, din, dout, false);
}

static void concat_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const concat *cl = (const concat *)self;
    if (what != MC_DESCRIBE_SUMMARY)
        mc__describe_multi_input(self, t, what, cl->dim);
    else if (self->vt == &concat_vtable)
        mc_text_printf(t, "Concatenation of %d inputs along dimension %d", self->num_inputs,
                       cl->dim);
    else
        mc_text_printf(t, "Depth concatenation of %d inputs", self->num_inputs);
}

static const mc_layer_vtable depthcat_vtable = {
    .kind = "depthConcatenationLayer",
    .class_name = "DepthConcatenationLayer",
    .type_label = "Depth concatenation",
    .default_name = "depthcat",
    .role = MC_ROLE_HIDDEN,
    .setup = concat_setup,
    .forward = concat_forward,
    .backward = concat_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = concat_describe,
    .destroy = mc__no_destroy,
};

static const mc_layer_vtable concat_vtable = {
    .kind = "concatenationLayer",
    .class_name = "ConcatenationLayer",
    .type_label = "Concatenation",
    .default_name = "concat",
    .role = MC_ROLE_HIDDEN,
    .setup = concat_setup,
    .forward = concat_forward,
    .backward = concat_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer,
    .describe = concat_describe,
    .destroy = mc__no_destroy,
};
