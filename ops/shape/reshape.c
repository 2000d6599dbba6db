/* Reshape (5, 13, 14: shape input, allowzero from 14) and Flatten (1, 9, 11, 13). Both are zero-copy
 * views of input 0 (JT_OP_ALIAS, jt_copy_kernel); infer computes the output dims. Reshape's shape input
 * must be a constant. */
#include <string.h>

#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

/* ---- Reshape ---- */

typedef struct {
    int64_t allowzero;
} reshape_attrs;

static jt_status reshape_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    reshape_attrs *p = attrs;
    static const char *const known14[] = {"allowzero", NULL};
    static const char *const known[] = {NULL};
    bool v14 = n->op && n->op->since >= 14;
    JT_TRY(jt_attrs_check_known(ctx, g, n, v14 ? known14 : known));
    JT_TRY(jt_attr_int(ctx, g, n, "allowzero", 0, &p->allowzero));
    return JT_OK;
}

static jt_status reshape_infer(const jt_infer_args *a) {
    const reshape_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int64_t shape[JT_MAX_RANK];
    int r;
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[1], "shape", shape, JT_MAX_RANK, &r));
    int64_t known = 1, n_in = jt_tensor_numel(x);
    int neg = -1;
    for (int i = 0; i < r; i++) {
        if (shape[i] == -1) {
            if (neg >= 0)
                return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                    "shape has more than one -1 entry");
            neg = i;
            continue;
        }
        if (shape[i] < -1)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "shape[%d] = %lld is invalid", i,
                                (long long)shape[i]);
        if (shape[i] == 0 && !p->allowzero) {
            if (i >= x->rank)
                return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                    "shape[%d] = 0 copies input dim %d, but the input has rank %d", i, i,
                                    x->rank);
            shape[i] = x->dims[i];
        }
        known *= shape[i];
    }
    if (neg >= 0) {
        if (known == 0 || n_in % known != 0) {
            char s[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "cannot infer the -1 dim: input %s has %lld elements, not a multiple of %lld",
                                jt_dims_str(x->dims, x->rank, s, sizeof s), (long long)n_in, (long long)known);
        }
        shape[neg] = n_in / known;
        known *= shape[neg];
    }
    if (known != n_in) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "cannot reshape %s (%lld elements) to %s (%lld elements)",
                            jt_dims_str(x->dims, x->rank, s1, sizeof s1), (long long)n_in,
                            jt_dims_str(shape, r, s2, sizeof s2), (long long)known);
    }
    jt_tensor_set_shape(a->out[0], x->dtype, r, shape);
    return JT_OK;
}

const jt_op_impl jt_impl_reshape = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(reshape_attrs),
    .parse = reshape_parse,
    .infer = reshape_infer,
    .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .cpu_other = jt_copy_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .type_input = 0,
    .flags = JT_OP_ALIAS,
    .vjp = jt_vjp_reshape_like, .no_grad_mask = 1u << 1, .const_mask = 1u << 1,
};

/* ---- Flatten ---- */

typedef struct {
    int64_t axis;
} flatten_attrs;

static jt_status flatten_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    flatten_attrs *p = attrs;
    static const char *const known[] = {"axis", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "axis", 1, &p->axis));
    return JT_OK;
}

static jt_status flatten_infer(const jt_infer_args *a) {
    const flatten_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int64_t axis = p->axis;
    bool neg_ok = a->node->op && a->node->op->since >= 11;
    if (axis < (neg_ok ? -x->rank : 0) || axis > x->rank)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "axis %lld is out of range for rank %d (expected %s..%d)", (long long)axis,
                            x->rank, neg_ok ? "-rank" : "0", x->rank);
    if (axis < 0) axis += x->rank;
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->rank; i++) d[i < axis ? 0 : 1] *= x->dims[i];
    jt_tensor_set_shape(a->out[0], x->dtype, 2, d);
    return JT_OK;
}

const jt_op_impl jt_impl_flatten = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(flatten_attrs),
    .parse = flatten_parse,
    .infer = flatten_infer,
    .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .cpu_other = jt_copy_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .type_input = 0,
    .flags = JT_OP_ALIAS,
    .vjp = jt_vjp_reshape_like,
};
