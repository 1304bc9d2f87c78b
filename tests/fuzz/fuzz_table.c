/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: CSV tables and the feature data sets made from them. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    const char *path = fuzz_file(data, size, ".csv");
    mc_table t;
    mc_status st = mc_table_read_csv(ctx, path, &t);
    fuzz_check(ctx, st);
    if (st == MC_OK) {
        for (int omit = 0; omit < 2; omit++) {
            mc_table_options o = mc_table_default();
            o.omit_missing = omit;
            mc_table_data d;
            st = mc_table_to_data(ctx, &t, &o, &d);
            fuzz_check(ctx, st);
            if (st != MC_OK)
                continue;
            size_t n = (size_t)d.data.shape.dims[0] * (size_t)d.data.shape.dims[1];
            for (size_t i = 0; i < n; i++)
                if (!isfinite(d.data.x[i]))
                    abort(); /* non-finite values must have been refused */
            for (int i = 0; i < d.data.shape.dims[0]; i++)
                if (d.data.labels[i] < 0 || d.data.labels[i] >= d.data.num_classes)
                    abort();
            mc_table_data_release(ctx, &d);
        }
        mc_table_release(ctx, &t);
    }
    if (b.used != base)
        abort(); /* everything given back */
    mc_ctx_destroy(ctx);
    return 0;
}
