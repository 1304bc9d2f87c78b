/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: network files, parsed and then assembled for a batch of 2 within a memory
 * budget, with one forward pass when that works. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, (const char *)data, size, "fuzz.net", &net, NULL);
    fuzz_check(ctx, st);
    if (st == MC_OK) {
        char *text = NULL;
        if (mc_net_describe(net, &text) == MC_OK)
            mc_free(ctx, text);
        st = mc_net_assemble(net, 2);
        fuzz_check(ctx, st);
        mc_shape xs = st == MC_OK ? mc_net_input_shape(net, 2) : mc_shape_make(0, NULL);
        const size_t n = mc_shape_numel(&xs);
        if (st == MC_OK && n > 0 && n < ((size_t)1 << 22)) {
            float *x = calloc(n, sizeof(float));
            if (x != NULL && mc_net_forward(net, x, 2, MC_MODE_TRAINING) == MC_OK) {
                int labels[2] = {0, 0};
                double loss;
                if (mc_net_loss(net, labels, &loss) == MC_OK)
                    mc_net_backward(net, labels);
            }
            free(x);
            if (mc_net_analyze(net, &text) == MC_OK)
                mc_free(ctx, text);
        }
    }
    mc_net_destroy(net);
    if (b.used != base)
        abort();
    mc_ctx_destroy(ctx);
    return 0;
}
