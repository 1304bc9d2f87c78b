/* SPDX-License-Identifier: MIT */
/* The layer interface: every layer is a base struct plus a vtable. Layers are made by their
 * own constructors (mc_groupnorm_create, ...); everything else goes through the functions
 * below, which check their arguments and then call the vtable. */
#ifndef MINICNN_LAYER_H
#define MINICNN_LAYER_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/ctx.h>
#include <minicnn/param.h>
#include <minicnn/tensor.h>
#include <minicnn/text.h>

/* The most inputs a layer may have (additionLayer(numInputs) is bounded by it). */
#define MC_MAX_LAYER_INPUTS 32

typedef enum mc_mode { MC_MODE_INFERENCE = 0, MC_MODE_TRAINING = 1 } mc_mode;

typedef enum mc_describe {
    MC_DESCRIBE_SUMMARY,    /* one line for the Layer array display: "Group normalization" */
    MC_DESCRIBE_PROPERTIES, /* MATLAB's default object display */
    MC_DESCRIBE_ALL         /* the display after "Show all properties" */
} mc_describe;

/* Where a layer stands in a graph. An input layer receives the network's data as its one input
 * (MATLAB counts it as NumInputs 0); an output layer computes the loss and has no successor. */
typedef enum mc_layer_role { MC_ROLE_HIDDEN = 0, MC_ROLE_INPUT, MC_ROLE_OUTPUT } mc_layer_role;

typedef struct mc_layer mc_layer;

/* What a concrete layer implements. Shapes include the batch dimension N; `setup` receives the
 * largest N that will be used and sizes every per-batch buffer for it, so forward and backward
 * never allocate. forward/backward receive tensors already checked against the set-up shapes
 * (same dims, N no larger) and cannot fail. */
typedef struct mc_layer_vtable {
    const char *kind;         /* registry name: "groupNormalizationLayer" */
    const char *class_name;   /* "GroupNormalizationLayer" */
    const char *type_label;   /* "Group Normalization" */
    const char *default_name; /* name MATLAB assigns to an unnamed layer: "groupnorm" */
    mc_layer_role role;
    /* Validates the input shapes, initializes learnables that are still empty, sizes buffers
     * and writes the output shape. May be called again with other shapes. */
    mc_status (*setup)(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out);
    void (*forward)(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out, mc_mode mode);
    /* Writes din[i] (=) for each input whose data is not NULL and accumulates (+=) parameter
     * gradients. `in` and `out` are those of the last training-mode forward. */
    void (*backward)(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                     const mc_tensor *dout, mc_tensor *din);
    mc_param *(*param)(mc_layer *self, int i);                      /* NULL past the last */
    mc_tensor *(*buffer)(mc_layer *self, int i, const char **name); /* NULL past the last */
    void (*describe)(const mc_layer *self, mc_text *out, mc_describe what);
    void (*destroy)(mc_layer *self); /* frees the concrete layer's own members only */
} mc_layer_vtable;

/* The base every layer embeds first. */
struct mc_layer {
    const mc_layer_vtable *vt;
    mc_ctx *ctx;
    char *name; /* owned, "" when unnamed */
    int num_inputs;
    int num_outputs;
    const char *const *input_names;  /* static: {"in"} or {"in1", "in2", ...} */
    const char *const *output_names; /* static: {"out"} */
    bool is_setup;
    mc_shape in_shape[MC_MAX_LAYER_INPUTS];
    mc_shape out_shape;
};

/* Frees the layer and everything it owns; NULL is allowed. */
void mc_layer_destroy(mc_layer *layer);

/* Name ("" when unnamed); borrowed, valid until the layer is renamed or destroyed. */
const char *mc_layer_name(const mc_layer *layer);

/* Renames the layer (copied). Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_layer_set_name(mc_layer *layer, const char *name);

int mc_layer_num_inputs(const mc_layer *layer);
int mc_layer_num_outputs(const mc_layer *layer);
/* "in", "out", ...; NULL when i is out of range. Static strings. */
const char *mc_layer_input_name(const mc_layer *layer, int i);
const char *mc_layer_output_name(const mc_layer *layer, int i);

/* Sets the layer up for `n_in` inputs of the given shapes (N is the largest batch that will be
 * used) and writes the output shape to *out. Returns MC_OK, MC_ERR_INVALID or MC_ERR_SHAPE
 * (message names the layer and the numbers), MC_ERR_NOMEM, or an initializer's status. */
mc_status mc_layer_setup(mc_layer *layer, const mc_shape *in, int n_in, mc_shape *out);

/* Computes out from in. Shapes must equal the set-up ones, except N which may be smaller.
 * Returns MC_OK, MC_ERR_STATE (not set up) or MC_ERR_SHAPE. */
mc_status mc_layer_forward(mc_layer *layer, const mc_tensor *in, int n_in, mc_tensor *out,
                           mc_mode mode);

/* Back-propagates dout (shaped as out) after a training-mode forward of the same in/out:
 * writes din[i] where din[i].data is not NULL (din may be NULL to skip all) and adds the
 * parameter gradients. Returns MC_OK, MC_ERR_STATE or MC_ERR_SHAPE. */
mc_status mc_layer_backward(mc_layer *layer, const mc_tensor *in, int n_in, const mc_tensor *out,
                            const mc_tensor *dout, mc_tensor *din);

/* Learnable parameters and non-learnable buffers, in a fixed order (borrowed). */
int mc_layer_num_params(mc_layer *layer);
mc_param *mc_layer_param(mc_layer *layer, int i);
int mc_layer_num_buffers(mc_layer *layer);
mc_tensor *mc_layer_buffer(mc_layer *layer, int i, const char **name);

/* Text that describes the layer (see mc_describe), without a trailing "layer = " line. On
 * MC_OK *text is owned by the caller (mc_free). Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_layer_describe(const mc_layer *layer, mc_describe what, char **text);

#ifdef __cplusplus
}
#endif

#endif
