/* SPDX-License-Identifier: MIT */
/* Checkpoints: resuming gives bitwise the weights of an uninterrupted run; a process killed
 * while saving leaves a readable file. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const char *const net_text = "layers = [imageInputLayer([4 4 1])\n"
                                    "  convolution2dLayer(3,4,'Padding','same')\n"
                                    "  batchNormalizationLayer\n"
                                    "  reluLayer\n"
                                    "  groupNormalizationLayer(2)\n"
                                    "  fullyConnectedLayer(3)\n"
                                    "  softmaxLayer\n"
                                    "  classificationLayer]";

static char dir[64];

static void make_dir(void)
{
    test_make_dir(dir, sizeof dir, "checkpoint");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
}

static mc_dataset data(int n)
{
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, n, 1, 4, 4);
    ds.x = test_floats((size_t)n * 16);
    ds.labels = calloc((size_t)n, sizeof(int));
    ds.num_classes = 3;
    test_rng r = {77};
    for (int i = 0; i < n; i++) {
        ds.labels[i] = i % 3;
        for (int p = 0; p < 16; p++)
            ds.x[(size_t)i * 16 + p] = (float)(50.0 * (p % 3 == i % 3) + 20 * test_rng_normal(&r));
    }
    return ds;
}

static mc_net *make_net(mc_ctx *ctx, const mc_dataset *ds)
{
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, net_text, strlen(net_text), "t.net", &net, NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, 6), MC_OK);
    ck_assert_int_eq(mc_net_fit_input(net, ds, 30), MC_OK);
    return net;
}

static float *weights(const mc_net *net, size_t *n)
{
    float *w = test_learnables(net, n);
    /* and the batch-norm statistics, which are state too */
    for (int l = 0; l < mc_net_num_layers(net); l++)
        for (int b = 0; b < mc_layer_num_buffers(mc_net_layer(net, l)); b++) {
            const mc_tensor *t = mc_layer_buffer(mc_net_layer(net, l), b, NULL);
            w = realloc(w, (*n + mc_tensor_numel(t)) * sizeof(float));
            memcpy(w + *n, t->data, mc_tensor_numel(t) * sizeof(float));
            *n += mc_tensor_numel(t);
        }
    return w;
}

static void checkpoint_path(int iteration, char *out, size_t cap)
{
    test_checkpoint_path(dir, iteration, out, cap);
}

/* For each solver and shuffle: 4 epochs straight, and 2 + resumed 2; same bits. */
START_TEST(test_resume_is_bitwise_identical)
{
    const mc_solver solver = (mc_solver)(_i % 3);
    const mc_shuffle shuffle = _i < 3 ? MC_SHUFFLE_EVERY_EPOCH : MC_SHUFFLE_ONCE;
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 5);
    mc_dataset ds = data(30), val = data(9);
    mc_train_options o = mc_train_default(solver);
    o.mini_batch_size = 6;
    o.max_epochs = 4;
    o.shuffle = shuffle;
    o.schedule = MC_SCHEDULE_PIECEWISE;
    o.learn_rate_drop_period = 1;
    o.learn_rate_drop_factor = 0.5;
    o.validation = &val;
    o.validation_frequency = 3;
    o.checkpoint_path = dir;
    mc_net *net = make_net(ctx, &ds);
    mc_status st = mc_train(net, &ds, &o, NULL, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    size_t n1;
    float *straight = weights(net, &n1);
    mc_net_destroy(net);

    char path[512];
    checkpoint_path(10, path, sizeof path); /* after epoch 2 of 5 iterations each */
    mc_train_state *state = NULL;
    st = mc_checkpoint_load(ctx, path, &net, &state);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(mc_train_state_epochs_done(state), 2);
    ck_assert_int_eq(mc_train_state_iteration(state), 10);
    ck_assert_int_eq(mc_train_state_options(state)->max_epochs, 4);
    mc_rng_seed(ctx, 999); /* whatever the RNG did meanwhile */
    st = mc_train_resume(net, &ds, state, NULL, &val, NULL, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    size_t n2;
    float *resumed = weights(net, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(straight, resumed, n1 * sizeof(float)) == 0,
                  "solver %d: resumed weights differ", solver);
    /* The checkpoint after epoch 4 holds the final weights too; classify-style loading works. */
    mc_net *final = NULL;
    checkpoint_path(20, path, sizeof path);
    ck_assert_int_eq(mc_model_load(ctx, path, 4, &final), MC_OK);
    size_t n3;
    float *loaded = weights(final, &n3);
    ck_assert_mem_eq(loaded, straight, n1 * sizeof(float));
    /* Other data is refused. */
    mc_train_state *again = NULL;
    mc_net *net2 = NULL;
    checkpoint_path(10, path, sizeof path);
    ck_assert_int_eq(mc_checkpoint_load(ctx, path, &net2, &again), MC_OK);
    ds.x[7] += 1.0f;
    ck_assert_int_eq(mc_train_resume(net2, &ds, again, NULL, NULL, NULL, NULL), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "the checkpoint was made with other "
                                                      "training data (30 observations)"));
    /* A trained network is not a checkpoint. */
    ck_assert_int_eq(mc_model_save(final, "/tmp/minicnn-not-a-checkpoint.mcnn"), MC_OK);
    mc_net *net3 = NULL;
    mc_train_state *none = NULL;
    ck_assert_int_eq(mc_checkpoint_load(ctx, "/tmp/minicnn-not-a-checkpoint.mcnn", &net3, &none),
                     MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "is a trained network, not a checkpoint"));
    ck_assert_ptr_null(net3);
    remove("/tmp/minicnn-not-a-checkpoint.mcnn");
    free(straight);
    free(resumed);
    free(loaded);
    mc_train_state_destroy(state);
    mc_train_state_destroy(again);
    mc_net_destroy(net);
    mc_net_destroy(net2);
    mc_net_destroy(final);
    free(ds.x);
    free(ds.labels);
    free(val.x);
    free(val.labels);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A child saves two different networks over one file, again and again; it is killed at many
 * moments. Whatever is on disk then loads, and is one of the two networks. */
START_TEST(test_kill_while_saving)
{
    make_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.mcnn", dir);
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(NULL, 1, &ctx), MC_OK);
    mc_dataset ds = data(12);
    mc_net *nets[2] = {make_net(ctx, &ds), make_net(ctx, &ds)};
    float sums[2];
    for (int k = 0; k < 2; k++) {
        mc_param *w = mc_net_param(nets[k], 0);
        w->value.data[0] = (float)k + 0.5f;
        sums[k] = w->value.data[0];
    }
    ck_assert_int_eq(mc_model_save(nets[0], path), MC_OK);
    struct timespec seed;
    clock_gettime(CLOCK_MONOTONIC, &seed);
    test_rng r = {(uint64_t)seed.tv_nsec};
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            for (int k = 0;; k ^= 1)
                if (mc_model_save(nets[k], path) != MC_OK)
                    _exit(1);
        }
        const long us = 200 + (long)(test_rng_uniform(&r) * 20000);
        struct timespec wait = {0, us * 1000};
        nanosleep(&wait, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status), "the saving child stopped by itself");
        mc_net *back = NULL;
        mc_status st = mc_model_load(ctx, path, 1, &back);
        ck_assert_msg(st == MC_OK, "round %d: %s", round, mc_ctx_message(ctx));
        const float v = mc_net_param(back, 0)->value.data[0];
        ck_assert(v == sums[0] || v == sums[1]);
        mc_net_destroy(back);
    }
    mc_net_destroy(nets[0]);
    mc_net_destroy(nets[1]);
    free(ds.x);
    free(ds.labels);
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

/* Every prefix and every single-bit flip of a checkpoint is refused cleanly by the checkpoint
 * reader (flips of deflate bits that change nothing read must give the same state back). */
START_TEST(test_every_truncation_and_flip)
{
    FILE *f = fopen(MC_SOURCE_DIR "/tests/fuzz/corpus/model/checkpoint.mcnn", "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char b[8192];
    const size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    ck_assert(n > 500 && n < sizeof b);
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/c.mcnn", dir);
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(NULL, 1, &ctx), MC_OK);
    mc_net *whole = NULL;
    mc_train_state *whole_state = NULL;
    ck_assert_int_eq(mc_checkpoint_load(ctx,
                                        MC_SOURCE_DIR "/tests/fuzz/corpus/model/checkpoint.mcnn",
                                        &whole, &whole_state),
                     MC_OK);
    size_t nw;
    float *want = weights(whole, &nw);
    int harmless = 0;
    for (size_t k = 0; k <= n; k++)
        for (int bit = -1; bit < 8; bit++) {
            if (k == n && bit >= 0)
                break;
            FILE *w = fopen(path, "wb");
            ck_assert_ptr_nonnull(w);
            if (bit < 0) { /* the prefix of k bytes */
                ck_assert_uint_eq(fwrite(b, 1, k, w), k);
            } else {
                b[k] ^= (unsigned char)(1 << bit);
                ck_assert_uint_eq(fwrite(b, 1, n, w), n);
                b[k] ^= (unsigned char)(1 << bit);
            }
            ck_assert_int_eq(fclose(w), 0);
            mc_net *net = NULL;
            mc_train_state *state = NULL;
            mc_status st = mc_checkpoint_load(ctx, path, &net, &state);
            if (bit < 0 && k == n) {
                ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
            } else if (st == MC_OK) {
                ck_assert_msg(bit >= 0, "a prefix of %zu bytes loaded", k);
                size_t ng;
                float *got = weights(net, &ng);
                ck_assert_msg(ng == nw && memcmp(got, want, nw * sizeof(float)) == 0,
                              "bit %d of byte %zu changed the network unnoticed", bit, k);
                ck_assert_int_eq(mc_train_state_iteration(state),
                                 mc_train_state_iteration(whole_state));
                free(got);
                harmless++;
            } else {
                ck_assert_msg(st == MC_ERR_FORMAT, "byte %zu bit %d: %s (%s)", k, bit,
                              mc_status_name(st), mc_ctx_message(ctx));
                ck_assert_ptr_null(net);
                ck_assert_ptr_null(state);
            }
            mc_train_state_destroy(state);
            mc_net_destroy(net);
        }
    ck_assert_msg(harmless * 100 < (int)n * 8, "%d flips changed nothing", harmless);
    free(want);
    mc_train_state_destroy(whole_state);
    mc_net_destroy(whole);
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_resume_is_bitwise_identical, 0, 6);
    tcase_add_test(tc, test_kill_while_saving);
    tcase_add_test(tc, test_every_truncation_and_flip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(checkpoint_suite());
}
