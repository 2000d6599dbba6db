/* jatp: an ONNX runtime and trainer for JATP pre-processing defenses. Umbrella header. */
#ifndef JATP_H
#define JATP_H

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/compose.h"
#include "jatp/data.h"
#include "jatp/graph.h"
#include "jatp/losses.h"
#include "jatp/models.h"
#include "jatp/io.h"
#include "jatp/onnx.h"
#include "jatp/plan.h"
#include "jatp/status.h"
#include "jatp/tensor.h"
#include "jatp/train.h"
#include "jatp/attack.h"
#include "jatp/trainer.h"
#include "jatp/train_target.h"
#include "jatp/train_denoiser.h"

#define JATP_VERSION "0.1.0"

#endif
