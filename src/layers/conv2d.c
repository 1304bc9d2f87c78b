/* SPDX-License-Identifier: MIT */
/* convolution2dLayer (MATLAB R2020b semantics). Four paths, chosen at setup from the shapes:
 * the direct "small" kernels (few input channels, stride 1, no padding: a network's first
 * layer); the wide direct kernels (stride 1, padding within the filter's span: 'same' 1x1,
 * 3x3, 5x5 at any channel count and dilation); one GEMM per observation on x in place (1x1,
 * stride 1, no padding); im2col of a sub-batch of observations side by side and one GEMM
 * (everything else: stride 2, large padding). Observations are split into fixed chunks, each
 * chunk's dW and dBias partial sums added in chunk order: the results do not depend on the
 * thread count. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <minicnn/conv2d.h>

#include "../blas.h"
#include "../parallel.h"
#include "../simd.h"
#include "weighted.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* ceil(a / b) for b > 0 and any sign of a (in long long: a + b - 1 may pass INT_MAX). */
static long long ceil_div(long long a, long long b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* The output positions o in [lo, hi) of [0, O) that read inside the input: with `offset` the
 * kernel tap's displacement k * D - pad, 0 <= o * S + offset < L. hi <= lo when none does. */
static void inside_range(int L, int O, int S, int offset, int *lo, int *hi)
{
    const long long a = offset >= 0 ? 0 : ceil_div(-(long long)offset, S);
    const long long b = ceil_div((long long)L - offset, S);
    *lo = (int)(a < O ? a : O);
    *hi = (int)(b < 0 ? 0 : b < O ? b : O);
}

/* x: (C, H, W); col: (C*KH*KW, OH*OW) with rows ld floats apart (ld >= OH*OW: several
 * observations side by side), row (c*KH + kh)*KW + kw, column oh*OW + ow, holding
 * x[c][oh*SH - pad_top + kh*DH][ow*SW - pad_left + kw*DW], 0 in the padding. */
static void im2col_ld(const float *x, float *col, size_t ld, int C, int H, int W, int KH, int KW,
                      int SH, int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    const size_t P = (size_t)OH * (size_t)OW;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * (size_t)H * (size_t)W;
        for (int kh = 0; kh < KH; kh++) {
            const int off_h = kh * DH - pad_top;
            int oh_lo, oh_hi;
            inside_range(H, OH, SH, off_h, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                const int off_w = kw * DW - pad_left;
                int ow_lo, ow_hi;
                inside_range(W, OW, SW, off_w, &ow_lo, &ow_hi);
                float *row =
                    col + (((size_t)c * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * ld;
                if (oh_lo >= oh_hi || ow_lo >= ow_hi) {
                    memset(row, 0, P * sizeof(float));
                    continue;
                }
                memset(row, 0, (size_t)oh_lo * (size_t)OW * sizeof(float));
                const int n_in = ow_hi - ow_lo;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *r = row + (size_t)oh * (size_t)OW;
                    const float *xr =
                        xc + (size_t)(oh * SH + off_h) * (size_t)W + (size_t)(ow_lo * SW + off_w);
                    for (int ow = 0; ow < ow_lo; ow++)
                        r[ow] = 0.0f;
                    if (SW == 1)
                        memcpy(r + ow_lo, xr, (size_t)n_in * sizeof(float));
                    else
                        for (int j = 0; j < n_in; j++)
                            r[ow_lo + j] = xr[(size_t)j * (size_t)SW];
                    for (int ow = ow_hi; ow < OW; ow++)
                        r[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * (size_t)OW, 0,
                       (size_t)(OH - oh_hi) * (size_t)OW * sizeof(float));
            }
        }
    }
}

/* col: (C*KH*KW, OH*OW), rows ld apart, as im2col_ld writes it; dx: (C, H, W), added to (+=). */
static void col2im_ld(const float *col, size_t ld, float *dx, int C, int H, int W, int KH, int KW,
                      int SH, int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    for (int c = 0; c < C; c++) {
        float *dxc = dx + (size_t)c * (size_t)H * (size_t)W;
        for (int kh = 0; kh < KH; kh++) {
            const int off_h = kh * DH - pad_top;
            int oh_lo, oh_hi;
            inside_range(H, OH, SH, off_h, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                const int off_w = kw * DW - pad_left;
                int ow_lo, ow_hi;
                inside_range(W, OW, SW, off_w, &ow_lo, &ow_hi);
                if (oh_lo >= oh_hi || ow_lo >= ow_hi)
                    continue;
                const float *row =
                    col + (((size_t)c * (size_t)KH + (size_t)kh) * (size_t)KW + (size_t)kw) * ld;
                const int n_in = ow_hi - ow_lo;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *r = row + (size_t)oh * (size_t)OW + ow_lo;
                    float *xr =
                        dxc + (size_t)(oh * SH + off_h) * (size_t)W + (size_t)(ow_lo * SW + off_w);
                    if (SW == 1)
                        for (int j = 0; j < n_in; j++)
                            xr[j] += r[j];
                    else
                        for (int j = 0; j < n_in; j++)
                            xr[(size_t)j * (size_t)SW] += r[j];
                }
            }
        }
    }
}

/* As im2col_ld with rows of length OH*OW. */
void mc_im2col_kernel(const float *x, float *col, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    im2col_ld(x, col, (size_t)OH * (size_t)OW, C, H, W, KH, KW, SH, SW, DH, DW, pad_top, pad_left,
              OH, OW);
}

void mc_col2im_kernel(const float *col, float *dx, int C, int H, int W, int KH, int KW, int SH,
                      int SW, int DH, int DW, int pad_top, int pad_left, int OH, int OW)
{
    col2im_ld(col, (size_t)OH * (size_t)OW, dx, C, H, W, KH, KW, SH, SW, DH, DW, pad_top, pad_left,
              OH, OW);
}

/* One wide convolution (Cin, Hin, Win) -> (Cout, OH, OW) of up to nb observations. */
typedef struct wide_geom {
    int Cin, Hin, Win, Cout, OH, OW;
    int gh, gw, Hs, Wp; /* gaps, rows per observation, row length */
    int nb;             /* observations per sub-batch */
    size_t plane;       /* floats per input channel: (gh + nb * Hs + 1) * Wp */
    size_t PWS;         /* floats per output channel: WIDE_PAD of nb observations' positions */
} wide_geom;

/* The sizes of one convolution, fixed at setup. */
typedef struct conv_geom {
    int C, H, W;           /* input channels and size */
    int F, KH, KW;         /* filters */
    int SH, SW, DH, DW;    /* stride, dilation */
    int pad_top, pad_left; /* (bottom and right only shape OH and OW) */
    int OH, OW;
    bool pointwise;    /* 1x1 filter, stride 1, no padding: col is x itself, no im2col */
    bool small;        /* few input channels, stride 1, no padding or dilation: direct kernels */
    bool wide;         /* stride 1, padding within the filter's span: wide direct kernels */
    bool wide_gemm_dw; /* with wide: dW as one GEMM over the taps' runs (few positions) */
    wide_geom fw, bw;  /* with wide: forward (x -> y) and input gradient (dy -> dx) */
    bool batched;      /* neither direct path: im2col of nb observations side by side, one GEMM */
    int nb;            /* with batched: observations per sub-batch */
} conv_geom;

/* ---- Direct kernels for few input channels (the first layer of a network): a GEMM of
 * F x (C*KH*KW) by (C*KH*KW) x (OH*OW) is too skinny for BLAS to run near its peak. ---- */

/* x: (C, H, W); w: (F, C*KH*KW); bias: (F); y: (F, OH, OW) written; stride 1, no padding. */
static void small_forward_c(const conv_geom *g, const float *x, const float *w, const float *bias,
                            float *y)
{
    const size_t K = (size_t)g->C * (size_t)g->KH * (size_t)g->KW;
    const size_t P = (size_t)g->OH * (size_t)g->OW;
    for (int f = 0; f < g->F; f++)
        for (int oh = 0; oh < g->OH; oh++) {
            float *yr = y + (size_t)f * P + (size_t)oh * (size_t)g->OW;
            for (int ow = 0; ow < g->OW; ow++)
                yr[ow] = bias[f];
            for (int c = 0; c < g->C; c++)
                for (int kh = 0; kh < g->KH; kh++) {
                    const float *xr =
                        x + ((size_t)c * (size_t)g->H + (size_t)(oh + kh)) * (size_t)g->W;
                    const float *wr = w + (size_t)f * K +
                                      ((size_t)c * (size_t)g->KH + (size_t)kh) * (size_t)g->KW;
                    for (int kw = 0; kw < g->KW; kw++)
                        for (int ow = 0; ow < g->OW; ow++)
                            yr[ow] += wr[kw] * xr[ow + kw];
                }
        }
}

/* x: (C, H, W); dy: (F, OH, OW); dwv: (F, C*KH*KW, 8) lane partial sums of dW, accumulated
 * (+=); stride 1, no padding. This version keeps its sums in lane 0. */
static void small_backward_c(const conv_geom *g, const float *x, const float *dy, float *dwv)
{
    const size_t K = (size_t)g->C * (size_t)g->KH * (size_t)g->KW;
    const size_t P = (size_t)g->OH * (size_t)g->OW;
    for (int f = 0; f < g->F; f++)
        for (int c = 0; c < g->C; c++)
            for (int kh = 0; kh < g->KH; kh++)
                for (int kw = 0; kw < g->KW; kw++) {
                    float sum = 0.0f;
                    for (int oh = 0; oh < g->OH; oh++) {
                        const float *xr =
                            x + ((size_t)c * (size_t)g->H + (size_t)(oh + kh)) * (size_t)g->W +
                            (size_t)kw;
                        const float *dr = dy + (size_t)f * P + (size_t)oh * (size_t)g->OW;
                        for (int ow = 0; ow < g->OW; ow++)
                            sum += dr[ow] * xr[ow];
                    }
                    const size_t tap =
                        ((size_t)c * (size_t)g->KH + (size_t)kh) * (size_t)g->KW + (size_t)kw;
                    dwv[((size_t)f * K + tap) * 8] += sum;
                }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MC_CONV_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))

/* Keeps *v in a register: without it GCC folds a load used by two FMAs into both, loading it
 * twice, and the dW kernels (bound by their loads, most split across two cache lines) took
 * twice as long. */
AVX2 static inline __attribute__((always_inline)) void keep_in_register256(__m256 *v)
{
    __asm__("" : "+x"(*v));
}

/* Lanes 0..k-1 on (k clamped to [0, 8]). */
AVX2 static __m256i lanes(int k)
{
    k = k < 0 ? 0 : k > 8 ? 8 : k;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* dst (n) = src (n), inline: the rows copied here are a few vectors long, too short for a
 * memcpy call to pay. */
AVX2 static inline __attribute__((always_inline)) void copy_row(float *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    if (i < n) {
        const __m256i m = lanes(n - i);
        _mm256_maskstore_ps(dst + i, m, _mm256_maskload_ps(src + i, m));
    }
}

/* The padded length of a wide row set: whole blocks of 48 positions (the AVX-512 block; the
 * AVX2 block of 24 divides it), so that blocks are stored whole. */
#define WIDE_PAD(pw) (((size_t)(pw) + 47) / 48 * 48)

/* The wide rows of ws (F, WIDE_PAD(PW)) back to y (F, OH * OW): each output row is the first OW
 * positions of its wide row. */
AVX2 static void narrow_rows(const conv_geom *g, const float *ws, float *y)
{
    const int PW = (g->OH - 1) * g->W + g->OW;
    const size_t PWS = WIDE_PAD(PW), P = (size_t)g->OH * (size_t)g->OW;
    for (int f = 0; f < g->F; f++)
        for (int oh = 0; oh < g->OH; oh++)
            copy_row(y + (size_t)f * P + (size_t)oh * (size_t)g->OW,
                     ws + (size_t)f * PWS + (size_t)oh * (size_t)g->W, g->OW);
}

/* dy (F, OH * OW) laid out wide in ws (F, WIDE_PAD(PW)), with zeros in the dropped positions
 * and the padding, for the backward kernels. */
AVX2 static void widen_dy(const conv_geom *g, const float *dy, float *ws)
{
    const int W = g->W, OW = g->OW, PW = (g->OH - 1) * W + OW;
    const size_t PWS = WIDE_PAD(PW), P = (size_t)g->OH * (size_t)OW;
    for (int f = 0; f < g->F; f++) {
        float *d = ws + (size_t)f * PWS;
        for (int oh = 0; oh < g->OH; oh++) {
            float *row = d + (size_t)oh * (size_t)W;
            copy_row(row, dy + (size_t)f * P + (size_t)oh * (size_t)OW, OW);
            if (oh + 1 < g->OH)
                for (int k = OW; k < W; k++)
                    row[k] = 0.0f;
        }
        memset(d + PW, 0, (PWS - (size_t)PW) * sizeof(float));
    }
}

/* The direct kernels compute on "wide" rows: output position p = oh * W + ow over the input's
 * row length W, so that tap t of every position reads x[p + off[t]] with
 * off[t] = (c * H + kh) * W + kw, one contiguous run for all rows; the W - OW positions at the
 * end of each row are computed and dropped. p runs over [0, PW), PW = (OH - 1) * W + OW, the
 * last position that reads inside x. */

/* 4 filters x 24 wide positions from p: acc = bias + sum_t w[t] * x[p + off[t]]; stored to
 * ws rows (padded, so whole vectors fit); masked loads when fewer than 24 positions are left. */
AVX2 static inline __attribute__((always_inline)) void
flat_fwd_block(const float *x, const int *off, int K, const float *const *wq, const float *bq,
               float *const *wsq, int nf, int p, int left, bool full)
{
    const __m256i m0 = lanes(left), m1 = lanes(left - 8), m2 = lanes(left - 16);
    __m256 a00 = _mm256_set1_ps(bq[0]), a01 = a00, a02 = a00;
    __m256 a10 = _mm256_set1_ps(bq[1]), a11 = a10, a12 = a10;
    __m256 a20 = _mm256_set1_ps(bq[2]), a21 = a20, a22 = a20;
    __m256 a30 = _mm256_set1_ps(bq[3]), a31 = a30, a32 = a30;
    const float *xp = x + p;
    for (int t = 0; t < K; t++) {
        const float *xt = xp + off[t];
        const __m256 x0 = full ? _mm256_loadu_ps(xt) : _mm256_maskload_ps(xt, m0);
        const __m256 x1 = full ? _mm256_loadu_ps(xt + 8) : _mm256_maskload_ps(xt + 8, m1);
        const __m256 x2 = full ? _mm256_loadu_ps(xt + 16) : _mm256_maskload_ps(xt + 16, m2);
        __m256 w = _mm256_broadcast_ss(wq[0] + t);
        a00 = _mm256_fmadd_ps(w, x0, a00);
        a01 = _mm256_fmadd_ps(w, x1, a01);
        a02 = _mm256_fmadd_ps(w, x2, a02);
        w = _mm256_broadcast_ss(wq[1] + t);
        a10 = _mm256_fmadd_ps(w, x0, a10);
        a11 = _mm256_fmadd_ps(w, x1, a11);
        a12 = _mm256_fmadd_ps(w, x2, a12);
        w = _mm256_broadcast_ss(wq[2] + t);
        a20 = _mm256_fmadd_ps(w, x0, a20);
        a21 = _mm256_fmadd_ps(w, x1, a21);
        a22 = _mm256_fmadd_ps(w, x2, a22);
        w = _mm256_broadcast_ss(wq[3] + t);
        a30 = _mm256_fmadd_ps(w, x0, a30);
        a31 = _mm256_fmadd_ps(w, x1, a31);
        a32 = _mm256_fmadd_ps(w, x2, a32);
    }
    _mm256_storeu_ps(wsq[0] + p, a00);
    _mm256_storeu_ps(wsq[0] + p + 8, a01);
    _mm256_storeu_ps(wsq[0] + p + 16, a02);
    if (nf > 1) {
        _mm256_storeu_ps(wsq[1] + p, a10);
        _mm256_storeu_ps(wsq[1] + p + 8, a11);
        _mm256_storeu_ps(wsq[1] + p + 16, a12);
    }
    if (nf > 2) {
        _mm256_storeu_ps(wsq[2] + p, a20);
        _mm256_storeu_ps(wsq[2] + p + 8, a21);
        _mm256_storeu_ps(wsq[2] + p + 16, a22);
    }
    if (nf > 3) {
        _mm256_storeu_ps(wsq[3] + p, a30);
        _mm256_storeu_ps(wsq[3] + p + 8, a31);
        _mm256_storeu_ps(wsq[3] + p + 16, a32);
    }
}

/* As small_forward_c, with FMA on wide rows. off: (K); ws: (F, PWS) workspace,
 * PWS = WIDE_PAD(PW). */
AVX2 static void small_forward_avx2(const conv_geom *g, const int *off, const float *x,
                                    const float *w, const float *bias, float *y, float *ws)
{
    const int K = g->C * g->KH * g->KW, PW = (g->OH - 1) * g->W + g->OW;
    const size_t PWS = WIDE_PAD(PW);
    for (int f0 = 0; f0 < g->F; f0 += 4) {
        const float *wq[4];
        float bq[4];
        float *wsq[4];
        const int nf = g->F - f0 < 4 ? g->F - f0 : 4;
        for (int q = 0; q < 4; q++) {
            const int f = q < nf ? f0 + q : f0; /* past the last filter: computed, not stored */
            wq[q] = w + (size_t)f * (size_t)K;
            bq[q] = bias[f];
            wsq[q] = ws + (size_t)f * PWS;
        }
        int p = 0;
        for (; p + 24 <= PW; p += 24)
            flat_fwd_block(x, off, K, wq, bq, wsq, nf, p, 24, true);
        if (p < PW)
            flat_fwd_block(x, off, K, wq, bq, wsq, nf, p, PW - p, false);
    }
    narrow_rows(g, ws, y);
}

/* As small_backward_c, with FMA on wide rows, keeping 8 lane partial sums per weight: dy is
 * first laid out wide in ws (F, PWS) with zeros in the dropped positions, then 2 filters x 5
 * taps are summed at a time over all positions. */
AVX2 static void small_backward_avx2(const conv_geom *g, const int *off, const float *x,
                                     const float *dy, float *dwv, float *ws)
{
    const int K = g->C * g->KH * g->KW, W = g->W, OW = g->OW, PW = (g->OH - 1) * W + OW;
    const size_t PWS = WIDE_PAD(PW);
    widen_dy(g, dy, ws);
    const int full_end = PW / 8 * 8;
    const __m256i mt = lanes(PW - full_end);
    for (int f0 = 0; f0 < g->F; f0 += 2) {
        const int nf = g->F - f0 < 2 ? g->F - f0 : 2;
        const float *d0 = ws + (size_t)f0 * PWS, *d1 = ws + (size_t)(f0 + nf - 1) * PWS;
        for (int t0 = 0; t0 < K; t0 += 5) {
            const int nt = K - t0 < 5 ? K - t0 : 5;
            const float *x0 = x + off[t0], *x1 = x + off[t0 + (nt > 1)],
                        *x2 = x + off[t0 + (nt > 2 ? 2 : 0)], *x3 = x + off[t0 + (nt > 3 ? 3 : 0)],
                        *x4 = x + off[t0 + (nt > 4 ? 4 : 0)];
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00;
            int p = 0;
            for (; p < full_end; p += 8) {
                const __m256 g0 = _mm256_loadu_ps(d0 + p), g1 = _mm256_loadu_ps(d1 + p);
                __m256 v = _mm256_loadu_ps(x0 + p);
                keep_in_register256(&v);
                a00 = _mm256_fmadd_ps(g0, v, a00);
                a10 = _mm256_fmadd_ps(g1, v, a10);
                v = _mm256_loadu_ps(x1 + p);
                keep_in_register256(&v);
                a01 = _mm256_fmadd_ps(g0, v, a01);
                a11 = _mm256_fmadd_ps(g1, v, a11);
                v = _mm256_loadu_ps(x2 + p);
                keep_in_register256(&v);
                a02 = _mm256_fmadd_ps(g0, v, a02);
                a12 = _mm256_fmadd_ps(g1, v, a12);
                v = _mm256_loadu_ps(x3 + p);
                keep_in_register256(&v);
                a03 = _mm256_fmadd_ps(g0, v, a03);
                a13 = _mm256_fmadd_ps(g1, v, a13);
                v = _mm256_loadu_ps(x4 + p);
                keep_in_register256(&v);
                a04 = _mm256_fmadd_ps(g0, v, a04);
                a14 = _mm256_fmadd_ps(g1, v, a14);
            }
            if (p < PW) { /* dy is zero-padded in ws; x is read masked */
                const __m256 g0 = _mm256_loadu_ps(d0 + p), g1 = _mm256_loadu_ps(d1 + p);
                __m256 v = _mm256_maskload_ps(x0 + p, mt);
                a00 = _mm256_fmadd_ps(g0, v, a00);
                a10 = _mm256_fmadd_ps(g1, v, a10);
                v = _mm256_maskload_ps(x1 + p, mt);
                a01 = _mm256_fmadd_ps(g0, v, a01);
                a11 = _mm256_fmadd_ps(g1, v, a11);
                v = _mm256_maskload_ps(x2 + p, mt);
                a02 = _mm256_fmadd_ps(g0, v, a02);
                a12 = _mm256_fmadd_ps(g1, v, a12);
                v = _mm256_maskload_ps(x3 + p, mt);
                a03 = _mm256_fmadd_ps(g0, v, a03);
                a13 = _mm256_fmadd_ps(g1, v, a13);
                v = _mm256_maskload_ps(x4 + p, mt);
                a04 = _mm256_fmadd_ps(g0, v, a04);
                a14 = _mm256_fmadd_ps(g1, v, a14);
            }
            const __m256 acc[2][5] = {{a00, a01, a02, a03, a04}, {a10, a11, a12, a13, a14}};
            for (int q = 0; q < nf; q++)
                for (int i = 0; i < nt; i++) {
                    float *dw = dwv + ((size_t)(f0 + q) * (size_t)K + (size_t)(t0 + i)) * 8;
                    _mm256_storeu_ps(dw, _mm256_add_ps(_mm256_loadu_ps(dw), acc[q][i]));
                }
        }
    }
}

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Lanes 0..k-1 of 16 (k clamped to [0, 16]). */
AVX512 static __mmask16 mask16(int k)
{
    return (__mmask16)(k <= 0 ? 0 : k >= 16 ? 0xffff : (1u << k) - 1);
}

/* As keep_in_register256. */
AVX512 static inline __attribute__((always_inline)) void keep_in_register512(__m512 *v)
{
    __asm__("" : "+v"(*v));
}

/* As flat_fwd_block with 16-float vectors: 4 filters x 48 wide positions from p. */
AVX512 static inline __attribute__((always_inline)) void
flat_fwd_block512(const float *x, const int *off, int K, const float *const *wq, const float *bq,
                  float *const *wsq, int nf, int p, int left, bool full)
{
    const __mmask16 m0 = mask16(left), m1 = mask16(left - 16), m2 = mask16(left - 32);
    __m512 a[4][3];
    for (int q = 0; q < 4; q++)
        a[q][0] = a[q][1] = a[q][2] = _mm512_set1_ps(bq[q]);
    const float *xp = x + p;
    for (int t = 0; t < K; t++) {
        const float *xt = xp + off[t];
        const __m512 x0 = full ? _mm512_loadu_ps(xt) : _mm512_maskz_loadu_ps(m0, xt);
        const __m512 x1 = full ? _mm512_loadu_ps(xt + 16) : _mm512_maskz_loadu_ps(m1, xt + 16);
        const __m512 x2 = full ? _mm512_loadu_ps(xt + 32) : _mm512_maskz_loadu_ps(m2, xt + 32);
        for (int q = 0; q < 4; q++) {
            const __m512 w = _mm512_set1_ps(wq[q][t]);
            a[q][0] = _mm512_fmadd_ps(w, x0, a[q][0]);
            a[q][1] = _mm512_fmadd_ps(w, x1, a[q][1]);
            a[q][2] = _mm512_fmadd_ps(w, x2, a[q][2]);
        }
    }
    for (int q = 0; q < 4; q++) {
        if (q >= nf)
            break;
        _mm512_storeu_ps(wsq[q] + p, a[q][0]);
        _mm512_storeu_ps(wsq[q] + p + 16, a[q][1]);
        _mm512_storeu_ps(wsq[q] + p + 32, a[q][2]);
    }
}

/* As small_forward_avx2 with 16-float vectors. */
AVX512 static void small_forward_avx512(const conv_geom *g, const int *off, const float *x,
                                        const float *w, const float *bias, float *y, float *ws)
{
    const int K = g->C * g->KH * g->KW, PW = (g->OH - 1) * g->W + g->OW;
    const size_t PWS = WIDE_PAD(PW);
    for (int f0 = 0; f0 < g->F; f0 += 4) {
        const float *wq[4];
        float bq[4];
        float *wsq[4];
        const int nf = g->F - f0 < 4 ? g->F - f0 : 4;
        for (int q = 0; q < 4; q++) {
            const int f = q < nf ? f0 + q : f0;
            wq[q] = w + (size_t)f * (size_t)K;
            bq[q] = bias[f];
            wsq[q] = ws + (size_t)f * PWS;
        }
        int p = 0;
        for (; p + 48 <= PW; p += 48)
            flat_fwd_block512(x, off, K, wq, bq, wsq, nf, p, 48, true);
        if (p < PW)
            flat_fwd_block512(x, off, K, wq, bq, wsq, nf, p, PW - p, false);
    }
    narrow_rows(g, ws, y);
}

/* The weight-gradient sums of 4 filters x nt <= 5 taps (the backward of the wide kernels):
 * a[q][i] = sum over positions p < PW of d[q][p] * x[off[i] + p], in 16 lanes, the tail read
 * masked (d is zero past PW). Shared by small_backward_avx512 and flat_dw_avx512. */
AVX512 static inline void dw_taps_avx512(const float *x, const int *off, int nt,
                                         const float *const *d, int PW, __m512 a[4][5])
{
    const int full_end = PW / 16 * 16;
    const __mmask16 mt = mask16(PW - full_end);
    const float *xs[5];
    for (int i = 0; i < 5; i++)
        xs[i] = x + off[i < nt ? i : 0];
    for (int q = 0; q < 4; q++)
        for (int i = 0; i < 5; i++)
            a[q][i] = _mm512_setzero_ps();
    int p = 0;
    for (; p < full_end; p += 16) {
        __m512 gq[4];
        for (int q = 0; q < 4; q++)
            gq[q] = _mm512_loadu_ps(d[q] + p);
        for (int i = 0; i < 5; i++) {
            __m512 v = _mm512_loadu_ps(xs[i] + p);
            keep_in_register512(&v);
            for (int q = 0; q < 4; q++)
                a[q][i] = _mm512_fmadd_ps(gq[q], v, a[q][i]);
        }
    }
    if (p < PW)
        for (int i = 0; i < 5; i++) {
            const __m512 v = _mm512_maskz_loadu_ps(mt, xs[i] + p);
            for (int q = 0; q < 4; q++)
                a[q][i] = _mm512_fmadd_ps(_mm512_loadu_ps(d[q] + p), v, a[q][i]);
        }
}

/* As small_backward_avx2 with 16-float vectors and 4 filters per pass (each input vector
 * loaded once for 20 FMAs; with 32 vector registers the accumulators stay in registers); each
 * weight's 16 lanes are folded to the 8 of dwv (lane i + 8 onto lane i) before they are added. */
AVX512 static void small_backward_avx512(const conv_geom *g, const int *off, const float *x,
                                         const float *dy, float *dwv, float *ws)
{
    const int K = g->C * g->KH * g->KW, W = g->W, OW = g->OW, PW = (g->OH - 1) * W + OW;
    const size_t PWS = WIDE_PAD(PW);
    widen_dy(g, dy, ws);
    for (int f0 = 0; f0 < g->F; f0 += 4) {
        const int nf = g->F - f0 < 4 ? g->F - f0 : 4;
        const float *d[4];
        for (int q = 0; q < 4; q++)
            d[q] = ws + (size_t)(f0 + (q < nf ? q : nf - 1)) * PWS;
        for (int t0 = 0; t0 < K; t0 += 5) {
            const int nt = K - t0 < 5 ? K - t0 : 5;
            __m512 a[4][5];
            dw_taps_avx512(x, off + t0, nt, d, PW, a);
            for (int q = 0; q < nf; q++)
                for (int i = 0; i < nt; i++) {
                    const __m256 lo = _mm512_castps512_ps256(a[q][i]);
                    const __m256 hi =
                        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[q][i]), 1));
                    float *dw = dwv + ((size_t)(f0 + q) * (size_t)K + (size_t)(t0 + i)) * 8;
                    _mm256_storeu_ps(dw, _mm256_add_ps(_mm256_loadu_ps(dw), _mm256_add_ps(lo, hi)));
                }
        }
    }
}
#endif

static void small_forward(const conv_geom *g, const int *off, const float *x, const float *w,
                          const float *bias, float *y, float *ws)
{
#ifdef MC_CONV_AVX2
    if (mc__have_avx512()) {
        small_forward_avx512(g, off, x, w, bias, y, ws);
        return;
    }
    if (mc__have_avx2_fma()) {
        small_forward_avx2(g, off, x, w, bias, y, ws);
        return;
    }
#else
    (void)off;
    (void)ws;
#endif
    small_forward_c(g, x, w, bias, y);
}

static void small_backward(const conv_geom *g, const int *off, const float *x, const float *dy,
                           float *dwv, float *ws)
{
#ifdef MC_CONV_AVX2
    if (mc__have_avx512()) {
        small_backward_avx512(g, off, x, dy, dwv, ws);
        return;
    }
    if (mc__have_avx2_fma()) {
        small_backward_avx2(g, off, x, dy, dwv, ws);
        return;
    }
#else
    (void)off;
    (void)ws;
#endif
    small_backward_c(g, x, dy, dwv);
}

#ifndef WIDE_PAD
#define WIDE_PAD(pw) (((size_t)(pw) + 47) / 48 * 48)
#endif

/* ---- Direct kernels for any channel count at stride 1: a sub-batch of observations laid out
 * as one zero-padded "wide" image per channel. Observation n's rows follow the previous one's
 * after a gap of gh = max(top, bottom) zero rows, each row after gw = max(left, right) zero
 * columns, so that tap (c, kh, kw) of output (n, oh, ow) reads plane c at the wide position
 * p = (n * Hs + oh) * Wp + ow plus the tap's fixed offset, Hs = H + gh, Wp = W + gw: every tap
 * is one contiguous run over all rows and observations, and the kernels above (4 filters x 48
 * positions in registers) run on it whatever the padding and dilation. The positions in the
 * gaps are computed and dropped. The input gradient is the same kind of convolution of dy
 * with the filters flipped and transposed (padding span - 1 - pad). ---- */

/* The wide positions of n observations: up to the last output of the last one (in int once
 * setup has checked the sizes). */
static size_t wide_positions(const wide_geom *a, int n)
{
    return ((size_t)(n - 1) * (size_t)a->Hs + (size_t)a->OH - 1) * (size_t)a->Wp + (size_t)a->OW;
}

#ifdef MC_CONV_AVX2
AVX2 static void copy_rows_avx2(float *dst, size_t ds, const float *src, size_t ss, int rows, int n)
{
    for (int r = 0; r < rows; r++)
        copy_row(dst + (size_t)r * ds, src + (size_t)r * ss, n);
}

/* As copy_rows_avx2 with 16-float vectors and masked tails (AVX2's masked stores are slow on
 * some CPUs). */
AVX512 static void copy_rows_avx512(float *dst, size_t ds, const float *src, size_t ss, int rows,
                                    int n)
{
    const __mmask16 m = mask16(n % 16);
    const int full = n / 16 * 16;
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * ds;
        const float *sr = src + (size_t)r * ss;
        for (int i = 0; i < full; i += 16)
            _mm512_storeu_ps(d + i, _mm512_loadu_ps(sr + i));
        if (full < n)
            _mm512_mask_storeu_ps(d + full, m, _mm512_maskz_loadu_ps(m, sr + full));
    }
}
#endif

/* `rows` rows of n floats from src (row stride ss) to dst (row stride ds): inline vector
 * copies, as the rows are too short for a memcpy call each to pay. */
static void copy_rows(float *dst, size_t ds, const float *src, size_t ss, int rows, int n)
{
#ifdef MC_CONV_AVX2
    if (mc__have_avx512()) {
        copy_rows_avx512(dst, ds, src, ss, rows, n);
        return;
    }
    if (mc__have_avx2_fma()) {
        copy_rows_avx2(dst, ds, src, ss, rows, n);
        return;
    }
#endif
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * ds, src + (size_t)r * ss, (size_t)n * sizeof(float));
}

/* x: (n, Cin, Hin, Win) into xp: (Cin, plane), zeros in the gaps. */
static void wide_pad(const wide_geom *a, const float *x, int n, float *xp)
{
    const size_t HW = (size_t)a->Hin * (size_t)a->Win;
    memset(xp, 0, (size_t)a->Cin * a->plane * sizeof(float));
    for (int i = 0; i < n; i++)
        for (int c = 0; c < a->Cin; c++) {
            const float *src = x + ((size_t)i * (size_t)a->Cin + (size_t)c) * HW;
            float *dst = xp + (size_t)c * a->plane +
                         ((size_t)a->gh + (size_t)i * (size_t)a->Hs) * (size_t)a->Wp +
                         (size_t)a->gw;
            copy_rows(dst, (size_t)a->Wp, src, (size_t)a->Win, a->Hin, a->Win);
        }
}

/* ws: (Cout, PWS) wide outputs to y: (n, Cout, OH, OW). */
static void wide_narrow(const wide_geom *a, const float *ws, int n, float *y)
{
    const size_t P = (size_t)a->OH * (size_t)a->OW;
    for (int i = 0; i < n; i++)
        for (int f = 0; f < a->Cout; f++) {
            const float *src = ws + (size_t)f * a->PWS + (size_t)i * (size_t)a->Hs * (size_t)a->Wp;
            float *dst = y + ((size_t)i * (size_t)a->Cout + (size_t)f) * P;
            copy_rows(dst, (size_t)a->OW, src, (size_t)a->Wp, a->OH, a->OW);
        }
}

/* dy: (n, Cout, OH, OW) laid out as wide outputs in ws: (Cout, PWS), zeros elsewhere. */
static void wide_widen(const wide_geom *a, const float *dy, int n, float *ws)
{
    const size_t P = (size_t)a->OH * (size_t)a->OW;
    memset(ws, 0, (size_t)a->Cout * a->PWS * sizeof(float));
    for (int i = 0; i < n; i++)
        for (int f = 0; f < a->Cout; f++) {
            const float *src = dy + ((size_t)i * (size_t)a->Cout + (size_t)f) * P;
            float *dst = ws + (size_t)f * a->PWS + (size_t)i * (size_t)a->Hs * (size_t)a->Wp;
            copy_rows(dst, (size_t)a->Wp, src, (size_t)a->OW, a->OH, a->OW);
        }
}

/* The offsets of a wide convolution's taps (c, kh, kw) in the padded input. */
static void wide_offsets(const wide_geom *a, int KH, int KW, int DH, int DW, int pt, int pl,
                         int *off)
{
    for (int c = 0, t = 0; c < a->Cin; c++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                off[t++] =
                    (int)((size_t)c * a->plane + (size_t)(a->gh - pt + kh * DH) * (size_t)a->Wp +
                          (size_t)(a->gw - pl + kw * DW));
}

/* x: (K taps at off) wide input; w: (F, K); bias: (F) or NULL for 0; ws: (F, PWS) written for
 * positions [0, PW) (and the rest of the last block). */
static void flat_forward_c(const float *x, const int *off, int K, const float *w, const float *bias,
                           int F, int PW, size_t PWS, float *ws)
{
    for (int f = 0; f < F; f++) {
        float *o = ws + (size_t)f * PWS;
        const float b = bias != NULL ? bias[f] : 0.0f;
        for (int p = 0; p < PW; p++)
            o[p] = b;
        for (int t = 0; t < K; t++) {
            const float wv = w[(size_t)f * (size_t)K + (size_t)t], *xt = x + off[t];
            for (int p = 0; p < PW; p++)
                o[p] += wv * xt[p];
        }
    }
}

/* x as flat_forward_c; dyw: (F, PWS) zero past PW; dw: (F, K) += sum_p dyw[f][p] x[off[t] + p]. */
static void flat_dw_c(const float *x, const int *off, int K, const float *dyw, int F, int PW,
                      size_t PWS, float *dw)
{
    for (int f = 0; f < F; f++)
        for (int t = 0; t < K; t++) {
            const float *d = dyw + (size_t)f * PWS, *xt = x + off[t];
            float sum = 0.0f;
            for (int p = 0; p < PW; p++)
                sum += d[p] * xt[p];
            dw[(size_t)f * (size_t)K + (size_t)t] += sum;
        }
}

#ifdef MC_CONV_AVX2
/* As flat_forward_c: blocks of 24 positions (the outer loop, so that the taps a block reads stay
 * in cache for every filter), 4 filters at a time. */
AVX2 static void flat_forward_avx2(const float *x, const int *off, int K, const float *w,
                                   const float *bias, int F, int PW, size_t PWS, float *ws)
{
    for (int p = 0; p < PW; p += 24)
        for (int f0 = 0; f0 < F; f0 += 4) {
            const float *wq[4];
            float bq[4];
            float *wsq[4];
            const int nf = F - f0 < 4 ? F - f0 : 4;
            for (int q = 0; q < 4; q++) {
                const int f = q < nf ? f0 + q : f0;
                wq[q] = w + (size_t)f * (size_t)K;
                bq[q] = bias != NULL ? bias[f] : 0.0f;
                wsq[q] = ws + (size_t)f * PWS;
            }
            if (PW - p >= 24)
                flat_fwd_block(x, off, K, wq, bq, wsq, nf, p, 24, true);
            else
                flat_fwd_block(x, off, K, wq, bq, wsq, nf, p, PW - p, false);
        }
}

/* As flat_forward_avx2 with 48 positions of 16-float vectors. */
AVX512 static void flat_forward_avx512(const float *x, const int *off, int K, const float *w,
                                       const float *bias, int F, int PW, size_t PWS, float *ws)
{
    for (int p = 0; p < PW; p += 48)
        for (int f0 = 0; f0 < F; f0 += 4) {
            const float *wq[4];
            float bq[4];
            float *wsq[4];
            const int nf = F - f0 < 4 ? F - f0 : 4;
            for (int q = 0; q < 4; q++) {
                const int f = q < nf ? f0 + q : f0;
                wq[q] = w + (size_t)f * (size_t)K;
                bq[q] = bias != NULL ? bias[f] : 0.0f;
                wsq[q] = ws + (size_t)f * PWS;
            }
            if (PW - p >= 48)
                flat_fwd_block512(x, off, K, wq, bq, wsq, nf, p, 48, true);
            else
                flat_fwd_block512(x, off, K, wq, bq, wsq, nf, p, PW - p, false);
        }
}

/* The 8 lanes of v added in one fixed order. */
AVX2 static inline __attribute__((always_inline)) float fold8(__m256 v)
{
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

/* As flat_dw_c: 2 filters x 5 taps at a time over 8-float vectors, each weight's lanes folded
 * in one fixed order. */
AVX2 static void flat_dw_avx2(const float *x, const int *off, int K, const float *dyw, int F,
                              int PW, size_t PWS, float *dw)
{
    const int full_end = PW / 8 * 8;
    const __m256i mt = lanes(PW - full_end);
    for (int f0 = 0; f0 < F; f0 += 2) {
        const int nf = F - f0 < 2 ? F - f0 : 2;
        const float *d0 = dyw + (size_t)f0 * PWS, *d1 = dyw + (size_t)(f0 + nf - 1) * PWS;
        for (int t0 = 0; t0 < K; t0 += 5) {
            const int nt = K - t0 < 5 ? K - t0 : 5;
            const float *xs[5];
            for (int i = 0; i < 5; i++)
                xs[i] = x + off[t0 + (i < nt ? i : 0)];
            __m256 a[2][5];
            for (int q = 0; q < 2; q++)
                for (int i = 0; i < 5; i++)
                    a[q][i] = _mm256_setzero_ps();
            int p = 0;
            for (; p < full_end; p += 8) {
                const __m256 g0 = _mm256_loadu_ps(d0 + p), g1 = _mm256_loadu_ps(d1 + p);
                for (int i = 0; i < 5; i++) {
                    __m256 v = _mm256_loadu_ps(xs[i] + p);
                    keep_in_register256(&v);
                    a[0][i] = _mm256_fmadd_ps(g0, v, a[0][i]);
                    a[1][i] = _mm256_fmadd_ps(g1, v, a[1][i]);
                }
            }
            if (p < PW) { /* dyw is zero past PW; x is read masked */
                const __m256 g0 = _mm256_loadu_ps(d0 + p), g1 = _mm256_loadu_ps(d1 + p);
                for (int i = 0; i < 5; i++) {
                    const __m256 v = _mm256_maskload_ps(xs[i] + p, mt);
                    a[0][i] = _mm256_fmadd_ps(g0, v, a[0][i]);
                    a[1][i] = _mm256_fmadd_ps(g1, v, a[1][i]);
                }
            }
            for (int q = 0; q < nf; q++)
                for (int i = 0; i < nt; i++)
                    dw[(size_t)(f0 + q) * (size_t)K + (size_t)(t0 + i)] += fold8(a[q][i]);
        }
    }
}

/* As flat_dw_avx2 with 16-float vectors and 4 filters at a time (the lanes folded to 8, lane
 * i + 8 onto lane i, then as fold8). */
AVX512 static void flat_dw_avx512(const float *x, const int *off, int K, const float *dyw, int F,
                                  int PW, size_t PWS, float *dw)
{
    for (int f0 = 0; f0 < F; f0 += 4) {
        const int nf = F - f0 < 4 ? F - f0 : 4;
        const float *d[4];
        for (int q = 0; q < 4; q++)
            d[q] = dyw + (size_t)(f0 + (q < nf ? q : nf - 1)) * PWS;
        for (int t0 = 0; t0 < K; t0 += 5) {
            const int nt = K - t0 < 5 ? K - t0 : 5;
            __m512 a[4][5];
            dw_taps_avx512(x, off + t0, nt, d, PW, a);
            for (int q = 0; q < nf; q++)
                for (int i = 0; i < nt; i++) {
                    const __m256 lo = _mm512_castps512_ps256(a[q][i]);
                    const __m256 hi =
                        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[q][i]), 1));
                    dw[(size_t)(f0 + q) * (size_t)K + (size_t)(t0 + i)] +=
                        fold8(_mm256_add_ps(lo, hi));
                }
        }
    }
}
#endif

static void flat_forward(const float *x, const int *off, int K, const float *w, const float *bias,
                         int F, int PW, size_t PWS, float *ws)
{
#ifdef MC_CONV_AVX2
    if (mc__have_avx512()) {
        flat_forward_avx512(x, off, K, w, bias, F, PW, PWS, ws);
        return;
    }
    if (mc__have_avx2_fma()) {
        flat_forward_avx2(x, off, K, w, bias, F, PW, PWS, ws);
        return;
    }
#endif
    flat_forward_c(x, off, K, w, bias, F, PW, PWS, ws);
}

static void flat_dw(const float *x, const int *off, int K, const float *dyw, int F, int PW,
                    size_t PWS, float *dw)
{
#ifdef MC_CONV_AVX2
    if (mc__have_avx512()) {
        flat_dw_avx512(x, off, K, dyw, F, PW, PWS, dw);
        return;
    }
    if (mc__have_avx2_fma()) {
        flat_dw_avx2(x, off, K, dyw, F, PW, PWS, dw);
        return;
    }
#endif
    flat_dw_c(x, off, K, dyw, F, PW, PWS, dw);
}

/* ---- The passes: observations in chunks, on minicnn's threads ---- */

/* The floats between two chunks' partial sums of dW: nw weights of `lanes` lanes, rounded up
 * to whole 64-byte cache lines so that two threads never write the same line. */
#define DW_STRIDE(nw, lanes) (((size_t)(nw) * (size_t)(lanes) + 15) / 16 * 16)

typedef struct conv_job {
    const conv_geom *g;
    const int *off;   /* (C*KH*KW) tap offsets of the direct kernels */
    const int *off_t; /* (F*KH*KW) tap offsets of the wide input-gradient kernel */
    const float *wt;  /* (C, F, KH, KW) the filters flipped, for the wide input gradient */
    const float *x, *weights, *bias, *dy;
    float *y, *dx;
    float *col; /* (threads, col_step) im2col, dcol and direct-kernel workspaces */
    size_t col_step;
    float *dw_part;  /* (chunks, F*C*KH*KW, lanes) partial sums of dW */
    double *db_part; /* (chunks, F) partial sums of dBias */
    int N, chunks, lanes;
} conv_job;

static void conv_forward_task(void *arg, int task, int thread)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    const int K = g->C * g->KH * g->KW, P = g->OH * g->OW;
    const size_t x_step = (size_t)g->C * (size_t)g->H * (size_t)g->W;
    const size_t y_step = (size_t)g->F * (size_t)P;
    /* no workspace at all for a 1x1 convolution: no offset from NULL */
    float *col = j->col != NULL ? j->col + (size_t)thread * j->col_step : NULL;
    size_t n0, n1;
    mc__chunk_range((size_t)j->N, (size_t)j->chunks, (size_t)task, &n0, &n1);
    if (g->wide) {
        const wide_geom *a = &g->fw;
        float *xp = col, *ws = col + (size_t)g->C * a->plane;
        for (size_t s = n0; s < n1; s += (size_t)a->nb) {
            const int nb = n1 - s < (size_t)a->nb ? (int)(n1 - s) : a->nb;
            wide_pad(a, j->x + s * x_step, nb, xp);
            flat_forward(xp, j->off, K, j->weights, j->bias, g->F, (int)wide_positions(a, nb),
                         a->PWS, ws);
            wide_narrow(a, ws, nb, j->y + s * y_step);
        }
        return;
    }
    if (g->batched) {
        const size_t ld = (size_t)g->nb * (size_t)P;
        float *yb = col + (size_t)K * ld;
        for (size_t s = n0; s < n1; s += (size_t)g->nb) {
            const int nb = n1 - s < (size_t)g->nb ? (int)(n1 - s) : g->nb;
            for (int i = 0; i < nb; i++)
                im2col_ld(j->x + (s + (size_t)i) * x_step, col + (size_t)i * (size_t)P, ld, g->C,
                          g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW, g->pad_top,
                          g->pad_left, g->OH, g->OW);
            /* Y (F, nb*P) = W (F, K) x col (K, nb*P), then to (nb, F, P) with the bias */
            mc__sgemm(false, false, g->F, nb * P, K, 1.0f, j->weights, K, col, (int)ld, 0.0f, yb,
                      (int)ld);
            for (int i = 0; i < nb; i++)
                for (int f = 0; f < g->F; f++) {
                    const float *src = yb + (size_t)f * ld + (size_t)i * (size_t)P;
                    float *dst = j->y + (s + (size_t)i) * y_step + (size_t)f * (size_t)P;
                    const float b = j->bias[f];
                    for (int p = 0; p < P; p++)
                        dst[p] = src[p] + b;
                }
        }
        return;
    }
    for (size_t n = n0; n < n1; n++) {
        const float *xn = j->x + n * x_step;
        float *yn = j->y + n * y_step;
        if (g->small) {
            small_forward(g, j->off, xn, j->weights, j->bias, yn, col);
            continue;
        }
        const float *cn = xn;
        if (!g->pointwise) {
            mc_im2col_kernel(xn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                             g->pad_top, g->pad_left, g->OH, g->OW);
            cn = col;
        }
        for (int f = 0; f < g->F; f++) {
            float *yf = yn + (size_t)f * (size_t)P;
            const float b = j->bias[f];
            for (int p = 0; p < P; p++)
                yf[p] = b;
        }
        /* Y_n (F, P) += W (F, K) x col (K, P) */
        mc__sgemm(false, false, g->F, P, K, 1.0f, j->weights, K, cn, P, 1.0f, yn, P);
    }
}

static void conv_backward_task(void *arg, int task, int thread)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    const int K = g->C * g->KH * g->KW, P = g->OH * g->OW;
    const size_t x_step = (size_t)g->C * (size_t)g->H * (size_t)g->W;
    const size_t y_step = (size_t)g->F * (size_t)P;
    const size_t nw = (size_t)g->F * (size_t)K;
    /* no workspace at all for a 1x1 convolution: no offset from NULL */
    float *col = j->col != NULL ? j->col + (size_t)thread * j->col_step : NULL;
    float *dw = j->dw_part + (size_t)task * DW_STRIDE(nw, j->lanes);
    double *db = j->db_part + (size_t)task * MC__PAD_DOUBLES(g->F);
    memset(dw, 0, nw * (size_t)j->lanes * sizeof(float));
    for (int f = 0; f < g->F; f++)
        db[f] = 0.0;
    size_t n0, n1;
    mc__chunk_range((size_t)j->N, (size_t)j->chunks, (size_t)task, &n0, &n1);
    if (g->wide) {
        const wide_geom *a = &g->fw, *b = &g->bw;
        float *xp = col, *dyw = xp + (size_t)g->C * a->plane;
        float *dyp = dyw + (size_t)g->F * a->PWS, *dxw = dyp + (size_t)g->F * b->plane;
        const int KT = g->F * g->KH * g->KW;
        for (size_t n = n0; n < n1; n++)
            for (int f = 0; f < g->F; f++)
                db[f] += mc__sum(j->dy + n * y_step + (size_t)f * (size_t)P, (size_t)P);
        for (size_t s = n0; s < n1; s += (size_t)a->nb) {
            const int nb = n1 - s < (size_t)a->nb ? (int)(n1 - s) : a->nb;
            const float *dys = j->dy + s * y_step;
            wide_pad(a, j->x + s * x_step, nb, xp);
            wide_widen(a, dys, nb, dyw);
            const int PW = (int)wide_positions(a, nb);
            if (g->wide_gemm_dw) {
                /* taps (K, PW): tap t's run of the padded input; dW (F, K) += dyw taps^T */
                float *taps = dxw + (size_t)g->C * b->PWS;
                for (int t = 0; t < K; t++)
                    copy_rows(taps + (size_t)t * a->PWS, 0, xp + j->off[t], 0, 1, PW);
                mc__sgemm(false, true, g->F, K, PW, 1.0f, dyw, (int)a->PWS, taps, (int)a->PWS, 1.0f,
                          dw, K);
            } else {
                flat_dw(xp, j->off, K, dyw, g->F, PW, a->PWS, dw);
            }
            if (j->dx == NULL)
                continue;
            wide_pad(b, dys, nb, dyp);
            flat_forward(dyp, j->off_t, KT, j->wt, NULL, g->C, (int)wide_positions(b, nb), b->PWS,
                         dxw);
            wide_narrow(b, dxw, nb, j->dx + s * x_step);
        }
        return;
    }
    if (g->batched) {
        const size_t ld = (size_t)g->nb * (size_t)P;
        float *dyb = col + (size_t)K * ld;
        for (size_t n = n0; n < n1; n++)
            for (int f = 0; f < g->F; f++)
                db[f] += mc__sum(j->dy + n * y_step + (size_t)f * (size_t)P, (size_t)P);
        for (size_t s = n0; s < n1; s += (size_t)g->nb) {
            const int nb = n1 - s < (size_t)g->nb ? (int)(n1 - s) : g->nb;
            for (int i = 0; i < nb; i++)
                im2col_ld(j->x + (s + (size_t)i) * x_step, col + (size_t)i * (size_t)P, ld, g->C,
                          g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW, g->pad_top,
                          g->pad_left, g->OH, g->OW);
            for (int i = 0; i < nb; i++)
                copy_rows(dyb + (size_t)i * (size_t)P, ld, j->dy + (s + (size_t)i) * y_step,
                          (size_t)P, g->F, P);
            /* dW (F, K) += dY (F, nb*P) x col^T (nb*P, K) */
            mc__sgemm(false, true, g->F, K, nb * P, 1.0f, dyb, (int)ld, col, (int)ld, 1.0f, dw, K);
            if (j->dx == NULL)
                continue;
            /* dcol (K, nb*P) = W^T (K, F) x dY (F, nb*P), over col, then back to each dx */
            mc__sgemm(true, false, K, nb * P, g->F, 1.0f, j->weights, K, dyb, (int)ld, 0.0f, col,
                      (int)ld);
            for (int i = 0; i < nb; i++) {
                float *dxn = j->dx + (s + (size_t)i) * x_step;
                memset(dxn, 0, x_step * sizeof(float));
                col2im_ld(col + (size_t)i * (size_t)P, ld, dxn, g->C, g->H, g->W, g->KH, g->KW,
                          g->SH, g->SW, g->DH, g->DW, g->pad_top, g->pad_left, g->OH, g->OW);
            }
        }
        return;
    }
    for (size_t n = n0; n < n1; n++) {
        const float *xn = j->x + n * x_step;
        const float *dyn = j->dy + n * y_step;
        for (int f = 0; f < g->F; f++)
            db[f] += mc__sum(dyn + (size_t)f * (size_t)P, (size_t)P);
        const float *cn = xn;
        if (g->small) {
            small_backward(g, j->off, xn, dyn, dw, col);
        } else if (!g->pointwise) {
            mc_im2col_kernel(xn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                             g->pad_top, g->pad_left, g->OH, g->OW);
            cn = col;
        }
        /* dW (F, K) += dY_n (F, P) x col^T (P, K) */
        if (!g->small)
            mc__sgemm(false, true, g->F, K, P, 1.0f, dyn, P, cn, P, 1.0f, dw, K);
        if (j->dx == NULL)
            continue;
        float *dxn = j->dx + n * x_step;
        if (g->pointwise) {
            /* dX_n (C, P) = W^T (C, F) x dY_n (F, P) */
            mc__sgemm(true, false, K, P, g->F, 1.0f, j->weights, K, dyn, P, 0.0f, dxn, P);
            continue;
        }
        /* dcol (K, P) = W^T (K, F) x dY_n (F, P), into the workspace col no longer needs */
        mc__sgemm(true, false, K, P, g->F, 1.0f, j->weights, K, dyn, P, 0.0f, col, P);
        memset(dxn, 0, x_step * sizeof(float));
        mc_col2im_kernel(col, dxn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->DH, g->DW,
                         g->pad_top, g->pad_left, g->OH, g->OW);
    }
}

/* x: (N, C, H, W); weights: (F, C*KH*KW); bias: (F); y: (N, F, OH, OW); workspaces as in
 * conv_job, for `threads` threads. */
static void conv_forward_kernel(const conv_geom *g, const float *x, const float *weights,
                                const float *bias, float *y, float *col, size_t col_step,
                                int threads, const int *off, int N)
{
    conv_job j = {.g = g,
                  .off = off,
                  .x = x,
                  .weights = weights,
                  .bias = bias,
                  .y = y,
                  .col = col,
                  .col_step = col_step,
                  .N = N,
                  .chunks = mc__chunks(N)};
    const size_t flops = 2 * (size_t)N * (size_t)g->F * (size_t)g->C * (size_t)g->KH *
                         (size_t)g->KW * (size_t)g->OH * (size_t)g->OW;
    /* Work in floats-touched units: an FMA costs far less than a memory access. */
    mc__parallel_for(j.chunks, threads, flops / 16, conv_forward_task, &j);
}

/* dweights (nw) += the chunks' partial sums part (chunks, stride), each weight's 8 lanes summed
 * over the chunks in chunk order, then folded in one fixed order (a loop of 8 lanes that
 * vectorizes). */
MC__CLONES static void add_dw_lanes8(const float *part, size_t stride, int chunks, size_t nw,
                                     float *dweights)
{
    for (size_t i = 0; i < nw; i++) {
        float l[8] = {0};
        for (int k = 0; k < chunks; k++)
            for (int q = 0; q < 8; q++)
                l[q] += part[(size_t)k * stride + i * 8 + (size_t)q];
        dweights[i] += ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    }
}

/* x, dx: (N, C, H, W), dx written (=) unless NULL; weights, dweights: (F, C*KH*KW);
 * dbias: (F); dy: (N, F, OH, OW); dweights and dbias accumulate (+=); each chunk of
 * observations sums into its own dw_part and db_part, added in chunk order afterwards. */
static void conv_backward_kernel(const conv_geom *g, const float *x, const float *weights,
                                 const float *dy, float *dx, float *dweights, float *dbias,
                                 float *col, size_t col_step, int threads, float *dw_part,
                                 double *db_part, const int *off, const int *off_t, float *wt,
                                 int N)
{
    conv_job j = {.g = g,
                  .off = off,
                  .off_t = off_t,
                  .wt = wt,
                  .x = x,
                  .weights = weights,
                  .dy = dy,
                  .dx = dx,
                  .col = col,
                  .col_step = col_step,
                  .dw_part = dw_part,
                  .db_part = db_part,
                  .N = N,
                  .chunks = mc__chunks(N),
                  .lanes = g->small ? 8 : 1};
    if (g->wide && dx != NULL) {
        /* wt (C, F, KH, KW): filter f's tap (kh, kw) of channel c at (c, f, KH-1-kh, KW-1-kw) */
        const size_t KK = (size_t)g->KH * (size_t)g->KW;
        for (int f = 0; f < g->F; f++)
            for (int c = 0; c < g->C; c++)
                for (size_t k = 0; k < KK; k++)
                    wt[((size_t)c * (size_t)g->F + (size_t)f) * KK + (KK - 1 - k)] =
                        weights[((size_t)f * (size_t)g->C + (size_t)c) * KK + k];
    }
    const size_t flops = 2 * (size_t)N * (size_t)g->F * (size_t)g->C * (size_t)g->KH *
                         (size_t)g->KW * (size_t)g->OH * (size_t)g->OW;
    mc__parallel_for(j.chunks, threads, (dx != NULL ? 2 : 1) * flops / 16, conv_backward_task, &j);
    const size_t nw = (size_t)g->F * (size_t)g->C * (size_t)g->KH * (size_t)g->KW;
    if (j.lanes == 8)
        add_dw_lanes8(dw_part, DW_STRIDE(nw, 8), j.chunks, nw, dweights);
    else
        for (size_t i = 0; i < nw; i++) {
            float sum = 0.0f;
            for (int k = 0; k < j.chunks; k++)
                sum += dw_part[(size_t)k * DW_STRIDE(nw, 1) + i];
            dweights[i] += sum;
        }
    for (int f = 0; f < g->F; f++) {
        double sum = 0.0;
        for (int k = 0; k < j.chunks; k++)
            sum += db_part[(size_t)k * MC__PAD_DOUBLES(g->F) + (size_t)f];
        dbias[f] += (float)sum;
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct conv2d {
    mc_layer base;
    int filter[2]; /* [KH KW] */
    int num_filters;
    int stride[2];
    int dilation[2];
    int padding[4]; /* as given; with 'same', computed at setup ([0 0 0 0] until then) */
    bool same;
    int num_channels; /* 0 while 'auto' */
    mc__init weights_init;
    mc__init bias_init;
    mc_param weights; /* (F, C, KH, KW); empty until given or initialized */
    mc_param bias;    /* (F) */
    conv_geom geom;   /* valid after setup */
    float *col;       /* (threads, C*KH*KW * OH*OW) im2col workspaces */
    size_t col_cap, col_step;
    int threads;    /* the thread count at setup, which the workspaces serve */
    float *dw_part; /* (chunks, F*C*KH*KW, 8 or 1) partial sums of dW */
    size_t dw_cap;
    double *db_part; /* (chunks, F) */
    size_t db_cap;
    int *off; /* (C*KH*KW) tap offsets (c*H + kh)*W + kw of the direct kernels */
    size_t off_cap;
    int *off_t; /* (F*KH*KW) tap offsets of the wide input gradient */
    size_t off_t_cap;
    float *wt; /* (C, F, KH, KW) flipped filters of the wide input gradient */
    size_t wt_cap;
} conv2d;

static const mc_layer_vtable conv2d_vtable;

mc_conv2d_options mc_conv2d_default(int filter_h, int filter_w, int num_filters)
{
    mc_conv2d_options o;
    memset(&o, 0, sizeof o);
    o.filter_size[0] = filter_h;
    o.filter_size[1] = filter_w;
    o.num_filters = num_filters;
    o.stride[0] = o.stride[1] = 1;
    o.dilation[0] = o.dilation[1] = 1;
    o.weight_learn_rate_factor = 1.0;
    o.bias_learn_rate_factor = 1.0;
    o.weight_l2_factor = 1.0;
    o.bias_l2_factor = 0.0;
    return o;
}

static mc_status check_pair(mc_ctx *ctx, const char *label, const char *option, const int v[2])
{
    if (v[0] >= 1 && v[1] >= 1)
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %s must be positive integers, not [%d %d]", label,
                       option, v[0], v[1]);
}

/* Checks every option; on success *num_channels is NumChannels (0 for 'auto'), taken from
 * the initial Weights when they are given and NumChannels is 'auto'. */
static mc_status validate(mc_ctx *ctx, const mc_conv2d_options *o, const mc__weighted_options *wo,
                          const char *label, int *num_channels)
{
    mc_status st = check_pair(ctx, label, "FilterSize", o->filter_size);
    if (st == MC_OK && o->num_filters < 1)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: NumFilters must be a positive integer, not %d",
                         label, o->num_filters);
    if (st == MC_OK)
        st = check_pair(ctx, label, "Stride", o->stride);
    if (st == MC_OK)
        st = check_pair(ctx, label, "DilationFactor", o->dilation);
    if (st == MC_OK && !o->padding_same &&
        (o->padding[0] < 0 || o->padding[1] < 0 || o->padding[2] < 0 || o->padding[3] < 0))
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "%s: Padding must be nonnegative integers [top bottom left right] or "
                         "'same', not [%d %d %d %d]",
                         label, o->padding[0], o->padding[1], o->padding[2], o->padding[3]);
    if (st == MC_OK && o->num_channels < 0)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                         "%s: NumChannels must be 'auto' (0) or a positive integer, not %d", label,
                         o->num_channels);
    if (st != MC_OK)
        return st;
    /* Weights are (F, C, KH, KW) with C*KH*KW and F*C*KH*KW counted in int (BLAS sizes). */
    const double per_channel = (double)o->filter_size[0] * o->filter_size[1] * o->num_filters;
    if (per_channel * (o->num_channels > 0 ? o->num_channels : 1) > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: %d %dx%dx%d filters have more than %d weights",
                           label, o->num_filters, o->filter_size[0], o->filter_size[1],
                           o->num_channels > 0 ? o->num_channels : 1, INT_MAX);
    /* Sizes first, so that no value is read past a length that cannot be right. */
    const size_t per = (size_t)per_channel;
    if (o->weights != NULL && o->weights_len > 0) {
        if (o->num_channels > 0 && o->weights_len != per * (size_t)o->num_channels)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements but %dx%dx%dx%d = "
                               "%zu are needed (FilterSize x NumChannels x NumFilters)",
                               label, o->weights_len, o->filter_size[0], o->filter_size[1],
                               o->num_channels, o->num_filters, per * (size_t)o->num_channels);
        if (o->weights_len % per != 0)
            return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                               "%s: the initial Weights has %zu elements, not a multiple of "
                               "%dx%dx%d = %zu (FilterSize x NumFilters)",
                               label, o->weights_len, o->filter_size[0], o->filter_size[1],
                               o->num_filters, per);
    }
    st = mc__weighted_check_values(ctx, label, wo, o->num_filters, "NumFilters");
    if (st != MC_OK)
        return st;
    *num_channels =
        o->weights != NULL && o->weights_len > 0 ? (int)(o->weights_len / per) : o->num_channels;
    return MC_OK;
}

/* MATLAB's size of Weights, KH x KW x C x F, and of Bias, 1 x 1 x F. */
static mc_shape weights_size(const conv2d *cv, int C)
{
    return mc_shape_make(4, (const int[]){cv->filter[0], cv->filter[1], C, cv->num_filters});
}

static mc_shape weights_storage(const conv2d *cv, int C)
{
    return mc_shape_make(4, (const int[]){cv->num_filters, C, cv->filter[0], cv->filter[1]});
}

static mc_shape bias_size(const conv2d *cv)
{
    return mc_shape_make(3, (const int[]){1, 1, cv->num_filters});
}

static void conv2d_destroy(mc_layer *self)
{
    conv2d *cv = (conv2d *)self;
    mc__param_release(self->ctx, &cv->weights);
    mc__param_release(self->ctx, &cv->bias);
    mc_free(self->ctx, cv->col);
    mc_free(self->ctx, cv->dw_part);
    mc_free(self->ctx, cv->db_part);
    mc_free(self->ctx, cv->off);
    mc_free(self->ctx, cv->off_t);
    mc_free(self->ctx, cv->wt);
}

mc_status mc_conv2d_create(mc_ctx *ctx, const mc_conv2d_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, conv2d_vtable.kind);
    int num_channels = 0;
    const mc__weighted_options wo = MC__WEIGHTED_OPTIONS(opts);
    mc_status st = validate(ctx, opts, &wo, label, &num_channels);
    mc__init weights_init, bias_init;
    if (st == MC_OK)
        st = mc__weighted_resolve(ctx, label, &wo, &weights_init, &bias_init);
    mc_layer *base = NULL;
    if (st == MC_OK)
        st = mc__layer_new(ctx, sizeof(conv2d), &conv2d_vtable, opts->name, 1, NULL,
                           "creating a convolution layer", &base);
    if (st != MC_OK)
        return st;
    conv2d *cv = (conv2d *)base;
    cv->filter[0] = opts->filter_size[0];
    cv->filter[1] = opts->filter_size[1];
    cv->num_filters = opts->num_filters;
    memcpy(cv->stride, opts->stride, sizeof cv->stride);
    memcpy(cv->dilation, opts->dilation, sizeof cv->dilation);
    cv->same = opts->padding_same;
    if (!cv->same)
        memcpy(cv->padding, opts->padding, sizeof cv->padding);
    cv->num_channels = num_channels;
    cv->weights_init = weights_init;
    cv->bias_init = bias_init;
    const mc_shape w_storage = weights_storage(cv, num_channels);
    const mc_shape w_size = weights_size(cv, num_channels);
    const mc_shape b_storage = mc_shape_make(1, &cv->num_filters), b_size = bias_size(cv);
    st = mc__weighted_init_params(ctx, &cv->weights, &cv->bias, &wo, &w_storage, &w_size,
                                  &b_storage, &b_size);
    if (st != MC_OK) {
        mc_layer_destroy(&cv->base);
        return st;
    }
    *out = &cv->base;
    return MC_OK;
}

static const char *kind_name(mc_data_kind kind)
{
    switch (kind) {
    case MC_DATA_FEATURE:
        return "feature";
    case MC_DATA_SEQUENCE:
        return "sequence";
    case MC_DATA_IMAGE3D:
        return "3-D image";
    default:
        return "2-D image";
    }
}

/* *buf holds at least `need` ints (its old contents dropped when it grows). */
static mc_status grow_ints(mc_ctx *ctx, int **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return MC_OK;
    int *b = mc__calloc(ctx, need, sizeof(int));
    if (b == NULL)
        return MC_ERR_NOMEM;
    mc_free(ctx, *buf);
    *buf = b;
    *cap = need;
    return MC_OK;
}

/* The observations of an im2col sub-batch: as many as keep its columns and outputs within some
 * 1 MiB, the GEMMs then some nb * OH*OW wide. */
#define BATCHED_BUDGET_FLOATS ((size_t)1 << 18)

/* The observations of a wide sub-batch: as many as keep the padded input of x (or of dy) within
 * some 128 KiB, to stay in the core's L2 cache while every filter reads it. */
#define WIDE_BUDGET_FLOATS ((size_t)1 << 15)

/* Below this many positions in a sub-batch, the direct dW kernel spends more on folding its
 * registers' lanes than on its sums, and one GEMM over the taps' runs is faster (N = 128, 3x3
 * 'same': 256 channels at 4x4, backward about 100 -> 80 ms; 32 -> 64 channels at 3x3,
 * 2.3 -> 1.9 ms; at 7x7, 512 positions, the direct kernel is faster). */
#define WIDE_GEMM_DW_POSITIONS 256

/* a's sizes for gaps gh, gw and nb observations. */
static void wide_make(wide_geom *a, int Cin, int Hin, int Win, int Cout, int OH, int OW, int gh,
                      int gw)
{
    a->Cin = Cin;
    a->Hin = Hin;
    a->Win = Win;
    a->Cout = Cout;
    a->OH = OH;
    a->OW = OW;
    a->gh = gh;
    a->gw = gw;
    a->Hs = Hin + gh;
    a->Wp = Win + gw;
}

static void wide_size(wide_geom *a, int nb)
{
    a->nb = nb;
    a->plane = ((size_t)a->gh + (size_t)nb * (size_t)a->Hs + 1) * (size_t)a->Wp;
    a->PWS = WIDE_PAD(wide_positions(a, nb));
}

/* Whether g runs on the wide direct kernels (stride 1, each padding within the filter's span
 * less one, so that the input gradient's padding pad_b is not negative, and every offset in
 * int), and if so sets g->fw and g->bw for sub-batches of at most `chunk` observations. */
static bool wide_fits(conv_geom *g, const int pad[4], const int pad_b[4], int chunk)
{
    if (g->SH != 1 || g->SW != 1)
        return false;
    for (int i = 0; i < 4; i++)
        if (pad_b[i] < 0)
            return false;
    const int max_int = INT_MAX / 4;
    const int gh = pad[0] > pad[1] ? pad[0] : pad[1], gw = pad[2] > pad[3] ? pad[2] : pad[3];
    const int ghb = pad_b[0] > pad_b[1] ? pad_b[0] : pad_b[1];
    const int gwb = pad_b[2] > pad_b[3] ? pad_b[2] : pad_b[3];
    const double per_x = (double)g->C * (g->H + gh) * (g->W + gw);
    const double per_dy = (double)g->F * (g->OH + ghb) * (g->OW + gwb);
    const double per = per_x > per_dy ? per_x : per_dy;
    if (per > max_int / 4)
        return false;
    int nb = (int)((double)WIDE_BUDGET_FLOATS / per);
    nb = nb < 1 ? 1 : nb > chunk ? chunk : nb;
    wide_make(&g->fw, g->C, g->H, g->W, g->F, g->OH, g->OW, gh, gw);
    wide_make(&g->bw, g->F, g->OH, g->OW, g->C, g->H, g->W, ghb, gwb);
    wide_size(&g->fw, nb);
    wide_size(&g->bw, nb);
    return (double)g->C * g->fw.plane < max_int && (double)g->F * g->bw.plane < max_int &&
           (double)g->fw.PWS < max_int && (double)g->bw.PWS < max_int;
}

static mc_status conv2d_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    conv2d *cv = (conv2d *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP], dims[96];
    mc__layer_label(self, label, sizeof label);
    const mc_data_kind kind = mc_shape_kind(&in[0]);
    if (kind != MC_DATA_IMAGE2D) {
        mc_shape_format(&in[0], "x", dims, sizeof dims);
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: convolution2dLayer needs 2-D image input (N, C, H, W), but the "
                           "input has shape [%s] (%s data)",
                           label, dims, kind_name(kind));
    }
    const int N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
    mc_status st = mc__check_num_channels(ctx, label, cv->num_channels, C);
    if (st != MC_OK)
        return st;
    const int KH = cv->filter[0], KW = cv->filter[1];
    const long long eh = (long long)(KH - 1) * cv->dilation[0] + 1;
    const long long ew = (long long)(KW - 1) * cv->dilation[1] + 1;
    if (eh > INT_MAX || ew > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %dx%d filter dilated by [%d %d] spans %lldx%lld, more than "
                           "%d",
                           label, KH, KW, cv->dilation[0], cv->dilation[1], eh, ew, INT_MAX);
    int pad[4];
    if (cv->same) {
        mc__same_padding(H, cv->stride[0], eh, &pad[0], &pad[1]);
        mc__same_padding(W, cv->stride[1], ew, &pad[2], &pad[3]);
    } else {
        memcpy(pad, cv->padding, sizeof pad);
    }
    const long long ph = (long long)H + pad[0] + pad[1], pw = (long long)W + pad[2] + pad[3];
    if (eh > ph || ew > pw)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the %dx%d filter (dilated %lldx%lld) does not fit the padded "
                           "input %lldx%lld",
                           label, KH, KW, eh, ew, ph, pw);
    const long long OH = (ph - eh) / cv->stride[0] + 1, OW = (pw - ew) / cv->stride[1] + 1;
    /* Every index the kernels form stays below the padded extent; BLAS sizes are int. */
    const double K = (double)C * KH * KW, P = (double)OH * (double)OW;
    if (ph > INT_MAX || pw > INT_MAX || K > INT_MAX || P > INT_MAX ||
        K * cv->num_filters > INT_MAX || P * cv->num_filters > INT_MAX ||
        K * P > (double)(SIZE_MAX / sizeof(float)))
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the convolution of a %dx%dx%d input with %d %dx%d filters "
                           "(output %lldx%lld) is too large",
                           label, H, W, C, cv->num_filters, KH, KW, OH, OW);
    const mc_shape w_storage = weights_storage(cv, C), w_size = weights_size(cv, C);
    st = mc__param_prepare(ctx, label, &cv->weights, &cv->weights_init, "WeightsInitializer",
                           &w_storage, &w_size, K, (double)KH * KW * cv->num_filters);
    const mc_shape b_storage = mc_shape_make(1, &cv->num_filters), b_size = bias_size(cv);
    if (st != MC_OK)
        return st;
    /* The channel count is fixed from here on, even if the rest of setup fails: Weights
     * now has its size. */
    cv->num_channels = C;
    st = mc__param_prepare(ctx, label, &cv->bias, &cv->bias_init, "BiasInitializer", &b_storage,
                           &b_size, 0.0, 0.0);
    if (st != MC_OK)
        return st;

    conv_geom g;
    memset(&g, 0, sizeof g);
    g.C = C;
    g.H = H;
    g.W = W;
    g.F = cv->num_filters;
    g.KH = KH;
    g.KW = KW;
    g.SH = cv->stride[0];
    g.SW = cv->stride[1];
    g.DH = cv->dilation[0];
    g.DW = cv->dilation[1];
    g.pad_top = pad[0];
    g.pad_left = pad[2];
    g.OH = (int)OH;
    g.OW = (int)OW;
    g.pointwise = KH == 1 && KW == 1 && g.SH == 1 && g.SW == 1 && pad[0] == 0 && pad[2] == 0 &&
                  g.OH == H && g.OW == W;
    g.small = !g.pointwise && C <= 4 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
              pad[0] == 0 && pad[2] == 0 && g.OH == H - KH + 1 && g.OW == W - KW + 1;
    const int threads = mc_get_threads();
    const size_t chunks = (size_t)mc__chunks(N);
    const int pad_b[4] = {(int)eh - 1 - pad[0], (int)eh - 1 - pad[1], (int)ew - 1 - pad[2],
                          (int)ew - 1 - pad[3]};
    g.wide = !g.pointwise && !g.small &&
             wide_fits(&g, pad, pad_b, (int)(((size_t)N + chunks - 1) / chunks));
    /* The direct kernels use col for wide rows (F, PWS) and for dx (dcol, then col2im). */
    size_t step = g.pointwise ? 0 : (size_t)K * (size_t)P;
    if (g.small) {
        const size_t pws = WIDE_PAD((size_t)(g.OH - 1) * (size_t)W + (size_t)g.OW);
        if (pws * (size_t)cv->num_filters > step)
            step = pws * (size_t)cv->num_filters;
    }
    if (g.wide) { /* padded x, wide dy, padded dy, wide dx (and the taps' runs) */
        g.wide_gemm_dw = wide_positions(&g.fw, g.fw.nb) < WIDE_GEMM_DW_POSITIONS;
        step = (size_t)C * g.fw.plane + (size_t)g.F * g.fw.PWS + (size_t)g.F * g.bw.plane +
               (size_t)C * g.bw.PWS + (g.wide_gemm_dw ? (size_t)K * g.fw.PWS : 0);
    }
    /* A 1x1 convolution reads x in place, one GEMM per observation: faster than copying it
     * (64 channels at 8x8: 1.05 against 1.27 ms forward at N = 128). */
    g.batched = !g.small && !g.wide && !g.pointwise;
    if (g.batched) { /* col (K, nb*P), then Y or dY (F, nb*P) */
        const double per = ((double)K + g.F) * P;
        const size_t chunk = ((size_t)N + chunks - 1) / chunks;
        size_t nb = per >= (double)BATCHED_BUDGET_FLOATS ? 1 : BATCHED_BUDGET_FLOATS / (size_t)per;
        nb = nb > chunk ? chunk : nb;
        /* the GEMMs' sizes are int */
        while (nb > 1 && (double)nb * P * (K > g.F ? K : g.F) > INT_MAX)
            nb--;
        g.nb = (int)nb;
        step = ((size_t)K + (size_t)g.F) * nb * (size_t)P;
    }
    /* whole 64-byte lines a thread, so that two threads' workspaces never share one */
    step = step > SIZE_MAX - 15 ? step : (step + 15) / 16 * 16;
    const size_t nw = (size_t)K * (size_t)cv->num_filters;
    if (nw > SIZE_MAX / sizeof(float) / 8 / chunks ||
        (step > 0 && (size_t)threads > SIZE_MAX / sizeof(float) / step))
        return mc_ctx_fail(ctx, MC_ERR_SHAPE, "%s: the convolution's workspaces are too large",
                           label);
    st = mc__grow_floats(ctx, &cv->col, &cv->col_cap, step * (size_t)threads);
    if (st == MC_OK)
        st = mc__grow_floats(ctx, &cv->dw_part, &cv->dw_cap,
                             chunks * DW_STRIDE(nw, g.small ? 8 : 1));
    const size_t db_need = chunks * MC__PAD_DOUBLES(cv->num_filters);
    if (st == MC_OK && db_need > cv->db_cap) {
        double *db = mc__calloc(ctx, db_need, sizeof(double));
        if (db == NULL) {
            st = MC_ERR_NOMEM;
        } else {
            mc_free(ctx, cv->db_part);
            cv->db_part = db;
            cv->db_cap = db_need;
        }
    }
    if (st == MC_OK && (g.small || g.wide))
        st = grow_ints(ctx, &cv->off, &cv->off_cap, (size_t)K);
    if (st == MC_OK && g.wide)
        st = grow_ints(ctx, &cv->off_t, &cv->off_t_cap, (size_t)g.F * (size_t)KH * (size_t)KW);
    if (st == MC_OK && g.wide)
        st = mc__grow_floats(ctx, &cv->wt, &cv->wt_cap, nw);
    if (st != MC_OK)
        return mc__nomem(ctx, "sizing the convolution workspace");
    if (g.wide) {
        wide_offsets(&g.fw, KH, KW, g.DH, g.DW, pad[0], pad[2], cv->off);
        wide_offsets(&g.bw, KH, KW, g.DH, g.DW, pad_b[0], pad_b[2], cv->off_t);
    }
    if (g.small)
        for (int c = 0, t = 0; c < C; c++)
            for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++)
                    cv->off[t++] = (c * H + kh) * W + kw;
    cv->col_step = step;
    cv->threads = threads;
    cv->geom = g;
    if (cv->same)
        memcpy(cv->padding, pad, sizeof pad);
    *out = mc_shape_make(4, (const int[]){N, cv->num_filters, (int)OH, (int)OW});
    return MC_OK;
}

static void conv2d_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                           mc_mode mode)
{
    (void)n_in;
    (void)mode; /* training and inference compute the same */
    conv2d *cv = (conv2d *)self;
    conv_forward_kernel(&cv->geom, in[0].data, cv->weights.value.data, cv->bias.value.data,
                        out->data, cv->col, cv->col_step, cv->threads, cv->off,
                        in[0].shape.dims[0]);
}

static void conv2d_backward(mc_layer *self, const mc_tensor *in, int n_in, const mc_tensor *out,
                            const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    conv2d *cv = (conv2d *)self;
    conv_backward_kernel(&cv->geom, in[0].data, cv->weights.value.data, dout->data, din[0].data,
                         cv->weights.grad.data, cv->bias.grad.data, cv->col, cv->col_step,
                         cv->threads, cv->dw_part, cv->db_part, cv->off, cv->off_t, cv->wt,
                         in[0].shape.dims[0]);
}

static mc_param *conv2d_param(mc_layer *self, int i)
{
    conv2d *cv = (conv2d *)self;
    return i == 0 ? &cv->weights : i == 1 ? &cv->bias : NULL;
}

static void conv2d_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const conv2d *cv = (const conv2d *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        /* MATLAB's Layer array display: vectors with two spaces between the elements. */
        mc_text_printf(t, "%d %dx%d", cv->num_filters, cv->filter[0], cv->filter[1]);
        if (cv->num_channels > 0)
            mc_text_printf(t, "x%d", cv->num_channels);
        mc_text_printf(t, " convolutions with stride [%d  %d]", cv->stride[0], cv->stride[1]);
        /* Only a dilated convolution names its dilation, so the common line stays MATLAB's. */
        if (cv->dilation[0] != 1 || cv->dilation[1] != 1)
            mc_text_printf(t, ", dilation factor [%d  %d]", cv->dilation[0], cv->dilation[1]);
        if (cv->same)
            mc_text_printf(t, " and padding 'same'");
        else
            mc_text_printf(t, " and padding [%d  %d  %d  %d]", cv->padding[0], cv->padding[1],
                           cv->padding[2], cv->padding[3]);
        return;
    }
    /* Property names right-aligned in one column: the longest name plus 4, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 18;
    mc_text_printf(t, "  Convolution2DLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL)
        mc__describe_io(t, w);
    mc_text_printf(t, "\n   Hyperparameters\n");
    mc_text_printf(t, "%*s: [%d %d]\n", w, "FilterSize", cv->filter[0], cv->filter[1]);
    mc__describe_count(t, w, "NumChannels", cv->num_channels);
    mc_text_printf(t, "%*s: %d\n", w, "NumFilters", cv->num_filters);
    mc_text_printf(t, "%*s: [%d %d]\n", w, "Stride", cv->stride[0], cv->stride[1]);
    mc_text_printf(t, "%*s: [%d %d]\n", w, "DilationFactor", cv->dilation[0], cv->dilation[1]);
    mc_text_printf(t, "%*s: '%s'\n", w, "PaddingMode", cv->same ? "same" : "manual");
    mc_text_printf(t, "%*s: [%d %d %d %d]\n", w, "PaddingSize", cv->padding[0], cv->padding[1],
                   cv->padding[2], cv->padding[3]);
    mc_text_printf(t, "%*s: 0\n", w, "PaddingValue");
    mc__describe_learnables(t, w, &cv->weights, &cv->bias);
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc__describe_learning(t, w, &cv->weights, "Weight", &cv->weights_init, &cv->bias, "Bias",
                          &cv->bias_init);
}

static const mc_layer_vtable conv2d_vtable = {
    .kind = "convolution2dLayer",
    .class_name = "Convolution2DLayer",
    .type_label = "Convolution",
    .default_name = "conv",
    .role = MC_ROLE_HIDDEN,
    .setup = conv2d_setup,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .param = conv2d_param,
    .buffer = mc__no_buffer,
    .describe = conv2d_describe,
    .destroy = conv2d_destroy,
};
