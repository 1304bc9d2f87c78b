/* SPDX-License-Identifier: MIT */
/* The command's figure writer (apps/plot.c) through the atomic writer: a failure names the path
 * and errno (cairo's own writer said "error while writing to output stream"), a FIFO is
 * refused and stays a FIFO, and a figure written leaves no temporary behind. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../apps/plot.h"
#include "testutil.h"

static char dir[64];

static int figure(const char *path, char *err, size_t cap)
{
    static const double x[3] = {1, 2, 3}, y[3] = {3, 1, 2};
    plot_series s = {.label = "loss", .x = x, .y = y, .n = 3, .rgb = {0, 0, 1}, .markers = true};
    const plot_series *panels[1] = {&s};
    const int n[1] = {1};
    plot_axes ax = {.title = "title", .xlabel = "x", .ylabel = "y", .ymin = NAN, .ymax = NAN};
    return plot_write(path, 200, 150, 1, &ax, panels, n, err, cap);
}

START_TEST(test_figure_errors)
{
    test_make_dir(dir, sizeof dir, "outputs");
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/missing/f.png", dir);
    ck_assert_int_eq(figure(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) != NULL && strstr(err, "No such file or directory") != NULL,
                  "%s", err);
    snprintf(path, sizeof path, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    ck_assert_int_eq(figure(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "FIFO") != NULL, "%s", err);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    snprintf(path, sizeof path, "%s/f.png", dir);
    ck_assert_msg(figure(path, err, sizeof err) == 0, "%s", err);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char magic[8];
    ck_assert_uint_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    ck_assert_mem_eq(magic, "\x89PNG\r\n\x1a\n", 8);
    int files = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 2); /* fifo, f.png: no temporary */
    test_remove_dir(dir);
}
END_TEST

static Suite *outputs_suite(void)
{
    Suite *s = suite_create("outputs");
    TCase *tc = tcase_create("figures");
    tcase_add_test(tc, test_figure_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(outputs_suite());
}
