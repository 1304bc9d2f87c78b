/* SPDX-License-Identifier: MIT */
/* Shared by the network-file interpreter (netfile.c) and the layer registry
 * (netfile_layers.c). */
#ifndef MINICNN_NETFILE_INTERNAL_H
#define MINICNN_NETFILE_INTERNAL_H

#include <minicnn/minicnn.h>
#include <minicnn/netfile.h>

#include "../internal.h"

typedef enum nf_kind {
    NF_NONE = 0,
    NF_NUMBERS, /* a scalar or a vector */
    NF_STRING,
    NF_CELL,   /* cell array of strings */
    NF_LAYERS, /* a layer array */
    NF_GRAPH   /* a layer graph */
} nf_kind;

typedef struct nf_value {
    nf_kind kind;
    int line, col; /* where the value starts */
    double *nums;
    int count; /* numbers, cell strings or layers */
    int cap;   /* room in nums, cells or layers while [...] or {...} grows; 0: count */
    char *str;
    char **cells;
    mc_layer **layers;
    mc_net *graph;
} nf_value;

/* A name-value pair of a call. */
typedef struct nf_option {
    const char *name;
    int line, col;
    nf_value *value;
    bool used;
} nf_option;

/* A call of a layer function, with what it needs to report errors. */
typedef struct nf_call {
    mc_ctx *ctx;
    const char *file;
    const char *fn;
    int line, col;
    nf_value *pos; /* positional arguments */
    int n_pos;
    nf_option *opts;
    int n_opts;
} nf_call;

/* Records "file:line:col: message" and returns MC_ERR_FORMAT. */
mc_status nf_fail_at(const nf_call *c, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Registry: a layer function, how many positional arguments it takes (min..max), and its
 * builder, which reads c's arguments and creates the layer. */
typedef struct nf_layer_fn {
    const char *name;
    int min_pos, max_pos;
    mc_status (*build)(nf_call *c, mc_layer **out);
} nf_layer_fn;

/* Builds a layer by calling lf on evaluated arguments (positional ones, then name-value pairs),
 * as a network file's call at file:line:col does: the script interpreter (src/script) builds its
 * layers through it. The arguments stay the caller's. Returns MC_OK, MC_ERR_FORMAT (with
 * "file:line:col: ..."), a constructor's status with its message located, or MC_ERR_NOMEM. */
mc_status nf_layer_build(mc_ctx *ctx, const char *file, int line, int col, const nf_layer_fn *lf,
                         nf_value *args, int n, mc_layer **out);

/* The layer function named `name` (exact case, as MATLAB), or NULL. */
const nf_layer_fn *nf_find_layer_fn(const char *name);

/* A name of MATLAB's Deep Learning Toolbox, a layer or a function, with what to do instead
 * (or NULL). */
typedef struct nf_matlab_name {
    const char *name;
    bool is_layer;
    const char *hint;
} nf_matlab_name;

/* The MATLAB name `name` (netfile_matlab.c), or NULL. Asked only when the layer registry and
 * the graph functions do not know the name. */
const nf_matlab_name *nf_find_matlab_name(const char *name);

/* The i-th MATLAB name of the table, NULL past the last. */
const char *nf_matlab_name_at(int i);

/* Parses `expr`, one call of the function `fn` in MATLAB syntax: fn, fn() or fn(arguments),
 * with name-value pairs as 'Name',value or Name=value (the name then becomes a string value).
 * *args (n values, freed with nf_free_args) are the arguments in order. A function handle
 * given as an argument fails with a message naming the option and saying `handle_hint`.
 * Messages are "file:line:col: ..." (MC_ERR_FORMAT); MC_ERR_NOMEM. */
mc_status nf_parse_call(mc_ctx *ctx, const char *expr, const char *file, const char *fn,
                        const char *handle_hint, nf_value **args, int *n);
void nf_free_args(mc_ctx *ctx, nf_value *args, int n);

#endif
