/* minicnn train: MATLAB's trainNetwork from the command line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

/* F_PLOTS takes two values, as MATLAB's Plots option and the file: training-progress FILE.png */
typedef enum flag_kind { F_DOUBLE, F_INT, F_STRING, F_BOOL, F_SWITCH, F_PLOTS } flag_kind;

typedef struct flag {
    const char *name;
    flag_kind kind;
    void *target;
    const char *help;
} flag;

typedef struct train_args {
    const char *net, *data, *train_images, *train_labels, *test_images, *test_labels;
    const char *color, *solver, *shuffle, *schedule, *threshold_method, *report, *validation;
    const char *save, *checkpoint_path, *resume, *plots, *log;
    double initial_learn_rate, momentum, beta1, beta2, epsilon, l2, drop_factor, threshold;
    double min_accuracy, split;
    int no_resize;
    int max_epochs, batch, drop_period, validation_frequency, validation_patience;
    int verbose_frequency, threads, train_subset;
    int verbose;
    double seed;
} train_args;

/* The flags, named after MATLAB's training options. */
static int flags_of(train_args *a, flag *f)
{
    const flag all[] = {
        {"net", F_STRING, &a->net, "network file (default data/networks/reference-gray.net)"},
        {"data", F_STRING, &a->data, "fashion-mnist (default), mnist or an image folder"},
        {"split", F_DOUBLE, &a->split, "image folder: share of each class to train on (0.75)"},
        {"no-resize", F_SWITCH, &a->no_resize, "image folder: refuse images of another size"},
        {"train-images", F_STRING, &a->train_images, "IDX file of training images"},
        {"train-labels", F_STRING, &a->train_labels, "IDX file of training labels"},
        {"test-images", F_STRING, &a->test_images, "IDX file of test images"},
        {"test-labels", F_STRING, &a->test_labels, "IDX file of test labels"},
        {"color-preprocessing", F_STRING, &a->color, "none, gray2rgb or rgb2gray"},
        {"solver", F_STRING, &a->solver, "sgdm (default), adam or rmsprop"},
        {"initial-learn-rate", F_DOUBLE, &a->initial_learn_rate, "0.01 sgdm, 0.001 adam/rmsprop"},
        {"momentum", F_DOUBLE, &a->momentum, "sgdm momentum (0.9)"},
        {"gradient-decay-factor", F_DOUBLE, &a->beta1, "adam beta1 (0.9)"},
        {"squared-gradient-decay-factor", F_DOUBLE, &a->beta2,
         "adam/rmsprop beta2 (0.999 / 0.9)"},
        {"epsilon", F_DOUBLE, &a->epsilon, "adam/rmsprop epsilon (1e-8)"},
        {"l2-regularization", F_DOUBLE, &a->l2, "L2 regularization (1e-4)"},
        {"max-epochs", F_INT, &a->max_epochs, "epochs (30)"},
        {"mini-batch-size", F_INT, &a->batch, "observations per iteration (128)"},
        {"shuffle", F_STRING, &a->shuffle, "once (default), never or every-epoch"},
        {"learn-rate-schedule", F_STRING, &a->schedule, "none (default) or piecewise"},
        {"learn-rate-drop-factor", F_DOUBLE, &a->drop_factor, "piecewise factor (0.1)"},
        {"learn-rate-drop-period", F_INT, &a->drop_period, "piecewise period in epochs (10)"},
        {"validation-data", F_STRING, &a->validation, "none (default) or test"},
        {"validation-frequency", F_INT, &a->validation_frequency, "iterations (50)"},
        {"validation-patience", F_INT, &a->validation_patience, "validations (Inf: 0)"},
        {"gradient-threshold", F_DOUBLE, &a->threshold, "Inf (default) or a positive number"},
        {"gradient-threshold-method", F_STRING, &a->threshold_method,
         "l2norm (default), global-l2norm or absolute-value"},
        {"verbose", F_BOOL, &a->verbose, "true (default) or false"},
        {"verbose-frequency", F_INT, &a->verbose_frequency, "iterations (50)"},
        {"seed", F_DOUBLE, &a->seed, "random seed (1)"},
        {"threads", F_INT, &a->threads, "threads, every core by default (same results)"},
        {"train-subset", F_INT, &a->train_subset, "use only the first N training images"},
        {"report", F_STRING, &a->report, "write a JSON summary to this file"},
        {"save", F_STRING, &a->save, "save the trained network to this model file"},
        {"plots", F_PLOTS, &a->plots, "training-progress FILE.png: a figure redrawn every epoch"},
        {"log", F_STRING, &a->log, "a CSV file with every iteration's figures"},
        {"checkpoint-path", F_STRING, &a->checkpoint_path, "folder for a checkpoint every epoch"},
        {"resume", F_STRING, &a->resume, "continue the run of this checkpoint (its options)"},
        {"min-accuracy", F_DOUBLE, &a->min_accuracy, "exit with status 3 below this accuracy"},
    };
    const int n = (int)(sizeof all / sizeof all[0]);
    if (f != NULL)
        memcpy(f, all, sizeof all);
    return n;
}

static void print_help(void)
{
    train_args a;
    flag f[64];
    int n = flags_of(&a, f);
    printf("usage: minicnn train [--FLAG VALUE ...]\n\n"
           "Trains a network file on a data set and prints MATLAB's progress table and the test\n"
           "accuracy. Flags are named after MATLAB's training options:\n\n");
    for (int i = 0; i < n; i++)
        printf("  --%-31s %s\n", f[i].name, f[i].help);
}

static int parse_flags(int argc, char **argv, train_args *a)
{
    flag f[64];
    const int n = flags_of(a, f);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return -1;
        }
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "minicnn train: unexpected argument '%s' (flags start with --)\n", arg);
            return 2;
        }
        const char *name = arg + 2, *value = NULL;
        const char *eq = strchr(name, '=');
        char buf[64];
        if (eq != NULL) {
            snprintf(buf, sizeof buf, "%.*s", (int)(eq - name), name);
            name = buf;
            value = eq + 1;
        }
        int k = 0;
        while (k < n && strcmp(f[k].name, name) != 0)
            k++;
        if (k == n) {
            /* suggest the flag sharing the longest prefix */
            int best = -1;
            size_t best_len = 0;
            for (int j = 0; j < n; j++) {
                size_t common = 0;
                while (name[common] != '\0' && name[common] == f[j].name[common])
                    common++;
                if (common > best_len) {
                    best_len = common;
                    best = j;
                }
            }
            fprintf(stderr, "minicnn train: unknown flag '--%s'", name);
            if (best >= 0 && best_len >= 3)
                fprintf(stderr, " (did you mean '--%s'?)", f[best].name);
            fprintf(stderr, "; 'minicnn train --help' lists the flags\n");
            return 2;
        }
        if (f[k].kind == F_SWITCH && value == NULL) {
            *(int *)f[k].target = 1;
            continue;
        }
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "minicnn train: flag '--%s' needs a value (%s)\n", name,
                        f[k].help);
                return 2;
            }
            value = argv[++i];
        }
        char *end = NULL;
        errno = 0;
        switch (f[k].kind) {
        case F_STRING:
            *(const char **)f[k].target = value;
            break;
        case F_PLOTS:
            if (strcmp(value, "none") == 0) {
                *(const char **)f[k].target = NULL;
                break;
            }
            if (strcmp(value, "training-progress") != 0 || i + 1 >= argc) {
                fprintf(stderr, "minicnn train: --plots takes 'training-progress FILE.png' or "
                                "'none', not '%s'\n",
                        value);
                return 2;
            }
            *(const char **)f[k].target = argv[++i];
            break;
        case F_DOUBLE: {
            double v = strtod(value, &end);
            if (strcasecmp(value, "inf") == 0)
                v = INFINITY, end = (char *)value + strlen(value);
            if (end == value || *end != '\0' || errno != 0 || isnan(v)) {
                fprintf(stderr, "minicnn train: --%s takes a number, not '%s'\n", name, value);
                return 2;
            }
            *(double *)f[k].target = v;
            break;
        }
        case F_INT: {
            long v = strtol(value, &end, 10);
            if (strcasecmp(value, "inf") == 0 && strcmp(name, "validation-patience") == 0)
                v = 0, end = (char *)value + strlen(value);
            if (end == value || *end != '\0' || errno != 0 || v < 0 || v > 1000000000L) {
                fprintf(stderr, "minicnn train: --%s takes a nonnegative whole number, not '%s'\n",
                        name, value);
                return 2;
            }
            *(int *)f[k].target = (int)v;
            break;
        }
        case F_SWITCH:
        case F_BOOL:
            if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                *(int *)f[k].target = 1;
            else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                *(int *)f[k].target = 0;
            else {
                fprintf(stderr, "minicnn train: --%s takes true or false, not '%s'\n", name,
                        value);
                return 2;
            }
            break;
        }
    }
    return 0;
}

/* The four IDX paths of the chosen data set; *name says which it is. */
static int data_paths(train_args *a, char paths[4][512], const char **name)
{
    const char *given[4] = {a->train_images, a->train_labels, a->test_images, a->test_labels};
    int n_given = 0;
    for (int i = 0; i < 4; i++)
        n_given += given[i] != NULL;
    if (n_given > 0) {
        if (n_given < 4 || a->data != NULL) {
            fprintf(stderr, "minicnn train: give all four of --train-images, --train-labels, "
                            "--test-images and --test-labels, and no --data\n");
            return 2;
        }
        for (int i = 0; i < 4; i++)
            snprintf(paths[i], sizeof paths[i], "%s", given[i]);
        *name = "idx";
        return 0;
    }
    const char *data = a->data != NULL ? a->data : "fashion-mnist";
    if (strcmp(data, "fashion-mnist") == 0 || strcmp(data, "mnist") == 0) {
        const int rc = cli_dataset_paths(data, paths);
        if (rc != 0)
            return rc;
    } else if (cli_is_directory(data)) {
        for (int i = 0; i < 4; i++)
            snprintf(paths[i], sizeof paths[i], "%s", i == 0 ? data : "");
        *name = "image-folder";
        return 0;
    } else {
        fprintf(stderr, "minicnn train: unknown data set '%s'; use fashion-mnist, mnist, an "
                        "image folder, or the four --train-/--test- IDX flags\n",
                data);
        return 2;
    }
    *name = data;
    return 0;
}

/* Class names of the known data sets, in label order; NULL for numbered classes. */
static const char *const fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                "Coat",        "Sandal",  "Shirt",    "Sneaker",
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

/* ---- MATLAB's verbose table ---- */

typedef struct progress_state {
    progress_log log; /* the CSV log, the figure and the progress bar */
    int max_epochs;
    bool verbose, validation, header_done;
    /* per-epoch sums for the report */
    double loss_sum, acc_sum, val_loss, val_acc, epoch_start;
    int count;
    bool val_seen;
    FILE *epochs; /* JSON fragments of finished epochs */
    int epochs_done;
    int batch;
} progress_state;

static void rule(bool validation)
{
    printf("|%s|\n", validation ? "================================================================"
                                  "======================================================"
                                : "================================================================"
                                  "========================");
}

static void header(bool validation)
{
    rule(validation);
    if (validation) {
        printf("|  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Validation  |"
               "  Mini-batch  |  Validation  |  Base Learning  |\n");
        printf("|         |             |   (hh:mm:ss)   |   Accuracy   |   Accuracy   |"
               "     Loss     |     Loss     |      Rate       |\n");
    } else {
        printf("|  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Mini-batch  |"
               "  Base Learning  |\n");
        printf("|         |             |   (hh:mm:ss)   |   Accuracy   |     Loss     |"
               "      Rate       |\n");
    }
    rule(validation);
}

static int on_progress(void *user, const mc_train_progress *p)
{
    progress_state *s = user;
    progress_log_add(&s->log, p, s->max_epochs);
    s->loss_sum += p->loss;
    s->acc_sum += p->accuracy;
    s->count++;
    if (p->validated) {
        s->val_loss = p->validation_loss;
        s->val_acc = p->validation_accuracy;
        s->val_seen = true;
    }
    if (s->verbose && p->verbose_row) {
        if (!s->header_done) {
            header(s->validation);
            s->header_done = true;
        }
        long t = (long)p->seconds;
        char hms[32];
        snprintf(hms, sizeof hms, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
        printf("|%8d |%12d |%15s |%12.2f%% |", p->epoch, p->iteration, hms, 100 * p->accuracy);
        if (s->validation) {
            if (p->validated)
                printf("%12.2f%% |", 100 * p->validation_accuracy);
            else
                printf("%13s |", "");
        }
        printf("%13.4f |", p->loss);
        if (s->validation) {
            if (p->validated)
                printf("%13.4f |", p->validation_loss);
            else
                printf("%13s |", "");
        }
        printf("%16.4f |\n", p->learn_rate);
        fflush(stdout);
    }
    if (p->epoch_end || p->last) {
        const double secs = p->seconds - s->epoch_start;
        fprintf(s->epochs,
                "%s\n    {\"epoch\": %d, \"loss\": %.6g, \"accuracy\": %.6g, "
                "\"validation_loss\": ",
                s->epochs_done ? "," : "", p->epoch, s->loss_sum / s->count,
                s->acc_sum / s->count);
        if (s->val_seen)
            fprintf(s->epochs, "%.6g, \"validation_accuracy\": %.6g", s->val_loss, s->val_acc);
        else
            fprintf(s->epochs, "null, \"validation_accuracy\": null");
        fprintf(s->epochs, ", \"seconds\": %.3f, \"images_per_second\": %.1f}", secs,
                secs > 0 ? s->count * (double)s->batch / secs : 0.0);
        s->epochs_done++;
        s->loss_sum = s->acc_sum = 0;
        s->count = 0;
        s->val_seen = false;
        s->epoch_start = p->seconds;
    }
    if (s->verbose && p->last && s->header_done)
        rule(s->validation);
    return 0;
}

/* Writes text to path through a temporary file in the same folder and a rename. */
static int write_atomically(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "minicnn: error: cannot write '%s': %s\n", tmp, strerror(errno));
        return 1;
    }
    bool ok = fputs(text, f) >= 0;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "minicnn: error: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_report(const char *path, const train_args *a, const mc_train_options *o,
                        const char *data_name, char paths[4][512], const mc_dataset *train,
                        const mc_dataset *test, const char *net, double acc, double loss,
                        const char *epochs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return 1;
    fprintf(f, "{\n  \"test_accuracy\": %.6g,\n  \"test_loss\": %.6g,\n  \"epochs\": [%s\n  ],\n",
            acc, loss, epochs);
    fprintf(f, "  \"options\": {\"solver\": \"%s\", \"initial_learn_rate\": %g, \"momentum\": %g, "
               "\"gradient_decay_factor\": %g, \"squared_gradient_decay_factor\": %g, "
               "\"epsilon\": %g, \"l2_regularization\": %g, \"max_epochs\": %d, "
               "\"mini_batch_size\": %d, \"shuffle\": \"%s\", \"learn_rate_schedule\": \"%s\", "
               "\"learn_rate_drop_factor\": %g, \"learn_rate_drop_period\": %d, ",
            mc_solver_name(o->solver.solver), o->initial_learn_rate, o->solver.momentum,
            o->solver.gradient_decay_factor, o->solver.squared_gradient_decay_factor,
            o->solver.epsilon, o->solver.l2_regularization, o->max_epochs, o->mini_batch_size,
            mc_shuffle_name(o->shuffle), mc_schedule_name(o->schedule),
            o->learn_rate_drop_factor, o->learn_rate_drop_period);
    if (isfinite(o->solver.gradient_threshold))
        fprintf(f, "\"gradient_threshold\": %g, ", o->solver.gradient_threshold);
    else
        fprintf(f, "\"gradient_threshold\": \"Inf\", ");
    fprintf(f, "\"gradient_threshold_method\": \"%s\", \"threads\": %d},\n",
            mc_threshold_method_name(o->solver.gradient_threshold_method), a->threads);
    fprintf(f, "  \"seed\": %.0f,\n  \"data\": {\"name\": ", a->seed);
    json_string(f, data_name);
    fprintf(f, ", \"train_images\": %d, \"test_images\": %d, \"files\": [", train->shape.dims[0],
            test->shape.dims[0]);
    for (int i = 0; i < 4; i++) {
        fprintf(f, i ? ", " : "");
        json_string(f, paths[i]);
    }
    fprintf(f, "]},\n  \"net\": ");
    json_string(f, net);
    fprintf(f, "\n}\n");
    fclose(f);
    int rc = write_atomically(path, text);
    free(text);
    return rc;
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
    int rc = parse_flags(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (!(a.seed >= 0 && a.seed < 18446744073709551616.0 && a.seed == floor(a.seed))) {
        fprintf(stderr, "minicnn train: --seed takes a nonnegative whole number\n");
        return 2;
    }
    char paths[4][512];
    const char *data_name = NULL;
    rc = data_paths(&a, paths, &data_name);
    if (rc != 0)
        return rc;
    const bool folder = strcmp(data_name, "image-folder") == 0;
    if (!folder && (!isnan(a.split) || a.no_resize)) {
        fprintf(stderr, "minicnn train: --split and --no-resize apply to image folders "
                        "(--data DIR)\n");
        return 2;
    }
    const cli_folder fo = {paths[0], a.split, (uint64_t)a.seed, a.color, !a.no_resize};
    mc_ctx *ctx = cli_ctx((uint64_t)a.seed);
    if (ctx == NULL)
        return 1;
    mc_set_threads(a.threads);

    /* Options: MATLAB's defaults for the solver, then the flags. */
    mc_solver solver = MC_SOLVER_SGDM;
    mc_status st = a.solver != NULL ? mc_solver_parse(ctx, a.solver, &solver) : MC_OK;
    mc_train_options o = mc_train_default(solver);
    if (st == MC_OK && a.shuffle != NULL)
        st = mc_shuffle_parse(ctx, a.shuffle, &o.shuffle);
    if (st == MC_OK && a.schedule != NULL)
        st = mc_schedule_parse(ctx, a.schedule, &o.schedule);
    if (st == MC_OK && a.threshold_method != NULL)
        st = mc_threshold_method_parse(ctx, a.threshold_method,
                                       &o.solver.gradient_threshold_method);
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
    if (st == MC_OK && a.validation != NULL && strcmp(a.validation, "test") != 0 &&
        strcmp(a.validation, "none") != 0)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "--validation-data takes 'none' or 'test', not '%s'", a.validation);

    char net_path[512];
    mc_net *net = NULL;
    mc_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    char *text = NULL;
    mc_train_state *resume = NULL;
    if (st == MC_OK && a.resume != NULL) {
        /* The checkpoint's own options; flags that would change them are refused. */
        const bool changed = a.solver != NULL || a.shuffle != NULL || a.schedule != NULL ||
                             a.threshold_method != NULL || a.net != NULL ||
                             !isnan(a.initial_learn_rate) || !isnan(a.momentum) ||
                             !isnan(a.beta1) || !isnan(a.beta2) || !isnan(a.epsilon) ||
                             !isnan(a.l2) || !isnan(a.threshold) || !isnan(a.drop_factor) ||
                             a.max_epochs >= 0 || a.batch >= 0 || a.drop_period >= 0 ||
                             a.validation_patience >= 0;
        if (changed)
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
        if (a.net == NULL)
            a.net = cli_data_path("networks/reference-gray.net", net_path, sizeof net_path);
        st = mc_netfile_load(ctx, a.net, &net, NULL);
    }
    if (st == MC_OK)
        st = mc_net_describe(net, &text);
    if (st == MC_OK) {
        cli_put_text(ctx, text);
        putchar('\n');
        st = mc_net_assemble(net, o.mini_batch_size); /* what the data must fit */
    }
    if (st == MC_OK)
        st = folder ? cli_read_folder(ctx, net, o.mini_batch_size, &fo, &train, &test)
                    : cli_read_idx(ctx, net, a.color, paths[0], paths[1], "training data", &train);
    if (st == MC_OK && !folder)
        st = cli_read_idx(ctx, net, a.color, paths[2], paths[3], "test data", &test);
    if (st == MC_OK && a.train_subset > 0 && a.train_subset < train.shape.dims[0])
        train.shape.dims[0] = a.train_subset;
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
                             want, have, have == 1 ? "" : "s",
                             have == 1 ? "gray2rgb" : "rgb2gray");
        }
    }
    if (st == MC_OK) /* the test data is used after training: checked before it */
        st = mc_data_check_against_net(net, &test, "test data");
    if (st == MC_OK)
        st = name_classes(ctx, net, data_name);
    if (st == MC_OK && resume == NULL && mc_input_needs_fit(mc_net_input_layer(net))) {
        printf("Initializing input data normalization.\n");
        fflush(stdout);
        st = mc_net_fit_input(net, &train, 1024);
    }
    progress_state ps;
    memset(&ps, 0, sizeof ps);
    char *epochs = NULL;
    size_t epochs_len = 0;
    ps.epochs = open_memstream(&epochs, &epochs_len);
    ps.verbose = a.verbose != 0;
    ps.batch = o.mini_batch_size;
    const bool validate = a.validation != NULL && strcmp(a.validation, "test") == 0;
    ps.validation = validate;
    if (validate)
        o.validation = &test;
    if (st == MC_OK && ps.epochs == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    o.checkpoint_path = a.checkpoint_path;
    if (st == MC_OK && a.checkpoint_path != NULL && access(a.checkpoint_path, W_OK) != 0)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "--checkpoint-path '%s' is not a writable folder: %s",
                         a.checkpoint_path, strerror(errno));
    ps.max_epochs = o.max_epochs;
    if (st == MC_OK && progress_log_open(&ps.log, a.log, a.plots, !ps.verbose) != 0)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot start the training log");
    if (st == MC_OK && resume != NULL)
        st = mc_train_resume(net, &train, resume, a.checkpoint_path, o.validation, on_progress,
                             &ps);
    else if (st == MC_OK)
        st = mc_train(net, &train, &o, on_progress, &ps);
    mc_train_state_destroy(resume);
    if (progress_log_close(&ps.log) != 0 && st == MC_OK)
        fprintf(stderr, "minicnn: warning: the training log or figure is incomplete\n");
    if (ps.epochs != NULL)
        fclose(ps.epochs);
    double acc = NAN, loss = NAN;
    if (st == MC_OK)
        st = mc_evaluate(net, &test, &acc, &loss);
    rc = 0;
    if (st == MC_OK) {
        printf("\nTest accuracy: %.2f%% (%d images), test loss: %.4f\n", 100 * acc,
               test.shape.dims[0], loss);
        if (a.report != NULL)
            rc = write_report(a.report, &a, &o, data_name, paths, &train, &test,
                              a.net != NULL ? a.net : a.resume, acc, loss,
                              epochs != NULL ? epochs : "");
        if (rc == 0 && a.save != NULL) {
            st = mc_model_save(net, a.save);
            rc = st == MC_OK ? 0 : cli_fail(ctx, st);
            if (rc == 0)
                printf("Saved the trained network to %s\n", a.save);
        }
        if (rc == 0 && !isnan(a.min_accuracy) && acc < a.min_accuracy) {
            fprintf(stderr, "minicnn train: test accuracy %.4f is below --min-accuracy %.4f\n",
                    acc, a.min_accuracy);
            rc = 3;
        }
    } else {
        rc = cli_fail(ctx, st);
    }
    free(epochs);
    mc_dataset_release(ctx, &train);
    mc_dataset_release(ctx, &test);
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
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage("minicnn classify MODEL [--data fashion-mnist|mnist|DIR | --test-images F "
                         "--test-labels F] [--color-preprocessing gray2rgb|rgb2gray]");
    const char *model = argv[1];
    train_args a;
    memset(&a, 0, sizeof a);
    a.seed = 1;
    a.split = NAN;
    int rc = parse_flags(argc - 1, argv + 1, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char paths[4][512];
    const char *data_name = NULL;
    if (a.test_images != NULL || a.test_labels != NULL) {
        if (a.test_images == NULL || a.test_labels == NULL) {
            fprintf(stderr, "minicnn classify: give both --test-images and --test-labels\n");
            return 2;
        }
        snprintf(paths[2], sizeof paths[2], "%s", a.test_images);
        snprintf(paths[3], sizeof paths[3], "%s", a.test_labels);
    } else if ((rc = data_paths(&a, paths, &data_name)) != 0) {
        return rc;
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL)
        return 1;
    mc_net *net = NULL;
    mc_dataset test;
    memset(&test, 0, sizeof test);
    mc_status st = mc_model_load(ctx, model, 256, &net);
    const cli_folder fo = {paths[0], a.split, (uint64_t)a.seed, a.color, !a.no_resize};
    if (st == MC_OK && data_name != NULL && strcmp(data_name, "image-folder") == 0)
        st = cli_read_folder(ctx, net, 256, &fo, NULL, &test);
    else if (st == MC_OK)
        st = cli_read_idx(ctx, net, a.color, paths[2], paths[3], "test data", &test);
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
        printf("Accuracy: %.2f%% (%d images), loss: %.4f\n", 100 * acc, N, loss);
        print_confusion(net, counts, K);
        rc = 0;
    } else {
        rc = cli_fail(ctx, st);
    }
    free(counts);
    mc_dataset_release(ctx, &test);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return rc;
}
