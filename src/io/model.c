/* SPDX-License-Identifier: MIT */
/* Model files: see include/minicnn/model.h for the layout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <minicnn/atomic.h>
#include <minicnn/input.h>
#include <minicnn/layers.h>
#include <minicnn/model.h>
#include <minicnn/netfile.h>

#include "../internal.h"
#include "bytes.h"
#include "model_internal.h"

#define HEADER_SIZE 40
static const unsigned char magic[8] = {'M', 'I', 'N', 'I', 'C', 'N', 'N', 0};

/* ---- Arrays: every learnable and buffer of every layer, named "layer/Name" -------------- */

typedef struct array_ref {
    const mc_layer *layer;
    const char *name;
    mc_tensor *t;
} array_ref;

/* The k-th array of the network (false past the last). */
static bool array_at(const mc_net *net, int k, array_ref *out)
{
    for (int l = 0; l < mc_net_num_layers(net); l++) {
        mc_layer *layer = mc_net_layer(net, l);
        const int np = mc_layer_num_params(layer), nb = mc_layer_num_buffers(layer);
        if (k < np) {
            mc_param *p = mc_layer_param(layer, k);
            *out = (array_ref){layer, p->name, &p->value};
            return true;
        }
        k -= np;
        if (k < nb) {
            const char *name = NULL;
            mc_tensor *t = mc_layer_buffer(layer, k, &name);
            *out = (array_ref){layer, name, t};
            return true;
        }
        k -= nb;
    }
    return false;
}

/* ---- Saving ----------------------------------------------------------------------------- */

/* Fails unless v fits a field of `size` bytes; `field` names it. */
static mc_status fits(mc_ctx *ctx, const char *path, uint64_t v, int size, const char *field)
{
    const uint64_t max = size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
    if (v <= max)
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "cannot save '%s': %s is %llu but the model file's field holds at most "
                       "%llu (%d byte%s); nothing was written",
                       path, field, (unsigned long long)v, (unsigned long long)max, size,
                       size == 1 ? "" : "s");
}

/* The k-th array's name, "layer/Name", into name[512]; fails when it does not fit (a loader
 * compares it with a name built the same way). */
static mc_status array_name(mc_ctx *ctx, const char *path, const array_ref *r, char name[512])
{
    const int n = snprintf(name, 512, "%s/%s", mc_layer_name(r->layer), r->name);
    if (n < 0 || n >= 512)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "cannot save '%s': the array name '%.60s.../%s' is %d bytes; array "
                           "names (layer/Name) hold at most 511; nothing was written",
                           path, mc_layer_name(r->layer), r->name, n);
    return MC_OK;
}

static const mc_layer *output_layer(const mc_net *net)
{
    const mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    return out;
}

/* The network part of a payload: text, arrays, class names, input statistics flag. Every
 * length is checked against its field first, so that nothing is written that cannot load. */
static mc_status put_network(mc__bytes *b, const mc_net *net, const char *path)
{
    mc_ctx *ctx = b->ctx;
    const char *source = mc_net_source(net);
    mc_status st = fits(ctx, path, strlen(source), 4, "the length of the network text");
    int count = 0;
    array_ref r;
    char name[512];
    while (array_at(net, count, &r)) {
        if (st == MC_OK)
            st = array_name(ctx, path, &r, name);
        if (st == MC_OK && r.t->shape.ndim > 255)
            st = fits(ctx, path, (uint64_t)r.t->shape.ndim, 1, "the dimension count of an array");
        for (int d = 0; st == MC_OK && d < r.t->shape.ndim; d++)
            st = fits(ctx, path, (uint64_t)r.t->shape.dims[d], 4, "an array's size");
        count++;
    }
    const mc_layer *out = output_layer(net), *in = mc_net_input_layer(net);
    const int nc = out != NULL ? mc_classification_num_classes(out) : 0;
    for (int k = 0; st == MC_OK && k < nc; k++) {
        char field[64];
        snprintf(field, sizeof field, "the length of class name %d", k + 1);
        st = fits(ctx, path, strlen(mc_classification_class_name(out, k)), 2, field);
    }
    if (st != MC_OK)
        return st;
    mc__put_u(b, strlen(source), 4);
    mc__put(b, source, strlen(source));
    mc__put_u(b, (uint64_t)count, 4);
    for (int k = 0; k < count; k++) {
        array_at(net, k, &r);
        array_name(ctx, path, &r, name);
        mc__put_u(b, strlen(name), 2);
        mc__put(b, name, strlen(name));
        mc__put_u(b, (uint64_t)r.t->shape.ndim, 1);
        for (int d = 0; d < r.t->shape.ndim; d++)
            mc__put_u(b, (uint64_t)r.t->shape.dims[d], 4);
        mc__put_floats(b, r.t->data, mc_tensor_numel(r.t));
    }
    mc__put_u(b, (uint64_t)nc, 4);
    for (int k = 0; k < nc; k++) {
        const char *c = mc_classification_class_name(out, k);
        mc__put_u(b, strlen(c), 2);
        mc__put(b, c, strlen(c));
    }
    mc__put_u(b, in != NULL && mc_input_is_fitted(in), 1);
    return MC_OK;
}

static mc_status read_file(mc_ctx *ctx, const char *path, unsigned char **out, size_t *len);

/* Reads the temporary back before it replaces anything: the same bytes, and a file that loads
 * (its header, CRCs, network text, arrays and class names). */
static mc_status verify(mc_ctx *ctx, const char *temp, const char *path, const unsigned char *head,
                        size_t head_len, const unsigned char *z, size_t zlen)
{
    unsigned char *back = NULL;
    size_t len = 0;
    mc_status st = read_file(ctx, temp, &back, &len);
    if (st == MC_OK && (len != head_len + zlen || memcmp(back, head, head_len) != 0 ||
                        memcmp(back + head_len, z, zlen) != 0))
        st = mc_ctx_fail(ctx, MC_ERR_IO,
                         "cannot save '%s': the file read back (%zu bytes) differs from what was "
                         "written (%zu bytes); the old file is kept",
                         path, len, head_len + zlen);
    mc_free(ctx, back);
    if (st != MC_OK)
        return st;
    mc_net *net = NULL;
    int kind = 0;
    unsigned char *payload = NULL;
    mc__reader rest;
    /* loading initialises a network, which draws from the RNG: the caller's draws are kept */
    const mc_rng_state rng = mc_rng_get_state(ctx);
    st = mc__model_read(ctx, temp, 1, &net, &kind, &payload, &rest);
    mc_rng_set_state(ctx, rng);
    mc_net_destroy(net);
    mc_free(ctx, payload);
    if (st != MC_OK) {
        char msg[768];
        snprintf(msg, sizeof msg, "%s", mc_ctx_message(ctx));
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "cannot save '%s': the file written does not load back (%s); the old "
                         "file is kept",
                         path, msg);
    }
    return st;
}

/* Writes head and data through the atomic writer, checks the temporary, then renames it over
 * path, or (exclusive) creates path, else path with __2, __3, ... before its extension, never
 * replacing a file. */
static mc_status write_model_file(mc_ctx *ctx, const char *path, bool exclusive,
                                  const unsigned char *head, size_t head_len,
                                  const unsigned char *data, size_t len)
{
    mc_atomic_file *f = NULL;
    mc_status st = mc_atomic_open(ctx, path, 0, &f);
    if (st == MC_OK)
        st = mc_atomic_write(f, head, head_len);
    if (st == MC_OK)
        st = mc_atomic_write(f, data, len);
    if (st == MC_OK)
        st = verify(ctx, mc_atomic_temp_path(f), path, head, head_len, data, len);
    if (st != MC_OK) {
        mc_atomic_abort(f);
        return st;
    }
    if (!exclusive)
        return mc_atomic_commit(f);
    const char *target = mc_atomic_target(f);
    const char *dot = strrchr(target, '.');
    const char *slash = strrchr(target, '/');
    const size_t stem =
        dot != NULL && (slash == NULL || dot > slash) ? (size_t)(dot - target) : strlen(target);
    char name[4200];
    snprintf(name, sizeof name, "%s", target);
    for (int k = 2;; k++) {
        st = mc_atomic_commit_new(f, name);
        if (st != MC_ERR_STATE)
            return st;
        if (k > 1000) {
            mc_atomic_abort(f);
            return mc_ctx_fail(ctx, MC_ERR_IO,
                               "cannot save '%s': it and 1000 variants of its name exist", path);
        }
        snprintf(name, sizeof name, "%.*s__%d%s", (int)stem, target, k, target + stem);
    }
}

mc_status mc__model_write(const mc_net *net, const char *path, int kind, const unsigned char *extra,
                          size_t extra_len, bool exclusive)
{
    mc_ctx *ctx = mc_net_ctx(net);
    if (!mc_net_is_assembled(net))
        return mc_ctx_fail(ctx, MC_ERR_STATE, "cannot save '%s': the network is not assembled",
                           path);
    if (mc_net_source(net) == NULL)
        return mc_ctx_fail(ctx, MC_ERR_STATE,
                           "cannot save '%s': the network was not read from a network file", path);
    mc__bytes b = {ctx, NULL, 0, 0, false};
    mc_status st = put_network(&b, net, path);
    mc__put(&b, extra, extra_len);
    if (st == MC_OK && b.failed)
        st = mc__nomem(ctx, "saving a network");
    /* the loader's bound, and crc32's 32-bit length */
    if (st == MC_OK)
        st = fits(ctx, path, b.len, 4, "the length of the payload");
    if (st != MC_OK) {
        mc_free(ctx, b.data);
        return st;
    }
    uLongf zlen = compressBound((uLong)b.len);
    unsigned char *z = mc_alloc(ctx, zlen);
    if (z == NULL || compress2(z, &zlen, b.data, (uLong)b.len, 6) != Z_OK) {
        mc_free(ctx, z);
        mc_free(ctx, b.data);
        return mc__nomem(ctx, "compressing a network");
    }
    mc__bytes h = {ctx, NULL, 0, 0, false};
    mc__put(&h, magic, 8);
    mc__put_u(&h, MC_MODEL_VERSION, 4);
    mc__put_u(&h, (uint64_t)kind, 4);
    mc__put_u(&h, zlen, 8);
    mc__put_u(&h, b.len, 8);
    mc__put_u(&h, crc32(0L, b.data, (uInt)b.len), 4);
    if (!h.failed)
        mc__put_u(&h, crc32(0L, h.data, 36), 4);
    st = h.failed ? mc__nomem(ctx, "saving a network")
                  : write_model_file(ctx, path, exclusive, h.data, h.len, z, zlen);
    mc_free(ctx, h.data);
    mc_free(ctx, z);
    mc_free(ctx, b.data);
    return st;
}

mc_status mc_model_save(const mc_net *net, const char *path)
{
    return mc__model_write(net, path, MC__KIND_NETWORK, NULL, 0, false);
}

/* ---- Loading ---------------------------------------------------------------------------- */

/* Fills the network's arrays from the payload, which must hold exactly them. */
static mc_status read_arrays(mc__reader *r, mc_net *net)
{
    uint64_t count = 0;
    mc_status st = mc__take_u(r, 4, &count, "the array count");
    int have = 0;
    array_ref ref;
    while (array_at(net, have, &ref))
        have++;
    if (st == MC_OK && count != (uint64_t)have)
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                           "%s: the file holds %llu arrays but its network has %d; the file is "
                           "corrupt",
                           r->path, (unsigned long long)count, have);
    for (int k = 0; st == MC_OK && k < have; k++) {
        array_at(net, k, &ref);
        uint64_t n = 0, ndim = 0, d = 0;
        const unsigned char *name = NULL, *data = NULL;
        st = mc__take_u(r, 2, &n, "an array name's length");
        if (st == MC_OK)
            st = mc__take(r, n, &name, "an array name");
        if (st == MC_OK)
            st = mc__take_u(r, 1, &ndim, "an array's dimensions");
        char want[512];
        snprintf(want, sizeof want, "%s/%s", mc_layer_name(ref.layer), ref.name);
        if (st == MC_OK && (strlen(want) != n || memcmp(want, name, n) != 0))
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: array %d is '%.*s' but the network's is '%s'", r->path, k + 1,
                               (int)(n > 200 ? 200 : n), (const char *)name, want);
        if (st == MC_OK && ndim != (uint64_t)ref.t->shape.ndim)
            return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                               "%s: '%s' has %llu dimensions in the file, %d in the network",
                               r->path, want, (unsigned long long)ndim, ref.t->shape.ndim);
        for (int i = 0; st == MC_OK && i < ref.t->shape.ndim; i++) {
            st = mc__take_u(r, 4, &d, "an array's size");
            if (st == MC_OK && d != (uint64_t)ref.t->shape.dims[i])
                return mc_ctx_fail(r->ctx, MC_ERR_FORMAT,
                                   "%s: '%s' has size %llu in dimension %d in the file but %d in "
                                   "the network",
                                   r->path, want, (unsigned long long)d, i + 1,
                                   ref.t->shape.dims[i]);
        }
        const size_t numel = mc_tensor_numel(ref.t);
        if (st == MC_OK)
            st = mc__take(r, 4 * numel, &data, "array values");
        for (size_t i = 0; st == MC_OK && i < numel; i++) {
            uint32_t u = (uint32_t)mc__get_le(data + 4 * i, 4);
            memcpy(&ref.t->data[i], &u, 4);
        }
    }
    return st;
}

static mc_status read_classes(mc__reader *r, mc_net *net)
{
    uint64_t count = 0, n = 0;
    mc_status st = mc__take_u(r, 4, &count, "the class count");
    if (st != MC_OK || count == 0)
        return st;
    if (count != (uint64_t)mc_net_num_classes(net))
        return mc_ctx_fail(r->ctx, MC_ERR_FORMAT, "%s: %llu class names for %d classes", r->path,
                           (unsigned long long)count, mc_net_num_classes(net));
    char **names = mc__calloc(r->ctx, (size_t)count, sizeof *names);
    if (names == NULL)
        return mc__nomem(r->ctx, "reading class names");
    for (uint64_t k = 0; st == MC_OK && k < count; k++) {
        const unsigned char *s = NULL;
        st = mc__take_u(r, 2, &n, "a class name's length");
        if (st == MC_OK)
            st = mc__take(r, n, &s, "a class name");
        if (st == MC_OK && (names[k] = mc_alloc(r->ctx, n + 1)) == NULL)
            st = mc__nomem(r->ctx, "reading class names");
        if (st == MC_OK) {
            memcpy(names[k], s, n);
            names[k][n] = '\0';
        }
    }
    mc_layer *out = NULL;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        if (mc_net_layer(net, l)->vt->role == MC_ROLE_OUTPUT)
            out = mc_net_layer(net, l);
    if (st == MC_OK)
        st = mc_classification_set_classes(out, (const char *const *)names, (int)count);
    for (uint64_t k = 0; k < count; k++)
        mc_free(r->ctx, names[k]);
    mc_free(r->ctx, names);
    return st;
}

/* Reads the whole file into memory (model files are small). */
static mc_status read_file(mc_ctx *ctx, const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open model file '%s': %s", path,
                           strerror(errno));
    mc__bytes b = {ctx, NULL, 0, 0, false};
    unsigned char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0 && !b.failed)
        mc__put(&b, buf, k);
    const int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err != 0 || b.failed) {
        mc_free(ctx, b.data);
        return err != 0 ? mc_ctx_fail(ctx, MC_ERR_IO, "cannot read model file '%s': %s", path,
                                      strerror(err))
                        : mc__nomem(ctx, "reading a model file");
    }
    *out = b.data;
    *len = b.len;
    return MC_OK;
}

static mc_status check_header(mc_ctx *ctx, const char *path, const unsigned char *f, size_t len,
                              int *kind_out, uint64_t *zlen, uint64_t *plen, uint32_t *crc)
{
    if (len < HEADER_SIZE || memcmp(f, magic, 8) != 0)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           len < HEADER_SIZE && len >= 8 && memcmp(f, magic, 8) == 0
                               ? "%s: truncated model file: %zu bytes, shorter than its 40-byte "
                                 "header"
                               : "%s: not a minicnn model file (%zu bytes; no MINICNN magic at "
                                 "byte 0)",
                           path, len);
    const uint64_t version = mc__get_le(f + 8, 4), kind = mc__get_le(f + 12, 4);
    if ((uint32_t)crc32(0L, f, 36) != (uint32_t)mc__get_le(f + 36, 4))
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: corrupt model file: the header's CRC-32 "
                           "does not match",
                           path);
    if (version > MC_MODEL_VERSION || version == 0)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: model file format version %llu; this minicnn reads version %d "
                           "(a newer minicnn wrote it?)",
                           path, (unsigned long long)version, MC_MODEL_VERSION);
    if (kind != MC__KIND_NETWORK && kind != MC__KIND_CHECKPOINT)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: holds a file of kind %llu, neither a trained network (1) nor a "
                           "checkpoint (2)",
                           path, (unsigned long long)kind);
    *kind_out = (int)kind;
    *zlen = mc__get_le(f + 16, 8);
    *plen = mc__get_le(f + 24, 8);
    *crc = (uint32_t)mc__get_le(f + 32, 4);
    if (*zlen != len - HEADER_SIZE)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: %s model file: the header announces %llu bytes of payload, the "
                           "file holds %zu",
                           path, *zlen > len - HEADER_SIZE ? "truncated" : "corrupt",
                           (unsigned long long)*zlen, len - HEADER_SIZE);
    if (*plen > ((uint64_t)1 << 32) || *plen > 1032 * *zlen + 1024)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: corrupt model file: a payload of %llu bytes "
                           "cannot come from %llu compressed bytes",
                           path, (unsigned long long)*plen, (unsigned long long)*zlen);
    return MC_OK;
}

mc_status mc__model_read(mc_ctx *ctx, const char *path, int max_batch, mc_net **out, int *kind,
                         unsigned char **payload_out, mc__reader *rest)
{
    *out = NULL;
    *payload_out = NULL;
    unsigned char *file = NULL, *payload = NULL;
    size_t len = 0;
    uint64_t zlen = 0, plen = 0;
    uint32_t crc = 0;
    mc_status st = read_file(ctx, path, &file, &len);
    if (st == MC_OK)
        st = check_header(ctx, path, file, len, kind, &zlen, &plen, &crc);
    if (st == MC_OK && (payload = mc_alloc(ctx, (size_t)plen + 1)) == NULL)
        st = mc__nomem(ctx, "reading a model file");
    if (st == MC_OK) {
        uLongf got = (uLongf)plen;
        int zr = uncompress(payload, &got, file + HEADER_SIZE, (uLong)zlen);
        if (zr != Z_OK || got != plen)
            st = mc_ctx_fail(ctx, zr == Z_MEM_ERROR ? MC_ERR_NOMEM : MC_ERR_FORMAT,
                             "%s: corrupt model file: the compressed payload %s", path,
                             zr == Z_OK ? "has the wrong length" : zError(zr));
        else if ((uint32_t)crc32(0L, payload, (uInt)plen) != crc)
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "%s: corrupt model file: the payload's CRC-32 does not match", path);
    }
    mc__reader r = {ctx, path, payload, (size_t)plen, 0};
    mc_net *net = NULL;
    uint64_t n = 0;
    const unsigned char *text = NULL, *fitted = NULL;
    if (st == MC_OK)
        st = mc__take_u(&r, 4, &n, "the network text's length");
    if (st == MC_OK)
        st = mc__take(&r, n, &text, "the network text");
    if (st == MC_OK) {
        st = mc_netfile_parse(ctx, (const char *)text, n, path, &net, NULL);
        if (st == MC_OK)
            st = mc_net_assemble(net, max_batch);
        if (st != MC_OK && st != MC_ERR_NOMEM) {
            char msg[768];
            snprintf(msg, sizeof msg, "%s", mc_ctx_message(ctx));
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: the network in the file is invalid: %s", path,
                             msg);
        }
    }
    if (st == MC_OK)
        st = read_arrays(&r, net);
    if (st == MC_OK)
        st = read_classes(&r, net);
    if (st == MC_OK)
        st = mc__take(&r, 1, &fitted, "the input statistics flag");
    if (st == MC_OK && mc_net_input_layer(net) != NULL)
        mc_input_set_fitted(mc_net_input_layer(net), fitted[0] != 0);
    mc_free(ctx, file);
    if (st != MC_OK) {
        mc_net_destroy(net);
        mc_free(ctx, payload);
        return st;
    }
    *out = net;
    *payload_out = payload;
    *rest = r;
    return MC_OK;
}

mc_status mc_model_load(mc_ctx *ctx, const char *path, int max_batch, mc_net **out)
{
    int kind = 0;
    unsigned char *payload = NULL;
    mc__reader rest;
    mc_status st = mc__model_read(ctx, path, max_batch, out, &kind, &payload, &rest);
    /* A checkpoint's training state follows its network; a model file ends there. */
    if (st == MC_OK && kind == MC__KIND_NETWORK && rest.at != rest.len)
        st = mc__corrupt(&rest, "unexpected bytes after the data");
    mc_free(ctx, payload);
    if (st != MC_OK) {
        mc_net_destroy(*out);
        *out = NULL;
    }
    return st;
}
