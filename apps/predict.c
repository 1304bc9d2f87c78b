/* SPDX-License-Identifier: MIT */
/* minicnn predict: a saved network's top classes for PNG images (MATLAB's classify on files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "options.h"

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
    const char *color = NULL;
    int top_k = 0, json = 0, no_resize = 0;
    const cli_opt opts[] = {
        {"top-k", CLI_INT, &top_k, "K", "the K most likely classes (5)", 1, 1000000, 0},
        {"json", CLI_SWITCH, &json, NULL, "JSON output: a list of files and their predictions", 0,
         0, 0},
        {"color-preprocessing", CLI_STRING, &color, "MODE", "none, gray2rgb or rgb2gray", 0, 0, 0},
        {"no-resize", CLI_SWITCH, &no_resize, NULL, "refuse images of another size", 0, 0, 0},
    };
    const cli_spec spec = {"predict",
                           "MODEL IMAGE.png ... [FLAGS]",
                           "Prints each image's most likely classes and their scores (softmax "
                           "probabilities).\nImages are read as for training: converted to the "
                           "input layer's channels on request\nand resized to its size.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           2,
                           -1};
    const char **args = calloc((size_t)argc, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "minicnn: error: out of memory\n");
        return 1;
    }
    int n_args = 0;
    const int prc = cli_parse(&spec, argc, argv, args, &n_args);
    if (prc >= 0) {
        free(args);
        return prc;
    }
    const char *model = args[0], **images = args + 1;
    const int n_images = n_args - 1;
    const bool resize = !no_resize;
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL) {
        free(args);
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
        free(args);
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
    json_writer j;
    json_init(&j, stdout);
    if (json)
        json_array(&j, NULL, false);
    for (int i = 0; i < n_images; i++) {
        st = x == NULL || order == NULL ? mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory")
                                        : mc_png_read(ctx, images[i], &o, x);
        if (st == MC_OK)
            st = mc_net_forward(net, x, 1, MC_MODE_INFERENCE);
        if (json) {
            json_object(&j, NULL, true);
            json_string(&j, "file", images[i]);
        }
        if (st != MC_OK) {
            failed++;
            cli_fail(ctx, st);
            if (json) {
                json_string(&j, "error", mc_ctx_message(ctx));
                json_end(&j);
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
            json_array(&j, "predictions", true);
            for (int r = 0; r < k_shown; r++) {
                json_object(&j, NULL, true);
                json_string(&j, "class", class_name(out, order[r], buf, sizeof buf));
                json_float(&j, "score", p[order[r]]);
                json_end(&j);
            }
            json_end(&j);
            json_end(&j);
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
        json_end(&j);
    free(x);
    free(order);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    free(args);
    if (failed > 0)
        fprintf(stderr, "minicnn predict: %d of %d image%s could not be classified\n", failed,
                n_images, n_images == 1 ? "" : "s");
    return failed > 0 ? 1 : 0;
}
