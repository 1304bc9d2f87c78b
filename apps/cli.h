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

#endif
