/* SPDX-License-Identifier: MIT */
/* CSV tables for the command: a featureInputLayer network's training and test data. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "validation.h"

bool cli_is_csv(const char *path)
{
    const size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".csv") == 0;
}

/* Splits d per class: round(p * count) of each class's rows (p in (0, 1)) or p of them (a
 * whole p >= 1, splitEachLabel's count), chosen by the RNG, train; the rest test; both keep
 * the rows' order. */
static mc_status split_rows(mc_ctx *ctx, const mc_table_data *table, double p, mc_dataset *train,
                            mc_dataset *test)
{
    const mc_dataset *d = &table->data;
    const int n = d->shape.dims[0], f = d->shape.dims[1], K = d->num_classes;
    int *order = mc_alloc(ctx, (size_t)n * sizeof *order);
    unsigned char *to_train = mc_alloc(ctx, (size_t)n);
    mc_status st = MC_OK;
    if (order == NULL || to_train == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while splitting a table");
    int ntrain = 0;
    for (int k = 0; k < K && st == MC_OK; k++) {
        int c = 0;
        for (int i = 0; i < n; i++)
            if (d->labels[i] == k)
                order[c++] = i;
        for (int i = c - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(mc_rng_next(ctx) % (uint64_t)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        const int take = p >= 1 ? (int)p : (int)floor(p * c + 0.5);
        if (take > c) {
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "--split %g takes %d rows of each class for training, but class "
                             "'%s' has only %d",
                             p, take, table->classes[k], c);
            break;
        }
        for (int i = 0; i < c; i++)
            to_train[order[i]] = i < take;
        ntrain += take;
    }
    mc_dataset *part[2] = {train, test};
    for (int s = 0; s < 2 && st == MC_OK; s++) {
        const int m = s == 0 ? ntrain : n - ntrain;
        if (m == 0) {
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "splitting the table with --split %g leaves no %s rows; change "
                             "--split",
                             p, s == 0 ? "training" : "test");
            break;
        }
        int dims[2] = {m, f};
        part[s]->shape = mc_shape_make(2, dims);
        part[s]->num_classes = K;
        part[s]->x = mc_alloc(ctx, (size_t)m * (size_t)f * sizeof(float));
        part[s]->labels = mc_alloc(ctx, (size_t)m * sizeof(int));
        if (part[s]->x == NULL || part[s]->labels == NULL) {
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory while splitting a table");
            break;
        }
        for (int i = 0, r = 0; i < n; i++)
            if (to_train[i] == (s == 0)) {
                memcpy(part[s]->x + (size_t)r * (size_t)f, d->x + (size_t)i * (size_t)f,
                       (size_t)f * sizeof(float));
                part[s]->labels[r++] = d->labels[i];
            }
    }
    mc_free(ctx, order);
    mc_free(ctx, to_train);
    return st;
}

/* The data of a table read from CSV (the table is released), with the hint of --omit-missing
 * added to a missing value's message. */
static mc_status table_data(mc_ctx *ctx, mc_table *t, const mc_table_options *to, mc_table_data *d)
{
    mc_status st = mc_table_to_data(ctx, t, to, d);
    mc_table_release(ctx, t);
    if (st == MC_ERR_FORMAT && strstr(mc_ctx_message(ctx), "missing value") != NULL) {
        char why[1024]; /* the message is rewritten in place: copied first */
        snprintf(why, sizeof why, "%s", mc_ctx_message(ctx));
        mc_ctx_fail(ctx, st, "%s; --omit-missing leaves such rows out", why);
    }
    return st;
}

mc_status cli_read_table(mc_ctx *ctx, mc_net *net, int max_batch, const cli_table *o,
                         mc_dataset *train, mc_dataset *test)
{
    mc_status st = MC_OK;
    if (!mc_net_is_assembled(net) && (st = mc_net_assemble(net, max_batch)) != MC_OK)
        return st;
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 2)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "the network takes images, not feature vectors; a CSV table needs "
                           "a featureInputLayer");
    const double p = isnan(o->split) ? 0.75 : o->split;
    if (!(p > 0 && p < 1) && !(p >= 1 && p <= 1e9 && p == floor(p)))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "--split takes the proportion of each class's rows to train on, "
                           "between 0 and 1 (not inclusive), or a whole number of rows per "
                           "class (1 or more), not %g",
                           p);
    mc_table t;
    mc_table_data d;
    memset(&d, 0, sizeof d);
    st = mc_table_read_csv(ctx, o->path, &t);
    if (st != MC_OK)
        return st;
    mc_table_options to = mc_table_default();
    to.response = o->response;
    to.omit_missing = o->omit_missing;
    st = table_data(ctx, &t, &to, &d);
    const int F = st == MC_OK ? d.data.shape.dims[1] : 0;
    if (st == MC_OK && F != in.dims[1])
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                         "%s has %d predictor columns but the network's featureInputLayer takes "
                         "%d features; make its input size %d",
                         o->path, F, in.dims[1], F);
    const int K = mc_net_num_classes(net);
    if (st == MC_OK && d.data.num_classes != K)
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                         "%s has %d classes in its response column but the network's output has "
                         "%d; make the last fully connected layer's output size %d",
                         o->path, d.data.num_classes, K, d.data.num_classes);
    mc_layer *out = cli_output_layer(net);
    if (st == MC_OK && out != NULL && mc_classification_num_classes(out) == 0)
        st = mc_classification_set_classes(out, (const char *const *)d.classes, K);
    if (st == MC_OK) {
        /* The split depends on the seed and the table alone. */
        const mc_rng_state saved = mc_rng_get_state(ctx);
        mc_rng_seed(ctx, o->seed);
        st = split_rows(ctx, &d, p, train, test);
        mc_rng_set_state(ctx, saved);
    }
    if (st == MC_OK) {
        printf("Table %s: %d rows of %d predictors, %d classes (", o->path, d.data.shape.dims[0], F,
               K);
        for (int k = 0; k < K && k < 12; k++)
            printf("%s%s", k ? ", " : "", d.classes[k]);
        printf("); %d training and %d test rows, %g of each class to training (seed %llu)",
               train->shape.dims[0], test->shape.dims[0], p, (unsigned long long)o->seed);
        if (d.num_rows_omitted > 0)
            printf("; %d rows with a missing value left out", d.num_rows_omitted);
        printf(".\n");
    } else {
        mc_dataset_release(ctx, train);
        mc_dataset_release(ctx, test);
    }
    mc_table_data_release(ctx, &d);
    return st;
}

/* The network's class names (its output layer's, else "1".."K" as a table names integer
 * classes); names[k] points into `store` or the layer. */
static int net_classes(const mc_net *net, const char **names, char (*store)[16], int cap)
{
    const mc_layer *out = cli_output_layer(net);
    const int K = mc_net_num_classes(net);
    if (K > cap)
        return -1;
    for (int k = 0; k < K; k++) {
        names[k] = out != NULL && mc_classification_num_classes(out) == K
                       ? mc_classification_class_name(out, k)
                       : NULL;
        if (names[k] == NULL) {
            snprintf(store[k], sizeof store[k], "%d", k);
            names[k] = store[k];
        }
    }
    return K;
}

mc_status cli_read_validation_table(mc_ctx *ctx, const mc_net *net, const char *path,
                                    const char *response, bool omit_missing, const char *what,
                                    mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    const mc_shape in = mc_net_input_shape(net, 1);
    if (in.ndim != 2)
        return mc_ctx_fail(ctx, MC_ERR_SHAPE,
                           "the %s table %s: the network takes images, not feature vectors; "
                           "a CSV table needs a featureInputLayer",
                           what, path);
    char store[1024][16];
    const char *names[1024];
    const int K = net_classes(net, names, store, 1024);
    if (K < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "the %s table %s: too many classes (%d)", what,
                           path, mc_net_num_classes(net));
    mc_table t;
    mc_table_data d;
    memset(&d, 0, sizeof d);
    mc_status st = mc_table_read_csv(ctx, path, &t);
    if (st != MC_OK)
        return st;
    mc_table_options to = mc_table_default();
    to.response = response;
    to.omit_missing = omit_missing;
    to.classes = names;
    to.num_classes = K;
    st = table_data(ctx, &t, &to, &d);
    const int F = st == MC_OK ? d.data.shape.dims[1] : 0;
    if (st == MC_OK && F != in.dims[1])
        st = mc_ctx_fail(ctx, MC_ERR_SHAPE,
                         "the %s table %s has %d predictor columns but the network's "
                         "featureInputLayer takes %d features, as the training table has",
                         what, path, F, in.dims[1]);
    if (st == MC_OK) {
        printf("%c%s table %s: %d rows of %d predictors", what[0] - 'a' + 'A', what + 1, path,
               d.data.shape.dims[0], F);
        if (d.num_rows_omitted > 0)
            printf("; %d rows with a missing value left out", d.num_rows_omitted);
        printf(".\n");
        *out = d.data; /* the data set is taken; the names are released */
        d.data.x = NULL;
        d.data.labels = NULL;
    }
    mc_table_data_release(ctx, &d);
    return st;
}
