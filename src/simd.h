/* SPDX-License-Identifier: MIT */
/* Vector loops shared by the layers, in versions chosen at run time: AVX-512 and AVX2 for the
 * CPUs that have them (mc_set_max_isa caps the choice), portable C for the others. The
 * reductions accumulate in double over 16 fixed lanes (element i goes to lane i % 16, the lanes
 * are added in one fixed order), and every version follows that order exactly, so they agree
 * bit for bit; the element-wise loops use no FMA, so they agree too. Not installed. */
#ifndef MINICNN_SIMD_H
#define MINICNN_SIMD_H

#include <stddef.h>

/* Compiles a function of plain C loops twice, for AVX2 and for any x86-64, the CPU choosing at
 * load time. No FMA in the list: without it the two compute the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define MC__CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MC__CLONES
#endif

/* The fixed order in which the 16 double lanes of the reductions below are added. */
static inline double mc__add_lanes(const double *l)
{
    double t[8];
    for (int j = 0; j < 8; j++)
        t[j] = l[j] + l[j + 8];
    return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

/* x: (n). The sum of x, in double. */
double mc__sum(const float *x, size_t n);

/* x: (n). The sum of d*d in double, d = (x - hi) - lo in float: the squared deviations from a
 * mean held as the float pair hi + lo. `ahead`: see MC__AHEAD. */
double mc__sum_sq_dev(const float *x, size_t n, float hi, float lo, size_t ahead);

/* x, dy: (n). *a = sum dy*d and *b = sum dy in double, d = (x - hi) - lo in float. */
void mc__sum_dy_dev(const float *x, const float *dy, size_t n, float hi, float lo, double *a,
                    double *b);

/* MC__AHEAD: a kernel that reads a block of memory once from DRAM and then again from cache (a
 * group of group normalization: its statistics, then its output) hides the wait for the next
 * block by prefetching it during the cached pass. Such kernels take `ahead`, the distance in
 * floats from their input to the next block's matching part: when not 0, the line at x + ahead
 * + i is prefetched as x + i is read. Prefetches change no result, and never fault. */
#define MC__AHEAD_NONE ((size_t)0)

/* Outputs larger than this are written with non-temporal stores where the CPU has them: they
 * cannot stay in cache anyway, and such stores skip reading each line before writing it. */
#define MC__STREAM_BYTES ((size_t)16 << 20)

/* x, y: (n). y = ((x - hi) - lo) * a + b; `stream`: non-temporal stores for y. */
void mc__affine_dev(const float *x, float *y, size_t n, float hi, float lo, float a, float b,
                    int stream);

/* The output of one normalization group, written by the kernels below. x, y: (rows, S); scale,
 * offset: (rows). Row k: y = ((x - hi) - lo) * a + offset[k], a = (float)(scale[k] * r). */
typedef struct mc__norm_rows {
    const float *x;
    float *y;
    const float *scale, *offset;
    size_t rows, S;
    float hi, lo;
    double r;
    int stream; /* non-temporal stores for y */
} mc__norm_rows;

/* Writes o's output (mc__affine_dev row by row). */
void mc__norm_rows_write(const mc__norm_rows *o);

/* xs: (o->rows * o->S). Returns mc__sum(xs, o->rows * o->S) and writes o's output, the same
 * results as those two calls, in one loop where the CPU has AVX-512 (and S >= 16): a group's
 * statistics read from memory while the previous group's output is written, so that neither
 * the reads nor the writes wait for the other. */
double mc__sum_and_write(const float *xs, const mc__norm_rows *o);

/* One row of the input gradient of a normalization: dx = r * (g * dy - k1 - ((x - hi) - lo) *
 * k2), x, dy, dx: (n). */
typedef struct mc__dx_row {
    const float *x, *dy;
    float *dx;
    float hi, lo, r, g, k1, k2;
    int stream; /* non-temporal stores for dx */
} mc__dx_row;

/* Writes p's n values; `ahead` (for x and dy) as MC__AHEAD says. */
void mc__norm_dx(const mc__dx_row *p, size_t n, size_t ahead);

/* mc__sum_dy_dev(x, dy, n, hi, lo, a, b) and mc__norm_dx(p, n, MC__AHEAD_NONE), the same results,
 * in one loop where the CPU has AVX-512: one row's sums read from memory while the previous
 * group's matching row is written. */
void mc__sum_dy_dev_and_dx(const float *x, const float *dy, size_t n, float hi, float lo, double *a,
                           double *b, const mc__dx_row *p);

/* v, r: (n). r = 1 / sqrt(v), in double (correctly rounded both ways, so both versions agree). */
void mc__inv_sqrt(const double *v, double *r, size_t n);

#endif
