/* SPDX-License-Identifier: MIT */
/* Results do not depend on the thread count: every layer at general shapes (odd sizes,
 * overlapping and padded pooling) and whole training runs of the shipped networks give the same
 * bits on 1, 2 and 3 threads -- the learnables after training, every activation and every
 * gradient of one more training step. The shapes are large enough for minicnn's threads to be
 * used (src/parallel.h: work below MC__MIN_WORK per thread runs in the caller). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/minicnn.h>

#include "testutil.h"

/* What one run leaves: every learnable, every activation of the last forward pass and every
 * learnable's gradient of the last backward pass, concatenated. */
typedef struct outcome {
    float *v;
    size_t n;
} outcome;

static void append(outcome *o, const float *v, size_t n)
{
    float *grown = realloc(o->v, (o->n + n) * sizeof(float));
    ck_assert_ptr_nonnull(grown);
    memcpy(grown + o->n, v, n * sizeof(float));
    o->v = grown;
    o->n += n;
}

/* Trains a network (the text `source`, or the file `source` when is_file) on `threads` threads for
 * `steps` mini-batches of `batch` synthetic observations with momentum, then runs one more training
 * forward and backward pass, and returns what they left. */
static outcome run(const char *source, bool is_file, int threads, int batch, int steps,
                   mc_solver solver)
{
    mc_set_threads(threads);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    mc_net *net = NULL;
    mc_status st;
    if (is_file)
        st = mc_netfile_load(ctx, source, &net, NULL);
    else
        st = mc_netfile_parse(ctx, source, strlen(source), "test", &net, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    st = mc_net_assemble(net, batch);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    const int N = batch * steps, K = mc_net_num_classes(net);
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = mc_net_input_shape(net, N);
    const size_t per = mc_shape_numel(&ds.shape) / (size_t)N;
    ds.x = test_floats((size_t)N * per);
    ds.labels = calloc((size_t)N, sizeof(int));
    ck_assert_ptr_nonnull(ds.labels);
    ds.num_classes = K;
    test_rng r = {11};
    test_fill_normal(&r, ds.x, (size_t)N * per, 0.2, 1.0);
    for (int i = 0; i < N; i++)
        ds.labels[i] = (int)(test_rng_uniform(&r) * K) % K;
    if (mc_input_needs_fit(mc_net_input_layer(net)))
        ck_assert_int_eq(mc_net_fit_input(net, &ds, batch), MC_OK);
    mc_train_options o = mc_train_default(solver);
    o.mini_batch_size = batch;
    o.max_epochs = 1;
    st = mc_train(net, &ds, &o, NULL, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    outcome out = {NULL, 0};
    size_t count;
    float *w = test_learnables(net, &count);
    append(&out, w, count);
    free(w);
    ck_assert_int_eq(mc_net_forward(net, ds.x, batch, MC_MODE_TRAINING), MC_OK);
    for (int i = 0; i < mc_net_num_layers(net); i++) {
        const mc_shape s = mc_net_activation_shape(net, i);
        append(&out, mc_net_activation(net, i), mc_shape_numel(&s) * (size_t)batch);
    }
    mc_net_zero_grad(net);
    mc_net_want_input_gradient(net, true);
    ck_assert_int_eq(mc_net_backward(net, ds.labels), MC_OK);
    const mc_shape xs = mc_net_input_shape(net, batch);
    append(&out, mc_net_input_gradient(net), mc_shape_numel(&xs));
    for (int i = 0; i < mc_net_num_params(net); i++) {
        const mc_param *p = mc_net_param(net, i);
        append(&out, p->grad.data, mc_tensor_numel(&p->grad));
    }
    mc_net_destroy(net);
    free(ds.x);
    free(ds.labels);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    mc_set_threads(0);
    return out;
}

static void same_for_any_threads(const char *what, const char *source, bool is_file, int batch,
                                 int steps, mc_solver solver, int max_threads)
{
    outcome one = run(source, is_file, 1, batch, steps, solver);
    for (int t = 2; t <= max_threads; t++) {
        outcome more = run(source, is_file, t, batch, steps, solver);
        ck_assert_uint_eq(one.n, more.n);
        size_t first = one.n;
        for (size_t i = 0; i < one.n && first == one.n; i++)
            if (memcmp(&one.v[i], &more.v[i], sizeof(float)) != 0)
                first = i;
        ck_assert_msg(
            first == one.n, "%s: 1 and %d threads differ at value %zu of %zu (%.9g, %.9g)", what, t,
            first, one.n, first < one.n ? one.v[first] : 0.0, first < one.n ? more.v[first] : 0.0);
        free(more.v);
    }
    free(one.v);
}

/* Each layer kind between a 1x1 convolution (so that its input gradient reaches a learnable)
 * and a fully connected layer, at 17x15 with 12 channels and mini-batch 32. */
static const struct {
    const char *name, *layer;
} layers[] = {
    {"batch normalization", "batchNormalizationLayer"},
    {"ReLU", "reluLayer"},
    {"leaky ReLU", "leakyReluLayer(0.1)"},
    {"clipped ReLU", "clippedReluLayer(0.5)"},
    {"ELU", "eluLayer"},
    {"tanh", "tanhLayer"},
    {"2x2 max pooling, odd size", "maxPooling2dLayer(2,'Stride',2)"},
    {"ReLU and 2x2 max pooling (fused backward)", "reluLayer; maxPooling2dLayer(2,'Stride',2)"},
    {"3x3 stride-2 max pooling", "maxPooling2dLayer(3,'Stride',2)"},
    {"3x3 stride-2 max pooling, padding 1", "maxPooling2dLayer(3,'Stride',2,'Padding',1)"},
    {"2x2 average pooling, odd size", "averagePooling2dLayer(2,'Stride',2)"},
    {"3x3 stride-2 average pooling, padding 'same'",
     "averagePooling2dLayer(3,'Stride',2,'Padding','same')"},
    {"dropout", "dropoutLayer(0.3)"},
    {"global average pooling", "globalAveragePooling2dLayer"},
    {"fully connected and ReLU", "fullyConnectedLayer(96); reluLayer"},
    {"group normalization", "groupNormalizationLayer(4)"},
};

START_TEST(test_layer)
{
    char text[512];
    snprintf(text, sizeof text,
             "layers = [imageInputLayer([17 15 8],'Normalization','none'); "
             "convolution2dLayer(1,12); %s; fullyConnectedLayer(7); softmaxLayer; "
             "classificationLayer]",
             layers[_i].layer);
    same_for_any_threads(layers[_i].name, text, false, 32, 2, MC_SOLVER_SGDM, 3);
}
END_TEST

/* Addition of three inputs (two of them the same layer's output, whose gradient is summed)
 * and depth concatenation, and the softmax unfused (a ReLU after it). */
START_TEST(test_graph_layers)
{
    const char *text = "layers = [imageInputLayer([17 15 8],'Normalization','none','Name','in')\n"
                       "convolution2dLayer(1,12,'Name','c1')\n"
                       "reluLayer('Name','r1')\n"
                       "convolution2dLayer(3,12,'Padding','same','Name','c2')\n"
                       "additionLayer(3,'Name','add')\n"
                       "depthConcatenationLayer(2,'Name','cat')\n"
                       "fullyConnectedLayer(7,'Name','fc')\n"
                       "softmaxLayer('Name','sm')\n"
                       "classificationLayer('Name','out')];\n"
                       "lgraph = layerGraph(layers);\n"
                       "lgraph = connectLayers(lgraph,'r1','add/in2');\n"
                       "lgraph = connectLayers(lgraph,'r1','add/in3');\n"
                       "lgraph = connectLayers(lgraph,'c1','cat/in2');\n";
    same_for_any_threads("addition and concatenation", text, false, 32, 2, MC_SOLVER_ADAM, 3);
}
END_TEST

static const char *const networks[] = {"deep-gn.net", "residual-gn.net", "cifar-resnet8.net"};

START_TEST(test_network)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/networks/%s", MC_SOURCE_DIR, networks[_i]);
    /* mini-batch 16 (8 for the CIFAR network, whose maps are 32x32x32): enough for every layer's
     * work to be split over both threads */
    same_for_any_threads(networks[_i], path, true, _i == 2 ? 8 : 16, 2, MC_SOLVER_SGDM, 2);
}
END_TEST

/* The CIFAR network's shapes: 32x32x3 in, 32x32x32, 16x16x64 and 8x8x128 stages, 10 classes. */
START_TEST(test_cifar_shapes)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = NULL;
    bool graph = false;
    ck_assert_int_eq(
        mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/cifar-resnet8.net", &net, &graph),
        MC_OK);
    ck_assert(graph);
    ck_assert_int_eq(mc_net_assemble(net, 2), MC_OK);
    const struct {
        const char *name;
        int c, h, w;
    } want[] = {{"input", 3, 32, 32},  {"add1", 32, 32, 32}, {"add2", 64, 16, 16},
                {"skip2", 64, 16, 16}, {"add3", 128, 8, 8},  {"gnskip3", 128, 8, 8},
                {"gap", 128, 1, 1},    {"fc", 10, 1, 1}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = -1;
        for (int l = 0; l < mc_net_num_layers(net); l++)
            if (strcmp(mc_net_layer(net, l)->name, want[k].name) == 0)
                i = l;
        ck_assert_msg(i >= 0, "no layer %s", want[k].name);
        const mc_shape s = mc_net_activation_shape(net, i);
        const int c = s.dims[1], h = s.ndim == 4 ? s.dims[2] : 1, w = s.ndim == 4 ? s.dims[3] : 1;
        ck_assert_msg(c == want[k].c && h == want[k].h && w == want[k].w, "%s: %dx%dx%d",
                      want[k].name, h, w, c);
    }
    ck_assert_int_eq(mc_net_num_classes(net), 10);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_layer, 0, (int)(sizeof layers / sizeof layers[0]));
    tcase_add_test(tc, test_graph_layers);
    suite_add_tcase(s, tc);
    tc = tcase_create("networks");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_cifar_shapes);
    tcase_add_loop_test(tc, test_network, 0, (int)(sizeof networks / sizeof networks[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(threads_suite());
}
