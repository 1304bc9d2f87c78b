/* SPDX-License-Identifier: MIT */
/* minicnn's threads: a fixed set of tasks spread over the threads of mc_set_threads.
 *
 * Results never depend on the thread count. A kernel splits its work into tasks whose
 * boundaries depend only on the shapes (never on the number of threads), each task writes its
 * own outputs (or its own partial sums), and the partial sums are added in task order by one
 * thread afterwards. Which thread runs a task then changes nothing but the time.
 *
 * OpenMP (gcc's libgomp) when the compiler has it, otherwise every task runs in the calling
 * thread. OpenBLAS is kept single-threaded while minicnn runs tasks in parallel, so that the
 * two never put more threads on the cores than mc_set_threads asked for. Not installed. */
#ifndef MINICNN_PARALLEL_H
#define MINICNN_PARALLEL_H

#include <stddef.h>

/* The most tasks a reduction over observations is split into, and so the most partial sums a
 * layer keeps: fixed, so that the sums do not depend on the thread count. */
#define MC__MAX_CHUNKS 16

/* Runs fn(arg, task, thread) once for every task in [0, ntasks), on at most
 * min(mc_get_threads(), max_threads, ntasks, work / MC__MIN_WORK) threads (at least one):
 * `work` is the call's size in floats read or written (or FLOPs / 4), so that work too small
 * to pay for waking a thread runs in the caller; results are the same either way; `thread` in [0,
 * max_threads) is the running thread's index, for per-thread workspaces (max_threads <= 0: no
 * limit, and `thread` must not be used). Each thread takes the next task not yet taken until none
 * is left. Returns when every task is done. A call made inside a task runs its tasks in the calling
 * thread. */
typedef void (*mc__task_fn)(void *arg, int task, int thread);
void mc__parallel_for(int ntasks, int max_threads, size_t work, mc__task_fn fn, void *arg);

/* The least work worth a thread of its own: some 10 microseconds, enough to outweigh handing a
 * task to a thread that is polling for one. */
#define MC__MIN_WORK ((size_t)1 << 16)

/* Observations [*lo, *hi) of chunk i when n observations are split into `chunks` near-equal
 * chunks (the first n % chunks one longer). */
void mc__chunk_range(size_t n, size_t chunks, size_t i, size_t *lo, size_t *hi);

/* n rounded up to a whole number of 64-byte cache lines of doubles: the stride of per-task
 * partial sums, so that two threads never write the same cache line. */
#define MC__PAD_DOUBLES(n) (((size_t)(n) + 7) / 8 * 8)

/* min(n, MC__MAX_CHUNKS) for n >= 1: how many partial sums a reduction over n observations
 * keeps. */
int mc__chunks(int n);

/* 1 when the CPU runs AVX2 and FMA (the hot kernels then take their vector paths), 0 otherwise. */
int mc__have_avx2_fma(void);

/* 1 when the CPU also runs AVX-512F (the direct convolution then takes 16-float vectors). */
int mc__have_avx512(void);

#endif
