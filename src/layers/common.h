/* SPDX-License-Identifier: MIT */
/* What every layer file needs beyond the base: making the concrete struct, the vtable entries
 * of a layer without learnables, buffers or members, and the pieces of MATLAB's property
 * display that several layers print alike. Private to src/layers. */
#ifndef MINICNN_LAYERS_COMMON_H
#define MINICNN_LAYERS_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "../internal.h"

/* Allocates a zeroed concrete layer of `size` bytes (its base embedded first) and fills the
 * base as mc__layer_init does. On MC_OK *out is the base; otherwise *out is untouched, nothing
 * stays allocated and the status is MC_ERR_NOMEM, with "out of memory while <what>" when the
 * layer itself could not be allocated. */
mc_status mc__layer_new(mc_ctx *ctx, size_t size, const mc_layer_vtable *vt, const char *name,
                        int num_inputs, const char *const *input_names, const char *what,
                        mc_layer **out);

/* Vtable entries for a layer without learnables, buffers or members of its own. */
mc_param *mc__no_param(mc_layer *self, int i);
mc_tensor *mc__no_buffer(mc_layer *self, int i, const char **name);
void mc__no_destroy(mc_layer *self);

/* The names of numbered inputs, "in1" .. "in32", static for the base's input_names. */
extern const char *const mc__input_names[MC_MAX_LAYER_INPUTS];

/* A setup for one input of any kind whose output has the input's shape. */
mc_status mc__setup_same_shape(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out);

/* S: the product of the dimensions after (N, C). */
size_t mc__positions(const mc_shape *s);

/* 'same' padding along one dimension of length L with stride S for a window spanning `extent`
 * positions: the output has ceil(L / S) positions, and the total padding that needs is split
 * with the odd one at the end (bottom or right). */
void mc__same_padding(int L, int S, long long extent, int *before, int *after);

/* 2-D pooling (max and average). */

/* MC_OK for a 2-D image shape (N, C, H, W); otherwise MC_ERR_SHAPE with "<label>: the input has
 * shape [2x9]; <what> needs 2-D images (N, C, H, W)". */
mc_status mc__check_image2d(mc_ctx *ctx, const char *label, const mc_shape *in, const char *what);

/* Pool size [PH PW] and stride [SH SW] positive, and unless `same` the padding [top bottom left
 * right] nonnegative and each side smaller than the pool size along it: MC_ERR_INVALID with a
 * message naming `label` otherwise. */
mc_status mc__check_pool2d(mc_ctx *ctx, const char *label, const int pool[2], const int stride[2],
                           const int padding[4], bool same);

/* The padding in use (`manual`, or for `same` computed) and the output size of pooling an H x W
 * plane: MC_ERR_SHAPE when the padded plane has more than INT32_MAX positions or is smaller
 * than the window. */
mc_status mc__pool2d_geometry(mc_ctx *ctx, const char *label, int H, int W, const int pool[2],
                              const int stride[2], bool same, const int manual[4], int pad[4],
                              int *OH, int *OW);

/* The Layer-array description "2x2 <what> pooling with stride [2  2] and padding [0  0  0  0]"
 * ('same' for same padding). */
void mc__describe_pool2d_summary(mc_text *t, const char *what, const int pool[2],
                                 const int stride[2], const int pad[4], bool same);

/* The "Hyperparameters" rows PoolSize, Stride, PaddingMode and PaddingSize. */
void mc__describe_pool2d_hyper(mc_text *t, int w, const int pool[2], const int stride[2],
                               const int pad[4], bool same);

/* "<label>: NumChannels is 3 but the input has 4 channels" (MC_ERR_SHAPE) when a fixed
 * NumChannels (> 0) differs from the input's C; MC_OK otherwise. */
mc_status mc__check_num_channels(mc_ctx *ctx, const char *label, int num_channels, int C);

/* The learn-rate and L2 factors of two learnables a and b, checked as mc__check_factor does in
 * the order <a>LearnRateFactor, <b>LearnRateFactor, <a>L2Factor, <b>L2Factor (the prefixes
 * are the options' own: "Weight", "Bias"). */
mc_status mc__check_learn_factors(mc_ctx *ctx, const char *label, const char *a, double a_lr,
                                  double a_l2, const char *b, double b_lr, double b_l2);

/* Property display. Names are right-aligned to width w, as MATLAB does. */

/* NumInputs, InputNames, NumOutputs and OutputNames of a one-input layer (full display). */
void mc__describe_io(mc_text *t, int w);

/* "<name>: 12" for a count fixed so far, "<name>: 'auto'" for 0. */
void mc__describe_count(mc_text *t, int w, const char *name, int value);

/* The "Learnable Parameters" section: a's and b's names and array displays. */
void mc__describe_learnables(mc_text *t, int w, const mc_param *a, const mc_param *b);

/* The "Parameters and Initialization" and "Learn Rate and Regularization" sections of the full
 * display for learnables a and b: <name>Initializer for each, then the four factors with the
 * prefixes a_factor and b_factor in mc__check_learn_factors's order. */
void mc__describe_learning(mc_text *t, int w, const mc_param *a, const char *a_factor,
                           const mc__init *a_init, const mc_param *b, const char *b_factor,
                           const mc__init *b_init);

/* The whole display of a layer whose only properties are its name and its connections:
 * `summary` for MC_DESCRIBE_SUMMARY. */
void mc__describe_plain(const mc_layer *self, mc_text *t, mc_describe what, const char *summary);

/* The whole display of a layer of numbered inputs (addition, concatenation): Name, then
 * `Dim` when dim > 0, NumInputs and InputNames; NumOutputs and OutputNames in the full one. */
void mc__describe_multi_input(const mc_layer *self, mc_text *t, mc_describe what, int dim);

/* Makes *buf (of capacity *cap floats) hold at least `need` zeroed floats at setup: keeps it
 * when large enough, else replaces it. Returns MC_OK or MC_ERR_NOMEM without a message (the
 * caller words it); on failure *buf is unchanged. */
mc_status mc__grow_floats(mc_ctx *ctx, float **buf, size_t *cap, size_t need);

#endif
