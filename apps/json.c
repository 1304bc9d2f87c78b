/* SPDX-License-Identifier: MIT */
/* The JSON writer (see json.h). */
#include "json.h"

#include <math.h>
#include <stdlib.h>

void json_init(json_writer *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    j->inline_[0] = false;
    j->close[0] = '\0';
}

const char *json_number_text(double value, bool single, char *buf, size_t cap)
{
    for (int digits = single ? 6 : 15; digits <= (single ? 9 : 17); digits++) {
        snprintf(buf, cap, "%.*g", digits, value);
        const double back = strtod(buf, NULL);
        if (single ? (float)back == (float)value : back == value)
            break;
    }
    return buf;
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The separator and the key before a member or element. */
static void member(json_writer *j, const char *key)
{
    const int d = j->depth;
    if (d > 0) {
        if (!j->first[d])
            fputc(',', j->f);
        if (!j->inline_[d])
            fprintf(j->f, "\n%*s", 2 * d, "");
        else if (!j->first[d])
            fputc(' ', j->f);
    }
    j->first[d] = false;
    if (key != NULL && d > 0 && j->close[d] == '}') {
        put_string(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_container(json_writer *j, const char *key, bool inline_, char open)
{
    member(j, key);
    fputc(open, j->f);
    if (j->depth + 1 >= JSON_MAX_DEPTH)
        return; /* deeper than any document of minicnn's */
    j->depth++;
    j->first[j->depth] = true;
    j->inline_[j->depth] = inline_ || j->inline_[j->depth - 1];
    j->close[j->depth] = open == '{' ? '}' : ']';
}

void json_object(json_writer *j, const char *key, bool inline_)
{
    open_container(j, key, inline_, '{');
}

void json_array(json_writer *j, const char *key, bool inline_)
{
    open_container(j, key, inline_, '[');
}

void json_end(json_writer *j)
{
    if (j->depth == 0)
        return;
    const int d = j->depth--;
    if (!j->inline_[d] && !j->first[d])
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(j->close[d], j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_string(json_writer *j, const char *key, const char *value)
{
    member(j, key);
    if (value == NULL)
        fputs("null", j->f);
    else
        put_string(j->f, value);
}

void json_int(json_writer *j, const char *key, long long value)
{
    member(j, key);
    fprintf(j->f, "%lld", value);
}

void json_uint(json_writer *j, const char *key, uint64_t value)
{
    member(j, key);
    fprintf(j->f, "%llu", (unsigned long long)value);
}

static void number(json_writer *j, const char *key, double value, bool single)
{
    member(j, key);
    char buf[40];
    fputs(isfinite(value) ? json_number_text(value, single, buf, sizeof buf) : "null", j->f);
}

void json_double(json_writer *j, const char *key, double value)
{
    number(j, key, value, false);
}

void json_float(json_writer *j, const char *key, float value)
{
    number(j, key, value, true);
}

void json_bool(json_writer *j, const char *key, bool value)
{
    member(j, key);
    fputs(value ? "true" : "false", j->f);
}

void json_null(json_writer *j, const char *key)
{
    member(j, key);
    fputs("null", j->f);
}
