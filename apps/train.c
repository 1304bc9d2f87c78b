/* SPDX-License-Identifier: MIT */
/* minicnn train: MATLAB's trainNetwork from the command line. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "options.h"
#include "profile.h"
#include "progress.h"
#include "validation.h"
#include "verbose.h"

typedef struct train_args {
    const char *net, *data, *train_images, *train_labels, *test_images, *test_labels;
    const char *color, *solver, *shuffle, *schedule, *threshold_method, *report, *validation;
    const char *save, *checkpoint_path, *resume, *plots, *log, *response, *environment;
    const char *bn_statistics, *validation_images, *validation_labels;
    const char *augmenter;
    double initial_learn_rate, momentum, beta1, beta2, epsilon, l2, drop_factor, threshold;
    double min_accuracy, split;
    int no_resize, omit_missing;
    int max_epochs, batch, drop_period, validation_frequency, validation_patience;
    int verbose_frequency, threads, train_subset;
    int verbose;
    int profile;
    uint64_t seed;
} train_args;

/* The largest --max-epochs and --mini-batch-size; the trainer also checks that the iterations
 * they make can be counted. */
#define MAX_EPOCHS 1000000
#define MAX_BATCH 1000000

/* Reads train's flags, named after MATLAB's training options. Returns -1 to go on, else the
 * exit code. */
static int parse_train_flags(int argc, char **argv, train_args *a)
{
    const cli_opt opts[] = {
        {"net", CLI_STRING, &a->net, "FILE", "network file (default networks/reference-gray.net)",
         0, 0, 0},
        {"data", CLI_STRING, &a->data, "NAME",
         "fashion-mnist (default), mnist, an image folder or a CSV table", 0, 0, 0},
        {"split", CLI_DOUBLE, &a->split, "P",
         "image folder or table: share (0.75) or count of each class to train on", 0, 0, 0},
        {"response", CLI_STRING, &a->response, "NAME", "CSV table: the label column (the last)", 0,
         0, 0},
        {"omit-missing", CLI_SWITCH, &a->omit_missing, NULL,
         "CSV table: leave out rows with a missing value", 0, 0, 0},
        {"no-resize", CLI_SWITCH, &a->no_resize, NULL,
         "image folder: refuse images of another size", 0, 0, 0},
        {"train-images", CLI_STRING, &a->train_images, "FILE", "IDX file of training images", 0, 0,
         0},
        {"train-labels", CLI_STRING, &a->train_labels, "FILE", "IDX file of training labels", 0, 0,
         0},
        {"test-images", CLI_STRING, &a->test_images, "FILE", "IDX file of test images", 0, 0, 0},
        {"test-labels", CLI_STRING, &a->test_labels, "FILE", "IDX file of test labels", 0, 0, 0},
        {"color-preprocessing", CLI_STRING, &a->color, "MODE", "none, gray2rgb or rgb2gray", 0, 0,
         0},
        {"augmenter", CLI_STRING, &a->augmenter, "EXPR",
         "\"imageDataAugmenter(...)\": augment each training image each epoch", 0, 0, 0},
        {"execution-environment", CLI_STRING, &a->environment, "ENV",
         "auto (default) or cpu: minicnn trains on the CPU", 0, 0, 0},
        {"solver", CLI_STRING, &a->solver, "NAME", "sgdm (default), adam or rmsprop", 0, 0, 0},
        {"initial-learn-rate", CLI_DOUBLE, &a->initial_learn_rate, "R",
         "0.01 sgdm, 0.001 adam/rmsprop", 0, 0, 0},
        {"momentum", CLI_DOUBLE, &a->momentum, "M", "sgdm momentum (0.9)", 0, 0, 0},
        {"gradient-decay-factor", CLI_DOUBLE, &a->beta1, "B1", "adam beta1 (0.9)", 0, 0, 0},
        {"squared-gradient-decay-factor", CLI_DOUBLE, &a->beta2, "B2",
         "adam/rmsprop beta2 (0.999 / 0.9)", 0, 0, 0},
        {"epsilon", CLI_DOUBLE, &a->epsilon, "E", "adam/rmsprop epsilon (1e-8)", 0, 0, 0},
        {"l2-regularization", CLI_DOUBLE, &a->l2, "L", "L2 regularization (1e-4)", 0, 0, 0},
        {"max-epochs", CLI_INT, &a->max_epochs, "N", "epochs (30)", 1, MAX_EPOCHS, 0},
        {"mini-batch-size", CLI_INT, &a->batch, "N", "observations per iteration (128)", 1,
         MAX_BATCH, 0},
        {"shuffle", CLI_STRING, &a->shuffle, "WHEN", "once (default), never or every-epoch", 0, 0,
         0},
        {"learn-rate-schedule", CLI_STRING, &a->schedule, "S", "none (default) or piecewise", 0, 0,
         0},
        {"learn-rate-drop-factor", CLI_DOUBLE, &a->drop_factor, "F", "piecewise factor (0.1)", 0, 0,
         0},
        {"learn-rate-drop-period", CLI_INT, &a->drop_period, "N", "piecewise period in epochs (10)",
         1, INT_MAX, 0},
        {"validation-data", CLI_STRING, &a->validation, "WHAT",
         "none (default), test, an image folder or a CSV table", 0, 0, 0},
        {"validation-images", CLI_STRING, &a->validation_images, "FILE",
         "IDX file of validation images", 0, 0, 0},
        {"validation-labels", CLI_STRING, &a->validation_labels, "FILE",
         "IDX file of validation labels", 0, 0, 0},
        {"validation-frequency", CLI_INT, &a->validation_frequency, "N", "iterations (50)", 1,
         INT_MAX, 0},
        {"validation-patience", CLI_INT, &a->validation_patience, "N",
         "validations (Inf, the default: 0)", 0, INT_MAX, CLI_INF},
        {"batch-normalization-statistics", CLI_STRING, &a->bn_statistics, "S",
         "population (default: over the training set at the end) or moving", 0, 0, 0},
        {"gradient-threshold", CLI_DOUBLE, &a->threshold, "T", "Inf (default) or a positive number",
         0, 0, CLI_INF},
        {"gradient-threshold-method", CLI_STRING, &a->threshold_method, "M",
         "l2norm (default), global-l2norm or absolute-value", 0, 0, 0},
        {"verbose", CLI_BOOL, &a->verbose, NULL, "true (default) or false", 0, 0, 0},
        {"verbose-frequency", CLI_INT, &a->verbose_frequency, "N", "iterations (50)", 1, INT_MAX,
         0},
        {"seed", CLI_UINT64, &a->seed, "S", "random seed (1)", 0, 0, 0},
        {"threads", CLI_INT, &a->threads, "N", "threads, every core by default (same results)", 1,
         1024, 0},
        {"profile", CLI_SWITCH, &a->profile, NULL,
         "after training, a table of each layer's share of the step time", 0, 0, 0},
        {"train-subset", CLI_INT, &a->train_subset, "N", "use only the first N training images", 1,
         INT_MAX, 0},
        {"report", CLI_STRING, &a->report, "FILE", "write a JSON summary to this file", 0, 0, 0},
        {"save", CLI_STRING, &a->save, "MODEL", "save the trained network to this model file", 0, 0,
         0},
        {"plots", CLI_PLOTS, &a->plots, NULL, "a figure of the training, redrawn every epoch", 0, 0,
         0},
        {"log", CLI_STRING, &a->log, "FILE", "a CSV file with every iteration's figures", 0, 0, 0},
        {"checkpoint-path", CLI_STRING, &a->checkpoint_path, "DIR",
         "folder for a checkpoint every epoch", 0, 0, 0},
        {"resume", CLI_STRING, &a->resume, "CHECKPOINT",
         "continue the run of this checkpoint (its options)", 0, 0, 0},
        {"min-accuracy", CLI_DOUBLE, &a->min_accuracy, "A",
         "exit with status 3 below this accuracy", 0, 1, 0},
    };
    const cli_spec spec = {"train",
                           "[FLAGS]",
                           "Trains a network file on a data set and prints MATLAB's progress "
                           "table and the test\naccuracy. Flags are named after MATLAB's "
                           "training options.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           0,
                           0};
    return cli_parse(&spec, argc, argv, NULL, NULL);
}

/* The four IDX paths of the chosen data set; *name says which it is. cmd names the command in
 * messages. */
static int data_paths(const char *cmd, const train_args *a, cli_paths *paths, const char **name)
{
    const char *given[4] = {a->train_images, a->train_labels, a->test_images, a->test_labels};
    int n_given = 0;
    for (int i = 0; i < 4; i++)
        n_given += given[i] != NULL;
    if (n_given > 0) {
        if (n_given < 4 || a->data != NULL) {
            fprintf(stderr,
                    "minicnn %s: give all four of --train-images, --train-labels, "
                    "--test-images and --test-labels, and no --data\n",
                    cmd);
            return 2;
        }
        *name = "idx";
        return cli_paths_set(paths, given);
    }
    const char *data = a->data != NULL ? a->data : "fashion-mnist";
    if (strcmp(data, "fashion-mnist") == 0 || strcmp(data, "mnist") == 0) {
        *name = data;
        return cli_dataset_paths(data, paths);
    }
    if (cli_is_directory(data) || cli_is_csv(data)) {
        const char *part[4] = {data, NULL, NULL, NULL};
        *name = cli_is_csv(data) ? "table" : "image-folder";
        return cli_paths_set(paths, part);
    }
    static const char *const known[2] = {"fashion-mnist", "mnist"};
    const char *near = cli_nearest(data, strlen(data), known, 2);
    fprintf(stderr, "minicnn %s: unknown data set '%s'", cmd, data);
    if (near != NULL)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr,
            "; use fashion-mnist, mnist, an image folder, a CSV table, or the %s IDX "
            "flags\n",
            strcmp(cmd, "train") == 0 ? "four --train-/--test-" : "--test-images/--test-labels");
    return 2;
}

/* Class names of the known data sets, in label order; NULL for numbered classes. */
static const char *const fashion_classes[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

/* Names the output layer's classes when the network file left them 'auto': Fashion-MNIST's
 * names, else the label numbers. */
static mc_status name_classes(mc_ctx *ctx, mc_net *net, const char *data_name)
{
    mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    const int K = mc_net_num_classes(net);
    if (out == NULL || mc_classification_num_classes(out) > 0 || K > 1000)
        return MC_OK;
    const bool fashion = strcmp(data_name, "fashion-mnist") == 0 && K == 10;
    char numbers[1000][8];
    const char *names[1000];
    for (int k = 0; k < K; k++) {
        snprintf(numbers[k], sizeof numbers[k], "%d", k);
        names[k] = fashion ? fashion_classes[k] : numbers[k];
    }
    (void)ctx;
    return mc_classification_set_classes(out, names, K);
}

/* ---- progress: the table, the log, and what the report says of each epoch ---- */

typedef struct epoch_stats {
    int epoch, iterations;
    double loss, accuracy, validation_loss, validation_accuracy, seconds; /* NaN: none */
    bool complete;
} epoch_stats;

typedef struct progress_state {
    progress_log log; /* the CSV log, the figure and the progress bar */
    int max_epochs;
    bool verbose, validation, header_done;
    /* per-epoch sums for the report */
    double loss_sum, acc_sum, val_loss, val_acc, epoch_start, seconds;
    int count, epoch, iteration;
    bool val_seen;
    epoch_stats *epochs;
    int n_epochs, cap_epochs;
    bool out_of_memory;
    int batch;
    const char *stop_reason; /* NULL while training */
} progress_state;

/* Closes the epoch being summed into an epoch_stats entry. */
static void end_epoch(progress_state *s, bool complete)
{
    if (s->count == 0)
        return;
    if (s->n_epochs == s->cap_epochs) {
        const int cap = s->cap_epochs ? 2 * s->cap_epochs : 64;
        epoch_stats *e = realloc(s->epochs, (size_t)cap * sizeof *e);
        if (e == NULL) {
            s->out_of_memory = true;
            return;
        }
        s->epochs = e;
        s->cap_epochs = cap;
    }
    s->epochs[s->n_epochs++] = (epoch_stats){s->epoch,
                                             s->count,
                                             s->loss_sum / s->count,
                                             s->acc_sum / s->count,
                                             s->val_seen ? s->val_loss : NAN,
                                             s->val_seen ? s->val_acc : NAN,
                                             s->seconds - s->epoch_start,
                                             complete};
    s->loss_sum = s->acc_sum = 0;
    s->count = 0;
    s->val_seen = false;
    s->epoch_start = s->seconds;
}

static int on_progress(void *user, const mc_train_progress *p)
{
    progress_state *s = user;
    progress_log_add(&s->log, p, s->max_epochs);
    s->loss_sum += p->loss;
    s->acc_sum += p->accuracy;
    s->count++;
    s->epoch = p->epoch;
    s->iteration = p->iteration;
    s->seconds = p->seconds;
    if (p->validated) {
        s->val_loss = p->validation_loss;
        s->val_acc = p->validation_accuracy;
        s->val_seen = true;
    }
    if (s->verbose && p->verbose_row) {
        if (!s->header_done) {
            verbose_header(stdout, s->validation);
            s->header_done = true;
        }
        verbose_row(stdout, p, s->validation);
        fflush(stdout);
    }
    if (p->epoch_end || p->last)
        end_epoch(s, p->epoch_end);
    if (p->last)
        s->stop_reason = p->iteration < p->iterations_per_epoch * s->max_epochs
                             ? "validation-patience"
                             : "max-epochs";
    if (s->verbose && p->last && s->header_done)
        verbose_end(stdout, s->validation);
    return 0;
}

/* Checks every output destination before any training, so that a run never learns after
 * hours that its report, figure, log, checkpoints or model cannot be written. */
static mc_status check_outputs(mc_ctx *ctx, const train_args *a)
{
    const char *const flags[4] = {"--save", "--report", "--plots", "--log"};
    const char *const paths[4] = {a->save, a->report, a->plots, a->log};
    mc_status st = MC_OK;
    for (int i = 0; st == MC_OK && i < 4; i++) {
        if (paths[i] == NULL)
            continue;
        st = mc_atomic_check(ctx, paths[i], flags[i]);
        for (int k = 0; st == MC_OK && k < i; k++)
            if (paths[k] != NULL && strcmp(paths[k], paths[i]) == 0)
                st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                                 "%s and %s both name '%s'; give each its own file", flags[k],
                                 flags[i], paths[i]);
    }
    if (st == MC_OK && a->checkpoint_path != NULL)
        st = mc_atomic_check_folder(ctx, a->checkpoint_path, "--checkpoint-path");
    return st;
}

/* MATLAB's words for why training stopped (the training-progress window's "Training
 * finished: ..."). */
static const char *stop_words(const char *reason)
{
    if (strcmp(reason, "max-epochs") == 0)
        return "Max epochs completed";
    if (strcmp(reason, "validation-patience") == 0)
        return "Met validation criterion";
    return "Training loss is NaN";
}

/* The --report JSON; acc and loss NaN when there is no test result (a diverged run), why the
 * error message then. */
static int write_report(mc_ctx *ctx, const char *path, const train_args *a,
                        const mc_train_options *o, const char *data_name, const cli_paths *paths,
                        const mc_dataset *train, const mc_dataset *test, const char *net,
                        double acc, double loss, const progress_state *ps, const char *why)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return 1;
    json_writer j;
    json_init(&j, f);
    json_object(&j, NULL, false);
    json_double(&j, "test_accuracy", acc);
    json_double(&j, "test_loss", loss);
    const char *reason = ps->stop_reason != NULL ? ps->stop_reason : "diverged";
    json_object(&j, "stopped", true);
    json_string(&j, "reason", reason);
    json_string(&j, "matlab", stop_words(reason));
    json_int(&j, "epoch", ps->epoch);
    json_int(&j, "iteration", ps->iteration);
    json_string(&j, "message", why);
    json_end(&j);
    json_array(&j, "epochs", false);
    for (int i = 0; i < ps->n_epochs; i++) {
        const epoch_stats *e = &ps->epochs[i];
        json_object(&j, NULL, true);
        json_int(&j, "epoch", e->epoch);
        json_double(&j, "loss", e->loss);
        json_double(&j, "accuracy", e->accuracy);
        json_double(&j, "validation_loss", e->validation_loss);
        json_double(&j, "validation_accuracy", e->validation_accuracy);
        json_double(&j, "seconds", e->seconds);
        json_double(&j, "images_per_second",
                    e->seconds > 0 ? e->iterations * (double)ps->batch / e->seconds : 0.0);
        if (!e->complete)
            json_bool(&j, "complete", false);
        json_end(&j);
    }
    json_end(&j);
    json_object(&j, "options", true);
    json_string(&j, "solver", mc_solver_name(o->solver.solver));
    json_double(&j, "initial_learn_rate", o->initial_learn_rate);
    json_double(&j, "momentum", o->solver.momentum);
    json_double(&j, "gradient_decay_factor", o->solver.gradient_decay_factor);
    json_double(&j, "squared_gradient_decay_factor", o->solver.squared_gradient_decay_factor);
    json_double(&j, "epsilon", o->solver.epsilon);
    json_double(&j, "l2_regularization", o->solver.l2_regularization);
    json_int(&j, "max_epochs", o->max_epochs);
    json_int(&j, "mini_batch_size", o->mini_batch_size);
    json_string(&j, "shuffle", mc_shuffle_name(o->shuffle));
    json_string(&j, "learn_rate_schedule", mc_schedule_name(o->schedule));
    json_double(&j, "learn_rate_drop_factor", o->learn_rate_drop_factor);
    json_int(&j, "learn_rate_drop_period", o->learn_rate_drop_period);
    if (isfinite(o->solver.gradient_threshold))
        json_double(&j, "gradient_threshold", o->solver.gradient_threshold);
    else
        json_string(&j, "gradient_threshold", "Inf");
    json_string(&j, "gradient_threshold_method",
                mc_threshold_method_name(o->solver.gradient_threshold_method));
    json_int(&j, "validation_frequency", o->validation_frequency);
    json_int(&j, "validation_patience", o->validation_patience);
    json_string(&j, "batch_normalization_statistics",
                mc_bn_statistics_name(o->batch_normalization_statistics));
    json_int(&j, "threads", a->threads);
    char said[1024] = ""; /* the augmenter as MATLAB writes it, or null */
    if (o->augmenter != NULL)
        mc_augmenter_format(o->augmenter, said, sizeof said);
    json_string(&j, "augmenter", o->augmenter != NULL ? said : NULL);
    json_end(&j);
    json_string(&j, "version", mc_version());
    json_uint(&j, "seed", a->seed);
    json_object(&j, "data", true);
    json_string(&j, "name", data_name);
    json_int(&j, "train_images", train->shape.ndim > 0 ? train->shape.dims[0] : 0);
    json_int(&j, "test_images", test->shape.ndim > 0 ? test->shape.dims[0] : 0);
    json_array(&j, "files", true);
    for (int i = 0; i < 4; i++)
        json_string(&j, NULL, paths->p[i]);
    json_end(&j);
    json_end(&j);
    json_string(&j, "net", net);
    json_end(&j);
    const bool ok = fclose(f) == 0 && !ps->out_of_memory;
    int rc = 0;
    if (!ok) {
        fprintf(stderr, "minicnn: error: out of memory while writing the report '%s'\n", path);
        rc = 1;
    } else if (mc_atomic_write_file(ctx, path, text, len) != MC_OK) {
        fprintf(stderr, "minicnn: error: --report: %s\n", mc_ctx_message(ctx));
        rc = 1;
    }
    free(text);
    return rc;
}

/* ---- validation data ---- */

enum { VAL_NONE, VAL_TEST, VAL_FOLDER, VAL_TABLE, VAL_IDX };

/* Which validation data the flags ask for, or -1 with the reason in ctx: --validation-data
 * none, test, DIR or FILE.csv, or the --validation-images/--validation-labels pair. */
static int validation_kind(mc_ctx *ctx, const train_args *a, const char *data, bool folder,
                           bool table)
{
    const char *v = a->validation;
    const bool idx = a->validation_images != NULL || a->validation_labels != NULL;
    if (idx && (a->validation_images == NULL || a->validation_labels == NULL)) {
        mc_ctx_fail(ctx, MC_ERR_INVALID, "give both --validation-images and --validation-labels");
        return -1;
    }
    if (idx && v != NULL) {
        mc_ctx_fail(ctx, MC_ERR_INVALID,
                    "give either --validation-data or --validation-images and "
                    "--validation-labels, not both");
        return -1;
    }
    if (idx)
        return VAL_IDX;
    if (v == NULL || strcmp(v, "none") == 0)
        return VAL_NONE;
    if (strcmp(v, "test") == 0)
        return VAL_TEST;
    const bool dir = cli_is_directory(v), csv = cli_is_csv(v);
    if (!dir && !(csv && access(v, F_OK) == 0)) {
        mc_ctx_fail(ctx, MC_ERR_INVALID,
                    "--validation-data takes none, test, an image folder or a CSV table; '%s' "
                    "is %s",
                    v,
                    csv ? "a CSV table that does not exist" : "neither a folder nor a .csv file");
        return -1;
    }
    if ((folder || table) && data != NULL) {
        struct stat sv, sd;
        const bool same = stat(v, &sv) == 0 && stat(data, &sd) == 0 && sv.st_dev == sd.st_dev &&
                          sv.st_ino == sd.st_ino;
        if (same) {
            mc_ctx_fail(ctx, MC_ERR_INVALID,
                        "--validation-data %s is the training data (--data): it would validate "
                        "on the images it trains on; give --validation-data test to validate on "
                        "the part --split holds out, or another %s",
                        v, table ? "table" : "folder");
            return -1;
        }
    }
    if (csv && !table) {
        mc_ctx_fail(ctx, MC_ERR_INVALID,
                    "--validation-data %s is a CSV table, which goes with a CSV training table "
                    "(--data FILE.csv) and its --response",
                    v);
        return -1;
    }
    if (dir && table) {
        mc_ctx_fail(ctx, MC_ERR_INVALID,
                    "--validation-data %s is an image folder but the training data is a CSV "
                    "table; give a CSV table",
                    v);
        return -1;
    }
    return dir ? VAL_FOLDER : VAL_TABLE;
}

/* Reads the separate validation data and checks it against the network (its classes are the
 * network's by now). */
static mc_status read_validation(mc_ctx *ctx, mc_net *net, const train_args *a, int kind,
                                 mc_dataset *val)
{
    mc_status st = MC_OK;
    const char *color = a->color != NULL ? a->color : "none";
    const bool convert = strcmp(color, "gray2rgb") == 0 || strcmp(color, "rgb2gray") == 0;
    if (kind == VAL_FOLDER)
        st = cli_read_validation_folder(ctx, net, a->validation, a->color, !a->no_resize, val);
    else if (kind == VAL_TABLE)
        st = cli_read_validation_table(ctx, net, a->validation, a->response, a->omit_missing != 0,
                                       "validation", val);
    else
        st = cli_read_idx(ctx, net, a->color, a->validation_images, a->validation_labels,
                          "validation data", val);
    if (st == MC_OK && kind == VAL_IDX && convert)
        st = mc_dataset_convert_channels(ctx, val, mc_net_input_shape(net, 1).dims[1]);
    if (st == MC_OK)
        st = mc_data_check_against_net(net, val, "validation data");
    return st;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    memset(&a, 0, sizeof a);
    a.initial_learn_rate = a.momentum = a.beta1 = a.beta2 = a.epsilon = a.l2 = NAN;
    a.drop_factor = a.threshold = a.min_accuracy = a.split = NAN;
    a.max_epochs = a.batch = a.drop_period = a.validation_frequency = -1;
    a.validation_patience = a.verbose_frequency = -1;
    a.threads = mc_num_cores();
    a.verbose = 1;
    a.seed = 1;
    int rc = parse_train_flags(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.environment != NULL && strcmp(a.environment, "auto") != 0 &&
        strcmp(a.environment, "cpu") != 0) {
        const bool gpu = strcmp(a.environment, "gpu") == 0 ||
                         strcmp(a.environment, "multi-gpu") == 0 ||
                         strcmp(a.environment, "parallel") == 0;
        fprintf(stderr, "minicnn train: --execution-environment %s: %s; give auto or cpu\n",
                a.environment,
                gpu ? "minicnn trains on the CPU only (its threads give the same results as "
                      "one thread), it has no GPU or parallel-pool training"
                    : "unknown execution environment (MATLAB's are auto, cpu, gpu, multi-gpu "
                      "and parallel)");
        return 2;
    }
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    const char *data_name = NULL;
    rc = data_paths("train", &a, &paths, &data_name);
    if (rc != 0)
        return rc;
    const bool folder = strcmp(data_name, "image-folder") == 0;
    const bool table = strcmp(data_name, "table") == 0;
    if ((!folder && a.no_resize) || (!folder && !table && !isnan(a.split))) {
        fprintf(stderr, "minicnn train: --split applies to image folders and CSV tables, "
                        "--no-resize to image folders (--data DIR)\n");
        cli_paths_free(&paths);
        return 2;
    }
    if (!table && (a.response != NULL || a.omit_missing)) {
        fprintf(stderr, "minicnn train: --response and --omit-missing apply to CSV tables "
                        "(--data FILE.csv)\n");
        cli_paths_free(&paths);
        return 2;
    }
    const cli_table to = {paths.p[0], a.response, a.omit_missing != 0, a.split, a.seed};
    const cli_folder fo = {paths.p[0], a.split, a.seed, a.color, !a.no_resize};
    mc_ctx *ctx = cli_ctx(a.seed);
    if (ctx == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_set_threads(a.threads);

    /* Options: MATLAB's defaults for the solver, then the flags. */
    mc_solver solver = MC_SOLVER_SGDM;
    mc_status st = a.solver != NULL ? mc_solver_parse(ctx, a.solver, &solver) : MC_OK;
    mc_train_options o = mc_train_default(solver);
    if (st == MC_OK && a.shuffle != NULL)
        st = mc_shuffle_parse(ctx, a.shuffle, &o.shuffle);
    if (st == MC_OK && a.schedule != NULL)
        st = mc_schedule_parse(ctx, a.schedule, &o.schedule);
    if (st == MC_OK && a.bn_statistics != NULL)
        st = mc_bn_statistics_parse(ctx, a.bn_statistics, &o.batch_normalization_statistics);
    if (st == MC_OK && a.threshold_method != NULL)
        st =
            mc_threshold_method_parse(ctx, a.threshold_method, &o.solver.gradient_threshold_method);
    if (!isnan(a.initial_learn_rate))
        o.initial_learn_rate = a.initial_learn_rate;
    if (!isnan(a.momentum))
        o.solver.momentum = a.momentum;
    if (!isnan(a.beta1))
        o.solver.gradient_decay_factor = a.beta1;
    if (!isnan(a.beta2))
        o.solver.squared_gradient_decay_factor = a.beta2;
    if (!isnan(a.epsilon))
        o.solver.epsilon = a.epsilon;
    if (!isnan(a.l2))
        o.solver.l2_regularization = a.l2;
    if (!isnan(a.threshold))
        o.solver.gradient_threshold = a.threshold;
    if (!isnan(a.drop_factor))
        o.learn_rate_drop_factor = a.drop_factor;
    if (a.max_epochs >= 0)
        o.max_epochs = a.max_epochs;
    if (a.batch >= 0)
        o.mini_batch_size = a.batch;
    if (a.drop_period >= 0)
        o.learn_rate_drop_period = a.drop_period;
    if (a.validation_frequency >= 0)
        o.validation_frequency = a.validation_frequency;
    if (a.validation_patience >= 0)
        o.validation_patience = a.validation_patience;
    if (a.verbose_frequency >= 0)
        o.verbose_frequency = a.verbose_frequency;
    const int val_kind = st == MC_OK ? validation_kind(ctx, &a, paths.p[0], folder, table) : -1;
    if (val_kind < 0)
        st = MC_ERR_INVALID;
    if (st == MC_OK) /* before the data is read and any training */
        st = check_outputs(ctx, &a);

    mc_augmenter *aug = NULL; /* seeded by --seed */
    if (st == MC_OK && a.augmenter != NULL &&
        (st = mc_augmenter_parse(ctx, a.augmenter, &aug)) == MC_OK)
        mc_augmenter_set_seed(aug, a.seed);
    char *net_path = NULL;
    mc_net *net = NULL;
    mc_dataset train, test, val;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&val, 0, sizeof val);
    char *text = NULL;
    mc_train_state *resume = NULL;
    if (st == MC_OK && a.resume != NULL) {
        /* The checkpoint's own options; flags that would change them are refused. */
        const bool changed =
            a.solver != NULL || a.shuffle != NULL || a.schedule != NULL ||
            a.threshold_method != NULL || a.net != NULL || !isnan(a.initial_learn_rate) ||
            !isnan(a.momentum) || !isnan(a.beta1) || !isnan(a.beta2) || !isnan(a.epsilon) ||
            !isnan(a.l2) || !isnan(a.threshold) || !isnan(a.drop_factor) || a.max_epochs >= 0 ||
            a.batch >= 0 || a.drop_period >= 0 || a.validation_patience >= 0;
        if (changed || a.bn_statistics != NULL)
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "--resume continues with the checkpoint's network and training "
                             "options; give only data, validation, output and checkpoint flags");
        if (st == MC_OK)
            st = mc_checkpoint_load(ctx, a.resume, &net, &resume);
        if (st == MC_OK) {
            const mc_dataset *keep = o.validation;
            o = *mc_train_state_options(resume);
            o.validation = keep;
            if (a.validation_frequency >= 0)
                o.validation_frequency = a.validation_frequency;
            if (a.verbose_frequency >= 0)
                o.verbose_frequency = a.verbose_frequency;
            *mc_train_state_options(resume) = o;
            printf("Resuming %s after epoch %d of %d (iteration %d).\n", a.resume,
                   mc_train_state_epochs_done(resume), o.max_epochs,
                   mc_train_state_iteration(resume));
        }
    } else if (st == MC_OK) {
        if (a.net == NULL &&
            (a.net = net_path = cli_data_path("networks/reference-gray.net")) == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
        if (st == MC_OK)
            st = mc_netfile_load(ctx, a.net, &net, NULL);
    }
    if (st == MC_OK)
        st = mc_net_describe(net, &text);
    if (st == MC_OK) {
        cli_put_text(ctx, text);
        putchar('\n');
        /* assembled for one observation to check and read the data; for the mini-batch size
         * once it is known to fit the data */
        st = mc_net_assemble(net, 1);
    }
    if (st == MC_OK)
        st = folder ? cli_read_folder(ctx, net, 1, &fo, &train, &test)
             : table
                 ? cli_read_table(ctx, net, 1, &to, &train, &test)
                 : cli_read_idx(ctx, net, a.color, paths.p[0], paths.p[1], "training data", &train);
    if (st == MC_OK && !folder && !table)
        st = cli_read_idx(ctx, net, a.color, paths.p[2], paths.p[3], "test data", &test);
    if (st == MC_OK && a.train_subset > 0 && a.train_subset < train.shape.dims[0])
        train.shape.dims[0] = a.train_subset;
    if (st == MC_OK && o.mini_batch_size > train.shape.dims[0])
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "--mini-batch-size %d is larger than the training data (%d "
                         "observations%s); give at most %d",
                         o.mini_batch_size, train.shape.dims[0],
                         a.train_subset > 0 ? " after --train-subset" : "", train.shape.dims[0]);
    if (st == MC_OK)
        st = mc_net_assemble(net, o.mini_batch_size);
    if (st == MC_OK) {
        /* Channels: the data must match the input layer, or be converted on request. */
        const int want = mc_net_input_shape(net, 1).dims[1], have = train.shape.dims[1];
        const char *color = a.color != NULL ? a.color : "none";
        if (strcmp(color, "gray2rgb") == 0 || strcmp(color, "rgb2gray") == 0) {
            st = mc_dataset_convert_channels(ctx, &train, want);
            if (st == MC_OK)
                st = mc_dataset_convert_channels(ctx, &test, want);
        } else if (strcmp(color, "none") != 0) {
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "--color-preprocessing takes none, gray2rgb or rgb2gray, not '%s'",
                             color);
        } else if (train.shape.ndim == 4 && want != have) {
            st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                             "the network's input layer takes %d-channel images but the data "
                             "has %d channel%s; add --color-preprocessing %s",
                             want, have, have == 1 ? "" : "s", have == 1 ? "gray2rgb" : "rgb2gray");
        }
    }
    if (st == MC_OK) /* the test data is used after training: checked before it */
        st = mc_data_check_against_net(net, &test, "test data");
    if (st == MC_OK)
        st = name_classes(ctx, net, data_name);
    if (st == MC_OK && val_kind > VAL_TEST) /* checked against the network before training */
        st = read_validation(ctx, net, &a, val_kind, &val);
    if (st == MC_OK && a.verbose) /* as MATLAB says, whatever the number of threads */
        printf("Training on single CPU.\n");
    if (st == MC_OK && resume == NULL && mc_input_needs_fit(mc_net_input_layer(net))) {
        printf("Initializing input data normalization.\n");
        fflush(stdout);
        st = mc_net_fit_input(net, &train, 1024);
    }
    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.verbose = a.verbose != 0;
    ps.batch = o.mini_batch_size;
    ps.validation = val_kind > VAL_NONE;
    if (val_kind > VAL_NONE)
        o.validation = val_kind == VAL_TEST ? &test : &val;
    o.checkpoint_path = a.checkpoint_path;
    ps.max_epochs = o.max_epochs;
    if (st == MC_OK && progress_log_open(&ps.log, a.log, a.plots, !ps.verbose) != 0)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot start the training log");
    if (aug != NULL && st == MC_OK) { /* checkpoints do not keep it: given again on --resume */
        char said[1024];
        mc_augmenter_format(aug, said, sizeof said);
        if (a.verbose)
            printf("Augmenting the training images: %s\n", said);
        o.augmenter = aug;
        if (resume != NULL)
            mc_train_state_options(resume)->augmenter = aug;
    }
    if (st == MC_OK)
        mc_net_set_profiling(net, a.profile != 0);
    if (st == MC_OK && resume != NULL)
        st =
            mc_train_resume(net, &train, resume, a.checkpoint_path, o.validation, on_progress, &ps);
    else if (st == MC_OK)
        st = mc_train(net, &train, &o, on_progress, &ps);
    if (st == MC_OK && a.profile)
        cli_print_profile(stdout, net);
    mc_train_state_destroy(resume);
    if (progress_log_close(&ps.log) != 0 && st == MC_OK)
        fprintf(stderr, "minicnn: warning: the training log or figure is incomplete\n");
    double acc = NAN, loss = NAN;
    if (st == MC_OK)
        st = mc_evaluate(net, &test, &acc, &loss);
    rc = 0;
    if (st == MC_ERR_NUMERIC && ps.count + ps.n_epochs > 0) {
        /* Diverged: no model to save, but the report says how far training went and why it
         * stopped. */
        rc = cli_fail(ctx, st);
        end_epoch(&ps, false);
        if (a.report != NULL)
            write_report(ctx, a.report, &a, &o, data_name, &paths, &train, &test,
                         a.net != NULL ? a.net : a.resume, NAN, NAN, &ps, mc_ctx_message(ctx));
    } else if (st == MC_OK) {
        printf("\nTest accuracy: %.2f%% (%d images), test loss: %.4f\n", 100 * acc,
               test.shape.dims[0], loss);
        if (ps.stop_reason != NULL && strcmp(ps.stop_reason, "validation-patience") == 0)
            printf("Training finished: Met validation criterion (the validation loss did not "
                   "improve in %d validations; stopped at iteration %d, epoch %d).\n",
                   o.validation_patience, ps.iteration, ps.epoch);
        /* The model first; a failure of one output never keeps the others from being
         * written. */
        if (a.save != NULL) {
            st = mc_model_save(net, a.save);
            if (st == MC_OK)
                printf("Saved the trained network to %s\n", a.save);
            else
                rc = cli_fail(ctx, st);
        }
        if (a.report != NULL &&
            write_report(ctx, a.report, &a, &o, data_name, &paths, &train, &test,
                         a.net != NULL ? a.net : a.resume, acc, loss, &ps, NULL) != 0 &&
            rc == 0)
            rc = 1;
        if (rc == 0 && !isnan(a.min_accuracy) && acc < a.min_accuracy) {
            fprintf(stderr, "minicnn train: test accuracy %.4f is below --min-accuracy %.4f\n", acc,
                    a.min_accuracy);
            rc = 3;
        }
    } else {
        rc = cli_fail(ctx, st);
    }
    free(ps.epochs);
    free(net_path);
    mc_augmenter_destroy(aug);
    cli_paths_free(&paths);
    mc_dataset_release(ctx, &train);
    mc_dataset_release(ctx, &test);
    mc_dataset_release(ctx, &val);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return rc;
}

/* ---- minicnn classify ---- */

/* Prints the confusion matrix: rows are true classes, columns predicted ones. */
static void print_confusion(const mc_net *net, const long *counts, int K)
{
    const mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    char fallback[16];
    int w = 5;
    for (int k = 0; k < K; k++) {
        const char *name = mc_classification_class_name(out, k);
        int len = name != NULL ? (int)strlen(name) : snprintf(fallback, sizeof fallback, "%d", k);
        w = len > w ? len : w;
    }
    printf("\nConfusion matrix (rows: true class, columns: predicted class):\n\n%*s", w + 2, "");
    for (int k = 0; k < K; k++) {
        const char *name = mc_classification_class_name(out, k);
        snprintf(fallback, sizeof fallback, "%d", k);
        printf("  %*s", w, name != NULL ? name : fallback);
    }
    putchar('\n');
    for (int t = 0; t < K; t++) {
        const char *name = mc_classification_class_name(out, t);
        snprintf(fallback, sizeof fallback, "%d", t);
        printf("%*s  ", w, name != NULL ? name : fallback);
        for (int p = 0; p < K; p++)
            printf("  %*ld", w, counts[(size_t)t * K + p]);
        putchar('\n');
    }
}

int cmd_classify(int argc, char **argv)
{
    train_args a;
    memset(&a, 0, sizeof a);
    a.seed = 1;
    a.split = NAN;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &a.data, "NAME",
         "fashion-mnist (default), mnist, an image folder or a CSV table", 0, 0, 0},
        {"test-images", CLI_STRING, &a.test_images, "FILE", "IDX file of test images", 0, 0, 0},
        {"test-labels", CLI_STRING, &a.test_labels, "FILE", "IDX file of test labels", 0, 0, 0},
        {"color-preprocessing", CLI_STRING, &a.color, "MODE", "none, gray2rgb or rgb2gray", 0, 0,
         0},
        {"split", CLI_DOUBLE, &a.split, "P",
         "the training share or count to leave out (folder: 0.75; table: none)", 0, 0, 0},
        {"seed", CLI_UINT64, &a.seed, "S", "image folder or table: the seed of that split (1)", 0,
         0, 0},
        {"no-resize", CLI_SWITCH, &a.no_resize, NULL, "image folder: refuse images of another size",
         0, 0, 0},
        {"response", CLI_STRING, &a.response, "NAME", "CSV table: the label column (the last)", 0,
         0, 0},
        {"omit-missing", CLI_SWITCH, &a.omit_missing, NULL,
         "CSV table: leave out rows with a missing value", 0, 0, 0},
    };
    const cli_spec spec = {"classify",
                           "MODEL [FLAGS]",
                           "Evaluates a saved network (or a checkpoint) on test data: its "
                           "accuracy, loss and confusion matrix.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           1,
                           1};
    const char *model = NULL;
    int n_args = 0;
    int rc = cli_parse(&spec, argc, argv, &model, &n_args);
    if (rc >= 0)
        return rc;
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    const char *data_name = NULL;
    if (a.test_images != NULL || a.test_labels != NULL) {
        if (a.test_images == NULL || a.test_labels == NULL || a.data != NULL)
            return cli_usage_error(&spec, "give both --test-images and --test-labels, and no "
                                          "--data");
        const char *given[4] = {NULL, NULL, a.test_images, a.test_labels};
        if (cli_paths_set(&paths, given) != 0)
            return 1;
    } else if ((rc = data_paths("classify", &a, &paths, &data_name)) != 0) {
        return rc;
    }
    const bool table = data_name != NULL && strcmp(data_name, "table") == 0;
    if (!table && (a.response != NULL || a.omit_missing)) {
        cli_paths_free(&paths);
        return cli_usage_error(&spec, "--response and --omit-missing apply to CSV tables "
                                      "(--data FILE.csv)");
    }
    if (table && a.no_resize) {
        cli_paths_free(&paths);
        return cli_usage_error(&spec, "--no-resize applies to image folders (--data DIR)");
    }
    if (!table && strcmp(data_name != NULL ? data_name : "", "image-folder") != 0 &&
        (!isnan(a.split) || a.no_resize || a.seed != 1)) {
        cli_paths_free(&paths);
        return cli_usage_error(&spec, "--split, --seed and --no-resize apply to image folders "
                                      "and CSV tables (--data DIR or FILE.csv)");
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_net *net = NULL;
    mc_dataset test;
    memset(&test, 0, sizeof test);
    mc_status st = mc_model_load(ctx, model, 256, &net);
    const cli_folder fo = {paths.p[0], a.split, a.seed, a.color, !a.no_resize};
    if (st == MC_OK && data_name != NULL && strcmp(data_name, "image-folder") == 0) {
        st = cli_read_folder(ctx, net, 256, &fo, NULL, &test);
    } else if (st == MC_OK && table && !isnan(a.split)) {
        /* the rows that train --data FILE.csv --split P --seed S held out */
        const cli_table to = {paths.p[0], a.response, a.omit_missing != 0, a.split, a.seed};
        mc_dataset held_in;
        memset(&held_in, 0, sizeof held_in);
        st = cli_read_table(ctx, net, 256, &to, &held_in, &test);
        mc_dataset_release(ctx, &held_in);
    } else if (st == MC_OK && table) { /* the whole table, as classify(net, tbl) */
        st = mc_net_is_assembled(net) ? MC_OK : mc_net_assemble(net, 256);
        if (st == MC_OK)
            st = cli_read_validation_table(ctx, net, paths.p[0], a.response, a.omit_missing != 0,
                                           "test", &test);
    } else if (st == MC_OK)
        st = cli_read_idx(ctx, net, a.color, paths.p[2], paths.p[3], "test data", &test);
    if (st == MC_OK && a.color != NULL && strcmp(a.color, "none") != 0)
        st = mc_dataset_convert_channels(ctx, &test, mc_net_input_shape(net, 1).dims[1]);
    const int K = st == MC_OK ? mc_net_num_classes(net) : 0;
    long *counts = st == MC_OK ? calloc((size_t)K * K, sizeof *counts) : NULL;
    if (st == MC_OK && counts == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    double acc = 0, loss = 0;
    if (st == MC_OK)
        st = mc_evaluate(net, &test, &acc, &loss);
    /* the confusion matrix, batch by batch */
    const int N = st == MC_OK ? test.shape.dims[0] : 0;
    const size_t per = N > 0 ? mc_shape_numel(&test.shape) / (size_t)N : 0;
    for (int n = 0; st == MC_OK && n < N; n += 256) {
        const int b = N - n < 256 ? N - n : 256;
        st = mc_net_forward(net, test.x + (size_t)n * per, b, MC_MODE_INFERENCE);
        const float *p = mc_net_scores(net);
        for (int i = 0; st == MC_OK && i < b; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                best = p[(size_t)i * K + k] > p[(size_t)i * K + best] ? k : best;
            if (test.labels[n + i] < K)
                counts[(size_t)test.labels[n + i] * K + best]++;
        }
    }
    if (st == MC_OK) {
        printf("Accuracy: %.2f%% (%d %s), loss: %.4f\n", 100 * acc, N, table ? "rows" : "images",
               loss);
        print_confusion(net, counts, K);
        rc = 0;
    } else {
        rc = cli_fail(ctx, st);
    }
    free(counts);
    cli_paths_free(&paths);
    mc_dataset_release(ctx, &test);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return rc;
}
