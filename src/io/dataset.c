/* Labelled data sets in memory. */
#include <math.h>
#include <string.h>

#include <minicnn/data.h>

#include "../internal.h"

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

mc_status mc_dataset_read_idx(mc_ctx *ctx, const char *images, const char *labels,
                              mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    mc_idx img, lab;
    memset(&lab, 0, sizeof lab);
    mc_status st = mc_idx_read(ctx, images, &img);
    if (st != MC_OK)
        return st;
    st = mc_idx_read(ctx, labels, &lab);
    if (st == MC_OK && lab.ndim != 1)
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "%s: a labels file has 1 dimension, not %d (is it an images file?)",
                         labels, lab.ndim);
    if (st == MC_OK && lab.dims[0] != img.dims[0])
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s holds %d images but %s holds %d labels", images,
                         img.dims[0], labels, lab.dims[0]);
    if (st == MC_OK) {
        out->labels = mc__calloc(ctx, lab.count, sizeof(int));
        if (out->labels == NULL)
            st = mc__nomem(ctx, "reading labels");
    }
    for (size_t i = 0; st == MC_OK && i < lab.count; i++) {
        const float v = lab.values[i];
        if (!(v >= 0 && v <= 255 && v == floorf(v)))
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "%s: label %zu is %g; expected an integer from 0 to 255", labels,
                             i + 1, (double)v);
        else
            out->labels[i] = (int)v;
        if (st == MC_OK && out->labels[i] + 1 > out->num_classes)
            out->num_classes = out->labels[i] + 1;
    }
    if (st == MC_OK)
        st = images_to_nchw(ctx, images, &img, out);
    mc_idx_release(ctx, &img);
    mc_idx_release(ctx, &lab);
    if (st != MC_OK)
        mc_dataset_release(ctx, out);
    return st;
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
