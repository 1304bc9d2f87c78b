/* SPDX-License-Identifier: MIT */
/* mc_image_folder_split_count: splitEachLabel(imds, n, 'randomized') with a count per class. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* 5, 7 and 4 files of classes a, b and c, by class then by name. */
static char *files[16];
static int labels[16];
static char *classes[3] = {"a", "b", "c"};
static char names[16][32];

static mc_image_folder folder(void)
{
    const int counts[3] = {5, 7, 4};
    int i = 0;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < counts[k]; j++, i++) {
            snprintf(names[i], sizeof names[i], "d/%s/%02d.png", classes[k], j);
            files[i] = names[i];
            labels[i] = k;
        }
    mc_image_folder f = {16, files, labels, 3, classes};
    return f;
}

static int index_of(const char *file)
{
    for (int i = 0; i < 16; i++)
        if (strcmp(files[i], file) == 0)
            return i;
    return -1;
}

START_TEST(test_counts_and_order)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    const mc_image_folder all = folder();
    mc_image_folder tr, te;
    ck_assert_int_eq(mc_image_folder_split_count(ctx, &all, 3, &tr, &te), MC_OK);
    ck_assert_int_eq(tr.num_files, 9);
    ck_assert_int_eq(te.num_files, 7);
    ck_assert_int_eq(tr.num_classes, 3);
    ck_assert_int_eq(te.num_classes, 3);
    ck_assert_str_eq(te.classes[2], "c");
    int per[3] = {0, 0, 0}, seen[16] = {0};
    for (int part = 0; part < 2; part++) {
        const mc_image_folder *f = part == 0 ? &tr : &te;
        int last = -1;
        for (int i = 0; i < f->num_files; i++) {
            const int at = index_of(f->files[i]);
            ck_assert_int_ge(at, 0);
            ck_assert_int_gt(at, last); /* the folder's order is kept */
            last = at;
            ck_assert_int_eq(f->labels[i], labels[at]);
            seen[at]++;
            if (part == 0)
                per[f->labels[i]]++;
        }
    }
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(seen[i], 1);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(per[k], 3);
    /* the same RNG state, the same split; a class's every file when n is its count */
    mc_rng_seed(ctx, 7);
    mc_image_folder tr2, te2;
    ck_assert_int_eq(mc_image_folder_split_count(ctx, &all, 3, &tr2, &te2), MC_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_str_eq(tr.files[i], tr2.files[i]);
    mc_image_folder_release(ctx, &tr2);
    mc_image_folder_release(ctx, &te2);
    ck_assert_int_eq(mc_image_folder_split_count(ctx, &all, 4, &tr2, &te2), MC_OK);
    ck_assert_int_eq(te2.num_files, 1 + 3);
    mc_image_folder_release(ctx, &tr2);
    mc_image_folder_release(ctx, &te2);
    mc_image_folder_release(ctx, &tr);
    mc_image_folder_release(ctx, &te);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_errors)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    const mc_image_folder all = folder();
    mc_image_folder tr, te;
    ck_assert_int_eq(mc_image_folder_split_count(ctx, &all, 5, &tr, &te), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "cannot take 5 files of each class for training: class 'c' has only 4");
    ck_assert_int_eq(tr.num_files + te.num_files, 0);
    ck_assert_int_eq(mc_image_folder_split_count(ctx, &all, 0, &tr, &te), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "at least 1, not 0"));
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_allocation_failures)
{
    const mc_image_folder all = folder();
    int failed = 0;
    for (long k = 1; k < 200; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 7);
        a.fail_at = a.count + k;
        mc_image_folder tr, te;
        const mc_status st = mc_image_folder_split_count(ctx, &all, 2, &tr, &te);
        const bool done = a.count < a.fail_at;
        if (done) {
            ck_assert_int_eq(st, MC_OK);
            mc_image_folder_release(ctx, &tr);
            mc_image_folder_release(ctx, &te);
        } else {
            ck_assert_int_eq(st, MC_ERR_NOMEM);
            ck_assert_int_eq(tr.num_files + te.num_files, 0);
            failed++;
        }
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        if (done)
            break;
    }
    ck_assert_int_gt(failed, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("splitcount");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_counts_and_order);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
