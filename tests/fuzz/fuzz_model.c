/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: model files and checkpoints. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_budget b;
    mc_ctx *ctx = fuzz_ctx(&b);
    const size_t base = b.used; /* the context itself */
    const char *path = fuzz_file(data, size, ".mcnn");
    mc_net *net = NULL;
    mc_status st = mc_model_load(ctx, path, 2, &net);
    fuzz_check(ctx, st);
    mc_net_destroy(net);
    mc_train_state *state = NULL;
    net = NULL;
    st = mc_checkpoint_load(ctx, path, &net, &state);
    fuzz_check(ctx, st);
    mc_train_state_destroy(state);
    mc_net_destroy(net);
    if (b.used != base)
        abort();
    mc_ctx_destroy(ctx);
    return 0;
}
