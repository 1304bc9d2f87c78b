/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: imageDataAugmenter expressions, parsed, formatted and parsed back, then
 * applied to a small image for a few epochs (every output value must be finite or the fill). */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *expr = malloc(size + 1);
    if (expr == NULL)
        return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used;
    mc_augmenter *aug = NULL;
    mc_status st = mc_augmenter_parse(ctx, expr, &aug);
    fuzz_check(ctx, st);
    if (st == MC_OK) {
        /* the text it prints parses back to the same options */
        char text[2048];
        if (mc_augmenter_format(aug, text, sizeof text) < sizeof text) {
            mc_augmenter *again = NULL;
            if (mc_augmenter_parse(ctx, text, &again) != MC_OK)
                abort();
            mc_augmenter_destroy(again);
        }
        float x[2 * 5 * 6], y[2 * 5 * 6];
        for (int i = 0; i < 60; i++)
            x[i] = (float)(i % 7);
        const int C = mc_augmenter_check(ctx, aug, 2, 5, 6) == MC_OK ? 2 : 1;
        for (int epoch = 1; epoch <= 4; epoch++) {
            mc_augmenter_apply(aug, epoch, (size_t)epoch * 7, x, y, C, 5, 6);
            for (int i = 0; i < C * 30; i++)
                if (isnan(y[i]))
                    abort();
        }
    }
    mc_augmenter_destroy(aug);
    if (b.used != base)
        abort();
    mc_ctx_destroy(ctx);
    free(expr);
    return 0;
}
