/* SPDX-License-Identifier: MIT */
/* A network of dropout, average and global pooling and both concatenations
 * (tests/fixtures/dropout_pool_concat.net) trains: the loss falls, the accuracy beats chance,
 * the weights are the same for one seed and for any thread count, and a saved model predicts
 * as the trained network (dropout the identity at inference). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define N_OBS 128

/* 8x8 images in 4 classes: each class a bright quadrant, plus noise, on a scale that keeps
 * the scores away from 0 and 1. */
static mc_dataset quadrants(uint64_t seed)
{
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, N_OBS, 1, 8, 8);
    ds.x = test_floats((size_t)N_OBS * 64);
    ds.labels = calloc(N_OBS, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = 4;
    test_rng r = {seed};
    for (int i = 0; i < N_OBS; i++) {
        ds.labels[i] = i % 4;
        for (int p = 0; p < 64; p++) {
            const int q = (p / 8 >= 4) * 2 + (p % 8 >= 4);
            ds.x[(size_t)i * 64 + p] =
                (float)((q == i % 4 ? 1.5 : 0.6) + 0.4 * test_rng_normal(&r));
        }
    }
    return ds;
}

static mc_net *load_net(mc_ctx *ctx, int batch)
{
    bool graph = false;
    mc_net *net = test_fixture_net(ctx, "dropout_pool_concat.net", batch, &graph);
    ck_assert(graph);
    return net;
}

typedef struct losses {
    double first_epoch, last_epoch; /* mean mini-batch loss */
    int per_epoch, epochs;
    double sum;
} losses;

static int on_progress(void *user, const mc_train_progress *p)
{
    losses *l = user;
    l->sum += p->loss;
    if (p->epoch_end) {
        const double mean = l->sum / p->iterations_per_epoch;
        if (p->epoch == 1)
            l->first_epoch = mean;
        l->last_epoch = mean;
        l->sum = 0;
    }
    return 0;
}

/* Trains from `seed` on `threads` threads; returns every learnable value, concatenated, and the
 * losses and accuracy when asked for. */
static float *train(uint64_t seed, int threads, size_t *count, losses *l, double *accuracy)
{
    mc_set_threads(threads);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, seed);
    mc_dataset ds = quadrants(3);
    mc_net *net = load_net(ctx, 64);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 64), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.initial_learn_rate = 0.01;
    o.mini_batch_size = 32;
    o.max_epochs = 12;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    losses mine = {0};
    mc_status st = mc_train(net, &ds, &o, on_progress, l != NULL ? l : &mine);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    if (accuracy != NULL) {
        double loss;
        ck_assert_int_eq(mc_evaluate(net, &ds, accuracy, &loss), MC_OK);
    }
    float *w = test_learnables(net, count);
    mc_net_destroy(net);
    free(ds.x);
    free(ds.labels);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    mc_set_threads(0);
    return w;
}

START_TEST(test_trains)
{
    losses l = {0};
    double accuracy = 0;
    size_t n;
    float *w = train(17, 0, &n, &l, &accuracy);
    ck_assert_msg(l.last_epoch < 0.5 * l.first_epoch,
                  "mean loss %g in the first epoch, %g in the last", l.first_epoch, l.last_epoch);
    ck_assert_msg(accuracy > 0.9, "training accuracy %g", accuracy);
    free(w);
}
END_TEST

START_TEST(test_reproducible_and_threads)
{
    size_t n1, n2, n3, n4;
    float *w1 = train(5, 1, &n1, NULL, NULL);
    float *w2 = train(5, 2, &n2, NULL, NULL);
    float *w3 = train(5, 3, &n3, NULL, NULL);
    float *w4 = train(6, 1, &n4, NULL, NULL);
    ck_assert_uint_eq(n1, n2);
    ck_assert_uint_eq(n1, n3);
    ck_assert_msg(memcmp(w1, w2, n1 * sizeof(float)) == 0, "1 and 2 threads: other weights");
    ck_assert_msg(memcmp(w1, w3, n1 * sizeof(float)) == 0, "1 and 3 threads: other weights");
    ck_assert_msg(memcmp(w1, w4, n1 * sizeof(float)) != 0, "the seed is ignored");
    free(w1);
    free(w2);
    free(w3);
    free(w4);
}
END_TEST

/* Dropout changes the training forward but not inference: two inference passes agree, and a
 * model saved and loaded again scores the data as the network did. */
START_TEST(test_inference_and_model)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 9);
    mc_dataset ds = quadrants(4);
    mc_net *net = load_net(ctx, 64);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 64), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 32;
    o.max_epochs = 2;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    const size_t n_scores = 64 * 4;
    float *s1 = test_floats(n_scores), *s2 = test_floats(n_scores);
    ck_assert_int_eq(mc_net_forward(net, ds.x, 64, MC_MODE_INFERENCE), MC_OK);
    memcpy(s1, mc_net_scores(net), n_scores * sizeof(float));
    ck_assert_int_eq(mc_net_forward(net, ds.x, 64, MC_MODE_TRAINING), MC_OK);
    ck_assert(memcmp(s1, mc_net_scores(net), n_scores * sizeof(float)) != 0);
    ck_assert_int_eq(mc_net_forward(net, ds.x, 64, MC_MODE_INFERENCE), MC_OK);
    ck_assert_mem_eq(s1, mc_net_scores(net), n_scores * sizeof(float));

    char path[] = "/tmp/minicnn_poolnet_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(mc_model_save(net, path) == MC_OK, "%s", mc_ctx_message(ctx));
    mc_net *back = NULL;
    ck_assert_msg(mc_model_load(ctx, path, 64, &back) == MC_OK, "%s", mc_ctx_message(ctx));
    unlink(path);
    ck_assert_int_eq(mc_net_forward(back, ds.x, 64, MC_MODE_INFERENCE), MC_OK);
    memcpy(s2, mc_net_scores(back), n_scores * sizeof(float));
    ck_assert_mem_eq(s1, s2, n_scores * sizeof(float));
    mc_net_destroy(back);
    mc_net_destroy(net);
    free(s1);
    free(s2);
    free(ds.x);
    free(ds.labels);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Dropout's masks come from the context's RNG, which checkpoints carry: 4 epochs straight and
 * 2 epochs resumed from the checkpoint after epoch 2 end with the same weights. */
START_TEST(test_resume)
{
    char dir[] = "/tmp/minicnn_poolnet_ckpt_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 13);
    mc_dataset ds = quadrants(5);
    mc_net *net = load_net(ctx, 32);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 32), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.mini_batch_size = 32;
    o.max_epochs = 4;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    o.checkpoint_path = dir;
    ck_assert_msg(mc_train(net, &ds, &o, NULL, NULL) == MC_OK, "%s", mc_ctx_message(ctx));
    size_t n1, n2;
    float *straight = test_learnables(net, &n1);
    mc_net_destroy(net);

    /* The checkpoint of iteration 8 (4 iterations an epoch); every file is removed. */
    char path[600] = "", name[600];
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(name, sizeof name, "%s/%s", dir, e->d_name);
        if (strncmp(e->d_name, "net_checkpoint__8__", 19) == 0)
            snprintf(path, sizeof path, "%s", name);
    }
    closedir(d);
    ck_assert_msg(path[0] != '\0', "no checkpoint of iteration 8 in %s", dir);
    mc_train_state *state = NULL;
    ck_assert_msg(mc_checkpoint_load(ctx, path, &net, &state) == MC_OK, "%s", mc_ctx_message(ctx));
    mc_rng_seed(ctx, 4242); /* whatever the RNG did meanwhile */
    ck_assert_msg(mc_train_resume(net, &ds, state, NULL, NULL, NULL, NULL) == MC_OK, "%s",
                  mc_ctx_message(ctx));
    float *resumed = test_learnables(net, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(straight, resumed, n1 * sizeof(float)) == 0, "resumed weights differ");
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') {
            snprintf(name, sizeof name, "%s/%s", dir, e->d_name);
            unlink(name);
        }
    closedir(d);
    rmdir(dir);
    free(straight);
    free(resumed);
    mc_train_state_destroy(state);
    mc_net_destroy(net);
    free(ds.x);
    free(ds.labels);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* The Layer array display: each new layer's type and MATLAB's description. */
START_TEST(test_layer_array_display)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const char *text = "layers = [imageInputLayer([8 8 2])\n"
                       "  averagePooling2dLayer(2,'Stride',2)\n"
                       "  dropoutLayer\n"
                       "  globalMaxPooling2dLayer('Name','gmp')\n"
                       "  globalAveragePooling2dLayer\n"
                       "  depthConcatenationLayer(2)\n"
                       "  concatenationLayer(1,3)]";
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL), MC_OK);
    char *got = NULL;
    ck_assert_int_eq(mc_net_describe(net, &got), MC_OK);
    const char *const rows[] = {
        "     2   ''      Average Pooling          2x2 average pooling with stride [2  2] and "
        "padding [0  0  0  0]\n",
        "     3   ''      Dropout                  50% dropout\n",
        "     4   'gmp'   Global Max Pooling       Global max pooling\n",
        "     5   ''      Global Average Pooling   Global average pooling\n",
        "     6   ''      Depth concatenation      Depth concatenation of 2 inputs\n",
        "     7   ''      Concatenation            Concatenation of 3 inputs along dimension 1\n"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_msg(strstr(got, rows[i]) != NULL, "no row\n%s\nin\n%s", rows[i], got);
    mc_free(ctx, got);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *poolnet_suite(void)
{
    Suite *s = suite_create("poolnet");
    TCase *display = tcase_create("display");
    tcase_add_test(display, test_layer_array_display);
    suite_add_tcase(s, display);
    TCase *tc = tcase_create("training");
    tcase_add_test(tc, test_trains);
    tcase_add_test(tc, test_reproducible_and_threads);
    tcase_add_test(tc, test_inference_and_model);
    tcase_add_test(tc, test_resume);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(poolnet_suite());
}
