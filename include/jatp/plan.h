/* Plans: a graph bound to concrete input shapes, with shapes inferred, constants folded, memory
 * planned by liveness, ready to run many times. */
#ifndef JATP_PLAN_H
#define JATP_PLAN_H

#include "jatp/backend.h"
#include "jatp/graph.h"
#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_plan jt_plan;

typedef struct jt_plan_options {
    int fold_params;   /* treat initializers as constants for folding (inference); default 1 */
    int keep_all;      /* keep every intermediate value alive (debugging, taps); default 0 */
    /* Graph inputs whose data is given to jt_plan_create are treated as constants when they feed an
     * operator input that must be known at plan time (shapes, axes, pads, Resize scales: the ops'
     * const_mask); every run must then pass the same values. Labels and images are never folded.
     * Default 1. */
    int fold_int_inputs;
    /* Training: after every run, copy value update_src[i] into the storage of graph parameter (or
     * state) update_dst[i] (updated weights, optimizer moments, BN running statistics). A plan with
     * updates mutates its graph's parameters; build it with fold_params = 0. */
    const int32_t *update_dst, *update_src;
    int n_updates;
    /* Where the plan runs; NULL = the CPU backend. With a device backend, parameters and folded
     * constants are copied to the device at plan time, host inputs are uploaded at each run, outputs
     * stay on the device (jt_plan_output_download), and trained parameters live on the device until
     * jt_plan_sync_params copies them back into the graph. */
    jt_backend *backend;
} jt_plan_options;

void jt_plan_options_default(jt_plan_options *o);

/* Binds graph inputs by position (g->inputs order): inputs[i] gives dtype, rank and dims (data may
 * be NULL). A symbolic dimension takes the bound size; a fixed one must match. The graph is not
 * modified and must outlive the plan. opts may be NULL. */
jt_status jt_plan_create(jt_ctx *ctx, const jt_graph *g, const jt_tensor *inputs, int n_inputs,
                         const jt_plan_options *opts, jt_plan **out);
void jt_plan_free(jt_plan *p);

/* Runs the plan. inputs[i].data must be set; dtypes and dims must equal those the plan was built
 * with. Outputs stay valid until the next run or jt_plan_free. */
jt_status jt_plan_run(jt_plan *p, const jt_tensor *inputs, int n_inputs);

int jt_plan_n_outputs(const jt_plan *p);
/* Output i (g->outputs order), valid after jt_plan_run. */
const jt_tensor *jt_plan_output(const jt_plan *p, int i);
/* Dtype and shape of any value as planned (data may be NULL or stale): for listings. */
const jt_tensor *jt_plan_value_meta(const jt_plan *p, int32_t value_id);
/* Copies output i into host memory (nbytes of jt_plan_output(p, i)); works on every backend. */
jt_status jt_plan_output_download(jt_plan *p, int i, void *host);
/* Device backends: copies the trained parameters and state back into the graph's storage (for
 * checkpoints and export). A no-op on the CPU, where the plan updates the graph in place. */
jt_status jt_plan_sync_params(jt_plan *p);
/* Any value by id after a run (keep_all = 1), or NULL when its memory was reused. */
const jt_tensor *jt_plan_value(const jt_plan *p, int32_t value_id);

typedef struct jt_plan_stats {
    size_t param_bytes;      /* initializers used by the plan */
    size_t const_bytes;      /* folded constants */
    size_t arena_bytes;      /* activation arena (after liveness reuse) */
    size_t naive_bytes;      /* sum of all activation sizes (no reuse) */
    size_t workspace_bytes;  /* shared scratch */
    int n_nodes_run;         /* nodes executed per run (after folding) */
    int n_nodes_folded;
    double flops;            /* per run */
} jt_plan_stats;

void jt_plan_get_stats(const jt_plan *p, jt_plan_stats *s);

/* Completed runs: the call counter of random ops (dropout masks). Checkpoints save it; a resumed
 * plan sets it back so that its random draws continue where the interrupted run stopped. */
uint64_t jt_plan_runs(const jt_plan *p);
void jt_plan_set_runs(jt_plan *p, uint64_t runs);

/* Per-node timing for `jatp bench --profile`: calls cb for each executed node with its time. */
typedef void (*jt_node_time_cb)(void *user, const jt_node *n, double seconds, double flops);
jt_status jt_plan_run_profiled(jt_plan *p, const jt_tensor *inputs, int n_inputs, jt_node_time_cb cb,
                               void *user);

#ifdef __cplusplus
}
#endif
#endif
