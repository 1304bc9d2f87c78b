/* SPDX-License-Identifier: MIT */
/* minicnn: a miniature training framework for small CNNs. Umbrella header. */
#ifndef MINICNN_MINICNN_H
#define MINICNN_MINICNN_H

#ifdef __cplusplus
extern "C" {
#endif

#include <minicnn/version.h>

#include <minicnn/atomic.h>
#include <minicnn/augment.h>
#include <minicnn/batchnorm.h>
#include <minicnn/conv2d.h>
#include <minicnn/ctx.h>
#include <minicnn/data.h>
#include <minicnn/groupnorm.h>
#include <minicnn/init.h>
#include <minicnn/input.h>
#include <minicnn/layer.h>
#include <minicnn/layers.h>
#include <minicnn/layers3.h>
#include <minicnn/model.h>
#include <minicnn/net.h>
#include <minicnn/netfile.h>
#include <minicnn/optim.h>
#include <minicnn/param.h>
#include <minicnn/poolconcat.h>
#include <minicnn/status.h>
#include <minicnn/table.h>
#include <minicnn/tensor.h>
#include <minicnn/text.h>
#include <minicnn/train.h>

#ifdef __cplusplus
}
#endif

#endif
