/* groupNormalizationLayer (MATLAB R2020b semantics). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../internal.h"

/* ---- Kernels ---------------------------------------------------------------------------- */

/* The mean as a float pair (hi + lo): x - hi is exact for x near the mean (Sterbenz), so
 * d = (x - hi) - lo keeps the deviation accurate in float even when |mean| >> spread. */
static void split_mean(double mean, float *hi, float *lo)
{
    *hi = (float)mean;
    *lo = (float)(mean - (double)*hi);
}

/* x, y: (N, C, S); scale, offset: (C); mean, rstd: (N, G) */
void mc_groupnorm_forward_kernel(const float *x, float *y, const float *scale,
                                 const float *offset, double *mean, double *rstd, int N, int C,
                                 size_t S, int G, double eps)
{
    const int Cg = C / G;
    const size_t m = (size_t)Cg * S;
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < G; g++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)g * (size_t)Cg) * S;
            const float *xg = x + base;
            double sum = 0.0;
            for (size_t i = 0; i < m; i++)
                sum += xg[i];
            const double mu = sum / (double)m;
            float hi, lo;
            split_mean(mu, &hi, &lo);
            double ss = 0.0;
            for (size_t i = 0; i < m; i++) {
                const float d = (xg[i] - hi) - lo;
                ss += (double)d * (double)d;
            }
            const double r = 1.0 / sqrt(ss / (double)m + eps);
            mean[(size_t)n * (size_t)G + (size_t)g] = mu;
            rstd[(size_t)n * (size_t)G + (size_t)g] = r;
            for (int k = 0; k < Cg; k++) {
                const int c = g * Cg + k;
                const float a = (float)((double)scale[c] * r);
                const float b = offset[c];
                const float *xc = xg + (size_t)k * S;
                float *yc = y + base + (size_t)k * S;
                for (size_t s = 0; s < S; s++)
                    yc[s] = ((xc[s] - hi) - lo) * a + b;
            }
        }
    }
}

/* x, dy, dx: (N, C, S); scale, dscale, doffset: (C); mean, rstd: (N, G) */
void mc_groupnorm_backward_kernel(const float *x, const float *dy, const float *scale,
                                  const double *mean, const double *rstd, float *dx,
                                  float *dscale, float *doffset, int N, int C, size_t S, int G)
{
    const int Cg = C / G;
    const double m = (double)Cg * (double)S;
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < G; g++) {
            const size_t base = ((size_t)n * (size_t)C + (size_t)g * (size_t)Cg) * S;
            const double mu = mean[(size_t)n * (size_t)G + (size_t)g];
            const double r = rstd[(size_t)n * (size_t)G + (size_t)g];
            float hi, lo;
            split_mean(mu, &hi, &lo);
            /* Per channel: a = sum dy * (x - mean), b = sum dy. */
            double sum_scale_a = 0.0, sum_scale_b = 0.0;
            for (int k = 0; k < Cg; k++) {
                const int c = g * Cg + k;
                const float *xc = x + base + (size_t)k * S;
                const float *dyc = dy + base + (size_t)k * S;
                double a = 0.0, b = 0.0;
                for (size_t s = 0; s < S; s++) {
                    const float d = (xc[s] - hi) - lo;
                    a += (double)dyc[s] * (double)d;
                    b += (double)dyc[s];
                }
                dscale[c] += (float)(a * r);
                doffset[c] += (float)b;
                sum_scale_a += (double)scale[c] * a;
                sum_scale_b += (double)scale[c] * b;
            }
            if (dx == NULL)
                continue;
            /* dx = r * (scale*dy - mean(scale*dy) - xhat * mean(scale*dy*xhat)) */
            const float k1 = (float)(sum_scale_b / m);
            const float k2 = (float)(r * r * sum_scale_a / m);
            const float fr = (float)r;
            for (int k = 0; k < Cg; k++) {
                const int c = g * Cg + k;
                const float *xc = x + base + (size_t)k * S;
                const float *dyc = dy + base + (size_t)k * S;
                float *dxc = dx + base + (size_t)k * S;
                const float gc = scale[c];
                for (size_t s = 0; s < S; s++) {
                    const float d = (xc[s] - hi) - lo;
                    dxc[s] = fr * (gc * dyc[s] - k1 - d * k2);
                }
            }
        }
    }
}

/* ---- Layer ------------------------------------------------------------------------------ */

typedef struct groupnorm {
    mc_layer base;
    mc_groups_mode groups_mode;
    int num_groups;   /* as given, for MC_GROUPS_COUNT */
    int groups;       /* in use; 0 until known */
    double epsilon;
    int num_channels; /* 0 while 'auto' */
    mc__init scale_init;
    mc__init offset_init;
    mc_param offset; /* value empty until given or initialized */
    mc_param scale;
    double *mean; /* (N, G) of the set-up N */
    double *rstd;
    size_t stats_cap;
} groupnorm;

static const mc_layer_vtable groupnorm_vtable;

static const char *const groups_words[] = {"all-channels", "channel-wise", NULL};

mc_groupnorm_options mc_groupnorm_default(int num_groups)
{
    mc_groupnorm_options o;
    memset(&o, 0, sizeof o);
    o.groups_mode = MC_GROUPS_COUNT;
    o.num_groups = num_groups;
    o.epsilon = 1e-5;
    o.scale_learn_rate_factor = 1.0;
    o.offset_learn_rate_factor = 1.0;
    o.scale_l2_factor = 1.0;
    o.offset_l2_factor = 1.0;
    return o;
}

mc_status mc_groupnorm_parse_groups(mc_ctx *ctx, const char *text, mc_groups_mode *mode,
                                    int *num_groups)
{
    if (strcasecmp(text, "all-channels") == 0) {
        *mode = MC_GROUPS_ALL_CHANNELS;
        *num_groups = 1;
        return MC_OK;
    }
    if (strcasecmp(text, "channel-wise") == 0) {
        *mode = MC_GROUPS_CHANNEL_WISE;
        *num_groups = 0;
        return MC_OK;
    }
    long v = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9' && v <= 1000000000L)
        v = v * 10 + (*p++ - '0');
    if (p != text && *p == '\0' && v >= 1 && v <= 1000000000L) {
        *mode = MC_GROUPS_COUNT;
        *num_groups = (int)v;
        return MC_OK;
    }
    const char *hint = mc__closest(text, groups_words);
    char suggestion[64] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean \"%s\"?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "numGroups \"%s\" is not valid%s: expected a positive integer, "
                       "\"all-channels\" or \"channel-wise\"",
                       text, suggestion);
}

/* The number of groups for C channels, or an error naming the layer and both numbers. */
static mc_status groups_for(const groupnorm *gn, const char *label, int C, int *G)
{
    switch (gn->groups_mode) {
    case MC_GROUPS_ALL_CHANNELS:
        *G = 1;
        return MC_OK;
    case MC_GROUPS_CHANNEL_WISE:
        *G = C;
        return MC_OK;
    case MC_GROUPS_COUNT:
        break;
    }
    if (gn->num_groups > C)
        return mc_ctx_fail(gn->base.ctx, MC_ERR_SHAPE,
                           "%s: the number of groups (%d) exceeds the number of input channels "
                           "(%d)",
                           label, gn->num_groups, C);
    if (C % gn->num_groups != 0)
        return mc_ctx_fail(gn->base.ctx, MC_ERR_SHAPE,
                           "%s: the number of groups (%d) must divide the number of input "
                           "channels (%d)",
                           label, gn->num_groups, C);
    *G = gn->num_groups;
    return MC_OK;
}

/* MATLAB's size of Scale and Offset for input of the given kind. */
static mc_shape param_size(mc_data_kind kind, int C)
{
    mc_shape s;
    memset(&s, 0, sizeof s);
    switch (kind) {
    case MC_DATA_IMAGE3D:
        s.ndim = 4;
        s.dims[0] = s.dims[1] = s.dims[2] = 1;
        s.dims[3] = C;
        break;
    case MC_DATA_FEATURE:
    case MC_DATA_SEQUENCE:
        s.ndim = 2;
        s.dims[0] = C;
        s.dims[1] = 1;
        break;
    default:
        s.ndim = 3;
        s.dims[0] = s.dims[1] = 1;
        s.dims[2] = C;
        break;
    }
    return s;
}

static mc_status check_initial_values(mc_ctx *ctx, const char *label, const char *what,
                                      const float *v, size_t len, int num_channels)
{
    if (v == NULL)
        return MC_OK;
    if (len == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the initial %s is given with 0 elements; pass NULL for empty",
                           label, what);
    if (num_channels > 0 && len != (size_t)num_channels)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: the initial %s has %zu elements but NumChannels is %d", label,
                           what, len, num_channels);
    for (size_t i = 0; i < len; i++)
        if (!isfinite(v[i]))
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the initial %s has the non-finite value %g at element %zu",
                               label, what, (double)v[i], i + 1);
    return MC_OK;
}

static mc_status validate(mc_ctx *ctx, const mc_groupnorm_options *o, const char *label)
{
    mc_status st = MC_OK;
    if (o->groups_mode != MC_GROUPS_COUNT && o->groups_mode != MC_GROUPS_ALL_CHANNELS &&
        o->groups_mode != MC_GROUPS_CHANNEL_WISE)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s: unknown groups mode %d", label,
                           (int)o->groups_mode);
    if (o->groups_mode == MC_GROUPS_COUNT && o->num_groups < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: the number of groups must be a positive integer, "
                           "\"all-channels\" or \"channel-wise\", not %d",
                           label, o->num_groups);
    if (!isfinite(o->epsilon) || o->epsilon < 1e-5)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: Epsilon must be a finite number of at least 1e-05, not %g",
                           label, o->epsilon);
    if (o->num_channels < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "%s: NumChannels must be 'auto' (0) or a positive integer, not %d",
                           label, o->num_channels);
    if (o->num_channels > 0 && o->groups_mode == MC_GROUPS_COUNT) {
        if (o->num_groups > o->num_channels)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the number of groups (%d) exceeds NumChannels (%d)", label,
                               o->num_groups, o->num_channels);
        if (o->num_channels % o->num_groups != 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "%s: the number of groups (%d) must divide NumChannels (%d)",
                               label, o->num_groups, o->num_channels);
    }
    const struct {
        const char *option;
        double value;
    } factors[] = {
        {"ScaleLearnRateFactor", o->scale_learn_rate_factor},
        {"OffsetLearnRateFactor", o->offset_learn_rate_factor},
        {"ScaleL2Factor", o->scale_l2_factor},
        {"OffsetL2Factor", o->offset_l2_factor},
    };
    for (size_t i = 0; st == MC_OK && i < sizeof factors / sizeof factors[0]; i++)
        st = mc__check_factor(ctx, label, factors[i].option, factors[i].value);
    if (st == MC_OK)
        st = check_initial_values(ctx, label, "Scale", o->scale, o->scale_len, o->num_channels);
    if (st == MC_OK)
        st = check_initial_values(ctx, label, "Offset", o->offset, o->offset_len,
                                  o->num_channels);
    if (st == MC_OK && o->scale != NULL && o->offset != NULL && o->scale_len != o->offset_len)
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                         "%s: the initial Scale has %zu elements but the initial Offset has %zu",
                         label, o->scale_len, o->offset_len);
    return st;
}

/* Copies explicit initial values (sized 1x1xlen until the input kind is known). */
static mc_status set_initial(mc_ctx *ctx, mc_param *p, const float *v, size_t len)
{
    if (v == NULL)
        return MC_OK;
    if (len > (size_t)0x7fffffff)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "an initial value has too many elements");
    const mc_shape storage = mc_shape_make(1, (const int[]){(int)len});
    const mc_shape size = param_size(MC_DATA_IMAGE2D, (int)len);
    return mc__param_set_values(ctx, p, v, len, &storage, &size);
}

static void groupnorm_destroy(mc_layer *self)
{
    groupnorm *gn = (groupnorm *)self;
    mc_ctx *ctx = self->ctx;
    mc__param_release(ctx, &gn->scale);
    mc__param_release(ctx, &gn->offset);
    mc_free(ctx, gn->mean);
    mc_free(ctx, gn->rstd);
}

mc_status mc_groupnorm_create(mc_ctx *ctx, const mc_groupnorm_options *opts, mc_layer **out)
{
    *out = NULL;
    char label[MC__LABEL_CAP];
    mc__label(label, sizeof label, opts->name, groupnorm_vtable.kind);
    mc_status st = validate(ctx, opts, label);
    mc__init scale_init, offset_init;
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "ScaleInitializer", &opts->scale_initializer,
                              MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ONES, &scale_init);
    if (st == MC_OK)
        st = mc__init_resolve(ctx, label, "OffsetInitializer", &opts->offset_initializer,
                              MC__INIT_ONES | MC__INIT_ZEROS | MC__INIT_NARROW_NORMAL,
                              MC__INIT_ZEROS, &offset_init);
    if (st != MC_OK)
        return st;

    groupnorm *gn = mc__calloc(ctx, 1, sizeof *gn);
    if (gn == NULL)
        return mc__nomem(ctx, "creating a group normalization layer");
    st = mc__layer_init(&gn->base, ctx, &groupnorm_vtable, opts->name, 1, NULL);
    if (st != MC_OK) {
        mc_free(ctx, gn);
        return st;
    }
    gn->groups_mode = opts->groups_mode;
    gn->num_groups = opts->groups_mode == MC_GROUPS_COUNT ? opts->num_groups : 0;
    gn->groups = opts->groups_mode == MC_GROUPS_COUNT          ? opts->num_groups
                 : opts->groups_mode == MC_GROUPS_ALL_CHANNELS ? 1
                                                                : opts->num_channels;
    gn->epsilon = opts->epsilon;
    gn->num_channels = opts->num_channels;
    gn->scale_init = scale_init;
    gn->offset_init = offset_init;
    gn->scale.name = "Scale";
    gn->scale.lr_factor = opts->scale_learn_rate_factor;
    gn->scale.l2_factor = opts->scale_l2_factor;
    gn->offset.name = "Offset";
    gn->offset.lr_factor = opts->offset_learn_rate_factor;
    gn->offset.l2_factor = opts->offset_l2_factor;
    st = set_initial(ctx, &gn->scale, opts->scale, opts->scale_len);
    if (st == MC_OK)
        st = set_initial(ctx, &gn->offset, opts->offset, opts->offset_len);
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM)
            mc__nomem(ctx, "copying the initial Scale and Offset");
        mc_layer_destroy(&gn->base);
        return st;
    }
    *out = &gn->base;
    return MC_OK;
}

/* Readies Scale or Offset for C channels, wording the mismatch of explicit values. */
static mc_status prepare_param(mc_ctx *ctx, const char *label, mc_param *p, const mc__init *init,
                               const char *option, mc_data_kind kind, int C)
{
    if (p->value.data != NULL && mc_tensor_numel(&p->value) != (size_t)C)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: %s has %zu elements but the input has %d channels", label,
                           p->name, mc_tensor_numel(&p->value), C);
    const mc_shape storage = mc_shape_make(1, &C), size = param_size(kind, C);
    return mc__param_prepare(ctx, label, p, init, option, &storage, &size, 0.0, 0.0);
}

static mc_status groupnorm_setup(mc_layer *self, const mc_shape *in, int n_in, mc_shape *out)
{
    (void)n_in;
    groupnorm *gn = (groupnorm *)self;
    mc_ctx *ctx = self->ctx;
    char label[MC__LABEL_CAP];
    mc__layer_label(self, label, sizeof label);
    const int N = in[0].dims[0];
    const int C = in[0].dims[1];
    if (gn->num_channels > 0 && gn->num_channels != C)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "%s: NumChannels is %d but the input has %d channels", label,
                           gn->num_channels, C);
    int G = 0;
    mc_status st = groups_for(gn, label, C, &G);
    if (st != MC_OK)
        return st;
    const mc_data_kind kind = mc_shape_kind(&in[0]);
    st = prepare_param(ctx, label, &gn->offset, &gn->offset_init, "OffsetInitializer", kind, C);
    if (st == MC_OK)
        st = prepare_param(ctx, label, &gn->scale, &gn->scale_init, "ScaleInitializer", kind, C);
    if (st != MC_OK)
        return st;
    const size_t need = (size_t)N * (size_t)G;
    if (need > gn->stats_cap) {
        double *mean = mc__calloc(ctx, need, sizeof(double));
        double *rstd = mc__calloc(ctx, need, sizeof(double));
        if (mean == NULL || rstd == NULL) {
            mc_free(ctx, mean);
            mc_free(ctx, rstd);
            return mc__nomem(ctx, "sizing the group normalization statistics");
        }
        mc_free(ctx, gn->mean);
        mc_free(ctx, gn->rstd);
        gn->mean = mean;
        gn->rstd = rstd;
        gn->stats_cap = need;
    }
    gn->num_channels = C;
    gn->groups = G;
    *out = in[0];
    return MC_OK;
}

/* S: the product of the dimensions after (N, C). */
static size_t positions(const mc_shape *s)
{
    size_t S = 1;
    for (int d = 2; d < s->ndim; d++)
        S *= (size_t)s->dims[d];
    return S;
}

static void groupnorm_forward(mc_layer *self, const mc_tensor *in, int n_in, mc_tensor *out,
                              mc_mode mode)
{
    (void)n_in;
    (void)mode; /* no running statistics: both modes compute the same */
    groupnorm *gn = (groupnorm *)self;
    const mc_shape *s = &in[0].shape;
    mc_groupnorm_forward_kernel(in[0].data, out->data, gn->scale.value.data,
                                gn->offset.value.data, gn->mean, gn->rstd, s->dims[0],
                                s->dims[1], positions(s), gn->groups, gn->epsilon);
}

static void groupnorm_backward(mc_layer *self, const mc_tensor *in, int n_in,
                               const mc_tensor *out, const mc_tensor *dout, mc_tensor *din)
{
    (void)n_in;
    (void)out;
    groupnorm *gn = (groupnorm *)self;
    const mc_shape *s = &in[0].shape;
    mc_groupnorm_backward_kernel(in[0].data, dout->data, gn->scale.value.data, gn->mean,
                                 gn->rstd, din[0].data, gn->scale.grad.data,
                                 gn->offset.grad.data, s->dims[0], s->dims[1], positions(s),
                                 gn->groups);
}

static mc_param *groupnorm_param(mc_layer *self, int i)
{
    groupnorm *gn = (groupnorm *)self;
    return i == 0 ? &gn->offset : i == 1 ? &gn->scale : NULL;
}

static mc_tensor *groupnorm_buffer(mc_layer *self, int i, const char **name)
{
    (void)self;
    (void)i;
    (void)name;
    return NULL;
}



static void describe_groups(const groupnorm *gn, mc_text *t)
{
    switch (gn->groups_mode) {
    case MC_GROUPS_ALL_CHANNELS:
        mc_text_printf(t, "'all-channels'");
        break;
    case MC_GROUPS_CHANNEL_WISE:
        mc_text_printf(t, "'channel-wise'");
        break;
    case MC_GROUPS_COUNT:
        mc_text_printf(t, "%d", gn->num_groups);
        break;
    }
}

static void describe_initializer(mc_text *t, const mc__init *init)
{
    if (init->kind == MC__INIT_FUNCTION)
        mc_text_printf(t, "[function_handle]");
    else
        mc_text_printf(t, "'%s'", mc__init_name(init->kind));
}

static void groupnorm_describe(const mc_layer *self, mc_text *t, mc_describe what)
{
    const groupnorm *gn = (const groupnorm *)self;
    if (what == MC_DESCRIBE_SUMMARY) {
        mc_text_printf(t, "Group normalization");
        return;
    }
    /* Property names are right-aligned in one column, as MATLAB does. */
    const int w = what == MC_DESCRIBE_ALL ? 25 : 15;
    char num[40];
    mc_text_printf(t, "  GroupNormalizationLayer with properties:\n\n");
    mc_text_printf(t, "%*s: '%s'\n", w, "Name", self->name);
    if (what == MC_DESCRIBE_ALL) {
        mc_text_printf(t, "%*s: 1\n", w, "NumInputs");
        mc_text_printf(t, "%*s: {'in'}\n", w, "InputNames");
        mc_text_printf(t, "%*s: 1\n", w, "NumOutputs");
        mc_text_printf(t, "%*s: {'out'}\n", w, "OutputNames");
    }
    if (gn->num_channels > 0)
        mc_text_printf(t, "%*s: %d\n", w, "NumChannels", gn->num_channels);
    else
        mc_text_printf(t, "%*s: 'auto'\n", w, "NumChannels");
    mc_text_printf(t, "\n   Hyperparameters\n%*s: ", w, "NumGroups");
    describe_groups(gn, t);
    mc_text_printf(t, "\n%*s: %s\n", w, "Epsilon", mc_format_short(gn->epsilon, num, sizeof num));
    mc_text_printf(t, "\n   Learnable Parameters\n%*s: ", w, "Offset");
    mc__describe_param(t, &gn->offset);
    mc_text_printf(t, "\n%*s: ", w, "Scale");
    mc__describe_param(t, &gn->scale);
    mc_text_printf(t, "\n");
    if (what == MC_DESCRIBE_PROPERTIES) {
        mc_text_printf(t, "\n  Show all properties\n");
        return;
    }
    mc_text_printf(t, "\n   Parameters and Initialization\n%*s: ", w, "ScaleInitializer");
    describe_initializer(t, &gn->scale_init);
    mc_text_printf(t, "\n%*s: ", w, "OffsetInitializer");
    describe_initializer(t, &gn->offset_init);
    mc_text_printf(t, "\n\n   Learn Rate and Regularization\n");
    const struct {
        const char *name;
        double value;
    } factors[] = {
        {"ScaleLearnRateFactor", gn->scale.lr_factor},
        {"OffsetLearnRateFactor", gn->offset.lr_factor},
        {"ScaleL2Factor", gn->scale.l2_factor},
        {"OffsetL2Factor", gn->offset.l2_factor},
    };
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        mc_text_printf(t, "%*s: %s\n", w, factors[i].name,
                       mc_format_short(factors[i].value, num, sizeof num));
}

int mc_groupnorm_num_channels(const mc_layer *layer)
{
    return layer->vt == &groupnorm_vtable ? ((const groupnorm *)layer)->num_channels : -1;
}

int mc_groupnorm_num_groups(const mc_layer *layer)
{
    return layer->vt == &groupnorm_vtable ? ((const groupnorm *)layer)->groups : -1;
}

static const mc_layer_vtable groupnorm_vtable = {
    .kind = "groupNormalizationLayer",
    .class_name = "GroupNormalizationLayer",
    .type_label = "Group Normalization",
    .default_name = "groupnorm",
    .role = MC_ROLE_HIDDEN,
    .setup = groupnorm_setup,
    .forward = groupnorm_forward,
    .backward = groupnorm_backward,
    .param = groupnorm_param,
    .buffer = groupnorm_buffer,
    .describe = groupnorm_describe,
    .destroy = groupnorm_destroy,
};
