/* SPDX-License-Identifier: MIT */
#include "simd.h"

#include <math.h>
#include <stdint.h>

#include "parallel.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MC_X86 1
#endif

#define LANES 16

#define add_lanes mc__add_lanes

/* ---- Portable versions ------------------------------------------------------------------- */

static double sum_c(const float *x, size_t n)
{
    double l[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            l[j] += (double)x[i + j];
    for (int j = 0; j < LANES; j++)
        l[j] += i + (size_t)j < n ? (double)x[i + j] : 0.0;
    return add_lanes(l);
}

/* The squared deviations and the products with dy are summed in float over blocks of BLOCK
 * iterations (4 x 16 = 64 elements, 4 per lane), then in double: deviations are centred, so a
 * float sum of four terms loses nothing that matters, and the conversions to double (the
 * loops' main cost) happen once per 4 elements. */
#define BLOCK 4

static double sum_sq_dev_c(const float *x, size_t n, float hi, float lo)
{
    double l[LANES] = {0};
    float f[LANES] = {0};
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        if (i + LANES <= n) {
            for (int j = 0; j < LANES; j++) {
                const float d = (x[i + j] - hi) - lo;
                f[j] += d * d;
            }
        } else {
            for (int j = 0; j < LANES; j++) {
                const float d = i + (size_t)j < n ? (x[i + j] - hi) - lo : 0.0f;
                f[j] += d * d;
            }
        }
        if (++it == BLOCK || i + LANES >= n) {
            for (int j = 0; j < LANES; j++) {
                l[j] += (double)f[j];
                f[j] = 0.0f;
            }
            it = 0;
        }
    }
    return add_lanes(l);
}

static void sum_dy_dev_c(const float *x, const float *dy, size_t n, float hi, float lo, double *a,
                         double *b)
{
    double la[LANES] = {0}, lb[LANES] = {0};
    float fa[LANES] = {0}, fb[LANES] = {0};
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        if (i + LANES <= n) {
            for (int j = 0; j < LANES; j++) {
                const float d = (x[i + j] - hi) - lo, g = dy[i + j];
                fa[j] += g * d;
                fb[j] += g;
            }
        } else {
            for (int j = 0; j < LANES; j++) {
                const int in = i + (size_t)j < n;
                const float d = in ? (x[i + j] - hi) - lo : 0.0f, g = in ? dy[i + j] : 0.0f;
                fa[j] += g * d;
                fb[j] += g;
            }
        }
        if (++it == BLOCK || i + LANES >= n) {
            for (int j = 0; j < LANES; j++) {
                la[j] += (double)fa[j];
                lb[j] += (double)fb[j];
                fa[j] = fb[j] = 0.0f;
            }
            it = 0;
        }
    }
    *a = add_lanes(la);
    *b = add_lanes(lb);
}

static void affine_dev_c(const float *x, float *y, size_t n, float hi, float lo, float a, float b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ((x[i] - hi) - lo) * a + b;
}

/* Elements [i0, i1) of p's row. */
static void norm_dx_c(const mc__dx_row *p, size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        const float d = (p->x[i] - p->hi) - p->lo;
        p->dx[i] = p->r * (p->g * p->dy[i] - p->k1 - d * p->k2);
    }
}

/* ---- AVX2 versions ----------------------------------------------------------------------- */

#ifdef MC_X86
#define AVX2 __attribute__((target("avx2,fma")))

/* Lanes 0..k-1 on, for a masked load of the last k < 8 elements. */
AVX2 static __m256i tail_mask(size_t k)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), idx);
}

/* 16 floats (masked to the first `left` when left < 16) as two float vectors. */
AVX2 static void load16(const float *x, size_t left, __m256 *v0, __m256 *v1)
{
    if (left >= 16) {
        *v0 = _mm256_loadu_ps(x);
        *v1 = _mm256_loadu_ps(x + 8);
    } else if (left > 8) {
        *v0 = _mm256_loadu_ps(x);
        *v1 = _mm256_maskload_ps(x + 8, tail_mask(left - 8));
    } else {
        *v0 = _mm256_maskload_ps(x, tail_mask(left));
        *v1 = _mm256_setzero_ps();
    }
}

/* acc[0..3] (16 double lanes) += v0, v1 widened. */
AVX2 static void add_wide(__m256d *acc, __m256 v0, __m256 v1)
{
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v0)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1)));
    acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(v1)));
    acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1)));
}

AVX2 static double reduce_wide(const __m256d *acc)
{
    double l[LANES];
    for (int k = 0; k < 4; k++)
        _mm256_storeu_pd(l + 4 * k, acc[k]);
    return add_lanes(l);
}

AVX2 static double sum_avx2(const float *x, size_t n)
{
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    for (size_t i = 0; i < n; i += LANES) {
        __m256 v0, v1;
        load16(x + i, n - i, &v0, &v1);
        add_wide(acc, v0, v1);
    }
    return reduce_wide(acc);
}

AVX2 static double sum_sq_dev_avx2(const float *x, size_t n, float hi, float lo, size_t ahead)
{
    const __m256 vh = _mm256_set1_ps(hi), vl = _mm256_set1_ps(lo);
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        __m256 v0, v1;
        if (ahead != 0)
            _mm_prefetch((const char *)(x + ahead + i), _MM_HINT_T0);
        load16(x + i, n - i, &v0, &v1);
        __m256 d0 = _mm256_sub_ps(_mm256_sub_ps(v0, vh), vl);
        __m256 d1 = _mm256_sub_ps(_mm256_sub_ps(v1, vh), vl);
        if (n - i < LANES) { /* the masked lanes hold 0 - hi - lo: make them 0 */
            const size_t left = n - i;
            d0 = _mm256_and_ps(d0, _mm256_castsi256_ps(tail_mask(left < 8 ? left : 8)));
            d1 = _mm256_and_ps(d1, _mm256_castsi256_ps(tail_mask(left > 8 ? left - 8 : 0)));
        }
        f0 = _mm256_add_ps(f0, _mm256_mul_ps(d0, d0));
        f1 = _mm256_add_ps(f1, _mm256_mul_ps(d1, d1));
        if (++it == BLOCK || i + LANES >= n) {
            add_wide(acc, f0, f1);
            f0 = f1 = _mm256_setzero_ps();
            it = 0;
        }
    }
    return reduce_wide(acc);
}

AVX2 static void sum_dy_dev_avx2(const float *x, const float *dy, size_t n, float hi, float lo,
                                 double *a, double *b)
{
    const __m256 vh = _mm256_set1_ps(hi), vl = _mm256_set1_ps(lo);
    __m256d aa[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                     _mm256_setzero_pd()};
    __m256d bb[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                     _mm256_setzero_pd()};
    __m256 fa0 = _mm256_setzero_ps(), fa1 = fa0, fb0 = fa0, fb1 = fa0;
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        __m256 x0, x1, g0, g1;
        load16(x + i, n - i, &x0, &x1);
        load16(dy + i, n - i, &g0, &g1); /* 0 in the masked lanes: their products are 0 */
        __m256 d0 = _mm256_sub_ps(_mm256_sub_ps(x0, vh), vl);
        __m256 d1 = _mm256_sub_ps(_mm256_sub_ps(x1, vh), vl);
        if (n - i < LANES) {
            const size_t left = n - i;
            d0 = _mm256_and_ps(d0, _mm256_castsi256_ps(tail_mask(left < 8 ? left : 8)));
            d1 = _mm256_and_ps(d1, _mm256_castsi256_ps(tail_mask(left > 8 ? left - 8 : 0)));
        }
        fa0 = _mm256_add_ps(fa0, _mm256_mul_ps(g0, d0));
        fa1 = _mm256_add_ps(fa1, _mm256_mul_ps(g1, d1));
        fb0 = _mm256_add_ps(fb0, g0);
        fb1 = _mm256_add_ps(fb1, g1);
        if (++it == BLOCK || i + LANES >= n) {
            add_wide(aa, fa0, fa1);
            add_wide(bb, fb0, fb1);
            fa0 = fa1 = fb0 = fb1 = _mm256_setzero_ps();
            it = 0;
        }
    }
    *a = reduce_wide(aa);
    *b = reduce_wide(bb);
}

/* The first index from which x + i is 32-byte aligned (at most n). */
static size_t align32(const float *x, size_t n)
{
    const size_t mis = ((uintptr_t)x & 31) / sizeof(float);
    const size_t k = mis == 0 ? 0 : 8 - mis;
    return ((uintptr_t)x & 3) != 0 ? n : k < n ? k : n;
}

AVX2 static void affine_dev_avx2(const float *x, float *y, size_t n, float hi, float lo, float a,
                                 float b, int stream)
{
    const __m256 vh = _mm256_set1_ps(hi), vl = _mm256_set1_ps(lo), va = _mm256_set1_ps(a),
                 vb = _mm256_set1_ps(b);
    size_t i = 0;
    if (stream) {
        i = align32(y, n);
        affine_dev_c(x, y, i, hi, lo, a, b);
        for (; i + 8 <= n; i += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl);
            _mm256_stream_ps(y + i, _mm256_add_ps(_mm256_mul_ps(d, va), vb));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl);
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(d, va), vb));
    }
    affine_dev_c(x + i, y + i, n - i, hi, lo, a, b);
}

/* One line of x and of dy `ahead` floats on, for every other block of 8 (MC__AHEAD). */
AVX2 static void prefetch_pair(const float *x, const float *dy, size_t ahead, size_t i)
{
    if (ahead != 0 && (i & 15) == 0) {
        _mm_prefetch((const char *)(x + ahead + i), _MM_HINT_T0);
        _mm_prefetch((const char *)(dy + ahead + i), _MM_HINT_T0);
    }
}

AVX2 static void norm_dx_avx2(const mc__dx_row *p, size_t n, size_t ahead)
{
    const __m256 vh = _mm256_set1_ps(p->hi), vl = _mm256_set1_ps(p->lo), vr = _mm256_set1_ps(p->r),
                 vg = _mm256_set1_ps(p->g), v1 = _mm256_set1_ps(p->k1), v2 = _mm256_set1_ps(p->k2);
    const float *x = p->x, *dy = p->dy;
    float *dx = p->dx;
    size_t i = 0;
    if (p->stream) {
        i = align32(dx, n);
        norm_dx_c(p, 0, i);
        for (; i + 8 <= n; i += 8) {
            prefetch_pair(x, dy, ahead, i);
            const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl);
            const __m256 t =
                _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(vg, _mm256_loadu_ps(dy + i)), v1),
                              _mm256_mul_ps(d, v2));
            _mm256_stream_ps(dx + i, _mm256_mul_ps(vr, t));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        prefetch_pair(x, dy, ahead, i);
        const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl);
        const __m256 t = _mm256_sub_ps(
            _mm256_sub_ps(_mm256_mul_ps(vg, _mm256_loadu_ps(dy + i)), v1), _mm256_mul_ps(d, v2));
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(vr, t));
    }
    norm_dx_c(p, i, n);
}
#endif

/* ---- AVX-512 versions: the same lanes, sums and orders as the portable ones, one 512-bit
 * vector per 16 elements (half the instructions of AVX2), tails by masked loads and stores. -- */

#ifdef MC_X86
#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* The first `left` of 16 lanes on. */
AVX512 static __mmask16 mask16(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* The 16 floats at x, or with m < 0xFFFF (a tail) those of its lanes and 0. Masked loads only
 * for tails where the data comes from memory: with every load masked, a pass reading from
 * memory took 1.5 times as long on this project's AMD machine (masked loads seem not to train
 * the hardware prefetcher). Where the data is in cache, the fused loops below mask every load
 * for just that reason: so that the prefetcher follows only the stream from memory. */
AVX512 static inline __m512 load_m(const float *x, __mmask16 m)
{
    return m == 0xFFFF ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(m, x);
}

/* acc[0..1] (16 double lanes) += v widened. */
AVX512 static void add_wide512(__m512d *acc, __m512 v)
{
    acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc[1] = _mm512_add_pd(
        acc[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

AVX512 static double reduce_wide512(const __m512d *acc)
{
    double l[LANES];
    _mm512_storeu_pd(l, acc[0]);
    _mm512_storeu_pd(l + 8, acc[1]);
    return add_lanes(l);
}

AVX512 static double sum_avx512(const float *x, size_t n)
{
    __m512d acc[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    for (size_t i = 0; i < n; i += LANES)
        add_wide512(acc, load_m(x + i, mask16(n - i)));
    return reduce_wide512(acc);
}

AVX512 static double sum_sq_dev_avx512(const float *x, size_t n, float hi, float lo, size_t ahead)
{
    const __m512 vh = _mm512_set1_ps(hi), vl = _mm512_set1_ps(lo);
    __m512d acc[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    __m512 f = _mm512_setzero_ps();
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        if (ahead != 0)
            _mm_prefetch((const char *)(x + ahead + i), _MM_HINT_T0);
        const __mmask16 m = mask16(n - i); /* the lanes past the end: d = 0 */
        const __m512 d = _mm512_maskz_sub_ps(m, _mm512_sub_ps(load_m(x + i, m), vh), vl);
        f = _mm512_add_ps(f, _mm512_mul_ps(d, d));
        if (++it == BLOCK || i + LANES >= n) {
            add_wide512(acc, f);
            f = _mm512_setzero_ps();
            it = 0;
        }
    }
    return reduce_wide512(acc);
}

/* The first index from which x + i is 64-byte aligned (at most n), as align32. */
static size_t align64(const float *x, size_t n)
{
    const size_t mis = ((uintptr_t)x & 63) / sizeof(float);
    const size_t k = mis == 0 ? 0 : 16 - mis;
    return ((uintptr_t)x & 3) != 0 ? n : k < n ? k : n;
}

AVX512 static void affine_dev_avx512(const float *x, float *y, size_t n, float hi, float lo,
                                     float a, float b, int stream)
{
    const __m512 vh = _mm512_set1_ps(hi), vl = _mm512_set1_ps(lo), va = _mm512_set1_ps(a),
                 vb = _mm512_set1_ps(b);
    size_t i = 0;
    if (stream) {
        i = align64(y, n);
        affine_dev_c(x, y, i, hi, lo, a, b);
        for (; i + 16 <= n; i += 16) {
            const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vh), vl);
            _mm512_stream_ps(y + i, _mm512_add_ps(_mm512_mul_ps(d, va), vb));
        }
        _mm_sfence();
    }
    for (; i < n; i += 16) {
        const __mmask16 m = mask16(n - i);
        const __m512 d = _mm512_sub_ps(_mm512_sub_ps(load_m(x + i, m), vh), vl);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_mul_ps(d, va), vb));
    }
}

/* The constants of a row of dx, broadcast. */
typedef struct dx512 {
    __m512 hi, lo, r, g, k1, k2;
} dx512;

AVX512 static inline dx512 dx512_of(const mc__dx_row *p)
{
    return (dx512){_mm512_set1_ps(p->hi), _mm512_set1_ps(p->lo), _mm512_set1_ps(p->r),
                   _mm512_set1_ps(p->g),  _mm512_set1_ps(p->k1), _mm512_set1_ps(p->k2)};
}

/* dx of p's 16 elements from i (the first of them in m); `stream`: all 16, dx + i aligned.
 * p's x and dy are read a second time, from cache: masked loads (load_m says why). */
AVX512 static inline void dx16(const mc__dx_row *p, const dx512 *v, size_t i, __mmask16 m,
                               int stream)
{
    const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p->x + i), v->hi), v->lo);
    const __m512 t = _mm512_sub_ps(
        _mm512_sub_ps(_mm512_mul_ps(v->g, _mm512_maskz_loadu_ps(m, p->dy + i)), v->k1),
        _mm512_mul_ps(d, v->k2));
    const __m512 out = _mm512_mul_ps(v->r, t);
    if (stream)
        _mm512_stream_ps(p->dx + i, out);
    else
        _mm512_mask_storeu_ps(p->dx + i, m, out);
}

AVX512 static void norm_dx_avx512(const mc__dx_row *p, size_t n, size_t ahead)
{
    const dx512 v = dx512_of(p);
    size_t i = 0;
    if (p->stream) {
        i = align64(p->dx, n);
        norm_dx_c(p, 0, i);
        for (; i + 16 <= n; i += 16) {
            if (ahead != 0) {
                _mm_prefetch((const char *)(p->x + ahead + i), _MM_HINT_T0);
                _mm_prefetch((const char *)(p->dy + ahead + i), _MM_HINT_T0);
            }
            dx16(p, &v, i, 0xFFFF, 1);
        }
        _mm_sfence();
    }
    for (; i < n; i += 16) {
        if (ahead != 0) {
            _mm_prefetch((const char *)(p->x + ahead + i), _MM_HINT_T0);
            _mm_prefetch((const char *)(p->dy + ahead + i), _MM_HINT_T0);
        }
        dx16(p, &v, i, mask16(n - i), 0);
    }
}

/* sum_dy_dev_avx512 of x and dy, and with p (else NULL) norm_dx_avx512 of p's row in the same
 * loop (n elements each); inlined into both, so that each is compiled for its case. */
AVX512 static inline __attribute__((always_inline)) void
sums_dy_dev512(const float *x, const float *dy, size_t n, float hi, float lo, double *a, double *b,
               const mc__dx_row *p)
{
    const __m512 vh = _mm512_set1_ps(hi), vl = _mm512_set1_ps(lo);
    const dx512 v = p != NULL ? dx512_of(p) : (dx512){vh, vh, vh, vh, vh, vh};
    const int stream = p != NULL && p->stream && ((uintptr_t)p->dx & 63) == 0;
    __m512d aa[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    __m512d bb[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    __m512 fa = _mm512_setzero_ps(), fb = fa;
    int it = 0;
    for (size_t i = 0; i < n; i += LANES) {
        const __mmask16 m = mask16(n - i);
        const __m512 d = _mm512_maskz_sub_ps(m, _mm512_sub_ps(load_m(x + i, m), vh), vl);
        const __m512 g = load_m(dy + i, m);
        fa = _mm512_add_ps(fa, _mm512_mul_ps(g, d));
        fb = _mm512_add_ps(fb, g);
        if (++it == BLOCK || i + LANES >= n) {
            add_wide512(aa, fa);
            add_wide512(bb, fb);
            fa = fb = _mm512_setzero_ps();
            it = 0;
        }
        if (p != NULL)
            dx16(p, &v, i, m, stream && m == 0xFFFF);
    }
    if (stream)
        _mm_sfence();
    *a = reduce_wide512(aa);
    *b = reduce_wide512(bb);
}

AVX512 static void sum_dy_dev_avx512(const float *x, const float *dy, size_t n, float hi, float lo,
                                     double *a, double *b)
{
    sums_dy_dev512(x, dy, n, hi, lo, a, b, NULL);
}

AVX512 static void sum_dy_dev_dx_avx512(const float *x, const float *dy, size_t n, float hi,
                                        float lo, double *a, double *b, const mc__dx_row *p)
{
    sums_dy_dev512(x, dy, n, hi, lo, a, b, p);
}

/* sum_avx512 of xs and o's output in one loop; o->S >= 16, so that a vector of 16 holds the
 * end of at most one row. */
AVX512 static double sum_and_write_avx512(const float *xs, const mc__norm_rows *o)
{
    const size_t m = o->rows * o->S;
    const __m512 vh = _mm512_set1_ps(o->hi), vl = _mm512_set1_ps(o->lo);
    const int stream = o->stream && ((uintptr_t)o->y & 63) == 0;
    __m512d acc[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    size_t k = 0, end = o->S; /* the row of element i, and where it ends */
    __m512 va = _mm512_set1_ps((float)((double)o->scale[0] * o->r)),
           vb = _mm512_set1_ps(o->offset[0]);
    for (size_t i = 0; i < m; i += LANES) {
        const __mmask16 msk = mask16(m - i);
        add_wide512(acc, load_m(xs + i, msk));
        __m512 a = va, b = vb;
        if (i + LANES > end && end < m) { /* lanes from end - i on: row k + 1 */
            const __mmask16 next = (__mmask16)~mask16(end - i);
            k++;
            end += o->S;
            va = _mm512_set1_ps((float)((double)o->scale[k] * o->r));
            vb = _mm512_set1_ps(o->offset[k]);
            a = _mm512_mask_blend_ps(next, a, va);
            b = _mm512_mask_blend_ps(next, b, vb);
        }
        /* o's x, read a second time, from cache: a masked load (load_m says why) */
        const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(msk, o->x + i), vh), vl);
        const __m512 y = _mm512_add_ps(_mm512_mul_ps(d, a), b);
        if (stream && msk == 0xFFFF)
            _mm512_stream_ps(o->y + i, y);
        else
            _mm512_mask_storeu_ps(o->y + i, msk, y);
    }
    if (stream)
        _mm_sfence();
    return reduce_wide512(acc);
}
#endif

#ifdef MC_X86
AVX2 static void inv_sqrt_avx2(const double *v, double *r, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(
            r + i, _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_sqrt_pd(_mm256_loadu_pd(v + i))));
    for (; i < n; i++)
        r[i] = 1.0 / sqrt(v[i]);
}
#endif

static void inv_sqrt_c(const double *v, double *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r[i] = 1.0 / sqrt(v[i]);
}

/* ---- Dispatch ---------------------------------------------------------------------------- */

/* The AVX-512 version where the CPU has it (and mc_set_max_isa allows), else AVX2, else C. */
#ifdef MC_X86
#define DISPATCH(avx512_call, avx2_call, c_call)                                                   \
    return mc__have_avx512() ? avx512_call : mc__have_avx2_fma() ? avx2_call : c_call
#define DISPATCH_VOID(avx512_call, avx2_call, c_call)                                              \
    do {                                                                                           \
        if (mc__have_avx512())                                                                     \
            avx512_call;                                                                           \
        else if (mc__have_avx2_fma())                                                              \
            avx2_call;                                                                             \
        else                                                                                       \
            c_call;                                                                                \
    } while (0)
#else
#define DISPATCH(avx512_call, avx2_call, c_call) return c_call
#define DISPATCH_VOID(avx512_call, avx2_call, c_call) c_call
#endif

void mc__inv_sqrt(const double *v, double *r, size_t n)
{
    DISPATCH_VOID(inv_sqrt_avx2(v, r, n), inv_sqrt_avx2(v, r, n), inv_sqrt_c(v, r, n));
}

double mc__sum(const float *x, size_t n)
{
    DISPATCH(sum_avx512(x, n), sum_avx2(x, n), sum_c(x, n));
}

double mc__sum_sq_dev(const float *x, size_t n, float hi, float lo, size_t ahead)
{
    (void)ahead;
    DISPATCH(sum_sq_dev_avx512(x, n, hi, lo, ahead), sum_sq_dev_avx2(x, n, hi, lo, ahead),
             sum_sq_dev_c(x, n, hi, lo));
}

void mc__sum_dy_dev(const float *x, const float *dy, size_t n, float hi, float lo, double *a,
                    double *b)
{
    DISPATCH_VOID(sum_dy_dev_avx512(x, dy, n, hi, lo, a, b),
                  sum_dy_dev_avx2(x, dy, n, hi, lo, a, b), sum_dy_dev_c(x, dy, n, hi, lo, a, b));
}

void mc__affine_dev(const float *x, float *y, size_t n, float hi, float lo, float a, float b,
                    int stream)
{
    (void)stream;
    DISPATCH_VOID(affine_dev_avx512(x, y, n, hi, lo, a, b, stream),
                  affine_dev_avx2(x, y, n, hi, lo, a, b, stream),
                  affine_dev_c(x, y, n, hi, lo, a, b));
}

void mc__norm_dx(const mc__dx_row *p, size_t n, size_t ahead)
{
    (void)ahead;
    DISPATCH_VOID(norm_dx_avx512(p, n, ahead), norm_dx_avx2(p, n, ahead), norm_dx_c(p, 0, n));
}

void mc__norm_rows_write(const mc__norm_rows *o)
{
    for (size_t k = 0; k < o->rows; k++)
        mc__affine_dev(o->x + k * o->S, o->y + k * o->S, o->S, o->hi, o->lo,
                       (float)((double)o->scale[k] * o->r), o->offset[k], o->stream);
}

double mc__sum_and_write(const float *xs, const mc__norm_rows *o)
{
#ifdef MC_X86
    if (o->S >= LANES && mc__have_avx512())
        return sum_and_write_avx512(xs, o);
#endif
    const double s = mc__sum(xs, o->rows * o->S);
    mc__norm_rows_write(o);
    return s;
}

void mc__sum_dy_dev_and_dx(const float *x, const float *dy, size_t n, float hi, float lo, double *a,
                           double *b, const mc__dx_row *p)
{
#ifdef MC_X86
    if (mc__have_avx512()) {
        sum_dy_dev_dx_avx512(x, dy, n, hi, lo, a, b, p);
        return;
    }
#endif
    mc__sum_dy_dev(x, dy, n, hi, lo, a, b);
    mc__norm_dx(p, n, MC__AHEAD_NONE);
}
