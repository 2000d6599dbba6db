/* Target training (`jatp train target`): natural training, Standard adversarial training (Madry,
 * PGD-10 on CE), TRADES, MART and MMA-lite, with the recipes of models.md sections 4 and 5.1.
 *
 * Three layers:
 *   1. the TRAINER object (train/target.c): the graphs and plans of one recipe for a fixed batch size
 *      - a training graph: the model in training mode (BatchNorm on batch statistics) and the recipe's
 *        outer loss, turned into a jt_step (backward, SGD, write-back of parameters, momentum buffers
 *        and BN running statistics). Recipes that need the model on both x and x' (TRADES, MART,
 *        MMA) run it twice with SHARED parameters, clean pass first: the second pass reads the running
 *        statistics the first one produced, so r <- 0.9 (0.9 r + 0.1 b_nat) + 0.1 b_adv as two
 *        successive PyTorch forward passes in train mode give;
 *      - an evaluation graph: the same model with eval-mode BatchNorm (input "input", output "output"),
 *        the graph that is exported to ONNX;
 *      - an inner-maximisation graph (train/target_pgd.c): the eval-mode model, the inner loss (sum of
 *        CE, or sum of KL(p(x) || p(x')) for TRADES) and its gradient with respect to x'.
 *      The eval-mode graphs receive the training graph's parameters and running statistics by name
 *      before every use (jt_target_trainer_sync).
 *   2. the INNER MAXIMISATION: x' = x + 0.001 N(0,1) (Box-Muller on Philox, keyed by (seed, epoch,
 *      dataset index), so it does not depend on the batch composition and a resumed run redraws the
 *      same noise), then K times x' = clip(clip(x' + a sign(g), x - eps, x + eps), 0, 1).
 *   3. the DRIVER jt_train_target: data (jt_dataset_open + jt_loader, augmentation per dataset), the
 *      recipe defaults, the learning-rate schedule, progress and JSON-lines log, per-epoch clean and
 *      PGD robust test accuracy, checkpoints (every N steps, at the end, on a stop request) and
 *      --resume, the stop flag, NaN/Inf detection, the ONNX export (written atomically). */
#ifndef JATP_TRAIN_TARGET_H
#define JATP_TRAIN_TARGET_H

#include <stdint.h>

#include "jatp/backend.h"
#include "jatp/builder.h"
#include "jatp/graph.h"
#include "jatp/models.h"
#include "jatp/train.h"
#include "jatp/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jt_recipe {
    JT_RECIPE_NATURAL = 0, /* CE(T(x), y) */
    JT_RECIPE_AT = 1,      /* Standard (Madry): CE(T(x'), y), x' from PGD on CE */
    JT_RECIPE_TRADES = 2,  /* CE(T(x), y) + beta KL(p(x) || p(x')) batchmean, x' from PGD on the KL sum */
    JT_RECIPE_MART = 3,    /* BCE(T(x'), y) + beta mean KL_i (1.0000001 - p_y(x)), x' from PGD on CE */
    JT_RECIPE_MMA = 4,     /* MMA-lite: mean_i [wrong_i CE(T(x_i)) + correct_i CE(T(x'_i))], clean prediction
                            * in eval mode; x' from PGD on CE at the fixed eps */
    JT_RECIPE_COUNT
} jt_recipe;

/* "natural" "at" "trades" "mart" "mma" */
const char *jt_recipe_name(jt_recipe r);
/* Also accepts "standard" and "madry" for at, "mma-lite" for mma; -1 when unknown. */
int jt_recipe_parse(const char *s);
/* "natural, at, trades, mart, mma" */
const char *jt_recipe_names(void);

/* "NAME[:key=value,...]" -> name and configuration (jt_model_config_preset, then jt_model_config_set
 * for each setting; a value may itself hold commas: blocks=1,1,1,1). */
jt_status jt_model_spec_parse(jt_ctx *ctx, const char *spec, char *name, size_t cap, jt_model_config *cfg);

/* ---- the trainer object ---- */

/* Builds the model on image input x through the builder (names without prefix: the builder's prefix
 * is the caller's business). train_bn: training-mode BatchNorm with info->state_dst/state_src. */
typedef jt_status (*jt_target_model_fn)(jt_gb *b, void *user, int train_bn, int32_t x, jt_model_info *info);

typedef struct jt_target_spec {
    jt_recipe recipe;
    int batch;                 /* B, the size of every training batch */
    int c, h, w;               /* image shape */
    /* the model: model_fn(model_user, ...) when set, else jt_model_build(model_name, model_cfg) with
     * model_cfg.train_bn set per graph */
    jt_target_model_fn model_fn;
    void *model_user;
    const char *model_name;
    jt_model_config model_cfg;
    double beta;               /* TRADES / MART weight (6) */
    double eps;                /* L-inf radius of the inner maximisation */
    double pgd_step;           /* its step size */
    int pgd_steps;             /* its iterations (10); 0: x' is the random start */
    double start_sigma;        /* random start x + start_sigma N(0,1); 0.001 */
    jt_sgd_config sgd;         /* momentum, weight_decay (name NULL) */
    uint64_t seed;             /* random starts */
    jt_backend *backend;       /* NULL: CPU */
} jt_target_spec;

/* recipe natural, batch 128, beta 6, eps 0.1, step 0.02, 10 steps, sigma 0.001, SGD momentum 0.9
 * wd 5e-4; the model and the image shape must be set. */
void jt_target_spec_default(jt_target_spec *s);

typedef struct jt_target_trainer jt_target_trainer;

jt_status jt_target_trainer_create(jt_ctx *ctx, const jt_target_spec *spec, jt_target_trainer **out);
void jt_target_trainer_free(jt_target_trainer *t);

/* What one step measured (on this batch, before the update). Unused terms are NAN. */
typedef struct jt_target_step_out {
    double loss;       /* the outer loss */
    double nat;        /* TRADES: CE(T(x), y); MART: BCE(T(x'), y) */
    double rob;        /* TRADES / MART: the weighted robust term (loss - nat) */
    double acc;        /* clean batch accuracy (training-mode forward when the step has one, else eval mode) */
    double adv_acc;    /* accuracy on x' (training-mode forward) */
} jt_target_step_out;

/* One training step on a batch of B examples: x [B, C, H, W] in [0,1], y [B], idx [B] the dataset
 * indices (keys of the random start), epoch (0-based, also a key), lr, step_no (1-based). Runs the
 * inner maximisation (adversarial recipes) and then the SGD step. */
jt_status jt_target_trainer_step(jt_target_trainer *t, const float *x, const int64_t *y, const int64_t *idx,
                                 int64_t epoch, double lr, int64_t step_no, jt_target_step_out *out);
/* The inner maximisation alone with the current parameters: x_adv [B, C, H, W] (TRADES: on the KL
 * from the eval-mode clean logits; otherwise on CE). */
jt_status jt_target_trainer_attack(jt_target_trainer *t, const float *x, const int64_t *y, const int64_t *idx,
                                   int64_t epoch, float *x_adv);
/* Copies the training graph's parameters and running statistics into the eval-mode graphs (after
 * jt_plan_sync_params on a device backend). The step and the attack call it when needed. */
jt_status jt_target_trainer_sync(jt_target_trainer *t);
/* The graphs (owned by the trainer). The training graph holds every value a checkpoint stores. */
jt_graph *jt_target_trainer_train_graph(jt_target_trainer *t);
/* Eval-mode model, current after jt_target_trainer_sync: input "input" [N, C, H, W], output "output". */
jt_graph *jt_target_trainer_eval_graph(jt_target_trainer *t);
jt_step *jt_target_trainer_step_plan(jt_target_trainer *t);
/* Syncs and writes the eval-mode model as ONNX (opset 17, atomically). */
jt_status jt_target_trainer_export(jt_target_trainer *t, const char *path);
/* Checkpoint of the training graph (parameters, running statistics, momentum buffers) with meta;
 * refuses (JT_ERR_NUMERIC, naming the value) when a parameter is not finite. */
jt_status jt_target_trainer_save(jt_target_trainer *t, const char *path, const jt_train_meta *meta);
/* Loads a checkpoint into the training graph (device plans are refreshed). */
jt_status jt_target_trainer_load(jt_target_trainer *t, const char *path, jt_train_meta *meta);

/* The random start's N(0,1) draws for one example: out[d], element j a function of (seed, epoch,
 * index, j) only (Philox stream JT_RNG_ATTACK under a key of its own, Box-Muller in double). */
void jt_target_start_noise(uint64_t seed, int64_t epoch, int64_t index, int64_t d, float *out);
/* One projected sign step, in place: x_adv = clip(clip(x_adv + a sign(g), x - eps, x + eps), 0, 1)
 * (sign(0) = 0). */
void jt_target_pgd_update(float *x_adv, const float *x, const float *g, int64_t n, double step, double eps);

/* ---- the driver ---- */

typedef struct jt_target_train_config {
    jt_recipe recipe;
    const char *dataset;       /* jt_dataset_open name: fmnist (fashion-mnist), mnist, cifar10, svhn */
    const char *data_dir;      /* NULL: Debian's folder for fmnist */
    const char *model;         /* "NAME[:k=v,...]"; NULL: resnet10-fm for 1x28x28, resnet18 for 3x32x32 */
    int epochs;                /* 0: the recipe's */
    int batch;                 /* 0: 128 */
    int64_t subset;            /* > 0: the first `subset` training images */
    /* NAN: the recipe's default for the dataset (models.md 5.1) */
    double lr, wd, momentum, beta, eps, pgd_step;
    int pgd_steps;             /* < 0: 10 */
    int augment;               /* 1 (default): crop + flip per dataset; 0: none */
    int flip;                  /* -1 (default): per dataset; 0 / 1 */
    uint64_t seed;             /* init (unless the model spec sets seed=), order, augmentation, starts */
    jt_backend *backend;       /* NULL: CPU */
    /* outputs */
    const char *out;           /* ONNX file written at the end (NULL: none) */
    const char *checkpoint;    /* NULL: none */
    int64_t checkpoint_every;  /* > 0: also every N steps (besides epoch ends, the end and stops) */
    int resume;                /* continue from `checkpoint` (which must exist and match the config) */
    const char *log_jsonl;     /* JSON lines (NULL: none); appended to when resuming */
    int quiet;
    /* evaluation after every epoch on the test split: clean accuracy on the first eval_clean images
     * (< 0: all, 0: none), PGD (the training's eps, steps and step size, uniform random start) robust
     * accuracy on the first eval_points (0: none) */
    int eval_clean, eval_points;
    const jt_stop_flag *stop;  /* set: finish the step, write the checkpoint, return (interrupted) */
    int64_t max_steps;         /* > 0: stop as on a stop request once this many steps are done */
} jt_target_train_config;

/* recipe natural, dataset fmnist, everything else default (NAN / 0 / -1 as above), eval_clean -1,
 * eval_points 500, checkpoint_every 0. */
void jt_target_train_config_default(jt_target_train_config *c);

typedef struct jt_target_train_result {
    int64_t steps;             /* optimizer steps done in total (including before a resume) */
    int64_t epochs_done;       /* complete epochs */
    int interrupted;           /* stopped by the stop flag or max_steps (checkpoint written) */
    double last_loss;
    double clean_acc, robust_acc; /* of the last evaluation (fractions), NAN when none ran */
    double seconds;            /* wall time of this call */
    double images_per_s;       /* training images per second in this call */
    int64_t n_params;
    char config[1024];         /* the run's configuration JSON (stored in checkpoints) */
} jt_target_train_result;

/* Trains. Returns JT_ERR_NUMERIC naming the step when the loss or a parameter becomes NaN or infinite
 * (the last good checkpoint is left as it was; no ONNX is written). res may be NULL. */
jt_status jt_train_target(jt_ctx *ctx, const jt_target_train_config *cfg, jt_target_train_result *res);

#ifdef __cplusplus
}
#endif
#endif
