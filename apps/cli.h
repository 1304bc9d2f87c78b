/* SPDX-License-Identifier: MIT */
/* Shared by the minicnn command's files. */
#ifndef MINICNN_CLI_H
#define MINICNN_CLI_H

#include <stdbool.h>

#include <minicnn/minicnn.h>

/* Prints "minicnn: error: <message>" (the context's message, or the status's text) and
 * returns exit code 1. */
int cli_fail(mc_ctx *ctx, mc_status st);

/* A context seeded with `seed`, or NULL after printing why not. */
mc_ctx *cli_ctx(uint64_t seed);

/* Prints and frees text owned by ctx. */
void cli_put_text(mc_ctx *ctx, char *text);

/* A string made like printf's, on the heap (free it), or NULL after printing "out of memory".
 * Paths are built with it: any length. */
char *cli_format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The path of a file shipped under data/ ("networks/reference-gray.net"), on the heap: relative
 * to the current directory when it exists there, else under PREFIX/share/minicnn of the
 * installed command (found from /proc/self/exe), or the build tree's link to the source data/.
 * NULL after printing "out of memory". */
char *cli_data_path(const char *relative);

/* The four IDX paths (train images, train labels, test images, test labels), on the heap; ""
 * for a part not given. */
typedef struct cli_paths {
    char *p[4];
} cli_paths;
void cli_paths_free(cli_paths *paths);
/* Copies given (NULL entries as ""); 0, or 1 after printing "out of memory". */
int cli_paths_set(cli_paths *paths, const char *const given[4]);

/* The paths of a named data set: "fashion-mnist" or "mnist". Returns 0, or an exit code after
 * saying what is missing. */
int cli_dataset_paths(const char *name, cli_paths *paths);

/* Reads an IDX data set for net (assembled): both files' headers are checked against each other,
 * the network's input size and channels (any when color is gray2rgb or rgb2gray) and its classes
 * before their data is read. `what` ("test data") names the data in messages. */
mc_status cli_read_idx(mc_ctx *ctx, const mc_net *net, const char *color, const char *images,
                       const char *labels, const char *what, mc_dataset *out);

int cmd_train(int argc, char **argv);
int cmd_normlab(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* Image folders as data (apps/folder.c). */
typedef struct cli_folder {
    const char *dir;
    double split;      /* proportion of each class to train on; NaN for the default 0.75 */
    uint64_t seed;     /* seeds the split */
    const char *color; /* --color-preprocessing, NULL for none */
    bool resize;       /* false: --no-resize */
} cli_folder;

bool cli_is_directory(const char *path);

/* The network's output layer, or NULL. */
mc_layer *cli_output_layer(const mc_net *net);

/* Reads o->dir for net (assembling it for max_batch if it is not): DIR/train and DIR/test when
 * both exist, else DIR split per class; images at the input layer's size. The output layer
 * takes the folder names as class names (or must have them already). Prints one line saying
 * what was read. train may be NULL (classify: the test part only). */
mc_status cli_read_folder(mc_ctx *ctx, mc_net *net, int max_batch, const cli_folder *o,
                          mc_dataset *train, mc_dataset *test);

/* Whether path names a CSV table (ends in .csv, in any case). */
bool cli_is_csv(const char *path);

/* A CSV table for a featureInputLayer network (apps/table.c). */
typedef struct cli_table {
    const char *path;
    const char *response; /* the label column; NULL for the last */
    bool omit_missing;    /* --omit-missing: rows with a missing value are left out */
    double split;         /* proportion of each class to train on; NaN for 0.75 */
    uint64_t seed;        /* seeds the split */
} cli_table;

/* Reads o->path for net (assembling it for max_batch if it is not), checks its predictors
 * against the featureInputLayer and its classes against the output, names the output's
 * classes after the response's values, and splits the rows per class. Prints one line. */
mc_status cli_read_table(mc_ctx *ctx, mc_net *net, int max_batch, const cli_table *o,
                         mc_dataset *train, mc_dataset *test);

#endif
