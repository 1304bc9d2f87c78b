/* SPDX-License-Identifier: MIT */
/* CSV tables (MATLAB's readtable) through libcsv, and feature data sets made from them. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include <minicnn/table.h>

#include "../internal.h"

/* A byte buffer that grows by doubling through the context's allocator. */
typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

static int buffer_reserve(mc_ctx *ctx, buffer *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 1;
    if (extra > SIZE_MAX / 2 - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    char *p = mc_alloc(ctx, cap);
    if (p == NULL)
        return 0;
    if (b->len)
        memcpy(p, b->data, b->len);
    mc_free(ctx, b->data);
    b->data = p;
    b->cap = cap;
    return 1;
}

static int buffer_append(mc_ctx *ctx, buffer *b, const void *src, size_t n)
{
    if (n == 0)
        return 1;
    if (!buffer_reserve(ctx, b, n))
        return 0;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}

/* The whole file, NUL-terminated, in b. */
static mc_status read_file(mc_ctx *ctx, const char *path, buffer *b)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    mc_status st = MC_OK;
    for (;;) {
        if (!buffer_reserve(ctx, b, 1 << 16)) {
            st = mc__nomem(ctx, "reading a CSV file");
            break;
        }
        size_t n = fread(b->data + b->len, 1, b->cap - b->len - 1, f);
        b->len += n;
        if (n == 0) {
            if (ferror(f))
                st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == MC_OK)
        b->data[b->len] = '\0';
    return st;
}

/* The parser's state, shared with libcsv's callbacks. */
typedef struct parse {
    mc_ctx *ctx;
    const char *path;
    mc_status st;
    buffer text;       /* every field, NUL-terminated */
    buffer offsets;    /* size_t per field: where it starts in text */
    buffer lines;      /* int per record: its first line */
    int line;          /* the line being read (1-based) */
    int record_line;   /* the line the current record started on */
    int fields;        /* fields of the current record */
    int header_fields; /* 0 until the header has ended */
    long long records; /* records ended, the header included */
} parse;

static void on_field(void *field, size_t len, void *data)
{
    parse *p = data;
    if (p->st != MC_OK)
        return;
    if (p->fields == 0)
        p->record_line = p->line;
    const char *s = field ? field : "";
    for (size_t i = 0; i < len; i++)
        p->line += s[i] == '\n';
    if (p->fields == INT_MAX) {
        p->st = mc_ctx_fail(p->ctx, MC_ERR_FORMAT, "%s:%d: more than %d fields in a record",
                            p->path, p->record_line, INT_MAX - 1);
        return;
    }
    size_t at = p->text.len;
    if (!buffer_append(p->ctx, &p->text, s, len) || !buffer_append(p->ctx, &p->text, "", 1) ||
        !buffer_append(p->ctx, &p->offsets, &at, sizeof at)) {
        p->st = mc__nomem(p->ctx, "reading a CSV file");
        return;
    }
    p->fields++;
}

static void on_record(int c, void *data)
{
    parse *p = data;
    if (c == '\n')
        p->line++;
    if (p->st != MC_OK || p->fields == 0)
        return; /* a blank line, or the other half of CR LF */
    if (p->header_fields == 0) {
        p->header_fields = p->fields;
    } else if (p->fields != p->header_fields) {
        p->st = mc_ctx_fail(p->ctx, MC_ERR_FORMAT,
                            "%s:%d: %d field%s where the header has %d: every row needs one "
                            "value per column",
                            p->path, p->record_line, p->fields, p->fields == 1 ? "" : "s",
                            p->header_fields);
        return;
    } else if (p->records > INT_MAX) {
        p->st = mc_ctx_fail(p->ctx, MC_ERR_FORMAT, "%s:%d: more than %d rows", p->path,
                            p->record_line, INT_MAX);
        return;
    } else if (!buffer_append(p->ctx, &p->lines, &p->record_line, sizeof p->record_line)) {
        p->st = mc__nomem(p->ctx, "reading a CSV file");
        return;
    }
    p->records++;
    p->fields = 0;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* The line of byte `offset` of s (1-based). */
static int line_at(const char *s, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset; i++)
        line += s[i] == '\n';
    return line;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

static mc_status check_distinct(mc_ctx *ctx, const mc_table *t)
{
    char ***order = mc__calloc(ctx, (size_t)t->num_cols, sizeof *order);
    if (order == NULL)
        return mc__nomem(ctx, "checking a CSV file's column names");
    for (int j = 0; j < t->num_cols; j++)
        order[j] = &t->names[j];
    qsort(order, (size_t)t->num_cols, sizeof *order, compare_names);
    mc_status st = MC_OK;
    for (int j = 1; j < t->num_cols && st == MC_OK; j++)
        if (strcmp(*order[j - 1], *order[j]) == 0)
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "%s:%d: the header names two columns '%s' (columns %d and %d): "
                             "column names must be distinct",
                             t->path, 1, *order[j], (int)(order[j - 1] - t->names) + 1,
                             (int)(order[j] - t->names) + 1);
    mc_free(ctx, order);
    return st;
}

void mc_table_release(mc_ctx *ctx, mc_table *t)
{
    if (t == NULL)
        return;
    mc_free(ctx, t->names);
    mc_free(ctx, t->cells);
    mc_free(ctx, t->lines);
    mc_free(ctx, t->path);
    mc_free(ctx, t->storage);
    memset(t, 0, sizeof *t);
}

/* Moves the parsed fields into t: names, cells and lines point into one block of text. */
static mc_status build_table(mc_ctx *ctx, parse *p, mc_table *t)
{
    size_t nfields = p->offsets.len / sizeof(size_t);
    const size_t *off = (const size_t *)(void *)p->offsets.data;
    t->num_cols = p->header_fields;
    t->num_rows = (int)(p->records - 1);
    /* room for the Var<k> names of empty header cells after the fields */
    buffer text = p->text;
    p->text = (buffer){0};
    size_t *var_at = mc__calloc(ctx, (size_t)t->num_cols, sizeof *var_at);
    if (var_at == NULL) {
        mc_free(ctx, text.data);
        return mc__nomem(ctx, "reading a CSV file");
    }
    for (int j = 0; j < t->num_cols; j++) {
        if (text.data[off[j]] != '\0')
            continue;
        char var[32];
        int n = snprintf(var, sizeof var, "Var%d", j + 1);
        var_at[j] = text.len;
        if (!buffer_append(ctx, &text, var, (size_t)n + 1)) {
            mc_free(ctx, var_at);
            mc_free(ctx, text.data);
            return mc__nomem(ctx, "reading a CSV file");
        }
    }
    t->storage = text.data;
    t->names = mc__calloc(ctx, (size_t)t->num_cols, sizeof *t->names);
    t->cells = mc__calloc(ctx, nfields - (size_t)t->num_cols + 1, sizeof *t->cells);
    t->lines = mc__calloc(ctx, (size_t)t->num_rows + 1, sizeof *t->lines);
    if (t->names == NULL || t->cells == NULL || t->lines == NULL) {
        mc_free(ctx, var_at);
        return mc__nomem(ctx, "reading a CSV file");
    }
    for (int j = 0; j < t->num_cols; j++)
        t->names[j] = text.data + (var_at[j] ? var_at[j] : off[j]);
    mc_free(ctx, var_at);
    for (size_t i = (size_t)t->num_cols; i < nfields; i++)
        t->cells[i - (size_t)t->num_cols] = text.data + off[i];
    if (t->num_rows > 0)
        memcpy(t->lines, p->lines.data, (size_t)t->num_rows * sizeof *t->lines);
    return check_distinct(ctx, t);
}

mc_status mc_table_read_csv(mc_ctx *ctx, const char *path, mc_table *out)
{
    memset(out, 0, sizeof *out);
    buffer file = {0};
    mc_status st = read_file(ctx, path, &file);
    if (st != MC_OK) {
        mc_free(ctx, file.data);
        return st;
    }
    const char *s = file.data;
    size_t len = file.len;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* a UTF-8 byte-order mark */
        len -= 3;
    }
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        mc_free(ctx, file.data);
        return mc__nomem(ctx, "starting the CSV parser");
    }
    csv_set_space_func(&cp, is_space);
    parse p = {.ctx = ctx, .path = path, .st = MC_OK, .line = 1, .record_line = 1};
    size_t done = csv_parse(&cp, s, len, on_field, on_record, &p);
    if (p.st == MC_OK && done != len) {
        int err = csv_error(&cp);
        if (err == CSV_EPARSE)
            p.st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s:%d: malformed quoting: a quoted field must end with a quote "
                               "followed by a comma or a line end (write a quote inside it "
                               "twice)",
                               path, line_at(s, done));
        else
            p.st = err == CSV_ENOMEM || err == CSV_ETOOBIG
                       ? mc__nomem(ctx, "parsing a CSV file")
                       : mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s:%d: %s", path, line_at(s, done),
                                     csv_strerror(err));
    }
    if (p.st == MC_OK && csv_fini(&cp, on_field, on_record, &p) != 0 && p.st == MC_OK)
        p.st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s:%d: the file ends inside a quoted field (a closing quote is "
                           "missing)",
                           path, p.record_line);
    csv_free(&cp);
    if (p.st == MC_OK && p.header_fields == 0)
        p.st =
            mc_ctx_fail(ctx, MC_ERR_FORMAT,
                        "%s: empty file: a CSV table needs a header line naming its columns", path);
    if (p.st == MC_OK && p.records < 2)
        p.st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: the header is not followed by any row", path);
    if (p.st == MC_OK)
        p.st = build_table(ctx, &p, out);
    if (p.st == MC_OK && (out->path = mc__strdup(ctx, path)) == NULL)
        p.st = mc__nomem(ctx, "reading a CSV file");
    mc_free(ctx, p.text.data);
    mc_free(ctx, p.offsets.data);
    mc_free(ctx, p.lines.data);
    mc_free(ctx, file.data);
    if (p.st != MC_OK)
        mc_table_release(ctx, out);
    return p.st;
}

int mc_table_column(const mc_table *t, const char *name)
{
    for (int j = 0; j < t->num_cols; j++)
        if (strcmp(t->names[j], name) == 0)
            return j;
    return -1;
}

mc_table_options mc_table_default(void)
{
    return (mc_table_options){0};
}

static int is_missing(const char *s)
{
    return s[0] == '\0' || strcmp(s, "NA") == 0 || strcmp(s, "NaN") == 0 || strcmp(s, "nan") == 0 ||
           strcmp(s, "NAN") == 0;
}

/* A decimal number filling all of s ("1", "-2.5", "3e-4"; not hex, inf or nan). */
static int parse_number(const char *s, double *out)
{
    for (const char *c = s; *c; c++)
        if (!(isdigit((unsigned char)*c) || *c == '.' || *c == '-' || *c == '+' || *c == 'e' ||
              *c == 'E'))
            return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

static mc_status no_column(mc_ctx *ctx, const mc_table *t, const char *what, const char *name)
{
    const char **names = mc__calloc(ctx, (size_t)t->num_cols + 1, sizeof *names);
    if (names == NULL)
        return mc__nomem(ctx, "looking up a column");
    for (int j = 0; j < t->num_cols; j++)
        names[j] = t->names[j];
    const char *hint = mc__closest(name, names);
    mc_status st =
        mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: no column named '%s' for the %s%s%s%s", t->path, name,
                    what, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    mc_free(ctx, names);
    return st;
}

/* The columns used, predictors first, the response last, into cols (F + 1). */
static mc_status pick_columns(mc_ctx *ctx, const mc_table *t, const mc_table_options *o, int *cols,
                              int *num_features)
{
    int response = t->num_cols - 1;
    if (o->response != NULL && (response = mc_table_column(t, o->response)) < 0)
        return no_column(ctx, t, "response", o->response);
    int f = 0;
    if (o->predictors == NULL) {
        for (int j = 0; j < t->num_cols; j++)
            if (j != response)
                cols[f++] = j;
    } else {
        for (int k = 0; k < o->num_predictors; k++) {
            int j = mc_table_column(t, o->predictors[k]);
            if (j < 0)
                return no_column(ctx, t, "predictors", o->predictors[k]);
            if (j == response)
                return mc_ctx_fail(ctx, MC_ERR_INVALID,
                                   "%s: the response column '%s' cannot also be a predictor",
                                   t->path, t->names[j]);
            cols[f++] = j;
        }
    }
    if (f == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: no predictor column: the table has only the response '%s'", t->path,
                           t->names[response]);
    cols[f] = response;
    *num_features = f;
    return MC_OK;
}

/* Refuses a column named twice among the predictors (marks per column: linear). */
static mc_status check_repeats(mc_ctx *ctx, const mc_table *t, const int *cols, int f)
{
    unsigned char *seen = mc__calloc(ctx, (size_t)t->num_cols, 1);
    if (seen == NULL)
        return mc__nomem(ctx, "checking the predictor columns");
    mc_status st = MC_OK;
    for (int k = 0; k < f && st == MC_OK; k++) {
        if (seen[cols[k]])
            st = mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: the predictor column '%s' is named twice",
                             t->path, t->names[cols[k]]);
        seen[cols[k]] = 1;
    }
    mc_free(ctx, seen);
    return st;
}

typedef struct response_key {
    const char *text;
    double value;
    int row;
} response_key;

static int compare_text(const void *a, const void *b)
{
    const response_key *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int compare_value(const void *a, const void *b)
{
    const response_key *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* The class names of a numeric response: MATLAB's categorical of numbers names them by value. */
static void number_name(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", v == 0 ? 0.0 : v);
}

static void free_names(mc_ctx *ctx, char **names, int n)
{
    for (int k = 0; names != NULL && k < n; k++)
        mc_free(ctx, names[k]);
    mc_free(ctx, names);
}

void mc_table_data_release(mc_ctx *ctx, mc_table_data *d)
{
    if (d == NULL)
        return;
    free_names(ctx, d->classes, d->data.num_classes);
    free_names(ctx, d->predictors, d->data.shape.ndim == 2 ? d->data.shape.dims[1] : 0);
    mc_dataset_release(ctx, &d->data);
    memset(d, 0, sizeof *d);
}

/* "path:line, column 'name'": where a cell is, for messages. */
#define CELL_AT(t, row, col) (t)->path, (t)->lines[row], (t)->names[col]

/* The rows kept (all, or those without a missing cell in the columns used). */
static mc_status pick_rows(mc_ctx *ctx, const mc_table *t, const mc_table_options *o,
                           const int *cols, int ncols, int *rows, int *num_rows)
{
    int n = 0;
    for (int i = 0; i < t->num_rows; i++) {
        int missing = -1;
        for (int k = 0; k < ncols && missing < 0; k++)
            if (is_missing(t->cells[(size_t)i * (size_t)t->num_cols + (size_t)cols[k]]))
                missing = cols[k];
        if (missing < 0) {
            rows[n++] = i;
            continue;
        }
        if (!o->omit_missing) {
            const char *cell = t->cells[(size_t)i * (size_t)t->num_cols + (size_t)missing];
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s:%d, column '%s': missing value%s%s%s: every value used for "
                               "training must be present (or leave such rows out)",
                               CELL_AT(t, i, missing), cell[0] ? " ('" : " (an empty cell", cell,
                               cell[0] ? "')" : ")");
        }
    }
    if (n == 0)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: no row is left: each of its %d rows has a missing value in a "
                           "column used",
                           t->path, t->num_rows);
    *num_rows = n;
    return MC_OK;
}

/* Predictor values into x (N, F). */
static mc_status fill_predictors(mc_ctx *ctx, const mc_table *t, const int *cols, int f,
                                 const int *rows, int n, float *x)
{
    for (int r = 0; r < n; r++)
        for (int k = 0; k < f; k++) {
            const char *cell = t->cells[(size_t)rows[r] * (size_t)t->num_cols + (size_t)cols[k]];
            double v;
            if (!parse_number(cell, &v))
                return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                                   "%s:%d, column '%s': '%s' is not a number: predictor "
                                   "columns must hold numbers (leave text columns out of the "
                                   "predictors)",
                                   CELL_AT(t, rows[r], cols[k]), cell);
            float fv = (float)v;
            if (!isfinite(v) || !isfinite(fv))
                return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                                   "%s:%d, column '%s': %s is out of the range of single "
                                   "precision (about 3.4e38)",
                                   CELL_AT(t, rows[r], cols[k]), cell);
            x[(size_t)r * (size_t)f + (size_t)k] = fv;
        }
    return MC_OK;
}

/* The response's keys: numbers when every cell is one, text otherwise. */
static int response_keys(const mc_table *t, int col, const int *rows, int n, response_key *keys)
{
    int numeric = 1;
    for (int r = 0; r < n; r++) {
        keys[r].text = t->cells[(size_t)rows[r] * (size_t)t->num_cols + (size_t)col];
        keys[r].row = r;
        if (numeric && (!parse_number(keys[r].text, &keys[r].value) || !isfinite(keys[r].value)))
            numeric = 0;
    }
    return numeric;
}

static mc_status key_name(mc_ctx *ctx, const response_key *k, int numeric, char **out)
{
    char buf[40];
    if (numeric)
        number_name(k->value, buf, sizeof buf);
    *out = mc__strdup(ctx, numeric ? buf : k->text);
    return *out ? MC_OK : mc__nomem(ctx, "naming the classes");
}

/* Distinct response values, sorted as MATLAB's categorical sorts them, as the classes; labels
 * index them. */
static mc_status derive_classes(mc_ctx *ctx, const mc_table *t, int col, const int *rows, int n,
                                response_key *keys, mc_table_data *d)
{
    int numeric = response_keys(t, col, rows, n, keys);
    qsort(keys, (size_t)n, sizeof *keys, numeric ? compare_value : compare_text);
    int k = 0;
    for (int r = 0; r < n; r++) {
        int same = r > 0 && (numeric ? keys[r].value == keys[r - 1].value
                                     : strcmp(keys[r].text, keys[r - 1].text) == 0);
        k += r > 0 && !same;
        d->data.labels[keys[r].row] = k;
    }
    int num_classes = k + 1;
    if (num_classes < 2)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: the response column '%s' holds a single class ('%s'): a "
                           "classification needs at least two",
                           t->path, t->names[col], keys[0].text);
    d->classes = mc__calloc(ctx, (size_t)num_classes, sizeof *d->classes);
    if (d->classes == NULL)
        return mc__nomem(ctx, "naming the classes");
    d->data.num_classes = num_classes;
    for (int r = 0, c = 0; r < n; r++)
        if (d->data.labels[keys[r].row] == c) {
            mc_status st = key_name(ctx, &keys[r], numeric, &d->classes[c++]);
            if (st != MC_OK)
                return st;
        }
    return MC_OK;
}

typedef struct class_entry {
    const char *name;
    int index;
} class_entry;

static int compare_entry(const void *a, const void *b)
{
    return strcmp(((const class_entry *)a)->name, ((const class_entry *)b)->name);
}

/* Labels from given classes (a validation or test table takes the training table's): each
 * value is looked up among the classes sorted by name (n log K). */
static mc_status use_classes(mc_ctx *ctx, const mc_table *t, const mc_table_options *o, int col,
                             const int *rows, int n, response_key *keys, mc_table_data *d)
{
    int numeric = response_keys(t, col, rows, n, keys);
    class_entry *sorted = mc__calloc(ctx, (size_t)o->num_classes, sizeof *sorted);
    d->classes = mc__calloc(ctx, (size_t)o->num_classes, sizeof *d->classes);
    if (sorted == NULL || d->classes == NULL) {
        mc_free(ctx, sorted);
        return mc__nomem(ctx, "naming the classes");
    }
    d->data.num_classes = o->num_classes;
    mc_status st = MC_OK;
    for (int c = 0; c < o->num_classes && st == MC_OK; c++) {
        sorted[c] = (class_entry){o->classes[c], c};
        if ((d->classes[c] = mc__strdup(ctx, o->classes[c])) == NULL)
            st = mc__nomem(ctx, "naming the classes");
    }
    qsort(sorted, (size_t)o->num_classes, sizeof *sorted, compare_entry);
    for (int r = 0; r < n && st == MC_OK; r++) {
        char buf[40];
        class_entry key = {keys[r].text, 0};
        if (numeric) {
            number_name(keys[r].value, buf, sizeof buf);
            key.name = buf;
        }
        const class_entry *hit =
            bsearch(&key, sorted, (size_t)o->num_classes, sizeof *sorted, compare_entry);
        if (hit == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "%s:%d, column '%s': the class '%s' is not one of the %d classes "
                             "the network was trained on",
                             CELL_AT(t, rows[r], col), key.name, o->num_classes);
        else
            d->data.labels[r] = hit->index;
    }
    mc_free(ctx, sorted);
    return st;
}

mc_status mc_table_to_data(mc_ctx *ctx, const mc_table *t, const mc_table_options *o,
                           mc_table_data *out)
{
    memset(out, 0, sizeof *out);
    mc_table_options def = mc_table_default();
    if (o == NULL)
        o = &def;
    int *cols = mc__calloc(ctx, (size_t)t->num_cols + 1, sizeof *cols);
    int *rows = mc__calloc(ctx, (size_t)t->num_rows, sizeof *rows);
    response_key *keys = mc__calloc(ctx, (size_t)t->num_rows, sizeof *keys);
    mc_status st = MC_OK;
    int f = 0, n = 0;
    if (cols == NULL || rows == NULL || keys == NULL)
        st = mc__nomem(ctx, "choosing a table's columns");
    if (st == MC_OK)
        st = pick_columns(ctx, t, o, cols, &f);
    if (st == MC_OK)
        st = check_repeats(ctx, t, cols, f);
    if (st == MC_OK)
        st = pick_rows(ctx, t, o, cols, f + 1, rows, &n);
    if (st == MC_OK) {
        int dims[2] = {n, f};
        out->data.shape = mc_shape_make(2, dims);
        out->data.x = mc__calloc(ctx, (size_t)n * (size_t)f, sizeof *out->data.x);
        out->data.labels = mc__calloc(ctx, (size_t)n, sizeof *out->data.labels);
        out->predictors = mc__calloc(ctx, (size_t)f, sizeof *out->predictors);
        if (out->data.x == NULL || out->data.labels == NULL || out->predictors == NULL)
            st = mc__nomem(ctx, "holding a table's values");
    }
    for (int k = 0; k < f && st == MC_OK; k++)
        if ((out->predictors[k] = mc__strdup(ctx, t->names[cols[k]])) == NULL)
            st = mc__nomem(ctx, "naming the predictors");
    if (st == MC_OK)
        st = fill_predictors(ctx, t, cols, f, rows, n, out->data.x);
    if (st == MC_OK)
        st = o->classes == NULL ? derive_classes(ctx, t, cols[f], rows, n, keys, out)
                                : use_classes(ctx, t, o, cols[f], rows, n, keys, out);
    if (st == MC_OK)
        out->num_rows_omitted = t->num_rows - n;
    mc_free(ctx, cols);
    mc_free(ctx, rows);
    mc_free(ctx, keys);
    if (st != MC_OK)
        mc_table_data_release(ctx, out);
    return st;
}
