/* SPDX-License-Identifier: MIT */
/* Tables of feature data from CSV files (MATLAB's readtable), and the labelled data sets made
 * from them for networks that start with a featureInputLayer. */
#ifndef MINICNN_TABLE_H
#define MINICNN_TABLE_H
#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/ctx.h>
#include <minicnn/data.h>

/* A CSV file's cells as text: the first record is the header (the variable names), each other
 * record a row. Everything is owned by the table (released with mc_table_release). */
typedef struct mc_table {
    int num_rows, num_cols;
    char **names; /* num_cols variable names; an empty header cell is named "Var<k>" (1-based) */
    char **cells; /* num_rows * num_cols, row after row; quotes removed, outer spaces trimmed */
    int *lines;   /* per row, the line of the file on which it starts (1-based) */
    char *path;   /* as given, for messages */
    void *storage;
} mc_table;

/* Reads a CSV file (RFC 4180: comma-separated, fields in double quotes may hold commas, quotes
 * written twice and line breaks; CRLF or LF line ends; a UTF-8 byte-order mark and blank lines
 * are skipped) through libcsv. The header's names must be distinct. Returns MC_OK, MC_ERR_IO
 * (naming the path and the system's reason), MC_ERR_FORMAT (an empty file, a header without
 * rows, a row with another number of fields than the header, a malformed quote, duplicate
 * names: each naming the path, the line and, where it applies, the column) or MC_ERR_NOMEM. */
mc_status mc_table_read_csv(mc_ctx *ctx, const char *path, mc_table *out);

void mc_table_release(mc_ctx *ctx, mc_table *t);

/* The column named `name`, or -1. */
int mc_table_column(const mc_table *t, const char *name);

/* Which columns make a data set, and how. */
typedef struct mc_table_options {
    const char *response; /* the label column's name; NULL: the last column */
    /* the predictors' names in the order the network takes them; NULL: every column but the
     * response, in the file's order */
    const char *const *predictors;
    int num_predictors;
    /* the classes to use (a validation or test table takes the training table's); NULL: the
     * response's distinct values, sorted as MATLAB's categorical sorts them (numbers by value,
     * text by character code) */
    const char *const *classes;
    int num_classes;
    /* a row with a missing cell ("", NA or NaN) in a column used: false, an error naming the
     * line and the column; true, the row is left out (MATLAB's rmmissing) */
    bool omit_missing;
} mc_table_options;

/* Every column but the last as predictors, the last as the response, missing cells refused. */
mc_table_options mc_table_default(void);

/* A feature data set: x (N, F) with the predictors' values as floats, labels the response's
 * classes; `classes` (num_classes names) and `predictors` (F names) are owned by it. */
typedef struct mc_table_data {
    mc_dataset data;
    char **classes;
    char **predictors;
    int num_rows_omitted; /* rows left out for a missing cell (omit_missing) */
} mc_table_data;

/* Builds the data set of t under o. Predictor cells must be finite decimal numbers; the response
 * may be text or integers. Returns MC_OK, MC_ERR_INVALID (a named column that does not exist,
 * with the closest name; the response among the predictors; a column given twice),
 * MC_ERR_FORMAT (a cell that is not a number or not finite, a missing value, a response value
 * outside o->classes, fewer than two classes, no row left: each naming the path, the line and the
 * column) or MC_ERR_NOMEM. On failure *out is empty. */
mc_status mc_table_to_data(mc_ctx *ctx, const mc_table *t, const mc_table_options *o,
                           mc_table_data *out);

void mc_table_data_release(mc_ctx *ctx, mc_table_data *d);

#ifdef __cplusplus
}
#endif

#endif
