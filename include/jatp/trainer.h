/* Building blocks of the training drivers (train/): a step plan (forward + loss + backward +
 * optimizer, bound per batch), the progress/JSON-lines logger, the learning-rate schedules of the
 * recipes, and the run state shared by `jatp train target` and `jatp train denoiser`. */
#ifndef JATP_TRAINER_H
#define JATP_TRAINER_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "jatp/backend.h"
#include "jatp/graph.h"
#include "jatp/plan.h"
#include "jatp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- step plans (train/step.c) ---- */

typedef enum jt_optimizer { JT_OPT_SGD = 0, JT_OPT_ADAM = 1 } jt_optimizer;

typedef struct jt_step_spec {
    jt_optimizer optimizer;
    jt_sgd_config sgd;        /* with JT_OPT_SGD */
    jt_adam_config adam;      /* with JT_OPT_ADAM */
    const int32_t *params;    /* parameters to train; NULL: every trainable parameter of the graph */
    int n_params;
    int32_t loss;             /* scalar loss value id */
    const int32_t *logs;      /* further scalar values to read after each step (loss terms, accuracy) */
    int n_logs;
    jt_backend *backend;      /* NULL: CPU */
    /* further write-backs after each run, e.g. training-mode BatchNorm running statistics
     * (jt_model_info.state_dst / state_src) */
    const int32_t *update_dst, *update_src;
    int n_updates;
} jt_step_spec;

/* A graph turned into a training step: jt_build_backward(loss -> params), the optimizer, and a plan
 * whose updates write the new parameters, optimizer buffers and BN running statistics back into the
 * graph after each run. The graph is modified (backward and optimizer nodes, lr/step inputs, the loss
 * and logs made outputs) and must outlive the step. */
typedef struct jt_step {
    jt_graph *g;
    jt_plan *plan;
    jt_optim_state os;
    int n_user;               /* graph inputs the caller binds (all but lr and step), in g->inputs order */
    int *user_pos;            /* their positions in g->inputs */
    jt_tensor *bound;         /* g->n_inputs tensors used for each run */
    double lr_value, step_value;
    int32_t *upd_dst, *upd_src; /* optimizer + spec updates */
    int n_logs;
    uint64_t runs;
} jt_step;

/* shapes: the caller's inputs (n_user of them, in g->inputs order without lr/step; data may be NULL). */
jt_status jt_step_create(jt_ctx *ctx, jt_graph *g, const jt_step_spec *spec, const jt_tensor *shapes, int n_shapes,
                         jt_step **out);
/* Runs one step with the caller's inputs (data set); loss (may be NULL) and logs[n_logs] (may be
 * NULL) receive the values of this run (computed before the update). step_no is the 1-based
 * optimizer step (Adam's bias correction). */
jt_status jt_step_run(jt_step *s, const jt_tensor *inputs, double lr, int64_t step_no, double *loss, double *logs);
void jt_step_free(jt_step *s);

/* ---- schedules (train/schedule.c) ---- */

/* The recipe's milestones for `paper_epochs` scaled to `epochs` (round(m * epochs / paper_epochs),
 * at least 1 apart and kept inside [1, epochs]); "x0.1 at epoch e" takes effect from the start of
 * epoch e (1-based). Returns the multiplier of epoch e (1-based) for factors[i] applied cumulatively. */
double jt_schedule_factor(int64_t epoch_1based, const int *milestones, const double *factors, int n, int paper_epochs,
                          int epochs);

/* ---- progress and logs (train/log.c) ---- */

typedef struct jt_train_log {
    FILE *jsonl;              /* JSON lines (NULL: none) */
    int quiet, tty;
    double t0, last_print, print_every;
    int64_t total_steps;
    int64_t images;           /* images processed so far in this process */
    char what[64];
} jt_train_log;

/* Opens the JSON-lines file (appending when resuming; NULL path: none). */
jt_status jt_train_log_open(jt_ctx *ctx, jt_train_log *l, const char *what, const char *jsonl_path, int append,
                            int quiet, int64_t total_steps);
/* One step: a progress line on stderr now and then (epoch, step, the named values, images/s, ETA)
 * and a JSON line every call. */
void jt_train_log_step(jt_train_log *l, int64_t epoch, int64_t step, int64_t images, double lr, const char *const *names,
                       const double *values, int n);
/* A free-form JSON object line ({"event": ...} records: epoch summaries, evaluation, stop reasons). */
void jt_train_log_event(jt_train_log *l, const char *json_object);
void jt_train_log_close(jt_train_log *l);

/* ---- stop requests ---- */

/* Set by the CLI's SIGINT/SIGTERM handler; trainers finish the current step, write a checkpoint and
 * return JT_ERR_INTERRUPTED-like status JT_OK with *interrupted = 1. NULL: never stops. */
typedef volatile sig_atomic_t jt_stop_flag;

#ifdef __cplusplus
}
#endif
#endif
