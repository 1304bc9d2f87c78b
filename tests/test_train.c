/* SPDX-License-Identifier: MIT */
/* Training: overfitting, reproducibility, schedules, validation, errors, a short real run. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define FASHION "/usr/share/datasets/fashion-mnist/"

static mc_net *make_net(mc_ctx *ctx, const char *text, int batch)
{
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    st = mc_net_assemble(net, batch);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    return net;
}

/* n observations of 4x4 images in 4 classes: each class a bright quadrant, plus noise. */
static mc_dataset synthetic(int n, uint64_t seed)
{
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, n, 1, 4, 4);
    ds.x = test_floats((size_t)n * 16);
    ds.labels = calloc((size_t)n, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = 4;
    test_rng r = {seed};
    for (int i = 0; i < n; i++) {
        const int k = i % 4;
        ds.labels[i] = k;
        for (int p = 0; p < 16; p++) {
            const int row = p / 4, col = p % 4;
            const int q = (row >= 2) * 2 + (col >= 2);
            ds.x[(size_t)i * 16 + p] =
                (float)((q == k ? 200.0 : 40.0) + 30.0 * test_rng_normal(&r));
        }
    }
    return ds;
}

static void free_synthetic(mc_dataset *ds)
{
    free(ds->x);
    free(ds->labels);
}

static const char *const small_net = "layers = [imageInputLayer([4 4 1])\n"
                                     "  convolution2dLayer(3,4,'Padding','same')\n"
                                     "  groupNormalizationLayer(2)\n"
                                     "  reluLayer\n"
                                     "  fullyConnectedLayer(4)\n"
                                     "  softmaxLayer\n"
                                     "  classificationLayer]";

typedef struct record {
    int calls, rows, validations, last_epoch, last_iteration;
    double rates[64];
    double last_accuracy;
    bool saw_last;
} record;

static int on_progress(void *user, const mc_train_progress *p)
{
    record *r = user;
    r->calls++;
    r->rows += p->verbose_row;
    r->validations += p->validated;
    if (p->epoch < 64)
        r->rates[p->epoch] = p->learn_rate;
    r->last_epoch = p->epoch;
    r->last_iteration = p->iteration;
    r->last_accuracy = p->accuracy;
    r->saw_last |= p->last;
    ck_assert(p->loss >= 0 && isfinite(p->loss));
    ck_assert(p->seconds >= 0);
    return 0;
}

START_TEST(test_overfit)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    mc_dataset ds = synthetic(32, 1);
    mc_net *net = make_net(ctx, small_net, 8);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 10), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    o.max_epochs = 40;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    record r = {0};
    mc_status st = mc_train(net, &ds, &o, on_progress, &r);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(r.calls, 40 * 4);
    ck_assert(r.saw_last);
    double acc, loss;
    ck_assert_int_eq(mc_evaluate(net, &ds, &acc, &loss), MC_OK);
    ck_assert_msg(acc == 1.0, "training accuracy %g", acc);
    ck_assert_msg(loss < 0.1, "training loss %g", loss);
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Trains from seed s and returns a copy of every learnable value, concatenated. */
static float *train_weights(uint64_t seed, mc_solver solver, size_t *count)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, seed);
    mc_dataset ds = synthetic(40, 2);
    mc_net *net = make_net(ctx, small_net, 8);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 7), MC_OK);
    mc_train_options o = mc_train_default(solver);
    o.mini_batch_size = 8;
    o.max_epochs = 3;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    float *w = test_learnables(net, count);
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    return w;
}

START_TEST(test_reproducible)
{
    for (int s = 0; s < 3; s++) {
        size_t n1, n2, n3;
        float *w1 = train_weights(11, (mc_solver)s, &n1);
        float *w2 = train_weights(11, (mc_solver)s, &n2);
        float *w3 = train_weights(12, (mc_solver)s, &n3);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(w1, w2, n1 * sizeof(float)) == 0,
                      "solver %d: same seed, other weights", s);
        ck_assert_msg(memcmp(w1, w3, n1 * sizeof(float)) != 0, "solver %d: seed ignored", s);
        free(w1);
        free(w2);
        free(w3);
    }
}
END_TEST

/* A network through every threaded kernel: the direct convolution (1 channel), group
 * normalization, the im2col convolution with padding, batch normalization, ReLU, 2x2 pooling,
 * fully connected. */
static const char *const threads_net = "layers = [imageInputLayer([8 8 1])\n"
                                       "  convolution2dLayer(3,6)\n"
                                       "  groupNormalizationLayer(3)\n"
                                       "  reluLayer\n"
                                       "  convolution2dLayer(3,8,'Padding','same')\n"
                                       "  batchNormalizationLayer\n"
                                       "  reluLayer\n"
                                       "  maxPooling2dLayer(2,'Stride',2)\n"
                                       "  fullyConnectedLayer(4)\n"
                                       "  softmaxLayer\n"
                                       "  classificationLayer]";

/* Trains threads_net for a few iterations on `threads` threads (mini-batch 20: 16 chunks of
 * unequal length) and returns a copy of every learnable value. */
static float *train_threads(int threads, size_t *count)
{
    mc_set_threads(threads);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 5);
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    const int n = 60;
    ds.shape = test_shape(4, n, 1, 8, 8);
    ds.x = test_floats((size_t)n * 64);
    ds.labels = calloc((size_t)n, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = 4;
    test_rng r = {3};
    for (int i = 0; i < n; i++) {
        ds.labels[i] = i % 4;
        for (int p = 0; p < 64; p++) {
            const int q = (p / 8 >= 4) * 2 + (p % 8 >= 4);
            ds.x[(size_t)i * 64 + p] =
                (float)((q == i % 4 ? 150.0 : 60.0) + 40.0 * test_rng_normal(&r));
        }
    }
    mc_net *net = make_net(ctx, threads_net, 20);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 20), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.mini_batch_size = 20;
    o.max_epochs = 2;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    float *w = test_learnables(net, count);
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    mc_set_threads(0);
    return w;
}

/* The weights after training are bit for bit the same on 1, 2 and 3 threads. */
START_TEST(test_threads_identical)
{
    size_t n1, n2, n3;
    float *w1 = train_threads(1, &n1);
    float *w2 = train_threads(2, &n2);
    float *w3 = train_threads(3, &n3);
    ck_assert_uint_eq(n1, n2);
    ck_assert_uint_eq(n1, n3);
    ck_assert_msg(memcmp(w1, w2, n1 * sizeof(float)) == 0, "1 and 2 threads: other weights");
    ck_assert_msg(memcmp(w1, w3, n1 * sizeof(float)) == 0, "1 and 3 threads: other weights");
    ck_assert_int_eq(mc_get_threads(), mc_num_cores());
    free(w1);
    free(w2);
    free(w3);
}
END_TEST

/* train_threads without Check's assertions (which must run on the test's own thread): NULL on
 * any failure. The thread count is left as it is. */
static float *train_threads_plain(size_t *count)
{
    mc_ctx *ctx = NULL;
    if (mc_ctx_create(NULL, 5, &ctx) != MC_OK)
        return NULL;
    const int n = 60;
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, n, 1, 8, 8);
    ds.x = malloc((size_t)n * 64 * sizeof(float));
    ds.labels = calloc((size_t)n, sizeof(int));
    ds.num_classes = 4;
    float *w = NULL;
    mc_net *net = NULL;
    if (ds.x == NULL || ds.labels == NULL)
        goto done;
    test_rng r = {3};
    for (int i = 0; i < n; i++) {
        ds.labels[i] = i % 4;
        for (int p = 0; p < 64; p++) {
            const int q = (p / 8 >= 4) * 2 + (p % 8 >= 4);
            ds.x[(size_t)i * 64 + p] =
                (float)((q == i % 4 ? 150.0 : 60.0) + 40.0 * test_rng_normal(&r));
        }
    }
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.mini_batch_size = 20;
    o.max_epochs = 2;
    if (mc_netfile_parse(ctx, threads_net, strlen(threads_net), "t.net", &net, NULL) != MC_OK ||
        mc_net_assemble(net, 20) != MC_OK || mc_net_fit_input(net, &ds, 20) != MC_OK ||
        mc_train(net, &ds, &o, NULL, NULL) != MC_OK)
        goto done;
    *count = mc_net_num_learnables(net);
    w = malloc(*count * sizeof(float));
    if (w != NULL) {
        float *at = w;
        for (int i = 0; i < mc_net_num_params(net); i++) {
            const mc_param *p = mc_net_param(net, i);
            memcpy(at, p->value.data, mc_tensor_numel(&p->value) * sizeof(float));
            at += mc_tensor_numel(&p->value);
        }
    }
done:
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    return w;
}

typedef struct concurrent_run {
    float *w;
    size_t n;
} concurrent_run;

static void *concurrent_main(void *arg)
{
    concurrent_run *run = arg;
    run->w = train_threads_plain(&run->n);
    return NULL;
}

/* Two application threads train at once with 2 threads set: one gets the pool, the other runs
 * its tasks itself while the pool is busy; both give the one-thread weights bit for bit. */
START_TEST(test_threads_concurrent_callers)
{
    size_t n1;
    float *w1 = train_threads(1, &n1);
    mc_set_threads(2);
    pthread_t th[2];
    concurrent_run runs[2];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, concurrent_main, &runs[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    mc_set_threads(0);
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(runs[i].w);
        ck_assert_uint_eq(runs[i].n, n1);
        ck_assert_msg(memcmp(runs[i].w, w1, n1 * sizeof(float)) == 0,
                      "concurrent caller %d: other weights", i);
        free(runs[i].w);
    }
    free(w1);
}
END_TEST

START_TEST(test_schedule_and_validation)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = synthetic(24, 3), val = synthetic(12, 4);
    mc_net *net = make_net(ctx, small_net, 8);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 24), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    ck_assert(o.initial_learn_rate == 0.001);
    o.mini_batch_size = 8;
    o.max_epochs = 7;
    o.schedule = MC_SCHEDULE_PIECEWISE;
    o.learn_rate_drop_factor = 0.5;
    o.learn_rate_drop_period = 3;
    o.validation = &val;
    o.validation_frequency = 4;
    o.verbose_frequency = 5;
    record r = {0};
    ck_assert_int_eq(mc_train(net, &ds, &o, on_progress, &r), MC_OK);
    /* epochs 1-3 at 1e-3, 4-6 at 5e-4, 7 at 2.5e-4 */
    ck_assert(r.rates[1] == 0.001 && r.rates[3] == 0.001);
    ck_assert(r.rates[4] == 0.0005 && r.rates[6] == 0.0005);
    ck_assert(r.rates[7] == 0.00025);
    /* 21 iterations: validation at 1, 4, 8, 12, 16, 20 and 21; rows at 1, 5, 10, 15, 20, 21
     * and at every validation (MATLAB's display frequency is [VerboseFrequency
     * ValidationFrequency]): 1, 4, 5, 8, 10, 12, 15, 16, 20, 21 */
    ck_assert_int_eq(r.calls, 21);
    ck_assert_int_eq(r.validations, 7);
    ck_assert_int_eq(r.rows, 10);
    mc_net_destroy(net);

    /* Patience 1 with a learning rate of 0 (nothing improves): stops at the 2nd validation. */
    net = make_net(ctx, small_net, 8);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 24), MC_OK);
    o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    o.max_epochs = 10;
    o.initial_learn_rate = 1e-30;
    o.validation = &val;
    o.validation_frequency = 2;
    o.validation_patience = 1;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(mc_train(net, &ds, &o, on_progress, &r), MC_OK);
    ck_assert_int_eq(r.last_iteration, 2);
    ck_assert(r.saw_last);
    mc_net_destroy(net);
    free_synthetic(&ds);
    free_synthetic(&val);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_errors)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = synthetic(16, 5);
    mc_net *net = make_net(ctx, small_net, 8);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 32;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "MiniBatchSize (32) is larger than the training "
                                          "data (16 observations)");
    /* said before any buffer is sized by it */
    o.mini_batch_size = 1000000000;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "MiniBatchSize (1000000000) is larger than the "
                                          "training data (16 observations)");
    /* 4 iterations per epoch times 1e9 epochs does not fit the iteration count */
    o.mini_batch_size = 4;
    o.max_epochs = 1000000000;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "MaxEpochs (1000000000) times the 4 iterations per epoch (16 observations in "
                     "mini-batches of 4) is 4000000000 iterations, more than the 2147483647 that "
                     "can be counted; lower MaxEpochs to at most 536870911");
    o.max_epochs = 30;
    o.mini_batch_size = 8;
    o.initial_learn_rate = -1;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "InitialLearnRate must be a positive finite number, not -1");
    o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    o.learn_rate_drop_factor = 2;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "LearnRateDropFactor must be in [0, 1], not 2");
    /* data of another shape */
    mc_dataset wrong = ds;
    wrong.shape = test_shape(4, 8, 1, 2, 8);
    o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    ck_assert_int_eq(mc_train(net, &wrong, &o, NULL, NULL), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx), "the training data are 2x8x1 images but the network's "
                                          "input layer takes 4x4x1 images");
    /* a label the network cannot output */
    ds.labels[3] = 9;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "label 9 of training observation 4 is outside the "
                                          "network's 4 classes");
    ds.labels[3] = 3;
    /* an input normalization whose statistics were never fitted */
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx), "Layer 'imageinput': the 'zerocenter' normalization "
                                          "has no statistics yet; call mc_net_fit_input with the "
                                          "training data before the first forward pass (or use "
                                          "Normalization 'none')");
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 0), MC_OK);
    /* A learning rate that blows the weights up stops training at a non-finite loss. */
    o.initial_learn_rate = 1e30;
    mc_status st = mc_train(net, &ds, &o, NULL, NULL);
    ck_assert_int_eq(st, MC_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "training stopped at iteration "));
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Evaluating with batch statistics gives other numbers than with trained statistics and leaves
 * the batch-norm moving averages as they were. */
START_TEST(test_evaluate_batch_statistics)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = synthetic(24, 8);
    mc_net *net =
        make_net(ctx,
                 "layers = [imageInputLayer([4 4 1]); convolution2dLayer(3,4); "
                 "batchNormalizationLayer('Name','bn'); reluLayer; fullyConnectedLayer(4); "
                 "softmaxLayer; classificationLayer]",
                 8);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 24), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 8;
    o.max_epochs = 2;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    mc_layer *bn = mc_net_find(net, "bn");
    const mc_tensor *mean = mc_layer_buffer(bn, 0, NULL);
    float before[4];
    memcpy(before, mean->data, sizeof before);
    double acc1, loss1, acc2, loss2, acc3, loss3;
    ck_assert_int_eq(mc_evaluate(net, &ds, &acc1, &loss1), MC_OK);
    ck_assert_int_eq(mc_evaluate_batches(net, &ds, 2, MC_MODE_TRAINING, &acc2, &loss2), MC_OK);
    ck_assert_mem_eq(mean->data, before, sizeof before);
    ck_assert_msg(loss1 != loss2, "batch statistics gave the same loss %g", loss1);
    ck_assert_int_eq(mc_evaluate_batches(net, &ds, 0, MC_MODE_INFERENCE, &acc3, &loss3), MC_OK);
    ck_assert(acc1 == acc3 && loss1 == loss3);
    mc_net_destroy(net);
    free_synthetic(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* The reference network on 3,000 Fashion-MNIST images for one epoch learns far above chance. */
START_TEST(test_fashion_mnist_learns)
{
    ck_assert_msg(access(FASHION "train-images-idx3-ubyte.gz", R_OK) == 0,
                  "Fashion-MNIST is missing: scripts/setup installs dataset-fashion-mnist");
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_dataset train, test;
    mc_status st = mc_dataset_read_idx(ctx, FASHION "train-images-idx3-ubyte.gz",
                                       FASHION "train-labels-idx1-ubyte.gz", &train);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    st = mc_dataset_read_idx(ctx, FASHION "t10k-images-idx3-ubyte.gz",
                             FASHION "t10k-labels-idx1-ubyte.gz", &test);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(train.shape.dims[0], 60000);
    ck_assert_int_eq(test.shape.dims[0], 10000);
    mc_dataset small = mc_dataset_head(&train, 3000), small_test = mc_dataset_head(&test, 2000);
    mc_net *net = NULL;
    st = mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/reference-gray.net", &net, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.max_epochs = 2;
    ck_assert_int_eq(mc_net_assemble(net, o.mini_batch_size), MC_OK);
    ck_assert_int_eq(mc_net_fit_input(net, &small, 1000), MC_OK);
    ck_assert_int_eq(mc_train(net, &small, &o, NULL, NULL), MC_OK);
    double acc, loss;
    ck_assert_int_eq(mc_evaluate(net, &small_test, &acc, &loss), MC_OK);
    ck_assert_msg(acc > 0.65, "test accuracy %g after 2 epochs on 3,000 images", acc);
    mc_net_destroy(net);
    mc_dataset_release(ctx, &train);
    mc_dataset_release(ctx, &test);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_overfit);
    tcase_add_test(tc, test_reproducible);
    tcase_add_test(tc, test_threads_identical);
    tcase_add_test(tc, test_threads_concurrent_callers);
    tcase_add_test(tc, test_schedule_and_validation);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_evaluate_batch_statistics);
    tcase_add_test(tc, test_fashion_mnist_learns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(train_suite());
}
