/* Shared by the minicnn command's files. */
#ifndef MINICNN_CLI_H
#define MINICNN_CLI_H

#include <stdbool.h>

#include <minicnn/minicnn.h>

/* Prints "minicnn: error: <message>" (the context's message, or the status's text) and
 * returns exit code 1. */
int cli_fail(mc_ctx *ctx, mc_status st);

/* Prints "usage: <text>" to stderr and returns exit code 2. */
int cli_usage(const char *text);

/* A context seeded with `seed`, or NULL after printing why not. */
mc_ctx *cli_ctx(uint64_t seed);

/* Prints and frees text owned by ctx. */
void cli_put_text(mc_ctx *ctx, char *text);

/* The path of a file shipped under data/ ("networks/reference-gray.net"): relative to the
 * current directory when it exists there, else in the source tree minicnn was built from. */
const char *cli_data_path(const char *relative, char *buf, size_t cap);

/* The four IDX paths (train images, train labels, test images, test labels) of a named data
 * set: "fashion-mnist" or "mnist". Returns 0, or an exit code after saying what is missing. */
int cli_dataset_paths(const char *name, char paths[4][512]);

int cmd_train(int argc, char **argv);
int cmd_normlab(int argc, char **argv);
int cmd_classify(int argc, char **argv);

#endif
