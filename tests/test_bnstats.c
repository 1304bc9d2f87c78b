/* SPDX-License-Identifier: MIT */
/* trainingOptions' BatchNormalizationStatistics: 'population' (the default) leaves every batch
 * normalization layer with the mean and variance of its input over the whole training set,
 * computed as MATLAB's finalization does (one more pass in training mode); 'moving' keeps the
 * running averages. Checked against naive double oracles, across thread counts and through a
 * checkpoint. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* Batch normalization straight after an unnormalized input sees the data itself; the second
 * one sees what convolution, the first and ReLU make of it. */
static const char *const net_text = "layers = [imageInputLayer([4 4 2],'Normalization','none')\n"
                                    "  batchNormalizationLayer\n"
                                    "  convolution2dLayer(3,3,'Padding','same')\n"
                                    "  batchNormalizationLayer\n"
                                    "  reluLayer\n"
                                    "  fullyConnectedLayer(3)\n"
                                    "  softmaxLayer\n"
                                    "  classificationLayer]";

enum { BN1 = 1, BN2 = 3, PER = 32 };

static mc_dataset data(int n)
{
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, n, 2, 4, 4);
    ds.x = test_floats((size_t)n * PER);
    ds.labels = calloc((size_t)n, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = 3;
    test_rng r = {41};
    for (int i = 0; i < n; i++) {
        ds.labels[i] = i % 3;
        for (int p = 0; p < PER; p++) /* channel 1 far from 0 and 1: both statistics move */
            ds.x[(size_t)i * PER + p] = (float)((p < 16 ? 0.0 : 7.0) + 3.0 * (p % 3 == i % 3) +
                                                (p < 16 ? 1.0 : 2.5) * test_rng_normal(&r));
    }
    return ds;
}

static void free_data(mc_dataset *ds)
{
    free(ds->x);
    free(ds->labels);
}

static mc_net *make_net(mc_ctx *ctx, int batch)
{
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, net_text, strlen(net_text), "t.net", &net, NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, batch), MC_OK);
    ck_assert(strcmp(mc_net_layer(net, BN1)->vt->kind, "batchNormalizationLayer") == 0);
    ck_assert(strcmp(mc_net_layer(net, BN2)->vt->kind, "batchNormalizationLayer") == 0);
    return net;
}

static const float *buffer(const mc_net *net, int layer, int b)
{
    return mc_layer_buffer(mc_net_layer(net, layer), b, NULL)->data;
}

/* The learnables followed by every buffer. */
static float *state(const mc_net *net, size_t *n)
{
    float *w = test_learnables(net, n);
    for (int l = 0; l < mc_net_num_layers(net); l++)
        for (int b = 0; b < mc_layer_num_buffers(mc_net_layer(net, l)); b++) {
            const mc_tensor *t = mc_layer_buffer(mc_net_layer(net, l), b, NULL);
            w = realloc(w, (*n + mc_tensor_numel(t)) * sizeof(float));
            ck_assert_ptr_nonnull(w);
            memcpy(w + *n, t->data, mc_tensor_numel(t) * sizeof(float));
            *n += mc_tensor_numel(t);
        }
    return w;
}

static mc_train_options options(mc_bn_statistics stats)
{
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    o.max_epochs = 3;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    o.initial_learn_rate = 0.05;
    o.batch_normalization_statistics = stats;
    return o;
}

/* The naive oracle: mean and biased variance per channel of every value the layer before
 * `bn` outputs when the training set goes through the network in training mode, in chunks of
 * `batch` observations in data order, summed in double in two passes. */
static void oracle(mc_net *net, const mc_dataset *ds, int batch, int bn, double *mean, double *var)
{
    const mc_shape s = mc_net_activation_shape(net, bn - 1);
    const int C = s.dims[1], N = ds->shape.dims[0];
    size_t S = 1;
    for (int d = 2; d < s.ndim; d++)
        S *= (size_t)s.dims[d];
    double *sum = test_doubles((size_t)C), *ss = test_doubles((size_t)C);
    for (int c = 0; c < C; c++)
        sum[c] = ss[c] = 0.0;
    for (int pass = 0; pass < 2; pass++)
        for (int n = 0; n < N; n += batch) {
            const int b = N - n < batch ? N - n : batch;
            ck_assert_int_eq(mc_net_forward(net, ds->x + (size_t)n * PER, b, MC_MODE_TRAINING),
                             MC_OK);
            const float *a = mc_net_activation(net, bn - 1);
            for (int i = 0; i < b; i++)
                for (int c = 0; c < C; c++)
                    for (size_t p = 0; p < S; p++) {
                        const double v = a[((size_t)i * C + c) * S + p];
                        if (pass == 0)
                            sum[c] += v;
                        else
                            ss[c] += (v - mean[c]) * (v - mean[c]);
                    }
            if (pass == 0 && n + batch >= N)
                for (int c = 0; c < C; c++)
                    mean[c] = sum[c] / ((double)N * (double)S);
        }
    for (int c = 0; c < C; c++)
        var[c] = ss[c] / ((double)N * (double)S);
    free(sum);
    free(ss);
}

static void assert_close(const float *got, const double *want, int n, const char *what)
{
    for (int c = 0; c < n; c++)
        ck_assert_msg(fabs((double)got[c] - want[c]) <= 1e-6 * (1.0 + fabs(want[c])),
                      "%s[%d]: %.9g, the oracle %.9g", what, c, (double)got[c], want[c]);
}

/* 30 observations in mini-batches of 8: the last chunk of the pass has 6. */
START_TEST(test_population_is_the_whole_training_set)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = data(30);
    mc_net *net = make_net(ctx, 8);
    const mc_train_options o = options(MC_BN_POPULATION);
    ck_assert_int_eq(mc_train_default(MC_SOLVER_ADAM).batch_normalization_statistics,
                     MC_BN_POPULATION);
    mc_status st = mc_train(net, &ds, &o, NULL, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    float got[4][3];
    for (int k = 0; k < 4; k++)
        memcpy(got[k], buffer(net, k < 2 ? BN1 : BN2, k % 2), (k < 2 ? 2 : 3) * sizeof(float));
    double mean[3], var[3];
    oracle(net, &ds, 8, BN1, mean, var);
    assert_close(got[0], mean, 2, "TrainedMean of batchnorm_1");
    assert_close(got[1], var, 2, "TrainedVariance of batchnorm_1");
    ck_assert(fabs(mean[1] - 8.0) < 0.5); /* far from where the moving average starts */
    oracle(net, &ds, 8, BN2, mean, var);
    assert_close(got[2], mean, 3, "TrainedMean of batchnorm_2");
    assert_close(got[3], var, 3, "TrainedVariance of batchnorm_2");
    mc_net_destroy(net);
    free_data(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* 'moving' is the behaviour before the option: the running averages of the mini-batches, here
 * for the layer that sees the data itself (shuffle 'never': the batches in data order). The
 * learnables are the same under both options; only the statistics differ. */
START_TEST(test_moving_keeps_the_running_averages)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = data(32);
    mc_train_options o = options(MC_BN_MOVING);
    o.shuffle = MC_SHUFFLE_NEVER;
    o.max_epochs = 2;
    mc_net *net = make_net(ctx, 8);
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    double tm[2] = {0, 0}, tv[2] = {1, 1};
    for (int epoch = 0; epoch < 2; epoch++)
        for (int n = 0; n < 32; n += 8)
            for (int c = 0; c < 2; c++) {
                double s = 0, ss = 0;
                for (int i = n; i < n + 8; i++)
                    for (int p = 0; p < 16; p++)
                        s += ds.x[(size_t)i * PER + c * 16 + p];
                const double mu = s / 128;
                for (int i = n; i < n + 8; i++)
                    for (int p = 0; p < 16; p++) {
                        const double d = ds.x[(size_t)i * PER + c * 16 + p] - mu;
                        ss += d * d;
                    }
                tm[c] = (float)(0.9 * tm[c] + 0.1 * mu);
                tv[c] = (float)(0.9 * tv[c] + 0.1 * ss / 127);
            }
    assert_close(buffer(net, BN1, 0), tm, 2, "moving TrainedMean");
    assert_close(buffer(net, BN1, 1), tv, 2, "moving TrainedVariance");
    size_t n1, n2;
    float *moving = state(net, &n1);
    mc_net_destroy(net);

    mc_rng_seed(ctx, 3);
    net = make_net(ctx, 8);
    o.batch_normalization_statistics = MC_BN_POPULATION;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    float *population = state(net, &n2);
    ck_assert_uint_eq(n1, n2);
    const size_t learnables = n1 - 10; /* 2 x 2 + 2 x 3 statistics at the end */
    ck_assert_mem_eq(moving, population, learnables * sizeof(float));
    ck_assert(memcmp(moving + learnables, population + learnables, 10 * sizeof(float)) != 0);
    free(moving);
    free(population);
    mc_net_destroy(net);
    free_data(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* The statistics are the same bits on 1, 2 and 3 threads. */
START_TEST(test_population_any_thread_count)
{
    float *first = NULL;
    size_t n0 = 0;
    mc_dataset ds = data(45);
    for (int threads = 1; threads <= 3; threads++) {
        mc_set_threads(threads);
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 9);
        mc_net *net = make_net(ctx, 8);
        const mc_train_options o = options(MC_BN_POPULATION);
        ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
        size_t n;
        float *w = state(net, &n);
        if (first == NULL) {
            first = w;
            n0 = n;
        } else {
            ck_assert_uint_eq(n, n0);
            ck_assert_msg(memcmp(w, first, n * sizeof(float)) == 0, "%d threads differ", threads);
            free(w);
        }
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
    }
    mc_set_threads(1);
    free(first);
    free_data(&ds);
}
END_TEST

START_TEST(test_parse_and_names)
{
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(NULL, 1, &ctx), MC_OK);
    mc_bn_statistics s = MC_BN_POPULATION;
    ck_assert_int_eq(mc_bn_statistics_parse(ctx, "Moving", &s), MC_OK);
    ck_assert_int_eq(s, MC_BN_MOVING);
    ck_assert_int_eq(mc_bn_statistics_parse(ctx, "population", &s), MC_OK);
    ck_assert_int_eq(s, MC_BN_POPULATION);
    ck_assert_str_eq(mc_bn_statistics_name(MC_BN_MOVING), "moving");
    ck_assert_str_eq(mc_bn_statistics_name(MC_BN_POPULATION), "population");
    ck_assert_int_eq(mc_bn_statistics_parse(ctx, "populaton", &s), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "unknown BatchNormalizationStatistics 'populaton' (did you mean "
                     "'population'?); expected 'population', 'moving'");
    mc_ctx_destroy(ctx);
}
END_TEST

static char dir[64];

static void checkpoint_path(int iteration, char *out, size_t cap)
{
    test_checkpoint_path(dir, iteration, out, cap);
}

/* Both options survive a checkpoint: resumed after epoch 1 (and after the last epoch), the
 * weights and statistics are bitwise those of the uninterrupted run. */
START_TEST(test_resume_keeps_the_option)
{
    const mc_bn_statistics stats = _i ? MC_BN_MOVING : MC_BN_POPULATION;
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-bnstats-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 5);
    mc_dataset ds = data(24);
    mc_train_options o = options(stats);
    o.checkpoint_path = dir;
    mc_net *net = make_net(ctx, 8);
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    size_t n1, n2;
    float *straight = state(net, &n1);
    mc_net_destroy(net);
    for (int at = 3; at <= 9; at += 6) {
        char path[512];
        checkpoint_path(at, path, sizeof path);
        mc_train_state *s = NULL;
        ck_assert_int_eq(mc_checkpoint_load(ctx, path, &net, &s), MC_OK);
        ck_assert_int_eq(mc_train_state_options(s)->batch_normalization_statistics, stats);
        mc_rng_seed(ctx, 1234);
        ck_assert_int_eq(mc_train_resume(net, &ds, s, NULL, NULL, NULL, NULL), MC_OK);
        float *resumed = state(net, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(straight, resumed, n1 * sizeof(float)) == 0,
                      "%s: resumed at iteration %d differs", mc_bn_statistics_name(stats), at);
        free(resumed);
        mc_train_state_destroy(s);
        mc_net_destroy(net);
    }
    free(straight);
    free_data(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* An allocation failure while the statistics are computed fails training cleanly. */
START_TEST(test_allocation_failures)
{
    mc_dataset ds = data(16);
    int failed = 0;
    for (long k = 1; k < 400; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 5);
        mc_net *net = make_net(ctx, 8);
        a.fail_at = a.count + k;
        mc_train_options o = options(MC_BN_POPULATION);
        o.max_epochs = 1;
        const mc_status st = mc_train(net, &ds, &o, NULL, NULL);
        const bool done = a.count < a.fail_at;
        if (!done) {
            ck_assert_int_eq(st, MC_ERR_NOMEM);
            ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "out of memory"));
            failed++;
        }
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        if (done) {
            ck_assert_int_eq(st, MC_OK);
            break;
        }
    }
    ck_assert_int_gt(failed, 3);
    free_data(&ds);
}
END_TEST

static Suite *bnstats_suite(void)
{
    Suite *s = suite_create("bnstats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_population_is_the_whole_training_set);
    tcase_add_test(tc, test_moving_keeps_the_running_averages);
    tcase_add_test(tc, test_population_any_thread_count);
    tcase_add_test(tc, test_parse_and_names);
    tcase_add_loop_test(tc, test_resume_keeps_the_option, 0, 2);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(bnstats_suite());
}
