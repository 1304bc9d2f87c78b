/* SPDX-License-Identifier: MIT */
/* The script checker and evaluator, and the MATLAB functions scripts call. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script_internal.h"

typedef struct var {
    char *name;
    sv *value;
} var;

typedef struct ev {
    mc_script *s;
    mc_ctx *ctx;
    const mc_script_host *host;
    var *vars;
    int n_vars, cap_vars;
    const stmt *st; /* the statement being checked or run */
    bool checking;
    /* checking: the names assigned so far */
    char **known;
    int n_known, cap_known;
    char **owned; /* names from MAT-files listed while checking */
    int n_owned;
    const sv *end_base; /* the value 'end' stands in while its index is evaluated */
    int end_dim, end_ndims;
} ev;

static mc_status fail_at(ev *E, const expr *e, mc_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static mc_status fail_at(ev *E, const expr *e, mc_status status, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const int line = e != NULL ? e->line : E->st->line, col = e != NULL ? e->col : E->st->col;
    return sc_fail(E->s, E->st, line, col, status, "%s", msg);
}

static mc_status nomem(ev *E)
{
    return mc__nomem(E->ctx, "running a script");
}

/* A library call's failure, located at e; a message that is already "file:line:col: why" (a
 * layer constructor's, through the network-file code) keeps its place. */
static mc_status lib_fail(ev *E, const expr *e, mc_status st)
{
    if (st == MC_OK || st == MC_ERR_NOMEM)
        return st;
    char msg[700];
    snprintf(msg, sizeof msg, "%s", mc_ctx_message(E->ctx));
    const size_t fl = strlen(E->s->file);
    int line = e != NULL ? e->line : E->st->line, col = e != NULL ? e->col : E->st->col;
    const char *why = msg;
    if (strncmp(msg, E->s->file, fl) == 0 && msg[fl] == ':') {
        int l, c, used = 0;
        if (sscanf(msg + fl, ":%d:%d: %n", &l, &c, &used) == 2 && used > 0) {
            line = l;
            col = c;
            why = msg + fl + used;
        }
    }
    return sc_fail(E->s, E->st, line, col, st, "%s", why);
}

/* ---- variables ---- */

static var *find_var(ev *E, const char *name)
{
    for (int i = 0; i < E->n_vars; i++)
        if (strcmp(E->vars[i].name, name) == 0)
            return &E->vars[i];
    return NULL;
}

/* Sets name to v (taking v). */
static mc_status set_var(ev *E, const char *name, sv *v)
{
    var *x = find_var(E, name);
    if (x != NULL) {
        sv_release(E->ctx, x->value);
        x->value = v;
        return MC_OK;
    }
    if (E->n_vars == E->cap_vars) {
        const int cap = E->cap_vars ? 2 * E->cap_vars : 32;
        var *grown = mc_alloc(E->ctx, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            sv_release(E->ctx, v);
            return nomem(E);
        }
        if (E->n_vars > 0)
            memcpy(grown, E->vars, (size_t)E->n_vars * sizeof *grown);
        mc_free(E->ctx, E->vars);
        E->vars = grown;
        E->cap_vars = cap;
    }
    char *copy = mc__strdup(E->ctx, name);
    if (copy == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    E->vars[E->n_vars].name = copy;
    E->vars[E->n_vars].value = v;
    E->n_vars++;
    return MC_OK;
}

static void clear_vars(ev *E)
{
    for (int i = 0; i < E->n_vars; i++) {
        mc_free(E->ctx, E->vars[i].name);
        sv_release(E->ctx, E->vars[i].value);
    }
    E->n_vars = 0;
}

static bool is_known(ev *E, const char *name)
{
    for (int i = 0; i < E->n_known; i++)
        if (strcmp(E->known[i], name) == 0)
            return true;
    return false;
}

static mc_status add_known(ev *E, const char *name)
{
    if (name[0] == '\0' || is_known(E, name))
        return MC_OK;
    if (E->n_known == E->cap_known) {
        const int cap = E->cap_known ? 2 * E->cap_known : 32;
        char **grown = mc_alloc(E->ctx, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return nomem(E);
        if (E->n_known > 0)
            memcpy(grown, E->known, (size_t)E->n_known * sizeof *grown);
        mc_free(E->ctx, E->known);
        E->known = grown;
        E->cap_known = cap;
    }
    E->known[E->n_known++] = (char *)name; /* borrowed from the syntax tree */
    return MC_OK;
}

/* ---- helpers on values ---- */

static bool is_scalar_num(const sv *v)
{
    return v->kind == SV_NUM && sv_numel(v) == 1;
}

static mc_status want_scalar(ev *E, const expr *e, const sv *v, const char *what, double *out)
{
    *out = 0;
    if (!is_scalar_num(v))
        return fail_at(E, e, MC_ERR_INVALID, "%s must be a number, not %s", what, sv_kind_name(v));
    *out = v->re[0];
    return MC_OK;
}

static mc_status want_text(ev *E, const expr *e, const sv *v, const char *what, const char **out)
{
    *out = "";
    if (!sv_is_text(v))
        return fail_at(E, e, MC_ERR_INVALID, "%s must be a character vector or string, not %s",
                       what, sv_kind_name(v));
    *out = v->text;
    return MC_OK;
}

static bool truthy(const sv *v)
{
    if (v->kind != SV_NUM)
        return false;
    const size_t n = sv_numel(v);
    for (size_t i = 0; i < n; i++)
        if (v->re[i] == 0 || isnan(v->re[i]))
            return false;
    return n > 0;
}

static sv *new_categorical(mc_ctx *ctx, int n, char *const *cats, int n_cats)
{
    sv *v = sv_new(ctx, SV_CATEG);
    if (v == NULL)
        return NULL;
    v->dims[0] = n;
    v->dims[1] = 1;
    v->codes = mc__calloc(ctx, n > 0 ? (size_t)n : 1, sizeof *v->codes);
    v->cats = mc__calloc(ctx, n_cats > 0 ? (size_t)n_cats : 1, sizeof *v->cats);
    if (v->codes == NULL || v->cats == NULL) {
        sv_release(ctx, v);
        return NULL;
    }
    for (int k = 0; k < n_cats; k++) {
        v->cats[k] = mc__strdup(ctx, cats[k]);
        if (v->cats[k] == NULL) {
            sv_release(ctx, v);
            return NULL;
        }
        v->n_cats = k + 1;
    }
    v->n_cats = n_cats;
    return v;
}

static sv *new_cell(mc_ctx *ctx, int rows, int cols)
{
    sv *v = sv_new(ctx, SV_CELL);
    if (v == NULL)
        return NULL;
    v->dims[0] = rows;
    v->dims[1] = cols;
    const size_t n = (size_t)rows * (size_t)cols;
    v->items = mc__calloc(ctx, n > 0 ? n : 1, sizeof *v->items);
    if (v->items == NULL) {
        v->dims[0] = v->dims[1] = 0;
        sv_release(ctx, v);
        return NULL;
    }
    return v;
}

/* ---- functions ---- */

typedef struct bcall {
    ev *E;
    const expr *call; /* the call (for its location) */
    sv **args;
    int n;
    sv **outs;
    int nout;
} bcall;

/* Where argument i was written. */
static const expr *arg_at(const bcall *c, int i)
{
    return c->call != NULL && c->call->kind == EX_CALL && i < c->call->n ? c->call->items[i]
                                                                         : c->call;
}

typedef mc_status (*builtin_fn)(bcall *c);

enum { BI_DISPLAY = 1u, BI_NOVALUE = 2u };

typedef struct builtin {
    const char *name;
    int min_args, max_args, max_outs;
    builtin_fn fn;
    unsigned flags;
} builtin;

static mc_status b_matlabroot(bcall *c)
{
    const char *root = c->E->host != NULL && c->E->host->matlabroot != NULL ? c->E->host->matlabroot
                                                                            : "matlabroot";
    return (c->outs[0] = sv_char(c->E->ctx, root, strlen(root))) ? MC_OK : nomem(c->E);
}

static mc_status b_fullfile(bcall *c)
{
    sc_buf b = {c->E->ctx, NULL, 0, 0, false};
    for (int i = 0; i < c->n; i++) {
        const char *part;
        mc_status st = want_text(c->E, arg_at(c, i), c->args[i], "each part of fullfile", &part);
        if (st != MC_OK) {
            mc_free(c->E->ctx, b.p);
            return st;
        }
        if (part[0] == '\0')
            continue;
        if (b.len > 0 && b.p[b.len - 1] != '/')
            sc_buf_put(&b, "/", 1);
        while (b.len > 0 && part[0] == '/' && part[1] != '\0')
            part++;
        sc_buf_put(&b, part, strlen(part));
    }
    if (b.failed)
        return nomem(c->E);
    c->outs[0] = sv_char(c->E->ctx, b.p != NULL ? b.p : "", b.len);
    mc_free(c->E->ctx, b.p);
    return c->outs[0] != NULL ? MC_OK : nomem(c->E);
}

/* Name-value pairs from argument `first` on: calls fn for each. */
typedef mc_status (*option_fn)(bcall *c, const char *name, int i, void *user);

static mc_status each_option(bcall *c, int first, const char *fn_name, option_fn fn, void *user)
{
    if ((c->n - first) % 2 != 0)
        return fail_at(c->E, arg_at(c, c->n - 1), MC_ERR_INVALID,
                       "%s: options come in name-value pairs; this one has no value", fn_name);
    for (int i = first; i < c->n; i += 2) {
        const char *name;
        mc_status st = want_text(c->E, arg_at(c, i), c->args[i], "an option name", &name);
        if (st == MC_OK)
            st = fn(c, name, i, user);
        if (st != MC_OK)
            return st;
    }
    return MC_OK;
}

static const char *const datastore_options[] = {"IncludeSubfolders", "LabelSource",
                                                "FileExtensions", NULL};

static mc_status datastore_option(bcall *c, const char *name, int i, void *user)
{
    (void)user;
    const sv *v = c->args[i + 1];
    const expr *at = arg_at(c, i + 1);
    if (strcasecmp(name, "IncludeSubfolders") == 0) {
        if (!truthy(v))
            return fail_at(c->E, at, MC_ERR_INVALID,
                           "imageDatastore: minicnn reads a folder of class folders: "
                           "'IncludeSubfolders' must be true");
        return MC_OK;
    }
    if (strcasecmp(name, "LabelSource") == 0) {
        const char *t;
        mc_status st = want_text(c->E, at, v, "'LabelSource'", &t);
        if (st == MC_OK && strcasecmp(t, "foldernames") != 0)
            st = fail_at(c->E, at, MC_ERR_INVALID,
                         "imageDatastore: minicnn labels images by their folders: "
                         "'LabelSource' must be 'foldernames', not '%s'",
                         t);
        return st;
    }
    if (strcasecmp(name, "FileExtensions") == 0) {
        const size_t n = v->kind == SV_CELL ? sv_numel(v) : 1;
        for (size_t k = 0; k < n; k++) {
            const sv *x = v->kind == SV_CELL ? v->items[k] : v;
            const char *t;
            mc_status st = want_text(c->E, at, x, "'FileExtensions'", &t);
            if (st == MC_OK && strcasecmp(t, ".png") != 0)
                st = fail_at(c->E, at, MC_ERR_INVALID,
                             "imageDatastore: minicnn reads PNG images only; 'FileExtensions' "
                             "'%s' is not supported",
                             t);
            if (st != MC_OK)
                return st;
        }
        return MC_OK;
    }
    const char *near = mc__closest(name, datastore_options);
    return fail_at(c->E, arg_at(c, i), MC_ERR_INVALID,
                   "imageDatastore: unknown option '%s'%s%s%s (minicnn knows IncludeSubfolders, "
                   "LabelSource and FileExtensions)",
                   name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static mc_status b_imageDatastore(bcall *c)
{
    ev *E = c->E;
    const char *dir;
    mc_status st = want_text(E, arg_at(c, 0), c->args[0], "the location", &dir);
    bool subfolders = false, labels = false;
    for (int i = 1; st == MC_OK && i + 1 < c->n; i += 2) {
        if (sv_is_text(c->args[i]) && strcasecmp(c->args[i]->text, "IncludeSubfolders") == 0)
            subfolders = true;
        if (sv_is_text(c->args[i]) && strcasecmp(c->args[i]->text, "LabelSource") == 0)
            labels = true;
    }
    if (st == MC_OK)
        st = each_option(c, 1, "imageDatastore", datastore_option, NULL);
    if (st == MC_OK && (!subfolders || !labels))
        st = fail_at(E, c->call, MC_ERR_INVALID,
                     "imageDatastore: minicnn reads a folder of class folders, labelled by "
                     "them: add 'IncludeSubfolders',true,'LabelSource','foldernames'");
    if (st != MC_OK)
        return st;
    sv *v = sv_new(E->ctx, SV_DATASTORE);
    if (v == NULL)
        return nomem(E);
    st = mc_image_folder_scan(E->ctx, dir, &v->folder);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return lib_fail(E, arg_at(c, 0), st);
    }
    v->dims[0] = v->dims[1] = 1;
    c->outs[0] = v;
    return MC_OK;
}

static mc_status want_datastore(ev *E, const expr *e, const sv *v, const char *fn)
{
    if (v->kind != SV_DATASTORE)
        return fail_at(E, e, MC_ERR_INVALID, "%s expects an image datastore, not %s", fn,
                       sv_kind_name(v));
    return MC_OK;
}

static mc_status b_countEachLabel(bcall *c)
{
    ev *E = c->E;
    mc_status st = want_datastore(E, arg_at(c, 0), c->args[0], "countEachLabel");
    if (st != MC_OK)
        return st;
    const mc_image_folder *f = &c->args[0]->folder;
    sv *t = sv_new(E->ctx, SV_TABLE);
    if (t == NULL)
        return nomem(E);
    t->items = mc__calloc(E->ctx, 2, sizeof *t->items);
    t->names = mc__calloc(E->ctx, 2, sizeof *t->names);
    if (t->items == NULL || t->names == NULL) {
        sv_release(E->ctx, t);
        return nomem(E);
    }
    t->n_cols = 2;
    t->names[0] = mc__strdup(E->ctx, "Label");
    t->names[1] = mc__strdup(E->ctx, "Count");
    t->items[0] = new_categorical(E->ctx, f->num_classes, f->classes, f->num_classes);
    t->items[1] = sv_num(E->ctx, f->num_classes, 1);
    if (t->names[0] == NULL || t->names[1] == NULL || t->items[0] == NULL || t->items[1] == NULL) {
        sv_release(E->ctx, t);
        return nomem(E);
    }
    for (int k = 0; k < f->num_classes; k++)
        t->items[0]->codes[k] = k;
    for (int i = 0; i < f->num_files; i++)
        t->items[1]->re[f->labels[i]] += 1;
    t->dims[0] = f->num_classes;
    t->dims[1] = 2;
    c->outs[0] = t;
    return MC_OK;
}

/* An index argument: a positive whole number at most n. */
static mc_status want_index(ev *E, const expr *e, const sv *v, int n, int *out)
{
    double x = 0;
    *out = 0;
    mc_status st = want_scalar(E, e, v, "an index", &x);
    if (st != MC_OK)
        return st;
    if (!(x >= 1 && x == floor(x)))
        return fail_at(E, e, MC_ERR_INVALID,
                       "index must be a positive whole number, not %g (MATLAB indices start "
                       "at 1)",
                       x);
    if (x > n)
        return fail_at(E, e, MC_ERR_INVALID, "index %g exceeds the %d elements", x, n);
    *out = (int)x - 1;
    return MC_OK;
}

/* The size and channels of a PNG file, from its header (libpng reads the pixels later). */
static mc_status png_size(ev *E, const expr *e, const char *path, int *h, int *w, int *ch)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail_at(E, e, MC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    unsigned char head[26];
    const size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got < sizeof head || memcmp(head, sig, 8) != 0 || memcmp(head + 12, "IHDR", 4) != 0)
        return fail_at(E, e, MC_ERR_FORMAT, "'%s' is not a PNG file", path);
    *w = (int)((unsigned)head[16] << 24 | (unsigned)head[17] << 16 | (unsigned)head[18] << 8 |
               head[19]);
    *h = (int)((unsigned)head[20] << 24 | (unsigned)head[21] << 16 | (unsigned)head[22] << 8 |
               head[23]);
    const int color = head[25];
    *ch = color == 0 || color == 4 ? 1 : 3;
    if (*w <= 0 || *h <= 0 || *w > MC_PNG_MAX_SIDE || *h > MC_PNG_MAX_SIDE)
        return fail_at(E, e, MC_ERR_FORMAT, "'%s' has a size PNG readers refuse (%dx%d)", path, *w,
                       *h);
    return MC_OK;
}

static mc_status b_readimage(bcall *c)
{
    ev *E = c->E;
    mc_status st = want_datastore(E, arg_at(c, 0), c->args[0], "readimage");
    const mc_image_folder *f = &c->args[0]->folder;
    int i = 0, h = 0, w = 0, ch = 0;
    if (st == MC_OK)
        st = want_index(E, arg_at(c, 1), c->args[1], f->num_files, &i);
    if (st == MC_OK)
        st = png_size(E, arg_at(c, 1), f->files[i], &h, &w, &ch);
    if (st != MC_OK)
        return st;
    float *pix = mc_alloc(E->ctx, (size_t)h * w * ch * sizeof *pix);
    sv *v = sv_new(E->ctx, SV_NUM);
    if (pix == NULL || v == NULL) {
        mc_free(E->ctx, pix);
        sv_release(E->ctx, v);
        return nomem(E);
    }
    mc_image_options io = mc_image_default(h, w, ch);
    st = mc_png_read(E->ctx, f->files[i], &io, pix);
    v->nd = ch == 1 ? 2 : 3;
    v->dims[0] = h;
    v->dims[1] = w;
    v->dims[2] = ch;
    v->uint8 = true;
    v->re = st == MC_OK ? mc_alloc(E->ctx, (size_t)h * w * ch * sizeof *v->re) : NULL;
    if (st == MC_OK && v->re == NULL)
        st = nomem(E);
    /* (C, H, W) into MATLAB's H x W x C, column-major */
    for (int k = 0; st == MC_OK && k < ch; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                v->re[((size_t)k * w + x) * h + y] = pix[((size_t)k * h + y) * w + x];
    mc_free(E->ctx, pix);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return lib_fail(E, arg_at(c, 1), st);
    }
    c->outs[0] = v;
    return MC_OK;
}

/* The dimensions of a value as MATLAB's size gives them. */
static void value_dims(const sv *v, int *nd, int dims[4])
{
    *nd = v->nd;
    for (int i = 0; i < 4; i++)
        dims[i] = v->dims[i];
    if (v->kind == SV_DATASTORE || v->kind == SV_OPTIONS || v->kind == SV_NET ||
        v->kind == SV_STRUCT) {
        *nd = 2;
        dims[0] = dims[1] = 1;
    }
    if (v->kind == SV_TABLE) {
        *nd = 2;
        dims[0] = v->n_cols > 0 ? v->items[0]->dims[0] : 0;
        dims[1] = v->n_cols;
    }
}

static mc_status b_size(bcall *c)
{
    ev *E = c->E;
    int nd, dims[4];
    value_dims(c->args[0], &nd, dims);
    if (c->n == 2) {
        int d;
        mc_status st = want_index(E, arg_at(c, 1), c->args[1], 1 << 30, &d);
        if (st != MC_OK)
            return st;
        return (c->outs[0] = sv_scalar(E->ctx, d < nd ? dims[d] : 1)) ? MC_OK : nomem(E);
    }
    if (c->nout <= 1) {
        sv *v = sv_num(E->ctx, 1, nd);
        if (v == NULL)
            return nomem(E);
        for (int i = 0; i < nd; i++)
            v->re[i] = dims[i];
        c->outs[0] = v;
        return MC_OK;
    }
    for (int k = 0; k < c->nout; k++) {
        double d = k < nd ? dims[k] : 1;
        if (k == c->nout - 1) /* the last output takes the product of the rest */
            for (int j = k + 1; j < nd; j++)
                d *= dims[j];
        if ((c->outs[k] = sv_scalar(E->ctx, d)) == NULL)
            return nomem(E);
    }
    return MC_OK;
}

static size_t value_numel(const sv *v)
{
    int nd, dims[4];
    value_dims(v, &nd, dims);
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)dims[i];
    return n;
}

static mc_status b_numel(bcall *c)
{
    return (c->outs[0] = sv_scalar(c->E->ctx, (double)value_numel(c->args[0]))) ? MC_OK
                                                                                : nomem(c->E);
}

static mc_status b_length(bcall *c)
{
    int nd, dims[4];
    value_dims(c->args[0], &nd, dims);
    int m = 0;
    for (int i = 0; i < nd; i++)
        m = dims[i] > m ? dims[i] : m;
    if (value_numel(c->args[0]) == 0)
        m = 0;
    return (c->outs[0] = sv_scalar(c->E->ctx, m)) ? MC_OK : nomem(c->E);
}

static mc_status want_numeric(ev *E, const expr *e, const sv *v, const char *fn)
{
    if (v->kind != SV_NUM)
        return fail_at(E, e, MC_ERR_INVALID, "%s expects a numeric or logical array, not %s", fn,
                       sv_kind_name(v));
    return MC_OK;
}

/* sum, mean, max, min over the first non-singleton dimension of a vector or matrix. */
static mc_status reduce(bcall *c, const char *fn, int what)
{
    ev *E = c->E;
    const sv *x = c->args[0];
    mc_status st = want_numeric(E, arg_at(c, 0), x, fn);
    if (st != MC_OK)
        return st;
    if (x->nd > 2)
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                       "%s of arrays of more than 2 dimensions "
                       "is not supported",
                       fn);
    const int rows = x->dims[0], cols = x->dims[1];
    const bool vec = rows == 1 || cols == 1;
    const int groups = vec ? 1 : cols, len = vec ? rows * cols : rows;
    sv *out = sv_num(E->ctx, 1, groups);
    if (out == NULL)
        return nomem(E);
    for (int g = 0; g < groups; g++) {
        double acc = what == 0 || what == 1 ? 0 : NAN;
        for (int i = 0; i < len; i++) {
            const double a = x->re[(size_t)g * len + i];
            if (what <= 1)
                acc += a;
            else if (isnan(acc) || (what == 2 ? a > acc : a < acc))
                acc = a;
        }
        if (what == 1)
            acc = len > 0 ? acc / len : NAN;
        out->re[g] = acc;
    }
    c->outs[0] = out;
    return MC_OK;
}

static mc_status b_sum(bcall *c)
{
    return reduce(c, "sum", 0);
}
static mc_status b_mean(bcall *c)
{
    return reduce(c, "mean", 1);
}
static mc_status b_max(bcall *c)
{
    return reduce(c, "max", 2);
}
static mc_status b_min(bcall *c)
{
    return reduce(c, "min", 3);
}

static mc_status elementwise(bcall *c, const char *fn, double (*f)(double))
{
    mc_status st = want_numeric(c->E, arg_at(c, 0), c->args[0], fn);
    if (st != MC_OK)
        return st;
    const sv *x = c->args[0];
    sv *out = sv_new(c->E->ctx, SV_NUM);
    const size_t n = sv_numel(x);
    if (out == NULL || (out->re = mc_alloc(c->E->ctx, (n ? n : 1) * sizeof *out->re)) == NULL) {
        sv_release(c->E->ctx, out);
        return nomem(c->E);
    }
    out->nd = x->nd;
    memcpy(out->dims, x->dims, sizeof out->dims);
    for (size_t i = 0; i < n; i++)
        out->re[i] = f(x->re[i]);
    c->outs[0] = out;
    return MC_OK;
}

static mc_status b_round(bcall *c)
{
    return elementwise(c, "round", round);
}
static mc_status b_floor(bcall *c)
{
    return elementwise(c, "floor", floor);
}
static mc_status b_ceil(bcall *c)
{
    return elementwise(c, "ceil", ceil);
}
static mc_status b_abs(bcall *c)
{
    return elementwise(c, "abs", fabs);
}
static mc_status b_sqrt(bcall *c)
{
    return elementwise(c, "sqrt", sqrt);
}

static double is_nan(double x)
{
    return isnan(x) ? 1 : 0;
}

static mc_status b_isnan(bcall *c)
{
    mc_status st = elementwise(c, "isnan", is_nan);
    if (st == MC_OK)
        c->outs[0]->logical = true;
    return st;
}

static mc_status b_zeros_ones(bcall *c, double fill)
{
    int dims[2] = {1, 1};
    for (int i = 0; i < c->n && i < 2; i++) {
        double d;
        mc_status st = want_scalar(c->E, arg_at(c, i), c->args[i], "a size", &d);
        if (st != MC_OK)
            return st;
        if (!(d >= 0 && d == floor(d) && d < 1e8))
            return fail_at(c->E, arg_at(c, i), MC_ERR_INVALID,
                           "a size must be a whole number from 0, not %g", d);
        dims[i] = (int)d;
    }
    if (c->n == 1)
        dims[1] = dims[0];
    sv *v = sv_num(c->E->ctx, dims[0], dims[1]);
    if (v == NULL)
        return nomem(c->E);
    for (size_t i = 0; i < sv_numel(v); i++)
        v->re[i] = fill;
    c->outs[0] = v;
    return MC_OK;
}

static mc_status b_zeros(bcall *c)
{
    return b_zeros_ones(c, 0);
}
static mc_status b_ones(bcall *c)
{
    return b_zeros_ones(c, 1);
}

/* randperm(n) or randperm(n, k): from the context's RNG (not MATLAB's numbers). */
static mc_status b_randperm(bcall *c)
{
    ev *E = c->E;
    double n, k;
    mc_status st = want_scalar(E, arg_at(c, 0), c->args[0], "randperm's n", &n);
    if (st != MC_OK)
        return st;
    k = n;
    if (c->n == 2 && (st = want_scalar(E, arg_at(c, 1), c->args[1], "randperm's k", &k)) != MC_OK)
        return st;
    if (!(n >= 0 && n == floor(n) && n <= 1e8))
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                       "randperm's n must be a whole number from 0, not %g", n);
    if (!(k >= 0 && k == floor(k) && k <= n))
        return fail_at(E, arg_at(c, 1), MC_ERR_INVALID,
                       "randperm(n,k) needs k a whole number from 0 to n = %g, not %g", n, k);
    int *p = mc_alloc(E->ctx, ((size_t)n + 1) * sizeof *p);
    sv *v = sv_num(E->ctx, 1, (int)k);
    if (p == NULL || v == NULL) {
        mc_free(E->ctx, p);
        sv_release(E->ctx, v);
        return nomem(E);
    }
    for (int i = 0; i < (int)n; i++)
        p[i] = i + 1;
    for (int i = 0; i < (int)k; i++) { /* Fisher-Yates, the first k places */
        const int j = i + (int)(mc_rng_uniform(E->ctx) * ((int)n - i));
        const int t = p[i];
        p[i] = p[j];
        p[j] = t;
        v->re[i] = p[i];
    }
    mc_free(E->ctx, p);
    c->outs[0] = v;
    return MC_OK;
}

static mc_status b_rng(bcall *c)
{
    double seed = 0;
    if (sv_is_text(c->args[0])) {
        if (strcmp(c->args[0]->text, "default") != 0)
            return fail_at(c->E, arg_at(c, 0), MC_ERR_INVALID,
                           "rng takes a seed or 'default', not '%s'", c->args[0]->text);
    } else {
        mc_status st = want_scalar(c->E, arg_at(c, 0), c->args[0], "rng's seed", &seed);
        if (st != MC_OK)
            return st;
        if (!(seed >= 0 && seed == floor(seed) && seed < 4294967296.0))
            return fail_at(c->E, arg_at(c, 0), MC_ERR_INVALID,
                           "rng's seed must be a whole number from 0 to 2^32-1, not %g", seed);
    }
    mc_rng_seed(c->E->ctx, (uint64_t)seed);
    return MC_OK;
}

/* splitEachLabel(imds, p1 [, p2] [, 'randomize']): per class, the first p1 files (a count, or
 * a proportion rounded down as MATLAB does) to the first part, the next p2 to a second, the
 * rest to the last. 'randomized' picks them with the context's RNG; each part keeps the files'
 * order. */
static mc_status b_splitEachLabel(bcall *c)
{
    ev *E = c->E;
    mc_status st = want_datastore(E, arg_at(c, 0), c->args[0], "splitEachLabel");
    if (st != MC_OK)
        return st;
    const mc_image_folder *f = &c->args[0]->folder;
    double p[2];
    int np = 0;
    bool randomize = false;
    for (int i = 1; i < c->n; i++) {
        if (sv_is_text(c->args[i])) {
            if (strcasecmp(c->args[i]->text, "randomized") == 0 ||
                strcasecmp(c->args[i]->text, "randomize") == 0)
                randomize = true;
            else
                return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                               "splitEachLabel: '%s' is not supported (minicnn takes "
                               "'randomized')",
                               c->args[i]->text);
        } else if (np < 2 && is_scalar_num(c->args[i])) {
            p[np++] = c->args[i]->re[0];
            const double x = p[np - 1];
            if (!(x > 0) || (x >= 1 && x != floor(x)))
                return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                               "splitEachLabel takes a proportion between 0 and 1 or a whole "
                               "number of files per label, not %g",
                               x);
        } else {
            return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                           "splitEachLabel takes at most two proportions or counts, then "
                           "'randomized'");
        }
    }
    if (np == 0)
        return fail_at(E, c->call, MC_ERR_INVALID,
                       "splitEachLabel needs the proportion or number of files per label");
    const int parts = np + 1;
    if (c->nout > parts)
        return fail_at(E, c->call, MC_ERR_INVALID,
                       "splitEachLabel with %d proportion%s gives at most %d outputs", np,
                       np == 1 ? "" : "s", parts);
    int *part = mc_alloc(E->ctx, ((size_t)f->num_files + 1) * sizeof *part);
    int *order = mc_alloc(E->ctx, ((size_t)f->num_files + 1) * sizeof *order);
    if (part == NULL || order == NULL) {
        mc_free(E->ctx, part);
        mc_free(E->ctx, order);
        return nomem(E);
    }
    for (int k = 0; st == MC_OK && k < f->num_classes; k++) {
        int n = 0;
        for (int i = 0; i < f->num_files; i++)
            if (f->labels[i] == k)
                order[n++] = i;
        if (randomize)
            for (int i = n - 1; i > 0; i--) {
                const int j = (int)(mc_rng_uniform(E->ctx) * (i + 1));
                const int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        int take[2] = {0, 0};
        for (int q = 0; q < np; q++) {
            take[q] = p[q] < 1 ? (int)floor(p[q] * n) : (int)p[q];
            if (p[q] >= 1 && take[q] > n)
                st = fail_at(E, arg_at(c, 1 + q), MC_ERR_INVALID,
                             "splitEachLabel: label '%s' has %d files, fewer than the %d asked "
                             "for",
                             f->classes[k], n, take[q]);
        }
        if (st == MC_OK && take[0] + take[1] > n)
            st = fail_at(E, c->call, MC_ERR_INVALID,
                         "splitEachLabel: label '%s' has %d files, fewer than the %d + %d asked "
                         "for",
                         f->classes[k], n, take[0], take[1]);
        for (int i = 0; i < n; i++)
            part[order[i]] = i < take[0] ? 0 : np == 2 && i < take[0] + take[1] ? 1 : np;
    }
    for (int q = 0; st == MC_OK && q < c->nout; q++) {
        sv *v = sv_new(E->ctx, SV_DATASTORE);
        if (v == NULL) {
            st = nomem(E);
            break;
        }
        mc_image_folder *to = &v->folder;
        int count = 0;
        for (int i = 0; i < f->num_files; i++)
            count += part[i] == q;
        to->files = mc__calloc(E->ctx, (size_t)count + 1, sizeof *to->files);
        to->labels = mc__calloc(E->ctx, (size_t)count + 1, sizeof *to->labels);
        to->classes = mc__calloc(E->ctx, (size_t)f->num_classes + 1, sizeof *to->classes);
        c->outs[q] = v;
        if (to->files == NULL || to->labels == NULL || to->classes == NULL) {
            st = nomem(E);
            break;
        }
        for (int k = 0; k < f->num_classes; k++) {
            if ((to->classes[k] = mc__strdup(E->ctx, f->classes[k])) == NULL) {
                st = nomem(E);
                break;
            }
            to->num_classes = k + 1;
        }
        for (int i = 0; st == MC_OK && i < f->num_files; i++) {
            if (part[i] != q)
                continue;
            if ((to->files[to->num_files] = mc__strdup(E->ctx, f->files[i])) == NULL) {
                st = nomem(E);
                break;
            }
            to->labels[to->num_files++] = f->labels[i];
        }
    }
    mc_free(E->ctx, part);
    mc_free(E->ctx, order);
    return st;
}

/* ---- trainingOptions ---- */

static const char *const training_option_names[] = {"InitialLearnRate",
                                                    "MaxEpochs",
                                                    "MiniBatchSize",
                                                    "Shuffle",
                                                    "ValidationData",
                                                    "ValidationFrequency",
                                                    "ValidationPatience",
                                                    "Verbose",
                                                    "VerboseFrequency",
                                                    "Plots",
                                                    "Momentum",
                                                    "L2Regularization",
                                                    "LearnRateSchedule",
                                                    "LearnRateDropFactor",
                                                    "LearnRateDropPeriod",
                                                    "GradientDecayFactor",
                                                    "SquaredGradientDecayFactor",
                                                    "Epsilon",
                                                    "GradientThreshold",
                                                    "GradientThresholdMethod",
                                                    "ExecutionEnvironment",
                                                    "CheckpointPath",
                                                    NULL};

/* MATLAB options minicnn lacks, refused by name. */
static const char *const training_options_lacked[] = {"OutputFcn",
                                                      "SequenceLength",
                                                      "SequencePaddingValue",
                                                      "SequencePaddingDirection",
                                                      "DispatchInBackground",
                                                      "ResetInputNormalization",
                                                      "BatchNormalizationStatistics",
                                                      "CheckpointFrequency",
                                                      "CheckpointFrequencyUnit",
                                                      "OutputNetwork",
                                                      "WorkerLoad",
                                                      "LearnRateDropFactor2",
                                                      "ObjectiveMetricName",
                                                      "Metrics",
                                                      "InputDataFormats",
                                                      "TargetDataFormats",
                                                      "Acceleration",
                                                      "L2RegularizationFactor",
                                                      NULL};

static mc_status option_number(bcall *c, int i, const char *name, double lo, double hi, bool inf_ok,
                               double *out)
{
    double x;
    mc_status st = want_scalar(c->E, arg_at(c, i + 1), c->args[i + 1], name, &x);
    if (st != MC_OK)
        return st;
    if (isinf(x) && x > 0 && inf_ok) {
        *out = x;
        return MC_OK;
    }
    if (!(x >= lo && x <= hi))
        return fail_at(c->E, arg_at(c, i + 1), MC_ERR_INVALID,
                       "trainingOptions: '%s' must be from %g to %g, not %g", name, lo, hi, x);
    *out = x;
    return MC_OK;
}

static mc_status option_int(bcall *c, int i, const char *name, int lo, bool inf_ok, int *out)
{
    double x = 0;
    mc_status st = option_number(c, i, name, lo, 1e9, inf_ok, &x);
    if (st == MC_OK && isinf(x)) {
        *out = 0;
        return MC_OK;
    }
    if (st == MC_OK && x != floor(x))
        st = fail_at(c->E, arg_at(c, i + 1), MC_ERR_INVALID,
                     "trainingOptions: '%s' must be a whole number, not %g", name, x);
    if (st == MC_OK)
        *out = (int)x;
    return st;
}

static mc_status training_option(bcall *c, const char *name, int i, void *user)
{
    sv_options *so = user;
    mc_train_options *o = &so->o;
    ev *E = c->E;
    const sv *v = c->args[i + 1];
    const expr *at = arg_at(c, i + 1);
    const char *t = NULL;
    int which = -1;
    for (int k = 0; training_option_names[k] != NULL; k++)
        if (strcasecmp(name, training_option_names[k]) == 0)
            which = k;
    if (which < 0) {
        for (int k = 0; training_options_lacked[k] != NULL; k++)
            if (strcasecmp(name, training_options_lacked[k]) == 0)
                return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                               "trainingOptions: MATLAB's option '%s' is not supported by "
                               "minicnn",
                               training_options_lacked[k]);
        const char *near = mc__closest(name, training_option_names);
        return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                       "trainingOptions: unknown option '%s'%s%s%s", name,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    name = training_option_names[which];
    mc_status st = MC_OK;
    double x;
    switch (which) {
    case 0:
        st = option_number(c, i, name, 1e-300, 1e300, false, &o->initial_learn_rate);
        break;
    case 1:
        st = option_int(c, i, name, 1, false, &o->max_epochs);
        break;
    case 2:
        st = option_int(c, i, name, 1, false, &o->mini_batch_size);
        break;
    case 3:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK && (st = mc_shuffle_parse(E->ctx, t, &o->shuffle)) != MC_OK)
            st = lib_fail(E, at, st);
        break;
    case 4:
        if (v->kind != SV_DATASTORE &&
            !(v->kind == SV_CELL && sv_numel(v) == 2 && v->items[0]->kind == SV_NUM &&
              v->items[1]->kind == SV_CATEG))
            return fail_at(E, at, MC_ERR_INVALID,
                           "trainingOptions: 'ValidationData' must be an image datastore or {X, "
                           "Y} (a 4-D array of images and their categorical labels), not %s",
                           sv_kind_name(v));
        sv_release(E->ctx, so->validation);
        so->validation = sv_retain((sv *)v);
        break;
    case 5:
        st = option_int(c, i, name, 1, false, &o->validation_frequency);
        break;
    case 6:
        st = option_int(c, i, name, 1, true, &o->validation_patience);
        break;
    case 7:
        if (v->kind != SV_NUM || sv_numel(v) != 1)
            return fail_at(E, at, MC_ERR_INVALID,
                           "trainingOptions: 'Verbose' must be true or "
                           "false");
        so->verbose = v->re[0] != 0;
        break;
    case 8:
        st = option_int(c, i, name, 1, false, &o->verbose_frequency);
        break;
    case 9:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK && strcasecmp(t, "training-progress") != 0 && strcasecmp(t, "none") != 0)
            st = fail_at(E, at, MC_ERR_INVALID,
                         "trainingOptions: 'Plots' must be 'training-progress' or 'none', not "
                         "'%s'",
                         t);
        if (st == MC_OK)
            so->plots = strcasecmp(t, "training-progress") == 0;
        break;
    case 10:
        st = option_number(c, i, name, 0, 1, false, &o->solver.momentum);
        break;
    case 11:
        st = option_number(c, i, name, 0, 1e300, false, &o->solver.l2_regularization);
        break;
    case 12:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK && (st = mc_schedule_parse(E->ctx, t, &o->schedule)) != MC_OK)
            st = lib_fail(E, at, st);
        break;
    case 13:
        st = option_number(c, i, name, 0, 1, false, &o->learn_rate_drop_factor);
        break;
    case 14:
        st = option_int(c, i, name, 1, false, &o->learn_rate_drop_period);
        break;
    case 15:
        st = option_number(c, i, name, 0, 0.999999999, false, &o->solver.gradient_decay_factor);
        break;
    case 16:
        st = option_number(c, i, name, 0, 0.999999999, false,
                           &o->solver.squared_gradient_decay_factor);
        break;
    case 17:
        st = option_number(c, i, name, 1e-300, 1e300, false, &o->solver.epsilon);
        break;
    case 18:
        st = option_number(c, i, name, 1e-300, 1e300, true, &x);
        if (st == MC_OK)
            o->solver.gradient_threshold = x;
        break;
    case 19:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK && (st = mc_threshold_method_parse(
                                E->ctx, t, &o->solver.gradient_threshold_method)) != MC_OK)
            st = lib_fail(E, at, st);
        break;
    case 20:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK && strcasecmp(t, "auto") != 0 && strcasecmp(t, "cpu") != 0)
            st = fail_at(E, at, MC_ERR_INVALID,
                         "trainingOptions: minicnn trains on the CPU: 'ExecutionEnvironment' "
                         "'%s' is not available (use 'auto' or 'cpu')",
                         t);
        break;
    case 21:
        st = want_text(E, at, v, name, &t);
        if (st == MC_OK) {
            mc_free(E->ctx, so->checkpoint_path);
            so->checkpoint_path = mc__strdup(E->ctx, t);
            if (so->checkpoint_path == NULL)
                st = nomem(E);
        }
        break;
    default:
        break;
    }
    return st;
}

static mc_status b_trainingOptions(bcall *c)
{
    ev *E = c->E;
    const char *solver_name;
    mc_status st = want_text(E, arg_at(c, 0), c->args[0], "the solver", &solver_name);
    mc_solver solver = MC_SOLVER_SGDM;
    if (st == MC_OK && (st = mc_solver_parse(E->ctx, solver_name, &solver)) != MC_OK)
        st = lib_fail(E, arg_at(c, 0), st);
    if (st != MC_OK)
        return st;
    sv *v = sv_new(E->ctx, SV_OPTIONS);
    if (v == NULL || (v->opts = mc__calloc(E->ctx, 1, sizeof *v->opts)) == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    v->opts->o = mc_train_default(solver);
    v->opts->verbose = true;
    v->opts->solver = mc__strdup(E->ctx, solver == MC_SOLVER_SGDM   ? "SGDM"
                                         : solver == MC_SOLVER_ADAM ? "ADAM"
                                                                    : "RMSProp");
    if (v->opts->solver == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    st = each_option(c, 1, "trainingOptions", training_option, v->opts);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    c->outs[0] = v;
    return MC_OK;
}

/* ---- networks ---- */

/* A script value as an argument of a layer function (nf_value, memory from the context). */
static mc_status to_nf(ev *E, const sv *v, int line, int col, nf_value *out, const expr *at)
{
    memset(out, 0, sizeof *out);
    out->line = line;
    out->col = col;
    if (v->kind == SV_NUM) {
        const size_t n = sv_numel(v);
        out->kind = NF_NUMBERS;
        out->nums = mc_alloc(E->ctx, (n ? n : 1) * sizeof *out->nums);
        if (out->nums == NULL)
            return nomem(E);
        memcpy(out->nums, v->re, n * sizeof *out->nums);
        out->count = (int)n;
        return MC_OK;
    }
    if (sv_is_text(v)) {
        out->kind = NF_STRING;
        out->str = mc__strdup(E->ctx, v->text);
        return out->str != NULL ? MC_OK : nomem(E);
    }
    if (v->kind == SV_CELL) {
        const size_t n = sv_numel(v);
        out->kind = NF_CELL;
        out->cells = mc__calloc(E->ctx, n ? n : 1, sizeof *out->cells);
        if (out->cells == NULL)
            return nomem(E);
        for (size_t i = 0; i < n; i++) {
            if (!sv_is_text(v->items[i]))
                return fail_at(E, at, MC_ERR_INVALID,
                               "a layer's cell argument must hold text, not %s",
                               sv_kind_name(v->items[i]));
            if ((out->cells[i] = mc__strdup(E->ctx, v->items[i]->text)) == NULL)
                return nomem(E);
            out->count = (int)i + 1;
        }
        return MC_OK;
    }
    return fail_at(E, at, MC_ERR_INVALID,
                   "a layer function takes numbers, text and cell arrays of text, not %s",
                   sv_kind_name(v));
}

static void nf_free(mc_ctx *ctx, nf_value *v)
{
    mc_free(ctx, v->nums);
    mc_free(ctx, v->str);
    for (int i = 0; v->cells != NULL && i < v->count; i++)
        mc_free(ctx, v->cells[i]);
    mc_free(ctx, v->cells);
}

/* Builds the layer of a recipe (the caller owns it). */
static mc_status build_layer(ev *E, const sv_recipe *r, const expr *at, mc_layer **out)
{
    nf_value args[64];
    const int n = r->n < 64 ? r->n : 64;
    mc_status st = MC_OK;
    int made = 0;
    for (; st == MC_OK && made < n; made++)
        st = to_nf(E, r->args[made], r->arg_line[made], r->arg_col[made], &args[made], at);
    if (st == MC_OK)
        st = nf_layer_build(E->ctx, E->s->file, r->line, r->col, r->fn, args, n, out);
    for (int i = 0; i < made; i++)
        nf_free(E->ctx, &args[i]);
    if (st != MC_OK && st != MC_ERR_NOMEM)
        return lib_fail(E, at, st);
    return st;
}

/* A layer function's call: a one-layer array whose recipe is checked by building it once. */
static mc_status layer_value(ev *E, const nf_layer_fn *lf, const expr *call, sv **args, int n,
                             sv **out)
{
    sv *v = sv_new(E->ctx, SV_LAYERS);
    if (v == NULL || (v->recipes = mc__calloc(E->ctx, 1, sizeof *v->recipes)) == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    sv_recipe *r = &v->recipes[0];
    r->fn = lf;
    r->line = call->line;
    r->col = call->col;
    r->args = mc__calloc(E->ctx, (size_t)n + 1, sizeof *r->args);
    r->arg_line = mc__calloc(E->ctx, (size_t)n + 1, sizeof *r->arg_line);
    r->arg_col = mc__calloc(E->ctx, (size_t)n + 1, sizeof *r->arg_col);
    if (r->args == NULL || r->arg_line == NULL || r->arg_col == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    for (int i = 0; i < n; i++) {
        r->args[i] = sv_retain(args[i]);
        const expr *a = call->kind == EX_CALL && i < call->n ? call->items[i] : call;
        r->arg_line[i] = a->line;
        r->arg_col[i] = a->col;
        r->n = i + 1;
    }
    mc_layer *layer = NULL;
    mc_status st = build_layer(E, r, call, &layer);
    mc_layer_destroy(layer);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    *out = v;
    return MC_OK;
}

static mc_status build_layers_into(ev *E, mc_net *net, const sv *layers, const expr *at);

/* A network of fresh layers from a layer array or a layer graph (unassembled; the caller
 * destroys it). A graph's steps are replayed, each failure located at its call. */
static mc_status build_net(ev *E, const sv *layers, const expr *at, mc_net **out)
{
    if (layers->kind == SV_GRAPH) {
        *out = NULL;
        mc_net *net = NULL;
        mc_status st = mc_net_create(E->ctx, &net);
        for (int i = 0; st == MC_OK && i < layers->n_ops; i++) {
            const sv_graph_op *op = &layers->ops[i];
            expr here;
            memset(&here, 0, sizeof here);
            here.line = op->line;
            here.col = op->col;
            if (op->kind == 0) {
                st = build_layers_into(E, net, op->layers, &here);
                if (st == MC_OK && (st = mc_net_assign_names(net)) != MC_OK)
                    st = lib_fail(E, &here, st);
            } else {
                st = op->kind == 1 ? mc_net_connect(net, op->src, op->dst)
                                   : mc_net_disconnect(net, op->src, op->dst);
                if (st != MC_OK)
                    st = lib_fail(E, &here, st);
            }
        }
        if (st != MC_OK) {
            mc_net_destroy(net);
            return st;
        }
        *out = net;
        return MC_OK;
    }
    mc_net *net = NULL;
    mc_status st = mc_net_create(E->ctx, &net);
    if (st == MC_OK)
        st = build_layers_into(E, net, layers, at);
    if (st != MC_OK) {
        mc_net_destroy(net);
        return st;
    }
    *out = net;
    return MC_OK;
}

/* Adds fresh layers of a layer array to net, connected one after another. */
static mc_status build_layers_into(ev *E, mc_net *net, const sv *layers, const expr *at)
{
    const int n = (int)sv_numel(layers);
    mc_layer **made = mc__calloc(E->ctx, (size_t)n + 1, sizeof *made);
    if (made == NULL)
        return nomem(E);
    mc_status st = MC_OK;
    int k = 0;
    for (; st == MC_OK && k < n; k++)
        st = build_layer(E, &layers->recipes[k], at, &made[k]);
    if (st == MC_OK) {
        st = mc_net_add_layers(net, made, n); /* takes the layers, also on failure */
        if (st != MC_OK)
            st = lib_fail(E, at, st);
    } else {
        for (int i = 0; i < k; i++)
            mc_layer_destroy(made[i]);
    }
    mc_free(E->ctx, made);
    return st;
}

/* A new graph: g's steps (g may be NULL) and one more. Checked by building it. */
static mc_status graph_step(ev *E, const expr *call, const sv *g, int kind, sv *layers,
                            const char *src, const char *dst, sv **out)
{
    const int n = g != NULL ? g->n_ops : 0;
    sv *v = sv_new(E->ctx, SV_GRAPH);
    if (v == NULL || (v->ops = mc__calloc(E->ctx, (size_t)n + 1, sizeof *v->ops)) == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    for (int i = 0; i <= n; i++) {
        const sv_graph_op *from = i < n ? &g->ops[i] : NULL;
        sv_graph_op *to = &v->ops[i];
        to->kind = from != NULL ? from->kind : kind;
        to->line = from != NULL ? from->line : call->line;
        to->col = from != NULL ? from->col : call->col;
        to->layers = sv_retain(from != NULL ? from->layers : layers);
        const char *s = from != NULL ? from->src : src, *d = from != NULL ? from->dst : dst;
        to->src = s != NULL ? mc__strdup(E->ctx, s) : NULL;
        to->dst = d != NULL ? mc__strdup(E->ctx, d) : NULL;
        v->n_ops = i + 1;
        if ((s != NULL && to->src == NULL) || (d != NULL && to->dst == NULL)) {
            sv_release(E->ctx, v);
            return nomem(E);
        }
    }
    mc_net *net = NULL;
    mc_status st = build_net(E, v, call, &net);
    mc_net_destroy(net);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    *out = v;
    return MC_OK;
}

static mc_status b_layerGraph(bcall *c)
{
    if (c->n == 0) /* an empty graph */
        return (c->outs[0] = sv_new(c->E->ctx, SV_GRAPH)) != NULL ? MC_OK : nomem(c->E);
    if (c->args[0]->kind == SV_GRAPH) {
        c->outs[0] = sv_retain(c->args[0]);
        return MC_OK;
    }
    if (c->args[0]->kind != SV_LAYERS)
        return fail_at(c->E, arg_at(c, 0), MC_ERR_INVALID,
                       "layerGraph expects a layer array, not %s", sv_kind_name(c->args[0]));
    return graph_step(c->E, c->call, NULL, 0, c->args[0], NULL, NULL, &c->outs[0]);
}

static mc_status b_addLayers(bcall *c)
{
    if (c->args[0]->kind != SV_GRAPH || c->args[1]->kind != SV_LAYERS)
        return fail_at(c->E, c->call, MC_ERR_INVALID,
                       "addLayers expects (lgraph, layers): a layer graph and a layer array, not "
                       "%s and %s",
                       sv_kind_name(c->args[0]), sv_kind_name(c->args[1]));
    return graph_step(c->E, c->call, c->args[0], 0, c->args[1], NULL, NULL, &c->outs[0]);
}

static mc_status connect_call(bcall *c, int kind, const char *fn)
{
    if (c->args[0]->kind != SV_GRAPH || !sv_is_text(c->args[1]) || !sv_is_text(c->args[2]))
        return fail_at(c->E, c->call, MC_ERR_INVALID,
                       "%s expects (lgraph, 'source', 'destination'): a layer graph and two "
                       "layer names",
                       fn);
    return graph_step(c->E, c->call, c->args[0], kind, NULL, c->args[1]->text, c->args[2]->text,
                      &c->outs[0]);
}

static mc_status b_connectLayers(bcall *c)
{
    return connect_call(c, 1, "connectLayers");
}

static mc_status b_disconnectLayers(bcall *c)
{
    return connect_call(c, 2, "disconnectLayers");
}

static mc_layer *output_layer(const mc_net *net)
{
    mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    return out;
}

/* Reads a datastore's images at the network's input size (assembled). */
static mc_status read_images(ev *E, const expr *at, mc_net *net, const mc_image_folder *f,
                             const char *what, mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 4)
        return fail_at(E, at, MC_ERR_SHAPE,
                       "the network takes feature vectors, not images; an image datastore "
                       "needs an imageInputLayer");
    if (f->num_files == 0)
        return fail_at(E, at, MC_ERR_INVALID, "the %s datastore holds no images", what);
    mc_image_options io = mc_image_default(in.dims[2], in.dims[3], in.dims[1]);
    io.resize = false; /* MATLAB's trainNetwork refuses images of another size */
    mc_status st = mc_image_folder_read(E->ctx, f, &io, out);
    if (st != MC_OK)
        return lib_fail(E, at, st);
    return MC_OK;
}

/* Data for a network (assembled): an image datastore, or a 4-D array H x W x C x N with, for
 * training, its labels y (a categorical vector of N). */
static mc_status read_data(ev *E, const expr *at, mc_net *net, const sv *x, const sv *y,
                           const char *what, mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (x->kind == SV_DATASTORE)
        return read_images(E, at, net, &x->folder, what, out);
    if (x->kind != SV_NUM)
        return fail_at(E, at, MC_ERR_INVALID,
                       "the %s data must be an image datastore or a 4-D array of images "
                       "(height x width x channels x observations), not %s",
                       what, sv_kind_name(x));
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 4)
        return fail_at(E, at, MC_ERR_SHAPE,
                       "the network takes feature vectors; minicnn run feeds it images only");
    const int H = x->dims[0], W = x->dims[1], C = x->nd > 2 ? x->dims[2] : 1,
              N = x->nd > 3 ? x->dims[3] : 1;
    if (H != in.dims[2] || W != in.dims[3] || C != in.dims[1])
        return fail_at(E, at, MC_ERR_SHAPE,
                       "the %s images are %dx%dx%d but the input layer takes %dx%dx%d", what, H, W,
                       C, in.dims[2], in.dims[3], in.dims[1]);
    if (N < 1)
        return fail_at(E, at, MC_ERR_INVALID, "the %s data holds no images", what);
    if (y != NULL && (y->kind != SV_CATEG || (int)sv_numel(y) != N))
        return fail_at(E, at, MC_ERR_INVALID,
                       "the %s labels must be a categorical vector of %d elements, one per "
                       "image%s",
                       what, N, y->kind == SV_NUM ? "; make them one with categorical(...)" : "");
    const size_t per = (size_t)C * H * W;
    out->x = mc_alloc(E->ctx, (size_t)N * per * sizeof *out->x);
    out->labels = mc__calloc(E->ctx, (size_t)N, sizeof *out->labels);
    if (out->x == NULL || out->labels == NULL) {
        mc_dataset_release(E->ctx, out);
        return nomem(E);
    }
    out->shape.ndim = 4;
    out->shape.dims[0] = N;
    out->shape.dims[1] = C;
    out->shape.dims[2] = H;
    out->shape.dims[3] = W;
    /* MATLAB's column-major H x W x C x N into (N, C, H, W) */
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    out->x[(((size_t)n * C + c) * H + h) * W + w] =
                        (float)x->re[(((size_t)n * C + c) * W + w) * H + h];
    for (int n = 0; y != NULL && n < N; n++) {
        if (y->codes[n] < 0) {
            mc_dataset_release(E->ctx, out);
            return fail_at(E, at, MC_ERR_INVALID, "the %s label of image %d is undefined", what,
                           n + 1);
        }
        out->labels[n] = y->codes[n];
    }
    out->num_classes = y != NULL ? y->n_cats : 0;
    return MC_OK;
}

/* The classes of training data: a datastore's folders or the labels' categories. */
static void data_classes(const sv *x, const sv *y, char ***classes, int *K)
{
    if (x->kind == SV_DATASTORE) {
        *classes = x->folder.classes;
        *K = x->folder.num_classes;
    } else if (y != NULL && y->kind == SV_CATEG) {
        *classes = y->cats;
        *K = y->n_cats;
    } else {
        *classes = NULL;
        *K = 0;
    }
}

/* A script value as network-file text (numbers, text, cells of text). */
static bool put_literal(sc_buf *b, const sv *v)
{
    if (v->kind == SV_NUM) {
        const size_t n = sv_numel(v);
        if (v->nd > 2 || (v->dims[0] > 1 && v->dims[1] > 1))
            return false;
        if (n != 1)
            sc_buf_put(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            const double x = v->re[i];
            if (isinf(x))
                sc_buf_printf(b, "%s%s", i ? " " : "", x > 0 ? "Inf" : "-Inf");
            else
                sc_buf_printf(b, "%s%.17g", i ? " " : "", x);
        }
        if (n != 1)
            sc_buf_put(b, "]", 1);
        return true;
    }
    if (sv_is_text(v)) {
        sc_buf_put(b, "'", 1);
        for (const char *c = v->text; *c != '\0'; c++) {
            if (*c == '\'')
                sc_buf_put(b, "''", 2); /* a quote is written twice */
            else
                sc_buf_put(b, c, 1);
        }
        sc_buf_put(b, "'", 1);
        return true;
    }
    if (v->kind == SV_CELL) {
        sc_buf_put(b, "{", 1);
        for (size_t i = 0; i < sv_numel(v); i++) {
            if (i > 0)
                sc_buf_put(b, ",", 1);
            if (!sv_is_text(v->items[i]) || !put_literal(b, v->items[i]))
                return false;
        }
        sc_buf_put(b, "}", 1);
        return true;
    }
    return false;
}

static bool put_layers(sc_buf *b, const sv *layers)
{
    sc_buf_put(b, "[\n", 2);
    for (size_t i = 0; i < sv_numel(layers); i++) {
        const sv_recipe *r = &layers->recipes[i];
        sc_buf_printf(b, "    %s(", r->fn->name);
        for (int k = 0; k < r->n; k++) {
            if (k > 0)
                sc_buf_put(b, ",", 1);
            if (!put_literal(b, r->args[k]))
                return false;
        }
        sc_buf_put(b, ")\n", 2);
    }
    sc_buf_put(b, "]", 1);
    return true;
}

/* The network-file text of a layer array or graph, kept in the network so that save can write a
 * model file (mc_model_save keeps the text it was built from). NULL when out of memory. */
static char *network_text(mc_ctx *ctx, const sv *v)
{
    sc_buf b = {ctx, NULL, 0, 0, false};
    bool ok = true;
    sc_buf_printf(&b, "%% written by minicnn run from a script's %s\n",
                  v->kind == SV_GRAPH ? "layer graph" : "layer array");
    if (v->kind == SV_LAYERS) {
        sc_buf_put(&b, "layers = ", 9);
        ok = put_layers(&b, v);
        sc_buf_put(&b, ";\n", 2);
    } else {
        sc_buf_put(&b, "lgraph = layerGraph();\n", 23);
        for (int i = 0; ok && i < v->n_ops; i++) {
            const sv_graph_op *op = &v->ops[i];
            if (op->kind == 0) {
                sc_buf_put(&b, "lgraph = addLayers(lgraph, ", 27);
                ok = put_layers(&b, op->layers);
                sc_buf_put(&b, ");\n", 3);
            } else {
                sc_buf_printf(&b, "lgraph = %s(lgraph, '%s', '%s');\n",
                              op->kind == 1 ? "connectLayers" : "disconnectLayers", op->src,
                              op->dst);
            }
        }
    }
    if (!ok || b.failed) {
        mc_free(ctx, b.p);
        return NULL;
    }
    return b.p;
}

/* What [net, info] = trainNetwork(...) records of every iteration, passed on to the host's
 * callback. */
typedef struct recorder {
    mc_ctx *ctx;
    mc_train_callback host_cb;
    void *host_user;
    int n, cap;
    double *loss, *acc, *vloss, *vacc, *rate; /* per iteration; NaN when not validated */
    bool failed;
} recorder;

static int record(void *user, const mc_train_progress *p)
{
    recorder *r = user;
    if (!r->failed && r->n == r->cap) {
        const int cap = r->cap ? 2 * r->cap : 256;
        double **arrays[5] = {&r->loss, &r->acc, &r->vloss, &r->vacc, &r->rate};
        for (int k = 0; k < 5 && !r->failed; k++) {
            double *grown = mc_alloc(r->ctx, (size_t)cap * sizeof *grown);
            if (grown == NULL) {
                r->failed = true;
                break;
            }
            if (r->n > 0)
                memcpy(grown, *arrays[k], (size_t)r->n * sizeof *grown);
            mc_free(r->ctx, *arrays[k]);
            *arrays[k] = grown;
        }
        if (!r->failed)
            r->cap = cap;
    }
    if (!r->failed) {
        r->loss[r->n] = p->loss;
        r->acc[r->n] = 100 * p->accuracy;
        r->vloss[r->n] = p->validated ? p->validation_loss : NAN;
        r->vacc[r->n] = p->validated ? 100 * p->validation_accuracy : NAN;
        r->rate[r->n] = p->learn_rate;
        r->n++;
    }
    return r->host_cb != NULL ? r->host_cb(r->host_user, p) : 0;
}

static void recorder_release(recorder *r)
{
    mc_free(r->ctx, r->loss);
    mc_free(r->ctx, r->acc);
    mc_free(r->ctx, r->vloss);
    mc_free(r->ctx, r->vacc);
    mc_free(r->ctx, r->rate);
}

/* The info struct of trainNetwork: MATLAB's training-progress fields, one value per iteration
 * (percentages for the accuracies, NaN where no validation was computed). */
static mc_status info_value(ev *E, const recorder *r, sv **out)
{
    static const char *const names[] = {
        "TrainingLoss",  "TrainingAccuracy",    "ValidationLoss",         "ValidationAccuracy",
        "BaseLearnRate", "FinalValidationLoss", "FinalValidationAccuracy"};
    const int nf = 7;
    sv *v = sv_new(E->ctx, SV_STRUCT);
    if (v == NULL || (v->names = mc__calloc(E->ctx, nf, sizeof *v->names)) == NULL ||
        (v->items = mc__calloc(E->ctx, nf, sizeof *v->items)) == NULL) {
        sv_release(E->ctx, v);
        return nomem(E);
    }
    v->n_cols = nf;
    const double *series[5] = {r->loss, r->acc, r->vloss, r->vacc, r->rate};
    for (int k = 0; k < nf; k++) {
        v->names[k] = mc__strdup(E->ctx, names[k]);
        if (k < 5) {
            v->items[k] = sv_num(E->ctx, 1, r->n);
            for (int i = 0; v->items[k] != NULL && i < r->n; i++)
                v->items[k]->re[i] = series[k][i];
        } else {
            /* the last validation computed */
            double last = NAN;
            for (int i = r->n - 1; i >= 0 && isnan(last); i--)
                last = k == 5 ? r->vloss[i] : r->vacc[i];
            v->items[k] = sv_scalar(E->ctx, last);
        }
        if (v->names[k] == NULL || v->items[k] == NULL) {
            sv_release(E->ctx, v);
            return nomem(E);
        }
    }
    *out = v;
    return MC_OK;
}

static mc_status b_trainNetwork(bcall *c)
{
    ev *E = c->E;
    /* trainNetwork(imds, layers, options) or trainNetwork(X, Y, layers, options) */
    const int li = c->n == 4 ? 2 : 1;
    const sv *x = c->args[0], *y = c->n == 4 ? c->args[1] : NULL;
    if (c->n == 3 && x->kind != SV_DATASTORE)
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                       "trainNetwork(data, layers, options) takes an image datastore, not %s; "
                       "arrays come with their labels: trainNetwork(X, Y, layers, options)",
                       sv_kind_name(x));
    if (c->n == 4 && x->kind != SV_NUM)
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                       "trainNetwork(X, Y, layers, options) takes a 4-D array of images, not %s",
                       sv_kind_name(x));
    if (c->n == 4 && y->kind != SV_CATEG)
        return fail_at(E, arg_at(c, 1), MC_ERR_INVALID,
                       "trainNetwork's labels must be categorical, not %s%s", sv_kind_name(y),
                       y->kind == SV_NUM ? "; make them so with categorical(Y)" : "");
    if (c->args[li]->kind != SV_LAYERS && c->args[li]->kind != SV_GRAPH)
        return fail_at(E, arg_at(c, li), MC_ERR_INVALID,
                       "trainNetwork expects a layer array or graph before the options, not %s",
                       sv_kind_name(c->args[li]));
    if (c->args[li + 1]->kind != SV_OPTIONS)
        return fail_at(E, arg_at(c, li + 1), MC_ERR_INVALID,
                       "trainNetwork expects training options (trainingOptions) as its last "
                       "argument, not %s",
                       sv_kind_name(c->args[li + 1]));
    char **classes = NULL;
    int n_classes = 0;
    data_classes(x, y, &classes, &n_classes);
    sv_options *so = c->args[li + 1]->opts;
    mc_train_options o = so->o;
    mc_net *net = NULL;
    mc_dataset train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    mc_status st = build_net(E, c->args[li], arg_at(c, li), &net);
    char *source = st == MC_OK ? network_text(E->ctx, c->args[li]) : NULL;
    if (source != NULL) { /* for save; a layer argument without a literal form just has none */
        st = mc_net_set_source(net, source, strlen(source));
        mc_free(E->ctx, source);
    }
    if (st == MC_OK && (st = mc_net_assemble(net, 1)) != MC_OK)
        st = lib_fail(E, arg_at(c, li), st);
    mc_layer *out = st == MC_OK ? output_layer(net) : NULL;
    const int K = st == MC_OK ? mc_net_num_classes(net) : 0;
    if (st == MC_OK && K != n_classes)
        st = fail_at(E, arg_at(c, 0), MC_ERR_SHAPE,
                     "the training data has %d classes but the network's output has %d; make "
                     "the last fully connected layer's output size %d",
                     n_classes, K, n_classes);
    if (st == MC_OK && out != NULL &&
        (st = mc_classification_set_classes(out, (const char *const *)classes, K)) != MC_OK)
        st = lib_fail(E, arg_at(c, li), st);
    if (st == MC_OK)
        st = read_data(E, arg_at(c, 0), net, x, y, "training", &train);
    if (st == MC_OK && so->validation != NULL) {
        const sv *vx = so->validation, *vy = NULL;
        if (vx->kind == SV_CELL) {
            vy = vx->items[1];
            vx = vx->items[0];
        }
        char **vclasses = NULL;
        int vk = 0;
        data_classes(vx, vy, &vclasses, &vk);
        bool same = vk == K;
        for (int k = 0; same && k < K; k++)
            same = strcmp(vclasses[k], classes[k]) == 0;
        if (!same)
            st = fail_at(E, arg_at(c, li + 1), MC_ERR_INVALID,
                         "the validation data's classes are not the training data's");
        if (st == MC_OK)
            st = read_data(E, arg_at(c, li + 1), net, vx, vy, "validation", &valid);
        if (st == MC_OK)
            o.validation = &valid;
    }
    if (st == MC_OK && o.mini_batch_size > train.shape.dims[0])
        o.mini_batch_size = train.shape.dims[0]; /* MATLAB trains on one smaller mini-batch */
    if (st == MC_OK && (st = mc_net_assemble(net, o.mini_batch_size)) != MC_OK)
        st = lib_fail(E, c->call, st);
    o.checkpoint_path = so->checkpoint_path;
    if (st == MC_OK && so->verbose && E->host != NULL && E->host->print != NULL)
        E->host->print(E->host->user, "Training on single CPU.\n");
    if (st == MC_OK && mc_input_needs_fit(mc_net_input_layer(net))) {
        if (so->verbose && E->host != NULL && E->host->print != NULL)
            E->host->print(E->host->user, "Initializing input data normalization.\n");
        if ((st = mc_net_fit_input(net, &train, 1024)) != MC_OK)
            st = lib_fail(E, arg_at(c, 0), st);
    }
    mc_train_callback cb = NULL;
    void *cb_user = NULL;
    bool begun = false;
    if (st == MC_OK && E->host != NULL && E->host->train_begin != NULL) {
        mc_script_training t = {&o, so->verbose, so->plots, o.validation != NULL, c->call->line};
        if (E->host->train_begin(E->host->user, &t, &cb, &cb_user) != 0)
            st = fail_at(E, c->call, MC_ERR_IO, "the training log or figure cannot be started");
        else
            begun = true;
    }
    recorder rec;
    memset(&rec, 0, sizeof rec);
    rec.ctx = E->ctx;
    rec.host_cb = cb;
    rec.host_user = cb_user;
    if (st == MC_OK && (st = mc_train(net, &train, &o, record, &rec)) != MC_OK)
        st = lib_fail(E, c->call, st);
    if (begun && E->host->train_end != NULL)
        E->host->train_end(E->host->user, cb_user, st);
    if (st == MC_OK && rec.failed)
        st = nomem(E);
    if (st == MC_OK && c->nout > 1)
        st = info_value(E, &rec, &c->outs[1]);
    recorder_release(&rec);
    mc_dataset_release(E->ctx, &train);
    mc_dataset_release(E->ctx, &valid);
    if (st != MC_OK) {
        mc_net_destroy(net);
        return st;
    }
    sv *v = sv_new(E->ctx, SV_NET);
    if (v == NULL) {
        mc_net_destroy(net);
        return nomem(E);
    }
    v->net = net;
    c->outs[0] = v;
    return MC_OK;
}

/* The network's scores (N, K) for a datastore, into *scores (mc_free). */
static mc_status net_scores(ev *E, const bcall *c, float **scores, int *N, int *K)
{
    if (c->args[0]->kind != SV_NET)
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID, "expected a trained network, not %s",
                       sv_kind_name(c->args[0]));
    mc_net *net = c->args[0]->net;
    mc_dataset ds;
    mc_status st = read_data(E, arg_at(c, 1), net, c->args[1], NULL, "input", &ds);
    if (st != MC_OK)
        return st;
    *N = ds.shape.dims[0];
    *K = mc_net_num_classes(net);
    *scores = mc_alloc(E->ctx, (size_t)*N * (size_t)*K * sizeof **scores + 1);
    if (*scores == NULL)
        st = nomem(E);
    const size_t per = mc_shape_numel(&ds.shape) / (size_t)*N;
    const int batch = mc_net_max_batch(net);
    for (int n = 0; st == MC_OK && n < *N; n += batch) {
        const int b = *N - n < batch ? *N - n : batch;
        st = mc_net_forward(net, ds.x + (size_t)n * per, b, MC_MODE_INFERENCE);
        if (st != MC_OK) {
            st = lib_fail(E, c->call, st);
            break;
        }
        memcpy(*scores + (size_t)n * *K, mc_net_scores(net), (size_t)b * *K * sizeof **scores);
    }
    mc_dataset_release(E->ctx, &ds);
    if (st != MC_OK) {
        mc_free(E->ctx, *scores);
        *scores = NULL;
    }
    return st;
}

static mc_status scores_value(ev *E, const float *scores, int N, int K, sv **out)
{
    sv *v = sv_num(E->ctx, N, K);
    if (v == NULL)
        return nomem(E);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++)
            v->re[(size_t)k * N + i] = scores[(size_t)i * K + k];
    *out = v;
    return MC_OK;
}

static mc_status b_classify(bcall *c)
{
    ev *E = c->E;
    float *scores = NULL;
    int N = 0, K = 0;
    mc_status st = net_scores(E, c, &scores, &N, &K);
    if (st != MC_OK)
        return st;
    mc_layer *out = output_layer(c->args[0]->net);
    char **names = mc__calloc(E->ctx, (size_t)K + 1, sizeof *names);
    char numbers[16];
    for (int k = 0; names != NULL && k < K; k++) {
        const char *name = out != NULL && mc_classification_num_classes(out) == K
                               ? mc_classification_class_name(out, k)
                               : NULL;
        if (name == NULL) {
            snprintf(numbers, sizeof numbers, "%d", k + 1);
            name = numbers;
        }
        names[k] = (char *)name;
    }
    /* names borrowed from the layer except the numbered ones, copied by new_categorical */
    sv *v = names != NULL ? new_categorical(E->ctx, N, names, K) : NULL;
    mc_free(E->ctx, names);
    if (v == NULL) {
        mc_free(E->ctx, scores);
        return nomem(E);
    }
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            best = scores[(size_t)i * K + k] > scores[(size_t)i * K + best] ? k : best;
        v->codes[i] = best;
    }
    c->outs[0] = v;
    if (c->nout > 1)
        st = scores_value(E, scores, N, K, &c->outs[1]);
    mc_free(E->ctx, scores);
    return st;
}

static mc_status b_predict(bcall *c)
{
    float *scores = NULL;
    int N = 0, K = 0;
    mc_status st = net_scores(c->E, c, &scores, &N, &K);
    if (st == MC_OK)
        st = scores_value(c->E, scores, N, K, &c->outs[0]);
    mc_free(c->E->ctx, scores);
    return st;
}

static mc_status b_categories(bcall *c)
{
    const sv *x = c->args[0];
    if (x->kind != SV_CATEG)
        return fail_at(c->E, arg_at(c, 0), MC_ERR_INVALID,
                       "categories expects a categorical array, not %s", sv_kind_name(x));
    sv *v = new_cell(c->E->ctx, x->n_cats, 1);
    if (v == NULL)
        return nomem(c->E);
    for (int k = 0; k < x->n_cats; k++)
        if ((v->items[k] = sv_char(c->E->ctx, x->cats[k], strlen(x->cats[k]))) == NULL) {
            sv_release(c->E->ctx, v);
            return nomem(c->E);
        }
    c->outs[0] = v;
    return MC_OK;
}

/* ---- text ---- */

/* A format's escapes (\n, \t, \\, \a ...), as fprintf and sprintf read them. */
static void put_escaped(sc_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            const char e = s[++i];
            const char r = e == 'n'    ? '\n'
                           : e == 't'  ? '\t'
                           : e == 'r'  ? '\r'
                           : e == 'a'  ? '\a'
                           : e == '\\' ? '\\'
                                       : 0;
            if (r != 0)
                sc_buf_put(b, &r, 1);
            else {
                sc_buf_put(b, "\\", 1);
                sc_buf_put(b, &e, 1);
            }
        } else {
            sc_buf_put(b, s + i, 1);
        }
    }
}

/* The arguments of a format, flattened into one list of numbers and texts. */
typedef struct fmt_arg {
    const char *text; /* NULL for a number */
    double num;
} fmt_arg;

static mc_status format_text(ev *E, const bcall *c, int first, sc_buf *b)
{
    const char *fmt;
    mc_status st = want_text(E, arg_at(c, first), c->args[first], "the format", &fmt);
    if (st != MC_OK)
        return st;
    size_t total = 0;
    for (int i = first + 1; i < c->n; i++) {
        const sv *a = c->args[i];
        if (sv_is_text(a))
            total++;
        else if (a->kind == SV_NUM)
            total += sv_numel(a);
        else if (a->kind == SV_CATEG || (a->kind == SV_CELL))
            total += sv_numel(a);
        else
            return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                           "a format's values must be numbers or text, not %s", sv_kind_name(a));
    }
    fmt_arg *args = mc__calloc(E->ctx, total + 1, sizeof *args);
    if (args == NULL)
        return nomem(E);
    size_t n = 0;
    for (int i = first + 1; i < c->n; i++) {
        const sv *a = c->args[i];
        if (sv_is_text(a)) {
            args[n++].text = a->text;
        } else if (a->kind == SV_NUM) {
            for (size_t k = 0; k < sv_numel(a); k++)
                args[n++].num = a->re[k];
        } else if (a->kind == SV_CATEG) {
            for (size_t k = 0; k < sv_numel(a); k++)
                args[n++].text = a->codes[k] < 0 ? "<undefined>" : a->cats[a->codes[k]];
        } else {
            for (size_t k = 0; k < sv_numel(a); k++) {
                if (!sv_is_text(a->items[k])) {
                    mc_free(E->ctx, args);
                    return fail_at(E, arg_at(c, i), MC_ERR_INVALID,
                                   "a format's cell values must be text");
                }
                args[n++].text = a->items[k]->text;
            }
        }
    }
    size_t used = 0;
    const size_t flen = strlen(fmt);
    /* the format is applied again while values remain (MATLAB's recycling) */
    for (bool once = true; once || used < n; once = false) {
        size_t lit = 0;
        bool took = false;
        for (size_t i = 0; i < flen; i++) {
            if (fmt[i] != '%') {
                lit++;
                continue;
            }
            put_escaped(b, fmt + i - lit, lit);
            lit = 0;
            if (i + 1 < flen && fmt[i + 1] == '%') {
                sc_buf_put(b, "%", 1);
                i++;
                continue;
            }
            size_t j = i + 1;
            while (j < flen && strchr("-+ #0123456789.", fmt[j]) != NULL)
                j++;
            if (j >= flen) {
                sc_buf_put(b, fmt + i, flen - i);
                i = flen;
                break;
            }
            const char conv = fmt[j];
            char spec[48];
            const int sl = (int)(j - i < 40 ? j - i : 40);
            if (used >= n && !once) {
                i = flen;
                break;
            }
            if (used >= n) { /* no value left: MATLAB stops the output here */
                i = flen;
                took = true;
                break;
            }
            const fmt_arg *a = &args[used++];
            took = true;
            if (strchr("dicuoxXfeEgG", conv) != NULL && a->text == NULL) {
                double x = a->num;
                if (strchr("dicuoxX", conv) != NULL && x != floor(x)) {
                    snprintf(spec, sizeof spec, "%.*se", sl, fmt + i);
                    sc_buf_printf(b, spec, x);
                } else if (strchr("dicuoxX", conv) != NULL) {
                    snprintf(spec, sizeof spec, "%.*s.0f", sl, fmt + i);
                    sc_buf_printf(b, spec, x);
                } else {
                    snprintf(spec, sizeof spec, "%.*s%c", sl, fmt + i, conv);
                    sc_buf_printf(b, spec, x);
                }
            } else if (conv == 's' || conv == 'c') {
                snprintf(spec, sizeof spec, "%.*ss", sl, fmt + i);
                if (a->text != NULL) {
                    sc_buf_printf(b, spec, a->text);
                } else {
                    char num[64];
                    snprintf(num, sizeof num, a->num == floor(a->num) ? "%.0f" : "%g", a->num);
                    sc_buf_printf(b, spec, num);
                }
            } else if (a->text != NULL) { /* a number's conversion of text: the text */
                sc_buf_put(b, a->text, strlen(a->text));
            } else {
                mc_free(E->ctx, args);
                return fail_at(E, arg_at(c, first), MC_ERR_INVALID,
                               "the format's conversion '%%%c' is not supported", conv);
            }
            i = j;
        }
        if (lit > 0)
            put_escaped(b, fmt + flen - lit, lit);
        if (!took)
            break;
    }
    mc_free(E->ctx, args);
    return b->failed ? nomem(E) : MC_OK;
}

static mc_status b_fprintf(bcall *c)
{
    sc_buf b = {c->E->ctx, NULL, 0, 0, false};
    if (c->n > 0 && is_scalar_num(c->args[0]) && c->n > 1 &&
        (c->args[0]->re[0] == 1 || c->args[0]->re[0] == 2)) /* fprintf(1, ...) */
        return fail_at(c->E, arg_at(c, 0), MC_ERR_INVALID,
                       "fprintf to a file identifier is not supported; use fprintf(format, ...)");
    mc_status st = format_text(c->E, c, 0, &b);
    if (st == MC_OK && b.p != NULL && c->E->host != NULL && c->E->host->print != NULL)
        c->E->host->print(c->E->host->user, b.p);
    mc_free(c->E->ctx, b.p);
    return st;
}

static mc_status b_sprintf(bcall *c)
{
    sc_buf b = {c->E->ctx, NULL, 0, 0, false};
    mc_status st = format_text(c->E, c, 0, &b);
    if (st == MC_OK)
        st = (c->outs[0] = sv_char(c->E->ctx, b.p != NULL ? b.p : "", b.len)) ? MC_OK : nomem(c->E);
    mc_free(c->E->ctx, b.p);
    return st;
}

static mc_status b_num2str(bcall *c)
{
    const sv *x = c->args[0];
    if (sv_is_text(x))
        return (c->outs[0] = sv_char(c->E->ctx, x->text, strlen(x->text))) ? MC_OK : nomem(c->E);
    mc_status st = want_numeric(c->E, arg_at(c, 0), x, "num2str");
    if (st != MC_OK)
        return st;
    sc_buf b = {c->E->ctx, NULL, 0, 0, false};
    for (size_t i = 0; i < sv_numel(x); i++) {
        const double v = x->re[i];
        if (i > 0)
            sc_buf_put(&b, "  ", 2);
        if (v == floor(v) && fabs(v) < 1e15)
            sc_buf_printf(&b, "%.0f", v);
        else {
            const int digits = (fabs(v) >= 1 ? (int)floor(log10(fabs(v))) : 0) + 5;
            sc_buf_printf(&b, "%.*g", digits, v);
        }
    }
    st = b.failed                                                           ? nomem(c->E)
         : (c->outs[0] = sv_char(c->E->ctx, b.p != NULL ? b.p : "", b.len)) ? MC_OK
                                                                            : nomem(c->E);
    mc_free(c->E->ctx, b.p);
    return st;
}

static mc_status b_disp(bcall *c)
{
    const sv *x = c->args[0];
    char *text = NULL;
    if (sv_is_text(x)) {
        sc_buf b = {c->E->ctx, NULL, 0, 0, false};
        sc_buf_printf(&b, "%s\n", x->text);
        text = b.p;
    } else {
        char *full = sv_display(c->E->ctx, "x", x);
        if (full == NULL)
            return nomem(c->E);
        /* the display without its "x =" line and the blank lines around the value */
        const char *body = strstr(full, "\n\n");
        body = body != NULL ? body + 2 : full;
        size_t len = strlen(body);
        while (len >= 2 && body[len - 1] == '\n' && body[len - 2] == '\n')
            len--;
        text = mc_alloc(c->E->ctx, len + 1);
        if (text != NULL) {
            memcpy(text, body, len);
            text[len] = '\0';
        }
        mc_free(c->E->ctx, full);
    }
    if (text == NULL)
        return nomem(c->E);
    if (c->E->host != NULL && c->E->host->print != NULL)
        c->E->host->print(c->E->host->user, text);
    mc_free(c->E->ctx, text);
    return MC_OK;
}

static bool is_model_file(const char *path)
{
    const size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".mcnn") == 0;
}

/* save('model.mcnn', 'net'): a trained network as a minicnn model file. */
static mc_status b_save(bcall *c)
{
    ev *E = c->E;
    const char *path, *name;
    mc_status st = want_text(E, arg_at(c, 0), c->args[0], "save's file name", &path);
    if (st == MC_OK)
        st = want_text(E, arg_at(c, 1), c->args[1], "the variable's name", &name);
    if (st != MC_OK)
        return st;
    const var *x = find_var(E, name);
    if (!is_model_file(path) || x == NULL || x->value->kind != SV_NET)
        return fail_at(E, c->call, MC_ERR_INVALID,
                       "minicnn saves a trained network as a model file: save('NAME.mcnn', "
                       "'net') with net from trainNetwork%s%s%s",
                       x == NULL ? " ('" : "", x == NULL ? name : "",
                       x == NULL ? "' is not a variable)" : "");
    if ((st = mc_model_save(x->value->net, path)) != MC_OK)
        return lib_fail(E, c->call, st);
    return MC_OK;
}

/* S = load('file.mat'): a struct of the file's variables. */
static mc_status b_load(bcall *c)
{
    ev *E = c->E;
    const char *path;
    mc_status st = want_text(E, arg_at(c, 0), c->args[0], "load's file name", &path);
    if (st != MC_OK)
        return st;
    if (is_model_file(path)) { /* net = load('model.mcnn') */
        sv *v = sv_new(E->ctx, SV_NET);
        if (v == NULL)
            return nomem(E);
        if ((st = mc_model_load(E->ctx, path, 128, &v->net)) != MC_OK) {
            sv_release(E->ctx, v);
            return lib_fail(E, arg_at(c, 0), st);
        }
        c->outs[0] = v;
        return MC_OK;
    }
    char **names = NULL;
    sv **values = NULL;
    int n = 0;
    if ((st = sc_mat_load(E->ctx, path, &names, &values, &n)) != MC_OK)
        return lib_fail(E, arg_at(c, 0), st);
    sv *v = sv_new(E->ctx, SV_STRUCT);
    if (v == NULL) {
        for (int i = 0; i < n; i++) {
            mc_free(E->ctx, names[i]);
            sv_release(E->ctx, values[i]);
        }
        mc_free(E->ctx, names);
        mc_free(E->ctx, values);
        return nomem(E);
    }
    v->names = names;
    v->items = values;
    v->n_cols = n;
    c->outs[0] = v;
    return MC_OK;
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* categorical(x): numbers (their categories the sorted distinct values, named as MATLAB names
 * them: 0, 1, 2.5) or a cell array of text (sorted distinct texts). */
static mc_status b_categorical(bcall *c)
{
    ev *E = c->E;
    const sv *x = c->args[0];
    if (x->kind == SV_CATEG) {
        c->outs[0] = sv_retain((sv *)x);
        return MC_OK;
    }
    const size_t n = sv_numel(x);
    if (x->kind != SV_NUM && x->kind != SV_CELL)
        return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                       "categorical takes numbers or a cell array of text, not %s",
                       sv_kind_name(x));
    for (size_t i = 0; x->kind == SV_CELL && i < n; i++)
        if (!sv_is_text(x->items[i]))
            return fail_at(E, arg_at(c, 0), MC_ERR_INVALID,
                           "categorical's cell array must hold text, not %s",
                           sv_kind_name(x->items[i]));
    double *nums = x->kind == SV_NUM ? mc_alloc(E->ctx, (n ? n : 1) * sizeof *nums) : NULL;
    char **texts = x->kind == SV_CELL ? mc_alloc(E->ctx, (n ? n : 1) * sizeof *texts) : NULL;
    char **cats = mc__calloc(E->ctx, n + 1, sizeof *cats);
    char(*numbered)[32] = x->kind == SV_NUM ? mc_alloc(E->ctx, (n ? n : 1) * 32) : NULL;
    mc_status st = MC_OK;
    if (cats == NULL || (x->kind == SV_NUM ? nums == NULL || numbered == NULL : texts == NULL))
        st = nomem(E);
    int K = 0;
    if (st == MC_OK && x->kind == SV_NUM) {
        memcpy(nums, x->re, n * sizeof *nums);
        qsort(nums, n, sizeof *nums, compare_doubles);
        for (size_t i = 0; i < n; i++) {
            if (isnan(nums[i]))
                continue; /* NaN is <undefined> */
            if (K > 0 && nums[i] == nums[i - 1])
                continue;
            snprintf(numbered[K], 32, "%.15g", nums[i]);
            cats[K] = numbered[K];
            nums[K++] = nums[i];
        }
    } else if (st == MC_OK) {
        for (size_t i = 0; i < n; i++)
            texts[i] = x->items[i]->text;
        qsort(texts, n, sizeof *texts, compare_strings);
        for (size_t i = 0; i < n; i++)
            if (K == 0 || strcmp(texts[i], cats[K - 1]) != 0)
                cats[K++] = texts[i];
    }
    sv *v = st == MC_OK ? new_categorical(E->ctx, (int)n, cats, K) : NULL;
    if (st == MC_OK && v == NULL)
        st = nomem(E);
    for (size_t i = 0; st == MC_OK && i < n; i++) {
        int code = -1;
        for (int k = 0; k < K && code < 0; k++) /* categories are few: a linear search */
            if (x->kind == SV_NUM ? x->re[i] == nums[k] : strcmp(x->items[i]->text, cats[k]) == 0)
                code = k;
        v->codes[i] = code;
    }
    if (v != NULL) {
        v->nd = x->nd;
        memcpy(v->dims, x->dims, sizeof v->dims);
    }
    mc_free(E->ctx, nums);
    mc_free(E->ctx, texts);
    mc_free(E->ctx, cats);
    mc_free(E->ctx, numbered);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    c->outs[0] = v;
    return MC_OK;
}

static mc_status b_class(bcall *c)
{
    const char *name = sv_class(c->args[0]);
    return (c->outs[0] = sv_char(c->E->ctx, name, strlen(name))) ? MC_OK : nomem(c->E);
}

static mc_status b_nothing(bcall *c)
{
    (void)c;
    return MC_OK;
}

static const builtin builtins[] = {
    {"matlabroot", 0, 0, 1, b_matlabroot, 0},
    {"fullfile", 1, 64, 1, b_fullfile, 0},
    {"imageDatastore", 1, 7, 1, b_imageDatastore, 0},
    {"countEachLabel", 1, 1, 1, b_countEachLabel, 0},
    {"readimage", 2, 2, 1, b_readimage, 0},
    {"splitEachLabel", 2, 4, 3, b_splitEachLabel, 0},
    {"trainingOptions", 1, 99, 1, b_trainingOptions, 0},
    {"trainNetwork", 3, 4, 2, b_trainNetwork, 0},
    {"classify", 2, 2, 2, b_classify, 0},
    {"predict", 2, 2, 1, b_predict, 0},
    {"categories", 1, 1, 1, b_categories, 0},
    {"size", 1, 2, 4, b_size, 0},
    {"numel", 1, 1, 1, b_numel, 0},
    {"length", 1, 1, 1, b_length, 0},
    {"sum", 1, 1, 1, b_sum, 0},
    {"mean", 1, 1, 1, b_mean, 0},
    {"max", 1, 1, 1, b_max, 0},
    {"min", 1, 1, 1, b_min, 0},
    {"round", 1, 1, 1, b_round, 0},
    {"floor", 1, 1, 1, b_floor, 0},
    {"ceil", 1, 1, 1, b_ceil, 0},
    {"abs", 1, 1, 1, b_abs, 0},
    {"sqrt", 1, 1, 1, b_sqrt, 0},
    {"isnan", 1, 1, 1, b_isnan, 0},
    {"zeros", 1, 2, 1, b_zeros, 0},
    {"ones", 1, 2, 1, b_ones, 0},
    {"randperm", 1, 2, 1, b_randperm, 0},
    {"rng", 1, 1, 0, b_rng, BI_NOVALUE},
    {"fprintf", 1, 99, 0, b_fprintf, BI_NOVALUE},
    {"sprintf", 1, 99, 1, b_sprintf, 0},
    {"num2str", 1, 1, 1, b_num2str, 0},
    {"class", 1, 1, 1, b_class, 0},
    {"layerGraph", 0, 1, 1, b_layerGraph, 0},
    {"addLayers", 2, 2, 1, b_addLayers, 0},
    {"connectLayers", 3, 3, 1, b_connectLayers, 0},
    {"disconnectLayers", 3, 3, 1, b_disconnectLayers, 0},
    {"load", 1, 1, 1, b_load, 0},
    {"save", 2, 2, 0, b_save, BI_NOVALUE},
    {"categorical", 1, 1, 1, b_categorical, 0},
    {"disp", 1, 1, 0, b_disp, BI_NOVALUE},
    /* display-only: skipped with a note */
    {"figure", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"imshow", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"subplot", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"montage", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"title", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"plot", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"xlabel", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"ylabel", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"legend", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"hold", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"axis", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"grid", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"drawnow", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"close", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"clc", 0, 0, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"imagesc", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"colormap", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
    {"colorbar", 0, 99, 0, b_nothing, BI_DISPLAY | BI_NOVALUE},
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static const builtin *find_builtin(const char *name)
{
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

static bool is_constant(const char *name)
{
    static const char *const k[] = {"true", "false", "pi", "Inf", "inf", "NaN", "nan", "eps", NULL};
    for (int i = 0; k[i] != NULL; i++)
        if (strcmp(k[i], name) == 0)
            return true;
    return false;
}

static double constant_value(const char *name)
{
    if (strcmp(name, "true") == 0)
        return 1;
    if (strcmp(name, "false") == 0)
        return 0;
    if (strcmp(name, "pi") == 0)
        return 3.14159265358979323846;
    if (strcmp(name, "eps") == 0)
        return 2.220446049250313e-16;
    if (name[0] == 'I' || name[0] == 'i')
        return INFINITY;
    return NAN;
}

/* ---- checking ---- */

static const char *const graph_functions[] = {
    "layerGraph",   "addLayers", "connectLayers", "disconnectLayers", "replaceLayer",
    "removeLayers", NULL};

/* The names a misspelt one may have meant: variables, functions and layer functions. */
static const char *suggest(ev *E, const char *word)
{
    const char *names[256];
    int n = 0;
    for (size_t i = 0; i < N_BUILTINS && n < 120; i++)
        names[n++] = builtins[i].name;
    for (const char *f; n < 170 && (f = mc_netfile_layer_function(n - (int)N_BUILTINS)) != NULL;)
        names[n++] = f;
    for (int i = 0; i < E->n_known && n < 250; i++)
        names[n++] = E->known[i];
    names[n] = NULL;
    return mc__closest(word, names);
}

static mc_status unknown_name(ev *E, const expr *e)
{
    const char *name = e->str;
    for (int i = 0; graph_functions[i] != NULL; i++)
        if (strcmp(graph_functions[i], name) == 0)
            return fail_at(E, e, MC_ERR_FORMAT,
                           "'%s' is not supported by minicnn run yet (network files take layer "
                           "graphs: minicnn train --net FILE.net)",
                           name);
    static const struct {
        const char *name, *why;
    } later[] = {
        {"augmentedImageDatastore", "augmented datastores are not supported by minicnn run yet"},
        {"imageDataAugmenter", "data augmentation is not supported by minicnn run yet"},
        {"readtable", "readtable is not supported by minicnn run yet"},
        {"analyzeNetwork", "analyzeNetwork is not supported by minicnn run yet (minicnn info "
                           "FILE.net shows the table)"},
        {"confusionchart", "confusionchart is not supported by minicnn run yet"},
        {"confusionmat", "confusionmat is not supported by minicnn run yet"},
        {"imread", "imread is not supported by minicnn run yet; use readimage(imds, i)"},
        {"tic", "tic/toc are not supported: their times differ from run to run"},
        {"toc", "tic/toc are not supported: their times differ from run to run"},
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (strcmp(later[i].name, name) == 0)
            return fail_at(E, e, MC_ERR_FORMAT, "%s", later[i].why);
    const nf_matlab_name *m = nf_find_matlab_name(name);
    if (m != NULL)
        return fail_at(E, e, MC_ERR_FORMAT, "'%s' is a MATLAB %s that minicnn does not provide%s%s",
                       name, m->is_layer ? "layer" : "function", m->hint ? "; " : "",
                       m->hint ? m->hint : "");
    const char *near = suggest(E, name);
    return fail_at(E, e, MC_ERR_FORMAT, "unknown function or variable '%s'%s%s%s", name,
                   near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static mc_status check_expr(ev *E, const expr *e);

/* A literal: a number, text, or brackets of literals. */
static bool is_literal(const expr *e)
{
    switch (e->kind) {
    case EX_NUM:
    case EX_CHAR:
    case EX_STRING:
        return true;
    case EX_IDENT:
        return is_constant(e->str);
    case EX_UNARY:
        return is_literal(e->a);
    case EX_MATRIX:
    case EX_CELL:
        for (int i = 0; i < e->n; i++)
            if (!is_literal(e->items[i]))
                return false;
        return true;
    default:
        return false;
    }
}

static mc_status eval_expr(ev *E, const expr *e, sv **out);

/* trainingOptions with literal option names: each name checked before anything runs. */
static mc_status check_literal_options(ev *E, const expr *call, const char *fn)
{
    const char *const *names =
        strcmp(fn, "trainingOptions") == 0 ? training_option_names : datastore_options;
    for (int i = 1; i + 1 <= call->n; i += 2) {
        const expr *a = call->items[i];
        if (a->kind != EX_CHAR && a->kind != EX_STRING)
            continue;
        bool ok = false;
        for (int k = 0; names[k] != NULL; k++)
            ok |= strcasecmp(names[k], a->str) == 0;
        if (ok)
            continue;
        if (strcmp(fn, "trainingOptions") == 0)
            for (int k = 0; training_options_lacked[k] != NULL; k++)
                if (strcasecmp(a->str, training_options_lacked[k]) == 0)
                    return fail_at(E, a, MC_ERR_FORMAT,
                                   "trainingOptions: MATLAB's option '%s' is not supported by "
                                   "minicnn",
                                   training_options_lacked[k]);
        const char *near = mc__closest(a->str, names);
        return fail_at(E, a, MC_ERR_FORMAT, "%s: unknown option '%s'%s%s%s", fn, a->str,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    return MC_OK;
}

static mc_status check_call(ev *E, const expr *e)
{
    const expr *f = e->a;
    for (int i = 0; i < e->n; i++) {
        mc_status st = check_expr(E, e->items[i]);
        if (st != MC_OK)
            return st;
    }
    if (f->kind != EX_IDENT)
        return check_expr(E, f);
    if (is_known(E, f->str))
        return MC_OK; /* indexing a variable */
    const builtin *b = find_builtin(f->str);
    if (b != NULL) {
        if (e->kind == EX_CALL && (e->n < b->min_args || e->n > b->max_args))
            return fail_at(E, f, MC_ERR_FORMAT, "%s takes %d%s%d argument%s, not %d", b->name,
                           b->min_args, b->max_args == b->min_args ? "" : " to ",
                           b->max_args == b->min_args ? 0 : b->max_args,
                           b->max_args == 1 ? "" : "s", e->n);
        if (strcmp(b->name, "trainingOptions") == 0 || strcmp(b->name, "imageDatastore") == 0)
            return check_literal_options(E, e, b->name);
        if (strcmp(b->name, "load") == 0 && e->n == 1 &&
            (e->items[0]->kind == EX_CHAR || e->items[0]->kind == EX_STRING) &&
            !is_model_file(e->items[0]->str)) {
            /* the file is there and is a MAT-file: found before anything runs */
            char **names = NULL;
            int n = 0;
            mc_status st = sc_mat_names(E->ctx, e->items[0]->str, &names, &n);
            for (int i = 0; i < n; i++)
                mc_free(E->ctx, names[i]);
            mc_free(E->ctx, names);
            return st == MC_OK ? MC_OK : lib_fail(E, e->items[0], st);
        }
        return MC_OK;
    }
    const nf_layer_fn *lf = nf_find_layer_fn(f->str);
    if (lf != NULL) {
        /* a layer call with literal arguments is built once now: its errors come first */
        bool literal = true;
        for (int i = 0; i < e->n; i++)
            literal &= is_literal(e->items[i]);
        if (!literal)
            return MC_OK;
        sv *v = NULL;
        E->checking = false;
        mc_status st = eval_expr(E, e, &v);
        E->checking = true;
        sv_release(E->ctx, v);
        return st;
    }
    return unknown_name(E, f);
}

static mc_status check_expr(ev *E, const expr *e)
{
    if (e == NULL)
        return MC_OK;
    switch (e->kind) {
    case EX_IDENT:
        if (is_known(E, e->str) || is_constant(e->str) || nf_find_layer_fn(e->str) != NULL)
            return MC_OK;
        if (find_builtin(e->str) != NULL) {
            const builtin *b = find_builtin(e->str);
            if (b->min_args > 0)
                return fail_at(E, e, MC_ERR_FORMAT, "%s needs arguments", e->str);
            return MC_OK;
        }
        return unknown_name(E, e);
    case EX_CALL:
    case EX_BRACE:
        return check_call(E, e);
    case EX_FIELD:
        return check_expr(E, e->a);
    default: {
        mc_status st = check_expr(E, e->a);
        if (st == MC_OK)
            st = check_expr(E, e->b);
        if (st == MC_OK)
            st = check_expr(E, e->c);
        for (int i = 0; st == MC_OK && i < e->n; i++)
            st = check_expr(E, e->items[i]);
        return st;
    }
    }
}

/* The file of `load('file.mat')` or `load file.mat` as a statement (the workspace gets the
 * file's variables), or NULL when st is not one. *literal is the file name when written as
 * text. */
static bool is_workspace_load(ev *E, const stmt *st, const expr **arg, const char **literal)
{
    *arg = NULL;
    *literal = NULL;
    if (st->kind == ST_COMMAND && strcmp(st->outs[0], "load") == 0) {
        *literal = st->n_outs > 1 ? st->outs[1] : NULL;
        return true;
    }
    if (st->kind != ST_EXPR || st->rhs->kind != EX_CALL || st->rhs->a->kind != EX_IDENT ||
        strcmp(st->rhs->a->str, "load") != 0 || find_var(E, "load") != NULL || is_known(E, "load"))
        return false;
    if (st->rhs->n == 1) {
        *arg = st->rhs->items[0];
        if ((*arg)->kind == EX_CHAR || (*arg)->kind == EX_STRING)
            *literal = (*arg)->str;
    }
    return true;
}

/* The variables a workspace load defines, known while checking: the file is listed now, so
 * that a missing file or variable stops the script before it runs. */
static mc_status check_load(ev *E, const stmt *st)
{
    const expr *arg;
    const char *path;
    is_workspace_load(E, st, &arg, &path);
    if (path == NULL)
        return fail_at(E, arg, MC_ERR_FORMAT,
                       "load into the workspace needs the file name written as text, so that "
                       "the script's names can be checked before it runs (or S = load(...))");
    if (is_model_file(path))
        return fail_at(E, arg, MC_ERR_FORMAT,
                       "a minicnn model file loads into a variable: net = load('%s')", path);
    if (st->kind == ST_COMMAND && st->n_outs > 2)
        return fail_at(E, NULL, MC_ERR_FORMAT,
                       "load of chosen variables is not supported; load the whole file");
    char **names = NULL;
    int n = 0;
    mc_status rc = sc_mat_names(E->ctx, path, &names, &n);
    if (rc != MC_OK)
        return lib_fail(E, arg, rc);
    char **grown = mc_alloc(E->ctx, (size_t)(E->n_owned + n + 1) * sizeof *grown);
    if (grown == NULL) {
        for (int i = 0; i < n; i++)
            mc_free(E->ctx, names[i]);
        mc_free(E->ctx, names);
        return nomem(E);
    }
    if (E->n_owned > 0)
        memcpy(grown, E->owned, (size_t)E->n_owned * sizeof *grown);
    mc_free(E->ctx, E->owned);
    E->owned = grown;
    for (int i = 0; i < n; i++)
        E->owned[E->n_owned++] = names[i];
    mc_free(E->ctx, names);
    for (int i = 0; rc == MC_OK && i < n; i++)
        rc = add_known(E, E->owned[E->n_owned - n + i]);
    return rc;
}

/* Whether a statement only displays something: a call of a display function. */
static bool display_only(ev *E, stmt *st)
{
    if (st->kind == ST_COMMAND) {
        const builtin *b = find_builtin(st->outs[0]);
        return b != NULL && (b->flags & BI_DISPLAY);
    }
    if (st->kind == ST_FOR) {
        for (int i = 0; i < st->n_body; i++)
            if (!display_only(E, st->body[i]))
                return false;
        return st->n_body > 0;
    }
    if (st->kind != ST_EXPR)
        return false;
    const expr *e = st->rhs;
    const expr *f = e->kind == EX_CALL ? e->a : e;
    if (f->kind != EX_IDENT || is_known(E, f->str))
        return false;
    const builtin *b = find_builtin(f->str);
    return b != NULL && (b->flags & BI_DISPLAY);
}

static mc_status check_stmt(ev *E, stmt *st)
{
    E->st = st;
    mc_status rc = MC_OK;
    st->skip = display_only(E, st);
    switch (st->kind) {
    case ST_COMMAND: {
        const char *w = st->outs[0];
        if (strcmp(w, "load") == 0)
            return check_load(E, st);
        if (strcmp(w, "clear") == 0 || strcmp(w, "format") == 0 || strcmp(w, "warning") == 0 ||
            strcmp(w, "more") == 0 || st->skip)
            return MC_OK;
        return fail_at(E, NULL, MC_ERR_FORMAT, "the command '%s' is not supported", w);
    }
    case ST_FOR:
        rc = check_expr(E, st->rhs);
        if (rc == MC_OK)
            rc = add_known(E, st->outs[0]);
        for (int i = 0; rc == MC_OK && i < st->n_body; i++)
            rc = check_stmt(E, st->body[i]);
        E->st = st;
        return rc;
    case ST_ASSIGN: {
        rc = check_expr(E, st->rhs);
        const expr *f = st->rhs->kind == EX_CALL ? st->rhs->a : st->rhs;
        if (rc == MC_OK && st->n_outs > 1 && f->kind == EX_IDENT && !is_known(E, f->str)) {
            const builtin *b = find_builtin(f->str);
            if (b != NULL && st->n_outs > b->max_outs)
                rc = fail_at(E, f, MC_ERR_FORMAT, "%s gives at most %d output%s, not %d", b->name,
                             b->max_outs, b->max_outs == 1 ? "" : "s", st->n_outs);
        }
        if (rc == MC_OK && st->rhs->kind == EX_CALL && f->kind == EX_IDENT &&
            !is_known(E, f->str) && find_builtin(f->str) != NULL &&
            (find_builtin(f->str)->flags & BI_NOVALUE) &&
            !(find_builtin(f->str)->flags & BI_DISPLAY))
            rc = fail_at(E, f, MC_ERR_FORMAT, "%s gives no value to assign", f->str);
        for (int i = 0; rc == MC_OK && i < st->n_outs; i++)
            rc = add_known(E, st->outs[i]);
        return rc;
    }
    case ST_EXPR: {
        const expr *arg;
        const char *path;
        if (is_workspace_load(E, st, &arg, &path)) {
            rc = check_expr(E, st->rhs);
            return rc == MC_OK ? check_load(E, st) : rc;
        }
        rc = check_expr(E, st->rhs);
        if (rc == MC_OK && !st->skip)
            rc = add_known(E, "ans");
        return rc;
    }
    }
    return MC_OK;
}

/* ---- evaluation ---- */

static mc_status eval_call(ev *E, const expr *e, sv **outs, int nout);

static sv *num_like(mc_ctx *ctx, const sv *shape)
{
    sv *v = sv_new(ctx, SV_NUM);
    const size_t n = sv_numel(shape);
    if (v == NULL || (v->re = mc__calloc(ctx, n ? n : 1, sizeof *v->re)) == NULL) {
        sv_release(ctx, v);
        return NULL;
    }
    v->nd = shape->nd;
    memcpy(v->dims, shape->dims, sizeof v->dims);
    return v;
}

static bool same_dims(const sv *a, const sv *b)
{
    int na, da[4], nb, db[4];
    value_dims(a, &na, da);
    value_dims(b, &nb, db);
    for (int i = 0; i < 4; i++)
        if ((i < na ? da[i] : 1) != (i < nb ? db[i] : 1))
            return false;
    return true;
}

/* categorical == categorical (by category name) or == text. */
static mc_status compare_categorical(ev *E, const expr *e, const sv *a, const sv *b, sv **out)
{
    if (a->kind != SV_CATEG) {
        const sv *t = a;
        a = b;
        b = t;
    }
    const size_t n = sv_numel(a);
    if (b->kind == SV_CATEG && sv_numel(b) != n && sv_numel(b) != 1)
        return fail_at(E, e, MC_ERR_SHAPE,
                       "the categorical arrays compared have %zu and %zu elements", n, sv_numel(b));
    if (b->kind != SV_CATEG && !sv_is_text(b))
        return fail_at(E, e, MC_ERR_INVALID,
                       "a categorical array compares with a categorical array or text, not %s",
                       sv_kind_name(b));
    sv *v = num_like(E->ctx, a);
    if (v == NULL)
        return nomem(E);
    v->logical = true;
    for (size_t i = 0; i < n; i++) {
        const char *x = a->codes[i] < 0 ? NULL : a->cats[a->codes[i]];
        const char *y;
        if (b->kind == SV_CATEG) {
            const int code = b->codes[sv_numel(b) == 1 ? 0 : i];
            y = code < 0 ? NULL : b->cats[code];
        } else {
            y = b->text;
        }
        const bool eq = x != NULL && y != NULL && strcmp(x, y) == 0;
        v->re[i] = e->op == OP_EQ ? eq : !eq;
    }
    *out = v;
    return MC_OK;
}

static mc_status eval_binary(ev *E, const expr *e, sv *a, sv *b, sv **out)
{
    if ((a->kind == SV_CATEG || b->kind == SV_CATEG) && (e->op == OP_EQ || e->op == OP_NE))
        return compare_categorical(E, e, a, b, out);
    if (sv_is_text(a) && sv_is_text(b) && (e->op == OP_EQ || e->op == OP_NE) &&
        (a->kind == SV_STRING || b->kind == SV_STRING)) {
        const bool eq = strcmp(a->text, b->text) == 0;
        sv *v = sv_scalar(E->ctx, e->op == OP_EQ ? eq : !eq);
        if (v == NULL)
            return nomem(E);
        v->logical = true;
        *out = v;
        return MC_OK;
    }
    if (a->kind != SV_NUM || b->kind != SV_NUM)
        return fail_at(E, e, MC_ERR_INVALID, "this operator takes numbers, not %s and %s",
                       sv_kind_name(a), sv_kind_name(b));
    const size_t na = sv_numel(a), nb = sv_numel(b);
    if (e->op == OP_MUL && na > 1 && nb > 1)
        return fail_at(E, e, MC_ERR_INVALID,
                       "matrix multiplication is not supported; use .* for elementwise");
    if ((e->op == OP_DIV || e->op == OP_POW) && nb > 1)
        return fail_at(E, e, MC_ERR_INVALID,
                       "matrix division and power are not supported; use ./ and .^");
    if (e->op == OP_POW && na > 1)
        return fail_at(E, e, MC_ERR_INVALID, "matrix power is not supported; use .^");
    if (na != 1 && nb != 1 && !same_dims(a, b))
        return fail_at(E, e, MC_ERR_SHAPE,
                       "the arrays have incompatible sizes (%zu and %zu "
                       "elements)",
                       na, nb);
    sv *v = num_like(E->ctx, na >= nb ? a : b);
    if (v == NULL)
        return nomem(E);
    const size_t n = na >= nb ? na : nb;
    bool logical = false;
    for (size_t i = 0; i < n; i++) {
        const double x = a->re[na == 1 ? 0 : i], y = b->re[nb == 1 ? 0 : i];
        double r = 0;
        switch (e->op) {
        case OP_ADD:
            r = x + y;
            break;
        case OP_SUB:
            r = x - y;
            break;
        case OP_MUL:
        case OP_EMUL:
            r = x * y;
            break;
        case OP_DIV:
        case OP_EDIV:
            r = x / y;
            break;
        case OP_POW:
        case OP_EPOW:
            r = pow(x, y);
            break;
        case OP_EQ:
            r = x == y, logical = true;
            break;
        case OP_NE:
            r = x != y, logical = true;
            break;
        case OP_LT:
            r = x < y, logical = true;
            break;
        case OP_LE:
            r = x <= y, logical = true;
            break;
        case OP_GT:
            r = x > y, logical = true;
            break;
        case OP_GE:
            r = x >= y, logical = true;
            break;
        case OP_AND:
        case OP_ANDAND:
            r = x != 0 && y != 0, logical = true;
            break;
        case OP_OR:
        case OP_OROR:
            r = x != 0 || y != 0, logical = true;
            break;
        default:
            break;
        }
        v->re[i] = r;
    }
    v->logical = logical;
    *out = v;
    return MC_OK;
}

/* Concatenation: [a b; c d] of numbers, text or layers. */
static mc_status eval_matrix(ev *E, const expr *e, sv **out)
{
    const int n = e->n;
    sv **items = mc__calloc(E->ctx, (size_t)n + 1, sizeof *items);
    if (items == NULL)
        return nomem(E);
    mc_status st = MC_OK;
    int k = 0;
    for (; st == MC_OK && k < n; k++)
        st = eval_expr(E, e->items[k], &items[k]);
    bool layers = false, text = false, nums = false;
    for (int i = 0; st == MC_OK && i < n; i++) {
        layers |= items[i]->kind == SV_LAYERS;
        text |= sv_is_text(items[i]);
        nums |= items[i]->kind == SV_NUM;
        if (items[i]->kind != SV_LAYERS && items[i]->kind != SV_NUM && !sv_is_text(items[i]))
            st = fail_at(E, e->items[i], MC_ERR_INVALID, "%s cannot go in [...]",
                         sv_kind_name(items[i]));
    }
    if (st == MC_OK && layers && (text || nums)) {
        for (int i = 0; i < n; i++)
            if (items[i]->kind != SV_LAYERS) {
                st = fail_at(E, e->items[i], MC_ERR_INVALID,
                             "a layer array holds layers only, not %s", sv_kind_name(items[i]));
                break;
            }
    }
    sv *v = NULL;
    if (st == MC_OK && layers) {
        size_t total = 0;
        for (int i = 0; i < n; i++)
            total += sv_numel(items[i]);
        v = sv_new(E->ctx, SV_LAYERS);
        if (v == NULL || (v->recipes = mc__calloc(E->ctx, total + 1, sizeof *v->recipes)) == NULL)
            st = nomem(E);
        size_t at = 0;
        for (int i = 0; st == MC_OK && i < n; i++)
            for (size_t j = 0; st == MC_OK && j < sv_numel(items[i]); j++) {
                const sv_recipe *r = &items[i]->recipes[j];
                sv_recipe *d = &v->recipes[at];
                *d = *r;
                d->args = mc__calloc(E->ctx, (size_t)r->n + 1, sizeof *d->args);
                d->arg_line = mc__calloc(E->ctx, (size_t)r->n + 1, sizeof *d->arg_line);
                d->arg_col = mc__calloc(E->ctx, (size_t)r->n + 1, sizeof *d->arg_col);
                if (d->args == NULL || d->arg_line == NULL || d->arg_col == NULL) {
                    mc_free(E->ctx, d->args);
                    mc_free(E->ctx, d->arg_line);
                    mc_free(E->ctx, d->arg_col);
                    memset(d, 0, sizeof *d);
                    st = nomem(E);
                    break;
                }
                for (int q = 0; q < r->n; q++)
                    d->args[q] = sv_retain(r->args[q]);
                memcpy(d->arg_line, r->arg_line, (size_t)r->n * sizeof *d->arg_line);
                memcpy(d->arg_col, r->arg_col, (size_t)r->n * sizeof *d->arg_col);
                at++;
                v->dims[0] = (int)at;
            }
        if (v != NULL)
            v->dims[0] = (int)at, v->dims[1] = 1;
    } else if (st == MC_OK && text && !nums) {
        sc_buf b = {E->ctx, NULL, 0, 0, false};
        for (int i = 0; i < n; i++)
            sc_buf_put(&b, items[i]->text, strlen(items[i]->text));
        if (b.failed || (v = sv_char(E->ctx, b.p != NULL ? b.p : "", b.len)) == NULL)
            st = nomem(E);
        mc_free(E->ctx, b.p);
    } else if (st == MC_OK && text) {
        st = fail_at(E, e, MC_ERR_INVALID, "mixing numbers and text in [...] is not supported");
    } else if (st == MC_OK) {
        /* rows of numbers: each row the horizontal concatenation of its items' rows */
        const int rows_expr = e->rows;
        int total_rows = 0, cols = -1;
        for (int r = 0; st == MC_OK && r < rows_expr; r++) {
            int rcols = 0, rrows = -1;
            for (int i = 0; i < n; i++) {
                if (e->row_of[i] != r || sv_numel(items[i]) == 0)
                    continue;
                if (items[i]->nd > 2) {
                    st = fail_at(E, e->items[i], MC_ERR_INVALID,
                                 "concatenating arrays of more than 2 dimensions is not "
                                 "supported");
                    break;
                }
                if (rrows >= 0 && items[i]->dims[0] != rrows) {
                    st = fail_at(E, e->items[i], MC_ERR_SHAPE,
                                 "dimensions of arrays being concatenated are not consistent");
                    break;
                }
                rrows = items[i]->dims[0];
                rcols += items[i]->dims[1];
            }
            if (rrows < 0)
                continue;
            if (cols >= 0 && rcols != cols && st == MC_OK)
                st = fail_at(E, e, MC_ERR_SHAPE,
                             "dimensions of arrays being concatenated are not consistent");
            cols = rcols;
            total_rows += rrows;
        }
        if (st == MC_OK) {
            v = sv_num(E->ctx, cols < 0 ? 0 : total_rows, cols < 0 ? 0 : cols);
            if (v == NULL)
                st = nomem(E);
            bool logical = n > 0;
            int row0 = 0;
            for (int r = 0; st == MC_OK && r < rows_expr; r++) {
                int col0 = 0, rrows = 0;
                for (int i = 0; i < n; i++) {
                    const sv *x = items[i];
                    if (e->row_of[i] != r || sv_numel(x) == 0)
                        continue;
                    logical &= x->logical;
                    rrows = x->dims[0];
                    for (int cc = 0; cc < x->dims[1]; cc++)
                        for (int rr = 0; rr < x->dims[0]; rr++)
                            v->re[(size_t)(col0 + cc) * total_rows + row0 + rr] =
                                x->re[(size_t)cc * x->dims[0] + rr];
                    col0 += x->dims[1];
                }
                row0 += rrows;
            }
            if (v != NULL)
                v->logical = logical;
        }
    }
    for (int i = 0; i < k; i++)
        sv_release(E->ctx, items[i]);
    mc_free(E->ctx, items);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    *out = v;
    return MC_OK;
}

static mc_status eval_cell(ev *E, const expr *e, sv **out)
{
    const int rows = e->rows > 0 ? e->rows : 0;
    const int cols = rows > 0 ? e->n / rows : 0;
    if (rows > 0 && cols * rows != e->n)
        return fail_at(E, e, MC_ERR_SHAPE, "the rows of {...} have different lengths");
    sv *v = new_cell(E->ctx, rows, cols);
    if (v == NULL)
        return nomem(E);
    for (int i = 0; i < e->n; i++) {
        const int r = e->row_of[i], c = i - r * cols;
        mc_status st = eval_expr(E, e->items[i], &v->items[(size_t)c * rows + r]);
        if (st != MC_OK) {
            sv_release(E->ctx, v);
            return st;
        }
    }
    *out = v;
    return MC_OK;
}

static mc_status eval_range(ev *E, const expr *e, sv **out)
{
    sv *a = NULL, *b = NULL, *c = NULL;
    mc_status st = eval_expr(E, e->a, &a);
    if (st == MC_OK)
        st = eval_expr(E, e->b, &b);
    if (st == MC_OK && e->c != NULL)
        st = eval_expr(E, e->c, &c);
    double lo = 0, hi = 0, step = 1;
    if (st == MC_OK)
        st = want_scalar(E, e->a, a, "a range's start", &lo);
    if (st == MC_OK)
        st = want_scalar(E, e->b, b, "a range's end", &hi);
    if (st == MC_OK && c != NULL)
        st = want_scalar(E, e->c, c, "a range's step", &step);
    sv_release(E->ctx, a);
    sv_release(E->ctx, b);
    sv_release(E->ctx, c);
    if (st != MC_OK)
        return st;
    if (step == 0 || !isfinite(lo) || !isfinite(hi) || !isfinite(step))
        return fail_at(E, e, MC_ERR_INVALID, "a range needs finite bounds and a non-zero step");
    double count = floor((hi - lo) / step + 1e-10) + 1;
    if (count < 0)
        count = 0;
    if (count > 1e8)
        return fail_at(E, e, MC_ERR_INVALID, "a range of %.0f elements is too long", count);
    sv *v = sv_num(E->ctx, 1, (int)count);
    if (v == NULL)
        return nomem(E);
    for (int i = 0; i < (int)count; i++)
        v->re[i] = lo + i * step;
    *out = v;
    return MC_OK;
}

/* Index arguments into 0-based positions along a dimension of `len` elements. */
static mc_status index_list(ev *E, const expr *at, const sv *ix, size_t len, size_t **out,
                            size_t *n)
{
    *out = NULL;
    *n = 0;
    if (ix == NULL) { /* ':' */
        *out = mc_alloc(E->ctx, (len ? len : 1) * sizeof **out);
        if (*out == NULL)
            return nomem(E);
        for (size_t i = 0; i < len; i++)
            (*out)[i] = i;
        *n = len;
        return MC_OK;
    }
    if (ix->kind != SV_NUM)
        return fail_at(E, at, MC_ERR_INVALID, "an index must be numeric or logical, not %s",
                       sv_kind_name(ix));
    const size_t m = sv_numel(ix);
    *out = mc_alloc(E->ctx, (m ? m : 1) * sizeof **out);
    if (*out == NULL)
        return nomem(E);
    if (ix->logical) {
        if (m > len) {
            mc_free(E->ctx, *out);
            *out = NULL;
            return fail_at(E, at, MC_ERR_INVALID,
                           "the logical index has %zu elements, more than the %zu indexed", m, len);
        }
        for (size_t i = 0; i < m; i++)
            if (ix->re[i] != 0)
                (*out)[(*n)++] = i;
        return MC_OK;
    }
    for (size_t i = 0; i < m; i++) {
        const double x = ix->re[i];
        if (!(x >= 1 && x == floor(x)) || x > (double)len) {
            mc_free(E->ctx, *out);
            *out = NULL;
            if (!(x >= 1 && x == floor(x)))
                return fail_at(E, at, MC_ERR_INVALID,
                               "index must be a positive whole number, not %g (MATLAB indices "
                               "start at 1)",
                               x);
            return fail_at(E, at, MC_ERR_INVALID, "index %g exceeds the %zu elements", x, len);
        }
        (*out)[(*n)++] = (size_t)x - 1;
    }
    return MC_OK;
}

/* base(i), base(i, j), base{i}: numbers, cells, categoricals and layer arrays. */
static mc_status eval_index(ev *E, const expr *e, sv *base, sv **out)
{
    const bool brace = e->kind == EX_BRACE;
    if (brace && base->kind != SV_CELL)
        return fail_at(E, e, MC_ERR_INVALID, "brace indexing {...} needs a cell array, not %s",
                       sv_kind_name(base));
    if (e->n < 1 || e->n > 2)
        return fail_at(E, e, MC_ERR_INVALID, "indexing takes one or two indices");
    if (base->kind != SV_NUM && base->kind != SV_CELL && base->kind != SV_CATEG &&
        base->kind != SV_CHAR)
        return fail_at(E, e, MC_ERR_INVALID, "%s cannot be indexed with (...)", sv_kind_name(base));
    const int rows = base->dims[0];
    const size_t total = sv_numel(base);
    size_t *pos[2] = {NULL, NULL}, cnt[2] = {0, 0};
    mc_status st = MC_OK;
    for (int d = 0; st == MC_OK && d < e->n; d++) {
        const size_t len = e->n == 1 ? total : d == 0 ? (size_t)rows : total / (rows ? rows : 1);
        sv *ix = NULL;
        if (e->items[d]->kind != EX_COLON) {
            const sv *saved = E->end_base;
            const int sd = E->end_dim, sn = E->end_ndims;
            E->end_base = base;
            E->end_dim = d;
            E->end_ndims = e->n;
            st = eval_expr(E, e->items[d], &ix);
            E->end_base = saved;
            E->end_dim = sd;
            E->end_ndims = sn;
        }
        if (st == MC_OK)
            st = index_list(E, e->items[d], ix, len, &pos[d], &cnt[d]);
        sv_release(E->ctx, ix);
    }
    if (st != MC_OK) {
        mc_free(E->ctx, pos[0]);
        mc_free(E->ctx, pos[1]);
        return st;
    }
    const size_t n = e->n == 1 ? cnt[0] : cnt[0] * cnt[1];
    size_t *flat = mc_alloc(E->ctx, (n ? n : 1) * sizeof *flat);
    if (flat == NULL) {
        mc_free(E->ctx, pos[0]);
        mc_free(E->ctx, pos[1]);
        return nomem(E);
    }
    int out_rows, out_cols;
    if (e->n == 1) {
        for (size_t i = 0; i < n; i++)
            flat[i] = pos[0][i];
        /* a vector keeps its orientation; an index matrix gives its shape */
        const bool column = base->dims[1] == 1 && base->nd == 2 && total > 1;
        out_rows = column ? (int)n : 1;
        out_cols = column ? 1 : (int)n;
    } else {
        for (size_t j = 0; j < cnt[1]; j++)
            for (size_t i = 0; i < cnt[0]; i++)
                flat[j * cnt[0] + i] = pos[1][j] * (size_t)rows + pos[0][i];
        out_rows = (int)cnt[0];
        out_cols = (int)cnt[1];
    }
    mc_free(E->ctx, pos[0]);
    mc_free(E->ctx, pos[1]);
    sv *v = NULL;
    if (brace) {
        if (n != 1)
            st = fail_at(E, e, MC_ERR_INVALID, "brace indexing gives one value here, not %zu", n);
        else
            v = sv_retain(base->items[flat[0]]);
    } else if (base->kind == SV_NUM) {
        if ((v = sv_num(E->ctx, out_rows, out_cols)) == NULL)
            st = nomem(E);
        for (size_t i = 0; st == MC_OK && i < n; i++)
            v->re[i] = base->re[flat[i]];
        if (v != NULL)
            v->logical = base->logical, v->uint8 = base->uint8;
    } else if (base->kind == SV_CHAR) {
        char *t = mc_alloc(E->ctx, n + 1);
        if (t == NULL)
            st = nomem(E);
        for (size_t i = 0; st == MC_OK && i < n; i++)
            t[i] = base->text[flat[i]];
        if (st == MC_OK && (v = sv_char(E->ctx, t, n)) == NULL)
            st = nomem(E);
        mc_free(E->ctx, t);
    } else if (base->kind == SV_CELL) {
        if ((v = new_cell(E->ctx, out_rows, out_cols)) == NULL)
            st = nomem(E);
        for (size_t i = 0; st == MC_OK && i < n; i++)
            v->items[i] = sv_retain(base->items[flat[i]]);
    } else {
        if ((v = new_categorical(E->ctx, (int)n, base->cats, base->n_cats)) == NULL)
            st = nomem(E);
        for (size_t i = 0; st == MC_OK && i < n; i++)
            v->codes[i] = base->codes[flat[i]];
        if (v != NULL)
            v->dims[0] = out_rows, v->dims[1] = out_cols;
    }
    mc_free(E->ctx, flat);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    *out = v;
    return MC_OK;
}

static mc_status eval_field(ev *E, const expr *e, sv **out)
{
    sv *base = NULL;
    mc_status st = eval_expr(E, e->a, &base);
    if (st != MC_OK)
        return st;
    const char *name = e->str;
    sv *v = NULL;
    if (base->kind == SV_DATASTORE && strcmp(name, "Files") == 0) {
        const mc_image_folder *f = &base->folder;
        if ((v = new_cell(E->ctx, f->num_files, 1)) == NULL)
            st = nomem(E);
        for (int i = 0; st == MC_OK && i < f->num_files; i++)
            if ((v->items[i] = sv_char(E->ctx, f->files[i], strlen(f->files[i]))) == NULL)
                st = nomem(E);
    } else if (base->kind == SV_DATASTORE && strcmp(name, "Labels") == 0) {
        const mc_image_folder *f = &base->folder;
        if ((v = new_categorical(E->ctx, f->num_files, f->classes, f->num_classes)) == NULL)
            st = nomem(E);
        for (int i = 0; st == MC_OK && i < f->num_files; i++)
            v->codes[i] = f->labels[i];
    } else if (base->kind == SV_TABLE || base->kind == SV_STRUCT) {
        for (int k = 0; k < base->n_cols; k++)
            if (strcmp(base->names[k], name) == 0)
                v = sv_retain(base->items[k]);
        if (v == NULL)
            st = fail_at(E, e, MC_ERR_INVALID, "the %s has no %s '%s'",
                         base->kind == SV_TABLE ? "table" : "struct",
                         base->kind == SV_TABLE ? "variable" : "field", name);
    } else if (base->kind == SV_OPTIONS && strcmp(name, "MaxEpochs") == 0) {
        if ((v = sv_scalar(E->ctx, base->opts->o.max_epochs)) == NULL)
            st = nomem(E);
    } else if (base->kind == SV_OPTIONS && strcmp(name, "MiniBatchSize") == 0) {
        if ((v = sv_scalar(E->ctx, base->opts->o.mini_batch_size)) == NULL)
            st = nomem(E);
    } else if (base->kind == SV_OPTIONS && strcmp(name, "InitialLearnRate") == 0) {
        if ((v = sv_scalar(E->ctx, base->opts->o.initial_learn_rate)) == NULL)
            st = nomem(E);
    } else {
        st = fail_at(E, e, MC_ERR_INVALID, "%s has no property '%s' minicnn provides",
                     sv_kind_name(base), name);
    }
    sv_release(E->ctx, base);
    if (st != MC_OK) {
        sv_release(E->ctx, v);
        return st;
    }
    *out = v;
    return MC_OK;
}

static mc_status eval_expr(ev *E, const expr *e, sv **out)
{
    *out = NULL;
    switch (e->kind) {
    case EX_NUM:
        return (*out = sv_scalar(E->ctx, e->num)) ? MC_OK : nomem(E);
    case EX_CHAR:
        return (*out = sv_char(E->ctx, e->str, strlen(e->str))) ? MC_OK : nomem(E);
    case EX_STRING:
        if ((*out = sv_char(E->ctx, e->str, strlen(e->str))) == NULL)
            return nomem(E);
        (*out)->kind = SV_STRING;
        (*out)->dims[0] = (*out)->dims[1] = 1;
        return MC_OK;
    case EX_END: {
        if (E->end_base == NULL)
            return fail_at(E, e, MC_ERR_FORMAT, "'end' outside an index");
        int nd, dims[4];
        value_dims(E->end_base, &nd, dims);
        double len = 1;
        if (E->end_ndims == 1)
            len = (double)value_numel(E->end_base);
        else if (E->end_dim == 0)
            len = dims[0];
        else
            for (int d = 1; d < nd; d++)
                len *= dims[d];
        return (*out = sv_scalar(E->ctx, len)) ? MC_OK : nomem(E);
    }
    case EX_IDENT: {
        var *x = find_var(E, e->str);
        if (x != NULL) {
            *out = sv_retain(x->value);
            return MC_OK;
        }
        if (is_constant(e->str)) {
            if ((*out = sv_scalar(E->ctx, constant_value(e->str))) == NULL)
                return nomem(E);
            (*out)->logical = strcmp(e->str, "true") == 0 || strcmp(e->str, "false") == 0;
            return MC_OK;
        }
        return eval_call(E, e, out, 1);
    }
    case EX_CALL:
    case EX_BRACE:
        return eval_call(E, e, out, 1);
    case EX_FIELD:
        return eval_field(E, e, out);
    case EX_MATRIX:
        return eval_matrix(E, e, out);
    case EX_CELL:
        return eval_cell(E, e, out);
    case EX_RANGE:
        return eval_range(E, e, out);
    case EX_COLON:
        return fail_at(E, e, MC_ERR_FORMAT, "':' alone is an index, not a value");
    case EX_UNARY: {
        sv *a = NULL;
        mc_status st = eval_expr(E, e->a, &a);
        if (st != MC_OK)
            return st;
        if (a->kind != SV_NUM) {
            st = fail_at(E, e, MC_ERR_INVALID, "this operator takes numbers, not %s",
                         sv_kind_name(a));
            sv_release(E->ctx, a);
            return st;
        }
        sv *v = num_like(E->ctx, a);
        if (v == NULL) {
            sv_release(E->ctx, a);
            return nomem(E);
        }
        for (size_t i = 0; i < sv_numel(a); i++)
            v->re[i] = e->op == OP_NEG ? -a->re[i] : e->op == OP_NOT ? a->re[i] == 0 : a->re[i];
        v->logical = e->op == OP_NOT;
        sv_release(E->ctx, a);
        *out = v;
        return MC_OK;
    }
    case EX_BINARY: {
        sv *a = NULL, *b = NULL;
        mc_status st = eval_expr(E, e->a, &a);
        if (st == MC_OK)
            st = eval_expr(E, e->b, &b);
        if (st == MC_OK)
            st = eval_binary(E, e, a, b, out);
        sv_release(E->ctx, a);
        sv_release(E->ctx, b);
        return st;
    }
    }
    return fail_at(E, e, MC_ERR_FORMAT, "unsupported expression");
}

/* A call (or indexing) with nout outputs wanted; outs[0 .. nout-1] set on success (a function
 * that gives no value leaves outs[0] NULL). */
static mc_status eval_call(ev *E, const expr *e, sv **outs, int nout)
{
    const expr *f = e->kind == EX_IDENT ? e : e->a;
    if (e->kind != EX_IDENT && (f->kind != EX_IDENT || find_var(E, f->str) != NULL)) {
        sv *base = NULL;
        mc_status st = eval_expr(E, f, &base);
        if (st != MC_OK)
            return st;
        if (nout > 1) {
            sv_release(E->ctx, base);
            return fail_at(E, e, MC_ERR_INVALID, "indexing gives one value, not %d", nout);
        }
        st = eval_index(E, e, base, &outs[0]);
        sv_release(E->ctx, base);
        return st;
    }
    if (e->kind == EX_BRACE)
        return fail_at(E, e, MC_ERR_INVALID, "'%s' is a function: call it with (...)", f->str);
    const int n = e->kind == EX_CALL ? e->n : 0;
    sv **args = mc__calloc(E->ctx, (size_t)n + 1, sizeof *args);
    if (args == NULL)
        return nomem(E);
    mc_status st = MC_OK;
    int k = 0;
    for (; st == MC_OK && k < n; k++)
        st = e->items[k]->kind == EX_COLON
                 ? fail_at(E, e->items[k], MC_ERR_INVALID, "':' is an index, not an argument")
                 : eval_expr(E, e->items[k], &args[k]);
    const builtin *b = st == MC_OK ? find_builtin(f->str) : NULL;
    const nf_layer_fn *lf = st == MC_OK && b == NULL ? nf_find_layer_fn(f->str) : NULL;
    if (st == MC_OK && b != NULL) {
        if (n < b->min_args || n > b->max_args)
            st = fail_at(E, f, MC_ERR_INVALID, "%s takes %d to %d arguments, not %d", b->name,
                         b->min_args, b->max_args, n);
        else if (nout > b->max_outs && !(nout == 1 && b->max_outs == 0))
            st = fail_at(E, f, MC_ERR_INVALID, "%s gives at most %d outputs", b->name, b->max_outs);
        else {
            bcall c = {E, e, args, n, outs, nout};
            st = b->fn(&c);
        }
    } else if (st == MC_OK && lf != NULL) {
        if (nout > 1)
            st = fail_at(E, f, MC_ERR_INVALID, "a layer function gives one layer");
        else
            st = layer_value(E, lf, e, args, n, &outs[0]);
    } else if (st == MC_OK) {
        st = unknown_name(E, f);
    }
    for (int i = 0; i < k; i++)
        sv_release(E->ctx, args[i]);
    mc_free(E->ctx, args);
    if (st != MC_OK)
        for (int i = 0; i < nout; i++) {
            sv_release(E->ctx, outs[i]);
            outs[i] = NULL;
        }
    return st;
}

/* ---- statements ---- */

static void print(ev *E, const char *text)
{
    if (E->host != NULL && E->host->print != NULL)
        E->host->print(E->host->user, text);
}

static mc_status display(ev *E, const char *name, const sv *v)
{
    char *text = NULL;
    if (v->kind == SV_GRAPH) {
        mc_net *net = NULL;
        mc_status st = build_net(E, v, E->st->rhs, &net);
        if (st != MC_OK)
            return st;
        int n_conn = 0, src, dst, k;
        while (mc_net_connection(net, n_conn, &src, &dst, &k))
            n_conn++;
        const char *in = "", *outn = "";
        for (int i = 0; i < mc_net_num_layers(net); i++) {
            mc_layer *l = mc_net_layer(net, i);
            if (l->vt->role == MC_ROLE_INPUT)
                in = mc_layer_name(l);
            if (l->vt->role == MC_ROLE_OUTPUT)
                outn = mc_layer_name(l);
        }
        sc_buf b = {E->ctx, NULL, 0, 0, false};
        sc_buf_printf(&b,
                      "%s = \n\n  LayerGraph with properties:\n\n"
                      "         Layers: [%d\xc3\x97"
                      "1 nnet.cnn.layer.Layer]\n"
                      "    Connections: [%d\xc3\x97"
                      "2 table]\n"
                      "     InputNames: {'%s'}\n"
                      "    OutputNames: {'%s'}\n\n",
                      name, mc_net_num_layers(net), n_conn, in, outn);
        mc_net_destroy(net);
        if (b.failed)
            return nomem(E);
        text = b.p;
    } else if (v->kind == SV_LAYERS) {
        mc_net *net = NULL;
        mc_status st = build_net(E, v, E->st->rhs, &net);
        char *desc = NULL;
        if (st == MC_OK && (st = mc_net_describe(net, &desc)) != MC_OK)
            st = lib_fail(E, E->st->rhs, st);
        mc_net_destroy(net);
        if (st != MC_OK)
            return st;
        sc_buf b = {E->ctx, NULL, 0, 0, false};
        sc_buf_printf(&b, "%s = \n\n%s\n", name, desc);
        mc_free(E->ctx, desc);
        if (b.failed)
            return nomem(E);
        text = b.p;
    } else {
        text = sv_display(E->ctx, name, v);
    }
    if (text == NULL)
        return nomem(E);
    print(E, text);
    mc_free(E->ctx, text);
    return MC_OK;
}

static void note(ev *E, const stmt *st, const char *why)
{
    if (E->host == NULL || E->host->note == NULL)
        return;
    const char *t = E->s->text;
    size_t a = st->start, b = st->end;
    size_t e = a;
    while (e < b && t[e] != '\n' && t[e] != '\r')
        e++;
    char line[400];
    snprintf(line, sizeof line, "%s:%d:%d: note: skipped `%.*s%s`: %s", E->s->file, st->line,
             st->col, (int)(e - a > 100 ? 100 : e - a), t + a, e < b ? " ... end" : "", why);
    E->host->note(E->host->user, line);
}

static mc_status run_stmt(ev *E, const stmt *st);

static mc_status run_for(ev *E, const stmt *st)
{
    sv *range = NULL;
    mc_status rc = eval_expr(E, st->rhs, &range);
    if (rc != MC_OK)
        return rc;
    if (range->kind != SV_NUM && range->kind != SV_CELL) {
        rc = fail_at(E, st->rhs, MC_ERR_INVALID,
                     "a for loop runs over numbers or a cell array, "
                     "not %s",
                     sv_kind_name(range));
        sv_release(E->ctx, range);
        return rc;
    }
    const int rows = range->dims[0];
    const size_t cols = rows > 0 ? sv_numel(range) / (size_t)rows : 0;
    for (size_t c = 0; rc == MC_OK && c < cols; c++) {
        sv *x = NULL;
        if (range->kind == SV_NUM) {
            x = sv_num(E->ctx, rows, 1);
            if (x != NULL)
                for (int r = 0; r < rows; r++)
                    x->re[r] = range->re[c * (size_t)rows + r];
        } else {
            x = new_cell(E->ctx, rows, 1);
            for (int r = 0; x != NULL && r < rows; r++)
                x->items[r] = sv_retain(range->items[c * (size_t)rows + r]);
        }
        rc = x != NULL ? set_var(E, st->outs[0], x) : nomem(E);
        for (int i = 0; rc == MC_OK && i < st->n_body; i++)
            rc = run_stmt(E, st->body[i]);
        E->st = st;
    }
    sv_release(E->ctx, range);
    return rc;
}

/* load into the workspace: each of the file's variables becomes one of the script's. */
static mc_status run_load(ev *E, const stmt *st)
{
    const expr *arg;
    const char *path;
    is_workspace_load(E, st, &arg, &path);
    char **names = NULL;
    sv **values = NULL;
    int n = 0;
    mc_status rc = sc_mat_load(E->ctx, path, &names, &values, &n);
    if (rc != MC_OK)
        return lib_fail(E, arg, rc);
    for (int i = 0; i < n; i++) {
        if (rc == MC_OK)
            rc = set_var(E, names[i], values[i]);
        else
            sv_release(E->ctx, values[i]);
        mc_free(E->ctx, names[i]);
    }
    mc_free(E->ctx, names);
    mc_free(E->ctx, values);
    return rc;
}

static mc_status run_stmt(ev *E, const stmt *st)
{
    E->st = st;
    const expr *load_arg;
    const char *load_path;
    if (is_workspace_load(E, st, &load_arg, &load_path))
        return run_load(E, st);
    if (st->skip) {
        note(E, st, st->kind == ST_FOR ? "a loop of display-only calls" : "display only");
        return MC_OK;
    }
    switch (st->kind) {
    case ST_COMMAND:
        if (strcmp(st->outs[0], "clear") == 0)
            clear_vars(E);
        else
            note(E, st, "no effect in minicnn");
        return MC_OK;
    case ST_FOR:
        return run_for(E, st);
    case ST_ASSIGN: {
        sv *outs[8] = {NULL};
        const int nout = st->n_outs < 8 ? st->n_outs : 8;
        mc_status rc = MC_OK;
        if (nout > 1) {
            const expr *f = st->rhs->kind == EX_CALL ? st->rhs->a : st->rhs;
            if ((st->rhs->kind != EX_CALL && st->rhs->kind != EX_IDENT) || f->kind != EX_IDENT ||
                find_var(E, f->str) != NULL)
                return fail_at(E, st->rhs, MC_ERR_INVALID,
                               "several outputs need a function call on the right");
            rc = eval_call(E, st->rhs, outs, nout);
        } else {
            rc = eval_expr(E, st->rhs, &outs[0]);
        }
        if (rc == MC_OK && outs[0] == NULL)
            rc = fail_at(E, st->rhs, MC_ERR_INVALID, "the call gives no value to assign");
        for (int i = 0; rc == MC_OK && i < nout; i++) {
            if (outs[i] == NULL)
                rc = fail_at(E, st->rhs, MC_ERR_INVALID, "the call gives fewer than %d values",
                             nout);
            else if (st->outs[i][0] == '\0') {
                sv_release(E->ctx, outs[i]);
                outs[i] = NULL;
                continue;
            } else {
                rc = set_var(E, st->outs[i], outs[i]);
                outs[i] = NULL;
                if (rc == MC_OK && st->display)
                    rc = display(E, st->outs[i], find_var(E, st->outs[i])->value);
            }
        }
        for (int i = 0; i < nout; i++)
            sv_release(E->ctx, outs[i]);
        return rc;
    }
    case ST_EXPR: {
        sv *v = NULL;
        const expr *e = st->rhs;
        mc_status rc;
        if (e->kind == EX_IDENT && find_var(E, e->str) != NULL) {
            /* a variable alone displays under its own name */
            v = sv_retain(find_var(E, e->str)->value);
            rc = st->display ? display(E, e->str, v) : MC_OK;
            sv_release(E->ctx, v);
            return rc;
        }
        rc = e->kind == EX_IDENT || e->kind == EX_CALL ? eval_call(E, e, &v, 1)
                                                       : eval_expr(E, e, &v);
        if (rc != MC_OK || v == NULL)
            return rc;
        rc = set_var(E, "ans", v);
        if (rc == MC_OK && st->display)
            rc = display(E, "ans", find_var(E, "ans")->value);
        return rc;
    }
    }
    return MC_OK;
}

static void ev_release(ev *E)
{
    clear_vars(E);
    mc_free(E->ctx, E->vars);
    mc_free(E->ctx, E->known);
    for (int i = 0; i < E->n_owned; i++)
        mc_free(E->ctx, E->owned[i]);
    mc_free(E->ctx, E->owned);
}

mc_status mc_script_parse(mc_ctx *ctx, const char *text, size_t len, const char *filename,
                          mc_script **out)
{
    *out = NULL;
    mc_script *s = mc__calloc(ctx, 1, sizeof *s);
    if (s == NULL)
        return mc__nomem(ctx, "reading a script");
    s->ctx = ctx;
    s->file = mc__strdup(ctx, filename != NULL ? filename : "script");
    s->text = mc_alloc(ctx, len + 1);
    if (s->file == NULL || s->text == NULL) {
        mc_script_destroy(s);
        return mc__nomem(ctx, "reading a script");
    }
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0') {
            mc_script_destroy(s);
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: holds a zero byte at offset %zu: not a "
                               "script",
                               filename, i);
        }
    mc_status st = sc_parse(s);
    if (st == MC_OK) {
        ev E;
        memset(&E, 0, sizeof E);
        E.s = s;
        E.ctx = ctx;
        E.checking = true;
        for (int i = 0; st == MC_OK && i < s->n; i++)
            st = check_stmt(&E, s->stmts[i]);
        ev_release(&E);
    }
    if (st != MC_OK) {
        mc_script_destroy(s);
        return st;
    }
    *out = s;
    return MC_OK;
}

mc_status mc_script_load(mc_ctx *ctx, const char *path, mc_script **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    sc_buf b = {ctx, NULL, 0, 0, false};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sc_buf_put(&b, chunk, n);
    const bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        mc_free(ctx, b.p);
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    }
    if (b.failed) {
        mc_free(ctx, b.p);
        return mc__nomem(ctx, "reading a script");
    }
    mc_status st = mc_script_parse(ctx, b.p != NULL ? b.p : "", b.len, path, out);
    mc_free(ctx, b.p);
    return st;
}

mc_status mc_script_run(mc_script *s, const mc_script_host *host)
{
    if (s->ran)
        return mc_ctx_fail(s->ctx, MC_ERR_STATE, "%s: a script runs once", s->file);
    s->ran = true;
    ev E;
    memset(&E, 0, sizeof E);
    E.s = s;
    E.ctx = s->ctx;
    E.host = host;
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < s->n; i++)
        st = run_stmt(&E, s->stmts[i]);
    ev_release(&E);
    return st;
}

void mc_script_destroy(mc_script *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->n; i++)
        sc_stmt_free(s->ctx, s->stmts[i]);
    mc_free(s->ctx, s->stmts);
    mc_free(s->ctx, s->file);
    mc_free(s->ctx, s->text);
    mc_free(s->ctx, s);
}
