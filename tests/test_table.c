/* SPDX-License-Identifier: MIT */
/* CSV tables and the feature data sets made from them: hand-made files with known contents,
 * RFC 4180's quoting, every kind of broken table, and allocation failures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

static void make_dir(void)
{
    test_make_dir(dir, sizeof dir, "table");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
}

/* Writes text to dir/name and returns the path (static storage, one at a time). */
static const char *csv(const char *name, const char *text)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

/* Reads text as a table and makes its data set under o (the test fails on an error). */
static void load(mc_ctx *ctx, const char *text, const mc_table_options *o, mc_table_data *d)
{
    mc_table t;
    mc_status st = mc_table_read_csv(ctx, csv("t.csv", text), &t);
    if (st == MC_OK) {
        st = mc_table_to_data(ctx, &t, o, d);
        mc_table_release(ctx, &t);
    }
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
}

/* The error message of a table that must fail with `want`. */
static const char *fails(const char *text, const mc_table_options *o, mc_status want)
{
    static char msg[512];
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table t;
    mc_status st = mc_table_read_csv(ctx, csv("t.csv", text), &t);
    if (st == MC_OK) {
        mc_table_data d;
        st = mc_table_to_data(ctx, &t, o, &d);
        if (st == MC_OK)
            mc_table_data_release(ctx, &d);
        mc_table_release(ctx, &t);
    }
    snprintf(msg, sizeof msg, "%s", mc_ctx_message(ctx));
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    ck_assert_msg(st == want, "status %s (%s), expected %s", mc_status_name(st), msg,
                  mc_status_name(want));
    return msg;
}

#define ASSERT_HAS(msg, part) ck_assert_msg(strstr(msg, part) != NULL, "'%s' lacks '%s'", msg, part)

START_TEST(test_reads_values_and_classes)
{
    make_dir();
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    const char *text = "a,b,species\n"
                       "1.5,-2,versicolor\n"
                       "3e-1, 4 ,setosa\r\n"
                       "\n"
                       "\"5\",6,\"virginica\"\n"
                       "7,8,setosa";
    mc_table t;
    ck_assert_int_eq(mc_table_read_csv(ctx, csv("t.csv", text), &t), MC_OK);
    ck_assert_int_eq(t.num_rows, 4);
    ck_assert_int_eq(t.num_cols, 3);
    ck_assert_str_eq(t.names[2], "species");
    ck_assert_str_eq(t.cells[4], "4"); /* outer spaces trimmed */
    ck_assert_int_eq(t.lines[0], 2);
    ck_assert_int_eq(t.lines[2], 5); /* the blank line counted */
    ck_assert_int_eq(t.lines[3], 6);
    ck_assert_int_eq(mc_table_column(&t, "b"), 1);
    ck_assert_int_eq(mc_table_column(&t, "B"), -1);
    mc_table_data d;
    ck_assert_int_eq(mc_table_to_data(ctx, &t, NULL, &d), MC_OK);
    ck_assert_int_eq(d.data.shape.ndim, 2);
    ck_assert_int_eq(d.data.shape.dims[0], 4);
    ck_assert_int_eq(d.data.shape.dims[1], 2);
    const float want[8] = {1.5f, -2, 0.3f, 4, 5, 6, 7, 8};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(d.data.x[i], want[i]);
    /* categories sorted by character code, as MATLAB's categorical sorts text */
    ck_assert_int_eq(d.data.num_classes, 3);
    ck_assert_str_eq(d.classes[0], "setosa");
    ck_assert_str_eq(d.classes[1], "versicolor");
    ck_assert_str_eq(d.classes[2], "virginica");
    const int labels[4] = {1, 0, 2, 0};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(d.data.labels[i], labels[i]);
    ck_assert_str_eq(d.predictors[0], "a");
    ck_assert_str_eq(d.predictors[1], "b");
    mc_table_data_release(ctx, &d);
    mc_table_release(ctx, &t);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_quoting)
{
    make_dir();
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    /* a byte-order mark; a quoted name with a comma, a quote and a line break */
    const char *text = "\xEF\xBB\xBFx,\"the \"\"label\"\", with a comma\"\n"
                       "1,\"two\nlines\"\n"
                       "2,plain\n";
    mc_table t;
    ck_assert_int_eq(mc_table_read_csv(ctx, csv("q.csv", text), &t), MC_OK);
    ck_assert_str_eq(t.names[0], "x");
    ck_assert_str_eq(t.names[1], "the \"label\", with a comma");
    ck_assert_str_eq(t.cells[1], "two\nlines");
    ck_assert_int_eq(t.lines[1], 4); /* the line break inside the quotes counts */
    mc_table_release(ctx, &t);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_numeric_response_and_columns)
{
    make_dir();
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table_data d;
    /* integer labels sort by value (10 after 2), named as numbers; 2.0 is the class 2 */
    const char *text = "y,f1,f2,f3\n10,1,2,3\n2,4,5,6\n2.0,7,8,9\n-1,0,0,0\n";
    mc_table_options o = mc_table_default();
    o.response = "y";
    const char *const pred[2] = {"f3", "f1"};
    o.predictors = pred;
    o.num_predictors = 2;
    load(ctx, text, &o, &d);
    ck_assert_int_eq(d.data.num_classes, 3);
    ck_assert_str_eq(d.classes[0], "-1");
    ck_assert_str_eq(d.classes[1], "2");
    ck_assert_str_eq(d.classes[2], "10");
    const int labels[4] = {2, 1, 1, 0};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(d.data.labels[i], labels[i]);
    ck_assert_int_eq(d.data.shape.dims[1], 2);
    ck_assert_float_eq(d.data.x[0], 3); /* f3 first, as asked */
    ck_assert_float_eq(d.data.x[1], 1);
    ck_assert_float_eq(d.data.x[2], 6);
    mc_table_data_release(ctx, &d);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_given_classes)
{
    make_dir();
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table_data d;
    mc_table_options o = mc_table_default();
    const char *const classes[3] = {"c", "a", "b"}; /* the training order, not sorted */
    o.classes = classes;
    o.num_classes = 3;
    load(ctx, "x,y\n1,a\n2,b\n3,a\n", &o, &d);
    ck_assert_int_eq(d.data.num_classes, 3); /* a test set may lack a class */
    ck_assert_int_eq(d.data.labels[0], 1);
    ck_assert_int_eq(d.data.labels[1], 2);
    ck_assert_int_eq(d.data.labels[2], 1);
    ck_assert_str_eq(d.classes[0], "c");
    mc_table_data_release(ctx, &d);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    const char *m = fails("x,y\n1,a\n2,d\n", &o, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3, column 'y': the class 'd' is not one of the 3 classes");
    remove_dir();
}
END_TEST

START_TEST(test_missing_values)
{
    make_dir();
    const char *text = "a,b,y\n1,2,p\n3,NA,q\n,5,p\n6,7,q\n8,9,\n";
    const char *m = fails(text, NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3, column 'b': missing value ('NA')");
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table_data d;
    mc_table_options o = mc_table_default();
    o.omit_missing = true;
    load(ctx, text, &o, &d);
    ck_assert_int_eq(d.data.shape.dims[0], 2);
    ck_assert_int_eq(d.num_rows_omitted, 3);
    ck_assert_float_eq(d.data.x[2], 6);
    mc_table_data_release(ctx, &d);
    /* a missing cell in a column that is not used does not matter */
    const char *const pred[1] = {"a"};
    o = mc_table_default();
    o.predictors = pred;
    o.num_predictors = 1;
    load(ctx, "a,b,y\n1,NA,p\n2,,q\n", &o, &d);
    mc_table_data_release(ctx, &d);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    m = fails("a,y\n1,p\n,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3, column 'a': missing value (an empty cell)");
    o = mc_table_default();
    o.omit_missing = true;
    m = fails("a,y\nNA,p\n,q\n", &o, MC_ERR_FORMAT);
    ASSERT_HAS(m, "no row is left");
    remove_dir();
}
END_TEST

START_TEST(test_broken_tables)
{
    make_dir();
    const char *m = fails("", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "empty file");
    m = fails("\n\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "empty file");
    m = fails("a,b\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "not followed by any row");
    m = fails("a,b,y\n1,2,p\n3,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3: 2 fields where the header has 3");
    m = fails("a,b,y\n1,2,p\n3,4,5,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3: 4 fields where the header has 3");
    m = fails("a,y\n1,p\n2,\"q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "ends inside a quoted field");
    m = fails("a,y\n1,p\n2,\"q\"x\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:3: malformed quoting");
    m = fails("a,a,y\n1,2,p\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "two columns 'a' (columns 1 and 2)");
    m = fails("a,island,y\n1,Torgersen,p\n2,Biscoe,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:2, column 'island': 'Torgersen' is not a number");
    m = fails("a,y\n0x10,p\n2,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "'0x10' is not a number");
    m = fails("a,y\ninf,p\n2,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "'inf' is not a number");
    m = fails("a,y\n1e39,p\n2,q\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "t.csv:2, column 'a': 1e39 is out of the range of single precision");
    m = fails("a,y\n1,p\n2,p\n", NULL, MC_ERR_FORMAT);
    ASSERT_HAS(m, "holds a single class ('p')");
    mc_table_options o = mc_table_default();
    o.response = "specis";
    m = fails("a,species\n1,p\n2,q\n", &o, MC_ERR_INVALID);
    ASSERT_HAS(m, "no column named 'specis' for the response (did you mean 'species'?)");
    o = mc_table_default();
    const char *const pred[2] = {"a", "a"};
    o.predictors = pred;
    o.num_predictors = 2;
    m = fails("a,y\n1,p\n2,q\n", &o, MC_ERR_INVALID);
    ASSERT_HAS(m, "'a' is named twice");
    const char *const resp[1] = {"y"};
    o.predictors = resp;
    o.num_predictors = 1;
    m = fails("a,y\n1,p\n2,q\n", &o, MC_ERR_INVALID);
    ASSERT_HAS(m, "the response column 'y' cannot also be a predictor");
    m = fails("y\np\nq\n", NULL, MC_ERR_INVALID);
    ASSERT_HAS(m, "no predictor column");
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table t;
    ck_assert_int_eq(mc_table_read_csv(ctx, "/nonexistent/x.csv", &t), MC_ERR_IO);
    ASSERT_HAS(mc_ctx_message(ctx), "cannot open '/nonexistent/x.csv': No such file");
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

START_TEST(test_empty_header_cells_named)
{
    make_dir();
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table t;
    ck_assert_int_eq(mc_table_read_csv(ctx, csv("v.csv", ",b,\n1,2,p\n"), &t), MC_OK);
    ck_assert_str_eq(t.names[0], "Var1");
    ck_assert_str_eq(t.names[2], "Var3");
    mc_table_release(ctx, &t);
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

/* Many rows and columns are read in linear time (a sorted check of the names, no pairwise). */
START_TEST(test_large_table)
{
    make_dir();
    const int cols = 20000, rows = 50;
    size_t cap = (size_t)cols * 8 * (rows + 1) + 64;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = 0;
    for (int j = 0; j < cols; j++)
        n += (size_t)snprintf(text + n, cap - n, "%sc%d", j ? "," : "", j);
    text[n++] = '\n';
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++)
            n += (size_t)snprintf(text + n, cap - n, "%s%d", j ? "," : "",
                                  j == cols - 1 ? i % 2 : i + j);
        text[n++] = '\n';
    }
    text[n] = '\0';
    test_alloc a = {0};
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_table_data d;
    load(ctx, text, NULL, &d);
    ck_assert_int_eq(d.data.shape.dims[1], cols - 1);
    ck_assert_float_eq(d.data.x[(size_t)3 * (cols - 1) + 7], 10);
    mc_table_data_release(ctx, &d);
    mc_ctx_destroy(ctx);
    free(text);
    remove_dir();
}
END_TEST

START_TEST(test_allocation_failures)
{
    make_dir();
    const char *p = csv("f.csv", "a,b,y\n1,2,p\n3,4,q\n5,6,p\n");
    for (long k = 1;; k++) {
        test_alloc a = {.fail_at = k};
        mc_ctx *ctx = test_ctx(&a, 1);
        mc_table t;
        mc_table_data d;
        mc_status st = mc_table_read_csv(ctx, p, &t);
        if (st == MC_OK) {
            st = mc_table_to_data(ctx, &t, NULL, &d);
            if (st == MC_OK)
                mc_table_data_release(ctx, &d);
            mc_table_release(ctx, &t);
        }
        if (st != MC_OK) {
            ck_assert_int_eq(st, MC_ERR_NOMEM);
            ASSERT_HAS(mc_ctx_message(ctx), "out of memory while");
        }
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        if (st == MC_OK)
            break;
        ck_assert_int_lt(k, 1000);
    }
    remove_dir();
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("table");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reads_values_and_classes);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_numeric_response_and_columns);
    tcase_add_test(tc, test_given_classes);
    tcase_add_test(tc, test_missing_values);
    tcase_add_test(tc, test_broken_tables);
    tcase_add_test(tc, test_empty_header_cells_named);
    tcase_add_test(tc, test_large_table);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(table_suite());
}
