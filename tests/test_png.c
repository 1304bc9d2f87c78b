/* SPDX-License-Identifier: MIT */
/* PNG images and image folders: every PNG kind written here with libpng and read back, resizing,
 * channel conversion, folder scanning and splitting, hostile files, allocation failures. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>
#include <zlib.h>

#include "testutil.h"

static char dir[256];

static void make_dir(void)
{
    test_make_dir(dir, sizeof dir, "png");
}

static void remove_dir(void)
{
    test_remove_dir(dir);
}

static const char *path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void mkdir_in(const char *name)
{
    ck_assert_msg(mkdir(path(name), 0755) == 0, "mkdir %s: %s", name, strerror(errno));
}

static void write_bytes(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* ---- Writing test PNGs with libpng itself ---- */

typedef struct test_png {
    int w, h, color_type, bit_depth, interlace;
    const unsigned *samples; /* h * w * channels of the color type, in the bit depth's range */
    const png_color *palette;
    int n_palette;
    const png_byte *trans; /* palette alpha */
    int n_trans;
    const png_color_16 *trans_color; /* gray / RGB transparent colour */
    double gamma;                    /* gAMA chunk when > 0 */
} test_png;

static int type_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
        return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    default:
        return 4;
    }
}

static void write_png(const char *p, const test_png *t)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(png);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    const int ch = type_channels(t->color_type);
    const size_t per_sample = t->bit_depth == 16 ? 2 : 1;
    const size_t rowbytes = (size_t)t->w * ch * per_sample;
    unsigned char *buf = malloc(rowbytes * t->h);
    png_bytep *rows = malloc(sizeof *rows * t->h);
    ck_assert(buf != NULL && rows != NULL);
    for (int y = 0; y < t->h; y++) {
        rows[y] = buf + (size_t)y * rowbytes;
        for (int i = 0; i < t->w * ch; i++) {
            unsigned v = t->samples[(size_t)y * t->w * ch + i];
            if (per_sample == 2) {
                rows[y][2 * i] = (unsigned char)(v >> 8);
                rows[y][2 * i + 1] = (unsigned char)v;
            } else {
                rows[y][i] = (unsigned char)v;
            }
        }
    }
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng failed to write the test file %s", p);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)t->w, (png_uint_32)t->h, t->bit_depth, t->color_type,
                 t->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (t->palette != NULL)
        png_set_PLTE(png, info, t->palette, t->n_palette);
    if (t->trans != NULL || t->trans_color != NULL)
        png_set_tRNS(png, info, t->trans, t->n_trans, t->trans_color);
    if (t->gamma > 0)
        png_set_gAMA(png, info, t->gamma);
    png_write_info(png, info);
    if (t->bit_depth < 8)
        png_set_packing(png); /* one sample a byte in, packed in the file */
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(buf);
    ck_assert_int_eq(fclose(f), 0);
}

/* A w x h gray 8-bit PNG with the given values. */
static void write_gray(const char *p, int w, int h, const unsigned *v)
{
    test_png t = {w, h, PNG_COLOR_TYPE_GRAY, 8, 0, v, NULL, 0, NULL, 0, NULL, 0};
    write_png(p, &t);
}

static mc_status read_png(mc_ctx *ctx, const char *p, int H, int W, int C,
                          mc_color_preprocessing color, float *out)
{
    mc_image_options o = mc_image_default(H, W, C);
    o.color = color;
    return mc_png_read(ctx, p, &o, out);
}

static void expect_values(const float *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) < 1e-4, "%s: value %zu is %g, expected %g", what, i,
                      (double)got[i], want[i]);
}

static void expect_error(mc_ctx *ctx, mc_status st, mc_status want, const char *file,
                         const char *needle)
{
    ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", file, mc_status_name(want),
                  mc_status_name(st), mc_ctx_message(ctx));
    ck_assert_msg(strstr(mc_ctx_message(ctx), file) != NULL, "\"%s\" does not name %s",
                  mc_ctx_message(ctx), file);
    ck_assert_msg(strstr(mc_ctx_message(ctx), needle) != NULL, "\"%s\" lacks \"%s\"",
                  mc_ctx_message(ctx), needle);
}

/* ---- Every kind of PNG ---- */

/* Gray at 1, 2, 4, 8 and 16 bits: low depths are scaled up by bit replication (v * 255 / max),
 * 16 bits down (v * 255 / 65535, rounded). */
START_TEST(test_gray_depths)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const int depths[5] = {1, 2, 4, 8, 16};
    for (int d = 0; d < 5; d++) {
        const unsigned max = (1u << depths[d]) - 1;
        unsigned v[12];
        double want[12];
        for (int i = 0; i < 12; i++) {
            v[i] = (unsigned)((i * 7919u) % (max + 1));
            if (depths[d] == 16)
                v[i] = (unsigned)(i * 21) * 257u; /* exact in 8 bits */
            want[i] = depths[d] == 16 ? v[i] / 257.0 : floor(v[i] * 255.0 / max + 0.5);
        }
        for (int interlace = 0; interlace < 2; interlace++) {
            test_png t = {4,    3, PNG_COLOR_TYPE_GRAY, depths[d], interlace, v, NULL, 0, NULL, 0,
                          NULL, 0};
            write_png(path("g.png"), &t);
            float out[12];
            mc_status st = read_png(ctx, path("g.png"), 3, 4, 1, MC_COLOR_NONE, out);
            ck_assert_msg(st == MC_OK, "%d bits: %s", depths[d], mc_ctx_message(ctx));
            char what[32];
            snprintf(what, sizeof what, "gray %d bits", depths[d]);
            expect_values(out, want, 12, what);
        }
    }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Gray + alpha, RGB and RGBA at 8 and 16 bits: alpha is dropped, channels planar. */
START_TEST(test_color_types)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const int types[3] = {PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    for (int ti = 0; ti < 3; ti++)
        for (int depth = 8; depth <= 16; depth += 8) {
            const int ch = type_channels(types[ti]), C = ch >= 3 ? 3 : 1;
            enum { W = 3, H = 2 };
            unsigned v[W * H * 4];
            double want[W * H * 3];
            for (int p = 0; p < W * H; p++)
                for (int c = 0; c < ch; c++) {
                    unsigned x = (unsigned)(p * 40 + c * 13 + 5) % 256;
                    v[p * ch + c] = depth == 16 ? x * 257u : x;
                    if (c < C)
                        want[c * W * H + p] = x;
                }
            test_png t = {W, H, types[ti], depth, 0, v, NULL, 0, NULL, 0, NULL, 0};
            write_png(path("c.png"), &t);
            float out[W * H * 3];
            mc_status st = read_png(ctx, path("c.png"), H, W, C, MC_COLOR_NONE, out);
            ck_assert_msg(st == MC_OK, "type %d, %d bits: %s", types[ti], depth,
                          mc_ctx_message(ctx));
            expect_values(out, want, (size_t)W * H * C, "color types");
        }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Palettes of 1, 2, 4 and 8 bits become RGB, with or without a tRNS chunk; a gray tRNS is
 * dropped too. */
START_TEST(test_palette)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    png_color pal[256];
    png_byte alpha[256];
    for (int i = 0; i < 256; i++) {
        pal[i].red = (png_byte)(i * 3 + 1);
        pal[i].green = (png_byte)(255 - i);
        pal[i].blue = (png_byte)(i * 7);
        alpha[i] = (png_byte)(i * 11);
    }
    const int depths[4] = {1, 2, 4, 8};
    for (int d = 0; d < 4; d++)
        for (int with_trns = 0; with_trns < 2; with_trns++) {
            const int n_pal = 1 << depths[d];
            enum { W = 5, H = 2 };
            unsigned v[W * H];
            double want[3 * W * H];
            for (int p = 0; p < W * H; p++) {
                v[p] = (unsigned)(p * 37 + 3) % (unsigned)n_pal;
                want[p] = pal[v[p]].red;
                want[W * H + p] = pal[v[p]].green;
                want[2 * W * H + p] = pal[v[p]].blue;
            }
            test_png t = {W,
                          H,
                          PNG_COLOR_TYPE_PALETTE,
                          depths[d],
                          0,
                          v,
                          pal,
                          n_pal,
                          with_trns ? alpha : NULL,
                          with_trns ? n_pal : 0,
                          NULL,
                          0};
            write_png(path("p.png"), &t);
            float out[3 * W * H];
            mc_status st = read_png(ctx, path("p.png"), H, W, 3, MC_COLOR_NONE, out);
            ck_assert_msg(st == MC_OK, "palette %d bits: %s", depths[d], mc_ctx_message(ctx));
            expect_values(out, want, 3 * W * H, "palette");
        }
    /* gray with a transparent colour */
    const unsigned v[4] = {0, 9, 200, 255};
    const double want[4] = {0, 9, 200, 255};
    png_color_16 tc = {0, 0, 0, 0, 9};
    test_png t = {2, 2, PNG_COLOR_TYPE_GRAY, 8, 0, v, NULL, 0, NULL, 0, &tc, 0};
    write_png(path("t.png"), &t);
    float out[4];
    ck_assert_int_eq(read_png(ctx, path("t.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_OK);
    expect_values(out, want, 4, "gray tRNS");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* gray2rgb replicates, rgb2gray weighs (also with a gAMA chunk: no gamma is applied); without
 * the conversion a channel mismatch names the file and the fix. */
START_TEST(test_channels)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const unsigned g[4] = {0, 50, 128, 255};
    write_gray(path("gray.png"), 2, 2, g);
    float out[12];
    ck_assert_int_eq(read_png(ctx, path("gray.png"), 2, 2, 3, MC_COLOR_GRAY2RGB, out), MC_OK);
    const double rep[12] = {0, 50, 128, 255, 0, 50, 128, 255, 0, 50, 128, 255};
    expect_values(out, rep, 12, "gray2rgb");
    /* a gray image with rgb2gray passes */
    ck_assert_int_eq(read_png(ctx, path("gray.png"), 2, 2, 1, MC_COLOR_RGB2GRAY, out), MC_OK);
    expect_values(out, rep, 4, "gray with rgb2gray");
    expect_error(ctx, read_png(ctx, path("gray.png"), 2, 2, 3, MC_COLOR_NONE, out), MC_ERR_SHAPE,
                 path("gray.png"),
                 "the image is gray (1 channel) but the network takes 3-channel images; convert "
                 "it with color preprocessing gray2rgb (--color-preprocessing gray2rgb)");
    expect_error(ctx, read_png(ctx, path("gray.png"), 2, 2, 3, MC_COLOR_RGB2GRAY, out),
                 MC_ERR_SHAPE, path("gray.png"), "--color-preprocessing gray2rgb");
    const unsigned rgb[12] = {10, 20, 30, 255, 0, 0, 0, 255, 0, 0, 0, 255};
    for (int gamma = 0; gamma < 2; gamma++) {
        test_png t = {2, 2,    PNG_COLOR_TYPE_RGB, 8, 0, rgb, NULL, 0, NULL,
                      0, NULL, gamma ? 1 / 2.2 : 0};
        write_png(path("rgb.png"), &t);
        ck_assert_int_eq(read_png(ctx, path("rgb.png"), 2, 2, 1, MC_COLOR_RGB2GRAY, out), MC_OK);
        const double gray[4] = {0.2989 * 10 + 0.5870 * 20 + 0.1140 * 30, 0.2989 * 255, 0.5870 * 255,
                                0.1140 * 255};
        expect_values(out, gray, 4, "rgb2gray");
    }
    expect_error(ctx, read_png(ctx, path("rgb.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_SHAPE,
                 path("rgb.png"),
                 "the image is RGB (3 channels) but the network takes 1-channel images; convert "
                 "it with color preprocessing rgb2gray (--color-preprocessing rgb2gray)");
    /* options */
    expect_error(ctx, read_png(ctx, path("rgb.png"), 2, 2, 2, MC_COLOR_NONE, out), MC_ERR_INVALID,
                 "", "with 1 (gray) or 3 (RGB) channels, not 2x2x2");
    mc_color_preprocessing c;
    ck_assert_int_eq(mc_color_preprocessing_parse(ctx, "rgb2gray", &c), MC_OK);
    ck_assert_int_eq(c, MC_COLOR_RGB2GRAY);
    ck_assert_int_eq(mc_color_preprocessing_parse(ctx, "gray", &c), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "color preprocessing is none, gray2rgb or rgb2gray, not 'gray'");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Bilinear resizing with aligned pixel centres, against values worked out by hand. */
START_TEST(test_resize)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    /* 2x2 -> 4x4: destination x maps to (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75,
     * 1.25 (clamped to 1); the same for rows. */
    const unsigned up[4] = {0, 10, 20, 30};
    write_gray(path("up.png"), 2, 2, up);
    float out[16];
    ck_assert_int_eq(read_png(ctx, path("up.png"), 4, 4, 1, MC_COLOR_NONE, out), MC_OK);
    const double want_up[16] = {0,  2.5,  7.5,  10, 5,  7.5,  12.5, 15,
                                15, 17.5, 22.5, 25, 20, 22.5, 27.5, 30};
    expect_values(out, want_up, 16, "2x2 to 4x4");
    /* 4x4 -> 2x2: centres at 0.5 and 2.5, the mean of each 2x2 block */
    unsigned down[16];
    double want_down[4] = {0, 0, 0, 0};
    for (int i = 0; i < 16; i++) {
        down[i] = (unsigned)(i * i);
        want_down[(i / 4 / 2) * 2 + (i % 4) / 2] += down[i] / 4.0;
    }
    write_gray(path("down.png"), 4, 4, down);
    ck_assert_int_eq(read_png(ctx, path("down.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_OK);
    expect_values(out, want_down, 4, "4x4 to 2x2");
    /* 1x3 -> 2x2 (rows replicate; columns at 0.25 and 1.75) */
    const unsigned row[3] = {0, 100, 200};
    write_gray(path("row.png"), 3, 1, row);
    ck_assert_int_eq(read_png(ctx, path("row.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_OK);
    const double want_row[4] = {25, 175, 25, 175};
    expect_values(out, want_row, 4, "1x3 to 2x2");
    /* the kernel alone, two channels */
    const float src[8] = {0, 10, 20, 30, 100, 100, 100, 100};
    float dst[32];
    mc_image_resize_bilinear(src, 2, 2, 2, dst, 4, 4);
    expect_values(dst, want_up, 16, "kernel channel 1");
    for (int i = 16; i < 32; i++)
        ck_assert(dst[i] == 100.0f);
    /* resizing off */
    mc_image_options o = mc_image_default(4, 4, 1);
    o.resize = false;
    expect_error(ctx, mc_png_read(ctx, path("up.png"), &o, out), MC_ERR_SHAPE, path("up.png"),
                 "the image is 2x2 (height x width) but the network takes 4x4, and resizing is "
                 "off");
    o = mc_image_default(2, 2, 1);
    o.resize = false;
    ck_assert_int_eq(mc_png_read(ctx, path("up.png"), &o, out), MC_OK);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* mc_png_write: rounding and clamping, gray and RGB, and what it refuses. */
START_TEST(test_write)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const float img[6] = {-3, 0.4f, 12.6f, 254.5f, 300, 128};
    ck_assert_int_eq(mc_png_write(ctx, path("w.png"), img, 1, 2, 3), MC_OK);
    float out[18];
    ck_assert_int_eq(read_png(ctx, path("w.png"), 2, 3, 1, MC_COLOR_NONE, out), MC_OK);
    const double want[6] = {0, 0, 13, 254, 255, 128};
    expect_values(out, want, 6, "gray round trip");
    float rgb[18];
    for (int i = 0; i < 18; i++)
        rgb[i] = (float)(i * 14);
    ck_assert_int_eq(mc_png_write(ctx, path("w.png"), rgb, 3, 2, 3), MC_OK); /* replaces */
    ck_assert_int_eq(read_png(ctx, path("w.png"), 2, 3, 3, MC_COLOR_NONE, out), MC_OK);
    for (int i = 0; i < 18; i++)
        ck_assert(out[i] == rgb[i]);
    ck_assert_int_eq(access(path("w.png.tmp"), F_OK), -1);
    expect_error(ctx, mc_png_write(ctx, path("w.png"), rgb, 2, 2, 3), MC_ERR_INVALID, "w.png",
                 "written with 1 or 3 channels");
    expect_error(ctx, mc_png_write(ctx, path("nowhere/w.png"), rgb, 1, 2, 3), MC_ERR_IO,
                 "nowhere/w.png", "No such file or directory");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* ---- Hostile files ---- */

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* The offset of the first chunk of `type` in a PNG file. */
static size_t find_chunk(const unsigned char *b, size_t n, const char *type)
{
    for (size_t at = 8; at + 12 <= n; at += 12 + be32(b + at))
        if (memcmp(b + at + 4, type, 4) == 0)
            return at;
    ck_abort_msg("no %s chunk", type);
    return 0;
}

START_TEST(test_not_png)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    float out[4];
    write_bytes(path("text.png"), "hello, world\n", 13);
    expect_error(ctx, read_png(ctx, path("text.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_FORMAT,
                 path("text.png"),
                 "not a PNG file: it starts with 68 65 6c 6c 6f 2c 20 77, not the PNG signature");
    write_bytes(path("empty.png"), "", 0);
    expect_error(ctx, read_png(ctx, path("empty.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_FORMAT,
                 path("empty.png"), "it starts with nothing (the file is empty)");
    expect_error(ctx, read_png(ctx, path("missing.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_IO,
                 path("missing.png"), "cannot open");
    mkdir_in("dir.png");
    expect_error(ctx, read_png(ctx, path("dir.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_IO,
                 path("dir.png"), "read error at byte 0: Is a directory");
    if (geteuid() != 0) { /* root reads anything */
        const unsigned g[4] = {1, 2, 3, 4};
        write_gray(path("secret.png"), 2, 2, g);
        ck_assert_int_eq(chmod(path("secret.png"), 0), 0);
        expect_error(ctx, read_png(ctx, path("secret.png"), 2, 2, 1, MC_COLOR_NONE, out), MC_ERR_IO,
                     path("secret.png"), "Permission denied");
    }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A file cut at every length is an error saying where it ends; nothing leaks. */
START_TEST(test_truncated)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned v[3 * 8 * 6];
    for (int i = 0; i < 3 * 8 * 6; i++)
        v[i] = (unsigned)(i * 37) % 256;
    for (int interlace = 0; interlace < 2; interlace++) {
        test_png t = {8, 6, PNG_COLOR_TYPE_RGB, 8, interlace, v, NULL, 0, NULL, 0, NULL, 0.45};
        write_png(path("full.png"), &t);
        size_t n;
        unsigned char *b = read_bytes(path("full.png"), &n);
        float out[3 * 6 * 8];
        ck_assert_int_eq(read_png(ctx, path("full.png"), 6, 8, 3, MC_COLOR_NONE, out), MC_OK);
        for (size_t k = 0; k < n; k++) {
            write_bytes(path("cut.png"), b, k);
            mc_status st = read_png(ctx, path("cut.png"), 6, 8, 3, MC_COLOR_NONE, out);
            char want[96];
            if (k == 0)
                snprintf(want, sizeof want, "the file is empty");
            else if (k < 8)
                snprintf(want, sizeof want,
                         "truncated PNG: the file ends at byte %zu, inside "
                         "the signature",
                         k);
            else
                snprintf(want, sizeof want, "truncated PNG: the file ends at byte %zu, inside", k);
            expect_error(ctx, st, MC_ERR_FORMAT, path("cut.png"), want);
            ck_assert_int_eq(a.live, 1);
        }
        free(b);
    }
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

/* A byte flipped inside IDAT fails its CRC; every other single-byte change is caught too. */
START_TEST(test_corrupt)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    unsigned v[16 * 16];
    for (int i = 0; i < 16 * 16; i++)
        v[i] = (unsigned)(i * 7) % 256;
    test_png t = {16, 16, PNG_COLOR_TYPE_GRAY, 8, 0, v, NULL, 0, NULL, 0, NULL, 0.45};
    write_png(path("ok.png"), &t);
    size_t n;
    unsigned char *b = read_bytes(path("ok.png"), &n);
    const size_t idat = find_chunk(b, n, "IDAT");
    const uint32_t len = be32(b + idat);
    float out[256];
    char want[96];
    snprintf(want, sizeof want, "corrupt PNG: chunk IDAT at byte %zu fails its CRC check", idat);
    for (uint32_t k = 0; k < len + 4; k++) {
        b[idat + 8 + k] ^= 0x10;
        write_bytes(path("crc.png"), b, n);
        expect_error(ctx, read_png(ctx, path("crc.png"), 16, 16, 1, MC_COLOR_NONE, out),
                     MC_ERR_FORMAT, path("crc.png"), want);
        b[idat + 8 + k] ^= 0x10;
        ck_assert_int_eq(a.live, 1);
    }
    /* every byte of the file, every chunk included */
    for (size_t k = 0; k < n; k++) {
        b[k] ^= 0x01;
        write_bytes(path("flip.png"), b, n);
        mc_status st = read_png(ctx, path("flip.png"), 16, 16, 1, MC_COLOR_NONE, out);
        ck_assert_msg(st == MC_ERR_FORMAT, "flip at byte %zu of %zu: %s (%s)", k, n,
                      mc_status_name(st), mc_ctx_message(ctx));
        b[k] ^= 0x01;
        ck_assert_int_eq(a.live, 1);
    }
    free(b);
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

/* A header declaring 100,000 x 100,000 pixels (with a correct CRC) is refused before decoding,
 * as are sides over 16384 and a zero side. */
START_TEST(test_huge_header)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const unsigned g[4] = {1, 2, 3, 4};
    write_gray(path("small.png"), 2, 2, g);
    size_t n;
    unsigned char *b = read_bytes(path("small.png"), &n);
    ck_assert_uint_eq(find_chunk(b, n, "IHDR"), 8);
    const uint32_t sizes[4][2] = {{100000, 100000}, {16385, 2}, {2, 20000}, {0, 2}};
    float out[4];
    for (int i = 0; i < 4; i++) {
        put_be32(b + 16, sizes[i][0]);
        put_be32(b + 20, sizes[i][1]);
        put_be32(b + 29, (uint32_t)crc32(0, b + 12, 17));
        write_bytes(path("huge.png"), b, n);
        const long before = a.count;
        mc_status st = read_png(ctx, path("huge.png"), 2, 2, 1, MC_COLOR_NONE, out);
        char want[96];
        if (sizes[i][0] == 0)
            snprintf(want, sizeof want, "Invalid IHDR data");
        else
            snprintf(want, sizeof want,
                     "the PNG header declares %u x %u pixels (width x height), "
                     "over the limit of 16384 x 16384",
                     sizes[i][0], sizes[i][1]);
        expect_error(ctx, st, MC_ERR_FORMAT, path("huge.png"), want);
        ck_assert_msg(a.count - before < 10, "%ld allocations", a.count - before);
        ck_assert_int_eq(a.live, 1);
    }
    free(b);
    mc_ctx_destroy(ctx);
    remove_dir();
}
END_TEST

/* ---- Image folders ---- */

static void touch(const char *name)
{
    write_bytes(path(name), "x", 1);
}

START_TEST(test_scan)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mkdir_in("root");
    mkdir_in("root/b");
    mkdir_in("root/a");
    mkdir_in("root/Z");
    mkdir_in("root/.hidden");
    mkdir_in("root/b/deeper");
    touch("root/b/2.png");
    touch("root/b/1.PNG");
    touch("root/b/10.png");
    touch("root/b/notes.txt");
    touch("root/b/.x.png");
    touch("root/b/deeper/3.png");
    touch("root/a/x.png");
    touch("root/Z/z.Png");
    touch("root/.hidden/h.png");
    touch("root/loose.png");
    mc_image_folder f;
    ck_assert_msg(mc_image_folder_scan(ctx, path("root"), &f) == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(f.num_classes, 3);
    ck_assert_str_eq(f.classes[0], "Z");
    ck_assert_str_eq(f.classes[1], "a");
    ck_assert_str_eq(f.classes[2], "b");
    ck_assert_int_eq(f.num_files, 5);
    const char *files[5] = {"root/Z/z.Png", "root/a/x.png", "root/b/1.PNG", "root/b/10.png",
                            "root/b/2.png"};
    const int labels[5] = {0, 1, 2, 2, 2};
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(f.files[i], path(files[i]));
        ck_assert_int_eq(f.labels[i], labels[i]);
    }
    mc_image_folder_release(ctx, &f);
    ck_assert_ptr_null(f.files);

    /* an empty class folder, no class folders, a missing folder, a dangling link */
    mkdir_in("root/empty");
    expect_error(ctx, mc_image_folder_scan(ctx, path("root"), &f), MC_ERR_FORMAT,
                 path("root/empty"), "holds no PNG files (*.png)");
    ck_assert_ptr_null(f.files);
    mkdir_in("flat");
    touch("flat/a.png");
    expect_error(ctx, mc_image_folder_scan(ctx, path("flat"), &f), MC_ERR_FORMAT, path("flat"),
                 "holds no class folders");
    expect_error(ctx, mc_image_folder_scan(ctx, path("missing"), &f), MC_ERR_IO, path("missing"),
                 "No such file or directory");
    touch("root/empty/e.png");
    ck_assert_int_eq(symlink(path("nowhere"), path("root/a/link.png")), 0);
    expect_error(ctx, mc_image_folder_scan(ctx, path("root"), &f), MC_ERR_IO,
                 path("root/a/link.png"), "cannot read");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A folder of `counts[k]` empty files per class k ("c<k>/<i>.png"). */
static void make_classes(const char *root, const int *counts, int K)
{
    mkdir_in(root);
    for (int k = 0; k < K; k++) {
        char name[128];
        snprintf(name, sizeof name, "%s/c%d", root, k);
        mkdir_in(name);
        for (int i = 0; i < counts[k]; i++) {
            snprintf(name, sizeof name, "%s/c%d/%03d.png", root, k, i);
            touch(name);
        }
    }
}

START_TEST(test_split)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 7);
    const int counts[3] = {10, 7, 1};
    make_classes("root", counts, 3);
    mc_image_folder all, tr, te, tr2, te2;
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("root"), &all), MC_OK);
    ck_assert_int_eq(all.num_files, 18);
    const double ps[5] = {0.75, 0.5, 0, 1, 0.3};
    for (int pi = 0; pi < 5; pi++) {
        const double p = ps[pi];
        mc_rng_seed(ctx, 42);
        ck_assert_int_eq(mc_image_folder_split(ctx, &all, p, &tr, &te), MC_OK);
        /* round(p * count) per class to train, the rest to test, every file exactly once, in
         * the folder's order */
        for (int k = 0; k < 3; k++) {
            int ntr = 0, nte = 0;
            for (int i = 0; i < tr.num_files; i++)
                ntr += tr.labels[i] == k;
            for (int i = 0; i < te.num_files; i++)
                nte += te.labels[i] == k;
            ck_assert_int_eq(ntr, (int)round(p * counts[k]));
            ck_assert_int_eq(nte, counts[k] - ntr);
        }
        ck_assert_int_eq(tr.num_classes, 3);
        ck_assert_int_eq(te.num_classes, 3);
        ck_assert_str_eq(te.classes[2], "c2");
        int i_tr = 0, i_te = 0;
        for (int i = 0; i < all.num_files; i++) {
            if (i_tr < tr.num_files && strcmp(tr.files[i_tr], all.files[i]) == 0)
                ck_assert_int_eq(tr.labels[i_tr++], all.labels[i]);
            else if (i_te < te.num_files && strcmp(te.files[i_te], all.files[i]) == 0)
                ck_assert_int_eq(te.labels[i_te++], all.labels[i]);
            else
                ck_abort_msg("%s is in neither part, or out of order", all.files[i]);
        }
        /* the same seed gives the same split */
        mc_rng_seed(ctx, 42);
        ck_assert_int_eq(mc_image_folder_split(ctx, &all, p, &tr2, &te2), MC_OK);
        ck_assert_int_eq(tr2.num_files, tr.num_files);
        for (int i = 0; i < tr.num_files; i++)
            ck_assert_str_eq(tr2.files[i], tr.files[i]);
        mc_image_folder_release(ctx, &tr2);
        mc_image_folder_release(ctx, &te2);
        mc_image_folder_release(ctx, &tr);
        mc_image_folder_release(ctx, &te);
    }
    /* other seeds give other splits of the 10-file class */
    int differ = 0;
    mc_rng_seed(ctx, 42);
    ck_assert_int_eq(mc_image_folder_split(ctx, &all, 0.5, &tr, &te), MC_OK);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        mc_rng_seed(ctx, seed);
        ck_assert_int_eq(mc_image_folder_split(ctx, &all, 0.5, &tr2, &te2), MC_OK);
        for (int i = 0; i < tr.num_files; i++)
            if (strcmp(tr.files[i], tr2.files[i]) != 0) {
                differ++;
                break;
            }
        mc_image_folder_release(ctx, &tr2);
        mc_image_folder_release(ctx, &te2);
    }
    ck_assert_int_ge(differ, 4);
    mc_image_folder_release(ctx, &tr);
    mc_image_folder_release(ctx, &te);
    ck_assert_int_eq(mc_image_folder_split(ctx, &all, 1.5, &tr, &te), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx), "the split proportion must be from 0 to 1, not 1.5");
    ck_assert_int_eq(mc_image_folder_split(ctx, &all, NAN, &tr, &te), MC_ERR_INVALID);
    ck_assert_ptr_null(tr.files);
    mc_image_folder_release(ctx, &all);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

START_TEST(test_use_classes)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    const int c3[3] = {1, 2, 1};
    make_classes("train", c3, 3);
    mkdir_in("test");
    mkdir_in("test/c2");
    mkdir_in("test/c1");
    touch("test/c1/a.png");
    touch("test/c2/b.png");
    mc_image_folder tr, te;
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("train"), &tr), MC_OK);
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("test"), &te), MC_OK);
    ck_assert_int_eq(te.labels[0], 0);
    ck_assert_int_eq(mc_image_folder_use_classes(ctx, &te, &tr), MC_OK);
    ck_assert_int_eq(te.num_classes, 3);
    ck_assert_int_eq(te.labels[0], 1);
    ck_assert_int_eq(te.labels[1], 2);
    ck_assert_str_eq(te.classes[0], "c0");
    mc_image_folder_release(ctx, &te);
    mkdir_in("test/zz");
    touch("test/zz/q.png");
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("test"), &te), MC_OK);
    expect_error(ctx, mc_image_folder_use_classes(ctx, &te, &tr), MC_ERR_FORMAT,
                 path("test/zz/q.png"), "class 'zz' (");
    ck_assert_int_eq(te.num_classes, 3);
    ck_assert_str_eq(te.classes[2], "zz");
    mc_image_folder_release(ctx, &te);
    mc_image_folder_release(ctx, &tr);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* A folder of real images read into a data set; a broken file names itself. */
START_TEST(test_read_folder)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mkdir_in("root");
    mkdir_in("root/cat");
    mkdir_in("root/dog");
    const unsigned g1[4] = {1, 2, 3, 4}, g2[4] = {5, 6, 7, 8}, g3[9] = {0, 0, 0, 0, 90};
    write_gray(path("root/dog/1.png"), 2, 2, g1);
    write_gray(path("root/cat/1.png"), 2, 2, g2);
    write_gray(path("root/cat/2.png"), 3, 3, g3); /* resized: the centre pixel spreads */
    mc_image_folder f;
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("root"), &f), MC_OK);
    mc_image_options o = mc_image_default(2, 2, 1);
    mc_dataset ds;
    ck_assert_msg(mc_image_folder_read(ctx, &f, &o, &ds) == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_int_eq(ds.shape.ndim, 4);
    ck_assert_int_eq(ds.shape.dims[0], 3);
    ck_assert_int_eq(ds.shape.dims[1], 1);
    ck_assert_int_eq(ds.num_classes, 2);
    const int labels[3] = {0, 0, 1};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ds.labels[i], labels[i]);
    /* 3x3 -> 2x2: source coordinates 0.25 and 1.75, so every destination pixel takes
     * 0.25 x 0.25 of the centre pixel and nothing of the zeros around it */
    const double want[12] = {5,           6,           7, 8, 90 * 0.0625, 90 * 0.0625,
                             90 * 0.0625, 90 * 0.0625, 1, 2, 3,           4};
    expect_values(ds.x, want, 12, "folder");
    mc_dataset_release(ctx, &ds);
    /* gray2rgb through the folder */
    o = mc_image_default(2, 2, 3);
    o.color = MC_COLOR_GRAY2RGB;
    ck_assert_int_eq(mc_image_folder_read(ctx, &f, &o, &ds), MC_OK);
    ck_assert_int_eq(ds.shape.dims[1], 3);
    ck_assert(ds.x[12 * 2 + 4 + 3] == 4.0f);
    mc_dataset_release(ctx, &ds);
    mc_image_folder_release(ctx, &f);
    /* a broken file in the middle */
    write_bytes(path("root/cat/3.png"), "GIF89a", 6);
    ck_assert_int_eq(mc_image_folder_scan(ctx, path("root"), &f), MC_OK);
    o = mc_image_default(2, 2, 1);
    expect_error(ctx, mc_image_folder_read(ctx, &f, &o, &ds), MC_ERR_FORMAT, path("root/cat/3.png"),
                 "not a PNG file");
    ck_assert_ptr_null(ds.x);
    mc_image_folder_release(ctx, &f);
    mc_image_folder empty = {0};
    ck_assert_int_eq(mc_image_folder_read(ctx, &empty, &o, &ds), MC_ERR_INVALID);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

/* Every allocation of every path fails in turn: a clean MC_ERR_NOMEM, nothing leaked. */
START_TEST(test_alloc_failures)
{
    make_dir();
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mkdir_in("root");
    mkdir_in("root/a");
    mkdir_in("root/b");
    unsigned v[3 * 5 * 4];
    for (int i = 0; i < 60; i++)
        v[i] = (unsigned)(i * 4);
    test_png t = {5, 4, PNG_COLOR_TYPE_RGB, 8, 1, v, NULL, 0, NULL, 0, NULL, 0.45};
    write_png(path("root/a/1.png"), &t);
    write_png(path("root/a/2.png"), &t);
    write_png(path("root/b/1.png"), &t);
    float img[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        img[i] = (float)i;
    for (int what = 0; what < 3; what++) {
        int failures = 0;
        for (long k = 1;; k++) {
            const long live = a.live;
            a.fail_at = a.count + k;
            mc_status st;
            if (what == 0) {
                float out[3 * 3 * 3];
                st = read_png(ctx, path("root/a/1.png"), 3, 3, 1, MC_COLOR_RGB2GRAY, out);
            } else if (what == 1) {
                st = mc_png_write(ctx, path("w.png"), img, 3, 4, 5);
            } else {
                mc_image_folder f, tr, te;
                mc_dataset ds;
                memset(&ds, 0, sizeof ds);
                memset(&tr, 0, sizeof tr);
                memset(&te, 0, sizeof te);
                st = mc_image_folder_scan(ctx, path("root"), &f);
                if (st == MC_OK) {
                    st = mc_image_folder_split(ctx, &f, 0.5, &tr, &te);
                    if (st == MC_OK)
                        st = mc_image_folder_use_classes(ctx, &te, &f);
                    mc_image_options o = mc_image_default(4, 5, 3);
                    if (st == MC_OK)
                        st = mc_image_folder_read(ctx, &tr, &o, &ds);
                    mc_dataset_release(ctx, &ds);
                    mc_image_folder_release(ctx, &tr);
                    mc_image_folder_release(ctx, &te);
                    mc_image_folder_release(ctx, &f);
                }
            }
            const bool failed = a.count >= a.fail_at;
            a.fail_at = 0;
            ck_assert_int_eq(a.live, live);
            if (!failed) {
                ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
                break;
            }
            ck_assert_msg(st == MC_ERR_NOMEM, "case %d, allocation %ld: %s (%s)", what, k,
                          mc_status_name(st), mc_ctx_message(ctx));
            ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "out of memory"));
            failures++;
        }
        ck_assert_int_ge(failures, 3);
    }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    remove_dir();
}
END_TEST

static Suite *png_suite(void)
{
    Suite *s = suite_create("png");
    TCase *tc = tcase_create("png");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gray_depths);
    tcase_add_test(tc, test_color_types);
    tcase_add_test(tc, test_palette);
    tcase_add_test(tc, test_channels);
    tcase_add_test(tc, test_resize);
    tcase_add_test(tc, test_write);
    tcase_add_test(tc, test_not_png);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_corrupt);
    tcase_add_test(tc, test_huge_header);
    suite_add_tcase(s, tc);
    TCase *folders = tcase_create("folders");
    tcase_set_timeout(folders, 120);
    tcase_add_test(folders, test_scan);
    tcase_add_test(folders, test_split);
    tcase_add_test(folders, test_use_classes);
    tcase_add_test(folders, test_read_folder);
    tcase_add_test(folders, test_alloc_failures);
    suite_add_tcase(s, folders);
    return s;
}

int main(void)
{
    return test_run_suite(png_suite());
}
