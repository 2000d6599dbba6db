/* The plan's internal layout, shared by the planner (runtime/plan/) and the executor (runtime/exec/). */
#ifndef JATP_PLAN_INTERNAL_H
#define JATP_PLAN_INTERNAL_H

#include <stdint.h>

#include "../backend/backend_impl.h"
#include "jatp/plan.h"
#include "op.h"

typedef struct jt_pnode {
    int32_t node;           /* graph node id */
    const jt_tensor **in;   /* n_in pointers into plan->t (NULL for omitted inputs) */
    jt_tensor **out;        /* n_out pointers (NULL for omitted outputs) */
    jt_kernel_fn fn;
    int alias;              /* zero-copy view of input 0: no kernel call */
    void *state;            /* from the op's prepare(), released with the plan */
    double flops;
} jt_pnode;

struct jt_plan {
    jt_ctx *ctx;
    const jt_graph *g;
    jt_plan_options opts;
    jt_tensor *t;           /* one per graph value */
    uint8_t *is_const;      /* value known at plan time (param, Constant, folded) */
    uint8_t *keep;          /* values kept alive to the end of a run (update sources), or NULL */
    void **owned;           /* buffers of folded constants */
    int32_t n_owned, cap_owned;
    jt_pnode *run;          /* nodes executed per run, in order */
    int32_t n_run;
    void *ptr_pool;         /* backing store of the pnode pointer arrays */
    uint8_t *arena;
    size_t arena_size;
    void *ws;
    size_t ws_size;
    jt_plan_stats stats;
    uint64_t runs;          /* completed runs (the call counter of random ops) */
    jt_backend *backend;    /* where memory lives and kernels run */
    int own_backend;        /* created by the plan (the default CPU backend) */
    /* Device backends only (backend->host_memory == 0): */
    void **dev_value;       /* per value: device copy of a constant (parameter, folded) used at run time */
    void **dev_input;       /* per graph input: device staging buffer for host inputs */
    const void **host_input;/* per graph input folded at plan time: its host copy (to check later runs) */
};

/* Device backends: uploads every constant the run nodes read and allocates input staging buffers
 * (runtime/plan/plan_device.c). */
jt_status jt_plan_device_setup(jt_plan *p);
void jt_plan_device_free(jt_plan *p);

/* Assigns arena offsets to every value that needs storage: values produced by run nodes (alias
 * outputs share their root). def/last are run-node indices; sizes in bytes (0 = no storage).
 * Writes offsets (SIZE_MAX for none) and returns the arena size. */
jt_status jt_plan_assign_offsets(jt_ctx *ctx, int32_t n, const size_t *size, const int32_t *def,
                                 const int32_t *last, size_t *offset, size_t *arena_size);

#endif
