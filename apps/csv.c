/* SPDX-License-Identifier: MIT */
/* The CSV writer (see csv.h). */
#include "csv.h"

#include <math.h>
#include <string.h>

#include "json.h"

void csvw_init(csvw_writer *c, FILE *f)
{
    c->f = f;
    c->first = true;
}

static void separator(csvw_writer *c)
{
    if (!c->first)
        fputc(',', c->f);
    c->first = false;
}

void csvw_string(csvw_writer *c, const char *value)
{
    separator(c);
    const size_t n = strlen(value);
    const bool quote =
        strpbrk(value, ",\"\r\n") != NULL || (n > 0 && (value[0] == ' ' || value[n - 1] == ' '));
    if (!quote) {
        fputs(value, c->f);
        return;
    }
    fputc('"', c->f);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', c->f);
        fputc(*p, c->f);
    }
    fputc('"', c->f);
}

void csvw_int(csvw_writer *c, long long value)
{
    separator(c);
    fprintf(c->f, "%lld", value);
}

static void number(csvw_writer *c, double value, bool single)
{
    separator(c);
    char buf[40];
    if (isfinite(value))
        fputs(json_number_text(value, single, buf, sizeof buf), c->f);
}

void csvw_double(csvw_writer *c, double value)
{
    number(c, value, false);
}

void csvw_float(csvw_writer *c, float value)
{
    number(c, value, true);
}

void csvw_empty(csvw_writer *c)
{
    separator(c);
}

void csvw_end_row(csvw_writer *c)
{
    fputc('\n', c->f);
    c->first = true;
}

void csvw_row(csvw_writer *c, const char *const *fields, int n)
{
    for (int i = 0; i < n; i++)
        csvw_string(c, fields[i]);
    csvw_end_row(c);
}
