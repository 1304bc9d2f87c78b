/* SPDX-License-Identifier: MIT */
/* Data augmentation: MATLAB's imageDataAugmenter. Three parts: the kernel (one affine warp of
 * one image), the random transformation of an observation, and the augmenter object with its
 * options, validation and MATLAB-syntax parser. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <minicnn/augment.h>

#include "internal.h"
#include "io/netfile_internal.h"
#include "parallel.h"

/* ---- The kernel --------------------------------------------------------------------------- */

/* x(px, py) of one channel, or fill outside the image. */
static inline double pixel(const float *x, int H, int W, long px, long py, double fill)
{
    if (px < 0 || py < 0 || px >= W || py >= H)
        return fill;
    return x[(size_t)py * (size_t)W + (size_t)px];
}

/* x, y: (C, H, W); fill: (C) */
void mc_augment_warp(const double t[6], const float *fill, const float *x, float *y, int C, int H,
                     int W)
{
    /* [u v] = [x y] * [a b; c d] + [e f]  =>  [x y] = ([u v] - [e f]) * inverse */
    const double a = t[0], b = t[1], c = t[2], d = t[3], e = t[4], f = t[5];
    const double det = a * d - b * c;
    const double ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
    const size_t plane = (size_t)H * (size_t)W;
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            const double p = u - e, q = v - f;
            const double sx = p * ia + q * ic, sy = p * ib + q * id;
            float *out = y + (size_t)v * W + u;
            /* far outside: the fill value (also keeps the casts below in range) */
            if (!(sx > -1.0 && sy > -1.0 && sx < W && sy < H)) {
                for (int ch = 0; ch < C; ch++)
                    out[(size_t)ch * plane] = fill[ch];
                continue;
            }
            /* floor, for values above -1 */
            long x0 = (long)(sx + 1.0) - 1, y0 = (long)(sy + 1.0) - 1;
            x0 -= (double)x0 > sx;
            y0 -= (double)y0 > sy;
            const double wx = sx - (double)x0, wy = sy - (double)y0;
            /* a weight of 0 leaves the neighbour out, so that integer shifts are exact */
            const bool inside = x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H;
            const size_t at = (size_t)(inside ? y0 * W + x0 : 0);
            for (int ch = 0; ch < C; ch++) {
                const float *xc = x + (size_t)ch * plane;
                const double fv = fill[ch];
                double top, bottom = 0.0;
                if (inside) {
                    top = xc[at];
                    if (wy != 0.0)
                        bottom = xc[at + W];
                    if (wx != 0.0) {
                        top = (1.0 - wx) * top + wx * xc[at + 1];
                        if (wy != 0.0)
                            bottom = (1.0 - wx) * bottom + wx * xc[at + W + 1];
                    }
                } else {
                    top = pixel(xc, H, W, x0, y0, fv);
                    if (wy != 0.0)
                        bottom = pixel(xc, H, W, x0, y0 + 1, fv);
                    if (wx != 0.0) {
                        top = (1.0 - wx) * top + wx * pixel(xc, H, W, x0 + 1, y0, fv);
                        if (wy != 0.0)
                            bottom = (1.0 - wx) * bottom + wx * pixel(xc, H, W, x0 + 1, y0 + 1, fv);
                    }
                }
                out[(size_t)ch * plane] = (float)(wy != 0.0 ? (1.0 - wy) * top + wy * bottom : top);
            }
        }
}

/* ---- The random transformation ------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * 0x1.0p-53;
}

static double draw(uint64_t *s, const double range[2])
{
    return (range[1] - range[0]) * uniform(s) + range[0];
}

/* Sine and cosine of degrees, exact at multiples of 90 (as MATLAB's sind and cosd). */
static void sincosd(double deg, double *sn, double *cs)
{
    const double r = fmod(deg, 360.0);
    if (r == floor(r) && fmod(r, 90.0) == 0.0) {
        const int q = ((int)(r / 90.0) % 4 + 4) % 4;
        static const double s4[4] = {0, 1, 0, -1}, c4[4] = {1, 0, -1, 0};
        *sn = s4[q];
        *cs = c4[q];
        return;
    }
    const double rad = r * (3.14159265358979323846 / 180.0);
    *sn = sin(rad);
    *cs = cos(rad);
}

static double tand(double deg)
{
    return deg == 0.0 ? 0.0 : tan(deg * (3.14159265358979323846 / 180.0));
}

struct mc_augmenter {
    mc_ctx *ctx;
    mc_augmenter_options o;
};

/* 2x2 products in MATLAB's row convention. */
static void mul2(const double l[4], const double r[4], double out[4])
{
    const double p = l[0] * r[0] + l[1] * r[2], q = l[0] * r[1] + l[1] * r[3];
    const double s = l[2] * r[0] + l[3] * r[2], t = l[2] * r[1] + l[3] * r[3];
    out[0] = p;
    out[1] = q;
    out[2] = s;
    out[3] = t;
}

void mc_augmenter_transform(const mc_augmenter *aug, int epoch, size_t index, int H, int W,
                            double tform[6])
{
    const mc_augmenter_options *o = &aug->o;
    /* a stream of its own for every (seed, epoch, index); every value is drawn, used or not,
     * so that each property's draw does not depend on the others */
    uint64_t s = o->seed;
    s = splitmix(&s) ^ (uint64_t)(int64_t)epoch;
    s = splitmix(&s) ^ (uint64_t)index;
    (void)splitmix(&s);
    const double ux = uniform(&s), uy = uniform(&s);
    const double rot = draw(&s, o->rand_rotation);
    const double scale = draw(&s, o->rand_scale);
    const double xs = draw(&s, o->rand_x_scale), ys = draw(&s, o->rand_y_scale);
    const double xsh = draw(&s, o->rand_x_shear), ysh = draw(&s, o->rand_y_shear);
    const double tx = draw(&s, o->rand_x_translation), ty = draw(&s, o->rand_y_translation);
    /* MATLAB: sign(rand - 0.5) */
    const double rx = o->rand_x_reflection && ux < 0.5 ? -1.0 : 1.0;
    const double ry = o->rand_y_reflection && uy < 0.5 ? -1.0 : 1.0;
    double sn, cs;
    sincosd(rot, &sn, &cs);
    const double R[4] = {cs, -sn, sn, cs};
    const double Sh[4] = {1.0, tand(ysh), tand(xsh), 1.0};
    const double Sc[4] = {o->rand_scale_set ? scale : xs, 0.0, 0.0, o->rand_scale_set ? scale : ys};
    const double Rf[4] = {rx, 0.0, 0.0, ry};
    /* Tout = centred(R) * centred(Sh) * centred(Sc) * centred(Rf) * translation */
    double A[4], tmp[4];
    mul2(R, Sh, tmp);
    mul2(tmp, Sc, A);
    mul2(A, Rf, tmp);
    const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
    tform[0] = tmp[0];
    tform[1] = tmp[1];
    tform[2] = tmp[2];
    tform[3] = tmp[3];
    /* [u v] = ([x y] - c) * A + c + t */
    tform[4] = cx + tx - (cx * tmp[0] + cy * tmp[2]);
    tform[5] = cy + ty - (cx * tmp[1] + cy * tmp[3]);
}

void mc_augmenter_apply(const mc_augmenter *aug, int epoch, size_t index, const float *x, float *y,
                        int C, int H, int W)
{
    float fill[MC_AUGMENT_MAX_FILL];
    for (int ch = 0; ch < C && ch < MC_AUGMENT_MAX_FILL; ch++)
        fill[ch] = (float)aug->o.fill_value[aug->o.fill_count == C ? ch : 0];
    double t[6];
    mc_augmenter_transform(aug, epoch, index, H, W, t);
    mc_augment_warp(t, fill, x, y, C, H, W);
}

typedef struct batch_job {
    const mc_augmenter *aug;
    int epoch;
    const float *data;
    const int *index;
    int C, H, W;
    float *y;
} batch_job;

static void batch_task(void *arg, int task, int thread)
{
    (void)thread;
    const batch_job *j = arg;
    const size_t per = (size_t)j->C * j->H * j->W;
    mc_augmenter_apply(j->aug, j->epoch, (size_t)j->index[task],
                       j->data + (size_t)j->index[task] * per, j->y + (size_t)task * per, j->C,
                       j->H, j->W);
}

void mc_augmenter_apply_batch(const mc_augmenter *aug, int epoch, const float *data,
                              const int *index, int n, int C, int H, int W, float *y)
{
    batch_job j = {aug, epoch, data, index, C, H, W, y};
    /* some 16 floats read or computed per output value */
    mc__parallel_for(n, 0, (size_t)n * C * H * W * 16, batch_task, &j);
}

/* ---- The augmenter ---------------------------------------------------------------------- */

mc_augmenter_options mc_augmenter_default(void)
{
    mc_augmenter_options o;
    memset(&o, 0, sizeof o);
    o.fill_count = 1;
    o.rand_scale[0] = o.rand_scale[1] = 1.0;
    o.rand_x_scale[0] = o.rand_x_scale[1] = 1.0;
    o.rand_y_scale[0] = o.rand_y_scale[1] = 1.0;
    return o;
}

/* The properties, in MATLAB's display order. */
enum {
    P_FILL,
    P_XREFL,
    P_YREFL,
    P_ROT,
    P_SCALE,
    P_XSCALE,
    P_YSCALE,
    P_XSHEAR,
    P_YSHEAR,
    P_XTRANS,
    P_YTRANS,
    P_COUNT
};
static const char *const property_names[P_COUNT + 1] = {
    "FillValue",  "RandXReflection",  "RandYReflection",  "RandRotation",
    "RandScale",  "RandXScale",       "RandYScale",       "RandXShear",
    "RandYShear", "RandXTranslation", "RandYTranslation", NULL};

static double *range_of(mc_augmenter_options *o, int p)
{
    switch (p) {
    case P_ROT:
        return o->rand_rotation;
    case P_SCALE:
        return o->rand_scale;
    case P_XSCALE:
        return o->rand_x_scale;
    case P_YSCALE:
        return o->rand_y_scale;
    case P_XSHEAR:
        return o->rand_x_shear;
    case P_YSHEAR:
        return o->rand_y_shear;
    case P_XTRANS:
        return o->rand_x_translation;
    case P_YTRANS:
        return o->rand_y_translation;
    default:
        return NULL;
    }
}

static const char *range_unit(int p)
{
    return p == P_ROT || p == P_XSHEAR || p == P_YSHEAR ? " in degrees"
           : p == P_XTRANS || p == P_YTRANS             ? " in pixels"
                                                        : " of scale factors";
}

/* What is wrong with range r of property p, or NULL. */
static const char *range_problem(int p, const double r[2], char *buf, size_t cap)
{
    if (!isfinite(r[0]) || !isfinite(r[1]))
        return "must be finite";
    if (r[0] > r[1]) {
        snprintf(buf, cap, "[%g %g] is not a range: its minimum %g is larger than its maximum %g",
                 r[0], r[1], r[0], r[1]);
        return buf;
    }
    if ((p == P_SCALE || p == P_XSCALE || p == P_YSCALE) && !(r[0] > 0))
        return "must hold positive scale factors";
    if ((p == P_XSHEAR || p == P_YSHEAR) && !(r[0] > -90 && r[1] < 90))
        return "must hold shear angles inside (-90, 90) degrees";
    return NULL;
}

mc_status mc_augmenter_create(mc_ctx *ctx, const mc_augmenter_options *o, mc_augmenter **out)
{
    *out = NULL;
    if (o->fill_count < 1 || o->fill_count > MC_AUGMENT_MAX_FILL)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "imageDataAugmenter: FillValue must be a scalar or a vector of one "
                           "value per channel (at most %d), not %d values",
                           MC_AUGMENT_MAX_FILL, o->fill_count);
    for (int i = 0; i < o->fill_count; i++)
        if (!isfinite(o->fill_value[i]))
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "imageDataAugmenter: FillValue must be finite, not %g",
                               o->fill_value[i]);
    mc_augmenter_options copy = *o;
    char buf[160];
    for (int p = P_ROT; p < P_COUNT; p++) {
        const char *why = range_problem(p, range_of(&copy, p), buf, sizeof buf);
        if (why != NULL)
            return mc_ctx_fail(ctx, MC_ERR_INVALID, "imageDataAugmenter: %s %s", property_names[p],
                               why);
    }
    mc_augmenter *a = mc__calloc(ctx, 1, sizeof *a);
    if (a == NULL)
        return mc__nomem(ctx, "creating an imageDataAugmenter");
    a->ctx = ctx;
    a->o = copy;
    *out = a;
    return MC_OK;
}

void mc_augmenter_destroy(mc_augmenter *aug)
{
    if (aug != NULL)
        mc_free(aug->ctx, aug);
}

const mc_augmenter_options *mc_augmenter_get_options(const mc_augmenter *aug)
{
    return &aug->o;
}

void mc_augmenter_set_seed(mc_augmenter *aug, uint64_t seed)
{
    aug->o.seed = seed;
}

mc_status mc_augmenter_check(mc_ctx *ctx, const mc_augmenter *aug, int C, int H, int W)
{
    if (C < 1 || H < 1 || W < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "imageDataAugmenter augments images; the data is not (C, H, W) images");
    if (aug->o.fill_count != 1 && aug->o.fill_count != C)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "imageDataAugmenter: FillValue has %d values but the images have %d "
                           "channel%s; give a scalar or one value per channel",
                           aug->o.fill_count, C, C == 1 ? "" : "s");
    return MC_OK;
}

/* The shortest "%g" text of v that reads back as v. */
static void num_text(double v, char out[32])
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Appends fmt to buf (cap bytes), its "%g"s replaced by a and then b as num_text writes them,
 * counting the full length in *len. */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, double a, double b)
{
    char part[160];
    size_t n = 0;
    int used = 0;
    for (const char *f = fmt; *f != '\0' && n + 33 < sizeof part; f++) {
        if (f[0] == '%' && f[1] == 'g') {
            char num[32];
            num_text(used++ == 0 ? a : b, num);
            memcpy(part + n, num, strlen(num));
            n += strlen(num);
            f++;
        } else {
            part[n++] = *f;
        }
    }
    if (*len < cap) {
        const size_t room = cap - *len;
        const size_t k = n < room ? n : room - 1;
        memcpy(buf + *len, part, k);
        buf[*len + k] = '\0';
    }
    *len += n;
}

size_t mc_augmenter_format(const mc_augmenter *aug, char *buf, size_t cap)
{
    mc_augmenter_options o = aug->o;
    const mc_augmenter_options d = mc_augmenter_default();
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    append(buf, cap, &len, "imageDataAugmenter(", 0, 0);
    bool first = true;
    if (o.fill_count > 1 || o.fill_value[0] != 0) {
        append(buf, cap, &len, "'FillValue',", 0, 0);
        if (o.fill_count == 1) {
            append(buf, cap, &len, "%g", o.fill_value[0], 0);
        } else {
            for (int i = 0; i < o.fill_count; i++)
                append(buf, cap, &len, i == 0 ? "[%g" : " %g", o.fill_value[i], 0);
            append(buf, cap, &len, "]", 0, 0);
        }
        first = false;
    }
    if (o.rand_x_reflection) {
        append(buf, cap, &len, first ? "'RandXReflection',true" : ",'RandXReflection',true", 0, 0);
        first = false;
    }
    if (o.rand_y_reflection) {
        append(buf, cap, &len, first ? "'RandYReflection',true" : ",'RandYReflection',true", 0, 0);
        first = false;
    }
    for (int p = P_ROT; p < P_COUNT; p++) {
        const double *r = range_of(&o, p);
        const double *dr = range_of((mc_augmenter_options *)&d, p);
        const bool set = p == P_SCALE ? o.rand_scale_set
                                      : (r[0] != dr[0] || r[1] != dr[1]) &&
                                            !((p == P_XSCALE || p == P_YSCALE) && o.rand_scale_set);
        if (!set)
            continue;
        char fmt[64];
        snprintf(fmt, sizeof fmt, "%s'%s',[%%g %%g]", first ? "" : ",", property_names[p]);
        append(buf, cap, &len, fmt, r[0], r[1]);
        first = false;
    }
    append(buf, cap, &len, ")", 0, 0);
    return len;
}

/* ---- The MATLAB expression ---------------------------------------------------------------- */

static const char *kind_words(nf_kind k)
{
    return k == NF_STRING   ? "a string"
           : k == NF_CELL   ? "a cell array"
           : k == NF_LAYERS ? "a layer"
           : k == NF_GRAPH  ? "a layer graph"
                            : "nothing";
}

/* Sets property p from v. */
static mc_status set_property(nf_call *c, mc_augmenter_options *o, int p, const nf_value *v)
{
    const char *name = property_names[p];
    if (p == P_FILL) {
        if (v->kind != NF_NUMBERS || v->count < 1 || v->count > MC_AUGMENT_MAX_FILL)
            return nf_fail_at(c, v->line, v->col,
                              "FillValue must be a number or a vector of one number per channel "
                              "(at most %d), not %s",
                              MC_AUGMENT_MAX_FILL,
                              v->kind == NF_NUMBERS ? "an empty or longer vector"
                                                    : kind_words(v->kind));
        for (int i = 0; i < v->count; i++) {
            if (!isfinite(v->nums[i]))
                return nf_fail_at(c, v->line, v->col, "FillValue must be finite, not %g",
                                  v->nums[i]);
            o->fill_value[i] = v->nums[i];
        }
        o->fill_count = v->count;
        return MC_OK;
    }
    if (p == P_XREFL || p == P_YREFL) {
        if (v->kind != NF_NUMBERS || v->count != 1 || isnan(v->nums[0]))
            return nf_fail_at(c, v->line, v->col, "%s must be true or false, not %s", name,
                              v->kind == NF_NUMBERS ? (v->count == 1 ? "NaN" : "a vector")
                                                    : kind_words(v->kind));
        *(p == P_XREFL ? &o->rand_x_reflection : &o->rand_y_reflection) = v->nums[0] != 0;
        return MC_OK;
    }
    double *r = range_of(o, p);
    if (v->kind != NF_NUMBERS || v->count != 2) {
        char what[48];
        if (v->kind == NF_NUMBERS)
            snprintf(what, sizeof what, "%d number%s", v->count, v->count == 1 ? "" : "s");
        return nf_fail_at(c, v->line, v->col, "%s must be a 2-element vector [min max]%s, not %s",
                          name, range_unit(p), v->kind == NF_NUMBERS ? what : kind_words(v->kind));
    }
    r[0] = v->nums[0];
    r[1] = v->nums[1];
    char buf[160];
    const char *why = range_problem(p, r, buf, sizeof buf);
    if (why != NULL)
        return nf_fail_at(c, v->line, v->col, "%s %s", name, why);
    if (p == P_SCALE)
        o->rand_scale_set = true;
    return MC_OK;
}

mc_status mc_augmenter_parse(mc_ctx *ctx, const char *expr, mc_augmenter **out)
{
    *out = NULL;
    nf_value *args = NULL;
    int n = 0;
    mc_status st = nf_parse_call(ctx, expr, "augmenter", "imageDataAugmenter",
                                 "give a 2-element range [min max] instead", &args, &n);
    if (st != MC_OK)
        return st;
    nf_call c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.file = "augmenter";
    c.fn = "imageDataAugmenter";
    mc_augmenter_options o = mc_augmenter_default();
    bool seen[P_COUNT] = {false};
    for (int i = 0; st == MC_OK && i < n; i += 2) {
        const nf_value *nv = &args[i];
        if (nv->kind != NF_STRING) {
            st = nf_fail_at(&c, nv->line, nv->col,
                            "imageDataAugmenter takes name-value pairs; expected a property "
                            "name in quotes, found %s",
                            nv->kind == NF_NUMBERS ? "a number" : kind_words(nv->kind));
            break;
        }
        int p = -1;
        for (int k = 0; k < P_COUNT; k++)
            if (strcasecmp(nv->str, property_names[k]) == 0)
                p = k;
        if (p < 0) {
            const char *near = mc__closest(nv->str, property_names);
            char hint[64] = "";
            if (near != NULL)
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
            st = nf_fail_at(&c, nv->line, nv->col,
                            "unknown imageDataAugmenter property '%s'%s; the properties are "
                            "FillValue, RandXReflection, RandYReflection, RandRotation, "
                            "RandScale, RandXScale, RandYScale, RandXShear, RandYShear, "
                            "RandXTranslation and RandYTranslation",
                            nv->str, hint);
            break;
        }
        if (i + 1 >= n) {
            st = nf_fail_at(&c, nv->line, nv->col,
                            "imageDataAugmenter: property '%s' has no value (properties come in "
                            "name-value pairs)",
                            property_names[p]);
            break;
        }
        if (seen[p]) {
            st = nf_fail_at(&c, nv->line, nv->col,
                            "imageDataAugmenter: property '%s' is given twice", property_names[p]);
            break;
        }
        seen[p] = true;
        st = set_property(&c, &o, p, &args[i + 1]);
    }
    nf_free_args(ctx, args, n);
    if (st == MC_OK)
        st = mc_augmenter_create(ctx, &o, out);
    return st;
}
