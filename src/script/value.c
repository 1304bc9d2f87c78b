/* SPDX-License-Identifier: MIT */
/* Script values and MATLAB's display of them (format short, format loose). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_internal.h"

void sc_buf_put(sc_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = mc_alloc(b->ctx, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        if (b->len > 0)
            memcpy(p, b->p, b->len);
        mc_free(b->ctx, b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sc_buf_printf(sc_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        sc_buf_put(b, small, (size_t)n);
        return;
    }
    char *big = mc_alloc(b->ctx, (size_t)n + 1);
    if (big == NULL) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sc_buf_put(b, big, (size_t)n);
    mc_free(b->ctx, big);
}

sv *sv_new(mc_ctx *ctx, sv_kind kind)
{
    sv *v = mc__calloc(ctx, 1, sizeof *v);
    if (v != NULL) {
        v->refs = 1;
        v->kind = kind;
        v->nd = 2;
        v->dims[0] = v->dims[1] = 1;
        v->dims[2] = v->dims[3] = 1;
    }
    return v;
}

sv *sv_retain(sv *v)
{
    if (v != NULL)
        v->refs++;
    return v;
}

size_t sv_numel(const sv *v)
{
    size_t n = 1;
    for (int i = 0; i < v->nd; i++)
        n *= (size_t)v->dims[i];
    return n;
}

void sv_release(mc_ctx *ctx, sv *v)
{
    if (v == NULL || --v->refs > 0)
        return;
    mc_free(ctx, v->re);
    mc_free(ctx, v->text);
    if (v->items != NULL) {
        const size_t n =
            v->kind == SV_TABLE || v->kind == SV_STRUCT ? (size_t)v->n_cols : sv_numel(v);
        for (size_t i = 0; i < n; i++)
            sv_release(ctx, v->items[i]);
        mc_free(ctx, v->items);
    }
    mc_free(ctx, v->codes);
    for (int i = 0; v->cats != NULL && i < v->n_cats; i++)
        mc_free(ctx, v->cats[i]);
    mc_free(ctx, v->cats);
    if (v->recipes != NULL) {
        const size_t n = sv_numel(v);
        for (size_t i = 0; i < n; i++) {
            sv_recipe *r = &v->recipes[i];
            for (int k = 0; k < r->n; k++)
                sv_release(ctx, r->args[k]);
            mc_free(ctx, r->args);
            mc_free(ctx, r->arg_line);
            mc_free(ctx, r->arg_col);
        }
        mc_free(ctx, v->recipes);
    }
    if (v->kind == SV_DATASTORE)
        mc_image_folder_release(ctx, &v->folder);
    if (v->opts != NULL) {
        mc_free(ctx, v->opts->solver);
        mc_free(ctx, v->opts->checkpoint_path);
        sv_release(ctx, v->opts->validation);
        mc_free(ctx, v->opts);
    }
    mc_net_destroy(v->net);
    for (int i = 0; v->ops != NULL && i < v->n_ops; i++) {
        sv_release(ctx, v->ops[i].layers);
        mc_free(ctx, v->ops[i].src);
        mc_free(ctx, v->ops[i].dst);
    }
    mc_free(ctx, v->ops);
    for (int i = 0; v->names != NULL && i < v->n_cols; i++)
        mc_free(ctx, v->names[i]);
    mc_free(ctx, v->names);
    mc_free(ctx, v);
}

sv *sv_num(mc_ctx *ctx, int rows, int cols)
{
    sv *v = sv_new(ctx, SV_NUM);
    if (v == NULL)
        return NULL;
    v->dims[0] = rows;
    v->dims[1] = cols;
    const size_t n = (size_t)rows * (size_t)cols;
    v->re = mc__calloc(ctx, n > 0 ? n : 1, sizeof *v->re);
    if (v->re == NULL) {
        sv_release(ctx, v);
        return NULL;
    }
    return v;
}

sv *sv_scalar(mc_ctx *ctx, double x)
{
    sv *v = sv_num(ctx, 1, 1);
    if (v != NULL)
        v->re[0] = x;
    return v;
}

sv *sv_char(mc_ctx *ctx, const char *text, size_t len)
{
    sv *v = sv_new(ctx, SV_CHAR);
    if (v == NULL)
        return NULL;
    v->text = mc_alloc(ctx, len + 1);
    if (v->text == NULL) {
        sv_release(ctx, v);
        return NULL;
    }
    memcpy(v->text, text, len);
    v->text[len] = '\0';
    v->dims[0] = len > 0 ? 1 : 0;
    v->dims[1] = (int)len;
    return v;
}

bool sv_is_text(const sv *v)
{
    return v->kind == SV_CHAR || v->kind == SV_STRING;
}

const char *sv_class(const sv *v)
{
    switch (v->kind) {
    case SV_NUM:
        return v->logical ? "logical" : v->uint8 ? "uint8" : "double";
    case SV_CHAR:
        return "char";
    case SV_STRING:
        return "string";
    case SV_CELL:
        return "cell";
    case SV_CATEG:
        return "categorical";
    case SV_LAYERS:
        return "nnet.cnn.layer.Layer";
    case SV_DATASTORE:
        return "matlab.io.datastore.ImageDatastore";
    case SV_OPTIONS:
        return "nnet.cnn.TrainingOptionsSGDM";
    case SV_NET:
        return "SeriesNetwork";
    case SV_TABLE:
        return "table";
    case SV_STRUCT:
        return "struct";
    case SV_GRAPH:
        return "nnet.cnn.LayerGraph";
    }
    return "?";
}

const char *sv_kind_name(const sv *v)
{
    switch (v->kind) {
    case SV_NUM:
        return v->logical ? "a logical array" : "a numeric array";
    case SV_CHAR:
        return "a character vector";
    case SV_STRING:
        return "a string";
    case SV_CELL:
        return "a cell array";
    case SV_CATEG:
        return "a categorical array";
    case SV_LAYERS:
        return "a layer array";
    case SV_DATASTORE:
        return "an image datastore";
    case SV_OPTIONS:
        return "training options";
    case SV_NET:
        return "a trained network";
    case SV_TABLE:
        return "a table";
    case SV_STRUCT:
        return "a struct";
    case SV_GRAPH:
        return "a layer graph";
    }
    return "?";
}

/* ---- display ---- */

static void put_size(sc_buf *b, const sv *v)
{
    for (int i = 0; i < v->nd; i++)
        sc_buf_printf(b, i == 0 ? "%d" : "\xc3\x97%d", v->dims[i]);
}

static bool all_integers(const sv *v, double *maxabs)
{
    const size_t n = sv_numel(v);
    bool ints = true;
    *maxabs = 0;
    for (size_t i = 0; i < n; i++) {
        const double x = v->re[i];
        if (isfinite(x) && fabs(x) > *maxabs)
            *maxabs = fabs(x);
        if (isfinite(x) && x != floor(x))
            ints = false;
    }
    return ints;
}

/* One element in format short: integers as they are, else 4 decimals (or e-notation). */
static void format_elem(char *out, size_t cap, double x, bool ints, bool exp_form)
{
    if (isnan(x))
        snprintf(out, cap, "NaN");
    else if (isinf(x))
        snprintf(out, cap, x > 0 ? "Inf" : "-Inf");
    else if (ints)
        snprintf(out, cap, "%.0f", x);
    else if (exp_form)
        snprintf(out, cap, "%.4e", x);
    else
        snprintf(out, cap, "%.4f", x);
}

static void display_numeric(sc_buf *b, const char *name, const sv *v)
{
    const size_t n = sv_numel(v);
    if (n == 0) {
        sc_buf_printf(b, "%s =\n\n     []\n\n", name);
        return;
    }
    double maxabs;
    const bool ints = all_integers(v, &maxabs) || v->logical || v->uint8;
    const bool exp_form = !ints && (maxabs >= 1e5 || maxabs < 1e-3);
    sc_buf_printf(b, "%s =\n\n", name);
    if (v->logical || v->uint8) {
        if (n > 1 || v->nd > 2) {
            sc_buf_printf(b, "  ");
            put_size(b, v);
            sc_buf_printf(b, " %s array\n\n", v->logical ? "logical" : "uint8");
        } else {
            sc_buf_printf(b, "  %s\n\n", v->logical ? "logical" : "uint8");
        }
    }
    char cell[64];
    if (n == 1) {
        format_elem(cell, sizeof cell, v->re[0], ints, exp_form);
        const int len = (int)strlen(cell);
        const int width = v->logical || v->uint8 ? len + 3
                          : ints                 ? (len + 3 > 6 ? len + 3 : 6)
                          : exp_form             ? len + 3
                                                 : (len + 2 > 10 ? len + 2 : 10);
        sc_buf_printf(b, "%*s\n\n", width, cell);
        return;
    }
    /* the widest element sets every column's width */
    int w = 1;
    for (size_t i = 0; i < n; i++) {
        format_elem(cell, sizeof cell, v->re[i], ints, exp_form);
        if ((int)strlen(cell) > w)
            w = (int)strlen(cell);
    }
    const int width = v->logical || v->uint8 ? w + 3
                      : ints                 ? (w + 3 > 6 ? w + 3 : 6)
                                             : (w + 2 > 10 ? w + 2 : 10);
    const int rows = v->dims[0], cols = (int)(n / (size_t)rows);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            format_elem(cell, sizeof cell, v->re[(size_t)c * rows + r], ints, exp_form);
            sc_buf_printf(b, "%*s", width, cell);
        }
        sc_buf_put(b, "\n", 1);
    }
    sc_buf_put(b, "\n", 1);
}

static void display_categorical(sc_buf *b, const char *name, const sv *v)
{
    const size_t n = sv_numel(v);
    if (n == 1) {
        sc_buf_printf(b, "%s = \n\n  categorical\n\n     %s \n\n", name,
                      v->codes[0] < 0 ? "<undefined>" : v->cats[v->codes[0]]);
        return;
    }
    sc_buf_printf(b, "%s = \n\n  ", name);
    put_size(b, v);
    sc_buf_printf(b, " categorical array\n\n");
    int w = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = v->codes[i] < 0 ? "<undefined>" : v->cats[v->codes[i]];
        if ((int)strlen(c) > w)
            w = (int)strlen(c);
    }
    const int rows = v->dims[0], cols = (int)(n / (size_t)(rows > 0 ? rows : 1));
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const int code = v->codes[(size_t)c * rows + r];
            sc_buf_printf(b, "     %-*s", w, code < 0 ? "<undefined>" : v->cats[code]);
        }
        sc_buf_put(b, " \n", 2);
    }
    sc_buf_put(b, "\n", 1);
}

/* One table cell's text. */
static void table_cell(const sv *col, int r, char *out, size_t cap)
{
    if (col->kind == SV_CATEG) {
        const int code = col->codes[r];
        snprintf(out, cap, "%s", code < 0 ? "<undefined>" : col->cats[code]);
    } else if (col->kind == SV_NUM) {
        double m;
        const bool ints = all_integers(col, &m);
        format_elem(out, cap, col->re[r], ints, false);
    } else if (col->kind == SV_CELL && col->items[r]->kind == SV_CHAR) {
        snprintf(out, cap, "{'%s'}", col->items[r]->text);
    } else {
        snprintf(out, cap, "[%s]", sv_class(col));
    }
}

/* MATLAB's table display: each column as wide as its name or its widest cell, cells centred
 * (the extra blank after an odd split on the right), four blanks between columns. */
static void display_table(sc_buf *b, const char *name, const sv *v)
{
    const int rows = v->n_cols > 0 ? v->items[0]->dims[0] : 0;
    sc_buf_printf(b, "%s =\n\n  %d\xc3\x97%d table\n\n", name, rows, v->n_cols);
    int widths[32];
    char cell[256];
    const int nc = v->n_cols < 32 ? v->n_cols : 32;
    for (int c = 0; c < nc; c++) {
        widths[c] = (int)strlen(v->names[c]);
        for (int r = 0; r < rows; r++) {
            table_cell(v->items[c], r, cell, sizeof cell);
            if ((int)strlen(cell) > widths[c])
                widths[c] = (int)strlen(cell);
        }
    }
    for (int line = 0; line < 2; line++) {
        for (int c = 0; c < nc; c++) {
            const int len = (int)strlen(v->names[c]), left = (widths[c] - len) / 2;
            sc_buf_printf(b, "    %*s", left, "");
            for (int k = 0; k < len; k++)
                sc_buf_put(b, line == 0 ? v->names[c] + k : "_", 1);
            sc_buf_printf(b, "%*s", widths[c] - len - left, "");
        }
        /* MATLAB ends the header lines at the last name */
        while (b->len > 0 && b->p[b->len - 1] == ' ')
            b->p[--b->len] = '\0';
        sc_buf_put(b, "\n", 1);
    }
    sc_buf_put(b, "\n", 1);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < nc; c++) {
            table_cell(v->items[c], r, cell, sizeof cell);
            const int len = (int)strlen(cell), left = (widths[c] - len) / 2;
            sc_buf_printf(b, "    %*s%s%*s", left, "", cell, widths[c] - len - left, "");
        }
        sc_buf_put(b, "\n", 1);
    }
    sc_buf_put(b, "\n", 1);
}

static void display_cell(sc_buf *b, const char *name, const sv *v)
{
    const size_t n = sv_numel(v);
    sc_buf_printf(b, "%s =\n\n  ", name);
    put_size(b, v);
    sc_buf_printf(b, " cell array\n\n");
    const int rows = v->dims[0], cols = (int)(n / (size_t)(rows > 0 ? rows : 1));
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const sv *it = v->items[(size_t)c * rows + r];
            if (it->kind == SV_CHAR)
                sc_buf_printf(b, "    {'%s'}", it->text);
            else if (it->kind == SV_NUM && sv_numel(it) == 1)
                sc_buf_printf(b, "    {[%g]}", it->re[0]);
            else
                sc_buf_printf(b, "    {1\xc3\x97%d %s}", (int)sv_numel(it), sv_class(it));
        }
        sc_buf_put(b, "\n", 1);
    }
    sc_buf_put(b, "\n", 1);
}

static void display_datastore(sc_buf *b, const char *name, const sv *v)
{
    const mc_image_folder *f = &v->folder;
    sc_buf_printf(b, "%s = \n\n  ImageDatastore with properties:\n\n", name);
    sc_buf_printf(b, "                       Files: {\n");
    const int show = f->num_files < 3 ? f->num_files : 3;
    for (int i = 0; i < show; i++)
        sc_buf_printf(b, "                              '%s'%s\n", f->files[i],
                      i + 1 < f->num_files ? ";" : "");
    if (f->num_files > show)
        sc_buf_printf(b, "                               ... and %d more\n", f->num_files - show);
    sc_buf_printf(b, "                              }\n");
    sc_buf_printf(b, "                      Labels: [");
    for (int i = 0; i < show; i++)
        sc_buf_printf(b, "%s%s", i ? "; " : "", f->classes[f->labels[i]]);
    if (f->num_files > show)
        sc_buf_printf(b, " ... and %d more categorical]\n", f->num_files - show);
    else
        sc_buf_printf(b, "]\n");
    sc_buf_printf(b, "    ReadFcn: @readDatastoreImage\n\n");
}

/* A struct's fields, names right-aligned: scalars and text as they are, others as
 * [size class]. */
static void display_struct(sc_buf *b, const char *name, const sv *v)
{
    sc_buf_printf(b, "%s = \n\n  struct with fields:\n\n", name);
    int w = 0;
    for (int k = 0; k < v->n_cols; k++)
        w = (int)strlen(v->names[k]) > w ? (int)strlen(v->names[k]) : w;
    for (int k = 0; k < v->n_cols; k++) {
        const sv *f = v->items[k];
        sc_buf_printf(b, "    %*s: ", w, v->names[k]);
        if (f->kind == SV_NUM && sv_numel(f) == 1 && !f->logical) {
            char cell[64];
            double m;
            format_elem(cell, sizeof cell, f->re[0], all_integers(f, &m), false);
            sc_buf_printf(b, "%s\n", cell);
        } else if (f->kind == SV_CHAR) {
            sc_buf_printf(b, "'%s'\n", f->text);
        } else {
            sc_buf_put(b, "[", 1);
            put_size(b, f);
            sc_buf_printf(b, " %s]\n", sv_class(f));
        }
    }
    sc_buf_put(b, "\n", 1);
}

char *sv_display(mc_ctx *ctx, const char *name, const sv *v)
{
    sc_buf b = {ctx, NULL, 0, 0, false};
    switch (v->kind) {
    case SV_NUM:
        display_numeric(&b, name, v);
        break;
    case SV_CHAR:
        sc_buf_printf(&b, "%s =\n\n    '%s'\n\n", name, v->text);
        break;
    case SV_STRING:
        sc_buf_printf(&b, "%s = \n\n    \"%s\"\n\n", name, v->text);
        break;
    case SV_CELL:
        display_cell(&b, name, v);
        break;
    case SV_CATEG:
        display_categorical(&b, name, v);
        break;
    case SV_TABLE:
        display_table(&b, name, v);
        break;
    case SV_STRUCT:
        display_struct(&b, name, v);
        break;
    case SV_DATASTORE:
        display_datastore(&b, name, v);
        break;
    case SV_OPTIONS:
        sc_buf_printf(&b, "%s = \n\n  TrainingOptions%s with properties:\n\n", name,
                      v->opts->solver);
        sc_buf_printf(&b,
                      "    InitialLearnRate: %g\n           MaxEpochs: %d\n"
                      "       MiniBatchSize: %d\n\n",
                      v->opts->o.initial_learn_rate, v->opts->o.max_epochs,
                      v->opts->o.mini_batch_size);
        break;
    case SV_GRAPH:
    case SV_NET:
    case SV_LAYERS: {
        char *text = NULL;
        if (v->kind == SV_NET && mc_net_describe(v->net, &text) == MC_OK) {
            sc_buf_printf(&b,
                          "%s = \n\n  SeriesNetwork with properties:\n\n"
                          "    Layers: [%d\xc3\x97"
                          "1 nnet.cnn.layer.Layer]\n\n",
                          name, mc_net_num_layers(v->net));
            mc_free(ctx, text);
        } else {
            sc_buf_printf(&b, "%s = \n\n", name);
        }
        break;
    }
    }
    if (b.failed) {
        mc_free(ctx, b.p);
        return NULL;
    }
    return b.p;
}
