/* SPDX-License-Identifier: MIT */
/* The training loop (MATLAB's trainNetwork) and evaluation. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <minicnn/input.h>
#include <minicnn/train.h>

#include "internal.h"
#include "io/bytes.h"
#include "io/model_internal.h"
#include "layers/bnstats.h"

mc_train_options mc_train_default(mc_solver solver)
{
    mc_train_options o;
    memset(&o, 0, sizeof o);
    o.solver = mc_optim_default(solver);
    o.initial_learn_rate = solver == MC_SOLVER_SGDM ? 0.01 : 0.001;
    o.max_epochs = 30;
    o.mini_batch_size = 128;
    o.shuffle = MC_SHUFFLE_ONCE;
    o.schedule = MC_SCHEDULE_NONE;
    o.learn_rate_drop_factor = 0.1;
    o.learn_rate_drop_period = 10;
    o.validation_frequency = 50;
    o.validation_patience = 0;
    o.verbose_frequency = 50;
    return o;
}

static const char *const shuffle_names[] = {"once", "never", "every-epoch", NULL};
static const char *const schedule_names[] = {"none", "piecewise", NULL};
static const char *const bn_statistics_names[] = {"population", "moving", NULL};

static mc_status parse_word(mc_ctx *ctx, const char *text, const char *const *names,
                            const char *what, int *out)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcasecmp(text, names[i]) == 0) {
            *out = i;
            return MC_OK;
        }
    char list[128] = "";
    for (int i = 0; names[i] != NULL; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "", names[i]);
    }
    const char *hint = mc__closest(text, names);
    char suggestion[64] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean '%s'?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown %s '%s'%s; expected %s", what, text,
                       suggestion, list);
}

mc_status mc_shuffle_parse(mc_ctx *ctx, const char *text, mc_shuffle *out)
{
    int i = 0;
    mc_status st = parse_word(ctx, text, shuffle_names, "Shuffle", &i);
    *out = (mc_shuffle)i;
    return st;
}

const char *mc_shuffle_name(mc_shuffle s)
{
    return (unsigned)s < 3 ? shuffle_names[s] : "unknown";
}

mc_status mc_schedule_parse(mc_ctx *ctx, const char *text, mc_lr_schedule *out)
{
    int i = 0;
    mc_status st = parse_word(ctx, text, schedule_names, "LearnRateSchedule", &i);
    *out = (mc_lr_schedule)i;
    return st;
}

const char *mc_schedule_name(mc_lr_schedule s)
{
    return (unsigned)s < 2 ? schedule_names[s] : "unknown";
}

mc_status mc_bn_statistics_parse(mc_ctx *ctx, const char *text, mc_bn_statistics *out)
{
    int i = 0;
    mc_status st = parse_word(ctx, text, bn_statistics_names, "BatchNormalizationStatistics", &i);
    *out = (mc_bn_statistics)i;
    return st;
}

const char *mc_bn_statistics_name(mc_bn_statistics s)
{
    return (unsigned)s < 2 ? bn_statistics_names[s] : "unknown";
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The data's observations must have the network's input shape (src/io/dataset.c). */
static mc_status check_data(mc_net *net, const mc_dataset *data, const char *what)
{
    return mc__data_check_shape(net, data, what);
}

mc_status mc_net_fit_input(mc_net *net, const mc_dataset *data, int batch)
{
    mc_layer *in = mc_net_input_layer(net);
    if (in == NULL)
        return mc_ctx_fail(mc_net_ctx(net), MC_ERR_INVALID, "the network has no input layer");
    mc_status st = check_data(net, data, "training data");
    if (st != MC_OK || !mc_input_needs_fit(in))
        return st;
    st = mc_input_fit_begin(in);
    if (st != MC_OK)
        return st;
    const int N = data->shape.dims[0];
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    if (batch < 1)
        batch = N;
    for (int n = 0; n < N; n += batch)
        mc_input_fit_add(in, data->x + (size_t)n * per, N - n < batch ? N - n : batch);
    return mc_input_fit_end(in);
}

/* Copies of every buffer of the network (batch-norm moving averages), to put them back. */
static float **save_buffers(mc_net *net, int *count)
{
    mc_ctx *ctx = mc_net_ctx(net);
    int n = 0;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        n += mc_layer_num_buffers(mc_net_layer(net, l));
    float **copies = mc__calloc(ctx, (size_t)n + 1, sizeof *copies);
    int k = 0;
    for (int l = 0; copies != NULL && l < mc_net_num_layers(net); l++)
        for (int b = 0; b < mc_layer_num_buffers(mc_net_layer(net, l)); b++, k++) {
            const mc_tensor *t = mc_layer_buffer(mc_net_layer(net, l), b, NULL);
            copies[k] = mc_alloc(ctx, mc_tensor_numel(t) * sizeof(float));
            if (copies[k] == NULL) {
                *count = k;
                return copies; /* the caller sees fewer copies than buffers */
            }
            memcpy(copies[k], t->data, mc_tensor_numel(t) * sizeof(float));
        }
    *count = k;
    return copies;
}

static void restore_buffers(mc_net *net, float **copies, int count)
{
    mc_ctx *ctx = mc_net_ctx(net);
    int k = 0;
    for (int l = 0; l < mc_net_num_layers(net); l++)
        for (int b = 0; b < mc_layer_num_buffers(mc_net_layer(net, l)); b++, k++) {
            mc_tensor *t = mc_layer_buffer(mc_net_layer(net, l), b, NULL);
            if (k < count)
                memcpy(t->data, copies[k], mc_tensor_numel(t) * sizeof(float));
        }
    for (k = 0; k < count; k++)
        mc_free(ctx, copies[k]);
    mc_free(ctx, copies);
}

mc_status mc_evaluate_batches(mc_net *net, const mc_dataset *data, int batch, mc_mode mode,
                              double *accuracy, double *loss)
{
    *accuracy = *loss = NAN;
    mc_ctx *ctx = mc_net_ctx(net);
    if (!mc_net_is_assembled(net))
        return mc_ctx_fail(ctx, MC_ERR_STATE, "evaluate: the network is not assembled");
    mc_status st = check_data(net, data, "data");
    if (st != MC_OK)
        return st;
    if (batch < 1 || batch > mc_net_max_batch(net))
        batch = mc_net_max_batch(net);
    int saved_count = 0, buffers = 0;
    float **saved = NULL;
    if (mode == MC_MODE_TRAINING) {
        for (int l = 0; l < mc_net_num_layers(net); l++)
            buffers += mc_layer_num_buffers(mc_net_layer(net, l));
        saved = save_buffers(net, &saved_count);
        if (saved == NULL || saved_count < buffers) {
            if (saved != NULL)
                restore_buffers(net, saved, saved_count);
            return mc__nomem(ctx, "evaluating with batch statistics");
        }
    }
    const int N = data->shape.dims[0], K = mc_net_num_classes(net);
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    double total = 0.0;
    long correct = 0;
    for (int n = 0; st == MC_OK && n < N; n += batch) {
        const int b = N - n < batch ? N - n : batch;
        st = mc_net_forward(net, data->x + (size_t)n * per, b, mode);
        double l = 0.0;
        if (st == MC_OK)
            st = mc_net_loss(net, data->labels + n, &l);
        if (st != MC_OK)
            break;
        total += l * b;
        const float *p = mc_net_scores(net);
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (p[(size_t)i * K + k] > p[(size_t)i * K + best])
                    best = k;
            correct += best == data->labels[n + i];
        }
    }
    if (saved != NULL)
        restore_buffers(net, saved, saved_count);
    if (st != MC_OK)
        return st;
    *accuracy = (double)correct / N;
    *loss = total / N;
    return MC_OK;
}

mc_status mc_evaluate(mc_net *net, const mc_dataset *data, double *accuracy, double *loss)
{
    return mc_evaluate_batches(net, data, 0, MC_MODE_INFERENCE, accuracy, loss);
}

static mc_status check_options(mc_ctx *ctx, const mc_train_options *o)
{
    if (!(o->initial_learn_rate > 0) || !isfinite(o->initial_learn_rate))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "InitialLearnRate must be a positive finite number, not %g",
                           o->initial_learn_rate);
    if (o->max_epochs < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "MaxEpochs must be a positive integer, not %d",
                           o->max_epochs);
    if (o->mini_batch_size < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "MiniBatchSize must be a positive integer, not %d",
                           o->mini_batch_size);
    if ((unsigned)o->shuffle > MC_SHUFFLE_EVERY_EPOCH || (unsigned)o->schedule > 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown Shuffle or LearnRateSchedule value");
    if ((unsigned)o->batch_normalization_statistics > MC_BN_MOVING)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "unknown BatchNormalizationStatistics value %d; expected "
                           "'population' or 'moving'",
                           (int)o->batch_normalization_statistics);
    if (!(o->learn_rate_drop_factor >= 0 && o->learn_rate_drop_factor <= 1))
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "LearnRateDropFactor must be in [0, 1], not %g",
                           o->learn_rate_drop_factor);
    if (o->learn_rate_drop_period < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "LearnRateDropPeriod must be a positive integer, not %d",
                           o->learn_rate_drop_period);
    if (o->validation_frequency < 1 || o->verbose_frequency < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "ValidationFrequency and VerboseFrequency must be positive integers");
    if (o->validation_patience < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "ValidationPatience must be a positive integer or Inf (0), not %d",
                           o->validation_patience);
    return MC_OK;
}

static void shuffle(mc_ctx *ctx, int *order, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(mc_rng_uniform(ctx) * (double)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Where a non-finite loss or gradient first appears. */
static mc_status non_finite(mc_net *net, int epoch, int iteration, double loss)
{
    mc_ctx *ctx = mc_net_ctx(net);
    const int bad = mc_net_first_nonfinite(net);
    if (!isfinite(loss)) {
        char where[160] = "";
        if (bad >= 0)
            snprintf(where, sizeof where,
                     "; the first non-finite value is in the output of "
                     "layer %d, '%s'",
                     bad + 1, mc_layer_name(mc_net_layer(net, bad)));
        return mc_ctx_fail(ctx, MC_ERR_NUMERIC,
                           "training stopped at iteration %d (epoch %d): the loss is %g%s",
                           iteration, epoch, loss, where);
    }
    for (int l = 0; l < mc_net_num_layers(net); l++) {
        mc_layer *layer = mc_net_layer(net, l);
        for (int p = 0; p < mc_layer_num_params(layer); p++) {
            const mc_param *prm = mc_layer_param(layer, p);
            for (size_t i = 0; i < mc_tensor_numel(&prm->grad); i++)
                if (!isfinite(prm->grad.data[i]))
                    return mc_ctx_fail(ctx, MC_ERR_NUMERIC,
                                       "training stopped at iteration %d (epoch %d): the "
                                       "gradient of %s of layer %d, '%s', is not finite",
                                       iteration, epoch, prm->name, l + 1, mc_layer_name(layer));
        }
    }
    return MC_OK;
}

static bool grads_finite(mc_net *net)
{
    for (int i = 0; i < mc_net_num_params(net); i++) {
        const mc_param *p = mc_net_param(net, i);
        for (size_t k = 0; k < mc_tensor_numel(&p->grad); k++)
            if (!isfinite(p->grad.data[k]))
                return false;
    }
    return true;
}

/* Everything a checkpoint keeps besides the network. */
struct mc_train_state {
    mc_ctx *ctx;
    mc_train_options opts; /* validation is the caller's */
    char *checkpoint_path; /* owned copy of opts.checkpoint_path */
    int epochs_done, iteration;
    int n; /* training observations */
    uint64_t data_hash;
    int *order;       /* (n) */
    mc_rng_state rng; /* at the end of the last finished epoch */
    long optim_steps;
    double best_val;
    int worse;
    int n_params;
    float **solver_a, **solver_b; /* restored solver state, NULL for a fresh start */
};

void mc_train_state_destroy(mc_train_state *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->n_params; i++) {
        if (s->solver_a != NULL)
            mc_free(s->ctx, s->solver_a[i]);
        if (s->solver_b != NULL)
            mc_free(s->ctx, s->solver_b[i]);
    }
    mc_free(s->ctx, s->solver_a);
    mc_free(s->ctx, s->solver_b);
    mc_free(s->ctx, s->order);
    mc_free(s->ctx, s->checkpoint_path);
    mc_free(s->ctx, s);
}

mc_train_options *mc_train_state_options(mc_train_state *s)
{
    return &s->opts;
}

int mc_train_state_epochs_done(const mc_train_state *s)
{
    return s->epochs_done;
}

int mc_train_state_iteration(const mc_train_state *s)
{
    return s->iteration;
}

/* FNV-1a over the data's shape, labels and values: a checkpoint resumes only on the data it
 * was made with. */
static uint64_t data_hash(const mc_dataset *d)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *parts[3] = {(const unsigned char *)&d->shape,
                                     (const unsigned char *)d->labels, (const unsigned char *)d->x};
    const size_t n = (size_t)d->shape.dims[0];
    const size_t lens[3] = {sizeof d->shape, n * sizeof(int),
                            mc_shape_numel(&d->shape) * sizeof(float)};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < lens[k]; i++)
            h = (h ^ parts[k][i]) * 1099511628211ULL;
    return h;
}

/* ---- Checkpoints: the training state after the network in a model file ---------------- */

/* BatchNormalizationStatistics rides in the Shuffle word, bit 8 set for 'population', so the
 * layout stays that of earlier checkpoints, whose runs (all 'moving', the only behaviour
 * then) resume as they were started. */
static int32_t shuffle_population(const mc_train_options *o)
{
    return o->batch_normalization_statistics == MC_BN_POPULATION ? 1 << 8 : 0;
}

static void put_options(mc__bytes *b, const mc_train_options *o)
{
    const double f[] = {o->solver.momentum,
                        o->solver.gradient_decay_factor,
                        o->solver.squared_gradient_decay_factor,
                        o->solver.epsilon,
                        o->solver.l2_regularization,
                        o->solver.gradient_threshold,
                        o->initial_learn_rate,
                        o->learn_rate_drop_factor};
    const int32_t i[] = {(int32_t)o->solver.solver,
                         (int32_t)o->solver.gradient_threshold_method,
                         o->max_epochs,
                         o->mini_batch_size,
                         (int32_t)o->shuffle | shuffle_population(o),
                         (int32_t)o->schedule,
                         o->learn_rate_drop_period,
                         o->validation_frequency,
                         o->validation_patience,
                         o->verbose_frequency};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        mc__put_f64(b, f[k]);
    for (size_t k = 0; k < sizeof i / sizeof i[0]; k++)
        mc__put_u(b, (uint32_t)i[k], 4);
}

static mc_status take_options(mc__reader *r, mc_train_options *o)
{
    double *f[] = {&o->solver.momentum,
                   &o->solver.gradient_decay_factor,
                   &o->solver.squared_gradient_decay_factor,
                   &o->solver.epsilon,
                   &o->solver.l2_regularization,
                   &o->solver.gradient_threshold,
                   &o->initial_learn_rate,
                   &o->learn_rate_drop_factor};
    int32_t v[10];
    mc_status st = MC_OK;
    for (size_t k = 0; st == MC_OK && k < sizeof f / sizeof f[0]; k++)
        st = mc__take_f64(r, f[k], "the training options");
    for (size_t k = 0; st == MC_OK && k < 10; k++) {
        uint64_t u = 0;
        st = mc__take_u(r, 4, &u, "the training options");
        v[k] = (int32_t)(uint32_t)u;
    }
    if (st != MC_OK)
        return st;
    o->solver.solver = (mc_solver)v[0];
    o->solver.gradient_threshold_method = (mc_grad_threshold_method)v[1];
    o->max_epochs = v[2];
    o->mini_batch_size = v[3];
    o->shuffle = (mc_shuffle)(v[4] & 0xff);
    const int32_t population = v[4] >> 8;
    if (population != 0 && population != 1)
        return mc__corrupt(r, "invalid training options");
    o->batch_normalization_statistics = population ? MC_BN_POPULATION : MC_BN_MOVING;
    o->schedule = (mc_lr_schedule)v[5];
    o->learn_rate_drop_period = v[6];
    o->validation_frequency = v[7];
    o->validation_patience = v[8];
    o->verbose_frequency = v[9];
    return check_options(r->ctx, o) == MC_OK ? MC_OK : mc__corrupt(r, "invalid training options");
}

/* Writes net_checkpoint__<iteration>__<yyyy_MM_dd__HH_mm_ss>.mcnn in the checkpoint folder,
 * exclusively: when another run made that name in the same second, ...__2.mcnn and so on. A
 * checkpoint never replaces another. */
static mc_status save_checkpoint(mc_net *net, const mc_train_state *s, mc_optim *opt)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc__bytes b = {ctx, NULL, 0, 0, false};
    put_options(&b, &s->opts);
    mc__put_u(&b, (uint64_t)s->epochs_done, 4);
    mc__put_u(&b, (uint64_t)s->iteration, 4);
    mc__put_u(&b, (uint64_t)s->n, 4);
    mc__put_u(&b, s->data_hash, 8);
    for (int i = 0; i < s->n; i++)
        mc__put_u(&b, (uint64_t)s->order[i], 4);
    for (int i = 0; i < 4; i++)
        mc__put_u(&b, s->rng.s[i], 8);
    mc__put_f64(&b, s->best_val);
    mc__put_u(&b, (uint64_t)s->worse, 4);
    mc__put_u(&b, (uint64_t)mc_optim_steps(opt), 8);
    mc__put_u(&b, (uint64_t)s->n_params, 4);
    for (int i = 0; i < s->n_params; i++) {
        float *a = NULL, *c = NULL;
        mc_optim_state(opt, i, &a, &c);
        const size_t count = mc_tensor_numel(&mc_net_param(net, i)->value);
        mc__put_floats(&b, a, count);
        if (s->opts.solver.solver == MC_SOLVER_ADAM)
            mc__put_floats(&b, c, count);
    }
    if (b.failed) {
        mc_free(ctx, b.data);
        return mc__nomem(ctx, "writing a checkpoint");
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    /* MATLAB's name, in a buffer sized for it: a folder path of any length */
#define CHECKPOINT_NAME "%s/net_checkpoint__%d__%04d_%02d_%02d__%02d_%02d_%02d.mcnn"
#define CHECKPOINT_ARGS                                                                            \
    s->checkpoint_path, s->iteration, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,    \
        tm.tm_min, tm.tm_sec
    const int len = snprintf(NULL, 0, CHECKPOINT_NAME, CHECKPOINT_ARGS);
    char *path = len < 0 ? NULL : mc_alloc(ctx, (size_t)len + 1);
    if (path == NULL) {
        mc_free(ctx, b.data);
        return mc__nomem(ctx, "naming a checkpoint");
    }
    snprintf(path, (size_t)len + 1, CHECKPOINT_NAME, CHECKPOINT_ARGS);
#undef CHECKPOINT_NAME
#undef CHECKPOINT_ARGS
    mc_status st = mc__model_write(net, path, MC__KIND_CHECKPOINT, b.data, b.len, true);
    mc_free(ctx, path);
    mc_free(ctx, b.data);
    return st;
}

mc_status mc_checkpoint_load(mc_ctx *ctx, const char *path, mc_net **net, mc_train_state **out)
{
    *net = NULL;
    *out = NULL;
    int kind = 0;
    unsigned char *payload = NULL;
    mc__reader r;
    mc_status st = mc__model_read(ctx, path, 1, net, &kind, &payload, &r);
    if (st == MC_OK && kind != MC__KIND_CHECKPOINT)
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                         "%s is a trained network, not a checkpoint: it has no training state "
                         "to resume",
                         path);
    mc_train_state *s = NULL;
    if (st == MC_OK && (s = mc__calloc(ctx, 1, sizeof *s)) == NULL)
        st = mc__nomem(ctx, "reading a checkpoint");
    uint64_t u[4] = {0};
    if (st == MC_OK) {
        s->ctx = ctx;
        s->opts = mc_train_default(MC_SOLVER_SGDM);
        st = take_options(&r, &s->opts);
    }
    for (int k = 0; st == MC_OK && k < 3; k++)
        st = mc__take_u(&r, 4, &u[k], "the training position");
    if (st == MC_OK) {
        s->epochs_done = (int)u[0];
        s->iteration = (int)u[1];
        s->n = (int)u[2];
        st = mc__take_u(&r, 8, &s->data_hash, "the data fingerprint");
    }
    if (st == MC_OK && (u[2] == 0 || u[2] > (r.len - r.at) / 4 || u[0] > u[1]))
        st = mc__corrupt(&r, "an impossible training position");
    if (st == MC_OK && (s->order = mc__calloc(ctx, (size_t)s->n, sizeof(int))) == NULL)
        st = mc__nomem(ctx, "reading a checkpoint");
    for (int i = 0; st == MC_OK && i < s->n; i++) {
        uint64_t v = 0;
        st = mc__take_u(&r, 4, &v, "the data order");
        if (st == MC_OK && v >= (uint64_t)s->n)
            st = mc__corrupt(&r, "an observation index out of range");
        s->order[i] = (int)v;
    }
    for (int i = 0; st == MC_OK && i < 4; i++)
        st = mc__take_u(&r, 8, &s->rng.s[i], "the random state");
    uint64_t worse = 0, steps = 0, n_params = 0;
    if (st == MC_OK)
        st = mc__take_f64(&r, &s->best_val, "the validation state");
    if (st == MC_OK)
        st = mc__take_u(&r, 4, &worse, "the validation state");
    if (st == MC_OK)
        st = mc__take_u(&r, 8, &steps, "the solver's step count");
    if (st == MC_OK)
        st = mc__take_u(&r, 4, &n_params, "the learnable count");
    if (st == MC_OK && n_params != (uint64_t)mc_net_num_params(*net))
        st = mc__corrupt(&r, "a solver state for another number of learnables");
    if (st == MC_OK) {
        s->worse = (int)worse;
        s->optim_steps = (long)steps;
        s->n_params = (int)n_params;
        s->solver_a = mc__calloc(ctx, n_params + 1, sizeof(float *));
        s->solver_b = mc__calloc(ctx, n_params + 1, sizeof(float *));
        if (s->solver_a == NULL || s->solver_b == NULL)
            st = mc__nomem(ctx, "reading a checkpoint");
    }
    const bool adam = st == MC_OK && s->opts.solver.solver == MC_SOLVER_ADAM;
    for (int i = 0; st == MC_OK && i < s->n_params; i++) {
        const size_t count = mc_tensor_numel(&mc_net_param(*net, i)->value);
        s->solver_a[i] = mc__calloc(ctx, count, sizeof(float));
        if (adam)
            s->solver_b[i] = mc__calloc(ctx, count, sizeof(float));
        if (s->solver_a[i] == NULL || (adam && s->solver_b[i] == NULL))
            st = mc__nomem(ctx, "reading a checkpoint");
        if (st == MC_OK)
            st = mc__take_floats(&r, s->solver_a[i], count, "the solver state");
        if (st == MC_OK && adam)
            st = mc__take_floats(&r, s->solver_b[i], count, "the solver state");
    }
    if (st == MC_OK && r.at != r.len)
        st = mc__corrupt(&r, "unexpected bytes after the data");
    mc_free(ctx, payload);
    if (st != MC_OK) {
        mc_train_state_destroy(s);
        mc_net_destroy(*net);
        *net = NULL;
        return st;
    }
    *out = s;
    return MC_OK;
}

/* ---- The loop ------------------------------------------------------------------------- */

/* BatchNormalizationStatistics 'population': MATLAB's finalization, one more pass over the
 * training set in training mode (as MATLAB's finalizeNetwork calls each layer's training
 * forward), in chunks of `batch` observations in data order; each batch normalization layer
 * merges the statistics of its input chunk by chunk, in chunk order, so the result depends
 * neither on the thread count nor on how the chunks would be shared out. The moving averages
 * the passes update are then replaced by the whole-set mean and variance. */
static mc_status finalize_batchnorm(mc_net *net, const mc_dataset *data, int batch)
{
    mc_ctx *ctx = mc_net_ctx(net);
    const int L = mc_net_num_layers(net);
    size_t total = 0;
    for (int l = 0; l < L; l++)
        if (mc__batchnorm_is(mc_net_layer(net, l)))
            total += 3 * (size_t)mc__batchnorm_channels(mc_net_layer(net, l));
    if (total == 0)
        return MC_OK;
    double *acc = mc__calloc(ctx, total, sizeof *acc);
    if (acc == NULL)
        return mc__nomem(ctx, "computing the batch normalization statistics");
    /* Dropout draws its masks here as in training; the random state is put back so that a run
     * resumed from its last checkpoint draws the same ones. */
    const mc_rng_state rng = mc_rng_get_state(ctx);
    const int N = data->shape.dims[0];
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    mc_status st = MC_OK;
    for (int n = 0; st == MC_OK && n < N; n += batch) {
        const int b = N - n < batch ? N - n : batch;
        st = mc_net_forward(net, data->x + (size_t)n * per, b, MC_MODE_TRAINING);
        double *a = acc;
        for (int l = 0; st == MC_OK && l < L; l++) {
            const mc_layer *layer = mc_net_layer(net, l);
            if (!mc__batchnorm_is(layer))
                continue;
            mc__batchnorm_population_add(layer, b, a);
            a += 3 * (size_t)mc__batchnorm_channels(layer);
        }
    }
    double *a = acc;
    for (int l = 0; st == MC_OK && l < L; l++) {
        mc_layer *layer = mc_net_layer(net, l);
        if (!mc__batchnorm_is(layer))
            continue;
        mc__batchnorm_population_store(layer, a);
        a += 3 * (size_t)mc__batchnorm_channels(layer);
    }
    mc_rng_set_state(ctx, rng);
    mc_free(ctx, acc);
    return st;
}

static mc_status run(mc_net *net, const mc_dataset *data, mc_train_state *s,
                     const mc_dataset *validation, mc_train_callback callback, void *user)
{
    mc_ctx *ctx = mc_net_ctx(net);
    const mc_train_options *o = &s->opts;
    const int N = data->shape.dims[0], B = o->mini_batch_size, K = mc_net_num_classes(net);
    const int per_epoch = N / B;
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    const int n_params = mc_net_num_params(net);
    mc_param **params = mc__calloc(ctx, (size_t)n_params + 1, sizeof *params);
    int *labels = mc__calloc(ctx, (size_t)B, sizeof *labels);
    float *x = mc__calloc(ctx, (size_t)B * per, sizeof *x);
    mc_optim *opt = NULL;
    mc_status st = MC_OK;
    if (params == NULL || labels == NULL || x == NULL)
        st = mc__nomem(ctx, "preparing training");
    for (int i = 0; st == MC_OK && i < n_params; i++)
        params[i] = mc_net_param(net, i);
    if (st == MC_OK)
        st = mc_optim_create(ctx, &o->solver, params, n_params, &opt);
    if (st == MC_OK && s->solver_a != NULL) { /* resuming: the solver where it was */
        for (int i = 0; i < n_params; i++) {
            float *a = NULL, *b = NULL;
            mc_optim_state(opt, i, &a, &b);
            const size_t count = mc_tensor_numel(&params[i]->value) * sizeof(float);
            memcpy(a, s->solver_a[i], count);
            if (b != NULL && s->solver_b[i] != NULL)
                memcpy(b, s->solver_b[i], count);
        }
        mc_optim_set_steps(opt, s->optim_steps);
    }
    const double start = now_seconds();
    const int total = per_epoch * o->max_epochs;
    bool stop = false, finalized = false;
    const bool population = o->batch_normalization_statistics == MC_BN_POPULATION;
    int iteration = s->iteration;
    for (int epoch = s->epochs_done + 1; st == MC_OK && !stop && epoch <= o->max_epochs; epoch++) {
        if (o->shuffle == MC_SHUFFLE_EVERY_EPOCH)
            shuffle(ctx, s->order, N);
        double rate = o->initial_learn_rate;
        if (o->schedule == MC_SCHEDULE_PIECEWISE)
            rate *=
                pow(o->learn_rate_drop_factor, (double)((epoch - 1) / o->learn_rate_drop_period));
        for (int it = 0; st == MC_OK && !stop && it < per_epoch; it++) {
            iteration++;
            const bool timing = mc_net_profiling(net);
            const double t_step = timing ? now_seconds() : 0;
            for (int b = 0; b < B; b++) {
                const int src = s->order[it * B + b];
                if (o->augmenter == NULL)
                    memcpy(x + (size_t)b * per, data->x + (size_t)src * per, per * sizeof(float));
                labels[b] = data->labels[src];
            }
            if (o->augmenter != NULL) /* by observation and epoch, in parallel */
                mc_augmenter_apply_batch(o->augmenter, epoch, data->x, s->order + (size_t)it * B, B,
                                         data->shape.dims[1], data->shape.dims[2],
                                         data->shape.dims[3], x);
            if (timing)
                mc_net_profile_add(net, MC_PROFILE_DATA, now_seconds() - t_step);
            mc_train_progress p;
            memset(&p, 0, sizeof p);
            st = mc_net_forward(net, x, B, MC_MODE_TRAINING);
            if (st == MC_OK)
                st = mc_net_loss(net, labels, &p.loss);
            if (st == MC_OK && !isfinite(p.loss))
                st = non_finite(net, epoch, iteration, p.loss);
            if (st != MC_OK)
                break;
            const float *scores = mc_net_scores(net);
            int correct = 0;
            for (int b = 0; b < B; b++) {
                int best = 0;
                for (int k = 1; k < K; k++)
                    if (scores[(size_t)b * K + k] > scores[(size_t)b * K + best])
                        best = k;
                correct += best == labels[b];
            }
            mc_net_zero_grad(net);
            st = mc_net_backward(net, labels);
            if (st == MC_OK && !grads_finite(net))
                st = non_finite(net, epoch, iteration, p.loss);
            if (st != MC_OK)
                break;
            const double t_opt = timing ? now_seconds() : 0;
            mc_optim_step(opt, rate);
            if (timing) {
                mc_net_profile_add(net, MC_PROFILE_OPTIMIZER, now_seconds() - t_opt);
                mc_net_profile_add(net, MC_PROFILE_STEP, now_seconds() - t_step);
            }
            p.epoch = epoch;
            p.iteration = iteration;
            p.iterations_per_epoch = per_epoch;
            p.accuracy = (double)correct / B;
            p.learn_rate = rate;
            p.epoch_end = it == per_epoch - 1;
            p.last = iteration == total;
            /* BatchNormalizationStatistics 'population': the statistics are final before the
             * last validation (MATLAB's final validation metrics) and the last checkpoint */
            if (p.last && population && !finalized) {
                st = finalize_batchnorm(net, data, B);
                finalized = true;
                if (st != MC_OK)
                    break;
            }
            if (validation != NULL &&
                (iteration == 1 || iteration % o->validation_frequency == 0 || p.last)) {
                st = mc_evaluate(net, validation, &p.validation_accuracy, &p.validation_loss);
                if (st != MC_OK)
                    break;
                p.validated = true;
                if (p.validation_loss < s->best_val) {
                    s->best_val = p.validation_loss;
                    s->worse = 0;
                } else if (o->validation_patience > 0 && ++s->worse >= o->validation_patience) {
                    stop = true;
                    p.last = true;
                }
            }
            if (stop && population && !finalized) {
                st = finalize_batchnorm(net, data, B);
                finalized = true;
                if (st != MC_OK)
                    break;
            }
            if (p.epoch_end && s->checkpoint_path != NULL) {
                s->epochs_done = epoch;
                s->iteration = iteration;
                s->rng = mc_rng_get_state(ctx);
                st = save_checkpoint(net, s, opt);
                if (st != MC_OK)
                    break;
            }
            /* MATLAB's display frequency is [VerboseFrequency ValidationFrequency] */
            p.verbose_row =
                iteration == 1 || iteration % o->verbose_frequency == 0 || p.last || p.validated;
            p.seconds = now_seconds() - start;
            if (callback != NULL && callback(user, &p) != 0)
                stop = true;
        }
    }
    if (st == MC_OK && population && !finalized) /* stopped by the callback, or resumed after
                                                  * the last epoch */
        st = finalize_batchnorm(net, data, B);
    mc_optim_destroy(opt);
    mc_free(ctx, params);
    mc_free(ctx, labels);
    mc_free(ctx, x);
    return st;
}

/* Checks the network against the data and options before a run. */
static mc_status prepare(mc_net *net, const mc_dataset *data, const mc_train_options *o,
                         const mc_dataset *validation)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc_status st = check_options(ctx, o);
    /* Sizes against the data before any buffer is sized by them; every count of iterations
     * the loop and its checkpoints keep must fit an int. */
    const int N = data->shape.ndim > 0 ? data->shape.dims[0] : 0, B = o->mini_batch_size;
    if (st == MC_OK && N / B == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "MiniBatchSize (%d) is larger than the training data (%d "
                           "observations)",
                           B, N);
    if (st == MC_OK && (long long)(N / B) * o->max_epochs > INT_MAX)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "MaxEpochs (%d) times the %d iterations per epoch (%d observations "
                           "in mini-batches of %d) is %lld iterations, more than the %d that "
                           "can be counted; lower MaxEpochs to at most %d",
                           o->max_epochs, N / B, N, B, (long long)(N / B) * o->max_epochs, INT_MAX,
                           INT_MAX / (N / B));
    if (st == MC_OK && mc_net_max_batch(net) < o->mini_batch_size)
        st = mc_net_assemble(net, o->mini_batch_size);
    if (st == MC_OK)
        st = check_data(net, data, "training data");
    if (st == MC_OK && validation != NULL)
        st = mc_data_check_against_net(net, validation, "validation data");
    if (st == MC_OK && o->augmenter != NULL)
        st = data->shape.ndim == 4
                 ? mc_augmenter_check(ctx, o->augmenter, data->shape.dims[1], data->shape.dims[2],
                                      data->shape.dims[3])
                 : mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "an imageDataAugmenter augments images, not feature data");
    if (st != MC_OK)
        return st;
    const int K = mc_net_num_classes(net);
    for (int i = 0; i < N; i++)
        if (data->labels[i] < 0 || data->labels[i] >= K)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "label %d of training observation %d is outside the network's %d "
                               "classes",
                               data->labels[i], i + 1, K);
    return MC_OK;
}

mc_status mc_train(mc_net *net, const mc_dataset *data, const mc_train_options *o,
                   mc_train_callback callback, void *user)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc_status st = prepare(net, data, o, o->validation);
    if (st != MC_OK)
        return st;
    mc_train_state *s = mc__calloc(ctx, 1, sizeof *s);
    if (s == NULL)
        return mc__nomem(ctx, "preparing training");
    s->ctx = ctx;
    s->opts = *o;
    s->opts.validation = NULL;
    s->opts.checkpoint_path = NULL;
    s->n = data->shape.dims[0];
    s->n_params = mc_net_num_params(net);
    s->best_val = INFINITY;
    s->order = mc__calloc(ctx, (size_t)s->n, sizeof(int));
    if (s->order == NULL)
        st = mc__nomem(ctx, "preparing training");
    if (st == MC_OK && o->checkpoint_path != NULL) {
        s->checkpoint_path = mc__strdup(ctx, o->checkpoint_path);
        if (s->checkpoint_path == NULL)
            st = mc__nomem(ctx, "preparing training");
        else
            s->data_hash = data_hash(data);
    }
    for (int i = 0; st == MC_OK && i < s->n; i++)
        s->order[i] = i;
    if (st == MC_OK && o->shuffle == MC_SHUFFLE_ONCE)
        shuffle(ctx, s->order, s->n);
    if (st == MC_OK)
        st = run(net, data, s, o->validation, callback, user);
    mc_train_state_destroy(s);
    return st;
}

mc_status mc_train_resume(mc_net *net, const mc_dataset *data, mc_train_state *s,
                          const char *checkpoint_path, const mc_dataset *validation,
                          mc_train_callback callback, void *user)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc_status st = prepare(net, data, &s->opts, validation);
    if (st != MC_OK)
        return st;
    if (data->shape.dims[0] != s->n || data_hash(data) != s->data_hash)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "the checkpoint was made with other training data (%d observations); "
                           "resume it with the same data and options",
                           s->n);
    mc_free(ctx, s->checkpoint_path);
    s->checkpoint_path = NULL;
    if (checkpoint_path != NULL && (s->checkpoint_path = mc__strdup(ctx, checkpoint_path)) == NULL)
        return mc__nomem(ctx, "resuming training");
    mc_rng_set_state(ctx, s->rng);
    return run(net, data, s, validation, callback, user);
}
