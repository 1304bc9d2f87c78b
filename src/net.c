/* SPDX-License-Identifier: MIT */
/* The layer graph: construction, assembly (names, checks, shapes, buffers), forward and
 * backward passes. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <minicnn/input.h>
#include <minicnn/layers.h>
#include <minicnn/net.h>

#include "internal.h"
#include "parallel.h"

typedef struct node {
    mc_layer *layer;
    int src[MC_MAX_LAYER_INPUTS]; /* source node of each input, -1 when unconnected */
    int consumers;                /* inputs of other nodes this node's output feeds */
    mc_tensor out;                /* activation, (max_batch, ...) */
    mc_tensor dout;               /* dLoss/dout, (max_batch, ...) */
    /* For each input whose source feeds several inputs: this node's own dLoss/din, summed into
     * the source's dout before the source's backward. Otherwise the input gradient is written
     * straight into the source's dout. */
    mc_tensor din_own[MC_MAX_LAYER_INPUTS];
    /* A ReLU feeding only a max pooling: the pooling's backward does the ReLU's too (one pass
     * over memory less); relu_by_pool on the ReLU, pool_does_relu on the pooling. */
    bool relu_by_pool, pool_does_relu;
    double forward_s, backward_s; /* profiled wall time of this layer's passes */
} node;

struct mc_net {
    mc_ctx *ctx;
    node *nodes;
    int n, cap;
    int *order; /* topological order, after assembly */
    bool assembled;
    int max_batch;
    int input, output; /* node indices */
    int fused_softmax; /* node index of a softmax that only feeds the output layer, or -1 */
    int batch;         /* observations of the last forward pass, 0 before */
    bool trained;      /* the last forward pass was in training mode */
    const float *x;    /* data of the last forward pass (borrowed) */
    bool want_dx;      /* compute the gradient with respect to the input layer's output */
    char *source;      /* the network file's text, or NULL */
    /* The connections in mc_net_connection's order, built when first asked for and dropped
     * when the graph changes: (src, dst, input) triples. */
    int *connections;
    int n_connections; /* -1 while not built */
    /* A hash index of the layer names, built when first asked for and dropped when layers
     * come, go or get names; a layer renamed behind the net's back is still found, by a
     * scan, as the index checks every name it returns. */
    mc__name_index names;
    int names_room;   /* entries the index has room for */
    int unnamed_from; /* layers before it were named by the last mc_net_assign_names */
    /* Per default name, the number below which every "<default>_<k>" names a layer, so that
     * numbering does not probe from 1 at every addLayers (reset when layers are removed). */
    struct {
        const char *default_name;
        int next;
    } numbered[32];
    int n_numbered;
    /* mc_net_set_profiling: while on, each layer's training passes are timed into its node,
     * and the trainer adds its own parts (data, optimizer, whole steps) here. */
    bool profiling;
    double parts[MC_PROFILE_PARTS];
    int profiled_steps;
};

/* Wall time for the profile. */
static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where the numbering of `d` may start (1 unless known). */
static int *numbering_of(mc_net *net, const char *d)
{
    for (int i = 0; i < net->n_numbered; i++)
        if (strcmp(net->numbered[i].default_name, d) == 0)
            return &net->numbered[i].next;
    if (net->n_numbered == 32)
        return NULL;
    net->numbered[net->n_numbered].default_name = d;
    net->numbered[net->n_numbered].next = 1;
    return &net->numbered[net->n_numbered++].next;
}

static void names_changed(mc_net *net)
{
    mc__name_index_release(net->ctx, &net->names);
    net->names_room = 0;
}

static const char *node_name(const void *owner, int i);

/* Builds the name index afresh with room for at least `need` entries (twice what it had, so
 * that growing one layer at a time costs O(1) per layer). False when there is no memory:
 * lookups then scan. */
static bool index_names(mc_net *net, int need)
{
    int room = net->names_room * 2 > need ? net->names_room * 2 : need;
    room = room < 16 ? 16 : room;
    names_changed(net);
    if (mc__name_index_init(net->ctx, &net->names, (size_t)room, node_name, net,
                            "indexing the layer names") != MC_OK)
        return false;
    net->names_room = room;
    for (int i = 0; i < net->n; i++)
        if (net->nodes[i].layer->name[0] != '\0')
            mc__name_index_add(&net->names, i);
    return true;
}

static void connections_changed(mc_net *net)
{
    mc_free(net->ctx, net->connections);
    net->connections = NULL;
    net->n_connections = -1;
}

static bool is_input(const node *nd)
{
    return nd->layer->vt->role == MC_ROLE_INPUT;
}

mc_status mc_net_create(mc_ctx *ctx, mc_net **out)
{
    *out = NULL;
    mc_net *net = mc__calloc(ctx, 1, sizeof *net);
    if (net == NULL)
        return mc__nomem(ctx, "creating a network");
    net->ctx = ctx;
    net->input = net->output = net->fused_softmax = -1;
    net->n_connections = -1;
    *out = net;
    return MC_OK;
}

static void release_buffers(mc_net *net)
{
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        mc_tensor_release(net->ctx, &nd->out);
        mc_tensor_release(net->ctx, &nd->dout);
        for (int k = 0; k < MC_MAX_LAYER_INPUTS; k++)
            mc_tensor_release(net->ctx, &nd->din_own[k]);
    }
    mc_free(net->ctx, net->order);
    net->order = NULL;
    net->assembled = false;
    net->batch = 0;
}

void mc_net_destroy(mc_net *net)
{
    if (net == NULL)
        return;
    release_buffers(net);
    for (int i = 0; i < net->n; i++)
        mc_layer_destroy(net->nodes[i].layer);
    mc_free(net->ctx, net->nodes);
    mc_free(net->ctx, net->source);
    connections_changed(net);
    names_changed(net);
    mc_free(net->ctx, net);
}

mc_status mc_net_set_source(mc_net *net, const char *text, size_t len)
{
    char *copy = mc_alloc(net->ctx, len + 1);
    if (copy == NULL)
        return mc__nomem(net->ctx, "keeping the network file's text");
    memcpy(copy, text, len);
    copy[len] = '\0';
    mc_free(net->ctx, net->source);
    net->source = copy;
    return MC_OK;
}

const char *mc_net_source(const mc_net *net)
{
    return net->source;
}

static mc_status not_after_assembly(mc_net *net, const char *what)
{
    return mc_ctx_fail(net->ctx, MC_ERR_STATE, "cannot %s: the network is already assembled", what);
}

mc_status mc_net_add_layers(mc_net *net, mc_layer **layers, int n)
{
    mc_status st = MC_OK;
    if (net->assembled)
        st = not_after_assembly(net, "add layers");
    if (st == MC_OK && net->n + n > net->cap) {
        int cap = net->cap ? net->cap : 16;
        while (cap < net->n + n)
            cap *= 2;
        node *nodes = mc__calloc(net->ctx, (size_t)cap, sizeof *nodes);
        if (nodes == NULL) {
            st = mc__nomem(net->ctx, "adding layers to a network");
        } else {
            if (net->n > 0)
                memcpy(nodes, net->nodes, (size_t)net->n * sizeof *nodes);
            mc_free(net->ctx, net->nodes);
            net->nodes = nodes;
            net->cap = cap;
        }
    }
    if (st != MC_OK) {
        for (int i = 0; i < n; i++)
            mc_layer_destroy(layers[i]);
        return st;
    }
    for (int i = 0; i < n; i++) {
        node *nd = &net->nodes[net->n];
        memset(nd, 0, sizeof *nd);
        nd->layer = layers[i];
        for (int k = 0; k < MC_MAX_LAYER_INPUTS; k++)
            nd->src[k] = -1;
        if (i > 0 && !is_input(nd))
            nd->src[0] = net->n - 1;
        net->n++;
    }
    connections_changed(net);
    if (net->names.slots != NULL) {
        if (net->n > net->names_room)
            index_names(net, net->n);
        else
            for (int i = net->n - n; i < net->n; i++)
                if (net->nodes[i].layer->name[0] != '\0')
                    mc__name_index_add(&net->names, i);
    }
    return MC_OK;
}

static int find_node(const mc_net *net, const char *name, size_t len)
{
    mc_net *m = (mc_net *)net; /* the index is a cache: the graph itself does not change */
    if (m->names.slots == NULL && net->n > 0)
        index_names(m, net->n);
    if (m->names.slots != NULL) {
        const int i = mc__name_index_find(&m->names, name, len);
        if (i >= 0)
            return i;
    }
    for (int i = 0; i < net->n; i++) {
        const char *nm = net->nodes[i].layer->name;
        if (nm[0] != '\0' && strlen(nm) == len && strncmp(nm, name, len) == 0)
            return i;
    }
    return -1;
}

mc_layer *mc_net_find(const mc_net *net, const char *name)
{
    int i = find_node(net, name, strlen(name));
    return i < 0 ? NULL : net->nodes[i].layer;
}

/* Resolves "name" or "name/port" to a node and, for inputs, an input index. */
static mc_status resolve(mc_net *net, const char *spec, bool is_dst, int *node_index, int *port)
{
    const char *slash = strchr(spec, '/');
    size_t len = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
    int i = find_node(net, spec, len);
    if (i < 0)
        return mc_ctx_fail(net->ctx, MC_ERR_INVALID, "connectLayers: no layer named '%.*s'",
                           (int)len, spec);
    const mc_layer *l = net->nodes[i].layer;
    *node_index = i;
    *port = 0;
    if (slash == NULL)
        return MC_OK;
    const char *pname = slash + 1;
    int count = is_dst ? l->num_inputs : l->num_outputs;
    for (int k = 0; k < count; k++) {
        const char *have = is_dst ? l->input_names[k] : l->output_names[k];
        if (strcmp(have, pname) == 0) {
            *port = k;
            return MC_OK;
        }
    }
    char names[256] = "";
    for (int k = 0; k < count && strlen(names) < 200; k++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s'%s'", k ? ", " : "",
                 is_dst ? l->input_names[k] : l->output_names[k]);
    }
    return mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                       "connectLayers: layer '%s' has no %s named '%s' "
                       "(it has %s)",
                       l->name, is_dst ? "input" : "output", pname, count ? names : "none");
}

mc_status mc_net_connect(mc_net *net, const char *src, const char *dst)
{
    if (net->assembled)
        return not_after_assembly(net, "connect layers");
    int s, sp, d, dp;
    mc_status st = resolve(net, src, false, &s, &sp);
    if (st == MC_OK)
        st = resolve(net, dst, true, &d, &dp);
    if (st != MC_OK)
        return st;
    node *nd = &net->nodes[d];
    if (is_input(nd))
        return mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                           "connectLayers: '%s' is an input layer and takes no connections",
                           nd->layer->name);
    if (nd->src[dp] >= 0)
        return mc_ctx_fail(
            net->ctx, MC_ERR_INVALID, "connectLayers: input '%s/%s' is already connected to '%s'",
            nd->layer->name, nd->layer->input_names[dp], net->nodes[nd->src[dp]].layer->name);
    nd->src[dp] = s;
    connections_changed(net);
    return MC_OK;
}

mc_status mc_net_disconnect(mc_net *net, const char *src, const char *dst)
{
    if (net->assembled)
        return not_after_assembly(net, "disconnect layers");
    int s, sp, d, dp;
    mc_status st = resolve(net, src, false, &s, &sp);
    if (st == MC_OK)
        st = resolve(net, dst, true, &d, &dp);
    if (st != MC_OK)
        return st;
    if (net->nodes[d].src[dp] != s)
        return mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                           "disconnectLayers: '%s' is not connected to '%s/%s'", src,
                           net->nodes[d].layer->name, net->nodes[d].layer->input_names[dp]);
    net->nodes[d].src[dp] = -1;
    connections_changed(net);
    return MC_OK;
}

mc_status mc_net_replace_layer(mc_net *net, const char *name, mc_layer *layer)
{
    const int i = find_node(net, name, strlen(name));
    mc_status st = MC_OK;
    if (net->assembled)
        st = not_after_assembly(net, "replace a layer");
    else if (i < 0)
        st = mc_ctx_fail(net->ctx, MC_ERR_INVALID, "replaceLayer: no layer named '%s'", name);
    else if (net->nodes[i].layer->vt->role != MC_ROLE_HIDDEN)
        st = mc_ctx_fail(net->ctx, MC_ERR_INVALID, "replaceLayer: '%s' is an input or output layer",
                         name);
    else if (layer != NULL && layer->num_inputs != net->nodes[i].layer->num_inputs)
        st = mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                         "replaceLayer: '%s' has %d inputs but its replacement has %d", name,
                         net->nodes[i].layer->num_inputs, layer->num_inputs);
    else if (layer == NULL && net->nodes[i].layer->num_inputs != 1)
        st = mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                         "replaceLayer: '%s' has several inputs and cannot be removed", name);
    if (st != MC_OK) {
        mc_layer_destroy(layer);
        return st;
    }
    mc_layer_destroy(net->nodes[i].layer);
    mc_free(net->ctx, net->source);
    net->source = NULL;
    if (layer != NULL) {
        net->nodes[i].layer = layer;
        names_changed(net);
        net->unnamed_from = 0;
        net->n_numbered = 0;
        return MC_OK;
    }
    /* Removal: consumers of i now read i's source; later nodes move down one place. */
    const int from = net->nodes[i].src[0];
    for (int d = 0; d < net->n; d++)
        for (int k = 0; k < MC_MAX_LAYER_INPUTS; k++)
            if (net->nodes[d].src[k] == i)
                net->nodes[d].src[k] = from;
    memmove(&net->nodes[i], &net->nodes[i + 1], (size_t)(net->n - i - 1) * sizeof(node));
    net->n--;
    connections_changed(net);
    names_changed(net);
    net->unnamed_from = 0;
    net->n_numbered = 0; /* a number may be free again */
    for (int d = 0; d < net->n; d++)
        for (int k = 0; k < MC_MAX_LAYER_INPUTS; k++)
            if (net->nodes[d].src[k] > i)
                net->nodes[d].src[k]--;
    return MC_OK;
}

static const char *node_name(const void *owner, int i)
{
    return ((const mc_net *)owner)->nodes[i].layer->name;
}

static const char *node_default_name(const void *owner, int i)
{
    return ((const mc_net *)owner)->nodes[i].layer->vt->default_name;
}

/* MATLAB's rule: an unnamed layer takes its kind's default name ("conv") when it is the only
 * unnamed layer of that default and no layer has that name already; otherwise the unnamed
 * layers of that default are numbered from 1 in order ("conv_1", "conv_2", ...), skipping the
 * numbers that name a layer already. Names are never changed. Only the layers added since the
 * last call are looked at (all of them at assembly), through the net's index of names, so that
 * a graph grown by many addLayers is named in linear time. */
mc_status mc_net_assign_names(mc_net *net)
{
    mc_ctx *ctx = net->ctx;
    const int from = net->unnamed_from, n = net->n - from;
    int unnamed = 0;
    for (int i = from; i < net->n; i++)
        unnamed += net->nodes[i].layer->name[0] == '\0';
    if (unnamed == 0) {
        net->unnamed_from = net->n;
        return MC_OK;
    }
    if (net->names.slots == NULL || net->names_room < net->n)
        if (!index_names(net, net->n))
            return mc__nomem(ctx, "naming the layers");
    mc__name_index defaults = {NULL, 0, NULL, NULL};
    int *first = mc__calloc(ctx, 3 * (size_t)n, sizeof *first); /* first, count, next */
    mc_status st = first == NULL ? mc__nomem(ctx, "naming the layers") : MC_OK;
    if (st == MC_OK)
        st = mc__name_index_init(ctx, &defaults, (size_t)unnamed, node_default_name, net,
                                 "naming the layers");
    if (st != MC_OK) {
        mc_free(ctx, first);
        return st;
    }
    int *count = first + n, *next = first + 2 * n; /* by position after `from` */
    for (int i = from; i < net->n; i++) {
        const mc_layer *l = net->nodes[i].layer;
        if (l->name[0] != '\0')
            continue;
        const char *d = l->vt->default_name;
        int r = mc__name_index_find(&defaults, d, strlen(d));
        if (r < 0) {
            mc__name_index_add(&defaults, i);
            r = i;
            const int *known = numbering_of(net, d);
            next[r - from] = known != NULL ? *known : 1;
        }
        first[i - from] = r - from;
        count[r - from]++;
    }
    for (int i = from; st == MC_OK && i < net->n; i++) {
        mc_layer *l = net->nodes[i].layer;
        if (l->name[0] != '\0')
            continue;
        const char *d = l->vt->default_name;
        const int r = first[i - from];
        char name[96];
        snprintf(name, sizeof name, "%s", d);
        if (count[r] > 1 || mc__name_index_find(&net->names, name, strlen(name)) >= 0) {
            do
                snprintf(name, sizeof name, "%s_%d", d, next[r]++);
            while (mc__name_index_find(&net->names, name, strlen(name)) >= 0);
        }
        st = mc_layer_set_name(l, name);
        if (st == MC_OK)
            mc__name_index_add(&net->names, i);
        int *known = numbering_of(net, d);
        if (known != NULL && *known < next[r])
            *known = next[r];
    }
    mc__name_index_release(ctx, &defaults);
    mc_free(ctx, first);
    if (st == MC_OK)
        net->unnamed_from = net->n;
    return st;
}

/* Names, roles and connections: everything that can be checked without shapes. */
static mc_status check_graph(mc_net *net)
{
    mc_ctx *ctx = net->ctx;
    if (net->n == 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "the network has no layers");
    mc__name_index names = {NULL, 0, NULL, NULL};
    mc_status st = mc__name_index_init(ctx, &names, (size_t)net->n, node_name, net,
                                       "checking the layer names");
    for (int i = 0; st == MC_OK && i < net->n; i++) {
        const char *name = net->nodes[i].layer->name;
        const int j = mc__name_index_find(&names, name, strlen(name));
        if (j >= 0)
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "layers %d and %d are both named '%s'; layer names must be unique",
                             j + 1, i + 1, name);
        else
            mc__name_index_add(&names, i);
    }
    mc__name_index_release(ctx, &names);
    if (st != MC_OK)
        return st;
    net->input = net->output = -1;
    for (int i = 0; i < net->n; i++) {
        const mc_layer *l = net->nodes[i].layer;
        int *slot = l->vt->role == MC_ROLE_INPUT    ? &net->input
                    : l->vt->role == MC_ROLE_OUTPUT ? &net->output
                                                    : NULL;
        if (slot == NULL)
            continue;
        if (*slot >= 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "the network has two %s layers, '%s' and '%s'; it needs exactly "
                               "one",
                               l->vt->role == MC_ROLE_INPUT ? "input" : "output",
                               net->nodes[*slot].layer->name, l->name);
        *slot = i;
    }
    if (net->input < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "the network has no input layer (imageInputLayer or "
                           "featureInputLayer)");
    if (net->output < 0)
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "the network has no output layer (classificationLayer)");
    for (int i = 0; i < net->n; i++)
        net->nodes[i].consumers = 0;
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        if (is_input(nd))
            continue;
        for (int k = 0; k < nd->layer->num_inputs; k++) {
            if (nd->src[k] < 0)
                return mc_ctx_fail(ctx, MC_ERR_INVALID,
                                   "Layer '%s': input '%s' is not connected to any layer",
                                   nd->layer->name, nd->layer->input_names[k]);
            net->nodes[nd->src[k]].consumers++;
        }
    }
    for (int i = 0; i < net->n; i++) {
        const node *nd = &net->nodes[i];
        if (i == net->output && nd->consumers > 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "Layer '%s': the output layer cannot feed other layers",
                               nd->layer->name);
        if (i != net->output && nd->consumers == 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "Layer '%s': output '%s' is not connected to any layer",
                               nd->layer->name, nd->layer->output_names[0]);
    }
    /* trainNetwork's own check: the cross entropy is of probabilities, so a softmax comes
     * before the classification layer (looking back along first inputs; at most n steps, as
     * a cycle is only found later) */
    const node *out = &net->nodes[net->output];
    if (strcmp(out->layer->vt->kind, "classificationLayer") == 0) {
        int at = out->src[0], steps = 0;
        while (steps++ < net->n && !is_input(&net->nodes[at]) &&
               strcmp(net->nodes[at].layer->vt->kind, "softmaxLayer") != 0)
            at = net->nodes[at].src[0];
        if (strcmp(net->nodes[at].layer->vt->kind, "softmaxLayer") != 0)
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "Layer '%s': Missing softmax layer. A classification layer must "
                               "be preceded by a softmax layer.",
                               out->layer->name);
    }
    return MC_OK;
}

/* A min-heap of node indices. */
static void heap_push(int *heap, int *len, int v)
{
    int i = (*len)++;
    while (i > 0 && heap[(i - 1) / 2] > v) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = v;
}

static int heap_pop(int *heap, int *len)
{
    const int top = heap[0], v = heap[--*len];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *len)
            break;
        if (c + 1 < *len && heap[c + 1] < heap[c])
            c++;
        if (heap[c] >= v)
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (*len > 0)
        heap[i] = v;
    return top;
}

/* Kahn's algorithm in sweeps over the nodes in the order they were added: a sweep takes each
 * ready node in index order, and a node made ready by one with a larger index waits for the
 * next sweep. Two heaps (this sweep, the next) and the consumers of each node make that
 * O(E log n). */
static mc_status topological_order(mc_net *net, int *order)
{
    const int n = net->n;
    int placed = 0, edges = 0;
    for (int d = 0; d < n; d++)
        edges += is_input(&net->nodes[d]) ? 0 : net->nodes[d].layer->num_inputs;
    bool *done = mc__calloc(net->ctx, (size_t)n, sizeof *done);
    /* waiting inputs, two heaps, the begin of each node's consumers (n + 1), the consumers */
    int *waiting = mc__calloc(net->ctx, 4 * (size_t)n + 1 + (size_t)edges, sizeof *waiting);
    if (done == NULL || waiting == NULL) {
        mc_free(net->ctx, done);
        mc_free(net->ctx, waiting);
        return mc__nomem(net->ctx, "ordering the layers");
    }
    int *now = waiting + n, *later = waiting + 2 * n, *begin = waiting + 3 * n;
    int *consumer = begin + n + 1, n_now = 0, n_later = 0;
    for (int d = 0; d < n; d++) {
        const node *nd = &net->nodes[d];
        for (int k = 0; !is_input(nd) && k < nd->layer->num_inputs; k++)
            begin[nd->src[k] + 1]++;
    }
    for (int u = 0; u < n; u++)
        begin[u + 1] += begin[u];
    for (int d = 0; d < n; d++) {
        const node *nd = &net->nodes[d];
        waiting[d] = is_input(nd) ? 0 : nd->layer->num_inputs;
        for (int k = 0; k < waiting[d]; k++)
            consumer[begin[nd->src[k]]++] = d;
        if (waiting[d] == 0)
            heap_push(now, &n_now, d);
    }
    for (int u = n; u > 0; u--) /* back to the begins */
        begin[u] = begin[u - 1];
    begin[0] = 0;
    for (;;) {
        if (n_now == 0) {
            if (n_later == 0)
                break;
            int *t = now;
            now = later;
            later = t;
            n_now = n_later;
            n_later = 0;
        }
        const int u = heap_pop(now, &n_now);
        done[u] = true;
        order[placed++] = u;
        for (int e = begin[u]; e < begin[u + 1]; e++) {
            const int d = consumer[e];
            if (--waiting[d] == 0) {
                if (d > u)
                    heap_push(now, &n_now, d);
                else
                    heap_push(later, &n_later, d);
            }
        }
    }
    mc_free(net->ctx, waiting);
    mc_status st = MC_OK;
    if (placed < net->n) {
        /* Walk back along unplaced sources until a node repeats: that is a cycle. */
        int start = 0;
        while (done[start])
            start++;
        int path[64], len = 0, at = start;
        bool *seen = mc__calloc(net->ctx, (size_t)net->n, sizeof *seen);
        while (seen != NULL && !seen[at]) {
            seen[at] = true;
            const node *nd = &net->nodes[at];
            for (int k = 0; k < nd->layer->num_inputs; k++)
                if (!done[nd->src[k]]) {
                    at = nd->src[k];
                    break;
                }
        }
        int first = at;
        do {
            path[len++] = at;
            const node *nd = &net->nodes[at];
            for (int k = 0; k < nd->layer->num_inputs; k++)
                if (!done[nd->src[k]]) {
                    at = nd->src[k];
                    break;
                }
        } while (seen != NULL && at != first && len < 64);
        char text[512] = "";
        for (int k = len - 1; k >= 0 && strlen(text) < 400; k--) {
            size_t used = strlen(text);
            snprintf(text + used, sizeof text - used, "'%s' -> ", net->nodes[path[k]].layer->name);
        }
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "'%s'", net->nodes[path[len - 1]].layer->name);
        st = mc_ctx_fail(net->ctx, MC_ERR_INVALID, "the network has a cycle: %s", text);
        mc_free(net->ctx, seen);
    }
    mc_free(net->ctx, done);
    return st;
}

static mc_shape with_batch(mc_shape s, int n)
{
    s.dims[0] = n;
    return s;
}

mc_status mc_net_assemble(mc_net *net, int max_batch)
{
    mc_ctx *ctx = net->ctx;
    if (max_batch < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "the largest batch must be positive, not %d",
                           max_batch);
    release_buffers(net);
    /* all layers and an exact index: a layer may have been renamed through its pointer */
    net->unnamed_from = 0;
    net->n_numbered = 0;
    names_changed(net);
    mc_status st = mc_net_assign_names(net);
    if (st == MC_OK)
        st = check_graph(net);
    if (st != MC_OK)
        return st;
    net->order = mc__calloc(ctx, (size_t)net->n, sizeof *net->order);
    if (net->order == NULL)
        return mc__nomem(ctx, "ordering the layers");
    st = topological_order(net, net->order);
    for (int oi = 0; st == MC_OK && oi < net->n; oi++) {
        node *nd = &net->nodes[net->order[oi]];
        mc_shape in[MC_MAX_LAYER_INPUTS], out;
        int n_in = nd->layer->num_inputs;
        if (is_input(nd)) {
            in[0] = mc_input_data_shape(nd->layer, max_batch);
        } else {
            for (int k = 0; k < n_in; k++)
                in[k] = net->nodes[nd->src[k]].out.shape;
        }
        st = mc_layer_setup(nd->layer, in, n_in, &out);
        if (st == MC_OK)
            st = mc_tensor_create(ctx, &out, &nd->out);
        if (st == MC_OK && net->order[oi] != net->output)
            st = mc_tensor_create(ctx, &out, &nd->dout);
    }
    /* Own input-gradient buffers where the source feeds several inputs. */
    for (int i = 0; st == MC_OK && i < net->n; i++) {
        node *nd = &net->nodes[i];
        for (int k = 0; st == MC_OK && !is_input(nd) && k < nd->layer->num_inputs; k++) {
            const node *src = &net->nodes[nd->src[k]];
            if (src->consumers > 1)
                st = mc_tensor_create(ctx, &src->out.shape, &nd->din_own[k]);
        }
    }
    if (st != MC_OK) {
        if (st == MC_ERR_NOMEM && strstr(mc_ctx_message(ctx), "out of memory while") == NULL)
            mc__nomem(ctx, "sizing the network's buffers"); /* else the size is said already */
        release_buffers(net);
        return st;
    }
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        nd->relu_by_pool = nd->pool_does_relu = false;
    }
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        if (is_input(nd) || strcmp(nd->layer->vt->kind, "maxPooling2dLayer") != 0)
            continue;
        node *r = &net->nodes[nd->src[0]];
        if (!is_input(r) && strcmp(r->layer->vt->kind, "reluLayer") == 0 && r->consumers == 1) {
            r->relu_by_pool = true;
            nd->pool_does_relu = true;
        }
    }
    const int sm = net->nodes[net->output].src[0];
    net->fused_softmax =
        strcmp(net->nodes[sm].layer->vt->kind, "softmaxLayer") == 0 && net->nodes[sm].consumers == 1
            ? sm
            : -1;
    net->max_batch = max_batch;
    net->assembled = true;
    return MC_OK;
}

bool mc_net_is_assembled(const mc_net *net)
{
    return net->assembled;
}

mc_ctx *mc_net_ctx(const mc_net *net)
{
    return net->ctx;
}

int mc_net_max_batch(const mc_net *net)
{
    return net->assembled ? net->max_batch : 0;
}

mc_layer *mc_net_input_layer(const mc_net *net)
{
    for (int i = 0; i < net->n; i++)
        if (is_input(&net->nodes[i]))
            return net->nodes[i].layer;
    return NULL;
}

int mc_net_num_layers(const mc_net *net)
{
    return net->n;
}

mc_layer *mc_net_layer(const mc_net *net, int i)
{
    return i >= 0 && i < net->n ? net->nodes[i].layer : NULL;
}

/* The connections by source, then destination and input (a counting sort: linear). */
static void build_connections(mc_net *net)
{
    int total = 0;
    for (int d = 0; d < net->n; d++)
        for (int k = 0; k < net->nodes[d].layer->num_inputs; k++)
            total += net->nodes[d].src[k] >= 0;
    int *start = mc__calloc(net->ctx, (size_t)net->n + 1, sizeof *start);
    int *triples = mc__calloc(net->ctx, 3 * (size_t)total, sizeof *triples);
    if (start == NULL || triples == NULL) {
        mc_free(net->ctx, start);
        mc_free(net->ctx, triples);
        return; /* asked again next time */
    }
    for (int d = 0; d < net->n; d++)
        for (int k = 0; k < net->nodes[d].layer->num_inputs; k++)
            if (net->nodes[d].src[k] >= 0)
                start[net->nodes[d].src[k] + 1]++;
    for (int s = 0; s < net->n; s++)
        start[s + 1] += start[s];
    for (int d = 0; d < net->n; d++)
        for (int k = 0; k < net->nodes[d].layer->num_inputs; k++) {
            const int s = net->nodes[d].src[k];
            if (s < 0)
                continue;
            int *t = &triples[3 * start[s]++];
            t[0] = s;
            t[1] = d;
            t[2] = k;
        }
    mc_free(net->ctx, start);
    net->connections = triples;
    net->n_connections = total;
}

bool mc_net_connection(const mc_net *net, int i, int *src, int *dst, int *dst_input)
{
    if (net->n_connections < 0)
        build_connections((mc_net *)net); /* a cache: the graph itself does not change */
    if (net->n_connections < 0) {         /* no memory for the list: a scan */
        int count = 0;
        for (int s = 0; s < net->n; s++)
            for (int d = 0; d < net->n; d++)
                for (int k = 0; k < net->nodes[d].layer->num_inputs; k++)
                    if (net->nodes[d].src[k] == s && count++ == i) {
                        *src = s;
                        *dst = d;
                        *dst_input = k;
                        return true;
                    }
        return false;
    }
    if (i < 0 || i >= net->n_connections)
        return false;
    *src = net->connections[3 * i];
    *dst = net->connections[3 * i + 1];
    *dst_input = net->connections[3 * i + 2];
    return true;
}

bool mc_net_is_sequential(const mc_net *net)
{
    for (int i = 0; i < net->n; i++) {
        const node *nd = &net->nodes[i];
        for (int k = 0; k < nd->layer->num_inputs; k++) {
            int want = (k == 0 && i > 0 && !is_input(nd)) ? i - 1 : -1;
            if (nd->src[k] != want)
                return false;
        }
    }
    return true;
}

mc_shape mc_net_activation_shape(const mc_net *net, int i)
{
    return with_batch(net->nodes[i].out.shape, 1);
}

int mc_net_num_params(const mc_net *net)
{
    int count = 0;
    for (int i = 0; i < net->n; i++)
        count += mc_layer_num_params(net->nodes[i].layer);
    return count;
}

mc_param *mc_net_param(const mc_net *net, int i)
{
    for (int l = 0; l < net->n && i >= 0; l++) {
        int np = mc_layer_num_params(net->nodes[l].layer);
        if (i < np)
            return mc_layer_param(net->nodes[l].layer, i);
        i -= np;
    }
    return NULL;
}

/* Both layer by layer: mc_net_param(net, i) walks the layers, so a loop over it is quadratic. */
size_t mc_net_num_learnables(const mc_net *net)
{
    size_t total = 0;
    for (int l = 0; l < net->n; l++)
        for (int i = 0; i < mc_layer_num_params(net->nodes[l].layer); i++)
            total += mc_tensor_numel(&mc_layer_param(net->nodes[l].layer, i)->value);
    return total;
}

void mc_net_zero_grad(mc_net *net)
{
    const double t0 = net->profiling ? seconds_now() : 0;
    for (int l = 0; l < net->n; l++)
        for (int i = 0; i < mc_layer_num_params(net->nodes[l].layer); i++)
            mc_param_zero_grad(mc_layer_param(net->nodes[l].layer, i));
    if (net->profiling) /* part of the optimizer's work */
        net->parts[MC_PROFILE_OPTIMIZER] += seconds_now() - t0;
}

/* ---- Profiling ------------------------------------------------------------------------ */

void mc_net_set_profiling(mc_net *net, bool on)
{
    net->profiling = on;
    for (int i = 0; i < net->n; i++)
        net->nodes[i].forward_s = net->nodes[i].backward_s = 0;
    for (int p = 0; p < MC_PROFILE_PARTS; p++)
        net->parts[p] = 0;
    net->profiled_steps = 0;
}

bool mc_net_profiling(const mc_net *net)
{
    return net->profiling;
}

void mc_net_profile_add(mc_net *net, mc_profile_part part, double seconds)
{
    if (net->profiling && (unsigned)part < MC_PROFILE_PARTS)
        net->parts[part] += seconds;
}

void mc_net_profile_layer(const mc_net *net, int i, double *forward, double *backward)
{
    const bool ok = i >= 0 && i < net->n;
    *forward = ok ? net->nodes[i].forward_s : 0;
    *backward = ok ? net->nodes[i].backward_s : 0;
}

double mc_net_profile_part(const mc_net *net, mc_profile_part part)
{
    return (unsigned)part < MC_PROFILE_PARTS ? net->parts[part] : 0;
}

int mc_net_profile_steps(const mc_net *net)
{
    return net->profiled_steps;
}

mc_shape mc_net_input_shape(const mc_net *net, int n)
{
    const mc_layer *in = mc_net_input_layer(net);
    if (in != NULL)
        return mc_input_data_shape(in, n);
    mc_shape none;
    memset(&none, 0, sizeof none);
    return none;
}

int mc_net_num_classes(const mc_net *net)
{
    return net->assembled ? net->nodes[net->output].out.shape.dims[1] : 0;
}

static mc_status check_ready(const mc_net *net, const char *what)
{
    if (!net->assembled)
        return mc_ctx_fail(net->ctx, MC_ERR_STATE, "%s: the network is not assembled", what);
    return MC_OK;
}

mc_status mc_net_forward(mc_net *net, const float *x, int n, mc_mode mode)
{
    mc_status st = check_ready(net, "forward");
    if (st == MC_OK)
        st = mc__blas_reserve(net->ctx);
    if (st != MC_OK)
        return st;
    if (n < 1 || n > net->max_batch)
        return mc_ctx_fail(net->ctx, MC_ERR_SHAPE,
                           "forward: a batch of %d observations; the network was assembled for "
                           "1 to %d",
                           n, net->max_batch);
    net->batch = 0;
    const bool timing = net->profiling && mode == MC_MODE_TRAINING;
    for (int oi = 0; oi < net->n; oi++) {
        node *nd = &net->nodes[net->order[oi]];
        mc_tensor in[MC_MAX_LAYER_INPUTS];
        mc_shape xs = mc_net_input_shape(net, n);
        if (is_input(nd)) {
            in[0] = mc_tensor_view((float *)x, &xs);
        } else {
            for (int k = 0; k < nd->layer->num_inputs; k++) {
                const mc_tensor *o = &net->nodes[nd->src[k]].out;
                mc_shape s = with_batch(o->shape, n);
                in[k] = mc_tensor_view(o->data, &s);
            }
        }
        mc_shape os = with_batch(nd->out.shape, n);
        mc_tensor out = mc_tensor_view(nd->out.data, &os);
        const double t0 = timing ? seconds_now() : 0;
        st = mc_layer_forward(nd->layer, in, nd->layer->num_inputs, &out, mode);
        if (timing)
            nd->forward_s += seconds_now() - t0;
        if (st != MC_OK)
            return st;
    }
    net->batch = n;
    net->trained = mode == MC_MODE_TRAINING;
    net->x = x;
    return MC_OK;
}

const float *mc_net_activation(const mc_net *net, int i)
{
    return net->batch > 0 && i >= 0 && i < net->n ? net->nodes[i].out.data : NULL;
}

const float *mc_net_scores(const mc_net *net)
{
    return net->batch > 0 ? net->nodes[net->output].out.data : NULL;
}

static mc_status check_labels(const mc_net *net, const int *labels)
{
    const int K = mc_net_num_classes(net);
    for (int i = 0; i < net->batch; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return mc_ctx_fail(net->ctx, MC_ERR_INVALID,
                               "label %d of observation %d is outside the %d classes (0 to %d)",
                               labels[i], i + 1, K, K - 1);
    return MC_OK;
}

mc_status mc_net_loss(mc_net *net, const int *labels, double *loss)
{
    mc_status st = check_ready(net, "loss");
    if (st == MC_OK && net->batch == 0)
        st = mc_ctx_fail(net->ctx, MC_ERR_STATE, "loss: no forward pass yet");
    if (st == MC_OK)
        st = check_labels(net, labels);
    if (st != MC_OK)
        return st;
    const int K = mc_net_num_classes(net);
    const bool timing = net->profiling && net->trained;
    const double t0 = timing ? seconds_now() : 0;
    if (net->fused_softmax >= 0) {
        const node *sm = &net->nodes[net->fused_softmax];
        const float *logits = net->nodes[sm->src[0]].out.data;
        *loss = mc_softmax_crossentropy_kernel(logits, labels, NULL, NULL, net->batch, K);
    } else {
        *loss = mc_crossentropy_kernel(mc_net_scores(net), labels, net->batch, K);
    }
    if (timing) /* the loss is the output layer's forward work */
        net->nodes[net->output].forward_s += seconds_now() - t0;
    return MC_OK;
}

void mc_net_want_input_gradient(mc_net *net, bool want)
{
    net->want_dx = want;
}

const float *mc_net_input_gradient(const mc_net *net)
{
    return net->want_dx && net->batch > 0 ? net->nodes[net->input].dout.data : NULL;
}

/* Where node d's backward writes the gradient of its input k (batch n). */
static mc_tensor input_gradient_target(mc_net *net, int d, int k, int n)
{
    node *nd = &net->nodes[d];
    mc_tensor none;
    memset(&none, 0, sizeof none);
    const node *src = &net->nodes[nd->src[k]];
    if (is_input(src) && !net->want_dx)
        return none; /* the data's gradient is not needed: the first layer skips it */
    const mc_tensor *t = src->consumers > 1 ? &nd->din_own[k] : &src->dout;
    mc_shape s = with_batch(t->shape, n);
    return mc_tensor_view(t->data, &s);
}

/* Fixed blocks of elements for summing gradients on minicnn's threads. */
#define GATHER_BLOCK ((size_t)1 << 15)

typedef struct gather_job {
    const float *terms[64]; /* the consumers' gradients, in node order */
    int k;
    float *sum;
    size_t count;
} gather_job;

/* sum, terms[j]: (count). sum = terms[0] + terms[1] + ..., added in that order (the same
 * bits as adding each to zero in turn). */
static void gather_task(void *arg, int task, int thread)
{
    (void)thread;
    const gather_job *j = arg;
    const size_t lo = (size_t)task * GATHER_BLOCK,
                 hi = lo + GATHER_BLOCK < j->count ? lo + GATHER_BLOCK : j->count;
    float *restrict y = j->sum;
    const float *restrict a = j->terms[0];
    for (size_t i = lo; i < hi; i++)
        y[i] = 0.0f + a[i]; /* +0 for a -0, as the sum from zero gives */
    for (int t = 1; t < j->k; t++) {
        const float *restrict b = j->terms[t];
        for (size_t i = lo; i < hi; i++)
            y[i] += b[i];
    }
}

/* dout of node u = sum of what its consumers wrote, when it has several. */
static void gather_gradient(mc_net *net, int u, int n)
{
    node *nu = &net->nodes[u];
    if (nu->consumers < 2)
        return;
    const size_t count = mc_shape_numel(&nu->out.shape) / (size_t)nu->out.shape.dims[0] * (size_t)n;
    gather_job j = {.k = 0, .sum = nu->dout.data, .count = count};
    bool fits = true;
    for (int d = 0; d < net->n; d++) {
        const node *nd = &net->nodes[d];
        for (int k = 0; !is_input(nd) && k < nd->layer->num_inputs; k++)
            if (nd->src[k] == u) {
                if (j.k < 64)
                    j.terms[j.k] = nd->din_own[k].data;
                fits = fits && j.k < 64;
                j.k++;
            }
    }
    if (fits && j.k > 0) {
        mc__parallel_for((int)((count + GATHER_BLOCK - 1) / GATHER_BLOCK), 0,
                         (size_t)(j.k + 1) * count, gather_task, &j);
        return;
    }
    memset(nu->dout.data, 0, count * sizeof(float)); /* more consumers than the job holds */
    for (int d = 0; d < net->n; d++) {
        const node *nd = &net->nodes[d];
        for (int k = 0; !is_input(nd) && k < nd->layer->num_inputs; k++)
            if (nd->src[k] == u)
                for (size_t i = 0; i < count; i++)
                    nu->dout.data[i] += nd->din_own[k].data[i];
    }
}

mc_status mc_net_backward(mc_net *net, const int *labels)
{
    mc_status st = check_ready(net, "backward");
    if (st == MC_OK && (net->batch == 0 || !net->trained))
        st = mc_ctx_fail(net->ctx, MC_ERR_STATE,
                         "backward: the last forward pass was not in training mode");
    if (st == MC_OK)
        st = check_labels(net, labels);
    if (st != MC_OK)
        return st;
    const int n = net->batch, K = mc_net_num_classes(net);
    const bool timing = net->profiling;
    node *out = &net->nodes[net->output];
    int skip = net->output;
    if (net->fused_softmax >= 0) {
        /* dLoss/dlogits = (softmax - onehot) / n, straight into the softmax's source. */
        node *sm = &net->nodes[net->fused_softmax];
        const double t0 = timing ? seconds_now() : 0;
        mc_tensor dz = input_gradient_target(net, net->fused_softmax, 0, n);
        const float *logits = net->nodes[sm->src[0]].out.data;
        if (dz.data != NULL)
            mc_softmax_crossentropy_kernel(logits, labels, NULL, dz.data, n, K);
        skip = net->fused_softmax;
        if (timing)
            sm->backward_s += seconds_now() - t0;
    } else {
        st = mc_classification_set_labels(out->layer, labels, n);
        if (st != MC_OK)
            return st;
    }
    for (int oi = net->n - 1; oi >= 0; oi--) {
        const int u = net->order[oi];
        node *nd = &net->nodes[u];
        if (is_input(nd))
            continue;
        if (net->fused_softmax >= 0 && (u == net->output || u == skip))
            continue;
        if (nd->relu_by_pool)
            continue; /* done by the pooling's backward */
        const double t0 = timing ? seconds_now() : 0;
        gather_gradient(net, u, n);
        mc_tensor in[MC_MAX_LAYER_INPUTS], din[MC_MAX_LAYER_INPUTS];
        for (int k = 0; k < nd->layer->num_inputs; k++) {
            const node *src = &net->nodes[nd->src[k]];
            mc_shape s = with_batch(src->out.shape, n);
            in[k] = mc_tensor_view(src->out.data, &s);
            din[k] = input_gradient_target(net, u, k, n);
        }
        mc_shape os = with_batch(nd->out.shape, n);
        mc_tensor o = mc_tensor_view(nd->out.data, &os);
        mc_tensor dout = u == net->output ? o : mc_tensor_view(nd->dout.data, &os);
        if (nd->pool_does_relu) {
            /* The gradient with respect to the ReLU's input, where the ReLU's would go. */
            mc_tensor dr = input_gradient_target(net, nd->src[0], 0, n);
            mc__maxpool_backward_relu(nd->layer, in, &o, &dout, &dr);
            if (timing)
                nd->backward_s += seconds_now() - t0;
            continue;
        }
        st = mc_layer_backward(nd->layer, in, nd->layer->num_inputs, &o, &dout, din);
        if (timing)
            nd->backward_s += seconds_now() - t0;
        if (st != MC_OK)
            return st;
    }
    if (net->want_dx)
        gather_gradient(net, net->input, n);
    net->profiled_steps += timing;
    return MC_OK;
}

/* Characters (not bytes) of UTF-8 text, for column widths. */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void pad_to(mc_text *t, const char *s, int width)
{
    mc_text_printf(t, "%s%*s", s, width - text_width(s), "");
}

mc_status mc_net_describe(const mc_net *net, char **text)
{
    int name_w = 2, type_w = 0;
    for (int i = 0; i < net->n; i++) {
        const mc_layer *l = net->nodes[i].layer;
        if (text_width(l->name) + 2 > name_w)
            name_w = text_width(l->name) + 2;
        if (text_width(l->vt->type_label) > type_w)
            type_w = text_width(l->vt->type_label);
    }
    mc_text t = mc_text_init(net->ctx);
    mc_text_printf(&t, "  %dx1 Layer array with layers:\n\n", net->n);
    for (int i = 0; i < net->n; i++) {
        const mc_layer *l = net->nodes[i].layer;
        char quoted[256];
        snprintf(quoted, sizeof quoted, "'%s'", l->name);
        char *summary = NULL;
        mc_status st = mc_layer_describe(l, MC_DESCRIBE_SUMMARY, &summary);
        if (st != MC_OK) {
            mc_text_release(&t);
            return st;
        }
        mc_text_printf(&t, "%6d   ", i + 1);
        pad_to(&t, quoted, name_w + 3);
        pad_to(&t, l->vt->type_label, type_w + 3);
        mc_text_printf(&t, "%s\n", summary);
        mc_free(net->ctx, summary);
    }
    return mc_text_take(&t, text);
}

/* MATLAB's activation size of one observation, from (1, C, ...): C, C×T, H×W×C or H×W×D×C. */
static void activation_text(const mc_shape *s, char *buf, size_t cap)
{
    const int *d = s->dims;
    int dims[4] = {d[1], 0, 0, 0}, ndim = 1;
    if (s->ndim == 3) {
        dims[1] = d[2];
        ndim = 2;
    } else if (s->ndim == 4) {
        dims[0] = d[2];
        dims[1] = d[3];
        dims[2] = d[1];
        ndim = 3;
    } else if (s->ndim == 5) {
        dims[0] = d[3];
        dims[1] = d[4];
        dims[2] = d[2];
        dims[3] = d[1];
        ndim = 4;
    }
    mc_shape m = mc_shape_make(ndim, dims);
    mc_shape_format(&m, "\xc3\x97", buf, cap);
}

static void learnables_text(mc_layer *l, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int p = 0; p < mc_layer_num_params(l); p++) {
        const mc_param *prm = mc_layer_param(l, p);
        char dims[96];
        mc_shape_format(&prm->size, "\xc3\x97", dims, sizeof dims);
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s %s", p ? ", " : "", prm->name, dims);
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "-");
}

/* 1234567 -> "1,234,567" */
static void thousands(size_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

mc_status mc_net_analyze(const mc_net *net, char **text)
{
    mc_status st = check_ready(net, "analyze");
    if (st != MC_OK)
        return st;
    int name_w = text_width("Name"), type_w = text_width("Type"), act_w = text_width("Activations");
    int with_learnables = 0;
    for (int i = 0; i < net->n; i++) {
        const mc_layer *l = net->nodes[i].layer;
        char act[96];
        mc_shape s = mc_net_activation_shape(net, i);
        activation_text(&s, act, sizeof act);
        name_w = text_width(l->name) > name_w ? text_width(l->name) : name_w;
        type_w = text_width(l->vt->type_label) > type_w ? text_width(l->vt->type_label) : type_w;
        act_w = text_width(act) > act_w ? text_width(act) : act_w;
        with_learnables += mc_layer_num_params(net->nodes[i].layer) > 0;
    }
    mc_text t = mc_text_init(net->ctx);
    mc_text_printf(&t, "  Analysis: %d layers, %d with learnables\n\n", net->n, with_learnables);
    mc_text_printf(&t, "%6s   ", "#");
    pad_to(&t, "Name", name_w + 3);
    pad_to(&t, "Type", type_w + 3);
    pad_to(&t, "Activations", act_w + 3);
    mc_text_printf(&t, "Learnables\n");
    for (int i = 0; i < net->n; i++) {
        mc_layer *l = net->nodes[i].layer;
        char act[96], learn[512];
        mc_shape s = mc_net_activation_shape(net, i);
        activation_text(&s, act, sizeof act);
        learnables_text(l, learn, sizeof learn);
        mc_text_printf(&t, "%6d   ", i + 1);
        pad_to(&t, l->name, name_w + 3);
        pad_to(&t, l->vt->type_label, type_w + 3);
        pad_to(&t, act, act_w + 3);
        mc_text_printf(&t, "%s\n", learn);
    }
    char total[40];
    thousands(mc_net_num_learnables(net), total, sizeof total);
    mc_text_printf(&t, "\n  Total learnables: %s\n", total);
    if (!mc_net_is_sequential(net)) {
        mc_text_printf(&t, "\n  Connections:\n\n");
        int src, dst, k;
        for (int i = 0; mc_net_connection(net, i, &src, &dst, &k); i++) {
            const mc_layer *d = net->nodes[dst].layer;
            mc_text_printf(&t, "    '%s' -> '%s%s%s'\n", net->nodes[src].layer->name, d->name,
                           d->num_inputs > 1 ? "/" : "",
                           d->num_inputs > 1 ? d->input_names[k] : "");
        }
    }
    return mc_text_take(&t, text);
}

int mc_net_first_nonfinite(const mc_net *net)
{
    if (!net->assembled || net->batch == 0)
        return -1;
    for (int oi = 0; oi < net->n; oi++) {
        const node *nd = &net->nodes[net->order[oi]];
        const size_t count =
            mc_shape_numel(&nd->out.shape) / (size_t)nd->out.shape.dims[0] * (size_t)net->batch;
        for (size_t i = 0; i < count; i++)
            if (!isfinite(nd->out.data[i]))
                return net->order[oi];
    }
    return -1;
}
