/* IDX files (the MNIST format), read through zlib so that .gz and raw files both work. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include <minicnn/data.h>

#include "../internal.h"

/* Elements beyond this are refused before anything is allocated (8 GiB of floats). */
#define MAX_ELEMENTS ((size_t)1 << 31)

typedef struct reader {
    mc_ctx *ctx;
    const char *path;
    gzFile gz;
    size_t offset; /* bytes read so far (decompressed) */
} reader;

/* Reads exactly n bytes or explains why not. `what` names what was being read. */
static mc_status read_exact(reader *r, void *buf, size_t n, const char *what)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
        int k = gzread(r->gz, p + got, chunk);
        if (k < 0) {
            int errnum = 0;
            const char *msg = gzerror(r->gz, &errnum);
            if (errnum == Z_ERRNO)
                return mc_ctx_fail(r->ctx, MC_ERR_IO, "%s: read error at byte %zu: %s", r->path,
                                   r->offset + got, strerror(errno));
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: corrupt gzip data at byte %zu of the decompressed data "
                               "while reading %s: %s",
                               r->path, r->offset + got, what, msg);
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    if (got < n) {
        int errnum = 0;
        const char *msg = gzerror(r->gz, &errnum);
        const char *why = errnum != Z_OK && errnum != Z_STREAM_END ? msg : NULL;
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: truncated: the file ends at byte %zu while reading %s (%zu more "
                           "bytes expected)%s%s",
                           r->path, r->offset + got, what, n - got, why ? ": " : "",
                           why ? why : "");
    }
    r->offset += n;
    return MC_OK;
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

static mc_status read_body(reader *r, mc_idx *out)
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
    const size_t bytes = count * type_size(out->type);
    /* The buffer grows with the data actually read, so a header that promises more than the
     * file holds fails at the truncation without allocating what it promised. */
    size_t cap = count < ((size_t)1 << 20) ? count : (size_t)1 << 20;
    out->values = mc_alloc(ctx, cap * sizeof(float));
    if (out->values == NULL)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "%s: out of memory for %zu values", r->path, cap);
    unsigned char block[1 << 16];
    const size_t per = sizeof block / type_size(out->type);
    for (size_t done = 0; done < count;) {
        size_t n = count - done < per ? count - done : per;
        char what[96];
        snprintf(what, sizeof what, "the data (%zu bytes from byte %zu)", bytes,
                 (size_t)4 + 4 * (size_t)out->ndim);
        st = read_exact(r, block, n * type_size(out->type), what);
        if (st != MC_OK)
            return st;
        if (done + n > cap) {
            size_t grown = cap * 2 < count ? cap * 2 : count;
            float *v = mc_alloc(ctx, grown * sizeof(float));
            if (v == NULL)
                return mc_ctx_fail(ctx, MC_ERR_NOMEM, "%s: out of memory for %zu values",
                                   r->path, grown);
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
            return mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: element %zu (at byte %zu) is %g; "
                                                   "expected finite numbers",
                               r->path, i + 1, 4 + 4 * (size_t)out->ndim + i * type_size(out->type),
                               (double)out->values[i]);
    unsigned char extra;
    int k = gzread(r->gz, &extra, 1);
    if (k > 0)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: %zu bytes of data end at byte %zu, but the file goes on; the "
                           "header's dimensions do not match the file",
                           r->path, bytes, r->offset);
    if (k < 0) {
        int errnum = 0;
        const char *msg = gzerror(r->gz, &errnum);
        return mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: corrupt gzip data after byte %zu: %s",
                           r->path, r->offset, msg);
    }
    return MC_OK;
}

mc_status mc_idx_read(mc_ctx *ctx, const char *path, mc_idx *out)
{
    memset(out, 0, sizeof *out);
    errno = 0;
    reader r = {ctx, path, gzopen(path, "rb"), 0};
    if (r.gz == NULL)
        return mc_ctx_fail(ctx, errno ? MC_ERR_IO : MC_ERR_NOMEM, "cannot open '%s': %s", path,
                           errno ? strerror(errno) : "out of memory");
    mc_status st = read_body(&r, out);
    int rc = gzclose(r.gz);
    if (st == MC_OK && rc != Z_OK)
        st = mc_ctx_fail(ctx, rc == Z_BUF_ERROR ? MC_ERR_FORMAT : MC_ERR_IO,
                         "%s: the gzip stream does not end properly (%s)", path,
                         rc == Z_BUF_ERROR ? "truncated" : "read error");
    if (st != MC_OK)
        mc_idx_release(ctx, out);
    return st;
}

void mc_idx_release(mc_ctx *ctx, mc_idx *idx)
{
    mc_free(ctx, idx->values);
    memset(idx, 0, sizeof *idx);
}
