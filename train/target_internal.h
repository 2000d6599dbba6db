/* Internals of the target trainer (train/target*.c). */
#ifndef JATP_TRAIN_TARGET_INTERNAL_H
#define JATP_TRAIN_TARGET_INTERNAL_H

#include "jatp/plan.h"
#include "jatp/train_target.h"

/* A parameter copied from the training graph into an eval-mode graph. */
typedef struct tt_copy {
    void *dst;
    const void *src;
    size_t bytes;
} tt_copy;

struct jt_target_trainer {
    jt_ctx *ctx;
    jt_target_spec spec;
    char model_name[64];
    int B;
    int64_t d;                 /* c*h*w */
    int K;                     /* classes */
    int device;                /* 1: a device backend (parameters live in the plans) */
    /* training graph and step */
    jt_graph *tg;
    jt_step *step;
    int n_user;                /* caller inputs of the step, in g->inputs order */
    int pos_x, pos_xadv, pos_y, pos_mask; /* their positions among the caller inputs (-1: absent) */
    int out_znat, out_zadv;    /* plan output indices of the training-mode logits (-1: absent) */
    int has_nat_log;           /* the step logs the natural term (TRADES CE, MART BCE) */
    int n_state_updates;       /* BN running-statistic write-backs given to the step */
    /* eval-mode model: logits for a batch of B (clean predictions), and export */
    jt_graph *eg;
    jt_plan *eplan;
    /* inner maximisation: eval-mode model + inner loss + d/dx' */
    jt_graph *ig;
    jt_plan *iplan;
    int inner_kl;              /* TRADES: inputs (x', z_nat); otherwise (x', y) */
    tt_copy *copies;           /* training graph -> eg and ig */
    int n_copies;
    int synced;                /* eg / ig hold the current parameters */
    /* buffers */
    float *x_adv, *grad, *z_clean, *z_nat, *z_adv, *mask;
};

/* train/target_pgd.c: the inner graph and the PGD loop */
jt_status tt_build_inner(jt_target_trainer *t);
/* x_adv from x (z_nat: the eval-mode clean logits, read by TRADES). */
jt_status tt_inner_max(jt_target_trainer *t, const float *x, const int64_t *y, const float *z_nat,
                       const int64_t *idx, int64_t epoch, float *x_adv);
/* train/target.c: plans of the eval-mode graphs (rebuilt after a sync on device backends) */
jt_status tt_ensure_plans(jt_target_trainer *t);
/* Builds the model through the spec's function (or jt_model_build). */
jt_status tt_build_model(jt_target_trainer *t, jt_gb *b, int train_bn, int32_t x, jt_model_info *info);

/* train/target_config.c */
typedef struct tt_recipe_defaults {
    double lr, wd, momentum, eps, pgd_step, beta;
    int epochs, pgd_steps;
    int crop_pad, flip;
    int paper_epochs, n_milestones;
    int milestones[4];
    double factors[4];
} tt_recipe_defaults;
/* Defaults of recipe r on dataset `dataset` (fmnist / mnist / cifar10 / svhn); 0 or an error. */
jt_status tt_recipe_defaults_get(jt_ctx *ctx, jt_recipe r, const char *dataset, tt_recipe_defaults *d);
/* Compares two flat JSON objects key by key; 0 when equal, else writes "key: a vs b" into why. */
int tt_config_diff(const char *a, const char *b, char *why, size_t cap);

#endif
