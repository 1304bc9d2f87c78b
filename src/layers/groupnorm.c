/* SPDX-License-Identifier: MIT */
/* groupNormalizationLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../parallel.h"
#include "../simd.h"
#include "norm.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The mean as a float pair (hi + lo): x - hi is exact for x near the mean (Sterbenz), so
 * d = (x - hi) - lo keeps the deviation accurate in float even when |mean| >> spread. */
static void split_mean(double mean, float *hi, float *lo)
{
    *hi = (float)mean;
    *lo = (float)(mean - (double)*hi);
}

/* Groups of at most TINY_GROUP values: see tiny_group_backward. */
#define TINY_GROUP 4

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MC_GN_AVX2 1

/* The 4 x 8 floats at x (4 rows of 8) transposed: t[j] holds element j of the 4 rows. */
__attribute__((target("avx2,fma"))) static inline void transpose4x8(const float *x, __m128 *t)
{
    const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
    const __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    t[0] = _mm256_castps256_ps128(u0);
    t[4] = _mm256_extractf128_ps(u0, 1);
    t[1] = _mm256_castps256_ps128(u1);
    t[5] = _mm256_extractf128_ps(u1, 1);
    t[2] = _mm256_castps256_ps128(u2);
    t[6] = _mm256_extractf128_ps(u2, 1);
    t[3] = _mm256_castps256_ps128(u3);
    t[7] = _mm256_extractf128_ps(u3, 1);
}

/* The statistics of forward_small_groups for 4 groups at a time, one group per double lane:
 * the same lane sums in the same order. x: (nb, m) from the first group, m <= 16; writes mu,
 * hi, lo and v = variance + eps for groups [0, k) and returns k, a multiple of 4. */
__attribute__((target("avx2,fma"))) static size_t small_stats_avx2(const float *x, size_t m,
                                                                   size_t nb, double eps,
                                                                   double *mu, float *hi, float *lo,
                                                                   double *v)
{
    const __m256d inv_zero = _mm256_setzero_pd(), dm = _mm256_set1_pd((double)m),
                  ve = _mm256_set1_pd(eps);
    size_t g = 0;
    if (m == 8) {
        /* The common feature-input group, straight-line in registers: a 4 x 8 transpose, and
         * the divisions by 8 as multiplications by 0.125 (exact: the same bits). */
        const __m256d eighth = _mm256_set1_pd(0.125);
        for (; g + 4 <= nb; g += 4) {
            __m128 xs[8]; /* element j of the 4 groups */
            transpose4x8(x + g * 8, xs);
            const __m128 s0 = xs[0], s1 = xs[1], s2 = xs[2], s3 = xs[3];
            const __m128 s4 = xs[4], s5 = xs[5], s6 = xs[6], s7 = xs[7];
            /* The lanes j + 8 are zero: T[j] = L[j] + 0.0, as the general path adds them. */
#define T_(sj) _mm256_add_pd(_mm256_cvtps_pd(sj), inv_zero)
            const __m256d sum = _mm256_add_pd(
                _mm256_add_pd(_mm256_add_pd(T_(s0), T_(s4)), _mm256_add_pd(T_(s1), T_(s5))),
                _mm256_add_pd(_mm256_add_pd(T_(s2), T_(s6)), _mm256_add_pd(T_(s3), T_(s7))));
#undef T_
            const __m256d mean = _mm256_mul_pd(sum, eighth);
            const __m128 h = _mm256_cvtpd_ps(mean);
            const __m128 l = _mm256_cvtpd_ps(_mm256_sub_pd(mean, _mm256_cvtps_pd(h)));
#define D_(sj)                                                                                     \
    _mm256_add_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm_sub_ps(_mm_sub_ps(sj, h), l)),                 \
                                _mm256_cvtps_pd(_mm_sub_ps(_mm_sub_ps(sj, h), l))),                \
                  inv_zero)
            const __m256d ss = _mm256_add_pd(
                _mm256_add_pd(_mm256_add_pd(D_(s0), D_(s4)), _mm256_add_pd(D_(s1), D_(s5))),
                _mm256_add_pd(_mm256_add_pd(D_(s2), D_(s6)), _mm256_add_pd(D_(s3), D_(s7))));
#undef D_
            _mm256_storeu_pd(mu + g, mean);
            _mm_storeu_ps(hi + g, h);
            _mm_storeu_ps(lo + g, l);
            _mm256_storeu_pd(v + g, _mm256_add_pd(_mm256_mul_pd(ss, eighth), ve));
        }
        return g;
    }
    for (; g + 4 <= nb; g += 4) {
        const float *x0 = x + g * m, *x1 = x0 + m, *x2 = x1 + m, *x3 = x2 + m;
        __m128 xs[16];
        __m256d L[16];
        for (size_t j = 0; j < m; j++)
            xs[j] = _mm_setr_ps(x0[j], x1[j], x2[j], x3[j]);
        for (size_t j = 0; j < m; j++)
            L[j] = _mm256_cvtps_pd(xs[j]);
        for (size_t j = m; j < 16; j++)
            L[j] = inv_zero;
        __m256d T[8];
        for (int j = 0; j < 8; j++)
            T[j] = _mm256_add_pd(L[j], L[j + 8]);
        const __m256d sum =
            _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(T[0], T[4]), _mm256_add_pd(T[1], T[5])),
                          _mm256_add_pd(_mm256_add_pd(T[2], T[6]), _mm256_add_pd(T[3], T[7])));
        const __m256d mean = _mm256_div_pd(sum, dm);
        const __m128 h = _mm256_cvtpd_ps(mean);
        const __m128 l = _mm256_cvtpd_ps(_mm256_sub_pd(mean, _mm256_cvtps_pd(h)));
        for (size_t j = 0; j < m; j++) {
            const __m256d d = _mm256_cvtps_pd(_mm_sub_ps(_mm_sub_ps(xs[j], h), l));
            L[j] = _mm256_mul_pd(d, d);
        }
        for (size_t j = m; j < 16; j++)
            L[j] = inv_zero;
        for (int j = 0; j < 8; j++)
            T[j] = _mm256_add_pd(L[j], L[j + 8]);
        const __m256d ss =
            _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(T[0], T[4]), _mm256_add_pd(T[1], T[5])),
                          _mm256_add_pd(_mm256_add_pd(T[2], T[6]), _mm256_add_pd(T[3], T[7])));
        _mm256_storeu_pd(mu + g, mean);
        _mm_storeu_ps(hi + g, h);
        _mm_storeu_ps(lo + g, l);
        _mm256_storeu_pd(v + g, _mm256_add_pd(_mm256_div_pd(ss, dm), ve));
    }
    return g;
}

/* backward_feature_block for groups of 8 channels (the common feature-input group), 4 groups
 * at a time, in registers: the generic version goes through nine arrays of 256 per
 * observation. Each value is computed as there (the same bits): a group's sums over its
 * channels in channel order from 0.0, 4 groups in the lanes of a vector (a 4 x 8 transpose, as
 * small_stats_avx2). x, dy, dx, scale, pa, pb: (ng * 8) from the block's first channel;
 * mean, rstd: (ng). Returns the groups done, a multiple of 4. */
__attribute__((target("avx2,fma"))) static size_t
feature_backward8_avx2(const float *x, const float *dy, const float *scale, const double *mean,
                       const double *rstd, size_t ng, double *pa, double *pb, float *dx)
{
    const __m256d zero = _mm256_setzero_pd(), m = _mm256_set1_pd(8.0);
    size_t g = 0;
    for (; g + 4 <= ng; g += 4) {
        /* split_mean of 4 groups, in intrinsics: GCC 12 vectorized the scalar version here
         * into lo = mean - mean, dropping the rounding to float in between */
        const __m256d mu = _mm256_loadu_pd(mean + g);
        const __m128 h = _mm256_cvtpd_ps(mu);
        const __m128 l = _mm256_cvtpd_ps(_mm256_sub_pd(mu, _mm256_cvtps_pd(h)));
        float hi[4], lo[4], k1[4], k2[4];
        _mm_storeu_ps(hi, h);
        _mm_storeu_ps(lo, l);
        __m128 xs[8], ys[8], ss[8];
        transpose4x8(x + g * 8, xs);
        transpose4x8(dy + g * 8, ys);
        transpose4x8(scale + g * 8, ss);
        const __m256d r = _mm256_loadu_pd(rstd + g);
        __m256d sa = zero, sb = zero;
        for (int q = 0; q < 8; q++) {
            const __m256d d = _mm256_cvtps_pd(_mm_sub_ps(_mm_sub_ps(xs[q], h), l));
            const __m256d gy = _mm256_cvtps_pd(ys[q]), sc = _mm256_cvtps_pd(ss[q]);
            sa = _mm256_add_pd(sa, _mm256_mul_pd(sc, _mm256_add_pd(_mm256_mul_pd(gy, d), zero)));
            sb = _mm256_add_pd(sb, _mm256_mul_pd(sc, _mm256_add_pd(gy, zero)));
        }
        _mm_storeu_ps(k1, _mm256_cvtpd_ps(_mm256_div_pd(sb, m)));
        _mm_storeu_ps(k2,
                      _mm256_cvtpd_ps(_mm256_div_pd(_mm256_mul_pd(_mm256_mul_pd(r, r), sa), m)));
        for (int k = 0; k < 4; k++) {
            const size_t c = (g + (size_t)k) * 8;
            const double rk = rstd[g + (size_t)k];
            const __m256 gv = _mm256_loadu_ps(dy + c);
            const __m256 d =
                _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), _mm256_set1_ps(hi[k])),
                              _mm256_set1_ps(lo[k]));
            for (int half = 0; half < 2; half++) {
                const __m256d gy = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(gv, 1)
                                                        : _mm256_castps256_ps128(gv));
                const __m256d dd =
                    _mm256_cvtps_pd(half ? _mm256_extractf128_ps(d, 1) : _mm256_castps256_ps128(d));
                const __m256d a = _mm256_add_pd(_mm256_mul_pd(gy, dd), zero);
                double *pac = pa + c + 4 * (size_t)half, *pbc = pb + c + 4 * (size_t)half;
                _mm256_storeu_pd(
                    pac, _mm256_add_pd(_mm256_loadu_pd(pac), _mm256_mul_pd(a, _mm256_set1_pd(rk))));
                _mm256_storeu_pd(pbc, _mm256_add_pd(_mm256_loadu_pd(pbc), _mm256_add_pd(gy, zero)));
            }
            const __m256 t = _mm256_sub_ps(
                _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(scale + c), gv), _mm256_set1_ps(k1[k])),
                _mm256_mul_ps(d, _mm256_set1_ps(k2[k])));
            _mm256_storeu_ps(dx + c, _mm256_mul_ps(_mm256_set1_ps((float)rk), t));
        }
    }
    return g;
}
#endif

/* ng consecutive groups of one observation, each of m = Cg*S <= 16 elements (feature input,
 * small images): the same sums as forward_group (each element is its own lane), a block of
 * groups at a time so that the divisions and square roots of many groups overlap.
 * x, y: (ng, Cg, S) from the first group; scale, offset: (ng*Cg); mean, rstd: (ng). */
MC__CLONES static void forward_small_groups(const float *x, float *y, const float *scale,
                                            const float *offset, size_t ng, int Cg, size_t S,
                                            double eps, double *mean, double *rstd)
{
    const size_t m = (size_t)Cg * S;
    for (size_t g0 = 0; g0 < ng; g0 += 64) {
        const size_t nb = ng - g0 < 64 ? ng - g0 : 64;
        double mu[64], v[64], r[64];
        float hi[64], lo[64];
        size_t done = 0;
#ifdef MC_GN_AVX2
        if (mc__have_avx2_fma() && m > TINY_GROUP)
            done = small_stats_avx2(x + g0 * m, m, nb, eps, mu, hi, lo, v);
#endif
        for (size_t g = done; g < nb; g++) {
            const float *xg = x + (g0 + g) * m;
            double l[16];
            for (size_t j = 0; j < 16; j++)
                l[j] = j < m ? (double)xg[j] : 0.0;
            mu[g] = mc__add_lanes(l) / (double)m;
            split_mean(mu[g], &hi[g], &lo[g]);
            for (size_t j = 0; j < 16; j++) {
                /* tiny groups: the deviations in double (see TINY_GROUP) */
                const double d = j >= m            ? 0.0
                                 : m <= TINY_GROUP ? (double)xg[j] - mu[g]
                                                   : (double)((xg[j] - hi[g]) - lo[g]);
                l[j] = d * d;
            }
            v[g] = mc__add_lanes(l) / (double)m + eps;
        }
        mc__inv_sqrt(v, r, nb);
        if (S == 1) {
            /* Feature input: the outputs of the whole block in one loop over its channels,
             * which vectorizes (a group's 8 or 16 channels alone would not). */
            float hc[1024], lc[1024];
            double rc[1024];
            for (size_t g = 0; g < nb; g++) {
                mean[g0 + g] = mu[g];
                rstd[g0 + g] = r[g];
                for (int k = 0; k < Cg; k++) {
                    hc[g * (size_t)Cg + (size_t)k] = hi[g];
                    lc[g * (size_t)Cg + (size_t)k] = lo[g];
                    rc[g * (size_t)Cg + (size_t)k] = r[g];
                }
            }
            const size_t c0 = g0 * (size_t)Cg, nc = nb * (size_t)Cg;
            const float *xb = x + c0, *sc = scale + c0, *of = offset + c0;
            float *yb = y + c0;
            for (size_t c = 0; c < nc; c++)
                yb[c] = ((xb[c] - hc[c]) - lc[c]) * (float)((double)sc[c] * rc[c]) + of[c];
            continue;
        }
        for (size_t g = 0; g < nb; g++) {
            mean[g0 + g] = mu[g];
            rstd[g0 + g] = r[g];
            const float *xg = x + (g0 + g) * m;
            float *yg = y + (g0 + g) * m;
            for (int k = 0; k < Cg; k++) {
                const size_t c = (g0 + g) * (size_t)Cg + (size_t)k;
                const float a = (float)((double)scale[c] * r[g]), b = offset[c];
                for (size_t s = 0; s < S; s++)
                    yg[(size_t)k * S + s] = ((xg[(size_t)k * S + s] - hi[g]) - lo[g]) * a + b;
            }
        }
    }
}

/* The statistics of one group of one observation, x: (m) from the group's first element, given
 * its sum: two passes in double (the sum, then the squared deviations from the float-pair mean,
 * from L1 or L2 cache as a group is small, prefetching the next group: `ahead` floats on, see
 * MC__AHEAD). Sets o's hi, lo and r. */
static void group_stats(const float *x, size_t m, double sum, double eps, double *mean,
                        double *rstd, mc__norm_rows *o, size_t ahead)
{
    const double mu = sum / (double)m;
    split_mean(mu, &o->hi, &o->lo);
    o->r = 1.0 / sqrt(mc__sum_sq_dev(x, m, o->hi, o->lo, ahead) / (double)m + eps);
    *mean = mu;
    *rstd = o->r;
}

/* Per channel of a group: a = sum dy*d, b = sum dy (mc__sum_dy_dev), inline for S <= 16. */
static void channel_sums(const float *x, const float *dy, size_t S, float hi, float lo, double *a,
                         double *b)
{
    if (S > 16) {
        mc__sum_dy_dev(x, dy, S, hi, lo, a, b);
        return;
    }
    if (S == 1) { /* one lane: the lane sum is the value, with + 0.0 as the zero lanes add */
        const float d = (x[0] - hi) - lo;
        *a = (double)dy[0] * (double)d + 0.0;
        *b = (double)dy[0] + 0.0;
        return;
    }
    double la[16], lb[16];
    for (size_t j = 0; j < 16; j++) {
        const int in = j < S;
        const float d = in ? (x[j] - hi) - lo : 0.0f, g = in ? dy[j] : 0.0f;
        la[j] = (double)g * (double)d;
        lb[j] = (double)g;
    }
    *a = mc__add_lanes(la);
    *b = mc__add_lanes(lb);
}

/* dx of one channel of a group (mc__norm_dx, inline for S < 8). */
static void channel_dx(const mc__dx_row *p, size_t S, size_t ahead)
{
    if (S >= 8) {
        mc__norm_dx(p, S, ahead);
        return;
    }
    for (size_t i = 0; i < S; i++) {
        const float d = (p->x[i] - p->hi) - p->lo;
        p->dx[i] = p->r * (p->g * p->dy[i] - p->k1 - d * p->k2);
    }
}

/* Groups of at most TINY_GROUP values (two channels of feature input, or a channel of 1x2
 * positions): with two values per group the exact dx is only Epsilon's term, r g (dy1 - dy2)/2
 * times eps / (var + eps), a small remainder of the terms it is computed from, so float
 * arithmetic (or a variance from float deviations) would leave relative errors of 1e-4. These
 * groups are computed in double throughout, from deviations x - mean in double, forward
 * (forward_small_groups) and backward. */
/* One channel of a tiny group: a = sum dy*(x - mean), b = sum dy, in position order. */
static void tiny_channel_sums(const float *x, const float *dy, size_t S, double mean, double *a,
                              double *b)
{
    double sa = 0.0, sb = 0.0;
    for (size_t s = 0; s < S; s++) {
        sa += (double)dy[s] * ((double)x[s] - mean);
        sb += (double)dy[s];
    }
    *a = sa;
    *b = sb;
}

/* x, dy, dx: (Cg, S) of one group, Cg * S <= TINY_GROUP; scale: (Cg); a, b: (Cg), the
 * channels' sums; dx NULL: only the sums. */
static void tiny_group_backward(const float *x, const float *dy, const float *scale, double mean,
                                double r, int Cg, size_t S, double *a, double *b, float *dx)
{
    double sa = 0.0, sb = 0.0;
    for (int q = 0; q < Cg; q++) {
        tiny_channel_sums(x + (size_t)q * S, dy + (size_t)q * S, S, mean, &a[q], &b[q]);
        sa += (double)scale[q] * a[q];
        sb += (double)scale[q] * b[q];
    }
    if (dx == NULL)
        return;
    const double m = (double)Cg * (double)S, k1 = sb / m, k2 = r * r * sa / m;
    for (int q = 0; q < Cg; q++)
        for (size_t s = 0; s < S; s++) {
            const size_t i = (size_t)q * S + s;
            dx[i] =
                (float)(r * ((double)scale[q] * (double)dy[i] - k1 - ((double)x[i] - mean) * k2));
        }
}

/* The tiny groups [g0, g1) of observations [n0, n1): their sums into pa (times rstd) and pb,
 * and dx. */
static void tiny_backward(const float *x, const float *dy, const float *scale, const double *mean,
                          const double *rstd, float *dx, int C, size_t S, int G, size_t n0,
                          size_t n1, size_t g0, size_t g1, double *pa, double *pb)
{
    const int Cg = C / G;
    for (size_t n = n0; n < n1; n++)
        for (size_t g = g0; g < g1; g++) {
            const size_t c0 = g * (size_t)Cg, base = (n * (size_t)C + c0) * S;
            const double r = rstd[n * (size_t)G + g];
            double a[TINY_GROUP], b[TINY_GROUP];
            tiny_group_backward(x + base, dy + base, scale + c0, mean[n * (size_t)G + g], r, Cg, S,
                                a, b, dx != NULL ? dx + base : NULL);
            for (int q = 0; q < Cg; q++) {
                pa[c0 + (size_t)q] += a[q] * r;
                pb[c0 + (size_t)q] += b[q];
            }
        }
}

/* The tasks of a pass: `chunks` runs of observations (mc__chunks(N), the partial sums of the
 * parameter gradients) times `gblocks` runs of groups, enough tasks for the threads also when N
 * is small. Both depend on N and G only. */
static void gn_tasks(int N, int G, int *chunks, int *gblocks)
{
    *chunks = mc__chunks(N);
    const int want = MC__MAX_CHUNKS / *chunks;
    *gblocks = want < 1 ? 1 : want > G ? G : want;
}

typedef struct gn_job {
    const float *x, *dy, *scale, *offset;
    float *y, *dx;
    double *mean, *rstd;
    double *pa, *pb; /* (chunks, C): the chunks' partial sums of a * rstd and of b */
    int N, C, G, chunks, gblocks;
    size_t S;
    double eps;
    int stream; /* outputs too large for the caches: non-temporal stores */
} gn_job;

/* The distance in floats from group (n, g) to the next group of a task over observations
 * [.., n1) and groups [g0, g1), or MC__AHEAD_NONE after its last: what the group's cached pass
 * prefetches. */
static size_t next_group(const gn_job *j, size_t n, size_t g, size_t n1, size_t g0, size_t g1)
{
    const size_t Cg = (size_t)(j->C / j->G);
    if (g + 1 < g1)
        return Cg * j->S;
    if (n + 1 < n1)
        return ((size_t)j->C - (g1 - 1 - g0) * Cg) * j->S;
    return MC__AHEAD_NONE;
}

static void gn_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const gn_job *j = arg;
    const int Cg = j->C / j->G;
    size_t n0, n1, g0, g1;
    mc__chunk_range((size_t)j->N, (size_t)j->chunks, (size_t)(task / j->gblocks), &n0, &n1);
    mc__chunk_range((size_t)j->G, (size_t)j->gblocks, (size_t)(task % j->gblocks), &g0, &g1);
    if ((size_t)Cg * j->S <= 16) {
        for (size_t n = n0; n < n1; n++) {
            const size_t base = (n * (size_t)j->C + g0 * (size_t)Cg) * j->S;
            forward_small_groups(j->x + base, j->y + base, j->scale + g0 * (size_t)Cg,
                                 j->offset + g0 * (size_t)Cg, g1 - g0, Cg, j->S, j->eps,
                                 &j->mean[n * (size_t)j->G + g0], &j->rstd[n * (size_t)j->G + g0]);
        }
        return;
    }
    /* Software-pipelined: a group's output is written in the loop that sums the next group. */
    const size_t m = (size_t)Cg * j->S;
    mc__norm_rows prev = {.rows = 0};
    for (size_t n = n0; n < n1; n++)
        for (size_t g = g0; g < g1; g++) {
            const size_t base = (n * (size_t)j->C + g * (size_t)Cg) * j->S;
            const float *x = j->x + base;
            const double sum = prev.rows != 0 ? mc__sum_and_write(x, &prev) : mc__sum(x, m);
            prev = (mc__norm_rows){.x = x,
                                   .y = j->y + base,
                                   .scale = j->scale + g * (size_t)Cg,
                                   .offset = j->offset + g * (size_t)Cg,
                                   .rows = (size_t)Cg,
                                   .S = j->S,
                                   .stream = j->stream};
            group_stats(x, m, sum, j->eps, &j->mean[n * (size_t)j->G + g],
                        &j->rstd[n * (size_t)j->G + g], &prev, next_group(j, n, g, n1, g0, g1));
        }
    if (prev.rows != 0)
        mc__norm_rows_write(&prev);
}

/* Feature input (S = 1), backward: groups [g0, g0 + ng) of observation n, whose ng * Cg <= 256
 * channels are handled together, so that every per-channel step is one loop over up to 256
 * channels (which vectorizes) and only the per-group running sums stay scalar. The arithmetic
 * of each value is that of the general path (one lane per channel: the value + 0.0). */
MC__CLONES static void backward_feature_block(const gn_job *j, size_t n, size_t g0, size_t ng,
                                              int Cg, double *pa, double *pb)
{
    const size_t c0 = g0 * (size_t)Cg, nc = ng * (size_t)Cg, base = n * (size_t)j->C + c0;
    const float *x = j->x + base, *dy = j->dy + base, *scale = j->scale + c0;
#ifdef MC_GN_AVX2
    if (Cg == 8 && ng >= 4 && j->dx != NULL && mc__have_avx2_fma()) {
        const size_t at = n * (size_t)j->G + g0;
        const size_t done = feature_backward8_avx2(x, dy, scale, j->mean + at, j->rstd + at, ng,
                                                   pa + c0, pb + c0, j->dx + base);
        if (done < ng) /* fewer than 4 left: the generic code below */
            backward_feature_block(j, n, g0 + done, ng - done, Cg, pa, pb);
        return;
    }
#endif
    float hc[256], lc[256], k1c[256], k2c[256], frc[256], d[256];
    double rc[256], a[256], b[256];
    for (size_t g = 0; g < ng; g++) {
        float hi, lo;
        split_mean(j->mean[n * (size_t)j->G + g0 + g], &hi, &lo);
        const double r = j->rstd[n * (size_t)j->G + g0 + g];
        for (int q = 0; q < Cg; q++) {
            hc[g * (size_t)Cg + (size_t)q] = hi;
            lc[g * (size_t)Cg + (size_t)q] = lo;
            rc[g * (size_t)Cg + (size_t)q] = r;
        }
    }
    for (size_t c = 0; c < nc; c++) {
        d[c] = (x[c] - hc[c]) - lc[c];
        a[c] = (double)dy[c] * (double)d[c] + 0.0;
        b[c] = (double)dy[c] + 0.0;
    }
    for (size_t c = 0; c < nc; c++) {
        pa[c0 + c] += a[c] * rc[c];
        pb[c0 + c] += b[c];
    }
    if (j->dx == NULL)
        return;
    const double m = (double)Cg;
    for (size_t g = 0; g < ng; g++) {
        double sum_scale_a = 0.0, sum_scale_b = 0.0;
        for (int q = 0; q < Cg; q++) {
            const size_t c = g * (size_t)Cg + (size_t)q;
            sum_scale_a += (double)scale[c] * a[c];
            sum_scale_b += (double)scale[c] * b[c];
        }
        const double r = rc[g * (size_t)Cg];
        const float k1 = (float)(sum_scale_b / m), k2 = (float)(r * r * sum_scale_a / m);
        for (int q = 0; q < Cg; q++) {
            k1c[g * (size_t)Cg + (size_t)q] = k1;
            k2c[g * (size_t)Cg + (size_t)q] = k2;
            frc[g * (size_t)Cg + (size_t)q] = (float)r;
        }
    }
    float *dx = j->dx + base;
    for (size_t c = 0; c < nc; c++)
        dx[c] = frc[c] * (scale[c] * dy[c] - k1c[c] - d[c] * k2c[c]);
}

/* Channel q of the group whose channel 0 is `first` (its channel index c0). */
static mc__dx_row channel_row(const mc__dx_row *first, const gn_job *j, size_t c0, int q)
{
    mc__dx_row row = *first;
    const size_t at = (size_t)q * j->S;
    row.x += at;
    row.dy += at;
    row.dx += at;
    row.g = j->scale[c0 + (size_t)q];
    return row;
}

static void gn_backward_task(void *arg, int task, int thread)
{
    (void)thread;
    const gn_job *j = arg;
    const int Cg = j->C / j->G, k = task / j->gblocks;
    size_t n0, n1, g0, g1;
    mc__chunk_range((size_t)j->N, (size_t)j->chunks, (size_t)k, &n0, &n1);
    mc__chunk_range((size_t)j->G, (size_t)j->gblocks, (size_t)(task % j->gblocks), &g0, &g1);
    double *pa = j->pa + (size_t)k * MC__PAD_DOUBLES(j->C),
           *pb = j->pb + (size_t)k * MC__PAD_DOUBLES(j->C);
    for (size_t c = g0 * (size_t)Cg; c < g1 * (size_t)Cg; c++)
        pa[c] = pb[c] = 0.0;
    if ((size_t)Cg * j->S <= TINY_GROUP) {
        tiny_backward(j->x, j->dy, j->scale, j->mean, j->rstd, j->dx, j->C, j->S, j->G, n0, n1, g0,
                      g1, pa, pb);
        return;
    }
    if (j->S == 1 && Cg <= 256) {
        const size_t per = 256 / (size_t)Cg; /* groups per block */
        for (size_t n = n0; n < n1; n++)
            for (size_t g = g0; g < g1; g += per)
                backward_feature_block(j, n, g, g1 - g < per ? g1 - g : per, Cg, pa, pb);
        return;
    }
    /* With channels of more than 16 elements, software-pipelined: a group's dx is written
     * channel by channel in the loops that sum the next group's channels. */
    const int defer = j->dx != NULL && j->S > 16;
    mc__dx_row prev = {.x = NULL}; /* the previous group's: channel 0 */
    size_t prev_c = 0;             /* and that channel's index */
    for (size_t n = n0; n < n1; n++)
        for (size_t g = g0; g < g1; g++) {
            const size_t base = (n * (size_t)j->C + g * (size_t)Cg) * j->S;
            const double mu = j->mean[n * (size_t)j->G + g], r = j->rstd[n * (size_t)j->G + g];
            float hi, lo;
            split_mean(mu, &hi, &lo);
            double sum_scale_a = 0.0, sum_scale_b = 0.0;
            for (int q = 0; q < Cg; q++) {
                const size_t c = g * (size_t)Cg + (size_t)q, at = base + (size_t)q * j->S;
                double a, b;
                if (prev.x != NULL) {
                    mc__dx_row row = channel_row(&prev, j, prev_c, q);
                    mc__sum_dy_dev_and_dx(j->x + at, j->dy + at, j->S, hi, lo, &a, &b, &row);
                } else {
                    channel_sums(j->x + at, j->dy + at, j->S, hi, lo, &a, &b);
                }
                pa[c] += a * r;
                pb[c] += b;
                sum_scale_a += (double)j->scale[c] * a;
                sum_scale_b += (double)j->scale[c] * b;
            }
            if (j->dx == NULL)
                continue;
            const double m = (double)Cg * (double)j->S;
            const mc__dx_row first = {.x = j->x + base,
                                      .dy = j->dy + base,
                                      .dx = j->dx + base,
                                      .hi = hi,
                                      .lo = lo,
                                      .r = (float)r,
                                      .k1 = (float)(sum_scale_b / m),
                                      .k2 = (float)(r * r * sum_scale_a / m),
                                      .stream = j->stream};
            if (defer) {
                prev = first;
                prev_c = g * (size_t)Cg;
                continue;
            }
            const size_t ahead = next_group(j, n, g, n1, g0, g1);
            for (int q = 0; q < Cg; q++) {
                const mc__dx_row row = channel_row(&first, j, g * (size_t)Cg, q);
                channel_dx(&row, j->S, ahead);
            }
        }
    for (int q = 0; prev.x != NULL && q < Cg; q++) {
        const mc__dx_row row = channel_row(&prev, j, prev_c, q);
        channel_dx(&row, j->S, MC__AHEAD_NONE);
    }
}

/* x, y: (N, C, S); scale, offset: (C); mean, rstd: (N, G) */
void mc_groupnorm_forward_kernel(const float *x, float *y, const float *scale, const float *offset,
                                 double *mean, double *rstd, int N, int C, size_t S, int G,
                                 double eps)
{
    gn_job j = {.x = x,
                .y = y,
                .scale = scale,
                .offset = offset,
                .mean = mean,
                .rstd = rstd,
                .N = N,
                .C = C,
                .G = G,
                .S = S,
                .eps = eps};
    gn_tasks(N, G, &j.chunks, &j.gblocks);
    j.stream = (size_t)N * (size_t)C * S * sizeof(float) > MC__STREAM_BYTES;
    mc__parallel_for(j.chunks * j.gblocks, 0, 2 * (size_t)N * (size_t)C * S, gn_forward_task, &j);
}

/* The layer's backward with its partial sums pa, pb: (chunks, C) workspaces.
 * x, dy, dx: (N, C, S); scale, dscale, doffset: (C); mean, rstd: (N, G) */
static void groupnorm_backward_parallel(const float *x, const float *dy, const float *scale,
                                        const double *mean, const double *rstd, float *dx,
                                        float *dscale, float *doffset, int N, int C, size_t S,
                                        int G, double *pa, double *pb)
{
    gn_job j = {.x = x,
                .dy = dy,
                .scale = scale,
                .dx = dx,
                .mean = (double *)mean,
                .rstd = (double *)rstd,
                .pa = pa,
                .pb = pb,
                .N = N,
                .C = C,
                .G = G,
                .S = S};
    gn_tasks(N, G, &j.chunks, &j.gblocks);
    j.stream = (size_t)N * (size_t)C * S * sizeof(float) > MC__STREAM_BYTES;
    mc__parallel_for(j.chunks * j.gblocks, 0, 3 * (size_t)N * (size_t)C * S, gn_backward_task, &j);
    /* The chunks' partial sums in chunk order: the same whatever the thread count. */
    for (int c = 0; c < C; c++) {
        double a = 0.0, b = 0.0;
        for (int k = 0; k < j.chunks; k++) {
            a += pa[(size_t)k * MC__PAD_DOUBLES(C) + (size_t)c];
            b += pb[(size_t)k * MC__PAD_DOUBLES(C) + (size_t)c];
        }
        dscale[c] += (float)a;
        doffset[c] += (float)b;
    }
}

/* x, dy, dx: (N, C, S); scale, dscale, doffset: (C); mean, rstd: (N, G). Without workspaces:
 * the parameter gradients channel by channel (the same sums in the same order as the layer's),
 * then dx group by group. */
void mc_groupnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx, float *dscale,
                                  float *doffset, int N, int C, size_t S, int G)
{
    const int Cg = C / G, chunks = mc__chunks(N);
    const bool tiny = (size_t)Cg * S <= TINY_GROUP;
    for (int c = 0; c < C; c++) {
        const int g = c / Cg;
        double ta = 0.0, tb = 0.0;
        for (int k = 0; k < chunks; k++) {
            size_t n0, n1;
            mc__chunk_range((size_t)N, (size_t)chunks, (size_t)k, &n0, &n1);
            double pa = 0.0, pb = 0.0;
            for (size_t n = n0; n < n1; n++) {
                const size_t at = (n * (size_t)C + (size_t)c) * S;
                float hi, lo;
                split_mean(mean[n * (size_t)G + (size_t)g], &hi, &lo);
                double a, b;
                if (tiny)
                    tiny_channel_sums(x + at, dy + at, S, mean[n * (size_t)G + (size_t)g], &a, &b);
                else
                    channel_sums(x + at, dy + at, S, hi, lo, &a, &b);
                pa += a * rstd[n * (size_t)G + (size_t)g];
                pb += b;
            }
            ta += pa;
            tb += pb;
        }
        dscale[c] += (float)ta;
        doffset[c] += (float)tb;
    }
    if (dx == NULL)
        return;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < G; g++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)g * (size_t)Cg) * S;
            const double mu = mean[(size_t)n * (size_t)G + (size_t)g];
            const double r = rstd[(size_t)n * (size_t)G + (size_t)g];
            if (tiny) {
                double a[TINY_GROUP], b[TINY_GROUP];
                tiny_group_backward(x + base, dy + base, scale + (size_t)g * (size_t)Cg, mu, r, Cg,
                                    S, a, b, dx + base);
                continue;
            }
            float hi, lo;
            split_mean(mu, &hi, &lo);
            double sa = 0.0, sb = 0.0;
            for (int q = 0; q < Cg; q++) {
                double a, b;
                channel_sums(x + base + (size_t)q * S, dy + base + (size_t)q * S, S, hi, lo, &a,
                             &b);
                sa += (double)scale[g * Cg + q] * a;
                sb += (double)scale[g * Cg + q] * b;
            }
            const double m = (double)Cg * (double)S;
            const float k1 = (float)(sb / m), k2 = (float)(r * r * sa / m);
            for (int q = 0; q < Cg; q++) {
                const size_t at = base + (size_t)q * S;
                const mc__dx_row row = {.x = x + at,
                                        .dy = dy + at,
                                        .dx = dx + at,
                                        .hi = hi,
                                        .lo = lo,
                                        .r = (float)r,
                                        .g = scale[g * Cg + q],
                                        .k1 = k1,
                                        .k2 = k2,
                                        .stream = (size_t)N * (size_t)C * S * sizeof(float) >
                                                  MC__STREAM_BYTES};
                channel_dx(&row, S, MC__AHEAD_NONE);
            }
        }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct groupnorm {
    mc_layer base;
    mc_groups_mode groups_mode;
    int num_groups; /* as given, for MC_GROUPS_COUNT */
    int groups;     /* in use; 0 until known */
    double epsilon;
    int num_channels; /* 0 while 'auto' */
    mc__init scale_init;
    mc__init offset_init;
    mc_param offset; /* value empty until given or initialized */
    mc_param scale;
    double *mean; /* (N, G) of the set-up N */
    double *rstd;
    size_t stats_cap;
    double *pa, *pb; /* (mc__chunks(N), C padded to cache lines): partial sums of the gradients */
    size_t part_cap;
} groupnorm;

static const mc_layer_vtable groupnorm_vtable;

static const char *const groups_words[] = {"all-channels", "channel-wise", NULL};

mc_groupnorm_options mc_groupnorm_default(int num_groups)
{
    mc_groupnorm_options o;
    memset(&o, 0, sizeof o);
    o.groups_mode = MC_GROUPS_COUNT;
    o.num_groups = num_groups;
    o.epsilon = 1e-5;
    o.scale_learn_rate_factor = 1.0;
    o.offset_learn_rate_factor = 1.0;
    o.scale_l2_factor = 1.0;
    o.offset_l2_factor = 1.0;
    return o;
}

mc_status mc_groupnorm_parse_groups(mc_ctx *ctx, const char *text, mc_groups_mode *mode,
                                    int *num_groups)
{
    if (strcasecmp(text, "all-channels") == 0) {
        *mode = MC_GROUPS_ALL_CHANNELS;
        *num_groups = 1;
        return MC_OK;
    }
    if (strcasecmp(text, "channel-wise") == 0) {
        *mode = MC_GROUPS_CHANNEL_WISE;
        *num_groups = 0;
        return MC_OK;
    }
    long v = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9' && v <= 1000000000L)
        v = v * 10 + (*p++ - '0');
    if (p != text && *p == '\0' && v >= 1 && v <= 1000000000L) {
        *mode = MC_GROUPS_COUNT;
        *num_groups = (int)v;
        return MC_OK;
    }
    const char *hint = mc__closest(text, groups_words);
    char suggestion[64] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean \"%s\"?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "numGroups \"%s\" is not valid%s: expected a positive integer, "
                       "\"all-channels\" or \"channel-wise\"",
                       text, suggestion);
}

/* The number of groups for C channels, or an error naming the layer and both numbers. */
static mc_status groups_for(const groupnorm *gn, const char *label, int C, int *G)
{
    switch (gn->groups_mode) {
    case MC_GROUPS_ALL_CHANNELS:
        *G = 1;
        return MC_OK;
    case MC_GROUPS_CHANNEL_WISE:
        *G = C;
        return MC_OK;
    case MC_GROUPS_COUNT:
        break;
    }
    if (gn->num_groups > C)
        return mc_ctx_fail(gn->base.ctx, MC_ERR_SHAPE,
                           "%s: the number of groups (%d) exceeds the number of input channels "
                           "(%d)",
                           label, gn->num_groups, C);
    if (C % gn->num_groups != 0)
        return mc_ctx_fail(gn->base.ctx, MC_ERR_SHAPE,
                           "%s: the number of groups (%d) must divide the number of input "
                           "channels (%d)",
                           label, gn->num_groups, C);
    *G = gn->num_groups;
    return MC_OK;
}

static mc_status validate(mc_ctx *ctx, const mc_groupnorm_options *o, const mc__norm_options *no,
                          const char *label)
{
    if (o->groups_mode != MC_GROUPS_COUNT && o->groups_mode != MC_GROUPS_ALL_CHANNELS &&
        o->groups_mode != MC_GROUPS_CHANNEL_WISE)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: unknown groups mode %d", label,
                           (int)o->groups_mode);
    if (o->groups_mode == MC_GROUPS_COUNT && o->num_groups < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the number of groups must be a positive integer, "
                           "\"all-channels\" or \"channel-wise\", not %d",
                           label, o->num_groups);
    mc_status st = mc__norm_check_epsilon_channels(ctx, label, no);
    if (st != MC_OK)
        return st;
    if (o->num_channels > 0 && o->groups_mode == MC_GROUPS_COUNT) {
        if (o->num_groups > o->num_channels)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the number of groups (%d) exceeds NumChannels (%d)", label,
                               o->num_groups, o->num_channels);
        if (o->num_channels % o->num_groups != 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the number of groups (%d) must divide NumChannels (%d)", label,
                               o->num_groups, o->num_channels);
    }
    st = mc__norm_check_factors(ctx, label, no);
    return st == MC_OK ? mc__norm_check_initial(ctx, label, no) : st;
}

static void groupnorm_destroy(mc_layer *self)
{
    groupnorm *gn = (groupnorm *)self;
    mc_ctx *ctx = self->ctx;
    mc__param_release(ctx, &gn->scale);
    mc__param_release(ctx, &gn->offset);
    mc_free(ctx, gn->mean);
    mc_free(ctx, gn->rstd);
    mc_free(ctx, gn->pa);
    mc_free(ctx, gn->pb);
}

mc_status mc_groupnorm_create(mc_ctx *ctx, const mc_groupnorm_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, groupnorm_vtable.kind);
    const mc__norm_options no = MC__NORM_OPTIONS(opts);
    mc_status st = validate(ctx, opts, &no, label);
    mc__init scale_init, offset_init;
    if (st == MC_OK)
        st = mc__norm_resolve(ctx, label, &no, &scale_init, &offset_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(groupnorm), &groupnorm_vtable, opts->name, 1, NULL,
                           "creating a group normalization layer", &base);
    if (st != MC_OK)
        return st;
    groupnorm *gn = (groupnorm *)base;
    gn->groups_mode = opts->groups_mode;
    gn->num_groups = opts->groups_mode == MC_GROUPS_COUNT ? opts->num_groups : 0;
    gn->groups = opts->groups_mode == MC_GROUPS_COUNT          ? opts->num_groups
                 : opts->groups_mode == MC_GROUPS_ALL_CHANNELS ? 1
                                                               : opts->num_channels;
    gn->epsilon = opts->epsilon;
    gn->num_channels = opts->num_channels;
    gn->scale_init = scale_init;
    gn->offset_init = offset_init;
    st = mc__norm_init_params(ctx, &gn->scale, &gn->offset, &no);
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "copying the initial Scale and Offset");
        mc_layer_destroy(&gn->base);
        return st;
    }
    *out = &gn->base;
    return MC_OK;
}

static mc_status groupnorm_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    groupnorm *gn = (groupnorm *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    const int N = in[0].dims[0];
    const int C = in[0].dims[1];
    int G = 0;
    mc_status st = mc__check_num_channels(ctx, label, gn->num_channels, C);
    if (st == MC_OK)
        st = groups_for(gn, label, C, &G);
    if (st == MC_OK)
        st = mc__norm_prepare(ctx, label, &gn->scale, &gn->scale_init, &gn->offset,
                              &gn->offset_init, mc_shape_kind(&in[0]), C);
    if (st != MC_OK)
        return st;
    const size_t need = (size_t)N * (size_t)G;
    if (need > gn->stats_cap) {
        double *mean = mc__calloc(ctx, need, sizeof(double));
        double *rstd = mc__calloc(ctx, need, sizeof(double));
        if (mean == NULL || rstd == NULL) {
            mc_free(ctx, mean);
            mc_free(ctx, rstd);
            return mc__nomem(ctx, "sizing the group normalization statistics");
        }
        mc_free(ctx, gn->mean);
        mc_free(ctx, gn->rstd);
        gn->mean = mean;
        gn->rstd = rstd;
        gn->stats_cap = need;
    }
    const size_t part = (size_t)mc__chunks(N) * MC__PAD_DOUBLES(C);
    if (part > gn->part_cap) {
        double *pa = mc__calloc(ctx, part, sizeof(double));
        double *pb = mc__calloc(ctx, part, sizeof(double));
        if (pa == NULL || pb == NULL) {
            mc_free(ctx, pa);
            mc_free(ctx, pb);
            return mc__nomem(ctx, "sizing the group normalization workspace");
        }
        mc_free(ctx, gn->pa);
        mc_free(ctx, gn->pb);
        gn->pa = pa;
        gn->pb = pb;
        gn->part_cap = part;
    }
    gn->num_channels = C;
    gn->groups = G;
    *out = in[0];
    return MC_OK;
}

static void groupnorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    (void)n_in;
    (void)mode; /* no running statistics: both modes compute the same */
    groupnorm *gn = (groupnorm *)self;
    const mc_shape *s = &in[0].shape;
    mc_groupnorm_forward_kernel(in[0].data, out->data, gn->scale.value.data, gn->offset.value.data,
                                gn->mean, gn->rstd, s->dims[0], s->dims[1], mc__positions(s),
                                gn->groups, gn->epsilon);
}

static void groupnorm_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    groupnorm *gn = (groupnorm *)self;
    const mc_shape *s = &in[0].shape;
    groupnorm_backward_parallel(in[0].data, dout->data, gn->scale.value.data, gn->mean, gn->rstd,
                                din[0].data, gn->scale.grad.data, gn->offset.grad.data, s->dims[0],
                                s->dims[1], mc__positions(s), gn->groups, gn->pa, gn->pb);
}

static mc_param *groupnorm_param(mc_layer *self, int i)
{
    groupnorm *gn = (groupnorm *)self;
    return i == 0 ? &gn->offset : i == 1 ? &gn->scale : NULL;
}

static void describe_groups(const groupnorm *gn, mc_text *t)
{
    switch (gn->groups_mode) {
    case MC_GROUPS_ALL_CHANNELS:
        mc_text_printf(t, "'all-channels'");
        break;
    case MC_GROUPS_CHANNEL_WISE:
        mc_text_printf(t, "'channel-wise'");
        break;
    case MC_GROUPS_COUNT:
        mc_text_printf(t, "%d", gn->num_groups);
        break;
    }
}

static void groupnorm_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const groupnorm *gn = (const groupnorm *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "Group normalization");
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 15;
    char num[40];
    mc_text_printf(t, "  GroupNormalizationLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc__describe_count(t, w, "NumChannels", gn->num_channels);
    mc_text_printf(t, "\n   Hyperparameters\n%*s: ", w, "NumGroups");
    describe_groups(gn, t);
    mc_text_printf(t, "\n%*s: %s\n", w, "Epsilon", mc_format_short(gn->epsilon, num, sizeof num));
    mc__describe_learnables(t, w, &gn->offset, &gn->scale);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, &gn->scale, "Scale", &gn->scale_init, &gn->offset, "Offset",
                          &gn->offset_init);
}

int mc_groupnorm_num_channels(const mc_layer *layer)
{
    return layer->vt == &groupnorm_vtable ? ((const groupnorm *)layer)->num_channels : -1;
}

int mc_groupnorm_num_groups(const mc_layer *layer)
{
    return layer->vt == &groupnorm_vtable ? ((const groupnorm *)layer)->groups : -1;
}

static const mc_layer_vtable groupnorm_vtable = {
    .kind = "groupNormalizationLayer",
    .class_name = "GroupNormalizationLayer",
    .type_label = "Group Normalization",
    .default_name = "groupnorm",
    .role = MC_ROLE_HIDDEN,
    .setup = groupnorm_setup,
    .forward = groupnorm_forward,
    .backward = groupnorm_backward,
    .param = groupnorm_param,
    .buffer = mc__no_buffer,
    .describe = groupnorm_describe,
    .destroy = groupnorm_destroy,
};
