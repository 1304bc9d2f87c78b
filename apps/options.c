/* SPDX-License-Identifier: MIT */
/* The command-line grammar shared by every minicnn command (see options.h). */
#include "options.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- numbers ---- */

int cli_read_int(const char *text, long long min, long long max, long long *out)
{
    if (text[0] == '\0' || text[0] == ' ' || text[0] == '\t')
        return 1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end == '\0' && errno == ERANGE)
        return 2;
    if (*end != '\0') {
        /* 1e3 is a whole number too */
        double d = 0;
        const int why = cli_read_double(text, -DBL_MAX, DBL_MAX, false, &d);
        if (why == 1 || (why == 0 && d != floor(d)))
            return 1;
        if (why == 2 || d < (double)LLONG_MIN || d >= (double)LLONG_MAX)
            return 2;
        v = (long long)d;
    }
    if (v < min || v > max)
        return 2;
    *out = v;
    return 0;
}

int cli_read_uint64(const char *text, uint64_t *out)
{
    if (text[0] == '-' || text[0] == '\0' || text[0] == ' ' || text[0] == '\t')
        return text[0] == '-' && text[1] >= '0' && text[1] <= '9' ? 2 : 1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end == '\0')
        return errno == ERANGE ? 2 : (*out = v, 0);
    double d = 0;
    const int why = cli_read_double(text, -DBL_MAX, DBL_MAX, false, &d);
    if (why == 1 || (why == 0 && d != floor(d)))
        return 1;
    if (why == 2 || d < 0 || d >= 18446744073709551616.0)
        return 2;
    *out = (uint64_t)d;
    return 0;
}

int cli_read_double(const char *text, double min, double max, bool inf, double *out)
{
    if (text[0] == '\0' || text[0] == ' ' || text[0] == '\t')
        return 1;
    if (strcasecmp(text, "inf") == 0 || strcasecmp(text, "+inf") == 0) {
        if (!inf)
            return 2;
        *out = INFINITY;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    const double v = strtod(text, &end);
    if (*end != '\0' || isnan(v) || (isinf(v) && errno != ERANGE))
        return 1; /* "nan", "-inf", "infinity", "1x" */
    if (errno == ERANGE && (isinf(v) || v == 0 || fabs(v) < DBL_MIN))
        return 2; /* beyond double precision, or below its normal numbers */
    if (v < min || v > max)
        return 2;
    *out = v;
    return 0;
}

/* What a number flag takes, for messages: "a whole number from 1 to 1000000". */
static void describe_range(const cli_opt *o, char *buf, size_t cap)
{
    const bool whole = o->kind == CLI_INT || o->kind == CLI_UINT64;
    const bool any = o->min == 0 && o->max == 0;
    double lo = o->min, hi = o->max;
    if (o->kind == CLI_INT && any)
        lo = 0, hi = INT_MAX;
    if (o->kind == CLI_UINT64)
        snprintf(buf, cap, "a nonnegative whole number below 2^64");
    else if (o->kind == CLI_DOUBLE && (any || (lo == -DBL_MAX && hi == DBL_MAX)))
        snprintf(buf, cap, "a number");
    else if (hi >= INT_MAX || hi == DBL_MAX)
        snprintf(buf, cap, "%s of at least %.10g", whole ? "a whole number" : "a number", lo);
    else
        snprintf(buf, cap, "%s from %.10g to %.10g", whole ? "a whole number" : "a number", lo, hi);
    if (o->flags & CLI_INF) {
        const size_t used = strlen(buf);
        snprintf(buf + used, cap - used, ", or Inf");
    }
}

int cli_number_error(const cli_spec *spec, const cli_opt *o, const char *text, int why)
{
    char range[128];
    describe_range(o, range, sizeof range);
    if (why == 1)
        return cli_usage_error(spec, "--%s takes %s, not '%s'", o->name, range, text);
    if (o->kind == CLI_DOUBLE || o->kind == CLI_INT) {
        errno = 0;
        char *end = NULL;
        const double v = strtod(text, &end);
        if (errno == ERANGE && isinf(v))
            return cli_usage_error(spec,
                                   "--%s %s is out of range: it is beyond the largest number "
                                   "in double precision (%.2g); it takes %s",
                                   o->name, text, DBL_MAX, range);
        if (errno == ERANGE)
            return cli_usage_error(spec,
                                   "--%s %s is out of range: it is below the smallest normal "
                                   "number in double precision (%.2g); give 0 or a larger "
                                   "number (it takes %s)",
                                   o->name, text, DBL_MIN, range);
    }
    return cli_usage_error(spec, "--%s %s is out of range: it takes %s", o->name, text, range);
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (Levenshtein with transpositions); -1 when too long. */
static int distance(const char *a, size_t n, const char *b)
{
    enum { MAXLEN = 63 };
    const size_t m = strlen(b);
    if (n > MAXLEN || m > MAXLEN)
        return -1;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            const int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
            v = d[i - 1][j - 1] + cost < v ? d[i - 1][j - 1] + cost : v;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const char *cli_nearest(const char *word, size_t len, const char *const *candidates, int n)
{
    const int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (int i = 0; i < n; i++) {
        const int d = distance(word, len, candidates[i]);
        if (d >= 0 && d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    for (int i = 0; best == NULL && i < n; i++)
        if (len >= 3 && strncmp(word, candidates[i], len) == 0)
            best = candidates[i];
    return best;
}

/* ---- the parser ---- */

int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
{
    fprintf(stderr, "minicnn %s: ", spec->command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

static const char *value_name(const cli_opt *o)
{
    if (o->kind == CLI_SWITCH)
        return "";
    if (o->kind == CLI_PLOTS)
        return "training-progress FILE";
    return o->value != NULL ? o->value : o->kind == CLI_BOOL ? "BOOL" : "VALUE";
}

void cli_help(const cli_spec *spec)
{
    printf("usage: minicnn %s %s\n", spec->command, spec->usage);
    if (spec->about != NULL)
        printf("\n%s\n", spec->about);
    if (spec->n_opts == 0)
        return;
    int w = 0;
    for (int i = 0; i < spec->n_opts; i++) {
        const int len = (int)(strlen(spec->opts[i].name) + strlen(value_name(&spec->opts[i]))) + 3;
        w = len > w ? len : w;
    }
    w = w > 34 ? 34 : w;
    printf("\nflags:\n");
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        const char *v = value_name(o);
        const int len = printf("  --%s%s%s", o->name, v[0] ? " " : "", v) - 2;
        if (len > w)
            printf("\n%*s", w + 2, "");
        else
            printf("%*s", w - len, "");
        printf("  %s\n", o->help);
    }
    printf("  -h, --help%*s  this help\n", w - 10 > 0 ? w - 10 : 0, "");
}

/* Stores value in o's target; returns -1, or 2 after saying why not. */
static int store(const cli_spec *spec, const cli_opt *o, const char *value)
{
    switch (o->kind) {
    case CLI_STRING:
    case CLI_PLOTS:
        *(const char **)o->target = value;
        return -1;
    case CLI_INT: {
        long long v = 0;
        const bool any = o->min == 0 && o->max == 0;
        if ((o->flags & CLI_INF) && strcasecmp(value, "inf") == 0) {
            *(int *)o->target = 0;
            return -1;
        }
        const int why =
            cli_read_int(value, any ? 0 : (long long)o->min, any ? INT_MAX : (long long)o->max, &v);
        if (why != 0)
            return cli_number_error(spec, o, value, why);
        *(int *)o->target = (int)v;
        return -1;
    }
    case CLI_UINT64: {
        uint64_t v = 0;
        const int why = cli_read_uint64(value, &v);
        if (why != 0)
            return cli_number_error(spec, o, value, why);
        *(uint64_t *)o->target = v;
        return -1;
    }
    case CLI_DOUBLE: {
        double v = 0;
        const bool any = o->min == 0 && o->max == 0;
        const int why = cli_read_double(value, any ? -DBL_MAX : o->min, any ? DBL_MAX : o->max,
                                        (o->flags & CLI_INF) != 0, &v);
        if (why != 0)
            return cli_number_error(spec, o, value, why);
        *(double *)o->target = v;
        return -1;
    }
    case CLI_BOOL:
    case CLI_SWITCH:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(int *)o->target = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(int *)o->target = 0;
        else
            return cli_usage_error(spec, "--%s takes true or false, not '%s'", o->name, value);
        return -1;
    }
    return -1;
}

static int unknown_flag(const cli_spec *spec, const char *name, size_t len)
{
    const char *names[128];
    const int n = spec->n_opts < 128 ? spec->n_opts : 128;
    for (int i = 0; i < n; i++)
        names[i] = spec->opts[i].name;
    const char *near = cli_nearest(name, len, names, n);
    fprintf(stderr, "minicnn %s: unknown flag '--%.*s'", spec->command, (int)len, name);
    if (near != NULL)
        fprintf(stderr, " (did you mean '--%s'?)", near);
    if (spec->n_opts > 0)
        fprintf(stderr, "; 'minicnn %s --help' lists the flags\n", spec->command);
    else
        fprintf(stderr, "; it takes no flags (usage: minicnn %s %s)\n", spec->command, spec->usage);
    return 2;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, const char **args, int *n_args)
{
    int count = 0;
    bool flags_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            if (spec->max_args >= 0 && count >= spec->max_args)
                return cli_usage_error(spec, "unexpected argument '%s' (usage: minicnn %s %s)", arg,
                                       spec->command, spec->usage);
            args[count++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_help(spec);
            return 0;
        }
        if (arg[1] != '-')
            return cli_usage_error(spec,
                                   "unknown flag '%s' (flags start with --); 'minicnn %s "
                                   "--help' lists them",
                                   arg, spec->command);
        const char *name = arg + 2, *eq = strchr(name, '=');
        const size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = NULL;
        for (int k = 0; k < spec->n_opts && o == NULL; k++)
            if (strlen(spec->opts[k].name) == len && strncmp(spec->opts[k].name, name, len) == 0)
                o = &spec->opts[k];
        if (o == NULL)
            return unknown_flag(spec, name, len);
        const char *value = eq != NULL ? eq + 1 : NULL;
        if (o->kind == CLI_SWITCH && value == NULL) {
            *(int *)o->target = 1;
            continue;
        }
        if (value == NULL) {
            if (i + 1 >= argc)
                return cli_usage_error(spec, "--%s needs a value (%s: %s)", o->name, value_name(o),
                                       o->help);
            value = argv[++i];
        }
        if (o->kind == CLI_PLOTS && strcmp(value, "none") == 0) {
            *(const char **)o->target = NULL;
            continue;
        }
        if (o->kind == CLI_PLOTS) {
            if (strcmp(value, "training-progress") != 0 || i + 1 >= argc)
                return cli_usage_error(spec,
                                       "--%s takes 'training-progress FILE.png' or "
                                       "'none', not '%s'",
                                       o->name, value);
            value = argv[++i];
        }
        const int rc = store(spec, o, value);
        if (rc >= 0)
            return rc;
    }
    if (count < spec->min_args)
        return cli_usage_error(spec, "%s (usage: minicnn %s %s)",
                               count == 0 ? "missing arguments" : "too few arguments",
                               spec->command, spec->usage);
    if (n_args != NULL)
        *n_args = count;
    return -1;
}
