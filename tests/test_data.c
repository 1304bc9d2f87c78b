/* IDX files and data sets: round trips, every kind of broken file, channel conversion. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "testutil.h"

static char dir[256];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-data-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *p, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

static unsigned char *read_file(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* An IDX header: type, then dims. Returns its length. */
static size_t header(unsigned char *b, int type, int ndim, const unsigned *dims)
{
    b[0] = b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++) {
        b[4 + 4 * d] = (unsigned char)(dims[d] >> 24);
        b[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
        b[6 + 4 * d] = (unsigned char)(dims[d] >> 8);
        b[7 + 4 * d] = (unsigned char)dims[d];
    }
    return 4 + 4 * (size_t)ndim;
}

/* 3 images of 2x2 with values 0..11, and labels 2, 0, 1. */
static size_t small_images(unsigned char *b)
{
    const unsigned dims[3] = {3, 2, 2};
    size_t n = header(b, 0x08, 3, dims);
    for (int i = 0; i < 12; i++)
        b[n++] = (unsigned char)(i * 20);
    return n;
}

static size_t small_labels(unsigned char *b)
{
    const unsigned dims[1] = {3};
    size_t n = header(b, 0x08, 1, dims);
    b[n++] = 2;
    b[n++] = 0;
    b[n++] = 1;
    return n;
}

static void expect_error(mc_ctx *ctx, const char *file, mc_status status, const char *needle)
{
    mc_idx idx;
    mc_status st = mc_idx_read(ctx, file, &idx);
    ck_assert_msg(st == status, "%s: expected %s, got %s (%s)", file, mc_status_name(status),
                  mc_status_name(st), mc_ctx_message(ctx));
    ck_assert_msg(strstr(mc_ctx_message(ctx), needle) != NULL, "\"%s\" lacks \"%s\"",
                  mc_ctx_message(ctx), needle);
    ck_assert_ptr_null(idx.values);
}

START_TEST(test_round_trip)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char img[64], lab[16];
    size_t ni = small_images(img), nl = small_labels(lab);
    for (int gz = 0; gz < 2; gz++) {
        write_file(path("img"), img, ni, gz);
        write_file(path("lab"), lab, nl, gz);
        mc_dataset ds;
        mc_status st = mc_dataset_read_idx(ctx, path("img"), path("lab"), &ds);
        ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
        ck_assert_int_eq(ds.shape.ndim, 4);
        ck_assert_int_eq(ds.shape.dims[0], 3);
        ck_assert_int_eq(ds.shape.dims[1], 1);
        ck_assert_int_eq(ds.shape.dims[2], 2);
        ck_assert(ds.x[5] == 100.0f);
        ck_assert_int_eq(ds.labels[0], 2);
        ck_assert_int_eq(ds.num_classes, 3);
        /* gray2rgb replicates, rgb2gray weighs the channels */
        ck_assert_int_eq(mc_dataset_convert_channels(ctx, &ds, 3), MC_OK);
        ck_assert_int_eq(ds.shape.dims[1], 3);
        ck_assert(ds.x[12 + 4 + 1] == 100.0f); /* observation 1, channel 1, pixel 1 */
        ck_assert_int_eq(mc_dataset_convert_channels(ctx, &ds, 1), MC_OK);
        ck_assert_double_eq_tol(ds.x[5], 100.0 * (0.2989 + 0.5870 + 0.1140), 1e-4);
        ck_assert_int_eq(mc_dataset_convert_channels(ctx, &ds, 2), MC_OK); /* 1 -> any */
        ck_assert_int_eq(mc_dataset_convert_channels(ctx, &ds, 3), MC_ERR_INVALID);
        ck_assert_str_eq(mc_ctx_message(ctx), "cannot convert 2-channel images to 3 channels "
                                              "(gray2rgb makes 1 channel into 3, rgb2gray 3 into 1)");
        mc_dataset h = mc_dataset_head(&ds, 2);
        ck_assert_int_eq(h.shape.dims[0], 2);
        mc_dataset_release(ctx, &ds);
    }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_types)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char b[64];
    const unsigned d1[1] = {2};
    const struct {
        int type;
        unsigned char data[16];
        size_t n;
        float want[2];
    } cases[] = {
        {0x09, {0xff, 0x05}, 2, {-1, 5}},
        {0x0B, {0xff, 0xfe, 0x01, 0x00}, 4, {-2, 256}},
        {0x0C, {0xff, 0xff, 0xff, 0xfd, 0, 1, 0, 0}, 8, {-3, 65536}},
        {0x0D, {0x3f, 0xc0, 0, 0, 0xc1, 0x20, 0, 0}, 8, {1.5f, -10.0f}},
        {0x0E, {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0, 0, 0, 0, 0, 0, 0, 0}, 16,
         {3.14159265f, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = header(b, cases[i].type, 1, d1);
        memcpy(b + n, cases[i].data, cases[i].n);
        write_file(path("t"), b, n + cases[i].n, 0);
        mc_idx idx;
        ck_assert_int_eq(mc_idx_read(ctx, path("t"), &idx), MC_OK);
        ck_assert_int_eq(idx.type, cases[i].type);
        ck_assert(idx.values[0] == cases[i].want[0] && idx.values[1] == cases[i].want[1]);
        mc_idx_release(ctx, &idx);
    }
    /* a NaN in a float file */
    size_t n = header(b, 0x0D, 1, d1);
    const unsigned char nan[8] = {0x7f, 0xc0, 0, 0, 0, 0, 0, 0};
    memcpy(b + n, nan, 8);
    write_file(path("nan"), b, n + 8, 0);
    expect_error(ctx, path("nan"), MC_ERR_FORMAT, "element 1 (at byte 8) is nan");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Every prefix of a small file, raw and compressed, is a clear error. */
START_TEST(test_truncated_everywhere)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char img[64];
    size_t ni = small_images(img);
    for (size_t k = 0; k < ni; k++) {
        write_file(path("t"), img, k, 0);
        expect_error(ctx, path("t"), MC_ERR_FORMAT, k < 4 ? "truncated: the file ends at byte"
                                                          : "truncated");
        if (k >= 16) {
            char want[64];
            snprintf(want, sizeof want, "ends at byte %zu while reading the data", k);
            expect_error(ctx, path("t"), MC_ERR_FORMAT, want);
        }
    }
    /* A compressed file cut anywhere */
    write_file(path("z"), img, ni, 1);
    size_t nz;
    unsigned char *z = read_file(path("z"), &nz);
    for (size_t k = 1; k < nz; k++) {
        write_file(path("zt"), z, k, 0);
        mc_idx idx;
        mc_status st = mc_idx_read(ctx, path("zt"), &idx);
        ck_assert_msg(st == MC_ERR_FORMAT, "cut at %zu of %zu: %s (%s)", k, nz,
                      mc_status_name(st), mc_ctx_message(ctx));
        ck_assert_ptr_null(idx.values);
    }
    /* Every single-bit flip after the gzip header is caught (by the format or zlib's CRC), or
     * hits an unused padding bit of the deflate stream and changes nothing. */
    int caught = 0, harmless = 0, total = 0;
    for (size_t k = 10; k < nz; k++)
        for (int bit = 0; bit < 8; bit++) {
            z[k] ^= (unsigned char)(1 << bit);
            write_file(path("zf"), z, nz, 0);
            mc_idx idx;
            mc_status st = mc_idx_read(ctx, path("zf"), &idx);
            total++;
            caught += st == MC_ERR_FORMAT;
            if (st == MC_OK) {
                int same = idx.count == 12;
                for (size_t i = 0; same && i < 12; i++)
                    same = idx.values[i] == (float)img[16 + i];
                harmless += same;
                mc_idx_release(ctx, &idx);
            }
            z[k] ^= (unsigned char)(1 << bit);
        }
    ck_assert_msg(caught + harmless == total, "%d of %d bit flips went unnoticed",
                  total - caught - harmless, total);
    ck_assert_msg(harmless <= 7, "%d flips changed nothing", harmless);
    free(z);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_bad_headers)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char b[64];
    size_t n = small_images(b);
    b[0] = 0x1f;
    write_file(path("magic"), b, n, 0);
    expect_error(ctx, path("magic"), MC_ERR_FORMAT,
                 "not an IDX file: the magic number at byte 0 is 1f 00 08 03");
    b[0] = 0;
    b[2] = 0x07;
    write_file(path("type"), b, n, 0);
    expect_error(ctx, path("type"), MC_ERR_FORMAT, "not an IDX file");
    b[2] = 0x08;
    b[3] = 9;
    write_file(path("ndim"), b, n, 0);
    expect_error(ctx, path("ndim"), MC_ERR_FORMAT, "1 to 5 dimensions");
    const unsigned zero[3] = {3, 0, 2};
    size_t h = header(b, 0x08, 3, zero);
    write_file(path("zero"), b, h + 12, 0);
    expect_error(ctx, path("zero"), MC_ERR_FORMAT, "dimension 2 (at byte 8) is 0");
    const unsigned huge[3] = {65535, 65535, 65535};
    h = header(b, 0x08, 3, huge);
    write_file(path("huge"), b, h + 12, 0);
    expect_error(ctx, path("huge"), MC_ERR_FORMAT, "the dimensions multiply to more than");
    /* promises 1,000,000 images of 28x28 but holds 12 bytes: truncated, nothing big allocated */
    const unsigned big[3] = {1000000, 28, 28};
    h = header(b, 0x08, 3, big);
    write_file(path("big"), b, h + 12, 0);
    expect_error(ctx, path("big"), MC_ERR_FORMAT, "truncated: the file ends at byte 28");
    /* trailing bytes */
    n = small_images(b);
    b[n] = 7;
    write_file(path("long"), b, n + 1, 0);
    expect_error(ctx, path("long"), MC_ERR_FORMAT, "end at byte 28, but the file goes on");
    expect_error(ctx, path("missing"), MC_ERR_IO, "No such file or directory");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_dataset_mismatch)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char img[64], lab[16];
    size_t ni = small_images(img), nl = small_labels(lab);
    write_file(path("img"), img, ni, 0);
    lab[7] = 2; /* two labels declared */
    write_file(path("lab"), lab, nl - 1, 0);
    mc_dataset ds;
    ck_assert_int_eq(mc_dataset_read_idx(ctx, path("img"), path("lab"), &ds), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "img holds 3 images but "));
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "lab holds 2 labels"));
    ck_assert_ptr_null(ds.x);
    /* images given as labels */
    ck_assert_int_eq(mc_dataset_read_idx(ctx, path("img"), path("img"), &ds), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "a labels file has 1 dimension, not 3"));
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_dataset_mismatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(data_suite());
}
