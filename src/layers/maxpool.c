/* SPDX-License-Identifier: MIT */
/* maxPooling2dLayer (MATLAB R2020b semantics). */
#include <stdint.h>
#include <string.h>

#include <minicnn/layers.h>

#include "../parallel.h"
#include "common.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* dy, argmax: (NC, out_plane); dx: (NC, plane), written: zero except the windows' maxima,
 * which receive the sum of the dy of every window they won (windows overlap when the stride
 * is smaller than the pool size). */
static void maxpool_backward_kernel(const float *dy, const int32_t *argmax, float *dx, size_t NC,
                                    size_t plane, size_t out_plane)
{
    memset(dx, 0, NC * plane * sizeof(float));
    for (size_t nc = 0; nc < NC; nc++) {
        float *dxp = dx + nc * plane;
        const float *dyp = dy + nc * out_plane;
        const int32_t *ap = argmax + nc * out_plane;
        for (size_t o = 0; o < out_plane; o++)
            dxp[ap[o]] += dyp[o];
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MC_POOL_AVX2 1

/* 8 outputs of one row of maxpool_2x2_kernel with AVX2 (blends, no branches), the first
 * `r` of them stored (r < 8: loads and stores masked). r0, r1: the window's two input rows from
 * the block's first column; top: the position of r0's first column in the plane. */
__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void
pool_block(const float *r0, const float *r1, float *yr, int32_t *ar, int32_t top, int W, int r)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 p0, p1, q0, q1;
    if (r == 8) {
        p0 = _mm256_loadu_ps(r0);
        p1 = _mm256_loadu_ps(r0 + 8);
        q0 = _mm256_loadu_ps(r1);
        q1 = _mm256_loadu_ps(r1 + 8);
    } else {
        const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * r), idx);
        const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * r - 8), idx);
        p0 = _mm256_maskload_ps(r0, m0);
        p1 = _mm256_maskload_ps(r0 + 8, m1);
        q0 = _mm256_maskload_ps(r1, m0);
        q1 = _mm256_maskload_ps(r1 + 8, m1);
    }
    /* Even and odd columns, in order. */
    const __m256 v[4] = {
        _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(p0, p1, 0x88)), 0xD8)),
        _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(p0, p1, 0xDD)), 0xD8)),
        _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(q0, q1, 0x88)), 0xD8)),
        _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(q0, q1, 0xDD)), 0xD8))};
    const __m256i base = _mm256_add_epi32(_mm256_set1_epi32(top), _mm256_add_epi32(idx, idx));
    const __m256i at[4] = {base, _mm256_add_epi32(base, _mm256_set1_epi32(1)),
                           _mm256_add_epi32(base, _mm256_set1_epi32(W)),
                           _mm256_add_epi32(base, _mm256_set1_epi32(W + 1))};
    __m256 best = v[0];
    __m256 win = _mm256_castsi256_ps(at[0]);
    for (int k = 1; k < 4; k++) {
        const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v[k], best, _CMP_GT_OQ),
                                         _mm256_and_ps(_mm256_cmp_ps(v[k], v[k], _CMP_UNORD_Q),
                                                       _mm256_cmp_ps(best, best, _CMP_ORD_Q)));
        best = _mm256_blendv_ps(best, v[k], take);
        win = _mm256_blendv_ps(win, _mm256_castsi256_ps(at[k]), take);
    }
    if (r == 8) {
        _mm256_storeu_ps(yr, best);
        if (ar != NULL)
            _mm256_storeu_si256((__m256i *)(void *)ar, _mm256_castps_si256(win));
        return;
    }
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(r), idx);
    _mm256_maskstore_ps(yr, m, best);
    if (ar != NULL)
        _mm256_maskstore_epi32((int *)(void *)ar, m, _mm256_castps_si256(win));
}

/* 8 windows of one row of maxpool_2x2_backward_kernel with AVX2, the first r stored: each
 * window's four positions get dy at the winner and 0 elsewhere, interleaved back into the two
 * input rows d0, d1 (from the block's first column); top: d0's first position in the plane. */
__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void
unpool_block(const float *dy, const int32_t *am, float *d0, float *d1, int32_t top, int W, int r,
             const float *py)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(r), idx);
    __m256 g = r == 8 ? _mm256_loadu_ps(dy) : _mm256_maskload_ps(dy, m);
    if (py != NULL) { /* a ReLU before the pooling: its gradient only where its output > 0 */
        const __m256 y = r == 8 ? _mm256_loadu_ps(py) : _mm256_maskload_ps(py, m);
        g = _mm256_and_ps(g, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ));
    }
    const __m256i at = r == 8 ? _mm256_loadu_si256((const __m256i *)(const void *)am)
                              : _mm256_maskload_epi32((const int *)(const void *)am, m);
    const __m256i p = _mm256_add_epi32(_mm256_set1_epi32(top), _mm256_add_epi32(idx, idx));
    const __m256 v00 = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(at, p)));
    const __m256 v01 = _mm256_and_ps(
        g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(at, _mm256_add_epi32(p, _mm256_set1_epi32(1)))));
    const __m256 v10 = _mm256_and_ps(
        g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(at, _mm256_add_epi32(p, _mm256_set1_epi32(W)))));
    const __m256 v11 = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                                            at, _mm256_add_epi32(p, _mm256_set1_epi32(W + 1)))));
    const __m256 lo0 = _mm256_unpacklo_ps(v00, v01), hi0 = _mm256_unpackhi_ps(v00, v01);
    const __m256 lo1 = _mm256_unpacklo_ps(v10, v11), hi1 = _mm256_unpackhi_ps(v10, v11);
    const __m256 a0 = _mm256_permute2f128_ps(lo0, hi0, 0x20),
                 a1 = _mm256_permute2f128_ps(lo0, hi0, 0x31);
    const __m256 b0 = _mm256_permute2f128_ps(lo1, hi1, 0x20),
                 b1 = _mm256_permute2f128_ps(lo1, hi1, 0x31);
    const __m256i n0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * r), idx);
    const __m256i n1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * r - 8), idx);
    if (r == 8) {
        _mm256_storeu_ps(d0, a0);
        _mm256_storeu_ps(d0 + 8, a1);
        _mm256_storeu_ps(d1, b0);
        _mm256_storeu_ps(d1 + 8, b1);
        return;
    }
    _mm256_maskstore_ps(d0, n0, a0);
    _mm256_maskstore_ps(d0 + 8, n1, a1);
    _mm256_maskstore_ps(d1, n0, b0);
    _mm256_maskstore_ps(d1 + 8, n1, b1);
}

/* One row of windows of maxpool_2x2_backward_kernel; returns OW (every window done). */
__attribute__((target("avx2,fma"))) static int unpool_2x2_row_avx2(const float *dy,
                                                                   const int32_t *am, float *d0,
                                                                   float *d1, int32_t top, int W,
                                                                   int OW, const float *py)
{
    int ow = 0;
    for (; ow + 8 <= OW; ow += 8)
        unpool_block(dy + ow, am + ow, d0 + 2 * ow, d1 + 2 * ow, top + 2 * ow, W, 8,
                     py != NULL ? py + ow : NULL);
    if (ow < OW)
        unpool_block(dy + ow, am + ow, d0 + 2 * ow, d1 + 2 * ow, top + 2 * ow, W, OW - ow,
                     py != NULL ? py + ow : NULL);
    return OW;
}

/* One output row of maxpool_2x2_kernel, 8 outputs at a time; returns OW (every output done). */
__attribute__((target("avx2,fma"))) static int maxpool_2x2_row_avx2(const float *r0,
                                                                    const float *r1, float *yr,
                                                                    int32_t *ar, int32_t top, int W,
                                                                    int OW)
{
    int ow = 0;
    for (; ow + 8 <= OW; ow += 8)
        pool_block(r0 + 2 * ow, r1 + 2 * ow, yr + ow, ar != NULL ? ar + ow : NULL, top + 2 * ow, W,
                   8);
    if (ow < OW)
        pool_block(r0 + 2 * ow, r1 + 2 * ow, yr + ow, ar != NULL ? ar + ow : NULL, top + 2 * ow, W,
                   OW - ow);
    return OW;
}

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Lanes 0..k-1 of 16 (k clamped to [0, 16]). */
AVX512 static __mmask16 mask16(int k)
{
    return (__mmask16)(k <= 0 ? 0 : k >= 16 ? 0xffff : (1u << k) - 1);
}

/* The 16 floats at x, or with m < 0xFFFF those of its lanes and 0: a plain load when the mask
 * is full, as masked loads do not seem to train the hardware prefetcher (pooling at mini-batch
 * 128 reads from L3 and memory, and ran 1.7 times as long with every load masked). */
AVX512 static inline __m512 load512(const float *x, __mmask16 m)
{
    return m == 0xFFFF ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(m, x);
}

/* As load512, a store. */
AVX512 static inline void store512(float *x, __mmask16 m, __m512 v)
{
    if (m == 0xFFFF)
        _mm512_storeu_ps(x, v);
    else
        _mm512_mask_storeu_ps(x, m, v);
}

/* As pool_block for 16 outputs, the first r stored, with masks instead of blends: a row of 12
 * outputs (the reference network's) is one block instead of a full and a masked AVX2 block,
 * and AVX-512's masked loads and stores are cheap where AVX2's masked stores are not. */
AVX512 static inline __attribute__((always_inline)) void
pool_block512(const float *r0, const float *r1, float *yr, int32_t *ar, int32_t top, int W, int r)
{
    const __mmask16 m0 = mask16(2 * r), m1 = mask16(2 * r - 16), m = mask16(r);
    const __m512 p0 = load512(r0, m0), p1 = load512(r0 + 16, m1);
    const __m512 q0 = load512(r1, m0), q1 = load512(r1 + 16, m1);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 v[4] = {_mm512_permutex2var_ps(p0, even, p1), _mm512_permutex2var_ps(p0, odd, p1),
                         _mm512_permutex2var_ps(q0, even, q1), _mm512_permutex2var_ps(q0, odd, q1)};
    const __m512i base = _mm512_add_epi32(_mm512_set1_epi32(top), even);
    const __m512i at[4] = {base, _mm512_add_epi32(base, _mm512_set1_epi32(1)),
                           _mm512_add_epi32(base, _mm512_set1_epi32(W)),
                           _mm512_add_epi32(base, _mm512_set1_epi32(W + 1))};
    __m512 best = v[0];
    __m512i win = at[0];
    for (int k = 1; k < 4; k++) {
        const __mmask16 take = _mm512_cmp_ps_mask(v[k], best, _CMP_GT_OQ) |
                               (_mm512_cmp_ps_mask(v[k], v[k], _CMP_UNORD_Q) &
                                _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
        best = _mm512_mask_mov_ps(best, take, v[k]);
        win = _mm512_mask_mov_epi32(win, take, at[k]);
    }
    store512(yr, m, best);
    if (ar != NULL)
        _mm512_mask_storeu_epi32(ar, m, win);
}

/* As unpool_block for 16 windows, the first r stored. */
AVX512 static inline __attribute__((always_inline)) void
unpool_block512(const float *dy, const int32_t *am, float *d0, float *d1, int32_t top, int W, int r,
                const float *py)
{
    const __mmask16 m = mask16(r), n0 = mask16(2 * r), n1 = mask16(2 * r - 16);
    __m512 g = load512(dy, m);
    if (py != NULL) /* a ReLU before the pooling: its gradient only where its output > 0 */
        g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(load512(py, m), _mm512_setzero_ps(), _CMP_GT_OQ),
                                g);
    const __m512i at = _mm512_maskz_loadu_epi32(m, am);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i p = _mm512_add_epi32(_mm512_set1_epi32(top), even);
    const __m512 v00 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(at, p), g);
    const __m512 v01 = _mm512_maskz_mov_ps(
        _mm512_cmpeq_epi32_mask(at, _mm512_add_epi32(p, _mm512_set1_epi32(1))), g);
    const __m512 v10 = _mm512_maskz_mov_ps(
        _mm512_cmpeq_epi32_mask(at, _mm512_add_epi32(p, _mm512_set1_epi32(W))), g);
    const __m512 v11 = _mm512_maskz_mov_ps(
        _mm512_cmpeq_epi32_mask(at, _mm512_add_epi32(p, _mm512_set1_epi32(W + 1))), g);
    /* Window i's two columns to positions 2i and 2i + 1. */
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    const __m512 a0 = _mm512_permutex2var_ps(v00, lo, v01),
                 a1 = _mm512_permutex2var_ps(v00, hi, v01);
    const __m512 b0 = _mm512_permutex2var_ps(v10, lo, v11),
                 b1 = _mm512_permutex2var_ps(v10, hi, v11);
    store512(d0, n0, a0);
    store512(d0 + 16, n1, a1);
    store512(d1, n0, b0);
    store512(d1 + 16, n1, b1);
}

/* One output row of maxpool_2x2_kernel, 16 outputs at a time; returns OW. */
AVX512 static int maxpool_2x2_row_avx512(const float *r0, const float *r1, float *yr, int32_t *ar,
                                         int32_t top, int W, int OW)
{
    for (int ow = 0; ow < OW; ow += 16)
        pool_block512(r0 + 2 * ow, r1 + 2 * ow, yr + ow, ar != NULL ? ar + ow : NULL, top + 2 * ow,
                      W, OW - ow < 16 ? OW - ow : 16);
    return OW;
}

/* One row of windows of maxpool_2x2_backward_kernel, 16 at a time; returns OW. */
AVX512 static int unpool_2x2_row_avx512(const float *dy, const int32_t *am, float *d0, float *d1,
                                        int32_t top, int W, int OW, const float *py)
{
    for (int ow = 0; ow < OW; ow += 16)
        unpool_block512(dy + ow, am + ow, d0 + 2 * ow, d1 + 2 * ow, top + 2 * ow, W,
                        OW - ow < 16 ? OW - ow : 16, py != NULL ? py + ow : NULL);
    return OW;
}

/* Outputs [ow0, ow1) of one output row of 3x3 windows with stride 2 whose windows lie inside
 * the plane (rows h .. h + 2, columns 2 ow - pad_left .. + 2), 16 at a time: the same winners
 * as maxpool_forward_kernel (values compared in row-major order, the first maximum wins, a NaN
 * wins over numbers). xp: the plane; yr, ar: the output row. */
AVX512 static void maxpool_3x3s2_row_avx512(const float *xp, int W, int h, int pad_left, int ow0,
                                            int ow1, float *yr, int32_t *ar)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int ow = ow0; ow < ow1; ow += 16) {
        const int r = ow1 - ow < 16 ? ow1 - ow : 16, left = 2 * ow - pad_left;
        const int cols = 2 * r + 1; /* columns left .. left + 2r of each row */
        const __mmask16 m0 = mask16(cols), m1 = mask16(cols - 16), m2 = mask16(cols - 32),
                        m = mask16(r);
        const __m512i base = _mm512_add_epi32(_mm512_set1_epi32(h * W + left), even);
        __m512 best = _mm512_setzero_ps();
        __m512i win = base;
        for (int i = 0; i < 3; i++) {
            const float *row = xp + (size_t)(h + i) * (size_t)W + left;
            const __m512 p0 = _mm512_maskz_loadu_ps(m0, row),
                         p1 = _mm512_maskz_loadu_ps(m1, row + 16);
            const __m512 p2 = _mm512_maskz_loadu_ps(m2, row + 32);
            const __m512 q0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(p1),
                                                                      _mm512_castps_si512(p0), 2)),
                         q1 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(p2),
                                                                      _mm512_castps_si512(p1), 2));
            const __m512 v[3] = {_mm512_permutex2var_ps(p0, even, p1),
                                 _mm512_permutex2var_ps(p0, odd, p1),
                                 _mm512_permutex2var_ps(q0, even, q1)};
            for (int j = 0; j < 3; j++) {
                const __m512i at = _mm512_add_epi32(base, _mm512_set1_epi32(i * W + j));
                if (i == 0 && j == 0) {
                    best = v[0];
                    continue;
                }
                const __mmask16 take = _mm512_cmp_ps_mask(v[j], best, _CMP_GT_OQ) |
                                       (_mm512_cmp_ps_mask(v[j], v[j], _CMP_UNORD_Q) &
                                        _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
                best = _mm512_mask_mov_ps(best, take, v[j]);
                win = _mm512_mask_mov_epi32(win, take, at);
            }
        }
        _mm512_mask_storeu_ps(yr + ow, m, best);
        if (ar != NULL)
            _mm512_mask_storeu_epi32(ar + ow, m, win);
    }
}
#endif

/* x: (N, C, H, W); y, argmax: (N, C, OH, OW). Window (oh, ow) covers rows oh*SH - pad_top ..
 * + PH - 1 and columns ow*SW - pad_left .. + PW - 1; padded positions are skipped, so they
 * never win (set-up padding is smaller than the window: each window holds a real value).
 * The first maximum in row-major order wins a tie; a NaN wins over numbers (the first NaN),
 * so a NaN in the input shows in the output. argmax (NULL to skip) receives the winner's
 * position h * W + w within its (n, c) plane. */
static void maxpool_forward_kernel(const float *x, float *y, int32_t *argmax, int N, int C, int H,
                                   int W, int PH, int PW, int SH, int SW, int pad_top, int pad_left,
                                   int OH, int OW)
{
    const size_t plane = (size_t)H * (size_t)W, out_plane = (size_t)OH * (size_t)OW;
#ifdef MC_POOL_AVX2
    /* 3x3 windows with stride 2 (ResNet's stem pooling): the windows inside the plane 16 at a
     * time, the others below. Output ow's window starts at column 2 ow - pad_left: inside for
     * ow in [in_lo, in_hi). */
    const int v3 = PH == 3 && PW == 3 && SH == 2 && SW == 2 && mc__have_avx512();
    const int in_lo = (pad_left + 1) / 2, in_hi_raw = (W - 3 + pad_left) / 2 + 1;
    const int in_hi = W - 3 + pad_left < 0 ? 0 : in_hi_raw < OW ? in_hi_raw : OW;
#endif
    for (size_t nc = 0; nc < (size_t)N * (size_t)C; nc++) {
        const float *xp = x + nc * plane;
        float *yp = y + nc * out_plane;
        int32_t *ap = argmax != NULL ? argmax + nc * out_plane : NULL;
        for (int oh = 0; oh < OH; oh++) {
            const int top = oh * SH - pad_top;
            const int h0 = top < 0 ? 0 : top, h1 = top + PH < H ? top + PH : H;
            int skip_lo = 0, skip_hi = 0; /* outputs [skip_lo, skip_hi) done by the vectors */
#ifdef MC_POOL_AVX2
            if (v3 && h0 == top && h1 == top + 3 && in_lo < in_hi) {
                maxpool_3x3s2_row_avx512(xp, W, top, pad_left, in_lo, in_hi,
                                         yp + (size_t)oh * (size_t)OW,
                                         ap != NULL ? ap + (size_t)oh * (size_t)OW : NULL);
                skip_lo = in_lo;
                skip_hi = in_hi;
            }
#endif
            for (int ow = 0; ow < OW; ow++) {
                if (ow == skip_lo && skip_hi > skip_lo) {
                    ow = skip_hi - 1;
                    continue;
                }
                const int left = ow * SW - pad_left;
                const int w0 = left < 0 ? 0 : left, w1 = left + PW < W ? left + PW : W;
                int32_t at = (int32_t)(h0 * W + w0);
                float best = xp[at];
                for (int h = h0; h < h1; h++) {
                    for (int w = w0; w < w1; w++) {
                        const float v = xp[h * W + w];
                        if (v > best || (v != v && best == best)) {
                            best = v;
                            at = (int32_t)(h * W + w);
                        }
                    }
                }
                yp[(size_t)oh * (size_t)OW + (size_t)ow] = best;
                if (ap != NULL)
                    ap[(size_t)oh * (size_t)OW + (size_t)ow] = at;
            }
        }
    }
}

/* x: (NC, H, W); y, argmax: (NC, OH, OW). 2x2 windows with stride 2 and no padding (the
 * common case), without branches: the same winners as maxpool_forward_kernel (the first
 * maximum in row-major order; a NaN wins over numbers). */
static void maxpool_2x2_kernel(const float *x, float *y, int32_t *argmax, size_t NC, int H, int W,
                               int OH, int OW)
{
#ifdef MC_POOL_AVX2
    const int v512 = mc__have_avx512(), v256 = mc__have_avx2_fma();
#endif
    const size_t plane = (size_t)H * (size_t)W, out_plane = (size_t)OH * (size_t)OW;
    for (size_t nc = 0; nc < NC; nc++) {
        const float *xp = x + nc * plane;
        float *yp = y + nc * out_plane;
        int32_t *ap = argmax != NULL ? argmax + nc * out_plane : NULL;
        for (int oh = 0; oh < OH; oh++) {
            const float *r0 = xp + (size_t)(2 * oh) * (size_t)W, *r1 = r0 + W;
            float *yr = yp + (size_t)oh * (size_t)OW;
            const int32_t top = 2 * oh * W;
            int ow = 0;
#ifdef MC_POOL_AVX2
            if (v512)
                ow = maxpool_2x2_row_avx512(
                    r0, r1, yr, ap != NULL ? ap + (size_t)oh * (size_t)OW : NULL, top, W, OW);
            else if (v256)
                ow = maxpool_2x2_row_avx2(
                    r0, r1, yr, ap != NULL ? ap + (size_t)oh * (size_t)OW : NULL, top, W, OW);
#endif
            for (; ow < OW; ow++) {
                const float v[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
                const int32_t at[4] = {top + 2 * ow, top + 2 * ow + 1, top + W + 2 * ow,
                                       top + W + 2 * ow + 1};
                float best = v[0];
                int32_t win = at[0];
                for (int k = 1; k < 4; k++) {
                    const int take = (v[k] > best) | ((v[k] != v[k]) & (best == best));
                    best = take ? v[k] : best;
                    win = take ? at[k] : win;
                }
                yr[ow] = best;
                if (ap != NULL)
                    ap[(size_t)oh * (size_t)OW + (size_t)ow] = win;
            }
        }
    }
}

/* Planes in fixed blocks on minicnn's threads. */
typedef struct pool_job {
    const float *x, *dy;
    const float *mask; /* backward: a ReLU's output (the pooling's input), or NULL */
    float *y, *dx;     /* backward with mask: y is the pooling's output (read only) */
    int32_t *argmax;
    int NC, H, W, PH, PW, SH, SW, pad_top, pad_left, OH, OW, blocks;
} pool_job;

#define PLANES_PER_TASK 64

/* 2x2 windows, stride 2, no padding: the kernels without branches. */
static bool plain_2x2(const pool_job *j)
{
    return j->PH == 2 && j->PW == 2 && j->SH == 2 && j->SW == 2 && j->pad_top == 0 &&
           j->pad_left == 0;
}

static void pool_forward_task(void *arg, int task, int thread)
{
    (void)thread;
    const pool_job *j = arg;
    size_t lo, hi;
    mc__chunk_range((size_t)j->NC, (size_t)j->blocks, (size_t)task, &lo, &hi);
    const size_t plane = (size_t)j->H * (size_t)j->W, out_plane = (size_t)j->OH * (size_t)j->OW;
    int32_t *am = j->argmax != NULL ? j->argmax + lo * out_plane : NULL;
    if (plain_2x2(j))
        maxpool_2x2_kernel(j->x + lo * plane, j->y + lo * out_plane, am, hi - lo, j->H, j->W, j->OH,
                           j->OW);
    else
        maxpool_forward_kernel(j->x + lo * plane, j->y + lo * out_plane, am, (int)(hi - lo), 1,
                               j->H, j->W, j->PH, j->PW, j->SH, j->SW, j->pad_top, j->pad_left,
                               j->OH, j->OW);
}

/* dy, argmax: (NC, OH, OW); dx: (NC, H, W), written. 2x2 windows with stride 2 and no padding
 * do not overlap, so each window writes its four positions once (dy at the winner, 0 at the
 * others) and only the row and column no window covers (odd H or W) are zeroed: one pass over
 * dx instead of a memset and a scatter. With `pooled` (NC, OH, OW), the pooling's output, the
 * backward of a ReLU before the pooling too: its gradient is dy only where its output is > 0,
 * and of a window's four outputs only the winner gets one, whose output is the pooled value;
 * so dy passes where pooled > 0 (not for a NaN), without reading the ReLU's output. */
static void maxpool_2x2_backward_kernel(const float *dy, const int32_t *argmax, float *dx,
                                        size_t NC, int H, int W, int OH, int OW,
                                        const float *pooled)
{
#ifdef MC_POOL_AVX2
    const int v512 = mc__have_avx512(), v256 = mc__have_avx2_fma();
#endif
    const size_t plane = (size_t)H * (size_t)W, out_plane = (size_t)OH * (size_t)OW;
    for (size_t nc = 0; nc < NC; nc++) {
        float *dxp = dx + nc * plane;
        const float *dyp = dy + nc * out_plane;
        const int32_t *ap = argmax + nc * out_plane;
        for (int oh = 0; oh < OH; oh++) {
            float *r0 = dxp + (size_t)(2 * oh) * (size_t)W, *r1 = r0 + W;
            const size_t at_row = nc * out_plane + (size_t)oh * (size_t)OW;
            const float *py = pooled != NULL ? pooled + at_row : NULL;
            const int32_t top = 2 * oh * W;
            int ow = 0;
#ifdef MC_POOL_AVX2
            if (v512)
                ow = unpool_2x2_row_avx512(dyp + (size_t)oh * (size_t)OW,
                                           ap + (size_t)oh * (size_t)OW, r0, r1, top, W, OW, py);
            else if (v256)
                ow = unpool_2x2_row_avx2(dyp + (size_t)oh * (size_t)OW,
                                         ap + (size_t)oh * (size_t)OW, r0, r1, top, W, OW, py);
#endif
            for (; ow < OW; ow++) {
                const float d = dyp[(size_t)oh * (size_t)OW + (size_t)ow];
                const float g = py == NULL || py[ow] > 0.0f ? d : 0.0f;
                const int32_t at = ap[(size_t)oh * (size_t)OW + (size_t)ow], p = top + 2 * ow;
                r0[2 * ow] = at == p ? g : 0.0f;
                r0[2 * ow + 1] = at == p + 1 ? g : 0.0f;
                r1[2 * ow] = at == p + W ? g : 0.0f;
                r1[2 * ow + 1] = at == p + W + 1 ? g : 0.0f;
            }
            if (2 * OW < W) {
                r0[W - 1] = 0.0f;
                r1[W - 1] = 0.0f;
            }
        }
        if (2 * OH < H)
            memset(dxp + (size_t)(H - 1) * (size_t)W, 0, (size_t)W * sizeof(float));
    }
}

static void pool_backward_task(void *arg, int task, int thread)
{
    (void)thread;
    const pool_job *j = arg;
    size_t lo, hi;
    mc__chunk_range((size_t)j->NC, (size_t)j->blocks, (size_t)task, &lo, &hi);
    const size_t plane = (size_t)j->H * (size_t)j->W, out_plane = (size_t)j->OH * (size_t)j->OW;
    if (plain_2x2(j)) {
        maxpool_2x2_backward_kernel(j->dy + lo * out_plane, j->argmax + lo * out_plane,
                                    j->dx + lo * plane, hi - lo, j->H, j->W, j->OH, j->OW,
                                    j->mask != NULL ? j->y + lo * out_plane : NULL);
        return;
    }
    maxpool_backward_kernel(j->dy + lo * out_plane, j->argmax + lo * out_plane, j->dx + lo * plane,
                            hi - lo, plane, out_plane);
    if (j->mask != NULL) /* the ReLU's gradient: only where its output is > 0 */
        for (size_t i = lo * plane; i < hi * plane; i++) {
            const float g = j->dx[i];
            j->dx[i] = j->mask[i] > 0.0f ? g : 0.0f;
        }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct maxpool {
    mc_layer base;
    int pool[2];   /* [PH PW] */
    int stride[2]; /* [SH SW] */
    int pad[4];    /* [top bottom left right] in use: as given, or for 'same' as set up */
    bool same;
    int32_t *argmax; /* (N, C, OH, OW) of the set-up shape: the last training forward's winners */
    size_t argmax_cap;
} maxpool;

static const mc_layer_vtable maxpool_vtable;

mc_maxpool_options mc_maxpool_default(int pool_h, int pool_w)
{
    mc_maxpool_options o;
    memset(&o, 0, sizeof o);
    o.pool_size[0] = pool_h;
    o.pool_size[1] = pool_w;
    o.stride[0] = 1;
    o.stride[1] = 1;
    return o;
}

mc_status mc_maxpool_create(mc_ctx *ctx, const mc_maxpool_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, maxpool_vtable.kind);
    mc_status st = mc__check_pool2d(ctx, label, opts->pool_size, opts->stride, opts->padding,
                                    opts->padding_same);
    if (st != MC_OK)
        return st;
    mc_layer *base = NULL;
    st = mc__layer_new(ctx, sizeof(maxpool), &maxpool_vtable, opts->name, 1, NULL,
                       "creating a max pooling layer", &base);
    if (st != MC_OK)
        return st;
    maxpool *mp = (maxpool *)base;
    memcpy(mp->pool, opts->pool_size, sizeof mp->pool);
    memcpy(mp->stride, opts->stride, sizeof mp->stride);
    mp->same = opts->padding_same;
    if (!mp->same)
        memcpy(mp->pad, opts->padding, sizeof mp->pad);
    *out = &mp->base;
    return MC_OK;
}

static mc_status maxpool_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    maxpool *mp = (maxpool *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    mc_status st = mc__check_image2d(ctx, label, &in[0], "max pooling");
    if (st != MC_OK)
        return st;
    const int N = in[0].dims[0], C = in[0].dims[1];
    int pad[4], OH, OW;
    st = mc__pool2d_geometry(ctx, label, in[0].dims[2], in[0].dims[3], mp->pool, mp->stride,
                             mp->same, mp->pad, pad, &OH, &OW);
    if (st != MC_OK)
        return st;
    const size_t need = (size_t)N * (size_t)C * (size_t)OH * (size_t)OW;
    if (need > mp->argmax_cap) {
        int32_t *argmax = mc__calloc(ctx, need, sizeof(int32_t));
        if (argmax == NULL)
            return mc__nomem(ctx, "sizing the max pooling indices");
        mc_free(ctx, mp->argmax);
        mp->argmax = argmax;
        mp->argmax_cap = need;
    } else {
        /* Indices of an earlier, larger shape could point outside this one's planes. */
        memset(mp->argmax, 0, need * sizeof(int32_t));
    }
    memcpy(mp->pad, pad, sizeof pad);
    *out = mc_shape_make(4, (const int[]){N, C, OH, OW});
    return MC_OK;
}

static void maxpool_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                            mc_mode mode)
{
    (void)n_in;
    maxpool *mp = (maxpool *)self;
    const int *d = in[0].shape.dims, *o = out->shape.dims;
    /* Only a training forward records winners: backward pairs with the last one of those. */
    const int NC = d[0] * d[1];
    pool_job j = {.x = in[0].data,
                  .y = out->data,
                  .argmax = mode == MC_MODE_TRAINING ? mp->argmax : NULL,
                  .NC = NC,
                  .H = d[2],
                  .W = d[3],
                  .PH = mp->pool[0],
                  .PW = mp->pool[1],
                  .SH = mp->stride[0],
                  .SW = mp->stride[1],
                  .pad_top = mp->pad[0],
                  .pad_left = mp->pad[2],
                  .OH = o[2],
                  .OW = o[3],
                  .blocks = (NC + PLANES_PER_TASK - 1) / PLANES_PER_TASK};
    mc__parallel_for(j.blocks, 0, (size_t)NC * (size_t)d[2] * (size_t)d[3] * 3 / 2,
                     pool_forward_task, &j);
}

/* The backward pass, and with `mask` (the input, a ReLU's output) that ReLU's backward too. */
static void pool_backward(maxpool *mp, const mc_tensor *in, const mc_tensor *out,
                          const mc_tensor *dout, mc_tensor *din, const float *mask)
{
    if (din[0].data == NULL)
        return;
    const int *d = in[0].shape.dims, *o = out->shape.dims;
    const int NC = d[0] * d[1];
    pool_job j = {.dy = dout->data,
                  .dx = din[0].data,
                  .mask = mask,
                  .y = out->data,
                  .argmax = mp->argmax,
                  .NC = NC,
                  .H = d[2],
                  .W = d[3],
                  .PH = mp->pool[0],
                  .PW = mp->pool[1],
                  .SH = mp->stride[0],
                  .SW = mp->stride[1],
                  .pad_top = mp->pad[0],
                  .pad_left = mp->pad[2],
                  .OH = o[2],
                  .OW = o[3],
                  .blocks = (NC + PLANES_PER_TASK - 1) / PLANES_PER_TASK};
    mc__parallel_for(j.blocks, 0, (size_t)NC * (size_t)d[2] * (size_t)d[3] * 3 / 2,
                     pool_backward_task, &j);
}

static void maxpool_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                             const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    pool_backward((maxpool *)self, in, out, dout, din, NULL);
}

void mc__maxpool_backward_relu(mc_layer *layer, const mc_tensor *in, const mc_tensor *out,
                               const mc_tensor *dout, mc_tensor *din)
{
    pool_backward((maxpool *)layer, in, out, dout, din, in[0].data);
}

static void maxpool_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const maxpool *mp = (const maxpool *)self;
    const int *p = mp->pad;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc__describe_pool2d_summary(t, "max", mp->pool, mp->stride, p, mp->same);
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does: 4 spaces before the
     * longest, HasUnpoolingOutputs. */
    const int w = 23;
    mc_text_printf(t, "  MaxPooling2DLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc__describe_pool2d_hyper(t, w, mp->pool, mp->stride, p, mp->same);
    mc_text_printf(t, "%*s: 0\n", w, "HasUnpoolingOutputs");
    if (what == MC_DESCRIBE_PROPERTIES)
        mc_text_printf(t, "\n  Show all properties\n");
}

static void maxpool_destroy(mc_layer *self)
{
    maxpool *mp = (maxpool *)self;
    mc_free(self->ctx, mp->argmax);
}

static const mc_layer_vtable maxpool_vtable = {
    .kind = "maxPooling2dLayer",
    .class_name = "MaxPooling2DLayer",
    .type_label = "Max Pooling",
    .default_name = "maxpool",
    .role = MC_ROLE_HIDDEN,
    .setup = maxpool_setup,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .param = mc__no_param,
    .buffer = mc__no_buffer, /* the indices are scratch for backward, not state to save */
    .describe = maxpool_describe,
    .destroy = maxpool_destroy,
};
