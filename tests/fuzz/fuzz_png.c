/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: PNG images read for a 28x28 gray input (resized) and for a 16x16 RGB one
 * (gray2rgb, no resizing). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    const char *path = fuzz_file(data, size, ".png");
    static float out[3 * 28 * 28];
    mc_image_options o = mc_image_default(28, 28, 1);
    o.color = MC_COLOR_RGB2GRAY;
    fuzz_check(ctx, mc_png_read(ctx, path, &o, out));
    o = mc_image_default(16, 16, 3);
    o.color = MC_COLOR_GRAY2RGB;
    o.resize = false;
    fuzz_check(ctx, mc_png_read(ctx, path, &o, out));
    if (b.used != base)
        abort();
    mc_ctx_destroy(ctx);
    return 0;
}
