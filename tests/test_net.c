/* SPDX-License-Identifier: MIT */
/* The layer graph: assembly checks, names, shapes, and whole-graph gradients. */
#include <check.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static mc_net *parse(mc_ctx *ctx, const char *text)
{
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL);
    ck_assert_msg(st == MC_OK, "parse failed: %s", mc_ctx_message(ctx));
    return net;
}

static mc_net *assembled(mc_ctx *ctx, const char *text, int max_batch)
{
    mc_net *net = parse(ctx, text);
    mc_status st = mc_net_assemble(net, max_batch);
    ck_assert_msg(st == MC_OK, "assembly failed: %s", mc_ctx_message(ctx));
    return net;
}

/* ---- Assembly errors ------------------------------------------------------------------- */

static const struct {
    const char *text;
    mc_status status;
    const char *message;
} bad_graphs[] = {
    {"x = [imageInputLayer([4 4 1]); reluLayer('Name','a'); reluLayer('Name','a'); "
     "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
     MC_ERR_INVALID, "layers 2 and 3 are both named 'a'; layer names must be unique"},
    {"l = layerGraph([imageInputLayer([4 4 1],'Name','in'); additionLayer(2,'Name','add'); "
     "reluLayer('Name','r'); fullyConnectedLayer(2); softmaxLayer; classificationLayer])\n"
     "l = connectLayers(l,'r','add/in2')",
     MC_ERR_INVALID, "the network has a cycle: 'r' -> 'add' -> 'r'"},
    {"l = layerGraph([imageInputLayer([4 4 1],'Name','in'); additionLayer(2,'Name','add'); "
     "fullyConnectedLayer(2); softmaxLayer; classificationLayer])",
     MC_ERR_INVALID, "Layer 'add': input 'in2' is not connected to any layer"},
    {"l = layerGraph([imageInputLayer([4 4 1],'Name','in'); fullyConnectedLayer(2); "
     "softmaxLayer; classificationLayer])\n"
     "l = addLayers(l, reluLayer('Name','dead'))\n"
     "l = connectLayers(l, 'in', 'dead')",
     MC_ERR_INVALID, "Layer 'dead': output 'out' is not connected to any layer"},
    {"x = [reluLayer; fullyConnectedLayer(2); softmaxLayer; classificationLayer]", MC_ERR_INVALID,
     "the network has no input layer (imageInputLayer or featureInputLayer)"},
    {"x = [imageInputLayer([4 4 1]); fullyConnectedLayer(2); softmaxLayer]", MC_ERR_INVALID,
     "the network has no output layer (classificationLayer)"},
    {"x = [imageInputLayer([4 4 1]); fullyConnectedLayer(2); softmaxLayer; "
     "classificationLayer; classificationLayer]",
     MC_ERR_INVALID,
     "the network has two output layers, 'classoutput_1' and 'classoutput_2'; it needs exactly "
     "one"},
    /* trainNetwork's check, at set-up rather than a non-finite gradient at iteration 1 */
    {"x = [imageInputLayer([4 4 1]); fullyConnectedLayer(2); classificationLayer]", MC_ERR_INVALID,
     "Layer 'classoutput': Missing softmax layer. A classification layer must be preceded by a "
     "softmax layer."},
    {"x = [featureInputLayer(3); reluLayer; fullyConnectedLayer(2); reluLayer; "
     "classificationLayer('Name','out')]",
     MC_ERR_INVALID, "Layer 'out': Missing softmax layer."},
    {"x = [imageInputLayer([4 4 1]); imageInputLayer([4 4 1]); fullyConnectedLayer(2); "
     "softmaxLayer; classificationLayer]",
     MC_ERR_INVALID, "the network has two input layers"},
    {"x = [imageInputLayer([28 28 3]); convolution2dLayer(5,20); groupNormalizationLayer(3); "
     "reluLayer; fullyConnectedLayer(10); softmaxLayer; classificationLayer]",
     MC_ERR_SHAPE,
     "Layer 'groupnorm': the number of groups (3) must divide the number of input channels (20)"},
    {"x = [imageInputLayer([4 4 1]); maxPooling2dLayer(5,'Name','pool1'); "
     "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
     MC_ERR_SHAPE, "Layer 'pool1': "},
    {"x = [imageInputLayer([4 4 1]); convolution2dLayer(5,2,'Name','c'); "
     "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
     MC_ERR_SHAPE, "Layer 'c': "},
    {"x = [imageInputLayer([4 4 1]); fullyConnectedLayer(3); softmaxLayer; "
     "classificationLayer('Classes', {'a','b'})]",
     MC_ERR_SHAPE, "Layer 'classoutput': "},
};

START_TEST(test_assembly_errors)
{
    const int i = _i;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = parse(ctx, bad_graphs[i].text);
    mc_status st = mc_net_assemble(net, 2);
    ck_assert_msg(st == bad_graphs[i].status, "case %d: expected %s, got %s (%s)", i,
                  mc_status_name(bad_graphs[i].status), mc_status_name(st), mc_ctx_message(ctx));
    ck_assert_msg(strstr(mc_ctx_message(ctx), bad_graphs[i].message) != NULL,
                  "case %d: \"%s\" lacks \"%s\"", i, mc_ctx_message(ctx), bad_graphs[i].message);
    ck_assert(!mc_net_is_assembled(net));
    float x[32] = {0};
    ck_assert_int_eq(mc_net_forward(net, x, 1, MC_MODE_INFERENCE), MC_ERR_STATE);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* MATLAB's names: a default that occurs once stays as it is (imageinput, fc, softmax,
 * classoutput); repeated ones are numbered from 1 in order, skipping names users gave. */
START_TEST(test_names_assigned)
{
    static const struct {
        const char *text;
        const char *want[12];
    } cases[] = {
        {"x = [imageInputLayer([8 8 1]); convolution2dLayer(3,2); batchNormalizationLayer; "
         "reluLayer; convolution2dLayer(3,2); batchNormalizationLayer; reluLayer; "
         "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
         {"imageinput", "conv_1", "batchnorm_1", "relu_1", "conv_2", "batchnorm_2", "relu_2", "fc",
          "softmax", "classoutput"}},
        /* MATLAB's DAG example names its first ReLU 'relu_1': the others go on from 2 */
        {"x = [imageInputLayer([8 8 1]); convolution2dLayer(3,2); reluLayer('Name','relu_1'); "
         "convolution2dLayer(3,2); reluLayer; convolution2dLayer(3,2,'Name','conv_1'); "
         "reluLayer; fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
         {"imageinput", "conv_2", "relu_1", "conv_3", "relu_2", "conv_1", "relu_3", "fc", "softmax",
          "classoutput"}},
        /* a default taken by a user's name is numbered although it occurs once */
        {"x = [imageInputLayer([8 8 1]); convolution2dLayer(3,2,'Name','fc'); "
         "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
         {"imageinput", "fc", "fc_1", "softmax", "classoutput"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_net *net = assembled(ctx, cases[c].text, 1);
        int n = 0;
        while (cases[c].want[n] != NULL)
            n++;
        ck_assert_int_eq(mc_net_num_layers(net), n);
        for (int i = 0; i < n; i++)
            ck_assert_msg(strcmp(mc_layer_name(mc_net_layer(net, i)), cases[c].want[i]) == 0,
                          "case %zu layer %d: '%s', want '%s'", c, i + 1,
                          mc_layer_name(mc_net_layer(net, i)), cases[c].want[i]);
        ck_assert_ptr_eq(mc_net_find(net, cases[c].want[1]), mc_net_layer(net, 1));
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

START_TEST(test_analysis_text)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx,
                            "layers = [imageInputLayer([28 28 1]); convolution2dLayer(5,20); "
                            "groupNormalizationLayer(4); reluLayer; "
                            "maxPooling2dLayer(2,'Stride',2); fullyConnectedLayer(10); "
                            "softmaxLayer; classificationLayer]",
                            8);
    char *text = NULL;
    ck_assert_int_eq(mc_net_analyze(net, &text), MC_OK);
    static const char *const want =
        "  Analysis: 8 layers, 3 with learnables\n"
        "\n"
        "     #   Name          Type                    Activations   Learnables\n"
        "     1   imageinput    Image Input             28\xc3\x97"
        "28\xc3\x97"
        "1       -\n"
        "     2   conv          Convolution             24\xc3\x97"
        "24\xc3\x97"
        "20      "
        "Weights 5\xc3\x97"
        "5\xc3\x97"
        "1\xc3\x97"
        "20, Bias 1\xc3\x97"
        "1\xc3\x97"
        "20\n"
        "     3   groupnorm     Group Normalization     24\xc3\x97"
        "24\xc3\x97"
        "20      "
        "Offset 1\xc3\x97"
        "1\xc3\x97"
        "20, Scale 1\xc3\x97"
        "1\xc3\x97"
        "20\n"
        "     4   relu          ReLU                    24\xc3\x97"
        "24\xc3\x97"
        "20      -\n"
        "     5   maxpool       Max Pooling             12\xc3\x97"
        "12\xc3\x97"
        "20      -\n"
        "     6   fc            Fully Connected         1\xc3\x97"
        "1\xc3\x97"
        "10        "
        "Weights 10\xc3\x97"
        "2880, Bias 10\xc3\x97"
        "1\n"
        "     7   softmax       Softmax                 1\xc3\x97"
        "1\xc3\x97"
        "10        -\n"
        "     8   classoutput   Classification Output   1\xc3\x97"
        "1\xc3\x97"
        "10        -\n"
        "\n"
        "  Total learnables: 29,370\n";
    ck_assert_str_eq(text, want);
    mc_free(ctx, text);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ---- Whole-graph gradients ------------------------------------------------------------- */

/* A fingerprint of the network's piecewise-linear regime in the last forward pass: which ReLU
 * outputs are positive and which element of each 2x2 (stride 2) max pooling window wins.
 * Between two points with the same fingerprint the loss is smooth, so a central difference
 * that keeps it measures the derivative; one that changes it straddles a kink. */
static uint64_t regime(const mc_net *net, int n)
{
    uint64_t h = 1469598103934665603ULL;
    for (int l = 0; l < mc_net_num_layers(net); l++) {
        const char *kind = mc_net_layer(net, l)->vt->kind;
        mc_shape s = mc_net_activation_shape(net, l);
        s.dims[0] = n;
        const float *y = mc_net_activation(net, l);
        if (strcmp(kind, "reluLayer") == 0) {
            for (size_t i = 0; i < mc_shape_numel(&s); i++)
                h = (h ^ (uint64_t)(y[i] > 0)) * 1099511628211ULL;
        } else if (strcmp(kind, "maxPooling2dLayer") == 0) {
            mc_shape is = mc_net_activation_shape(net, l - 1);
            ck_assert(is.dims[2] / 2 == s.dims[2] && is.dims[3] / 2 == s.dims[3]);
            const float *x = mc_net_activation(net, l - 1);
            const int H = is.dims[2], W = is.dims[3];
            for (int nc = 0; nc < n * s.dims[1]; nc++)
                for (int r = 0; r < s.dims[2]; r++)
                    for (int c = 0; c < s.dims[3]; c++) {
                        const float *w = x + (size_t)nc * H * W + (size_t)(2 * r) * W + 2 * c;
                        const float v[4] = {w[0], w[1], w[W], w[W + 1]};
                        int best = 0;
                        for (int k = 1; k < 4; k++)
                            best = v[k] > v[best] ? k : best;
                        h = (h ^ (uint64_t)best) * 1099511628211ULL;
                    }
        }
    }
    return h;
}

/* Central difference of the loss with respect to *v with step h (the step actually taken in
 * float); *smooth says whether both points kept the regime `base`. */
static double central(mc_net *net, float *x, const int *labels, int n, float *v, double h,
                      uint64_t base, bool *smooth)
{
    const float saved = *v;
    double lp, lm;
    *v = (float)(saved + h);
    const double hp = (double)*v - saved;
    ck_assert_int_eq(mc_net_forward(net, x, n, MC_MODE_TRAINING), MC_OK);
    ck_assert_int_eq(mc_net_loss(net, labels, &lp), MC_OK);
    *smooth = regime(net, n) == base;
    *v = (float)(saved - h);
    const double hm = saved - (double)*v;
    ck_assert_int_eq(mc_net_forward(net, x, n, MC_MODE_TRAINING), MC_OK);
    ck_assert_int_eq(mc_net_loss(net, labels, &lm), MC_OK);
    *smooth = *smooth && regime(net, n) == base;
    *v = saved;
    return (lp - lm) / (hp + hm);
}

/* Compares the backward pass with central differences of the loss for every learnable element
 * (or every `stride`-th one) and, when check_input, every input element. Each difference uses
 * the largest of the steps 1e-2 ... 1e-4 that keeps the ReLU/max-pooling regime (see
 * regime()), and must then agree within atol + rtol * |numeric| + e / h, where e = 4e-7 *
 * max(1, |loss|) bounds the float rounding of the loss, which a step h turns into an error of
 * e / h. Elements where every step straddles a kink are skipped; at most a fraction
 * max_skipped of them (a large network has ReLU inputs within 1e-4 of zero for nearly every
 * learnable that feeds a whole feature map). */
static void net_gradcheck(mc_net *net, float *x, const int *labels, int n, double atol, double rtol,
                          int stride, int check_input, double max_skipped)
{
    static const double steps[] = {1e-2, 3e-3, 1e-3, 3e-4, 1e-4};
    const mc_shape xs = mc_net_input_shape(net, n);
    const size_t nx = mc_shape_numel(&xs);
    mc_net_want_input_gradient(net, check_input != 0);
    ck_assert_int_eq(mc_net_forward(net, x, n, MC_MODE_TRAINING), MC_OK);
    const uint64_t base = regime(net, n);
    double loss;
    ck_assert_int_eq(mc_net_loss(net, labels, &loss), MC_OK);
    const double e = 4e-7 * fmax(1.0, fabs(loss));
    mc_net_zero_grad(net);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    float *dx = test_floats(nx);
    if (check_input)
        memcpy(dx, mc_net_input_gradient(net), nx * sizeof(float));
    int checked = 0, failed = 0, skipped = 0;
    char first[256] = "";
    for (int pi = -1; pi < mc_net_num_params(net); pi++) {
        float *v = pi < 0 ? x : mc_net_param(net, pi)->value.data;
        const float *g = pi < 0 ? dx : mc_net_param(net, pi)->grad.data;
        size_t count =
            pi < 0 ? (check_input ? nx : 0) : mc_tensor_numel(&mc_net_param(net, pi)->value);
        for (size_t i = 0; i < count; i += (size_t)stride) {
            double num = 0, h = 0;
            bool smooth = false;
            for (size_t k = 0; !smooth && k < sizeof steps / sizeof steps[0]; k++)
                num = central(net, x, labels, n, &v[i], h = steps[k], base, &smooth);
            if (!smooth) {
                skipped++;
                continue;
            }
            checked++;
            if (!(fabs(g[i] - num) <= atol + rtol * fabs(num) + e / h) && failed++ == 0)
                snprintf(first, sizeof first, "%s[%zu]: analytic %.7g, numeric %.7g",
                         pi < 0 ? "input" : mc_net_param(net, pi)->name, i, g[i], num);
        }
    }
    free(dx);
    ck_assert_msg(failed == 0, "%d of %d gradients wrong; first %s", failed, checked, first);
    ck_assert_msg(skipped <= max_skipped * (checked + skipped),
                  "%d elements straddle kinks at every step, %d checked", skipped, checked);
    ck_assert(checked > 10);
}

static void fill(float *v, size_t n, uint64_t seed, double sd)
{
    test_rng r = {seed};
    test_fill_normal(&r, v, n, 0.0, sd);
}

/* Random learnables, so the check does not rest on special initial values. */
static void randomize_params(mc_net *net, uint64_t seed)
{
    for (int i = 0; i < mc_net_num_params(net); i++) {
        mc_param *p = mc_net_param(net, i);
        fill(p->value.data, mc_tensor_numel(&p->value), seed + (uint64_t)i, 0.5);
    }
}

/* Every learnable and input element of a small network with random learnables (seed
 * param_seed) and data (seed x_seed), n observations with the given labels. */
static void check_small_net(const char *text, int n, const int *labels, uint64_t param_seed,
                            uint64_t x_seed)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx, text, n);
    randomize_params(net, param_seed);
    const mc_shape xs = mc_net_input_shape(net, n);
    float *x = test_floats(mc_shape_numel(&xs));
    fill(x, mc_shape_numel(&xs), x_seed, 1.0);
    net_gradcheck(net, x, labels, n, 1e-4, 1e-2, 1, 1, 0.02);
    free(x);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}

START_TEST(test_gradients_chain)
{
    const int labels[3] = {0, 2, 1};
    check_small_net("layers = [imageInputLayer([6 6 2],'Normalization','none')\n"
                    "  convolution2dLayer(3,4,'Padding',1)\n"
                    "  groupNormalizationLayer(2)\n"
                    "  reluLayer\n"
                    "  maxPooling2dLayer(2,'Stride',2)\n"
                    "  fullyConnectedLayer(3)\n"
                    "  softmaxLayer\n"
                    "  classificationLayer]",
                    3, labels, 10, 1);
}
END_TEST

/* Fan-out: 'r1' feeds both 'c2' and the addition, so its gradient is the sum of both paths. */
START_TEST(test_gradients_residual)
{
    const int labels[2] = {1, 2};
    check_small_net("layers = [imageInputLayer([5 5 2],'Normalization','none','Name','in')\n"
                    "  convolution2dLayer(3,4,'Padding','same','Name','c1')\n"
                    "  groupNormalizationLayer(2,'Name','g1')\n"
                    "  reluLayer('Name','r1')\n"
                    "  convolution2dLayer(3,4,'Padding','same','Name','c2')\n"
                    "  groupNormalizationLayer('channel-wise','Name','g2')\n"
                    "  additionLayer(2,'Name','add')\n"
                    "  reluLayer('Name','r2')\n"
                    "  fullyConnectedLayer(3,'Name','fc')\n"
                    "  softmaxLayer('Name','sm')\n"
                    "  classificationLayer('Name','out')];\n"
                    "lgraph = layerGraph(layers);\n"
                    "lgraph = connectLayers(lgraph,'r1','add/in2');\n",
                    2, labels, 20, 2);
}
END_TEST

START_TEST(test_gradients_feature_batchnorm)
{
    const int labels[4] = {2, 0, 1, 1};
    check_small_net("layers = [featureInputLayer(5)\n"
                    "  fullyConnectedLayer(6)\n"
                    "  batchNormalizationLayer\n"
                    "  reluLayer\n"
                    "  fullyConnectedLayer(8)\n"
                    "  groupNormalizationLayer(2)\n"
                    "  fullyConnectedLayer(3)\n"
                    "  softmaxLayer\n"
                    "  classificationLayer]",
                    4, labels, 30, 3);
}
END_TEST

/* The residual example as shipped, on a sample of its learnables. */
START_TEST(test_gradients_residual_example)
{
    char *text = test_read_fixture("../../data/networks/residual-gn.net");
    ck_assert_ptr_nonnull(text);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 5);
    mc_net *net = assembled(ctx, text, 2);
    free(text);
    float *x = test_floats(2 * 784);
    fill(x, 2 * 784, 4, 1.0);
    const int labels[2] = {3, 7};
    mc_input_set_fitted(mc_net_input_layer(net), true); /* zerocenter: a neutral mean */
    net_gradcheck(net, x, labels, 2, 1e-4, 1e-2, 97, 0, 0.1);
    free(x);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Softmax feeding classification is fused; a network where it is not (a ReLU in between,
 * the identity on probabilities) goes through classificationLayer's own backward. Both must
 * give the same loss and gradients. */
START_TEST(test_fused_and_unfused_agree)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const char *head = "layers = [featureInputLayer(4); fullyConnectedLayer(3); softmaxLayer; ";
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%sclassificationLayer]", head);
    snprintf(t2, sizeof t2, "%sreluLayer; classificationLayer]", head);
    mc_net *fused = assembled(ctx, t1, 3), *plain = assembled(ctx, t2, 3);
    randomize_params(fused, 40);
    randomize_params(plain, 40);
    float x[12];
    fill(x, 12, 5, 1.0);
    const int labels[3] = {0, 1, 2};
    double l1, l2;
    mc_net *nets[2] = {fused, plain};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(mc_net_forward(nets[k], x, 3, MC_MODE_TRAINING), MC_OK);
        mc_net_zero_grad(nets[k]);
        ck_assert_int_eq(mc_net_backward(nets[k], labels), MC_OK);
    }
    ck_assert_int_eq(mc_net_loss(fused, labels, &l1), MC_OK);
    ck_assert_int_eq(mc_net_loss(plain, labels, &l2), MC_OK);
    ck_assert_double_eq_tol(l1, l2, 1e-6);
    for (int p = 0; p < 2; p++) {
        const mc_param *g1 = mc_net_param(fused, p), *g2 = mc_net_param(plain, p);
        for (size_t i = 0; i < mc_tensor_numel(&g1->grad); i++)
            ck_assert_double_eq_tol(g1->grad.data[i], g2->grad.data[i], 1e-5);
    }
    mc_net_destroy(fused);
    mc_net_destroy(plain);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Profiling: off, nothing is timed; on, each layer's training passes are, evaluation is not, and
 * turning it on again starts from zero. */
START_TEST(test_profile)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx,
                            "layers = [featureInputLayer(4); fullyConnectedLayer(3); reluLayer; "
                            "fullyConnectedLayer(3); softmaxLayer; classificationLayer]",
                            3);
    randomize_params(net, 41);
    float x[12];
    fill(x, 12, 5, 1.0);
    const int labels[3] = {0, 1, 2};
    const int L = mc_net_num_layers(net);
    double f, b, loss;
    ck_assert(!mc_net_profiling(net));
    ck_assert_int_eq(mc_net_forward(net, x, 3, MC_MODE_TRAINING), MC_OK);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    mc_net_profile_add(net, MC_PROFILE_DATA, 1.0);
    ck_assert_int_eq(mc_net_profile_steps(net), 0);
    ck_assert_double_eq(mc_net_profile_part(net, MC_PROFILE_DATA), 0);
    for (int i = 0; i < L; i++) {
        mc_net_profile_layer(net, i, &f, &b);
        ck_assert(f == 0 && b == 0);
    }
    mc_net_set_profiling(net, true);
    ck_assert(mc_net_profiling(net));
    ck_assert_int_eq(mc_net_forward(net, x, 3, MC_MODE_INFERENCE), MC_OK);
    for (int i = 0; i < L; i++) {
        mc_net_profile_layer(net, i, &f, &b);
        ck_assert(f == 0 && b == 0); /* evaluation is not a training step */
    }
    for (int step = 0; step < 3; step++) {
        ck_assert_int_eq(mc_net_forward(net, x, 3, MC_MODE_TRAINING), MC_OK);
        ck_assert_int_eq(mc_net_loss(net, labels, &loss), MC_OK);
        mc_net_zero_grad(net);
        ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    }
    ck_assert_int_eq(mc_net_profile_steps(net), 3);
    double total = 0;
    for (int i = 0; i < L; i++) {
        mc_net_profile_layer(net, i, &f, &b);
        ck_assert(f >= 0 && b >= 0 && f < 10 && b < 10);
        total += f + b;
    }
    ck_assert(total > 0);
    mc_net_profile_layer(net, 1, &f, &b); /* a fully connected layer's work is timed */
    ck_assert(f > 0 && b > 0);
    mc_net_profile_layer(net, L, &f, &b);
    ck_assert(f == 0 && b == 0);
    ck_assert(mc_net_profile_part(net, MC_PROFILE_OPTIMIZER) > 0); /* the zeroing */
    mc_net_profile_add(net, MC_PROFILE_DATA, 0.25);
    mc_net_profile_add(net, MC_PROFILE_DATA, 0.5);
    mc_net_profile_add(net, MC_PROFILE_PARTS, 1.0); /* not a part: ignored */
    ck_assert_double_eq(mc_net_profile_part(net, MC_PROFILE_DATA), 0.75);
    ck_assert_double_eq(mc_net_profile_part(net, MC_PROFILE_PARTS), 0);
    mc_net_set_profiling(net, true);
    ck_assert_int_eq(mc_net_profile_steps(net), 0);
    ck_assert_double_eq(mc_net_profile_part(net, MC_PROFILE_DATA), 0);
    mc_net_profile_layer(net, 1, &f, &b);
    ck_assert(f == 0 && b == 0);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Logits of +-1e4: softmax underflows to exact zeros, the loss and its gradient stay exact. */
START_TEST(test_extreme_logits)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx,
                            "layers = [featureInputLayer(2); fullyConnectedLayer(2, 'Weights', "
                            "[1e4 0 0 1e4], 'Bias', [0 0]); softmaxLayer; classificationLayer]",
                            2);
    float x[4] = {1, 0, 1, 0}; /* logits (1e4, 0) for both */
    const int labels[2] = {0, 1};
    ck_assert_int_eq(mc_net_forward(net, x, 2, MC_MODE_TRAINING), MC_OK);
    double loss;
    ck_assert_int_eq(mc_net_loss(net, labels, &loss), MC_OK);
    /* observation 1 is right (loss 0), observation 2 wrong by 1e4: mean 5e3 */
    ck_assert_double_eq_tol(loss, 5000.0, 1e-6);
    mc_net_zero_grad(net);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    const mc_param *b = mc_net_param(net, 1);
    /* dL/dbias = mean(softmax - onehot) = ((0, 0) + (1, -1)) / 2 */
    ck_assert_double_eq_tol(b->grad.data[0], 0.5, 1e-7);
    ck_assert_double_eq_tol(b->grad.data[1], -0.5, 1e-7);
    int bad[2] = {0, 2};
    ck_assert_int_eq(mc_net_loss(net, bad, &loss), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "label 2 of observation 2 is outside the 2 classes (0 to 1)");
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_batch_and_state_checks)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx,
                            "x = [featureInputLayer(2); fullyConnectedLayer(2); "
                            "softmaxLayer; classificationLayer]",
                            2);
    float x[6] = {0};
    const int labels[3] = {0, 0, 0};
    ck_assert_int_eq(mc_net_backward(net, labels), MC_ERR_STATE);
    ck_assert_int_eq(mc_net_forward(net, x, 3, MC_MODE_TRAINING), MC_ERR_SHAPE);
    ck_assert_str_eq(mc_ctx_message(ctx), "forward: a batch of 3 observations; the network was "
                                          "assembled for 1 to 2");
    ck_assert_int_eq(mc_net_forward(net, x, 1, MC_MODE_INFERENCE), MC_OK);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_ERR_STATE);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "backward: the last forward pass was not in training mode");
    /* a smaller batch works, and the scores are probabilities */
    ck_assert_int_eq(mc_net_forward(net, x, 1, MC_MODE_TRAINING), MC_OK);
    const float *p = mc_net_scores(net);
    ck_assert_double_eq_tol(p[0] + p[1], 1.0, 1e-6);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    mc_layer *extra = NULL;
    ck_assert_int_eq(mc_relu_create(ctx, "late", &extra), MC_OK);
    ck_assert_int_eq(mc_net_add_layers(net, &extra, 1), MC_ERR_STATE);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_replace_layer)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = parse(ctx, "x = [featureInputLayer(4); fullyConnectedLayer(6,'Name','fc1'); "
                             "groupNormalizationLayer(2,'Name','gn'); reluLayer('Name','r'); "
                             "fullyConnectedLayer(3); softmaxLayer; classificationLayer]");
    ck_assert_ptr_nonnull(mc_net_source(net));
    mc_batchnorm_options o = mc_batchnorm_default();
    o.name = "bn";
    mc_layer *bn = NULL;
    ck_assert_int_eq(mc_batchnorm_create(ctx, &o, &bn), MC_OK);
    ck_assert_int_eq(mc_net_replace_layer(net, "gn", bn), MC_OK);
    ck_assert_ptr_null(mc_net_source(net)); /* the file's text no longer describes it */
    ck_assert_str_eq(mc_net_layer(net, 2)->vt->kind, "batchNormalizationLayer");
    /* removing joins the neighbours */
    ck_assert_int_eq(mc_net_replace_layer(net, "r", NULL), MC_OK);
    ck_assert_int_eq(mc_net_num_layers(net), 6);
    ck_assert_int_eq(mc_net_replace_layer(net, "nope", NULL), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "replaceLayer: no layer named 'nope'");
    ck_assert_int_eq(mc_net_replace_layer(net, "classoutput", NULL), MC_ERR_INVALID);
    ck_assert_int_eq(mc_net_assemble(net, 2), MC_OK);
    ck_assert(mc_net_is_sequential(net));
    ck_assert_int_eq(mc_net_activation_shape(net, 2).dims[1], 6); /* bn after fc1 */
    ck_assert_int_eq(mc_net_replace_layer(net, "bn", NULL), MC_ERR_STATE);
    mc_net_destroy(net);

    /* In a graph: removing the layer that feeds an addition keeps the edge to in1. */
    net = parse(ctx, "l = layerGraph([featureInputLayer(4,'Name','in'); reluLayer('Name','a'); "
                     "reluLayer('Name','b'); additionLayer(2,'Name','add'); "
                     "fullyConnectedLayer(2); softmaxLayer; classificationLayer])\n"
                     "l = connectLayers(l,'a','add/in2')");
    ck_assert_int_eq(mc_net_replace_layer(net, "b", NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, 1), MC_OK);
    int src, dst, k, found = 0;
    for (int i = 0; mc_net_connection(net, i, &src, &dst, &k); i++)
        found += strcmp(mc_layer_name(mc_net_layer(net, src)), "a") == 0 &&
                 strcmp(mc_layer_name(mc_net_layer(net, dst)), "add") == 0;
    ck_assert_int_eq(found, 2); /* a -> add/in1 (was b's) and a -> add/in2 */
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Found by fuzzing: a 1x1 convolution has no workspace, and its threaded passes must not offset
 * the NULL workspace pointer (UBSan in the sanitizer build). */
START_TEST(test_pointwise_convolution)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx,
                            "x = [imageInputLayer([4 4 3],'Normalization','none'); "
                            "convolution2dLayer(1,2,'Padding','same'); reluLayer; "
                            "fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
                            64);
    float x[64 * 48];
    fill(x, 64 * 48, 6, 1.0);
    int labels[64] = {0};
    ck_assert_int_eq(mc_net_forward(net, x, 64, MC_MODE_TRAINING), MC_OK);
    ck_assert_int_eq(mc_net_backward(net, labels), MC_OK);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* CPU seconds of this thread to parse and assemble `text` (freed), whose network has `layers`
 * layers; checks that layer `named` (index) has the name `name`. CPU time, not wall time: the
 * work is single-threaded, and other processes sharing the cores then do not count. */
static double time_assembly(char *text, int layers, int named, const char *name)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = assembled(ctx, text, 1);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    ck_assert_int_eq(mc_net_num_layers(net), layers);
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, named)), name);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    free(text);
    return (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}

/* A graph of n ReLUs between an input and an output, built and named by layerGraph. */
static double time_layers(int n)
{
    char *text = malloc(16 * (size_t)n + 256);
    ck_assert_ptr_nonnull(text);
    char *p = text + sprintf(text, "layers = [featureInputLayer(2)\n");
    for (int i = 0; i < n; i++)
        p += sprintf(p, "    reluLayer\n");
    sprintf(p, "    fullyConnectedLayer(2); softmaxLayer; classificationLayer];\n"
               "lgraph = layerGraph(layers);\n");
    char last[32];
    snprintf(last, sizeof last, "relu_%d", n);
    return time_assembly(text, n + 4, n, last);
}

/* n ReLUs chained backwards (each fed by the one added after it) with 2n connectLayers and
 * disconnectLayers: the layer order's sweeps and the name lookups were quadratic. */
static double time_backward_chain(int n)
{
    char *text = malloc(160 * (size_t)n + 512);
    ck_assert_ptr_nonnull(text);
    char *p = text + sprintf(text, "l = layerGraph([featureInputLayer(2,'Name','in')\n");
    for (int i = 1; i <= n; i++)
        p += sprintf(p, "reluLayer('Name','r%d')\n", i);
    p += sprintf(p, "fullyConnectedLayer(2); softmaxLayer; classificationLayer]);\n"
                    "l = disconnectLayers(l, 'in', 'r1');\n");
    for (int i = 1; i < n; i++)
        p += sprintf(p,
                     "l = disconnectLayers(l, 'r%d', 'r%d');\n"
                     "l = connectLayers(l, 'r%d', 'r%d');\n",
                     i, i + 1, i + 1, i);
    sprintf(p,
            "l = disconnectLayers(l, 'r%d', 'fc');\nl = connectLayers(l, 'in', 'r%d');\n"
            "l = connectLayers(l, 'r1', 'fc');\n",
            n, n);
    return time_assembly(text, n + 4, 1, "r1");
}

/* A graph grown by n addLayers of one unnamed ReLU each, every one connected by name: naming
 * looked at the whole graph, and numbered from 1, at every addLayers. */
static double time_grown_graph(int n)
{
    char *text = malloc(120 * (size_t)n + 512);
    ck_assert_ptr_nonnull(text);
    char *p =
        text + sprintf(text, "l = layerGraph([featureInputLayer(2,'Name','in'); "
                             "fullyConnectedLayer(2,'Name','fc'); softmaxLayer; "
                             "classificationLayer]);\nl = disconnectLayers(l, 'in', 'fc');\n"
                             "l = addLayers(l, reluLayer);\nl = connectLayers(l, 'in', 'relu');\n");
    /* each addLayers names its one ReLU: 'relu', then 'relu_1', 'relu_2', ... */
    for (int i = 1; i < n; i++) {
        char prev[16];
        snprintf(prev, sizeof prev, i == 1 ? "relu" : "relu_%d", i - 1);
        p += sprintf(p, "l = addLayers(l, reluLayer);\nl = connectLayers(l, '%s', 'relu_%d');\n",
                     prev, i);
    }
    sprintf(p, "l = connectLayers(l, 'relu_%d', 'fc');\n", n - 1);
    return time_assembly(text, n + 4, 5, "relu_1");
}

/* The best of three timings (other processes share the cores) of n and 4n: linear work takes
 * about four times as long, quadratic sixteen; fails from eight. Returns the time of 4n. */
static double check_linear(const char *what, double (*run)(int), int n)
{
#ifdef __GLIBC__
    /* Keep freed memory in the process: otherwise each run of 4n pays the kernel's page faults
     * for fresh pages again (a third of its time), which grows faster than the work. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    double small = 1e9, large = 1e9;
    for (int k = 0; k < 3; k++) {
        const double t_small = run(n), t_large = run(4 * n);
        small = t_small < small ? t_small : small;
        large = t_large < large ? t_large : large;
    }
    printf("%s: %d in %.3f s, %d in %.3f s\n", what, n, small, 4 * n, large);
    ck_assert_msg(large < 8 * small + 0.05, "%s: %d in %.3f s, %d in %.3f s", what, n, small, 4 * n,
                  large);
    return large;
}

START_TEST(test_grown_graph_is_linear)
{
    check_linear("addLayers one at a time", time_grown_graph, 5000);
}
END_TEST

START_TEST(test_backward_chain_is_linear)
{
    check_linear("a chain connected backwards", time_backward_chain, 10000);
}
END_TEST

/* 100,000 layers in well under a second (Release), and the work linear (2,000 layers took
 * 25 s when naming was cubic). */
START_TEST(test_large_network_is_linear)
{
    const double large = check_linear("layers", time_layers, 25000);
#if !defined(__SANITIZE_ADDRESS__) && defined(NDEBUG)
    ck_assert_msg(large < 1.0, "100,000 layers take %.3f s", large);
#else
    (void)large;
#endif
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("assembly");
    tcase_add_loop_test(tc, test_assembly_errors, 0,
                        (int)(sizeof bad_graphs / sizeof bad_graphs[0]));
    tcase_add_test(tc, test_names_assigned);
    tcase_add_test(tc, test_analysis_text);
    tcase_add_test(tc, test_batch_and_state_checks);
    tcase_add_test(tc, test_replace_layer);
    tcase_add_test(tc, test_pointwise_convolution);
    suite_add_tcase(s, tc);
    tc = tcase_create("size"); /* timed: several runs each, on shared cores */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_large_network_is_linear);
    tcase_add_test(tc, test_backward_chain_is_linear);
    tcase_add_test(tc, test_grown_graph_is_linear);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradients_chain);
    tcase_add_test(tc, test_gradients_residual);
    tcase_add_test(tc, test_gradients_feature_batchnorm);
    tcase_add_test(tc, test_gradients_residual_example);
    tcase_add_test(tc, test_fused_and_unfused_agree);
    tcase_add_test(tc, test_extreme_logits);
    tcase_add_test(tc, test_profile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(net_suite());
}
