/* Training a pre-processing defense P in front of a frozen target T (train/denoiser*.c; spec:
 * shared/reference/models.md sections 3-5, the CLI is `jatp train denoiser`).
 *
 * Methods:
 *   jatp  Algorithm 1: full adversarial examples from feature-space PGD on F = T∘P at T's tap (Eq. 5,
 *         random start), loss L = mean_i [BCE + alpha*FSM_i*w_i] + beta*L_pix (Eq. 6-10), only P
 *         updated (SGD 1e-2, momentum 0.9, wd 2e-4, x0.1 at epochs 15 and 25 of 30, global gradient
 *         clipping at 1.0); ablations of the loss terms; optional identity warm-up; JATP' (joint = 1:
 *         T trainable in the same optimiser, T in eval mode for the attack and in train mode for the
 *         update).
 *   hgd   HGD: LGD  mean|T(P(x~)) - T(x)| over the logits (FGD: over T's tap), Adam 1e-3, x0.1 at 60 %,
 *         x0.01 at 90 % of the epochs.
 *   apeg  APE-GAN: generator P and discriminator D (apeg-d), one D step then two G steps per batch,
 *         Adam 2e-4, betas (0.5, 0.999).
 *   nrp   NRP baseline: L_P = 5e-3 RaGAN_G + 1e-2 mean|P(x~) - x| + mean|tap(T(P(x~))) - tap(T(x))| with
 *         a RaGAN discriminator (nrp-disc), one D step then one P step per batch, Adam 1e-4 betas
 *         (0.9, 0.99), x0.5 at epochs 15 and 25 of 30; examples: SSP (self-supervised feature attack on
 *         T, cached per image).
 * Training examples (--examples): oblivious = attacks on T alone; full = attacks on T∘P with the
 * current P, regenerated every batch (paper, Fig. 1). hgd and apeg use PGD on CE (40 steps, random
 * start); jatp the feature-space PGD; nrp SSP.
 *
 * Every random draw (loader order and augmentation, attack starts, warm-up noise) is a function of
 * (seed, epoch, dataset index), so a run resumed from a checkpoint reproduces the uninterrupted run
 * bit for bit on the CPU. */
#ifndef JATP_TRAIN_DENOISER_H
#define JATP_TRAIN_DENOISER_H

#include <stdint.h>

#include "jatp/attack.h"
#include "jatp/backend.h"
#include "jatp/data.h"
#include "jatp/graph.h"
#include "jatp/losses.h"
#include "jatp/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jt_dn_method { JT_DN_JATP = 0, JT_DN_HGD = 1, JT_DN_APEG = 2, JT_DN_NRP = 3 } jt_dn_method;

/* DEFAULT: jatp full, the baselines oblivious. */
typedef enum jt_dn_examples { JT_DN_EX_DEFAULT = 0, JT_DN_EX_OBLIVIOUS = 1, JT_DN_EX_FULL = 2 } jt_dn_examples;

/* JATP loss variants (Fig. 4b and the ablations):
 *   full          BCE + alpha*FSM*w + beta*Pix          (the paper's loss)
 *   pix           beta*Pix
 *   pix+bce       BCE + beta*Pix
 *   pix+bce+fsm   BCE + alpha*FSM + beta*Pix            (FSM not weighted: w = 1)
 *   no-pix        BCE + alpha*FSM*w                     (beta = 0)
 *   no-bce        alpha*FSM*w + beta*Pix
 *   no-fsm        BCE + beta*Pix                        (alpha = 0)
 * The switches bce_as_ce, w_one and pix_l2norm of jt_jatp_options apply on top. */
typedef enum jt_dn_loss {
    JT_DN_LOSS_FULL = 0,
    JT_DN_LOSS_PIX,
    JT_DN_LOSS_PIX_BCE,
    JT_DN_LOSS_PIX_BCE_FSM,
    JT_DN_LOSS_NO_PIX,
    JT_DN_LOSS_NO_BCE,
    JT_DN_LOSS_NO_FSM,
    JT_DN_LOSS_COUNT
} jt_dn_loss;

const char *jt_dn_method_name(jt_dn_method m);
int jt_dn_method_parse(const char *s);   /* -1 when unknown */
const char *jt_dn_loss_name(jt_dn_loss l);
int jt_dn_loss_parse(const char *s);     /* -1 when unknown */
/* The (alpha, beta, options) a variant trains with, from the configured alpha, beta and switches. */
void jt_dn_loss_terms(jt_dn_loss l, double alpha, double beta, const jt_jatp_options *sw, double *alpha_out,
                      double *beta_out, jt_jatp_options *opt_out);

typedef struct jt_dn_config {
    jt_dn_method method;
    jt_dn_examples examples;
    int joint;                  /* JATP': T trained together with P (jatp only) */
    /* the pre-processor: a builder "NAME[:k=v,...]" (NULL: rrdb-s for 1x28x28, nrp3 for 3x32x32,
     * dunet for hgd, apeg-g for apeg), or a graph to start from (one input [N,C,H,W], output 0 of the
     * same shape; copied), which takes precedence */
    const char *denoiser;
    const jt_graph *denoiser_graph;
    const char *discriminator;  /* apeg/nrp: builder NAME[:k=v] (NULL: apeg-d / nrp-disc) */
    /* JATP loss */
    jt_dn_loss loss;
    double alpha, beta;         /* 5, 3 */
    jt_jatp_options sw;         /* bce_as_ce, w_one, pix_l2norm (no_bce is set by the variant) */
    int hgd_fgd;                /* hgd: guide with T's tap instead of the logits */
    /* training examples; 0 / negative: the method's default for the image kind */
    double eps;                 /* 0.1 for 1x28x28, 8/255 otherwise */
    int attack_steps;           /* jatp 10, hgd/apeg 40, nrp 100 */
    double attack_step;         /* jatp 0.01, hgd/apeg 0.007, nrp 0.01 (x3.1875 for 1x28x28) */
    jt_dist fpgd_dist;          /* feature distance of the jatp attack (Eq. 5): mse (default) or cos */
    /* optimisation; 0 / negative: the method's default */
    int epochs;                 /* < 0: 30; 0: the identity warm-up alone (needs warmup > 0) */
    int batch;                  /* 128 */
    int64_t subset;             /* > 0: first `subset` training images only */
    double lr;                  /* jatp 1e-2, hgd 1e-3, apeg 2e-4, nrp 1e-4 (the D shares it) */
    double clip_grad;           /* < 0: default (jatp 1.0, others 0 = off) */
    int augment;                /* crop + flip (nrp never: its SSP examples are cached); default 1 */
    int warmup;                 /* identity warm-up iterations (Adam 1e-3 on MSE(P(clip(x+U(-eps,eps))), x)) */
    uint64_t seed;
    const char *preset;         /* set by jt_dn_preset (the presets are for 1x28x28 images) */
    /* run control */
    const char *checkpoint;     /* checkpoint path (NULL: none) */
    int checkpoint_every;       /* steps between checkpoints (0: only at the end of the warm-up and of every
                                 * epoch, at the end and on a stop) */
    int resume;                 /* continue from `checkpoint` */
    const char *log_path;       /* JSON lines (NULL: none) */
    int quiet;
    const char *out;            /* P as ONNX (NULL: not written) */
    const char *out_target;     /* joint: the updated T as ONNX (NULL: not written) */
    int eval_n;                 /* natural accuracy of T and F on this many test images after each epoch */
    int64_t max_steps;          /* > 0: stop like an interruption once this many steps (warm-up included,
                                 * counted from the start of the run) are done */
    jt_stop_flag *stop;         /* Ctrl-C: finish the step, write the checkpoint, return */
    jt_backend *backend;        /* NULL: CPU */
} jt_dn_config;

/* method jatp, alpha 5, beta 3, augment 1, everything else 0 / NULL (= the method's defaults). */
void jt_dn_config_default(jt_dn_config *c);
/* Fashion-MNIST CPU presets of models.md 5.7: "ci", "fmnist", "fmnist-m" (denoiser, attack steps,
 * subset, epochs, warm-up, evaluation size). Unknown name: JT_ERR_ARG (message only with a ctx). */
jt_status jt_dn_preset(jt_ctx *ctx, const char *name, jt_dn_config *c);

/* The defaults filled in for the image shape (what a run with cfg trains with); fails naming the
 * setting that is invalid (joint with another method than jatp, negative sizes, ...). */
jt_status jt_dn_config_resolve(jt_ctx *ctx, const jt_dn_config *in, int64_t c, int64_t h, int64_t w, jt_dn_config *out);

typedef struct jt_dn_result {
    int64_t steps;              /* steps done, warm-up included (a resumed run counts from the start) */
    int64_t total_steps;
    int finished;               /* every epoch done, P written */
    int interrupted;            /* stopped by the stop flag or max_steps; the checkpoint holds the state */
    int nonfinite;              /* a loss or parameter became NaN/inf; the checkpoint holds the last good state */
    double last_loss;
    double nat_acc_T, nat_acc_F;/* % on the evaluation images after the last epoch (NaN: not evaluated) */
    double seconds;
    char tap[256];              /* the tap value used (T's value name) */
    char denoiser[96];          /* the pre-processor trained */
} jt_dn_result;

/* Trains P in front of T (one image input [N,C,H,W] float32, output 0 the logits [N,K]; eval mode;
 * copied, so the caller keeps ownership). tap: value or node name in T (jt_graph_find_tap), NULL:
 * jt_dn_find_tap's rule. test may be NULL (no evaluation). On a NaN/inf the run stops with
 * JT_ERR_NUMERIC (message naming the step and term) after writing the checkpoint of the last good
 * state. */
jt_status jt_dn_train(jt_ctx *ctx, const jt_dn_config *cfg, const jt_graph *T, const char *tap, const jt_dataset *train,
                      const jt_dataset *test, jt_dn_result *res);

/* ---- pieces (tests, tools) ---- */

/* The feature tap of a target (models.md section 2): name given -> jt_graph_find_tap; else the output
 * of the last convolution of the third stage ("layer3", shortcut/downsample convolutions excluded),
 * after the BatchNormalization that follows it when there is one (eval-mode exports fold it into the
 * convolution). Fails asking for --tap when T has no such layer. */
jt_status jt_dn_find_tap(jt_ctx *ctx, const jt_graph *T, const char *name, int32_t *value);

/* A copy of g whose BatchNormalization nodes run in training mode (batch statistics; the running
 * mean and variance become JT_VALUE_STATE parameters updated by momentum). state_dst[i] <- state_src[i]
 * after each step (arrays in the graph's arena; NULL when n_state is NULL). *n_bn: nodes switched. */
jt_status jt_dn_train_mode_copy(jt_ctx *ctx, const jt_graph *g, jt_graph **out, int32_t **state_dst,
                                int32_t **state_src, int *n_state, int *n_bn);

/* Training-example attacks on an oracle (every example attacked, last iterate; float32 host arrays,
 * d = c*h*w per example). Random starts are drawn from (seed, epoch, index[i]). */
typedef struct jt_dn_attack {
    double eps, step;
    int steps;
    jt_feat_dist dist;          /* feature attacks */
    uint64_t seed, epoch;
} jt_dn_attack;

/* Feature-space PGD (Eq. 5): f0 = tap(x); v = clip(x + U(-eps, eps), 0, 1) (or `start` when not
 * NULL); steps x { g = d/dv sum_i dist(tap(v_i), f0_i); v = clip(clip(v + step*sign(g), x-eps, x+eps),
 * 0, 1) }. dist_last (may be NULL): mean distance at the returned points. */
jt_status jt_dn_fpgd(jt_oracle *o, const jt_dn_attack *a, const float *x, const int64_t *index, int n,
                     const float *start, float *x_adv, double *dist_last);
/* L-inf PGD ascending CE(F(v), y) from a U(-eps, eps) start. */
jt_status jt_dn_pgd_ce(jt_oracle *o, const jt_dn_attack *a, const float *x, const int64_t *y, const int64_t *index,
                       int n, float *x_adv);
/* NRP's self-supervised perturbation: v = Π(N(0,1) image) (keyed by (seed, index) only: the examples
 * are cached), steps sign steps ascending mean (tap_o(v) - tap_ref(x))^2; `ref` gives the clean
 * features (T alone), `o` the gradient (T alone, or T∘P for full examples; o may equal ref). */
jt_status jt_dn_ssp(jt_oracle *o, jt_oracle *ref, const jt_dn_attack *a, const float *x, const int64_t *index, int n,
                    float *x_adv);

/* The JATP step graph (before backward and optimizer): inputs "x_adv" [B,C,H,W], "x" [B,C,H,W],
 * "y" int64 [B]; P (given as a standalone graph, names prefixed "P/") on both, T (eval mode, frozen,
 * "T/"; joint: train mode, trainable) on both outputs, the JATP loss with cfg's variant, alpha, beta,
 * switches. For tests: compare with an independent reference. */
typedef struct jt_dn_jatp_graph {
    jt_graph *g;
    int32_t x_adv, x, y;        /* inputs */
    int32_t loss, bce, fsm, w, pix; /* w = -1 with w = 1 */
    int32_t logits_adv, logits_nat, p_adv;
} jt_dn_jatp_graph;
jt_status jt_dn_jatp_graph_build(jt_ctx *ctx, const jt_graph *P, const jt_graph *T, const char *tap, int64_t batch,
                                 const jt_dn_config *cfg, jt_dn_jatp_graph *out);

#ifdef __cplusplus
}
#endif
#endif
