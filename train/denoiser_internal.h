/* Shared by train/denoiser*.c: models as standalone graph pairs (eval / train mode), model instances
 * inside step graphs, parameter ownership and borrowing between step graphs, the step graphs of the
 * methods and the training-example attacks. */
#ifndef JATP_TRAIN_DENOISER_INTERNAL_H
#define JATP_TRAIN_DENOISER_INTERNAL_H

#include <stdint.h>

#include "jatp/builder.h"
#include "jatp/graph.h"
#include "jatp/train_denoiser.h"

/* A model as two standalone graphs with the same parameter names: `eval` (BN with running
 * statistics: attacks, export) and `train` (BN with batch statistics and running-statistic updates;
 * the same graph as eval when the model has no BN). One input [N,C,H,W], output 0. */
typedef struct dn_model {
    jt_graph *eval, *train;
    int32_t *sdst, *ssrc;       /* running-statistic update pairs in `train` (its arena) */
    int n_state;
    int n_bn;                   /* BatchNormalization nodes */
    int32_t tap_eval, tap_train;/* classifier tap in each graph, or -1 */
    int64_t c, h, w;            /* the image shape it runs on (set by the trainer for graphs) */
    char name[96];              /* for messages and the result */
} dn_model;

void dn_model_free(dn_model *m);
/* From a builder "NAME[:k=v,...]" with the image shape and init seed applied before the k=v settings. */
jt_status dn_model_from_builder(jt_ctx *ctx, const char *spec, int64_t c, int64_t h, int64_t w, uint64_t seed,
                                dn_model *m);
/* From a graph (copied; its BN nodes switched to training mode for `train`). */
jt_status dn_model_from_graph(jt_ctx *ctx, const jt_graph *g, const char *name, dn_model *m);
/* Sets the tap of a classifier model: `name` (jt_dn_find_tap on eval; the same value name, or the
 * builder's ":0" output name, in train). */
jt_status dn_model_set_tap(jt_ctx *ctx, dn_model *m, const char *name);

/* A model appended to a step graph. */
typedef struct dn_inst {
    int32_t out;                /* output 0 */
    int32_t tap;                /* the model's tap, or -1 */
    int n_state;                /* running-statistic write-backs of this instance (train mode) */
    int32_t *sdst, *ssrc;       /* in the step graph's arena */
} dn_inst;

/* Appends m (train or eval graph) with names prefixed `prefix`, reading `input`. */
jt_status dn_append(jt_ctx *ctx, jt_graph *g, const dn_model *m, int train_mode, const char *prefix, int32_t input,
                    dn_inst *inst);
/* A second application of the same model (shared parameters): appended under prefix2, then every
 * parameter read is redirected to first's (named prefix + name), and in train mode the running
 * statistics are chained (this instance reads the first one's updated statistics, so that the
 * write-back equals two sequential forward passes). inst->sdst/ssrc are the pairs to write back. */
jt_status dn_append_shared(jt_ctx *ctx, jt_graph *g, const dn_model *m, int train_mode, const char *prefix,
                           const char *prefix2, int32_t input, const dn_inst *first, dn_inst *inst);

int dn_starts_with(const char *s, const char *prefix);
/* Marks every parameter named prefix* FROZEN. */
void dn_freeze(jt_graph *g, const char *prefix);
/* Parameters that train: PARAM, float, rank >= 1, not STATE/CONST/FROZEN, named prefix*. Writes up
 * to cap ids; returns the count. */
int dn_trainable(const jt_graph *g, const char *prefix, int32_t *ids, int cap);
/* Copies the data of every PARAM value of dst named dst_prefix+rest from src's src_prefix+rest
 * (same dtype and shape; values src lacks are kept). *copied (may be NULL) counts them. */
jt_status dn_copy_values(jt_ctx *ctx, jt_graph *dst, const char *dst_prefix, const jt_graph *src,
                         const char *src_prefix, int *copied);

/* Slice [start, end) along axis 0; concat along axis 0. */
int32_t dn_slice0(jt_gb *b, int32_t x, int64_t start, int64_t end);
int32_t dn_cat0(jt_gb *b, int32_t a, int32_t c);

/* ---- step graphs (train/denoiser_graph.c) ---- */

#define DN_MAX_LOGS 8

/* A step graph before jt_step_create: inputs x_adv, x (and y), the loss, scalar logs, logits for
 * host-side accuracies, write-back pairs, and which parameter prefixes it trains / borrows. */
typedef struct dn_sgraph {
    jt_graph *g;
    int32_t x_adv, x, y;        /* inputs (-1: absent) */
    int32_t loss;
    int n_logs;
    int32_t logs[DN_MAX_LOGS];
    const char *log_names[DN_MAX_LOGS];
    int32_t logits_adv, logits_nat; /* -1: absent */
    int32_t p_adv;              /* P(x~) (-1: absent) */
    int n_upd, cap_upd;
    int32_t *udst, *usrc;       /* malloc'ed */
    const char *own[2];         /* prefixes of the parameters it trains ("P/", "T/", "D/") */
    const char *borrow;         /* prefix of parameters read from another step graph (inputs), or NULL */
} dn_sgraph;

void dn_sgraph_free(dn_sgraph *s);

/* JATP (and JATP'): cfg resolved. P's BN (if any) and, when joint, T in train mode. */
jt_status dn_graph_jatp(jt_ctx *ctx, const dn_model *P, const dn_model *T, int64_t B, const jt_dn_config *cfg,
                        dn_sgraph *s);
jt_status dn_graph_hgd(jt_ctx *ctx, const dn_model *P, const dn_model *T, int64_t B, const jt_dn_config *cfg,
                       dn_sgraph *s);
/* GAN methods: the D step (trains D/, borrows P/) and the P step (trains P/, borrows D/). */
jt_status dn_graph_gan_d(jt_ctx *ctx, jt_dn_method method, const dn_model *P, const dn_model *D, int64_t B,
                         dn_sgraph *s);
jt_status dn_graph_gan_p(jt_ctx *ctx, jt_dn_method method, const dn_model *P, const dn_model *D, const dn_model *T,
                         int64_t B, dn_sgraph *s);
/* Identity warm-up: MSE(P(x_adv), x). */
jt_status dn_graph_warmup(jt_ctx *ctx, const dn_model *P, int64_t B, dn_sgraph *s);

/* ---- random draws (train/denoiser_examples.c) ---- */

enum { DN_RNG_FPGD = 1, DN_RNG_PGD = 2, DN_RNG_SSP = 3, DN_RNG_WARMUP = 4 };
/* Uniform [0,1) for element e of example `index` in draw (purpose, epoch). */
void dn_uniform_fill(uint64_t seed, uint32_t purpose, uint64_t epoch, int64_t index, float *u, int64_t d);

#endif
