/* SPDX-License-Identifier: MIT */
/* Network files: MATLAB layer expressions as written in MATLAB code.
 *
 *   % the reference example
 *   layers = [
 *       imageInputLayer([28 28 3])
 *       convolution2dLayer(5,20)
 *       groupNormalizationLayer(4)
 *       ...
 *       classificationLayer];
 *   lgraph = layerGraph(layers);                 % optional: a graph
 *   lgraph = connectLayers(lgraph,'relu1','add/in2');
 *
 * The language: assignments `name = expr` and bare expressions, each ended by a newline, ';' or
 * ','; `...` continues a line; `%` starts a comment and `%{` ... `%}` lines enclose a block
 * comment. Expressions: the layer functions of minicnn's registry with positional arguments
 * and name-value pairs; numbers (1, -2.5, 1e-5, Inf, true, false); vectors [28 28 3]; strings in
 * '' or ""; cell arrays {'a','b'}; layer arrays [a; b] (rows separated by newlines, ';' or ',');
 * variables; layerGraph(layers), addLayers(lgraph, layers), connectLayers(lgraph, src, dst),
 * disconnectLayers(lgraph, src, dst), and connectLayers(src, dst) on the network being built.
 * A layer array or graph variable is consumed when used (layerGraph(layers) takes the layers);
 * at the end exactly one unconsumed layer array or graph must remain: it is the network.
 * Unknown functions, layers and options are errors with a suggestion when a name is close. */
#ifndef MINICNN_NETFILE_H
#define MINICNN_NETFILE_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/net.h>

/* Parses `len` bytes of network-file text; `filename` is used in messages
 * ("reference.net:3:5: ..."). On success *out is an unassembled network and *is_graph (if not
 * NULL) says whether the file built a layer graph (layerGraph/connectLayers) rather than a
 * plain Layer array. Returns MC_OK, MC_ERR_FORMAT (syntax or meaning, with file:line:column and
 * what was expected), the status of a layer constructor that refused its options (its message
 * prefixed with the location), or MC_ERR_NOMEM. */
mc_status mc_netfile_parse(mc_ctx *ctx, const char *text, size_t len, const char *filename,
                           mc_net **out, bool *is_graph);

/* Reads and parses a file. Returns what mc_netfile_parse returns, or MC_ERR_IO naming the path
 * and the system's reason. */
mc_status mc_netfile_load(mc_ctx *ctx, const char *path, mc_net **out, bool *is_graph);

/* Parses one layer expression, e.g. "groupNormalizationLayer(3,'Name','groupnorm')". */
mc_status mc_layer_parse(mc_ctx *ctx, const char *expr, mc_layer **out);

/* Parses one or more layers: a layer, a layer array "[a; b]", or several of them separated
 * by ';', ',' or new lines ("reluLayer; reluLayer"), into a network holding them in order,
 * unnamed as MATLAB displays a Layer array (the caller destroys *out). MC_ERR_FORMAT with
 * "expression:line:col: ..." otherwise. */
mc_status mc_layers_parse(mc_ctx *ctx, const char *expr, mc_net **out);

/* The i-th layer function the files know ("convolution2dLayer"), NULL past the last: for help
 * texts. */
const char *mc_netfile_layer_function(int i);

#ifdef __cplusplus
}
#endif

#endif
