/* The training loop (MATLAB's trainNetwork) and evaluation. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <minicnn/input.h>
#include <minicnn/train.h>

#include "internal.h"

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

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "28x28x1 images" or "784 features", MATLAB's way of naming one observation's size. */
static void observation_text(const mc_shape *s, char *buf, size_t cap)
{
    if (s->ndim == 4)
        snprintf(buf, cap, "%dx%dx%d images", s->dims[2], s->dims[3], s->dims[1]);
    else if (s->ndim == 2)
        snprintf(buf, cap, "%d features", s->dims[1]);
    else {
        char dims[64];
        mc_shape_format(s, "x", dims, sizeof dims);
        snprintf(buf, cap, "observations of shape [%s]", dims);
    }
}

/* The data's observations must have the network's input shape. */
static mc_status check_data(mc_net *net, const mc_dataset *data, const char *what)
{
    mc_shape want = mc_net_input_shape(net, 1), have = data->shape;
    have.dims[0] = 1;
    bool same = want.ndim == have.ndim;
    for (int d = 0; same && d < want.ndim; d++)
        same = want.dims[d] == have.dims[d];
    if (!same) {
        char w[96], h[96];
        observation_text(&want, w, sizeof w);
        observation_text(&have, h, sizeof h);
        return mc_ctx_fail(mc_net_ctx(net), MC_ERR_SHAPE,
                           "the %s are %s but the network's input layer takes %s", what, h, w);
    }
    if (data->shape.dims[0] < 1)
        return mc_ctx_fail(mc_net_ctx(net), MC_ERR_SHAPE, "the %s hold no observations", what);
    return MC_OK;
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

mc_status mc_evaluate(mc_net *net, const mc_dataset *data, double *accuracy, double *loss)
{
    *accuracy = *loss = NAN;
    mc_ctx *ctx = mc_net_ctx(net);
    if (!mc_net_is_assembled(net))
        return mc_ctx_fail(ctx, MC_ERR_STATE, "evaluate: the network is not assembled");
    mc_status st = check_data(net, data, "data");
    if (st != MC_OK)
        return st;
    const int N = data->shape.dims[0], B = mc_net_max_batch(net), K = mc_net_num_classes(net);
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    double total = 0.0;
    long correct = 0;
    for (int n = 0; n < N; n += B) {
        const int b = N - n < B ? N - n : B;
        st = mc_net_forward(net, data->x + (size_t)n * per, b, MC_MODE_INFERENCE);
        double l = 0.0;
        if (st == MC_OK)
            st = mc_net_loss(net, data->labels + n, &l);
        if (st != MC_OK)
            return st;
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
    *accuracy = (double)correct / N;
    *loss = total / N;
    return MC_OK;
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
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "MiniBatchSize must be a positive integer, not %d", o->mini_batch_size);
    if ((unsigned)o->shuffle > MC_SHUFFLE_EVERY_EPOCH || (unsigned)o->schedule > 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown Shuffle or LearnRateSchedule value");
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
            snprintf(where, sizeof where, "; the first non-finite value is in the output of "
                                          "layer %d, '%s'",
                     bad + 1, mc_layer_name(mc_net_layer(net, bad)));
        return mc_ctx_fail(ctx, MC_ERR_NUMERIC,
                           "training stopped at iteration %d (epoch %d): the loss is %g%s", iteration,
                           epoch, loss, where);
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

mc_status mc_train(mc_net *net, const mc_dataset *data, const mc_train_options *o,
                   mc_train_callback callback, void *user)
{
    mc_ctx *ctx = mc_net_ctx(net);
    mc_status st = check_options(ctx, o);
    if (st == MC_OK && mc_net_max_batch(net) < o->mini_batch_size)
        st = mc_net_assemble(net, o->mini_batch_size);
    if (st == MC_OK)
        st = check_data(net, data, "training data");
    if (st == MC_OK && o->validation != NULL)
        st = check_data(net, o->validation, "validation data");
    if (st != MC_OK)
        return st;
    const int N = data->shape.dims[0], B = o->mini_batch_size, K = mc_net_num_classes(net);
    const int per_epoch = N / B;
    if (per_epoch == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "the mini-batch size (%d) is larger than the training data (%d "
                           "observations)",
                           B, N);
    for (int i = 0; i < N; i++)
        if (data->labels[i] < 0 || data->labels[i] >= K)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "label %d of training observation %d is outside the network's %d "
                               "classes",
                               data->labels[i], i + 1, K);
    const size_t per = mc_shape_numel(&data->shape) / (size_t)N;
    const int n_params = mc_net_num_params(net);
    mc_param **params = mc__calloc(ctx, (size_t)n_params + 1, sizeof *params);
    int *order = mc__calloc(ctx, (size_t)N, sizeof *order);
    int *labels = mc__calloc(ctx, (size_t)B, sizeof *labels);
    float *x = mc__calloc(ctx, (size_t)B * per, sizeof *x);
    mc_optim *opt = NULL;
    if (params == NULL || order == NULL || labels == NULL || x == NULL)
        st = mc__nomem(ctx, "preparing training");
    for (int i = 0; st == MC_OK && i < n_params; i++)
        params[i] = mc_net_param(net, i);
    if (st == MC_OK)
        st = mc_optim_create(ctx, &o->solver, params, n_params, &opt);
    for (int i = 0; i < N && order != NULL; i++)
        order[i] = i;
    if (st == MC_OK && o->shuffle == MC_SHUFFLE_ONCE)
        shuffle(ctx, order, N);
    const double start = now_seconds();
    const int total = per_epoch * o->max_epochs;
    double best_val = INFINITY;
    int worse = 0, iteration = 0;
    bool stop = false;
    for (int epoch = 1; st == MC_OK && !stop && epoch <= o->max_epochs; epoch++) {
        if (o->shuffle == MC_SHUFFLE_EVERY_EPOCH)
            shuffle(ctx, order, N);
        double rate = o->initial_learn_rate;
        if (o->schedule == MC_SCHEDULE_PIECEWISE)
            rate *= pow(o->learn_rate_drop_factor, (double)((epoch - 1) / o->learn_rate_drop_period));
        for (int it = 0; st == MC_OK && !stop && it < per_epoch; it++) {
            iteration++;
            for (int b = 0; b < B; b++) {
                const int src = order[it * B + b];
                memcpy(x + (size_t)b * per, data->x + (size_t)src * per, per * sizeof(float));
                labels[b] = data->labels[src];
            }
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
            mc_optim_step(opt, rate);
            p.epoch = epoch;
            p.iteration = iteration;
            p.iterations_per_epoch = per_epoch;
            p.accuracy = (double)correct / B;
            p.learn_rate = rate;
            p.epoch_end = it == per_epoch - 1;
            p.last = iteration == total;
            if (o->validation != NULL &&
                (iteration == 1 || iteration % o->validation_frequency == 0 || p.last)) {
                st = mc_evaluate(net, o->validation, &p.validation_accuracy, &p.validation_loss);
                if (st != MC_OK)
                    break;
                p.validated = true;
                if (p.validation_loss < best_val) {
                    best_val = p.validation_loss;
                    worse = 0;
                } else if (o->validation_patience > 0 && ++worse >= o->validation_patience) {
                    stop = true;
                    p.last = true;
                }
            }
            p.verbose_row = iteration == 1 || iteration % o->verbose_frequency == 0 || p.last;
            p.seconds = now_seconds() - start;
            if (callback != NULL && callback(user, &p) != 0)
                stop = true;
        }
    }
    mc_optim_destroy(opt);
    mc_free(ctx, params);
    mc_free(ctx, order);
    mc_free(ctx, labels);
    mc_free(ctx, x);
    return st;
}
