/* SPDX-License-Identifier: MIT */
/* Where the named data sets live. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "validation.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

char *cli_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL) {
        fprintf(stderr, "minicnn: error: out of memory\n");
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void cli_paths_free(cli_paths *paths)
{
    for (int i = 0; i < 4; i++) {
        free(paths->p[i]);
        paths->p[i] = NULL;
    }
}

int cli_paths_set(cli_paths *paths, const char *const given[4])
{
    for (int i = 0; i < 4; i++) {
        free(paths->p[i]);
        paths->p[i] = cli_format("%s", given[i] != NULL ? given[i] : "");
        if (paths->p[i] == NULL) {
            cli_paths_free(paths);
            return 1;
        }
    }
    return 0;
}

int cli_dataset_paths(const char *name, cli_paths *paths)
{
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    if (strcmp(name, "fashion-mnist") == 0) {
        for (int i = 0; i < 4; i++)
            if ((paths->p[i] = cli_format("%s/%s.gz", FASHION_DIR, files[i])) == NULL) {
                cli_paths_free(paths);
                return 1;
            }
        if (access(paths->p[0], R_OK) != 0) {
            fprintf(stderr,
                    "minicnn: Fashion-MNIST is not installed (%s is missing); install it "
                    "with 'apt-get install dataset-fashion-mnist' (scripts/setup does)\n",
                    paths->p[0]);
            cli_paths_free(paths);
            return 1;
        }
        return 0;
    }
    if (strcmp(name, "mnist") == 0) {
        char *dir = cli_data_path("mnist");
        if (dir == NULL)
            return 1;
        for (int i = 0; i < 4; i++)
            if ((paths->p[i] = cli_format("%s/%s", dir, files[i])) == NULL) {
                cli_paths_free(paths);
                free(dir);
                return 1;
            }
        free(dir);
        if (access(paths->p[3], R_OK) != 0) {
            fprintf(stderr,
                    "minicnn: the MNIST digits are not prepared (%s is missing); run "
                    "data/prepare-mnist (scripts/setup does)\n",
                    paths->p[3]);
            cli_paths_free(paths);
            return 1;
        }
        return 0;
    }
    static const char *const known[2] = {"fashion-mnist", "mnist"};
    const char *near = cli_nearest(name, strlen(name), known, 2);
    fprintf(stderr, "minicnn: unknown data set '%s'", name);
    if (near != NULL)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr, "; use fashion-mnist or mnist\n");
    return 2;
}

mc_status cli_read_idx(mc_ctx *ctx, const mc_net *net, const char *color, const char *images,
                       const char *labels, const char *what, mc_dataset *out)
{
    const bool convert =
        color != NULL && (strcmp(color, "gray2rgb") == 0 || strcmp(color, "rgb2gray") == 0);
    const mc_data_expect e = mc_data_expect_net(net, convert, what);
    return mc_dataset_read_idx_expect(ctx, images, labels, &e, out);
}

mc_status cli_read_validation_folder(mc_ctx *ctx, const mc_net *net, const char *dir,
                                     const char *color, bool resize, mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    mc_color_preprocessing cp = MC_COLOR_NONE;
    mc_status st = mc_color_preprocessing_parse(ctx, color != NULL ? color : "none", &cp);
    if (st != MC_OK)
        return st;
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 4)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "--validation-data %s: the network takes feature vectors, not "
                           "images; an image folder needs an imageInputLayer",
                           dir);
    mc_image_options io = mc_image_default(in.dims[2], in.dims[3], in.dims[1]);
    io.color = cp;
    io.resize = resize;
    /* the network's classes, as a folder without files to match the class folders against */
    const mc_layer *layer = cli_output_layer(net);
    const int K = mc_net_num_classes(net);
    char **names = calloc((size_t)K + 1, sizeof *names);
    if (names == NULL)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    for (int k = 0; k < K; k++) {
        const char *name = layer != NULL && mc_classification_num_classes(layer) == K
                               ? mc_classification_class_name(layer, k)
                               : NULL;
        names[k] = name != NULL ? (char *)name : NULL;
    }
    char numbers[64][12];
    for (int k = 0; k < K; k++)
        if (names[k] == NULL && k < 64) {
            snprintf(numbers[k], sizeof numbers[k], "%d", k);
            names[k] = numbers[k];
        }
    mc_image_folder ref = {0, NULL, NULL, K, names}, f;
    memset(&f, 0, sizeof f);
    for (int part = 0; part < 2 && st == MC_OK; part++) {
        const char *name = part == 0 ? "train" : "test";
        char *sub = cli_format("%s/%s", dir, name);
        if (sub == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
        else if (cli_is_directory(sub))
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "--validation-data %s has a %s/ folder: give a folder of class "
                             "folders (its %s/ part, say), not one with train/ and test/ parts",
                             dir, name, name);
        free(sub);
    }
    if (st == MC_OK)
        st = mc_image_folder_scan(ctx, dir, &f);
    for (int k = 0; st == MC_OK && k < K; k++)
        if (names[k] == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_INVALID, "--validation-data %s: too many classes (%d)",
                             dir, K);
    const int folders = f.num_classes;
    if (st == MC_OK)
        st = mc_image_folder_use_classes(ctx, &f, &ref);
    if (st == MC_OK)
        st = mc_image_folder_read(ctx, &f, &io, out);
    if (st == MC_OK)
        out->num_classes = K;
    if (st == MC_OK)
        printf("Validation folder %s: %d images in %d class folders, read at %dx%dx%d%s.\n", dir,
               f.num_files, folders, io.height, io.width, io.channels,
               io.resize ? " (resized where needed)" : "");
    free(names);
    mc_image_folder_release(ctx, &f);
    return st;
}
