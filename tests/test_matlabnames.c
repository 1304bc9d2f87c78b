/* SPDX-License-Identifier: MIT */
/* The list of MATLAB names that minicnn does not provide (src/io/netfile_matlab.c) holds no
 * name that the network files do provide: every registered layer function and graph function
 * is absent from it, and a misspelt registered layer is offered the layer itself. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* src/io/netfile_internal.h: the i-th name of that list, NULL past the last. */
const char *nf_matlab_name_at(int i);

static const char *const graph_functions[] = {"layerGraph", "addLayers", "connectLayers",
                                              "disconnectLayers"};

START_TEST(test_no_registered_layer_is_listed)
{
    int layers = 0, names = 0;
    for (const char *m; (m = nf_matlab_name_at(names)) != NULL; names++) {
        for (int i = 0; mc_netfile_layer_function(i) != NULL; i++)
            ck_assert_msg(strcmp(m, mc_netfile_layer_function(i)) != 0,
                          "%s is registered (src/io/netfile_layers.c) and listed as a MATLAB "
                          "name minicnn does not provide (src/io/netfile_matlab.c)",
                          m);
        for (size_t g = 0; g < sizeof graph_functions / sizeof graph_functions[0]; g++)
            ck_assert_msg(strcmp(m, graph_functions[g]) != 0, "%s is a graph function", m);
    }
    while (mc_netfile_layer_function(layers) != NULL)
        layers++;
    ck_assert_int_ge(layers, 24);
    ck_assert_int_ge(names, 50);
    ck_assert_str_eq(nf_matlab_name_at(0), "anchorBoxLayer"); /* the list kept its order */
}
END_TEST

/* Each registered layer, misspelt by its last letter, is offered as itself; each listed layer
 * is refused as MATLAB's. */
START_TEST(test_messages)
{
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(NULL, 1, &ctx), MC_OK);
    for (int i = 0; mc_netfile_layer_function(i) != NULL; i++) {
        const char *f = mc_netfile_layer_function(i);
        char text[160], want[160];
        snprintf(text, sizeof text, "layers = [%.*s]", (int)strlen(f) - 1, f);
        snprintf(want, sizeof want, "(did you mean '%s'?)", f);
        mc_net *net = NULL;
        ck_assert_int_eq(mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL),
                         MC_ERR_FORMAT);
        ck_assert_msg(strstr(mc_ctx_message(ctx), want) != NULL, "%s: %s", text,
                      mc_ctx_message(ctx));
    }
    const char *text = "layers = [lstmLayer(10)]";
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(
        strstr(mc_ctx_message(ctx), "'lstmLayer' is a MATLAB layer that minicnn does not provide"));
    mc_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("matlabnames");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_no_registered_layer_is_listed);
    tcase_add_test(tc, test_messages);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
