/* SPDX-License-Identifier: MIT */
/* The MAT-files behind MathWorks' digitTrain4DArrayData and digitTest4DArrayData, made from
 * the real MNIST digits: 5,000 training and 5,000 test digits, each turned by a whole number of
 * degrees in [-45, 45], as 28x28x1xN arrays in [0, 1], with their digits and angles. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <matio.h>

#include <minicnn/atomic.h>
#include <minicnn/augment.h>

#include "cli.h"
#include "digitarrays.h"

#define DIGITS_PER_FILE 5000
#define SIDE 28

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* y: (SIDE, SIDE) column-major, x: (SIDE, SIDE) row-major in [0, 255], turned clockwise by
 * `angle` degrees about the centre (so that MATLAB's imrotate(y, angle) stands it upright),
 * scaled to [0, 1]. */
static void turn_digit(const float *x, double angle, double *y)
{
    const double pi = 3.14159265358979323846, r = -angle * pi / 180.0;
    const double cs = cos(r), sn = sin(r), c = (SIDE - 1) / 2.0;
    /* the augmenter's convention: [u v] = ([x y] - c) * [cs -sn; sn cs] + c */
    const double tform[6] = {cs, -sn, sn, cs, c - (c * cs + c * sn), c - (c * -sn + c * cs)};
    const float fill = 0.0f;
    float turned[SIDE * SIDE];
    mc_augment_warp(tform, &fill, x, turned, 1, SIDE, SIDE);
    for (int i = 0; i < SIDE; i++)
        for (int j = 0; j < SIDE; j++) {
            const float v = turned[i * SIDE + j] / 255.0f;
            y[(size_t)j * SIDE + (size_t)i] = v < 0.0f ? 0.0 : v > 1.0f ? 1.0 : (double)v;
        }
}

static mc_status add_var(mc_ctx *ctx, mat_t *mat, const char *path, const char *name, int rank,
                         size_t *dims, double *data)
{
    matvar_t *v =
        Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, rank, dims, data, MAT_F_DONT_COPY_DATA);
    const int bad = v == NULL || Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB) != 0;
    if (v != NULL)
        Mat_VarFree(v);
    return bad ? mc_ctx_fail(ctx, MC_ERR_IO, "%s: cannot write the variable %s", path, name)
               : MC_OK;
}

/* Writes one file (whole or not at all) of the digits [first, first + DIGITS_PER_FILE) of
 * images/labels (row-major 28x28 each), named X<part>, Y<part> and angles<part>. */
static mc_status write_part(mc_ctx *ctx, const char *path, const char *part, const float *images,
                            const int *labels, size_t first, uint64_t seed)
{
    const size_t n = DIGITS_PER_FILE, plane = SIDE * SIDE;
    double *x = malloc(n * plane * sizeof *x), *y = malloc(n * sizeof *y),
           *angles = malloc(n * sizeof *angles);
    mc_status st = x != NULL && y != NULL && angles != NULL
                       ? MC_OK
                       : mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory for %s", path);
    for (size_t i = 0; st == MC_OK && i < n; i++) {
        const double angle = (double)(int)(splitmix(&seed) % 91) - 45.0;
        turn_digit(images + (first + i) * plane, angle, x + i * plane);
        y[i] = labels[first + i];
        angles[i] = angle;
    }
    mc_atomic_file *f = NULL;
    if (st == MC_OK)
        st = mc_atomic_open(ctx, path, 0, &f);
    mat_t *mat = NULL;
    if (st == MC_OK && (mat = Mat_CreateVer(mc_atomic_temp_path(f), NULL, MAT_FT_MAT5)) == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "%s: cannot create the MAT-file", mc_atomic_temp_path(f));
    char name[32];
    size_t xdims[4] = {SIDE, SIDE, 1, n}, vdims[2] = {n, 1};
    snprintf(name, sizeof name, "X%s", part);
    if (st == MC_OK)
        st = add_var(ctx, mat, path, name, 4, xdims, x);
    snprintf(name, sizeof name, "Y%s", part);
    if (st == MC_OK)
        st = add_var(ctx, mat, path, name, 2, vdims, y);
    snprintf(name, sizeof name, "angles%s", part);
    if (st == MC_OK)
        st = add_var(ctx, mat, path, name, 2, vdims, angles);
    if (mat != NULL && Mat_Close(mat) != 0 && st == MC_OK)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "%s: cannot finish the MAT-file", path);
    if (st == MC_OK)
        st = mc_atomic_commit(f);
    else
        mc_atomic_abort(f);
    free(x);
    free(y);
    free(angles);
    return st;
}

mc_status cli_write_digit_arrays(mc_ctx *ctx, const char *dir, const mc_dataset *parts, int n_parts,
                                 bool force, int *written)
{
    *written = 0;
    size_t total = 0;
    for (int p = 0; p < n_parts; p++)
        total += (size_t)parts[p].shape.dims[0];
    if (total < 2 * (size_t)DIGITS_PER_FILE)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "digitTrain4DArrayData needs %d digits and its test part as many; the "
                           "MNIST digits have only %zu",
                           DIGITS_PER_FILE, total);
    /* both parts in one run of digits, in the order of the files */
    const size_t plane = SIDE * SIDE;
    float *images = malloc(total * plane * sizeof *images);
    int *labels = malloc(total * sizeof *labels);
    if (images == NULL || labels == NULL) {
        free(images);
        free(labels);
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    }
    size_t at = 0;
    for (int p = 0; p < n_parts; p++) {
        const size_t n = (size_t)parts[p].shape.dims[0];
        memcpy(images + at * plane, parts[p].x, n * plane * sizeof *images);
        memcpy(labels + at, parts[p].labels, n * sizeof *labels);
        at += n;
    }
    static const struct {
        const char *file, *part;
    } files[2] = {{CLI_DIGITS_TRAIN_FILE, "Train"}, {CLI_DIGITS_TEST_FILE, "Test"}};
    mc_status st = MC_OK;
    for (int k = 0; st == MC_OK && k < 2; k++) {
        char *path = cli_format("%s/%s", dir, files[k].file);
        if (path == NULL) {
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
        } else if (force || access(path, F_OK) != 0) {
            st = write_part(ctx, path, files[k].part, images, labels, (size_t)k * DIGITS_PER_FILE,
                            0x4D4154u + (uint64_t)k);
            *written += st == MC_OK;
        }
        free(path);
    }
    free(images);
    free(labels);
    return st;
}
