/* Training: optimizer steps appended to a graph, learning-rate schedules, checkpoints.
 *
 * A training graph is forward + loss + backward (jt_build_backward) + optimizer step. The step nodes
 * (jatp.SGDStep / jatp.AdamStep, optionally after jatp.ClipByGlobalNorm) compute the new parameters
 * and optimizer buffers as ordinary values; the plan copies them back into the parameter storage
 * after every run (jt_plan_options.update_dst/update_src, fold_params = 0):
 *
 *   jt_sgd_config cfg;  jt_sgd_config_default(&cfg);  cfg.momentum = 0.9;  cfg.weight_decay = 5e-4;
 *   jt_optim_state os;
 *   jt_append_sgd(ctx, g, params, grads, n, &cfg, &os);
 *   jt_plan_options po;  jt_plan_options_default(&po);  po.fold_params = 0;
 *   po.update_dst = os.update_dst;  po.update_src = os.update_src;  po.n_updates = os.n_updates;
 *   ... bind inputs: g->inputs[os.lr_input_index] is the scalar float64 learning rate and
 *   g->inputs[os.step_input_index] the scalar float64 step number (1 for the first step) ...
 *   for each step: lr = jt_lr_multistep(...); step = steps_done + 1; jt_plan_run(...)
 *
 * Learning rate and step are runtime inputs, so a schedule never rebuilds the plan. */
#ifndef JATP_TRAIN_H
#define JATP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "jatp/graph.h"
#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimizer steps (graphs/optim_step.c) ---- */

/* torch.optim.SGD: d = g + wd*w; v = mu*v + (1 - dampening)*d (v = d on the first step);
 * d = nesterov ? d + mu*v : v; w -= lr*d. */
typedef struct jt_sgd_config {
    double momentum;     /* default 0 */
    double weight_decay; /* default 0 */
    double dampening;    /* default 0 */
    int nesterov;        /* default 0 */
    double clip_norm;    /* > 0: scale all gradients by min(1, clip_norm/(||g|| + 1e-6)) first; default 0 */
    const char *name;    /* prefix of the created inputs and nodes; default "optim" (two optimizers in one
                          * graph need two names) */
} jt_sgd_config;

/* torch.optim.Adam (adamw = 0: L2 added to the gradient) or AdamW (adamw = 1: decoupled decay). */
typedef struct jt_adam_config {
    double beta1, beta2; /* default 0.9, 0.999 */
    double eps;          /* default 1e-8 */
    double weight_decay; /* default 0 */
    int adamw;           /* default 0 */
    double clip_norm;    /* as for SGD; default 0 */
    const char *name;    /* as for SGD; default "optim" */
} jt_adam_config;

void jt_sgd_config_default(jt_sgd_config *c);
void jt_adam_config_default(jt_adam_config *c);

/* What jt_append_sgd/jt_append_adam added. Arrays live in the graph's arena (freed with it). */
typedef struct jt_optim_state {
    int32_t lr_input;         /* value id of the scalar float64 learning-rate graph input */
    int32_t step_input;       /* value id of the scalar float64 step graph input (1-based step number) */
    int lr_input_index;       /* their positions in g->inputs (the order jt_plan_create binds) */
    int step_input_index;
    int32_t grad_norm;        /* value id of the global gradient norm (before clipping), or -1 when not
                               * clipping; make it a graph output (jt_graph_add_output) to read it */
    int n_buffers;            /* optimizer buffers created: JT_VALUE_PARAM | JT_VALUE_STATE, zeros */
    int32_t *buffers;
    int n_updates;            /* (dst, src) pairs for jt_plan_options: params <- w', buffers <- v' */
    int32_t *update_dst, *update_src;
    int32_t *new_params;      /* per parameter: the value id of its updated value */
} jt_optim_state;

/* Appends the optimizer step for params[i] (parameter value ids, float32 or float64) with gradients
 * grads[i] (value ids of the same dtype and shape, e.g. from jt_build_backward). Creates
 *   - graph inputs "<name>/lr" and "<name>/step" (scalar float64; reused when they already exist);
 *   - per parameter p, zero-filled state parameters "<p>/momentum" (SGD with momentum != 0) or
 *     "<p>/exp_avg" and "<p>/exp_avg_sq" (Adam), flagged JT_VALUE_PARAM | JT_VALUE_STATE;
 *   - with clip_norm > 0 one jatp.ClipByGlobalNorm node over all gradients;
 *   - one jatp.SGDStep / jatp.AdamStep node per parameter.
 * Hyper-parameters are kept in double precision (not rounded to float32 as ONNX attributes are).
 * Fails (naming the parameter) on a non-parameter, a frozen or constant value, or a dtype/shape
 * mismatch between a parameter and its gradient. */
jt_status jt_append_sgd(jt_ctx *ctx, jt_graph *g, const int32_t *params, const int32_t *grads, int n,
                        const jt_sgd_config *cfg, jt_optim_state *out);
jt_status jt_append_adam(jt_ctx *ctx, jt_graph *g, const int32_t *params, const int32_t *grads, int n,
                         const jt_adam_config *cfg, jt_optim_state *out);

/* ---- learning-rate schedules (host side, by epoch) ----
 * Both reproduce PyTorch's schedulers value for value (their recursive form, which is what a training
 * loop calling scheduler.step() once per epoch sees). `epoch` is the scheduler's epoch counter
 * (last_epoch: 0 before the first scheduler.step()). models.md's "x0.1 at epoch e" with epochs
 * counted from 1 is jt_lr_multistep(base, e_1based, {e, ...}, n, 0.1): the factor applies from the
 * start of epoch e. */

/* torch.optim.lr_scheduler.MultiStepLR: lr is multiplied by gamma^k at every epoch that appears k
 * times in milestones (any order). */
double jt_lr_multistep(double base_lr, int64_t epoch, const int64_t *milestones, int n_milestones, double gamma);
/* torch.optim.lr_scheduler.CosineAnnealingLR(T_max, eta_min), including its restart behaviour past
 * T_max. */
double jt_lr_cosine(double base_lr, int64_t epoch, int64_t t_max, double eta_min);

/* ---- checkpoints (runtime/core/checkpoint.c) ----
 * One file holding every JT_VALUE_PARAM / JT_VALUE_STATE value of a graph that is not a constant
 * (JT_VALUE_CONST), by name (dtype, shape, data), plus the training position below. Layout
 * (little-endian): header "JATPCKPT" u32 version u32 n_records; records, each
 *   u32 kind, u32 name_len, u32 dtype, u32 rank, i64 dims[rank], u64 n_bytes, name, data, u32 crc32
 * (zlib crc32 of the record up to its crc); trailer "JATPEND!" u64 file_size u32 crc32 of everything
 * before it. Written with jt_write_atomic. Loading checks the whole-file and per-record CRCs, then that
 * the file holds exactly the graph's values with the same dtypes and shapes, and only then copies
 * the data in (a failed load leaves the graph untouched); every failure names the file, the record
 * and what differs. */

#define JT_CKPT_MAX_RNG 8

typedef struct jt_train_meta {
    int64_t step;                       /* optimizer steps taken */
    int64_t epoch;                      /* current epoch */
    int64_t data_pos;                   /* position in the epoch's data order (samples consumed) */
    uint64_t seed;                      /* run seed (jt_ctx_set_seed) */
    int n_rng;                          /* RNG call counters in use (<= JT_CKPT_MAX_RNG) */
    uint64_t rng[JT_CKPT_MAX_RNG];      /* per stream: draws made (e.g. a plan's run count) */
    const char *config;                 /* small configuration blob (JSON text), may be NULL; on load
                                         * malloc'ed and NUL-terminated: free with jt_train_meta_free */
    size_t config_len;
} jt_train_meta;

jt_status jt_checkpoint_save(jt_ctx *ctx, const char *path, const jt_graph *g, const jt_train_meta *meta);
/* Loads into g's parameter/state storage (values must have storage, as after jt_append_*). meta may
 * be NULL. */
jt_status jt_checkpoint_load(jt_ctx *ctx, const char *path, jt_graph *g, jt_train_meta *meta);
void jt_train_meta_free(jt_train_meta *meta);

#ifdef __cplusplus
}
#endif
#endif
