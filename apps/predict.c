/* minicnn predict: a saved network's top classes for PNG images (MATLAB's classify on files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const usage = "minicnn predict MODEL IMAGE.png ... [--top-k K] [--json] "
                                 "[--color-preprocessing none|gray2rgb|rgb2gray] [--no-resize]";

static void json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* The class name of k (the number when the network has none). */
static const char *class_name(const mc_layer *out, int k, char *buf, size_t cap)
{
    const char *name = out != NULL && mc_classification_num_classes(out) > k
                           ? mc_classification_class_name(out, k)
                           : NULL;
    if (name != NULL)
        return name;
    snprintf(buf, cap, "%d", k);
    return buf;
}

int cmd_predict(int argc, char **argv)
{
    const char *model = NULL, *color = NULL;
    const char **images = calloc((size_t)argc, sizeof *images);
    if (images == NULL) {
        fprintf(stderr, "minicnn: error: out of memory\n");
        return 1;
    }
    int n_images = 0, top_k = 0;
    bool json = false, resize = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("usage: %s\n\nPrints each image's most likely classes and their scores "
                   "(softmax probabilities).\nImages are read as for training: converted to the "
                   "input layer's channels on request\nand resized to its size unless "
                   "--no-resize.\n",
                   usage);
            free(images);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            json = true;
        } else if (strcmp(arg, "--no-resize") == 0) {
            resize = false;
        } else if (strcmp(arg, "--top-k") == 0 && i + 1 < argc) {
            char *end = NULL;
            long k = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || k < 1 || k > 1000000) {
                fprintf(stderr,
                        "minicnn predict: --top-k takes a positive whole number, not "
                        "'%s'\n",
                        argv[i]);
                free(images);
                return 2;
            }
            top_k = (int)k;
        } else if (strcmp(arg, "--color-preprocessing") == 0 && i + 1 < argc) {
            color = argv[++i];
        } else if (arg[0] == '-') {
            fprintf(stderr, "minicnn predict: unknown flag '%s'\n", arg);
            free(images);
            return cli_usage(usage);
        } else if (model == NULL) {
            model = arg;
        } else {
            images[n_images++] = arg;
        }
    }
    if (model == NULL || n_images == 0) {
        free(images);
        return cli_usage(usage);
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL) {
        free(images);
        return 1;
    }
    mc_net *net = NULL;
    mc_color_preprocessing cp = MC_COLOR_NONE;
    mc_status st = mc_color_preprocessing_parse(ctx, color != NULL ? color : "none", &cp);
    if (st == MC_OK)
        st = mc_model_load(ctx, model, 1, &net);
    const mc_shape in = st == MC_OK ? mc_net_input_shape(net, 1) : mc_shape_make(0, NULL);
    if (st == MC_OK && in.ndim != 4)
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s takes feature vectors, not images", model);
    if (st != MC_OK) {
        int rc = cli_fail(ctx, st);
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
        free(images);
        return rc;
    }
    mc_image_options o = mc_image_default(in.dims[2], in.dims[3], in.dims[1]);
    o.color = cp;
    o.resize = resize;
    const int K = mc_net_num_classes(net);
    const int k_shown = top_k == 0 ? (K < 5 ? K : 5) : (top_k < K ? top_k : K);
    const mc_layer *out = cli_output_layer(net);
    float *x = calloc(mc_shape_numel(&in), sizeof *x);
    int *order = calloc((size_t)K, sizeof *order);
    int failed = 0;
    if (json)
        printf("[");
    for (int i = 0; i < n_images; i++) {
        st = x == NULL || order == NULL ? mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory")
                                        : mc_png_read(ctx, images[i], &o, x);
        if (st == MC_OK)
            st = mc_net_forward(net, x, 1, MC_MODE_INFERENCE);
        if (json)
            printf("%s\n  {\"file\": ", i ? "," : "");
        if (st != MC_OK) {
            failed++;
            cli_fail(ctx, st);
            if (json) {
                json_string(images[i]);
                printf(", \"error\": ");
                json_string(mc_ctx_message(ctx));
                printf("}");
            }
            continue;
        }
        const float *p = mc_net_scores(net);
        /* the k best, by selection (ties keep the lower class first) */
        for (int k = 0; k < K; k++)
            order[k] = k;
        for (int r = 0; r < k_shown; r++) {
            int best = r;
            for (int k = r + 1; k < K; k++)
                if (p[order[k]] > p[order[best]])
                    best = k;
            int t = order[r];
            order[r] = order[best];
            order[best] = t;
        }
        char buf[16];
        if (json) {
            json_string(images[i]);
            printf(", \"predictions\": [");
            for (int r = 0; r < k_shown; r++) {
                printf("%s{\"class\": ", r ? ", " : "");
                json_string(class_name(out, order[r], buf, sizeof buf));
                printf(", \"score\": %.6g}", (double)p[order[r]]);
            }
            printf("]}");
        } else {
            printf("%s\n", images[i]);
            int w = 5;
            for (int r = 0; r < k_shown; r++) {
                int len = (int)strlen(class_name(out, order[r], buf, sizeof buf));
                w = len > w ? len : w;
            }
            for (int r = 0; r < k_shown; r++)
                printf("  %-*s  %.4f\n", w, class_name(out, order[r], buf, sizeof buf),
                       (double)p[order[r]]);
        }
        fflush(stdout);
    }
    if (json)
        printf("\n]\n");
    free(x);
    free(order);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    free(images);
    if (failed > 0)
        fprintf(stderr, "minicnn predict: %d of %d image%s could not be classified\n", failed,
                n_images, n_images == 1 ? "" : "s");
    return failed > 0 ? 1 : 0;
}
