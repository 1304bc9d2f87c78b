/* SPDX-License-Identifier: MIT */
/* Labelled data sets in memory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/data.h>

#include "../internal.h"
#include "idx_internal.h"

void mc_dataset_release(mc_ctx *ctx, mc_dataset *ds)
{
    mc_free(ctx, ds->x);
    mc_free(ctx, ds->labels);
    memset(ds, 0, sizeof *ds);
}

mc_dataset mc_dataset_head(const mc_dataset *ds, int n)
{
    mc_dataset h = *ds;
    if (n < h.shape.dims[0])
        h.shape.dims[0] = n;
    return h;
}

/* (N, H, W) or (N, H, W, C) images as (N, C, H, W). */
static mc_status images_to_nchw(mc_ctx *ctx, const char *path, mc_idx *img, mc_dataset *out)
{
    if (img->ndim != 3 && img->ndim != 4)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: an images file has 3 dimensions (N, H, W) or 4 (N, H, W, C), "
                           "not %d",
                           path, img->ndim);
    const int N = img->dims[0], H = img->dims[1], W = img->dims[2];
    const int C = img->ndim == 4 ? img->dims[3] : 1;
    out->shape = mc_shape_make(4, (const int[]){N, C, H, W});
    if (C == 1) {
        out->x = img->values; /* same layout */
        img->values = NULL;
        return MC_OK;
    }
    out->x = mc__calloc(ctx, img->count, sizeof(float));
    if (out->x == NULL)
        return mc__nomem(ctx, "arranging images as N x C x H x W");
    const size_t plane = (size_t)H * W;
    for (size_t n = 0; n < (size_t)N; n++)
        for (size_t p = 0; p < plane; p++)
            for (size_t c = 0; c < (size_t)C; c++)
                out->x[(n * C + c) * plane + p] = img->values[(n * plane + p) * C + c];
    return MC_OK;
}

mc_data_expect mc_data_expect_net(const mc_net *net, bool convert_channels, const char *what)
{
    mc_data_expect e;
    memset(&e, 0, sizeof e);
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim == 4) {
        e.channels = in.dims[1];
        e.height = in.dims[2];
        e.width = in.dims[3];
    }
    e.convert_channels = convert_channels;
    e.num_classes = mc_net_num_classes(net);
    e.what = what;
    return e;
}

/* The images' header against the labels' and the expectation, before any data is read. */
static mc_status check_headers(mc_ctx *ctx, const char *images, const mc_idx *img,
                               const char *labels, const mc_idx *lab, const mc_data_expect *e)
{
    if (lab->ndim != 1)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: a labels file has 1 dimension, not %d (is it an images file?)",
                           labels, lab->ndim);
    if (img->ndim != 3 && img->ndim != 4)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: an images file has 3 dimensions (N, H, W) or 4 (N, H, W, C), "
                           "not %d",
                           images, img->ndim);
    if (lab->dims[0] != img->dims[0])
        return mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s holds %d images but %s holds %d labels", images,
                           img->dims[0], labels, lab->dims[0]);
    if (e == NULL)
        return MC_OK;
    const char *what = e->what != NULL ? e->what : "data";
    const int H = img->dims[1], W = img->dims[2], C = img->ndim == 4 ? img->dims[3] : 1;
    if ((e->height > 0 && H != e->height) || (e->width > 0 && W != e->width))
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %s are images of %dx%d but the network's input layer takes "
                           "%dx%d",
                           images, what, H, W, e->height, e->width);
    const bool convertible = e->convert_channels && (C == 1 || (C == 3 && e->channels == 1));
    if (e->channels > 0 && C != e->channels && !convertible)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %s have %d channel%s but the network's input layer takes %d%s",
                           images, what, C, C == 1 ? "" : "s", e->channels,
                           e->convert_channels ? " (gray2rgb makes 1 channel into 3, rgb2gray 3 "
                                                 "into 1)"
                           : C == 1 && e->channels == 3 ? "; add --color-preprocessing gray2rgb"
                           : C == 3 && e->channels == 1 ? "; add --color-preprocessing rgb2gray"
                                                        : "");
    return MC_OK;
}

static mc_status take_labels(mc_ctx *ctx, const char *labels, const mc_idx *lab,
                             const mc_data_expect *e, mc_dataset *out)
{
    out->labels = mc__calloc(ctx, lab->count, sizeof(int));
    if (out->labels == NULL)
        return mc__nomem(ctx, "reading labels");
    const int K = e != NULL ? e->num_classes : 0;
    for (size_t i = 0; i < lab->count; i++) {
        const float v = lab->values[i];
        if (!(v >= 0 && v <= 255 && v == floorf(v)))
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: label %zu is %g; expected an integer from 0 to 255", labels,
                               i + 1, (double)v);
        if (K > 0 && v >= K)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: observation %zu has label %d, outside the network's %d "
                               "classes (0 to %d): the %s do not fit the network",
                               labels, i + 1, (int)v, K, K - 1, e->what != NULL ? e->what : "data");
        out->labels[i] = (int)v;
        if (out->labels[i] + 1 > out->num_classes)
            out->num_classes = out->labels[i] + 1;
    }
    return MC_OK;
}

mc_status mc_dataset_read_idx_expect(mc_ctx *ctx, const char *images, const char *labels,
                                     const mc_data_expect *e, mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    mc_idx img, lab;
    mc__idx_file *fi = NULL, *fl = NULL;
    memset(&lab, 0, sizeof lab);
    mc_status st = mc__idx_open(ctx, images, &fi, &img);
    if (st == MC_OK)
        st = mc__idx_open(ctx, labels, &fl, &lab);
    if (st == MC_OK)
        st = check_headers(ctx, images, &img, labels, &lab, e);
    if (st == MC_OK)
        st = mc__idx_read_data(fl, &lab, true);
    mc__idx_close(fl);
    if (st == MC_OK)
        st = take_labels(ctx, labels, &lab, e, out);
    if (st == MC_OK)
        st = mc__idx_read_data(fi, &img, true);
    mc__idx_close(fi);
    if (st == MC_OK)
        st = images_to_nchw(ctx, images, &img, out);
    mc_idx_release(ctx, &img);
    mc_idx_release(ctx, &lab);
    if (st != MC_OK)
        mc_dataset_release(ctx, out);
    return st;
}

mc_status mc_dataset_read_idx(mc_ctx *ctx, const char *images, const char *labels, mc_dataset *out)
{
    return mc_dataset_read_idx_expect(ctx, images, labels, NULL, out);
}

/* "28x28x1 images" or "784 features", MATLAB's way of naming one observation's size. */
static void observation_text(const mc_shape *s, char *buf, size_t cap)
{
    if (s->ndim == 4)
        snprintf(buf, cap, "%dx%dx%d images", s->dims[2], s->dims[3], s->dims[1]);
    else if (s->ndim == 2)
        snprintf(buf, cap, "%d features", s->dims[1]);
    else {
        char dims[64];
        mc_shape_format(s, "x", dims, sizeof dims);
        snprintf(buf, cap, "observations of shape [%s]", dims);
    }
}

mc_status mc__data_check_shape(const mc_net *net, const mc_dataset *data, const char *what)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc_shape want = mc_net_input_shape(net, 1), have = data->shape;
    have.dims[0] = 1;
    bool same = want.ndim == have.ndim;
    for (int d = 0; same && d < want.ndim; d++)
        same = want.dims[d] == have.dims[d];
    if (!same) {
        char w[96], h[96];
        observation_text(&want, w, sizeof w);
        observation_text(&have, h, sizeof h);
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "the %s are %s but the network's input layer takes %s", what, h, w);
    }
    if (data->shape.dims[0] < 1)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "the %s hold no observations", what);
    return MC_OK;
}

mc_status mc_data_check_against_net(const mc_net *net, const mc_dataset *data, const char *what)
{
    mc_status st = mc__data_check_shape(net, data, what);
    if (st != MC_OK)
        return st;
    mc_ctx *ctx = mc_net_ctx(net);
    const int N = data->shape.dims[0], K = mc_net_num_classes(net);
    for (int i = 0; K > 0 && i < N; i++)
        if (data->labels[i] < 0 || data->labels[i] >= K)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "observation %d of the %s has label %d, outside the network's %d "
                               "classes (0 to %d)",
                               i + 1, what, data->labels[i], K, K - 1);
    return MC_OK;
}

mc_status mc_dataset_convert_channels(mc_ctx *ctx, mc_dataset *ds, int channels)
{
    const int N = ds->shape.dims[0], C = ds->shape.dims[1];
    if (ds->shape.ndim != 4)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "only images have color channels to convert");
    if (C == channels)
        return MC_OK;
    if (!((C == 1 && channels >= 1) || (C == 3 && channels == 1)))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "cannot convert %d-channel images to %d channels (gray2rgb makes 1 "
                           "channel into 3, rgb2gray 3 into 1)",
                           C, channels);
    const size_t plane = (size_t)ds->shape.dims[2] * (size_t)ds->shape.dims[3];
    float *x = mc__calloc(ctx, (size_t)N * (size_t)channels * plane, sizeof(float));
    if (x == NULL)
        return mc__nomem(ctx, "converting image channels");
    for (size_t n = 0; n < (size_t)N; n++) {
        const float *src = ds->x + n * (size_t)C * plane;
        float *dst = x + n * (size_t)channels * plane;
        if (C == 1) {
            for (int c = 0; c < channels; c++)
                memcpy(dst + (size_t)c * plane, src, plane * sizeof(float));
        } else {
            for (size_t p = 0; p < plane; p++)
                dst[p] = (float)(0.2989 * src[p] + 0.5870 * src[plane + p] +
                                 0.1140 * src[2 * plane + p]);
        }
    }
    mc_free(ctx, ds->x);
    ds->x = x;
    ds->shape.dims[1] = channels;
    return MC_OK;
}

/* ---- splitEachLabel with a count per label ---------------------------------------------- */

/* The classes of `from` and room for n files in `to`. */
static mc_status split_part(mc_ctx *ctx, const mc_image_folder *from, int n, mc_image_folder *to)
{
    to->classes = mc__calloc(ctx, (size_t)from->num_classes + 1, sizeof *to->classes);
    to->files = mc__calloc(ctx, (size_t)n + 1, sizeof *to->files);
    to->labels = mc__calloc(ctx, (size_t)n + 1, sizeof *to->labels);
    if (to->classes == NULL || to->files == NULL || to->labels == NULL)
        return mc__nomem(ctx, "splitting an image folder");
    for (int k = 0; k < from->num_classes; k++) {
        if ((to->classes[k] = mc__strdup(ctx, from->classes[k])) == NULL)
            return mc__nomem(ctx, "splitting an image folder");
        to->num_classes++;
    }
    return MC_OK;
}

mc_status mc_image_folder_split_count(mc_ctx *ctx, const mc_image_folder *all, int n,
                                      mc_image_folder *train, mc_image_folder *test)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (n < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "the split count must be a whole number of files per class, at "
                           "least 1, not %d",
                           n);
    const int N = all->num_files;
    for (int k = 0; k < all->num_classes; k++) {
        int count = 0;
        for (int i = 0; i < N; i++)
            count += all->labels[i] == k;
        if (count < n)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "cannot take %d files of each class for training: class '%s' "
                               "has only %d",
                               n, all->classes[k], count);
    }
    unsigned char *take = mc__calloc(ctx, (size_t)N + 1, 1);
    int *idx = mc__calloc(ctx, (size_t)N + 1, sizeof *idx);
    mc_status st =
        take == NULL || idx == NULL ? mc__nomem(ctx, "splitting an image folder") : MC_OK;
    for (int k = 0; st == MC_OK && k < all->num_classes; k++) {
        int count = 0;
        for (int i = 0; i < N; i++)
            if (all->labels[i] == k)
                idx[count++] = i;
        /* the first n of a Fisher-Yates shuffle of the class's files (partial) */
        for (int i = 0; i < n; i++) {
            int j = i + (int)(mc_rng_uniform(ctx) * (double)(count - i));
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            take[idx[i]] = 1;
        }
    }
    const int n_train = n * all->num_classes;
    if (st == MC_OK)
        st = split_part(ctx, all, n_train, train);
    if (st == MC_OK)
        st = split_part(ctx, all, N - n_train, test);
    for (int i = 0; st == MC_OK && i < N; i++) {
        mc_image_folder *to = take[i] ? train : test;
        if ((to->files[to->num_files] = mc__strdup(ctx, all->files[i])) == NULL)
            st = mc__nomem(ctx, "splitting an image folder");
        else
            to->labels[to->num_files++] = all->labels[i];
    }
    mc_free(ctx, take);
    mc_free(ctx, idx);
    if (st != MC_OK) {
        mc_image_folder_release(ctx, train);
        mc_image_folder_release(ctx, test);
    }
    return st;
}
