/* SPDX-License-Identifier: MIT */
/* Network files: every syntax element, the reference files, and every error message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#ifndef MC_SOURCE_DIR
#error "MC_SOURCE_DIR must name the repository's root"
#endif

static mc_net *parse_ok(mc_ctx *ctx, const char *text, bool *is_graph)
{
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, is_graph);
    ck_assert_msg(st == MC_OK, "parse failed: %s", mc_ctx_message(ctx));
    return net;
}

static char *display(mc_ctx *ctx, mc_net *net)
{
    char *text = NULL;
    ck_assert_int_eq(mc_net_describe(net, &text), MC_OK);
    (void)ctx;
    return text;
}

START_TEST(test_reference_file)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = NULL;
    bool is_graph = true;
    mc_status st =
        mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/reference.net", &net, &is_graph);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert(!is_graph);
    ck_assert_int_eq(mc_net_num_layers(net), 8);
    char *text = display(ctx, net);
    ck_assert_str_eq(text, test_reference_display);
    mc_free(ctx, text);
    /* Assembly infers every shape from the input layer. */
    ck_assert_int_eq(mc_net_assemble(net, 4), MC_OK);
    mc_shape s = mc_net_activation_shape(net, 1);
    ck_assert_int_eq(s.ndim, 4);
    ck_assert_int_eq(s.dims[1], 20);
    ck_assert_int_eq(s.dims[2], 24);
    ck_assert_int_eq(mc_net_num_classes(net), 10);
    /* 5*5*3*20 + 20 (conv) + 2*20 (group norm) + 12*12*20*10 + 10 (fc) */
    ck_assert_uint_eq(mc_net_num_learnables(net), 1500 + 20 + 40 + 28800 + 10);
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 0)), "imageinput");
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 2)), "groupnorm");
    mc_net_destroy(net);

    /* The gray variant differs only in the input's channels. */
    st = mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/reference-gray.net", &net, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    text = display(ctx, net);
    ck_assert_ptr_nonnull(strstr(text, "28x28x1 images with 'zerocenter' normalization"));
    mc_free(ctx, text);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_residual_file)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = NULL;
    bool is_graph = false;
    mc_status st =
        mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/residual-gn.net", &net, &is_graph);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert(is_graph);
    ck_assert(!mc_net_is_sequential(net));
    st = mc_net_assemble(net, 2);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    char *text = NULL;
    ck_assert_int_eq(mc_net_analyze(net, &text), MC_OK);
    ck_assert_ptr_nonnull(strstr(text, "'relu1' -> 'add/in2'\n"));
    ck_assert_ptr_nonnull(strstr(text, "'gn3' -> 'add/in1'\n"));
    mc_free(ctx, text);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Every element of the language in one file. */
START_TEST(test_syntax_elements)
{
    static const char *const text =
        "%{\n"
        "  a block comment: layers = [ not parsed\n"
        "%}\n"
        "sz = [12, 12 1];      % a vector with commas and blanks\n"
        "eps = 1e-3; k = 2\n"
        "head = [imageInputLayer(sz, \"Name\", \"in\", 'Normalization', 'none')\n"
        "        convolution2dLayer([3 3], 4, 'Padding', 'same', ...  continued\n"
        "                           'Name', 'conv''s', 'stride', k)];\n"
        "body = [groupNormalizationLayer(\"all-channels\", 'Epsilon', eps, 'Name', \"g\"\"n\");\n"
        "        reluLayer('Name', 'relu'), maxPooling2dLayer(2, 'Stride', [2 2], "
        "'Padding', [0 0 0 0])\n"
        "        fullyConnectedLayer(3, 'BiasL2Factor', .5, 'WeightLearnRateFactor', +2, "
        "'InputSize', 'auto')\n"
        "        softmaxLayer\n"
        "        classificationLayer('Classes', {'a', 'b'; 'c'}, 'Name', 'out')];\n"
        "lgraph = layerGraph(head);\n"
        "lgraph = addLayers(lgraph, body);\n"
        "lgraph = connectLayers(lgraph, 'conv''s', 'g\"n');\n"
        "lgraph = disconnectLayers(lgraph, 'conv''s', 'g\"n');\n"
        "connectLayers('conv''s/out', 'g\"n/in')   % the two-argument form, on lgraph\n";
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    bool is_graph = false;
    mc_net *net = parse_ok(ctx, text, &is_graph);
    ck_assert(is_graph);
    ck_assert_int_eq(mc_net_num_layers(net), 8);
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 0)), "in");
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 1)), "conv's");
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 2)), "g\"n");
    ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 4)), "maxpool"); /* named by layerGraph */
    ck_assert_int_eq(mc_groupnorm_num_groups(mc_net_layer(net, 2)), 1);
    mc_param *w = mc_layer_param(mc_net_layer(net, 5), 0);
    mc_param *b = mc_layer_param(mc_net_layer(net, 5), 1);
    ck_assert(w->lr_factor == 2.0 && b->l2_factor == 0.5);
    mc_status st = mc_net_assemble(net, 2);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    /* 'same' padding and stride 2: 12x12 -> 6x6; pooling 2: 3x3 */
    mc_shape conv = mc_net_activation_shape(net, 1);
    ck_assert_int_eq(conv.dims[2], 6);
    ck_assert_int_eq(mc_net_activation_shape(net, 4).dims[2], 3);
    ck_assert_int_eq(mc_net_num_classes(net), 3);
    ck_assert_str_eq(mc_classification_class_name(mc_net_layer(net, 7), 2), "c");
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_layer_expression)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    mc_status st = mc_layer_parse(ctx, "groupNormalizationLayer(3,'Name','groupnorm')", &l);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    char *text = NULL;
    ck_assert_int_eq(mc_layer_describe(l, MC_DESCRIBE_PROPERTIES, &text), MC_OK);
    ck_assert_str_eq(text, "  GroupNormalizationLayer with properties:\n\n"
                           "           Name: 'groupnorm'\n"
                           "    NumChannels: 'auto'\n\n"
                           "   Hyperparameters\n"
                           "      NumGroups: 3\n"
                           "        Epsilon: 1.0000e-05\n\n"
                           "   Learnable Parameters\n"
                           "         Offset: []\n"
                           "          Scale: []\n\n"
                           "  Show all properties\n");
    mc_free(ctx, text);
    mc_layer_destroy(l);
    /* Option names are case-insensitive; a trailing ';' is allowed. */
    st = mc_layer_parse(ctx, "groupNormalizationLayer(2,'epsilon',0.5,'scalel2factor',0);", &l);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert(mc_layer_param(l, 1)->l2_factor == 0.0);
    mc_layer_destroy(l);
    st = mc_layer_parse(ctx, "[reluLayer reluLayer]", &l);
    ck_assert_int_eq(st, MC_ERR_FORMAT);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "expression:1:1: expected one layer, such as reluLayer(), not several layers");
    ck_assert_ptr_null(l);
    /* several layers, separated or in [...], for minicnn layer */
    static const char *const several[] = {"reluLayer; reluLayer", "[reluLayer reluLayer]",
                                          "reluLayer\n[reluLayer];"};
    for (int i = 0; i < 3; i++) {
        mc_net *net = NULL;
        st = mc_layers_parse(ctx, several[i], &net);
        ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
        ck_assert_int_eq(mc_net_num_layers(net), 2);
        ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 1)), "");
        mc_net_destroy(net);
    }
    mc_net *none = NULL;
    ck_assert_int_eq(mc_layers_parse(ctx, "reluLayer 3", &none), MC_ERR_FORMAT);
    ck_assert_str_eq(mc_ctx_message(ctx), "expression:1:11: expected ';', ',' or the end of the "
                                          "expression, found the number 3");
    ck_assert_int_eq(mc_layers_parse(ctx, "reluLayer; 'a'", &none), MC_ERR_FORMAT);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "expression:1:12: expected layers, such as reluLayer(), not a string");
    ck_assert_ptr_null(none);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Broken files: each gives its status and a message with file:line:column. */
static const struct {
    const char *text;
    mc_status status;
    const char *message; /* exact when it starts with "t.net:", else a part */
} broken[] = {
    {"layers = [convolution2DLayer(5,20)]", MC_ERR_FORMAT,
     "t.net:1:11: unknown function or variable 'convolution2DLayer' (did you mean "
     "'convolution2dLayer'?)"},
    {"x = [imageInputLayer([8 8 1])\n  convolution2dLayer(3,2,'Strid',2)]", MC_ERR_FORMAT,
     "t.net:2:26: convolution2dLayer has no option 'Strid' (did you mean 'Stride'?)"},
    {"x = reluLayer('Colour', 'red')", MC_ERR_FORMAT,
     "t.net:1:15: reluLayer has no option 'Colour'; its options are 'Name'"},
    {"x = maxPooling2dLayer(2,'Stride')", MC_ERR_FORMAT,
     "t.net:1:25: maxPooling2dLayer: option 'Stride' has no value (options come in name-value "
     "pairs)"},
    {"x = [reluLayer\n  reluLayer", MC_ERR_FORMAT, "t.net:1:5: '[' is never closed by ']'"},
    {"x = reluLayer('Name', 'abc)", MC_ERR_FORMAT,
     "t.net:1:23: string starting here is not closed by ' on its line"},
    {"x = convolution2dLayer(5,\n20)", MC_ERR_FORMAT,
     "t.net:1:26: expected a value, found end of line"},
    {"x = convolution2dLayer(5,20\n)", MC_ERR_FORMAT,
     "t.net:1:28: expected ',' or ')' before end of line (the '(' at line 1 column 23 is not "
     "closed; use ... to continue a line)"},
    {"x = convolution2dLayer(5,20,3,4)", MC_ERR_FORMAT,
     "t.net:1:29: convolution2dLayer: expected an option name in quotes, found a number"},
    {"x = convolution2dLayer(5)", MC_ERR_FORMAT,
     "t.net:1:5: convolution2dLayer needs 2 arguments before its options, got 1"},
    {"x = maxPooling2dLayer('two')", MC_ERR_FORMAT,
     "t.net:1:23: maxPooling2dLayer: poolSize must be a positive integer or a vector of 2 of "
     "them, not 'two'"},
    {"x = convolution2dLayer([5 5 5],20)", MC_ERR_FORMAT,
     "t.net:1:24: convolution2dLayer: filterSize must be a positive integer or a vector of 2 "
     "of them, not a vector of 3 numbers"},
    {"x = convolution2dLayer(5,20,'Padding','valid')", MC_ERR_FORMAT,
     "convolution2dLayer: Padding must be 'same', a nonnegative integer, [a b] or [t b l r], "
     "not 'valid'"},
    {"x = groupNormalizationLayer(2, 'Epsilon', 1e-6)", MC_ERR_INVALID,
     "t.net:1:5: groupNormalizationLayer (unnamed): Epsilon must be a finite number of at least "
     "1e-05, not 1e-06"},
    {"x = groupNormalizationLayer(0)", MC_ERR_INVALID,
     "t.net:1:5: groupNormalizationLayer (unnamed): the number of groups must be a positive "
     "integer"},
    {"x = groupNormalizationLayer('channelwise')", MC_ERR_FORMAT,
     "t.net:1:29: groupNormalizationLayer: numGroups \"channelwise\" is not valid (did you mean "
     "\"channel-wise\"?)"},
    {"x = imageInputLayer([28 28 1], 'Normalization', 'zero-center')", MC_ERR_FORMAT,
     "t.net:1:49: imageInputLayer: unknown normalization 'zero-center' (did you mean "
     "'zerocenter'?)"},
    {"x = [1 2]'", MC_ERR_FORMAT,
     "t.net:1:10: the transpose operator ' is not supported in network files"},
    {"x = fullyConnectedLayer(5*2)", MC_ERR_FORMAT, "t.net:1:26: unexpected character '*'"},
    {"x = fullyConnectedLayer(10 - 1)", MC_ERR_FORMAT,
     "t.net:1:28: expected ',' or ')', found '-'"},
    {"x = convolution2dLayer(5,20,'WeightsInitializer',@(sz) ones(sz))", MC_ERR_FORMAT,
     "t.net:1:50: function handles are not supported in network files"},
    {"l = [reluLayer]\ng = layerGraph(l)\nh = layerGraph(l)", MC_ERR_FORMAT,
     "t.net:3:16: 'l' was already used at line 2; a layer array or graph can be used once"},
    {"a = [imageInputLayer([4 4 1])\n softmaxLayer\n classificationLayer]\nb = [reluLayer]",
     MC_ERR_FORMAT,
     "t.net:4:1: 'b' (line 4) is a layer array that is not part of the network; add it with "
     "addLayers or remove it"},
    {"% nothing here\n", MC_ERR_FORMAT,
     "t.net:2:1: the file defines no network: expected a layer array"},
    {"l = layerGraph([reluLayer('Name','a')])\nl = connectLayers(l, 'a', 'b')", MC_ERR_FORMAT,
     "t.net:2:5: connectLayers: no layer named 'b'"},
    {"l = layerGraph([reluLayer('Name','a'); additionLayer(2,'Name','b')])\n"
     "l = connectLayers(l, 'a', 'b/in1')",
     MC_ERR_FORMAT, "t.net:2:5: connectLayers: input 'b/in1' is already connected to 'a'"},
    {"l = layerGraph([reluLayer('Name','a'); additionLayer(2,'Name','b')])\n"
     "l = connectLayers(l, 'a', 'b/in3')",
     MC_ERR_FORMAT, "connectLayers: layer 'b' has no input named 'in3' (it has 'in1', 'in2')"},
    {"x = reluLayer(1e)", MC_ERR_FORMAT,
     "t.net:1:15: malformed number '1e': expected digits after the exponent"},
    {"x = reluLayer('Name') == 2", MC_ERR_FORMAT, "comparison '==' is not supported"},
    {"x = [reluLayer 3]", MC_ERR_FORMAT, "t.net:1:16: cannot mix numbers and layers in one [...]"},
    {"x = [reluLayer 'a']", MC_ERR_FORMAT,
     "t.net:1:16: a string cannot be an element of [...]; expected numbers or layers"},
    {"reluLayer = 3", MC_ERR_FORMAT,
     "t.net:1:1: cannot assign to 'reluLayer': it is a layer function"},
    {"x = reluLayer(); y", MC_ERR_FORMAT, "t.net:1:18: unknown function or variable 'y'"},
    {"x = {'a', 3}", MC_ERR_FORMAT, "t.net:1:11: expected a string in {...}, found the number 3"},
    /* found by fuzzing: an empty [] inside [...] (UBSan: memcpy from NULL) */
    {"x = [[[] []] [] 1]\ny = reluLayer(x)", MC_ERR_FORMAT,
     "t.net:2:15: reluLayer takes 0 arguments and then name-value pairs; this is one too many"},
    {"x = additionLayer(1)", MC_ERR_INVALID, "t.net:1:5: "},
    {"x = classificationLayer('ClassWeights', [1 2])", MC_ERR_FORMAT,
     "classificationLayer: ClassWeights must be 'none' (class weights are not supported)"},
    /* an empty layer graph (layerGraph with or without parentheses) takes layers */
    {"lgraph = layerGraph()\nlgraph = connectLayers(lgraph, 'a', 'b')", MC_ERR_FORMAT,
     "t.net:2:10: connectLayers: no layer named 'a'"},
    /* MATLAB names minicnn does not provide: said so, not "did you mean" another layer */
    {"x = [imageInputLayer([4 4 1]); lstmLayer(10)]", MC_ERR_FORMAT,
     "t.net:1:32: 'lstmLayer' is a MATLAB layer that minicnn does not provide"},
    {"opts = trainingOptions('sgdm', 'MaxEpochs', 4)", MC_ERR_FORMAT,
     "t.net:1:8: 'trainingOptions' is a MATLAB function that minicnn does not provide in network "
     "files; training options are the flags of minicnn train"},
    {"imds = imageDatastore('digits')", MC_ERR_FORMAT,
     "t.net:1:8: 'imageDatastore' is a MATLAB function that minicnn does not provide in network "
     "files"},
    {"x = bilstmLayr(5)", MC_ERR_FORMAT,
     "t.net:1:5: unknown function or variable 'bilstmLayr' (MATLAB's 'bilstmLayer' is not "
     "provided by minicnn)"},
    {"x = lstmLayr(5)", MC_ERR_FORMAT,
     "t.net:1:5: unknown function or variable 'lstmLayr' (MATLAB's 'lstmLayer' is not provided "
     "by minicnn)"},
    {"x = reluLayr", MC_ERR_FORMAT,
     "t.net:1:5: unknown function or variable 'reluLayr' (did you mean 'reluLayer'?)"},
    {"x = imageInputLayer([28 28 1], 'Normalization', @(x) x / 255)", MC_ERR_FORMAT,
     "t.net:1:49: function handles are not supported in network files; Normalization must be "
     "'zerocenter', 'zscore', 'rescale-symmetric', 'rescale-zero-one' or 'none'"},
    /* found by fuzzing: a handle after a call whose option names were freed */
    {"x = reluLayer('Name', 'a')\n@(x) x", MC_ERR_FORMAT,
     "t.net:2:1: function handles are not supported in network files"},
    {"%{\nnever closed\n", MC_ERR_FORMAT, "t.net:1:1: block comment '%{' is never closed by '%}'"},
    {"x = reluLayer\xc3\xa9", MC_ERR_FORMAT,
     "t.net:1:14: unexpected byte 0xc3 (network files are ASCII)"},
};

START_TEST(test_broken_files)
{
    const int i = _i;
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = (mc_net *)&a;
    mc_status st =
        mc_netfile_parse(ctx, broken[i].text, strlen(broken[i].text), "t.net", &net, NULL);
    ck_assert_msg(st == broken[i].status, "case %d: expected %s, got %s (%s)", i,
                  mc_status_name(broken[i].status), mc_status_name(st), mc_ctx_message(ctx));
    ck_assert_ptr_null(net);
    const char *msg = mc_ctx_message(ctx);
    if (strncmp(broken[i].message, "t.net:", 6) == 0) /* the message starts so */
        ck_assert_msg(strncmp(msg, broken[i].message, strlen(broken[i].message)) == 0,
                      "case %d:\n got  \"%s\"\n want \"%s\"", i, msg, broken[i].message);
    else
        ck_assert_msg(strstr(msg, broken[i].message) != NULL, "case %d: \"%s\" lacks \"%s\"", i,
                      msg, broken[i].message);
    ck_assert_msg(test_message_has_text(msg), "case %d: the message says nothing: \"%s\"", i, msg);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* lgraph = layerGraph; then addLayers and connectLayers onto it, as Deep Network Designer
 * writes it. */
START_TEST(test_empty_graph)
{
    static const char *const texts[] = {
        "lgraph = layerGraph;\n"
        "lgraph = addLayers(lgraph, [imageInputLayer([4 4 1],'Name','in')\n"
        "    fullyConnectedLayer(2,'Name','fc'); softmaxLayer; classificationLayer]);\n",
        "lgraph = layerGraph();\n"
        "lgraph = addLayers(lgraph, imageInputLayer([4 4 1],'Name','in'));\n"
        "lgraph = addLayers(lgraph, [fullyConnectedLayer(2,'Name','fc'); softmaxLayer\n"
        "    classificationLayer]);\n"
        "lgraph = connectLayers(lgraph, 'in', 'fc');\n",
    };
    for (int i = 0; i < 2; i++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        bool is_graph = false;
        mc_net *net = parse_ok(ctx, texts[i], &is_graph);
        ck_assert(is_graph);
        ck_assert_int_eq(mc_net_num_layers(net), 4);
        ck_assert_msg(mc_net_assemble(net, 2) == MC_OK, "%s", mc_ctx_message(ctx));
        ck_assert_str_eq(mc_layer_name(mc_net_layer(net, 3)), "classoutput");
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

/* Nesting is bounded: 20,000 brackets or 3,000 calls deep give an error at the first value
 * too deep, not a stack overflow. */
START_TEST(test_deep_nesting)
{
    static const struct {
        const char *open, *close;
        int depth;
    } kinds[] = {{"[", "]", 20000}, {"reluLayer(", ")", 3000}, {"[reluLayer(", ")]", 3000}};
    for (int k = 0; k < 3; k++) {
        const size_t lo = strlen(kinds[k].open), lc = strlen(kinds[k].close);
        const int depth = kinds[k].depth;
        char *text = malloc(4 + (lo + lc) * (size_t)depth + 1);
        ck_assert_ptr_nonnull(text);
        char *p = text + sprintf(text, "x = ");
        for (int i = 0; i < depth; i++, p += lo)
            memcpy(p, kinds[k].open, lo);
        for (int i = 0; i < depth; i++, p += lc)
            memcpy(p, kinds[k].close, lc);
        *p = '\0';
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_net *net = NULL;
        ck_assert_int_eq(mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL),
                         MC_ERR_FORMAT);
        /* the 257th value starts after 256 openings; a call's argument, after its '(' */
        char want[160];
        const int col = 5 + (int)(lo * 256) / (k == 2 ? 2 : 1);
        snprintf(want, sizeof want, "t.net:1:%d: values nested more than 256 deep", col);
        ck_assert_msg(strncmp(mc_ctx_message(ctx), want, strlen(want)) == 0,
                      "kind %d: \"%s\", want \"%s\"", k, mc_ctx_message(ctx), want);
        ck_assert_ptr_null(net);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        free(text);
    }
}
END_TEST

/* A vector of 1,000,000 numbers and a cell array of 50,000 strings are read in linear time
 * (appending one element at a time copied the whole array: minutes). */
START_TEST(test_large_values)
{
    const int numbers = 1000000, cells = 50000;
    char *text = malloc(2 * (size_t)numbers + 4 * (size_t)cells + 256);
    ck_assert_ptr_nonnull(text);
    char *p = text + sprintf(text, "v = [");
    for (int i = 0; i < numbers; i++)
        p += sprintf(p, "%d ", i % 10);
    p += sprintf(p, "];\nc = {");
    for (int i = 0; i < cells; i++)
        p += sprintf(p, "'a',");
    sprintf(p, "};\nlayers = [featureInputLayer(2); fullyConnectedLayer(2); softmaxLayer; "
               "classificationLayer];\n");
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    mc_net *net = parse_ok(ctx, text, NULL);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("1,000,000 numbers and 50,000 strings in %.3f s\n", s);
    ck_assert_msg(s < 3.0, "%.3f s", s); /* CPU seconds; about 0.1 in the Release build */
    ck_assert_int_eq(mc_net_num_layers(net), 4);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    free(text);
}
END_TEST

/* MATLAB lists an input layer's Max before its Min. */
START_TEST(test_input_display_order)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_layer *l = NULL;
    ck_assert_int_eq(
        mc_layer_parse(ctx, "imageInputLayer([2 2 1],'Normalization','rescale-zero-one')", &l),
        MC_OK);
    char *text = NULL;
    ck_assert_int_eq(mc_layer_describe(l, MC_DESCRIBE_PROPERTIES, &text), MC_OK);
    ck_assert_ptr_nonnull(strstr(text, "                       Max: []\n"
                                       "                       Min: []\n"));
    mc_free(ctx, text);
    mc_layer_destroy(l);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* A failure reported without text gets the status table's (a debug build asserts instead). */
START_TEST(test_message_fallback)
{
#ifdef NDEBUG
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    ck_assert_int_eq(mc_ctx_fail(ctx, MC_ERR_IO, "%s", ""), MC_ERR_IO);
    ck_assert_str_eq(mc_ctx_message(ctx), "input/output error");
    ck_assert_int_eq(mc_ctx_fail(ctx, MC_ERR_FORMAT, "t.net:1:10: %s", ""), MC_ERR_FORMAT);
    ck_assert_str_eq(mc_ctx_message(ctx), "t.net:1:10: malformed input file");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
#endif
}
END_TEST

START_TEST(test_nul_and_missing_file)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = NULL;
    const char text[] = "x = [reluLayer\n\0]";
    ck_assert_int_eq(mc_netfile_parse(ctx, text, sizeof text - 1, "t.net", &net, NULL),
                     MC_ERR_FORMAT);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "t.net:2:1: unexpected NUL byte: this is not a text file");
    ck_assert_int_eq(mc_netfile_load(ctx, "/nonexistent/dir/x.net", &net, NULL), MC_ERR_IO);
    ck_assert_str_eq(mc_ctx_message(ctx), "cannot open network file '/nonexistent/dir/x.net': "
                                          "No such file or directory");
    ck_assert_int_eq(mc_netfile_load(ctx, MC_SOURCE_DIR "/data", &net, NULL), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "Is a directory"));
    ck_assert_ptr_null(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Every allocation of parsing and assembling the residual example can fail cleanly. */
START_TEST(test_allocation_failures)
{
    char *text = test_read_fixture("../../data/networks/residual-gn.net");
    ck_assert_ptr_nonnull(text);
    long k = 1;
    for (;; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        a.fail_at = a.count + k;
        mc_net *net = NULL;
        mc_status st = mc_netfile_parse(ctx, text, strlen(text), "r.net", &net, NULL);
        if (st == MC_OK)
            st = mc_net_assemble(net, 2);
        char *shown = NULL;
        if (st == MC_OK)
            st = mc_net_analyze(net, &shown);
        if (st != MC_OK)
            ck_assert_msg(st == MC_ERR_NOMEM, "k=%ld: %s (%s)", k, mc_status_name(st),
                          mc_ctx_message(ctx));
        mc_free(ctx, shown);
        mc_net_destroy(net);
        mc_ctx_destroy(ctx);
        ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
        if (st == MC_OK)
            break;
    }
    ck_assert(k > 50);
    free(text);
}
END_TEST

static Suite *netfile_suite(void)
{
    Suite *s = suite_create("netfile");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_reference_file);
    tcase_add_test(tc, test_residual_file);
    tcase_add_test(tc, test_syntax_elements);
    tcase_add_test(tc, test_layer_expression);
    tcase_add_test(tc, test_nul_and_missing_file);
    tcase_add_test(tc, test_empty_graph);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_large_values);
    tcase_add_test(tc, test_input_display_order);
    tcase_add_test(tc, test_message_fallback);
    tcase_add_loop_test(tc, test_broken_files, 0, (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(netfile_suite());
}
