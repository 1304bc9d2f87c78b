/* SPDX-License-Identifier: MIT */
/* The one place minicnn reaches OpenBLAS: a small wrapper over cblas_sgemm, so that no other
 * file includes <cblas.h> and the BLAS could be swapped here alone. Not installed. */
#ifndef MINICNN_BLAS_H
#define MINICNN_BLAS_H

#include <stdbool.h>

/* C = alpha * op(A) * op(B) + beta * C, all row-major, with op(X) = X or X^T:
 * op(A): (M, K), op(B): (K, N), C: (M, N); lda, ldb, ldc are the row strides of A, B, C as
 * stored (A is (K, M) in memory when trans_a). With beta == 0, C is written without being
 * read (NaN in C does not propagate). M, N, K are positive and each leading dimension is at
 * least the row length it strides over: OpenBLAS reports a violation by printing, which the
 * library must never do, so callers guarantee it (setup validates every size). */
void mc__sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Makes OpenBLAS single-threaded (a cheap check when it already is): minicnn's own threads
 * call it from their tasks, so its threads would only oversubscribe the cores. */
void mc__blas_single_thread(void);

#endif
