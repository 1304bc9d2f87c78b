/* SPDX-License-Identifier: MIT */
/* minicnn normlab: what normalization does, and why group normalization exists. The same network
 * is trained with group, batch, layer and instance normalization and with none, at several
 * mini-batch sizes and seeds; a table in the layout of the Group Normalization paper and a PNG
 * figure of test error against batch size come out. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "options.h"
#include "plot.h"

#define MAX_BATCHES 8
#define MAX_SEEDS 16

typedef enum norm_kind { NORM_GN, NORM_BN, NORM_LN, NORM_IN, NORM_NONE, N_NORMS } norm_kind;

static const char *const norm_ids[N_NORMS] = {"gn", "bn", "ln", "in", "none"};
static const char *const norm_labels[N_NORMS] = {"GN", "BN", "LN", "IN", "none"};

typedef struct lab_args {
    const char *data, *net, *norms, *batches, *lr_rule, *figure;
    int seeds, epochs, subset, threads;
    double base_rate;
    int base_batch;
} lab_args;

/* "32,16,8" into values, each checked as every number flag is; returns the count, or -1 after
 * saying what is wrong. */
static int parse_list(const cli_spec *spec, const char *text, int *out, int cap)
{
    int n = 0;
    for (const char *p = text; *p != '\0' || n == 0;) {
        const size_t len = strcspn(p, ",");
        char item[32];
        long long v = 0;
        const int why = len < sizeof item ? (memcpy(item, p, len), item[len] = '\0',
                                             cli_read_int(item, 1, 100000, &v))
                                          : 2;
        if (why != 0 || n == cap) {
            cli_usage_error(spec,
                            "--batch-sizes takes up to %d whole numbers from 1 to 100000, "
                            "separated by commas; '%.*s' %s",
                            cap, (int)len, p,
                            n == cap   ? "is one too many"
                            : why == 1 ? "is not one"
                                       : "is out of range");
            return -1;
        }
        out[n++] = (int)v;
        p += len;
        if (*p == ',')
            p++;
        if (*p == '\0' && p[-1] == ',') {
            cli_usage_error(spec, "--batch-sizes '%s' ends with a comma", text);
            return -1;
        }
    }
    return n;
}

/* Replaces every group normalization layer of the network by the variant `kind`. */
static mc_status swap_norms(mc_ctx *ctx, mc_net *net, norm_kind kind)
{
    mc_status st = mc_net_assign_names(net);
    for (int i = 0; st == MC_OK && i < mc_net_num_layers(net); i++) {
        mc_layer *l = mc_net_layer(net, i);
        if (strcmp(l->vt->kind, "groupNormalizationLayer") != 0 || kind == NORM_GN)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%s", mc_layer_name(l));
        mc_layer *with = NULL;
        if (kind == NORM_BN) {
            mc_batchnorm_options o = mc_batchnorm_default();
            o.name = name;
            st = mc_batchnorm_create(ctx, &o, &with);
        } else if (kind == NORM_LN || kind == NORM_IN) {
            mc_groupnorm_options o = mc_groupnorm_default(0);
            o.groups_mode = kind == NORM_LN ? MC_GROUPS_ALL_CHANNELS : MC_GROUPS_CHANNEL_WISE;
            o.name = name;
            st = mc_groupnorm_create(ctx, &o, &with);
        }
        if (st == MC_OK)
            st = mc_net_replace_layer(net, name, with);
        if (st == MC_OK && kind == NORM_NONE)
            i--; /* the layer is gone; the next one moved into its place */
    }
    return st;
}

typedef struct result {
    double error[N_NORMS][MAX_BATCHES][MAX_SEEDS];
    int diverged[N_NORMS][MAX_BATCHES];            /* runs whose loss stopped being finite */
    double bn_batch_error[MAX_BATCHES][MAX_SEEDS]; /* BN evaluated with batch statistics */
    double seconds;
} result;

/* Trains one configuration and writes its test errors. */
static mc_status run_one(const lab_args *a, const char *net_text, size_t net_len,
                         const mc_dataset *train, const mc_dataset *test, norm_kind kind, int batch,
                         int seed, double *error, double *batch_error, int *diverged)
{
    mc_ctx *ctx = cli_ctx((uint64_t)seed + 1);
    if (ctx == NULL)
        return MC_ERR_NOMEM;
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, net_text, net_len, a->net, &net, NULL);
    if (st == MC_OK)
        st = swap_norms(ctx, net, kind);
    if (st == MC_OK)
        st = mc_net_assemble(net, batch > 256 ? batch : 256);
    if (st == MC_OK && mc_input_needs_fit(mc_net_input_layer(net)))
        st = mc_net_fit_input(net, train, 1024);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = batch;
    o.max_epochs = a->epochs;
    o.initial_learn_rate =
        strcmp(a->lr_rule, "linear") == 0 ? a->base_rate * batch / a->base_batch : a->base_rate;
    double acc = NAN, loss = NAN;
    if (st == MC_OK)
        st = mc_train(net, train, &o, NULL, NULL);
    if (st == MC_OK)
        st = mc_evaluate(net, test, &acc, &loss);
    *error = 100 * (1 - acc);
    if (st == MC_OK && kind == NORM_BN) {
        double bacc = NAN;
        st = mc_evaluate_batches(net, test, batch, MC_MODE_TRAINING, &bacc, &loss);
        *batch_error = 100 * (1 - bacc);
    }
    if (st == MC_ERR_NUMERIC) {
        /* A diverged run is a result, not a failure: chance-level error. */
        *error = 100.0 * (1 - 1.0 / mc_net_num_classes(net));
        if (kind == NORM_BN)
            *batch_error = *error;
        ++*diverged;
        st = MC_OK;
    }
    if (st != MC_OK)
        cli_fail(ctx, st);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return st;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* One row of the table; a cell with diverged runs is marked with the count. */
static void print_row(const char *label, const double (*err)[MAX_SEEDS], const int *diverged,
                      int nb, int seeds)
{
    printf("  %-24s", label);
    for (int b = 0; b < nb; b++) {
        double m, s;
        mean_sd(err[b], seeds, &m, &s);
        char mark[16] = "  ";
        if (diverged[b] > 0)
            snprintf(mark, sizeof mark, "*%d", diverged[b]);
        printf("  %5.1f ± %4.1f%s", m, s, mark);
    }
    putchar('\n');
}

static int write_figure(const lab_args *a, const result *r, const int *batches, int nb,
                        const bool *use, const char *subtitle)
{
    plot_series s[N_NORMS + 1];
    double x[N_NORMS + 1][MAX_BATCHES], y[N_NORMS + 1][MAX_BATCHES], e[N_NORMS + 1][MAX_BATCHES];
    int n = 0;
    char omitted[64] = "";
    /* in the table's order: BN's two rows together */
    static const int order[N_NORMS + 1] = {NORM_GN, NORM_BN, N_NORMS, NORM_LN, NORM_IN, NORM_NONE};
    for (int o = 0; o <= N_NORMS; o++) {
        const int k = order[o];
        const bool bn_batch = k == N_NORMS;
        if (!use[bn_batch ? NORM_BN : k])
            continue;
        /* A normalization whose every run diverged would only squash the others' scale. */
        int diverged = 0;
        for (int b = 0; b < nb; b++)
            diverged += r->diverged[bn_batch ? NORM_BN : k][b];
        if (diverged == nb * a->seeds) {
            if (!bn_batch) {
                size_t used = strlen(omitted);
                snprintf(omitted + used, sizeof omitted - used, "%s%s", used ? ", " : "",
                         k == NORM_NONE ? "no normalization" : norm_labels[k]);
            }
            continue;
        }
        for (int b = 0; b < nb; b++) {
            x[n][b] = batches[b];
            mean_sd(bn_batch ? r->bn_batch_error[b] : r->error[k][b], a->seeds, &y[n][b], &e[n][b]);
        }
        memset(&s[n], 0, sizeof s[n]);
        s[n].label = bn_batch         ? "BN, batch statistics at test"
                     : k == NORM_BN   ? "BN, trained statistics"
                     : k == NORM_NONE ? "no normalization"
                                      : norm_labels[k];
        s[n].x = x[n];
        s[n].y = y[n];
        s[n].err = a->seeds > 1 ? e[n] : NULL;
        s[n].n = nb;
        s[n].markers = true;
        /* one colour and marker per normalization; BN's two rows (often on top of each other)
         * told apart by colour, a dashed line and their markers */
        static const plot_shape shapes[N_NORMS] = {PLOT_CIRCLE, PLOT_SQUARE, PLOT_TRIANGLE,
                                                   PLOT_DIAMOND, PLOT_CIRCLE};
        s[n].shape = bn_batch ? PLOT_DIAMOND : shapes[k];
        s[n].dashed = bn_batch;
        if (bn_batch)
            s[n].rgb[0] = s[n].rgb[1] = s[n].rgb[2] = 0.0;
        else
            plot_colour(k, s[n].rgb);
        n++;
    }
    char title[320];
    snprintf(title, sizeof title, "Test error vs. batch size\n%s%s%s", subtitle,
             omitted[0] ? "; diverged in every run, not drawn: " : "", omitted);
    char ylabel[96] = "test error (%)";
    if (a->seeds > 1)
        snprintf(ylabel, sizeof ylabel, "test error (%%): mean ± 1 s.d. over %d seeds", a->seeds);
    /* error bars (mean ± one standard deviation over seeds) stop at 0 and 100 % */
    plot_axes ax = {.title = title,
                    .xlabel = "mini-batch size (images per step)",
                    .ylabel = ylabel,
                    .log2_x = true,
                    .reverse_x = true,
                    .ymin = NAN,
                    .ymax = NAN,
                    .clip = true,
                    .clip_lo = 0,
                    .clip_hi = 100,
                    .dodge = 5}; /* the error bars at a batch size side by side */
    const plot_series *panels[1] = {s};
    char err[256];
    if (plot_write(a->figure, 900, 600, 1, &ax, panels, &n, err, sizeof err) != 0) {
        fprintf(stderr, "minicnn normlab: %s\n", err);
        return 1;
    }
    /* The figure's data beside it, so what is drawn can be checked: FIGURE.csv */
    char csv[4096];
    snprintf(csv, sizeof csv, "%s.csv", a->figure);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fprintf(stderr, "minicnn normlab: out of memory while writing '%s'\n", csv);
        return 1;
    }
    csvw_writer cw;
    csvw_init(&cw, f);
    static const char *const head[4] = {"series", "batch_size", "mean_error_percent", "sd_percent"};
    csvw_row(&cw, head, 4);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            csvw_string(&cw, s[k].label);
            csvw_double(&cw, s[k].x[i]);
            csvw_double(&cw, s[k].y[i]);
            csvw_double(&cw, s[k].err != NULL ? s[k].err[i] : 0.0);
            csvw_end_row(&cw);
        }
    /* written whole through the atomic writer: an old CSV is never half replaced */
    int rc = 0;
    mc_ctx *ctx = NULL;
    if (fclose(f) != 0 || mc_ctx_create(NULL, 1, &ctx) != MC_OK) {
        fprintf(stderr, "minicnn normlab: out of memory while writing '%s'\n", csv);
        rc = 1;
    } else if (mc_atomic_write_file(ctx, csv, text, len) != MC_OK) {
        fprintf(stderr, "minicnn normlab: %s\n", mc_ctx_message(ctx));
        rc = 1;
    }
    mc_ctx_destroy(ctx);
    free(text);
    return rc;
}

int cmd_normlab(int argc, char **argv)
{
    lab_args a = {
        NULL, NULL, "gn,bn,ln,in,none", "32,16,8,4,2", "linear", "normlab.png", 3, 1, 10000, 0,
        0.01, 32};
    const cli_opt opts[] = {
        {"data", CLI_STRING, &a.data, "NAME", "fashion-mnist (default) or mnist", 0, 0, 0},
        {"net", CLI_STRING, &a.net, "FILE", "network file (networks/reference-gray.net)", 0, 0, 0},
        {"norms", CLI_STRING, &a.norms, "LIST", "of gn, bn, ln, in, none (all of them)", 0, 0, 0},
        {"batch-sizes", CLI_STRING, &a.batches, "LIST", "mini-batch sizes (32,16,8,4,2)", 0, 0, 0},
        {"seeds", CLI_INT, &a.seeds, "N", "runs per configuration (3)", 1, MAX_SEEDS, 0},
        {"epochs", CLI_INT, &a.epochs, "N", "epochs per run (1)", 1, 1000000, 0},
        {"subset", CLI_INT, &a.subset, "N", "training images, 0 for all (10000)", 0, INT_MAX, 0},
        {"learn-rate-rule", CLI_STRING, &a.lr_rule, "RULE",
         "linear (default: scaled with the batch) or constant", 0, 0, 0},
        {"base-learn-rate", CLI_DOUBLE, &a.base_rate, "R", "learning rate at the base batch (0.01)",
         DBL_MIN, 1e6, 0},
        {"base-batch", CLI_INT, &a.base_batch, "N", "the batch of the base rate (32)", 1, 100000,
         0},
        {"figure", CLI_STRING, &a.figure, "FILE",
         "the PNG figure (normlab.png), its data in FILE.csv", 0, 0, 0},
        {"threads", CLI_INT, &a.threads, "N", "threads, every core by default", 1, 1024, 0},
    };
    const cli_spec spec = {"normlab",
                           "[FLAGS]",
                           "Trains the same network with group, batch, layer and instance "
                           "normalization and with none,\nat several mini-batch sizes and seeds; "
                           "prints the test errors as the Group Normalization\npaper does and "
                           "draws them against the batch size.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           0,
                           0};
    const int prc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc >= 0)
        return prc;
    int batches[MAX_BATCHES];
    const int nb = parse_list(&spec, a.batches, batches, MAX_BATCHES);
    if (nb < 0)
        return 2;
    bool use[N_NORMS] = {false};
    for (const char *p = a.norms; *p != '\0';) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < N_NORMS && !(strlen(norm_ids[k]) == len && strncmp(p, norm_ids[k], len) == 0))
            k++;
        if (k == N_NORMS) {
            const char *near = cli_nearest(p, len, norm_ids, N_NORMS);
            return cli_usage_error(&spec,
                                   "unknown normalization '%.*s' in --norms%s%s%s (gn, bn, "
                                   "ln, in, none)",
                                   (int)len, p, near ? " (did you mean '" : "", near ? near : "",
                                   near ? "'?)" : "");
        }
        use[k] = true;
        p += len + (p[len] == ',');
    }
    if (strcmp(a.lr_rule, "linear") != 0 && strcmp(a.lr_rule, "constant") != 0)
        return cli_usage_error(&spec, "--learn-rate-rule takes linear or constant, not '%s'",
                               a.lr_rule);
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    const char *data_name = a.data != NULL ? a.data : "fashion-mnist";
    int rc = cli_dataset_paths(data_name, &paths);
    if (rc != 0)
        return rc;
    char *net_path = NULL;
    if (a.net == NULL &&
        (a.net = net_path = cli_data_path("networks/reference-gray.net")) == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_set_threads(a.threads > 0 ? a.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));

    /* the network's text, read once, whatever its length */
    char *net_text = NULL;
    size_t net_len = 0;
    FILE *nf = fopen(a.net, "rb");
    if (nf == NULL)
        fprintf(stderr, "minicnn normlab: cannot open '%s': %s\n", a.net, strerror(errno));
    for (size_t cap = 1 << 16; nf != NULL; cap *= 2) {
        char *grown = realloc(net_text, cap);
        if (grown == NULL) {
            fprintf(stderr, "minicnn normlab: out of memory while reading '%s'\n", a.net);
            break;
        }
        net_text = grown;
        net_len += fread(net_text + net_len, 1, cap - net_len, nf);
        if (net_len < cap) {
            if (ferror(nf))
                fprintf(stderr, "minicnn normlab: cannot read '%s': %s\n", a.net, strerror(errno));
            break;
        }
    }
    const bool read_ok = nf != NULL && net_text != NULL && !ferror(nf) && net_len < (size_t)-1;
    if (nf != NULL)
        fclose(nf);
    mc_ctx *ctx = read_ok ? cli_ctx(1) : NULL;
    if (ctx == NULL) {
        free(net_text);
        free(net_path);
        cli_paths_free(&paths);
        return 1;
    }
    mc_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    /* the figure and its data are checked before the first run, not after the last */
    char *figure_csv = cli_format("%s.csv", a.figure);
    mc_status st = figure_csv == NULL ? mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory")
                                      : mc_atomic_check(ctx, a.figure, "--figure");
    if (st == MC_OK)
        st = mc_atomic_check(ctx, figure_csv, "--figure's data");
    free(figure_csv);
    if (st == MC_OK)
        st = mc_dataset_read_idx(ctx, paths.p[0], paths.p[1], &train);
    if (st == MC_OK)
        st = mc_dataset_read_idx(ctx, paths.p[2], paths.p[3], &test);
    if (st != MC_OK) {
        rc = cli_fail(ctx, st);
        mc_dataset_release(ctx, &train);
        mc_ctx_destroy(ctx);
        free(net_text);
        free(net_path);
        cli_paths_free(&paths);
        return rc;
    }
    mc_dataset sub = a.subset > 0 ? mc_dataset_head(&train, a.subset) : train;
    char subtitle[160];
    snprintf(subtitle, sizeof subtitle, "%s, %d training images, %d epoch%s, %d seed%s", data_name,
             sub.shape.dims[0], a.epochs, a.epochs == 1 ? "" : "s", a.seeds,
             a.seeds == 1 ? "" : "s");
    printf("Normalization lab: %s\n", a.net);
    printf("Trains the network with each normalization in place of its group normalization "
           "layers,\nsgdm with momentum 0.9 and L2 1e-4, on %s; test error on %d test images.\n",
           subtitle, test.shape.dims[0]);
    if (strcmp(a.lr_rule, "linear") == 0)
        printf("Learning rate scaled linearly with the batch: %g x batch / %d.\n", a.base_rate,
               a.base_batch);
    else
        printf("Learning rate held at %g for every batch size.\n", a.base_rate);
    fflush(stdout);
    static result r;
    const time_t start = time(NULL);
    const bool tty = isatty(fileno(stderr));
    for (int k = 0; k < N_NORMS && st == MC_OK; k++) {
        if (!use[k])
            continue;
        for (int b = 0; b < nb && st == MC_OK; b++)
            for (int s = 0; s < a.seeds && st == MC_OK; s++) {
                st = run_one(&a, net_text, net_len, &sub, &test, (norm_kind)k, batches[b], s,
                             &r.error[k][b][s], &r.bn_batch_error[b][s], &r.diverged[k][b]);
                /* redrawn in place on a terminal, a line per run otherwise */
                fprintf(stderr, "%s  %s batch %d seed %d: %.1f%% error (%lds)%s", tty ? "\r" : "",
                        norm_labels[k], batches[b], s + 1, r.error[k][b][s],
                        (long)(time(NULL) - start), tty ? "\033[K" : "\n");
            }
    }
    if (tty)
        fprintf(stderr, "\n");
    rc = st == MC_OK ? 0 : 1;
    if (rc == 0) {
        printf("\nTest error (%%), mean ± standard deviation over %d seed%s:\n\n  %-24s", a.seeds,
               a.seeds == 1 ? "" : "s", "batch size");
        for (int b = 0; b < nb; b++)
            printf("  %12d  ", batches[b]);
        putchar('\n');
        int any_diverged = 0;
        for (int k = 0; k < N_NORMS; k++) {
            if (!use[k])
                continue;
            print_row(k == NORM_BN ? "BN (trained statistics)" : norm_labels[k],
                      (const double(*)[MAX_SEEDS])r.error[k], r.diverged[k], nb, a.seeds);
            if (k == NORM_BN)
                print_row("BN (batch statistics)", (const double(*)[MAX_SEEDS])r.bn_batch_error,
                          r.diverged[k], nb, a.seeds);
            for (int b = 0; b < nb; b++)
                any_diverged += r.diverged[k][b];
        }
        printf("\nBN at test time normally uses its trained statistics (MATLAB's default: the "
               "mean and\nvariance over the whole training set, computed when training "
               "finishes); with the test\nbatch's own statistics instead, its result depends on "
               "the other images in the batch.\n");
        if (any_diverged > 0)
            printf("*n: n runs diverged (the loss stopped being finite); they count at chance "
                   "level.\n");
        printf("Elapsed: %lds.\n", (long)(time(NULL) - start));
        rc = write_figure(&a, &r, batches, nb, use, subtitle);
        if (rc == 0)
            printf("Figure: %s (its data: %s.csv)\n", a.figure, a.figure);
    }
    mc_dataset_release(ctx, &train);
    mc_dataset_release(ctx, &test);
    mc_ctx_destroy(ctx);
    free(net_text);
    free(net_path);
    cli_paths_free(&paths);
    return rc;
}
