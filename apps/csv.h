/* SPDX-License-Identifier: MIT */
/* The one CSV writer of the minicnn command (--log, normlab's FIGURE.csv). Its names start with
 * csvw_: libcsv, which the command also links, has the csv_ ones. Fields are quoted as RFC 4180
 * says: a field holding a comma, a double quote, a line break or an outer space is put
 * in double quotes, its double quotes doubled. Rows end in "\n". Numbers read back exactly (as
 * in json.h); a number that is not finite is an empty field. */
#ifndef MINICNN_CSV_H
#define MINICNN_CSV_H

#include <stdbool.h>
#include <stdio.h>

typedef struct csvw_writer {
    FILE *f;
    bool first; /* no field written yet in this row */
} csvw_writer;

void csvw_init(csvw_writer *c, FILE *f);
void csvw_string(csvw_writer *c, const char *value);
void csvw_int(csvw_writer *c, long long value);
void csvw_double(csvw_writer *c, double value);
void csvw_float(csvw_writer *c, float value);
void csvw_empty(csvw_writer *c);
void csvw_end_row(csvw_writer *c);

/* A whole row of string fields (a header). */
void csvw_row(csvw_writer *c, const char *const *fields, int n);

#endif
