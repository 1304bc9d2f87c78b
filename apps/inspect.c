/* SPDX-License-Identifier: MIT */
/* minicnn inspect: what a normalization layer does to its activations, and what the first
 * convolution learned. Writes PREFIX-histograms.png (per group, the distribution of the values
 * entering and leaving the layer) and PREFIX-filters.png (the filters of a convolution layer as
 * a grid of images). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "plot.h"

#define BINS 60
#define MAX_GROUPS 8

/* The index of the layer feeding input 0 of layer `to`, or -1. */
static int source_of(const mc_net *net, int to)
{
    int s, d, k;
    for (int i = 0; mc_net_connection(net, i, &s, &d, &k); i++)
        if (d == to && k == 0)
            return s;
    return -1;
}

/* Histograms of the values of channel groups over lo..hi: counts[g][b] as a share of all the
 * group's values (those outside lo..hi are counted in the total, not drawn). */
static void histograms(const float *v, const mc_shape *s, int groups, double lo, double hi,
                       double counts[MAX_GROUPS][BINS])
{
    const int N = s->dims[0], C = s->dims[1];
    size_t S = 1;
    for (int d = 2; d < s->ndim; d++)
        S *= (size_t)s->dims[d];
    const int per = C / groups;
    double total[MAX_GROUPS] = {0};
    memset(counts, 0, sizeof(double) * MAX_GROUPS * BINS);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const int g = c / per;
            if (g >= MAX_GROUPS)
                continue;
            for (size_t i = 0; i < S; i++) {
                const double x = v[((size_t)n * C + c) * S + i];
                total[g]++;
                if (!(x >= lo && x <= hi))
                    continue;
                int b = (int)((x - lo) / (hi - lo) * BINS);
                counts[g][b < BINS ? b : BINS - 1]++;
            }
        }
    for (int g = 0; g < MAX_GROUPS; g++)
        for (int b = 0; b < BINS && total[g] > 0; b++)
            counts[g][b] = 100 * counts[g][b] / total[g];
}

static void mean_sd(const float *v, size_t n, double *mean, double *sd)
{
    double s = 0, q = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            s += v[i];
            m++;
        }
    *mean = m > 0 ? s / (double)m : NAN;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            q += (v[i] - *mean) * (v[i] - *mean);
    *sd = m > 1 ? sqrt(q / (double)(m - 1)) : 0;
}

/* The values entering the layer (left) and leaving it (right), side by side, per group: each
 * x-range from the 0.5th to the 99.5th percentile, the values beyond it counted in the caption. */
static int write_histograms(const char *path, const mc_net *net, int layer, int n)
{
    const int src = source_of(net, layer);
    mc_shape in = mc_net_activation_shape(net, src), out = mc_net_activation_shape(net, layer);
    in.dims[0] = out.dims[0] = n;
    mc_layer *l = mc_net_layer(net, layer);
    const int C = out.dims[1];
    int groups = mc_groupnorm_num_groups(l);
    if (groups < 1 || C % groups != 0)
        groups = 1; /* batch normalization: all channels together */
    const int shown = groups < MAX_GROUPS ? groups : MAX_GROUPS;
    static double counts[2][MAX_GROUPS][BINS];
    static double centres[2][BINS];
    static char labels[MAX_GROUPS][48], titles[2][320], xlabels[2][96];
    const float *data[2] = {mc_net_activation(net, src), mc_net_activation(net, layer)};
    plot_series series[2][MAX_GROUPS];
    plot_axes axes[2];
    memset(axes, 0, sizeof axes);
    for (int side = 0; side < 2; side++) {
        const mc_shape *s = side == 0 ? &in : &out;
        plot_range r;
        if (plot_percentiles(data[side], mc_shape_numel(s), 0.5, 99.5, &r) != 0) {
            fprintf(stderr, "minicnn inspect: out of memory sorting %zu values\n",
                    mc_shape_numel(s));
            return 1;
        }
        histograms(data[side], s, groups, r.lo, r.hi, counts[side]);
        for (int b = 0; b < BINS; b++)
            centres[side][b] = r.lo + (b + 0.5) * (r.hi - r.lo) / BINS;
        for (int g = 0; g < shown; g++) {
            const int per = C / groups;
            if (groups == 1)
                snprintf(labels[g], sizeof labels[g], "all %d channels", C);
            else if (per == 1)
                snprintf(labels[g], sizeof labels[g], "group %d: channel %d", g + 1, g + 1);
            else
                snprintf(labels[g], sizeof labels[g], "group %d: channels %d-%d", g + 1,
                         g * per + 1, (g + 1) * per);
            series[side][g] = (plot_series){
                .label = labels[g], .x = centres[side], .y = counts[side][g], .n = BINS};
            plot_colour(g, series[side][g].rgb);
        }
        double mean, sd;
        mean_sd(data[side], mc_shape_numel(s), &mean, &sd);
        const size_t beyond = r.below + r.above;
        char extra[64] = "";
        if (r.nonfinite > 0)
            snprintf(extra, sizeof extra, "; %zu not finite", r.nonfinite);
        if (groups > shown)
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                     "; groups 1-%d of %d drawn", shown, groups);
        char head[160];
        if (side == 0)
            snprintf(head, sizeof head, "Entering '%s' (output of '%s'), %d test images",
                     mc_layer_name(l), mc_layer_name(mc_net_layer(net, src)), n);
        else
            snprintf(head, sizeof head, "Leaving '%s' (%s)", mc_layer_name(l), l->vt->type_label);
        snprintf(titles[side], sizeof titles[side],
                 "%s\nmean %.3g, sd %.3g; %zu of %zu values (%.2g %%) beyond the range drawn%s",
                 head, mean, sd, beyond, r.n, r.n > 0 ? 100.0 * (double)beyond / (double)r.n : 0.0,
                 extra);
        snprintf(xlabels[side], sizeof xlabels[side],
                 "value (0.5th to 99.5th percentile, %d bins %.3g wide)", BINS,
                 (r.hi - r.lo) / BINS);
        axes[side] = (plot_axes){.title = titles[side],
                                 .xlabel = xlabels[side],
                                 .ylabel = "share of the group's values in the bin (%)",
                                 .ymin = 0,
                                 .ymax = NAN,
                                 .beside = side == 1};
    }
    const plot_series *panels[2] = {series[0], series[1]};
    const int counts_n[2] = {shown, shown};
    char err[256];
    if (plot_write(path, 1400, 620, 2, axes, panels, counts_n, err, sizeof err) != 0) {
        fprintf(stderr, "minicnn inspect: %s\n", err);
        return 1;
    }
    return 0;
}

/* The filters of a convolution layer (each the mean over its input channels) in a numbered grid,
 * each at least 40 pixels wide, on one colour scale symmetric about 0, with a colour bar. */
static int write_filters(const char *path, mc_layer *conv)
{
    const mc_param *w = mc_layer_param(conv, 0);
    const int F = w->value.shape.dims[0], C = w->value.shape.dims[1];
    const int KH = w->value.shape.dims[2], KW = w->value.shape.dims[3];
    const int side = KH > KW ? KH : KW;
    float *v = malloc((size_t)F * KH * KW * sizeof *v);
    if (v == NULL) {
        fprintf(stderr, "minicnn inspect: out of memory\n");
        return 1;
    }
    for (int f = 0; f < F; f++)
        for (int y = 0; y < KH; y++)
            for (int x = 0; x < KW; x++) {
                double s = 0; /* the mean over input channels, so any C shows */
                for (int c = 0; c < C; c++)
                    s += w->value.data[(((size_t)f * C + c) * KH + y) * KW + x];
                v[((size_t)f * KH + y) * KW + x] = (float)(s / C);
            }
    const double m = plot_symmetric_limit(v, (size_t)F * KH * KW);
    int cols = (int)ceil(sqrt(2.0 * F));
    cols = F < 10 ? F : cols < 10 ? 10 : cols;
    char bar[64], title[320];
    if (C > 1)
        snprintf(bar, sizeof bar, "weight (mean over the %d input channels)", C);
    else
        snprintf(bar, sizeof bar, "weight");
    snprintf(title, sizeof title,
             "Filters of '%s': %d of %dx%d, %d input channel%s%s\none colour scale for all: "
             "white 0, red positive, blue negative, ends at ±%.3g (the largest |weight|)",
             mc_layer_name(conv), F, KH, KW, C, C > 1 ? "s" : "", C > 1 ? " (mean drawn)" : "", m);
    const plot_image im = {.v = v,
                           .n = F,
                           .h = KH,
                           .w = KW,
                           .cols = cols,
                           .scale = side < 40 ? (40 + side - 1) / side : 1,
                           .lo = -m,
                           .hi = m,
                           .bar_label = bar};
    const plot_axes ax = {.title = title, .image = &im};
    int width, height;
    plot_image_size(&im, &width, &height);
    const plot_series *panels[1] = {NULL};
    const int n_series[1] = {0};
    char err[256];
    const int rc = plot_write(path, width, height, 1, &ax, panels, n_series, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "minicnn inspect: %s\n", err);
    free(v);
    return rc != 0 ? 1 : 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *model = NULL, *layer_name = NULL, *data = "fashion-mnist", *prefix = "inspect";
    int images = 256;
    const cli_opt opts[] = {
        {"layer", CLI_STRING, &layer_name, "NAME", "the normalization layer (see minicnn info)", 0,
         0, 0},
        {"data", CLI_STRING, &data, "NAME", "fashion-mnist (default) or mnist: its test images", 0,
         0, 0},
        {"images", CLI_INT, &images, "N", "test images to run (256)", 1, 4096, 0},
        {"out", CLI_STRING, &prefix, "PREFIX",
         "writes PREFIX-histograms.png and PREFIX-filters.png (inspect)", 0, 0, 0},
    };
    const cli_spec spec = {"inspect",
                           "MODEL --layer NAME [FLAGS]",
                           "Draws the distributions of the values entering and leaving a layer "
                           "of a saved network,\nper channel group, and the filters of its "
                           "first convolution layer.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           1,
                           1};
    int n_args = 0;
    int rc = cli_parse(&spec, argc, argv, &model, &n_args);
    if (rc >= 0)
        return rc;
    if (layer_name == NULL)
        return cli_usage_error(&spec, "which layer? give --layer NAME (minicnn info lists the "
                                      "layers)");
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    rc = cli_dataset_paths(data, &paths);
    if (rc != 0)
        return rc;
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_net *net = NULL;
    mc_dataset test;
    memset(&test, 0, sizeof test);
    mc_status st = mc_model_load(ctx, model, images, &net);
    if (st == MC_OK)
        st = mc_dataset_read_idx(ctx, paths.p[2], paths.p[3], &test);
    mc_layer *l = st == MC_OK ? mc_net_find(net, layer_name) : NULL;
    int index = -1;
    for (int i = 0; l != NULL && i < mc_net_num_layers(net); i++)
        if (mc_net_layer(net, i) == l)
            index = i;
    if (st == MC_OK && (l == NULL || l->vt->role != MC_ROLE_HIDDEN || source_of(net, index) < 0))
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "the network has no hidden layer named '%s' (see minicnn info)",
                         layer_name);
    const int n = st == MC_OK && test.shape.dims[0] < images ? test.shape.dims[0] : images;
    if (st == MC_OK && test.shape.dims[1] != mc_net_input_shape(net, 1).dims[1])
        st = mc_dataset_convert_channels(ctx, &test, mc_net_input_shape(net, 1).dims[1]);
    if (st == MC_OK)
        st = mc_net_forward(net, test.x, n, MC_MODE_INFERENCE);
    if (st != MC_OK) {
        rc = cli_fail(ctx, st);
    } else {
        char *path = cli_format("%s-histograms.png", prefix);
        rc = path != NULL ? write_histograms(path, net, index, n) : 1;
        if (rc == 0)
            printf("Histograms of '%s' on %d test images: %s\n", layer_name, n, path);
        for (int i = 0; rc == 0 && i < mc_net_num_layers(net); i++)
            if (strcmp(mc_net_layer(net, i)->vt->kind, "convolution2dLayer") == 0) {
                free(path);
                path = cli_format("%s-filters.png", prefix);
                rc = path != NULL ? write_filters(path, mc_net_layer(net, i)) : 1;
                if (rc == 0)
                    printf("Filters of '%s': %s\n", mc_layer_name(mc_net_layer(net, i)), path);
                break;
            }
        free(path);
    }
    cli_paths_free(&paths);
    mc_dataset_release(ctx, &test);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return rc;
}
