/* Shared helpers of the optim family: a chunked parallel loop whose chunking depends only on the
 * element count (bitwise-identical results for any thread count) and scalar-input checks. */
#ifndef JATP_OPS_OPTIM_H
#define JATP_OPS_OPTIM_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OPTIM_CHUNK 16384

/* Parsed attributes (shared with the CUDA kernels, ops/optim/optim_cuda.cu). */
typedef struct sgd_attrs { /* jatp SGDStep */
    double momentum, weight_decay, dampening;
    int64_t nesterov;
} sgd_attrs;

typedef struct adam_step_attrs { /* jatp AdamStep */
    double beta1, beta2, eps, weight_decay;
    int64_t adamw;
} adam_step_attrs;

typedef struct momentum_attrs { /* ai.onnx.preview.training Momentum */
    double alpha, beta, norm_coefficient;
    int nesterov;
} momentum_attrs;

typedef struct adagrad_attrs { /* ai.onnx.preview.training Adagrad */
    double decay_factor, epsilon, norm_coefficient;
} adagrad_attrs;

typedef struct adam_attrs { /* ai.onnx.preview.training Adam */
    double alpha, beta, epsilon, norm_coefficient, norm_coefficient_post;
} adam_attrs;

typedef void (*optim_range_fn)(const void *job, int64_t lo, int64_t hi);

typedef struct optim_par {
    optim_range_fn fn;
    const void *job;
    int64_t n;
} optim_par;

static inline void optim_par_task(void *arg, int64_t t) {
    const optim_par *p = (const optim_par *)arg;
    int64_t lo = t * OPTIM_CHUNK, hi = lo + OPTIM_CHUNK < p->n ? lo + OPTIM_CHUNK : p->n;
    p->fn(p->job, lo, hi);
}

/* Runs fn over [0, n) in chunks of OPTIM_CHUNK elements (on the pool when there is more than one). */
static inline void optim_par_for(jt_pool *pool, optim_range_fn fn, const void *job, int64_t n) {
    optim_par p = {fn, job, n};
    int64_t tasks = (n + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    jt_pool_run(tasks > 1 ? pool : NULL, optim_par_task, &p, tasks);
}

/* A one-element tensor (rank 0 or all dims 1) of a float dtype (want_float) or an integer dtype. */
static inline jt_status optim_check_scalar(const jt_infer_args *a, int i, const char *what, int want_float,
                                           int any_numeric) {
    const jt_tensor *t = a->in[i];
    if (!t) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input %d (%s) is missing", i, what);
    int is_f = jt_dtype_is_float(t->dtype);
    int is_i = t->dtype == JT_I64 || t->dtype == JT_I32;
    if (jt_tensor_numel(t) != 1 || (!any_numeric && (want_float ? !is_f : !is_i)) || (any_numeric && !is_f && !is_i)) {
        char s[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input %d (%s) is %s %s, expected a %s scalar", i,
                            what, jt_dtype_name(t->dtype), jt_dims_str(t->dims, t->rank, s, sizeof s),
                            any_numeric ? "numeric" : want_float ? "float32 or float64" : "int64");
    }
    return JT_OK;
}

/* Input i must have the dtype and shape of input ref. */
static inline jt_status optim_check_like(const jt_infer_args *a, int i, int ref, const char *what,
                                         const char *ref_what) {
    const jt_tensor *t = a->in[i], *r = a->in[ref];
    if (!t) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input %d (%s) is missing", i, what);
    if (t->dtype != r->dtype || !jt_dims_equal(t->dims, t->rank, r->dims, r->rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "%s is %s %s but %s is %s %s", what,
                            jt_dtype_name(t->dtype), jt_dims_str(t->dims, t->rank, s1, sizeof s1), ref_what,
                            jt_dtype_name(r->dtype), jt_dims_str(r->dims, r->rank, s2, sizeof s2));
    }
    return JT_OK;
}

#ifdef __cplusplus
}
#endif
#endif
