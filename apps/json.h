/* SPDX-License-Identifier: MIT */
/* The one JSON writer of the minicnn command (--report, predict --json). Members are written
 * in order; the writer puts the commas, the quotes and the escapes. Numbers read back exactly:
 * a double with the fewest of 15 to 17 significant digits that give it back, a float with 6 to
 * 9; a number that is not finite is written as null (JSON has no Inf or NaN). */
#ifndef MINICNN_JSON_H
#define MINICNN_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct json_writer {
    FILE *f;
    int depth;
    bool first[JSON_MAX_DEPTH];   /* no member written yet at this depth */
    bool inline_[JSON_MAX_DEPTH]; /* members on one line, or one per line */
    char close[JSON_MAX_DEPTH];   /* '}' or ']' */
} json_writer;

void json_init(json_writer *j, FILE *f);

/* Begin an object or array: as the member `key` of the enclosing object, or (key NULL) as an
 * element of the enclosing array or the document itself. inline_ puts its members on one
 * line. json_end closes the innermost one; a newline follows the document. */
void json_object(json_writer *j, const char *key, bool inline_);
void json_array(json_writer *j, const char *key, bool inline_);
void json_end(json_writer *j);

void json_string(json_writer *j, const char *key, const char *value); /* NULL: null */
void json_int(json_writer *j, const char *key, long long value);
void json_uint(json_writer *j, const char *key, uint64_t value);
void json_double(json_writer *j, const char *key, double value);
void json_float(json_writer *j, const char *key, float value);
void json_bool(json_writer *j, const char *key, bool value);
void json_null(json_writer *j, const char *key);

/* The shortest text of value that reads back as the same double (float when single), in buf
 * (32 bytes are enough). */
const char *json_number_text(double value, bool single, char *buf, size_t cap);

#endif
