/* SPDX-License-Identifier: MIT */
/* MATLAB training scripts: `minicnn run SCRIPT.m` runs the statements of a small-CNN script
 * (imageDatastore, splitEachLabel, a layer array, trainingOptions, trainNetwork, classify and
 * the arithmetic on the results) with MATLAB's semantics and MATLAB's display of statements
 * that end without a semicolon.
 *
 * The whole script is parsed and its names resolved before anything runs (mc_script_parse):
 * an unknown function or variable, a misspelt option of a literal trainingOptions call, a layer
 * call whose literal arguments its constructor refuses, or a statement minicnn cannot execute
 * stops it there, with "file:line:column: the statement: why". Display-only statements (figure,
 * imshow, subplot, montage, title, plot, and for loops whose body holds only such calls) are
 * skipped, with one note each.
 *
 * The library prints nothing: what MATLAB would print goes to the host's print callback, notes
 * to its note callback, and the host supplies trainNetwork's progress callback (the verbose
 * table and the training-progress figure are the command's). */
#ifndef MINICNN_SCRIPT_H
#define MINICNN_SCRIPT_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/train.h>

typedef struct mc_script mc_script;

/* What trainNetwork is about to do, for the host's progress callback. */
typedef struct mc_script_training {
    const mc_train_options *options; /* as trainNetwork uses them; borrowed for the call */
    bool verbose;                    /* 'Verbose' (true by default): the host prints the table */
    bool plots;                      /* 'Plots','training-progress' */
    bool validation;                 /* 'ValidationData' given */
    int line;                        /* of the trainNetwork call */
} mc_script_training;

typedef struct mc_script_host {
    void *user;
    /* Text MATLAB prints in its command window (a display, fprintf, disp); borrowed. */
    void (*print)(void *user, const char *text);
    /* A note, one line without its newline: "file:line:col: note: ..."; borrowed. */
    void (*note)(void *user, const char *text);
    /* Called by trainNetwork before training: sets *callback and *callback_user (NULL for none).
     * A non-zero return stops the script with MC_ERR_IO (the host has said why). May be
     * NULL. */
    int (*train_begin)(void *user, const mc_script_training *t, mc_train_callback *callback,
                       void **callback_user);
    /* Called after training with its status, when train_begin succeeded. May be NULL. */
    void (*train_end)(void *user, void *callback_user, mc_status status);
    /* The folder `matlabroot` returns (DigitDataset under toolbox/nnet/nndemos/nndatasets). */
    const char *matlabroot;
} mc_script_host;

/* Parses and checks `len` bytes of a script; `filename` names it in messages. On success *out
 * holds the checked script (mc_script_destroy). Returns MC_OK, MC_ERR_FORMAT ("file:line:col:
 * `statement`: why"), a layer constructor's status with its message located, or
 * MC_ERR_NOMEM. */
mc_status mc_script_parse(mc_ctx *ctx, const char *text, size_t len, const char *filename,
                          mc_script **out);

/* Reads and parses a file: mc_script_parse's returns, or MC_ERR_IO naming the path. */
mc_status mc_script_load(mc_ctx *ctx, const char *path, mc_script **out);

/* Runs a checked script from its first statement. Returns MC_OK, or the status of the
 * statement that failed, with "file:line:col: `statement`: why" in the context's message
 * (MC_ERR_IO, MC_ERR_FORMAT, MC_ERR_SHAPE, MC_ERR_INVALID, MC_ERR_NUMERIC, MC_ERR_NOMEM). A
 * script runs once. */
mc_status mc_script_run(mc_script *script, const mc_script_host *host);

void mc_script_destroy(mc_script *script);

#ifdef __cplusplus
}
#endif

#endif
