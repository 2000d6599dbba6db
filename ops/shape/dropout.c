/* Dropout (6, 7, 10, 12, 13) and its gradient DropoutGrad (jatp.grad).
 *
 * Inference (every version; from 12 when training_mode is absent or false): Y = X and the optional mask
 * output all true (dtype T before opset 10, bool after). Dropout-6's is_test attribute is accepted and
 * ignored. Not flagged JT_OP_ALIAS: the executor skips the kernels of alias nodes, and this kernel must
 * run to read training_mode and write the mask; Y is copied.
 *
 * Training (12, 13 with training_mode true; float32/float64): with our counter-based Philox RNG,
 *   keep[i] = jt_rng_uniform(seed, JT_RNG_DROPOUT, run_index, i) >= ratio
 * where seed = the context's run seed XOR the node's 'seed' attribute (when given) and run_index counts
 * the plan's runs, so every run draws a fresh mask, and any element is computable alone: the mask does
 * not depend on the thread count (nor on the device). Y[i] = keep[i] ? X[i] * s : 0 with
 * s = 1 / (1 - ratio) rounded to the tensor's type (0 when ratio is 1); mask = keep. The masks differ
 * from onnx's numpy-generated test data, so only ratio 0 matches those tests. Dropout-12/13 are never
 * constant-folded (JT_OP_NO_FOLD): the mask changes between runs.
 *
 * Gradient: dX = DropoutGrad(dY, mask, ratio, training_mode) = dY * mask * s when training, else dY.
 * When the forward node has no mask output, DropoutGrad(dY, -, ratio, training_mode, seed=) recomputes
 * the mask from the RNG: it must run in the same plan run as the forward node (one training graph). */
#include <string.h>

#include "jatp/builder.h"
#include "shape_hd.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

#define TASK_ELEMS 65536 /* multiple of 4: Philox blocks never straddle tasks */

typedef struct {
    double ratio; /* attribute (before 12) */
    int64_t seed;
    bool has_seed;
} dropout_attrs;

static jt_status dropout_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    dropout_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    bool grad = strcmp(n->op_type, "DropoutGrad") == 0;
    static const char *const known6[] = {"ratio", "is_test", NULL};
    static const char *const known7[] = {"ratio", NULL};
    static const char *const known12[] = {"seed", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, grad || since >= 12 ? known12 : since >= 7 ? known7 : known6));
    JT_TRY(jt_attr_float(ctx, g, n, "ratio", 0.5, &p->ratio));
    p->has_seed = jt_node_attr(n, "seed") != NULL;
    JT_TRY(jt_attr_int(ctx, g, n, "seed", 0, &p->seed));
    return JT_OK;
}

static jt_status check_scalar(const jt_infer_args *a, const jt_tensor *t, const char *what) {
    if (t && jt_tensor_numel(t) != 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input '%s' must be a scalar", what);
    return JT_OK;
}

/* Training-mode checks shared by Dropout and DropoutGrad: X float, ratio in [0, 1] when constant. */
static jt_status check_training(const jt_infer_args *a, const jt_tensor *x, const jt_tensor *r, const jt_tensor *t) {
    JT_TRY(check_scalar(a, r, "ratio"));
    JT_TRY(check_scalar(a, t, "training_mode"));
    if (!t || (t->data && !jt_tensor_get_i64(t, 0))) return JT_OK; /* inference */
    if (x->dtype != JT_F32 && x->dtype != JT_F64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "training-mode Dropout of %s tensors is not supported (float32/float64)",
                            jt_dtype_name(x->dtype));
    if (r && r->data) {
        double ratio = jt_tensor_get_f64(r, 0);
        if (!(ratio >= 0 && ratio <= 1))
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "ratio %g is outside [0, 1]", ratio);
    }
    return JT_OK;
}

static jt_status dropout_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    int since = a->node->op ? a->node->op->since : a->node->opset;
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    if (a->n_out > 1 && a->out[1]) jt_tensor_set_shape(a->out[1], since >= 10 ? JT_BOOL : x->dtype, x->rank, x->dims);
    return check_training(a, x, jt_in_opt(a->n_in, a->in, 1), jt_in_opt(a->n_in, a->in, 2));
}

/* Reads the run-time mode: *training, *ratio, *scale = 1 / (1 - ratio) (0 when ratio is 1). */
static jt_status run_mode(const jt_kernel_args *a, const jt_tensor *r, const jt_tensor *t, bool *training,
                          double *ratio, double *scale) {
    *training = t && jt_tensor_get_i64(t, 0);
    *ratio = r ? jt_tensor_get_f64(r, 0) : 0.5;
    *scale = 1.0;
    if (!*training) return JT_OK;
    if (!(*ratio >= 0 && *ratio <= 1))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "ratio %g is outside [0, 1]", *ratio);
    *scale = jt_dropout_scale(*ratio);
    return JT_OK;
}

typedef struct {
    const void *x;  /* X (forward) or dY (gradient) */
    void *y;        /* Y or dX */
    uint8_t *mask;  /* forward: written when non-NULL */
    const uint8_t *mask_in; /* gradient: the forward's mask, or NULL to recompute it */
    int64_t n;
    uint64_t seed, call;
    double ratio, scale;
} drop_job;

#define DEF_DROP(NAME, TYPE)                                                                             \
    static void NAME(void *arg, int64_t t) {                                                             \
        const drop_job *j = arg;                                                                         \
        const TYPE *x = j->x;                                                                            \
        TYPE *y = j->y, s = (TYPE)j->scale;                                                              \
        int64_t i0 = t * TASK_ELEMS, i1 = i0 + TASK_ELEMS < j->n ? i0 + TASK_ELEMS : j->n;               \
        for (int64_t b = i0; b < i1; b += 4) {                                                           \
            uint8_t keep[4] = {0, 0, 0, 0};                                                              \
            if (j->mask_in) {                                                                            \
                for (int k = 0; k < 4 && b + k < i1; k++) keep[k] = j->mask_in[b + k] != 0;              \
            } else {                                                                                     \
                jt_dropout_keep4(j->seed, j->call, (uint64_t)b >> 2, j->ratio, keep);                   \
            }                                                                                            \
            for (int k = 0; k < 4 && b + k < i1; k++) {                                                  \
                y[b + k] = keep[k] ? x[b + k] * s : (TYPE)0;                                             \
                if (j->mask) j->mask[b + k] = keep[k];                                                   \
            }                                                                                            \
        }                                                                                                \
    }
DEF_DROP(drop_f32, float)
DEF_DROP(drop_f64, double)

static void run_drop(const jt_kernel_args *a, drop_job *j, jt_dtype dt) {
    const dropout_attrs *p = a->attrs;
    j->seed = a->seed ^ (p->has_seed ? (uint64_t)p->seed : 0);
    j->call = a->run_index;
    if (j->n > 0) jt_pool_run(a->pool, dt == JT_F32 ? drop_f32 : drop_f64, j, (j->n + TASK_ELEMS - 1) / TASK_ELEMS);
}

static jt_status dropout_kernel(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    jt_tensor *m = a->n_out > 1 ? a->out[1] : NULL;
    bool training;
    double ratio, scale;
    JT_TRY(run_mode(a, jt_in_opt(a->n_in, a->in, 1), jt_in_opt(a->n_in, a->in, 2), &training, &ratio, &scale));
    if (training) {
        if (x->dtype != JT_F32 && x->dtype != JT_F64)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                                "training-mode Dropout of %s tensors is not supported", jt_dtype_name(x->dtype));
        drop_job j = {.x = x->data, .y = a->out[0]->data, .mask = m && m->data ? m->data : NULL,
                      .n = jt_tensor_numel(x), .ratio = ratio, .scale = scale};
        run_drop(a, &j, x->dtype);
        return JT_OK;
    }
    JT_TRY(jt_copy_kernel(a));
    if (m && m->data) {
        int64_t n = jt_tensor_numel(m), one = n, st = 0;
        double d1 = 1.0;
        float f1 = 1.0f;
        uint8_t b1 = 1;
        const void *v = m->dtype == JT_F64 ? (const void *)&d1 : m->dtype == JT_F32 ? (const void *)&f1 : &b1;
        if (n > 0 && jt_dtype_size(m->dtype) == (m->dtype == JT_F64 ? 8 : m->dtype == JT_F32 ? 4 : 1))
            jt_strided_copy(a->pool, m->data, v, jt_dtype_size(m->dtype), 1, &one, &st);
    }
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA (Dropout and DropoutGrad): ratio and training_mode may be computed at run time, and live on the
 * device either way, so one kernel reads them there and either copies or applies the Philox mask (the
 * CPU's keep rule, jt_dropout_keep4: masks are bit-identical). The seed and call counter are the CPU's. */
static jt_status drop_cuda(const jt_kernel_args *a, const jt_tensor *r, const jt_tensor *t, jt_cuda_dropout_args *d) {
    const dropout_attrs *p = a->attrs;
    if (r && r->dtype != JT_F32 && r->dtype != JT_F64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "ratio of dtype %s is not supported on CUDA "
                            "(float32/float64)", jt_dtype_name(r->dtype));
    if (t && t->dtype != JT_BOOL)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "training_mode has dtype %s, expected bool",
                            jt_dtype_name(t->dtype));
    d->ratio = r ? r->data : NULL;
    d->ratio_f64 = r && r->dtype == JT_F64;
    d->training_mode = t ? t->data : NULL;
    d->seed = a->seed ^ (p->has_seed ? (uint64_t)p->seed : 0);
    d->call = a->run_index;
    return jt_cuda_dropout(a, d);
}

static jt_status dropout_cuda(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    jt_tensor *m = a->n_out > 1 ? a->out[1] : NULL;
    jt_cuda_dropout_args d = {.x = x->data, .y = a->out[0]->data, .mask_out = m ? m->data : NULL,
                              .mask_f32 = m && m->dtype == JT_F32, .n = jt_tensor_numel(x)};
    return drop_cuda(a, jt_in_opt(a->n_in, a->in, 1), jt_in_opt(a->n_in, a->in, 2), &d);
}

static jt_status dropout_grad_cuda(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *m = jt_in_opt(a->n_in, a->in, 1);
    jt_cuda_dropout_args d = {.x = dy->data, .y = a->out[0]->data, .mask_in = m ? m->data : NULL,
                              .n = jt_tensor_numel(dy)};
    return drop_cuda(a, jt_in_opt(a->n_in, a->in, 2), jt_in_opt(a->n_in, a->in, 3), &d);
}
#define DROPOUT_CUDA .cuda_f32 = dropout_cuda,
#define DROPOUT_GRAD_CUDA .cuda_f32 = dropout_grad_cuda,
#else
#define DROPOUT_CUDA
#define DROPOUT_GRAD_CUDA
#endif

/* dX = dY in inference mode (or before opset 12); DropoutGrad otherwise. */
static jt_status dropout_vjp(jt_vjp_args *v) {
    const dropout_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    int32_t t = v->n_in > 2 ? v->in[2] : -1;
    const jt_value *tv = t >= 0 ? &v->b->g->values[t] : NULL;
    if (t < 0 || (tv->data && !*(const uint8_t *)tv->data)) return jt_vjp_pass_through(v); /* constant false */
    int32_t mask = v->n_out > 1 ? v->out[1] : -1;
    if (mask < 0 && p->has_seed) jt_gb_attr_int(v->b, "seed", p->seed);
    int32_t ins[4] = {v->dy[0], mask, v->n_in > 1 ? v->in[1] : -1, t};
    v->dx[0] = jt_gb_op(v->b, "DropoutGrad", JT_DOMAIN_GRAD, NULL, ins, 4);
    return jt_gb_status(v->b);
}

const jt_op_impl jt_impl_dropout = {
    .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
    .attr_size = sizeof(dropout_attrs),
    .parse = dropout_parse,
    .infer = dropout_infer,
    .cpu_f32 = dropout_kernel, .cpu_f64 = dropout_kernel, .cpu_other = dropout_kernel,
    DROPOUT_CUDA
    .type_input = 0,
    .vjp = dropout_vjp, .no_grad_mask = 0x6u,
};

/* Dropout-12/13: training_mode may be true, so never folded. */
const jt_op_impl jt_impl_dropout12 = {
    .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
    .attr_size = sizeof(dropout_attrs),
    .parse = dropout_parse,
    .infer = dropout_infer,
    .cpu_f32 = dropout_kernel, .cpu_f64 = dropout_kernel, .cpu_other = dropout_kernel,
    DROPOUT_CUDA
    .type_input = 0,
    .flags = JT_OP_NO_FOLD,
    .vjp = dropout_vjp, .no_grad_mask = 0x6u,
};

/* ---- DropoutGrad(dY, mask, ratio, training_mode) -> dX ---- */

static jt_status dropout_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *m = jt_in_opt(a->n_in, a->in, 1);
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY is %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    if (m && (m->dtype != JT_BOOL || !jt_dims_equal(m->dims, m->rank, dy->dims, dy->rank)))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "mask must be a bool tensor of dY's shape");
    jt_tensor_set_shape(a->out[0], dy->dtype, dy->rank, dy->dims);
    return check_training(a, dy, jt_in_opt(a->n_in, a->in, 2), jt_in_opt(a->n_in, a->in, 3));
}

static jt_status dropout_grad_kernel(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *m = jt_in_opt(a->n_in, a->in, 1);
    bool training;
    double ratio, scale;
    JT_TRY(run_mode(a, jt_in_opt(a->n_in, a->in, 2), jt_in_opt(a->n_in, a->in, 3), &training, &ratio, &scale));
    if (!training) return jt_copy_kernel(a);
    drop_job j = {.x = dy->data, .y = a->out[0]->data, .mask_in = m ? m->data : NULL, .n = jt_tensor_numel(dy),
                  .ratio = ratio, .scale = scale};
    run_drop(a, &j, dy->dtype);
    return JT_OK;
}

const jt_op_impl jt_impl_dropout_grad = {
    .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(dropout_attrs),
    .parse = dropout_parse,
    .infer = dropout_grad_infer,
    .cpu_f32 = dropout_grad_kernel, .cpu_f64 = dropout_grad_kernel,
    DROPOUT_GRAD_CUDA
    .type_input = 0,
    .flags = JT_OP_NO_FOLD | JT_OP_INPLACE_OK,
    .no_grad_mask = 0xEu,
};
