/* SPDX-License-Identifier: MIT */
/* Data augmentation: MATLAB's imageDataAugmenter (R2018b's properties), applied as
 * augmentedImageDatastore applies it during training: one random affine transformation per
 * image, about the image's centre, output the size of the input, bilinear interpolation
 * ('linear') and FillValue outside the image. */
#ifndef MINICNN_AUGMENT_H
#define MINICNN_AUGMENT_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <minicnn/ctx.h>
#include <minicnn/status.h>

/* The most FillValue entries (one per channel). */
#define MC_AUGMENT_MAX_FILL 16

/* imageDataAugmenter's properties. Ranges are [min max] with min <= max; each image gets a
 * value drawn uniformly from each range (MATLAB's diff(range) * rand + range(1)). */
typedef struct mc_augmenter_options {
    double fill_value[MC_AUGMENT_MAX_FILL]; /* 0; a scalar or one value per channel */
    int fill_count;                         /* 1 (a scalar) to MC_AUGMENT_MAX_FILL */
    bool rand_x_reflection;                 /* false; true: left-right with probability 1/2 */
    bool rand_y_reflection;                 /* false; true: up-down with probability 1/2 */
    double rand_rotation[2];                /* [0 0] degrees */
    bool rand_scale_set;          /* false; true: rand_scale is used and rand_x/y_scale ignored
                                   * (MATLAB: "when you specify RandScale") */
    double rand_scale[2];         /* [1 1], positive */
    double rand_x_scale[2];       /* [1 1], positive */
    double rand_y_scale[2];       /* [1 1], positive */
    double rand_x_shear[2];       /* [0 0] degrees, inside (-90, 90) */
    double rand_y_shear[2];       /* [0 0] degrees, inside (-90, 90) */
    double rand_x_translation[2]; /* [0 0] pixels */
    double rand_y_translation[2]; /* [0 0] pixels */
    uint64_t seed; /* 0; the random draws depend only on (seed, epoch, observation index) */
} mc_augmenter_options;

/* MATLAB's defaults: the identity transformation, FillValue 0. */
mc_augmenter_options mc_augmenter_default(void);

typedef struct mc_augmenter mc_augmenter;

/* Checks the options (copied) and creates an augmenter. MC_ERR_INVALID names the property and
 * says what it must be (a range with min > max, a scale that is not positive, a shear outside
 * (-90, 90), a value that is not finite); MC_ERR_NOMEM. */
mc_status mc_augmenter_create(mc_ctx *ctx, const mc_augmenter_options *o, mc_augmenter **out);

/* Creates an augmenter from a MATLAB expression: "imageDataAugmenter('RandXReflection',true,
 * 'RandRotation',[-10 10])" (also Name=Value, property names in any case). Unknown properties
 * (with a suggestion), values of the wrong kind, bad ranges and function handles (which
 * minicnn does not run) are MC_ERR_FORMAT with "augmenter:1:COLUMN: ..." messages. */
mc_status mc_augmenter_parse(mc_ctx *ctx, const char *expr, mc_augmenter **out);

/* NULL is allowed. */
void mc_augmenter_destroy(mc_augmenter *aug);

/* The options; borrowed, valid while the augmenter lives. */
const mc_augmenter_options *mc_augmenter_get_options(const mc_augmenter *aug);

/* Sets the seed of the random draws (the options' seed). */
void mc_augmenter_set_seed(mc_augmenter *aug, uint64_t seed);

/* The augmenter as the MATLAB expression that makes it, listing the properties that are not
 * their defaults: "imageDataAugmenter('RandXReflection',true,'RandRotation',[-10 10])".
 * Writes at most cap bytes (NUL-terminated) and returns the length the full text needs. */
size_t mc_augmenter_format(const mc_augmenter *aug, char *buf, size_t cap);

/* Checks that images of C channels, H x W, can be augmented: FillValue is a scalar or has C
 * values. Returns MC_OK or MC_ERR_INVALID (naming both counts). */
mc_status mc_augmenter_check(mc_ctx *ctx, const mc_augmenter *aug, int C, int H, int W);

/* The random transformation of observation `index` in epoch `epoch` for H x W images:
 * tform = [a b; c d; e f] in MATLAB's row convention, [u v] = [x y] * [a b; c d] + [e f] in
 * 0-based pixel coordinates, composed as MATLAB's imageDataAugmenter does: rotation, shear,
 * scale and reflection about the centre ((W-1)/2, (H-1)/2), in that order, then the
 * translation. Depends only on (seed, epoch, index). */
void mc_augmenter_transform(const mc_augmenter *aug, int epoch, size_t index, int H, int W,
                            double tform[6]);

/* The kernel. x, y: (C, H, W); fill: (C). y(u, v) = x(tform^-1(u, v)) interpolated
 * bilinearly, pixels outside x taking the channel's fill value. tform must be invertible. */
void mc_augment_warp(const double tform[6], const float *fill, const float *x, float *y, int C,
                     int H, int W);

/* Augments observation `index` (x, y: (C, H, W); x and y must not overlap) for epoch `epoch`.
 * mc_augmenter_check must have accepted (C, H, W). */
void mc_augmenter_apply(const mc_augmenter *aug, int epoch, size_t index, const float *x, float *y,
                        int C, int H, int W);

/* Augments n observations in parallel tasks, one per observation: y[i] is observation
 * index[i] of data (both (., C, H, W)) augmented for `epoch`. The results are the same for any
 * thread count and any batch composition. */
void mc_augmenter_apply_batch(const mc_augmenter *aug, int epoch, const float *data,
                              const int *index, int n, int C, int H, int W, float *y);

#ifdef __cplusplus
}
#endif

#endif
