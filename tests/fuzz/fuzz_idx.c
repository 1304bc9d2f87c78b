/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: IDX files (raw or gzip) and the data set built from them. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    const char *path = fuzz_file(data, size, ".idx");
    mc_idx idx;
    mc_status st = mc_idx_read(ctx, path, &idx);
    fuzz_check(ctx, st);
    if (st == MC_OK) {
        for (size_t i = 0; i < idx.count; i++)
            if (idx.values[i] != idx.values[i])
                abort(); /* NaN must have been refused */
        mc_idx_release(ctx, &idx);
    }
    st = mc_idx_read_header(ctx, path, &idx);
    fuzz_check(ctx, st);
    mc_dataset ds;
    st = mc_dataset_read_idx(ctx, path, path, &ds);
    fuzz_check(ctx, st);
    if (st == MC_OK)
        mc_dataset_release(ctx, &ds);
    /* the headers against a network's expectation: 28x28 gray images in 10 classes */
    const mc_data_expect e = {28, 28, 1, size % 2 == 0, 10, "training data"};
    st = mc_dataset_read_idx_expect(ctx, path, path, &e, &ds);
    fuzz_check(ctx, st);
    if (st == MC_OK)
        mc_dataset_release(ctx, &ds);
    if (b.used != base)
        abort(); /* everything given back */
    mc_ctx_destroy(ctx);
    return 0;
}
