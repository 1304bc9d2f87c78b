/* SPDX-License-Identifier: MIT */
/* The script interpreter's parts: the syntax tree (parse.c), values and MATLAB's display of
 * them (value.c), and the checker and evaluator with the functions scripts call (eval.c). */
#ifndef MINICNN_SCRIPT_INTERNAL_H
#define MINICNN_SCRIPT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/minicnn.h>
#include <minicnn/script.h>

#include "../internal.h"
#include "../io/netfile_internal.h"

/* ---- Syntax tree ---- */

typedef enum ex_kind {
    EX_NUM,
    EX_CHAR,   /* '...' */
    EX_STRING, /* "..." */
    EX_IDENT,
    EX_CALL,   /* base(args): a function call or indexing */
    EX_BRACE,  /* base{args} */
    EX_FIELD,  /* base.name */
    EX_BINARY, /* a op b */
    EX_UNARY,  /* op a */
    EX_MATRIX, /* [a b; c d]: items, with rows */
    EX_CELL,   /* {a, b} */
    EX_RANGE,  /* a:b or a:step:b (step in c) */
    EX_COLON,  /* a lone ':' index */
    EX_END     /* end inside an index */
} ex_kind;

typedef enum ex_op {
    OP_ADD = 1,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_EMUL,
    OP_EDIV,
    OP_POW,
    OP_EPOW,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
    OP_ANDAND,
    OP_OROR,
    OP_NEG,
    OP_NOT,
    OP_PLUS
} ex_op;

typedef struct expr expr;
struct expr {
    ex_kind kind;
    int line, col;
    size_t start, end; /* the expression's bytes in the source */
    double num;
    char *str; /* identifier, field or the text of a string */
    ex_op op;
    expr *a, *b, *c;
    expr **items; /* arguments, or the elements of a matrix or cell */
    int n;
    int *row_of; /* EX_MATRIX, EX_CELL: the row of each item */
    int rows;
    int depth; /* of the tree below it, bounded so that the evaluator's recursion is */
};

typedef enum st_kind {
    ST_EXPR,   /* an expression, or a call whose value (if any) becomes ans */
    ST_ASSIGN, /* outs = rhs, one or more outputs */
    ST_FOR,    /* for var = rhs, body, end */
    ST_COMMAND /* command syntax: name word word (clc, close all, clear all, format compact) */
} st_kind;

typedef struct stmt stmt;
struct stmt {
    st_kind kind;
    int line, col;
    size_t start, end; /* the statement's bytes, for messages */
    bool display;      /* not ended by ';' */
    char **outs;       /* ST_ASSIGN: names ("" for ~); ST_FOR: the variable; ST_COMMAND: words */
    int n_outs;
    expr *rhs;
    stmt **body; /* ST_FOR */
    int n_body;
    bool skip; /* display-only: skipped with a note */
};

struct mc_script {
    mc_ctx *ctx;
    char *file;
    char *text;
    size_t len;
    stmt **stmts;
    int n;
    bool ran;
};

/* Parses the text into s->stmts; MC_ERR_FORMAT with file:line:col. */
mc_status sc_parse(mc_script *s);
void sc_stmt_free(mc_ctx *ctx, stmt *st);
void sc_expr_free(mc_ctx *ctx, expr *e);

/* "file:line:col: `statement`: why" into the context; returns status. */
mc_status sc_fail(const mc_script *s, const stmt *st, int line, int col, mc_status status,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* ---- Values ---- */

typedef enum sv_kind {
    SV_NUM,       /* double array, up to 4 dims, column-major; logical or uint8 flags */
    SV_CHAR,      /* char row vector */
    SV_STRING,    /* string scalar */
    SV_CELL,      /* cell array */
    SV_CATEG,     /* categorical array */
    SV_LAYERS,    /* a Layer array: recipes, built afresh where a network needs them */
    SV_DATASTORE, /* ImageDatastore */
    SV_OPTIONS,   /* TrainingOptions */
    SV_NET,       /* a trained SeriesNetwork / DAGNetwork */
    SV_TABLE,     /* a table of named columns */
    SV_STRUCT,    /* a struct of named fields (load's output); names and items as a table's */
    SV_GRAPH      /* a LayerGraph: the calls that made it, replayed for each network */
} sv_kind;

typedef struct sv sv;

/* A layer call, kept to build the layer again for each network that uses it. */
typedef struct sv_recipe {
    const nf_layer_fn *fn;
    int line, col;
    sv **args;
    int *arg_line, *arg_col;
    int n;
} sv_recipe;

/* One step of a layer graph: layers added (connected one after another), or a connection
 * made or removed. */
typedef struct sv_graph_op {
    int kind; /* 0 add, 1 connect, 2 disconnect */
    sv *layers;
    char *src, *dst;
    int line, col; /* of the call */
} sv_graph_op;

typedef struct sv_options {
    mc_train_options o;
    char *solver;
    bool verbose, plots;
    sv *validation; /* a datastore, or NULL */
    char *checkpoint_path;
} sv_options;

struct sv {
    int refs;
    sv_kind kind;
    int nd, dims[4];
    bool logical, uint8;
    double *re;  /* SV_NUM */
    char *text;  /* SV_CHAR, SV_STRING */
    sv **items;  /* SV_CELL; SV_TABLE: the columns */
    int *codes;  /* SV_CATEG: 0-based category per element, -1 undefined */
    char **cats; /* SV_CATEG */
    int n_cats;
    sv_recipe *recipes;     /* SV_LAYERS */
    mc_image_folder folder; /* SV_DATASTORE */
    sv_options *opts;       /* SV_OPTIONS */
    mc_net *net;            /* SV_NET */
    sv_graph_op *ops;       /* SV_GRAPH */
    int n_ops;
    char **names; /* SV_TABLE: column names */
    int n_cols;
};

sv *sv_new(mc_ctx *ctx, sv_kind kind);
sv *sv_retain(sv *v);
void sv_release(mc_ctx *ctx, sv *v);
size_t sv_numel(const sv *v);
/* A rows x cols double array (zeros); NULL when out of memory. */
sv *sv_num(mc_ctx *ctx, int rows, int cols);
sv *sv_scalar(mc_ctx *ctx, double x);
sv *sv_char(mc_ctx *ctx, const char *text, size_t len);
const char *sv_kind_name(const sv *v);
/* MATLAB's class name: double, char, cell, categorical, ... */
const char *sv_class(const sv *v);
bool sv_is_text(const sv *v);

/* MATLAB's display of `name = value` (format loose) into a heap string (mc_free), NULL when out
 * of memory. */
char *sv_display(mc_ctx *ctx, const char *name, const sv *v);

/* The variables of a MAT-file (libmatio): their names (each and the array mc_free), or with
 * their values (sv_release each). MC_ERR_IO (cannot open, naming the path), MC_ERR_FORMAT (not
 * a MAT-file, or a variable of a class minicnn does not load, naming it) or MC_ERR_NOMEM. */
mc_status sc_mat_names(mc_ctx *ctx, const char *path, char ***names, int *n);
mc_status sc_mat_load(mc_ctx *ctx, const char *path, char ***names, sv ***values, int *n);

/* printf into a growing heap buffer. */
typedef struct sc_buf {
    mc_ctx *ctx;
    char *p;
    size_t len, cap;
    bool failed;
} sc_buf;
void sc_buf_printf(sc_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sc_buf_put(sc_buf *b, const char *s, size_t n);

#endif
