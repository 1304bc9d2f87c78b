/* SPDX-License-Identifier: MIT */
/* One command-line grammar for every minicnn command: a table of flags per command, read by one
 * parser. `--flag value` and `--flag=value`; positional arguments anywhere, `--` ends the flags;
 * `-h`/`--help` prints the command's help on stdout. Every number goes through the same checks,
 * an unknown flag gets the nearest known one as a suggestion, and usage errors are printed on
 * stderr with exit code 2. Adding a flag to a command is one line of its table. */
#ifndef MINICNN_OPTIONS_H
#define MINICNN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cli_kind {
    CLI_STRING, /* const char *: the argument itself */
    CLI_INT,    /* int within [min, max]; min = max = 0 means [0, INT_MAX] */
    CLI_UINT64, /* uint64_t, any nonnegative whole number that fits 64 bits */
    CLI_DOUBLE, /* double within [min, max]; min = max = 0 means any finite number */
    CLI_BOOL,   /* int 1 or 0: true, false, 1 or 0 */
    CLI_SWITCH, /* int set to 1; takes no value (`--flag=false` sets 0) */
    CLI_PLOTS,  /* const char *: MATLAB's Plots, `training-progress FILE` (two words) or `none` */
} cli_kind;

/* CLI_INT and CLI_DOUBLE: also accept "Inf" (any case), stored as 0 (ints: MATLAB's Inf
 * patience) or INFINITY (doubles). */
#define CLI_INF 1u

typedef struct cli_opt {
    const char *name; /* without the leading -- */
    cli_kind kind;
    void *target;      /* written only when the flag is given */
    const char *value; /* the value's name in the help ("N", "FILE"); NULL: "VALUE" */
    const char *help;
    double min, max; /* CLI_INT, CLI_DOUBLE: the accepted range, inclusive */
    unsigned flags;  /* CLI_INF */
} cli_opt;

typedef struct cli_spec {
    const char *command; /* "train", "data export-png" */
    const char *usage;   /* after "minicnn COMMAND ": "MODEL [FLAGS]" */
    const char *about;   /* the help's paragraph, or NULL */
    const cli_opt *opts;
    int n_opts;
    int min_args, max_args; /* positional arguments; max_args -1: any number */
} cli_spec;

/* Reads argv[1 .. argc-1] against spec: flags into their targets, positional arguments in order
 * into args (room for argc - 1 of them when max_args is -1, else for max_args), their count into
 * *n_args (args and n_args may be NULL when max_args is 0). Returns -1 to go on, or the exit
 * code to return: 0 after printing the help on stdout, 2 after printing a usage error on
 * stderr. */
int cli_parse(const cli_spec *spec, int argc, char **argv, const char **args, int *n_args);

/* Prints the help of spec on stdout. */
void cli_help(const cli_spec *spec);

/* Prints "minicnn COMMAND: <message>" on stderr and returns 2. */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The checked number readers every flag goes through. They return 0 and the value, or 1 when the
 * text is not a number of that kind, or 2 when it is one but outside [min, max] (for doubles also
 * beyond double precision's range: overflow, or an underflow to a subnormal). */
int cli_read_int(const char *text, long long min, long long max, long long *out);
int cli_read_uint64(const char *text, uint64_t *out);
int cli_read_double(const char *text, double min, double max, bool inf, double *out);

/* Prints why `--flag text` was refused (`why` from the readers above) and returns 2. */
int cli_number_error(const cli_spec *spec, const cli_opt *o, const char *text, int why);

/* The candidate nearest to `word` by edit distance, when near enough to be a likely misspelling
 * (or when word is a prefix of it); NULL otherwise. */
const char *cli_nearest(const char *word, size_t len, const char *const *candidates, int n);

#endif
