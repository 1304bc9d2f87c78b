/* SPDX-License-Identifier: MIT */
/* Model files: round trips, and every truncation and bit flip of a small file. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "testutil.h"

static const char *const net_text = "layers = [imageInputLayer([4 4 1])\n"
                                    "  convolution2dLayer(3,2,'Padding','same')\n"
                                    "  batchNormalizationLayer\n"
                                    "  reluLayer\n"
                                    "  fullyConnectedLayer(3)\n"
                                    "  softmaxLayer\n"
                                    "  classificationLayer('Classes', {'cat', 'dog', 'emu'})]";

static char dir[64];

static const char *path(const char *name)
{
    static char buf[2][256];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void setup_dir(void)
{
    test_make_dir(dir, sizeof dir, "model");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
}

/* A trained-looking network: random learnables, fitted input statistics, a BN step. */
static mc_net *make_net(mc_ctx *ctx, float *x)
{
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, net_text, strlen(net_text), "t.net", &net, NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, 4), MC_OK);
    test_rng r = {9};
    test_fill_normal(&r, x, 64, 100, 30);
    mc_dataset ds = {test_shape(4, 4, 1, 4, 4), x, (int[]){0, 1, 2, 0}, 3};
    ck_assert_int_eq(mc_net_fit_input(net, &ds, 4), MC_OK);
    for (int i = 0; i < mc_net_num_params(net); i++) {
        mc_param *p = mc_net_param(net, i);
        test_fill_normal(&r, p->value.data, mc_tensor_numel(&p->value), 0, 1);
    }
    ck_assert_int_eq(mc_net_forward(net, x, 4, MC_MODE_TRAINING), MC_OK); /* moves BN stats */
    return net;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_round_trip)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float x[64];
    mc_net *net = make_net(ctx, x);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_OK);
    mc_net *back = NULL;
    mc_status st = mc_model_load(ctx, path("m.mcnn"), 4, &back);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(mc_net_forward(net, x, 4, MC_MODE_INFERENCE), MC_OK);
    ck_assert_int_eq(mc_net_forward(back, x, 4, MC_MODE_INFERENCE), MC_OK);
    ck_assert_mem_eq(mc_net_scores(net), mc_net_scores(back), 12 * sizeof(float));
    ck_assert(mc_input_is_fitted(mc_net_input_layer(back)));
    ck_assert_str_eq(mc_classification_class_name(mc_net_layer(back, 6), 1), "dog");
    /* Saving over an existing file replaces it and leaves no temporary file behind. */
    ck_assert_int_eq(mc_model_save(back, path("m.mcnn")), MC_OK);
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 1);
    /* Errors: a folder that does not exist, an unassembled network. */
    ck_assert_int_eq(mc_model_save(net, "/nonexistent-dir/m.mcnn"), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "No such file or directory"));
    mc_net *none = NULL;
    ck_assert_int_eq(mc_model_load(ctx, path("missing"), 4, &none), MC_ERR_IO);
    ck_assert_ptr_null(none);
    mc_net_destroy(back);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Every prefix and every single-bit flip of a saved file is refused cleanly, except flips of
 * deflate bits that do not change the decompressed payload (padding, unused code lengths):
 * those must give back the very same network. */
START_TEST(test_every_truncation_and_flip)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float x[64];
    mc_net *net = make_net(ctx, x);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_OK);
    ck_assert_int_eq(mc_net_forward(net, x, 4, MC_MODE_INFERENCE), MC_OK);
    float want[12];
    memcpy(want, mc_net_scores(net), sizeof want);
    mc_net_destroy(net);
    int harmless = 0;
    size_t n;
    unsigned char *b = slurp(path("m.mcnn"), &n);
    ck_assert(n > 200 && n < 4000);
    for (size_t k = 0; k < n; k++) {
        spit(path("t.mcnn"), b, k);
        mc_net *out = (mc_net *)&a;
        mc_status st = mc_model_load(ctx, path("t.mcnn"), 4, &out);
        ck_assert_msg(st == MC_ERR_FORMAT, "cut at %zu: %s (%s)", k, mc_status_name(st),
                      mc_ctx_message(ctx));
        ck_assert_ptr_null(out);
    }
    for (size_t k = 0; k < n; k++)
        for (int bit = 0; bit < 8; bit++) {
            b[k] ^= (unsigned char)(1 << bit);
            spit(path("f.mcnn"), b, n);
            mc_net *out = NULL;
            mc_status st = mc_model_load(ctx, path("f.mcnn"), 4, &out);
            if (st == MC_OK) {
                ck_assert_int_eq(mc_net_forward(out, x, 4, MC_MODE_INFERENCE), MC_OK);
                ck_assert_msg(memcmp(mc_net_scores(out), want, sizeof want) == 0,
                              "bit %d of byte %zu changed the network unnoticed", bit, k);
                mc_net_destroy(out);
                harmless++;
            } else {
                ck_assert_msg(st == MC_ERR_FORMAT, "bit %d of byte %zu: %s (%s)", bit, k,
                              mc_status_name(st), mc_ctx_message(ctx));
            }
            b[k] ^= (unsigned char)(1 << bit);
        }
    ck_assert_msg(harmless * 100 < (int)n * 8, "%d flips changed nothing", harmless);
    /* Wrong magic and a newer version, with a correct header CRC. */
    unsigned char h[40];
    memcpy(h, b, 40);
    b[0] = 'X';
    spit(path("x.mcnn"), b, n);
    mc_net *out = NULL;
    ck_assert_int_eq(mc_model_load(ctx, path("x.mcnn"), 4, &out), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "not a minicnn model file"));
    memcpy(b, h, 40);
    b[8] = 2;
    const uLong crc = crc32(0L, b, 36);
    for (int i = 0; i < 4; i++)
        b[36 + i] = (unsigned char)(crc >> (8 * i));
    spit(path("v.mcnn"), b, n);
    ck_assert_int_eq(mc_model_load(ctx, path("v.mcnn"), 4, &out), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "model file format version 2; this "
                                                      "minicnn reads version 1"));
    free(b);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_every_truncation_and_flip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(model_suite());
}
