/* SPDX-License-Identifier: MIT */
/* minicnn run SCRIPT.m: a MATLAB training script, run as written (src/script). The command
 * prints what MATLAB prints; it supplies trainNetwork's verbose table and training-progress
 * figure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <minicnn/script.h>

#include "cli.h"
#include "options.h"
#include "progress.h"
#include "script_cli.h"
#include "verbose.h"

typedef struct run_state {
    const char *script;
    char *figure; /* the training-progress PNG, named after the script */
    int trainings;
    /* the current trainNetwork call */
    progress_log log;
    bool verbose, validation, header_done;
    int max_epochs;
} run_state;

static void on_print(void *user, const char *text)
{
    (void)user;
    fputs(text, stdout);
    fflush(stdout);
}

static void on_note(void *user, const char *text)
{
    (void)user;
    fflush(stdout);
    fprintf(stderr, "%s\n", text);
}

static int on_progress(void *user, const mc_train_progress *p)
{
    run_state *s = user;
    progress_log_add(&s->log, p, s->max_epochs);
    if (s->verbose && p->verbose_row) {
        if (!s->header_done) {
            verbose_header(stdout, s->validation);
            s->header_done = true;
        }
        verbose_row(stdout, p, s->validation);
        fflush(stdout);
    }
    if (s->verbose && p->last && s->header_done)
        verbose_end(stdout, s->validation);
    return 0;
}

/* "dir/name.m" -> "name_training_progress.png" (a second trainNetwork call: "_2"). */
static char *figure_name(const char *script, int k)
{
    const char *base = strrchr(script, '/');
    base = base != NULL ? base + 1 : script;
    size_t len = strlen(base);
    if (len > 2 && strcmp(base + len - 2, ".m") == 0)
        len -= 2;
    return k > 1 ? cli_format("%.*s_training_progress_%d.png", (int)len, base, k)
                 : cli_format("%.*s_training_progress.png", (int)len, base);
}

static int on_train_begin(void *user, const mc_script_training *t, mc_train_callback *callback,
                          void **callback_user)
{
    run_state *s = user;
    memset(&s->log, 0, sizeof s->log);
    s->verbose = t->verbose;
    s->validation = t->validation;
    s->header_done = false;
    s->max_epochs = t->options->max_epochs;
    s->trainings++;
    free(s->figure);
    s->figure = NULL;
    if (t->plots && (s->figure = figure_name(s->script, s->trainings)) == NULL)
        return 1;
    fflush(stdout);
    if (progress_log_open(&s->log, NULL, s->figure, !t->verbose && isatty(fileno(stderr))) != 0)
        return 1;
    *callback = on_progress;
    *callback_user = s;
    return 0;
}

static void on_train_end(void *user, void *callback_user, mc_status status)
{
    run_state *s = user;
    (void)callback_user;
    const int failed = progress_log_close(&s->log);
    fflush(stdout);
    if (s->figure != NULL && status == MC_OK && failed == 0)
        fprintf(stderr, "minicnn: the training-progress figure is %s\n", s->figure);
    else if (s->figure != NULL && failed != 0)
        fprintf(stderr, "minicnn: warning: the training-progress figure %s is incomplete\n",
                s->figure);
}

int cmd_run(int argc, char **argv)
{
    uint64_t seed = 1;
    int threads = 0;
    const char *root_flag = NULL;
    const cli_opt opts[] = {
        {"seed", CLI_UINT64, &seed, "S", "seeds randperm, splitEachLabel and training (1)", 0, 0,
         0},
        {"threads", CLI_INT, &threads, "N", "threads, every core by default (same results)", 1,
         1024, 0},
        {"matlabroot", CLI_STRING, &root_flag, "DIR",
         "the folder matlabroot names (where minicnn data digitdataset writes)", 0, 0, 0},
    };
    const cli_spec spec = {
        "run",
        "SCRIPT.m [FLAGS]",
        "Runs a MATLAB training script as written: imageDatastore, splitEachLabel, a layer\n"
        "array, trainingOptions, trainNetwork, classify and the arithmetic on the results,\n"
        "printing what MATLAB prints. The whole script is checked before anything runs;\n"
        "display-only statements (figure, imshow, subplot, ...) are skipped with a note.",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        1,
        1};
    const char *path = NULL;
    int n = 0;
    const int prc = cli_parse(&spec, argc, argv, &path, &n);
    if (prc >= 0)
        return prc;
    mc_ctx *ctx = cli_ctx(seed);
    if (ctx == NULL)
        return 1;
    if (threads > 0)
        mc_set_threads(threads);
    char *root = root_flag != NULL ? cli_format("%s", root_flag) : cli_matlabroot();
    if (root == NULL) {
        mc_ctx_destroy(ctx);
        return 1;
    }
    mc_script *script = NULL;
    mc_status st = mc_script_load(ctx, path, &script);
    run_state s;
    memset(&s, 0, sizeof s);
    s.script = path;
    const mc_script_host host = {&s, on_print, on_note, on_train_begin, on_train_end, root};
    if (st == MC_OK)
        st = mc_script_run(script, &host);
    fflush(stdout);
    const int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    mc_script_destroy(script);
    free(s.figure);
    free(root);
    mc_ctx_destroy(ctx);
    return rc;
}
