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

/* Histograms of the values of channel groups: counts[g][b] as a share of the group's values. */
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
                int b = (int)((x - lo) / (hi - lo) * BINS);
                b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
                counts[g][b]++;
                total[g]++;
            }
        }
    for (int g = 0; g < MAX_GROUPS; g++)
        for (int b = 0; b < BINS && total[g] > 0; b++)
            counts[g][b] = 100 * counts[g][b] / total[g];
}

static void range_of(const float *v, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        *lo = fmin(*lo, v[i]);
        *hi = fmax(*hi, v[i]);
    }
    if (!(*hi > *lo))
        *hi = *lo + 1;
}

static int write_histograms(const char *path, const mc_net *net, int layer, int n)
{
    const int src = source_of(net, layer);
    mc_shape in = mc_net_activation_shape(net, src), out = mc_net_activation_shape(net, layer);
    in.dims[0] = out.dims[0] = n;
    mc_layer *l = mc_net_layer(net, layer);
    int groups = mc_groupnorm_num_groups(l);
    if (groups < 1)
        groups = 1; /* batch normalization: all channels together */
    const int shown = groups < MAX_GROUPS ? groups : MAX_GROUPS;
    static double counts[2][MAX_GROUPS][BINS];
    static double centres[2][BINS];
    const float *data[2] = {mc_net_activation(net, src), mc_net_activation(net, layer)};
    plot_series series[2][MAX_GROUPS];
    for (int side = 0; side < 2; side++) {
        double lo, hi;
        const mc_shape *s = side == 0 ? &in : &out;
        range_of(data[side], mc_shape_numel(s), &lo, &hi);
        histograms(data[side], s, groups, lo, hi, counts[side]);
        for (int b = 0; b < BINS; b++)
            centres[side][b] = lo + (b + 0.5) * (hi - lo) / BINS;
        for (int g = 0; g < shown; g++) {
            static char labels[MAX_GROUPS][32];
            snprintf(labels[g], sizeof labels[g], groups == 1 ? "all channels" : "group %d", g + 1);
            memset(&series[side][g], 0, sizeof series[side][g]);
            series[side][g].label = labels[g];
            series[side][g].x = centres[side];
            series[side][g].y = counts[side][g];
            series[side][g].n = BINS;
            plot_colour(g, series[side][g].rgb);
        }
    }
    char t0[160], t1[160];
    snprintf(t0, sizeof t0, "Entering '%s' (output of '%s'), %d images", mc_layer_name(l),
             mc_layer_name(mc_net_layer(net, src)), n);
    snprintf(t1, sizeof t1, "Leaving '%s' (%s)", mc_layer_name(l), l->vt->type_label);
    const plot_axes axes[2] = {
        {t0, "value", "share of the group's values (%)", false, false, 0, NAN},
        {t1, "value", "share of the group's values (%)", false, false, 0, NAN}};
    const plot_series *panels[2] = {series[0], series[1]};
    const int counts_n[2] = {shown, shown};
    char err[256];
    if (plot_write(path, 1000, 800, 2, axes, panels, counts_n, err, sizeof err) != 0) {
        fprintf(stderr, "minicnn inspect: %s\n", err);
        return 1;
    }
    return 0;
}

/* The filters of a convolution layer, each scaled to 0..255 and enlarged, in a grid. */
static int write_filters(mc_ctx *ctx, const char *path, mc_layer *conv)
{
    const mc_param *w = mc_layer_param(conv, 0);
    const int F = w->value.shape.dims[0], C = w->value.shape.dims[1];
    const int KH = w->value.shape.dims[2], KW = w->value.shape.dims[3];
    const int scale = KH * 8 > 64 ? 2 : 8, cols = F < 8 ? F : 8, rows = (F + cols - 1) / cols;
    const int tile = KH * scale + 4, H = rows * tile + 4, W = cols * (KW * scale + 4) + 4;
    float *img = calloc((size_t)H * W, sizeof *img);
    if (img == NULL) {
        fprintf(stderr, "minicnn inspect: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)H * W; i++)
        img[i] = 255;
    for (int f = 0; f < F; f++) {
        /* the mean over input channels, so any C shows */
        double v[64 * 64], lo = INFINITY, hi = -INFINITY;
        for (int y = 0; y < KH && y < 64; y++)
            for (int x = 0; x < KW && x < 64; x++) {
                double s = 0;
                for (int c = 0; c < C; c++)
                    s += w->value.data[(((size_t)f * C + c) * KH + y) * KW + x];
                v[y * 64 + x] = s / C;
                lo = fmin(lo, s / C);
                hi = fmax(hi, s / C);
            }
        const int oy = 4 + (f / cols) * tile, ox = 4 + (f % cols) * (KW * scale + 4);
        for (int y = 0; y < KH * scale && y / scale < 64; y++)
            for (int x = 0; x < KW * scale && x / scale < 64; x++) {
                const double t = hi > lo ? (v[(y / scale) * 64 + x / scale] - lo) / (hi - lo) : 0.5;
                img[(size_t)(oy + y) * W + ox + x] = (float)(255 * t);
            }
    }
    mc_status st = mc_png_write(ctx, path, img, 1, H, W);
    free(img);
    return st == MC_OK ? 0 : cli_fail(ctx, st);
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
                rc = path != NULL ? write_filters(ctx, path, mc_net_layer(net, i)) : 1;
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
