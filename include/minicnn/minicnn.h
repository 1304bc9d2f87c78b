/* minicnn: a miniature training framework for small CNNs. Umbrella header. */
#ifndef MINICNN_MINICNN_H
#define MINICNN_MINICNN_H

#ifdef __cplusplus
extern "C" {
#endif

#include <minicnn/version.h>

#include <minicnn/status.h>
#include <minicnn/ctx.h>
#include <minicnn/tensor.h>
#include <minicnn/param.h>
#include <minicnn/text.h>
#include <minicnn/init.h>
#include <minicnn/layer.h>
#include <minicnn/groupnorm.h>
#include <minicnn/conv2d.h>
#include <minicnn/batchnorm.h>
#include <minicnn/input.h>
#include <minicnn/layers.h>
#include <minicnn/poolconcat.h>
#include <minicnn/layers3.h>
#include <minicnn/net.h>
#include <minicnn/netfile.h>
#include <minicnn/optim.h>
#include <minicnn/data.h>
#include <minicnn/table.h>
#include <minicnn/train.h>
#include <minicnn/model.h>

#ifdef __cplusplus
}
#endif

#endif
