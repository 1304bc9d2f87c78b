/* SPDX-License-Identifier: MIT */
/* IDX files (the MNIST format), read through zlib so that .gz and raw files both work. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include <minicnn/data.h>

#include "../internal.h"
#include "idx_internal.h"

/* Elements beyond this are refused before anything is allocated (8 GiB of floats). */
#define MAX_ELEMENTS ((size_t)1 << 31)

/* Deflate's largest expansion: a 258-byte match coded in 2 bits is 1032 bytes out per byte in.
 * What a member still holds inside zlib (a partly written match, the bit buffer) is less than
 * the slack. */
#define DEFLATE_MAX_RATIO 1032u
#define DEFLATE_SLACK 1024u

/* A file read as raw IDX bytes or, when it starts with gzip's magic 1f 8b, inflated with zlib:
 * every member's trailer (CRC-32 and length) is checked by inflate, members that follow one
 * another are read as one stream (RFC 1952), and bytes after the last member that are not a
 * member are an error. zlib's gzread would also read members, but it silently stops at
 * anything after a member that is not one, cannot say where in the file it is, and reads a
 * file that is not gzip as raw data without saying so; inflate on our own buffer does all
 * three, and takes its memory from the context's allocator. */
typedef struct reader {
    mc_ctx *ctx;
    const char *path;
    FILE *f;
    bool sized;         /* a regular file whose size is known */
    uint64_t file_size; /* bytes, when sized */
    bool gz, z_live, member_end, eof;
    int members;
    z_stream z;       /* next_in / avail_in: the unread part of `in`, for raw files too */
    uint64_t read_in; /* bytes read from the file into `in` so far */
    size_t offset;    /* bytes of IDX data delivered so far (decompressed) */
    unsigned char in[1 << 16];
} reader;

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    return mc__calloc(opaque, items, size);
}

static void z_free(void *opaque, void *p)
{
    mc_free(opaque, p);
}

/* Where the next unread byte of the file is. */
static uint64_t file_pos(const reader *r)
{
    return r->read_in - r->z.avail_in;
}

/* Reads more of the file after what is still unread in `in`. */
static mc_status fill(reader *r)
{
    if (r->eof)
        return MC_OK;
    if (r->z.avail_in > 0 && r->z.next_in != r->in)
        memmove(r->in, r->z.next_in, r->z.avail_in);
    r->z.next_in = r->in;
    const size_t want = sizeof r->in - r->z.avail_in;
    const size_t got = fread(r->in + r->z.avail_in, 1, want, r->f);
    if (got < want) {
        if (ferror(r->f))
            return mc_ctx_fail(r->ctx, MC_ERR_IO, "%s: read error at byte %llu: %s", r->path,
                               (unsigned long long)(r->read_in + got), strerror(errno));
        r->eof = true;
    }
    r->z.avail_in += (unsigned)got;
    r->read_in += got;
    return MC_OK;
}

/* At least k unread bytes in `in`, unless the file ends first. */
static mc_status ensure(reader *r, unsigned k)
{
    mc_status st = MC_OK;
    while (st == MC_OK && r->z.avail_in < k && !r->eof)
        st = fill(r);
    return st;
}

static mc_status reader_open(mc_ctx *ctx, const char *path, reader *r)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->path = path;
    errno = 0;
    r->f = fopen(path, "rb");
    if (r->f == NULL)
        return mc_ctx_fail(ctx, errno ? MC_ERR_IO : MC_ERR_NOMEM, "cannot open '%s': %s", path,
                           errno ? strerror(errno) : "out of memory");
    struct stat sb;
    if (fstat(fileno(r->f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        r->sized = true;
        r->file_size = (uint64_t)sb.st_size;
    }
    r->z.next_in = r->in;
    mc_status st = ensure(r, 2);
    if (st != MC_OK)
        return st;
    r->gz = r->z.avail_in >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
    if (r->gz) {
        r->z.zalloc = z_alloc;
        r->z.zfree = z_free;
        r->z.opaque = ctx;
        int rc = inflateInit2(&r->z, 16 + MAX_WBITS); /* gzip wrapper only */
        if (rc != Z_OK)
            return rc == Z_MEM_ERROR
                       ? mc__nomem(ctx, "starting to inflate a gzip file")
                       : mc_ctx_fail(ctx, MC_ERR_IO, "%s: zlib cannot start: %s", path, zError(rc));
        r->z_live = true;
    }
    return MC_OK;
}

static void reader_close(reader *r)
{
    if (r->z_live)
        inflateEnd(&r->z);
    if (r->f != NULL)
        fclose(r->f);
    r->z_live = false;
    r->f = NULL;
}

/* Up to n bytes of data into buf; *got 0 only at the end of the data. */
static mc_status read_some(reader *r, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    if (n > (1u << 30))
        n = 1u << 30;
    mc_status st = MC_OK;
    if (!r->gz) {
        if (r->z.avail_in == 0)
            st = fill(r);
        size_t k = r->z.avail_in < n ? r->z.avail_in : n;
        memcpy(buf, r->z.next_in, k);
        r->z.next_in += k;
        r->z.avail_in -= (unsigned)k;
        *got = k;
        return st;
    }
    while (st == MC_OK && *got == 0) {
        if (r->member_end) {
            st = ensure(r, 2);
            if (st != MC_OK || r->z.avail_in == 0)
                return st; /* the end of the last member is the end of the data */
            if (r->z.avail_in < 2 || r->z.next_in[0] != 0x1f || r->z.next_in[1] != 0x8b) {
                const uint64_t at = file_pos(r);
                char rest[48] = "";
                if (r->sized && r->file_size > at)
                    snprintf(rest, sizeof rest, " (%llu bytes)",
                             (unsigned long long)(r->file_size - at));
                return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                                   "%s: the gzip data ends at byte %llu of the file, after %d "
                                   "member%s, but the file goes on with bytes that are not "
                                   "another gzip member%s; the file is damaged",
                                   r->path, (unsigned long long)at, r->members,
                                   r->members == 1 ? "" : "s", rest);
            }
            inflateReset(&r->z); /* another member: RFC 1952 reads them as one stream */
            r->member_end = false;
        }
        if (r->z.avail_in == 0 && (st = fill(r)) != MC_OK)
            return st;
        const bool no_input = r->z.avail_in == 0;
        r->z.next_out = buf;
        r->z.avail_out = (unsigned)n;
        const int rc = inflate(&r->z, Z_NO_FLUSH);
        *got = n - r->z.avail_out;
        if (rc == Z_STREAM_END) {
            r->member_end = true; /* inflate has checked its CRC-32 and length */
            r->members++;
        } else if (rc == Z_MEM_ERROR) {
            return mc__nomem(r->ctx, "inflating a gzip file");
        } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
            const char *msg = r->z.msg != NULL ? r->z.msg : "corrupt compressed data";
            const bool trailer = strstr(msg, "check") != NULL;
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: corrupt gzip data near byte %llu of the file (%zu bytes "
                               "decompressed): %s%s",
                               r->path, (unsigned long long)file_pos(r), r->offset + *got, msg,
                               trailer ? " (the member's trailer does not match its data)" : "");
        } else if (*got == 0 && no_input && r->eof) {
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: truncated: the file ends at byte %llu inside gzip member "
                               "%d, before its end and its trailer (CRC-32 and length), after "
                               "%zu bytes of decompressed data",
                               r->path, (unsigned long long)file_pos(r), r->members + 1, r->offset);
        }
    }
    return st;
}

/* Reads exactly n bytes or explains why not. `what` names what was being read. */
static mc_status read_exact(reader *r, void *buf, size_t n, const char *what)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        size_t k = 0;
        mc_status st = read_some(r, p + got, n - got, &k);
        if (st != MC_OK)
            return st;
        if (k == 0)
            break;
        got += k;
    }
    if (got < n)
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: truncated: the file ends at byte %zu%s while reading %s (%zu "
                           "more bytes expected)",
                           r->path, r->offset + got, r->gz ? " of the decompressed data" : "", what,
                           n - got);
    r->offset += n;
    return MC_OK;
}

/* The data must end where the header says: nothing after it but the gzip trailers. */
static mc_status read_end(reader *r, size_t bytes)
{
    unsigned char extra[16];
    size_t k = 0;
    mc_status st = read_some(r, extra, sizeof extra, &k);
    if (st == MC_OK && k > 0)
        st = mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                         "%s: %zu bytes of data end at byte %zu, but the file goes on; the "
                         "header's dimensions do not match the file",
                         r->path, bytes, r->offset);
    return st;
}

static size_t type_size(int type)
{
    switch (type) {
    case 0x08:
    case 0x09:
        return 1;
    case 0x0B:
        return 2;
    case 0x0C:
    case 0x0D:
        return 4;
    case 0x0E:
        return 8;
    default:
        return 0;
    }
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Converts n big-endian elements of `type` from raw to float. */
static void convert(int type, const unsigned char *raw, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = raw + i * type_size(type);
        switch (type) {
        case 0x08:
            out[i] = (float)b[0];
            break;
        case 0x09:
            out[i] = (float)(int8_t)b[0];
            break;
        case 0x0B:
            out[i] = (float)(int16_t)(uint16_t)((unsigned)b[0] << 8 | b[1]);
            break;
        case 0x0C:
            out[i] = (float)(int32_t)be32(b);
            break;
        case 0x0D: {
            uint32_t u = be32(b);
            float f;
            memcpy(&f, &u, sizeof f);
            out[i] = f;
            break;
        }
        default: {
            uint64_t u = (uint64_t)be32(b) << 32 | be32(b + 4);
            double d;
            memcpy(&d, &u, sizeof d);
            out[i] = (float)d;
            break;
        }
        }
    }
}

/* The magic number and the dimensions, checked; then that the rest of the file can hold the
 * data they promise, before anything is allocated for it. */
static mc_status read_header(reader *r, mc_idx *out)
{
    mc_ctx *ctx = r->ctx;
    unsigned char head[4];
    mc_status st = read_exact(r, head, 4, "the magic number");
    if (st != MC_OK)
        return st;
    if (head[0] != 0 || head[1] != 0 || type_size(head[2]) == 0 || head[3] < 1 ||
        head[3] > MC_MAX_DIMS)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: not an IDX file: the magic number at byte 0 is %02x %02x %02x "
                           "%02x; expected 00 00, a type (08, 09, 0b, 0c, 0d or 0e) and 1 to %d "
                           "dimensions",
                           r->path, head[0], head[1], head[2], head[3], MC_MAX_DIMS);
    out->type = head[2];
    out->ndim = head[3];
    unsigned char dims[4 * MC_MAX_DIMS];
    st = read_exact(r, dims, 4 * (size_t)out->ndim, "the dimensions");
    if (st != MC_OK)
        return st;
    size_t count = 1;
    for (int d = 0; d < out->ndim; d++) {
        uint32_t v = be32(dims + 4 * d);
        if (v == 0 || v > 0x7fffffffu)
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: dimension %d (at byte %d) is %u; expected 1 to 2147483647",
                               r->path, d + 1, 4 + 4 * d, v);
        if (count > MAX_ELEMENTS / v)
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: the dimensions multiply to more than %zu elements; the "
                               "header is corrupt or the data set is too large",
                               r->path, MAX_ELEMENTS);
        count *= v;
        out->dims[d] = (int)v;
    }
    out->count = count;
    if (!r->sized)
        return MC_OK;
    /* What the rest of the file can hold: its bytes, or for gzip data deflate's largest
     * expansion of them. */
    const uint64_t bytes = (uint64_t)count * type_size(out->type),
                   left = r->file_size - file_pos(r);
    const uint64_t can = r->gz ? left * DEFLATE_MAX_RATIO + DEFLATE_SLACK : left;
    if (bytes > can) {
        if (!r->gz)
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: truncated: the file ends at byte %llu while reading the "
                               "data (%llu bytes from byte %zu, as its header says)",
                               r->path, (unsigned long long)r->file_size, (unsigned long long)bytes,
                               r->offset);
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: truncated or corrupt: the header promises %llu bytes of data, "
                           "but the %llu compressed bytes after it can hold at most %llu "
                           "(deflate expands at most %u to 1)",
                           r->path, (unsigned long long)bytes, (unsigned long long)left,
                           (unsigned long long)can, DEFLATE_MAX_RATIO);
    }
    return MC_OK;
}

/* The data after a header read by read_header, and the end of the file. */
static mc_status read_data(reader *r, mc_idx *out, bool checked)
{
    mc_ctx *ctx = r->ctx;
    const size_t count = out->count, bytes = count * type_size(out->type);
    /* The buffer grows with the data actually read, so a header that promises more than the
     * file holds fails at the truncation without allocating what it promised. A raw file's
     * size was checked against the header, and so was a header against another file's (the
     * labels'): their buffers are allocated at once, without the copies of growing. */
    size_t cap = !r->gz || checked || count < ((size_t)1 << 20) ? count : (size_t)1 << 20;
    out->values = mc__calloc(ctx, cap, sizeof(float));
    if (out->values == NULL)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM,
                           "%s: out of memory while reading the data: %zu bytes for %zu values "
                           "could not be allocated",
                           r->path, cap * sizeof(float), cap);
    unsigned char block[1 << 16];
    const size_t per = sizeof block / type_size(out->type);
    char what[96];
    snprintf(what, sizeof what, "the data (%zu bytes from byte %zu)", bytes,
             (size_t)4 + 4 * (size_t)out->ndim);
    for (size_t done = 0; done < count;) {
        size_t n = count - done < per ? count - done : per;
        mc_status st = read_exact(r, block, n * type_size(out->type), what);
        if (st != MC_OK)
            return st;
        if (done + n > cap) {
            size_t grown = cap * 2 < count ? cap * 2 : count;
            float *v = mc_alloc(ctx, grown * sizeof(float));
            if (v == NULL)
                return mc_ctx_fail(ctx, MC_ERR_NOMEM,
                                   "%s: out of memory while reading the data: %zu bytes for "
                                   "%zu values could not be allocated",
                                   r->path, grown * sizeof(float), grown);
            memcpy(v, out->values, done * sizeof(float));
            mc_free(ctx, out->values);
            out->values = v;
            cap = grown;
        }
        convert(out->type, block, out->values + done, n);
        done += n;
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(out->values[i]))
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: element %zu (at byte %zu) is %g; "
                               "expected finite numbers",
                               r->path, i + 1, 4 + 4 * (size_t)out->ndim + i * type_size(out->type),
                               (double)out->values[i]);
    return read_end(r, bytes);
}

/* An IDX file being read: its header first, its data when the caller has checked the header. */
struct mc__idx_file {
    reader r;
};

mc_status mc__idx_open(mc_ctx *ctx, const char *path, mc__idx_file **out, mc_idx *header)
{
    memset(header, 0, sizeof *header);
    *out = mc_alloc(ctx, sizeof **out);
    if (*out == NULL)
        return mc__nomem(ctx, "opening an IDX file");
    mc_status st = reader_open(ctx, path, &(*out)->r);
    if (st == MC_OK)
        st = read_header(&(*out)->r, header);
    if (st != MC_OK) {
        mc__idx_close(*out);
        *out = NULL;
    }
    return st;
}

mc_status mc__idx_read_data(mc__idx_file *f, mc_idx *idx, bool checked)
{
    mc_status st = read_data(&f->r, idx, checked);
    if (st != MC_OK) {
        mc_free(f->r.ctx, idx->values);
        idx->values = NULL;
    }
    return st;
}

void mc__idx_close(mc__idx_file *f)
{
    if (f == NULL)
        return;
    reader_close(&f->r);
    mc_free(f->r.ctx, f);
}

mc_status mc_idx_read_header(mc_ctx *ctx, const char *path, mc_idx *out)
{
    mc__idx_file *f = NULL;
    mc_status st = mc__idx_open(ctx, path, &f, out);
    mc__idx_close(f);
    return st;
}

mc_status mc_idx_read(mc_ctx *ctx, const char *path, mc_idx *out)
{
    mc__idx_file *f = NULL;
    mc_status st = mc__idx_open(ctx, path, &f, out);
    if (st == MC_OK)
        st = mc__idx_read_data(f, out, false);
    mc__idx_close(f);
    if (st != MC_OK)
        mc_idx_release(ctx, out);
    return st;
}

void mc_idx_release(mc_ctx *ctx, mc_idx *idx)
{
    mc_free(ctx, idx->values);
    memset(idx, 0, sizeof *idx);
}
