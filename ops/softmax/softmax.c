/* Softmax and LogSoftmax, float32/float64. Opsets 1 and 11 coerce the input to 2-D at `axis`
 * (default 1) and normalise each row of prod(dims[axis:]) elements; opset 13 normalises along one
 * axis (default -1). Work is split into (outer row | outer x column-block) units, a fixed number per
 * task, so results do not depend on the thread count. */
#include <math.h>

#include "softmax.h"
#include "softmax_cuda.h"
#include "softmax_math.h"

#define EW_CAT_(a, b) a##b
#define EW_CAT(a, b) EW_CAT_(a, b)

typedef struct sm_job {
    const void *x;
    void *y;
    int64_t n, inner, blocks, units, per_task;
    int logsm;
} sm_job;

#define T float
#define S f32
#define FS f
#include "softmax_tmpl.h"
#undef T
#undef S
#undef FS
#define T double
#define S f64
#define FS
#include "softmax_tmpl.h"
#undef T
#undef S
#undef FS

static jt_status softmax_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"axis", NULL};
    softmax_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    return jt_attr_int(ctx, g, n, "axis", n->op && n->op->since >= 13 ? -1 : 1, &at->axis);
}

static jt_status softmax_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    const softmax_attrs *at = a->attrs;
    if (x->dtype != JT_F32 && x->dtype != JT_F64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "input has dtype %s, expected float32 or float64",
                            jt_dtype_name(x->dtype));
    if (x->rank < 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "input is a scalar, expected rank >= 1");
    int axis;
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, at->axis, x->rank, &axis));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status softmax_run(const jt_kernel_args *a, int logsm) {
    const jt_tensor *x = a->in[0];
    const softmax_attrs *at = a->attrs;
    int axis;
    JT_TRY(jt_norm_axis(a->ctx, NULL, a->node, at->axis, x->rank, &axis));
    int64_t outer = 1, n = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    if (a->node->op->since < 13) {
        for (int i = axis; i < x->rank; i++) n *= x->dims[i];
    } else {
        n = x->dims[axis];
        for (int i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
    }
    if (outer * n * inner == 0) return JT_OK;
    sm_job jb = {.x = x->data, .y = a->out[0]->data, .n = n, .inner = inner, .logsm = logsm};
    jb.blocks = (inner + SM_BLOCK - 1) / SM_BLOCK;
    jb.units = outer * jb.blocks;
    int64_t unit_elems = n * (inner < SM_BLOCK ? inner : SM_BLOCK);
    jb.per_task = SM_TASK_ELEMS / unit_elems;
    if (jb.per_task < 1) jb.per_task = 1;
    int64_t tasks = (jb.units + jb.per_task - 1) / jb.per_task;
    jt_pool_run(a->pool, x->dtype == JT_F32 ? sm_task_f32 : sm_task_f64, &jb, tasks);
    return JT_OK;
}

static jt_status softmax_kernel(const jt_kernel_args *a) { return softmax_run(a, 0); }
static jt_status logsoftmax_kernel(const jt_kernel_args *a) { return softmax_run(a, 1); }

static void softmax_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    *flops = 8.0 * (double)jt_tensor_numel(a->in[0]); /* max, sub, exp (~4), sum, scale */
    *bytes = 2.0 * (double)jt_tensor_nbytes(a->in[0]);
}

const jt_op_impl jt_impl_softmax = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(softmax_attrs), .parse = softmax_parse,
    .infer = softmax_infer, .cost = softmax_cost,
    .cpu_f32 = softmax_kernel, .cpu_f64 = softmax_kernel, SM_CUDA(.cuda_f32 = jt_softmax_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_softmax,
};

const jt_op_impl jt_impl_logsoftmax = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(softmax_attrs), .parse = softmax_parse,
    .infer = softmax_infer, .cost = softmax_cost,
    .cpu_f32 = logsoftmax_kernel, .cpu_f64 = logsoftmax_kernel, SM_CUDA(.cuda_f32 = jt_logsoftmax_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_logsoftmax,
};
