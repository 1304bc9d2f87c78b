/* SPDX-License-Identifier: MIT */
/* A memory limit must end in "out of memory while ...", never in a hang inside OpenBLAS.
 *
 * OpenBLAS 0.3.21 (Debian 12) takes a work buffer of BUFFER_SIZE (128 MiB on x86_64) plus a
 * page the first time a thread calls a level-3 routine concurrently with the others, keeps it
 * for the life of the process, and when that allocation fails it retries forever (OpenBLAS
 * issue 5289; 0.3.30 exits the process instead, which a library must not do either). Before
 * the first forward pass the library therefore checks that one such buffer per thread still
 * fits in the address space, and refuses with MC_ERR_NOMEM if not; the buffers OpenBLAS then
 * takes come out of the room just checked, as nothing is allocated between the check and the
 * first multiplications. */
#include <stdlib.h>

#include "internal.h"

/* 128 MiB and a 4 KiB page, as gdb shows OpenBLAS asking malloc for; generous for builds with
 * smaller buffers (32 MiB on most other targets), which then only refuse a little early. */
#define BLAS_BUFFER_BYTES (((size_t)128 << 20) + 4096)

mc_status mc__blas_reserve(mc_ctx *ctx)
{
    int want = mc_get_threads();
    if (want < 1)
        want = 1;
    if (mc__ctx_blas_reserved(ctx) >= want)
        return MC_OK;
    void *probe[64];
    if (want > 64)
        want = 64;
    int got = 0;
    while (got < want && (probe[got] = malloc(BLAS_BUFFER_BYTES)) != NULL)
        got++;
    for (int i = 0; i < got; i++)
        free(probe[i]);
    if (got < want)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM,
                           "out of memory while reserving OpenBLAS's work buffers (%zu bytes for "
                           "each of %d threads; room for %d): raise the memory limit or lower "
                           "--threads",
                           BLAS_BUFFER_BYTES, want, got);
    mc__ctx_set_blas_reserved(ctx, want);
    return MC_OK;
}
