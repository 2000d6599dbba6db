/* VJP rules of Softmax and LogSoftmax and their grad ops (domain jatp.grad), both defined on Y:
 *   SoftmaxGrad(dY, Y)    = Y * (dY - sum(dY * Y))
 *   LogSoftmaxGrad(dY, Y) = dY - exp(Y) * sum(dY)
 * with the sums over the forward's normalised elements: attribute axis, and coerce2d = 1 for opsets 1
 * and 11 (rows of prod(dims[axis:]) elements) or 0 for opset 13 (the one axis). Sums accumulate in
 * float64 in a fixed order; work is split as in the forward (rows, or column blocks), a fixed number
 * of units per task, so results do not depend on the thread count. */
#include <math.h>

#include "jatp/builder.h"
#include "softmax.h"
#include "softmax_cuda.h"
#include "softmax_math.h"

#define EW_CAT_(a, b) a##b
#define EW_CAT(a, b) EW_CAT_(a, b)

typedef struct smg_job {
    const void *dy, *y;
    void *dx;
    int64_t n, inner, blocks, units, per_task;
    int logsm;
} smg_job;

static jt_status vjp_common(jt_vjp_args *v, const char *grad_op) {
    const jt_node *n = &v->b->g->nodes[v->node_id];
    int since = n->op ? n->op->since : 13;
    jt_gb_attr_int(v->b, "axis", ((const softmax_attrs *)v->attrs)->axis);
    jt_gb_attr_int(v->b, "coerce2d", since < 13);
    v->dx[0] = jt_gb_op(v->b, grad_op, JT_DOMAIN_GRAD, NULL, (int32_t[]){v->dy[0], v->out[0]}, 2);
    return jt_gb_status(v->b);
}
jt_status jt_vjp_softmax(jt_vjp_args *v) { return vjp_common(v, "SoftmaxGrad"); }
jt_status jt_vjp_logsoftmax(jt_vjp_args *v) { return vjp_common(v, "LogSoftmaxGrad"); }

/* ---- kernels, instantiated for float and double ---- */

#define SMG_DEF(T, S)                                                                                        \
    /* one contiguous row */                                                                                 \
    static void smg_row_##S(const T *dy, const T *y, T *dx, int64_t n, int logsm) {                          \
        double s = 0;                                                                                        \
        if (logsm) {                                                                                         \
            for (int64_t i = 0; i < n; i++) s += dy[i];                                                      \
            for (int64_t i = 0; i < n; i++) dx[i] = smg_logsoftmax_##S(dy[i], y[i], (T)s);                   \
        } else {                                                                                             \
            for (int64_t i = 0; i < n; i++) s += (double)dy[i] * y[i];                                       \
            for (int64_t i = 0; i < n; i++) dx[i] = smg_softmax_##S(dy[i], y[i], (T)s);                      \
        }                                                                                                    \
    }                                                                                                        \
    /* n rows of stride inner, columns [0, w) */                                                             \
    static void smg_cols_##S(const T *dy, const T *y, T *dx, int64_t n, int64_t inner, int64_t w, int logsm) { \
        double s[SM_BLOCK];                                                                                  \
        for (int64_t j = 0; j < w; j++) s[j] = 0;                                                            \
        for (int64_t k = 0; k < n; k++) {                                                                    \
            const T *a = dy + k * inner, *b = y + k * inner;                                                 \
            if (logsm)                                                                                       \
                for (int64_t j = 0; j < w; j++) s[j] += a[j];                                                \
            else                                                                                             \
                for (int64_t j = 0; j < w; j++) s[j] += (double)a[j] * b[j];                                 \
        }                                                                                                    \
        for (int64_t k = 0; k < n; k++) {                                                                    \
            const T *a = dy + k * inner, *b = y + k * inner;                                                 \
            T *c = dx + k * inner;                                                                           \
            if (logsm)                                                                                       \
                for (int64_t j = 0; j < w; j++) c[j] = smg_logsoftmax_##S(a[j], b[j], (T)s[j]);              \
            else                                                                                             \
                for (int64_t j = 0; j < w; j++) c[j] = smg_softmax_##S(a[j], b[j], (T)s[j]);                 \
        }                                                                                                    \
    }                                                                                                        \
    static void smg_task_##S(void *arg, int64_t t) {                                                         \
        const smg_job *jb = arg;                                                                             \
        const T *dy = jb->dy, *y = jb->y;                                                                    \
        T *dx = jb->dx;                                                                                      \
        int64_t lo = t * jb->per_task, hi = lo + jb->per_task < jb->units ? lo + jb->per_task : jb->units;   \
        for (int64_t u = lo; u < hi; u++) {                                                                  \
            if (jb->inner == 1) {                                                                            \
                smg_row_##S(dy + u * jb->n, y + u * jb->n, dx + u * jb->n, jb->n, jb->logsm);                \
            } else {                                                                                         \
                int64_t o = u / jb->blocks, j0 = (u % jb->blocks) * SM_BLOCK;                                \
                int64_t w = jb->inner - j0 < SM_BLOCK ? jb->inner - j0 : SM_BLOCK;                           \
                int64_t base = o * jb->n * jb->inner + j0;                                                   \
                smg_cols_##S(dy + base, y + base, dx + base, jb->n, jb->inner, w, jb->logsm);                \
            }                                                                                                \
        }                                                                                                    \
    }
SMG_DEF(float, f32)
SMG_DEF(double, f64)

static jt_status smg_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"axis", "coerce2d", NULL};
    smg_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "axis", -1, &at->axis));
    return jt_attr_int(ctx, g, n, "coerce2d", 0, &at->coerce2d);
}

static jt_status smg_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *y = a->in[1];
    const smg_attrs *at = a->attrs;
    if ((dy->dtype != JT_F32 && dy->dtype != JT_F64) || dy->dtype != y->dtype)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "dY (%s) and Y (%s) must both be float32 or both float64", jt_dtype_name(dy->dtype),
                            jt_dtype_name(y->dtype));
    if (!jt_dims_equal(dy->dims, dy->rank, y->dims, y->rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY %s and Y %s differ in shape",
                            jt_dims_str(dy->dims, dy->rank, s1, sizeof s1), jt_dims_str(y->dims, y->rank, s2, sizeof s2));
    }
    if (y->rank < 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "Y is a scalar, expected rank >= 1");
    int axis;
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, at->axis, y->rank, &axis));
    jt_tensor_set_shape(a->out[0], y->dtype, y->rank, y->dims);
    return JT_OK;
}

static jt_status smg_run(const jt_kernel_args *a, int logsm) {
    const jt_tensor *y = a->in[1];
    const smg_attrs *at = a->attrs;
    int axis;
    JT_TRY(jt_norm_axis(a->ctx, NULL, a->node, at->axis, y->rank, &axis));
    int64_t outer = 1, n = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= y->dims[i];
    if (at->coerce2d) {
        for (int i = axis; i < y->rank; i++) n *= y->dims[i];
    } else {
        n = y->dims[axis];
        for (int i = axis + 1; i < y->rank; i++) inner *= y->dims[i];
    }
    if (outer * n * inner == 0) return JT_OK;
    smg_job jb = {.dy = a->in[0]->data, .y = y->data, .dx = a->out[0]->data, .n = n, .inner = inner, .logsm = logsm};
    jb.blocks = (inner + SM_BLOCK - 1) / SM_BLOCK;
    jb.units = inner == 1 ? outer : outer * jb.blocks;
    int64_t unit_elems = n * (inner < SM_BLOCK ? inner : SM_BLOCK);
    jb.per_task = SM_TASK_ELEMS / unit_elems;
    if (jb.per_task < 1) jb.per_task = 1;
    jt_pool_run(a->pool, y->dtype == JT_F32 ? smg_task_f32 : smg_task_f64, &jb,
                (jb.units + jb.per_task - 1) / jb.per_task);
    return JT_OK;
}

static jt_status softmax_grad_kernel(const jt_kernel_args *a) { return smg_run(a, 0); }
static jt_status logsoftmax_grad_kernel(const jt_kernel_args *a) { return smg_run(a, 1); }

static void smg_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    *flops = 4.0 * (double)jt_tensor_numel(a->in[0]);
    *bytes = 3.0 * (double)jt_tensor_nbytes(a->in[0]);
}

const jt_op_impl jt_impl_softmax_grad = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(smg_attrs), .parse = smg_parse, .infer = smg_infer, .cost = smg_cost,
    .cpu_f32 = softmax_grad_kernel, .cpu_f64 = softmax_grad_kernel, SM_CUDA(.cuda_f32 = jt_softmax_grad_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK,
};

const jt_op_impl jt_impl_logsoftmax_grad = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(smg_attrs), .parse = smg_parse, .infer = smg_infer, .cost = smg_cost,
    .cpu_f32 = logsoftmax_grad_kernel, .cpu_f64 = logsoftmax_grad_kernel,
    SM_CUDA(.cuda_f32 = jt_logsoftmax_grad_cuda_f32,) .type_input = 0, .flags = JT_OP_INPLACE_OK,
};
