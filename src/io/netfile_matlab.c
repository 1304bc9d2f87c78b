/* SPDX-License-Identifier: MIT */
/* Names of MATLAB's Deep Learning Toolbox (layers and functions) that network files do not
 * provide, so that a script's line gets "a MATLAB layer that minicnn does not provide" rather
 * than a "did you mean" towards some other layer. The layer registry (netfile_layers.c) is
 * asked first, but a name it gains is to be removed from here (test_netfile checks that none
 * is in both). */
#include <string.h>

#include "netfile_internal.h"

static const nf_matlab_name names[] = {
    /* layers */
    {"anchorBoxLayer", true, NULL},
    {"attentionLayer", true, NULL},
    {"averagePooling1dLayer", true, NULL},
    {"averagePooling3dLayer", true, NULL},
    {"bilstmLayer", true, NULL},
    {"convolution1dLayer", true, NULL},
    {"convolution3dLayer", true, NULL},
    {"crop2dLayer", true, NULL},
    {"crop3dLayer", true, NULL},
    {"depthToSpace2dLayer", true, NULL},
    {"dicePixelClassificationLayer", true, NULL},
    {"embeddingConcatenationLayer", true, NULL},
    {"flattenLayer", true, NULL},
    {"focalLossLayer", true, NULL},
    {"functionLayer", true, NULL},
    {"geluLayer", true, NULL},
    {"globalAveragePooling1dLayer", true, NULL},
    {"globalAveragePooling3dLayer", true, NULL},
    {"globalMaxPooling1dLayer", true, NULL},
    {"globalMaxPooling3dLayer", true, NULL},
    {"groupedConvolution2dLayer", true, NULL},
    {"gruLayer", true, NULL},
    {"gruProjectedLayer", true, NULL},
    {"identityLayer", true, NULL},
    {"image3dInputLayer", true, NULL},
    {"indexing1dLayer", true, NULL},
    {"lstmLayer", true, NULL},
    {"lstmProjectedLayer", true, NULL},
    {"maxPooling1dLayer", true, NULL},
    {"maxPooling3dLayer", true, NULL},
    {"maxUnpooling2dLayer", true, NULL},
    {"multiplicationLayer", true, NULL},
    {"networkLayer", true, NULL},
    {"pixelClassificationLayer", true, NULL},
    {"pointCloudInputLayer", true, NULL},
    {"positionEmbeddingLayer", true, NULL},
    {"preluLayer", true, NULL},
    {"regressionLayer", true, "minicnn trains classification networks"},
    {"resize2dLayer", true, NULL},
    {"resize3dLayer", true, NULL},
    {"roiAlignLayer", true, NULL},
    {"roiInputLayer", true, NULL},
    {"roiMaxPooling2dLayer", true, NULL},
    {"scalingLayer", true, NULL},
    {"selfAttentionLayer", true, NULL},
    {"sequenceFoldingLayer", true, NULL},
    {"sequenceInputLayer", true, NULL},
    {"sequenceUnfoldingLayer", true, NULL},
    {"sigmoidLayer", true, NULL},
    {"sinusoidalPositionEncodingLayer", true, NULL},
    {"softplusLayer", true, NULL},
    {"spaceToDepthLayer", true, NULL},
    {"ssdMergeLayer", true, NULL},
    {"swishLayer", true, NULL},
    {"transposedConv1dLayer", true, NULL},
    {"transposedConv2dLayer", true, NULL},
    {"transposedConv3dLayer", true, NULL},
    {"wordEmbeddingLayer", true, NULL},
    {"yolov2OutputLayer", true, NULL},
    {"yolov2ReorgLayer", true, NULL},
    {"yolov2TransformLayer", true, NULL},
    /* functions */
    {"activations", false, "minicnn inspect shows a layer's activations"},
    {"adamupdate", false, NULL},
    {"analyzeNetwork", false, "minicnn info FILE.net shows the analysis"},
    {"arrayDatastore", false, NULL},
    {"assembleNetwork", false, NULL},
    {"augmentedImageDatastore", false, NULL},
    {"classify", false, "minicnn classify evaluates a saved network"},
    {"combine", false, NULL},
    {"confusionchart", false, "minicnn classify prints the confusion matrix"},
    {"countEachLabel", false, NULL},
    {"deepNetworkDesigner", false, NULL},
    {"dlarray", false, NULL},
    {"dlfeval", false, NULL},
    {"dlgradient", false, NULL},
    {"dlnetwork", false, "use layerGraph"},
    {"imageDataAugmenter", false, NULL},
    {"imageDatastore", false, "give the data to minicnn train with --data"},
    {"minibatchqueue", false, NULL},
    {"plot", false, NULL},
    {"predict", false, "minicnn predict gives a saved network's top classes"},
    {"removeLayers", false, NULL},
    {"replaceLayer", false, NULL},
    {"rmspropupdate", false, NULL},
    {"sgdmupdate", false, NULL},
    {"splitEachLabel", false, "minicnn train --split divides a data set"},
    {"trainNetwork", false, "run minicnn train --net FILE.net"},
    {"trainingOptions", false, "training options are the flags of minicnn train"},
    {"trainnet", false, "run minicnn train --net FILE.net"},
};

const nf_matlab_name *nf_find_matlab_name(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return &names[i];
    return NULL;
}

const char *nf_matlab_name_at(int i)
{
    return i >= 0 && (size_t)i < sizeof names / sizeof names[0] ? names[i].name : NULL;
}
