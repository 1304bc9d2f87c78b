/* SPDX-License-Identifier: MIT */
/* The context: allocator, last error message and random number generator shared by the objects
 * made from it. One context per thread of control; objects must not outlive their context. */
#ifndef MINICNN_CTX_H
#define MINICNN_CTX_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>
#include <stdint.h>

#include <minicnn/status.h>

/* A replaceable allocator. `alloc` returns NULL on failure; `release` accepts NULL. Memory
 * returned by `alloc` must be aligned for any type (as malloc's). */
typedef struct mc_allocator {
    void *(*alloc)(void *user, size_t size);
    void (*release)(void *user, void *ptr);
    void *user;
} mc_allocator;

typedef struct mc_ctx mc_ctx;

/* Creates a context in *out. `allocator` (copied) may be NULL for malloc/free; the context
 * itself is allocated through it. The RNG starts from `seed`.
 * Returns MC_OK or MC_ERR_NOMEM (then *out is NULL). */
mc_status mc_ctx_create(const mc_allocator *allocator, uint64_t seed, mc_ctx **out);

/* Frees the context; NULL is allowed. */
void mc_ctx_destroy(mc_ctx *ctx);

/* The message of the last failed call made with this context ("" if none): what went wrong,
 * naming the layer, file or numbers involved. Borrowed, valid until the next failing call. */
const char *mc_ctx_message(const mc_ctx *ctx);

/* Clears the last message. */
void mc_ctx_clear_message(mc_ctx *ctx);

/* Records a message (printf format) and returns `status`, for callbacks that want to explain
 * their failure. */
mc_status mc_ctx_fail(mc_ctx *ctx, mc_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocates `size` bytes through the context's allocator (NULL on failure, no message) and
 * frees them. Every block minicnn returns to the caller (text, arrays) is freed with mc_free. */
void *mc_alloc(mc_ctx *ctx, size_t size);
void mc_free(mc_ctx *ctx, void *ptr);

/* Restarts the RNG from `seed` (xoshiro256** seeded through splitmix64). */
void mc_rng_seed(mc_ctx *ctx, uint64_t seed);

/* The RNG's full state, to save it in a checkpoint and restore it bit for bit. */
typedef struct mc_rng_state {
    uint64_t s[4];
} mc_rng_state;
mc_rng_state mc_rng_get_state(const mc_ctx *ctx);
void mc_rng_set_state(mc_ctx *ctx, mc_rng_state state);

/* Next 64 random bits. */
uint64_t mc_rng_next(mc_ctx *ctx);

/* Uniform double in [0, 1) with 53 random bits. */
double mc_rng_uniform(mc_ctx *ctx);

/* Standard normal double (Box-Muller; consumes two uniforms per call, caches nothing). */
double mc_rng_normal(mc_ctx *ctx);

/* Threads. minicnn runs its layers' kernels on n threads (process-wide; n < 1 means every
 * online core, the default before any call). Each kernel splits its work into tasks fixed by
 * the shapes alone and adds partial sums in a fixed order, so results are bit for bit the same
 * whatever n. OpenBLAS is kept single-threaded while minicnn's threads call it, so that the
 * two never oversubscribe the cores. */
void mc_set_threads(int n);

/* The thread count in force (mc_set_threads's, or every online core). */
int mc_get_threads(void);

/* The number of online cores, at least 1. */
int mc_num_cores(void);

/* Vector kernels. minicnn picks at run time the best of its kernel versions the CPU runs
 * (AVX-512, AVX2 with FMA, portable C). mc_set_max_isa("avx2") or ("portable") caps that choice
 * process-wide, as oneDNN's ONEDNN_MAX_CPU_ISA does: to test the lower versions on a machine
 * that has more, or to compare them. "avx512" lifts the cap. An unknown name is an error. The
 * minicnn command and the test suites take it from the environment variable MINICNN_MAX_ISA. */
mc_status mc_set_max_isa(mc_ctx *ctx, const char *name);

#ifdef __cplusplus
}
#endif

#endif
