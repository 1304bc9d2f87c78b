/* SPDX-License-Identifier: MIT */
/* IDX files and data sets: round trips, every kind of broken file, channel conversion. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "testutil.h"

static char dir[256];

static void make_dir(void)
{
    test_make_dir(dir, sizeof dir, "data");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
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
        ck_assert_str_eq(mc_ctx_message(ctx),
                         "cannot convert 2-channel images to 3 channels "
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
        {0x0E,
         {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0, 0, 0, 0, 0, 0, 0, 0},
         16,
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
        expect_error(ctx, path("t"), MC_ERR_FORMAT,
                     k < 4 ? "truncated: the file ends at byte" : "truncated");
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
        ck_assert_msg(st == MC_ERR_FORMAT, "cut at %zu of %zu: %s (%s)", k, nz, mc_status_name(st),
                      mc_ctx_message(ctx));
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

/* An allocator that knows how many bytes are live and the most there ever were. */
typedef struct byte_alloc {
    size_t live, peak;
} byte_alloc;

static void *byte_alloc_fn(void *user, size_t size)
{
    byte_alloc *b = user;
    size_t *p = malloc(size + 16);
    if (p == NULL)
        return NULL;
    p[0] = size;
    b->live += size;
    b->peak = b->live > b->peak ? b->live : b->peak;
    return (char *)p + 16;
}

static void byte_release_fn(void *user, void *ptr)
{
    byte_alloc *b = user;
    size_t *p = (size_t *)((char *)ptr - 16);
    b->live -= p[0];
    free(p);
}

static mc_ctx *byte_ctx(byte_alloc *b)
{
    memset(b, 0, sizeof *b);
    const mc_allocator a = {byte_alloc_fn, byte_release_fn, b};
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(&a, 1, &ctx), MC_OK);
    return ctx;
}

/* n bytes compressed into one gzip member (zlib's own deflate with the gzip wrapper); the
 * result is malloc'ed. */
static unsigned char *gzip_bytes(const unsigned char *data, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    const size_t cap = deflateBound(&z, n) + 64;
    unsigned char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    z.next_in = (unsigned char *)data;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* 300 images of 28x28 of noise (235,216 bytes, more than any read buffer) */
static unsigned char *noise_images(size_t *n)
{
    const unsigned dims[3] = {300, 28, 28};
    unsigned char *b = malloc(16 + 300 * 784);
    ck_assert_ptr_nonnull(b);
    *n = header(b, 0x08, 3, dims);
    test_rng r = {7};
    for (int i = 0; i < 300 * 784; i++)
        b[(*n)++] = (unsigned char)(test_rng_uniform(&r) * 256);
    return b;
}

static void expect_values(mc_ctx *ctx, const char *file, const unsigned char *raw, size_t n)
{
    mc_idx idx;
    mc_status st = mc_idx_read(ctx, file, &idx);
    ck_assert_msg(st == MC_OK, "%s: %s", file, mc_ctx_message(ctx));
    ck_assert_uint_eq(idx.count, n - 16);
    for (size_t i = 0; i < idx.count; i++)
        ck_assert_msg(idx.values[i] == (float)raw[16 + i], "value %zu", i);
    mc_idx_release(ctx, &idx);
}

/* The gzip trailer (CRC-32 and length) is checked however large the file, bytes after the last
 * member are an error, and members that follow one another are one stream. */
START_TEST(test_gzip_members_and_trailer)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    size_t n, nz;
    unsigned char *raw = noise_images(&n);
    unsigned char *z = gzip_bytes(raw, n, &nz);
    write_file(path("ok.gz"), z, nz, 0);
    expect_values(ctx, path("ok.gz"), raw, n);
    /* the trailer cut anywhere: the data is all there, the check is not */
    for (size_t cut = 1; cut <= 8; cut++) {
        write_file(path("cut.gz"), z, nz - cut, 0);
        expect_error(ctx, path("cut.gz"), MC_ERR_FORMAT, "truncated: the file ends at byte");
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "before its end and its trailer"));
    }
    /* a wrong CRC-32, a wrong length */
    z[nz - 6] ^= 0x10;
    write_file(path("crc.gz"), z, nz, 0);
    expect_error(ctx, path("crc.gz"), MC_ERR_FORMAT, "incorrect data check");
    z[nz - 6] ^= 0x10;
    z[nz - 1] ^= 0x01;
    write_file(path("len.gz"), z, nz, 0);
    expect_error(ctx, path("len.gz"), MC_ERR_FORMAT, "incorrect length check");
    z[nz - 1] ^= 0x01;
    /* bytes after the member: garbage, zeros, a lone byte of a gzip magic */
    unsigned char *longer = malloc(nz + 32);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, z, nz);
    const char *tails[3] = {"junk", "\0\0\0\0\0\0\0\0", "\x1f"};
    const size_t tail_len[3] = {4, 8, 1};
    for (int t = 0; t < 3; t++) {
        memcpy(longer + nz, tails[t], tail_len[t]);
        write_file(path("tail.gz"), longer, nz + tail_len[t], 0);
        char want[96];
        snprintf(want, sizeof want, "the gzip data ends at byte %zu of the file, after 1 member",
                 nz);
        expect_error(ctx, path("tail.gz"), MC_ERR_FORMAT, want);
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "not another gzip member"));
    }
    /* the same data in three members, one of them empty: one stream */
    size_t n1, n2, n3;
    unsigned char *m1 = gzip_bytes(raw, 1000, &n1), *m2 = gzip_bytes(raw + 1000, 0, &n2);
    unsigned char *m3 = gzip_bytes(raw + 1000, n - 1000, &n3);
    unsigned char *all = malloc(n1 + n2 + n3);
    ck_assert_ptr_nonnull(all);
    memcpy(all, m1, n1);
    memcpy(all + n1, m2, n2);
    memcpy(all + n1 + n2, m3, n3);
    write_file(path("members.gz"), all, n1 + n2 + n3, 0);
    expect_values(ctx, path("members.gz"), raw, n);
    /* a second member that repeats the data is data after the data */
    free(longer);
    unsigned char *two = malloc(2 * nz);
    ck_assert_ptr_nonnull(two);
    memcpy(two, z, nz);
    memcpy(two + nz, z, nz);
    write_file(path("twice.gz"), two, 2 * nz, 0);
    expect_error(ctx, path("twice.gz"), MC_ERR_FORMAT, "but the file goes on");
    /* a corrupt second member */
    all[n1 + n2 + n3 / 2] ^= 0x55;
    write_file(path("members.gz"), all, n1 + n2 + n3, 0);
    expect_error(ctx, path("members.gz"), MC_ERR_FORMAT, "corrupt gzip data near byte");
    free(two);
    free(all);
    free(m1);
    free(m2);
    free(m3);
    free(z);
    free(raw);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A compressed header that lies (a decompression bomb, or a file cut short) costs no more
 * memory than the data the file really holds: the headers are checked against each other, the
 * network and the file's size before anything is inflated. */
START_TEST(test_decompression_bomb)
{
    make_dir();
    /* 65,536 images of 32x32 zeros: 64 MiB of data in some 65 KB of gzip */
    const size_t n = 16 + ((size_t)65536 << 10);
    unsigned char *raw = calloc(n, 1);
    ck_assert_ptr_nonnull(raw);
    const unsigned dims[3] = {65536, 32, 32};
    header(raw, 0x08, 3, dims);
    size_t nz;
    unsigned char *z = gzip_bytes(raw, n, &nz);
    ck_assert_uint_lt(nz, 100000);
    write_file(path("bomb.gz"), z, nz, 0);
    unsigned char lab[16];
    write_file(path("lab"), lab, small_labels(lab), 0);
    byte_alloc b;
    mc_ctx *ctx = byte_ctx(&b);
    mc_dataset ds;
    /* the labels file disagrees: found from the headers */
    ck_assert_int_eq(mc_dataset_read_idx(ctx, path("bomb.gz"), path("lab"), &ds), MC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "holds 65536 images but"));
    ck_assert_msg(b.peak < ((size_t)1 << 20), "%zu bytes allocated", b.peak);
    /* the labels agree but the network takes 28x28 images */
    unsigned char *labels = calloc(8 + 65536, 1);
    ck_assert_ptr_nonnull(labels);
    const unsigned ldims[1] = {65536};
    size_t nl = header(labels, 0x08, 1, ldims) + 65536;
    write_file(path("labels"), labels, nl, 0);
    b.peak = 0;
    mc_data_expect e;
    memset(&e, 0, sizeof e);
    e.height = e.width = 28;
    e.channels = 1;
    e.num_classes = 10;
    e.what = "training data";
    ck_assert_int_eq(mc_dataset_read_idx_expect(ctx, path("bomb.gz"), path("labels"), &e, &ds),
                     MC_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "bomb.gz: the training data are images "
                                                      "of 32x32 but the network's input layer "
                                                      "takes 28x28"));
    ck_assert_msg(b.peak < ((size_t)1 << 20), "%zu bytes allocated", b.peak);
    ck_assert_ptr_null(ds.x);
    /* a header that promises more than deflate can expand the rest of the file to */
    raw[5] = 0x10; /* 1,114,112 images */
    free(z);
    z = gzip_bytes(raw, 16, &nz);
    write_file(path("liar.gz"), z, nz, 0);
    b.peak = 0;
    expect_error(ctx, path("liar.gz"), MC_ERR_FORMAT, "can hold at most");
    ck_assert_msg(b.peak < ((size_t)1 << 20), "%zu bytes allocated", b.peak);
    mc_ctx_destroy(ctx);
    ck_assert_uint_eq(b.live, 0);
    free(labels);
    free(z);
    free(raw);
    remove_dir();
}
END_TEST

/* The data is checked against the network from the headers, and the labels against its
 * classes before the images are read; in memory, mc_data_check_against_net does the same. */
START_TEST(test_data_against_net)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned char img[64], lab[16];
    write_file(path("img"), img, small_images(img), 0); /* 3 images of 2x2, labels 2 0 1 */
    write_file(path("lab"), lab, small_labels(lab), 0);
    const char *text = "layers = [imageInputLayer([2 2 1],'Normalization','none')\n"
                       "  fullyConnectedLayer(2)\n  softmaxLayer\n  classificationLayer]";
    mc_net *net = NULL;
    ck_assert_int_eq(mc_netfile_parse(ctx, text, strlen(text), "t.net", &net, NULL), MC_OK);
    ck_assert_int_eq(mc_net_assemble(net, 2), MC_OK);
    mc_data_expect e = mc_data_expect_net(net, false, "test data");
    ck_assert_int_eq(e.height, 2);
    ck_assert_int_eq(e.width, 2);
    ck_assert_int_eq(e.channels, 1);
    ck_assert_int_eq(e.num_classes, 2);
    mc_dataset ds;
    ck_assert_int_eq(mc_dataset_read_idx_expect(ctx, path("img"), path("lab"), &e, &ds),
                     MC_ERR_INVALID);
    ck_assert_msg(strstr(mc_ctx_message(ctx), "lab: observation 1 has label 2, outside the "
                                              "network's 2 classes (0 to 1): the test data do "
                                              "not fit the network") != NULL,
                  "%s", mc_ctx_message(ctx));
    ck_assert_ptr_null(ds.x);
    /* read without the expectation, the same is found in memory */
    ck_assert_int_eq(mc_dataset_read_idx(ctx, path("img"), path("lab"), &ds), MC_OK);
    ck_assert_int_eq(mc_data_check_against_net(net, &ds, "test data"), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "observation 1 of the test data has label "
                                                      "2, outside the network's 2 classes"));
    ds.labels[0] = 1;
    ck_assert_int_eq(mc_data_check_against_net(net, &ds, "test data"), MC_OK);
    ds.shape.dims[1] = 3; /* as if 3 channels */
    ck_assert_int_eq(mc_data_check_against_net(net, &ds, "validation data"), MC_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "the validation data are 2x2x3 images but "
                                                      "the network's input layer takes 2x2x1"));
    ds.shape.dims[1] = 1;
    mc_dataset_release(ctx, &ds);
    /* channels from the header: 3-channel images for a gray network */
    unsigned char rgb[64];
    const unsigned dims[4] = {3, 2, 2, 3};
    size_t nr = header(rgb, 0x08, 4, dims);
    memset(rgb + nr, 9, 36);
    write_file(path("rgb"), rgb, nr + 36, 0);
    const unsigned ldims[1] = {3};
    size_t nl = header(lab, 0x08, 1, ldims);
    lab[nl++] = 0; /* labels 0 0 1 */
    lab[nl++] = 0;
    lab[nl++] = 1;
    write_file(path("lab"), lab, nl, 0);
    ck_assert_int_eq(mc_dataset_read_idx_expect(ctx, path("rgb"), path("lab"), &e, &ds),
                     MC_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "rgb: the test data have 3 channels but "
                                                      "the network's input layer takes 1; add "
                                                      "--color-preprocessing rgb2gray"));
    e.convert_channels = true;
    ck_assert_int_eq(mc_dataset_read_idx_expect(ctx, path("rgb"), path("lab"), &e, &ds), MC_OK);
    ck_assert_int_eq(ds.shape.dims[1], 3);
    mc_dataset_release(ctx, &ds);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Every allocation of reading a data set can fail: each failure says what was being allocated
 * and how many bytes, and leaks nothing. */
START_TEST(test_out_of_memory_says_what)
{
    make_dir();
    size_t n, nz;
    unsigned char *raw = noise_images(&n);
    unsigned char *z = gzip_bytes(raw, n, &nz);
    write_file(path("img.gz"), z, nz, 0);
    unsigned char lab[512];
    const unsigned ldims[1] = {300};
    size_t nl = header(lab, 0x08, 1, ldims);
    for (int i = 0; i < 300; i++)
        lab[nl++] = (unsigned char)(i % 3);
    write_file(path("lab"), lab, nl, 0);
    int failures = 0;
    bool named_data = false;
    for (long k = 1;; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        a.fail_at = k + 1; /* after the context's own */
        mc_dataset ds;
        mc_status st = mc_dataset_read_idx(ctx, path("img.gz"), path("lab"), &ds);
        if (st == MC_OK) {
            ck_assert_int_eq(ds.shape.dims[0], 300);
            mc_dataset_release(ctx, &ds);
            mc_ctx_destroy(ctx);
            ck_assert_int_eq(a.live, 0);
            break;
        }
        ck_assert_msg(st == MC_ERR_NOMEM, "allocation %ld: %s", k, mc_ctx_message(ctx));
        const char *m = mc_ctx_message(ctx);
        ck_assert_msg(strstr(m, "out of memory while ") != NULL && strstr(m, " bytes") != NULL,
                      "allocation %ld: \"%s\" does not say what and how many bytes", k, m);
        /* the images' buffer by file, purpose and size: 300 x 28 x 28 floats */
        named_data |= strstr(m, "img.gz: out of memory while reading the data: 940800 bytes for "
                                "235200 values") != NULL;
        ck_assert_ptr_null(ds.x);
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
        failures++;
    }
    ck_assert_int_ge(failures, 5);
    ck_assert(named_data);
    free(z);
    free(raw);
    remove_dir();
}
END_TEST

/* Runs the minicnn command through sh; its exit status, stderr in err (cap bytes). */
static int run_cli(const char *args, char *err, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s' >/dev/null", MC_CLI, args, path("stderr"));
    int rc = system(cmd);
    FILE *f = fopen(path("stderr"), "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(err, 1, cap - 1, f);
    err[n] = '\0';
    fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A float32 IDX file of 2 images of 2x2 holding v, and labels 0 1. */
static void float_images(const char *images, const char *labels, const float *v, int type)
{
    unsigned char b[128];
    const unsigned dims[3] = {2, 2, 2};
    size_t n = header(b, type, 3, dims);
    for (int i = 0; i < 8; i++) {
        if (type == 0x0D) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            for (int k = 3; k >= 0; k--)
                b[n++] = (unsigned char)(u >> (8 * k));
        } else { /* int16 */
            const int16_t x = (int16_t)v[i];
            b[n++] = (unsigned char)((uint16_t)x >> 8);
            b[n++] = (unsigned char)x;
        }
    }
    write_file(images, b, n, 0);
    const unsigned ldims[1] = {2};
    n = header(b, 0x08, 1, ldims);
    b[n++] = 0;
    b[n++] = 1;
    write_file(labels, b, n, 0);
}

/* minicnn data export-png writes floating-point images in [0, 1] scaled by 255 (MATLAB's
 * imwrite), and refuses values an 8-bit PNG cannot show rather than writing black or white. */
START_TEST(test_export_png_scales_floats)
{
    make_dir();
    const float v[8] = {0.0f, 0.5f, 1.0f, 0.25f, 0.1f, 0.9f, 0.002f, 0.998f};
    float_images(path("fi"), path("fl"), v, 0x0D);
    char args[1024], err[2048];
    snprintf(args, sizeof args, "data export-png --train-images '%s' --train-labels '%s' '%s'",
             path("fi"), path("fl"), path("out"));
    ck_assert_msg(run_cli(args, err, sizeof err) == 0, "%s", err);
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_image_options o = mc_image_default(2, 2, 1);
    o.resize = false;
    float px[4];
    const char *files[2] = {"out/train/0/0.png", "out/train/1/1.png"};
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(mc_png_read(ctx, path(files[i]), &o, px) == MC_OK, "%s", mc_ctx_message(ctx));
        for (int p = 0; p < 4; p++)
            ck_assert_msg(px[p] == roundf(v[4 * i + p] * 255.0f), "image %d pixel %d: %g, not %g",
                          i, p, (double)px[p], (double)roundf(v[4 * i + p] * 255.0f));
    }
    /* 1.5 cannot be shown: refused, nothing written */
    const float over[8] = {0.0f, 0.5f, 1.0f, 0.25f, 0.1f, 1.5f, 0.0f, 1.0f};
    float_images(path("oi"), path("ol"), over, 0x0D);
    snprintf(args, sizeof args, "data export-png --train-images '%s' --train-labels '%s' '%s'",
             path("oi"), path("ol"), path("out2"));
    ck_assert_int_eq(run_cli(args, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "oi: floating-point images hold values from 0 to 1.5 (value 6 is "
                              "1.5), which an 8-bit PNG cannot show") != NULL,
                  "%s", err);
    ck_assert_int_ne(access(path("out2"), F_OK), 0);
    /* integers beyond 255 (int16) likewise */
    const float big[8] = {0, 10, 300, 4, 5, 6, 7, 8};
    float_images(path("ii"), path("il"), big, 0x0B);
    snprintf(args, sizeof args, "data export-png --train-images '%s' --train-labels '%s' '%s'",
             path("ii"), path("il"), path("out3"));
    ck_assert_int_eq(run_cli(args, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "ii: integer images hold values from 0 to 300 (value 3 is 300)") !=
                      NULL,
                  "%s", err);
    ck_assert_int_ne(access(path("out3"), F_OK), 0);
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
    tcase_add_test(tc, test_gzip_members_and_trailer);
    tcase_add_test(tc, test_decompression_bomb);
    tcase_add_test(tc, test_data_against_net);
    tcase_add_test(tc, test_out_of_memory_says_what);
    tcase_add_test(tc, test_export_png_scales_floats);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(data_suite());
}
