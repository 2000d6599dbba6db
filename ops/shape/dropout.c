/* Dropout (6, 7, 10, 12, 13) in a forward-only engine: inference mode, Y = X and the optional mask
 * output all true (dtype T before opset 10, bool after). Dropout-6's is_test attribute is accepted and
 * ignored (inference, as other runtimes do). From opset 12 the training_mode input may be true only with
 * ratio 0; otherwise infer (when both are constant) or the kernel (when they are graph inputs) fails.
 * Not flagged JT_OP_ALIAS: the executor skips the kernels of alias nodes, and this kernel must run to
 * check the mode and write the mask; Y is copied (exporters drop Dropout from inference graphs anyway).
 * Flag it JT_OP_ALIAS once alias nodes still call their kernel (jt_copy_kernel skips equal buffers). */
#include <string.h>

#include "shape_util.h"

typedef struct {
    double ratio; /* attribute (before 12) */
} dropout_attrs;

static jt_status dropout_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    dropout_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    static const char *const known6[] = {"ratio", "is_test", NULL};
    static const char *const known7[] = {"ratio", NULL};
    static const char *const known12[] = {"seed", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, since >= 12 ? known12 : since >= 7 ? known7 : known6));
    JT_TRY(jt_attr_float(ctx, g, n, "ratio", 0.5, &p->ratio));
    return JT_OK;
}

static const char train_msg[] = "training-mode Dropout not supported in forward-only engine "
                                "(training_mode is true and ratio is %g; only ratio 0 is accepted)";

static jt_status dropout_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    int since = a->node->op ? a->node->op->since : a->node->opset;
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    if (a->n_out > 1 && a->out[1]) jt_tensor_set_shape(a->out[1], since >= 10 ? JT_BOOL : x->dtype, x->rank, x->dims);
    const jt_tensor *r = jt_in_opt(a->n_in, a->in, 1), *t = jt_in_opt(a->n_in, a->in, 2);
    if (r && jt_tensor_numel(r) != 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input 'ratio' must be a scalar");
    if (t && jt_tensor_numel(t) != 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input 'training_mode' must be a scalar");
    if (t && t->data && jt_tensor_get_i64(t, 0) && (!r || r->data)) {
        double ratio = r ? jt_tensor_get_f64(r, 0) : 0.5;
        if (ratio != 0.0) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, train_msg, ratio);
    }
    return JT_OK;
}

static jt_status dropout_kernel(const jt_kernel_args *a) {
    const jt_tensor *r = jt_in_opt(a->n_in, a->in, 1), *t = jt_in_opt(a->n_in, a->in, 2);
    if (t && jt_tensor_get_i64(t, 0)) {
        double ratio = r ? jt_tensor_get_f64(r, 0) : 0.5;
        if (ratio != 0.0) return jt_node_fail(a->ctx, NULL, a->node, JT_ERR_UNSUPPORTED, train_msg, ratio);
    }
    JT_TRY(jt_copy_kernel(a));
    jt_tensor *m = a->n_out > 1 ? a->out[1] : NULL;
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

const jt_op_impl jt_impl_dropout = {
    .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
    .attr_size = sizeof(dropout_attrs),
    .parse = dropout_parse,
    .infer = dropout_infer,
    .cpu_f32 = dropout_kernel, .cpu_f64 = dropout_kernel, .cpu_other = dropout_kernel,
    .type_input = 0,
};
