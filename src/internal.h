/* SPDX-License-Identifier: MIT */
/* Internals shared by the library's files; not installed. */
#ifndef MINICNN_INTERNAL_H
#define MINICNN_INTERNAL_H

#include <stddef.h>

#include <minicnn/minicnn.h>

/* Zero-filled array of n elements of `size` bytes; NULL on overflow or failure (no message). */
void *mc__calloc(mc_ctx *ctx, size_t n, size_t size);

/* Copy of s ("" for NULL) through the context's allocator; NULL on failure. */
char *mc__strdup(mc_ctx *ctx, const char *s);

/* Records "out of memory while <what>" (with the bytes of the allocation that failed) and
 * returns MC_ERR_NOMEM. */
mc_status mc__nomem(mc_ctx *ctx, const char *what);

/* Checks, once per context and thread count, that OpenBLAS's per-thread work buffers fit in
 * the address space (src/blas_guard.c): MC_OK or MC_ERR_NOMEM with the sizes. */
mc_status mc__blas_reserve(mc_ctx *ctx);
int mc__ctx_blas_reserved(const mc_ctx *ctx);
void mc__ctx_set_blas_reserved(mc_ctx *ctx, int n);

/* mc_data_check_against_net without the labels: the observations' shape, and at least one. */
mc_status mc__data_check_shape(const mc_net *net, const mc_dataset *data, const char *what);

/* The closest of `candidates` (NULL-terminated) to `word` within a small edit distance, or
 * NULL: for "did you mean" hints. */
const char *mc__closest(const char *word, const char *const *candidates);

/* A hash index of names kept elsewhere: its slots hold indices i into the owner's array, whose
 * names name_of(owner, i) gives; sized once for `capacity` entries (linear probing, at most
 * half full). */
typedef const char *(*mc__name_fn)(const void *owner, int i);
typedef struct mc__name_index {
    int *slots; /* -1 where empty */
    size_t mask;
    mc__name_fn name_of;
    const void *owner;
} mc__name_index;

/* Returns MC_OK or MC_ERR_NOMEM (with a message naming `what`). */
mc_status mc__name_index_init(mc_ctx *ctx, mc__name_index *ix, size_t capacity, mc__name_fn name_of,
                              const void *owner, const char *what);
/* The entry whose name is the `len` bytes at `name`, or -1. */
int mc__name_index_find(const mc__name_index *ix, const char *name, size_t len);
/* Adds entry i (at most `capacity` entries in all). */
void mc__name_index_add(mc__name_index *ix, int i);
void mc__name_index_release(mc_ctx *ctx, mc__name_index *ix);

/* Fills the base of a freshly allocated layer. `name` is copied; NULL means "". Returns MC_OK
 * or MC_ERR_NOMEM (the caller then frees the layer memory itself). */
mc_status mc__layer_init(mc_layer *layer, mc_ctx *ctx, const mc_layer_vtable *vt, const char *name,
                         int num_inputs, const char *const *input_names);

/* "Layer 'gn1'" for a named layer, "groupNormalizationLayer (unnamed)" otherwise, from the name
 * and the vtable's kind, before the layer exists. Writes into buf and returns it. */
const char *mc__label(char *buf, size_t cap, const char *name, const char *kind);

/* "Layer 'gn1'" or, for an unnamed layer, "groupNormalizationLayer (unnamed)": how messages
 * name a layer. Writes into buf and returns it. */
const char *mc__layer_label(const mc_layer *layer, char *buf, size_t cap);
#define MC__LABEL_CAP 160

/* MC_OK, or MC_ERR_STATE naming the layer when it is an input layer whose normalization needs
 * statistics (zerocenter, zscore, rescale-*) that were never fitted (src/layers/input.c). */
mc_status mc__input_check_fitted(const mc_layer *layer);

/* A nonnegative finite learn-rate or L2 factor, or MC_ERR_INVALID naming `option`. */
mc_status mc__check_factor(mc_ctx *ctx, const char *label, const char *option, double value);

/* Initializers, resolved at create time from an mc_initializer. */
typedef enum mc__init_kind {
    MC__INIT_ONES = 1 << 0,
    MC__INIT_ZEROS = 1 << 1,
    MC__INIT_NARROW_NORMAL = 1 << 2,
    MC__INIT_GLOROT = 1 << 3,
    MC__INIT_HE = 1 << 4,
    MC__INIT_FUNCTION = 1 << 5
} mc__init_kind;

typedef struct mc__init {
    mc__init_kind kind;
    mc_init_fn fn;
    void *user;
} mc__init;

/* Resolves `init` for `option` ("ScaleInitializer") among the kinds in `allowed` (a mask of
 * MC__INIT_*), using `fallback` when init is all zero. Unknown names, or a name and a function
 * both, are MC_ERR_INVALID with a message naming the option and the names it accepts. */
mc_status mc__init_resolve(mc_ctx *ctx, const char *label, const char *option,
                           const mc_initializer *init, unsigned allowed, mc__init_kind fallback,
                           mc__init *out);

/* The MATLAB name of an initializer kind ("narrow-normal"); "function" for a callback. */
const char *mc__init_name(mc__init_kind kind);

/* Fills `values` (n) for a parameter of MATLAB size `size`; fan_in / fan_out are used by
 * glorot and he. A function's failure or non-finite output is reported with `label` and
 * `option`. Returns MC_OK or the failure's status. */
mc_status mc__init_fill(mc_ctx *ctx, const char *label, const char *option, const mc__init *init,
                        const mc_shape *size, double fan_in, double fan_out, float *values,
                        size_t n);

/* Learnables. */

/* Names p (a static string) and sets its learn-rate and L2 factors; value and gradient stay. */
void mc__param_init(mc_param *p, const char *name, double lr_factor, double l2_factor);

/* Copies `len` explicit initial values into a new p->value of storage shape `storage` (whose
 * element count is len) and MATLAB size `size`. Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc__param_set_values(mc_ctx *ctx, mc_param *p, const float *values, size_t len,
                               const mc_shape *storage, const mc_shape *size);

/* Readies p at setup: an existing value with the element count of `storage` is kept and
 * reshaped (explicit or learned values win over the initializer), otherwise a new value is
 * filled by `init` (fan_in / fan_out for glorot and he); the gradient is made zero if it does not
 * exist yet. The caller checks that an existing value's element count fits, so it can word the
 * error; a mismatch here is MC_ERR_SHAPE. On failure p is unchanged. */
mc_status mc__param_prepare(mc_ctx *ctx, const char *label, mc_param *p, const mc__init *init,
                            const char *init_option, const mc_shape *storage, const mc_shape *size,
                            double fan_in, double fan_out);

/* Explicit initial values of the learnable or buffer `what` ("Weights"): NULL is fine (empty);
 * 0 elements or a non-finite value is MC_ERR_INVALID naming `what` and the element. With
 * count > 0, a length other than count is MC_ERR_SHAPE, checked before the values: "... has 6
 * elements but <count_option> is 4". */
mc_status mc__check_initial_values(mc_ctx *ctx, const char *label, const char *what, const float *v,
                                   size_t len, const char *count_option, int count);

/* Appends "[]" for an empty array or "[1×1×20 single]" for one of MATLAB size `size`: MATLAB's
 * display of an array property. */
void mc__describe_array(mc_text *t, const mc_tensor *value, const mc_shape *size);

/* mc__describe_array for a learnable's value and MATLAB size. */
void mc__describe_param(mc_text *t, const mc_param *p);

/* Appends an initializer as MATLAB displays the property: 'glorot', or [function_handle]. */
void mc__describe_init(mc_text *t, const mc__init *init);

/* The backward pass of a maxPooling2dLayer whose input is the output of a ReLU that feeds
 * nothing else, fused with that ReLU's backward: din receives the gradient with respect to the
 * ReLU's input (the pooling's gradient where the ReLU's output, in[0], is > 0; 0 elsewhere),
 * saving the ReLU's own pass over memory. The network calls it; shapes as for the layer's
 * backward. */
void mc__maxpool_backward_relu(mc_layer *layer, const mc_tensor *in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din);

/* Frees p's value and gradient. */
void mc__param_release(mc_ctx *ctx, mc_param *p);

#endif
