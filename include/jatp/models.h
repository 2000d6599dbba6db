/* Model builders: the target classifiers and pre-processors of the JATP spec (shared/reference
 * models.md sections 2 and 3), written over the graph builder, with PyTorch's default initialisation
 * drawn from Philox stream JT_RNG_INIT.
 *
 * Names mirror the PyTorch modules (conv1.weight, layer1.0.bn1.running_mean, linear.weight,
 * RRDB_trunk.0.RDB1.conv1.bias, ...), so weights can be exchanged by name. Node names are the module
 * names; a single-output node's value carries the node's name (so the ResNet tap "layer3.1.bn2" is a
 * value of that name in eval mode).
 *
 * Parameter flags: Conv/Linear weights and biases and BatchNorm gamma/beta are JT_VALUE_PARAM
 * (trainable); BatchNorm running statistics are JT_VALUE_PARAM | JT_VALUE_STATE (exported, never
 * trained). Builders use only standard ai.onnx ops, at the builder's opset (use 17 for an exportable
 * graph: jt_onnx_save writes opset 17).
 *
 * Models (jt_model_names()):
 *   resnet18        CIFAR ResNet-18 (kuangliu layout), C=3, 32x32            11,173,962 params
 *   resnet10-fm     ResNet-10 for 1x28x28, widths 16/32/64/128                  308,538
 *   resnet10-fm-w8  the same with widths 8/16/32/64                              77,858
 *   nrp3            NRP purifier C=3 nf=64 gc=32 nb=3                          2,161,795
 *   rrdb-m          NRP purifier C=1 nf=32 gc=16 nb=1 (C=3: 181,763)             180,609
 *   rrdb-s          NRP purifier C=1 nf=16 gc=8 nb=1 (C=3: 45,955)                45,377
 *   dunet           HGD DUNET, C=3 (C=1: 11,032,704)                          11,033,984
 *   apeg-g          APE-GAN generator, C=3 (C=1: 264,961)                        269,059
 *   apeg-d          APE-GAN discriminator, 3x32x32 (1x28x28: 371,457)            373,889
 *   nrp-disc        NRP/CAFD VGG discriminator, 3x32x32, ndf=32                  899,465
 */
#ifndef JATP_MODELS_H
#define JATP_MODELS_H

#include <stdint.h>

#include "jatp/builder.h"
#include "jatp/graph.h"
#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_model_config {
    int channels;       /* image channels C */
    int height, width;  /* input size; 0 = symbolic (fully convolutional models only) */
    int base_width;     /* ResNet: stage-1 width (64, 16, 8); stages double it */
    int blocks[4];      /* ResNet: BasicBlocks per stage */
    int num_classes;    /* ResNet head */
    int nf, gc, nb;     /* RRDB purifier: trunk width, growth channels, number of RRDBs */
    int ndf;            /* NRP discriminator width */
    int train_bn;       /* BatchNormalization in training mode (batch statistics, running-stat outputs) */
    int init;           /* 1 (default): PyTorch default init from seed; 0: weights zero, BN at identity */
    uint64_t seed;      /* init seed (Philox key; stream JT_RNG_INIT) */
} jt_model_config;

typedef struct jt_model_info {
    int32_t output;     /* the model's output value id */
    int32_t tap;        /* classifier feature tap (ResNet: last block of layer3, after bn2), else -1 */
    /* Training-mode BatchNormalization: parameter state_dst[i] (a running statistic) takes the value
     * state_src[i] after each step (jt_plan_options.update_dst / update_src). Arrays live in the
     * graph's arena. */
    int n_state;
    int32_t *state_dst, *state_src;
    int64_t n_params;   /* trainable parameters created (PARAM, not STATE or CONST) */
    int64_t n_state_params; /* running-statistic elements created */
} jt_model_info;

/* NULL-terminated list of the model names above. */
const char *const *jt_model_names(void);

/* Fills cfg with the preset of `name` (also the defaults its --config keys start from). */
jt_status jt_model_config_preset(jt_ctx *ctx, const char *name, jt_model_config *cfg);

/* Applies one "key=value" setting. Keys: c (channels), h, w (input size; 0 = symbolic), base (ResNet
 * width), blocks (ResNet, e.g. 2,2,2,2), classes, nf, gc, nb, ndf, bn (eval|train), init (1|0),
 * seed. An unknown key or bad value is an error naming it. */
jt_status jt_model_config_set(jt_ctx *ctx, jt_model_config *cfg, const char *kv);

/* Appends the model to the builder's graph, reading image input x ([N, C, H, W], float32). Uses the
 * builder's prefix for every name (the init draws hash the unprefixed names, so a model's weights do
 * not depend on where it is composed). Returns the builder's status. */
jt_status jt_model_build(jt_gb *b, const char *name, const jt_model_config *cfg, int32_t x, jt_model_info *info);

/* A standalone graph at opset 17: input "input" [N, C, H, W] (N symbolic; H, W symbolic when 0),
 * output "output" (an Identity of the model's output); info may be NULL. */
jt_status jt_model_create(jt_ctx *ctx, const char *name, const jt_model_config *cfg, jt_graph **out,
                          jt_model_info *info);

/* The builders behind jt_model_build (cfg fully specified). */
jt_status jt_model_resnet(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);
jt_status jt_model_rrdb(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);
jt_status jt_model_dunet(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);
jt_status jt_model_apeg_g(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);
jt_status jt_model_apeg_d(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);
jt_status jt_model_nrp_disc(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info);

/* Counts the trainable parameters of a graph (PARAM values that are neither CONST nor STATE). */
int64_t jt_model_count_params(const jt_graph *g);

#ifdef __cplusplus
}
#endif
#endif
