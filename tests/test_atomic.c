/* SPDX-License-Identifier: MIT */
/* The atomic writer (include/minicnn/atomic.h) and the model files written through it: fields
 * that do not fit, links, FIFOs, folders, stale temporaries, exclusive creation, signals. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/io/model_internal.h"
#include "testutil.h"

static const char *const net_text = "layers = [imageInputLayer([4 4 1])\n"
                                    "  fullyConnectedLayer(3)\n"
                                    "  softmaxLayer\n"
                                    "  classificationLayer('Classes', {'cat', 'dog', 'emu'})]";

static char dir[64];

static const char *path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void setup_dir(void)
{
    test_make_dir(dir, sizeof dir, "atomic");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
}

/* The names in the test folder, sorted, joined by spaces. */
static const char *listing(void)
{
    static char out[4096];
    char names[64][256];
    int n = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && n < 64)
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, names[i]);
    }
    return out;
}

static mc_net *make_net(mc_ctx *ctx, float value)
{
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, net_text, strlen(net_text), "t.net", &net, NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, 1), MC_OK);
    mc_param *p = mc_net_param(net, 0);
    for (size_t i = 0; i < mc_tensor_numel(&p->value); i++)
        p->value.data[i] = value;
    return net;
}

static float first_weight(mc_ctx *ctx, const char *file)
{
    mc_net *net = NULL;
    mc_status st = mc_model_load(ctx, file, 1, &net);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    const float v = mc_net_param(net, 0)->value.data[0];
    mc_net_destroy(net);
    return v;
}

static char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* A class name longer than its 2-byte length field: the save fails, naming the field, and
 * writes nothing (the old file stays byte for byte; no temporary). The old code wrote a file
 * that did not load. */
START_TEST(test_field_too_long)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = make_net(ctx, 0.5f);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_OK);
    size_t n0 = 0, n1 = 0;
    char *before = slurp(path("m.mcnn"), &n0);
    char *long_name = malloc(70001);
    memset(long_name, 'x', 70000);
    long_name[70000] = '\0';
    const char *classes[3] = {"cat", long_name, "emu"};
    ck_assert_int_eq(mc_classification_set_classes(mc_net_layer(net, 3), classes, 3), MC_OK);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_ERR_INVALID);
    const char *msg = mc_ctx_message(ctx);
    ck_assert_msg(strstr(msg, "class name 2") != NULL && strstr(msg, "70000") != NULL &&
                      strstr(msg, "65535") != NULL && strstr(msg, "m.mcnn") != NULL,
                  "%s", msg);
    ck_assert_int_eq(mc_model_save(net, path("new.mcnn")), MC_ERR_INVALID);
    ck_assert_str_eq(listing(), "m.mcnn");
    char *after = slurp(path("m.mcnn"), &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    ck_assert_float_eq(first_weight(ctx, path("m.mcnn")), 0.5f);
    /* at the limit, the name is saved and loads back */
    long_name[65535] = '\0';
    ck_assert_int_eq(mc_classification_set_classes(mc_net_layer(net, 3), classes, 3), MC_OK);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_OK);
    mc_net *back = NULL;
    ck_assert_int_eq(mc_model_load(ctx, path("m.mcnn"), 1, &back), MC_OK);
    ck_assert_uint_eq(strlen(mc_classification_class_name(mc_net_layer(back, 3), 1)), 65535);
    mc_net_destroy(back);
    free(before);
    free(after);
    free(long_name);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A symbolic link is followed: its target gets the new model, the link stays a link. */
START_TEST(test_symlink_target)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    ck_assert_int_eq(mkdir(path("models"), 0755), 0);
    mc_net *old = make_net(ctx, 1.0f), *net = make_net(ctx, 2.0f);
    ck_assert_int_eq(mc_model_save(old, path("models/real.mcnn")), MC_OK);
    ck_assert_int_eq(symlink("models/real.mcnn", path("link.mcnn")), 0); /* relative */
    ck_assert_int_eq(symlink("link.mcnn", path("link2.mcnn")), 0);       /* a chain */
    ck_assert_int_eq(mc_model_save(net, path("link2.mcnn")), MC_OK);
    struct stat st;
    ck_assert_int_eq(lstat(path("link.mcnn"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(lstat(path("link2.mcnn"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_float_eq(first_weight(ctx, path("models/real.mcnn")), 2.0f);
    /* a dangling link: its target is created */
    ck_assert_int_eq(symlink("models/new.mcnn", path("dangling.mcnn")), 0);
    ck_assert_int_eq(mc_model_save(old, path("dangling.mcnn")), MC_OK);
    ck_assert_float_eq(first_weight(ctx, path("models/new.mcnn")), 1.0f);
    ck_assert_int_eq(lstat(path("dangling.mcnn"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    /* a loop is refused */
    ck_assert_int_eq(symlink("loop2", path("loop1")), 0);
    ck_assert_int_eq(symlink("loop1", path("loop2")), 0);
    ck_assert_int_eq(mc_model_save(old, path("loop1")), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "symbolic links"));
    ck_assert_str_eq(listing(), "dangling.mcnn link.mcnn link2.mcnn loop1 loop2 models");
    mc_net_destroy(old);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Targets that are not regular files are refused and stay what they are. */
START_TEST(test_not_regular)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_net *net = make_net(ctx, 1.0f);
    ck_assert_int_eq(mkfifo(path("fifo"), 0644), 0);
    ck_assert_int_eq(mc_model_save(net, path("fifo")), MC_ERR_IO);
    ck_assert_msg(strstr(mc_ctx_message(ctx), "FIFO") != NULL, "%s", mc_ctx_message(ctx));
    struct stat st;
    ck_assert_int_eq(lstat(path("fifo"), &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    /* through a link too */
    ck_assert_int_eq(symlink("fifo", path("to-fifo")), 0);
    ck_assert_int_eq(mc_atomic_write_file(ctx, path("to-fifo"), "x", 1), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "link target"));
    ck_assert_int_eq(lstat(path("fifo"), &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    /* a folder */
    ck_assert_int_eq(mkdir(path("sub"), 0755), 0);
    ck_assert_int_eq(mc_atomic_write_file(ctx, path("sub"), "x", 1), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "a folder"));
    /* /dev/null (only checked, never written to by this test) */
    ck_assert_int_eq(mc_atomic_check(ctx, "/dev/null", "--save"), MC_ERR_IO);
    ck_assert_msg(strstr(mc_ctx_message(ctx), "--save") != NULL &&
                      strstr(mc_ctx_message(ctx), "character device") != NULL,
                  "%s", mc_ctx_message(ctx));
    ck_assert_str_eq(listing(), "fifo sub to-fifo");
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* NAME.tmp.PID of a process that is gone is removed when NAME is next written; a live
 * process's temporary and other names are left alone. */
START_TEST(test_stale_temporaries)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const pid_t child = fork();
    if (child == 0)
        _exit(0);
    ck_assert_int_gt(child, 0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    char dead[64], alive[64];
    snprintf(dead, sizeof dead, "m.mcnn.tmp.%ld", (long)child);
    snprintf(alive, sizeof alive, "m.mcnn.tmp.%ld", (long)getppid());
    const char *names[4] = {dead, alive, "m.mcnn.tmp.x1", "n.mcnn.tmp.1"};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(path(names[i]), "w");
        ck_assert_ptr_nonnull(f);
        fputs("stale", f);
        fclose(f);
    }
    mc_net *net = make_net(ctx, 1.0f);
    ck_assert_int_eq(mc_model_save(net, path("m.mcnn")), MC_OK);
    ck_assert_int_ne(access(path(dead), F_OK), 0);
    ck_assert_int_eq(access(path(alive), F_OK), 0);
    ck_assert_int_eq(access(path("m.mcnn.tmp.x1"), F_OK), 0);
    ck_assert_int_eq(access(path("n.mcnn.tmp.1"), F_OK), 0);
    /* bulk files (exported images) look for stale temporaries only when they replace a file */
    char png_dead[64];
    snprintf(png_dead, sizeof png_dead, "i.png.tmp.%ld", (long)child);
    FILE *f = fopen(path(png_dead), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const float pixels[4] = {0, 255, 255, 0};
    ck_assert_int_eq(mc_png_write(ctx, path("i.png"), pixels, 1, 2, 2), MC_OK);
    ck_assert_int_eq(access(path(png_dead), F_OK), 0);
    ck_assert_int_eq(mc_png_write(ctx, path("i.png"), pixels, 1, 2, 2), MC_OK);
    ck_assert_int_ne(access(path(png_dead), F_OK), 0);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Exclusive creation never replaces a file; checkpoints get __2, __3 on a collision. */
START_TEST(test_exclusive)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    FILE *f0 = fopen(path("taken"), "w");
    fputs("theirs", f0);
    fclose(f0);
    mc_atomic_file *f = NULL;
    ck_assert_int_eq(mc_atomic_open(ctx, path("mine"), 0, &f), MC_OK);
    ck_assert_int_eq(mc_atomic_write(f, "ours", 4), MC_OK);
    ck_assert_int_eq(mc_atomic_commit_new(f, path("taken")), MC_ERR_STATE);
    ck_assert_int_eq(mc_atomic_commit_new(f, path("free")), MC_OK);
    size_t n = 0;
    char *b = slurp(path("taken"), &n);
    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(b, "theirs", 6);
    free(b);
    b = slurp(path("free"), &n);
    ck_assert_mem_eq(b, "ours", 4);
    free(b);
    ck_assert_str_eq(listing(), "free taken");
    mc_net *net = make_net(ctx, 1.0f), *other = make_net(ctx, 3.0f);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(
            mc__model_write(k == 1 ? other : net, path("c.mcnn"), MC__KIND_NETWORK, NULL, 0, true),
            MC_OK);
    ck_assert_str_eq(listing(), "c.mcnn c__2.mcnn c__3.mcnn free taken");
    ck_assert_float_eq(first_weight(ctx, path("c.mcnn")), 1.0f);
    ck_assert_float_eq(first_weight(ctx, path("c__2.mcnn")), 3.0f);
    mc_net_destroy(net);
    mc_net_destroy(other);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* The signal clean-up removes the temporaries being written (or, asked to, puts a log in
 * place); a real SIGTERM is tested through the command in cli_outputs.sh. */
START_TEST(test_signal_cleanup)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_atomic_file *f = NULL, *g = NULL;
    ck_assert_int_eq(mc_atomic_open(ctx, path("model"), 0, &f), MC_OK);
    ck_assert_int_eq(mc_atomic_write(f, "half", 4), MC_OK);
    ck_assert_int_eq(mc_atomic_open(ctx, path("log"), MC_ATOMIC_KEEP_ON_SIGNAL, &g), MC_OK);
    ck_assert_int_eq(mc_atomic_write(g, "a,b\n", 4), MC_OK);
    char temp[96];
    snprintf(temp, sizeof temp, "model.tmp.%ld", (long)getpid());
    ck_assert_str_eq(mc_atomic_temp_path(f), path(temp));
    mc_atomic_signal_cleanup();
    ck_assert_str_eq(listing(), "log");
    mc_atomic_abort(f);
    mc_atomic_abort(g);
    ck_assert_str_eq(listing(), "log");
    /* one target written twice at once in this process: the second is refused, the first
     * goes on */
    mc_atomic_file *h = NULL;
    ck_assert_int_eq(mc_atomic_open(ctx, path("twice"), 0, &f), MC_OK);
    ck_assert_int_eq(mc_atomic_open(ctx, path("twice"), 0, &h), MC_ERR_IO);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "another thread"));
    ck_assert_int_eq(mc_atomic_write(f, "1", 1), MC_OK);
    ck_assert_int_eq(mc_atomic_commit(f), MC_OK);
    ck_assert_int_eq(unlink(path("twice")), 0);
    /* a slot freed by abort is reused: many files in a row */
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(mc_atomic_open(ctx, path("model"), 0, &f), MC_OK);
        ck_assert_int_eq(mc_atomic_commit(f), MC_OK);
    }
    ck_assert_str_eq(listing(), "log model");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Checking destinations before long work. */
START_TEST(test_check)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    ck_assert_int_eq(mc_atomic_check(ctx, path("r.json"), "--report"), MC_OK);
    ck_assert_int_eq(mc_atomic_check(ctx, path("missing/r.json"), "--report"), MC_ERR_IO);
    ck_assert_msg(strstr(mc_ctx_message(ctx), "--report") != NULL &&
                      strstr(mc_ctx_message(ctx), "does not exist") != NULL,
                  "%s", mc_ctx_message(ctx));
    FILE *f = fopen(path("file"), "w");
    fclose(f);
    ck_assert_int_eq(mc_atomic_check(ctx, path("file/r.json"), "--log"), MC_ERR_IO);
    ck_assert_int_eq(mc_atomic_check_folder(ctx, path("file"), "--checkpoint-path"), MC_ERR_IO);
    ck_assert_msg(strstr(mc_ctx_message(ctx), "not a folder") != NULL, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(mc_atomic_check_folder(ctx, path("nope"), "--checkpoint-path"), MC_ERR_IO);
    ck_assert_int_eq(mc_atomic_check_folder(ctx, dir, "--checkpoint-path"), MC_OK);
    ck_assert_int_eq(mc_atomic_check(ctx, dir, "--save"), MC_ERR_IO);
    if (geteuid() != 0) { /* root writes anywhere */
        ck_assert_int_eq(mkdir(path("ro"), 0555), 0);
        ck_assert_int_eq(mc_atomic_check(ctx, path("ro/r.json"), "--report"), MC_ERR_IO);
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "Permission denied"));
        chmod(path("ro"), 0755);
    }
    ck_assert_int_eq(mc_atomic_write_file(ctx, path("missing/x"), "x", 1), MC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "No such file or directory"));
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A file replaced keeps its permissions. */
START_TEST(test_keeps_mode)
{
    setup_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    ck_assert_int_eq(mc_atomic_write_file(ctx, path("f"), "one", 3), MC_OK);
    ck_assert_int_eq(chmod(path("f"), 0600), 0);
    ck_assert_int_eq(mc_atomic_write_file(ctx, path("f"), "two", 3), MC_OK);
    struct stat st;
    ck_assert_int_eq(stat(path("f"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

static Suite *atomic_suite(void)
{
    Suite *s = suite_create("atomic");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_field_too_long);
    tcase_add_test(tc, test_symlink_target);
    tcase_add_test(tc, test_not_regular);
    tcase_add_test(tc, test_stale_temporaries);
    tcase_add_test(tc, test_exclusive);
    tcase_add_test(tc, test_signal_cleanup);
    tcase_add_test(tc, test_check);
    tcase_add_test(tc, test_keeps_mode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(atomic_suite());
}
