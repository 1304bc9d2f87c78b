/* SPDX-License-Identifier: MIT */
/* The script interpreter through its library API: load of MAT-files that the test writes
 * through libmatio (v5 compressed and v7.3), categorical labels, trainNetwork on 4-D arrays
 * with {X, Y} validation data, what the host is given, errors, and allocation failures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <matio.h>
#include <minicnn/script.h>

#include "testutil.h"

typedef struct captured {
    char out[16384];
    size_t len;
    int notes, trainings, ends;
} captured;

static void cap_print(void *user, const char *text)
{
    captured *c = user;
    const size_t n = strlen(text);
    ck_assert_uint_lt(c->len + n, sizeof c->out);
    memcpy(c->out + c->len, text, n + 1);
    c->len += n;
}

static void cap_note(void *user, const char *text)
{
    captured *c = user;
    (void)text;
    c->notes++;
}

static int cap_begin(void *user, const mc_script_training *t, mc_train_callback *cb, void **cbu)
{
    captured *c = user;
    ck_assert(t->options != NULL);
    ck_assert(t->validation);
    ck_assert(!t->verbose);
    c->trainings++;
    *cb = NULL;
    *cbu = NULL;
    return 0;
}

static void cap_end(void *user, void *cbu, mc_status st)
{
    captured *c = user;
    (void)cbu;
    ck_assert_int_eq(st, MC_OK);
    c->ends++;
}

/* 8x8 images of two classes: bright left half (label 0) or right half (label 2), with noise;
 * MATLAB's layout H x W x C x N, column-major. */
static void make_images(double *x, double *y, int n, uint64_t seed)
{
    test_rng r = {seed};
    for (int i = 0; i < n; i++) {
        const int label = i % 2 == 0 ? 0 : 2;
        y[i] = label;
        for (int w = 0; w < 8; w++)
            for (int h = 0; h < 8; h++) {
                const bool bright = label == 0 ? w < 4 : w >= 4;
                x[((size_t)i * 8 + w) * 8 + h] = (bright ? 200 : 20) + 10 * test_rng_normal(&r);
            }
    }
}

static void write_var(mat_t *mat, const char *name, int rank, size_t *dims, double *data)
{
    matvar_t *v = Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, rank, dims, data, 0);
    ck_assert(v != NULL);
    ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB), 0);
    Mat_VarFree(v);
}

/* Writes XTrain (8x8x1x40), YTrain (40x1), XTest (8x8x1x10), YTest (10x1). */
static void write_mat(const char *path, enum mat_ft version)
{
    mat_t *mat = Mat_CreateVer(path, NULL, version);
    ck_assert_msg(mat != NULL, "cannot create %s", path);
    double xtr[8 * 8 * 40], ytr[40], xte[8 * 8 * 10], yte[10];
    make_images(xtr, ytr, 40, 1);
    make_images(xte, yte, 10, 2);
    size_t d4[4] = {8, 8, 1, 40}, d2[2] = {40, 1};
    write_var(mat, "XTrain", 4, d4, xtr);
    write_var(mat, "YTrain", 2, d2, ytr);
    d4[3] = 10;
    d2[0] = 10;
    write_var(mat, "XTest", 4, d4, xte);
    write_var(mat, "YTest", 2, d2, yte);
    Mat_Close(mat);
}

static char *script_for(const char *mat)
{
    static const char *const fmt =
        "load('%s')\n"
        "size(XTrain)\n"
        "YTrain = categorical(YTrain);\n"
        "categories(YTrain)\n"
        "layers = [imageInputLayer([8 8 1]) fullyConnectedLayer(2) softmaxLayer "
        "classificationLayer];\n"
        "options = trainingOptions('sgdm','MaxEpochs',20,'MiniBatchSize',10, ...\n"
        "    'InitialLearnRate',0.01,'Verbose',false,'ValidationData',{XTest, "
        "categorical(YTest)});\n"
        "net = trainNetwork(XTrain, YTrain, layers, options);\n"
        "YPred = classify(net, XTest);\n"
        "accuracy = mean(YPred == categorical(YTest))\n"
        "S = load('%s');\n"
        "S.YTest(1:3)\n";
    char *text = malloc(4096);
    ck_assert(text != NULL);
    snprintf(text, 4096, fmt, mat, mat);
    return text;
}

static void run_mat_script(enum mat_ft version)
{
    char dir[] = "/tmp/mc_script_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char mat[256];
    snprintf(mat, sizeof mat, "%s/digits4d.mat", dir);
    write_mat(mat, version);
    char *text = script_for(mat);
    test_alloc a = {0, 0, 0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_script *s = NULL;
    mc_status st = mc_script_parse(ctx, text, strlen(text), "arrays.m", &s);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    captured c;
    memset(&c, 0, sizeof c);
    const mc_script_host host = {&c, cap_print, cap_note, cap_begin, cap_end, "/nowhere"};
    st = mc_script_run(s, &host);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(c.trainings, 1);
    ck_assert_int_eq(c.ends, 1);
    ck_assert_int_eq(c.notes, 0);
    const char *want = "ans =\n\n     8     8     1    40\n\n"
                       "ans =\n\n  2\xc3\x97"
                       "1 cell array\n\n    {'0'}\n    {'2'}\n\n"
                       "accuracy =\n\n     1\n\n"
                       "ans =\n\n     0\n     2\n     0\n\n";
    ck_assert_str_eq(c.out, want);
    /* a script runs once */
    ck_assert_int_eq(mc_script_run(s, &host), MC_ERR_STATE);
    mc_script_destroy(s);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    free(text);
    remove(mat);
    rmdir(dir);
}

START_TEST(test_mat_v5)
{
    run_mat_script(MAT_FT_MAT5);
}
END_TEST

START_TEST(test_mat_v73)
{
    run_mat_script(MAT_FT_MAT73);
}
END_TEST

/* Errors found by the check, before the first statement runs, with file:line:col. */
static const struct {
    const char *text, *want;
} broken[] = {
    {"x = 1\nload('/nonexistent/file.mat')\n",
     "s.m:2:6: `load('/nonexistent/file.mat')`: cannot open '/nonexistent/file.mat'"},
    {"disp('x')\ny = categorical([1 2]) + 1\n", NULL}, /* runs: fails at run time */
    {"x = 1\ny = undefinedThing(3)\n", "s.m:2:5: `y = undefinedThing(3)`: unknown function"},
    {"x = [1 2\n", "s.m:1:5: `x = [1 2`: '[' is never closed by ']'"},
    {"for i = 1:3\n  disp(i)\n", "s.m:1:1: `for i = 1:3 ...`: this 'for' is never closed"},
    {"a = 'abc\n", "s.m:1:5: `a = 'abc`: the string starting here is not closed"},
    {"b = a'\n", "s.m:1:6: `b = a'`: the transpose operator ' is not supported"},
    {"while true\nend\n", "s.m:1:1: `while true`: 'while' is not supported"},
    {"x = 1;\nx(2) = 3;\n", "s.m:2:6: `x(2) = 3`: assigning to an indexed variable"},
    {"o = trainingOptions('sgdm','MaxEpocs',3);\n",
     "s.m:1:28: `o = trainingOptions('sgdm','MaxEpocs',3)`: trainingOptions: unknown option "
     "'MaxEpocs' (did you mean 'MaxEpochs'?)"},
    {"l = fullyConnectedLayer(10,'WeightLearnRateFactr',2);\n",
     "s.m:1:28: `l = fullyConnectedLayer(10,'WeightLearnRateFactr',2)`: fullyConnectedLayer has "
     "no option 'WeightLearnRateFactr' (did you mean 'WeightLearnRateFactor'?)"},
    /* a Name=Value argument cut short by a bad byte: its name was leaked (found by fuzzing) */
    {"x = fullfile(a =\240b);\n", "s.m:1:17: `x = fullfile(a =\240b)`: unexpected byte 0xa0"},
};

START_TEST(test_broken)
{
    test_alloc a = {0, 0, 0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_script *s = NULL;
    const char *text = broken[_i].text;
    mc_status st = mc_script_parse(ctx, text, strlen(text), "s.m", &s);
    if (broken[_i].want == NULL) {
        ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
        captured c;
        memset(&c, 0, sizeof c);
        const mc_script_host host = {&c, cap_print, cap_note, NULL, NULL, NULL};
        st = mc_script_run(s, &host);
        ck_assert_int_eq(st, MC_ERR_INVALID);
        ck_assert_str_eq(c.out, "x\n");
        ck_assert_msg(
            strstr(mc_ctx_message(ctx),
                   "s.m:2:24: `y = categorical([1 2]) + 1`: this operator takes numbers") ==
                mc_ctx_message(ctx),
            "%s", mc_ctx_message(ctx));
    } else {
        ck_assert_msg(st != MC_OK, "accepted: %s", text);
        ck_assert(s == NULL);
        ck_assert_msg(strncmp(mc_ctx_message(ctx), broken[_i].want, strlen(broken[_i].want)) == 0,
                      "got: %s\nwant: %s", mc_ctx_message(ctx), broken[_i].want);
    }
    mc_script_destroy(s);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Every allocation of parsing, checking and running a small script can fail: a clean
 * MC_ERR_NOMEM and nothing left allocated. */
START_TEST(test_allocation_failures)
{
    const char *text = "x = [1 2 3];\ny = {'a', \"b\"};\nz = sum(x .* 2) / numel(y)\n"
                       "s = sprintf('%d-%s', 4, y{1});\nfor i = 1:2\n  fprintf('%d\\n', i);\nend\n"
                       "l = [imageInputLayer([8 8 1]) reluLayer];\nc = categorical([3 1 3]);\n"
                       "t = c == '3'\n";
    long total = 0;
    {
        test_alloc a = {0, 0, 0};
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_script *s = NULL;
        ck_assert_int_eq(mc_script_parse(ctx, text, strlen(text), "a.m", &s), MC_OK);
        captured c;
        memset(&c, 0, sizeof c);
        const mc_script_host host = {&c, cap_print, cap_note, NULL, NULL, NULL};
        ck_assert_msg(mc_script_run(s, &host) == MC_OK, "%s", mc_ctx_message(ctx));
        ck_assert_str_eq(c.out, "z =\n\n     6\n\n1\n2\nt =\n\n  1\xc3\x97"
                                "3 logical array\n\n   1   0   1\n\n");
        mc_script_destroy(s);
        total = a.count;
        mc_ctx_destroy(ctx);
    }
    ck_assert(total > 50);
    for (long k = 1; k <= total; k++) {
        test_alloc a = {0, 0, 0};
        mc_ctx *ctx = test_ctx(&a, 1);
        a.fail_at = a.count + k;
        mc_script *s = NULL;
        mc_status st = mc_script_parse(ctx, text, strlen(text), "a.m", &s);
        if (st == MC_OK) {
            captured c;
            memset(&c, 0, sizeof c);
            const mc_script_host host = {&c, cap_print, cap_note, NULL, NULL, NULL};
            st = mc_script_run(s, &host);
        }
        ck_assert_msg(st == MC_OK || st == MC_ERR_NOMEM, "allocation %ld: %s", k,
                      mc_ctx_message(ctx));
        mc_script_destroy(s);
        mc_ctx_destroy(ctx);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks left", k, a.live);
    }
}
END_TEST

static Suite *script_suite(void)
{
    Suite *s = suite_create("script");
    TCase *tc = tcase_create("script");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mat_v5);
    tcase_add_test(tc, test_mat_v73);
    tcase_add_loop_test(tc, test_broken, 0, (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(script_suite());
}
