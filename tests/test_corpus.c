/* SPDX-License-Identifier: MIT */
/* The broken-file corpus: every file under tests/corpus gives the error tests/corpus/EXPECTED
 * names (written by tests/make_corpus.py), and every file is listed there. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CORPUS MC_SOURCE_DIR "/tests/corpus"

/* Loads one file with the reader its folder stands for. */
static mc_status load(mc_ctx *ctx, const char *kind, const char *path)
{
    if (strcmp(kind, "idx") == 0) {
        mc_idx idx;
        mc_status st = mc_idx_read(ctx, path, &idx);
        if (st == MC_OK)
            mc_idx_release(ctx, &idx);
        return st;
    }
    if (strcmp(kind, "png") == 0) {
        static float image[28 * 28];
        const mc_image_options o = mc_image_default(28, 28, 1);
        return mc_png_read(ctx, path, &o, image);
    }
    if (strcmp(kind, "model") == 0) {
        mc_net *net = NULL;
        mc_status st = mc_model_load(ctx, path, 2, &net);
        ck_assert(st == MC_OK || net == NULL);
        mc_net_destroy(net);
        if (st != MC_OK)
            return st;
        mc_train_state *state = NULL;
        st = mc_checkpoint_load(ctx, path, &net, &state);
        mc_train_state_destroy(state);
        mc_net_destroy(net);
        return st == MC_ERR_FORMAT && strstr(mc_ctx_message(ctx), "not a checkpoint") ? MC_OK : st;
    }
    mc_net *net = NULL;
    mc_status st = mc_netfile_load(ctx, path, &net, NULL);
    if (st == MC_OK)
        st = mc_net_assemble(net, 2);
    mc_net_destroy(net);
    return st;
}

START_TEST(test_corpus)
{
    char *manifest = test_read_fixture("../corpus/EXPECTED");
    ck_assert_ptr_nonnull(manifest);
    int checked = 0;
    char *save = NULL;
    for (char *line = strtok_r(manifest, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *file = line, *status = strchr(file, '\t');
        ck_assert_ptr_nonnull(status);
        *status++ = '\0';
        char *needle = strchr(status, '\t');
        ck_assert_ptr_nonnull(needle);
        *needle++ = '\0';
        char kind[16], path[512];
        snprintf(kind, sizeof kind, "%.*s", (int)(strchr(file, '/') - file), file);
        snprintf(path, sizeof path, "%s/%s", CORPUS, file);
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_status st = load(ctx, kind, path);
        ck_assert_msg(strcmp(mc_status_name(st), status) == 0, "%s: expected %s, got %s (%s)", file,
                      status, mc_status_name(st), mc_ctx_message(ctx));
        ck_assert_msg(strstr(mc_ctx_message(ctx), needle) != NULL, "%s: \"%s\" lacks \"%s\"", file,
                      mc_ctx_message(ctx), needle);
        if (st != MC_OK)
            ck_assert_msg(test_message_has_text(mc_ctx_message(ctx)),
                          "%s: the message says nothing: \"%s\"", file, mc_ctx_message(ctx));
        if (st != MC_OK)
            ck_assert_msg(strstr(mc_ctx_message(ctx), file + strlen(kind) + 1) != NULL ||
                              strcmp(kind, "net") == 0,
                          "%s: the message does not name the file: %s", file, mc_ctx_message(ctx));
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        checked++;
    }
    /* every file of the corpus is listed */
    int files = 0;
    const char *kinds[] = {"idx", "model", "net", "png"};
    for (int k = 0; k < 4; k++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", CORPUS, kinds[k]);
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            files += e->d_name[0] != '.';
        closedir(d);
    }
    ck_assert_int_eq(files, checked);
    ck_assert_int_ge(checked, 30);
    free(manifest);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, test_corpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(corpus_suite());
}
