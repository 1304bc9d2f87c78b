/* SPDX-License-Identifier: MIT */
/* Networks: a layer graph (MATLAB's Layer array, layerGraph, connectLayers) that is assembled
 * once (names, connections, shapes, buffers) and then runs forward and backward passes. */
#ifndef MINICNN_NET_H
#define MINICNN_NET_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/layer.h>

typedef struct mc_net mc_net;

/* An empty network. Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_net_create(mc_ctx *ctx, mc_net **out);

/* Frees the network and every layer it owns; NULL is allowed. */
void mc_net_destroy(mc_net *net);

/* Adds n layers and connects each to the one before it in this call (MATLAB's
 * layerGraph(layers) and addLayers): layer i's first input comes from layer i-1, unless layer i
 * is an input layer. Takes ownership of every layer, also on failure. Not after assembly.
 * Returns MC_OK, MC_ERR_STATE or MC_ERR_NOMEM. */
mc_status mc_net_add_layers(mc_net *net, mc_layer **layers, int n);

/* connectLayers(lgraph, src, dst): the output of layer `src` ("name" or "name/out") feeds input
 * `dst` ("name" for its first input, or "name/in2"). Names must be unique among the layers
 * that have them. Returns MC_OK, MC_ERR_INVALID (unknown layer or port, input already
 * connected; the message names them) or MC_ERR_STATE after assembly. */
mc_status mc_net_connect(mc_net *net, const char *src, const char *dst);

/* Removes the connection src -> dst (disconnectLayers). Returns MC_OK or MC_ERR_INVALID. */
mc_status mc_net_disconnect(mc_net *net, const char *src, const char *dst);

/* replaceLayer(lgraph, name, layer): puts `layer` (taken, also on failure) where the layer named
 * `name` is, with the same connections; `layer` NULL removes that layer instead, joining its one
 * input to everything its output fed. Not after assembly. The network then no longer matches its
 * file's text, which is forgotten (it cannot be saved as a model). Returns MC_OK, MC_ERR_INVALID
 * (no such layer, input counts differ, removing a layer with several inputs or an input or
 * output layer) or MC_ERR_STATE. */
mc_status mc_net_replace_layer(mc_net *net, const char *name, mc_layer *layer);

/* Gives every unnamed layer MATLAB's automatic name: its kind's default ("conv"), or when that
 * is taken "conv_1", "conv_2", ... Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_net_assign_names(mc_net *net);

/* Checks the graph and readies it for batches of up to max_batch observations: assigns names,
 * rejects duplicate names, cycles, unconnected inputs and outputs, and a graph without exactly
 * one input layer and one output layer; sets every layer up in topological order, inferring the
 * shapes from the input layer's size (a layer's error names it and the numbers); allocates
 * every activation and gradient buffer. May be called again with another max_batch.
 * Returns MC_OK, MC_ERR_INVALID, MC_ERR_SHAPE, MC_ERR_NOMEM or an initializer's status. */
mc_status mc_net_assemble(mc_net *net, int max_batch);

bool mc_net_is_assembled(const mc_net *net);

/* The context the network was made with; the largest batch it is assembled for (0 before). */
mc_ctx *mc_net_ctx(const mc_net *net);
int mc_net_max_batch(const mc_net *net);

/* The input layer, or NULL when there is none. */
mc_layer *mc_net_input_layer(const mc_net *net);

/* The network file's text the network was read from (NULL if none), kept for model files.
 * set_source copies len bytes; returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_net_set_source(mc_net *net, const char *text, size_t len);
const char *mc_net_source(const mc_net *net);

/* Layers in the order they were added (MATLAB's Layers property); borrowed. */
int mc_net_num_layers(const mc_net *net);
mc_layer *mc_net_layer(const mc_net *net, int i);
/* The layer named `name`, or NULL. */
mc_layer *mc_net_find(const mc_net *net, const char *name);

/* Connections as (source layer, destination layer, destination input) triples, in the order
 * sources were added; false past the last. */
bool mc_net_connection(const mc_net *net, int i, int *src, int *dst, int *dst_input);

/* True when the layers form one chain in the order they were added (a Layer array). */
bool mc_net_is_sequential(const mc_net *net);

/* The output shape of layer i for a batch of one (after assembly). */
mc_shape mc_net_activation_shape(const mc_net *net, int i);

/* Learnables of every layer, in layer order; borrowed. */
int mc_net_num_params(const mc_net *net);
mc_param *mc_net_param(const mc_net *net, int i);
/* Total number of learnable values. */
size_t mc_net_num_learnables(const mc_net *net);
/* Sets every learnable's gradient to zero. */
void mc_net_zero_grad(mc_net *net);

/* The data shape the network takes for a batch of n observations. */
mc_shape mc_net_input_shape(const mc_net *net, int n);

/* The number of classes K of the output layer. */
int mc_net_num_classes(const mc_net *net);

/* Runs the network on x (the input shape for n observations, n <= max_batch). In training mode
 * every layer keeps what its backward pass needs. Returns MC_OK, MC_ERR_STATE (not assembled) or
 * MC_ERR_SHAPE (n out of range). */
mc_status mc_net_forward(mc_net *net, const float *x, int n, mc_mode mode);

/* The output of layer i in the last forward pass, (n, ...) as mc_net_activation_shape with the
 * batch of that pass; borrowed until the next forward. NULL before a forward pass. */
const float *mc_net_activation(const mc_net *net, int i);

/* The class scores (probabilities) of the last forward pass: (n, K), borrowed until the next
 * forward. */
const float *mc_net_scores(const mc_net *net);

/* The mean cross-entropy of the last forward pass for labels (n values in 0..K-1), computed
 * from the logits when a softmax layer feeds the output layer (exact for extreme logits).
 * Returns MC_OK, MC_ERR_STATE or MC_ERR_INVALID (a label out of range). */
mc_status mc_net_loss(mc_net *net, const int *labels, double *loss);

/* Back-propagates the loss of the last training forward pass for labels and accumulates (+=)
 * dLoss/dp into every learnable's gradient. Gradients of layers with several consumers are
 * summed. Returns MC_OK, MC_ERR_STATE or MC_ERR_INVALID. */
mc_status mc_net_backward(mc_net *net, const int *labels);

/* The gradient of the loss with respect to the input layer's output (the normalized data; the
 * data itself for normalization 'none') of the last backward pass, shaped as the input;
 * computed only when `want` was set before the backward pass (a gradient check wants it,
 * training does not, and the first layer then skips its input gradient). Borrowed; NULL when
 * not computed. */
void mc_net_want_input_gradient(mc_net *net, bool want);
const float *mc_net_input_gradient(const mc_net *net);

/* MATLAB's Layer array display ("  8x1 Layer array with layers:" and one row a layer), as
 * text owned by the caller (mc_free). Returns MC_OK or MC_ERR_NOMEM. */
mc_status mc_net_describe(const mc_net *net, char **text);

/* After assembly: a table in the manner of analyzeNetwork, with each layer's activation size
 * (24×24×20) and learnables (Weights 5×5×1×20), the total count, and for a graph that is not a
 * plain chain its connections. Text owned by the caller. Returns MC_OK, MC_ERR_STATE or
 * MC_ERR_NOMEM. */
mc_status mc_net_analyze(const mc_net *net, char **text);

/* ---- Profiling: where a training step spends its time ----
 * While profiling is on, every layer's forward pass in training mode and its backward pass are
 * timed (wall clock) and the times summed per layer; the trainer (mc_train) adds the parts of the
 * step outside the layers. Off (the default) it costs one test of a flag per layer and pass. */
typedef enum mc_profile_part {
    MC_PROFILE_DATA,      /* gathering the mini-batch's observations and labels */
    MC_PROFILE_OPTIMIZER, /* zeroing the gradients (mc_net_zero_grad) and the solver's step */
    MC_PROFILE_STEP,      /* whole training iterations, everything included */
    MC_PROFILE_PARTS
} mc_profile_part;

/* Turns profiling on or off; either way every sum starts again from zero. */
void mc_net_set_profiling(mc_net *net, bool on);
bool mc_net_profiling(const mc_net *net);

/* Adds `seconds` to a part of the step (nothing when profiling is off or part is invalid). */
void mc_net_profile_add(mc_net *net, mc_profile_part part, double seconds);

/* Seconds spent in layer i (in the order of mc_net_layer) since profiling was turned on: its
 * training forward passes (the output layer's includes mc_net_loss) and its backward passes
 * (including summing the gradients of its consumers when it has several; a ReLU whose backward
 * a max pooling does is counted in the pooling's). 0 for i out of range. */
void mc_net_profile_layer(const mc_net *net, int i, double *forward, double *backward);

/* Seconds summed for a part; the number of backward passes timed. */
double mc_net_profile_part(const mc_net *net, mc_profile_part part);
int mc_net_profile_steps(const mc_net *net);

#ifdef __cplusplus
}
#endif

#endif
