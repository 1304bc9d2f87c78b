/* SPDX-License-Identifier: MIT */
/* PNG images through libpng: reading any PNG into a float image of the network's size, and
 * writing 8-bit gray or RGB PNGs.
 *
 * libpng reports errors by calling an error function that must not return; ours records the
 * message and longjmps back to the one setjmp of decode() / encode(). Everything allocated
 * while libpng runs (libpng's own memory through the context's allocator, our pixel buffers)
 * is reachable from a `png_reader` / `png_writer` that outlives the longjmp, so the caller
 * frees it on every path. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <png.h>
#include <zlib.h>

#include <minicnn/atomic.h>
#include <minicnn/data.h>

#include "../internal.h"
#include "bytes.h"

#define CHUNK_MALLOC_MAX ((png_alloc_size_t)16 << 20) /* ancillary chunks (iCCP, zTXt...) */
#define CHUNK_CACHE_MAX 1000                          /* ancillary chunks kept */

/* ---- Shared: libpng's memory, errors and warnings --------------------------------------- */

typedef struct png_diag {
    bool nomem;        /* an allocation failed */
    char error[256];   /* libpng's error message */
    char warning[256]; /* its last warning (kept to explain an error, never printed) */
} png_diag;

static png_voidp png_alloc_fn(png_structp png, png_alloc_size_t size)
{
    mc_ctx *ctx = png_get_mem_ptr(png);
    void *p = size <= SIZE_MAX ? mc_alloc(ctx, (size_t)size) : NULL;
    if (p == NULL) {
        png_diag *d = png_get_error_ptr(png);
        if (d != NULL)
            d->nomem = true;
    }
    return p;
}

static void png_free_fn(png_structp png, png_voidp ptr)
{
    mc_free(png_get_mem_ptr(png), ptr);
}

static void png_error_fn(png_structp png, png_const_charp msg)
{
    png_diag *d = png_get_error_ptr(png);
    if (d != NULL && d->error[0] == '\0')
        snprintf(d->error, sizeof d->error, "%s", msg != NULL ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
    png_diag *d = png_get_error_ptr(png);
    if (d != NULL)
        snprintf(d->warning, sizeof d->warning, "%s", msg != NULL ? msg : "");
}

/* ---- Parsing options -------------------------------------------------------------------- */

mc_status mc_color_preprocessing_parse(mc_ctx *ctx, const char *text, mc_color_preprocessing *out)
{
    static const char *const names[] = {"none", "gray2rgb", "rgb2gray"};
    for (int i = 0; i < 3; i++)
        if (text != NULL && strcmp(text, names[i]) == 0) {
            *out = (mc_color_preprocessing)i;
            return MC_OK;
        }
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "color preprocessing is none, gray2rgb or rgb2gray, not '%s'",
                       text != NULL ? text : "(null)");
}

mc_image_options mc_image_default(int height, int width, int channels)
{
    mc_image_options o;
    memset(&o, 0, sizeof o);
    o.height = height;
    o.width = width;
    o.channels = channels;
    o.color = MC_COLOR_NONE;
    o.resize = true;
    return o;
}

/* ---- Resizing ----------------------------------------------------------------------------- */

/* For each destination index, the two source indices and the weight of the second. */
static void bilinear_axis(int n_src, int n_dst, int i, int *i0, int *i1, double *f)
{
    double s = ((double)i + 0.5) * (double)n_src / (double)n_dst - 0.5;
    if (s < 0)
        s = 0;
    if (s > n_src - 1)
        s = n_src - 1;
    *i0 = (int)floor(s);
    *i1 = *i0 + 1 < n_src ? *i0 + 1 : *i0;
    *f = s - *i0;
}

/* Source pixels: planar floats (C, h, w), or the decoded 8-bit rows (h, w, channels), where
 * rgb2gray weighs the three channels of a pixel into one. */
typedef struct pixels {
    const float *planes;
    const unsigned char *bytes;
    int h, w, channels;
    bool rgb2gray;
} pixels;

static double fetch(const pixels *s, int c, int y, int x)
{
    if (s->planes != NULL)
        return s->planes[((size_t)c * s->h + y) * s->w + x];
    const unsigned char *px = s->bytes + ((size_t)y * s->w + x) * s->channels;
    if (s->rgb2gray)
        return 0.2989 * px[0] + 0.5870 * px[1] + 0.1140 * px[2];
    return px[c];
}

/* src: h x w pixels; dst: (C, H, W) */
static void resize(const pixels *src, int C, float *dst, int H, int W)
{
    const int h = src->h, w = src->w;
    for (int c = 0; c < C; c++) {
        float *d = dst + (size_t)c * H * W;
        for (int y = 0; y < H; y++) {
            int y0, y1;
            double fy;
            bilinear_axis(h, H, y, &y0, &y1, &fy);
            for (int x = 0; x < W; x++) {
                int x0, x1;
                double fx;
                bilinear_axis(w, W, x, &x0, &x1, &fx);
                const double top = (1 - fx) * fetch(src, c, y0, x0) + fx * fetch(src, c, y0, x1);
                const double bot = (1 - fx) * fetch(src, c, y1, x0) + fx * fetch(src, c, y1, x1);
                d[(size_t)y * W + x] = (float)((1 - fy) * top + fy * bot);
            }
        }
    }
}

/* src: (C, h, w); dst: (C, H, W) */
void mc_image_resize_bilinear(const float *src, int C, int h, int w, float *dst, int H, int W)
{
    const pixels s = {src, NULL, h, w, C, false};
    resize(&s, C, dst, H, W);
}

/* ---- Reading ------------------------------------------------------------------------------ */

/* The chunk being read, followed byte by byte as libpng consumes the file, so that an error
 * can name its chunk and a chunk damaged in its data can be told by its CRC even when zlib or
 * libpng's filters notice the damage before libpng reaches the CRC. */
typedef struct chunk_track {
    size_t start;            /* offset of the current (or last) chunk's length field */
    bool done;               /* that chunk has been read to its CRC */
    size_t next;             /* then where the next one starts */
    unsigned char head[8];   /* its length and type, as read */
    uint64_t len;            /* its data length (valid once head is complete) */
    unsigned long crc;       /* CRC-32 of its type and the data read so far */
    unsigned char stored[4]; /* its stored CRC, as read */
    bool bad_crc;            /* a finished chunk's CRC did not match */
    size_t bad_start;        /* where that chunk starts */
    char bad_type[5];
} chunk_track;

typedef struct png_reader {
    png_diag diag; /* first: libpng's error pointer */
    mc_ctx *ctx;
    const char *path;
    FILE *fp;
    size_t offset;          /* bytes read so far */
    unsigned char head[33]; /* signature and IHDR, as read */
    chunk_track chunk;
    bool eof;       /* the file ended early */
    int read_errno; /* a read failed (errno) */
    png_structp png;
    png_infop info;
    unsigned char *pixels; /* (h, w, channels) 8-bit, from libpng */
    png_bytep *rows;
} png_reader;

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* A chunk type for messages: printable letters, '?' for anything else. */
static void type_text(const unsigned char *type, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')
                     ? (char)type[i]
                     : '?';
    out[4] = '\0';
}

/* Follows n bytes read at r->offset (after the signature) through the chunk structure. */
static void track(png_reader *r, const unsigned char *p, size_t n)
{
    chunk_track *t = &r->chunk;
    size_t off = r->offset;
    while (n > 0) {
        if (t->done) {
            t->start = t->next;
            t->done = false;
        }
        const uint64_t pos = off - t->start;
        size_t k = 1;
        if (pos < 8) {
            t->head[pos] = *p;
            if (pos == 7) {
                t->len = be32(t->head);
                t->crc = crc32(0L, t->head + 4, 4);
            }
        } else if (pos < 8 + t->len) {
            const uint64_t left = 8 + t->len - pos;
            k = left < n ? (size_t)left : n;
            if (k > (1u << 30))
                k = 1u << 30;
            t->crc = crc32(t->crc, p, (uInt)k);
        } else {
            t->stored[pos - 8 - t->len] = *p;
            if (pos == 11 + t->len) {
                if (!t->bad_crc && be32(t->stored) != (t->crc & 0xffffffffUL)) {
                    t->bad_crc = true;
                    t->bad_start = t->start;
                    type_text(t->head + 4, t->bad_type);
                }
                t->done = true;
                t->next = off + 1;
            }
        }
        p += k;
        n -= k;
        off += k;
    }
}

static void read_fn(png_structp png, png_bytep data, png_size_t n)
{
    png_reader *r = png_get_io_ptr(png);
    size_t got = fread(data, 1, n, r->fp);
    for (size_t i = 0; i < got && r->offset + i < sizeof r->head; i++)
        r->head[r->offset + i] = data[i];
    track(r, data, got);
    r->offset += got;
    if (got < n) {
        if (ferror(r->fp)) {
            r->read_errno = errno != 0 ? errno : EIO;
            png_error(png, "read error");
        }
        r->eof = true;
        png_error(png, "unexpected end of file");
    }
}

/* After libpng stopped inside a chunk's data: reads the rest of the chunk (up to 64 MiB) to see
 * whether its CRC matches; true when the chunk is damaged. */
static bool chunk_damaged(png_reader *r)
{
    const chunk_track *t = &r->chunk;
    if (t->bad_crc || t->done)
        return t->bad_crc;
    if (r->offset < t->start + 8 || t->len > ((uint64_t)64 << 20))
        return false;
    unsigned char buf[4096];
    while (!t->done) {
        size_t got = fread(buf, 1, sizeof buf, r->fp);
        if (got == 0)
            return false;
        track(r, buf, got);
        r->offset += got;
    }
    return t->bad_crc;
}

/* The status and message for a libpng failure. */
static mc_status read_failure(png_reader *r)
{
    if (r->diag.nomem)
        return mc_ctx_fail(r->ctx, MC_ERR_NOMEM, "%s: out of memory while decoding the PNG image",
                           r->path);
    if (r->read_errno != 0)
        return mc_ctx_fail(r->ctx, MC_ERR_IO, "%s: read error at byte %zu: %s", r->path, r->offset,
                           strerror(r->read_errno));
    char type[5];
    type_text(r->chunk.head + 4, type);
    if (r->eof) {
        if (r->chunk.done || r->offset < r->chunk.start + 8)
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: truncated PNG: the file ends at byte %zu, inside the header "
                               "of the chunk at byte %zu",
                               r->path, r->offset, r->chunk.done ? r->chunk.next : r->chunk.start);
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: truncated PNG: the file ends at byte %zu, inside chunk %s (at byte "
                           "%zu, %llu bytes of data)",
                           r->path, r->offset, type, r->chunk.start,
                           (unsigned long long)r->chunk.len);
    }
    /* A header over the limits: libpng refuses it as "Invalid IHDR data" after a warning; say
     * which numbers were refused. */
    if (r->offset <= sizeof r->head && r->offset >= 24 && memcmp(r->head + 12, "IHDR", 4) == 0) {
        const uint32_t w = be32(r->head + 16), h = be32(r->head + 20);
        if (w > MC_PNG_MAX_SIDE || h > MC_PNG_MAX_SIDE ||
            (uint64_t)w * h > (uint64_t)MC_PNG_MAX_PIXELS)
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: the PNG header declares %lu x %lu pixels (width x height), "
                               "over the limit of %d x %d and %zu pixels; refused before "
                               "decoding",
                               r->path, (unsigned long)w, (unsigned long)h, MC_PNG_MAX_SIDE,
                               MC_PNG_MAX_SIDE, MC_PNG_MAX_PIXELS);
    }
    /* Copied: chunk_damaged may read on and overwrite libpng's words. */
    char what[520];
    const bool warned = r->diag.warning[0] != '\0';
    snprintf(what, sizeof what, "%s%s%s%s", r->diag.error, warned ? " (" : "", r->diag.warning,
             warned ? ")" : "");
    if (chunk_damaged(r))
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: corrupt PNG: chunk %s at byte %zu fails its CRC check, its data "
                           "is damaged (libpng: %s)",
                           r->path, r->chunk.bad_type, r->chunk.bad_start, what);
    return mc_ctx_fail(r->ctx, MC_ERR_FORMAT, "%s: corrupt PNG in chunk %s at byte %zu: %s",
                       r->path, type, r->chunk.start, what);
}

static const char *channel_name(int channels)
{
    return channels == 1 ? "gray" : "RGB";
}

/* Runs libpng from the signature to the end of the file, then converts into out. */
static mc_status decode(png_reader *r, const mc_image_options *o, float *out)
{
    if (setjmp(png_jmpbuf(r->png)))
        return read_failure(r);
    png_structp png = r->png;
    png_infop info = r->info;
    r->chunk.start = 8;
    png_set_read_fn(png, r, read_fn);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, MC_PNG_MAX_SIDE, MC_PNG_MAX_SIDE);
    png_set_chunk_malloc_max(png, CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(png, CHUNK_CACHE_MAX);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w == 0 || h == 0 || w > MC_PNG_MAX_SIDE || h > MC_PNG_MAX_SIDE ||
        (size_t)w * h > MC_PNG_MAX_PIXELS)
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: the PNG header declares %lu x %lu pixels (width x height), over "
                           "the limit of %d x %d and %zu pixels; refused before decoding",
                           r->path, (unsigned long)w, (unsigned long)h, MC_PNG_MAX_SIDE,
                           MC_PNG_MAX_SIDE, MC_PNG_MAX_PIXELS);
    const int color_type = png_get_color_type(png, info);
    const int src_channels = (color_type & PNG_COLOR_MASK_COLOR) != 0 ? 3 : 1;
    const int C = o->channels;

    /* Channels: equal, or converted towards the network's on request. */
    bool gray2rgb = false, rgb2gray = false;
    if (src_channels == 1 && C == 3 && o->color == MC_COLOR_GRAY2RGB)
        gray2rgb = true;
    else if (src_channels == 3 && C == 1 && o->color == MC_COLOR_RGB2GRAY)
        rgb2gray = true;
    else if (src_channels != C)
        return mc_ctx_fail(r->ctx, MC_ERR_SHAPE,
                           "%s: the image is %s (%d channel%s) but the network takes %d-channel "
                           "images; convert it with color preprocessing %s "
                           "(--color-preprocessing %s)",
                           r->path, channel_name(src_channels), src_channels,
                           src_channels == 1 ? "" : "s", C,
                           src_channels == 1 ? "gray2rgb" : "rgb2gray",
                           src_channels == 1 ? "gray2rgb" : "rgb2gray");
    if (!o->resize && ((int)h != o->height || (int)w != o->width))
        return mc_ctx_fail(r->ctx, MC_ERR_SHAPE,
                           "%s: the image is %lux%lu (height x width) but the network takes "
                           "%dx%d, and resizing is off",
                           r->path, (unsigned long)h, (unsigned long)w, o->height, o->width);

    /* 8-bit gray or RGB, whatever the file holds. */
    png_set_expand(png); /* palette -> RGB, 1/2/4-bit gray -> 8 bits, tRNS -> alpha */
    png_set_scale_16(png);
    png_set_strip_alpha(png);
    if (gray2rgb)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const int channels = png_get_channels(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels != (gray2rgb ? 3 : src_channels) ||
        rowbytes != (size_t)w * (size_t)channels)
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: libpng could not convert the image to 8-bit %s (got %d bits, %d "
                           "channels)",
                           r->path, channel_name(src_channels), png_get_bit_depth(png, info),
                           channels);
    /* not zeroed: libpng writes every row, and a hostile header over a short file then costs
     * address space, not memory */
    r->pixels = rowbytes <= SIZE_MAX / h ? mc_alloc(r->ctx, (size_t)h * rowbytes) : NULL;
    r->rows = mc__calloc(r->ctx, h, sizeof *r->rows);
    if (r->pixels == NULL || r->rows == NULL)
        return mc_ctx_fail(r->ctx, MC_ERR_NOMEM, "%s: out of memory for a %lux%lu image", r->path,
                           (unsigned long)h, (unsigned long)w);
    for (png_uint_32 y = 0; y < h; y++)
        r->rows[y] = r->pixels + (size_t)y * rowbytes;
    png_read_image(png, r->rows);
    png_read_end(png, NULL);

    /* (h, w, channels) bytes -> (C, H, W) floats; the same size is a copy (fx = fy = 0). */
    const pixels src = {NULL, r->pixels, (int)h, (int)w, channels, rgb2gray};
    resize(&src, C, out, o->height, o->width);
    return MC_OK;
}

static mc_status check_options(mc_ctx *ctx, const mc_image_options *o)
{
    if (o->height < 1 || o->width < 1 || o->height > MC_PNG_MAX_SIDE ||
        o->width > MC_PNG_MAX_SIDE || (o->channels != 1 && o->channels != 3))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "images are read at 1 to %d pixels a side with 1 (gray) or 3 (RGB) "
                           "channels, not %dx%dx%d",
                           MC_PNG_MAX_SIDE, o->height, o->width, o->channels);
    if (o->color != MC_COLOR_NONE && o->color != MC_COLOR_GRAY2RGB && o->color != MC_COLOR_RGB2GRAY)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown color preprocessing %d", (int)o->color);
    return MC_OK;
}

mc_status mc_png_read(mc_ctx *ctx, const char *path, const mc_image_options *o, float *out)
{
    mc_status st = check_options(ctx, o);
    if (st != MC_OK)
        return st;
    png_reader r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.path = path;
    errno = 0;
    r.fp = fopen(path, "rb");
    if (r.fp == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open '%s': %s", path,
                           errno != 0 ? strerror(errno) : "unknown error");
    /* The signature first, so that another kind of file gets a plain answer. */
    size_t got = fread(r.head, 1, 8, r.fp);
    r.offset = got;
    if (got < 8 && ferror(r.fp)) {
        st = mc_ctx_fail(ctx, MC_ERR_IO, "%s: read error at byte %zu: %s", path, got,
                         strerror(errno != 0 ? errno : EIO));
    } else if (got < 8 && png_sig_cmp(r.head, 0, got) == 0) {
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "%s: truncated PNG: the file ends at byte %zu, inside the signature", path,
                         got);
    } else if (got < 8 || png_sig_cmp(r.head, 0, 8) != 0) {
        char seen[40] = "";
        for (size_t i = 0, at = 0; i < got; i++)
            at += (size_t)snprintf(seen + at, sizeof seen - at, "%s%02x", i ? " " : "", r.head[i]);
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "%s: not a PNG file: it starts with %s, not the PNG signature 89 50 4e "
                         "47 0d 0a 1a 0a",
                         path, got > 0 ? seen : "nothing (the file is empty)");
    } else {
        r.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &r.diag, png_error_fn,
                                         png_warning_fn, ctx, png_alloc_fn, png_free_fn);
        if (r.png != NULL)
            r.info = png_create_info_struct(r.png);
        if (r.png == NULL || r.info == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "%s: out of memory while starting libpng", path);
        else
            st = decode(&r, o, out);
    }
    if (r.png != NULL)
        png_destroy_read_struct(&r.png, r.info != NULL ? &r.info : NULL, NULL);
    mc_free(ctx, r.pixels);
    mc_free(ctx, r.rows);
    if (fclose(r.fp) != 0 && st == MC_OK)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot close '%s': %s", path, strerror(errno));
    return st;
}

/* ---- Writing ------------------------------------------------------------------------------ */

typedef struct png_writer {
    png_diag diag; /* first: libpng's error pointer */
    mc_ctx *ctx;
    mc__bytes out; /* the encoded file */
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    png_bytep *rows;
} png_writer;

static void write_fn(png_structp png, png_bytep data, png_size_t n)
{
    png_writer *w = png_get_io_ptr(png);
    mc__put(&w->out, data, n);
    if (w->out.failed) {
        w->diag.nomem = true;
        png_error(png, "out of memory");
    }
}

static void flush_fn(png_structp png)
{
    (void)png;
}

static mc_status encode(png_writer *w, const char *path, const float *image, int C, int H, int W)
{
    if (setjmp(png_jmpbuf(w->png))) {
        if (w->diag.nomem)
            return mc_ctx_fail(w->ctx, MC_ERR_NOMEM, "%s: out of memory while encoding", path);
        return mc_ctx_fail(w->ctx, MC_ERR_INVALID, "%s: libpng refused the image: %s", path,
                           w->diag.error);
    }
    const size_t n = (size_t)H * W;
    w->pixels = mc__calloc(w->ctx, n, (size_t)C);
    w->rows = mc__calloc(w->ctx, (size_t)H, sizeof *w->rows);
    if (w->pixels == NULL || w->rows == NULL)
        return mc_ctx_fail(w->ctx, MC_ERR_NOMEM, "%s: out of memory for a %dx%d image", path, H, W);
    for (size_t p = 0; p < n; p++)
        for (int c = 0; c < C; c++) {
            const float v = image[(size_t)c * n + p];
            w->pixels[p * C + c] = (unsigned char)(v >= 255 ? 255 : v > 0 ? lrintf(v) : 0);
        }
    for (int y = 0; y < H; y++)
        w->rows[y] = w->pixels + (size_t)y * W * C;
    png_set_write_fn(w->png, w, write_fn, flush_fn);
    png_set_IHDR(w->png, w->info, (png_uint_32)W, (png_uint_32)H, 8,
                 C == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    png_write_image(w->png, w->rows);
    png_write_end(w->png, NULL);
    return MC_OK;
}

mc_status mc_png_write(mc_ctx *ctx, const char *path, const float *image, int C, int H, int W)
{
    if ((C != 1 && C != 3) || H < 1 || W < 1 || H > MC_PNG_MAX_SIDE || W > MC_PNG_MAX_SIDE)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: PNGs are written with 1 or 3 channels and 1 to %d pixels a side, "
                           "not %dx%dx%d",
                           path, MC_PNG_MAX_SIDE, H, W, C);
    png_writer w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.out.ctx = ctx;
    mc_status st = MC_OK;
    w.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &w.diag, png_error_fn, png_warning_fn,
                                      ctx, png_alloc_fn, png_free_fn);
    if (w.png != NULL)
        w.info = png_create_info_struct(w.png);
    if (w.png == NULL || w.info == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "%s: out of memory while starting libpng", path);
    else
        st = encode(&w, path, image, C, H, W);
    if (w.png != NULL)
        png_destroy_write_struct(&w.png, w.info != NULL ? &w.info : NULL);
    mc_free(ctx, w.pixels);
    mc_free(ctx, w.rows);
    if (st == MC_OK) {
        /* exported data sets are thousands of files in a folder: written whole, not synced */
        mc_atomic_file *f = NULL;
        st = mc_atomic_open(ctx, path, MC_ATOMIC_BULK, &f);
        if (st == MC_OK)
            st = mc_atomic_write(f, w.out.data, w.out.len);
        if (st == MC_OK)
            st = mc_atomic_commit(f);
        else
            mc_atomic_abort(f);
    }
    mc_free(ctx, w.out.data);
    return st;
}
