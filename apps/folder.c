/* SPDX-License-Identifier: MIT */
/* Image folders as data for minicnn train and classify (--data DIR). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

bool cli_is_directory(const char *path)
{
    struct stat sb;
    return path != NULL && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

mc_layer *cli_output_layer(const mc_net *net)
{
    mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    return out;
}

/* The output layer takes the folder's class names, or must already have them. */
static mc_status use_class_names(mc_ctx *ctx, mc_net *net, const char *dir,
                                 const mc_image_folder *f)
{
    const int K = mc_net_num_classes(net);
    if (f->num_classes != K)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s has %d class folders but the network's output has %d classes; "
                           "make the last fully connected layer's output size %d",
                           dir, f->num_classes, K, f->num_classes);
    mc_layer *out = cli_output_layer(net);
    if (out == NULL)
        return MC_OK;
    if (mc_classification_num_classes(out) == K) {
        for (int k = 0; k < K; k++)
            if (strcmp(mc_classification_class_name(out, k), f->classes[k]) != 0)
                return mc_ctx_fail(ctx, MC_ERR_INVALID,
                                   "class %d of the network is '%s' but the class folder of %s "
                                   "is '%s'",
                                   k + 1, mc_classification_class_name(out, k), dir, f->classes[k]);
        return MC_OK;
    }
    return mc_classification_set_classes(out, (const char *const *)f->classes, K);
}

static void print_classes(const mc_image_folder *f)
{
    for (int k = 0; k < f->num_classes && k < 12; k++)
        printf("%s%s", k ? ", " : "", f->classes[k]);
    if (f->num_classes > 12)
        printf(", ... (%d in all)", f->num_classes);
}

mc_status cli_read_folder(mc_ctx *ctx, mc_net *net, int max_batch, const cli_folder *o,
                          mc_dataset *train, mc_dataset *test)
{
    mc_color_preprocessing color = MC_COLOR_NONE;
    mc_status st = mc_color_preprocessing_parse(ctx, o->color != NULL ? o->color : "none", &color);
    if (st != MC_OK)
        return st;
    if (!mc_net_is_assembled(net) && (st = mc_net_assemble(net, max_batch)) != MC_OK)
        return st;
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 4)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "the network takes feature vectors, not images; an image folder needs "
                           "an imageInputLayer");
    mc_image_options io = mc_image_default(in.dims[2], in.dims[3], in.dims[1]);
    io.color = color;
    io.resize = o->resize;

    char *train_dir = cli_format("%s/train", o->dir), *test_dir = cli_format("%s/test", o->dir);
    if (train_dir == NULL || test_dir == NULL) {
        free(train_dir);
        free(test_dir);
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    }
    const bool has_train = cli_is_directory(train_dir), has_test = cli_is_directory(test_dir);
    if (has_train != has_test)
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "%s has a %s/ folder but no %s/ folder: give both parts, or one "
                         "folder of class folders to split with --split",
                         o->dir, has_train ? "train" : "test", has_train ? "test" : "train");
    const bool split = !has_train;
    if (st == MC_OK && !split && !isnan(o->split))
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "%s already has train/ and test/ folders; --split applies to one "
                         "folder of class folders",
                         o->dir);
    const double p = isnan(o->split) ? 0.75 : o->split;
    const bool per_class = p >= 1; /* splitEachLabel(imds, 750): a count per class */
    if (st == MC_OK && !(p > 0 && p < 1) && !(per_class && p <= 1e9 && p == floor(p)))
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "--split takes the proportion of each class's images to train on, "
                         "between 0 and 1 (not inclusive), or a whole number of images per "
                         "class (1 or more), not %g",
                         p);

    mc_image_folder all, tr, te;
    memset(&all, 0, sizeof all);
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    if (st != MC_OK) {
        free(train_dir);
        free(test_dir);
        return st;
    }
    if (split) {
        st = mc_image_folder_scan(ctx, o->dir, &all);
        /* The split depends on the seed and the folder alone, not on what else drew from the
         * context's RNG: seeded on its own, then the RNG is put back. */
        const mc_rng_state saved = mc_rng_get_state(ctx);
        mc_rng_seed(ctx, o->seed);
        if (st == MC_OK)
            st = per_class ? mc_image_folder_split_count(ctx, &all, (int)p, &tr, &te)
                           : mc_image_folder_split(ctx, &all, p, &tr, &te);
        mc_rng_set_state(ctx, saved);
        if (st == MC_ERR_INVALID && per_class) {
            char why[1024]; /* the message is rewritten in place: copied first */
            snprintf(why, sizeof why, "%s", mc_ctx_message(ctx));
            mc_ctx_fail(ctx, st, "--split %g: %s in %s", p, why, o->dir);
        }
        for (int part = 0; st == MC_OK && part < 2; part++)
            if ((part == 0 ? tr : te).num_files == 0)
                st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                                 "splitting %s with --split %g leaves no %s images; change "
                                 "--split",
                                 o->dir, p, part == 0 ? "training" : "test");
    } else {
        st = mc_image_folder_scan(ctx, train_dir, &tr);
        if (st == MC_OK)
            st = mc_image_folder_scan(ctx, test_dir, &te);
        if (st == MC_OK)
            st = mc_image_folder_use_classes(ctx, &te, &tr);
    }
    if (st == MC_OK)
        st = use_class_names(ctx, net, o->dir, &tr);
    if (st == MC_OK && train != NULL)
        st = mc_image_folder_read(ctx, &tr, &io, train);
    if (st == MC_OK)
        st = mc_image_folder_read(ctx, &te, &io, test);
    if (st == MC_OK) {
        printf("Image folder %s: %d classes (", o->dir, tr.num_classes);
        print_classes(&tr);
        if (split && train == NULL)
            printf("); the %d test images of a split with %g of each class to training (seed "
                   "%llu)",
                   te.num_files, p, (unsigned long long)o->seed);
        else if (split)
            printf("); %d training and %d test images, %g of each class to training (seed "
                   "%llu)",
                   tr.num_files, te.num_files, p, (unsigned long long)o->seed);
        else if (train == NULL)
            printf("); %d test images in %s", te.num_files, test_dir);
        else
            printf("); %d training images in %s, %d test images in %s", tr.num_files, train_dir,
                   te.num_files, test_dir);
        printf(", read at %dx%dx%d%s.\n\n", io.height, io.width, io.channels,
               io.resize ? " (resized where needed)" : "");
    }
    free(train_dir);
    free(test_dir);
    mc_image_folder_release(ctx, &all);
    mc_image_folder_release(ctx, &tr);
    mc_image_folder_release(ctx, &te);
    if (st != MC_OK) {
        if (train != NULL)
            mc_dataset_release(ctx, train);
        mc_dataset_release(ctx, test);
    }
    return st;
}
