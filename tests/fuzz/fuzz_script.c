/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: MATLAB scripts, parsed and checked (names resolved, literal layer calls
 * built) within a memory budget; nothing runs. */
#include <minicnn/script.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    mc_script *s = NULL;
    mc_status st = mc_script_parse(ctx, (const char *)data, size, "fuzz.m", &s);
    fuzz_check(ctx, st);
    mc_script_destroy(s);
    if (b.used != base)
        abort();
    mc_ctx_destroy(ctx);
    return 0;
}
