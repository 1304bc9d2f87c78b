/* SPDX-License-Identifier: MIT */
/* A network of every layer of minicnn/layers3.h (tests/fixtures/activations_norms.net) trains:
 * the loss falls and the accuracy beats chance, the weights are the same on 1, 2 and 3
 * threads, a saved model scores as the network did, and the Layer array shows MATLAB's rows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

enum { OBS = 96, SIDE = 8 };

/* 8x8 images of 4 classes: a bright row (class 0), column (1), diagonal (2) or anti-diagonal
 * (3) on noise. */
static mc_dataset strokes(uint64_t seed)
{
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, OBS, 1, SIDE, SIDE);
    ds.x = test_floats((size_t)OBS * SIDE * SIDE);
    ds.labels = calloc(OBS, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = 4;
    test_rng r = {seed};
    for (int i = 0; i < OBS; i++) {
        const int k = i % 4, at = 1 + (i / 4) % 6; /* which row or column */
        ds.labels[i] = k;
        float *img = ds.x + (size_t)i * SIDE * SIDE;
        for (int p = 0; p < SIDE * SIDE; p++) {
            const int row = p / SIDE, col = p % SIDE;
            const int on = k == 0   ? row == at
                           : k == 1 ? col == at
                           : k == 2 ? row == col
                                    : row + col == SIDE - 1;
            img[p] = (float)(on + 0.3 * test_rng_normal(&r));
        }
    }
    return ds;
}

static void free_data(mc_dataset *ds)
{
    free(ds->x);
    free(ds->labels);
}

static mc_net *network(mc_ctx *ctx, int batch)
{
    return test_fixture_net(ctx, "activations_norms.net", batch, NULL);
}

/* The mean mini-batch loss of the first and of the last epoch. */
typedef struct curve {
    double sum, first, last;
} curve;

static int record(void *user, const mc_train_progress *p)
{
    curve *c = user;
    c->sum += p->loss;
    if (p->epoch_end) {
        c->last = c->sum / p->iterations_per_epoch;
        if (p->epoch == 1)
            c->first = c->last;
        c->sum = 0.0;
    }
    return 0;
}

/* Trains on `threads` threads from seed 3; returns the learnables, concatenated, and the
 * curve and accuracy where asked. */
static float *fit(int threads, size_t *count, curve *c, double *accuracy)
{
    mc_set_threads(threads);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 3);
    mc_dataset ds = strokes(8);
    mc_net *net = network(ctx, 32);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 32), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.initial_learn_rate = 0.01;
    o.mini_batch_size = 32;
    o.max_epochs = 15;
    o.shuffle = MC_SHUFFLE_EVERY_EPOCH;
    curve own = {0};
    mc_status st = mc_train(net, &ds, &o, record, c != NULL ? c : &own);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    if (accuracy != NULL) {
        double loss;
        ck_assert_int_eq(mc_evaluate(net, &ds, accuracy, &loss), MC_OK);
    }
    float *w = test_learnables(net, count);
    mc_net_destroy(net);
    free_data(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    mc_set_threads(0);
    return w;
}

START_TEST(test_trains_on_any_thread_count)
{
    curve c = {0};
    double accuracy = 0.0;
    size_t n[3];
    float *w[3];
    w[0] = fit(1, &n[0], &c, &accuracy);
    ck_assert_msg(c.last < 0.3 * c.first, "mean loss %g in the first epoch, %g in the last",
                  c.first, c.last);
    ck_assert_msg(accuracy > 0.9, "training accuracy %g", accuracy);
    for (int t = 1; t < 3; t++) {
        w[t] = fit(t + 1, &n[t], NULL, NULL);
        ck_assert_uint_eq(n[0], n[t]);
        ck_assert_msg(memcmp(w[0], w[t], n[0] * sizeof(float)) == 0,
                      "1 and %d threads: other weights", t + 1);
    }
    for (int t = 0; t < 3; t++)
        free(w[t]);
}
END_TEST

/* A saved model, loaded again, gives the trained network's scores bit for bit. */
START_TEST(test_model_round_trip)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 4);
    mc_dataset ds = strokes(9);
    mc_net *net = network(ctx, 48);
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 48), MC_OK);
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 48;
    o.max_epochs = 2;
    ck_assert_int_eq(mc_train(net, &ds, &o, NULL, NULL), MC_OK);
    const size_t n_scores = 48 * 4;
    float *before = test_floats(n_scores);
    ck_assert_int_eq(mc_net_forward(net, ds.x, 48, MC_MODE_INFERENCE), MC_OK);
    memcpy(before, mc_net_scores(net), n_scores * sizeof(float));
    char path[] = "/tmp/minicnn_actnormnet_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(mc_model_save(net, path) == MC_OK, "%s", mc_ctx_message(ctx));
    mc_net *back = NULL;
    mc_status st = mc_model_load(ctx, path, 48, &back);
    unlink(path);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(mc_net_forward(back, ds.x, 48, MC_MODE_INFERENCE), MC_OK);
    ck_assert_mem_eq(before, mc_net_scores(back), n_scores * sizeof(float));
    mc_net_destroy(back);
    mc_net_destroy(net);
    free(before);
    free_data(&ds);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* The Layer array display (minicnn info, minicnn layer "[...]"): MATLAB's type and
 * description of each new layer. */
START_TEST(test_layer_array_rows)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = network(ctx, 2);
    char *got = NULL;
    ck_assert_int_eq(mc_net_describe(net, &got), MC_OK);
    const char *const rows[] = {
        "     3   'instnorm'     Instance Normalization        Instance normalization\n",
        "     4   'leaky'        Leaky ReLU                    Leaky ReLU with scale 0.1\n",
        "     5   'lrn'          Cross Channel Normalization   cross channel normalization with 3 "
        "channels per element\n",
        "     7   'layernorm1'   Layer Normalization           Layer normalization\n",
        "     8   'elu'          ELU                           ELU with Alpha 1\n",
        "    11   'clip'         Clipped ReLU                  Clipped ReLU with ceiling 6\n",
        "    13   'tanh'         Tanh                          Hyperbolic tangent\n"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_msg(strstr(got, rows[i]) != NULL, "no row\n%s\nin\n%s", rows[i], got);
    mc_free(ctx, got);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *actnormnet_suite(void)
{
    Suite *s = suite_create("actnormnet");
    TCase *tc = tcase_create("display");
    tcase_add_test(tc, test_layer_array_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("training");
    tcase_add_test(tc, test_trains_on_any_thread_count);
    tcase_add_test(tc, test_model_round_trip);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(actnormnet_suite());
}
